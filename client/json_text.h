/* json_text — JSON handled as text, for what cJSON cannot do faithfully:
 * cJSON keeps numbers as doubles, so printing a parsed value rewrites
 * 12345678901234567890 as 1.2345678901234567e+19 and 1e400 as null. These
 * functions work on the bytes the server sent, so numbers (and string
 * escapes) come out exactly as they went in.
 *
 * Both expect text that cJSON already accepted as valid JSON; on anything
 * else they fail cleanly (never read past len), and callers fall back to
 * cJSON's printer. Pure. */
#ifndef NCFFS_JSON_TEXT_H
#define NCFFS_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The raw value of member key of the object that text holds (first match;
 * keys are compared byte for byte, escapes not decoded). */
bool json_text_member(const char *text, size_t len, const char *key,
		      const char **value, size_t *value_len);

/* text (one JSON value) re-indented with two spaces and a trailing
 * newline, into a new NUL-terminated buffer the caller frees. Returns 0,
 * -EBADMSG, -EFBIG (over max_out bytes) or -ENOMEM. */
int json_text_pretty(const char *text, size_t len, size_t max_out, char **out,
		     size_t *out_len);

#endif
