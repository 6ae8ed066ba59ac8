/* nodes — see nodes.h. */
#include "nodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "perms.h"
#include "prefetch.h"
#include "stats.h"
#include "views.h"

#define SYMLINK_MAX 64

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
	st->st_mode = perms_mode(type, fs->umask);
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

int node_stat(struct ncffs *fs, const struct node *n, struct stat *st)
{
	if (tree_is_dir(n->kind))
		return stat_dir(fs, n, st);
	if (tree_is_symlink(n->kind))
		return stat_link(fs, n, st);
	return stat_file(fs, n, st);
}

int node_readlink(struct ncffs *fs, const struct node *n, char *buf,
		  size_t size)
{
	if (!tree_is_symlink(n->kind))
		return -EINVAL;
	return link_target(fs, n, buf, size);
}

/* ---- directories --------------------------------------------------------- */

/* Directory sizes are bounded by the listings behind them (LIST_MAX_ITEMS
 * in the client), so this grows without a ceiling of its own. */
static int add(struct dir_listing *d, const char *name, mode_t type)
{
	struct dir_entry *grown;

	if (d->count == d->capacity) {
		size_t capacity = d->capacity ? d->capacity * 2 : 16;

		grown = realloc(d->entries, capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		d->entries = grown;
		d->capacity = capacity;
	}
	d->entries[d->count].name = strdup(name);
	if (!d->entries[d->count].name)
		return -ENOMEM;
	d->entries[d->count++].type = type;
	return 0;
}

struct fixed_entry {
	const char *name;
	mode_t type;
};

static int add_fixed(struct dir_listing *d, const struct fixed_entry *entries,
		     size_t count)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < count && rc == 0; i++)
		rc = add(d, entries[i].name, entries[i].type);
	return rc;
}

void dir_listing_release(struct dir_listing *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		free(d->entries[i].name);
	free(d->entries);
	memset(d, 0, sizeof(*d));
}

static int add_listing(struct ncffs *fs, int rc, struct ttl_ref *ref,
		       struct dir_listing *d, mode_t type)
{
	const struct ncf_listing *listing;
	size_t i;

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	for (i = 0; i < listing->count && rc == 0; i++)
		rc = add(d, listing->items[i].name, type);
	fetch_release(fs, ref);
	return rc;
}

static int add_packages(struct ncffs *fs, struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_packages(fs, &ref);

	if (rc == 0 && !listing_has(fetched_listing(ref), "-"))
		rc = add(d, "-", S_IFDIR);
	if (rc && ref) {
		fetch_release(fs, ref);
		return rc;
	}
	return add_listing(fs, rc, ref, d, S_IFDIR);
}

static int add_activations(struct ncffs *fs, const struct node *n,
			   struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_activations(fs, n, &ref);

	if (rc)
		return rc;
	/* Whoever lists activations is about to look inside them. */
	prefetch_activations(fs->prefetch, n, fetched_listing(ref));
	if (fetched_listing(ref)->count > 0)
		rc = add(d, TREE_LATEST_NAME, S_IFLNK);
	if (rc) {
		fetch_release(fs, ref);
		return rc;
	}
	return add_listing(fs, rc, ref, d, S_IFDIR);
}

static int add_activation_files(struct ncffs *fs, const struct node *n,
				struct dir_listing *d)
{
	const struct rendered_activation *act;
	struct ttl_ref *ref = NULL;
	int i, rc = fetch_activation(fs, n, &ref);

	if (rc)
		return rc;
	act = fetched_activation(ref);
	for (i = 0; i < ACT_FILE_COUNT && rc == 0; i++) {
		if (act->files[i].present)
			rc = add(d, tree_activation_file_name((enum activation_file)i),
				 S_IFREG);
	}
	fetch_release(fs, ref);
	return rc;
}

static int add_failed_link(void *ctx, const char *id)
{
	return add(ctx, id, S_IFLNK);
}

static int fill_node(struct ncffs *fs, const struct node *n,
		     struct dir_listing *d)
{
	static const struct fixed_entry root[] = {
		{ "packages", S_IFDIR }, { "triggers", S_IFDIR },
		{ TREE_STATS_NAME, S_IFREG },
	};
	static const struct fixed_entry action[] = {
		{ "action.json", S_IFREG }, { "activations", S_IFDIR },
		{ "activations.tsv", S_IFREG }, { "failed", S_IFDIR },
	};
	static const struct fixed_entry trigger[] = {
		{ "trigger.json", S_IFREG }, { "activations", S_IFDIR },
	};
	struct ttl_ref *ref = NULL;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
		return add_fixed(d, root, 3);
	case NODE_PACKAGES:
		return add_packages(fs, d);
	case NODE_PACKAGE:
		rc = fetch_actions(fs, n->pkg, &ref);
		return add_listing(fs, rc, ref, d, S_IFDIR);
	case NODE_TRIGGERS:
		rc = fetch_triggers(fs, &ref);
		return add_listing(fs, rc, ref, d, S_IFDIR);
	case NODE_ACTION:
		rc = check_owner(fs, n);
		return rc ? rc : add_fixed(d, action, 4);
	case NODE_TRIGGER:
		rc = check_owner(fs, n);
		return rc ? rc : add_fixed(d, trigger, 2);
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

int node_list(struct ncffs *fs, const struct node *n, struct dir_listing *out)
{
	static const struct fixed_entry dots[] = { { ".", S_IFDIR },
						   { "..", S_IFDIR } };
	int rc = add_fixed(out, dots, 2);

	return rc ? rc : fill_node(fs, n, out);
}
/* ---- file bytes ------------------------------------------------------------ */

static int hold_blob(int rc, struct ttl_ref *ref, struct held_file *of)
{
	if (rc)
		return rc;
	of->ref = ref;
	of->data = fetched_blob(ref)->data;
	of->len = fetched_blob(ref)->len;
	return 0;
}

static int hold_activation_file(struct ncffs *fs, const struct node *n,
				struct held_file *of)
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

int node_hold(struct ncffs *fs, const struct node *n, struct held_file *of)
{
	struct ttl_ref *ref = NULL;
	int rc;

	memset(of, 0, sizeof(*of));
	switch (n->kind) {
	case NODE_STATS:
		of->is_stats = true;
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

ssize_t node_read(struct ncffs *fs, const struct held_file *of, char *buf,
		  size_t size, off_t offset)
{
	size_t n;

	if (of->is_stats)
		return stats_read(fs, buf, size, offset);
	if (offset < 0)
		return -EINVAL;
	if ((size_t)offset >= of->len)
		return 0;
	n = of->len - (size_t)offset;
	if (n > size)
		n = size;
	memcpy(buf, of->data + offset, n);
	return (ssize_t)n;
}

void node_unhold(struct ncffs *fs, struct held_file *of)
{
	fetch_release(fs, of->ref);
	memset(of, 0, sizeof(*of));
}
