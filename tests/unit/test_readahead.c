/* test_readahead — the readahead rule (fs/readahead.h) without threads or a
 * clock: a reader in listing order is followed as before; a walk in any
 * order (rg's and fd's last-first, two ends at once, random) is recognised
 * after READAHEAD_WALK_MIN distinct lookups in a burst (or
 * READAHEAD_WALK_NEIGHBOURS next to each other) and then kept ahead of; a few lookups, a single one, repeats of one, or lookups spread over
 * time cost nothing beyond the first window; and whatever the lookups, no
 * entry is answered twice or out of range, and a burst that is no walk
 * costs at most first + 4 (k - j), j the lookup that made it a walk. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs/readahead.h"

#define FIRST 64
#define MAX 512
#define N 2000

/* One listing and what happened to each of its entries. */
struct trial {
	struct readahead ra;
	size_t *out;
	unsigned answered[N];   /* times each entry was answered */
	bool touched[N];
	size_t answered_total;
	size_t ahead;           /* lookups of an entry answered before them */
	size_t lookups;
	int64_t now;
};

static void record(struct trial *t, size_t n)
{
	size_t i;

	assert_true(n <= MAX);
	for (i = 0; i < n; i++) {
		assert_true(t->out[i] < N);
		t->answered[t->out[i]]++;
		assert_int_equal(t->answered[t->out[i]], 1);
		assert_false(t->touched[t->out[i]]);
	}
	t->answered_total += n;
}

static struct trial *trial_new(bool eager)
{
	struct trial *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->out = calloc(MAX, sizeof(*t->out));
	assert_non_null(t->out);
	assert_int_equal(readahead_init(&t->ra, N, FIRST, MAX, eager), 0);
	record(t, readahead_start(&t->ra, t->out));
	t->now = 1000000;
	return t;
}

static void trial_free(struct trial *t)
{
	readahead_release(&t->ra);
	free(t->out);
	free(t);
}

/* A lookup of index, step_ms after the one before. */
static void look(struct trial *t, size_t index, int64_t step_ms)
{
	t->now += step_ms;
	if (!t->touched[index] && t->answered[index])
		t->ahead++;
	t->touched[index] = true;
	t->lookups++;
	record(t, readahead_touch(&t->ra, index, t->now, t->out));
}

/* Every entry either looked up or answered, none twice. */
static void assert_covered(const struct trial *t)
{
	size_t i;

	for (i = 0; i < N; i++)
		assert_true(t->touched[i] || t->answered[i] == 1);
}

static void an_eager_listing_answers_the_first_window(void **state)
{
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	assert_int_equal(t->answered_total, FIRST);
	for (i = 0; i < FIRST; i++)
		assert_int_equal(t->answered[i], 1);
	trial_free(t);
}

static void a_lazy_listing_answers_nothing_until_a_lookup(void **state)
{
	struct trial *t = trial_new(false);

	(void)state;
	assert_int_equal(t->answered_total, 0);
	look(t, 0, 1);           /* the first entry: the first window after it */
	assert_int_equal(t->answered_total, FIRST);
	assert_int_equal(t->answered[1], 1);
	assert_int_equal(t->answered[FIRST], 1);
	trial_free(t);

	t = trial_new(false);
	look(t, 1500, 1);        /* far from the start: nothing */
	assert_int_equal(t->answered_total, 0);
	trial_free(t);
}

static void a_reader_in_listing_order_is_followed_with_doubling_windows(void **state)
{
	struct trial *t = trial_new(true);
	size_t i, before;

	(void)state;
	for (i = 0; i < N; i++) {
		before = t->answered_total;
		look(t, i, 20);
		/* each answer is a window: 128, 256, 512, then 512s */
		if (t->answered_total > before)
			assert_true(t->answered_total - before <= MAX);
	}
	assert_covered(t);
	/* every lookup found its entry answered before it, once */
	assert_int_equal(t->ahead, N);
	assert_int_equal(t->answered_total, N);
	trial_free(t);
}

