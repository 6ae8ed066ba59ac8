/* nodes — the tree's table and the functions its rows name (see nodes.h).
 *
 * Layout: the name patterns; the rows' functions, grouped by what they
 * serve (directories of API objects, files that are one cached blob,
 * activation records, links, the stats file); the table; the dispatch.
 * Each function that takes a cache reference gives it back in its one
 * exit path, but a file's open, which hands it to the held_file. */
#include "nodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../client/names.h"
#include "fetch.h"
#include "follow.h"
#include "perms.h"
#include "prefetch.h"
#include "stats.h"
#include "views.h"

/* Where the API keeps actions that are in no package: always there. */
#define DEFAULT_PACKAGE "-"
/* The longest symlink target: "../activations/" and an id. */
#define SYMLINK_MAX 64

/* ---- name patterns ------------------------------------------------------- */

/* The parsers are only handed names their rule admits, so each fits. */
static void copy_name(char *dst, const char *src)
{
	memcpy(dst, src, strlen(src) + 1);
}

static int parse_pkg(const char *name, struct node *n)
{
	if (!ncf_is_valid_package_name(name))
		return -ENOENT;
	copy_name(n->pkg, name);
	return 0;
}

static const char *format_pkg(const struct node *n)
{
	return n->pkg;
}

static int parse_action(const char *name, struct node *n)
{
	if (!ncf_is_valid_name(name))
		return -ENOENT;
	copy_name(n->action, name);
	return 0;
}

static const char *format_action(const struct node *n)
{
	return n->action;
}

static int parse_trigger(const char *name, struct node *n)
{
	if (!ncf_is_valid_name(name))
		return -ENOENT;
	copy_name(n->trigger, name);
	n->under_trigger = true;
	return 0;
}

static const char *format_trigger(const struct node *n)
{
	return n->trigger;
}

static int parse_id(const char *name, struct node *n)
{
	if (!ncf_is_valid_activation_id(name))
		return -ENOENT;
	copy_name(n->id, name);
	return 0;
}

static const char *format_id(const struct node *n)
{
	return n->id;
}

static int parse_file(const char *name, struct node *n)
{
	return render_file_from_name(name, &n->file);
}

static const char *format_file(const struct node *n)
{
	const char *name = render_file_name(n->file);

	return name ? name : "";
}

static const struct node_pattern pkg_name = {
	"<pkg>", "p1", parse_pkg, format_pkg,
};
static const struct node_pattern action_name = {
	"<action>", "a1", parse_action, format_action,
};
static const struct node_pattern trigger_name = {
	"<trigger>", "t1", parse_trigger, format_trigger,
};
static const struct node_pattern activation_id = {
	"<id>", "8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f", parse_id, format_id,
};
static const struct node_pattern file_name = {
	"<file>", "result.json", parse_file, format_file,
};

/* Only the shape: which days exist depends on today (views_day_window). */
static int parse_day_name(const char *name, struct node *n)
{
	size_t i, len = strlen(name);

	if (len + 1 != sizeof(n->day))
		return -ENOENT;
	for (i = 0; i < len; i++) {
		if (i == 4 || i == 7 ? name[i] != '-'
				     : (name[i] < '0' || name[i] > '9'))
			return -ENOENT;
	}
	copy_name(n->day, name);
	return 0;
}

static const char *format_day_name(const struct node *n)
{
	return n->day;
}

static const struct node_pattern day_name = {
	"<day>", "2026-12-01", parse_day_name, format_day_name,
};

/* ---- helpers ------------------------------------------------------------- */

static void set_time(struct stat *st, struct timespec t)
{
	st->st_mtim = st->st_ctim = st->st_atim = t;
}

static void set_size(struct stat *st, size_t size)
{
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

/* Directory sizes are bounded by the listings behind them (LIST_MAX_ITEMS
 * in the client), so this grows without a ceiling of its own. */
static int make_room(struct dir_listing *d)
{
	struct dir_entry *grown;
	size_t capacity;

	if (d->count < d->capacity)
		return 0;
	capacity = d->capacity ? d->capacity * 2 : 16;
	grown = realloc(d->entries, capacity * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	d->entries = grown;
	d->capacity = capacity;
	return 0;
}

static int add(struct dir_listing *d, const char *name, mode_t type)
{
	char *copy;
	int rc = make_room(d);

	if (rc)
		return rc;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->entries[d->count].name = copy;
	d->entries[d->count++].type = type;
	return 0;
}

/* Adds every name of listing as an entry of kind. */
static int add_names(struct dir_listing *d, const struct ncf_listing *listing,
		     enum node_kind kind)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < listing->count && rc == 0; i++)
		rc = add(d, listing->items[i].name, node_table[kind].type);
	return rc;
}

