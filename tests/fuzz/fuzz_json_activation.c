/* fuzz_json_activation — ncf_json_decode_activation on hostile activation
 * records, then render_activation on every record that decodes.
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
 *     over max_file (memory is not exhausted here); otherwise every file is
 *     at most max_file bytes, NUL-terminated, its length its strlen, and its
 *     bytes what the record says; bytes and mtime are consistent.
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

static bool is_time(int64_t ms)
{
	return ms == NCF_UNKNOWN || ms >= 0;
}

static bool ends_with_newline(const char *text, size_t len)
{
	return text && len > 0 && strlen(text) == len && text[len - 1] == '\n';
}

static void check_record(const struct ncf_activation *a, const char *body,
			 size_t len)
{
	size_t i;

	fuzz_require(ncf_is_valid_activation_id(a->id), "invalid activation id");
	if (!fuzz_has_byte(body, len, '\\'))
		fuzz_require(fuzz_has_quoted(body, len, a->id),
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

static size_t status_len(const struct ncf_activation *a)
{
	size_t n = strlen(a->status);

	return n ? n + 1 : 0;
}

static bool is_too_big(const struct ncf_activation *a, size_t max_file)
{
	return a->record_len > max_file || a->result_len > max_file ||
	       logs_len(a) > max_file || status_len(a) > max_file;
}

static bool file_is(const struct rendered_file *f, const char *text, size_t len)
{
	return f->len == len && memcmp(f->data, text, len) == 0;
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

static void check_duration_file(const struct rendered_file *f,
				const struct ncf_activation *a)
{
	int64_t ms = a->duration_ms;
	char text[32] = "";

	if (ms == NCF_UNKNOWN && a->start_ms != NCF_UNKNOWN &&
	    a->end_ms != NCF_UNKNOWN && a->end_ms >= a->start_ms)
		ms = a->end_ms - a->start_ms;
	if (ms != NCF_UNKNOWN)
		snprintf(text, sizeof(text), "%" PRId64 "\n", ms);
	fuzz_require(file_is(f, text, strlen(text)), "duration file is wrong");
}

static void check_status_file(const struct rendered_file *f,
			      const struct ncf_activation *a)
{
	size_t n = strlen(a->status);

	fuzz_require(f->len == status_len(a) &&
		     memcmp(f->data, a->status, n) == 0 &&
		     (n == 0 || f->data[n] == '\n'),
		     "status file is not the status and a newline");
}

static void check_rendered(const struct rendered_activation *r,
			   const struct ncf_activation *a, size_t max_file)
{
	size_t bytes = sizeof(*r);
	int i;

	for (i = 0; i < ACT_FILE_COUNT; i++) {
		const struct rendered_file *f = &r->files[i];

		fuzz_require(f->data != NULL, "rendered file without data");
		fuzz_require(f->data[f->len] == '\0', "rendered file not NUL-terminated");
		fuzz_require(strlen(f->data) == f->len, "rendered size is not strlen");
		fuzz_require(f->len <= max_file, "rendered file over max_file");
		bytes += f->len + 1;
	}
	fuzz_require(r->bytes == bytes, "bytes does not match the files");
	fuzz_require(r->mtime.tv_sec >= 0 && r->mtime.tv_nsec >= 0 &&
		     r->mtime.tv_nsec < 1000000000L, "mtime out of range");
	fuzz_require(file_is(&r->files[ACT_FILE_ACTIVATION_JSON], a->record_json,
			     a->record_len), "activation.json is not record_json");
	fuzz_require(file_is(&r->files[ACT_FILE_RESULT_JSON], a->result_json,
			     a->result_len), "result.json is not result_json");
	check_logs_file(&r->files[ACT_FILE_LOGS_TXT], a);
	check_duration_file(&r->files[ACT_FILE_DURATION], a);
	check_status_file(&r->files[ACT_FILE_STATUS], a);
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
			     "render_activation refused a record that fits, or took one that does not");
		if (r)
			check_rendered(r, a, RENDER_MAX_FILE);
		render_activation_free(r);
	}
	ncf_activation_free(a);
	free(body);
	return 0;
}
