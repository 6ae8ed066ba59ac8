/* stats — see stats.h. */
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_client.h"
#include "follow.h"

#define STATS_MAX 16384

static size_t format_cache(struct ncffs *fs, char *buf, size_t size)
{
	struct ttl_cache_stats st;
	int n;

	ttl_cache_get_stats(fs->cache, &st);
	n = snprintf(buf, size,
		     "cache_hits %llu\ncache_misses %llu\ncache_loads %llu\n"
		     "cache_evictions %llu\ncache_stale_served %llu\n"
		     "cache_entries %zu\ncache_bytes %zu\ncache_limit_bytes %zu\n",
		     (unsigned long long)st.hits, (unsigned long long)st.misses,
		     (unsigned long long)st.loads,
		     (unsigned long long)st.evictions,
		     (unsigned long long)st.stale_served, st.entries, st.bytes,
		     fs->cache_limit);
	return n < 0 ? 0 : (size_t)n;
}

ssize_t stats_refresh(struct ncffs *fs)
{
	char *text = malloc(STATS_MAX);
	size_t len;

	if (!text)
		return -ENOMEM;
	len = ncf_client_format_stats(fs->client, text, STATS_MAX);
	if (len < STATS_MAX)
		len += format_cache(fs, text + len, STATS_MAX - len);
	if (len < STATS_MAX)
		len += follow_format_stats(fs->follow, text + len, STATS_MAX - len);
	if (len >= STATS_MAX)
		len = STATS_MAX - 1;
	pthread_mutex_lock(&fs->stats_lock);
	free(fs->stats_text);
	fs->stats_text = text;
	fs->stats_len = len;
	pthread_mutex_unlock(&fs->stats_lock);
	return (ssize_t)len;
}

ssize_t stats_read(struct ncffs *fs, char *buf, size_t size, off_t offset)
{
	ssize_t n = 0;

	pthread_mutex_lock(&fs->stats_lock);
	if (!fs->stats_text) {
		pthread_mutex_unlock(&fs->stats_lock);
		if (stats_refresh(fs) < 0)
			return -ENOMEM;
		pthread_mutex_lock(&fs->stats_lock);
	}
	if (offset >= 0 && (size_t)offset < fs->stats_len) {
		n = (ssize_t)(fs->stats_len - (size_t)offset);
		if ((size_t)n > size)
			n = (ssize_t)size;
		memcpy(buf, fs->stats_text + offset, (size_t)n);
	}
	pthread_mutex_unlock(&fs->stats_lock);
	return n;
}

void stats_release(struct ncffs *fs)
{
	free(fs->stats_text);
	fs->stats_text = NULL;
}
