/* test_render — an activation record rendered as the files that show it
 * (fs/render.h). Records are built by hand here, not decoded, so these tests
 * depend on nothing but render.c and the plain types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fs/render.h"

#define ID "8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f"

static const char record_json[] = "{\n\t\"activationId\":\t\"" ID "\"\n}\n";
static const char result_json[] = "{\n\t\"payload\":\t\"abc\"\n}\n";

/* A record as the decoder would hand it over; the strings point at
 * caller-owned storage that render must copy, not take. */
static void make_record(struct ncf_activation *a, char **logs, size_t log_count)
{
	memset(a, 0, sizeof *a);
	memcpy(a->id, ID, sizeof a->id);
	a->start_ms = 1714111020170LL;
	a->end_ms = 1714111020204LL;
	a->duration_ms = 34;
	a->init_time_ms = NCF_UNKNOWN;
	a->success = true;
	a->status = (char *)"success";
	a->record_json = (char *)record_json;
	a->record_len = sizeof record_json - 1;
	a->result_json = (char *)result_json;
	a->result_len = sizeof result_json - 1;
	a->logs = logs;
	a->log_count = log_count;
}

static void assert_file(const struct rendered_activation *r, enum activation_file f,
			const char *expected)
{
	const struct rendered_file *file = &r->files[f];
	size_t len = strlen(expected);

	assert_int_equal(file->len, len);
	if (len)
		assert_non_null(file->data);
	assert_memory_equal(file->data, expected, len);
}

static void files_show_the_record(void **state)
{
	char *logs[] = {(char *)"2024-04-26T05:57:00.170Z stdout: hello",
			(char *)"2024-04-26T05:57:00.171Z stderr: warn"};
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, logs, 2);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_file(r, ACT_FILE_ACTIVATION_JSON, record_json);
	assert_file(r, ACT_FILE_RESULT_JSON, result_json);
	assert_file(r, ACT_FILE_LOGS_TXT,
		    "2024-04-26T05:57:00.170Z stdout: hello\n"
		    "2024-04-26T05:57:00.171Z stderr: warn\n");
	assert_file(r, ACT_FILE_DURATION, "34\n");
	assert_file(r, ACT_FILE_STATUS, "success\n");
	render_activation_free(r);
}

static void other_statuses_and_durations(void **state)
{
	static const struct {
		const char *status;
		int64_t duration;
		const char *status_file, *duration_file;
	} cases[] = {
		{"application error", 0, "application error\n", "0\n"},
		{"action developer error", 60000, "action developer error\n", "60000\n"},
		{"whisk internal error", 1, "whisk internal error\n", "1\n"},
		{"success", 86400000LL * 365, "success\n", "31536000000\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ncf_activation a;
		struct rendered_activation *r;

		make_record(&a, NULL, 0);
		a.status = (char *)cases[i].status;
		a.duration_ms = cases[i].duration;
		r = render_activation(&a, 1 << 20);
		assert_non_null(r);
		assert_file(r, ACT_FILE_STATUS, cases[i].status_file);
		assert_file(r, ACT_FILE_DURATION, cases[i].duration_file);
		render_activation_free(r);
	}
}

static void empty_logs_are_an_empty_file(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_int_equal(r->files[ACT_FILE_LOGS_TXT].len, 0);
	render_activation_free(r);
}

static void every_log_line_ends_in_a_newline(void **state)
{
	char *logs[] = {(char *)"one", (char *)"", (char *)"three"};
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, logs, 3);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_file(r, ACT_FILE_LOGS_TXT, "one\n\nthree\n");
	render_activation_free(r);
}

static void mtime_is_the_end_to_the_millisecond(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_int_equal(r->mtime.tv_sec, 1714111020);
	assert_int_equal(r->mtime.tv_nsec, 204000000L);
	render_activation_free(r);
}

static void mtime_falls_back_to_start_when_end_is_zero(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	a.end_ms = 0; /* trigger activations */
	a.start_ms = 1700000000999LL;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_int_equal(r->mtime.tv_sec, 1700000000);
	assert_int_equal(r->mtime.tv_nsec, 999000000L);
	render_activation_free(r);
}

static void mtime_of_a_whole_second(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	a.end_ms = 1700000001000LL;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_int_equal(r->mtime.tv_sec, 1700000001);
	assert_int_equal(r->mtime.tv_nsec, 0);
	render_activation_free(r);
}

