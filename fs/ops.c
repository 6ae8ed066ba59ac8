/* ops — FUSE low-level handlers (see ops.h).
 *
 * Why the low-level API: per-node cache timeouts and per-directory kernel
 * caching. Each node's timeouts and caching come from its row of the table
 * (nodes.h): activation records never change once readable, so their
 * entries and attributes are cached by the kernel for an hour and their
 * directories' entries for as long as the kernel likes (cache_readdir),
 * while listings stay list_ttl fresh; the high-level API has one timeout
 * for everything and (in libfuse 3.14) drops cache_readdir from opendir.
 * Nothing here knows a kind of node by name.
 * READDIRPLUS (the kernel's choice of when, READDIRPLUS_AUTO) gives an
 * entry its attributes only when memory holds them already: an
 * activation's files after its record was fetched, which spares a walker
 * one LOOKUP per file. Any other entry goes without (ino 0), and the
 * kernel looks it up as after a plain readdir: a listing never fetches a
 * record, nor moves the readahead.
 *
 * Read-only: the mount carries "ro", and the operations that could change
 * anything answer EROFS for callers that get past it. */
#include "ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../client/ncf_client.h"
#include "dirops.h"
#include "follow.h"
#include "housekeeping.h"
#include "inodes.h"
#include "ncffs.h"
#include "nodes.h"
#include "prefetch.h"
#include "tree.h"

/* How long the kernel may trust what never changes (records). */
#define RECORD_TIMEOUT_S 3600.0
/* Reported as d_ino: the real number comes with the lookup that follows. */
#define UNKNOWN_INO 0xffffffffu

/* What fi->fh points at: an open directory's listing or a held file,
 * linked into fs->handles until released. */
struct open_handle {
	struct open_handle *prev, *next;
	struct dir_listing listing;
	struct held_file held;
	bool is_dir;
};

static struct ncffs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct open_handle *handle_new(struct ncffs *fs, bool is_dir)
{
	struct open_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->is_dir = is_dir;
	pthread_mutex_lock(&fs->handles_lock);
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
	return h;
}

static void handle_free(struct ncffs *fs, struct open_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
	if (h->is_dir)
		dir_listing_release(&h->listing);
	else
		node_release(fs, &h->held);
	free(h);
}

static struct open_handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct open_handle *)(uintptr_t)fi->fh;
}

static int node_of(struct ncffs *fs, fuse_ino_t ino, struct node *n)
{
	char path[INODES_PATH_MAX];
	int rc = inodes_path(fs->inodes, ino, path, sizeof(path));

	return rc ? rc : tree_parse(path, n);
}

static const struct node_row *row_of(const struct node *n)
{
	return &node_table[n->kind];
}

static double seconds(const struct ncffs *fs, enum node_ttl ttl)
{
	switch (ttl) {
	case NODE_TTL_RECORD:
		return RECORD_TIMEOUT_S;
	case NODE_TTL_NONE:
		return 0;
	case NODE_TTL_LIST:
	default:
		return (double)fs->list_ttl_ms / 1000.0;
	}
}

static double entry_timeout(const struct ncffs *fs, const struct node *n)
{
	return seconds(fs, row_of(n)->entry_ttl);
}

/* A file whose attributes are never cached (the stats file) is stat'ed
 * before every read: its new mtime makes the kernel drop old pages, and
 * the read is served from the snapshot that getattr just took. */
static double attr_timeout(const struct ncffs *fs, const struct node *n)
{
	return seconds(fs, row_of(n)->attr_ttl);
}

static bool keeps_cache(const struct node *n)
{
	return (row_of(n)->flags & NODE_KEEP_CACHE) != 0;
}

static void reply_errno(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : rc);
}

/* ---- names and attributes ---------------------------------------------- */

static void reply_missing(fuse_req_t req, const struct ncffs *fs)
{
	/* ino 0: a negative entry the kernel may remember neg_ttl. */
	struct fuse_entry_param e = { 0 };

	e.entry_timeout = (double)fs->neg_ttl_ms / 1000.0;
	fuse_reply_entry(req, &e);
}

