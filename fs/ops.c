/* ops — FUSE handlers (see ops.h).
 *
 * Why the high-level API: libfuse 3.14's high-level readdirplus does not
 * pass attributes through reliably (fixed in 3.17), but ncffs never fills
 * directories with attributes anyway: a plain `ls` or `find` needs names
 * only, and filling attributes would force a record fetch per entry, so
 * READDIRPLUS is switched off in init. What the low-level API would add
 * (per-entry timeouts) matters less than the inode bookkeeping it would
 * make us write; the path-based API keeps every handler a parse and a
 * lookup.
 *
 * Read-only: the mount carries "ro", and the handlers that could change
 * anything answer EROFS for callers that get past it. */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../client/ncf_client.h"
#include "fetch.h"
#include "housekeeping.h"
#include "ncffs.h"
#include "prefetch.h"
#include "stats.h"
#include "tree.h"
#include "views.h"

#define SYMLINK_MAX 64

struct open_file {
	struct ttl_ref *ref;   /* NULL for the stats file */
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

static int check_owner(struct ncffs *fs, const struct node *n)
{
	struct ttl_ref *ref = NULL;
	int rc;

	if (n->under_trigger) {
		rc = fetch_triggers(fs, &ref);
		return listing_contains(fs, rc, ref, n->trigger);
	}
	rc = fetch_actions(fs, n->pkg, &ref);
	return listing_contains(fs, rc, ref, n->action);
}

/* Where a symlink points, relative to its own directory. */
static int link_target(struct ncffs *fs, const struct node *n, char *out,
		       size_t size)
{
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int rc;

	if (n->kind == NODE_FAILED_LINK) {
		rc = views_check_failed(fs, n, n->id);
		if (rc == 0)
			snprintf(out, size, "../activations/%s", n->id);
		return rc;
	}
	rc = views_latest(fs, n, id);
	if (rc == 0)
		snprintf(out, size, "%s", id);
	return rc;
}

/* ---- attributes ---------------------------------------------------------- */

static void fill_common(const struct ncffs *fs, struct stat *st, mode_t type,
			struct timespec mtime)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = type | (type == S_IFREG ? 0444 : type == S_IFDIR ? 0555 : 0777);
	st->st_nlink = type == S_IFDIR ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = st->st_ctim = st->st_atim = mtime;
	st->st_blksize = 4096;
}

static void fill_size(struct stat *st, size_t size)
{
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

static int stat_activation(struct ncffs *fs, const struct node *n,
			   struct stat *st)
{
	const struct rendered_activation *act;
	struct ttl_ref *ref = NULL;
	int rc = fetch_activation(fs, n, &ref);

	if (rc)
		return rc;
	act = fetched_activation(ref);
	if (n->kind == NODE_ACTIVATION) {
		fill_common(fs, st, S_IFDIR, act->mtime);
	} else if (act->files[n->file].present) {
		fill_common(fs, st, S_IFREG, act->mtime);
		fill_size(st, act->files[n->file].len);
	} else {
		rc = -ENOENT;
	}
	fetch_release(fs, ref);
	return rc;
}

/* The blob behind action.json, trigger.json or activations.tsv. */
static int fetch_blob(struct ncffs *fs, const struct node *n,
		      struct ttl_ref **ref)
{
	switch (n->kind) {
	case NODE_ACTION_JSON:
		return fetch_action_json(fs, n->pkg, n->action, ref);
	case NODE_TRIGGER_JSON:
		return fetch_trigger_json(fs, n->trigger, ref);
	default:
		return fetch_tsv(fs, n, ref);
	}
}

/* Definitions and activations.tsv: their time is when they were fetched,
 * so a refreshed one has a new mtime and the kernel drops stale pages. */
static int stat_blob(struct ncffs *fs, int rc, struct ttl_ref *ref,
		     struct stat *st)
{
	/* rc and ref come from one fetch_blob call made before this one. */
	if (rc)
		return rc;
	fill_common(fs, st, S_IFREG, fetched_time(ref));
	fill_size(st, fetched_blob(ref)->len);
	fetch_release(fs, ref);
	return 0;
}

static int stat_file(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct ttl_ref *ref = NULL;
	struct timespec now;
	ssize_t len;
	int rc;

	switch (n->kind) {
	case NODE_STATS:
		len = stats_refresh(fs);
		if (len < 0)
			return (int)len;
		clock_gettime(CLOCK_REALTIME, &now);
		fill_common(fs, st, S_IFREG, now);
		fill_size(st, (size_t)len);
		return 0;
	case NODE_ACTION_JSON:
	case NODE_TRIGGER_JSON:
	case NODE_ACTIVATIONS_TSV:
		rc = fetch_blob(fs, n, &ref);
		return stat_blob(fs, rc, ref, st);
	default:
		return stat_activation(fs, n, st);
	}
}

static int stat_link(struct ncffs *fs, const struct node *n, struct stat *st)
{
	char target[SYMLINK_MAX];
	int rc = link_target(fs, n, target, sizeof(target));

	if (rc)
		return rc;
	fill_common(fs, st, S_IFLNK, fs->mounted_at);
	fill_size(st, strlen(target));
	return 0;
}

static int stat_dir(struct ncffs *fs, const struct node *n, struct stat *st)
{
	int rc = 0;

	switch (n->kind) {
	case NODE_PACKAGE:
		rc = check_package(fs, n->pkg);
		break;
	case NODE_ACTION:
	case NODE_FAILED:
	case NODE_TRIGGER:
	case NODE_ACTIVATIONS:
		rc = check_owner(fs, n);
		break;
	case NODE_ACTIVATION:
		return stat_activation(fs, n, st);
	default: /* root, packages, triggers */
		break;
	}
	if (rc == 0)
		fill_common(fs, st, S_IFDIR, fs->mounted_at);
	return rc;
}

static int stat_node(struct ncffs *fs, const struct node *n, struct stat *st)
{
	if (tree_is_dir(n->kind))
		return stat_dir(fs, n, st);
	if (tree_is_symlink(n->kind))
		return stat_link(fs, n, st);
	return stat_file(fs, n, st);
}

static int ncffs_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	struct node n;
	int rc = tree_parse(path, &n);

	(void)fi;
	return rc ? rc : stat_node(fs_of_context(), &n, st);
}

