/* render — the bytes of an activation's files (see render.h). Files are
 * rendered once per record fetch so that st_size is exact and every read is
 * a memcpy. */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_copy(struct rendered_file *file, const char *data, size_t len)
{
	file->data = malloc(len + 1);
	if (!file->data)
		return -ENOMEM;
	memcpy(file->data, data, len);
	file->data[len] = '\0';
	file->len = len;
	return 0;
}

static int render_logs(struct rendered_file *file,
		       const struct ncf_activation *record, size_t max_file)
{
	size_t i, total = 0, at = 0;

	for (i = 0; i < record->log_count; i++) {
		total += strlen(record->logs[i]) + 1;
		if (total > max_file)
			return -EFBIG;
	}
	file->data = malloc(total + 1);
	if (!file->data)
		return -ENOMEM;
	for (i = 0; i < record->log_count; i++) {
		size_t n = strlen(record->logs[i]);

		memcpy(file->data + at, record->logs[i], n);
		file->data[at + n] = '\n';
		at += n + 1;
	}
	file->data[at] = '\0';
	file->len = at;
	return 0;
}

/* The record's duration; failing that, end - start; failing that, empty. */
static int render_duration(struct rendered_file *file,
			   const struct ncf_activation *record)
{
	char text[32];
	int64_t ms = record->duration_ms;
	int n = 0;

	if (ms == NCF_UNKNOWN && record->start_ms != NCF_UNKNOWN &&
	    record->end_ms != NCF_UNKNOWN && record->end_ms >= record->start_ms)
		ms = record->end_ms - record->start_ms;
	if (ms != NCF_UNKNOWN)
		n = snprintf(text, sizeof(text), "%" PRId64 "\n", ms);
	return set_copy(file, text, (size_t)n);
}

static int render_status(struct rendered_file *file,
			 const struct ncf_activation *record)
{
	size_t n = strlen(record->status);
	int rc;

	if (n == 0)
		return set_copy(file, "", 0);
	rc = set_copy(file, record->status, n + 1);
	if (rc == 0)
		file->data[n] = '\n';
	return rc;
}

static struct timespec end_time(const struct ncf_activation *record)
{
	int64_t ms = record->end_ms > 0 ? record->end_ms : record->start_ms;
	struct timespec ts = { 0, 0 };

	if (ms > 0) {
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	return ts;
}

static int render_files(struct rendered_activation *r,
			const struct ncf_activation *record, size_t max_file)
{
	int rc;

	if (record->record_len > max_file || record->result_len > max_file)
		return -EFBIG;
	rc = set_copy(&r->files[ACT_FILE_ACTIVATION_JSON], record->record_json,
		      record->record_len);
	if (rc == 0)
		rc = set_copy(&r->files[ACT_FILE_RESULT_JSON], record->result_json,
			      record->result_len);
	if (rc == 0)
		rc = render_logs(&r->files[ACT_FILE_LOGS_TXT], record, max_file);
	if (rc == 0)
		rc = render_duration(&r->files[ACT_FILE_DURATION], record);
	if (rc == 0)
		rc = render_status(&r->files[ACT_FILE_STATUS], record);
	return rc;
}

struct rendered_activation *render_activation(const struct ncf_activation *record,
					      size_t max_file)
{
	struct rendered_activation *r = calloc(1, sizeof(*r));
	int i;

	if (!r)
		return NULL;
	if (render_files(r, record, max_file) != 0) {
		render_activation_free(r);
		return NULL;
	}
	r->mtime = end_time(record);
	r->bytes = sizeof(*r);
	for (i = 0; i < ACT_FILE_COUNT; i++)
		r->bytes += r->files[i].len + 1;
	return r;
}

void render_activation_free(struct rendered_activation *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < ACT_FILE_COUNT; i++)
		free(r->files[i].data);
	free(r);
}
