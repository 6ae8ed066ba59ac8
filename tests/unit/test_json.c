/* test_json — the response-body decoders of client/json.h.
 *
 * Bodies are shaped as in shared/ncf-api.md. Every body is handed over in a
 * heap buffer of exactly its length with no NUL after it, so a decoder that
 * reads past len is caught by ASan or valgrind. Pretty-printed output is
 * checked by parsing it again with cJSON and comparing it with the input.
 *
 * Where the header leaves a choice open ("never a crash or a wrong value"),
 * the test accepts each documented outcome and rejects everything else;
 * those cases say so. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "client/json.h"

#define ID1 "8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5f"
#define ID2 "0123456789abcdef0123456789abcdef"

/* ---- helpers -------------------------------------------------------- */

/* A copy of len bytes with nothing after them. */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static int decode_page(const char *body, enum ncf_list_kind kind,
		       struct ncf_listing *listing, size_t *page_items,
		       int64_t *total)
{
	size_t len = strlen(body);
	char *b = exact(body, len);
	int rc = ncf_json_decode_page(b, len, kind, listing, page_items, total, NULL);

	free(b);
	return rc;
}

static int decode_activation(const char *body, struct ncf_activation **out)
{
	size_t len = strlen(body);
	char *b = exact(body, len);
	int rc;

	*out = NULL;
	rc = ncf_json_decode_activation(b, len, out);
	free(b);
	if (rc != 0)
		assert_null(*out);
	return rc;
}

static int pretty_content(const char *body, struct ncf_blob **out)
{
	size_t len = strlen(body);
	char *b = exact(body, len);
	int rc;

	*out = NULL;
	rc = ncf_json_pretty_content(b, len, out);
	free(b);
	return rc;
}

static struct ncf_listing *new_listing(void)
{
	struct ncf_listing *l = calloc(1, sizeof *l);

	assert_non_null(l);
	return l;
}

/* text is pretty output: ends in exactly one newline, len is its length,
 * and it parses back to something equal to expected_json. */
static void assert_pretty_equals(const char *text, size_t len,
				 const char *expected_json)
{
	cJSON *got, *want;

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len >= 2);
	assert_int_equal(text[len - 1], '\n');
	assert_int_not_equal(text[len - 2], '\n');
	got = cJSON_Parse(text);
	want = cJSON_Parse(expected_json);
	assert_non_null(got);
	assert_non_null(want);
	assert_true(cJSON_Compare(got, want, 1));
	cJSON_Delete(got);
	cJSON_Delete(want);
}

/* ---- listings ------------------------------------------------------- */

static void package_list_is_a_bare_array_in_content(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 99;
	int64_t total = 99;

	(void)state;
	assert_int_equal(decode_page("{\"content\":[{\"name\":\"p1\",\"description\":\"d\"},"
				     "{\"name\":\"package003\",\"description\":\"\"}]}",
				     NCF_LIST_PACKAGES, l, &items, &total),
			 0);
	assert_int_equal(items, 2);
	assert_int_equal(total, NCF_UNKNOWN);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->skipped, 0);
	assert_string_equal(l->items[0].name, "p1");
	assert_string_equal(l->items[1].name, "package003");
	assert_null(l->items[0].status);
	assert_int_equal(l->items[0].duration_ms, NCF_UNKNOWN);
	assert_true(l->bytes > 0);
	ncf_listing_free(l);
}

static void action_list_is_in_content_actions(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"actions\":["
				     "{\"name\":\"action000\",\"description\":\"\",\"type\":\"basic\",\"runtime\":\"nodejs:16\"},"
				     "{\"name\":\"web_1\",\"type\":\"web\"},"
				     "{\"name\":\"seq\",\"type\":\"sequence\"}]}}",
				     NCF_LIST_ACTIONS, l, &items, &total),
			 0);
	assert_int_equal(items, 3);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->items[0].name, "action000");
	assert_string_equal(l->items[1].name, "web_1");
	assert_string_equal(l->items[2].name, "seq");
	assert_int_equal(l->items[2].duration_ms, NCF_UNKNOWN);
	ncf_listing_free(l);
}

static void activation_list_has_ids_durations_status_and_total(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"activations\":["
				     "{\"activationId\":\"" ID1 "\",\"duration\":34,\"status\":\"success\"},"
				     "{\"activationId\":\"" ID2 "\",\"duration\":\"7\",\"status\":\"application error\"}],"
				     "\"totalCount\":57}}",
				     NCF_LIST_ACTIVATIONS, l, &items, &total),
			 0);
	assert_int_equal(items, 2);
	assert_int_equal(total, 57);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->items[0].name, ID1);
	assert_int_equal(l->items[0].duration_ms, 34);
	assert_non_null(l->items[0].status);
	assert_string_equal(l->items[0].status, "success");
	assert_string_equal(l->items[1].name, ID2);
	assert_int_equal(l->items[1].duration_ms, 7); /* string form accepted */
	assert_string_equal(l->items[1].status, "application error");
	ncf_listing_free(l);
}