static int ncffs_readlink(const char *path, char *buf, size_t size)
{
	struct node n;
	int rc = tree_parse(path, &n);

	if (rc)
		return rc;
	if (!tree_is_symlink(n.kind))
		return -EINVAL;
	return link_target(fs_of_context(), &n, buf, size);
}

/* ---- directories --------------------------------------------------------- */

struct dir_fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int add(struct dir_fill *d, const char *name)
{
	return d->filler(d->buf, name, NULL, 0, 0) ? -ENOMEM : 0;
}

static int add_names(struct dir_fill *d, const char *const *names, size_t count)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < count && rc == 0; i++)
		rc = add(d, names[i]);
	return rc;
}

static int add_listing(struct ncffs *fs, int rc, struct ttl_ref *ref,
		       struct dir_fill *d)
{
	const struct ncf_listing *listing;
	size_t i;

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	for (i = 0; i < listing->count && rc == 0; i++)
		rc = add(d, listing->items[i].name);
	fetch_release(fs, ref);
	return rc;
}

static int add_packages(struct ncffs *fs, struct dir_fill *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_packages(fs, &ref);

	if (rc == 0 && !listing_has(fetched_listing(ref), "-"))
		rc = add(d, "-");
	if (rc && ref) {
		fetch_release(fs, ref);
		return rc;
	}
	return add_listing(fs, rc, ref, d);
}

static int add_activations(struct ncffs *fs, const struct node *n,
			   struct dir_fill *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_activations(fs, n, &ref);

	if (rc)
		return rc;
	/* Whoever lists activations is about to look inside them. */
	prefetch_activations(fs->prefetch, n, fetched_listing(ref));
	if (fetched_listing(ref)->count > 0)
		rc = add(d, TREE_LATEST_NAME);
	if (rc) {
		fetch_release(fs, ref);
		return rc;
	}
	return add_listing(fs, rc, ref, d);
}

static int add_activation_files(struct ncffs *fs, const struct node *n,
				struct dir_fill *d)
{
	const struct rendered_activation *act;
	struct ttl_ref *ref = NULL;
	int i, rc = fetch_activation(fs, n, &ref);

	if (rc)
		return rc;
	act = fetched_activation(ref);
	for (i = 0; i < ACT_FILE_COUNT && rc == 0; i++) {
		if (act->files[i].present)
			rc = add(d, tree_activation_file_name((enum activation_file)i));
	}
	fetch_release(fs, ref);
	return rc;
}

static int add_failed_link(void *ctx, const char *id)
{
	return add(ctx, id);
}

static int fill_node(struct ncffs *fs, const struct node *n, struct dir_fill *d)
{
	static const char *const root[] = { "packages", "triggers", TREE_STATS_NAME };
	static const char *const action[] = { "action.json", "activations",
					      "activations.tsv", "failed" };
	static const char *const trigger[] = { "trigger.json", "activations" };
	struct ttl_ref *ref = NULL;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
		return add_names(d, root, 3);
	case NODE_PACKAGES:
		return add_packages(fs, d);
	case NODE_PACKAGE:
		rc = fetch_actions(fs, n->pkg, &ref);
		return add_listing(fs, rc, ref, d);
	case NODE_TRIGGERS:
		rc = fetch_triggers(fs, &ref);
		return add_listing(fs, rc, ref, d);
	case NODE_ACTION:
		rc = check_owner(fs, n);
		return rc ? rc : add_names(d, action, 4);
	case NODE_TRIGGER:
		rc = check_owner(fs, n);
		return rc ? rc : add_names(d, trigger, 2);
	case NODE_FAILED:
		return views_each_failed(fs, n, add_failed_link, d);
	case NODE_ACTIVATIONS:
		return add_activations(fs, n, d);
	case NODE_ACTIVATION:
		return add_activation_files(fs, n, d);
	default:
		return -ENOTDIR;
	}
}