/* Absent times (NCF_UNKNOWN) never make an invalid or pre-epoch mtime. */
static void unknown_times_give_a_valid_mtime(void **state)
{
	static const struct {
		int64_t start, end;
		time_t sec;
		long nsec;
	} cases[] = {
		{1700000000123LL, NCF_UNKNOWN, 1700000000, 123000000L},
		{NCF_UNKNOWN, 1700000000123LL, 1700000000, 123000000L},
		{NCF_UNKNOWN, NCF_UNKNOWN, -1, 0},
		{NCF_UNKNOWN, 0, -1, 0},
		{0, 0, -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ncf_activation a;
		struct rendered_activation *r;

		make_record(&a, NULL, 0);
		a.start_ms = cases[i].start;
		a.end_ms = cases[i].end;
		r = render_activation(&a, 1 << 20);
		assert_non_null(r);
		assert_true(r->mtime.tv_nsec >= 0 && r->mtime.tv_nsec < 1000000000L);
		assert_true(r->mtime.tv_sec >= 0);
		if (cases[i].sec >= 0) {
			assert_int_equal(r->mtime.tv_sec, cases[i].sec);
			assert_int_equal(r->mtime.tv_nsec, cases[i].nsec);
		}
		render_activation_free(r);
	}
}

/* An unknown duration is never shown as the sentinel -1. */
static void unknown_duration_is_not_shown_as_minus_one(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;
	const struct rendered_file *d;

	(void)state;
	make_record(&a, NULL, 0);
	a.duration_ms = NCF_UNKNOWN;
	a.start_ms = NCF_UNKNOWN;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	d = &r->files[ACT_FILE_DURATION];
	if (d->len > 0) {
		assert_null(memchr(d->data, '-', d->len));
		assert_int_equal(d->data[d->len - 1], '\n');
	}
	render_activation_free(r);
}

/* Sizes are exact (what stat shows is what read returns) and the whole
 * rendering is charged to the cache. */
static void sizes_are_the_rendered_lengths(void **state)
{
	char *logs[] = {(char *)"a", (char *)"bb"};
	struct ncf_activation a;
	struct rendered_activation *r;
	size_t sum = 0;

	(void)state;
	make_record(&a, logs, 2);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	for (int f = 0; f < ACT_FILE_COUNT; f++) {
		const struct rendered_file *file = &r->files[f];

		if (file->len) {
			assert_non_null(file->data);
			assert_null(memchr(file->data, '\0', file->len));
		}
		sum += file->len;
	}
	assert_int_equal(r->files[ACT_FILE_LOGS_TXT].len, 5);
	assert_true(r->bytes >= sum);
	render_activation_free(r);
}

/* The rendering owns copies: changing or freeing the record afterwards
 * changes nothing. */
static void rendering_does_not_borrow_from_the_record(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;
	char *status = strdup("success");
	char *record = strdup(record_json);
	char *line = strdup("hello");
	char **logs = malloc(sizeof *logs);

	(void)state;
	assert_non_null(status);
	assert_non_null(record);
	assert_non_null(line);
	assert_non_null(logs);
	logs[0] = line;
	make_record(&a, logs, 1);
	a.status = status;
	a.record_json = record;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	memset(status, 'X', strlen(status));
	memset(record, 'X', strlen(record));
	memset(line, 'X', strlen(line));
	free(status);
	free(record);
	free(line);
	free(logs);
	assert_file(r, ACT_FILE_STATUS, "success\n");
	assert_file(r, ACT_FILE_ACTIVATION_JSON, record_json);
	assert_file(r, ACT_FILE_LOGS_TXT, "hello\n");
	render_activation_free(r);
}

static void file_over_max_is_refused(void **state)
{
	char *logs[] = {(char *)"0123456789"}; /* logs.txt is 11 bytes */
	struct ncf_activation a;
	struct rendered_activation *r;
	size_t longest = sizeof record_json - 1; /* the longest file here */

	(void)state;
	make_record(&a, logs, 1);
	assert_true(longest > 11);
	/* Exactly at the limit is allowed; one byte over is not. */
	r = render_activation(&a, longest);
	assert_non_null(r);
	render_activation_free(r);
	assert_null(render_activation(&a, longest - 1));
	assert_null(render_activation(&a, 10));
	assert_null(render_activation(&a, 0));
}

static void many_log_lines_over_max_are_refused(void **state)
{
	enum { LINES = 10000 };
	char **logs = malloc(LINES * sizeof *logs);
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	assert_non_null(logs);
	for (int i = 0; i < LINES; i++)
		logs[i] = (char *)"0123456789abcdefghi"; /* 20 bytes with \n */
	make_record(&a, logs, LINES);
	assert_null(render_activation(&a, 20 * LINES - 1));
	r = render_activation(&a, 20 * LINES);
	assert_non_null(r);
	assert_int_equal(r->files[ACT_FILE_LOGS_TXT].len, 20 * LINES);
	render_activation_free(r);
	free(logs);
}

/* stdout.txt and stderr.txt: one stream each, without the OpenWhisk
 * "<time> stdout: " prefix (what `wsk activation logs --strip` shows). */
static void streams_are_split_and_stripped(void **state)
{
	char *logs[] = {(char *)"2024-04-26T05:57:00.170Z stdout: hello",
			(char *)"2024-04-26T05:57:00.171Z stderr: warn",
			(char *)"2024-04-26T05:57:00.172Z stdout: world",
			(char *)"2024-04-26T05:57:00.173Z stderr: stdout: not a prefix"};
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, logs, 4);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_file(r, ACT_FILE_STDOUT_TXT, "hello\nworld\n");
	assert_file(r, ACT_FILE_STDERR_TXT, "warn\nstdout: not a prefix\n");
	/* logs.txt keeps every line whole. */
	assert_file(r, ACT_FILE_LOGS_TXT,
		    "2024-04-26T05:57:00.170Z stdout: hello\n"
		    "2024-04-26T05:57:00.171Z stderr: warn\n"
		    "2024-04-26T05:57:00.172Z stdout: world\n"
		    "2024-04-26T05:57:00.173Z stderr: stdout: not a prefix\n");
	render_activation_free(r);
}