/* rg and fd: one thread reads the listing and pushes every entry on a
 * stack; the walkers pop them, the last one first. */
static void a_last_first_walk_is_kept_ahead_of(void **state)
{
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	for (i = N; i-- > 0;)
		look(t, i, 10);
	assert_covered(t);
	/* the first WALK_MIN were looked up before any readahead for them;
	 * the first window (the end of the walk) was answered up front */
	assert_true(t->ahead >= N - READAHEAD_WALK_MIN - FIRST / 2);
	trial_free(t);
}

static void the_first_walk_window_is_next_to_the_walker(void **state)
{
	struct trial *t = trial_new(true);
	size_t i, last = 1990 - 10 * (READAHEAD_WALK_MIN - 1);

	(void)state;
	/* out of order, none next to another: WALK_MIN of them make a walk */
	for (i = 1990; i > last; i -= 10)
		look(t, i, 10);
	assert_int_equal(t->answered_total, FIRST);          /* not yet a walk */
	look(t, last, 10);                                   /* the 16th */
	assert_int_equal(t->answered_total, 2 * FIRST);
	for (i = last - FIRST; i < last; i++)
		assert_int_equal(t->answered[i], 1);
	trial_free(t);
}

static void a_backward_reader_is_a_walk_after_four_neighbours(void **state)
{
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	for (i = N - 1; i > N - 1 - READAHEAD_WALK_NEIGHBOURS; i--)
		look(t, i, 10);          /* the first has no neighbour yet */
	assert_int_equal(t->answered_total, FIRST);
	look(t, i, 10);
	assert_int_equal(t->answered_total, 2 * FIRST);
	assert_int_equal(t->answered[i - 1], 1);
	assert_int_equal(t->answered[i - FIRST], 1);
	trial_free(t);
}

static void a_walk_from_both_ends_is_kept_ahead_of(void **state)
{
	struct trial *t = trial_new(true);
	size_t low = 0, high = N;

	(void)state;
	while (low < high) {
		look(t, low++, 5);
		if (low < high)
			look(t, --high, 5);
	}
	assert_covered(t);
	assert_true(t->ahead >= N - 2 * READAHEAD_WALK_MIN);
	trial_free(t);
}

/* A random permutation, from a fixed seed (xorshift). */
static void shuffle(size_t *order, size_t count, uint64_t seed)
{
	size_t i, j, tmp;

	for (i = 0; i < count; i++)
		order[i] = i;
	for (i = count; i-- > 1;) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = (size_t)(seed % (i + 1));
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
}

static void a_random_walk_gets_the_whole_listing(void **state)
{
	static size_t order[N];
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	shuffle(order, N, 22);
	for (i = 0; i < N; i++)
		look(t, order[i], 3);
	assert_covered(t);
	/* once a walk, the readahead covers the listing long before the end */
	assert_true(t->ahead >= N / 2);
	trial_free(t);
}

static void a_few_random_lookups_cost_only_the_first_window(void **state)
{
	static size_t order[N];
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	shuffle(order, N, 5);
	/* cat of 5 random activations, and up to WALK_MIN - 1 in a burst */
	for (i = 0; i < READAHEAD_WALK_MIN - 1; i++) {
		look(t, order[i], 1);
		assert_int_equal(t->answered_total, FIRST);
	}
	trial_free(t);
}

static void lookups_spread_over_time_are_no_walk(void **state)
{
	static size_t order[N];
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	shuffle(order, N, 7);
	for (i = 0; i < 200; i++)
		look(t, FIRST * 2 + order[i] % (N - FIRST * 2),
		     READAHEAD_WALK_GAP_MS + 1);
	assert_int_equal(t->answered_total, FIRST);
	trial_free(t);
}

static void repeated_lookups_of_one_entry_are_one_lookup(void **state)
{
	struct trial *t = trial_new(true);
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		look(t, 1500, 1);
	assert_int_equal(t->answered_total, FIRST);
	trial_free(t);
}