static void trigger_list_is_in_content_triggers(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"triggers\":["
				     "{\"name\":\"t1\",\"type\":\"basic\"},"
				     "{\"name\":\"-\",\"type\":\"cron\"},"
				     "{\"name\":\"..\"},"
				     "{\"name\":\"cron_5m\",\"type\":\"cron\"}]}}",
				     NCF_LIST_TRIGGERS, l, &items, &total),
			 0);
	assert_int_equal(items, 4);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->skipped, 2);
	assert_string_equal(l->items[0].name, "t1");
	assert_string_equal(l->items[1].name, "cron_5m");
	ncf_listing_free(l);
}

/* "0x22" is not a decimal duration, even though strtod reads it as 34. */
static void list_duration_is_decimal_only(void **state)
{
	static const char *const durations[] = {"\"0x22\"", "\"0X22\"", "\"0x0022\""};
	char body[256];
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
		struct ncf_listing *l = new_listing();
		size_t items = 0;
		int64_t total = 0;
		int rc;

		snprintf(body, sizeof body, "{\"content\":{\"activations\":[{\"activationId\":\""
			 ID1 "\",\"duration\":%s}]}}", durations[i]);
		rc = decode_page(body, NCF_LIST_ACTIVATIONS, l, &items, &total);
		if (rc == 0 && l->count == 1 && l->items[0].duration_ms == 34) {
			print_error("duration %s read as 34\n", durations[i]);
			failures++;
		}
		ncf_listing_free(l);
	}
	assert_int_equal(failures, 0);
}

static void activation_without_duration_or_status(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"activations\":[{\"activationId\":\"" ID1 "\"}]}}",
				     NCF_LIST_ACTIVATIONS, l, &items, &total),
			 0);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->items[0].duration_ms, NCF_UNKNOWN);
	assert_null(l->items[0].status);
	assert_int_equal(total, NCF_UNKNOWN);
	ncf_listing_free(l);
}

static void pages_append_to_one_listing(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"actions\":[{\"name\":\"a\"},{\"name\":\"..\"}]}}",
				     NCF_LIST_ACTIONS, l, &items, &total), 0);
	assert_int_equal(items, 2);
	assert_int_equal(decode_page("{\"content\":{\"actions\":[{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"a/b\"}]}}",
				     NCF_LIST_ACTIONS, l, &items, &total), 0);
	assert_int_equal(items, 3);
	assert_int_equal(l->count, 3);
	assert_int_equal(l->skipped, 2);
	assert_string_equal(l->items[0].name, "a");
	assert_string_equal(l->items[1].name, "b");
	assert_string_equal(l->items[2].name, "c");
	ncf_listing_free(l);
}

static void empty_page_decodes_to_nothing(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 99;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"activations\":[],\"totalCount\":0}}",
				     NCF_LIST_ACTIVATIONS, l, &items, &total), 0);
	assert_int_equal(items, 0);
	assert_int_equal(total, 0);
	assert_int_equal(l->count, 0);
	ncf_listing_free(l);
}

#define N300                                                                   \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* Invalid names, in the JSON of a name field. */
static const char *const bad_name_values[] = {
	"\"..\"",        "\".\"",        "\"a/b\"",      "\"" N300 "\"",
	"\"bad name\"",  "\"-lead\"",    "\"\"",         "42",
	"null",          "true",         "{}",           "[\"a\"]",
	"\"..\\/x\"",    "\"caf\\u00e9\"", "\"a\\nb\"",
};
#define N_BAD (sizeof bad_name_values / sizeof bad_name_values[0])

static void build_list_body(char *buf, size_t size, const char *prefix,
			    const char *field, const char *suffix)
{
	size_t n = (size_t)snprintf(buf, size, "%s{\"%s\":\"good1\"}", prefix, field);

	for (size_t i = 0; i < N_BAD; i++)
		n += (size_t)snprintf(buf + n, size - n, ",{\"%s\":%s}", field,
				      bad_name_values[i]);
	/* and one item with no name field at all */
	n += (size_t)snprintf(buf + n, size - n, ",{\"description\":\"nameless\"}");
	n += (size_t)snprintf(buf + n, size - n, ",{\"%s\":\"good_2\"}%s", field, suffix);
	assert_true(n < size);
}

static void invalid_names_are_skipped_and_counted(void **state)
{
	static const struct {
		enum ncf_list_kind kind;
		const char *prefix, *suffix;
	} shapes[] = {
		{NCF_LIST_PACKAGES, "{\"content\":[", "]}"},
		{NCF_LIST_ACTIONS, "{\"content\":{\"actions\":[", "]}}"},
	};
	char body[4096];

	(void)state;
	assert_int_equal(strlen(N300), 300);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		struct ncf_listing *l = new_listing();
		size_t items = 0;
		int64_t total = 0;

		build_list_body(body, sizeof body, shapes[s].prefix, "name",
				shapes[s].suffix);
		assert_int_equal(decode_page(body, shapes[s].kind, l, &items, &total), 0);
		assert_int_equal(items, N_BAD + 3);
		assert_int_equal(l->count, 2);
		assert_int_equal(l->skipped, N_BAD + 1);
		assert_string_equal(l->items[0].name, "good1");
		assert_string_equal(l->items[1].name, "good_2");
		ncf_listing_free(l);
	}
}

