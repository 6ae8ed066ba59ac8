/* fetch — the wiring: cache lookups whose loaders call the client.
 *
 * Each function returns 0 and a cache reference the caller releases with
 * fetch_release, or -errno. Listings, action and trigger definitions and
 * activations.tsv live list_ttl; activation records never change once
 * readable, so they live until LRU evicts them; errors ("not found" and the
 * rest) live neg_ttl, and an expired listing whose refresh fails is served
 * stale for neg_ttl more.
 *
 * Activation functions take the node that names them: its pkg/action, or
 * its trigger when under_trigger, and its id. */
#ifndef NCFFS_FETCH_H
#define NCFFS_FETCH_H

#include <stdbool.h>
#include <time.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_types.h"
#include "ncffs.h"
#include "render.h"
#include "tree.h"

int fetch_packages(struct ncffs *fs, struct ttl_ref **out);
int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out);
int fetch_triggers(struct ncffs *fs, struct ttl_ref **out);
int fetch_activations(struct ncffs *fs, const struct node *owner,
		      struct ttl_ref **out);
int fetch_action_json(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out);
int fetch_trigger_json(struct ncffs *fs, const char *trigger,
		       struct ttl_ref **out);
int fetch_activation(struct ncffs *fs, const struct node *n,
		     struct ttl_ref **out);
/* activations.tsv of an action (a blob). */
int fetch_tsv(struct ncffs *fs, const struct node *owner, struct ttl_ref **out);

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
