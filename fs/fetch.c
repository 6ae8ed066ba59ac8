/* fetch — cache keys and the loaders behind them (see fetch.h). This is
 * the only file where the cache and the client meet. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/ncf_client.h"

#define KEY_MAX 256
#define ACTIVATION_KEY "R/packages/%s/actions/%s/activations/%s"

enum fetched_kind {
	FETCHED_LISTING,
	FETCHED_BLOB,
	FETCHED_ACTIVATION,
};

struct fetched {
	enum fetched_kind kind;
	union {
		struct ncf_listing *listing;
		struct ncf_blob *blob;
		struct rendered_activation *activation;
	} u;
};

enum request_kind {
	REQ_PACKAGES,
	REQ_ACTIONS,
	REQ_ACTIVATIONS,
	REQ_ACTION,
	REQ_ACTIVATION,
};

struct request {
	struct ncffs *fs;
	enum request_kind kind;
	const char *pkg, *action, *id;
};

void fetched_free(void *value)
{
	struct fetched *f = value;

	if (!f)
		return;
	switch (f->kind) {
	case FETCHED_LISTING:
		ncf_listing_free(f->u.listing);
		break;
	case FETCHED_BLOB:
		ncf_blob_free(f->u.blob);
		break;
	case FETCHED_ACTIVATION:
		render_activation_free(f->u.activation);
		break;
	}
	free(f);
}

static int call_client(const struct request *req, struct fetched *f,
		       size_t *size)
{
	struct ncf_client *client = req->fs->client;
	struct ncf_activation *record = NULL;
	int rc = -EINVAL;

	switch (req->kind) {
	case REQ_PACKAGES:
		f->kind = FETCHED_LISTING;
		rc = ncf_list_packages(client, &f->u.listing, NULL);
		break;
	case REQ_ACTIONS:
		f->kind = FETCHED_LISTING;
		rc = ncf_list_actions(client, req->pkg, &f->u.listing, NULL);
		break;
	case REQ_ACTIVATIONS:
		f->kind = FETCHED_LISTING;
		rc = ncf_list_activations(client, req->pkg, req->action,
					  &f->u.listing, NULL);
		break;
	case REQ_ACTION:
		f->kind = FETCHED_BLOB;
		rc = ncf_get_action(client, req->pkg, req->action, &f->u.blob, NULL);
		if (rc == 0 && f->u.blob->len > req->fs->max_file)
			rc = -EFBIG;
		if (rc == 0)
			*size = f->u.blob->len;
		return rc;
	case REQ_ACTIVATION:
		f->kind = FETCHED_ACTIVATION;
		rc = ncf_get_activation(client, req->pkg, req->action, req->id,
					&record, NULL);
		if (rc == 0) {
			f->u.activation = render_activation(record, req->fs->max_file);
			rc = f->u.activation ? 0 : -ENOMEM;
		}
		if (rc == 0)
			*size = f->u.activation->bytes;
		ncf_activation_free(record);
		return rc;
	}
	if (rc == 0)
		*size = f->u.listing->bytes + sizeof(*f->u.listing);
	return rc;
}

static int64_t ttl_for(const struct request *req)
{
	return req->kind == REQ_ACTIVATION ? TTL_FOREVER : req->fs->list_ttl_ms;
}

static int load(void *ctx, const char *key, struct ttl_load *out)
{
	const struct request *req = ctx;
	struct fetched *f = calloc(1, sizeof(*f));
	size_t size = 0;
	int rc = -ENOMEM;

	(void)key;
	if (f)
		rc = call_client(req, f, &size);
	if (rc != 0) {
		fetched_free(f);
		out->value = NULL;
		/* Errors, like "not found", are remembered neg_ttl: during an
		 * outage a lookup storm costs one failed fetch per key per
		 * neg_ttl, and an expired listing is served stale that long. */
		out->ttl_ms = req->fs->neg_ttl_ms;
		return rc;
	}
	out->value = f;
	out->size = size + sizeof(*f);
	out->ttl_ms = ttl_for(req);
	return 0;
}

static int take(struct request *req, const char *key_fmt, struct ttl_ref **out)
{
	char key[KEY_MAX];

	snprintf(key, sizeof(key), key_fmt, req->pkg, req->action, req->id);
	return ttl_cache_take(req->fs->cache, key, load, req, out);
}

int fetch_packages(struct ncffs *fs, struct ttl_ref **out)
{
	struct request req = { fs, REQ_PACKAGES, "", "", "" };

	return take(&req, "L/packages%s%s%s", out);
}

int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out)
{
	struct request req = { fs, REQ_ACTIONS, pkg, "", "" };

	return take(&req, "L/packages/%s/actions%s%s", out);
}

int fetch_activations(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out)
{
	struct request req = { fs, REQ_ACTIVATIONS, pkg, action, "" };

	return take(&req, "L/packages/%s/actions/%s/activations%s", out);
}

int fetch_action_json(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out)
{
	struct request req = { fs, REQ_ACTION, pkg, action, "" };

	return take(&req, "A/packages/%s/actions/%s%s", out);
}

int fetch_activation(struct ncffs *fs, const char *pkg, const char *action,
		     const char *id, struct ttl_ref **out)
{
	struct request req = { fs, REQ_ACTIVATION, pkg, action, id };

	return take(&req, ACTIVATION_KEY, out);
}

bool fetch_activation_is_present(struct ncffs *fs, const char *pkg,
				 const char *action, const char *id)
{
	char key[KEY_MAX];

	snprintf(key, sizeof(key), ACTIVATION_KEY, pkg, action, id);
	return ttl_cache_is_present(fs->cache, key);
}

void fetch_release(struct ncffs *fs, struct ttl_ref *ref)
{
	ttl_cache_release(fs->cache, ref);
}

static const struct fetched *fetched_of(const struct ttl_ref *ref)
{
	return ttl_ref_value(ref);
}

const struct ncf_listing *fetched_listing(const struct ttl_ref *ref)
{
	const struct fetched *f = fetched_of(ref);

	return f->kind == FETCHED_LISTING ? f->u.listing : NULL;
}

const struct ncf_blob *fetched_blob(const struct ttl_ref *ref)
{
	const struct fetched *f = fetched_of(ref);

	return f->kind == FETCHED_BLOB ? f->u.blob : NULL;
}

const struct rendered_activation *fetched_activation(const struct ttl_ref *ref)
{
	const struct fetched *f = fetched_of(ref);

	return f->kind == FETCHED_ACTIVATION ? f->u.activation : NULL;
}

bool listing_has(const struct ncf_listing *listing, const char *name)
{
	size_t i;

	for (i = 0; listing && i < listing->count; i++) {
		if (strcmp(listing->items[i].name, name) == 0)
			return true;
	}
	return false;
}
