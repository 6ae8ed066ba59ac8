/* ops — FUSE handlers (see ops.h).
 *
 * Why the high-level API: libfuse 3.14's high-level readdirplus does not
 * pass attributes through reliably (fixed in 3.17), but ncffs never fills
 * directories with attributes anyway: a plain `ls` or `find` needs names
 * only, and filling attributes would force a record fetch per entry. What
 * the low-level API would add (per-entry timeouts) matters less than the
 * path bookkeeping it would make us write; the path-based API keeps every
 * handler a parse and a lookup.
 *
 * Read-only: the mount carries "ro", and the handlers that could change
 * anything answer EROFS for callers that get past it. */
#include "ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../client/ncf_client.h"
#include "fetch.h"
#include "ncffs.h"
#include "prefetch.h"
#include "tree.h"

struct open_file {
	struct ttl_ref *ref;
	const char *data;
	size_t len;
};

static struct ncffs *fs_of_context(void)
{
	return fuse_get_context()->private_data;
}

/* ---- existence ---------------------------------------------------------- */

static int listing_contains(struct ncffs *fs, int rc, struct ttl_ref *ref,
			    const char *name)
{
	if (rc == 0)
		rc = listing_has(fetched_listing(ref), name) ? 0 : -ENOENT;
	fetch_release(fs, ref);
	return rc;
}

static int check_package(struct ncffs *fs, const char *pkg)
{
	struct ttl_ref *ref = NULL;
	int rc;

	/* "-" is always there: it is where unpackaged actions live. */
	if (strcmp(pkg, "-") == 0)
		return 0;
	rc = fetch_packages(fs, &ref);
	return listing_contains(fs, rc, ref, pkg);
}

static int check_action(struct ncffs *fs, const char *pkg, const char *action)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_actions(fs, pkg, &ref);

	return listing_contains(fs, rc, ref, action);
}

/* ---- attributes ---------------------------------------------------------- */

static void fill_common(const struct ncffs *fs, struct stat *st, bool is_dir,
			struct timespec mtime)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = is_dir ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
	st->st_blksize = 4096;
}

static void fill_file_size(struct stat *st, size_t size)
{
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

static int stat_activation(struct ncffs *fs, const struct node *n,
			   struct stat *st)
{
	struct ttl_ref *ref = NULL;
	const struct rendered_activation *act;
	int rc = fetch_activation(fs, n->pkg, n->action, n->id, &ref);

	if (rc)
		return rc;
	act = fetched_activation(ref);
	fill_common(fs, st, n->kind == NODE_ACTIVATION, act->mtime);
	if (n->kind == NODE_ACTIVATION_FILE)
		fill_file_size(st, act->files[n->file].len);
	fetch_release(fs, ref);
	return 0;
}

static int stat_action_json(struct ncffs *fs, const struct node *n,
			    struct stat *st)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_action_json(fs, n->pkg, n->action, &ref);

	if (rc)
		return rc;
	fill_common(fs, st, false, fs->mounted_at);
	fill_file_size(st, fetched_blob(ref)->len);
	fetch_release(fs, ref);
	return 0;
}

static int stat_node(struct ncffs *fs, const struct node *n, struct stat *st)
{
	int rc = 0;

	switch (n->kind) {
	case NODE_ROOT:
	case NODE_PACKAGES:
		break;
	case NODE_PACKAGE:
		rc = check_package(fs, n->pkg);
		break;
	case NODE_ACTION:
	case NODE_ACTIVATIONS:
		rc = check_action(fs, n->pkg, n->action);
		break;
	case NODE_ACTION_JSON:
		return stat_action_json(fs, n, st);
	case NODE_ACTIVATION:
	case NODE_ACTIVATION_FILE:
		return stat_activation(fs, n, st);
	}
	if (rc == 0)
		fill_common(fs, st, true, fs->mounted_at);
	return rc;
}

