/* test_openwhisk — the OpenWhisk backend (client/openwhisk.c, backend.h)
 * through the client's transport seam, its decoders (json.c), and its
 * credentials (wskprops.c). The fake server answers from a table of
 * targets, so each test states exactly which requests a call may make:
 *  - lists page with limit/skip and stop on a short page;
 *  - a package's actions are one GET of the package; "-" is the action
 *    list filtered to rows outside any package;
 *  - a full page 1 asks count=true once for the length; a short one not;
 *  - windows go out as since/upto;
 *  - a record of another action is not found under this one;
 *  - AUTH comes from the properties file or __OW_API_KEY, with the NCP
 *    file checks, and never without a key. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/creds.h"
#include "client/json.h"
#include "client/ncf_client.h"

#define MAX_SEEN 16

struct route {
	const char *target; /* exact request target */
	long status;
	const char *body;
};

struct server {
	const struct route *routes;
	char seen[MAX_SEEN][256];
	int requests;
};

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	struct server *s = ctx;
	const struct route *r;

	if (s->requests < MAX_SEEN)
		snprintf(s->seen[s->requests], sizeof(s->seen[0]), "%s", target);
	s->requests++;
	reply->status = 404;
	reply->body = "{\"error\":\"The requested resource does not exist.\",\"code\":\"x\"}";
	for (r = s->routes; r->target; r++) {
		if (strcmp(r->target, target) == 0) {
			reply->status = r->status;
			reply->body = r->body;
		}
	}
	reply->len = strlen(reply->body);
}

static struct ncf_client *client_for(struct server *s, size_t page_size)
{
	struct ncf_client_config cfg = {
		.backend = "openwhisk",
		.endpoint = "https://ow.example/api/v1",
		.secret_key = "uuid:key",
		.page_size = page_size,
		.retries = 0,
		.transport = transport,
		.transport_ctx = s,
	};
	struct ncf_client *c = ncf_client_new(&cfg);

	assert_non_null(c);
	return c;
}

#define ID(c) #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c
#define NS "/api/v1/namespaces/_"

