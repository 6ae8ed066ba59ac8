/* readahead — see readahead.h. Each entry has two marks: looked up (a
 * reader asked for it: it needs no readahead) and answered (handed to the
 * caller once). Both rules answer only entries with neither mark. */
#include "readahead.h"

#include <errno.h>
#include <stdlib.h>

#define SEEN 0x1u
#define ANSWERED 0x2u
/* How many lookups of one direction outweigh the other. */
#define VOTES_MAX 4

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

int readahead_init(struct readahead *ra, size_t count, size_t first_window,
		   size_t max_window, bool eager)
{
	*ra = (struct readahead){ 0 };
	ra->marks = calloc(count ? count : 1, 1);
	if (!ra->marks)
		return -ENOMEM;
	ra->count = count;
	ra->max_window = max_window;
	ra->first_window = min_size(first_window, max_window);
	ra->window = ra->first_window;
	/* Not eager: nothing queued, so the first lookup inside the first
	 * window starts the in-order rule (see in_order). */
	if (eager)
		ra->queued_to = min_size(ra->window, count);
	ra->marker = ra->queued_to / 2;
	return 0;
}

void readahead_release(struct readahead *ra)
{
	free(ra->marks);
	*ra = (struct readahead){ 0 };
}

/* Answers the entries of [from, to) with no mark. */
static size_t answer_range(struct readahead *ra, size_t from, size_t to,
			   size_t *out)
{
	size_t n = 0, i;

	for (i = from; i < to; i++) {
		if (ra->marks[i])
			continue;
		ra->marks[i] |= ANSWERED;
		out[n++] = i;
	}
	return n;
}

size_t readahead_start(struct readahead *ra, size_t *out)
{
	return answer_range(ra, 0, ra->queued_to, out);
}

/* A lookup in listing order, as kernel readahead has it: the entry before
 * it was looked up too (or it is the first), and it is within reach of
 * what is queued. A lone lookup inside the window is not enough: five
 * random cats must not look like a reader. */
static bool is_in_order(const struct readahead *ra, size_t index)
{
	if (index >= ra->queued_to + ra->window)
		return false;
	return index == 0 || (ra->marks[index - 1] & SEEN);
}

/* The in-order rule: once index is past the marker, the next window,
 * doubled (the first one of a listing that was not eager). */
static size_t in_order(struct readahead *ra, size_t index, size_t *out)
{
	size_t from, to;

	if (index < ra->marker || ra->queued_to >= ra->count)
		return 0;
	from = index + 1 > ra->queued_to ? index + 1 : ra->queued_to;
	if (ra->queued_to > 0)
		ra->window = min_size(ra->window * 2, ra->max_window);
	to = min_size(from + ra->window, ra->count);
	ra->queued_to = to;
	ra->marker = to - (to - from) / 2;
	return answer_range(ra, from, to, out);
}

/* Up to want entries with no mark, from next to index in direction step
 * (+1 or -1), wrapping at the ends; each entry is looked at once. */
static size_t answer_around(struct readahead *ra, size_t index, int step,
			    size_t want, size_t *out)
{
	size_t n = 0, seen, i = index;

	for (seen = 1; seen < ra->count && n < want; seen++) {
		if (step > 0)
			i = i + 1 < ra->count ? i + 1 : 0;
		else
			i = i > 0 ? i - 1 : ra->count - 1;
		if (ra->marks[i])
			continue;
		ra->marks[i] |= ANSWERED;
		out[n++] = i;
	}
	return n;
}

/* A distinct lookup out of order: a walk's first window, or its next one
 * every half window of such lookups. */
static size_t walk(struct readahead *ra, size_t index, size_t *out)
{
	if (ra->last_far != index && ra->votes > -VOTES_MAX &&
	    index < ra->last_far)
		ra->votes--;
	else if (ra->last_far != index && ra->votes < VOTES_MAX &&
		 index > ra->last_far)
		ra->votes++;
	ra->last_far = index;
	if (ra->streak < READAHEAD_WALK_MIN &&
	    ra->neighbours < READAHEAD_WALK_NEIGHBOURS)
		return 0;
	if (!ra->walking) {
		ra->walking = true;
		ra->walk_window = ra->first_window;
	} else if (++ra->since_growth < ra->walk_window / 2) {
		return 0;
	} else {
		ra->walk_window = min_size(ra->walk_window * 2, ra->max_window);
	}
	ra->since_growth = 0;
	return answer_around(ra, index, ra->votes < 0 ? -1 : 1,
			     ra->walk_window, out);
}

static bool has_seen_neighbour(const struct readahead *ra, size_t index)
{
	return (index > 0 && (ra->marks[index - 1] & SEEN)) ||
	       (index + 1 < ra->count && (ra->marks[index + 1] & SEEN));
}

/* Counts a distinct lookup in the burst; a pause ends a walk. */
static void count_lookup(struct readahead *ra, size_t index, bool ordered,
			 int64_t now_ms)
{
	if (ra->streak > 0 && now_ms - ra->last_ms > READAHEAD_WALK_GAP_MS) {
		ra->streak = 0;
		ra->neighbours = 0;
		ra->walking = false;
		ra->since_growth = 0;
	}
	ra->streak++;
	if (!ordered && has_seen_neighbour(ra, index))
		ra->neighbours++;
	ra->last_ms = now_ms;
}

size_t readahead_touch(struct readahead *ra, size_t index, int64_t now_ms,
		       size_t *out)
{
	bool distinct, ordered;
	size_t n;

	if (index >= ra->count)
		return 0;
	distinct = !(ra->marks[index] & SEEN);
	ordered = is_in_order(ra, index);
	if (distinct)
		count_lookup(ra, index, ordered, now_ms);
	ra->marks[index] |= SEEN;
	n = ordered ? in_order(ra, index, out) : 0;
	if (!distinct)
		return n;
	return ordered ? n : walk(ra, index, out);
}
