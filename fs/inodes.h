/* inodes — the low-level API's inode numbers, mapped to the paths the rest
 * of ncffs speaks.
 *
 * Invariants:
 *  - Inode 1 is "/" and is never forgotten.
 *  - A path has one inode number while the kernel remembers it (nlookup >
 *    0); numbers are never reused within a mount (a 64-bit counter).
 *  - Thread-safe: one mutex, held only for hash probes and list edits.
 */
#ifndef NCFFS_INODES_H
#define NCFFS_INODES_H

#include <stddef.h>
#include <stdint.h>

#define INODES_ROOT 1
#define INODES_PATH_MAX 512

struct inodes;

struct inodes *inodes_new(void);
void inodes_free(struct inodes *inodes);

/* The inode of parent's child name, counting one more kernel lookup.
 * Returns 0 on no memory or a too-long path. */
uint64_t inodes_lookup(struct inodes *inodes, uint64_t parent, const char *name);

/* Copies the path of ino into out. Returns 0, or -ENOENT (unknown ino),
 * or -ENAMETOOLONG. parent's child path likewise, without counting. */
int inodes_path(struct inodes *inodes, uint64_t ino, char *out, size_t size);
int inodes_child_path(struct inodes *inodes, uint64_t parent, const char *name,
		      char *out, size_t size);

/* The kernel forgot nlookup references to ino. */
void inodes_forget(struct inodes *inodes, uint64_t ino, uint64_t nlookup);

/* How many inodes the kernel remembers (the root included): what a lookup
 * count handed out and never given back would make grow. 0 for NULL. */
size_t inodes_known(struct inodes *inodes);

#endif
