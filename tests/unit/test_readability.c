/* test_readability — fs/readability.h on an injected clock and random
 * source: the kinds of "cannot read" (fresh, gone after
 * READABILITY_FRESH_MAX_S, broken, failed), the retry schedule (1, 2, 4 ...
 * s, capped, jittered by at most a quarter), the per-mount budget, and
 * remembered orders that a contradicting fact drops. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs/readability.h"

struct fake {
	int64_t now;
	uint32_t random;  /* what the random source returns */
};

static int64_t fake_clock(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static uint32_t fake_random(void *ctx)
{
	return ((struct fake *)ctx)->random;
}

static const char *id_of(int i)
{
	static char id[40];

	snprintf(id, sizeof id, "%032x", i);
	return id;
}

/* The ms after which id, which just answered 404 for the tries-th time, may
 * be asked again: found by stepping the clock 1 ms at a time. */
static int64_t wait_until_due(struct readability *r, struct fake *f,
			      const char *id)
{
	int64_t from = f->now;

	while (readability_may_ask(r, id) != 0)
		f->now += 1;
	return f->now - from;
}

static void kinds_follow_the_answer_and_its_age(void **state)
{
	struct fake f = { 1000000, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);

	(void)state;
	assert_non_null(r);
	assert_int_equal(readability_kind(r, id_of(1), 0), RECORD_READABLE);
	assert_int_equal(readability_kind(r, id_of(1), -EBADMSG), RECORD_BROKEN);
	assert_int_equal(readability_kind(r, id_of(1), -EFBIG), RECORD_BROKEN);
	assert_int_equal(readability_kind(r, id_of(1), -EIO), RECORD_FAILED);
	assert_int_equal(readability_kind(r, id_of(1), -ECONNREFUSED), RECORD_FAILED);
	readability_note(r, id_of(1), -ENOENT);
	assert_int_equal(readability_kind(r, id_of(1), -ENOENT), RECORD_FRESH);
	f.now += (int64_t)READABILITY_FRESH_MAX_S * 1000 - 1;
	assert_int_equal(readability_kind(r, id_of(1), -ENOENT), RECORD_FRESH);
	f.now += 1;
	assert_int_equal(readability_kind(r, id_of(1), -ENOENT), RECORD_GONE);
	assert_string_equal(readability_describe(RECORD_GONE, -ENOENT), "not found");
	assert_string_equal(readability_describe(RECORD_BROKEN, -EBADMSG),
			    "malformed record");
	assert_string_equal(readability_describe(RECORD_BROKEN, -EFBIG),
			    "record too big");
	/* readable at last: forgotten, and fresh again if it ever 404s */
	readability_note(r, id_of(1), 0);
	assert_int_equal(readability_kind(r, id_of(1), -ENOENT), RECORD_FRESH);
	readability_free(r);
}

/* 1, 2, 4, 8 s and then the cap, with no jitter (random 0) and with the
 * most jitter (a quarter more). */
static void retries_back_off_doubling_to_the_cap(void **state)
{
	static const int64_t expected_s[] = { 1, 2, 4, 8, 8, 8 };
	uint32_t randoms[] = { 0, UINT32_MAX };
	size_t k, i;

	(void)state;
	assert_int_equal(READABILITY_BACKOFF_CAP_S, 8);
	for (k = 0; k < 2; k++) {
		struct fake f = { 5000, randoms[k] };
		struct readability *r = readability_new(fake_clock, fake_random, &f);

		assert_int_equal(readability_may_ask(r, id_of(7)), 0); /* first ask */
		for (i = 0; i < sizeof expected_s / sizeof expected_s[0]; i++) {
			int64_t base = expected_s[i] * 1000, waited;

			readability_note(r, id_of(7), -ENOENT);
			/* until due, the last answer stands, with no request */
			assert_int_equal(readability_may_ask(r, id_of(7)), -ENOENT);
			waited = wait_until_due(r, &f, id_of(7));
			/* the jitter: random % (a quarter + 1) */
			assert_int_equal(waited, base + (int64_t)(randoms[k] %
							  (uint32_t)(base / 4 + 1)));
			f.now += 1000; /* budget refills */
		}
		readability_free(r);
	}
}

/* Broken answers and failed fetches have no schedule: asked again at once
 * (the cache keeps an error neg_ttl, as any); a broken answer counts. */
static void a_broken_record_or_a_failed_fetch_has_no_schedule(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	struct readability_stats st;

	(void)state;
	readability_note(r, id_of(3), -EBADMSG);
	assert_int_equal(readability_may_ask(r, id_of(3)), 0);
	readability_note(r, id_of(4), -EIO);
	assert_int_equal(readability_may_ask(r, id_of(4)), 0);
	/* a 404 then a malformed answer: the schedule goes with the 404 */
	readability_note(r, id_of(5), -ENOENT);
	assert_int_equal(readability_may_ask(r, id_of(5)), -ENOENT);
	f.now += 2000;
	readability_note(r, id_of(5), -EBADMSG);
	assert_int_equal(readability_may_ask(r, id_of(5)), 0);
	readability_get_stats(r, &st);
	assert_int_equal(st.broken, 2);
	assert_int_equal(st.waiting, 0);
	readability_free(r);
}

/* Many records due at once: at most the burst is asked at once, then
 * READABILITY_BUDGET_PER_S a second; first asks are never held back. */
static void retries_share_one_budget_per_mount(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	struct readability_stats st;
	int i, asked = 0;

	(void)state;
	for (i = 0; i < 100; i++)
		readability_note(r, id_of(i), -ENOENT);
	f.now += 1000;
	for (i = 0; i < 100; i++)
		asked += readability_may_ask(r, id_of(i)) == 0;
	assert_int_equal(asked, READABILITY_BUDGET_BURST);
	for (i = 100; i < 200; i++)
		assert_int_equal(readability_may_ask(r, id_of(i)), 0);
	f.now += 1000;
	asked = 0;
	for (i = 0; i < 100; i++)
		asked += readability_may_ask(r, id_of(i)) == 0;
	assert_int_equal(asked, READABILITY_BUDGET_PER_S);
	readability_get_stats(r, &st);
	assert_int_equal(st.retries, READABILITY_BUDGET_BURST + READABILITY_BUDGET_PER_S);
	assert_true(st.over_budget >= 100 - READABILITY_BUDGET_BURST);
	assert_int_equal(st.waiting, 100);
	readability_free(r);
}

/* A gone record is asked rarely: READABILITY_GONE_RETRY_S. */
static void a_gone_record_is_asked_rarely(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	int64_t waited;

	(void)state;
	readability_note(r, id_of(9), -ENOENT);
	f.now += (int64_t)READABILITY_FRESH_MAX_S * 1000;
	assert_int_equal(readability_may_ask(r, id_of(9)), 0);
	readability_note(r, id_of(9), -ENOENT);
	waited = wait_until_due(r, &f, id_of(9));
	assert_int_equal(waited, (int64_t)READABILITY_GONE_RETRY_S * 1000);
	readability_free(r);
}

/* The table of ids has a ceiling: the longest-waiting id goes first. */
static void the_ids_remembered_are_bounded(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	struct readability_stats st;
	int i;

	(void)state;
	for (i = 0; i < READABILITY_IDS_MAX + 10; i++) {
		readability_note(r, id_of(i), -ENOENT);
		f.now += 1;
	}
	readability_get_stats(r, &st);
	assert_int_equal(st.waiting, READABILITY_IDS_MAX);
	assert_int_equal(readability_may_ask(r, id_of(0)), 0);     /* forgotten */
	assert_int_equal(readability_may_ask(r, id_of(READABILITY_IDS_MAX + 9)),
			 -ENOENT);                                   /* kept */
	readability_free(r);
}

static void an_order_is_kept_until_a_fact_contradicts_it(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	struct readability_stats st;
	bool newest_first = true;

	(void)state;
	assert_int_equal(readability_order_get(r, "Ofoo", &newest_first), -ENOENT);
	readability_order_set(r, "Ofoo", false, 1000);
	assert_int_equal(readability_order_get(r, "Ofoo", &newest_first), 0);
	assert_false(newest_first);
	/* a newer newest moves the evidence up */
	assert_false(readability_order_contradicts(r, "Ofoo", 1000));
	assert_false(readability_order_contradicts(r, "Ofoo", 2000));
	/* one older than a newest already seen: the order is dropped */
	assert_true(readability_order_contradicts(r, "Ofoo", 1500));
	assert_int_equal(readability_order_get(r, "Ofoo", &newest_first), -ENOENT);
	readability_get_stats(r, &st);
	assert_int_equal(st.orders_dropped, 1);
	readability_free(r);
}

static void stats_name_what_retries_cost(void **state)
{
	struct fake f = { 0, 0 };
	struct readability *r = readability_new(fake_clock, fake_random, &f);
	char text[1024];
	size_t n;

	(void)state;
	readability_note(r, id_of(1), -ENOENT);
	readability_may_ask(r, id_of(1));
	n = readability_format_stats(r, text, sizeof text);
	assert_true(n > 0 && n < sizeof text);
	assert_non_null(strstr(text, "records_retries_deferred 1\n"));
	assert_non_null(strstr(text, "records_waiting 1\n"));
	/* too small a buffer: snprintf-like, what it needed */
	assert_int_equal(readability_format_stats(r, text, 8), n);
	assert_int_equal(strlen(text), 7);
	readability_free(r);
	/* NULL is off: always ask, nothing remembered */
	assert_int_equal(readability_may_ask(NULL, id_of(1)), 0);
	assert_int_equal(readability_kind(NULL, id_of(1), -ENOENT), RECORD_FRESH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kinds_follow_the_answer_and_its_age),
		cmocka_unit_test(retries_back_off_doubling_to_the_cap),
		cmocka_unit_test(a_broken_record_or_a_failed_fetch_has_no_schedule),
		cmocka_unit_test(retries_share_one_budget_per_mount),
		cmocka_unit_test(a_gone_record_is_asked_rarely),
		cmocka_unit_test(the_ids_remembered_are_bounded),
		cmocka_unit_test(an_order_is_kept_until_a_fact_contradicts_it),
		cmocka_unit_test(stats_name_what_retries_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
