/* fuzz_tree — tree_parse on hostile paths.
 *
 * Input: the path, as a NUL-terminated string (bytes after an embedded NUL
 * are ignored, as they would be coming from FUSE).
 *
 * Invariants checked, from fs/tree.h and client/names.h:
 *   - the result is 0 or -ENOENT;
 *   - on 0, the kind is one of enum node_kind; every name the kind carries
 *     passes its names.h predicate (package, action, trigger, activation id)
 *     and names it does not carry are empty; under_trigger is set exactly
 *     when the owner is a trigger; the file is one of enum activation_file;
 *     no kind is both a directory and a symlink;
 *   - on 0, the node printed back as a path (by this file's own spelling
 *     of the table in tree.h, and by tree_format) is the input, byte for
 *     byte, and parses again to the same node: a path maps to one node,
 *     and one node to one path. */
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

/* Which names each kind carries, from the table in tree.h. */
enum owner {
	OWNER_NONE,
	OWNER_PACKAGE, /* pkg only */
	OWNER_ACTION,  /* pkg and action */
	OWNER_TRIGGER, /* trigger */
	OWNER_ANY,     /* <owner>: pkg and action, or trigger */
};

static const struct {
	enum owner owner;
	bool id;
} shapes[] = {
    [NODE_ROOT] = {OWNER_NONE, false},
    [NODE_STATS] = {OWNER_NONE, false},
    [NODE_PACKAGES] = {OWNER_NONE, false},
    [NODE_PACKAGE] = {OWNER_PACKAGE, false},
    [NODE_ACTION] = {OWNER_ACTION, false},
    [NODE_ACTION_JSON] = {OWNER_ACTION, false},
    [NODE_ACTIVATIONS_TSV] = {OWNER_ACTION, false},
    [NODE_FAILED] = {OWNER_ACTION, false},
    [NODE_FAILED_LINK] = {OWNER_ACTION, true},
    [NODE_RECENT] = {OWNER_ACTION, false},
    [NODE_RECENT_LINK] = {OWNER_ACTION, true},
    [NODE_DAYS] = {OWNER_ACTION, false},
    [NODE_DAY] = {OWNER_ACTION, false},
    [NODE_DAY_LINK] = {OWNER_ACTION, true},
    [NODE_PACKAGE_FOLLOW] = {OWNER_PACKAGE, false},
    [NODE_ACTION_FOLLOW] = {OWNER_ACTION, false},
    [NODE_TRIGGERS] = {OWNER_NONE, false},
    [NODE_TRIGGER] = {OWNER_TRIGGER, false},
    [NODE_TRIGGER_JSON] = {OWNER_TRIGGER, false},
    [NODE_ACTIVATIONS] = {OWNER_ANY, false},
    [NODE_LATEST] = {OWNER_ANY, false},
    [NODE_ACTIVATION] = {OWNER_ANY, true},
    [NODE_ACTIVATION_FILE] = {OWNER_ANY, true},
};

static void check_owner(const struct node *n, enum owner owner)
{
	bool any = owner == OWNER_ANY;
	bool trigger = owner == OWNER_TRIGGER || (any && n->under_trigger);
	bool action = owner == OWNER_ACTION || (any && !n->under_trigger);
	bool pkg = action || owner == OWNER_PACKAGE;

	fuzz_require(!n->under_trigger || trigger,
	             "under_trigger set on a node with no trigger");
	fuzz_require(pkg ? ncf_is_valid_package_name(n->pkg) : !n->pkg[0],
	             "package name invalid, or set where there is no package");
	fuzz_require(action ? ncf_is_valid_name(n->action) : !n->action[0],
	             "action name invalid, or set where there is no action");
	fuzz_require(trigger ? ncf_is_valid_name(n->trigger) : !n->trigger[0],
	             "trigger name invalid, or set where there is no trigger");
}

static void check_node(const struct node *n)
{
	fuzz_require(n->kind < sizeof(shapes) / sizeof(shapes[0]),
	             "kind out of range");
	check_owner(n, shapes[n->kind].owner);
	fuzz_require(shapes[n->kind].id ? ncf_is_valid_activation_id(n->id)
	                                : !n->id[0],
	             "activation id invalid, or set where there is none");
	fuzz_require((n->kind == NODE_DAY || n->kind == NODE_DAY_LINK)
	                     ? strlen(n->day) == 10 && n->day[4] == '-' && n->day[7] == '-'
	                     : !n->day[0],
	             "day malformed, or set where there is no day");
	if (n->kind == NODE_ACTIVATION_FILE)
		fuzz_require(n->file < ACT_FILE_COUNT &&
		                 tree_activation_file_name(n->file) != NULL,
		             "activation file out of range");
	else
		fuzz_require(n->file == 0,
		             "file set on a node that is no file");
	fuzz_require(!(tree_is_dir(n->kind) && tree_is_symlink(n->kind)),
	             "a kind that is both a directory and a symlink");
}

