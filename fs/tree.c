/* tree — path to node and back, by walking node_table (see tree.h and
 * nodes.h). Every component is checked against its row's name or pattern
 * here, so a name no server could have never costs a request; existence is
 * left to the rows' functions, which ask the cache. Nothing here knows a
 * kind by name but the root, where every walk starts. */
#include "tree.h"

#include <errno.h>
#include <string.h>

#include "nodes.h"

#define PATH_MAX_BYTES 512

bool tree_is_dir(enum node_kind kind)
{
	return (unsigned)kind < NODE_KIND_COUNT &&
	       node_table[kind].type == S_IFDIR;
}

bool tree_is_symlink(enum node_kind kind)
{
	return (unsigned)kind < NODE_KIND_COUNT &&
	       node_table[kind].type == S_IFLNK;
}

const char *tree_activation_file_name(enum activation_file file)
{
	return render_file_name(file);
}

static bool is_under(const struct node_row *row, enum node_kind parent)
{
	return (row->parents & NODE_UNDER(parent)) != 0;
}

/* The child of parent named name: a row's fixed name wins over a pattern
 * (an action may be called "latest"; an activation id never is), and the
 * pattern stores the name in n. -ENOENT when no row has it. */
static int child_kind(enum node_kind parent, const char *name, struct node *n,
		      enum node_kind *out)
{
	int k;

	for (k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_row *row = &node_table[k];

		if (row->name && is_under(row, parent) &&
		    strcmp(row->name, name) == 0) {
			*out = (enum node_kind)k;
			return 0;
		}
	}
	for (k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_row *row = &node_table[k];

		if (row->pattern && is_under(row, parent) &&
		    row->pattern->parse(name, n) == 0) {
			*out = (enum node_kind)k;
			return 0;
		}
	}
	return -ENOENT;
}

int tree_parse(const char *path, struct node *out)
{
	char buf[PATH_MAX_BYTES];
	size_t len = path ? strlen(path) : 0;
	enum node_kind kind = NODE_ROOT;
	char *component, *slash;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!path || path[0] != '/' || len >= sizeof(buf))
		return -ENOENT;
	memcpy(buf, path, len + 1);
	/* "/" is the root; every other path is "/" component ("/" component)*,
	 * no component empty (FUSE never sends "//" or a trailing "/"). */
	for (component = buf + 1; rc == 0 && len > 1; component = slash + 1) {
		slash = strchr(component, '/');
		if (slash)
			*slash = '\0';
		rc = *component ? child_kind(kind, component, out, &kind)
				: -ENOENT;
		if (!slash)
			break;
	}
	if (rc) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->kind = kind;
	return 0;
}

/* ---- node to path ----------------------------------------------------- */

static int append(char *buf, size_t size, size_t *at, const char *component)
{
	size_t n = strlen(component);

	if (*at + 1 + n >= size)
		return -ENAMETOOLONG;
	buf[(*at)++] = '/';
	memcpy(buf + *at, component, n + 1);
	*at += n;
	return 0;
}

/* The path of a node of kind as n names it, written at *at. A row with
 * several possible parents takes the one whose names n carries (an
 * activations directory under an action or under a trigger). */
static int format_kind(const struct node *n, enum node_kind kind, char *buf,
		       size_t size, size_t *at)
{
	const struct node_row *row = &node_table[kind];
	const char *component;
	size_t start = *at;
	int parent, rc = -ENOENT;

	if (kind == NODE_ROOT)
		return 0;
	component = row->name ? row->name : row->pattern->format(n);
	if (!*component)
		return -ENOENT;
	for (parent = 0; parent < NODE_KIND_COUNT && rc == -ENOENT; parent++) {
		if (!is_under(row, (enum node_kind)parent))
			continue;
		*at = start;
		rc = format_kind(n, (enum node_kind)parent, buf, size, at);
	}
	return rc ? rc : append(buf, size, at, component);
}

int tree_format(const struct node *n, char *buf, size_t size)
{
	size_t at = 0;
	int rc;

	if (size < 2 || (unsigned)n->kind >= NODE_KIND_COUNT)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	rc = format_kind(n, n->kind, buf, size, &at);
	if (rc == 0 && at == 0)
		memcpy(buf, "/", 2);
	return rc;
}