static void lists_page_with_limit_and_skip_until_a_short_page(void **state)
{
	static const struct route routes[] = {
		{ NS "/packages?limit=2&skip=0", 200,
		  "[{\"name\":\"a\",\"namespace\":\"n\"},{\"name\":\"b\",\"namespace\":\"n\"}]" },
		{ NS "/packages?limit=2&skip=2", 200,
		  "[{\"name\":\"c\",\"namespace\":\"n\"}]" },
		{ NULL, 0, NULL },
	};
	struct server s = { .routes = routes };
	struct ncf_client *c = client_for(&s, 2);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->items[2].name, "c");
	assert_int_equal(s.requests, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void a_package_lists_its_actions_and_dash_filters_the_namespace(void **state)
{
	static const struct route routes[] = {
		{ NS "/packages/demo", 200,
		  "{\"name\":\"demo\",\"actions\":[{\"name\":\"hello\"},{\"name\":\"../x\"}]}" },
		{ NS "/actions?limit=100&skip=0", 200,
		  "[{\"name\":\"hello\",\"namespace\":\"n/demo\"},"
		  "{\"name\":\"alone\",\"namespace\":\"n\"}]" },
		{ NULL, 0, NULL },
	};
	struct server s = { .routes = routes };
	struct ncf_client *c = client_for(&s, 0);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_actions(c, "demo", &l, NULL), 0);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->items[0].name, "hello");
	assert_int_equal(l->skipped, 1);
	ncf_listing_free(l);
	assert_int_equal(ncf_list_actions(c, "-", &l, NULL), 0);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->items[0].name, "alone");
	assert_int_equal(l->skipped, 0);
	assert_int_equal(s.requests, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void a_full_first_page_asks_the_count_once(void **state)
{
	static const struct route routes[] = {
		{ NS "/activations?name=demo/hello&limit=2&skip=0", 200,
		  "[{\"activationId\":\"" ID(a) "\",\"statusCode\":0,\"duration\":5},"
		  "{\"activationId\":\"" ID(b) "\",\"statusCode\":2}]" },
		{ NS "/activations?name=demo/hello&count=true", 200, "{\"activations\":7}" },
		{ NS "/activations?name=alone&limit=2&skip=0", 200,
		  "[{\"activationId\":\"" ID(c) "\",\"statusCode\":1}]" },
		{ NULL, 0, NULL },
	};
	const struct ncf_list_query page1 = { 1, 2, NCF_UNKNOWN, NCF_UNKNOWN };
	struct server s = { .routes = routes };
	struct ncf_client *c = client_for(&s, 0);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_query_activations(c, "demo", "hello", &page1, &l, NULL), 0);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->total_count, 7);
	assert_string_equal(l->items[0].status, "success");
	assert_int_equal(l->items[0].duration_ms, 5);
	assert_string_equal(l->items[1].status, "action developer error");
	assert_int_equal(s.requests, 2);
	ncf_listing_free(l);
	/* short: its length is known without asking */
	assert_int_equal(ncf_query_activations(c, "-", "alone", &page1, &l, NULL), 0);
	assert_int_equal(l->total_count, 1);
	assert_string_equal(l->items[0].status, "application error");
	assert_int_equal(s.requests, 3);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void a_window_goes_out_as_since_and_upto(void **state)
{
	static const struct route routes[] = {
		{ NS "/activations?name=tick&limit=100&skip=0&since=1000&upto=2000", 200,
		  "[{\"activationId\":\"" ID(d) "\",\"statusCode\":0}]" },
		{ NULL, 0, NULL },
	};
	const struct ncf_list_query window = { 0, 0, 1000, 2000 };
	struct server s = { .routes = routes };
	struct ncf_client *c = client_for(&s, 0);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_query_trigger_activations(c, "tick", &window, &l, NULL), 0);
	assert_int_equal(l->count, 1);
	assert_int_equal(s.requests, 1);
	assert_string_equal(s.seen[0], routes[0].target);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void a_record_of_another_action_is_not_found_here(void **state)
{
	static const struct route routes[] = {
		{ NS "/activations/" ID(e), 200,
		  "{\"activationId\":\"" ID(e) "\",\"start\":10,\"duration\":3,"
		  "\"logs\":[\"l\"],\"response\":{\"status\":\"success\",\"success\":true,"
		  "\"result\":{}},\"annotations\":[{\"key\":\"initTime\",\"value\":42},"
		  "{\"key\":\"path\",\"value\":\"ns/demo/hello\"}]}" },
		{ NULL, 0, NULL },
	};
	struct server s = { .routes = routes };
	struct ncf_client *c = client_for(&s, 0);
	struct ncf_activation *a = NULL;

	(void)state;
	assert_int_equal(ncf_get_activation(c, "demo", "hello", ID(e), &a, NULL), 0);
	assert_int_equal(a->init_time_ms, 42);
	assert_int_equal(a->end_ms, NCF_UNKNOWN); /* left out */
	ncf_activation_free(a);
	assert_int_equal(ncf_get_activation(c, "demo", "other", ID(e), &a, NULL), -ENOENT);
	assert_null(a);
	assert_int_equal(ncf_get_activation(c, "-", "hello", ID(e), &a, NULL), -ENOENT);
	assert_int_equal(ncf_get_activation(c, "demo", "hello", ID(f), &a, NULL), -ENOENT);
	ncf_client_free(c);
}

static void bodies_that_are_not_the_shape_are_malformed(void **state)
{
	static const char *const bad[] = {
		"{\"content\":[]}", "[1", "", "[{\"name\":\"a\"}] x", "{\"actions\":{}}",
	};
	struct ncf_listing l = { 0 };
	size_t items;
	int64_t n;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ncf_json_decode_ow_page(bad[i], strlen(bad[i]),
							 NCF_LIST_ACTIONS, "p", &l,
							 &items, NULL), -EBADMSG);
	assert_int_equal(l.count, 0);
	assert_int_equal(ncf_json_decode_ow_count("{\"activations\":-1}", 18, &n), -EBADMSG);
	assert_int_equal(ncf_json_decode_ow_count("{\"activations\":12}", 18, &n), 0);
	assert_int_equal(n, 12);
}

/* ---- credentials ------------------------------------------------------- */

static char home[64];

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/ncffs-ow-XXXXXX");
	if (!mkdtemp(home))
		return -1;
	setenv("HOME", home, 1);
	unsetenv("WSK_CONFIG_FILE");
	unsetenv("__OW_API_KEY");
	unsetenv("__OW_API_HOST");
	unsetenv("__OW_NAMESPACE");
	unsetenv("NCLOUD_ACCESS_KEY_ID");
	unsetenv("NCLOUD_SECRET_ACCESS_KEY");
	unsetenv("NCLOUD_ACCESS_KEY");
	unsetenv("NCLOUD_SECRET_KEY");
	return 0;
}

static void rm(const char *name)
{
	char path[128];

	snprintf(path, sizeof path, "%s/%s", home, name);
	unlink(path);
}

static int teardown(void **state)
{
	(void)state;
	rm(".wskprops");
	rmdir(home);
	unsetenv("__OW_API_KEY");
	unsetenv("__OW_NAMESPACE");
	return 0;
}

