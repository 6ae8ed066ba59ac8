/* fetch — cache keys and the loaders behind them (see fetch.h). This is
 * the only file where the cache and the client meet. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../client/ncf_client.h"
#include "views.h"

#define KEY_MAX 256

enum fetched_kind {
	FETCHED_LISTING,
	FETCHED_BLOB,
	FETCHED_ACTIVATION,
};

struct fetched {
	enum fetched_kind kind;
	struct timespec loaded_at;
	union {
		struct ncf_listing *listing;
		struct ncf_blob *blob;
		struct rendered_activation *activation;
	} u;
};

enum request_kind {
	REQ_PACKAGES,
	REQ_ACTIONS,
	REQ_TRIGGERS,
	REQ_ACTIVATIONS,
	REQ_ACTION_JSON,
	REQ_TRIGGER_JSON,
	REQ_ACTIVATION,
	REQ_TSV,
};

struct request {
	struct ncffs *fs;
	enum request_kind kind;
	const struct node *node;
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

/* ---- loaders ----------------------------------------------------------- */

static int load_listing(const struct request *req, struct fetched *f)
{
	struct ncf_client *client = req->fs->client;
	const struct node *n = req->node;

	f->kind = FETCHED_LISTING;
	switch (req->kind) {
	case REQ_PACKAGES:
		return ncf_list_packages(client, &f->u.listing, NULL);
	case REQ_ACTIONS:
		return ncf_list_actions(client, n->pkg, &f->u.listing, NULL);
	case REQ_TRIGGERS:
		return ncf_list_triggers(client, &f->u.listing, NULL);
	default:
		if (n->under_trigger)
			return ncf_list_trigger_activations(client, n->trigger,
							    &f->u.listing, NULL);
		return ncf_list_activations(client, n->pkg, n->action,
					    &f->u.listing, NULL);
	}
}

static int load_blob(const struct request *req, struct fetched *f)
{
	struct ncf_client *client = req->fs->client;
	const struct node *n = req->node;
	int rc;

	f->kind = FETCHED_BLOB;
	if (req->kind == REQ_TSV)
		rc = views_render_tsv(req->fs, n, &f->u.blob);
	else if (req->kind == REQ_TRIGGER_JSON)
		rc = ncf_get_trigger(client, n->trigger, &f->u.blob, NULL);
	else
		rc = ncf_get_action(client, n->pkg, n->action, &f->u.blob, NULL);
	if (rc == 0 && f->u.blob->len > req->fs->max_file)
		rc = -EFBIG;
	return rc;
}

static int load_activation(const struct request *req, struct fetched *f)
{
	struct ncf_client *client = req->fs->client;
	const struct node *n = req->node;
	struct ncf_activation *record = NULL;
	int rc;

	f->kind = FETCHED_ACTIVATION;
	if (n->under_trigger)
		rc = ncf_get_trigger_activation(client, n->trigger, n->id, &record,
						NULL);
	else
		rc = ncf_get_activation(client, n->pkg, n->action, n->id, &record,
					NULL);
	if (rc == 0) {
		f->u.activation = render_activation(record, req->fs->max_file);
		rc = f->u.activation ? 0 : -ENOMEM;
	}
	ncf_activation_free(record);
	return rc;
}

static size_t size_of(const struct fetched *f)
{
	switch (f->kind) {
	case FETCHED_LISTING:
		return f->u.listing->bytes + sizeof(*f->u.listing);
	case FETCHED_BLOB:
		return f->u.blob->len + sizeof(*f->u.blob);
	case FETCHED_ACTIVATION:
		return f->u.activation->bytes;
	}
	return 0;
}

static int call_client(const struct request *req, struct fetched *f)
{
	switch (req->kind) {
	case REQ_ACTIVATION:
		return load_activation(req, f);
	case REQ_ACTION_JSON:
	case REQ_TRIGGER_JSON:
	case REQ_TSV:
		return load_blob(req, f);
	default:
		return load_listing(req, f);
	}
}

