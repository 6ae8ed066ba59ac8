/* fuzz_common — small helpers shared by the libFuzzer targets in this folder.
 *
 * A broken invariant aborts with a one-line reason, so libFuzzer records the
 * input as a crash exactly as it would a sanitizer report. Plain functions,
 * not macros: nothing here hides control flow. */
#ifndef NCFFS_FUZZ_COMMON_H
#define NCFFS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void fuzz_require(bool ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz invariant broken: %s\n", what);
	abort();
}

/* A heap copy of size bytes with a NUL after them; the caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A heap copy of exactly size bytes (no NUL after them), so a decoder that
 * reads past the length it was given trips ASan. The caller frees it. */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* Whether text appears in body as a complete JSON string: "text". Callers
 * use it only for bodies without a backslash, where a decoded string can
 * have come from nowhere else. */
static inline bool fuzz_has_quoted(const char *body, size_t len,
                                   const char *text)
{
	size_t n = strlen(text), i;

	for (i = 0; i + n + 2 <= len; i++) {
		if (body[i] == '"' && memcmp(body + i + 1, text, n) == 0 &&
		    body[i + n + 1] == '"')
			return true;
	}
	return false;
}

static inline bool fuzz_has_byte(const char *body, size_t len, char c)
{
	return len && memchr(body, c, len) != NULL;
}

#endif
