/* render — the bytes of an activation's files (see render.h). Files are
 * rendered once per record fetch so that st_size is exact and every read is
 * a memcpy. */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum log_stream { STREAM_STDOUT, STREAM_STDERR };

static int set_copy(struct rendered_file *file, const char *data, size_t len)
{
	file->data = malloc(len + 1);
	if (!file->data)
		return -ENOMEM;
	if (len)
		memcpy(file->data, data, len);
	file->data[len] = '\0';
	file->len = len;
	file->present = true;
	return 0;
}

/* "<time> stdout: text" → STREAM_STDOUT and "text". Lines that do not have
 * the OpenWhisk shape count as stdout, whole. */
static enum log_stream split_log_line(const char *line, const char **text)
{
	const char *space = strchr(line, ' ');

	*text = line;
	if (!space)
		return STREAM_STDOUT;
	if (strncmp(space + 1, "stdout:", 7) != 0 &&
	    strncmp(space + 1, "stderr:", 7) != 0)
		return STREAM_STDOUT;
	*text = space + 8;
	if (**text == ' ')
		(*text)++;
	return space[4] == 'e' ? STREAM_STDERR : STREAM_STDOUT;
}

/* Joins the log lines (whole, or only one stream with prefixes stripped),
 * each followed by "\n". */
static int render_log_file(struct rendered_file *file,
			   const struct ncf_activation *record, size_t max_file,
			   bool whole, enum log_stream stream)
{
	size_t i, total = 0, at = 0;
	const char *text;

	for (i = 0; i < record->log_count; i++) {
		bool wanted = whole || split_log_line(record->logs[i], &text) == stream;

		if (wanted)
			total += strlen(whole ? record->logs[i] : text) + 1;
		if (total > max_file)
			return -EFBIG;
	}
	file->data = malloc(total + 1);
	if (!file->data)
		return -ENOMEM;
	file->present = true;
	for (i = 0; i < record->log_count; i++) {
		size_t n;

		if (whole)
			text = record->logs[i];
		else if (split_log_line(record->logs[i], &text) != stream)
			continue;
		n = strlen(text);
		memcpy(file->data + at, text, n);
		file->data[at + n] = '\n';
		at += n + 1;
	}
	file->data[at] = '\0';
	file->len = at;
	return 0;
}

/* The record's duration; failing that, end - start; failing that, empty. */
static int64_t duration_of(const struct ncf_activation *record)
{
	if (record->duration_ms != NCF_UNKNOWN)
		return record->duration_ms;
	if (record->start_ms != NCF_UNKNOWN && record->end_ms > 0 &&
	    record->end_ms >= record->start_ms)
		return record->end_ms - record->start_ms;
	return NCF_UNKNOWN;
}

static int render_line(struct rendered_file *file, const char *text)
{
	size_t n = strlen(text);
	int rc;

	if (n == 0)
		return set_copy(file, "", 0);
	rc = set_copy(file, text, n + 1);
	if (rc == 0)
		file->data[n] = '\n';
	return rc;
}

/* ---- one renderer per file ----------------------------------------------- */

/* Each fills file from the record (r holds what render_activation worked
 * out first, like the duration); 0, or -errno (-EFBIG past max_file). A
 * file that does not apply to this record is left absent. */
typedef int (*render_fn)(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file);

static int render_record(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	if (record->record_len > max_file)
		return -EFBIG;
	return set_copy(file, record->record_json, record->record_len);
}

static int render_result(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	if (record->result_len > max_file)
		return -EFBIG;
	return set_copy(file, record->result_json, record->result_len);
}

static int render_logs(struct rendered_file *file,
		       const struct rendered_activation *r,
		       const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	return render_log_file(file, record, max_file, true, STREAM_STDOUT);
}

static int render_stdout(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	return render_log_file(file, record, max_file, false, STREAM_STDOUT);
}

static int render_stderr(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	return render_log_file(file, record, max_file, false, STREAM_STDERR);
}

static int render_duration(struct rendered_file *file,
			   const struct rendered_activation *r,
			   const struct ncf_activation *record, size_t max_file)
{
	char number[32] = "";

	(void)record;
	(void)max_file;
	if (r->duration_ms != NCF_UNKNOWN)
		snprintf(number, sizeof(number), "%" PRId64, r->duration_ms);
	return render_line(file, number);
}

static int render_status(struct rendered_file *file,
			 const struct rendered_activation *r,
			 const struct ncf_activation *record, size_t max_file)
{
	(void)r;
	(void)max_file;
	return render_line(file, record->status);
}

/* OpenWhisk annotates initTime on cold starts only; without any
 * annotations we cannot tell, so there is no file. */
static int render_cold_start(struct rendered_file *file,
			     const struct rendered_activation *r,
			     const struct ncf_activation *record,
			     size_t max_file)
{
	bool cold = record->init_time_ms != NCF_UNKNOWN;

	(void)r;
	(void)max_file;
	return record->has_annotations ? render_line(file, cold ? "true" : "false")
				       : 0;
}

