/* persist — what fs/ keeps in the persistent tier (cache/tier.h), and the
 * bytes it keeps it as.
 *
 * Only what never changes goes there: a readable activation record (the
 * API's record, not its rendering, so a newer ncffs renders it its own
 * way) and small per-action facts made "forever" (the learnt list order,
 * key prefix 'O'). Listings never: they change.
 *
 * Invariants:
 *  - The encoding starts with a version; decoding anything else (an older
 *    format, or bytes that do not parse) gives NULL, which callers treat
 *    as a miss: the record is fetched again and written anew.
 *  - Decoding checks every length against the bytes it was given. */
#ifndef NCFFS_PERSIST_H
#define NCFFS_PERSIST_H

#include <stdbool.h>
#include <stddef.h>

#include "../client/ncf_types.h"

/* A new buffer holding record (the caller frees it), or NULL on no memory. */
char *persist_encode_activation(const struct ncf_activation *record,
				size_t *len);

/* The record that data holds (the caller frees it with
 * ncf_activation_free), or NULL when data is not one. */
struct ncf_activation *persist_decode_activation(const void *data, size_t len);

/* Whether a value made "forever" under key may be kept on disk as is (a
 * blob): the keys of small per-action facts. */
bool persist_is_kept_blob(const char *key);

#endif