static int ncffs_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	struct node n;
	int rc = tree_parse(path, &n);

	(void)fi;
	return rc ? rc : stat_node(fs_of_context(), &n, st);
}

/* ---- directories --------------------------------------------------------- */

static int fill_names(void *buf, fuse_fill_dir_t filler,
		      const char *const *names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (filler(buf, names[i], NULL, 0, 0))
			return -ENOMEM;
	}
	return 0;
}

static int fill_listing(struct ncffs *fs, int rc, struct ttl_ref *ref,
			void *buf, fuse_fill_dir_t filler)
{
	const struct ncf_listing *listing;
	size_t i;

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	for (i = 0; i < listing->count && rc == 0; i++) {
		if (filler(buf, listing->items[i].name, NULL, 0, 0))
			rc = -ENOMEM;
	}
	fetch_release(fs, ref);
	return rc;
}

static int fill_packages(struct ncffs *fs, void *buf, fuse_fill_dir_t filler)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_packages(fs, &ref);

	if (rc == 0 && !listing_has(fetched_listing(ref), "-") &&
	    filler(buf, "-", NULL, 0, 0)) {
		fetch_release(fs, ref);
		return -ENOMEM;
	}
	return fill_listing(fs, rc, ref, buf, filler);
}

static int fill_activation_files(void *buf, fuse_fill_dir_t filler)
{
	const char *names[ACT_FILE_COUNT];
	int i;

	for (i = 0; i < ACT_FILE_COUNT; i++)
		names[i] = tree_activation_file_name((enum activation_file)i);
	return fill_names(buf, filler, names, ACT_FILE_COUNT);
}

static int fill_node(struct ncffs *fs, const struct node *n, void *buf,
		     fuse_fill_dir_t filler)
{
	static const char *const root[] = { "packages" };
	static const char *const action[] = { "action.json", "activations" };
	struct ttl_ref *ref = NULL;
	struct stat st;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
		return fill_names(buf, filler, root, 1);
	case NODE_PACKAGES:
		return fill_packages(fs, buf, filler);
	case NODE_PACKAGE:
		rc = fetch_actions(fs, n->pkg, &ref);
		return fill_listing(fs, rc, ref, buf, filler);
	case NODE_ACTION:
		rc = check_action(fs, n->pkg, n->action);
		return rc ? rc : fill_names(buf, filler, action, 2);
	case NODE_ACTIVATIONS:
		rc = fetch_activations(fs, n->pkg, n->action, &ref);
		/* Whoever lists activations is about to look inside them. */
		if (rc == 0)
			prefetch_activations(fs->prefetch, n->pkg, n->action,
					     fetched_listing(ref));
		return fill_listing(fs, rc, ref, buf, filler);
	case NODE_ACTIVATION:
		rc = stat_activation(fs, n, &st);
		return rc ? rc : fill_activation_files(buf, filler);
	default:
		return -ENOTDIR;
	}
}

/* An activation directory's five names never change: let the kernel keep
 * them, so a second `grep -r` does not ask again. */
static int ncffs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct node n;

	if (tree_parse(path, &n) == 0 && n.kind == NODE_ACTIVATION) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	return 0;
}

static int ncffs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t offset, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	struct node n;
	int rc = tree_parse(path, &n);

	(void)offset;
	(void)fi;
	(void)flags;
	if (rc)
		return rc;
	if (filler(buf, ".", NULL, 0, 0) || filler(buf, "..", NULL, 0, 0))
		return -ENOMEM;
	return fill_node(fs_of_context(), &n, buf, filler);
}

/* ---- files -------------------------------------------------------------- */

static int open_activation_file(struct ncffs *fs, const struct node *n,
				struct open_file *of, struct fuse_file_info *fi)
{
	const struct rendered_file *file;
	int rc = fetch_activation(fs, n->pkg, n->action, n->id, &of->ref);