static void a_pause_ends_a_walk(void **state)
{
	struct trial *t = trial_new(true);
	size_t i, answered;

	(void)state;
	for (i = 0; i < READAHEAD_WALK_MIN; i++)
		look(t, 1900 - i * 10, 1);          /* a walk: one more window */
	answered = t->answered_total;
	assert_int_equal(answered, 2 * FIRST);
	look(t, 1000, READAHEAD_WALK_GAP_MS + 1); /* after a pause: a new burst */
	for (i = 1; i < READAHEAD_WALK_MIN - 1; i++)
		look(t, 1000 - i * 10, 1);
	assert_int_equal(t->answered_total, answered);
	trial_free(t);
}

/* The worst case the header promises: a burst of k distinct random lookups
 * costs nothing beyond the first window until it is taken for a walk (at
 * the j-th, j <= WALK_MIN), then at most first + 4 (k - j), for every k. */
static void a_burst_costs_at_most_first_plus_four_per_lookup(void **state)
{
	static size_t order[N];
	struct trial *t = trial_new(true);
	size_t k, detected = 0;

	(void)state;
	shuffle(order, N, 1234);
	for (k = 1; k <= N; k++) {
		look(t, order[k - 1], 1);
		if (!detected && t->ra.walking)
			detected = k;
		if (!detected)
			assert_int_equal(t->answered_total, FIRST);
		else
			assert_true(t->answered_total - FIRST <= FIRST + 4 * (k - detected));
	}
	assert_true(detected >= READAHEAD_WALK_NEIGHBOURS + 1);
	assert_true(detected <= READAHEAD_WALK_MIN);
	trial_free(t);
}

static void out_of_range_and_empty_listings_answer_nothing(void **state)
{
	struct readahead ra;
	size_t out[MAX];

	(void)state;
	assert_int_equal(readahead_init(&ra, 0, FIRST, MAX, true), 0);
	assert_int_equal(readahead_start(&ra, out), 0);
	assert_int_equal(readahead_touch(&ra, 0, 1, out), 0);
	readahead_release(&ra);

	assert_int_equal(readahead_init(&ra, 10, FIRST, MAX, true), 0);
	assert_int_equal(readahead_start(&ra, out), 10);
	assert_int_equal(readahead_touch(&ra, 10, 1, out), 0);
	assert_int_equal(readahead_touch(&ra, (size_t)-1, 1, out), 0);
	readahead_release(&ra);

	/* -o readahead smaller than the first window caps it */
	assert_int_equal(readahead_init(&ra, 100, FIRST, 8, true), 0);
	assert_int_equal(readahead_start(&ra, out), 8);
	readahead_release(&ra);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_eager_listing_answers_the_first_window),
		cmocka_unit_test(a_lazy_listing_answers_nothing_until_a_lookup),
		cmocka_unit_test(a_reader_in_listing_order_is_followed_with_doubling_windows),
		cmocka_unit_test(a_last_first_walk_is_kept_ahead_of),
		cmocka_unit_test(the_first_walk_window_is_next_to_the_walker),
		cmocka_unit_test(a_backward_reader_is_a_walk_after_four_neighbours),
		cmocka_unit_test(a_walk_from_both_ends_is_kept_ahead_of),
		cmocka_unit_test(a_random_walk_gets_the_whole_listing),
		cmocka_unit_test(a_few_random_lookups_cost_only_the_first_window),
		cmocka_unit_test(lookups_spread_over_time_are_no_walk),
		cmocka_unit_test(repeated_lookups_of_one_entry_are_one_lookup),
		cmocka_unit_test(a_pause_ends_a_walk),
		cmocka_unit_test(a_burst_costs_at_most_first_plus_four_per_lookup),
		cmocka_unit_test(out_of_range_and_empty_listings_answer_nothing),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
