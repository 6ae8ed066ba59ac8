/* ops — the FUSE low-level operations table. Handlers map an inode to its
 * path (inodes.c), the path to a node (tree.c), and ask nodes.c; every
 * reply carries the cache timeouts that node deserves. */
#ifndef NCFFS_OPS_H
#define NCFFS_OPS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops ncffs_operations;

#endif
