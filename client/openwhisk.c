/* openwhisk — the backend for Apache OpenWhisk's read API (/api/v1), which
 * Adobe I/O Runtime and DigitalOcean Functions serve too (backend.h).
 *
 * The tree is NCP's: /packages/<pkg>/<action>, actions outside any package
 * under "-". How that maps onto OpenWhisk:
 *  - packages: GET /namespaces/{ns}/packages, paged by limit (at most 200)
 *    and skip, like every list here; a page shorter than asked is the last;
 *  - a package's actions: GET /namespaces/{ns}/packages/{pkg}, whose body
 *    lists them (as `wsk package get` shows), one request like NCP's list;
 *    the actions outside any package ("-"): the namespace's action list,
 *    walked and filtered by each row's namespace ("ns", not "ns/pkg");
 *  - an action's or a trigger's activations: /activations?name=pkg/action
 *    (or name=action, name=trigger); a page is limit/skip, a window is
 *    since/upto (epoch ms on start, both inclusive, as NCP's start/end);
 *    rows carry statusCode, which becomes the item's status;
 *  - page 1 asked for by number that came back full has no length: one
 *    count=true request (same name and window) gives it, so `latest` finds
 *    the far end of a list without walking it; a short page gives it free
 *    (fs/ reads a list's length from its page 1 only);
 *  - pages are the mount's size (100, as for NCP), at most 200 (limit);
 *  - a record: /activations/{id}, checked against the action it is read
 *    under (its path annotation), since the id alone names it here.
 * Left out on purpose: docs=true lists (rows are enough for the tree; a
 * record is read when it is opened), public packages and bindings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/evp.h>

#include "backend.h"
#include "json.h"
#include "names.h"

#define OW_MAX_LIMIT 200 /* the API refuses a larger limit (400) */
#define AUTH_HEADER_MAX (4 * NCF_AUTH_MAX / 3 + 64)

static const struct ncf_list_query every_page = { 0, 0, NCF_UNKNOWN,
						  NCF_UNKNOWN };

/* ---- requests ----------------------------------------------------------- */

static struct curl_slist *add_header(struct curl_slist *headers,
				     const char *line)
{
	struct curl_slist *next = curl_slist_append(headers, line);

	if (!next)
		curl_slist_free_all(headers);
	return next;
}

/* Basic base64(AUTH), built per attempt and wiped after curl copied it. */
static struct curl_slist *ow_headers(const struct ncf_client *c,
				     const char *target)
{
	const char *auth = request_secret_key(c);
	char line[AUTH_HEADER_MAX];
	size_t len = strlen(auth), at;
	struct curl_slist *headers = NULL;

	(void)target;
	if (len > NCF_AUTH_MAX)
		return NULL;
	at = (size_t)snprintf(line, sizeof(line), "Authorization: Basic ");
	EVP_EncodeBlock((unsigned char *)line + at, (const unsigned char *)auth,
			(int)len);
	headers = add_header(headers, "Accept: application/json");
	if (headers)
		headers = add_header(headers, line);
	explicit_bzero(line, sizeof(line));
	return headers;
}

static int append_query(char *out, size_t size, size_t *at, const char *sep,
			const char *key, long long value)
{
	int n = snprintf(out + *at, size - *at, "%s%s=%lld", sep, key, value);

	if (n < 0 || (size_t)n >= size - *at)
		return -ENAMETOOLONG;
	*at += (size_t)n;
	return 0;
}

/* path may hold "?name=..." already: the rest joins with '&'. */
static int ow_page_target(const struct ncf_client *c, char *out, size_t size,
			  const char *path, const struct request_query *q)
{
	int n = snprintf(out, size, "%s%s", request_base_path(c), path);
	const char *sep = strchr(path, '?') ? "&" : "?";
	size_t at;
	int rc = 0;

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	at = (size_t)n;
	if (q->page_no) {
		rc = append_query(out, size, &at, sep, "limit",
				  (long long)q->page_size);
		if (rc == 0)
			rc = append_query(out, size, &at, "&", "skip",
					  (long long)((q->page_no - 1) *
						      q->page_size));
		sep = "&";
	}
	if (rc == 0 && q->start_ms != NCF_UNKNOWN) {
		rc = append_query(out, size, &at, sep, "since", q->start_ms);
		sep = "&";
	}
	if (rc == 0 && q->end_ms != NCF_UNKNOWN)
		rc = append_query(out, size, &at, sep, "upto", q->end_ms);
	return rc;
}

static int ow_decode_page(const char *body, size_t len,
			  enum ncf_list_kind kind, const char *filter,
			  struct ncf_listing *listing, size_t *page_items,
			  int64_t *total_count, uint64_t **name_hashes)
{
	*total_count = NCF_UNKNOWN; /* only count=true says it */
	return ncf_json_decode_ow_page(body, len, kind, filter, listing,
				       page_items, name_hashes);
}

