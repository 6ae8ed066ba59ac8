/* test_tree — path parsing of the mounted tree (fs/tree.h).
 *
 * Every level of the tree (packages and triggers) must parse to its node
 * with its names filled in;
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
	const char *trigger;           /* set: under_trigger and this name */
};

#define TRG "/triggers/t-1"

static const struct good_case good_cases[] = {
	{"/", NODE_ROOT, NULL, NULL, NULL, 0, NULL},
	{"/.ncffs-stats", NODE_STATS, NULL, NULL, NULL, 0, NULL},
	{"/packages", NODE_PACKAGES, NULL, NULL, NULL, 0, NULL},
	{"/packages/p1", NODE_PACKAGE, "p1", NULL, NULL, 0, NULL},
	{"/packages/-", NODE_PACKAGE, "-", NULL, NULL, 0, NULL},
	{"/packages/" N50, NODE_PACKAGE, N50, NULL, NULL, 0, NULL},
	{"/packages/p1/a1", NODE_ACTION, "p1", "a1", NULL, 0, NULL},
	{"/packages/-/a1", NODE_ACTION, "-", "a1", NULL, 0, NULL},
	{"/packages/p1/" N50, NODE_ACTION, "p1", N50, NULL, 0, NULL},
	/* Names that look like the tree's own names are still names. */
	{"/packages/activations/packages", NODE_ACTION, "activations", "packages", NULL, 0, NULL},
	{"/packages/triggers/latest", NODE_ACTION, "triggers", "latest", NULL, 0, NULL},
	{"/packages/p1/a1/action.json", NODE_ACTION_JSON, "p1", "a1", NULL, 0, NULL},
	{"/packages/p1/a1/activations.tsv", NODE_ACTIVATIONS_TSV, "p1", "a1", NULL, 0, NULL},
	{"/packages/p1/a1/failed", NODE_FAILED, "p1", "a1", NULL, 0, NULL},
	{"/packages/p1/a1/failed/" ID, NODE_FAILED_LINK, "p1", "a1", ID, 0, NULL},
	{"/packages/p1/a1/activations", NODE_ACTIVATIONS, "p1", "a1", NULL, 0, NULL},
	{"/packages/p1/a1/activations/latest", NODE_LATEST, "p1", "a1", NULL, 0, NULL},
	{ACT, NODE_ACTIVATION, "p1", "a1", ID, 0, NULL},
	{ACT "/activation.json", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_ACTIVATION_JSON, NULL},
	{ACT "/result.json", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_RESULT_JSON, NULL},
	{ACT "/logs.txt", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_LOGS_TXT, NULL},
	{ACT "/stdout.txt", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_STDOUT_TXT, NULL},
	{ACT "/stderr.txt", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_STDERR_TXT, NULL},
	{ACT "/duration", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_DURATION, NULL},
	{ACT "/status", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_STATUS, NULL},
	{ACT "/cold_start", NODE_ACTIVATION_FILE, "p1", "a1", ID, ACT_FILE_COLD_START, NULL},
	{"/packages/-/a_b-c/activations/" ID "/status", NODE_ACTIVATION_FILE, "-", "a_b-c", ID,
	 ACT_FILE_STATUS, NULL},
	{"/triggers", NODE_TRIGGERS, NULL, NULL, NULL, 0, NULL},
	{TRG, NODE_TRIGGER, NULL, NULL, NULL, 0, "t-1"},
	{"/triggers/" N50, NODE_TRIGGER, NULL, NULL, NULL, 0, N50},
	{TRG "/trigger.json", NODE_TRIGGER_JSON, NULL, NULL, NULL, 0, "t-1"},
	{TRG "/activations", NODE_ACTIVATIONS, NULL, NULL, NULL, 0, "t-1"},
	{TRG "/activations/latest", NODE_LATEST, NULL, NULL, NULL, 0, "t-1"},
	{TRG "/activations/" ID, NODE_ACTIVATION, NULL, NULL, ID, 0, "t-1"},
	{TRG "/activations/" ID "/result.json", NODE_ACTIVATION_FILE, NULL, NULL, ID,
	 ACT_FILE_RESULT_JSON, "t-1"},
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
		    (c->kind == NODE_ACTIVATION_FILE && n.file != c->file) ||
		    n.under_trigger != (c->trigger != NULL) ||
		    (c->trigger && strcmp(n.trigger, c->trigger) != 0)) {
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
	/* root: only what the header lists */
	"/package", "/Packages", "/packagesx", "/.Trash", "/.Trash-0", "/desktop.ini",
	"/.hidden", "/autorun.inf", "/.", "/..", "/activations", "/trigger",
	"/.ncffs-stats/x", "/.ncffs-stats/..", "/.ncffs-statsx", "/latest",
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
	"/packages/p1/a1/activations/Latest", "/packages/p1/a1/activations/latest/x",
	"/packages/p1/a1/activations/latest/" ID,
	/* the other children of an action */
	"/packages/p1/a1/activations.tsv/x", "/packages/p1/a1/trigger.json",
	"/packages/p1/a1/latest", "/packages/p1/a1/failed/latest",
	"/packages/p1/a1/failed/8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F",
	"/packages/p1/a1/failed/" ID "/status", "/packages/p1/a1/failed/..",
	"/packages/.ncffs-stats",
	/* triggers: names, and only trigger.json and activations below one */
	"/triggers/-", "/triggers/-t", "/triggers/..", "/triggers/.Trash",
	"/triggers/desktop.ini", "/triggers/" N50 "x", "/triggers/a b",
	TRG "/action.json", TRG "/failed", TRG "/activations.tsv",
	TRG "/trigger.json/x", TRG "/x", TRG "/activations/" ID "/x",
	TRG "/activations/8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F",
	"/triggers/t1/actions/a1",
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

enum node_type { DIR, FILE_, LINK };

static const struct {
	enum node_kind kind;
	enum node_type type;
} node_types[] = {
	{NODE_ROOT, DIR},          {NODE_STATS, FILE_},
	{NODE_PACKAGES, DIR},      {NODE_PACKAGE, DIR},
	{NODE_ACTION, DIR},        {NODE_ACTION_JSON, FILE_},
	{NODE_ACTIVATIONS_TSV, FILE_}, {NODE_FAILED, DIR},
	{NODE_FAILED_LINK, LINK},  {NODE_TRIGGERS, DIR},
	{NODE_TRIGGER, DIR},       {NODE_TRIGGER_JSON, FILE_},
	{NODE_ACTIVATIONS, DIR},   {NODE_LATEST, LINK},
	{NODE_ACTIVATION, DIR},    {NODE_ACTIVATION_FILE, FILE_},
};

/* Every kind is exactly one of directory, symlink or regular file. */
static void each_kind_is_a_directory_a_symlink_or_a_file(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof node_types / sizeof node_types[0]; i++) {
		bool dir = tree_is_dir(node_types[i].kind);
		bool link = tree_is_symlink(node_types[i].kind);

		if (dir != (node_types[i].type == DIR) ||
		    link != (node_types[i].type == LINK)) {
			print_error("kind %d: dir %d symlink %d\n",
				    (int)node_types[i].kind, dir, link);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Each activation file's name parses back to that file. */
static void activation_file_names_round_trip(void **state)
{
	static const char *const names[ACT_FILE_COUNT] = {
		[ACT_FILE_ACTIVATION_JSON] = "activation.json",
		[ACT_FILE_RESULT_JSON] = "result.json",
		[ACT_FILE_LOGS_TXT] = "logs.txt",
		[ACT_FILE_STDOUT_TXT] = "stdout.txt",
		[ACT_FILE_STDERR_TXT] = "stderr.txt",
		[ACT_FILE_DURATION] = "duration",
		[ACT_FILE_STATUS] = "status",
		[ACT_FILE_COLD_START] = "cold_start",
	};

	(void)state;
	for (int f = 0; f < ACT_FILE_COUNT; f++) {
		const char *name = tree_activation_file_name((enum activation_file)f);
		char path[256];
		struct node n;

		assert_non_null(names[f]); /* this table knows every file */
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
		cmocka_unit_test(each_kind_is_a_directory_a_symlink_or_a_file),
		cmocka_unit_test(activation_file_names_round_trip),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