	if (rc)
		return rc;
	file = &fetched_activation(of->ref)->files[n->file];
	of->data = file->data;
	of->len = file->len;
	/* A readable record never changes: let the kernel keep its pages. */
	fi->keep_cache = 1;
	return 0;
}

static int open_action_json(struct ncffs *fs, const struct node *n,
			    struct open_file *of)
{
	int rc = fetch_action_json(fs, n->pkg, n->action, &of->ref);

	if (rc)
		return rc;
	of->data = fetched_blob(of->ref)->data;
	of->len = fetched_blob(of->ref)->len;
	return 0;
}

static int open_node(struct ncffs *fs, const struct node *n,
		     struct open_file *of, struct fuse_file_info *fi)
{
	if (n->kind == NODE_ACTIVATION_FILE)
		return open_activation_file(fs, n, of, fi);
	return open_action_json(fs, n, of);
}

static int ncffs_open(const char *path, struct fuse_file_info *fi)
{
	struct ncffs *fs = fs_of_context();
	struct open_file *of;
	struct node n;
	int rc = tree_parse(path, &n);

	if (rc)
		return rc;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	if (tree_is_dir(n.kind))
		return -EISDIR;
	/* Zero-message opens: ENOSYS tells the kernel to stop sending OPEN
	 * and RELEASE and to keep file pages cached (FOPEN_KEEP_CACHE is its
	 * default then); reads then arrive without a handle. */
	if (fs->kernel_opens)
		return -ENOSYS;
	of = calloc(1, sizeof(*of));
	if (!of)
		return -ENOMEM;
	rc = open_node(fs, &n, of, fi);
	if (rc) {
		free(of);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)of;
	return 0;
}

static int copy_out(const struct open_file *of, char *buf, size_t size,
		    off_t offset)
{
	size_t n;

	if (offset < 0)
		return -EINVAL;
	if ((size_t)offset >= of->len)
		return 0;
	n = of->len - (size_t)offset;
	if (n > size)
		n = size;
	memcpy(buf, of->data + offset, n);
	return (int)n;
}

/* A read without a handle (zero-message opens) looks the file up again:
 * a hash probe, as the record is cached since the lookup before it. */
static int read_by_path(struct ncffs *fs, const char *path, char *buf,
			size_t size, off_t offset)
{
	struct fuse_file_info fi = { 0 };
	struct open_file of = { 0 };
	struct node n;
	int rc = tree_parse(path, &n);

	if (rc == 0 && tree_is_dir(n.kind))
		rc = -EISDIR;
	if (rc == 0)
		rc = open_node(fs, &n, &of, &fi);
	if (rc == 0) {
		rc = copy_out(&of, buf, size, offset);
		fetch_release(fs, of.ref);
	}
	return rc;
}

static int ncffs_read(const char *path, char *buf, size_t size, off_t offset,
		      struct fuse_file_info *fi)
{
	const struct open_file *of = (const struct open_file *)(uintptr_t)fi->fh;

	if (!of)
		return read_by_path(fs_of_context(), path, buf, size, offset);
	return copy_out(of, buf, size, offset);
}

static int ncffs_release(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;

	(void)path;
	if (!of)
		return 0;
	fetch_release(fs_of_context(), of->ref);
	free(of);
	return 0;
}

/* ---- the rest of POSIX ------------------------------------------------- */

static int ncffs_access(const char *path, int mask)
{
	struct stat st;
	struct node n;
	int rc = tree_parse(path, &n);

	if (rc)
		return rc;
	if (mask & W_OK)
		return -EROFS;
	rc = stat_node(fs_of_context(), &n, &st);
	if (rc == 0 && (mask & X_OK) && !tree_is_dir(n.kind))
		rc = -EACCES;
	return rc;
}

static int ncffs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	sv->f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	return 0;
}

static int ncffs_getxattr(const char *path, const char *name, char *value,
			  size_t size)
{
	(void)path;
	(void)name;
	(void)value;
	(void)size;
	return -ENODATA;
}