/* An activation directory's names never change: let the kernel keep them. */
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
	struct dir_fill d = { buf, filler };
	struct node n;
	int rc = tree_parse(path, &n);

	(void)offset;
	(void)fi;
	(void)flags;
	if (rc)
		return rc;
	if (add(&d, ".") || add(&d, ".."))
		return -ENOMEM;
	return fill_node(fs_of_context(), &n, &d);
}

/* ---- files -------------------------------------------------------------- */

static int hold_blob(int rc, struct ttl_ref *ref, struct open_file *of)
{
	if (rc)
		return rc;
	of->ref = ref;
	of->data = fetched_blob(ref)->data;
	of->len = fetched_blob(ref)->len;
	return 0;
}

static int hold_activation_file(struct ncffs *fs, const struct node *n,
				struct open_file *of)
{
	const struct rendered_file *file;
	int rc = fetch_activation(fs, n, &of->ref);

	if (rc)
		return rc;
	file = &fetched_activation(of->ref)->files[n->file];
	if (!file->present) {
		fetch_release(fs, of->ref);
		of->ref = NULL;
		return -ENOENT;
	}
	of->data = file->data;
	of->len = file->len;
	return 0;
}

/* Pins the bytes of a file node in of (of->ref NULL for stats). */
static int hold_file(struct ncffs *fs, const struct node *n, struct open_file *of)
{
	struct ttl_ref *ref = NULL;
	int rc;

	switch (n->kind) {
	case NODE_STATS:
		return 0;
	case NODE_ACTION_JSON:
	case NODE_TRIGGER_JSON:
	case NODE_ACTIVATIONS_TSV:
		rc = fetch_blob(fs, n, &ref);
		return hold_blob(rc, ref, of);
	case NODE_ACTIVATION_FILE:
		return hold_activation_file(fs, n, of);
	default:
		return -EISDIR;
	}
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
	 * default then); reads then arrive without a handle. Half the round
	 * trips of a warm `grep -r` were opens and releases. */
	if (fs->kernel_opens)
		return -ENOSYS;
	of = calloc(1, sizeof(*of));
	if (!of)
		return -ENOMEM;
	rc = hold_file(fs, &n, of);
	if (rc) {
		free(of);
		return rc;
	}
	/* Activation files never change once readable. */
	fi->keep_cache = n.kind == NODE_ACTIVATION_FILE;
	fi->direct_io = n.kind == NODE_STATS;
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
	struct open_file of = { 0 };
	struct node n;
	int rc = tree_parse(path, &n);

	if (rc == 0 && n.kind == NODE_STATS)
		return (int)stats_read(fs, buf, size, offset);
	if (rc == 0)
		rc = hold_file(fs, &n, &of);
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
	struct ncffs *fs = fs_of_context();

	if (!of)
		return read_by_path(fs, path, buf, size, offset);
	if (!of->ref)
		return (int)stats_read(fs, buf, size, offset);
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
	if (rc == 0 && (mask & X_OK) && S_ISREG(st.st_mode))
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

	fs->fuse = fuse_get_context()->fuse;
	fs->kernel_opens = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	/* Our entries carry no attributes (see the top of this file), so
	 * READDIRPLUS would only cost a lookup round per entry. */
	conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	/* Directory membership and sizes can change when listings refresh, so
	 * the kernel may trust them for list_ttl; misses for neg_ttl. Record
	 * files additionally keep their page cache. */
	cfg->entry_timeout = (double)fs->list_ttl_ms / 1000.0;
	cfg->attr_timeout = (double)fs->list_ttl_ms / 1000.0;
	cfg->negative_timeout = (double)fs->neg_ttl_ms / 1000.0;
	/* Threads must not be started before fuse_daemonize forks. */
	fs->prefetch = prefetch_new(fs, fs->prefetch_workers);
	fs->housekeeping = housekeeping_start(fs);
	return fs;
}

static void ncffs_destroy(void *private_data)
{
	struct ncffs *fs = private_data;

	ncf_client_cancel(fs->client);
	housekeeping_stop(fs->housekeeping);
	fs->housekeeping = NULL;
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
	.readlink = ncffs_readlink,
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
