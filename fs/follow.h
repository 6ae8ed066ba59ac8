/* follow — follow.log: the activations of an action, or of every action of
 * a package, as one file that grows while it is open, for tail -f, less +F
 * and log shippers; and the pollers that feed those files.
 *
 * What a follow.log holds: per activation, its header line
 * (render_follow_header) and then its logs.txt, appended when its record
 * becomes readable. It starts with the newest activation (the one
 * activations/latest points at; for a package, the newest of its actions'
 * newest), so that `tail -f` shows something at once.
 *
 * Invariants:
 *  - A follow.log has contents only while it is open. Its first open makes
 *    its stream and starts it with the newest activation; its last release
 *    drops the stream. Closed, it is empty (size 0) and costs nothing.
 *  - One poller per action, however many handles and however many
 *    follow.log files (the action's, its package's) include it. It is no
 *    thread: it is a timer in the client's scheduler (a job that polls
 *    once and submits itself again poll_s seconds on), at background
 *    priority, while an open stream includes it; when the last one closes
 *    it stops (its timer is cancelled; no request after the one it may be
 *    in) and is freed once no job of it is timed, queued or running: soon
 *    after, or by follow_free at the latest.
 *  - Offsets are stable: a byte once at an offset stays there. Each open
 *    file keeps its newest buffer_bytes (follow_buffer.h); a reader further
 *    behind gets EIO, never other bytes, and one log line per handle.
 *  - An activation is appended to a stream whole and at most once, when its
 *    record is readable. One the API lists but does not return yet (404
 *    for a while on NCP) is asked again on readability's backoff (1, 2,
 *    4 ... s, within the mount's budget; readability.h); after late_max
 *    (-o late_max, default FOLLOW_LATE_MAX_S) it is logged and given up,
 *    never dropped silently.
 *  - Bounded: FOLLOW_FILES_MAX open streams, FOLLOW_POLLERS_MAX pollers,
 *    FOLLOW_PENDING_MAX late records and FOLLOW_SEEN_MAX remembered ids per
 *    poller; past a bound an open fails (EMFILE) or the poller says so in
 *    the log.
 *
 * How a poller finds new activations: the API does not document the order
 * of its lists, so none is assumed. It asks for the window of start times
 * from the newest start it knows less FOLLOW_LATE_LISTING_S (never before
 * the activation its file started with or, when there was none, a few
 * minutes before the open), every page of it. Whatever the
 * order, that is one request while the window holds fewer runs than a
 * page. An id it has not seen is new: its record is fetched (and cached,
 * for the rest of the tree) and appended. The slack lets in a run that is
 * listed up to that long after it started (a list written when runs end);
 * an id seen in the window is remembered until the window has passed it.
 *
 * Threads and locks: one mutex guards the streams, every buffer and what
 * pollers share; it is never held across a request. It is taken before
 * the scheduler's own lock (a poller submits and cancels its timer under
 * it), never after. Pollers start on a first open (after daemonizing);
 * follow_free stops them all and waits for their jobs, after
 * ncf_client_cancel has cut their requests short. */
#ifndef NCFFS_FOLLOW_H
#define NCFFS_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ncffs.h"
#include "tree.h"

#define FOLLOW_FILES_MAX 64
#define FOLLOW_POLLERS_MAX 256
#define FOLLOW_PENDING_MAX 1000
#define FOLLOW_SEEN_MAX 20000
#define FOLLOW_LATE_MAX_S 120
#define FOLLOW_LATE_LISTING_S 60

struct follow;

/* Lifecycle. follow_new returns NULL on no memory; poll_s is at least 1,
 * buffer_bytes the bytes each open follow.log keeps. follow_free stops
 * every poller, waits until no job of theirs is left in the scheduler
 * (timed, queued or running) and frees what is left; NULL is a no-op. */
struct follow *follow_new(struct ncffs *fs, unsigned poll_s,
			  size_t buffer_bytes);
void follow_free(struct follow *follow);

/* Frees the pollers that have stopped and whose job is over (housekeeping
 * calls it every second, so a stopped poller is gone soon after its last
 * file was closed). NULL is a no-op. */
void follow_reap(struct follow *follow);

/* The nodes: a follow.log whose node names a package (action "") or an
 * action of it. */

/* Its size and the time of its last append while it is open; false (size
 * and mtime untouched) when nobody has it open. */
bool follow_get_size(struct follow *follow, const struct node *n,
		     size_t *size, struct timespec *mtime);

/* Opens it: the first open makes its stream, starting pollers and fetching
 * the newest activation (a request or a few, unless cached). 0 and a
 * handle the caller gives back with follow_release, or -errno. */
int follow_open(struct ncffs *fs, const struct node *n, void **handle);

/* From the stream's bytes: their count, 0 at the end (never waits), -EIO
 * when offset is before the oldest byte kept. */
ssize_t follow_read(struct follow *follow, void *handle, char *buf,
		    size_t size, off_t offset);

void follow_release(struct follow *follow, void *handle);

/* "key value" lines for /.ncffs-stats, appended to buf and NUL-terminated
 * (snprintf-like: returns the length they needed). */
size_t follow_format_stats(struct follow *follow, char *buf, size_t size);

#endif
