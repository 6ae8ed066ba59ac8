/* render — an activation record as the bytes of the files that show it.
 *
 * Every file of one activation is rendered once, from one record, when the
 * record arrives; sizes are exact because they are the rendered lengths.
 * A rendered activation is immutable after render_activation returns. */
#ifndef NCFFS_RENDER_H
#define NCFFS_RENDER_H

#include <stddef.h>
#include <time.h>

#include "../client/ncf_types.h"
#include "tree.h"

struct rendered_file {
	char *data;
	size_t len;
};

struct rendered_activation {
	struct timespec mtime;  /* the activation's end (start if end is 0) */
	size_t bytes;           /* memory held, for cache sizing */
	struct rendered_file files[ACT_FILE_COUNT];
};

/* Returns NULL on no memory or a rendered file over max_file bytes.
 * Takes nothing from record; the caller still owns it. */
struct rendered_activation *render_activation(const struct ncf_activation *record,
					      size_t max_file);
void render_activation_free(struct rendered_activation *rendered);

#endif
