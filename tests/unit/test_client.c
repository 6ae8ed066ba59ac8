/* test_client — how one request fails (client/client.c), through the
 * client's transport seam: each failure has its own errno and its own
 * message, and a request that cannot be made right is not made at all.
 *
 *  - a URL that does not fit is refused before any request (-ENAMETOOLONG),
 *    not sent cut short;
 *  - a body over max_body is -EFBIG, "larger than max_body";
 *  - a body there is no memory for is -ENOMEM, not -EFBIG. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/ncf_client.h"

/* The no-memory test asks for an allocation no allocator grants; under
 * AddressSanitizer that must come back as NULL, as it does from glibc. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

struct server {
	int requests;
	size_t body_len; /* what the reply claims to carry */
	char logs[4][512];
	int log_count;
};

static const char small_body[] = "{\"content\":{\"name\":\"a\"}}";

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	struct server *s = ctx;

	(void)target;
	s->requests++;
	reply->status = 200;
	reply->body = small_body;
	/* A length past the bytes is never read: the client refuses it (too
	 * big, or no memory) before copying. */
	reply->len = s->body_len ? s->body_len : strlen(small_body);
}

static void collect_log(void *ctx, int level, const char *message)
{
	struct server *s = ctx;

	(void)level;
	if (s->log_count < 4)
		snprintf(s->logs[s->log_count++], sizeof(s->logs[0]), "%s", message);
}

static struct ncf_client *client_for(struct server *s, const char *endpoint,
				     size_t max_body)
{
	struct ncf_client_config cfg = {
		.endpoint = endpoint,
		.platform = "classic",
		.access_key = "AK",
		.secret_key = "secret",
		.retries = 2,
		.max_body = max_body,
		.log = collect_log,
		.log_ctx = s,
		.transport = transport,
		.transport_ctx = s,
	};
	struct ncf_client *c = ncf_client_new(&cfg);

	assert_non_null(c);
	return c;
}

static void a_url_that_does_not_fit_is_never_requested(void **state)
{
	char endpoint[2048];
	struct server s = {0};
	struct ncf_client *c;
	struct ncf_error err;
	struct ncf_blob *blob = NULL;

	(void)state;
	/* A host this long leaves no room for the target after it. */
	snprintf(endpoint, sizeof endpoint, "https://%01900d.example/api/v2", 0);
	c = client_for(&s, endpoint, 0);
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, &err), -ENAMETOOLONG);
	assert_null(blob);
	assert_int_equal(s.requests, 0);
	assert_non_null(strstr(err.message, "URL longer than"));
	assert_int_equal(s.log_count, 1);
	assert_non_null(strstr(s.logs[0], "URL longer than"));
	ncf_client_free(c);
}

static void a_url_that_fits_is_requested(void **state)
{
	struct server s = {0};
	struct ncf_client *c = client_for(&s, "https://h.example/api/v2", 0);
	struct ncf_blob *blob = NULL;

	(void)state;
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, NULL), 0);
	assert_int_equal(s.requests, 1);
	ncf_blob_free(blob);
	ncf_client_free(c);
}

static void a_body_over_max_body_is_efbig(void **state)
{
	struct server s = {.body_len = 4096};
	struct ncf_client *c = client_for(&s, "https://h.example/api/v2", 1024);
	struct ncf_blob *blob = NULL;
	struct ncf_error err;

	(void)state;
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, &err), -EFBIG);
	assert_non_null(strstr(err.message, "larger than max_body"));
	assert_int_equal(s.requests, 1); /* not retried */
	ncf_client_free(c);
}

static void a_body_there_is_no_memory_for_is_enomem(void **state)
{
	/* Within max_body, but no realloc can grant it. */
	struct server s = {.body_len = (size_t)1 << 62};
	struct ncf_client *c = client_for(&s, "https://h.example/api/v2", SIZE_MAX);
	struct ncf_blob *blob = NULL;
	struct ncf_error err;

	(void)state;
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, &err), -ENOMEM);
	assert_null(strstr(err.message, "max_body"));
	ncf_client_free(c);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_url_that_does_not_fit_is_never_requested),
		cmocka_unit_test(a_url_that_fits_is_requested),
		cmocka_unit_test(a_body_over_max_body_is_efbig),
		cmocka_unit_test(a_body_there_is_no_memory_for_is_enomem),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