static void dash_is_not_an_action_name(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"actions\":[{\"name\":\"-\"},{\"name\":\"a\"}]}}",
				     NCF_LIST_ACTIONS, l, &items, &total), 0);
	assert_int_equal(items, 2);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->skipped, 1);
	assert_string_equal(l->items[0].name, "a");
	ncf_listing_free(l);
}

/* cJSON would turn "a\u0000b" into the C string "a": the header refuses
 * any body with a "\u0000" escape. */
static void body_with_escaped_nul_is_refused(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;
	int rc;

	(void)state;
	rc = decode_page("{\"content\":[{\"name\":\"a\\u0000b\"},{\"name\":\"ok\"}]}",
			 NCF_LIST_PACKAGES, l, &items, &total);
	assert_int_equal(rc, -EBADMSG);
	for (size_t i = 0; i < l->count; i++)
		assert_string_not_equal(l->items[i].name, "a");
	ncf_listing_free(l);
}

static void invalid_activation_ids_are_skipped_and_counted(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":{\"activations\":["
				     "{\"activationId\":\"8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F\"},"
				     "{\"activationId\":\"8c1d0e6f3a2b4c5d9e7f0a1b2c3d4e5\"},"
				     "{\"activationId\":\"../../../../etc/passwd\"},"
				     "{\"activationId\":12345},"
				     "{\"activationId\":null},"
				     "{\"name\":\"" ID1 "\"},"
				     "{\"activationId\":\"" ID2 "\",\"duration\":3}],"
				     "\"totalCount\":7}}",
				     NCF_LIST_ACTIVATIONS, l, &items, &total), 0);
	assert_int_equal(items, 7);
	assert_int_equal(total, 7);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->skipped, 6);
	assert_string_equal(l->items[0].name, ID2);
	ncf_listing_free(l);
}

/* Array elements that are not objects at all: the header allows either
 * refusing the page or skipping the item, but never a listed name. */
static void non_object_items_never_become_names(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;
	int rc;

	(void)state;
	rc = decode_page("{\"content\":[\"p1\",7,null,[],{\"name\":\"ok\"}]}",
			 NCF_LIST_PACKAGES, l, &items, &total);
	if (rc == 0) {
		assert_int_equal(l->count, 1);
		assert_string_equal(l->items[0].name, "ok");
		assert_int_equal(l->skipped, 4);
	} else {
		assert_int_equal(rc, -EBADMSG);
	}
	ncf_listing_free(l);
}

struct bad_page_case {
	const char *what;
	enum ncf_list_kind kind;
	const char *body;
};

static const struct bad_page_case bad_page_cases[] = {
	{"empty body", NCF_LIST_PACKAGES, ""},
	{"whitespace", NCF_LIST_PACKAGES, "  \n"},
	{"HTML", NCF_LIST_PACKAGES, "<html><body>502 Bad Gateway</body></html>"},
	{"JSON null", NCF_LIST_PACKAGES, "null"},
	{"JSON number", NCF_LIST_PACKAGES, "42"},
	{"top-level array", NCF_LIST_PACKAGES, "[{\"name\":\"p1\"}]"},
	{"no content", NCF_LIST_PACKAGES, "{\"contents\":[]}"},
	{"content null", NCF_LIST_PACKAGES, "{\"content\":null}"},
	{"packages: content an object", NCF_LIST_PACKAGES, "{\"content\":{\"packages\":[]}}"},
	{"actions: content an array", NCF_LIST_ACTIONS, "{\"content\":[{\"name\":\"a\"}]}"},
	{"actions: no actions", NCF_LIST_ACTIONS, "{\"content\":{}}"},
	{"actions: actions an object", NCF_LIST_ACTIONS, "{\"content\":{\"actions\":{\"name\":\"a\"}}}"},
	{"actions: actions a string", NCF_LIST_ACTIONS, "{\"content\":{\"actions\":\"a\"}}"},
	{"activations: content an array", NCF_LIST_ACTIVATIONS, "{\"content\":[]}"},
	{"activations: activations null", NCF_LIST_ACTIVATIONS, "{\"content\":{\"activations\":null}}"},
	{"triggers: content an array", NCF_LIST_TRIGGERS, "{\"content\":[{\"name\":\"t1\"}]}"},
	{"triggers: triggers an object", NCF_LIST_TRIGGERS, "{\"content\":{\"triggers\":{}}}"},
	{"error body", NCF_LIST_PACKAGES, "{\"error\":{\"errorCode\":\"300\",\"message\":\"Not Found\"}}"},
	{"unterminated string", NCF_LIST_PACKAGES, "{\"content\":[{\"name\":\"p1}]}"},
	{"trailing garbage", NCF_LIST_PACKAGES, "{\"content\":[]} xyz"},
	{"two documents", NCF_LIST_PACKAGES, "{\"content\":[]}{\"content\":[]}"},
	{"invalid UTF-8 bytes", NCF_LIST_PACKAGES, "\xff\xfe{\"content\":[]}"},
	{"single quotes", NCF_LIST_PACKAGES, "{'content':[]}"},
};