/* <owner>: /packages/<pkg>/<action> or /triggers/<trigger>. */
static void print_owner(const struct node *n, char *buf, size_t size)
{
	if (n->trigger[0])
		snprintf(buf, size, "/triggers/%s", n->trigger);
	else
		snprintf(buf, size, "/packages/%s/%s", n->pkg, n->action);
}

/* The node as a path, from the table in tree.h; a flat switch. */
static void print_path(const struct node *n, char *buf, size_t size)
{
	char owner[PATH_TEXT_MAX];

	print_owner(n, owner, sizeof(owner));
	switch (n->kind) {
	case NODE_ROOT:
		snprintf(buf, size, "/");
		break;
	case NODE_STATS:
		snprintf(buf, size, "/.ncffs-stats");
		break;
	case NODE_PACKAGES:
		snprintf(buf, size, "/packages");
		break;
	case NODE_PACKAGE:
		snprintf(buf, size, "/packages/%s", n->pkg);
		break;
	case NODE_ACTION:
		snprintf(buf, size, "%s", owner);
		break;
	case NODE_ACTION_JSON:
		snprintf(buf, size, "%s/action.json", owner);
		break;
	case NODE_ACTIVATIONS_TSV:
		snprintf(buf, size, "%s/activations.tsv", owner);
		break;
	case NODE_FAILED:
		snprintf(buf, size, "%s/failed", owner);
		break;
	case NODE_FAILED_LINK:
		snprintf(buf, size, "%s/failed/%s", owner, n->id);
		break;
	case NODE_TRIGGERS:
		snprintf(buf, size, "/triggers");
		break;
	case NODE_TRIGGER:
		snprintf(buf, size, "%s", owner);
		break;
	case NODE_TRIGGER_JSON:
		snprintf(buf, size, "%s/trigger.json", owner);
		break;
	case NODE_ACTIVATIONS:
		snprintf(buf, size, "%s/activations", owner);
		break;
	case NODE_LATEST:
		snprintf(buf, size, "%s/activations/latest", owner);
		break;
	case NODE_ACTIVATION:
		snprintf(buf, size, "%s/activations/%s", owner, n->id);
		break;
	case NODE_ACTIVATION_FILE:
		snprintf(buf, size, "%s/activations/%s/%s", owner, n->id,
		         tree_activation_file_name(n->file));
		break;
	case NODE_RECENT:
		snprintf(buf, size, "%s/recent", owner);
		break;
	case NODE_RECENT_LINK:
		snprintf(buf, size, "%s/recent/%s", owner, n->id);
		break;
	case NODE_DAYS:
		snprintf(buf, size, "%s/days", owner);
		break;
	case NODE_DAY:
		snprintf(buf, size, "%s/days/%s", owner, n->day);
		break;
	case NODE_DAY_LINK:
		snprintf(buf, size, "%s/days/%s/%s", owner, n->day, n->id);
		break;
	case NODE_PACKAGE_FOLLOW:
		snprintf(buf, size, "/packages/%s/follow.log", n->pkg);
		break;
	case NODE_ACTION_FOLLOW:
		snprintf(buf, size, "%s/follow.log", owner);
		break;
	case NODE_KIND_COUNT:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstring(data, size);
	char again[PATH_TEXT_MAX * 2] = "", formatted[TREE_PATH_MAX] = "";
	struct node node, reparsed;
	int rc = tree_parse(path, &node);

	fuzz_require(rc == 0 || rc == -ENOENT,
	             "tree_parse returned neither 0 nor -ENOENT");
	if (rc == 0) {
		check_node(&node);
		print_path(&node, again, sizeof(again));
		fuzz_require(strcmp(again, path) == 0,
		             "the node printed back is not the path parsed");
		fuzz_require(tree_format(&node, formatted, sizeof(formatted)) == 0 &&
		                 strcmp(formatted, path) == 0,
		             "tree_format does not give back the path parsed");
		fuzz_require(tree_parse(again, &reparsed) == 0 &&
		                 memcmp(&node, &reparsed, sizeof(node)) == 0,
		             "the printed path parses to another node");
	}
	free(path);
	return 0;
}
