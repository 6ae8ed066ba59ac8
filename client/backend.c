/* backend — the public calls of ncf_client.h, each one row of the client's
 * backend table (backend.h), and the NCP table. Argument checks that every
 * backend needs (valid names, a NULL *out on failure) live here once. */
#include "backend.h"

#include <errno.h>
#include <string.h>

#include "names.h"

static int ncp_decode_page(const char *body, size_t len,
			   enum ncf_list_kind kind, const char *filter,
			   struct ncf_listing *listing, size_t *page_items,
			   int64_t *total_count, uint64_t **name_hashes)
{
	(void)filter;
	return ncf_json_decode_page(body, len, kind, listing, page_items,
				    total_count, name_hashes);
}

const struct ncf_backend_ops ncf_backend_ncp = {
	.name = "ncp",
	.pages_every_list = false,
	.exact_pages = false,
	.max_page_size = 0,
	.headers = ncp_headers,
	.page_target = request_target_query,
	.decode_page = ncp_decode_page,
	.probe = ncp_probe,
	.list_packages = ncp_list_packages,
	.list_actions = ncp_list_actions,
	.query_activations = ncp_query_activations,
	.list_triggers = ncp_list_triggers,
	.query_trigger_activations = ncp_query_trigger_activations,
	.get_action = ncp_get_action,
	.get_trigger = ncp_get_trigger,
	.get_activation = ncp_get_activation,
	.get_trigger_activation = ncp_get_trigger_activation,
};

static const struct ncf_backend_ops *const backends[] = {
	&ncf_backend_ncp,
	&ncf_backend_openwhisk,
};

const struct ncf_backend_ops *ncf_backend_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	}
	return NULL;
}

int ncf_client_probe(struct ncf_client *c, struct ncf_error *err)
{
	return request_backend(c)->probe(c, err);
}

int ncf_list_packages(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	*out = NULL;
	return request_backend(c)->list_packages(c, out, err);
}

int ncf_list_actions(struct ncf_client *c, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_package_name(pkg))
		return -ENOENT;
	return request_backend(c)->list_actions(c, pkg, out, err);
}

int ncf_query_activations(struct ncf_client *c, const char *pkg,
			  const char *action, const struct ncf_list_query *q,
			  struct ncf_listing **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_package_name(pkg) || !ncf_is_valid_name(action))
		return -ENOENT;
	return request_backend(c)->query_activations(c, pkg, action, q, out,
						     err);
}

static const struct ncf_list_query every_page = { 0, 0, NCF_UNKNOWN,
						  NCF_UNKNOWN };

int ncf_list_activations(struct ncf_client *c, const char *pkg,
			 const char *action, struct ncf_listing **out,
			 struct ncf_error *err)
{
	return ncf_query_activations(c, pkg, action, &every_page, out, err);
}

int ncf_list_triggers(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	*out = NULL;
	return request_backend(c)->list_triggers(c, out, err);
}

int ncf_query_trigger_activations(struct ncf_client *c, const char *trigger,
				  const struct ncf_list_query *q,
				  struct ncf_listing **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_name(trigger))
		return -ENOENT;
	return request_backend(c)->query_trigger_activations(c, trigger, q, out,
							     err);
}

int ncf_list_trigger_activations(struct ncf_client *c, const char *trigger,
				 struct ncf_listing **out, struct ncf_error *err)
{
	return ncf_query_trigger_activations(c, trigger, &every_page, out, err);
}

int ncf_get_action(struct ncf_client *c, const char *pkg, const char *action,
		   struct ncf_blob **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_package_name(pkg) || !ncf_is_valid_name(action))
		return -ENOENT;
	return request_backend(c)->get_action(c, pkg, action, out, err);
}

int ncf_get_trigger(struct ncf_client *c, const char *trigger,
		    struct ncf_blob **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_name(trigger))
		return -ENOENT;
	return request_backend(c)->get_trigger(c, trigger, out, err);
}

int ncf_get_activation(struct ncf_client *c, const char *pkg,
		       const char *action, const char *id,
		       struct ncf_activation **out, struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_package_name(pkg) || !ncf_is_valid_name(action) ||
	    !ncf_is_valid_activation_id(id))
		return -ENOENT;
	return request_backend(c)->get_activation(c, pkg, action, id, out, err);
}

int ncf_get_trigger_activation(struct ncf_client *c, const char *trigger,
			       const char *id, struct ncf_activation **out,
			       struct ncf_error *err)
{
	*out = NULL;
	if (!ncf_is_valid_name(trigger) || !ncf_is_valid_activation_id(id))
		return -ENOENT;
	return request_backend(c)->get_trigger_activation(c, trigger, id, out,
							  err);
}