/* "/namespaces/{ns}" + what + ("/" + a (+ "/" + b) when given), names
 * that were checked before (names.h), into out. */
static int ns_path(const struct ncf_client *c, char *out, size_t size,
		   const char *what, const char *a, const char *b)
{
	int n = snprintf(out, size, "/namespaces/%s%s%s%s%s%s",
			 request_namespace(c), what, a ? "/" : "", a ? a : "",
			 b ? "/" : "", b ? b : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* "pkg/action", or "action" outside any package (pkg "-" or NULL). */
static void qualified(char *out, size_t size, const char *pkg,
		      const char *name)
{
	if (!pkg || strcmp(pkg, "-") == 0)
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "%s/%s", pkg, name);
}

/* ---- lists --------------------------------------------------------------- */

static int ow_probe(struct ncf_client *c, struct ncf_error *err)
{
	struct ncf_listing *packages = NULL;
	char path[TARGET_MAX];
	int rc = ns_path(c, path, sizeof(path), "/packages", NULL, NULL);

	if (rc == 0)
		rc = request_list(c, path, NULL, NCF_LIST_PACKAGES, &every_page,
				  &packages, err);
	if (rc == 0)
		request_keep_probed_packages(c, packages);
	return rc;
}

static int ow_list_packages(struct ncf_client *c, struct ncf_listing **out,
			    struct ncf_error *err)
{
	char path[TARGET_MAX];
	int rc;

	*out = request_take_probed_packages(c);
	if (*out)
		return 0;
	rc = ns_path(c, path, sizeof(path), "/packages", NULL, NULL);
	return rc ? rc : request_list(c, path, NULL, NCF_LIST_PACKAGES,
				      &every_page, out, err);
}

/* One GET of the package, whose "actions" are the list. */
static int list_package_actions(struct ncf_client *c, const char *path,
				struct ncf_listing **out, struct ncf_error *err)
{
	struct response resp = { 0 };
	size_t items = 0;
	int rc;

	*out = calloc(1, sizeof(**out));
	rc = *out ? request_get_path(c, path, &resp, err) : -ENOMEM;
	if (rc == 0)
		rc = ncf_json_decode_ow_page(resp.data, resp.len, NCF_LIST_ACTIONS,
					     NULL, *out, &items, NULL);
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed package", path);
	if (rc == 0 && (*out)->skipped)
		logf_client(c, LOG_WARNING,
			    "%s: skipped %zu names that are not valid path components",
			    path, (*out)->skipped);
	if (rc == 0)
		(*out)->total_count = NCF_UNKNOWN;
	free(resp.data);
	if (rc) {
		ncf_listing_free(*out);
		*out = NULL;
	}
	return rc;
}

static int ow_list_actions(struct ncf_client *c, const char *pkg,
			   struct ncf_listing **out, struct ncf_error *err)
{
	bool packaged = strcmp(pkg, "-") != 0;
	char path[TARGET_MAX];
	int rc = packaged ? ns_path(c, path, sizeof(path), "/packages", pkg, NULL)
			  : ns_path(c, path, sizeof(path), "/actions", NULL, NULL);

	if (rc == 0 && packaged)
		return list_package_actions(c, path, out, err);
	return rc ? rc : request_list(c, path, pkg, NCF_LIST_ACTIONS,
				      &every_page, out, err);
}

static int ow_list_triggers(struct ncf_client *c, struct ncf_listing **out,
			    struct ncf_error *err)
{
	char path[TARGET_MAX];
	int rc = ns_path(c, path, sizeof(path), "/triggers", NULL, NULL);

	return rc ? rc : request_list(c, path, NULL, NCF_LIST_TRIGGERS,
				      &every_page, out, err);
}

/* The length of the list a full page came from (see the top). */
static int count_list(struct ncf_client *c, const char *path,
		      const struct ncf_list_query *q, int64_t *total,
		      struct ncf_error *err)
{
	const struct request_query window = { 0, 0, q->start_ms, q->end_ms };
	struct response resp = { 0 };
	char counted[TARGET_MAX], target[TARGET_MAX];
	int n = snprintf(counted, sizeof(counted), "%s&count=true", path);
	int rc = n < 0 || (size_t)n >= sizeof(counted) ? -ENAMETOOLONG : 0;

	if (rc == 0)
		rc = ow_page_target(c, target, sizeof(target), counted, &window);
	if (rc == 0)
		rc = request_get(c, target, &resp, err);
	if (rc == 0)
		rc = ncf_json_decode_ow_count(resp.data, resp.len, total);
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed count", target);
	free(resp.data);
	return rc;
}

/* name is "pkg/action", "action" (pkg "-") or a trigger (pkg NULL). */
static int query_named(struct ncf_client *c, const char *pkg,
		       const char *name, const struct ncf_list_query *q,
		       struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX], filter[2 * NCF_NAME_MAX + 16];
	int rc;

	snprintf(filter, sizeof(filter), "/activations?name=");
	qualified(filter + strlen(filter), sizeof(filter) - strlen(filter), pkg,
		  name);
	rc = ns_path(c, path, sizeof(path), filter, NULL, NULL);
	if (rc == 0)
		rc = request_list(c, path, NULL, NCF_LIST_ACTIVATIONS, q, out, err);
	if (rc == 0 && q->page_no == 1 && (*out)->total_count == NCF_UNKNOWN)
		rc = count_list(c, path, q, &(*out)->total_count, err);
	if (rc && *out) {
		ncf_listing_free(*out);
		*out = NULL;
	}
	return rc;
}

