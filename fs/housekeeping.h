/* housekeeping — one background thread for what no request triggers:
 * SIGHUP drops every cached listing and record. The signal handler only
 * sets fs->hup_pending and posts fs->wakeup (both async-signal-safe); the
 * thread does the work. */
#ifndef NCFFS_HOUSEKEEPING_H
#define NCFFS_HOUSEKEEPING_H

#include "ncffs.h"

struct housekeeping *housekeeping_start(struct ncffs *fs);
void housekeeping_stop(struct housekeeping *hk);

#endif
