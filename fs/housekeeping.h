/* housekeeping — one background thread for what no request triggers:
 *  - SIGHUP: drop every cached listing and record (the handler only sets
 *    fs->hup_pending and posts fs->wakeup; async-signal-safe);
 *  - /.ncffs-stats: once a second after it was read, tell the kernel to
 *    forget its cached size and pages, so `watch cat` sees new numbers. */
#ifndef NCFFS_HOUSEKEEPING_H
#define NCFFS_HOUSEKEEPING_H

#include "ncffs.h"

struct housekeeping *housekeeping_start(struct ncffs *fs);
void housekeeping_stop(struct housekeeping *hk);

#endif
