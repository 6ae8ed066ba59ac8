/* json — decoding of response bodies into ncf_types; the only cJSON user.
 *
 * Every decoder treats the body as hostile: truncation, trailing bytes,
 * "\u0000" escapes, a missing or mistyped "content" or list array, and, in
 * activation records, start/end/duration that are not exact non-negative
 * integers (number or decimal string) or logs that are not an array, give
 * -EBADMSG, never a crash or a wrong value. Fields nothing depends on
 * (a listing item's duration) read as NCF_UNKNOWN when bad; absent optional
 * fields read as NCF_UNKNOWN or empty. Names that are not valid path
 * components are skipped and counted. Decoders are pure (no I/O).
 *
 * Shapes the docs do not promise but nothing is lost by reading, in a
 * record: logs null is no lines; a log entry that is not a string is kept
 * as its compact JSON text; a result that is not an object is shown as the
 * JSON value it is; a response that is not an object is ignored (no
 * status, not a success, result null). */
#ifndef NCFFS_JSON_H
#define NCFFS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "ncf_types.h"

enum ncf_list_kind {
	NCF_LIST_PACKAGES,    /* content: [ {name}, ... ] */
	NCF_LIST_ACTIONS,     /* content.actions: [ {name}, ... ] */
	NCF_LIST_ACTIVATIONS, /* content.activations: [ {activationId}, ... ] */
	NCF_LIST_TRIGGERS,    /* content.triggers: [ {name}, ... ] */
};

/* Appends one page's items to listing (which must be zeroed or hold earlier
 * pages). *page_items gets the number of items the page held, valid or not;
 * *total_count gets content.totalCount, or NCF_UNKNOWN. When name_hashes is
 * not NULL it gets a malloc'd array (the caller's) of *page_items hashes,
 * one per item as sent, valid name or not: a walk that must stop on pages
 * it has seen before needs to recognise items it did not keep. */
int ncf_json_decode_page(const char *body, size_t len, enum ncf_list_kind kind,
			 struct ncf_listing *listing, size_t *page_items,
			 int64_t *total_count, uint64_t **name_hashes);

/* The hash name_hashes holds for an item whose name is the string name. */
uint64_t ncf_json_name_hash(const char *name);

/* Decodes an activation record body ({"content": {...}}). */
int ncf_json_decode_activation(const char *body, size_t len,
			       struct ncf_activation **out);

/* body's "content", pretty-printed with a trailing newline. */
int ncf_json_pretty_content(const char *body, size_t len,
			    struct ncf_blob **out);

/* OpenWhisk (/api/v1) bodies: the same values without "content".
 * A page is a bare array; pkg (required for NCF_LIST_ACTIONS) keeps only
 * the action rows whose namespace is "ns/pkg" ("ns" for pkg "-"); rows of
 * other packages count in *page_items but are neither kept nor skipped.
 * For NCF_LIST_ACTIONS the body may also be a package entity, whose
 * "actions" array is the list (pkg is not needed then).
 * An activation row's status comes from its statusCode. */
int ncf_json_decode_ow_page(const char *body, size_t len,
			    enum ncf_list_kind kind, const char *pkg,
			    struct ncf_listing *listing, size_t *page_items,
			    uint64_t **name_hashes);

/* {"activations": N} of a count=true list. */
int ncf_json_decode_ow_count(const char *body, size_t len, int64_t *count);

/* A record body; -ENOENT when its path annotation names another action
 * than path_tail ("pkg/action", or "action" outside any package; NULL: no
 * check). */
int ncf_json_decode_ow_activation(const char *body, size_t len,
				  const char *path_tail,
				  struct ncf_activation **out);

/* The whole body (an object), pretty-printed with a trailing newline. */
int ncf_json_pretty_body(const char *body, size_t len, struct ncf_blob **out);

/* Fills err->code and err->message from an error body (NCP's, or
 * OpenWhisk's {"error": text}, which leaves code empty); leaves them empty
 * when the body is not the documented shape. Never fails. */
void ncf_json_decode_error(const char *body, size_t len, struct ncf_error *err);

#endif
