/* tree — the shape of the mounted tree: path in, node out. Pure.
 *
 *   /                                      NODE_ROOT
 *   /packages                              NODE_PACKAGES
 *   /packages/<pkg>                        NODE_PACKAGE
 *   /packages/<pkg>/<action>               NODE_ACTION
 *   /packages/<pkg>/<action>/action.json   NODE_ACTION_JSON
 *   /packages/<pkg>/<action>/activations   NODE_ACTIVATIONS
 *   /packages/<pkg>/<action>/activations/<id>          NODE_ACTIVATION
 *   /packages/<pkg>/<action>/activations/<id>/<file>   NODE_ACTIVATION_FILE
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

enum node_kind {
	NODE_ROOT,
	NODE_PACKAGES,
	NODE_PACKAGE,
	NODE_ACTION,
	NODE_ACTION_JSON,
	NODE_ACTIVATIONS,
	NODE_ACTIVATION,
	NODE_ACTIVATION_FILE,
};

enum activation_file {
	ACT_FILE_ACTIVATION_JSON,
	ACT_FILE_RESULT_JSON,
	ACT_FILE_LOGS_TXT,
	ACT_FILE_DURATION,
	ACT_FILE_STATUS,
	ACT_FILE_COUNT,
};

struct node {
	enum node_kind kind;
	char pkg[NCF_NAME_MAX + 1];
	char action[NCF_NAME_MAX + 1];
	char id[NCF_ACTIVATION_ID_LEN + 1];
	enum activation_file file;     /* NODE_ACTIVATION_FILE only */
};

/* Parses an absolute path as FUSE hands it over. Returns 0 or -ENOENT. */
int tree_parse(const char *path, struct node *out);

bool tree_is_dir(enum node_kind kind);

/* The file name of an activation file ("result.json", ...). */
const char *tree_activation_file_name(enum activation_file file);

#endif
