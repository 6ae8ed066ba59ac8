/* fuzz_tree — tree_parse on hostile paths.
 *
 * Input: the path, as a NUL-terminated string (bytes after an embedded NUL
 * are ignored, as they would be coming from FUSE).
 *
 * Invariants checked, from fs/tree.h and client/names.h:
 *   - the result is 0 or -ENOENT;
 *   - on 0, the kind is one of enum node_kind, every name the kind carries
 *     passes its names.h predicate, names the kind does not carry are empty,
 *     and the file is one of enum activation_file;
 *   - on 0, the node printed back as a path is the input, byte for byte, and
 *     parses again to the same node (a path maps to one node, and one node
 *     to one path). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/names.h"
#include "fs/tree.h"
#include "tests/fuzz/fuzz_common.h"

#define PATH_TEXT_MAX 512

static void check_names(const struct node *n)
{
	bool has_pkg = n->kind >= NODE_PACKAGE;
	bool has_action = n->kind >= NODE_ACTION;
	bool has_id = n->kind >= NODE_ACTIVATION;

	fuzz_require(n->kind <= NODE_ACTIVATION_FILE, "kind out of range");
	fuzz_require(has_pkg ? ncf_is_valid_package_name(n->pkg) : !n->pkg[0],
		     "package name invalid, or set on a node above packages");
	fuzz_require(has_action ? ncf_is_valid_name(n->action) : !n->action[0],
		     "action name invalid, or set on a node above actions");
	fuzz_require(has_id ? ncf_is_valid_activation_id(n->id) : !n->id[0],
		     "activation id invalid, or set on a node above activations");
	if (n->kind == NODE_ACTIVATION_FILE)
		fuzz_require(n->file < ACT_FILE_COUNT &&
			     tree_activation_file_name(n->file) != NULL,
			     "activation file out of range");
	fuzz_require(tree_is_dir(n->kind) == (n->kind != NODE_ACTION_JSON &&
					      n->kind != NODE_ACTIVATION_FILE),
		     "tree_is_dir disagrees with the kind");
}

/* The node as a path; a flat switch over the kinds, deepest last. */
static void print_path(const struct node *n, char *buf, size_t size)
{
	switch (n->kind) {
	case NODE_ROOT:
		snprintf(buf, size, "/");
		break;
	case NODE_PACKAGES:
		snprintf(buf, size, "/packages");
		break;
	case NODE_PACKAGE:
		snprintf(buf, size, "/packages/%s", n->pkg);
		break;
	case NODE_ACTION:
		snprintf(buf, size, "/packages/%s/%s", n->pkg, n->action);
		break;
	case NODE_ACTION_JSON:
		snprintf(buf, size, "/packages/%s/%s/action.json", n->pkg,
			 n->action);
		break;
	case NODE_ACTIVATIONS:
		snprintf(buf, size, "/packages/%s/%s/activations", n->pkg,
			 n->action);
		break;
	case NODE_ACTIVATION:
		snprintf(buf, size, "/packages/%s/%s/activations/%s", n->pkg,
			 n->action, n->id);
		break;
	case NODE_ACTIVATION_FILE:
		snprintf(buf, size, "/packages/%s/%s/activations/%s/%s", n->pkg,
			 n->action, n->id, tree_activation_file_name(n->file));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstring(data, size);
	char again[PATH_TEXT_MAX];
	struct node node, reparsed;
	int rc = tree_parse(path, &node);

	fuzz_require(rc == 0 || rc == -ENOENT,
		     "tree_parse returned neither 0 nor -ENOENT");
	if (rc == 0) {
		check_names(&node);
		print_path(&node, again, sizeof(again));
		fuzz_require(strcmp(again, path) == 0,
			     "the node printed back is not the path parsed");
		fuzz_require(tree_parse(again, &reparsed) == 0 &&
			     memcmp(&node, &reparsed, sizeof(node)) == 0,
			     "the printed path parses to another node");
	}
	free(path);
	return 0;
}
