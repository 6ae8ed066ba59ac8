/* test_sign — the API Gateway v2 signer against known answers.
 *
 * Every expected signature below was computed outside this project, with
 *   printf '%s %s\n%s\n%s' METHOD TARGET TS KEY |
 *       openssl dgst -sha256 -hmac SECRET -binary | base64
 * and cross-checked with Python's hmac module. Nothing here was copied from
 * the implementation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/sign.h"

/* Secrets long enough to exercise HMAC's key handling: a 64-byte key is one
 * SHA-256 block (used as is), a longer one is hashed first. */
#define K50 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
#define K200 K50 K50 K50 K50
#define K255 K200 K50 "kkkkk"
#define K64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct sign_case {
	const char *what;
	const char *method, *target, *timestamp, *access_key, *secret_key;
	const char *expected;
};

static const struct sign_case sign_cases[] = {
	{"worked example from the API page", "GET",
	 "/api/v2/packages?platform=classic", "1700000000000", "AK", "secret",
	 "zqF5sdN7LRFo2T2wEHfEUM2QJTDuAVdgGxiYIEmkVKM="},
	{"another method, v2.1 base path, several query parameters", "POST",
	 "/ncf/api/v2/packages/p1/actions/a1/activations?platform=vpc&pageNo=2&pageSize=100",
	 "1714111020170", "ncp_iam_BPAMKR1aBcDeFgHiJkLm",
	 "Zx9vQ2wE8rT1yU4iO7pA3sD6fG0hJ5kL2zX8cV1b",
	 "TszrgnV+yu6RRlrnKOecLXTCElhleGpRFNSH+pH0hsw="},
	{"percent-encoding is signed as sent, not decoded", "GET",
	 "/api/v2/packages/my%20pkg/actions/a%2Fb?platform=classic&start=2024-04-26T05%3A57%3A00",
	 "1", "AK2", "s", "Wq5wO6MzyMCmtc0+u1W9hEASh6l9g9v/sF0jg/Bqbtc="},
	{"200-byte secret (longer than an HMAC block)", "GET",
	 "/api/v2/packages/-/actions?platform=classic", "1700000000001", "AK",
	 K200, "3lZT/X+RWEsZg7mLmizyPGFuDWLMB1pZq0xtZfntUo0="},
	{"255-byte secret (the longest creds can hold)", "GET",
	 "/api/v2/packages?platform=classic", "1700000000000", "AK", K255,
	 "aSKqaY2+rBs0ZfH2tRzwfTRv2H+M2gQnULrx2beGAZI="},
	{"64-byte secret (exactly one HMAC block)", "DELETE",
	 "/api/v2/triggers/t1/activations/8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f?platform=vpc",
	 "9999999999999", "AK", K64,
	 "Ot4uaggmtjexN1Sczs5mQP438jV6M9oCMIvD3EZwQiw="},
	{"shortest target", "GET", "/", "0", "AK", "x",
	 "MSMr3SNi27T7YKAQ3chcZA74wmxtWeU65xbFqiZPuaQ="},
};

static void signs_known_answers(void **state)
{
	int failures = 0;

	(void)state;
	/* The table's long secrets are what their descriptions say. */
	assert_int_equal(strlen(K200), 200);
	assert_int_equal(strlen(K255), 255);
	assert_int_equal(strlen(K64), 64);
	for (size_t i = 0; i < sizeof sign_cases / sizeof sign_cases[0]; i++) {
		const struct sign_case *c = &sign_cases[i];
		char out[NCF_SIGNATURE_SIZE];
		int rc;

		memset(out, 'X', sizeof out);
		out[sizeof out - 1] = '\0';
		rc = ncf_sign(c->method, c->target, c->timestamp, c->access_key,
			      c->secret_key, out);
		if (rc != 0 || strcmp(out, c->expected) != 0) {
			print_error("case %zu (%s): rc %d \"%s\", want \"%s\"\n", i,
				    c->what, rc, out, c->expected);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void signature_is_44_base64_chars_and_nul(void **state)
{
	char out[NCF_SIGNATURE_SIZE];

	(void)state;
	memset(out, 'X', sizeof out);
	assert_int_equal(ncf_sign("GET", "/a", "1", "k", "s", out), 0);
	assert_int_equal(NCF_SIGNATURE_SIZE, 45);
	assert_int_equal(out[44], '\0');
	assert_int_equal(strlen(out), 44);
	assert_int_equal(out[43], '='); /* 32 bytes -> one padding char */
	for (int i = 0; i < 43; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/",
				       out[i]));
}

/* A change in any one input changes the signature: each line of the string
 * to sign really is part of it. */
static void every_input_changes_the_signature(void **state)
{
	const char *base[5] = {"GET", "/api/v2/packages?platform=classic",
			       "1700000000000", "AK", "secret"};
	const char *other[5] = {"PUT", "/api/v2/packages?platform=vpc",
				"1700000000001", "AL", "secreT"};
	char ref[NCF_SIGNATURE_SIZE], out[NCF_SIGNATURE_SIZE];

	(void)state;
	assert_int_equal(ncf_sign(base[0], base[1], base[2], base[3], base[4], ref), 0);
	for (int i = 0; i < 5; i++) {
		const char *v[5];

		memcpy(v, base, sizeof v);
		v[i] = other[i];
		assert_int_equal(ncf_sign(v[0], v[1], v[2], v[3], v[4], out), 0);
		assert_string_not_equal(out, ref);
	}
}

static void null_inputs_are_einval(void **state)
{
	char out[NCF_SIGNATURE_SIZE];

	(void)state;
	assert_int_equal(ncf_sign(NULL, "/a", "1", "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", NULL, "1", "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", NULL, "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", "1", NULL, "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", "1", "k", NULL, out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", "1", "k", "s", NULL), -EINVAL);
}

/* One mebibyte is far beyond any request target, key or timestamp ncffs
 * can build (names are at most 50 characters, keys at most 255). */
#define HUGE_LEN (1024 * 1024)

static void oversized_inputs_are_einval(void **state)
{
	char out[NCF_SIGNATURE_SIZE];
	char *huge = malloc(HUGE_LEN + 1);

	(void)state;
	assert_non_null(huge);
	memset(huge, 'a', HUGE_LEN);
	huge[0] = '/';
	huge[HUGE_LEN] = '\0';
	assert_int_equal(ncf_sign(huge, "/a", "1", "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", huge, "1", "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", huge, "k", "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", "1", huge, "s", out), -EINVAL);
	assert_int_equal(ncf_sign("GET", "/a", "1", "k", huge, out), -EINVAL);
	free(huge);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signs_known_answers),
		cmocka_unit_test(signature_is_44_base64_chars_and_nul),
		cmocka_unit_test(every_input_changes_the_signature),
		cmocka_unit_test(null_inputs_are_einval),
		cmocka_unit_test(oversized_inputs_are_einval),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