static void malformed_pages_are_ebadmsg(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof bad_page_cases / sizeof bad_page_cases[0]; i++) {
		struct ncf_listing *l = new_listing();
		size_t items = 0;
		int64_t total = 0;
		int rc = decode_page(bad_page_cases[i].body, bad_page_cases[i].kind,
				     l, &items, &total);

		if (rc != -EBADMSG) {
			print_error("case %zu (%s): rc %d, want -EBADMSG\n", i,
				    bad_page_cases[i].what, rc);
			failures++;
		}
		ncf_listing_free(l);
	}
	assert_int_equal(failures, 0);
}

/* Every proper prefix of a good page is truncated JSON. */
static void truncated_pages_are_ebadmsg(void **state)
{
	static const char body[] = "{\"content\":{\"activations\":[{\"activationId\":\"" ID1
				   "\",\"duration\":34,\"status\":\"success\"}],\"totalCount\":1}}";

	(void)state;
	for (size_t n = 0; n < sizeof body - 1; n++) {
		struct ncf_listing *l = new_listing();
		size_t items = 0;
		int64_t total = 0;
		char *b = exact(body, n);

		assert_int_equal(ncf_json_decode_page(b, n, NCF_LIST_ACTIVATIONS, l,
						      &items, &total, NULL),
				 -EBADMSG);
		free(b);
		ncf_listing_free(l);
	}
}

/* A failed page leaves earlier pages usable and freeable. */
static void failed_page_keeps_earlier_pages(void **state)
{
	struct ncf_listing *l = new_listing();
	size_t items = 0;
	int64_t total = 0;

	(void)state;
	assert_int_equal(decode_page("{\"content\":[{\"name\":\"p1\"}]}",
				     NCF_LIST_PACKAGES, l, &items, &total), 0);
	assert_int_equal(decode_page("{\"content\":[{\"name\":\"p2\"},", NCF_LIST_PACKAGES,
				     l, &items, &total), -EBADMSG);
	assert_true(l->count >= 1);
	assert_string_equal(l->items[0].name, "p1");
	ncf_listing_free(l);
}

/* Numbers that do not fit are refused or reported unknown, never wrapped. */
static void huge_or_negative_total_count_is_never_a_wrong_value(void **state)
{
	static const char *const totals[] = {"1e300", "-5", "\"many\"", "18446744073709551617"};
	char body[256];

	(void)state;
	for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
		struct ncf_listing *l = new_listing();
		size_t items = 0;
		int64_t total = 12345;
		int rc;

		snprintf(body, sizeof body, "{\"content\":{\"activations\":[],\"totalCount\":%s}}",
			 totals[i]);
		rc = decode_page(body, NCF_LIST_ACTIVATIONS, l, &items, &total);
		if (rc == 0)
			assert_int_equal(total, NCF_UNKNOWN);
		else
			assert_int_equal(rc, -EBADMSG);
		ncf_listing_free(l);
	}
}

/* ---- activation records --------------------------------------------- */

#define RECORD_CONTENT                                                         \
	"{\"activationId\":\"" ID1 "\","                                        \
	"\"name\":\"package003/action000\",\"namespace\":\"ab12cd34\",\"subject\":\"ab12cd34\"," \
	"\"start\":1714111020170,\"end\":1714111020171,\"duration\":1,"           \
	"\"logs\":[\"2024-04-26T05:57:00.170Z stdout: hello\",\"2024-04-26T05:57:00.171Z stderr: warn\"]," \
	"\"response\":{\"status\":\"success\",\"success\":true,\"result\":{\"payload\":\"abc\"}}}"
#define RECORD_BODY "{\"content\":" RECORD_CONTENT "}"

static void activation_record_from_the_api_page(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation(RECORD_BODY, &a), 0);
	assert_non_null(a);
	assert_string_equal(a->id, ID1);
	assert_int_equal(a->start_ms, 1714111020170LL);
	assert_int_equal(a->end_ms, 1714111020171LL);
	assert_int_equal(a->duration_ms, 1);
	assert_int_equal(a->init_time_ms, NCF_UNKNOWN);
	assert_true(a->success);
	assert_non_null(a->status);
	assert_string_equal(a->status, "success");
	assert_int_equal(a->log_count, 2);
	assert_string_equal(a->logs[0], "2024-04-26T05:57:00.170Z stdout: hello");
	assert_string_equal(a->logs[1], "2024-04-26T05:57:00.171Z stderr: warn");
	assert_pretty_equals(a->result_json, a->result_len, "{\"payload\":\"abc\"}");
	assert_pretty_equals(a->record_json, a->record_len, RECORD_CONTENT);
	ncf_activation_free(a);
}