static int load(void *ctx, const char *key, struct ttl_load *out)
{
	const struct request *req = ctx;
	struct fetched *f = calloc(1, sizeof(*f));
	int rc = -ENOMEM;

	(void)key;
	if (f) {
		clock_gettime(CLOCK_REALTIME, &f->loaded_at);
		rc = call_client(req, f);
	}
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
	out->size = size_of(f) + sizeof(*f);
	out->ttl_ms = req->kind == REQ_ACTIVATION ? TTL_FOREVER : req->fs->list_ttl_ms;
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

/* Keys are the API paths (validated names only), prefixed by what is stored
 * under them: L listing, A/G definition, R record, T activations.tsv. */
static void owner_key(char *key, size_t size, char prefix, const struct node *n)
{
	if (n->under_trigger)
		snprintf(key, size, "%c/triggers/%s", prefix, n->trigger);
	else
		snprintf(key, size, "%c/packages/%s/actions/%s", prefix, n->pkg,
			 n->action);
}

static void activation_key(char *key, size_t size, const struct node *n)
{
	char owner[KEY_MAX / 2]; /* "R/packages/" + two names: ~120 bytes */

	owner_key(owner, sizeof(owner), 'R', n);
	snprintf(key, size, "%s/activations/%s", owner, n->id);
}

static int take(struct ncffs *fs, enum request_kind kind, const struct node *n,
		const char *key, struct ttl_ref **out)
{
	struct request req = { fs, kind, n };

	return ttl_cache_take(fs->cache, key, load, &req, out);
}

int fetch_packages(struct ncffs *fs, struct ttl_ref **out)
{
	struct node n = { 0 };

	return take(fs, REQ_PACKAGES, &n, "L/packages", out);
}

int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out)
{
	struct node n = { 0 };
	char key[KEY_MAX];

	snprintf(n.pkg, sizeof(n.pkg), "%s", pkg);
	snprintf(key, sizeof(key), "L/packages/%s/actions", pkg);
	return take(fs, REQ_ACTIONS, &n, key, out);
}

int fetch_triggers(struct ncffs *fs, struct ttl_ref **out)
{
	struct node n = { 0 };

	return take(fs, REQ_TRIGGERS, &n, "L/triggers", out);
}

int fetch_activations(struct ncffs *fs, const struct node *owner,
		      struct ttl_ref **out)
{
	char key[KEY_MAX], prefix[KEY_MAX / 2];

	owner_key(prefix, sizeof(prefix), 'L', owner);
	snprintf(key, sizeof(key), "%s/activations", prefix);
	return take(fs, REQ_ACTIVATIONS, owner, key, out);
}

int fetch_action_json(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out)
{
	struct node n = { 0 };
	char key[KEY_MAX];

	snprintf(n.pkg, sizeof(n.pkg), "%s", pkg);
	snprintf(n.action, sizeof(n.action), "%s", action);
	owner_key(key, sizeof(key), 'A', &n);
	return take(fs, REQ_ACTION_JSON, &n, key, out);
}

int fetch_trigger_json(struct ncffs *fs, const char *trigger,
		       struct ttl_ref **out)
{
	struct node n = { .under_trigger = true };
	char key[KEY_MAX];

	snprintf(n.trigger, sizeof(n.trigger), "%s", trigger);
	owner_key(key, sizeof(key), 'G', &n);
	return take(fs, REQ_TRIGGER_JSON, &n, key, out);
}

int fetch_activation(struct ncffs *fs, const struct node *n,
		     struct ttl_ref **out)
{
	char key[KEY_MAX];

	activation_key(key, sizeof(key), n);
	return take(fs, REQ_ACTIVATION, n, key, out);
}

int fetch_tsv(struct ncffs *fs, const struct node *owner, struct ttl_ref **out)
{
	char key[KEY_MAX];

	owner_key(key, sizeof(key), 'T', owner);
	return take(fs, REQ_TSV, owner, key, out);
}

bool fetch_activation_is_present(struct ncffs *fs, const struct node *n)
{
	char key[KEY_MAX];

	activation_key(key, sizeof(key), n);
	return ttl_cache_is_present(fs->cache, key);
}

void fetch_release(struct ncffs *fs, struct ttl_ref *ref)
{
	ttl_cache_release(fs->cache, ref);
}

/* ---- views of references -------------------------------------------------- */

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

struct timespec fetched_time(const struct ttl_ref *ref)
{
	return fetched_of(ref)->loaded_at;
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
