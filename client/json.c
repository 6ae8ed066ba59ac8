/* json — response bodies to ncf_types (see json.h). The only file that
 * includes cJSON. Everything here treats the body as hostile input. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_text.h"
#include "names.h"

/* Integers above 2^53 cannot be told apart in a double; treat them as
 * garbage rather than serve a rounded number. */
#define JSON_MAX_EXACT_INT 9007199254740992.0

/* cJSON decodes "\u0000" into a NUL that silently truncates the string, so
 * a hostile "ok\u0000/../x" would read as "ok"; it also reads a \u escape
 * whose four characters are not all hex as code point 0, the same
 * truncation. Refuse such bodies whole (the latter are not JSON anyway). */
static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool is_bad_unicode_escape(const char *u, size_t left)
{
	size_t i;

	if (left < 5)
		return true;
	for (i = 1; i <= 4; i++) {
		if (!is_hex(u[i]))
			return true;
	}
	return memcmp(u + 1, "0000", 4) == 0;
}

static bool has_nul_escape(const char *body, size_t len)
{
	size_t i, backslashes = 0;

	for (i = 0; i < len; i++) {
		if (body[i] == '\\') {
			backslashes++;
			continue;
		}
		if (backslashes % 2 == 1 && body[i] == 'u' &&
		    is_bad_unicode_escape(body + i, len - i))
			return true;
		backslashes = 0;
	}
	return false;
}

/* Trailing bytes after the document (a second document, garbage) make the
 * whole body malformed, not something to half-read. */
