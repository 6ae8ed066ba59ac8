/* views — files and links computed from several API objects: latest,
 * failed/, recent/, days/, activations.tsv. Each costs what its data needs
 * and no more.
 * The API does not document the order of activation lists, so none is
 * assumed: it is decided only on evidence, two distinct readable records
 * near the ends of a listing with different starts (see find_newest), and
 * remembered (readability.h) with the newest start it saw; a newest record
 * older than that drops it. Records that cannot be read (fresh, purged,
 * broken: readability.h) are never evidence. Without evidence a view says
 * so (-EIO and a log line) rather than guess, but for a short listing,
 * whose every record answers exactly.
 *  - latest: the listing and the records at its ends.
 *  - failed/: the listing, whose entries carry a status (a record is
 *    fetched for an entry without one), newest first (the listing's order
 *    when it cannot be told); failed/<id> needs no order and reads only the
 *    listing.
 *  - recent/: the pages that hold the newest, once the order is known,
 *    numbered by the items the server sends a page.
 *  - days/<day>/: that day's pages (start/end sent to the API), a day being
 *    local midnight to local midnight.
 *  - activations.tsv: nothing to stat; reading it costs the listing plus
 *    every record, fetched in batches as the reader gets to them (the
 *    records are then cached for the activation files too). A purged or
 *    broken record is a row that says so; a failed fetch fails one read,
 *    never the file, and never moves an offset. */
#ifndef NCFFS_VIEWS_H
#define NCFFS_VIEWS_H

#include <stdbool.h>
#include <sys/types.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_types.h"
#include "ncffs.h"
#include "tree.h"

/* The id latest points at (the greatest start among readable records),
 * into id (NCF_ACTIVATION_ID_LEN + 1 bytes). -ENOENT when there are no
 * activations (or none readable yet); -EIO (logged) when which end of the
 * list is the newest cannot be told; a failed fetch is its own error,
 * never -ENOENT. */
int views_latest(struct ncffs *fs, const struct node *owner, char *id);
/* As views_latest, but -EAGAIN, not logged, when the order cannot be told:
 * for follow.log, which then starts from the open rather than fail it. */
int views_latest_if_known(struct ncffs *fs, const struct node *owner,
			  char *id);

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
 * order of the list is known (see latest) it costs one small request (more
 * under a server's page cap). Unknown order: a short list's readable
 * records by start; a long one -EIO. */
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
/* The same for any real date, from its local midnight to the next one's
 * less a millisecond (23, 24 or 25 hours); -ENOENT for no such date. */
int views_day_bounds(const char *day, int64_t *start_ms, int64_t *end_ms);

/* days/<day>/: each(ctx, id) for every activation that started that day,
 * from that day's pages only (start/end sent to the API). */
int views_each_of_day(struct ncffs *fs, const struct node *owner,
		      const char *day, int (*each)(void *ctx, const char *id),
		      void *ctx);

/* 0 when id started on day, -ENOENT when not, or -errno. */
int views_check_of_day(struct ncffs *fs, const struct node *owner,
		       const char *day, const char *id);

/* activations.tsv, streamed: its size is not known before it is read (it
 * needs every record's start and end), so it is read like a /proc file,
 * rows made as the reader gets to them. open takes the listing and finds
 * its order; read gives the bytes at offset (0 at the end; -EIO for bytes
 * far behind the reader's position, which are not kept); close frees. */
struct tsv_stream;
int views_tsv_open(struct ncffs *fs, const struct node *owner,
		   struct tsv_stream **out);
ssize_t views_tsv_read(struct ncffs *fs, struct tsv_stream *s, char *buf,
		       size_t size, off_t offset);
void views_tsv_close(struct ncffs *fs, struct tsv_stream *s);

#endif