static void failed_activation_has_its_status_and_error_result(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID2 "\","
					   "\"start\":10,\"end\":0,\"duration\":0,\"logs\":[],"
					   "\"response\":{\"status\":\"application error\",\"success\":false,"
					   "\"result\":{\"error\":\"boom\"}}}}",
					   &a),
			 0);
	assert_false(a->success);
	assert_string_equal(a->status, "application error");
	assert_int_equal(a->start_ms, 10);
	assert_int_equal(a->end_ms, 0);
	assert_int_equal(a->duration_ms, 0);
	assert_int_equal(a->log_count, 0);
	assert_pretty_equals(a->result_json, a->result_len, "{\"error\":\"boom\"}");
	ncf_activation_free(a);
}

static void init_time_comes_from_annotations(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"annotations\":[{\"key\":\"kind\",\"value\":\"nodejs:16\"},"
					   "{\"key\":\"waitTime\",\"value\":5},"
					   "{\"key\":\"initTime\",\"value\":123}],"
					   "\"response\":{\"status\":\"success\",\"success\":true,\"result\":{}}}}",
					   &a),
			 0);
	assert_int_equal(a->init_time_ms, 123);
	assert_true(a->has_annotations);
	ncf_activation_free(a);
}

/* Annotations without initTime: a warm start (has_annotations, no init). */
static void annotations_without_init_time(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"annotations\":[{\"key\":\"waitTime\",\"value\":5}]}}",
					   &a),
			 0);
	assert_true(a->has_annotations);
	assert_int_equal(a->init_time_ms, NCF_UNKNOWN);
	ncf_activation_free(a);
}

static void missing_optional_fields_are_unknown_or_empty(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\"}}", &a), 0);
	assert_string_equal(a->id, ID1);
	assert_int_equal(a->start_ms, NCF_UNKNOWN);
	assert_int_equal(a->end_ms, NCF_UNKNOWN);
	assert_int_equal(a->duration_ms, NCF_UNKNOWN);
	assert_int_equal(a->init_time_ms, NCF_UNKNOWN);
	assert_false(a->has_annotations);
	assert_false(a->success);
	assert_non_null(a->status);
	assert_string_equal(a->status, "");
	assert_int_equal(a->log_count, 0);
	/* The files that show these are still well-formed JSON documents. */
	assert_non_null(a->record_json);
	assert_pretty_equals(a->record_json, a->record_len,
			     "{\"activationId\":\"" ID1 "\"}");
	assert_non_null(a->result_json);
	assert_int_equal(strlen(a->result_json), a->result_len);
	assert_int_equal(a->result_json[a->result_len - 1], '\n');
	ncf_activation_free(a);
}

enum expect {
	EXPECT_VALUE,     /* rc 0 and this value */
	EXPECT_EBADMSG,   /* the header's promise for huge numbers, wrong types */
	EXPECT_NOT_WRONG, /* -EBADMSG or NCF_UNKNOWN: the header says no more */
};

struct duration_case {
	const char *json;
	enum expect expect;
	int64_t duration; /* for EXPECT_VALUE */
};

static const struct duration_case duration_cases[] = {
	{"34", EXPECT_VALUE, 34},
	{"\"34\"", EXPECT_VALUE, 34},
	{"0", EXPECT_VALUE, 0},
	{"\"0\"", EXPECT_VALUE, 0},
	{"86400000", EXPECT_VALUE, 86400000},
	{"1e300", EXPECT_EBADMSG, 0},
	{"9.3e18", EXPECT_EBADMSG, 0},
	{"\"99999999999999999999\"", EXPECT_EBADMSG, 0},
	{"\"abc\"", EXPECT_EBADMSG, 0},
	{"\"34abc\"", EXPECT_EBADMSG, 0},
	{"\"\"", EXPECT_EBADMSG, 0},
	{"true", EXPECT_EBADMSG, 0},
	{"[34]", EXPECT_EBADMSG, 0},
	{"{\"ms\":34}", EXPECT_EBADMSG, 0},
	/* Not exact non-negative integers: the header says -EBADMSG. */
	{"-5", EXPECT_EBADMSG, 0},
	{"\"-5\"", EXPECT_EBADMSG, 0},
	{"\"0x22\"", EXPECT_EBADMSG, 0}, /* strtod would read 34 */
	{"\"34.5\"", EXPECT_EBADMSG, 0},
	{"34.5", EXPECT_EBADMSG, 0},
	/* null: absent or mistyped, the header does not say which. */
	{"null", EXPECT_NOT_WRONG, 0},
};

static bool duration_case_holds(const struct duration_case *c, int rc,
				const struct ncf_activation *a)
{
	switch (c->expect) {
	case EXPECT_VALUE:
		return rc == 0 && a->duration_ms == c->duration;
	case EXPECT_EBADMSG:
		return rc == -EBADMSG;
	case EXPECT_NOT_WRONG:
		return rc == -EBADMSG || (rc == 0 && a->duration_ms == NCF_UNKNOWN);
	}
	return false;
}

