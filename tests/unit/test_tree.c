/* test_tree — path parsing of the mounted tree (fs/tree.h).
 *
 * Every level of the tree must parse to its node with its names filled in;
 * every path that breaks a naming rule or the tree's shape must be -ENOENT,
 * so no request is ever made for it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs/tree.h"

#define ID "8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f"
#define N50 "abcdefghijABCDEFGHIJ0123456789_-_-_-abcdefghijklmn"
#define ACT "/packages/p1/a1/activations/" ID

struct good_case {
	const char *path;
	enum node_kind kind;
	const char *pkg, *action, *id; /* NULL: not checked */
	enum activation_file file;     /* NODE_ACTIVATION_FILE only */
};

static const struct good_case good_cases[] = {
	{"/", NODE_ROOT, NULL, NULL, NULL, 0},
	{"/packages", NODE_PACKAGES, NULL, NULL, NULL, 0},
	{"/packages/p1", NODE_PACKAGE, "p1", NULL, NULL, 0},
	{"/packages/-", NODE_PACKAGE, "-", NULL, NULL, 0},
	{"/packages/" N50, NODE_PACKAGE, N50, NULL, NULL, 0},
	{"/packages/p1/a1", NODE_ACTION, "p1", "a1", NULL, 0},
	{"/packages/-/a1", NODE_ACTION, "-", "a1", NULL, 0},
	{"/packages/p1/" N50, NODE_ACTION, "p1", N50, NULL, 0},
	/* Action names that look like the tree's own names are still names. */
	{"/packages/activations/packages", NODE_ACTION, "activations", "packages", NULL, 0},
	{"/packages/p1/a1/action.json", NODE_ACTION_JSON, "p1", "a1", NULL, 0},
	{"/packages/p1/a1/activations", NODE_ACTIVATIONS, "p1", "a1", NULL, 0},
	{ACT, NODE_ACTIVATION, "p1", "a1", ID, 0},
	{ACT "/activation.json", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_ACTIVATION_JSON},
	{ACT "/result.json", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_RESULT_JSON},
	{ACT "/logs.txt", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_LOGS_TXT},
	{ACT "/duration", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_DURATION},
	{ACT "/status", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_STATUS},
	{"/packages/-/a_b-c/activations/" ID "/status", NODE_ACTIVATION_FILE, "-", "a_b-c", ID,
	 ACT_FILE_STATUS},
};