static cJSON *parse_body(const char *body, size_t len)
{
	const char *end = NULL, *stop;
	cJSON *root;

	/* A raw NUL inside a string truncates it just the same. */
	if (!body || memchr(body, '\0', len) || has_nul_escape(body, len))
		return NULL;
	stop = body + len;
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	while (root && end < stop && (*end == ' ' || *end == '\t' ||
				      *end == '\n' || *end == '\r'))
		end++;
	if (root && end != stop) {
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

enum int_field {
	INT_ABSENT, /* missing or null */
	INT_OK,
	INT_BAD,    /* present, but not a non-negative integer we can hold */
};

/* Decimal digits only: strtod would also take "0x22", "1e3" and " 34". */
static enum int_field parse_decimal(const char *text, int64_t *out)
{
	int64_t value = 0;
	size_t i;

	if (!text[0] || strlen(text) > 15)
		return INT_BAD;
	for (i = 0; text[i]; i++) {
		if (text[i] < '0' || text[i] > '9')
			return INT_BAD;
		value = value * 10 + (text[i] - '0');
	}
	*out = value;
	return INT_OK;
}

/* A non-negative integer sent as a JSON number or as decimal text (the API
 * page documents duration both ways). */
static enum int_field get_int_field(const cJSON *object, const char *key,
				    int64_t *out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
	double value;

	*out = NCF_UNKNOWN;
	if (!item || cJSON_IsNull(item))
		return INT_ABSENT;
	if (cJSON_IsString(item))
		return parse_decimal(item->valuestring, out);
	if (!cJSON_IsNumber(item))
		return INT_BAD;
	value = item->valuedouble;
	if (!isfinite(value) || value < 0 || value > JSON_MAX_EXACT_INT ||
	    value != floor(value))
		return INT_BAD;
	*out = (int64_t)value;
	return INT_OK;
}

/* Lenient form, for fields nothing depends on: bad reads as unknown. */
static int64_t get_int(const cJSON *object, const char *key)
{
	int64_t value;

	return get_int_field(object, key, &value) == INT_OK ? value : NCF_UNKNOWN;
}

static const char *get_string(const cJSON *object, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Where a value sits in the body's bytes (text NULL: not found). */
struct raw_span {
	const char *text;
	size_t len;
};

static struct raw_span raw_member(struct raw_span object, const char *key)
{
	struct raw_span value = { NULL, 0 };

	if (object.text &&
	    !json_text_member(object.text, object.len, key, &value.text, &value.len))
		value.text = NULL;
	return value;
}

/* cJSON_Print output plus the trailing newline every rendered file has. */
static char *print_pretty(const cJSON *item, size_t *len)
{
	char *text = cJSON_Print(item);
	char *with_newline;
	size_t n;

	if (!text)
		return NULL;
	n = strlen(text);
	with_newline = realloc(text, n + 2);
	if (!with_newline) {
		cJSON_free(text);
		return NULL;
	}
	with_newline[n] = '\n';
	with_newline[n + 1] = '\0';
	*len = n + 1;
	return with_newline;
}

/* item pretty-printed from the bytes the server sent when they can be
 * found (numbers stay exact), else by cJSON. NULL with *rc set on error. */
static char *pretty(const cJSON *item, struct raw_span raw, size_t *len, int *rc)
{
	char *text = NULL;

	*rc = 0;
	if (raw.text) {
		/* Indentation can outgrow the text; this bounds a hostile
		 * nesting depth without limiting real bodies. */
		*rc = json_text_pretty(raw.text, raw.len, raw.len * 16 + 65536,
				       &text, len);
		if (*rc != -EBADMSG)
			return text;
	}
	text = print_pretty(item, len);
	*rc = text ? 0 : -ENOMEM;
	return text;
}

/* ---- listings ---------------------------------------------------------- */

static const cJSON *page_array(const cJSON *content, enum ncf_list_kind kind)
{
	switch (kind) {
	case NCF_LIST_PACKAGES:
		return content;
	case NCF_LIST_ACTIONS:
		return cJSON_GetObjectItemCaseSensitive(content, "actions");
	case NCF_LIST_ACTIVATIONS:
		return cJSON_GetObjectItemCaseSensitive(content, "activations");
	case NCF_LIST_TRIGGERS:
		return cJSON_GetObjectItemCaseSensitive(content, "triggers");
	}
	return NULL;
}

static const char *item_name(const cJSON *item, enum ncf_list_kind kind)
{
	const char *name = get_string(
		item, kind == NCF_LIST_ACTIVATIONS ? "activationId" : "name");

	switch (kind) {
	case NCF_LIST_PACKAGES:
		return ncf_is_valid_package_name(name) ? name : NULL;
	case NCF_LIST_ACTIONS:
	case NCF_LIST_TRIGGERS:
		return ncf_is_valid_name(name) ? name : NULL;
	case NCF_LIST_ACTIVATIONS:
		return ncf_is_valid_activation_id(name) ? name : NULL;
	}
	return NULL;
}

/* Moves nothing: copies name and status into a new last item. */
static int append_entry(struct ncf_listing *listing, const char *name,
			const char *status, int64_t duration_ms)
{
	struct ncf_list_item *slot;

	if (listing->count == listing->capacity) {
		size_t grown = listing->capacity ? listing->capacity * 2 : 32;
		slot = realloc(listing->items, grown * sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		listing->items = slot;
		listing->capacity = grown;
	}
	slot = &listing->items[listing->count];
	slot->name = strdup(name);
	slot->status = status ? strdup(status) : NULL;
	slot->duration_ms = duration_ms;
	if (!slot->name || (status && !slot->status)) {
		free(slot->name);
		free(slot->status);
		return -ENOMEM;
	}
	listing->count++;
	listing->bytes += sizeof(*slot) + strlen(name) + 1 +
			  (status ? strlen(status) + 1 : 0);
	return 0;
}

/* Status and duration are an activation list's; other lists' items get
 * none whatever they carry. */
static int append_item(struct ncf_listing *listing, const cJSON *item,
		       const char *name, bool is_activation)
{
	return append_entry(listing, name,
			    is_activation ? get_string(item, "status") : NULL,
			    is_activation ? get_int(item, "duration") : NCF_UNKNOWN);
}

/* A page that fails half way leaves the listing as it was. */
static void undo_page(struct ncf_listing *listing, size_t before,
		      size_t skipped_before, size_t *page_items,
		      uint64_t **name_hashes)
{
	while (listing->count > before) {
		struct ncf_list_item *item = &listing->items[--listing->count];

		listing->bytes -= sizeof(*item) + strlen(item->name) + 1 +
				  (item->status ? strlen(item->status) + 1 : 0);
		free(item->name);
		free(item->status);
	}
	listing->skipped = skipped_before;
	*page_items = 0;
	if (name_hashes) {
		free(*name_hashes);
		*name_hashes = NULL;
	}
}

/* FNV-1a: stable across runs, and collisions only cost a walk one page. */
static uint64_t hash_bytes(const char *text, size_t len, uint64_t seed)
{
	uint64_t h = seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t ncf_json_name_hash(const char *name)
{
	return hash_bytes(name, strlen(name), 14695981039346656037ULL);
}

/* An item without a string name is told apart by its whole JSON text. */
static int item_hash(const cJSON *item, enum ncf_list_kind kind, uint64_t *out)
{
	const char *name = get_string(
		item, kind == NCF_LIST_ACTIVATIONS ? "activationId" : "name");
	char *text;

	if (name) {
		*out = ncf_json_name_hash(name);
		return 0;
	}
	text = cJSON_PrintUnformatted(item);
	if (!text)
		return -ENOMEM;
	/* Another seed than names get: a JSON text never hashes like the
	 * name string it might spell. */
	*out = hash_bytes(text, strlen(text), 1469598103934665603ULL);
	cJSON_free(text);
	return 0;
}

/* One hash per item of a page, as each API names its items (item_hash,
 * ow_item_hash): the list walk's evidence of what the server sent. */
typedef int (*item_hash_fn)(const cJSON *item, enum ncf_list_kind kind,
			    uint64_t *out);

static int page_hashes(const cJSON *array, enum ncf_list_kind kind,
		       item_hash_fn hash, uint64_t **out)
{
	int count = cJSON_GetArraySize(array), i = 0, rc = 0;
	const cJSON *item;

	*out = malloc(((size_t)count + 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	cJSON_ArrayForEach(item, array) {
		if (rc == 0 && i < count)
			rc = hash(item, kind, &(*out)[i++]);
	}
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int ncf_json_decode_page(const char *body, size_t len, enum ncf_list_kind kind,
			 struct ncf_listing *listing, size_t *page_items,
			 int64_t *total_count, uint64_t **name_hashes)
{
	cJSON *root = parse_body(body, len);
	const cJSON *content, *array, *item;
	size_t before = listing->count, skipped_before = listing->skipped;
	int rc = -EBADMSG;

	*page_items = 0;
	*total_count = NCF_UNKNOWN;
	if (name_hashes)
		*name_hashes = NULL;
	content = cJSON_GetObjectItemCaseSensitive(root, "content");
	array = page_array(content, kind);
	if (!cJSON_IsArray(array))
		goto out;
	if (kind != NCF_LIST_PACKAGES)
		*total_count = get_int(content, "totalCount");
	rc = name_hashes ? page_hashes(array, kind, item_hash, name_hashes) : 0;
	cJSON_ArrayForEach(item, array) {
		const char *name = item_name(item, kind);

		if (rc)
			break;
		(*page_items)++;
		if (!name) {
			listing->skipped++;
			continue;
		}
		rc = append_item(listing, item, name, kind == NCF_LIST_ACTIVATIONS);
	}
	if (rc)
		undo_page(listing, before, skipped_before, page_items, name_hashes);
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- activation records ------------------------------------------------ */

static int64_t annotation_int(const cJSON *content, const char *key)
{
	const cJSON *annotations =
		cJSON_GetObjectItemCaseSensitive(content, "annotations");
	const cJSON *entry;

	if (!cJSON_IsArray(annotations))
		return NCF_UNKNOWN;
	cJSON_ArrayForEach(entry, annotations) {
		const char *name = get_string(entry, "key");

		if (name && strcmp(name, key) == 0)
			return get_int(entry, "value");
	}
	return NCF_UNKNOWN;
}

/* Non-string log entries are kept, as their JSON text, rather than hidden. */
static char *log_line(const cJSON *entry)
{
	if (cJSON_IsString(entry))
		return strdup(entry->valuestring);
	return cJSON_PrintUnformatted(entry);
}

static int decode_logs(const cJSON *content, struct ncf_activation *act)
{
	const cJSON *logs = cJSON_GetObjectItemCaseSensitive(content, "logs");
	const cJSON *entry;
	int count;

	if (!logs || cJSON_IsNull(logs))
		return 0;
	if (!cJSON_IsArray(logs))
		return -EBADMSG;
	count = cJSON_GetArraySize(logs);
	if (count == 0)
		return 0;
	act->logs = calloc((size_t)count, sizeof(*act->logs));
	if (!act->logs)
		return -ENOMEM;
	cJSON_ArrayForEach(entry, logs) {
		char *line = log_line(entry);

		if (!line)
			return -ENOMEM;
		act->logs[act->log_count++] = line;
	}
	return 0;
}

static int decode_response(const cJSON *content, struct raw_span raw_content,
			   struct ncf_activation *act)
{
	struct raw_span raw_result =
		raw_member(raw_member(raw_content, "response"), "result");
	int rc;
	const cJSON *response =
		cJSON_GetObjectItemCaseSensitive(content, "response");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(response, "result");
	const cJSON *success =
		cJSON_GetObjectItemCaseSensitive(response, "success");
	const char *status = get_string(response, "status");
	cJSON *null_result = NULL;

	act->status = strdup(status ? status : "");
	if (cJSON_IsBool(success))
		act->success = cJSON_IsTrue(success);
	else
		act->success = status && strcmp(status, "success") == 0;
	if (!result) {
		result = null_result = cJSON_CreateNull();
		raw_result.text = NULL;
	}
	rc = result ? 0 : -ENOMEM;
	if (rc == 0)
		act->result_json = pretty(result, raw_result, &act->result_len, &rc);
	cJSON_Delete(null_result);
	return rc ? rc : act->status ? 0 : -ENOMEM;
}

static int decode_activation_content(const cJSON *content,
				     struct raw_span raw_content,
				     struct ncf_activation *act)
{
	const char *id = get_string(content, "activationId");
	int rc;

	if (!cJSON_IsObject(content) || !ncf_is_valid_activation_id(id))
		return -EBADMSG;
	memcpy(act->id, id, NCF_ACTIVATION_ID_LEN + 1);
	/* Times and duration become file contents and mtimes: a value we
	 * cannot read exactly makes the record malformed, never a guess. */
	if (get_int_field(content, "start", &act->start_ms) == INT_BAD ||
	    get_int_field(content, "end", &act->end_ms) == INT_BAD ||
	    get_int_field(content, "duration", &act->duration_ms) == INT_BAD)
		return -EBADMSG;
	act->init_time_ms = annotation_int(content, "initTime");
	act->has_annotations = cJSON_IsArray(
		cJSON_GetObjectItemCaseSensitive(content, "annotations"));
	rc = decode_logs(content, act);
	if (rc == 0)
		rc = decode_response(content, raw_content, act);
	if (rc == 0)
		act->record_json = pretty(content, raw_content, &act->record_len, &rc);
	return rc;
}

int ncf_json_decode_activation(const char *body, size_t len,
			       struct ncf_activation **out)
{
	cJSON *root = parse_body(body, len);
	struct ncf_activation *act = calloc(1, sizeof(*act));
	int rc = -ENOMEM;

	*out = NULL;
	if (!act)
		goto out;
	rc = decode_activation_content(
		cJSON_GetObjectItemCaseSensitive(root, "content"),
		raw_member((struct raw_span){ body, len }, "content"), act);
	if (rc == 0) {
		*out = act;
		act = NULL;
	}
out:
	ncf_activation_free(act);
	cJSON_Delete(root);
	return rc;
}

/* ---- other bodies ------------------------------------------------------ */

int ncf_json_pretty_content(const char *body, size_t len, struct ncf_blob **out)
{
	cJSON *root = parse_body(body, len);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
	char *text = NULL;
	size_t text_len = 0;
	int rc = -EBADMSG;

	*out = NULL;
	if (!cJSON_IsObject(content))
		goto out;
	text = pretty(content, raw_member((struct raw_span){ body, len }, "content"),
		      &text_len, &rc);
	if (text)
		*out = ncf_blob_new(text, text_len);
	if (text && !*out)
		rc = -ENOMEM;
out:
	free(text);
	cJSON_Delete(root);
	return rc;
}

/* Server text goes into log lines: keep printable ASCII only, so neither
 * HTML nor control characters nor invalid UTF-8 reach a terminal. */
static void copy_printable(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; src && *src && n + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

void ncf_json_decode_error(const char *body, size_t len, struct ncf_error *err)
{
	cJSON *root = parse_body(body, len);
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "errorCode");

	err->code[0] = '\0';
	err->message[0] = '\0';
	if (cJSON_IsString(error)) {
		/* OpenWhisk's shape: its "code" is a transaction id, which
		 * says nothing a caller could act on, so no code is kept. */
		copy_printable(err->message, sizeof(err->message),
			       error->valuestring);
		cJSON_Delete(root);
		return;
	}
	if (cJSON_IsString(code))
		copy_printable(err->code, sizeof(err->code), code->valuestring);
	else if (cJSON_IsNumber(code) && fabs(code->valuedouble) < 1e15)
		snprintf(err->code, sizeof(err->code), "%.0f", code->valuedouble);
	copy_printable(err->message, sizeof(err->message),
		       get_string(error, "message"));
	cJSON_Delete(root);
}

/* ---- OpenWhisk bodies --------------------------------------------------- *
 * The same values without the "content" wrapper: lists are bare arrays,
 * a record is the body itself, an error is {"error": text, "code": tid}. */

/* statusCode of a summary row, as the record's response.status says it. */
static const char *ow_status(const cJSON *item)
{
	static const char *const statuses[] = { "success", "application error",
						"action developer error",
						"whisk internal error" };
	int64_t code = get_int(item, "statusCode");

	return code >= 0 && code < 4 ? statuses[code] : NULL;
}

/* An action row's package: its namespace is "ns" or "ns/pkg". */
static bool ow_is_in_package(const cJSON *item, const char *pkg)
{
	const char *ns = get_string(item, "namespace");
	const char *slash = ns ? strchr(ns, '/') : NULL;

	if (!ns)
		return false;
	if (strcmp(pkg, "-") == 0)
		return slash == NULL;
	return slash && strcmp(slash + 1, pkg) == 0;
}

/* Action rows of every package come in one list: their hash is over
 * "namespace/name", so that two packages' "hello" are two items sent. */
static int ow_item_hash(const cJSON *item, enum ncf_list_kind kind,
			uint64_t *out)
{
	const char *ns = get_string(item, "namespace");
	const char *name = get_string(item, "name");
	uint64_t h;

	if (kind != NCF_LIST_ACTIONS || !ns || !name)
		return item_hash(item, kind, out);
	h = hash_bytes(ns, strlen(ns), 14695981039346656037ULL);
	h = hash_bytes("/", 1, h);
	*out = hash_bytes(name, strlen(name), h);
	return 0;
}

static int ow_append(struct ncf_listing *listing, const cJSON *item,
		     enum ncf_list_kind kind, const char *pkg)
{
	const char *name = item_name(item, kind);

	if (kind == NCF_LIST_ACTIONS && pkg && !ow_is_in_package(item, pkg))
		return 0; /* another package's: sent, not ours */
	if (!name) {
		listing->skipped++;
		return 0;
	}
	if (kind != NCF_LIST_ACTIVATIONS)
		return append_entry(listing, name, NULL, NCF_UNKNOWN);
	return append_entry(listing, name, ow_status(item),
			    get_int(item, "duration"));
}

int ncf_json_decode_ow_page(const char *body, size_t len,
			    enum ncf_list_kind kind, const char *pkg,
			    struct ncf_listing *listing, size_t *page_items,
			    uint64_t **name_hashes)
{
	cJSON *root = parse_body(body, len);
	size_t before = listing->count, skipped_before = listing->skipped;
	const cJSON *item, *array = root;
	int rc = -EBADMSG;

	*page_items = 0;
	if (name_hashes)
		*name_hashes = NULL;
	/* A package entity holds its own actions: no namespace to filter. */
	if (kind == NCF_LIST_ACTIONS && cJSON_IsObject(root)) {
		array = cJSON_GetObjectItemCaseSensitive(root, "actions");
		pkg = NULL;
	} else if (kind == NCF_LIST_ACTIONS && !pkg) {
		goto out;
	}
	if (!cJSON_IsArray(array))
		goto out;
	rc = name_hashes ? page_hashes(array, kind, ow_item_hash, name_hashes) : 0;
	cJSON_ArrayForEach(item, array) {
		if (rc)
			break;
		(*page_items)++;
		rc = ow_append(listing, item, kind, pkg);
	}
	if (rc)
		undo_page(listing, before, skipped_before, page_items, name_hashes);
out:
	cJSON_Delete(root);
	return rc;
}

int ncf_json_decode_ow_count(const char *body, size_t len, int64_t *count)
{
	cJSON *root = parse_body(body, len);
	int rc = get_int_field(root, "activations", count) == INT_OK ? 0 : -EBADMSG;

	cJSON_Delete(root);
	return rc;
}

/* The path annotation ("ns/pkg/action", "ns/action") names path_tail
 * ("pkg/action", or "action" outside any package) after its namespace. A
 * record without one cannot say, and is taken. */
static bool ow_is_record_of(const cJSON *record, const char *path_tail)
{
	const cJSON *annotations =
		cJSON_GetObjectItemCaseSensitive(record, "annotations");
	const cJSON *entry;

	cJSON_ArrayForEach(entry, annotations) {
		const char *key = get_string(entry, "key");
		const char *path = get_string(entry, "value");
		const char *slash;

		if (!key || strcmp(key, "path") != 0)
			continue;
		slash = path ? strchr(path, '/') : NULL;
		return slash && strcmp(slash + 1, path_tail) == 0;
	}
	return true;
}

int ncf_json_decode_ow_activation(const char *body, size_t len,
				  const char *path_tail,
				  struct ncf_activation **out)
{
	cJSON *root = parse_body(body, len);
	struct ncf_activation *act = calloc(1, sizeof(*act));
	int rc = -ENOMEM;

	*out = NULL;
	if (!act)
		goto out;
	rc = decode_activation_content(root, (struct raw_span){ body, len }, act);
	if (rc == 0 && path_tail && !ow_is_record_of(root, path_tail))
		rc = -ENOENT;
	if (rc == 0) {
		*out = act;
		act = NULL;
	}
out:
	ncf_activation_free(act);
	cJSON_Delete(root);
	return rc;
}

int ncf_json_pretty_body(const char *body, size_t len, struct ncf_blob **out)
{
	cJSON *root = parse_body(body, len);
	char *text = NULL;
	size_t text_len = 0;
	int rc = -EBADMSG;

	*out = NULL;
	if (!cJSON_IsObject(root))
		goto out;
	text = pretty(root, (struct raw_span){ body, len }, &text_len, &rc);
	if (text)
		*out = ncf_blob_new(text, text_len);
	if (text && !*out)
		rc = -ENOMEM;
out:
	free(text);
	cJSON_Delete(root);
	return rc;
}
