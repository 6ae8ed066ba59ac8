/* json_text — see json_text.h. A scanner over JSON bytes: strings are
 * copied with their escapes, every other token verbatim. */
#include "json_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INDENT 2

/* Whitespace as cJSON reads it (any byte up to 0x20): the text got here by
 * passing cJSON's parser, and must be split where cJSON split it. */
static bool is_space(char c)
{
	return (unsigned char)c <= 0x20;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && is_space(*p))
		p++;
	return p;
}

/* p at an opening quote; returns just past the closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* A number or literal: everything up to a delimiter. */
static const char *skip_scalar(const char *p, const char *end)
{
	const char *start = p;

	while (p < end && !is_space(*p) && !strchr(",:]}[{\"", *p))
		p++;
	return p > start ? p : NULL;
}

/* Past one whole value (objects and arrays by bracket depth). */
static const char *skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	do {
		p = skip_space(p, end);
		if (p >= end)
			return NULL;
		if (*p == '"') {
			p = skip_string(p, end);
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return NULL;
			depth--;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (depth == 0)
				return NULL;
			p++;
		} else {
			p = skip_scalar(p, end);
		}
	} while (p && depth > 0);
	return p;
}

bool json_text_member(const char *text, size_t len, const char *key,
		      const char **value, size_t *value_len)
{
	const char *p = skip_space(text, text + len), *end = text + len;
	size_t key_len = strlen(key);

	if (p >= end || *p != '{')
		return false;
	for (p++;;) {
		const char *name, *name_end, *v;

		p = skip_space(p, end);
		if (p >= end || *p != '"')
			return false;
		name = p + 1;
		name_end = skip_string(p, end);
		if (!name_end)
			return false;
		p = skip_space(name_end, end);
		if (p >= end || *p != ':')
			return false;
		v = skip_space(p + 1, end);
		p = skip_value(v, end);
		if (!p)
			return false;
		if ((size_t)(name_end - 1 - name) == key_len &&
		    memcmp(name, key, key_len) == 0) {
			*value = v;
			*value_len = (size_t)(p - v);
			return true;
		}
		p = skip_space(p, end);
		if (p >= end || *p != ',')
			return false;
		p++;
	}
}

/* ---- re-indenting ------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, capacity, max;
	int rc;
};

static void put(struct out *o, const char *s, size_t n)
{
	char *grown;

	if (o->rc)
		return;
	if (n > o->max - o->len) {
		o->rc = -EFBIG;
		return;
	}
	if (o->len + n + 1 > o->capacity) {
		size_t capacity = o->capacity ? o->capacity : 256;

		while (capacity < o->len + n + 1)
			capacity *= 2;
		grown = realloc(o->buf, capacity);
		if (!grown) {
			o->rc = -ENOMEM;
			return;
		}
		o->buf = grown;
		o->capacity = capacity;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void newline(struct out *o, size_t depth)
{
	static const char spaces[] = "                                ";
	size_t n = depth * INDENT;

	put(o, "\n", 1);
	while (n > 0 && o->rc == 0) {
		size_t chunk = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		put(o, spaces, chunk);
		n -= chunk;
	}
}

/* One token at p: what it writes, and where the next token starts. */
static const char *emit_token(struct out *o, const char *p, const char *end,
			      size_t *depth)
{
	const char *next;

	switch (*p) {
	case '{':
	case '[':
		next = skip_space(p + 1, end);
		if (next < end && *next == (*p == '{' ? '}' : ']')) {
			put(o, p, 1);
			put(o, next, 1);
			return next + 1;
		}
		put(o, p, 1);
		newline(o, ++*depth);
		return p + 1;
	case '}':
	case ']':
		if (*depth == 0)
			return NULL;
		newline(o, --*depth);
		put(o, p, 1);
		return p + 1;
	case ',':
		put(o, ",", 1);
		newline(o, *depth);
		return p + 1;
	case ':':
		put(o, ": ", 2);
		return p + 1;
	case '"':
		next = skip_string(p, end);
		break;
	default:
		next = skip_scalar(p, end);
		break;
	}
	if (next)
		put(o, p, (size_t)(next - p));
	return next;
}

int json_text_pretty(const char *text, size_t len, size_t max_out, char **out,
		     size_t *out_len)
{
	struct out o = { .max = max_out };
	const char *p = text, *end = text + len;
	size_t depth = 0;

	*out = NULL;
	for (p = skip_space(p, end); p && p < end && o.rc == 0;
	     p = p ? skip_space(p, end) : NULL)
		p = emit_token(&o, p, end, &depth);
	if (o.rc == 0 && (!p || depth != 0 || o.len == 0))
		o.rc = -EBADMSG;
	put(&o, "\n", 1);
	if (o.rc) {
		free(o.buf);
		return o.rc;
	}
	*out = o.buf;
	*out_len = o.len;
	return 0;
}
