/* redis_tier — a cache tier on a Redis server shared by many hosts of one
 * account: immutable values under string keys, sealed (seal.h) so that the
 * server learns nothing and can poison nothing.
 *
 * Invariants:
 *  - Only sealed bytes reach the server, under names that hide their keys;
 *    a value that does not open (tampered, truncated, moved, another
 *    account's) is a miss, counted as rejected, never served.
 *  - A slow or dead server costs a reader at most one timeout: every
 *    connect, read and write has config.timeout_ms; after
 *    config.breaker_failures consecutive failures the server is skipped
 *    (gets miss at once, puts are dropped) for breaker_cooldown_ms, then
 *    one call probes it (breaker.h). Each command has timeout_ms in all
 *    (and another per MiB it moves), and no reply is read past
 *    max_value and its framing. No get waits for DNS: new resolves the
 *    host name, every connect goes to that address, and after a failed
 *    connect the store thread resolves it again (at most once per
 *    resolve_every_ms; woken for it even when no put is queued).
 *  - A put never waits for the server: it copies the value onto a bounded
 *    queue (entries and bytes) that one thread seals and stores; a put
 *    that finds the queue full, or the breaker open, is dropped and
 *    counted. Entries expire after config.ttl_s on the server.
 *  - A fleet fetches each value once, even when its hosts ask at the same
 *    moment: a get that finds no usable value claims the fetch (SET NX
 *    with config.claim_ms to live) and misses; a get that finds the claim
 *    taken polls for the value the claiming host will put, for claim_ms
 *    at most, and misses if the claim goes without a value (that fetch
 *    failed). claim_ms 0: no claims, every miss goes to the origin.
 *  - Connections live in a small pool under a mutex: a caller takes an
 *    idle one or opens its own, and gives it back unless it failed; the
 *    pool keeps at most REDIS_POOL_IDLE_MAX idle.
 *  - Failure is never fatal, and never logged more than once per kind
 *    (and never with the password).
 *
 * It is a tier (tier.h) too: redis_tier_as_tier gives the table of
 * operations a chain of tiers calls, the rest of this header what only
 * the Redis tier has (its own stats, a start-up probe).
 *
 * Thread-safe: every function but new and free may be called from any
 * thread at any time. */
#ifndef NCFFS_REDIS_TIER_H
#define NCFFS_REDIS_TIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "seal.h"
#include "tier.h"

#define REDIS_HOST_MAX 256
#define REDIS_DB_MAX 9999
#define REDIS_POOL_IDLE_MAX 8

/* What -o cache_url= names. */
struct redis_url {
	char host[REDIS_HOST_MAX]; /* a name or an address, without [] */
	int port;
	int db;
};

/* Parses "redis://HOST:PORT[/DB]" (HOST a name, an IPv4 address or an
 * [IPv6] address; PORT 1 to 65535; DB 0 to REDIS_DB_MAX, default 0).
 * Anything else, a password or user in the URL included, is -EINVAL with
 * a one-line reason in why. Pure. */
int redis_url_parse(const char *url, struct redis_url *out, char *why,
		    size_t why_size);

/* level: a syslog priority; message has no newline and no secret. */
typedef void (*redis_tier_log_fn)(void *log_ctx, int level,
				  const char *message);

struct redis_tier_config {
	struct redis_url url;
	const char *password;      /* NULL or "": no AUTH; copied */
	const struct seal_keys *keys; /* copied */
	int timeout_ms;            /* connect, and each read or write */
	int64_t ttl_s;             /* on the server (EX) */
	unsigned breaker_failures;
	int64_t breaker_cooldown_ms;
	breaker_clock_fn clock;    /* the breaker's; NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
	size_t queue_max;          /* puts waiting, in entries */
	size_t queue_bytes_max;    /* and in bytes */
	size_t max_value;          /* larger values are neither put nor read */
	int claim_ms;              /* how long a claim on a fetch lives; 0: none */
	int claim_poll_ms;         /* how often a waiting get looks again */
	int resolve_every_ms;      /* least time between two resolutions of
				    * url.host after a failed connect;
				    * 0: 5000 */
	redis_tier_log_fn log;     /* NULL: silent */
	void *log_ctx;
};

struct redis_tier_stats {
	uint64_t hits, misses;
	uint64_t rejected;         /* entries that did not open */
	uint64_t stores;           /* values the server took */
	uint64_t dropped;          /* puts not stored: queue full, breaker
				    * open, too big, or a failed SET */
	uint64_t errors;           /* failed connects and commands */
	uint64_t skipped;          /* gets that did not ask: breaker open */
	uint64_t waits;            /* hits that waited for another host's fetch */
	uint64_t get_us, store_us; /* time spent in gets and in stores */
	uint64_t trips;            /* times the breaker opened */
	size_t pending;            /* puts queued or being stored */
	enum breaker_state breaker;
};

/* Lifecycle. new copies config (password and keys too); it neither
 * connects (the first get or store does) nor starts the store thread (the
 * first put does), so a process may fork after it; it resolves the host
 * name (blocking, once). NULL on bad config or
 * no memory. free stores what is still queued (each store
 * under the breaker, so a dead server costs a few timeouts at most),
 * joins the thread, closes every connection and wipes the secrets. */
struct redis_tier *redis_tier_new(const struct redis_tier_config *config);
void redis_tier_free(struct redis_tier *tier);

/* One connection, AUTH, SELECT and PING, without a tier: for a start-up
 * check. 0, or -errno with a one-line reason in why (never the
 * password). */
int redis_tier_probe(const struct redis_tier_config *config, char *why,
		     size_t why_size);

/* 0 and a malloc'd copy of key's value in *value (*len bytes, one NUL past
 * them) that the caller frees; -ENOENT on a miss, a rejected entry or a
 * skipped server; another -errno on a failure (also a miss to the
 * caller). */
int redis_tier_get(struct redis_tier *tier, const char *key, void **value,
		   size_t *len);

/* Queues a copy of len bytes to be stored under key. 0 when queued,
 * -ENOSPC when dropped (queue full, or too big), -EAGAIN when the breaker
 * is open, -ENOMEM. Never waits for the server. */
int redis_tier_put(struct redis_tier *tier, const char *key,
		   const void *value, size_t len);

void redis_tier_get_stats(struct redis_tier *tier,
			  struct redis_tier_stats *out);

/* The tier as a struct cache_tier (its get, put and stats; its free is
 * redis_tier_free). Borrowed: valid until the tier is freed. NULL-safe. */
struct cache_tier *redis_tier_as_tier(struct redis_tier *tier);

#endif