static int check_durations(bool strict)
{
	char body[256];
	int failures = 0;

	for (size_t i = 0; i < sizeof duration_cases / sizeof duration_cases[0]; i++) {
		const struct duration_case *c = &duration_cases[i];
		struct ncf_activation *a;
		int rc;

		if ((c->expect == EXPECT_EBADMSG) != strict)
			continue;
		snprintf(body, sizeof body, "{\"content\":{\"activationId\":\"" ID1
			 "\",\"duration\":%s}}", c->json);
		rc = decode_activation(body, &a);
		if (!duration_case_holds(c, rc, a)) {
			print_error("duration %s: rc %d, duration_ms %lld\n", c->json, rc,
				    a ? (long long)a->duration_ms : 0LL);
			failures++;
		}
		ncf_activation_free(a);
	}
	return failures;
}

/* Numbers and decimal strings are read; null is never misread. */
static void duration_is_a_number_or_decimal_string_never_a_wrong_value(void **state)
{
	(void)state;
	assert_int_equal(check_durations(false), 0);
}

/* The header: anything but an exact non-negative integer is -EBADMSG. */
static void duration_huge_or_wrong_type_is_ebadmsg(void **state)
{
	(void)state;
	assert_int_equal(check_durations(true), 0);
}

static void huge_timestamps_are_ebadmsg(void **state)
{
	static const char *const bodies[] = {
		"{\"content\":{\"activationId\":\"" ID1 "\",\"start\":1e300}}",
		"{\"content\":{\"activationId\":\"" ID1 "\",\"end\":-1e300}}",
		"{\"content\":{\"activationId\":\"" ID1 "\",\"end\":\"start\"}}",
	};

	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct ncf_activation *a;
		int rc = decode_activation(bodies[i], &a);

		if (rc != -EBADMSG) {
			print_error("%s: rc %d, start %lld end %lld\n", bodies[i], rc,
				    a ? (long long)a->start_ms : 0LL,
				    a ? (long long)a->end_ms : 0LL);
			failures++;
		}
		ncf_activation_free(a);
	}
	assert_int_equal(failures, 0);
}

struct bad_record_case {
	const char *what;
	const char *body;
};

static const struct bad_record_case bad_record_cases[] = {
	{"empty", ""},
	{"HTML", "<html>oops</html>"},
	{"no content", "{\"activationId\":\"" ID1 "\"}"},
	{"content an array", "{\"content\":[{\"activationId\":\"" ID1 "\"}]}"},
	{"content a string", "{\"content\":\"" ID1 "\"}"},
	{"content null", "{\"content\":null}"},
	{"id uppercase", "{\"content\":{\"activationId\":\"8C1D0E6F3A2B4C5D9E7F0A1B2C3D4E5F\"}}"},
	{"id a path", "{\"content\":{\"activationId\":\"../../../../../../etc/passwd\"}}"},
	{"id a number", "{\"content\":{\"activationId\":12}}"},
	{"logs an object", "{\"content\":{\"activationId\":\"" ID1 "\",\"logs\":{\"0\":\"a\"}}}"},
	{"logs a string", "{\"content\":{\"activationId\":\"" ID1 "\",\"logs\":\"a\"}}"},
	{"trailing garbage", RECORD_BODY "]"},
};

static void malformed_records_are_ebadmsg(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof bad_record_cases / sizeof bad_record_cases[0]; i++) {
		struct ncf_activation *a;
		int rc = decode_activation(bad_record_cases[i].body, &a);

		if (rc != -EBADMSG) {
			print_error("case %zu (%s): rc %d, want -EBADMSG\n", i,
				    bad_record_cases[i].what, rc);
			failures++;
		}
		ncf_activation_free(a);
	}
	assert_int_equal(failures, 0);
}

/* response is documented as an object; a string is ignored (json.h): the
 * record is read, with no status, not a success, and a null result. It is
 * not taken for its text: "success" here must not make a success. */
static void string_response_is_ignored(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1
					   "\",\"response\":\"success\"}}",
					   &a),
			 0);
	assert_string_equal(a->status, "");
	assert_false(a->success);
	assert_pretty_equals(a->result_json, a->result_len, "null");
	assert_non_null(strstr(a->record_json, "\"response\": \"success\""));
	ncf_activation_free(a);
}

static void truncated_records_are_ebadmsg(void **state)
{
	static const char body[] = RECORD_BODY;

	(void)state;
	for (size_t n = 0; n < sizeof body - 1; n++) {
		struct ncf_activation *a = NULL;
		char *b = exact(body, n);

		assert_int_equal(ncf_json_decode_activation(b, n, &a), -EBADMSG);
		free(b);
	}
}

/* logs null is no lines, as if absent (json.h); only a logs that is some
 * other non-array (a string) is refused. */
static void null_logs_are_no_lines(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1
					   "\",\"logs\":null}}",
					   &a),
			 0);
	assert_int_equal(a->log_count, 0);
	ncf_activation_free(a);
}

/* Log entries that are not strings are kept, in order, as their compact
 * JSON text (json.h): nothing the server sent is dropped from logs.txt. */
