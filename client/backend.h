/* backend — one table of operations per API that ncffs can read from.
 *
 * The public calls of ncf_client.h (lists, slices of activation lists,
 * records, triggers) go through the table of the client's backend, chosen
 * at ncf_client_new: NCP Cloud Functions (ncp.c, listing.c, client.c) or
 * Apache OpenWhisk's /api/v1 (openwhisk.c). Both share one HTTP stack:
 * request_get (pooled curl handles, retries, the scheduler) and the walk of
 * paged lists (listing.c); a backend brings its request targets, its
 * headers (a signature, or basic auth) and its body decoders. fs/ never
 * sees which backend serves it. Internal to client/. */
#ifndef NCFFS_BACKEND_H
#define NCFFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "json.h"
#include "ncf_client.h"
#include "request.h"

struct ncf_backend_ops {
	const char *name;
	/* Package, action and trigger lists are paged like activation lists
	 * (else they come whole in one answer). */
	bool pages_every_list;
	/* The server gives exactly the page size asked for, up to its
	 * documented maximum: a shorter page is the last. */
	bool exact_pages;
	size_t max_page_size; /* 0: none documented */

	/* The headers of one attempt at target: Accept and the credentials.
	 * NULL on no memory. The caller frees them. */
	struct curl_slist *(*headers)(const struct ncf_client *c,
				      const char *target);
	/* A list request: base path, path (which may hold a query already),
	 * then the page and window of q, into out; 0 or -ENAMETOOLONG. */
	int (*page_target)(const struct ncf_client *c, char *out, size_t size,
			   const char *path, const struct request_query *q);
	/* One page of a list, as ncf_json_decode_page; filter is the walk's
	 * (NULL for NCP, the package of an OpenWhisk action list). */
	int (*decode_page)(const char *body, size_t len,
			   enum ncf_list_kind kind, const char *filter,
			   struct ncf_listing *listing, size_t *page_items,
			   int64_t *total_count, uint64_t **name_hashes);

	/* What ncf_client.h promises, operation by operation. */
	int (*probe)(struct ncf_client *c, struct ncf_error *err);
	int (*list_packages)(struct ncf_client *c, struct ncf_listing **out,
			     struct ncf_error *err);
	int (*list_actions)(struct ncf_client *c, const char *pkg,
			    struct ncf_listing **out, struct ncf_error *err);
	int (*query_activations)(struct ncf_client *c, const char *pkg,
				 const char *action,
				 const struct ncf_list_query *q,
				 struct ncf_listing **out, struct ncf_error *err);
	int (*list_triggers)(struct ncf_client *c, struct ncf_listing **out,
			     struct ncf_error *err);
	int (*query_trigger_activations)(struct ncf_client *c,
					 const char *trigger,
					 const struct ncf_list_query *q,
					 struct ncf_listing **out,
					 struct ncf_error *err);
	int (*get_action)(struct ncf_client *c, const char *pkg,
			  const char *action, struct ncf_blob **out,
			  struct ncf_error *err);
	int (*get_trigger)(struct ncf_client *c, const char *trigger,
			   struct ncf_blob **out, struct ncf_error *err);
	int (*get_activation)(struct ncf_client *c, const char *pkg,
			      const char *action, const char *id,
			      struct ncf_activation **out, struct ncf_error *err);
	int (*get_trigger_activation)(struct ncf_client *c, const char *trigger,
				      const char *id,
				      struct ncf_activation **out,
				      struct ncf_error *err);
};

extern const struct ncf_backend_ops ncf_backend_ncp;
extern const struct ncf_backend_ops ncf_backend_openwhisk;

/* The table of a backend name ("ncp", "openwhisk"); NULL for another. */
const struct ncf_backend_ops *ncf_backend_find(const char *name);

/* The client's table, and the strings only a backend reads. */
const struct ncf_backend_ops *request_backend(const struct ncf_client *c);
const char *request_base_path(const struct ncf_client *c);
const char *request_namespace(const struct ncf_client *c);
const char *request_secret_key(const struct ncf_client *c);

/* The longest OpenWhisk AUTH (uuid:key) accepted. */
#define NCF_AUTH_MAX 512

/* Every page of a list (q: a page, a window or all; see listing.c), path
 * and filter as the backend's page_target and decode_page take them. */
int request_list(struct ncf_client *c, const char *path, const char *filter,
		 enum ncf_list_kind kind, const struct ncf_list_query *q,
		 struct ncf_listing **out, struct ncf_error *err);

/* One GET of path (under the base path, no query added); the body is the
 * caller's to free. */
int request_get_path(struct ncf_client *c, const char *path,
		     struct response *resp, struct ncf_error *err);

/* NCP's operations (listing.c, client.c). */
struct curl_slist *ncp_headers(const struct ncf_client *c, const char *target);
int ncp_probe(struct ncf_client *c, struct ncf_error *err);
int ncp_list_packages(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err);
int ncp_list_actions(struct ncf_client *c, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err);
int ncp_query_activations(struct ncf_client *c, const char *pkg,
			  const char *action, const struct ncf_list_query *q,
			  struct ncf_listing **out, struct ncf_error *err);
int ncp_list_triggers(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err);
int ncp_query_trigger_activations(struct ncf_client *c, const char *trigger,
				  const struct ncf_list_query *q,
				  struct ncf_listing **out, struct ncf_error *err);
int ncp_get_action(struct ncf_client *c, const char *pkg, const char *action,
		   struct ncf_blob **out, struct ncf_error *err);
int ncp_get_trigger(struct ncf_client *c, const char *trigger,
		    struct ncf_blob **out, struct ncf_error *err);
int ncp_get_activation(struct ncf_client *c, const char *pkg,
		       const char *action, const char *id,
		       struct ncf_activation **out, struct ncf_error *err);
int ncp_get_trigger_activation(struct ncf_client *c, const char *trigger,
			       const char *id, struct ncf_activation **out,
			       struct ncf_error *err);

#endif