static void streams_of_no_logs_are_empty(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_true(r->files[ACT_FILE_STDOUT_TXT].present);
	assert_true(r->files[ACT_FILE_STDERR_TXT].present);
	assert_int_equal(r->files[ACT_FILE_STDOUT_TXT].len, 0);
	assert_int_equal(r->files[ACT_FILE_STDERR_TXT].len, 0);
	render_activation_free(r);
}

/* cold_start exists only when the record has annotations; OpenWhisk
 * annotates initTime on cold starts only. */
static void cold_start_only_with_annotations(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_false(r->files[ACT_FILE_COLD_START].present);
	for (int f = 0; f < ACT_FILE_COUNT; f++)
		if (f != ACT_FILE_COLD_START)
			assert_true(r->files[f].present);
	render_activation_free(r);

	a.has_annotations = true;
	a.init_time_ms = 312;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_true(r->files[ACT_FILE_COLD_START].present);
	assert_file(r, ACT_FILE_COLD_START, "true\n");
	render_activation_free(r);

	a.init_time_ms = NCF_UNKNOWN;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_true(r->files[ACT_FILE_COLD_START].present);
	assert_file(r, ACT_FILE_COLD_START, "false\n");
	render_activation_free(r);
}

static void rendering_keeps_the_times_and_outcome(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;

	(void)state;
	make_record(&a, NULL, 0);
	a.success = false;
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	assert_int_equal(r->start_ms, 1714111020170LL);
	assert_int_equal(r->end_ms, 1714111020204LL);
	assert_int_equal(r->duration_ms, 34);
	assert_false(r->success);
	render_activation_free(r);
}

/* ---- activations.tsv ---------------------------------------------------
 * Expected times computed with date(1), e.g.
 *   date -u -d @1714111020.170 +%Y-%m-%dT%H:%M:%S.%3NZ */

static void tsv_header_names_the_columns(void **state)
{
	(void)state;
	assert_string_equal(RENDER_TSV_HEADER,
			    "id\tstart\tend\tduration_ms\tstatus\tsuccess\n");
}

static char *tsv_of(const struct ncf_activation *a, char *out, size_t size)
{
	struct rendered_activation *r = render_activation(a, 1 << 20);
	size_t n;

	assert_non_null(r);
	n = render_tsv_line(ID, r, out, size);
	render_activation_free(r);
	assert_int_equal(n, strlen(out));
	return out;
}