static void non_string_log_entries_are_shown_as_json(void **state)
{
	static const char *const lines[] = {"one", "1", "null", "{\"x\":1}",
					    "[\"y\"]", "two"};
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"logs\":[\"one\",1,null,{\"x\":1},[\"y\"],\"two\"]}}",
					   &a),
			 0);
	assert_int_equal(a->log_count, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(a->logs[i], lines[i]);
	ncf_activation_free(a);
}

/* result is documented as an object; any other JSON value is shown as the
 * value it is (json.h), here a string, in result.json. */
static void string_result_is_shown_as_json(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"response\":{\"status\":\"success\",\"success\":true,"
					   "\"result\":\"oops\"}}}",
					   &a),
			 0);
	assert_pretty_equals(a->result_json, a->result_len, "\"oops\"");
	assert_string_equal(a->status, "success");
	assert_true(a->success);
	ncf_activation_free(a);
}

/* A log line with an escaped NUL would be cut at the NUL: refused. An
 * escaped backslash before "u0000" is not an escaped NUL. */
static void record_with_escaped_nul_is_refused(void **state)
{
	struct ncf_activation *a;

	(void)state;
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"logs\":[\"secret\\u0000tail\"]}}", &a),
			 -EBADMSG);
	assert_int_equal(decode_activation("{\"content\":{\"activationId\":\"" ID1 "\","
					   "\"logs\":[\"C:\\\\u0000\"]}}", &a),
			 0);
	assert_int_equal(a->log_count, 1);
	assert_string_equal(a->logs[0], "C:\\u0000");
	ncf_activation_free(a);
}

/* ---- pretty content --------------------------------------------------- */

static void pretty_content_of_an_action(void **state)
{
	static const char content[] =
		"{\"name\":\"action000\",\"exec\":{\"kind\":\"nodejs:16\",\"main\":\"main\","
		"\"code\":\"function main(p){return p}\",\"binary\":false},"
		"\"limits\":{\"memory\":256,\"timeout\":60000},\"parameters\":{}}";
	struct ncf_blob *b;

	(void)state;
	assert_int_equal(pretty_content(
		"{\"content\":{\"name\":\"action000\",\"exec\":{\"kind\":\"nodejs:16\",\"main\":\"main\","
		"\"code\":\"function main(p){return p}\",\"binary\":false},"
		"\"limits\":{\"memory\":256,\"timeout\":60000},\"parameters\":{}}}", &b), 0);
	assert_non_null(b);
	assert_int_equal(b->data[b->len], '\0');
	assert_pretty_equals(b->data, b->len, content);
	/* Pretty means more than one line for a nested object. */
	assert_non_null(strchr(b->data, '\n'));
	assert_true(strchr(b->data, '\n') < b->data + b->len - 1);
	ncf_blob_free(b);
}

static void pretty_content_of_an_empty_object(void **state)
{
	struct ncf_blob *b;

	(void)state;
	assert_int_equal(pretty_content("{\"content\":{}}", &b), 0);
	assert_pretty_equals(b->data, b->len, "{}");
	ncf_blob_free(b);
}

static void pretty_content_refuses_bad_bodies(void **state)
{
	static const char *const bodies[] = {
		"", "garbage", "{\"contents\":{}}", "[1,2]", "{\"content\":{\"a\":", "{\"content\":{}} x",
	};
	static const char good[] = "{\"content\":{\"name\":\"a\",\"n\":[1,2,3]}}";

	(void)state;
	int failures = 0;

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct ncf_blob *b;
		int rc = pretty_content(bodies[i], &b);

		if (rc != -EBADMSG) {
			print_error("body \"%s\": rc %d, want -EBADMSG\n", bodies[i], rc);
			failures++;
		}
		ncf_blob_free(b);
	}
	for (size_t n = 0; n < sizeof good - 1; n++) {
		struct ncf_blob *b = NULL;
		char *p = exact(good, n);

		assert_int_equal(ncf_json_pretty_content(p, n, &b), -EBADMSG);
		free(p);
	}
	assert_int_equal(failures, 0);
}

/* ---- error bodies ----------------------------------------------------- */

struct error_case {
	const char *what;
	const char *body;
	const char *code;    /* expected err.code */
	const char *message; /* expected err.message; NULL: any non-empty */
};

static const struct error_case error_cases[] = {
	{"string code with details",
	 "{\"error\":{\"errorCode\":\"200\",\"message\":\"Authentication Failed\","
	 "\"details\":\"Invalid authentication information.\"}}",
	 "200", "Authentication Failed"},
	{"numeric code, no details",
	 "{\"error\":{\"errorCode\":80322,\"message\":\"ACTION_ACTIVATION_NOT_FOUND\"}}",
	 "80322", "ACTION_ACTIVATION_NOT_FOUND"},
	{"HTML message", "{\"error\":{\"errorCode\":\"510\",\"message\":"
	 "\"<html><body><h1>504 Gateway Time-out</h1></body></html>\"}}",
	 "510", NULL},
	{"not JSON", "<html><body>502 Bad Gateway</body></html>", "", ""},
	{"control characters in message",
	 "{\"error\":{\"errorCode\":\"900\",\"message\":\"line one\\nline two\\u001b[31m\"}}",
	 "900", NULL},
	{"empty", "", "", ""},
	{"no error member", "{\"content\":[]}", "", ""},
	/* OpenWhisk's shape: the message is the string, its code a
	 * transaction id that is not kept. */
	{"error a string (OpenWhisk)", "{\"error\":\"boom\",\"code\":\"4f1c\"}", "", "boom"},
	{"truncated", "{\"error\":{\"errorCode\":\"200\",\"mess", "", ""},
};

