/* test_breaker — the circuit breaker (cache/breaker.h) on an injected
 * clock: it opens after the configured run of consecutive failures (and
 * not before, nor after failures a success interrupted), refuses calls for
 * exactly its cooldown, then lets one probe through whose outcome closes
 * or reopens it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cache/breaker.h"

#define FAILURES 3
#define COOLDOWN_MS 5000

static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int setup(void **state)
{
	static struct breaker b;
	const struct breaker_config config = { FAILURES, COOLDOWN_MS, fake_clock,
					       NULL };

	fake_now = 1000;
	breaker_init(&b, &config);
	*state = &b;
	return 0;
}

static int teardown(void **state)
{
	breaker_release(*state);
	return 0;
}

static void fail_calls(struct breaker *b, int times)
{
	while (times-- > 0) {
		assert_true(breaker_allow(b));
		breaker_failure(b);
	}
}

static void it_opens_after_the_run_of_failures_and_not_before(void **state)
{
	struct breaker *b = *state;
	uint64_t trips = 99;

	fail_calls(b, FAILURES - 1);
	assert_int_equal(breaker_get_state(b, &trips), BREAKER_CLOSED);
	assert_int_equal(trips, 0);
	assert_false(breaker_is_open(b));
	fail_calls(b, 1);
	assert_int_equal(breaker_get_state(b, &trips), BREAKER_OPEN);
	assert_int_equal(trips, 1);
	assert_true(breaker_is_open(b));
	assert_false(breaker_allow(b));
}

static void a_success_resets_the_run(void **state)
{
	struct breaker *b = *state;

	fail_calls(b, FAILURES - 1);
	assert_true(breaker_allow(b));
	breaker_success(b);
	fail_calls(b, FAILURES - 1);
	assert_int_equal(breaker_get_state(b, NULL), BREAKER_CLOSED);
	fail_calls(b, 1);
	assert_int_equal(breaker_get_state(b, NULL), BREAKER_OPEN);
}

static void it_refuses_for_exactly_the_cooldown(void **state)
{
	struct breaker *b = *state;

	fail_calls(b, FAILURES);
	fake_now += COOLDOWN_MS - 1;
	assert_false(breaker_allow(b));
	assert_true(breaker_is_open(b));
	fake_now += 1;
	/* is_open only looks: the probe is still there to claim. */
	assert_false(breaker_is_open(b));
	assert_true(breaker_allow(b));
}

static void only_one_probe_goes_ahead(void **state)
{
	struct breaker *b = *state;

	fail_calls(b, FAILURES);
	fake_now += COOLDOWN_MS;
	assert_true(breaker_allow(b));
	assert_int_equal(breaker_get_state(b, NULL), BREAKER_PROBING);
	assert_false(breaker_allow(b));
	assert_false(breaker_allow(b));
	assert_true(breaker_is_open(b));
	fake_now += 10 * COOLDOWN_MS; /* however long the probe takes */
	assert_false(breaker_allow(b));
}

static void a_probe_that_succeeds_closes_it(void **state)
{
	struct breaker *b = *state;

	fail_calls(b, FAILURES);
	fake_now += COOLDOWN_MS;
	assert_true(breaker_allow(b));
	breaker_success(b);
	assert_int_equal(breaker_get_state(b, NULL), BREAKER_CLOSED);
	assert_true(breaker_allow(b));
	assert_true(breaker_allow(b));
	breaker_success(b);
	breaker_success(b);
	/* Closed again means a full run of failures to reopen. */
	fail_calls(b, FAILURES - 1);
	assert_int_equal(breaker_get_state(b, NULL), BREAKER_CLOSED);
}

static void a_probe_that_fails_reopens_it_for_another_cooldown(void **state)
{
	struct breaker *b = *state;
	uint64_t trips = 0;

	fail_calls(b, FAILURES);
	fake_now += COOLDOWN_MS + 123;
	assert_true(breaker_allow(b));
	breaker_failure(b); /* one failure is enough while probing */
	assert_int_equal(breaker_get_state(b, &trips), BREAKER_OPEN);
	assert_int_equal(trips, 2);
	fake_now += COOLDOWN_MS - 1;
	assert_false(breaker_allow(b));
	fake_now += 1;
	assert_true(breaker_allow(b));
}

static void late_failures_while_open_do_not_extend_it(void **state)
{
	struct breaker *b = *state;
	int i;

	/* Calls let through while closed report after it opened. */
	for (i = 0; i < FAILURES + 4; i++)
		assert_true(breaker_allow(b));
	for (i = 0; i < FAILURES + 4; i++)
		breaker_failure(b);
	fake_now += COOLDOWN_MS;
	assert_true(breaker_allow(b));
}

static void states_have_names(void **state)
{
	(void)state;
	assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
	assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
	assert_string_equal(breaker_state_name(BREAKER_PROBING), "probing");
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(it_opens_after_the_run_of_failures_and_not_before),
		T(a_success_resets_the_run),
		T(it_refuses_for_exactly_the_cooldown),
		T(only_one_probe_goes_ahead),
		T(a_probe_that_succeeds_closes_it),
		T(a_probe_that_fails_reopens_it_for_another_cooldown),
		T(late_failures_while_open_do_not_extend_it),
		T(states_have_names),
	};
#undef T

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