/* ---- directories of API objects ------------------------------------------ */

static int stat_package(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct ttl_ref *ref = NULL;
	int rc;

	(void)st;
	if (strcmp(n->pkg, DEFAULT_PACKAGE) == 0)
		return 0;
	rc = fetch_packages(fs, &ref);
	if (rc == 0 && !listing_has(fetched_listing(ref), n->pkg))
		rc = -ENOENT;
	fetch_release(fs, ref);
	return rc;
}

/* The default package first, unless the server lists it itself. */
static int list_packages(struct ncffs *fs, const struct node *n,
			 struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_packages(fs, &ref);

	(void)n;
	if (rc == 0 && !listing_has(fetched_listing(ref), DEFAULT_PACKAGE))
		rc = add(d, DEFAULT_PACKAGE, node_table[NODE_PACKAGE].type);
	if (rc == 0)
		rc = add_names(d, fetched_listing(ref), NODE_PACKAGE);
	fetch_release(fs, ref);
	return rc;
}

static int list_actions(struct ncffs *fs, const struct node *n,
			struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_actions(fs, n->pkg, &ref);

	if (rc == 0)
		rc = add_names(d, fetched_listing(ref), NODE_ACTION);
	fetch_release(fs, ref);
	return rc;
}

static int list_triggers(struct ncffs *fs, const struct node *n,
			 struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_triggers(fs, &ref);

	(void)n;
	if (rc == 0)
		rc = add_names(d, fetched_listing(ref), NODE_TRIGGER);
	fetch_release(fs, ref);
	return rc;
}

/* An action or trigger, or a directory below one, exists when its owner is
 * in its listing (the package's actions, or the triggers). */
static int check_owner(struct ncffs *fs, const struct node *n)
{
	struct ttl_ref *ref = NULL;
	const char *name = n->under_trigger ? n->trigger : n->action;
	int rc = n->under_trigger ? fetch_triggers(fs, &ref)
				  : fetch_actions(fs, n->pkg, &ref);

	if (rc == 0 && !listing_has(fetched_listing(ref), name))
		rc = -ENOENT;
	fetch_release(fs, ref);
	return rc;
}

static int stat_owner(struct ncffs *fs, const struct node *n, struct stat *st)
{
	(void)st;
	return check_owner(fs, n);
}

/* Its entries are all fixed ones: listing it only checks it exists. */
static int list_owner(struct ncffs *fs, const struct node *n,
		      struct dir_listing *d)
{
	(void)d;
	return check_owner(fs, n);
}

/* Entries from..d->count of d, as the ids of a readahead stream: whoever
 * lists activations may be about to look inside them. eager: queue the
 * first window now (prefetch.h). */
static void start_readahead(struct ncffs *fs, const struct node *owner,
			    const char *tag, const struct dir_listing *d,
			    size_t from, bool eager)
{
	const char **ids;
	size_t i;

	if (!fs->prefetch || from >= d->count)
		return;
	ids = malloc((d->count - from) * sizeof(*ids));
	if (!ids)
		return; /* no readahead: every record is still fetched on demand */
	for (i = from; i < d->count; i++)
		ids[i - from] = d->entries[i].name;
	if (eager)
		prefetch_listed(fs->prefetch, owner, tag, ids, d->count - from);
	else
		prefetch_listed_lazily(fs->prefetch, owner, tag, ids,
				       d->count - from);
	free(ids);
}

static int list_activations(struct ncffs *fs, const struct node *n,
			    struct dir_listing *d)
{
	struct ttl_ref *ref = NULL;
	size_t from = d->count;
	int rc = fetch_activations(fs, n, &ref);

	if (rc == 0)
		rc = add_names(d, fetched_listing(ref), NODE_ACTIVATION);
	if (rc == 0)
		start_readahead(fs, n, node_table[NODE_ACTIVATIONS].name, d, from,
				true);
	fetch_release(fs, ref);
	return rc;
}

static int add_failed_link(void *d, const char *id)
{
	return add(d, id, node_table[NODE_FAILED_LINK].type);
}