static int ow_query_activations(struct ncf_client *c, const char *pkg,
				const char *action,
				const struct ncf_list_query *q,
				struct ncf_listing **out, struct ncf_error *err)
{
	return query_named(c, pkg, action, q, out, err);
}

static int ow_query_trigger_activations(struct ncf_client *c,
					const char *trigger,
					const struct ncf_list_query *q,
					struct ncf_listing **out,
					struct ncf_error *err)
{
	return query_named(c, NULL, trigger, q, out, err);
}

/* ---- single objects ----------------------------------------------------- */

static int get_blob(struct ncf_client *c, const char *path,
		    struct ncf_blob **out, struct ncf_error *err)
{
	struct response resp = { 0 };
	int rc = request_get_path(c, path, &resp, err);

	if (rc == 0)
		rc = ncf_json_pretty_body(resp.data, resp.len, out);
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed response", path);
	free(resp.data);
	return rc;
}

static int ow_get_action(struct ncf_client *c, const char *pkg,
			 const char *action, struct ncf_blob **out,
			 struct ncf_error *err)
{
	bool packaged = strcmp(pkg, "-") != 0;
	char path[TARGET_MAX];
	int rc = ns_path(c, path, sizeof(path), "/actions",
			 packaged ? pkg : action, packaged ? action : NULL);

	return rc ? rc : get_blob(c, path, out, err);
}

static int ow_get_trigger(struct ncf_client *c, const char *trigger,
			  struct ncf_blob **out, struct ncf_error *err)
{
	char path[TARGET_MAX];
	int rc = ns_path(c, path, sizeof(path), "/triggers", trigger, NULL);

	return rc ? rc : get_blob(c, path, out, err);
}

/* The record of id, if it is one of path_tail's ("pkg/action", "action"
 * or a trigger): another action's record is not found here. */
static int get_record(struct ncf_client *c, const char *id,
		      const char *path_tail, struct ncf_activation **out,
		      struct ncf_error *err)
{
	struct response resp = { 0 };
	char path[TARGET_MAX];
	int rc = ns_path(c, path, sizeof(path), "/activations", id, NULL);

	if (rc == 0)
		rc = request_get_path(c, path, &resp, err);
	if (rc == 0)
		rc = ncf_json_decode_ow_activation(resp.data, resp.len,
						   path_tail, out);
	if (rc == 0 && strcmp((*out)->id, id) != 0) {
		ncf_activation_free(*out);
		*out = NULL;
		rc = -EBADMSG;
	}
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed activation record", path);
	else if (rc == -ENOENT && resp.data)
		logf_client(c, LOG_DEBUG, "GET %s: not a record of %s", path,
			    path_tail);
	free(resp.data);
	return rc;
}

static int ow_get_activation(struct ncf_client *c, const char *pkg,
			     const char *action, const char *id,
			     struct ncf_activation **out, struct ncf_error *err)
{
	char tail[2 * NCF_NAME_MAX + 2];

	qualified(tail, sizeof(tail), pkg, action);
	return get_record(c, id, tail, out, err);
}

static int ow_get_trigger_activation(struct ncf_client *c, const char *trigger,
				     const char *id,
				     struct ncf_activation **out,
				     struct ncf_error *err)
{
	return get_record(c, id, trigger, out, err);
}

const struct ncf_backend_ops ncf_backend_openwhisk = {
	.name = "openwhisk",
	.pages_every_list = true,
	.exact_pages = true,
	.max_page_size = OW_MAX_LIMIT,
	.headers = ow_headers,
	.page_target = ow_page_target,
	.decode_page = ow_decode_page,
	.probe = ow_probe,
	.list_packages = ow_list_packages,
	.list_actions = ow_list_actions,
	.query_activations = ow_query_activations,
	.list_triggers = ow_list_triggers,
	.query_trigger_activations = ow_query_trigger_activations,
	.get_action = ow_get_action,
	.get_trigger = ow_get_trigger,
	.get_activation = ow_get_activation,
	.get_trigger_activation = ow_get_trigger_activation,
};