static void every_level_parses_to_its_node(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
		const struct good_case *c = &good_cases[i];
		struct node n;
		int rc;

		memset(&n, 0x5a, sizeof n);
		rc = tree_parse(c->path, &n);
		if (rc != 0 || n.kind != c->kind ||
		    (c->pkg && strcmp(n.pkg, c->pkg) != 0) ||
		    (c->action && strcmp(n.action, c->action) != 0) ||
		    (c->id && strcmp(n.id, c->id) != 0) ||
		    (c->kind == NODE_ACTIVATION_FILE && n.file != c->file)) {
			print_error("\"%s\": rc %d kind %d (want %d)\n", c->path, rc,
				    (int)n.kind, (int)c->kind);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static const char *const bad_paths[] = {
	/* not absolute, empty, odd slashes */
	"", "packages", "//", "//packages", "/packages/", "/packages//p1",
	"/packages/p1/", "/packages/p1/a1/activations/",
	ACT "/",
	/* root: only "packages" */
	"/package", "/Packages", "/packagesx", "/.Trash", "/.Trash-0", "/desktop.ini",
	"/.hidden", "/autorun.inf", "/.", "/..", "/activations",
	/* package names */
	"/packages/.", "/packages/..", "/packages/.Trash", "/packages/desktop.ini",
	"/packages/" N50 "x", "/packages/-a", "/packages/--", "/packages/a b",
	"/packages/a%2Fb", "/packages/caf\xc3\xa9",
	/* action names: "-" is a package only */
	"/packages/p1/-", "/packages/p1/..", "/packages/p1/.Trash",
	"/packages/p1/desktop.ini", "/packages/p1/" N50 "x", "/packages/p1/-x",
	/* under an action */
	"/packages/p1/a1/foo", "/packages/p1/a1/action.json/x",
	"/packages/p1/a1/Action.json", "/packages/p1/a1/action.json.swp",
	"/packages/p1/a1/.Trash", "/packages/p1/a1/..",
	/* activation ids */
	"/packages/p1/a1/activations/8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F",
	"/packages/p1/a1/activations/8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5",
	"/packages/p1/a1/activations/8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f0",
	"/packages/p1/a1/activations/8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5g",
	"/packages/p1/a1/activations/..", "/packages/p1/a1/activations/.Trash",
	"/packages/p1/a1/activations/latest",
	/* activation files */
	ACT "/logs", ACT "/LOGS.TXT", ACT "/logs.txt~", ACT "/.logs.txt.swp",
	ACT "/result", ACT "/record.json", ACT "/..", ACT "/.",
	/* extra components */
	ACT "/logs.txt/x", ACT "/status/..", ACT "/duration/a/b",
	"/packages/p1/a1/activations/" ID "/" ID,
	"/packages/p1/a1/activations/" ID "/status/" ID,
};

static void bad_paths_are_enoent(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		struct node n;
		int rc = tree_parse(bad_paths[i], &n);

		if (rc != -ENOENT) {
			print_error("\"%s\": rc %d kind %d, want -ENOENT\n", bad_paths[i],
				    rc, rc == 0 ? (int)n.kind : -1);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A path longer than any valid one must not overflow the node's buffers. */
static void very_long_components_are_enoent(void **state)
{
	char path[8192];
	struct node n;

	(void)state;
	memset(path, 'a', sizeof path);
	memcpy(path, "/packages/", 10);
	path[sizeof path - 1] = '\0';
	assert_int_equal(tree_parse(path, &n), -ENOENT);
	snprintf(path, sizeof path, "/packages/p1/%0*d", 4000, 7);
	assert_int_equal(tree_parse(path, &n), -ENOENT);
}

static void directories_and_files(void **state)
{
	(void)state;
	assert_true(tree_is_dir(NODE_ROOT));
	assert_true(tree_is_dir(NODE_PACKAGES));
	assert_true(tree_is_dir(NODE_PACKAGE));
	assert_true(tree_is_dir(NODE_ACTION));
	assert_true(tree_is_dir(NODE_ACTIVATIONS));
	assert_true(tree_is_dir(NODE_ACTIVATION));
	assert_false(tree_is_dir(NODE_ACTION_JSON));
	assert_false(tree_is_dir(NODE_ACTIVATION_FILE));
}

/* Each activation file's name parses back to that file. */
static void activation_file_names_round_trip(void **state)
{
	static const char *const names[ACT_FILE_COUNT] = {
		[ACT_FILE_ACTIVATION_JSON] = "activation.json",
		[ACT_FILE_RESULT_JSON] = "result.json",
		[ACT_FILE_LOGS_TXT] = "logs.txt",
		[ACT_FILE_DURATION] = "duration",
		[ACT_FILE_STATUS] = "status",
	};

	(void)state;
	for (int f = 0; f < ACT_FILE_COUNT; f++) {
		const char *name = tree_activation_file_name((enum activation_file)f);
		char path[256];
		struct node n;

		assert_non_null(name);
		assert_string_equal(name, names[f]);
		snprintf(path, sizeof path, "%s/%s", ACT, name);
		assert_int_equal(tree_parse(path, &n), 0);
		assert_int_equal(n.kind, NODE_ACTIVATION_FILE);
		assert_int_equal(n.file, f);
	}
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_level_parses_to_its_node),
		cmocka_unit_test(bad_paths_are_enoent),
		cmocka_unit_test(very_long_components_are_enoent),
		cmocka_unit_test(directories_and_files),
		cmocka_unit_test(activation_file_names_round_trip),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