/* failed/ and recent/ are looks of their own: their readahead waits for
 * a reader to follow their links into activations/ (grep -R, rg -L). */
static int list_failed(struct ncffs *fs, const struct node *n,
		       struct dir_listing *d)
{
	size_t from = d->count;
	int rc = views_each_failed(fs, n, add_failed_link, d);

	if (rc == 0)
		start_readahead(fs, n, node_table[NODE_FAILED].name, d, from,
				false);
	return rc;
}

static int add_recent_link(void *d, const char *id)
{
	return add(d, id, node_table[NODE_RECENT_LINK].type);
}

static int list_recent(struct ncffs *fs, const struct node *n,
		       struct dir_listing *d)
{
	size_t from = d->count;
	int rc = check_owner(fs, n);

	if (rc == 0)
		rc = views_each_recent(fs, n, fs->recent_count, add_recent_link,
				       d);
	if (rc == 0)
		start_readahead(fs, n, node_table[NODE_RECENT].name, d, from,
				false);
	return rc;
}

static int add_day(void *d, const char *day)
{
	return add(d, day, node_table[NODE_DAY].type);
}

/* The days are the calendar's: listing them costs no request. */
static int list_days(struct ncffs *fs, const struct node *n,
		     struct dir_listing *d)
{
	int rc = check_owner(fs, n);

	return rc ? rc : views_each_day(add_day, d);
}

static int stat_day(struct ncffs *fs, const struct node *n, struct stat *st)
{
	int64_t start, end;
	int rc = views_day_window(n->day, &start, &end);

	(void)st;
	return rc ? rc : check_owner(fs, n);
}

static int add_day_link(void *d, const char *id)
{
	return add(d, id, node_table[NODE_DAY_LINK].type);
}

static int list_day(struct ncffs *fs, const struct node *n,
		    struct dir_listing *d)
{
	size_t from = d->count;
	int rc = views_each_of_day(fs, n, n->day, add_day_link, d);

	if (rc == 0) /* grep -R follows the links into activations/ */
		start_readahead(fs, n, n->day, d, from, true);
	return rc;
}

/* ---- files that are one cached blob -------------------------------------- */

/* Definitions and activations.tsv: their time is when they were fetched,
 * so a refreshed one has a new mtime and the kernel drops stale pages. */
static int blob_stat(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct ttl_ref *ref = NULL;
	int rc = node_table[n->kind].take(fs, n, &ref);

	if (rc == 0) {
		set_time(st, fetched_time(ref));
		set_size(st, fetched_blob(ref)->len);
	}
	fetch_release(fs, ref);
	return rc;
}

/* The reference moves to held; node_release gives it back. */
static int blob_open(struct ncffs *fs, const struct node *n,
		     struct held_file *held)
{
	int rc = node_table[n->kind].take(fs, n, &held->ref);

	if (rc == 0) {
		held->data = fetched_blob(held->ref)->data;
		held->len = fetched_blob(held->ref)->len;
	}
	return rc;
}

/* ---- activation records -------------------------------------------------- */

/* How a stat gets the record: fetched (fetch_activation), or only what
 * memory holds (fetch_activation_peek). */
typedef int (*record_getter)(struct ncffs *fs, const struct node *n,
			     struct ttl_ref **out);
/* What an activation's node shows of its record. */
typedef int (*record_attrs)(const struct rendered_activation *act,
			    const struct node *n, struct stat *st);

static int attrs_from_record(struct ncffs *fs, const struct node *n,
			     struct stat *st, record_getter get,
			     record_attrs attrs)
{
	struct ttl_ref *ref = NULL;
	int rc = get(fs, n, &ref);

	if (rc == 0)
		rc = attrs(fetched_activation(ref), n, st);
	fetch_release(fs, ref);
	return rc;
}

static int activation_attrs(const struct rendered_activation *act,
			    const struct node *n, struct stat *st)
{
	(void)n;
	set_time(st, act->mtime);
	return 0;
}

static int stat_activation_cached(struct ncffs *fs, const struct node *n,
				  struct stat *st)
{
	return attrs_from_record(fs, n, st, fetch_activation_peek,
				 activation_attrs) ? -EAGAIN : 0;
}

static int stat_activation(struct ncffs *fs, const struct node *n,
			   struct stat *st)
{
	/* Looked up in listing order, this moves the readahead window ahead
	 * of the reader, before it waits for this record. */
	prefetch_touched(fs->prefetch, n);
	return attrs_from_record(fs, n, st, fetch_activation, activation_attrs);
}

