/* nodes — what each node of the tree is: its attributes, its symlink
 * target, its directory entries, its bytes. Everything here speaks POSIX
 * (struct stat, -errno) and asks fetch and views for data; the FUSE
 * plumbing around it lives in ops.c. */
#ifndef NCFFS_NODES_H
#define NCFFS_NODES_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../cache/ttl_cache.h"
#include "ncffs.h"
#include "tree.h"

/* A directory's entries, "." and ".." first; each with its S_IF* type. */
struct dir_entry {
	char *name;
	mode_t type;
};

struct dir_listing {
	size_t count, capacity;
	struct dir_entry *entries;
};

/* The bytes of a file node, pinned while held (the stats file is read from
 * its snapshot instead: ref is NULL then). */
struct held_file {
	struct ttl_ref *ref;
	const char *data;
	size_t len;
	bool is_stats;
};

/* Attributes of n (st_ino left 0). Existence is checked against the
 * listing that would show n; 0 or -errno. */
int node_stat(struct ncffs *fs, const struct node *n, struct stat *st);

/* The target of a symlink node, relative to its directory. */
int node_readlink(struct ncffs *fs, const struct node *n, char *buf,
		  size_t size);

/* Fills out (zeroed by the caller) with n's entries; the caller frees them
 * with dir_listing_release, on success or not. Listing an activations
 * directory also starts prefetching its records. */
int node_list(struct ncffs *fs, const struct node *n, struct dir_listing *out);
void dir_listing_release(struct dir_listing *listing);

/* Pins the bytes of a file node; node_read copies from them. */
int node_hold(struct ncffs *fs, const struct node *n, struct held_file *out);
void node_unhold(struct ncffs *fs, struct held_file *held);
ssize_t node_read(struct ncffs *fs, const struct held_file *held, char *buf,
		  size_t size, off_t offset);

#endif