static int ncffs_listxattr(const char *path, char *list, size_t size)
{
	(void)path;
	(void)list;
	(void)size;
	return 0;
}

static void *ncffs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct ncffs *fs = fs_of_context();

	fs->kernel_opens = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	/* Our entries carry no attributes (see the top of this file), so
	 * READDIRPLUS would only cost a lookup round per entry. */
	conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	/* Directory membership and sizes can change when listings refresh, so
	 * the kernel may trust them for list_ttl; misses for neg_ttl. Record
	 * files additionally keep their page cache (keep_cache in open). */
	cfg->entry_timeout = (double)fs->list_ttl_ms / 1000.0;
	cfg->attr_timeout = (double)fs->list_ttl_ms / 1000.0;
	cfg->negative_timeout = (double)fs->neg_ttl_ms / 1000.0;
	/* Threads must not be started before fuse_daemonize forks. */
	fs->prefetch = prefetch_new(fs, fs->prefetch_workers);
	return fs;
}

static void ncffs_destroy(void *private_data)
{
	struct ncffs *fs = private_data;

	ncf_client_cancel(fs->client);
	prefetch_free(fs->prefetch);
	fs->prefetch = NULL;
}

/* Every operation that would change something. */
static int refuse_path(const char *path)
{
	(void)path;
	return -EROFS;
}

static int refuse_mknod(const char *p, mode_t m, dev_t d) { (void)m; (void)d; return refuse_path(p); }
static int refuse_mkdir(const char *p, mode_t m) { (void)m; return refuse_path(p); }
static int refuse_link(const char *a, const char *b) { (void)b; return refuse_path(a); }
static int refuse_rename(const char *a, const char *b, unsigned int f) { (void)b; (void)f; return refuse_path(a); }
static int refuse_chmod(const char *p, mode_t m, struct fuse_file_info *fi) { (void)m; (void)fi; return refuse_path(p); }
static int refuse_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi) { (void)u; (void)g; (void)fi; return refuse_path(p); }
static int refuse_truncate(const char *p, off_t o, struct fuse_file_info *fi) { (void)o; (void)fi; return refuse_path(p); }
static int refuse_write(const char *p, const char *b, size_t s, off_t o, struct fuse_file_info *fi) { (void)b; (void)s; (void)o; (void)fi; return refuse_path(p); }
static int refuse_setxattr(const char *p, const char *n, const char *v, size_t s, int f) { (void)n; (void)v; (void)s; (void)f; return refuse_path(p); }
static int refuse_removexattr(const char *p, const char *n) { (void)n; return refuse_path(p); }
static int refuse_create(const char *p, mode_t m, struct fuse_file_info *fi) { (void)m; (void)fi; return refuse_path(p); }
static int refuse_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi) { (void)tv; (void)fi; return refuse_path(p); }

const struct fuse_operations ncffs_operations = {
	.init = ncffs_init,
	.destroy = ncffs_destroy,
	.getattr = ncffs_getattr,
	.opendir = ncffs_opendir,
	.readdir = ncffs_readdir,
	.open = ncffs_open,
	.read = ncffs_read,
	.release = ncffs_release,
	.access = ncffs_access,
	.statfs = ncffs_statfs,
	.getxattr = ncffs_getxattr,
	.listxattr = ncffs_listxattr,
	.mknod = refuse_mknod,
	.mkdir = refuse_mkdir,
	.unlink = refuse_path,
	.rmdir = refuse_path,
	.symlink = refuse_link,
	.link = refuse_link,
	.rename = refuse_rename,
	.chmod = refuse_chmod,
	.chown = refuse_chown,
	.truncate = refuse_truncate,
	.write = refuse_write,
	.setxattr = refuse_setxattr,
	.removexattr = refuse_removexattr,
	.create = refuse_create,
	.utimens = refuse_utimens,
};
