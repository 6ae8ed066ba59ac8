/* fetch — the wiring: cache lookups whose loaders call the client.
 *
 * Each function returns 0 and a cache reference the caller releases with
 * fetch_release, or -errno. Listings and action definitions live list_ttl;
 * activation records never change once readable, so they live until LRU
 * evicts them; errors ("not found" and the rest) live neg_ttl, and an
 * expired listing whose refresh fails is served stale for neg_ttl more. */
#ifndef NCFFS_FETCH_H
#define NCFFS_FETCH_H

#include <stdbool.h>

#include "../cache/ttl_cache.h"
#include "../client/ncf_types.h"
#include "ncffs.h"
#include "render.h"

int fetch_packages(struct ncffs *fs, struct ttl_ref **out);
int fetch_actions(struct ncffs *fs, const char *pkg, struct ttl_ref **out);
int fetch_activations(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out);
int fetch_action_json(struct ncffs *fs, const char *pkg, const char *action,
		      struct ttl_ref **out);
int fetch_activation(struct ncffs *fs, const char *pkg, const char *action,
		     const char *id, struct ttl_ref **out);

/* Whether the record is cached or being fetched right now (no fetch). */
bool fetch_activation_is_present(struct ncffs *fs, const char *pkg,
				 const char *action, const char *id);

void fetch_release(struct ncffs *fs, struct ttl_ref *ref);

/* Borrowed views of what a reference holds (valid until released). */
const struct ncf_listing *fetched_listing(const struct ttl_ref *ref);
const struct ncf_blob *fetched_blob(const struct ttl_ref *ref);
const struct rendered_activation *fetched_activation(const struct ttl_ref *ref);

bool listing_has(const struct ncf_listing *listing, const char *name);

/* The cache's free_value. */
void fetched_free(void *value);

#endif
