/* fuzz_json_page — ncf_json_decode_page on hostile listing bodies.
 *
 * Input: byte 0 picks the enum ncf_list_kind (mod LIST_KINDS), the rest is
 * the body.
 * The same body is decoded twice into one listing, as two pages of a paged
 * listing would be, so the append path (growth past the first capacity,
 * items after earlier items) is exercised too.
 *
 * Invariants checked, from client/json.h and client/ncf_types.h:
 *   - the result is 0 or -EBADMSG, and the same both times (decoding is pure);
 *   - a failed page appends nothing; a good one appends exactly its valid
 *     items: count + skipped == items seen, so count <= items seen;
 *   - every name is valid for its kind (client/names.h), and, in a body with
 *     no backslash, appears in it verbatim as a JSON string (a name that was
 *     cut short at a NUL would not);
 *   - status and duration only for activations (ncf_types.h); totalCount
 *     never for packages (their content is the bare array), and never
 *     negative but for NCF_UNKNOWN;
 *   - the second page repeats the first, and bytes matches what is held.
 * Out of scope: memory exhaustion (-ENOMEM is not provoked here). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/json.h"
#include "client/names.h"
#include "tests/fuzz/fuzz_common.h"

#define PAGE_ROUNDS 2
#define LIST_KINDS  (NCF_LIST_TRIGGERS + 1)

static bool is_valid_for_kind(const char *name, enum ncf_list_kind kind)
{
	switch (kind) {
	case NCF_LIST_PACKAGES:
		return ncf_is_valid_package_name(name);
	case NCF_LIST_ACTIONS:
	case NCF_LIST_TRIGGERS:
		return ncf_is_valid_name(name);
	case NCF_LIST_ACTIVATIONS:
		return ncf_is_valid_activation_id(name);
	}
	return false;
}

static size_t held_bytes(const struct ncf_listing *listing)
{
	size_t i, bytes = 0;

	for (i = 0; i < listing->count; i++) {
		const struct ncf_list_item *item = &listing->items[i];

		bytes += sizeof(*item) + strlen(item->name) + 1 +
		         (item->status ? strlen(item->status) + 1 : 0);
	}
	return bytes;
}

static void check_item(const struct ncf_list_item *item,
                       enum ncf_list_kind kind, const char *body, size_t len)
{
	fuzz_require(item->name != NULL, "item without a name");
	fuzz_require(is_valid_for_kind(item->name, kind),
	             "item name is not valid for its kind");
	if (!fuzz_has_byte(body, len, '\\'))
		fuzz_require(fuzz_has_quoted(body, len, item->name),
		             "item name is not a JSON string of the body (cut "
		             "at a NUL?)");
	fuzz_require(item->duration_ms == NCF_UNKNOWN || item->duration_ms >= 0,
	             "negative duration");
	if (kind != NCF_LIST_ACTIVATIONS) {
		fuzz_require(item->status == NULL,
		             "status set on an item that is not an activation");
		fuzz_require(
		    item->duration_ms == NCF_UNKNOWN,
		    "duration set on an item that is not an activation");
	}
}

static void check_listing(const struct ncf_listing *listing,
                          enum ncf_list_kind kind, const char *body, size_t len,
                          size_t seen)
{
	size_t i;

	fuzz_require(listing->count <= seen, "more items than the pages held");
	fuzz_require(listing->count + listing->skipped == seen,
	             "an item was neither kept nor counted as skipped");
	fuzz_require(listing->capacity >= listing->count,
	             "count over capacity");
	fuzz_require(listing->count == 0 || listing->items != NULL,
	             "items missing");
	fuzz_require(listing->bytes == held_bytes(listing),
	             "bytes does not match what the listing holds");
	for (i = 0; i < listing->count; i++)
		check_item(&listing->items[i], kind, body, len);
}

/* Both pages were the same body: the second half repeats the first. */
static void check_repeated(const struct ncf_listing *listing)
{
	size_t half = listing->count / 2, i;

	fuzz_require(listing->count % 2 == 0,
	             "two equal pages gave an odd count");
	for (i = 0; i < half; i++) {
		const struct ncf_list_item *a = &listing->items[i];
		const struct ncf_list_item *b = &listing->items[half + i];

		fuzz_require(strcmp(a->name, b->name) == 0,
		             "pages differ in name");
		fuzz_require(
		    (a->status == NULL) == (b->status == NULL) &&
		        (!a->status || strcmp(a->status, b->status) == 0),
		    "pages differ in status");
		fuzz_require(a->duration_ms == b->duration_ms,
		             "pages differ in duration");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ncf_listing *listing;
	enum ncf_list_kind kind;
	size_t page_items[PAGE_ROUNDS], seen = 0, len, before;
	int64_t total[PAGE_ROUNDS];
	int rc[PAGE_ROUNDS], round;
	char *body;

	if (size < 1)
		return 0;
	kind = (enum ncf_list_kind)(data[0] % LIST_KINDS);
	len = size - 1;
	body = fuzz_exact(data + 1, len);
	listing = calloc(1, sizeof(*listing));
	fuzz_require(listing != NULL, "calloc");
	for (round = 0; round < PAGE_ROUNDS; round++) {
		before = listing->count;
		rc[round] =
		    ncf_json_decode_page(body, len, kind, listing,
		                         &page_items[round], &total[round], NULL);
		fuzz_require(rc[round] == 0 || rc[round] == -EBADMSG,
		             "decode_page returned neither 0 nor -EBADMSG");
		fuzz_require(rc[round] == rc[0] &&
		                 page_items[round] == page_items[0] &&
		                 total[round] == total[0],
		             "the same page decoded differently twice");
		fuzz_require(total[round] == NCF_UNKNOWN || total[round] >= 0,
		             "negative totalCount");
		if (kind == NCF_LIST_PACKAGES)
			fuzz_require(total[round] == NCF_UNKNOWN,
			             "totalCount for a package listing");
		if (rc[round] != 0) {
			fuzz_require(listing->count == before,
			             "a rejected page appended items");
			continue;
		}
		seen += page_items[round];
		check_listing(listing, kind, body, len, seen);
	}
	if (rc[0] == 0)
		check_repeated(listing);
	ncf_listing_free(listing);
	free(body);
	return 0;
}
