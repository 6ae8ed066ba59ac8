/* readahead — which entries of one listing to fetch ahead of its readers.
 * The rule alone: pure (no threads, no clock, no I/O; the caller passes the
 * time), so that it is unit-tested; prefetch.c feeds it the lookups of a
 * listing's entries and queues what it answers.
 *
 * Two readers are recognised:
 *  - In order (grep -r, find, du, rsync, ls -l): a lookup whose entry's
 *    predecessor in the listing was looked up too (or the first entry), as
 *    kernel readahead checks the page before. Each time such a reader
 *    reaches the middle of what was queued, the next window is queued,
 *    twice as large, up to max_window. A lone lookup queues nothing, even
 *    inside the window.
 *  - A walk, in any other order (rg and fd, whose threads take directories
 *    from a stack and so look entries up last first; xargs -P; a script):
 *    READAHEAD_WALK_MIN distinct lookups, each within READAHEAD_WALK_GAP_MS
 *    of the one before, mean the rest of the listing is wanted; so do
 *    READAHEAD_WALK_NEIGHBOURS of them out of order but next to an entry
 *    looked up before (a reader going backwards, as rg and fd do). The
 *    distinct lookup out of order queues a first window of entries not
 *    looked up yet, next to it in the direction the walk goes (wrapping at
 *    the ends), and each further half window of such lookups queues the
 *    next window, doubled up to max_window: the window grows with the rate
 *    of lookups. A pause longer than READAHEAD_WALK_GAP_MS ends the walk.
 *
 * What a walk is not stays cheap: fewer than READAHEAD_WALK_MIN lookups in
 * a burst (a cat of a few activations, ls of one activation, tab
 * completion), unless READAHEAD_WALK_NEIGHBOURS of them are next to each
 * other, queue nothing beyond the first window. Worst case, a burst of k
 * distinct lookups out of order that was no walk, detected at the j-th
 * (j = READAHEAD_WALK_MIN, or fewer with neighbours), queues at most
 * first + 4 (k - j) entries (each half window of lookups queues a window),
 * never more than the listing, and never an entry twice.
 *
 * Invariants: every index answered is < count, answered once per listing,
 * and was neither looked up nor answered before; one answer holds at most
 * max_window indexes. Not thread-safe: the caller locks. */
#ifndef NCFFS_READAHEAD_H
#define NCFFS_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A walk: this many distinct lookups, none more than WALK_GAP_MS after the
 * one before. 16 is above "a few" (a handful of cats), and a walker makes
 * them in a fraction of a second: each costs it one round trip, with
 * several in flight. 2 s covers a walker stuck behind a slow API. */
#define READAHEAD_WALK_MIN 16
#define READAHEAD_WALK_GAP_MS 2000
/* Or this many of them next to an entry looked up before: random picks
 * rarely are (of 5 cats among 2,000 activations, one is next to another
 * about once in 100 tries, and 4 are needed), while a walker going
 * backwards makes nothing else. */
#define READAHEAD_WALK_NEIGHBOURS 4

struct readahead {
	size_t count;          /* entries in the listing */
	size_t first_window, max_window;
	unsigned char *marks;  /* per entry: looked up, answered */
	/* in order: [0, queued_to) was answered; reaching marker answers the
	 * next window */
	size_t queued_to, window, marker;
	/* the walk */
	size_t streak;         /* distinct lookups in the current burst */
	size_t neighbours;     /* of which out of order, next to a seen one */
	int64_t last_ms;       /* of the last distinct lookup */
	size_t last_far;       /* index of the last lookup the in-order rule ignored */
	int votes;             /* > 0: the walk goes up the listing, < 0: down */
	bool walking;
	size_t walk_window, since_growth;
};

/* count entries; windows start at first_window (at most max_window).
 * eager: the first window is due at once (readahead_start answers it), as
 * for a listing read to be walked; else nothing is due until a lookup.
 * 0, or -ENOMEM. */
int readahead_init(struct readahead *ra, size_t count, size_t first_window,
		   size_t max_window, bool eager);
void readahead_release(struct readahead *ra);

/* The entries due when the listing was read (the first window if eager),
 * into out (room for max_window); returns how many. */
size_t readahead_start(struct readahead *ra, size_t *out);

/* A reader looked up entry index at now_ms (any monotonic clock): the
 * entries to fetch now, in the order to fetch them, into out (room for
 * max_window); returns how many. */
size_t readahead_touch(struct readahead *ra, size_t index, int64_t now_ms,
		       size_t *out);

#endif
