/* ops — the FUSE operations table. Handlers return 0 or -errno, as
 * libfuse's high-level API expects, and stay thin: parse the path, ask
 * fetch, describe the node. */
#ifndef NCFFS_OPS_H
#define NCFFS_OPS_H

#define FUSE_USE_VERSION 312
#include <fuse.h>

extern const struct fuse_operations ncffs_operations;

#endif