static void tsv_line_of_an_activation(void **state)
{
	struct ncf_activation a;
	char line[RENDER_TSV_LINE_MAX];

	(void)state;
	make_record(&a, NULL, 0);
	assert_string_equal(tsv_of(&a, line, sizeof line),
			    ID "\t2024-04-26T05:57:00.170Z\t2024-04-26T05:57:00.204Z\t34\t"
			    "success\ttrue\n");
	a.success = false;
	a.status = (char *)"application error";
	a.start_ms = 1700000000999LL;
	a.end_ms = 1700000001000LL;
	a.duration_ms = 1;
	assert_string_equal(tsv_of(&a, line, sizeof line),
			    ID "\t2023-11-14T22:13:20.999Z\t2023-11-14T22:13:21.000Z\t1\t"
			    "application error\tfalse\n");
}

static void tsv_unknown_values_are_empty_fields(void **state)
{
	struct ncf_activation a;
	char line[RENDER_TSV_LINE_MAX];

	(void)state;
	make_record(&a, NULL, 0);
	a.start_ms = NCF_UNKNOWN;
	a.end_ms = NCF_UNKNOWN;
	a.duration_ms = NCF_UNKNOWN;
	a.status = (char *)"";
	a.success = false;
	assert_string_equal(tsv_of(&a, line, sizeof line), ID "\t\t\t\t\tfalse\n");
}

/* Trigger activations have end 0 (the API says so): the end column stays
 * empty instead of inventing one. */
static void tsv_trigger_activation_has_no_end(void **state)
{
	struct ncf_activation a;
	char line[RENDER_TSV_LINE_MAX];

	(void)state;
	make_record(&a, NULL, 0);
	a.end_ms = 0;
	a.duration_ms = 0;
	assert_string_equal(tsv_of(&a, line, sizeof line),
			    ID "\t2024-04-26T05:57:00.170Z\t\t0\t"
			    "success\ttrue\n");
}

/* A hostile status can add neither columns nor rows. */
static void tsv_status_cannot_break_the_table(void **state)
{
	struct ncf_activation a;
	char line[RENDER_TSV_LINE_MAX];
	int tabs = 0, newlines = 0;

	(void)state;
	make_record(&a, NULL, 0);
	a.status = (char *)"evil\tcolumn\nrow\r\n";
	tsv_of(&a, line, sizeof line);
	for (const char *p = line; *p; p++) {
		tabs += *p == '\t';
		newlines += *p == '\n' || *p == '\r';
	}
	assert_int_equal(tabs, 5);
	assert_int_equal(newlines, 1);
	assert_int_equal(line[strlen(line) - 1], '\n');
}

/* ---- follow.log's header line --------------------------------------------- */

static char *header_of(const struct ncf_activation *a, char *out, size_t size)
{
	struct rendered_activation *r = render_activation(a, 1 << 20);
	size_t n;

	assert_non_null(r);
	n = render_follow_header(ID, "demo", "hello", r, out, size);
	render_activation_free(r);
	assert_int_equal(n, strlen(out));
	return out;
}

/* One line of space-separated fields, status last: awk '$1 == "=="' finds
 * the headers, $2 is the start, $3 the id, $4 the action, $5+0 the ms. */
static void follow_header_of_an_activation(void **state)
{
	struct ncf_activation a;
	char line[RENDER_FOLLOW_HEADER_MAX];

	(void)state;
	make_record(&a, NULL, 0);
	assert_string_equal(header_of(&a, line, sizeof line),
			    "== 2024-04-26T05:57:00.170Z " ID " demo/hello 34ms success\n");
	a.success = false;
	a.status = (char *)"application error";
	assert_string_equal(header_of(&a, line, sizeof line),
			    "== 2024-04-26T05:57:00.170Z " ID
			    " demo/hello 34ms application error\n");
}

static void follow_header_unknown_values_are_dashes(void **state)
{
	struct ncf_activation a;
	char line[RENDER_FOLLOW_HEADER_MAX];

	(void)state;
	make_record(&a, NULL, 0);
	a.start_ms = NCF_UNKNOWN;
	a.end_ms = NCF_UNKNOWN;
	a.duration_ms = NCF_UNKNOWN;
	a.status = (char *)"";
	assert_string_equal(header_of(&a, line, sizeof line),
			    "== - " ID " demo/hello - -\n");
}