static void ncffs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ncffs *fs = fs_of(req);
	char path[INODES_PATH_MAX];
	struct fuse_entry_param e = { 0 };
	struct node n;
	int rc = inodes_child_path(fs->inodes, parent, name, path, sizeof(path));

	if (rc == 0)
		rc = tree_parse(path, &n);
	if (rc == 0)
		rc = node_stat(fs, &n, &e.attr);
	if (rc == -ENOENT || rc == -ENAMETOOLONG) {
		reply_missing(req, fs);
		return;
	}
	if (rc == 0 && (e.ino = inodes_lookup(fs->inodes, parent, name)) == 0)
		rc = -ENOMEM;
	if (rc) {
		reply_errno(req, rc);
		return;
	}
	e.attr.st_ino = e.ino;
	e.entry_timeout = entry_timeout(fs, &n);
	e.attr_timeout = attr_timeout(fs, &n);
	/* An interrupted lookup never reached the kernel: undo its count. */
	if (fuse_reply_entry(req, &e) == -ENOENT)
		inodes_forget(fs->inodes, e.ino, 1);
}

static void ncffs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void ncffs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		inodes_forget(fs_of(req)->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ncffs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of(req);
	struct stat st;
	struct node n;
	int rc = node_of(fs, ino, &n);

	(void)fi;
	if (rc == 0)
		rc = node_stat(fs, &n, &st);
	if (rc) {
		reply_errno(req, rc);
		return;
	}
	st.st_ino = ino;
	fuse_reply_attr(req, &st, attr_timeout(fs, &n));
}

static void ncffs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ncffs *fs = fs_of(req);
	char target[128];
	struct node n;
	int rc = node_of(fs, ino, &n);

	if (rc == 0)
		rc = node_readlink(fs, &n, target, sizeof(target));
	if (rc)
		reply_errno(req, rc);
	else
		fuse_reply_readlink(req, target);
}

static void ncffs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct ncffs *fs = fs_of(req);
	struct stat st;
	struct node n;
	int rc = node_of(fs, ino, &n);

	if (rc == 0 && (mask & W_OK))
		rc = -EROFS;
	if (rc == 0)
		rc = node_stat(fs, &n, &st);
	if (rc == 0 && (mask & X_OK) && S_ISREG(st.st_mode))
		rc = -EACCES;
	reply_errno(req, rc);
}

/* ---- directories ---------------------------------------------------------- */

/* The entries are taken once, at opendir, so paging through a directory
 * sees one consistent listing however its cache entry moves meanwhile. */
static void ncffs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of(req);
	struct open_handle *h = handle_new(fs, true);
	struct node n;
	int rc = h ? node_of(fs, ino, &n) : -ENOMEM;

	if (rc == 0 && !tree_is_dir(n.kind))
		rc = -ENOTDIR;
	if (rc == 0)
		rc = node_list(fs, &n, &h->listing);
	if (rc) {
		if (h)
			handle_free(fs, h);
		reply_errno(req, rc);
		return;
	}
	/* Entries that never change (an activation's files): the kernel may
	 * keep them. */
	fi->cache_readdir = keeps_cache(&n);
	fi->keep_cache = keeps_cache(&n);
	fi->fh = (uint64_t)(uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free(fs, h);
}

static void ncffs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t offset, struct fuse_file_info *fi)
{
	const struct dir_listing *listing = &handle_of(fi)->listing;
	char *buf = malloc(size);
	size_t used = 0, i;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = offset > 0 ? (size_t)offset : 0; i < listing->count; i++) {
		struct stat st = { .st_ino = UNKNOWN_INO,
				   .st_mode = listing->entries[i].type };
		size_t need = fuse_add_direntry(req, buf + used, size - used,
						listing->entries[i].name, &st,
						(off_t)(i + 1));

		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* The entry of name in directory ino with its attributes, counting the
 * kernel lookup this hands out; or without (ino 0) when they would cost a
 * fetch. "." and ".." never carry any: the kernel takes no lookup of them. */
/* An entry the kernel looks up itself: its d_ino must not be 0, which
 * readdir(3) takes for a deleted entry and skips. */
static void bare_entry(mode_t type, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->attr.st_ino = UNKNOWN_INO;
	e->attr.st_mode = type;
}

static void plus_entry(struct ncffs *fs, fuse_ino_t ino, const char *name,
		       mode_t type, struct fuse_entry_param *e)
{
	char path[INODES_PATH_MAX];
	struct node n;

	bare_entry(type, e);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    inodes_child_path(fs->inodes, ino, name, path, sizeof(path)) ||
	    tree_parse(path, &n))
		return;
	if (node_stat_cached(fs, &n, &e->attr) ||
	    (e->ino = inodes_lookup(fs->inodes, ino, name)) == 0) {
		bare_entry(type, e);
		return;
	}
	e->attr.st_ino = e->ino;
	e->entry_timeout = entry_timeout(fs, &n);
	e->attr_timeout = attr_timeout(fs, &n);
}