static int list_activation_files(struct ncffs *fs, const struct node *n,
				 struct dir_listing *d)
{
	const struct rendered_activation *act;
	struct ttl_ref *ref = NULL;
	int i, rc = fetch_activation(fs, n, &ref);

	act = rc == 0 ? fetched_activation(ref) : NULL;
	for (i = 0; act && rc == 0 && i < ACT_FILE_COUNT; i++) {
		if (act->files[i].present)
			rc = add(d, render_file_name((enum activation_file)i),
				 node_table[NODE_ACTIVATION_FILE].type);
	}
	fetch_release(fs, ref);
	return rc;
}

static int activation_file_attrs(const struct rendered_activation *act,
				 const struct node *n, struct stat *st)
{
	if (!act->files[n->file].present)
		return -ENOENT;
	set_time(st, act->mtime);
	set_size(st, act->files[n->file].len);
	return 0;
}

static int stat_activation_file(struct ncffs *fs, const struct node *n,
				struct stat *st)
{
	return attrs_from_record(fs, n, st, fetch_activation,
				 activation_file_attrs);
}

static int stat_activation_file_cached(struct ncffs *fs, const struct node *n,
				       struct stat *st)
{
	return attrs_from_record(fs, n, st, fetch_activation_peek,
				 activation_file_attrs) ? -EAGAIN : 0;
}

/* The reference moves to held when the file is there; node_release gives
 * it back. */
static int open_activation_file(struct ncffs *fs, const struct node *n,
				struct held_file *held)
{
	const struct rendered_file *file = NULL;
	struct ttl_ref *ref = NULL;
	int rc = fetch_activation(fs, n, &ref);

	if (rc == 0) {
		file = &fetched_activation(ref)->files[n->file];
		rc = file->present ? 0 : -ENOENT;
	}
	if (rc) {
		fetch_release(fs, ref);
		return rc;
	}
	held->ref = ref;
	held->data = file->data;
	held->len = file->len;
	return 0;
}

/* ---- links --------------------------------------------------------------- */