/* The files of an activation: the one place their names are spelled. */
static const struct {
	const char *name;
	render_fn render;
} files[ACT_FILE_COUNT] = {
	[ACT_FILE_ACTIVATION_JSON] = { "activation.json", render_record },
	[ACT_FILE_RESULT_JSON] = { "result.json", render_result },
	[ACT_FILE_LOGS_TXT] = { "logs.txt", render_logs },
	[ACT_FILE_STDOUT_TXT] = { "stdout.txt", render_stdout },
	[ACT_FILE_STDERR_TXT] = { "stderr.txt", render_stderr },
	[ACT_FILE_DURATION] = { "duration", render_duration },
	[ACT_FILE_STATUS] = { "status", render_status },
	[ACT_FILE_COLD_START] = { "cold_start", render_cold_start },
};

const char *render_file_name(enum activation_file file)
{
	return (unsigned)file < ACT_FILE_COUNT ? files[file].name : NULL;
}

int render_file_from_name(const char *name, enum activation_file *out)
{
	int i;

	for (i = 0; i < ACT_FILE_COUNT; i++) {
		if (strcmp(name, files[i].name) == 0) {
			*out = (enum activation_file)i;
			return 0;
		}
	}
	return -ENOENT;
}

static int render_files(struct rendered_activation *r,
			const struct ncf_activation *record, size_t max_file)
{
	int i, rc = 0;

	for (i = 0; i < ACT_FILE_COUNT && rc == 0; i++)
		rc = files[i].render(&r->files[i], r, record, max_file);
	return rc;
}

static struct timespec ms_to_timespec(int64_t ms)
{
	struct timespec ts = { 0, 0 };

	if (ms > 0) {
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	return ts;
}

struct rendered_activation *render_activation(const struct ncf_activation *record,
					      size_t max_file)
{
	struct rendered_activation *r = calloc(1, sizeof(*r));
	int i;

	if (!r)
		return NULL;
	r->start_ms = record->start_ms;
	r->end_ms = record->end_ms;
	r->duration_ms = duration_of(record);
	r->success = record->success;
	if (render_files(r, record, max_file) != 0) {
		render_activation_free(r);
		return NULL;
	}
	/* Trigger activations have end 0: their time is their start. */
	r->mtime = ms_to_timespec(record->end_ms > 0 ? record->end_ms
						     : record->start_ms);
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

/* ---- activations.tsv ------------------------------------------------------ */

static void iso_time(int64_t ms, char *out, size_t size)
{
	time_t seconds;
	struct tm tm;

	out[0] = '\0';
	if (ms <= 0)
		return;
	seconds = (time_t)(ms / 1000);
	if (gmtime_r(&seconds, &tm))
		snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The status file without its newline, with tabs and newlines blanked so a
 * hostile status cannot add columns or rows. */
static void tsv_status(const struct rendered_file *status, char *out, size_t size)
{
	size_t i, n = status->len && status->data[status->len - 1] == '\n'
			      ? status->len - 1 : status->len;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		out[i] = (status->data[i] == '\t' || status->data[i] == '\n' ||
			  status->data[i] == '\r') ? ' ' : status->data[i];
	out[n] = '\0';
}

size_t render_tsv_line(const char *id, const struct rendered_activation *act,
		       char *out, size_t size)
{
	char start[96], end[96], duration[24] = "", status[64];
	int n;

	iso_time(act->start_ms, start, sizeof(start));
	/* A trigger activation's end is 0 (as the API sends it): the column
	 * stays empty rather than showing an end nobody reported. */
	iso_time(act->end_ms, end, sizeof(end));
	if (act->duration_ms != NCF_UNKNOWN)
		snprintf(duration, sizeof(duration), "%" PRId64, act->duration_ms);
	tsv_status(&act->files[ACT_FILE_STATUS], status, sizeof(status));
	n = snprintf(out, size, "%s\t%s\t%s\t%s\t%s\t%s\n", id, start, end,
		     duration, status, act->success ? "true" : "false");
	return n < 0 ? 0 : (size_t)n;
}

size_t render_tsv_unreadable(const char *id, const char *why, char *out,
			     size_t size)
{
	int n = snprintf(out, size, "%s\t\t\t\t%s\t\n", id, why);

	return n < 0 ? 0 : (size_t)n;
}

/* ---- follow.log ------------------------------------------------------------ */

size_t render_follow_header(const char *id, const char *pkg, const char *action,
			    const struct rendered_activation *act, char *out,
			    size_t size)
{
	char start[96], duration[24] = "-", status[64];
	int n;

	iso_time(act->start_ms, start, sizeof(start));
	if (act->duration_ms != NCF_UNKNOWN)
		snprintf(duration, sizeof(duration), "%" PRId64 "ms",
			 act->duration_ms);
	tsv_status(&act->files[ACT_FILE_STATUS], status, sizeof(status));
	n = snprintf(out, size, "== %s %s %s/%s %s %s\n",
		     start[0] ? start : "-", id, pkg, action, duration,
		     status[0] ? status : "-");
	return n < 0 ? 0 : (size_t)n;
}