/* Lookups handed out in a reply the kernel never took are given back. */
static void forget_all(struct ncffs *fs, const fuse_ino_t *inos, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		inodes_forget(fs->inodes, inos[i], 1);
}

static void ncffs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t offset, struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of(req);
	const struct dir_listing *listing = &handle_of(fi)->listing;
	size_t start = offset > 0 ? (size_t)offset : 0, used = 0, counted = 0;
	size_t room = start < listing->count ? listing->count - start : 0, i;
	char *buf = malloc(size);
	fuse_ino_t *inos = calloc(room ? room : 1, sizeof(*inos));

	if (!buf || !inos) {
		free(buf);
		free(inos);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = start; i < listing->count; i++) {
		struct fuse_entry_param e;
		size_t need;

		plus_entry(fs, ino, listing->entries[i].name,
			   listing->entries[i].type, &e);
		need = fuse_add_direntry_plus(req, buf + used, size - used,
					      listing->entries[i].name, &e,
					      (off_t)(i + 1));
		if (need > size - used) {
			forget_all(fs, &e.ino, e.ino ? 1 : 0);
			break;
		}
		used += need;
		if (e.ino)
			inos[counted++] = e.ino;
	}
	if (fuse_reply_buf(req, buf, used) == -ENOENT)
		forget_all(fs, inos, counted);
	free(inos);
	free(buf);
}

static void ncffs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	(void)ino;
	handle_free(fs_of(req), handle_of(fi));
	fuse_reply_err(req, 0);
}

/* ---- files ---------------------------------------------------------------- */

static void ncffs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of(req);
	struct open_handle *h;
	struct node n;
	int rc = node_of(fs, ino, &n);

	if (rc == 0 && ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)))
		rc = -EROFS;
	if (rc == 0 && tree_is_dir(n.kind))
		rc = -EISDIR;
	/* Zero-message opens: ENOSYS tells the kernel to stop sending OPEN
	 * and RELEASE and to keep file pages cached (FOPEN_KEEP_CACHE is its
	 * default then); reads arrive without a handle and find the file by
	 * inode. Half the round trips of a warm `grep -r` were opens. */
	if (rc == 0 && fs->kernel_opens)
		rc = -ENOSYS;
	if (rc) {
		reply_errno(req, rc);
		return;
	}
	h = handle_new(fs, false);
	rc = h ? node_open(fs, &n, &h->held) : -ENOMEM;
	if (rc) {
		if (h)
			handle_free(fs, h);
		reply_errno(req, rc);
		return;
	}
	fi->keep_cache = keeps_cache(&n);
	fi->direct_io = (row_of(&n)->flags & NODE_DIRECT_IO) != 0;
	/* Nothing is written, so a close has nothing to flush: without this
	 * every close waits for a FLUSH round trip. */
	fi->noflush = 1;
	fi->fh = (uint64_t)(uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free(fs, h);
}

