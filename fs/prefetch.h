/* prefetch — readahead for activation records: fetch in the background the
 * records a reader walking a listing is about to ask for, the way kernel
 * readahead follows a sequential reader, and no more.
 *
 * A listing (activations/ of an action or a trigger, days/<day>/) starts a
 * stream: its ids in order and a first window of at most
 * PREFETCH_FIRST_WINDOW records (fewer with a smaller -o readahead). A
 * plain `ls` or a tab completion costs that window and nothing else. A
 * view's listing (failed/, recent/) starts a stream with nothing queued.
 * Each lookup of a listed id moves its streams (readahead.h has the rule):
 * a reader in listing order (`grep -r`, `find`, `du`, `rsync`) gets the
 * next window, twice as large, up to max_window (-o readahead), each time
 * it reaches the middle of what was queued; a walk in any other order
 * (`rg`, `fd`: many distinct ids looked up in a burst) gets windows next to
 * where it is, growing the same way; a few lookups far from the window
 * (random access) queue nothing.
 *
 * Invariants:
 *  - At most `workers` fetches (-o prefetch) wait in the client's
 *    scheduler at once, at readahead priority: behind what a person waits
 *    for, ahead of background work; the scheduler's limit decides how many
 *    of them run.
 *  - A record that is cached or already being fetched is not fetched again;
 *    a handler that needs a record a worker is fetching waits for that
 *    fetch (the cache's single-flight), never starts another.
 *  - At most PREFETCH_STREAMS streams are followed (the least recently used
 *    one is dropped), and the queue has a ceiling (PREFETCH_QUEUE_MAX).
 *  - No threads of its own: its fetches are jobs on the scheduler's pool. */
#ifndef NCFFS_PREFETCH_H
#define NCFFS_PREFETCH_H

#include <stddef.h>

#include "ncffs.h"
#include "tree.h"

#define PREFETCH_QUEUE_MAX 20000
#define PREFETCH_FIRST_WINDOW 64
#define PREFETCH_STREAMS 8

struct prefetch;

/* NULL on no memory, or when workers or max_window is 0 (off). */
struct prefetch *prefetch_new(struct ncffs *fs, unsigned workers,
			      size_t max_window);
/* Drops what is queued, waits for running fetches. */
void prefetch_free(struct prefetch *prefetch);

/* owner's listing named tag ("activations", a day) was read: ids[0..count)
 * in listing order (copied). Starts its stream with the first window. NULL
 * prefetch: no-op. */
void prefetch_listed(struct prefetch *prefetch, const struct node *owner,
		     const char *tag, const char *const *ids, size_t count);

/* As prefetch_listed, but nothing is queued until a reader looks an entry
 * up: for views whose listing is the look itself (failed/, recent/), and
 * whose entries a walker still reaches. */
void prefetch_listed_lazily(struct prefetch *prefetch, const struct node *owner,
			    const char *tag, const char *const *ids,
			    size_t count);

/* A reader looked up activation n (its owner's fields and id): moves the
 * windows of the streams that list it. NULL prefetch: no-op. */
void prefetch_touched(struct prefetch *prefetch, const struct node *n);

#endif