static void write_props(const char *text, mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/.wskprops", home);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void wskprops_give_host_key_and_namespace(void **state)
{
	const struct ncf_creds_request req = { 0 };
	struct ncf_credentials cr;
	char why[256] = "";

	(void)state;
	write_props("# wsk\nAPIVERSION=v1\nAPIHOST = ow.example \nAUTH=u:k\n", 0600);
	/* no NCP credentials, a properties file: OpenWhisk */
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), 0);
	assert_string_equal(cr.backend, "openwhisk");
	assert_string_equal(cr.secret_key, "u:k");
	assert_string_equal(cr.endpoint, "https://ow.example/api/v1");
	assert_string_equal(cr.namespace_name, "_");
	/* the environment wins key by key */
	setenv("__OW_NAMESPACE", "team", 1);
	setenv("__OW_API_KEY", "v:w", 1);
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), 0);
	assert_string_equal(cr.secret_key, "v:w");
	assert_string_equal(cr.namespace_name, "team");
	ncf_creds_wipe(&cr);
}

static void wskprops_open_to_others_or_without_a_key_are_refused(void **state)
{
	const struct ncf_creds_request req = { .backend = "openwhisk",
					       .apihost = "http://127.0.0.1:9" };
	struct ncf_credentials cr;
	char why[256] = "";

	(void)state;
	write_props("AUTH=u:k\n", 0644);
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), -EACCES);
	assert_non_null(strstr(why, "chmod 600"));
	assert_null(strstr(why, "u:k"));
	write_props("APIHOST=h\n", 0600);
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), -ENOENT);
	assert_non_null(strstr(why, "AUTH"));
	write_props("AUTH=u:k\n", 0600);
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), 0);
	assert_string_equal(cr.endpoint, "http://127.0.0.1:9/api/v1");
	ncf_creds_wipe(&cr);
	/* plain http elsewhere than loopback is not allowed */
	write_props("AUTH=u:k\nAPIHOST=http://ow.example\n", 0600);
	assert_int_equal(ncf_creds_find(&(struct ncf_creds_request){ .backend = "openwhisk" },
					&cr, why, sizeof why), -EINVAL);
	assert_int_equal(ncf_creds_find(&(struct ncf_creds_request){ .backend = "x" },
					&cr, why, sizeof why), -EINVAL);
}

static void ncp_credentials_win_without_a_backend(void **state)
{
	const struct ncf_creds_request req = { 0 };
	struct ncf_credentials cr;
	char why[256] = "";

	(void)state;
	write_props("AUTH=u:k\nAPIHOST=h\n", 0600);
	setenv("NCLOUD_ACCESS_KEY_ID", "AK", 1);
	setenv("NCLOUD_SECRET_ACCESS_KEY", "SK", 1);
	assert_int_equal(ncf_creds_find(&req, &cr, why, sizeof why), 0);
	assert_string_equal(cr.backend, "ncp");
	assert_string_equal(cr.endpoint, "");
	unsetenv("NCLOUD_ACCESS_KEY_ID");
	unsetenv("NCLOUD_SECRET_ACCESS_KEY");
	ncf_creds_wipe(&cr);
}

static void a_long_value_names_its_line_never_its_text(void **state)
{
	char text[600];
	struct ncf_credentials cr = { 0 };
	char why[256] = "";

	(void)state;
	memset(text, 'k', sizeof text);
	memcpy(text, "\nAUTH=", 6);
	text[sizeof text - 1] = '\0';
	assert_int_equal(ncf_wskprops_parse(text, strlen(text), &cr, why, sizeof why), -EINVAL);
	assert_non_null(strstr(why, "line 2"));
	assert_null(strstr(why, "kkkk"));
	assert_int_equal(ncf_wskprops_parse("AUTH=a\0b\n", 9, &cr, why, sizeof why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_page_with_limit_and_skip_until_a_short_page),
		cmocka_unit_test(a_package_lists_its_actions_and_dash_filters_the_namespace),
		cmocka_unit_test(a_full_first_page_asks_the_count_once),
		cmocka_unit_test(a_window_goes_out_as_since_and_upto),
		cmocka_unit_test(a_record_of_another_action_is_not_found_here),
		cmocka_unit_test(bodies_that_are_not_the_shape_are_malformed),
		cmocka_unit_test_setup_teardown(wskprops_give_host_key_and_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(wskprops_open_to_others_or_without_a_key_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(ncp_credentials_win_without_a_backend, setup, teardown),
		cmocka_unit_test(a_long_value_names_its_line_never_its_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
