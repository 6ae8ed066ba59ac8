/* test_follow_buffer — the growing file behind follow.log (fs/follow_buffer.h):
 * offsets that never move, the oldest bytes dropped past the capacity, EIO
 * for a reader behind them, and a ring that grows without losing a byte.
 * The last test checks random appends and reads against a plain copy of the
 * whole stream. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs/follow_buffer.h"

static void append_text(struct follow_buffer *b, const char *text)
{
	assert_int_equal(follow_buffer_append(b, text, strlen(text)), 0);
}

/* Reads [offset, offset + strlen(expected)) and compares. */
static void assert_read(const struct follow_buffer *b, off_t offset,
			const char *expected)
{
	char got[256];
	size_t n = strlen(expected);

	assert_true(n <= sizeof got);
	assert_int_equal(follow_buffer_read(b, got, n, offset), (ssize_t)n);
	assert_memory_equal(got, expected, n);
}

static void an_empty_stream_reads_nothing(void **state)
{
	struct follow_buffer b;
	char got[8];

	(void)state;
	follow_buffer_init(&b, 64);
	assert_int_equal(b.size, 0);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 0), 0);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 100), 0);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, -1), -EINVAL);
	assert_int_equal(follow_buffer_append(&b, "", 0), 0);
	assert_null(b.ring);
	follow_buffer_release(&b);
}

static void appends_land_at_the_end_and_stay_there(void **state)
{
	struct follow_buffer b;
	char got[8];

	(void)state;
	follow_buffer_init(&b, 1024);
	append_text(&b, "== one\n");
	append_text(&b, "log a\n");
	assert_int_equal(b.size, 13);
	assert_read(&b, 0, "== one\nlog a\n");
	append_text(&b, "== two\n");
	assert_read(&b, 0, "== one\nlog a\n== two\n");
	assert_read(&b, 7, "log a\n");
	/* short reads at the end, nothing past it */
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 17), 3);
	assert_memory_equal(got, "wo\n", 3);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 20), 0);
	follow_buffer_release(&b);
}

static void past_capacity_the_oldest_bytes_go_and_offsets_stay(void **state)
{
	struct follow_buffer b;

	(void)state;
	follow_buffer_init(&b, 10);
	append_text(&b, "0123456789");
	assert_int_equal(b.first, 0);
	append_text(&b, "abcd");
	assert_int_equal(b.size, 14);
	assert_int_equal(b.first, 4);
	assert_read(&b, 4, "456789abcd");
	assert_read(&b, 10, "abcd");
	append_text(&b, "EFGHIJKLM"); /* wraps the ring again */
	assert_int_equal(b.first, 13);
	assert_read(&b, 13, "dEFGHIJKLM");
	follow_buffer_release(&b);
}

static void a_reader_behind_the_window_gets_eio(void **state)
{
	struct follow_buffer b;
	char got[4];

	(void)state;
	follow_buffer_init(&b, 8);
	append_text(&b, "aaaaaaaa");
	append_text(&b, "bbbb");
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 0), -EIO);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 3), -EIO);
	assert_int_equal(follow_buffer_read(&b, got, sizeof got, 4), 4);
	assert_memory_equal(got, "aaaa", 4);
	follow_buffer_release(&b);
}

static void an_append_longer_than_capacity_keeps_its_tail(void **state)
{
	struct follow_buffer b;

	(void)state;
	follow_buffer_init(&b, 6);
	append_text(&b, "xy");
	append_text(&b, "0123456789");
	assert_int_equal(b.size, 12);
	assert_int_equal(b.first, 6);
	assert_read(&b, 6, "456789");
	follow_buffer_release(&b);
}

/* A capacity above the first ring: the ring doubles (at least twice) and
 * then wraps at capacity; every byte keeps its offset across each move,
 * checked right after each append and, at the end, for every line still
 * kept (EIO for the ones dropped); memory stays within capacity. */
static void the_ring_grows_without_moving_a_byte(void **state)
{
	enum { CAPACITY = 20000, LINES = 3000 };
	struct follow_buffer b;
	char line[64], got[64];
	size_t i, at = 0, growths = 0, last_allocated = 0;
	size_t starts[LINES];

	(void)state;
	follow_buffer_init(&b, CAPACITY);
	for (i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof line, "line %zu\n", i);

		starts[i] = at;
		append_text(&b, line);
		if (b.allocated != last_allocated) {
			growths++;
			last_allocated = b.allocated;
		}
		assert_int_equal(follow_buffer_read(&b, got, (size_t)n, (off_t)at), n);
		assert_memory_equal(got, line, (size_t)n);
		at += (size_t)n;
	}
	assert_true(growths >= 3);          /* the first ring and two growths */
	assert_int_equal(b.allocated, CAPACITY);
	assert_true(b.first > 0);           /* it wrapped: the oldest bytes went */
	assert_int_equal(b.size - b.first, CAPACITY);
	/* each whole line still kept reads back at its own offset */
	for (i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof line, "line %zu\n", i);

		if (starts[i] < b.first) {
			assert_int_equal(follow_buffer_read(&b, got, (size_t)n,
							    (off_t)starts[i]),
					 -EIO);
			continue;
		}
		assert_int_equal(follow_buffer_read(&b, got, (size_t)n,
						    (off_t)starts[i]), n);
		assert_memory_equal(got, line, (size_t)n);
	}
	follow_buffer_release(&b);
}

/* Random appends and reads against a copy of the whole stream: every read
 * is the copy's bytes or EIO, and EIO exactly before the last capacity. */
static void random_appends_and_reads_match_the_whole_stream(void **state)
{
	enum { CAPACITY = 5000, TOTAL = 200000 };
	char *whole = malloc(TOTAL + 4096), got[3000], chunk[3000];
	struct follow_buffer b;
	size_t size = 0;
	int round;

	(void)state;
	assert_non_null(whole);
	srand(11);
	follow_buffer_init(&b, CAPACITY);
	for (round = 0; size < TOTAL; round++) {
		size_t len = (size_t)(rand() % (round % 7 == 0 ? 3000 : 300)), i;
		off_t at;
		ssize_t n;

		for (i = 0; i < len; i++)
			chunk[i] = (char)('a' + rand() % 26);
		assert_int_equal(follow_buffer_append(&b, chunk, len), 0);
		memcpy(whole + size, chunk, len);
		size += len;
		assert_int_equal(b.size, size);
		at = (off_t)(rand() % (int)(size + 1));
		n = follow_buffer_read(&b, got, sizeof got, at);
		if ((size_t)at + CAPACITY < size) {
			assert_int_equal(n, -EIO);
			continue;
		}
		assert_true(n >= 0);
		assert_int_equal((size_t)n, size - (size_t)at < sizeof got
						    ? size - (size_t)at : sizeof got);
		assert_memory_equal(got, whole + at, (size_t)n);
	}
	assert_true(b.allocated <= CAPACITY);
	follow_buffer_release(&b);
	free(whole);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_empty_stream_reads_nothing),
		cmocka_unit_test(appends_land_at_the_end_and_stay_there),
		cmocka_unit_test(past_capacity_the_oldest_bytes_go_and_offsets_stay),
		cmocka_unit_test(a_reader_behind_the_window_gets_eio),
		cmocka_unit_test(an_append_longer_than_capacity_keeps_its_tail),
		cmocka_unit_test(the_ring_grows_without_moving_a_byte),
		cmocka_unit_test(random_appends_and_reads_match_the_whole_stream),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
