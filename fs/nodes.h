/* nodes — the tree's table: one row per kind of node, with the functions
 * that serve it, and the dispatch that FUSE handlers (ops.c) call.
 *
 * A row says where a node sits (its name, or a pattern for names that come
 * from the API; the kinds it can be a child of), what it is (directory,
 * file or symlink; how long the kernel may cache its entry and attributes;
 * how it is opened) and which functions serve it: one pointer per
 * operation, NULL where the operation does not apply or the default does.
 * tree.c walks the same table to parse and format paths, and a directory's
 * fixed entries are its child rows, in table order.
 *
 * Adding a node is adding its row and its functions to nodes.c, and its
 * kind to enum node_kind (tree.h).
 *
 * Ownership: every function here that takes a cache reference gives it
 * back before it returns, except a file's open, which hands its reference
 * to the held_file; release gives it back.
 *
 * Everything here speaks POSIX (struct stat, -errno) and asks fetch,
 * views and stats for data; the FUSE plumbing lives in ops.c. */
#ifndef NCFFS_NODES_H
#define NCFFS_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../cache/ttl_cache.h"
#include "ncffs.h"
#include "tree.h"

/* ---- what a row is made of ------------------------------------------- */

/* Names that come from the API (or from the record), at one level. */
struct node_pattern {
	const char *label;   /* "<id>": how the table and messages spell it */
	const char *example; /* a name it matches, for tests */
	/* 0 when name matches, stored in n; -ENOENT otherwise (n untouched). */
	int (*parse)(const char *name, struct node *n);
	/* n's name at this level; "" when n has none. */
	const char *(*format)(const struct node *n);
};

/* How long the kernel may cache a node's entry or attributes. */
enum node_ttl {
	NODE_TTL_LIST,   /* list_ttl: what a listing may change */
	NODE_TTL_RECORD, /* an hour: records never change once readable */
	NODE_TTL_NONE,   /* not at all: every stat asks again */
};

/* Row flags. */
#define NODE_KEEP_CACHE 0x1u   /* the kernel keeps its pages (a directory:
				* its entries) across opens */
#define NODE_DIRECT_IO 0x2u    /* reads bypass the page cache, when the
				* kernel sends the open (a file whose size
				* is not known ahead needs NODE_NEEDS_HANDLE
				* too: it must be opened to be read) */
#define NODE_NEEDS_HANDLE 0x4u /* reads need the handle its open made:
				* the kernel must send opens (ops.c) */

/* The kinds a row can be a child of, as a bit set. */
#define NODE_UNDER(kind) ((uint32_t)1 << (kind))

/* A directory's entries, "." and ".." first; each with its S_IF* type. */
struct dir_entry {
	char *name;
	mode_t type;
};

struct dir_listing {
	size_t count, capacity;
	struct dir_entry *entries;
};

/* An open file: the bytes it reads, pinned while held. */
struct held_file {
	enum node_kind kind;   /* whose read and release serve it */
	struct ttl_ref *ref;   /* the cache entry data lives in, or NULL */
	const char *data;
	size_t len;
	void *state;           /* a row's own per-handle state */
	bool is_open;          /* node_open succeeded: release has work */
};

struct node_row {
	/* where it sits: exactly one of name and pattern */
	const char *name;
	const struct node_pattern *pattern;
	uint32_t parents;      /* NODE_UNDER() of each kind; 0 for the root */

	/* what it is */
	mode_t type;           /* S_IFDIR, S_IFREG or S_IFLNK */
	enum node_ttl entry_ttl, attr_ttl;
	unsigned flags;

	/* a fixed entry: 1 when its parent's listing shows it, 0 when not,
	 * or -errno; entries are those the parent's list function added
	 * (what a view shows often depends on them, and asking them costs
	 * nothing). NULL: always shown. */
	int (*is_listed)(struct ncffs *fs, const struct node *parent,
			 const struct dir_listing *entries);
	/* every node: 0 when it exists, with st's size and times set (st
	 * comes filled with its type, mode, owner and the mount's time), or
	 * -errno. NULL: it always exists (a symlink: when it has a target). */
	int (*stat)(struct ncffs *fs, const struct node *n, struct stat *st);
	/* what stat says, from what memory holds already: 0, or -EAGAIN when
	 * it would have to fetch. It never fetches and moves no readahead: a
	 * directory listing with attributes (READDIRPLUS) asks it of every
	 * entry. NULL: -EAGAIN. */
	int (*stat_cached)(struct ncffs *fs, const struct node *n,
			   struct stat *st);
	/* a directory: the entries that come from data (its pattern
	 * children), after the fixed ones; also the check that it exists. */
	int (*list)(struct ncffs *fs, const struct node *n,
		    struct dir_listing *d);
	/* a symlink: its target, relative to its directory. */
	int (*target)(struct ncffs *fs, const struct node *n, char *buf,
		      size_t size);
	/* a file whose bytes are one cached blob: takes it (the rows then use
	 * the generic blob_stat and blob_open of nodes.c). */
	int (*take)(struct ncffs *fs, const struct node *n,
		    struct ttl_ref **out);
	/* a file: fills held (zeroed, kind set) or returns -errno, holding
	 * nothing then. */
	int (*open)(struct ncffs *fs, const struct node *n,
		    struct held_file *held);
	/* a file: NULL reads held->data. */
	ssize_t (*read)(struct ncffs *fs, const struct held_file *held,
			char *buf, size_t size, off_t offset);
	/* a file: NULL gives back held->ref. */
	void (*release)(struct ncffs *fs, struct held_file *held);
};

/* The table, indexed by kind. */
extern const struct node_row node_table[NODE_KIND_COUNT];

/* ---- dispatch --------------------------------------------------------- */

/* Attributes of n (st_ino left 0); 0 or -errno. */
int node_stat(struct ncffs *fs, const struct node *n, struct stat *st);
/* The same when memory holds what they come from, without fetching
 * anything: 0, or -EAGAIN (also for kinds that cannot say). */
int node_stat_cached(struct ncffs *fs, const struct node *n, struct stat *st);

/* The target of a symlink node; -EINVAL for any other node. */
int node_readlink(struct ncffs *fs, const struct node *n, char *buf,
		  size_t size);

/* Fills out (zeroed by the caller) with n's entries: ".", "..", the fixed
 * entries its rows show, then those its list function adds (which runs
 * first: it also checks that n exists). The caller frees them with
 * dir_listing_release, on success or not. */
int node_list(struct ncffs *fs, const struct node *n, struct dir_listing *out);
void dir_listing_release(struct dir_listing *listing);

/* Opens a file node: held holds what reads need until node_release. */
int node_open(struct ncffs *fs, const struct node *n, struct held_file *held);
ssize_t node_read(struct ncffs *fs, const struct held_file *held, char *buf,
		  size_t size, off_t offset);
void node_release(struct ncffs *fs, struct held_file *held);

/* Whether some row needs the kernel to send opens (NODE_NEEDS_HANDLE). */
bool node_table_needs_handles(void);

#endif
