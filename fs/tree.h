/* tree — the shape of the mounted tree: path in, node out, and back. Pure.
 *
 * The tree is a table (node_table in nodes.h): one row per kind of node,
 * with its name or name pattern, the kinds it can sit under, and the
 * functions that serve it. tree.c only walks that table; nothing here
 * spells an entry's name. As the table has it today:
 *
 *   /                                              NODE_ROOT
 *   /packages                                      NODE_PACKAGES
 *   /triggers                                      NODE_TRIGGERS
 *   /.ncffs-stats                                  NODE_STATS
 *   /packages/<pkg>                                NODE_PACKAGE
 *   /packages/<pkg>/<action>                       NODE_ACTION
 *   /triggers/<trigger>                            NODE_TRIGGER
 *   /packages/<pkg>/<action>/action.json           NODE_ACTION_JSON
 *   /triggers/<trigger>/trigger.json               NODE_TRIGGER_JSON
 *   <owner>/activations                            NODE_ACTIVATIONS
 *   /packages/<pkg>/<action>/activations.tsv       NODE_ACTIVATIONS_TSV
 *   /packages/<pkg>/<action>/failed                NODE_FAILED
 *   /packages/<pkg>/<action>/failed/<id>           NODE_FAILED_LINK
 *   /packages/<pkg>/<action>/recent                NODE_RECENT
 *   /packages/<pkg>/<action>/recent/<id>           NODE_RECENT_LINK
 *   /packages/<pkg>/<action>/days                  NODE_DAYS
 *   /packages/<pkg>/<action>/days/<day>            NODE_DAY
 *   /packages/<pkg>/<action>/days/<day>/<id>       NODE_DAY_LINK
 *   /packages/<pkg>/follow.log                     NODE_PACKAGE_FOLLOW
 *   /packages/<pkg>/<action>/follow.log            NODE_ACTION_FOLLOW
 *   <owner>/activations/latest                     NODE_LATEST
 *   <owner>/activations/<id>                       NODE_ACTIVATION
 *   <owner>/activations/<id>/<file>                NODE_ACTIVATION_FILE
 *
 * where <owner> is /packages/<pkg>/<action> or /triggers/<trigger>, and
 * <file> is one of the files render.c makes of a record.
 *
 * A path whose components break the API's naming rules parses to -ENOENT
 * here, so no request is ever made for it (file-manager probes such as
 * .Trash or desktop.ini die here too). Whether a valid name exists is not
 * the parser's business.
 */
#ifndef NCFFS_TREE_H
#define NCFFS_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "../client/ncf_types.h"
#include "render.h"

/* The kinds of node: each names one row of node_table, and the rows of a
 * directory's fixed entries are listed in this order. */
enum node_kind {
	NODE_ROOT,
	NODE_PACKAGES,
	NODE_TRIGGERS,
	NODE_STATS,
	NODE_PACKAGE,
	NODE_ACTION,
	NODE_TRIGGER,
	NODE_ACTION_JSON,
	NODE_TRIGGER_JSON,
	NODE_ACTIVATIONS,
	NODE_ACTIVATIONS_TSV,
	NODE_FAILED,
	NODE_FAILED_LINK,
	NODE_RECENT,
	NODE_RECENT_LINK,
	NODE_DAYS,
	NODE_DAY,
	NODE_DAY_LINK,
	NODE_PACKAGE_FOLLOW,
	NODE_ACTION_FOLLOW,
	NODE_LATEST,
	NODE_ACTIVATION,
	NODE_ACTIVATION_FILE,
	NODE_KIND_COUNT
};

/* A node: its kind and the names on its path. A pattern row stores the
 * component it matched here; every other field stays zero. */
struct node {
	enum node_kind kind;
	bool under_trigger;            /* <owner> is a trigger */
	char pkg[NCF_NAME_MAX + 1];
	char action[NCF_NAME_MAX + 1];
	char trigger[NCF_NAME_MAX + 1];
	char id[NCF_ACTIVATION_ID_LEN + 1];
	char day[sizeof("YYYY-MM-DD")]; /* under days/: a local date */
	enum activation_file file;     /* NODE_ACTIVATION_FILE only */
};

/* The longest path tree_format writes, with its NUL. */
#define TREE_PATH_MAX 512

/* Parses an absolute path as FUSE hands it over: each component is the
 * child of the one before it that some row of the table names (a fixed
 * name first, then a pattern). Returns 0 or -ENOENT. */
int tree_parse(const char *path, struct node *out);

/* The path of n, the inverse of tree_parse, into buf. Returns 0, or
 * -ENOENT when n names no path (a name its kind needs is empty), or
 * -ENAMETOOLONG. */
int tree_format(const struct node *n, char *buf, size_t size);

bool tree_is_dir(enum node_kind kind);
bool tree_is_symlink(enum node_kind kind);

/* The file name of an activation file ("result.json", ...). */
const char *tree_activation_file_name(enum activation_file file);

#endif
