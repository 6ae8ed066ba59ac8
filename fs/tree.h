/* tree — the shape of the mounted tree: path in, node out. Pure.
 *
 *   /                                              NODE_ROOT
 *   /.ncffs-stats                                  NODE_STATS
 *   /packages                                      NODE_PACKAGES
 *   /packages/<pkg>                                NODE_PACKAGE
 *   /packages/<pkg>/<action>                       NODE_ACTION
 *   /packages/<pkg>/<action>/action.json           NODE_ACTION_JSON
 *   /packages/<pkg>/<action>/activations.tsv       NODE_ACTIVATIONS_TSV
 *   /packages/<pkg>/<action>/failed                NODE_FAILED
 *   /packages/<pkg>/<action>/failed/<id>           NODE_FAILED_LINK
 *   /triggers                                      NODE_TRIGGERS
 *   /triggers/<trigger>                            NODE_TRIGGER
 *   /triggers/<trigger>/trigger.json               NODE_TRIGGER_JSON
 *   <owner>/activations                            NODE_ACTIVATIONS
 *   <owner>/activations/latest                     NODE_LATEST
 *   <owner>/activations/<id>                       NODE_ACTIVATION
 *   <owner>/activations/<id>/<file>                NODE_ACTIVATION_FILE
 *
 * where <owner> is /packages/<pkg>/<action> or /triggers/<trigger>.
 *
 * A path whose components break the API's naming rules parses to -ENOENT
 * here, so no request is ever made for it (file-manager probes such as
 * .Trash or desktop.ini die here too). Whether a valid name exists is not
 * the parser's business.
 */
#ifndef NCFFS_TREE_H
#define NCFFS_TREE_H

#include <stdbool.h>

#include "../client/ncf_types.h"
#include "render.h"

#define TREE_STATS_NAME ".ncffs-stats"
#define TREE_LATEST_NAME "latest"

enum node_kind {
	NODE_ROOT,
	NODE_STATS,
	NODE_PACKAGES,
	NODE_PACKAGE,
	NODE_ACTION,
	NODE_ACTION_JSON,
	NODE_ACTIVATIONS_TSV,
	NODE_FAILED,
	NODE_FAILED_LINK,
	NODE_TRIGGERS,
	NODE_TRIGGER,
	NODE_TRIGGER_JSON,
	NODE_ACTIVATIONS,
	NODE_LATEST,
	NODE_ACTIVATION,
	NODE_ACTIVATION_FILE,
};

struct node {
	enum node_kind kind;
	bool under_trigger;            /* <owner> is a trigger */
	char pkg[NCF_NAME_MAX + 1];
	char action[NCF_NAME_MAX + 1];
	char trigger[NCF_NAME_MAX + 1];
	char id[NCF_ACTIVATION_ID_LEN + 1];
	enum activation_file file;     /* NODE_ACTIVATION_FILE only */
};

/* Parses an absolute path as FUSE hands it over. Returns 0 or -ENOENT. */
int tree_parse(const char *path, struct node *out);

bool tree_is_dir(enum node_kind kind);
bool tree_is_symlink(enum node_kind kind);

/* The file name of an activation file ("result.json", ...). */
const char *tree_activation_file_name(enum activation_file file);

#endif
