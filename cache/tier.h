/* tier — a persistent tier below the in-memory cache: immutable values
 * under string keys that outlive the process (a disk folder today; a
 * Redis server could be another implementation of the same table).
 *
 * Invariants:
 *  - A tier stores opaque bytes; it never interprets them. Only values that
 *    never change may be put: a tier may serve a value written by an
 *    earlier process, or by another process sharing it, at any later time.
 *  - get never serves bytes it cannot vouch for (torn, foreign, under
 *    another key): those are a miss, dropped and counted.
 *  - Failure is never fatal: every error is a miss (get) or a value not
 *    kept (put); the caller goes on from memory and the origin. A tier
 *    logs a kind of failure once and counts every one in its stats.
 *  - Thread-safe: every op may be called from any thread at any time.
 *
 * A tier is a struct whose first member is a struct cache_tier; its ops
 * table says how to get, put, describe and free it.
 */
#ifndef NCFFS_TIER_H
#define NCFFS_TIER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache_tier_stats {
	uint64_t hits, misses;    /* gets that served / found nothing */
	uint64_t writes;          /* values kept */
	uint64_t read_errors, write_errors; /* I/O failures (EIO, ENOSPC, ...) */
	uint64_t corrupt;         /* entries dropped: bad checksum, key or account */
	uint64_t evictions;       /* entries dropped to stay under the bound */
	uint64_t bytes, limit_bytes;
};

struct cache_tier;

struct cache_tier_ops {
	/* 0 and a malloc'd copy of the value in *value (the caller frees it;
	 * one byte past *len is a NUL, for text), or -ENOENT on a miss, or
	 * -errno on a failure (also a miss to the caller). */
	int (*get)(struct cache_tier *tier, const char *key, void **value,
		   size_t *len);
	/* Keeps len bytes under key (a copy); 0 or -errno. */
	int (*put)(struct cache_tier *tier, const char *key, const void *value,
		   size_t len);
	void (*get_stats)(struct cache_tier *tier, struct cache_tier_stats *out);
	void (*free)(struct cache_tier *tier);
};

struct cache_tier {
	const struct cache_tier_ops *ops;
};

/* NULL-safe wrappers: no tier is a tier that never has anything. */
static inline int cache_tier_get(struct cache_tier *t, const char *key,
				 void **value, size_t *len)
{
	*value = NULL;
	*len = 0;
	return t ? t->ops->get(t, key, value, len) : -ENOENT;
}

static inline int cache_tier_put(struct cache_tier *t, const char *key,
				 const void *value, size_t len)
{
	return t ? t->ops->put(t, key, value, len) : -ENOSYS;
}

static inline void cache_tier_get_stats(struct cache_tier *t,
					struct cache_tier_stats *out)
{
	*out = (struct cache_tier_stats){ 0 };
	if (t)
		t->ops->get_stats(t, out);
}

static inline void cache_tier_free(struct cache_tier *t)
{
	if (t)
		t->ops->free(t);
}

#endif
