/* fetch — cache keys and the loaders behind them (see fetch.h). This is
 * the only file where the cache and the client meet; it calls nothing
 * else in fs/ (a view's loader calls fetch, never the other way round)
 * but readability, whose schedule says when a record that could not be
 * read is asked again. */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/redis_tier.h"
#include "../cache/tier.h"
#include "../client/ncf_client.h"
#include "persist.h"
#include "readability.h"

#define KEY_MAX 256

/* What the cache stores: one of the three things a loader makes, and when
 * it was made. */
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

/* What fetch_take hands the cache's loader. */
struct take {
	struct ncffs *fs;
	fetch_loader_fn loader;
	void *ctx;
};

static void load_release(struct fetch_load *made)
{
	ncf_listing_free(made->listing);
	ncf_blob_free(made->blob);
	render_activation_free(made->activation);
	memset(made, 0, sizeof(*made));
}

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

/* ---- the one lookup ------------------------------------------------------ */

/* Moves the one value a loader made into f. A loader that made none, or
 * more than one, broke its contract: -EIO, never a guess. */
static int keep(struct fetched *f, struct fetch_load *made, size_t max_file)
{
	int values = !!made->listing + !!made->blob + !!made->activation;

	if (values != 1)
		return -EIO;
	if (made->blob && made->blob->len > max_file)
		return -EFBIG;
	if (made->listing) {
		f->kind = FETCHED_LISTING;
		f->u.listing = made->listing;
	} else if (made->blob) {
		f->kind = FETCHED_BLOB;
		f->u.blob = made->blob;
	} else {
		f->kind = FETCHED_ACTIVATION;
		f->u.activation = made->activation;
	}
	made->listing = NULL;
	made->blob = NULL;
	made->activation = NULL;
	return 0;
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

/* ---- the disk tier --------------------------------------------------------
 * Lookups go memory, then disk, then the API. Only what never changes goes
 * to disk (persist.h): readable records, and small per-action facts. */

static int load_kept_fact(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	const struct ncf_blob *kept = ctx;

	(void)fs;
	out->blob = ncf_blob_new(kept->data, kept->len);
	out->forever = true;
	return out->blob ? 0 : -ENOMEM;
}

/* A per-action fact made for good goes to disk too (unless it came from
 * there). */
static void keep_fact(const struct take *take, const char *key,
		      const struct fetch_load *made)
{
	if (made->forever && made->blob && take->loader != load_kept_fact &&
	    persist_is_kept_blob(key))
		cache_tier_put(take->fs->disk, key, made->blob->data,
			       made->blob->len);
}

/* ---- the record tiers -----------------------------------------------------
 * A record is looked up in memory, then on disk, then in the shared cache
 * (Redis, when cache_url= names one), then asked of the API; what the API
 * gives goes to both tiers (to Redis in the background), and a shared hit
 * is copied to disk, so the next mount on this host does not ask Redis. */

/* The tiers that keep records, nearest first; how many there are. */
static size_t record_tiers(struct ncffs *fs, struct cache_tier *out[2])
{
	size_t n = 0;

	if (fs->disk)
		out[n++] = fs->disk;
	if (fs->redis)
		out[n++] = redis_tier_as_tier(fs->redis);
	return n;
}

/* The record under key from the nearest tier that holds a readable one:
 * 0 and *out (the caller's), or -errno. Bytes in another format are a
 * miss there, and a farther tier's copy replaces them. */
static int record_from_tiers(struct ncffs *fs, const char *key,
			     struct ncf_activation **out)
{
	struct cache_tier *tiers[2];
	size_t n = record_tiers(fs, tiers), i, j;
	int rc = -ENOENT;

	for (i = 0; i < n && rc != 0; i++) {
		void *bytes = NULL;
		size_t len = 0;

		if (cache_tier_get(tiers[i], key, &bytes, &len) == 0) {
			*out = persist_decode_activation(bytes, len);
			rc = *out ? 0 : -EBADMSG;
		}
		for (j = 0; rc == 0 && j < i; j++)
			cache_tier_put(tiers[j], key, bytes, len);
		free(bytes);
	}
	return rc;
}

static void record_to_tiers(struct ncffs *fs, const char *key,
			    const struct ncf_activation *record)
{
	struct cache_tier *tiers[2];
	size_t n = record_tiers(fs, tiers), len = 0, i;
	char *bytes = n ? persist_encode_activation(record, &len) : NULL;

	for (i = 0; bytes && i < n; i++)
		cache_tier_put(tiers[i], key, bytes, len);
	free(bytes);
}

/* The cache's loader: runs the caller's, and says how long it lives. */
static int load(void *ctx, const char *key, struct ttl_load *out)
{
	const struct take *take = ctx;
	struct fetch_load made = { 0 };
	struct fetched *f = calloc(1, sizeof(*f));
	int rc = -ENOMEM;

	if (f) {
		clock_gettime(CLOCK_REALTIME, &f->loaded_at);
		rc = take->loader(take->fs, take->ctx, &made);
	}
	if (rc == 0)
		keep_fact(take, key, &made);
	if (rc == 0)
		rc = keep(f, &made, take->fs->max_file);
	if (rc != 0) {
		load_release(&made);
		free(f);
		out->value = NULL;
		/* Errors, like "not found", are remembered neg_ttl: during an
		 * outage a lookup storm costs one failed fetch per key per
		 * neg_ttl, and an expired listing is served stale that long. */
		out->ttl_ms = take->fs->neg_ttl_ms;
		return rc;
	}
	out->value = f;
	out->size = size_of(f) + sizeof(*f);
	out->ttl_ms = made.forever ? TTL_FOREVER : take->fs->list_ttl_ms;
	return 0;
}

int fetch_take(struct ncffs *fs, const char *key, fetch_loader_fn loader,
	       void *ctx, struct ttl_ref **out)
{
	struct take take = { fs, loader, ctx };

	return ttl_cache_take(fs->cache, key, load, &take, out);
}

/* A fact not in memory may be on disk, from an earlier mount. */
int fetch_peek(struct ncffs *fs, const char *key, struct ttl_ref **out)
{
	struct ncf_blob *kept = NULL;
	void *bytes = NULL;
	size_t len = 0;
	int rc = ttl_cache_peek(fs->cache, key, out);

	if (rc != -EAGAIN || !fs->disk || !persist_is_kept_blob(key) ||
	    cache_tier_get(fs->disk, key, &bytes, &len) != 0)
		return rc;
	kept = ncf_blob_new(bytes, len);
	free(bytes);
	rc = kept ? fetch_take(fs, key, load_kept_fact, kept, out) : -EAGAIN;
	ncf_blob_free(kept);
	return rc == 0 ? 0 : -EAGAIN;
}

int fetch_kept_fact(struct ncffs *fs, const char *key, char *buf,
		    size_t size)
{
	void *bytes = NULL;
	size_t len = 0;
	int rc = -ENOENT;

	if (fs->disk && persist_is_kept_blob(key) &&
	    cache_tier_get(fs->disk, key, &bytes, &len) == 0 && len < size) {
		memcpy(buf, bytes, len);
		buf[len] = '\0';
		rc = 0;
	}
	free(bytes);
	return rc;
}

void fetch_keep_fact(struct ncffs *fs, const char *key, const char *text)
{
	if (fs->disk && persist_is_kept_blob(key))
		cache_tier_put(fs->disk, key, text, strlen(text));
}

/* ---- keys ---------------------------------------------------------------- */

static int fitted(int n, size_t size)
{
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int fetch_owner_key(char *key, size_t size, char prefix,
		    const struct node *owner)
{
	if (owner->under_trigger)
		return fitted(snprintf(key, size, "%c/triggers/%s", prefix,
				       owner->trigger), size);
	return fitted(snprintf(key, size, "%c/packages/%s/actions/%s", prefix,
			       owner->pkg, owner->action), size);
}

static int activation_key(char *key, size_t size, const struct node *n)
{
	char owner[KEY_MAX / 2]; /* "R/packages/" + two names: ~120 bytes */
	int rc = fetch_owner_key(owner, sizeof(owner), 'R', n);

	return rc ? rc : fitted(snprintf(key, size, "%s/activations/%s", owner,
					 n->id), size);
}

/* ---- the API objects ----------------------------------------------------- */

static int load_packages(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	(void)ctx;
	return ncf_list_packages(fs->client, &out->listing, NULL);
}

int fetch_packages(struct ncffs *fs, struct ttl_ref **out)
{
	return fetch_take(fs, "L/packages", load_packages, NULL, out);
}

static int load_actions(struct ncffs *fs, void *pkg, struct fetch_load *out)
{
	return ncf_list_actions(fs->client, pkg, &out->listing, NULL);
}

int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = fitted(snprintf(key, sizeof(key), "L/packages/%s/actions",
				 pkg), sizeof(key));

	*out = NULL;
	return rc ? rc : fetch_take(fs, key, load_actions, (void *)pkg, out);
}

static int load_triggers(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	(void)ctx;
	return ncf_list_triggers(fs->client, &out->listing, NULL);
}

int fetch_triggers(struct ncffs *fs, struct ttl_ref **out)
{
	return fetch_take(fs, "L/triggers", load_triggers, NULL, out);
}

static int load_activations(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	const struct node *n = ctx;

	if (n->under_trigger)
		return ncf_list_trigger_activations(fs->client, n->trigger,
						    &out->listing, NULL);
	return ncf_list_activations(fs->client, n->pkg, n->action,
				    &out->listing, NULL);
}

static int activations_key(char *key, size_t size, const struct node *owner)
{
	char prefix[KEY_MAX / 2];
	int rc = fetch_owner_key(prefix, sizeof(prefix), 'L', owner);

	return rc ? rc : fitted(snprintf(key, size, "%s/activations", prefix),
				size);
}

int fetch_activations(struct ncffs *fs, const struct node *owner,
		      struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = activations_key(key, sizeof(key), owner);

	*out = NULL;
	return rc ? rc
		  : fetch_take(fs, key, load_activations, (void *)owner, out);
}

int fetch_activations_peek(struct ncffs *fs, const struct node *owner,
			   struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = activations_key(key, sizeof(key), owner);

	*out = NULL;
	return rc ? rc : fetch_peek(fs, key, out);
}

struct slice {
	const struct node *owner;
	const struct ncf_list_query *query;
};

static int load_slice(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	const struct slice *s = ctx;

	if (s->owner->under_trigger)
		return ncf_query_trigger_activations(fs->client, s->owner->trigger,
						     s->query, &out->listing, NULL);
	return ncf_query_activations(fs->client, s->owner->pkg,
				     s->owner->action, s->query, &out->listing,
				     NULL);
}

/* S, the owner, and the query's four numbers: one key per slice. */
int fetch_activation_slice(struct ncffs *fs, const struct node *owner,
			   const struct ncf_list_query *query,
			   struct ttl_ref **out)
{
	struct slice s = { owner, query };
	char key[KEY_MAX], prefix[KEY_MAX / 2];
	int rc = fetch_owner_key(prefix, sizeof(prefix), 'S', owner);

	*out = NULL;
	if (rc == 0)
		rc = fitted(snprintf(key, sizeof(key), "%s/activations?%zu,%zu,%lld,%lld",
				     prefix, query->page_no, query->page_size,
				     (long long)query->start_ms,
				     (long long)query->end_ms), sizeof(key));
	return rc ? rc : fetch_take(fs, key, load_slice, &s, out);
}

static int load_action_json(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	const struct node *n = ctx;

	return ncf_get_action(fs->client, n->pkg, n->action, &out->blob, NULL);
}

int fetch_action_json(struct ncffs *fs, const struct node *action,
		      struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = fetch_owner_key(key, sizeof(key), 'A', action);

	*out = NULL;
	return rc ? rc
		  : fetch_take(fs, key, load_action_json, (void *)action, out);
}

static int load_trigger_json(struct ncffs *fs, void *ctx,
			     struct fetch_load *out)
{
	const struct node *n = ctx;

	return ncf_get_trigger(fs->client, n->trigger, &out->blob, NULL);
}

int fetch_trigger_json(struct ncffs *fs, const struct node *trigger,
		       struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = fetch_owner_key(key, sizeof(key), 'G', trigger);

	*out = NULL;
	return rc ? rc
		  : fetch_take(fs, key, load_trigger_json, (void *)trigger, out);
}

static int activation_from_api(struct ncffs *fs, const struct node *n,
			       struct ncf_activation **record)
{
	if (n->under_trigger)
		return ncf_get_trigger_activation(fs->client, n->trigger, n->id,
						  record, NULL);
	return ncf_get_activation(fs->client, n->pkg, n->action, n->id, record,
				  NULL);
}

/* Records never change once readable: rendered once, kept until evicted,
 * and kept on disk for the next mount and in Redis for the fleet. One that
 * answered "not found" is asked of the API again only when readability's
 * schedule says so (backoff and the mount's budget); until then that
 * answer stands, with no request. The tiers come first: a record one of
 * them holds is readable, whatever the schedule says. */
static int load_activation(struct ncffs *fs, void *ctx, struct fetch_load *out)
{
	const struct node *n = ctx;
	struct ncf_activation *record = NULL;
	char key[KEY_MAX];
	bool keyed = (fs->disk || fs->redis) &&
		     activation_key(key, sizeof(key), n) == 0;
	int rc = keyed ? record_from_tiers(fs, key, &record) : -ENOENT;

	if (rc != 0) {
		rc = readability_may_ask(fs->readability, n->id);
		if (rc)
			return rc;
		rc = activation_from_api(fs, n, &record);
		if (rc == 0 && keyed)
			record_to_tiers(fs, key, record);
	}
	if (rc == 0) {
		out->activation = render_activation(record, fs->max_file);
		rc = out->activation ? 0 : -ENOMEM;
	}
	readability_note(fs->readability, n->id, rc);
	out->forever = true;
	ncf_activation_free(record);
	return rc;
}

int fetch_activation(struct ncffs *fs, const struct node *n,
		     struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = activation_key(key, sizeof(key), n);

	*out = NULL;
	return rc ? rc : fetch_take(fs, key, load_activation, (void *)n, out);
}

int fetch_activation_again(struct ncffs *fs, const struct node *n,
			   struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = activation_key(key, sizeof(key), n);

	*out = NULL;
	if (rc)
		return rc;
	ttl_cache_forget_error(fs->cache, key);
	return fetch_take(fs, key, load_activation, (void *)n, out);
}

int fetch_activations_since(struct ncffs *fs, const struct node *owner,
			    int64_t start_ms, struct ncf_listing **out)
{
	/* Every page of the window, at the mount's page size: a poll costs
	 * one request while fewer than a page of runs are in it. */
	const struct ncf_list_query q = { 0, 0, start_ms, NCF_UNKNOWN };

	*out = NULL;
	if (owner->under_trigger)
		return ncf_query_trigger_activations(fs->client, owner->trigger,
						     &q, out, NULL);
	return ncf_query_activations(fs->client, owner->pkg, owner->action, &q,
				     out, NULL);
}

int fetch_activation_peek(struct ncffs *fs, const struct node *n,
			  struct ttl_ref **out)
{
	char key[KEY_MAX];
	int rc = activation_key(key, sizeof(key), n);

	*out = NULL;
	return rc ? rc : ttl_cache_peek(fs->cache, key, out);
}

bool fetch_activation_is_present(struct ncffs *fs, const struct node *n)
{
	char key[KEY_MAX];

	return activation_key(key, sizeof(key), n) == 0 &&
	       ttl_cache_is_present(fs->cache, key);
}

void fetch_release(struct ncffs *fs, struct ttl_ref *ref)
{
	ttl_cache_release(fs->cache, ref);
}

/* ---- views of references ------------------------------------------------- */

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
