/* fetch — the wiring: cache lookups whose loaders call the client.
 *
 * One generic lookup, fetch_take: a key, and a loader that makes what is
 * stored under it. A view with data of its own (activations.tsv) owns its
 * loader and calls fetch_take; the API objects every part of the tree
 * shares (listings, definitions, records) have their fetch_* here.
 *
 * Invariants:
 *  - A key names one value: its first letter says what is stored under it
 *    (L listing, A/G action/trigger definition, R record, T activations.tsv;
 *    a view picks a letter of its own), the rest is the API path of the
 *    object it comes from (validated names only).
 *  - Listings, definitions and whatever a loader makes live list_ttl;
 *    records never change once readable, so they live until LRU evicts
 *    them, and a missed record is looked up on disk, then in the shared
 *    Redis (when there is one), before the API; errors ("not found" and the rest) live neg_ttl, and an expired
 *    value whose refresh fails is served stale for neg_ttl more.
 *  - A blob larger than max_file is -EFBIG, whoever made it.
 *  - Every function that returns 0 hands out a reference the caller owns
 *    and gives back with fetch_release; on -errno there is none (*out is
 *    NULL).
 *
 * Activation functions take the node that names them: its pkg/action, or
 * its trigger when under_trigger, and its id. */
#ifndef NCFFS_FETCH_H
#define NCFFS_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_types.h"
#include "ncffs.h"
#include "render.h"
#include "tree.h"

/* What a loader makes: exactly one of the three, on success. The loader
 * gives it to fetch_take, which frees it on failure. */
struct fetch_load {
	struct ncf_listing *listing;
	struct ncf_blob *blob;
	struct rendered_activation *activation;
	bool forever; /* never changes once loaded: kept until evicted */
};

/* Returns 0 with out filled, or -errno (then out may hold nothing). */
typedef int (*fetch_loader_fn)(struct ncffs *fs, void *ctx,
			       struct fetch_load *out);

/* The value under key, made by loader(fs, ctx) on a miss or expiry (one
 * load at a time per key; others wait for it). */
int fetch_take(struct ncffs *fs, const char *key, fetch_loader_fn loader,
	       void *ctx, struct ttl_ref **out);

/* What key holds if it is cached and fresh, without loading it: 0 and a
 * reference, or -EAGAIN. */
int fetch_peek(struct ncffs *fs, const char *key, struct ttl_ref **out);

/* A small fact about an owner kept on disk across mounts (a key that
 * persist_is_kept_blob accepts), read straight from the disk tier into buf
 * as a string: 0, or -ENOENT (no disk tier, none kept, or too long). The
 * caller keeps what it decides in memory itself, so a fact it replaces is
 * never served again from a cache. */
int fetch_kept_fact(struct ncffs *fs, const char *key, char *buf,
		    size_t size);
/* Keeps text under key on disk, replacing what was there; a no-op without
 * a disk tier (a failed write is the tier's to count). */
void fetch_keep_fact(struct ncffs *fs, const char *key, const char *text);

/* prefix + the API path of owner (an action or a trigger) into key.
 * 0, or -ENAMETOOLONG. */
int fetch_owner_key(char *key, size_t size, char prefix,
		    const struct node *owner);

/* The API objects. */
int fetch_packages(struct ncffs *fs, struct ttl_ref **out);
int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out);
int fetch_triggers(struct ncffs *fs, struct ttl_ref **out);
int fetch_activations(struct ncffs *fs, const struct node *owner,
		      struct ttl_ref **out);
int fetch_action_json(struct ncffs *fs, const struct node *action,
		      struct ttl_ref **out);
int fetch_trigger_json(struct ncffs *fs, const struct node *trigger,
		       struct ttl_ref **out);
int fetch_activation(struct ncffs *fs, const struct node *n,
		     struct ttl_ref **out);

/* A slice of owner's activation list (one page of a size, or every page of
 * a start window: see ncf_list_query), cached list_ttl under its own key. */
int fetch_activation_slice(struct ncffs *fs, const struct node *owner,
			   const struct ncf_list_query *query,
			   struct ttl_ref **out);

/* owner's whole activation listing when it is cached and fresh (no fetch):
 * 0 and a reference, or -EAGAIN. */
int fetch_activations_peek(struct ncffs *fs, const struct node *owner,
			   struct ttl_ref **out);
/* The record again, asking the API even when it answered "not found" less
 * than neg_ttl ago: for follow.log's pollers, which retry a record the
 * API lists but does not return yet on their own schedule. Otherwise as
 * fetch_activation (a readable record is cached for good). */
int fetch_activation_again(struct ncffs *fs, const struct node *n,
			   struct ttl_ref **out);

/* The owner's activations that started at or after start_ms (NCF_UNKNOWN:
 * the API's default window), every page of that window, straight from the
 * API: never cached, since a poll that a cache answered would see nothing
 * new. *out is the caller's, freed with ncf_listing_free. */
int fetch_activations_since(struct ncffs *fs, const struct node *owner,
			    int64_t start_ms, struct ncf_listing **out);

/* The record when memory holds it already: 0 and a reference, or -EAGAIN
 * (never a fetch, from the API or a cache tier). */
int fetch_activation_peek(struct ncffs *fs, const struct node *n,
			  struct ttl_ref **out);

/* Whether the record is cached or being fetched right now (no fetch). */
bool fetch_activation_is_present(struct ncffs *fs, const struct node *n);

void fetch_release(struct ncffs *fs, struct ttl_ref *ref);

/* Borrowed views of what a reference holds (valid until released); NULL
 * when the reference holds another kind of value. */
const struct ncf_listing *fetched_listing(const struct ttl_ref *ref);
const struct ncf_blob *fetched_blob(const struct ttl_ref *ref);
const struct rendered_activation *fetched_activation(const struct ttl_ref *ref);
/* When the value was loaded: the mtime of files with no time of their own. */
struct timespec fetched_time(const struct ttl_ref *ref);

bool listing_has(const struct ncf_listing *listing, const char *name);

/* The cache's free_value. */
void fetched_free(void *value);

#endif
