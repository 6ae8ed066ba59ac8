/* render — an activation record as the bytes of the files that show it.
 *
 * Every file of one activation is rendered once, from one record, when the
 * record arrives; sizes are exact because they are the rendered lengths.
 * The files are a table in render.c: a name and a renderer each, so a new
 * file is a row there, its renderer and its enum value here.
 * A rendered activation is immutable after render_activation returns. */
#ifndef NCFFS_RENDER_H
#define NCFFS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../client/ncf_types.h"

/* The files of an activation directory, in the order they are listed. */
enum activation_file {
	ACT_FILE_ACTIVATION_JSON,
	ACT_FILE_RESULT_JSON,
	ACT_FILE_LOGS_TXT,
	ACT_FILE_STDOUT_TXT,
	ACT_FILE_STDERR_TXT,
	ACT_FILE_DURATION,
	ACT_FILE_STATUS,
	ACT_FILE_COLD_START,  /* only when the record has annotations */
	ACT_FILE_COUNT,
};

struct rendered_file {
	bool present;   /* cold_start exists only for records with annotations */
	char *data;
	size_t len;
};

struct rendered_activation {
	struct timespec mtime;  /* the activation's end (start if end is 0) */
	int64_t start_ms, end_ms, duration_ms; /* NCF_UNKNOWN if absent */
	bool success;
	size_t bytes;           /* memory held, for cache sizing */
	struct rendered_file files[ACT_FILE_COUNT];
};

/* Returns NULL on no memory or a rendered file over max_file bytes.
 * Takes nothing from record; the caller still owns it. */
struct rendered_activation *render_activation(const struct ncf_activation *record,
					      size_t max_file);
void render_activation_free(struct rendered_activation *rendered);

/* The name of an activation file ("result.json"), and back: 0 and *out, or
 * -ENOENT for a name that is none of them. */
const char *render_file_name(enum activation_file file);
int render_file_from_name(const char *name, enum activation_file *out);

/* activations.tsv: the header line, and one line per activation, each
 * ending in "\n". Times are ISO-8601 UTC with milliseconds; unknown values
 * are empty fields. Returns the line's length (snprintf-like: may exceed
 * size, then out holds a truncated line). */
#define RENDER_TSV_HEADER "id\tstart\tend\tduration_ms\tstatus\tsuccess\n"
#define RENDER_TSV_LINE_MAX 256
size_t render_tsv_line(const char *id, const struct rendered_activation *act,
		       char *out, size_t size);
/* The line of a record that cannot be shown (purged, malformed, too big,
 * not readable yet): its id, empty times, why as its status (a short text
 * of ours, no tab or newline) and an empty success. */
size_t render_tsv_unreadable(const char *id, const char *why, char *out,
			     size_t size);

/* follow.log: the line before an activation's logs, ending in "\n":
 * "== START ID PKG/ACTION DURATIONms STATUS", fields separated by one
 * space, START in ISO-8601 UTC with milliseconds, an unknown value "-";
 * STATUS is last because it may hold spaces ("application error"), and
 * tabs or newlines in it are blanked. Returns the line's length
 * (snprintf-like: may exceed size, then out holds a truncated line). */
#define RENDER_FOLLOW_HEADER_MAX 320
size_t render_follow_header(const char *id, const char *pkg, const char *action,
			    const struct rendered_activation *act, char *out,
			    size_t size);

#endif
