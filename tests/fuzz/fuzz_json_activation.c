/* fuzz_json_activation — ncf_json_decode_activation on hostile activation
 * records, then render_activation and render_tsv_line on every record that
 * decodes.
 *
 * Input: the whole body. max_file is small (RENDER_MAX_FILE) so that both
 * outcomes of render_activation — rendered, and refused as too big — are
 * reached with inputs of a few kilobytes.
 *
 * Invariants checked, from client/json.h, client/ncf_types.h, fs/render.h:
 *   - decoding gives 0 and a record, or -EBADMSG and NULL;
 *   - the id is a valid activation id and, in a body with no backslash,
 *     appears in it verbatim as a JSON string;
 *   - record_json and result_json end with "\n" and their lengths are their
 *     strlen (decoded text holds no NUL); times are NCF_UNKNOWN or >= 0;
 *   - render_activation returns NULL exactly when a rendered file would be
 *     over max_file (memory is not exhausted here); otherwise every present
 *     file is at most max_file bytes, NUL-terminated, its length its strlen,
 *     and its bytes what the record says; cold_start is present exactly for
 *     records with annotations; stdout.txt and stderr.txt together hold one
 *     line per log line; mtime is the end (the start if end is 0);
 *   - a tsv line fits RENDER_TSV_LINE_MAX, is six fields and a newline, and
 *     is cut, never overrun, in a small buffer.
 * Out of scope: memory exhaustion. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/json.h"
#include "client/names.h"
#include "fs/render.h"
#include "tests/fuzz/fuzz_common.h"

#define RENDER_MAX_FILE 512
#define TSV_FIELDS      6
#define TSV_SMALL       8

static bool is_time(int64_t ms)
{
	return ms == NCF_UNKNOWN || ms >= 0;
}

static bool ends_with_newline(const char *text, size_t len)
{
	return text && len > 0 && strlen(text) == len && text[len - 1] == '\n';
}

static size_t count_byte(const char *text, size_t len, char c)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += text[i] == c;
	return n;
}

static void check_record(const struct ncf_activation *a, const char *body,
                         size_t len)
{
	size_t i;

	fuzz_require(ncf_is_valid_activation_id(a->id),
	             "invalid activation id");
	if (!fuzz_has_byte(body, len, '\\'))
		fuzz_require(
		    fuzz_has_quoted(body, len, a->id),
		    "id is not a JSON string of the body (cut at a NUL?)");
	fuzz_require(ends_with_newline(a->record_json, a->record_len),
	             "record_json: no trailing newline or wrong length");
	fuzz_require(ends_with_newline(a->result_json, a->result_len),
	             "result_json: no trailing newline or wrong length");
	fuzz_require(a->status != NULL, "status is NULL, not \"\"");
	fuzz_require(is_time(a->start_ms) && is_time(a->end_ms) &&
	                 is_time(a->duration_ms) && is_time(a->init_time_ms),
	             "negative time");
	fuzz_require(a->log_count == 0 || a->logs != NULL, "logs missing");
	for (i = 0; i < a->log_count; i++)
		fuzz_require(a->logs[i] != NULL, "NULL log line");
}

static size_t logs_len(const struct ncf_activation *a)
{
	size_t i, total = 0;

	for (i = 0; i < a->log_count; i++)
		total += strlen(a->logs[i]) + 1;
	return total;
}

static bool logs_have_newline(const struct ncf_activation *a)
{
	size_t i;

	for (i = 0; i < a->log_count; i++) {
		if (strchr(a->logs[i], '\n'))
			return true;
	}
	return false;
}

/* A one-line file: text and "\n", or nothing for empty text. */
static size_t line_len(const char *text)
{
	size_t n = strlen(text);

	return n ? n + 1 : 0;
}

/* stdout.txt and stderr.txt are never longer than logs.txt, so these are
 * all the files that can go over max_file. */
static bool is_too_big(const struct ncf_activation *a, size_t max_file)
{
	return a->record_len > max_file || a->result_len > max_file ||
	       logs_len(a) > max_file || line_len(a->status) > max_file;
}

static bool file_is(const struct rendered_file *f, const char *text, size_t len)
{
	return f->len == len && memcmp(f->data, text, len) == 0;
}

static bool file_is_line(const struct rendered_file *f, const char *text)
{
	size_t n = strlen(text);

	return f->len == line_len(text) && memcmp(f->data, text, n) == 0 &&
	       (n == 0 || f->data[n] == '\n');
}

static void check_logs_file(const struct rendered_file *f,
                            const struct ncf_activation *a)
{
	size_t i, at = 0;

	fuzz_require(f->len == logs_len(a), "logs.txt has the wrong size");
	for (i = 0; i < a->log_count; i++) {
		size_t n = strlen(a->logs[i]);

		fuzz_require(memcmp(f->data + at, a->logs[i], n) == 0 &&
		                 f->data[at + n] == '\n',
		             "logs.txt is not the log lines, one a line");
		at += n + 1;
	}
}

/* Each log line lands in exactly one stream, maybe shortened. */
static void check_streams(const struct rendered_activation *r,
                          const struct ncf_activation *a)
{
	const struct rendered_file *out = &r->files[ACT_FILE_STDOUT_TXT];
	const struct rendered_file *err = &r->files[ACT_FILE_STDERR_TXT];

	fuzz_require(out->len + err->len <= r->files[ACT_FILE_LOGS_TXT].len,
	             "stdout.txt and stderr.txt hold more than logs.txt");
	fuzz_require((out->len == 0 || out->data[out->len - 1] == '\n') &&
	                 (err->len == 0 || err->data[err->len - 1] == '\n'),
	             "stdout.txt or stderr.txt does not end a line");
	if (!logs_have_newline(a))
		fuzz_require(count_byte(out->data, out->len, '\n') +
		                     count_byte(err->data, err->len, '\n') ==
		                 a->log_count,
		             "a log line is in neither stream, or in both");
}

