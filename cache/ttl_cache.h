/* ttl_cache — opaque values under string keys, with a time to live per
 * entry, an LRU bound on bytes, and single-flight loading.
 *
 * Invariants:
 *  - The cache knows nothing of what it stores: values are opaque pointers
 *    with a byte size the loader reports; the cache frees them with the
 *    free_value callback it was given, always with its lock dropped (a big
 *    value takes a while to free, and must not stall every other caller).
 *  - At most one loader runs per key at a time. Every other caller that
 *    misses on that key while it runs waits for that load and shares its
 *    outcome (single-flight). Loaders run without the cache lock held, so
 *    loads of different keys proceed in parallel.
 *  - Time comes only from the injected clock, in milliseconds of a
 *    monotonic timeline; tests drive it by hand.
 *  - Each entry is charged the size its loader reported plus its key and
 *    the cache's own bookkeeping for it (about a hundred bytes), so the
 *    bound is on memory, not on payload. The sum of the charges of linked
 *    entries stays at or under max_bytes once a take returns, except that an entry larger than the whole bound is
 *    still handed to its caller (then dropped). Values a caller still holds
 *    are unlinked on eviction but freed only when the last reference goes.
 *  - Errors are cached too ("negative" entries) for as long as the loader
 *    asks, so a storm of lookups of a missing name costs one load.
 *  - Stale-on-error: when an expired value's reload fails with anything but
 *    -ENOENT, the old value is served again and kept for the error's TTL.
 *
 * All functions are thread-safe.
 */
#ifndef NCFFS_TTL_CACHE_H
#define NCFFS_TTL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Entries that never expire (they still leave under LRU pressure). */
#define TTL_FOREVER INT64_MAX

struct ttl_cache;
struct ttl_ref;

/* Milliseconds on a monotonic timeline. */
typedef int64_t (*ttl_clock_fn)(void *clock_ctx);

/* What a loader hands back. On success the cache takes ownership of value. */
struct ttl_load {
	void *value;
	size_t size;    /* bytes charged against max_bytes */
	int64_t ttl_ms; /* lifetime; TTL_FOREVER, or 0 to not keep it at all */
};

/* Fills *out and returns 0, or returns -errno; on error out->ttl_ms says how
 * long the error is remembered (0: not at all) and out->value must be NULL. */
typedef int (*ttl_loader_fn)(void *loader_ctx, const char *key,
			     struct ttl_load *out);

struct ttl_cache_config {
	size_t max_bytes;
	ttl_clock_fn clock;      /* NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
	void (*free_value)(void *value);
};

struct ttl_cache_stats {
	uint64_t hits, misses, loads, evictions, stale_served;
	size_t bytes;   /* charged, as above */
	size_t entries;
};

/* Lifecycle. ttl_cache_new returns NULL on bad config or no memory.
 * ttl_cache_free requires that no reference is still held. */
struct ttl_cache *ttl_cache_new(const struct ttl_cache_config *config);
void ttl_cache_free(struct ttl_cache *cache);

/* Finds key, loading it with loader on a miss or expiry. On success returns
 * 0 and a reference the caller owns and must give back with
 * ttl_cache_release; the value stays valid until then. On failure returns the
 * loader's -errno (or -ENOMEM) and sets *out to NULL. */
int ttl_cache_take(struct ttl_cache *cache, const char *key,
		   ttl_loader_fn loader, void *loader_ctx, struct ttl_ref **out);

/* Like ttl_cache_take but never loads: returns -EAGAIN when key holds no
 * fresh value (absent, expired, loading or a cached error). */
int ttl_cache_peek(struct ttl_cache *cache, const char *key,
		   struct ttl_ref **out);

/* Forgets a cached error under key, so that the next take loads again
 * before the error's TTL is over; a value, or a load in flight, stays. For
 * a caller that knows why an error may go away sooner (a record the API
 * does not return yet, retried by a poller on its own schedule). */
void ttl_cache_forget_error(struct ttl_cache *cache, const char *key);

/* True when key is cached and fresh, or being loaded right now. */
bool ttl_cache_is_present(struct ttl_cache *cache, const char *key);

void ttl_cache_release(struct ttl_cache *cache, struct ttl_ref *ref);

/* Borrowed views of a held reference. */
const void *ttl_ref_value(const struct ttl_ref *ref);
size_t ttl_ref_size(const struct ttl_ref *ref);

/* Drops every entry that is not being loaded (values still held stay alive
 * until released). */
void ttl_cache_clear(struct ttl_cache *cache);

void ttl_cache_get_stats(struct ttl_cache *cache, struct ttl_cache_stats *out);

#endif
