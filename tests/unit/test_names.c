/* test_names — the pure rule modules of client/: naming rules (names.h),
 * allowed endpoints (endpoint.h) and the error mapping (errmap.h).
 *
 * Expected values come from the API facts (shared/ncf-api.md) and the
 * headers; where the headers leave the exact errno open, the tests assert
 * the property the rest of ncffs relies on (e.g. a transient failure must
 * never look like -ENOENT, or stale-on-error in the cache would not fire). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "client/endpoint.h"
#include "client/errmap.h"
#include "client/names.h"

#define N50 "abcdefghijABCDEFGHIJ0123456789_-_-_-abcdefghijklmn"
#define N51 N50 "x"

/* ---- names ---------------------------------------------------------- */

struct name_case {
	const char *name;
	bool valid_name;
	bool valid_package;
};

static const struct name_case name_cases[] = {
	{"a", true, true},
	{"package003", true, true},
	{"Action_000", true, true},
	{"a-b", true, true},
	{"a-", true, true},
	{"_lead", true, true},
	{"9", true, true},
	{N50, true, true},
	{N51, false, false},
	{"-", false, true},  /* only as the "no package" package */
	{"--", false, false},
	{"-a", false, false},
	{"", false, false},
	{".", false, false},
	{"..", false, false},
	{".Trash", false, false},
	{"desktop.ini", false, false},
	{"a.b", false, false},
	{"a/b", false, false},
	{"/", false, false},
	{"a b", false, false},
	{" a", false, false},
	{"a\n", false, false},
	{"a\\b", false, false},
	{"a%20b", false, false},
	{"a?b", false, false},
	{"a&b", false, false},
	{"caf\xc3\xa9", false, false}, /* UTF-8 e-acute */
	{"a\x7f", false, false},
};

