/* prefetch — fetch the records of a freshly listed activations directory
 * in the background, so the `ls -l`, `grep -r` or `find` that listed it
 * finds them cached instead of paying one round trip per entry in series.
 *
 * Invariants:
 *  - At most `workers` fetches run at once (bounded concurrency).
 *  - A record that is cached or already being fetched is not queued or
 *    fetched again; a handler that needs a record a worker is fetching
 *    waits for that fetch (the cache's single-flight), never starts another.
 *  - The queue has a ceiling (PREFETCH_QUEUE_MAX); past it, ids are simply
 *    not prefetched and get fetched on demand.
 *  - Threads start in prefetch_new, which must run after daemonizing. */
#ifndef NCFFS_PREFETCH_H
#define NCFFS_PREFETCH_H

#include "../client/ncf_types.h"
#include "ncffs.h"
#include "tree.h"

#define PREFETCH_QUEUE_MAX 20000

struct prefetch;

/* NULL on no memory or when workers is 0 (prefetch off). */
struct prefetch *prefetch_new(struct ncffs *fs, unsigned workers);
/* Drops what is queued, waits for running fetches, joins the workers. */
void prefetch_free(struct prefetch *prefetch);

/* Queues every id of owner's listing not already cached. NULL prefetch:
 * no-op. */
void prefetch_activations(struct prefetch *prefetch, const struct node *owner,
			  const struct ncf_listing *listing);

#endif