static void follow_header_status_stays_on_one_line(void **state)
{
	struct ncf_activation a;
	char line[RENDER_FOLLOW_HEADER_MAX];
	int newlines = 0;

	(void)state;
	make_record(&a, NULL, 0);
	a.status = (char *)"evil\n== fake\r\n";
	header_of(&a, line, sizeof line);
	for (const char *p = line; *p; p++)
		newlines += *p == '\n' || *p == '\r' || *p == '\t';
	assert_int_equal(newlines, 1);
	assert_int_equal(line[strlen(line) - 1], '\n');
}

/* Like snprintf: the full length comes back, the buffer holds what fits. */
static void tsv_line_into_a_short_buffer(void **state)
{
	struct ncf_activation a;
	struct rendered_activation *r;
	char full[RENDER_TSV_LINE_MAX], small[16];
	size_t n;

	(void)state;
	make_record(&a, NULL, 0);
	r = render_activation(&a, 1 << 20);
	assert_non_null(r);
	n = render_tsv_line(ID, r, full, sizeof full);
	assert_int_equal(n, strlen(full));
	memset(small, 'Z', sizeof small);
	assert_int_equal(render_tsv_line(ID, r, small, sizeof small), n);
	assert_int_equal(small[sizeof small - 1], '\0');
	assert_memory_equal(small, full, sizeof small - 1);
	render_activation_free(r);
}

/* Whatever the limit, a render is whole or nothing: NULL, or every file
 * there (cold_start when annotated) with its bytes and within the limit;
 * a render that stops halfway frees what it made (ASan and valgrind would
 * report it). And, like every _free, free takes NULL. */
static void render_is_whole_or_nothing(void **state)
{
	char *logs[] = {(char *)"2024-04-26T05:57:00.170Z stdout: hello",
			(char *)"2024-04-26T05:57:00.171Z stderr: warn"};
	struct ncf_activation a;
	struct rendered_activation *full;
	size_t limit, longest = 0, rendered = 0;

	(void)state;
	make_record(&a, logs, 2);
	a.has_annotations = true;
	full = render_activation(&a, 1 << 20);
	assert_non_null(full);
	for (int f = 0; f < ACT_FILE_COUNT; f++)
		longest = full->files[f].len > longest ? full->files[f].len : longest;
	render_activation_free(full);
	for (limit = 0; limit <= longest + 2; limit++) {
		struct rendered_activation *r = render_activation(&a, limit);

		if (!r)
			continue;
		rendered++;
		for (int f = 0; f < ACT_FILE_COUNT; f++) {
			assert_true(r->files[f].present);
			assert_non_null(r->files[f].data);
			assert_true(r->files[f].len <= limit);
		}
		render_activation_free(r);
	}
	/* From the longest file's length on, and only from there. */
	assert_int_equal(rendered, 3);
	render_activation_free(NULL);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files_show_the_record),
		cmocka_unit_test(other_statuses_and_durations),
		cmocka_unit_test(empty_logs_are_an_empty_file),
		cmocka_unit_test(every_log_line_ends_in_a_newline),
		cmocka_unit_test(mtime_is_the_end_to_the_millisecond),
		cmocka_unit_test(mtime_falls_back_to_start_when_end_is_zero),
		cmocka_unit_test(mtime_of_a_whole_second),
		cmocka_unit_test(unknown_times_give_a_valid_mtime),
		cmocka_unit_test(unknown_duration_is_not_shown_as_minus_one),
		cmocka_unit_test(sizes_are_the_rendered_lengths),
		cmocka_unit_test(rendering_does_not_borrow_from_the_record),
		cmocka_unit_test(file_over_max_is_refused),
		cmocka_unit_test(many_log_lines_over_max_are_refused),
		cmocka_unit_test(streams_are_split_and_stripped),
		cmocka_unit_test(streams_of_no_logs_are_empty),
		cmocka_unit_test(cold_start_only_with_annotations),
		cmocka_unit_test(rendering_keeps_the_times_and_outcome),
		cmocka_unit_test(tsv_header_names_the_columns),
		cmocka_unit_test(tsv_line_of_an_activation),
		cmocka_unit_test(tsv_unknown_values_are_empty_fields),
		cmocka_unit_test(tsv_trigger_activation_has_no_end),
		cmocka_unit_test(tsv_status_cannot_break_the_table),
		cmocka_unit_test(tsv_line_into_a_short_buffer),
		cmocka_unit_test(render_is_whole_or_nothing),
		cmocka_unit_test(follow_header_of_an_activation),
		cmocka_unit_test(follow_header_unknown_values_are_dashes),
		cmocka_unit_test(follow_header_status_stays_on_one_line),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
