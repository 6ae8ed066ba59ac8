/* tree — path to node (see tree.h). Every component is checked against the
 * API's naming rules here, so a name no server could have never costs a
 * request; existence is left to the handlers, which ask the cache. */
#include "tree.h"

#include <errno.h>
#include <string.h>

#include "../client/names.h"

#define PATH_DEPTH_MAX 6
#define PATH_MAX_BYTES 512

const char *tree_activation_file_name(enum activation_file file)
{
	return render_file_name(file);
}

bool tree_is_dir(enum node_kind kind)
{
	switch (kind) {
	case NODE_ROOT:
	case NODE_PACKAGES:
	case NODE_PACKAGE:
	case NODE_ACTION:
	case NODE_FAILED:
	case NODE_TRIGGERS:
	case NODE_TRIGGER:
	case NODE_ACTIVATIONS:
	case NODE_ACTIVATION:
		return true;
	default:
		return false;
	}
}

bool tree_is_symlink(enum node_kind kind)
{
	return kind == NODE_LATEST || kind == NODE_FAILED_LINK;
}

/* Splits path into at most PATH_DEPTH_MAX components, in place in buf. */
static int split(const char *path, char *buf, char *parts[PATH_DEPTH_MAX],
		 int *count)
{
	size_t len = path ? strlen(path) : 0;
	char *p;

	if (!path || path[0] != '/' || len >= PATH_MAX_BYTES)
		return -ENOENT;
	memcpy(buf, path, len + 1);
	*count = 0;
	for (p = buf + 1; *p;) {
		char *slash = strchr(p, '/');

		if (*count == PATH_DEPTH_MAX || slash == p)
			return -ENOENT;
		parts[(*count)++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
		if (!*p) /* trailing slash: FUSE never sends one */
			return -ENOENT;
	}
	return 0;
}

/* Callers validated src: at most NCF_NAME_MAX (or id) bytes. */
static void copy_name(char *dst, const char *src)
{
	memcpy(dst, src, strlen(src) + 1);
}

/* parts[0] is "activations" under an owner already filled in. */
static int parse_activations(char *parts[], int count, struct node *out)
{
	if (strcmp(parts[0], "activations") != 0)
		return -ENOENT;
	if (count == 1) {
		out->kind = NODE_ACTIVATIONS;
		return 0;
	}
	if (count == 2 && strcmp(parts[1], TREE_LATEST_NAME) == 0) {
		out->kind = NODE_LATEST;
		return 0;
	}
	if (!ncf_is_valid_activation_id(parts[1]))
		return -ENOENT;
	copy_name(out->id, parts[1]);
	if (count == 2) {
		out->kind = NODE_ACTIVATION;
		return 0;
	}
	out->kind = NODE_ACTIVATION_FILE;
	return count == 3 ? render_file_from_name(parts[2], &out->file)
			  : -ENOENT;
}

/* parts[] below /packages/<pkg>/<action>. */
static int parse_action_child(char *parts[], int count, struct node *out)
{
	if (count == 1 && strcmp(parts[0], "action.json") == 0)
		out->kind = NODE_ACTION_JSON;
	else if (count == 1 && strcmp(parts[0], "activations.tsv") == 0)
		out->kind = NODE_ACTIVATIONS_TSV;
	else if (count == 1 && strcmp(parts[0], "failed") == 0)
		out->kind = NODE_FAILED;
	else if (count == 2 && strcmp(parts[0], "failed") == 0 &&
		 ncf_is_valid_activation_id(parts[1])) {
		out->kind = NODE_FAILED_LINK;
		copy_name(out->id, parts[1]);
	} else
		return parse_activations(parts, count, out);
	return 0;
}

/* parts[] below /packages. */
static int parse_packages(char *parts[], int count, struct node *out)
{
	if (count == 0) {
		out->kind = NODE_PACKAGES;
		return 0;
	}
	if (!ncf_is_valid_package_name(parts[0]))
		return -ENOENT;
	copy_name(out->pkg, parts[0]);
	if (count == 1) {
		out->kind = NODE_PACKAGE;
		return 0;
	}
	if (!ncf_is_valid_name(parts[1]))
		return -ENOENT;
	copy_name(out->action, parts[1]);
	if (count == 2) {
		out->kind = NODE_ACTION;
		return 0;
	}
	return parse_action_child(parts + 2, count - 2, out);
}

/* parts[] below /triggers. */
static int parse_triggers(char *parts[], int count, struct node *out)
{
	if (count == 0) {
		out->kind = NODE_TRIGGERS;
		return 0;
	}
	if (!ncf_is_valid_name(parts[0]))
		return -ENOENT;
	copy_name(out->trigger, parts[0]);
	out->under_trigger = true;
	if (count == 1) {
		out->kind = NODE_TRIGGER;
		return 0;
	}
	if (count == 2 && strcmp(parts[1], "trigger.json") == 0) {
		out->kind = NODE_TRIGGER_JSON;
		return 0;
	}
	return parse_activations(parts + 1, count - 1, out);
}

int tree_parse(const char *path, struct node *out)
{
	char buf[PATH_MAX_BYTES];
	char *parts[PATH_DEPTH_MAX];
	int count = 0, rc;

	memset(out, 0, sizeof(*out));
	rc = split(path, buf, parts, &count);
	if (rc)
		return rc;
	if (count == 0) {
		out->kind = NODE_ROOT;
		return 0;
	}
	if (count == 1 && strcmp(parts[0], TREE_STATS_NAME) == 0) {
		out->kind = NODE_STATS;
		return 0;
	}
	if (strcmp(parts[0], "packages") == 0)
		return parse_packages(parts + 1, count - 1, out);
	if (strcmp(parts[0], "triggers") == 0)
		return parse_triggers(parts + 1, count - 1, out);
	return -ENOENT;
}
