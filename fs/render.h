/* render — an activation record as the bytes of the files that show it.
 *
 * Every file of one activation is rendered once, from one record, when the
 * record arrives; sizes are exact because they are the rendered lengths.
 * A rendered activation is immutable after render_activation returns. */
#ifndef NCFFS_RENDER_H
#define NCFFS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../client/ncf_types.h"
#include "tree.h"

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

/* activations.tsv: the header line, and one line per activation, each
 * ending in "\n". Times are ISO-8601 UTC with milliseconds; unknown values
 * are empty fields. Returns the line's length (snprintf-like: may exceed
 * size, then out holds a truncated line). */
#define RENDER_TSV_HEADER "id\tstart\tend\tduration_ms\tstatus\tsuccess\n"
#define RENDER_TSV_LINE_MAX 256
size_t render_tsv_line(const char *id, const struct rendered_activation *act,
		       char *out, size_t size);

#endif