static int written(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* latest shows once there is an activation to point at. */
static int latest_is_listed(struct ncffs *fs, const struct node *parent,
			    const struct dir_listing *activations)
{
	(void)fs;
	(void)parent;
	return activations->count > 0;
}

static int latest_target(struct ncffs *fs, const struct node *n, char *buf,
			 size_t size)
{
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int rc = views_latest(fs, n, id);

	return rc ? rc : written(snprintf(buf, size, "%s", id), size);
}

static int failed_link_target(struct ncffs *fs, const struct node *n,
			      char *buf, size_t size)
{
	int rc = views_check_failed(fs, n, n->id);

	if (rc)
		return rc;
	return written(snprintf(buf, size, "../%s/%s",
				node_table[NODE_ACTIVATIONS].name, n->id),
		       size);
}

static int recent_link_target(struct ncffs *fs, const struct node *n,
			      char *buf, size_t size)
{
	int rc = views_check_recent(fs, n, fs->recent_count, n->id);

	if (rc)
		return rc;
	return written(snprintf(buf, size, "../%s/%s",
				node_table[NODE_ACTIVATIONS].name, n->id),
		       size);
}

static int day_link_target(struct ncffs *fs, const struct node *n, char *buf,
			   size_t size)
{
	int rc = views_check_of_day(fs, n, n->day, n->id);

	if (rc)
		return rc;
	return written(snprintf(buf, size, "../../%s/%s",
				node_table[NODE_ACTIVATIONS].name, n->id),
		       size);
}

/* A link exists when it has a target; its size is the target's length. */
static int link_stat(struct ncffs *fs, const struct node *n, struct stat *st)
{
	char target[SYMLINK_MAX];
	int rc = node_table[n->kind].target(fs, n, target, sizeof(target));

	if (rc == 0)
		set_size(st, strlen(target));
	return rc;
}

/* ---- activations.tsv ------------------------------------------------------- */

/* Its size needs every record, so, as /proc does, it has none: size 0,
 * read to the end through direct I/O. A stat (ls -l) costs nothing. */
static int stat_tsv(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	set_time(st, now);
	return check_owner(fs, n);
}

static int open_tsv(struct ncffs *fs, const struct node *n,
		    struct held_file *held)
{
	struct tsv_stream *s = NULL;
	int rc = views_tsv_open(fs, n, &s);

	held->state = s;
	return rc;
}

static ssize_t read_tsv(struct ncffs *fs, const struct held_file *held,
			char *buf, size_t size, off_t offset)
{
	return offset < 0 ? -EINVAL
			  : views_tsv_read(fs, held->state, buf, size, offset);
}

static void release_tsv(struct ncffs *fs, struct held_file *held)
{
	views_tsv_close(fs, held->state);
	held->state = NULL;
}

/* ---- follow.log ------------------------------------------------------------ */

/* It exists with its package or action. Closed, it is empty and has the
 * mount's time; open, the size it has grown to and the time of its last
 * append (tail and log shippers watch both). Never cached by the kernel. */
static int stat_follow(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct timespec mtime;
	size_t size;
	int rc = n->action[0] ? check_owner(fs, n) : stat_package(fs, n, st);

	if (rc == 0 && follow_get_size(fs->follow, n, &size, &mtime)) {
		set_time(st, mtime);
		set_size(st, size);
	}
	return rc;
}

static int open_follow(struct ncffs *fs, const struct node *n,
		       struct held_file *held)
{
	return follow_open(fs, n, &held->state);
}

static ssize_t read_follow(struct ncffs *fs, const struct held_file *held,
			   char *buf, size_t size, off_t offset)
{
	return follow_read(fs->follow, held->state, buf, size, offset);
}

static void release_follow(struct ncffs *fs, struct held_file *held)
{
	follow_release(fs->follow, held->state);
}

/* ---- the stats file ------------------------------------------------------ */

/* Each stat takes a fresh snapshot (its size, and a new mtime that makes
 * the kernel drop old pages); reads are served from the latest one. */
static int stat_stats(struct ncffs *fs, const struct node *n, struct stat *st)
{
	struct timespec now;
	ssize_t len = stats_refresh(fs);

	(void)n;
	if (len < 0)
		return (int)len;
	clock_gettime(CLOCK_REALTIME, &now);
	set_time(st, now);
	set_size(st, (size_t)len);
	return 0;
}

static int open_stats(struct ncffs *fs, const struct node *n,
		      struct held_file *held)
{
	(void)fs;
	(void)n;
	(void)held;
	return 0;
}

static ssize_t read_stats(struct ncffs *fs, const struct held_file *held,
			  char *buf, size_t size, off_t offset)
{
	(void)held;
	return stats_read(fs, buf, size, offset);
}

/* ---- the table ----------------------------------------------------------- */

/* One row per kind of node, in the order a directory lists its fixed
 * entries. Timeouts: records never change once readable, so the kernel
 * may keep their entries, attributes and pages for an hour; everything a
 * listing can change is trusted list_ttl; the stats file and follow.log
 * never: they grow between two stats. follow.log needs its opens (a file
 * is followed while a handle is open) and reads that bypass the page
 * cache, where its newest bytes would not be. */
const struct node_row node_table[NODE_KIND_COUNT] = {
	[NODE_ROOT] = {
		.type = S_IFDIR,
	},
	[NODE_PACKAGES] = {
		.name = "packages", .parents = NODE_UNDER(NODE_ROOT),
		.type = S_IFDIR,
		.list = list_packages,
	},
	[NODE_TRIGGERS] = {
		.name = "triggers", .parents = NODE_UNDER(NODE_ROOT),
		.type = S_IFDIR,
		.list = list_triggers,
	},
	[NODE_STATS] = {
		.name = ".ncffs-stats", .parents = NODE_UNDER(NODE_ROOT),
		.type = S_IFREG, .attr_ttl = NODE_TTL_NONE,
		.flags = NODE_DIRECT_IO,
		.stat = stat_stats, .open = open_stats, .read = read_stats,
	},
	[NODE_PACKAGE] = {
		.pattern = &pkg_name, .parents = NODE_UNDER(NODE_PACKAGES),
		.type = S_IFDIR,
		.stat = stat_package, .list = list_actions,
	},
	[NODE_ACTION] = {
		.pattern = &action_name, .parents = NODE_UNDER(NODE_PACKAGE),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_owner,
	},
	[NODE_TRIGGER] = {
		.pattern = &trigger_name, .parents = NODE_UNDER(NODE_TRIGGERS),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_owner,
	},
	[NODE_ACTION_JSON] = {
		.name = "action.json", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFREG,
		.take = fetch_action_json, .stat = blob_stat, .open = blob_open,
	},
	[NODE_TRIGGER_JSON] = {
		.name = "trigger.json", .parents = NODE_UNDER(NODE_TRIGGER),
		.type = S_IFREG,
		.take = fetch_trigger_json,
		.stat = blob_stat, .open = blob_open,
	},
	[NODE_ACTIVATIONS] = {
		.name = "activations",
		.parents = NODE_UNDER(NODE_ACTION) | NODE_UNDER(NODE_TRIGGER),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_activations,
	},
	[NODE_ACTIVATIONS_TSV] = {
		.name = "activations.tsv", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFREG,
		.attr_ttl = NODE_TTL_NONE,
		.flags = NODE_DIRECT_IO | NODE_NEEDS_HANDLE,
		.stat = stat_tsv, .open = open_tsv, .read = read_tsv,
		.release = release_tsv,
	},
	[NODE_FAILED] = {
		.name = "failed", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_failed,
	},
	[NODE_FAILED_LINK] = {
		.pattern = &activation_id, .parents = NODE_UNDER(NODE_FAILED),
		.type = S_IFLNK,
		.stat = link_stat, .target = failed_link_target,
	},
	[NODE_RECENT] = {
		.name = "recent", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_recent,
	},
	[NODE_RECENT_LINK] = {
		.pattern = &activation_id, .parents = NODE_UNDER(NODE_RECENT),
		.type = S_IFLNK,
		.stat = link_stat, .target = recent_link_target,
	},
	[NODE_DAYS] = {
		.name = "days", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFDIR,
		.stat = stat_owner, .list = list_days,
	},
	[NODE_DAY] = {
		.pattern = &day_name, .parents = NODE_UNDER(NODE_DAYS),
		.type = S_IFDIR,
		.stat = stat_day, .list = list_day,
	},
	[NODE_DAY_LINK] = {
		.pattern = &activation_id, .parents = NODE_UNDER(NODE_DAY),
		.type = S_IFLNK,
		.stat = link_stat, .target = day_link_target,
	},
	[NODE_PACKAGE_FOLLOW] = {
		.name = "follow.log", .parents = NODE_UNDER(NODE_PACKAGE),
		.type = S_IFREG, .attr_ttl = NODE_TTL_NONE,
		.flags = NODE_DIRECT_IO | NODE_NEEDS_HANDLE,
		.stat = stat_follow, .open = open_follow, .read = read_follow,
		.release = release_follow,
	},
	[NODE_ACTION_FOLLOW] = {
		.name = "follow.log", .parents = NODE_UNDER(NODE_ACTION),
		.type = S_IFREG, .attr_ttl = NODE_TTL_NONE,
		.flags = NODE_DIRECT_IO | NODE_NEEDS_HANDLE,
		.stat = stat_follow, .open = open_follow, .read = read_follow,
		.release = release_follow,
	},
	[NODE_LATEST] = {
		.name = "latest", .parents = NODE_UNDER(NODE_ACTIVATIONS),
		.type = S_IFLNK,
		.is_listed = latest_is_listed, .stat = link_stat,
		.target = latest_target,
	},
	[NODE_ACTIVATION] = {
		.pattern = &activation_id,
		.parents = NODE_UNDER(NODE_ACTIVATIONS),
		.type = S_IFDIR, .entry_ttl = NODE_TTL_RECORD,
		.attr_ttl = NODE_TTL_RECORD, .flags = NODE_KEEP_CACHE,
		.stat = stat_activation, .stat_cached = stat_activation_cached,
		.list = list_activation_files,
	},
	[NODE_ACTIVATION_FILE] = {
		.pattern = &file_name, .parents = NODE_UNDER(NODE_ACTIVATION),
		.type = S_IFREG, .entry_ttl = NODE_TTL_RECORD,
		.attr_ttl = NODE_TTL_RECORD, .flags = NODE_KEEP_CACHE,
		.stat = stat_activation_file,
		.stat_cached = stat_activation_file_cached,
		.open = open_activation_file,
	},
};

/* ---- dispatch ------------------------------------------------------------ */

static void fill_common(const struct ncffs *fs, struct stat *st, mode_t type)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = perms_mode(type, fs->umask);
	st->st_nlink = type == S_IFDIR ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	set_time(st, fs->mounted_at); /* for nodes with no time of their own */
	st->st_blksize = 4096;
}

