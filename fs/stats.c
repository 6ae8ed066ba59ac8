/* stats — see stats.h. */
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/redis_tier.h"
#include "../cache/tier.h"
#include "../cache/ttl_cache.h"
#include "../client/ncf_client.h"
#include "follow.h"
#include "inodes.h"
#include "readability.h"

/* The snapshot starts at STATS_FIRST bytes and grows to what it holds
 * (one line per followed action), up to STATS_MAX: past that, it ends at
 * the last whole line that fits. */
#define STATS_FIRST 16384
#define STATS_MAX (4u << 20)

static size_t format_cache(struct ncffs *fs, char *buf, size_t size)
{
	struct ttl_cache_stats st;
	int n;

	ttl_cache_get_stats(fs->cache, &st);
	n = snprintf(buf, size,
		     "cache_hits %llu\ncache_misses %llu\ncache_loads %llu\n"
		     "cache_evictions %llu\ncache_stale_served %llu\n"
		     "cache_entries %zu\ncache_bytes %zu\ncache_limit_bytes %zu\n"
		     "inodes_known %zu\n",
		     (unsigned long long)st.hits, (unsigned long long)st.misses,
		     (unsigned long long)st.loads,
		     (unsigned long long)st.evictions,
		     (unsigned long long)st.stale_served, st.entries, st.bytes,
		     fs->cache_limit, inodes_known(fs->inodes));
	return n < 0 ? 0 : (size_t)n;
}

/* The disk tier: all zeros (and enabled 0) when it is off or refused. */
static size_t format_disk(struct ncffs *fs, char *buf, size_t size)
{
	struct cache_tier_stats st;
	int n;

	cache_tier_get_stats(fs->disk, &st);
	n = snprintf(buf, size,
		     "disk_cache_enabled %d\ndisk_cache_hits %llu\n"
		     "disk_cache_misses %llu\ndisk_cache_writes %llu\n"
		     "disk_cache_read_errors %llu\ndisk_cache_write_errors %llu\n"
		     "disk_cache_corrupt %llu\ndisk_cache_evictions %llu\n"
		     "disk_cache_bytes %llu\ndisk_cache_limit_bytes %llu\n",
		     fs->disk != NULL, (unsigned long long)st.hits,
		     (unsigned long long)st.misses, (unsigned long long)st.writes,
		     (unsigned long long)st.read_errors,
		     (unsigned long long)st.write_errors,
		     (unsigned long long)st.corrupt,
		     (unsigned long long)st.evictions,
		     (unsigned long long)st.bytes,
		     (unsigned long long)st.limit_bytes);
	return n < 0 ? 0 : (size_t)n;
}

/* The shared cache: redis_enabled 0 and nothing else when it is off. */
static size_t format_redis(struct ncffs *fs, char *buf, size_t size)
{
	struct redis_tier_stats st;
	int n;

	if (!fs->redis) {
		n = snprintf(buf, size, "redis_enabled 0\n");
		return n < 0 ? 0 : (size_t)n;
	}
	redis_tier_get_stats(fs->redis, &st);
	n = snprintf(buf, size,
		     "redis_enabled 1\nredis_breaker %s\nredis_breaker_trips %llu\n"
		     "redis_hits %llu\nredis_misses %llu\nredis_rejected %llu\n"
		     "redis_stores %llu\nredis_dropped %llu\nredis_pending %zu\n"
		     "redis_waits %llu\nredis_errors %llu\nredis_skipped %llu\n"
		     "redis_get_ms %llu\nredis_store_ms %llu\n",
		     breaker_state_name(st.breaker),
		     (unsigned long long)st.trips, (unsigned long long)st.hits,
		     (unsigned long long)st.misses,
		     (unsigned long long)st.rejected,
		     (unsigned long long)st.stores,
		     (unsigned long long)st.dropped, st.pending,
		     (unsigned long long)st.waits, (unsigned long long)st.errors,
		     (unsigned long long)st.skipped,
		     (unsigned long long)(st.get_us / 1000),
		     (unsigned long long)(st.store_us / 1000));
	return n < 0 ? 0 : (size_t)n;
}

/* Every section into text of size bytes; returns the length they needed
 * (snprintf-like: more than size - 1 means it did not fit). */
static size_t format_all(struct ncffs *fs, char *text, size_t size)
{
	size_t len = ncf_client_format_stats(fs->client, text, size);

	if (len < size)
		len += format_cache(fs, text + len, size - len);
	if (len < size)
		len += format_disk(fs, text + len, size - len);
	if (len < size)
		len += format_redis(fs, text + len, size - len);
	if (len < size)
		len += readability_format_stats(fs->readability, text + len,
						size - len);
	if (len < size)
		len += follow_format_stats(fs->follow, text + len, size - len);
	return len;
}

/* A snapshot cut at STATS_MAX ends at its last whole line. */
static size_t whole_lines(const char *text, size_t len)
{
	while (len > 0 && text[len - 1] != '\n')
		len--;
	return len;
}

ssize_t stats_refresh(struct ncffs *fs)
{
	size_t size = STATS_FIRST, len;
	char *text = NULL, *grown;

	for (;;) {
		grown = realloc(text, size);
		if (!grown) {
			free(text);
			return -ENOMEM;
		}
		text = grown;
		len = format_all(fs, text, size);
		if (len < size)
			break;
		if (size >= STATS_MAX) {
			len = whole_lines(text, size - 1);
			break;
		}
		/* The sections may grow between two tries: room to spare. */
		while (size <= len && size < STATS_MAX)
			size *= 2;
	}
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
