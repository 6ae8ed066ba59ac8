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

/* recent/: calls each(ctx, id) for the newest count activations, newest
 * first, until it returns non-zero (which is then returned). Once the
 * order of the list is known (see latest) it costs one small request. */
int views_each_recent(struct ncffs *fs, const struct node *owner,
		      size_t count, int (*each)(void *ctx, const char *id),
		      void *ctx);

/* 0 when id is among the newest count, -ENOENT when not, or -errno. */
int views_check_recent(struct ncffs *fs, const struct node *owner,
		       size_t count, const char *id);

/* days/: the days of the API's window, today and the VIEWS_DAYS - 1 before
 * it in the local time zone (TZ honoured), newest first, as YYYY-MM-DD.
 * Costs nothing. */
#define VIEWS_DAYS 31
int views_each_day(int (*each)(void *ctx, const char *day), void *ctx);

/* The window of day (YYYY-MM-DD, local time) in epoch ms: [*start, *end].
 * -ENOENT when day is not one of the days views_each_day names. */
int views_day_window(const char *day, int64_t *start_ms, int64_t *end_ms);

/* days/<day>/: each(ctx, id) for every activation that started that day,
 * from that day's pages only (start/end sent to the API). */
int views_each_of_day(struct ncffs *fs, const struct node *owner,
		      const char *day, int (*each)(void *ctx, const char *id),
		      void *ctx);

/* 0 when id started on day, -ENOENT when not, or -errno. */
int views_check_of_day(struct ncffs *fs, const struct node *owner,
		       const char *day, const char *id);

/* activations.tsv as a new blob (the caller's). */
int views_render_tsv(struct ncffs *fs, const struct node *owner,
		     struct ncf_blob **out);

/* activations.tsv from the cache (key T + the owner's path), rendered by
 * views_render_tsv on a miss and kept list_ttl; the reference is the
 * caller's, to give back with fetch_release. */
int views_take_tsv(struct ncffs *fs, const struct node *owner,
		   struct ttl_ref **out);

#endif
