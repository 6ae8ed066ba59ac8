/* test_table — the tree's table itself (fs/nodes.h), walked row by row:
 * whatever rows are added, each must be reachable from the root by a path
 * that parses back to it, no two siblings may claim one name, and each row
 * must have the functions its type needs. test_tree pins today's paths;
 * this pins the rules every future row must keep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs/nodes.h"
#include "fs/tree.h"

static bool under(int child, int parent)
{
	return (node_table[child].parents & NODE_UNDER(parent)) != 0;
}

/* The component of row k in a sample path: its name or its example. */
static const char *sample(int k)
{
	const struct node_row *row = &node_table[k];

	return row->name ? row->name : row->pattern->example;
}

/* A path to row k through the first parent of each row, in out. Returns
 * the depth, or -1 when the chain does not reach the root. */
static int sample_path(int k, char *out, size_t size)
{
	char tail[TREE_PATH_MAX] = "";
	int depth = 0;

	while (k != NODE_ROOT && depth <= NODE_KIND_COUNT) {
		char joined[TREE_PATH_MAX];
		int p;

		snprintf(joined, sizeof joined, "/%s%s", sample(k), tail);
		memcpy(tail, joined, sizeof tail);
		for (p = 0; p < NODE_KIND_COUNT && !under(k, p); p++)
			;
		if (p == NODE_KIND_COUNT)
			return -1;
		k = p;
		depth++;
	}
	if (depth > NODE_KIND_COUNT)
		return -1; /* a cycle */
	snprintf(out, size, "%s", depth ? tail : "/");
	return depth;
}

static void the_root_is_row_zero_and_has_no_parent(void **state)
{
	(void)state;
	assert_int_equal(NODE_ROOT, 0);
	assert_int_equal(node_table[NODE_ROOT].parents, 0);
	assert_null(node_table[NODE_ROOT].name);
	assert_null(node_table[NODE_ROOT].pattern);
	assert_int_equal(node_table[NODE_ROOT].type, S_IFDIR);
	/* The parent set is a 32-bit mask of kinds. */
	assert_true(NODE_KIND_COUNT <= 32);
}

static void every_row_has_a_name_or_a_pattern_and_a_parent(void **state)
{
	int failures = 0;

	(void)state;
	for (int k = 1; k < NODE_KIND_COUNT; k++) {
		const struct node_row *row = &node_table[k];
		bool named = row->name && *row->name;
		bool patterned = row->pattern && row->pattern->parse &&
				 row->pattern->format && row->pattern->label &&
				 row->pattern->example;

		if (named == patterned || row->parents == 0 ||
		    (row->parents >> NODE_KIND_COUNT) != 0) {
			print_error("row %d: name %s, pattern %s, parents %#x\n", k,
				    row->name ? row->name : "-",
				    row->pattern ? row->pattern->label : "-",
				    (unsigned)row->parents);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* path parses to a node of kind k that formats back to path, byte for
 * byte, and parses again to the same node. */
static bool round_trips(const char *path, int k)
{
	char again[TREE_PATH_MAX] = "";
	struct node n, reparsed;
	bool ok = tree_parse(path, &n) == 0 && n.kind == (enum node_kind)k &&
		  tree_format(&n, again, sizeof again) == 0 &&
		  strcmp(again, path) == 0 && tree_parse(again, &reparsed) == 0 &&
		  memcmp(&n, &reparsed, sizeof n) == 0;

	if (!ok)
		print_error("row %d: \"%s\" came back as \"%s\"\n", k, path, again);
	return ok;
}

/* Each row, under each parent it may have, is reached by a path that
 * round-trips. */
static void every_row_is_reachable_and_round_trips(void **state)
{
	int failures = !round_trips("/", NODE_ROOT);

	(void)state;
	for (int k = 1; k < NODE_KIND_COUNT; k++) {
		for (int p = 0; p < NODE_KIND_COUNT; p++) {
			char parent[TREE_PATH_MAX], path[TREE_PATH_MAX * 2];

			if (!under(k, p))
				continue;
			if (sample_path(p, parent, sizeof parent) < 0) {
				print_error("row %d: parent %d is unreachable\n", k, p);
				failures++;
				continue;
			}
			snprintf(path, sizeof path, "%s/%s",
				 p == NODE_ROOT ? "" : parent, sample(k));
			failures += !round_trips(path, k);
		}
	}
	assert_int_equal(failures, 0);
}

/* Two siblings with one fixed name, or a fixed name a sibling pattern also
 * matches, would make a name mean two nodes (or hide a real one). */
static void siblings_never_claim_one_name(void **state)
{
	int failures = 0;

	(void)state;
	for (int a = 1; a < NODE_KIND_COUNT; a++) {
		for (int b = 1; b < NODE_KIND_COUNT; b++) {
			const struct node_row *x = &node_table[a], *y = &node_table[b];
			struct node scratch;

			if (a == b || !x->name || (x->parents & y->parents) == 0)
				continue;
			memset(&scratch, 0, sizeof scratch);
			if ((y->name && strcmp(x->name, y->name) == 0) ||
			    (y->pattern && y->pattern->parse(x->name, &scratch) == 0)) {
				print_error("rows %d and %d both claim \"%s\"\n", a, b, x->name);
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

/* A directory lists, a link has a target, a file opens; nothing has an
 * operation its type cannot use. */
static void every_row_has_the_functions_its_type_needs(void **state)
{
	int failures = 0;

	(void)state;
	for (int k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_row *r = &node_table[k];
		bool dir = r->type == S_IFDIR, link = r->type == S_IFLNK,
		     file = r->type == S_IFREG;
		bool ok = (dir || link || file) && (!link || r->target) &&
			  (!file || r->open) && (dir || !r->list) &&
			  (link || !r->target) && (file || (!r->open && !r->read &&
							    !r->release && !r->take)) &&
			  (!r->take || (r->stat && r->open)) &&
			  (!r->is_listed || r->name) &&
			  (file || !(r->flags & (NODE_DIRECT_IO | NODE_NEEDS_HANDLE)));

		if (!ok) {
			print_error("row %d (%s): functions do not fit its type\n", k,
				    r->name ? r->name : r->pattern ? r->pattern->label : "/");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A node missing a name its path needs has no path. */
static void a_node_without_its_names_has_no_path(void **state)
{
	struct node n;
	char path[TREE_PATH_MAX];

	(void)state;
	assert_int_equal(tree_parse("/packages/p1/a1/activations.tsv", &n), 0);
	n.action[0] = '\0';
	assert_int_equal(tree_format(&n, path, sizeof path), -ENOENT);
	assert_int_equal(tree_parse("/packages/p1/a1", &n), 0);
	assert_int_equal(tree_format(&n, path, 8), -ENAMETOOLONG);
	assert_int_equal(tree_format(&n, path, sizeof path), 0);
	assert_string_equal(path, "/packages/p1/a1");
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_root_is_row_zero_and_has_no_parent),
		cmocka_unit_test(every_row_has_a_name_or_a_pattern_and_a_parent),
		cmocka_unit_test(every_row_is_reachable_and_round_trips),
		cmocka_unit_test(siblings_never_claim_one_name),
		cmocka_unit_test(every_row_has_the_functions_its_type_needs),
		cmocka_unit_test(a_node_without_its_names_has_no_path),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