static bool error_case_holds(const struct error_case *c, const struct ncf_error *err)
{
	if (!memchr(err->code, '\0', sizeof err->code) ||
	    !memchr(err->message, '\0', sizeof err->message))
		return false;
	if (strcmp(err->code, c->code) != 0 || strchr(err->message, '\n'))
		return false;
	return c->message ? strcmp(err->message, c->message) == 0
			  : strlen(err->message) > 0;
}

static void error_bodies_fill_code_and_message(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const struct error_case *c = &error_cases[i];
		struct ncf_error err;
		size_t len = strlen(c->body);
		char *b = exact(c->body, len);

		memset(&err, 0, sizeof err);
		ncf_json_decode_error(b, len, &err);
		free(b);
		if (!error_case_holds(c, &err)) {
			err.code[sizeof err.code - 1] = '\0';
			err.message[sizeof err.message - 1] = '\0';
			print_error("case %zu (%s): code \"%s\" message \"%s\"\n", i,
				    c->what, err.code, err.message);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void long_error_fields_are_truncated_safely(void **state)
{
	char body[4096];
	char big[2001];
	struct ncf_error err;

	(void)state;
	memset(big, 'm', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(body, sizeof body,
		 "{\"error\":{\"errorCode\":\"%.100s\",\"message\":\"%s\"}}", big, big);
	memset(&err, 0x55, sizeof err);
	ncf_json_decode_error(body, strlen(body), &err);
	assert_non_null(memchr(err.code, '\0', sizeof err.code));
	assert_non_null(memchr(err.message, '\0', sizeof err.message));
	assert_true(strlen(err.message) > 0);
	for (size_t i = 0; i < strlen(err.message); i++)
		assert_true(err.message[i] == 'm' || err.message[i] == '.');
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(package_list_is_a_bare_array_in_content),
		cmocka_unit_test(action_list_is_in_content_actions),
		cmocka_unit_test(activation_list_has_ids_durations_status_and_total),
		cmocka_unit_test(trigger_list_is_in_content_triggers),
		cmocka_unit_test(list_duration_is_decimal_only),
		cmocka_unit_test(activation_without_duration_or_status),
		cmocka_unit_test(pages_append_to_one_listing),
		cmocka_unit_test(empty_page_decodes_to_nothing),
		cmocka_unit_test(invalid_names_are_skipped_and_counted),
		cmocka_unit_test(dash_is_not_an_action_name),
		cmocka_unit_test(body_with_escaped_nul_is_refused),
		cmocka_unit_test(invalid_activation_ids_are_skipped_and_counted),
		cmocka_unit_test(non_object_items_never_become_names),
		cmocka_unit_test(malformed_pages_are_ebadmsg),
		cmocka_unit_test(truncated_pages_are_ebadmsg),
		cmocka_unit_test(failed_page_keeps_earlier_pages),
		cmocka_unit_test(huge_or_negative_total_count_is_never_a_wrong_value),
		cmocka_unit_test(activation_record_from_the_api_page),
		cmocka_unit_test(failed_activation_has_its_status_and_error_result),
		cmocka_unit_test(init_time_comes_from_annotations),
		cmocka_unit_test(annotations_without_init_time),
		cmocka_unit_test(missing_optional_fields_are_unknown_or_empty),
		cmocka_unit_test(duration_is_a_number_or_decimal_string_never_a_wrong_value),
		cmocka_unit_test(duration_huge_or_wrong_type_is_ebadmsg),
		cmocka_unit_test(huge_timestamps_are_ebadmsg),
		cmocka_unit_test(malformed_records_are_ebadmsg),
		cmocka_unit_test(string_response_is_ignored),
		cmocka_unit_test(truncated_records_are_ebadmsg),
		cmocka_unit_test(null_logs_are_no_lines),
		cmocka_unit_test(non_string_log_entries_are_shown_as_json),
		cmocka_unit_test(string_result_is_shown_as_json),
		cmocka_unit_test(record_with_escaped_nul_is_refused),
		cmocka_unit_test(pretty_content_of_an_action),
		cmocka_unit_test(pretty_content_of_an_empty_object),
		cmocka_unit_test(pretty_content_refuses_bad_bodies),
		cmocka_unit_test(error_bodies_fill_code_and_message),
		cmocka_unit_test(long_error_fields_are_truncated_safely),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