static void reply_read(fuse_req_t req, struct ncffs *fs,
		       const struct held_file *held, size_t size, off_t offset)
{
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = node_read(fs, held, buf, size, offset);
	if (n < 0)
		reply_errno(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void ncffs_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t offset, struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of(req);
	struct held_file held;
	struct node n;
	int rc;

	if (fi->fh) {
		reply_read(req, fs, &handle_of(fi)->held, size, offset);
		return;
	}
	/* No handle (zero-message opens): a hash probe finds the bytes. */
	rc = node_of(fs, ino, &n);
	if (rc == 0 && tree_is_dir(n.kind))
		rc = -EISDIR;
	if (rc == 0)
		rc = node_open(fs, &n, &held);
	if (rc) {
		reply_errno(req, rc);
		return;
	}
	reply_read(req, fs, &held, size, offset);
	node_release(fs, &held);
}

static void ncffs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	if (fi->fh)
		handle_free(fs_of(req), handle_of(fi));
	fuse_reply_err(req, 0);
}

/* ---- the filesystem --------------------------------------------------------- */

static void ncffs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = { 0 };

	(void)ino;
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

/* No extended attributes: ENODATA for any name, an empty list. */
static void ncffs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void ncffs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void ncffs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ncffs *fs = userdata;

	/* Opens that never reach us are for the whole mount (the kernel stops
	 * sending them after one ENOSYS), so a row that needs its handle
	 * (NODE_NEEDS_HANDLE) turns them off for every file. */
	fs->kernel_opens = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 &&
			   !node_table_needs_handles();
	/* A changed mtime or size drops the kernel's cached pages: how a
	 * refreshed action.json, activations.tsv or stats file gets seen. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* Lookups of one directory's entries at once: a parallel walker's
	 * threads (rg, fd) each wait for their own record, not in one line. */
	dirops_want(fs, conn);
	/* Threads must not be started before fuse_daemonize forks. */
	fs->prefetch = prefetch_new(fs, fs->prefetch_workers, fs->readahead_max);
	fs->follow = follow_new(fs, fs->poll_s, fs->follow_buffer);
	fs->housekeeping = housekeeping_start(fs);
}

static void ncffs_destroy(void *userdata)
{
	struct ncffs *fs = userdata;

	ncf_client_cancel(fs->client);
	housekeeping_stop(fs->housekeeping);
	fs->housekeeping = NULL;
	prefetch_free(fs->prefetch);
	fs->prefetch = NULL;
	while (fs->handles)
		handle_free(fs, fs->handles);
	/* After the handles: releasing a follow.log stops its pollers. */
	follow_free(fs->follow);
	fs->follow = NULL;
}

/* ---- everything that would change something --------------------------------- */

static void refuse(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void refuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			   int to_set, struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	refuse(req);
}

static void refuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	refuse(req);
}

static void refuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	refuse(req);
}

static void refuse_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	refuse(req);
}

static void refuse_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			   const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	refuse(req);
}

static void refuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			  fuse_ino_t newparent, const char *newname,
			  unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	refuse(req);
}

static void refuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	refuse(req);
}

static void refuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			 size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	refuse(req);
}

static void refuse_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			  mode_t mode, struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	refuse(req);
}

static void refuse_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			    const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	refuse(req);
}

static void refuse_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	refuse(req);
}

const struct fuse_lowlevel_ops ncffs_operations = {
	.init = ncffs_init,
	.destroy = ncffs_destroy,
	.lookup = ncffs_lookup,
	.forget = ncffs_forget,
	.forget_multi = ncffs_forget_multi,
	.getattr = ncffs_getattr,
	.readlink = ncffs_readlink,
	.access = ncffs_access,
	.opendir = ncffs_opendir,
	.readdir = ncffs_readdir,
	.readdirplus = ncffs_readdirplus,
	.releasedir = ncffs_releasedir,
	.open = ncffs_open,
	.read = ncffs_read,
	.release = ncffs_release,
	.statfs = ncffs_statfs,
	.getxattr = ncffs_getxattr,
	.listxattr = ncffs_listxattr,
	.setattr = refuse_setattr,
	.mknod = refuse_mknod,
	.mkdir = refuse_mkdir,
	.unlink = refuse_unlink,
	.rmdir = refuse_unlink,
	.symlink = refuse_symlink,
	.rename = refuse_rename,
	.link = refuse_link,
	.write = refuse_write,
	.create = refuse_create,
	.setxattr = refuse_setxattr,
	.removexattr = refuse_removexattr,
};