int node_stat(struct ncffs *fs, const struct node *n, struct stat *st)
{
	const struct node_row *row = &node_table[n->kind];

	fill_common(fs, st, row->type);
	return row->stat ? row->stat(fs, n, st) : 0;
}

int node_stat_cached(struct ncffs *fs, const struct node *n, struct stat *st)
{
	const struct node_row *row = &node_table[n->kind];

	if (!row->stat_cached)
		return -EAGAIN;
	fill_common(fs, st, row->type);
	return row->stat_cached(fs, n, st);
}

int node_readlink(struct ncffs *fs, const struct node *n, char *buf,
		  size_t size)
{
	const struct node_row *row = &node_table[n->kind];

	return row->target ? row->target(fs, n, buf, size) : -EINVAL;
}

void dir_listing_release(struct dir_listing *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		free(d->entries[i].name);
	free(d->entries);
	memset(d, 0, sizeof(*d));
}

/* The rows with a fixed name under n's kind, those that say they show. */
static int add_fixed(struct ncffs *fs, const struct node *n,
		     const struct dir_listing *by_n, struct dir_listing *d)
{
	int k, listed, rc = 0;

	for (k = 0; k < NODE_KIND_COUNT && rc == 0; k++) {
		const struct node_row *row = &node_table[k];

		if (!row->name || !(row->parents & NODE_UNDER(n->kind)))
			continue;
		listed = row->is_listed ? row->is_listed(fs, n, by_n) : 1;
		if (listed < 0)
			rc = listed;
		else if (listed)
			rc = add(d, row->name, row->type);
	}
	return rc;
}

