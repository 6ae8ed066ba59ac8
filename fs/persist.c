/* persist — see persist.h. The record as a flat byte string: a version,
 * the id, the numbers, then each text as a 64-bit length and its bytes
 * (host byte order: a disk cache belongs to one machine). */
#include "persist.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PERSIST_VERSION 0x6e637231u /* "ncr1" */
#define LOGS_MAX (1u << 24)          /* more log entries than any record has */

/* The key prefixes of per-action facts that are kept as blobs. */
static const char kept_blob_prefixes[] = "O";

bool persist_is_kept_blob(const char *key)
{
	return key[0] && strchr(kept_blob_prefixes, key[0]) != NULL &&
	       key[1] == '/';
}

/* ---- writing ------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
};

static void put(struct out *o, const void *data, size_t n)
{
	if (n)
		memcpy(o->buf + o->len, data, n);
	o->len += n;
}

static void put_text(struct out *o, const char *text, size_t n)
{
	uint64_t len = text ? n : 0;

	put(o, &len, sizeof(len));
	put(o, text, (size_t)len);
}

static size_t encoded_size(const struct ncf_activation *r)
{
	size_t n = sizeof(uint32_t) + sizeof(r->id) + 4 * sizeof(int64_t) + 2 +
		   4 * sizeof(uint64_t);
	size_t i;

	n += (r->status ? strlen(r->status) : 0) + r->record_len + r->result_len;
	for (i = 0; i < r->log_count; i++)
		n += sizeof(uint64_t) + strlen(r->logs[i]);
	return n;
}

char *persist_encode_activation(const struct ncf_activation *r, size_t *len)
{
	const uint32_t version = PERSIST_VERSION;
	const uint64_t logs = r->log_count;
	const char flags[2] = { r->has_annotations, r->success };
	const int64_t numbers[4] = { r->start_ms, r->end_ms, r->duration_ms,
				     r->init_time_ms };
	struct out o = { malloc(encoded_size(r)), 0 };
	size_t i;

	if (!o.buf)
		return NULL;
	put(&o, &version, sizeof(version));
	put(&o, r->id, sizeof(r->id));
	put(&o, numbers, sizeof(numbers));
	put(&o, flags, sizeof(flags));
	put_text(&o, r->status, r->status ? strlen(r->status) : 0);
	put_text(&o, r->record_json, r->record_len);
	put_text(&o, r->result_json, r->result_len);
	put(&o, &logs, sizeof(logs));
	for (i = 0; i < r->log_count; i++)
		put_text(&o, r->logs[i], strlen(r->logs[i]));
	*len = o.len;
	return o.buf;
}

/* ---- reading ------------------------------------------------------------- */

struct in {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static void get(struct in *in, void *out, size_t n)
{
	if (in->bad || n > in->left) {
		in->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
}

/* A new NUL-terminated copy of the next text (and its length), or NULL. */
static char *get_text(struct in *in, size_t *len)
{
	uint64_t n = 0;
	char *text;

	get(in, &n, sizeof(n));
	if (in->bad || n > in->left) {
		in->bad = true;
		return NULL;
	}
	text = malloc((size_t)n + 1);
	if (!text) {
		in->bad = true;
		return NULL;
	}
	get(in, text, (size_t)n);
	text[n] = '\0';
	if (len)
		*len = (size_t)n;
	return text;
}

static void get_logs(struct in *in, struct ncf_activation *r)
{
	uint64_t n = 0;

	get(in, &n, sizeof(n));
	/* Each entry takes at least its 8-byte length: more cannot fit. */
	if (in->bad || n > LOGS_MAX || n > in->left / sizeof(uint64_t)) {
		in->bad = true;
		return;
	}
	r->logs = calloc((size_t)n ? (size_t)n : 1, sizeof(*r->logs));
	if (!r->logs) {
		in->bad = true;
		return;
	}
	for (r->log_count = 0; r->log_count < n && !in->bad; r->log_count++)
		r->logs[r->log_count] = get_text(in, NULL);
	if (!in->bad && r->log_count && !r->logs[r->log_count - 1])
		in->bad = true;
}

struct ncf_activation *persist_decode_activation(const void *data, size_t len)
{
	struct in in = { data, len, false };
	struct ncf_activation *r = calloc(1, sizeof(*r));
	uint32_t version = 0;
	int64_t numbers[4];
	char flags[2];

	if (!r)
		return NULL;
	get(&in, &version, sizeof(version));
	in.bad = in.bad || version != PERSIST_VERSION;
	get(&in, r->id, sizeof(r->id));
	get(&in, numbers, sizeof(numbers));
	get(&in, flags, sizeof(flags));
	r->start_ms = numbers[0];
	r->end_ms = numbers[1];
	r->duration_ms = numbers[2];
	r->init_time_ms = numbers[3];
	r->has_annotations = flags[0] != 0;
	r->success = flags[1] != 0;
	r->status = get_text(&in, NULL);
	r->record_json = get_text(&in, &r->record_len);
	r->result_json = get_text(&in, &r->result_len);
	get_logs(&in, r);
	if (in.bad || in.left != 0 || r->id[sizeof(r->id) - 1] != '\0') {
		ncf_activation_free(r);
		return NULL;
	}
	return r;
}
