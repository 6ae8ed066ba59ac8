/* fuzz_json_misc — the small decoders of client/json.h on hostile bodies:
 * ncf_json_pretty_content and ncf_json_decode_error, both on the whole input.
 *
 * Invariants checked:
 *   - pretty_content gives 0 and a blob, or -EBADMSG and NULL; a blob is
 *     NUL-terminated, its len is its strlen, it ends with "\n", and it parses
 *     back (with cJSON, here only) to the body's "content";
 *   - decode_error always leaves code and message NUL-terminated inside
 *     their arrays, holding printable ASCII only (they go to log lines), and
 *     touches no other field of struct ncf_error;
 *   - the OpenWhisk decoders (page of each kind, count, record, whole body)
 *     give 0 or their documented errors; a page keeps no more items than it
 *     counted, each with a valid name, and a failed page leaves the listing
 *     empty; a record decoded under "p/a" has a valid id.
 * Out of scope: memory exhaustion. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client/json.h"
#include "client/names.h"
#include "tests/fuzz/fuzz_common.h"

#define ERROR_STATUS_MARK 4242L

/* The body's content and the blob, printed the same way, must agree. Printed
 * text rather than cJSON_Compare, which trips over duplicate keys. */
static void check_reparses(const struct ncf_blob *blob, const char *body,
                           size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	cJSON *again = cJSON_Parse(blob->data);
	char *want, *got;

	fuzz_require(root != NULL, "content decoded from a body cJSON refuses");
	fuzz_require(again != NULL, "pretty content does not parse back");
	want = cJSON_PrintUnformatted(
	    cJSON_GetObjectItemCaseSensitive(root, "content"));
	got = cJSON_PrintUnformatted(again);
	fuzz_require(want && got && strcmp(want, got) == 0,
	             "pretty content is not the body's content");
	cJSON_free(want);
	cJSON_free(got);
	cJSON_Delete(again);
	cJSON_Delete(root);
}

static void fuzz_pretty(const char *body, size_t len)
{
	static struct ncf_blob poison; /* pretty_content must overwrite *out */
	struct ncf_blob *blob = &poison;
	int rc = ncf_json_pretty_content(body, len, &blob);

	fuzz_require(rc == 0 || rc == -EBADMSG,
	             "pretty_content returned neither 0 nor -EBADMSG");
	fuzz_require((rc == 0) == (blob != NULL), "blob and result disagree");
	if (rc != 0)
		return;
	fuzz_require(blob->len > 0 && blob->data[blob->len] == '\0' &&
	                 strlen(blob->data) == blob->len,
	             "blob length is not its strlen");
	fuzz_require(blob->data[blob->len - 1] == '\n', "no trailing newline");
	check_reparses(blob, body, len);
	ncf_blob_free(blob);
}

static void check_printable(const char *field, size_t size, const char *what)
{
	const char *nul = memchr(field, '\0', size);
	const char *p;

	fuzz_require(nul != NULL, what);
	for (p = field; p < nul; p++)
		fuzz_require(*p >= 0x20 && *p < 0x7f, what);
}

static void fuzz_error(const char *body, size_t len)
{
	struct ncf_error err;

	/* Garbage with no NUL, so a field left unterminated shows. */
	memset(&err, 'X', sizeof(err));
	err.http_status = ERROR_STATUS_MARK;
	err.clock_skew = true;
	ncf_json_decode_error(body, len, &err);
	check_printable(err.code, sizeof(err.code),
	                "error code unterminated or not printable ASCII");
	check_printable(err.message, sizeof(err.message),
	                "error message unterminated or not printable ASCII");
	fuzz_require(err.http_status == ERROR_STATUS_MARK && err.clock_skew,
	             "decode_error changed a field it does not own");
}

static void fuzz_ow_page(const char *body, size_t len, enum ncf_list_kind kind)
{
	struct ncf_listing listing = { 0 };
	uint64_t *hashes = NULL;
	size_t items = 0, i;
	int rc = ncf_json_decode_ow_page(body, len, kind, "p", &listing, &items,
					 &hashes);

	fuzz_require(rc == 0 || rc == -EBADMSG, "ow page: unexpected result");
	fuzz_require(rc == 0 || (listing.count == 0 && !hashes),
		     "ow page: a failed page left items");
	fuzz_require(listing.count + listing.skipped <= items,
		     "ow page: kept more than it counted");
	for (i = 0; i < listing.count; i++)
		fuzz_require(kind == NCF_LIST_ACTIVATIONS
				     ? ncf_is_valid_activation_id(listing.items[i].name)
				     : ncf_is_valid_package_name(listing.items[i].name),
			     "ow page: an invalid name kept");
	for (i = 0; i < listing.count; i++)
		ncf_list_item_release(&listing.items[i]);
	free(listing.items);
	free(hashes);
}

static void fuzz_openwhisk(const char *body, size_t len)
{
	struct ncf_activation *act = NULL;
	struct ncf_blob *blob = NULL;
	int64_t count = 0;
	int rc;

	fuzz_ow_page(body, len, NCF_LIST_PACKAGES);
	fuzz_ow_page(body, len, NCF_LIST_ACTIONS);
	fuzz_ow_page(body, len, NCF_LIST_ACTIVATIONS);
	rc = ncf_json_decode_ow_count(body, len, &count);
	fuzz_require(rc == 0 ? count >= 0 : rc == -EBADMSG, "ow count");
	rc = ncf_json_decode_ow_activation(body, len, "p/a", &act);
	fuzz_require(rc == 0 || rc == -EBADMSG || rc == -ENOENT, "ow record");
	fuzz_require((rc == 0) == (act != NULL), "ow record and result disagree");
	if (act)
		fuzz_require(ncf_is_valid_activation_id(act->id), "ow record id");
	ncf_activation_free(act);
	rc = ncf_json_pretty_body(body, len, &blob);
	fuzz_require(rc == 0 || rc == -EBADMSG, "pretty body");
	fuzz_require((rc == 0) == (blob != NULL), "pretty body and result disagree");
	ncf_blob_free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_exact(data, size);

	fuzz_pretty(body, size);
	fuzz_error(body, size);
	fuzz_openwhisk(body, size);
	free(body);
	return 0;
}