static void names_follow_the_api_rules(void **state)
{
	int failures = 0;

	(void)state;
	assert_int_equal(strlen(N50), 50);
	for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
		const struct name_case *c = &name_cases[i];
		bool name = ncf_is_valid_name(c->name);
		bool package = ncf_is_valid_package_name(c->name);

		if (name != c->valid_name || package != c->valid_package) {
			print_error("\"%s\": name %d package %d, want %d %d\n", c->name,
				    name, package, c->valid_name, c->valid_package);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

struct id_case {
	const char *id;
	bool valid;
};

static const struct id_case id_cases[] = {
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f", true},
	{"00000000000000000000000000000000", true},
	{"ffffffffffffffffffffffffffffffff", true},
	{"0123456789abcdef0123456789abcdef", true},
	{"8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F", false}, /* uppercase */
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5F", false}, /* one uppercase */
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5", false},  /* 31 */
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f0", false}, /* 33 */
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5g", false}, /* not hex */
	{"8c1d0e6f-3a2b-4c5d-9e7f-0a1b2c3d", false},
	{"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e/f", false},
	{" 8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5", false},
	{"", false},
	{"..", false},
};

static void activation_ids_are_32_lowercase_hex(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof id_cases / sizeof id_cases[0]; i++) {
		if (ncf_is_valid_activation_id(id_cases[i].id) != id_cases[i].valid) {
			print_error("\"%s\": want %d\n", id_cases[i].id, id_cases[i].valid);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* ---- endpoint ------------------------------------------------------- */

struct endpoint_case {
	const char *url;
	bool allowed;
};

static const struct endpoint_case endpoint_cases[] = {
	{"https://cloudfunctions.apigw.ntruss.com/api/v2", true},
	{"https://cloudfunctions.apigw.ntruss.com/ncf/api/v2", true},
	{"https://sg-cloudfunctions.apigw.ntruss.com/ncf/api/v2", true},
	{"https://example.com:8443/api/v2", true},
	{"http://127.0.0.1:8080/api/v2", true},
	{"http://127.0.0.1/api/v2", true},
	{"http://localhost:8080/api/v2", true},
	{"http://[::1]:8080/api/v2", true},
	{"http://cloudfunctions.apigw.ntruss.com/api/v2", false},
	{"http://example.com/api/v2", false},
	{"http://localhost.example.com/api/v2", false},
	{"http://127.0.0.1.example.com/api/v2", false},
	{"http://localhost@example.com/api/v2", false},  /* userinfo trick */
	{"http://127.0.0.1@example.com/api/v2", false},  /* userinfo trick */
	{"http://example.com/127.0.0.1/api/v2", false},
	{"http://example.com/?h=localhost", false},
	{"http://example.com#localhost", false},
	{"ftp://127.0.0.1/api/v2", false},
	{"file:///etc/passwd", false},
	{"cloudfunctions.apigw.ntruss.com/api/v2", false},
	{"", false},
};

static void endpoints_need_https_except_loopback(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof endpoint_cases / sizeof endpoint_cases[0]; i++) {
		const struct endpoint_case *c = &endpoint_cases[i];
		char why[128];
		bool allowed;

		memset(why, 0, sizeof why);
		allowed = ncf_endpoint_is_allowed(c->url, why, sizeof why);
		if (allowed != c->allowed ||
		    (!allowed && (strlen(why) == 0 || strchr(why, '\n')))) {
			print_error("\"%s\": allowed %d, want %d (why \"%s\")\n", c->url,
				    allowed, c->allowed, why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void endpoint_reason_fits_a_small_buffer(void **state)
{
	char why[8];

	(void)state;
	memset(why, 'Z', sizeof why);
	assert_false(ncf_endpoint_is_allowed("http://example.com/", why, sizeof why));
	assert_non_null(memchr(why, '\0', sizeof why));
	/* No reason buffer at all is allowed too. */
	assert_false(ncf_endpoint_is_allowed("http://example.com/", NULL, 0));
	assert_true(ncf_endpoint_is_allowed("https://example.com/", NULL, 0));
}

struct default_case {
	const char *region, *api, *url;
};

static const struct default_case default_cases[] = {
	{"kr", "v2", "https://cloudfunctions.apigw.ntruss.com/api/v2"},
	{"kr", "v2.1", "https://cloudfunctions.apigw.ntruss.com/ncf/api/v2"},
	{"sg", "v2.1", "https://sg-cloudfunctions.apigw.ntruss.com/ncf/api/v2"},
	{"jp", "v2.1", "https://jp-cloudfunctions.apigw.ntruss.com/ncf/api/v2"},
	{"us", "v2", NULL},
	{"", "v2", NULL},
	{"kr", "v3", NULL},
	{"kr", "", NULL},
};

static void default_endpoint_per_region_and_api(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof default_cases / sizeof default_cases[0]; i++) {
		const struct default_case *c = &default_cases[i];
		const char *got = ncf_endpoint_default(c->region, c->api);

		if (c->url == NULL) {
			assert_null(got);
		} else {
			assert_non_null(got);
			assert_string_equal(got, c->url);
			/* Every default is itself an allowed endpoint. */
			assert_true(ncf_endpoint_is_allowed(got, NULL, 0));
		}
	}
}

static void default_platform_per_api(void **state)
{
	(void)state;
	assert_string_equal(ncf_platform_default(NULL, "v2"), "classic");
	assert_string_equal(ncf_platform_default("kr", "v2"), "classic");
	assert_string_equal(ncf_platform_default(NULL, "v2.1"), "vpc");
	assert_string_equal(ncf_platform_default("kr", "v2.1"), "vpc");
	/* Singapore and Japan are VPC-only regions, whatever the API generation. */
	assert_string_equal(ncf_platform_default("sg", "v2"), "vpc");
	assert_string_equal(ncf_platform_default("jp", "v2"), "vpc");
	assert_string_equal(ncf_platform_default("jp", "v2.1"), "vpc");
}

/* ---- errmap --------------------------------------------------------- */

static void success_statuses_map_to_zero(void **state)
{
	(void)state;
	assert_int_equal(ncf_errno_from_http(200, ""), 0);
	assert_int_equal(ncf_errno_from_http(201, ""), 0);
	assert_int_equal(ncf_errno_from_http(204, ""), 0);
	assert_int_equal(ncf_errno_from_curl(CURLE_OK), 0);
}

static void not_found_maps_to_enoent(void **state)
{
	static const char *const codes[] = {"", "300", "80101", "80301", "80322"};

	(void)state;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		assert_int_equal(ncf_errno_from_http(404, codes[i]), -ENOENT);
}

static void auth_failures_map_to_permission_errors(void **state)
{
	static const struct {
		long status;
		const char *code;
	} cases[] = {{401, "200"}, {401, "210"}, {403, "80002"}, {401, ""}, {403, ""}};

	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int e = ncf_errno_from_http(cases[i].status, cases[i].code);

		if (e != -EACCES && e != -EPERM) {
			print_error("%ld \"%s\" -> %d\n", cases[i].status, cases[i].code, e);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Transient and server-side failures are errors, and never -ENOENT: the
 * cache keeps serving a stale value on anything but -ENOENT, and a
 * directory must not vanish because the gateway hiccupped. */
static void transient_failures_are_errors_but_not_enoent(void **state)
{
	static const struct {
		long status;
		const char *code;
	} cases[] = {{429, "400"}, {429, "410"}, {429, "420"}, {500, "900"},
		     {502, ""},    {503, "500"}, {504, "510"}, {413, "430"},
		     {400, "100"}, {418, ""}, {599, ""}};

	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int e = ncf_errno_from_http(cases[i].status, cases[i].code);

		if (e >= 0 || e == -ENOENT) {
			print_error("%ld \"%s\" -> %d\n", cases[i].status, cases[i].code, e);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A gateway timeout is a timeout to the user (README's fault table,
 * errmap.h), whatever errorCode the gateway adds. */
static void gateway_timeout_maps_to_etimedout(void **state)
{
	(void)state;
	assert_int_equal(ncf_errno_from_http(504, "510"), -ETIMEDOUT);
	assert_int_equal(ncf_errno_from_http(504, ""), -ETIMEDOUT);
}

static void curl_failures_map_to_errno(void **state)
{
	static const int failing[] = {
		CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
		CURLE_OPERATION_TIMEDOUT,   CURLE_SSL_CONNECT_ERROR,
		CURLE_PEER_FAILED_VERIFICATION, CURLE_RECV_ERROR,
		CURLE_SEND_ERROR,           CURLE_GOT_NOTHING,
		CURLE_WRITE_ERROR,          CURLE_OUT_OF_MEMORY,
		CURLE_URL_MALFORMAT,        9999,
	};

	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
		int e = ncf_errno_from_curl(failing[i]);

		if (e >= 0 || e == -ENOENT) {
			print_error("curl %d -> %d\n", failing[i], e);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	assert_int_equal(ncf_errno_from_curl(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
	assert_int_equal(ncf_errno_from_curl(CURLE_OUT_OF_MEMORY), -ENOMEM);
}

struct retry_case {
	long http_status;
	int curl_code;
	bool retryable;
};

static const struct retry_case retry_cases[] = {
	{429, CURLE_OK, true},
	{503, CURLE_OK, true},
	{504, CURLE_OK, true},
	{0, CURLE_OPERATION_TIMEDOUT, true},
	{0, CURLE_COULDNT_CONNECT, true},
	{200, CURLE_OK, false},
	{400, CURLE_OK, false},
	{401, CURLE_OK, false},
	{403, CURLE_OK, false},
	{404, CURLE_OK, false},
	{413, CURLE_OK, false},
	{0, CURLE_PEER_FAILED_VERIFICATION, false},
	{0, CURLE_URL_MALFORMAT, false},
	{0, CURLE_OUT_OF_MEMORY, false},
};

static void retries_only_what_can_succeed_next_time(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof retry_cases / sizeof retry_cases[0]; i++) {
		const struct retry_case *c = &retry_cases[i];

		if (ncf_is_retryable(c->http_status, c->curl_code) != c->retryable) {
			print_error("http %ld curl %d: want %d\n", c->http_status,
				    c->curl_code, c->retryable);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_follow_the_api_rules),
		cmocka_unit_test(activation_ids_are_32_lowercase_hex),
		cmocka_unit_test(endpoints_need_https_except_loopback),
		cmocka_unit_test(endpoint_reason_fits_a_small_buffer),
		cmocka_unit_test(default_endpoint_per_region_and_api),
		cmocka_unit_test(default_platform_per_api),
		cmocka_unit_test(success_statuses_map_to_zero),
		cmocka_unit_test(not_found_maps_to_enoent),
		cmocka_unit_test(auth_failures_map_to_permission_errors),
		cmocka_unit_test(transient_failures_are_errors_but_not_enoent),
		cmocka_unit_test(gateway_timeout_maps_to_etimedout),
		cmocka_unit_test(curl_failures_map_to_errno),
		cmocka_unit_test(retries_only_what_can_succeed_next_time),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
