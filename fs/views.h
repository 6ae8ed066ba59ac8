/* views — files and links computed from several API objects: latest,
 * failed/, activations.tsv. Each costs what its data needs and no more:
 *  - latest: the activation listing only. The API lists newest first (as
 *    OpenWhisk does; the NCP docs do not say), so latest is its first entry.
 *  - failed/: the listing, whose entries carry a status; a record is
 *    fetched only for an entry without one.
 *  - activations.tsv: the listing plus every record, fetched in parallel
 *    (the records are then cached for the activation files too). */
#ifndef NCFFS_VIEWS_H
#define NCFFS_VIEWS_H

#include <stdbool.h>

#include "../client/ncf_types.h"
#include "ncffs.h"
#include "tree.h"

/* The id latest points at, into id (NCF_ACTIVATION_ID_LEN + 1 bytes).
 * -ENOENT when there are no activations. */
int views_latest(struct ncffs *fs, const struct node *owner, char *id);

/* Calls each(ctx, id) for every failed activation, in listing order, until
 * each returns non-zero (which is then returned). */
int views_each_failed(struct ncffs *fs, const struct node *owner,
		      int (*each)(void *ctx, const char *id), void *ctx);

/* 0 when id is listed and failed, -ENOENT otherwise. */
int views_check_failed(struct ncffs *fs, const struct node *owner,
		       const char *id);

/* activations.tsv as a new blob (the caller's). */
int views_render_tsv(struct ncffs *fs, const struct node *owner,
		     struct ncf_blob **out);

#endif