static void check_times(const struct rendered_activation *r,
                        const struct ncf_activation *a)
{
	int64_t ms = a->end_ms > 0 ? a->end_ms : a->start_ms;
	char text[32] = "";

	fuzz_require(r->start_ms == a->start_ms && r->end_ms == a->end_ms,
	             "rendered start or end is not the record's");
	fuzz_require(r->duration_ms == NCF_UNKNOWN || r->duration_ms >= 0,
	             "negative rendered duration");
	if (a->duration_ms != NCF_UNKNOWN)
		fuzz_require(r->duration_ms == a->duration_ms,
		             "rendered duration is not the record's");
	if (r->duration_ms != NCF_UNKNOWN)
		snprintf(text, sizeof(text), "%" PRId64, r->duration_ms);
	fuzz_require(file_is_line(&r->files[ACT_FILE_DURATION], text),
	             "duration file is not the duration and a newline");
	if (ms > 0)
		fuzz_require(r->mtime.tv_sec == ms / 1000 &&
		                 r->mtime.tv_nsec == (ms % 1000) * 1000000L,
		             "mtime is not the end (or start)");
	else
		fuzz_require(r->mtime.tv_sec == 0 && r->mtime.tv_nsec == 0,
		             "mtime set without a time");
}

static void check_file(const struct rendered_file *f, size_t max_file)
{
	fuzz_require(f->data != NULL, "present file without data");
	fuzz_require(f->data[f->len] == '\0',
	             "rendered file not NUL-terminated");
	fuzz_require(strlen(f->data) == f->len, "rendered size is not strlen");
	fuzz_require(f->len <= max_file, "rendered file over max_file");
}

static void check_rendered(const struct rendered_activation *r,
                           const struct ncf_activation *a, size_t max_file)
{
	const struct rendered_file *cold = &r->files[ACT_FILE_COLD_START];
	size_t held = sizeof(*r);
	int i;

	for (i = 0; i < ACT_FILE_COUNT; i++) {
		const struct rendered_file *f = &r->files[i];

		fuzz_require(f->present || i == ACT_FILE_COLD_START,
		             "a file every activation has is missing");
		if (!f->present)
			continue;
		check_file(f, max_file);
		held += f->len;
	}
	fuzz_require(r->bytes >= held, "bytes is less than the files hold");
	fuzz_require(r->success == a->success, "success is not the record's");
	fuzz_require(file_is(&r->files[ACT_FILE_ACTIVATION_JSON],
	                     a->record_json, a->record_len),
	             "activation.json is not record_json");
	fuzz_require(file_is(&r->files[ACT_FILE_RESULT_JSON], a->result_json,
	                     a->result_len),
	             "result.json is not result_json");
	check_logs_file(&r->files[ACT_FILE_LOGS_TXT], a);
	check_streams(r, a);
	check_times(r, a);
	fuzz_require(file_is_line(&r->files[ACT_FILE_STATUS], a->status),
	             "status file is not the status and a newline");
	fuzz_require(
	    cold->present == a->has_annotations,
	    "cold_start present without annotations, or missing with them");
	if (cold->present)
		fuzz_require(file_is_line(cold, a->init_time_ms != NCF_UNKNOWN
		                                    ? "true"
		                                    : "false"),
		             "cold_start is not true or false");
}

static void check_tsv(const struct rendered_activation *r,
                      const struct ncf_activation *a)
{
	char line[RENDER_TSV_LINE_MAX], small[TSV_SMALL];
	const char *last = r->success ? "\ttrue\n" : "\tfalse\n";
	size_t n = render_tsv_line(a->id, r, line, sizeof(line));

	fuzz_require(n < sizeof(line),
	             "tsv line longer than RENDER_TSV_LINE_MAX");
	fuzz_require(strlen(line) == n && n > strlen(last) &&
	                 strcmp(line + n - strlen(last), last) == 0,
	             "tsv line does not end in the success field");
	fuzz_require(strncmp(line, a->id, NCF_ACTIVATION_ID_LEN) == 0 &&
	                 line[NCF_ACTIVATION_ID_LEN] == '\t',
	             "tsv line does not start with the id");
	fuzz_require(count_byte(line, n, '\t') == TSV_FIELDS - 1 &&
	                 count_byte(line, n, '\n') == 1,
	             "tsv line is not six fields on one line");
	fuzz_require(render_tsv_line(a->id, r, small, sizeof(small)) == n &&
	                 strlen(small) == sizeof(small) - 1 &&
	                 memcmp(small, line, sizeof(small) - 1) == 0,
	             "tsv line into a small buffer is not the cut line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ncf_activation poison; /* decode must overwrite *out */
	char *body = fuzz_exact(data, size);
	struct ncf_activation *a = &poison;
	struct rendered_activation *r;
	int rc = ncf_json_decode_activation(body, size, &a);

	fuzz_require(rc == 0 || rc == -EBADMSG,
	             "decode_activation returned neither 0 nor -EBADMSG");
	fuzz_require((rc == 0) == (a != NULL), "record and result disagree");
	if (rc == 0) {
		check_record(a, body, size);
		r = render_activation(a, RENDER_MAX_FILE);
		fuzz_require((r == NULL) == is_too_big(a, RENDER_MAX_FILE),
		             "render_activation refused a record that fits, or "
		             "took one that does not");
		if (r) {
			check_rendered(r, a, RENDER_MAX_FILE);
			check_tsv(r, a);
		}
		render_activation_free(r);
	}
	ncf_activation_free(a);
	free(body);
	return 0;
}
