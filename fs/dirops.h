/* dirops — lets the kernel send the lookups and readdirs of one directory
 * at once (FUSE_PARALLEL_DIROPS).
 *
 * Without that flag in the INIT reply, the kernel holds a mutex of the
 * directory across every LOOKUP and READDIR in it: the lookups of one
 * listing's entries reach ncffs one at a time, each waiting for the record
 * fetch of the one before it, however many threads a walker (rg, fd) runs.
 * libfuse before 3.17 never puts the flag in its reply, whatever init()
 * asks (libfuse commit c9905341, "Pass FUSE_PARALLEL_DIROPS to kernel");
 * 3.17 sends it when init() asks, and no longer asks by default.
 *
 * So ncffs asks in init (dirops_want), and with a libfuse before 3.17 also
 * writes the flag into the INIT reply itself, through libfuse's custom I/O
 * hooks (dirops_install): the kernel sends nothing before INIT is
 * answered, so the first reply written after init() ran is INIT's.
 * Nothing in ncffs is per directory: its handlers already run on many
 * threads, and the kernel still serialises lookups of one name. */
#ifndef NCFFS_DIROPS_H
#define NCFFS_DIROPS_H

#include "ncffs.h"
#include "ops.h"

/* After fuse_session_mount, before the loop: routes the session's reads
 * and writes through ncffs (plain read and writev) so that the INIT reply
 * can carry the flag. 0 or -errno; a no-op with libfuse 3.17 and later. */
int dirops_install(struct fuse_session *se, struct ncffs *fs);

/* From init: asks for parallel directory operations when the kernel
 * offers them (and, with dirops_install, marks the INIT reply). */
void dirops_want(struct ncffs *fs, struct fuse_conn_info *conn);

#endif
