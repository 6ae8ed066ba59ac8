/* views — files and links computed from several API objects: latest,
 * failed/, activations.tsv. Each costs what its data needs and no more.
 * The API does not document the order of activation lists, so none is
 * assumed: the records at both ends of a listing tell which end is the
 * newest (see find_newest). They are cached for good, so this is paid about
 * once per action, plus a record whenever a new activation becomes the
 * newest, or the oldest leaves the API's one-month window.
 *  - latest: the listing and the records at its ends.
 *  - failed/: the listing, whose entries carry a status (a record is
 *    fetched for an entry without one), newest first, for which the
 *    listing's end records are read as for latest; failed/<id> needs no
 *    order and reads only the listing.
 *  - activations.tsv: the listing plus every record, fetched in parallel
 *    (the records are then cached for the activation files too), newest
 *    first by start. */
#ifndef NCFFS_VIEWS_H
#define NCFFS_VIEWS_H

#include <stdbool.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_types.h"
#include "ncffs.h"
#include "tree.h"

/* The id latest points at (the greatest start), into id
 * (NCF_ACTIVATION_ID_LEN + 1 bytes). -ENOENT when there are no activations
 * (or none readable yet); a failed fetch is its own error, never -ENOENT. */
int views_latest(struct ncffs *fs, const struct node *owner, char *id);

/* Calls each(ctx, id) for every failed activation, newest first, until
 * each returns non-zero (which is then returned). A fetch that fails (but
 * for a record not readable yet) is returned as its -errno. */
int views_each_failed(struct ncffs *fs, const struct node *owner,
		      int (*each)(void *ctx, const char *id), void *ctx);

/* 0 when id is listed and failed, -ENOENT otherwise. */
int views_check_failed(struct ncffs *fs, const struct node *owner,
		       const char *id);

/* activations.tsv as a new blob (the caller's). */
int views_render_tsv(struct ncffs *fs, const struct node *owner,
		     struct ncf_blob **out);

/* activations.tsv from the cache (key T + the owner's path), rendered by
 * views_render_tsv on a miss and kept list_ttl; the reference is the
 * caller's, to give back with fetch_release. */
int views_take_tsv(struct ncffs *fs, const struct node *owner,
		   struct ttl_ref **out);

#endif
