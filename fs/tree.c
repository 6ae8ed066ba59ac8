/* tree — path to node (see tree.h). Every component is checked against the
 * API's naming rules here, so a name no server could have never costs a
 * request; existence is left to the handlers, which ask the cache. */
#include "tree.h"

#include <errno.h>
#include <string.h>

#include "../client/names.h"

#define PATH_DEPTH_MAX 6

static const char *const activation_file_names[ACT_FILE_COUNT] = {
	[ACT_FILE_ACTIVATION_JSON] = "activation.json",
	[ACT_FILE_RESULT_JSON] = "result.json",
	[ACT_FILE_LOGS_TXT] = "logs.txt",
	[ACT_FILE_DURATION] = "duration",
	[ACT_FILE_STATUS] = "status",
};

const char *tree_activation_file_name(enum activation_file file)
{
	return file < ACT_FILE_COUNT ? activation_file_names[file] : NULL;
}

bool tree_is_dir(enum node_kind kind)
{
	return kind != NODE_ACTION_JSON && kind != NODE_ACTIVATION_FILE;
}

static int activation_file_from_name(const char *name, enum activation_file *out)
{
	int i;

	for (i = 0; i < ACT_FILE_COUNT; i++) {
		if (strcmp(name, activation_file_names[i]) == 0) {
			*out = (enum activation_file)i;
			return 0;
		}
	}
	return -ENOENT;
}

/* Splits path into at most PATH_DEPTH_MAX components, in place in buf. */
static int split(const char *path, char *buf, size_t size,
		 char *parts[PATH_DEPTH_MAX], int *count)
{
	char *p;

	if (!path || path[0] != '/' || strlen(path) >= size)
		return -ENOENT;
	memcpy(buf, path, strlen(path) + 1); /* length checked above */
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

static void copy_name(char *dst, const char *src)
{
	size_t n = strlen(src); /* validated: at most NCF_NAME_MAX */

	memcpy(dst, src, n + 1);
}

static int parse_parts(char *parts[], int count, struct node *out)
{
	static const enum node_kind by_depth[] = {
		NODE_ROOT, NODE_PACKAGES, NODE_PACKAGE, NODE_ACTION,
	};

	if (count >= 1 && strcmp(parts[0], "packages") != 0)
		return -ENOENT;
	if (count >= 2 && !ncf_is_valid_package_name(parts[1]))
		return -ENOENT;
	if (count >= 3 && !ncf_is_valid_name(parts[2]))
		return -ENOENT;
	if (count >= 2)
		copy_name(out->pkg, parts[1]);
	if (count >= 3)
		copy_name(out->action, parts[2]);
	if (count <= 3) {
		out->kind = by_depth[count];
		return 0;
	}
	if (count == 4 && strcmp(parts[3], "action.json") == 0) {
		out->kind = NODE_ACTION_JSON;
		return 0;
	}
	if (strcmp(parts[3], "activations") != 0)
		return -ENOENT;
	if (count == 4) {
		out->kind = NODE_ACTIVATIONS;
		return 0;
	}
	if (!ncf_is_valid_activation_id(parts[4]))
		return -ENOENT;
	copy_name(out->id, parts[4]);
	out->kind = count == 5 ? NODE_ACTIVATION : NODE_ACTIVATION_FILE;
	return count == 5 ? 0 : activation_file_from_name(parts[5], &out->file);
}

int tree_parse(const char *path, struct node *out)
{
	char buf[512];
	char *parts[PATH_DEPTH_MAX];
	int count = 0, rc;

	memset(out, 0, sizeof(*out));
	rc = split(path, buf, sizeof(buf), parts, &count);
	if (rc == 0)
		rc = parse_parts(parts, count, out);
	return rc;
}