/* Moves the entries of from to the end of to; those not moved (on no
 * memory) stay from's. */
static int move_entries(struct dir_listing *to, struct dir_listing *from)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < from->count && rc == 0; i++) {
		rc = make_room(to);
		if (rc == 0) {
			to->entries[to->count++] = from->entries[i];
			from->entries[i].name = NULL;
		}
	}
	return rc;
}

int node_list(struct ncffs *fs, const struct node *n, struct dir_listing *out)
{
	const struct node_row *row = &node_table[n->kind];
	struct dir_listing listed = { 0 };
	int rc;

	if (row->type != S_IFDIR)
		return -ENOTDIR;
	rc = row->list ? row->list(fs, n, &listed) : 0;
	if (rc == 0)
		rc = add(out, ".", S_IFDIR);
	if (rc == 0)
		rc = add(out, "..", S_IFDIR);
	if (rc == 0)
		rc = add_fixed(fs, n, &listed, out);
	if (rc == 0)
		rc = move_entries(out, &listed);
	dir_listing_release(&listed);
	return rc;
}

int node_open(struct ncffs *fs, const struct node *n, struct held_file *held)
{
	const struct node_row *row = &node_table[n->kind];
	int rc;

	memset(held, 0, sizeof(*held));
	held->kind = n->kind;
	if (!row->open)
		return row->type == S_IFDIR ? -EISDIR : -EINVAL;
	rc = row->open(fs, n, held);
	held->is_open = rc == 0;
	return rc;
}

static ssize_t read_held(const struct held_file *held, char *buf, size_t size,
			 off_t offset)
{
	size_t n;

	if (offset < 0)
		return -EINVAL;
	if ((size_t)offset >= held->len)
		return 0;
	n = held->len - (size_t)offset;
	if (n > size)
		n = size;
	memcpy(buf, held->data + offset, n);
	return (ssize_t)n;
}

ssize_t node_read(struct ncffs *fs, const struct held_file *held, char *buf,
		  size_t size, off_t offset)
{
	const struct node_row *row = &node_table[held->kind];

	return row->read ? row->read(fs, held, buf, size, offset)
			 : read_held(held, buf, size, offset);
}

void node_release(struct ncffs *fs, struct held_file *held)
{
	const struct node_row *row = &node_table[held->kind];

	if (held->is_open) {
		if (row->release)
			row->release(fs, held);
		else
			fetch_release(fs, held->ref);
	}
	memset(held, 0, sizeof(*held));
}

bool node_table_needs_handles(void)
{
	int k;

	for (k = 0; k < NODE_KIND_COUNT; k++) {
		if (node_table[k].flags & NODE_NEEDS_HANDLE)
			return true;
	}
	return false;
}
