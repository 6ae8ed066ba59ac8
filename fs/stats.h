/* stats — /.ncffs-stats: "key value" lines on the API calls (by endpoint
 * and status, retries, in flight, latency percentiles) and the cache
 * (hits, misses, evictions, bytes), the disk and Redis tiers (hits,
 * misses, stores, rejected entries, the breaker), follow.log (open files,
 * readers, actions polled, poll requests), and records not readable yet
 * (retries, what the backoff and the budget deferred). A getattr takes a
 * fresh snapshot and reads are served from it, so size and bytes always
 * agree; a snapshot is as long as what it holds (up to 4 MiB). */
#ifndef NCFFS_STATS_H
#define NCFFS_STATS_H

#include <stddef.h>
#include <sys/types.h>

#include "ncffs.h"

/* Takes a new snapshot; returns its length, or -ENOMEM. */
ssize_t stats_refresh(struct ncffs *fs);

/* Copies from the latest snapshot (taking one if there is none). */
ssize_t stats_read(struct ncffs *fs, char *buf, size_t size, off_t offset);

void stats_release(struct ncffs *fs);

#endif
