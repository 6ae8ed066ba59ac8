/* views — see views.h. */
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "parallel.h"

/* Fetches run at least this many at a time even with prefetch=0: the tsv
 * is asked for in the foreground and needs every record. */
#define VIEWS_MIN_PARALLEL 4

int views_latest(struct ncffs *fs, const struct node *owner, char *id)
{
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	if (listing->count == 0)
		rc = -ENOENT;
	else
		memcpy(id, listing->items[0].name, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, ref);
	return rc;
}

/* From the listing's status when it has one, else from the record. */
static bool is_failed(struct ncffs *fs, const struct node *owner,
		      const struct ncf_list_item *item)
{
	struct node n = *owner;
	struct ttl_ref *ref = NULL;
	bool failed;

	if (item->status)
		return strcmp(item->status, "success") != 0;
	n.kind = NODE_ACTIVATION;
	memcpy(n.id, item->name, NCF_ACTIVATION_ID_LEN + 1);
	if (fetch_activation(fs, &n, &ref) != 0)
		return false;
	failed = !fetched_activation(ref)->success;
	fetch_release(fs, ref);
	return failed;
}

int views_each_failed(struct ncffs *fs, const struct node *owner,
		      int (*each)(void *ctx, const char *id), void *ctx)
{
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL;
	size_t i;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	for (i = 0; i < listing->count && rc == 0; i++) {
		if (is_failed(fs, owner, &listing->items[i]))
			rc = each(ctx, listing->items[i].name);
	}
	fetch_release(fs, ref);
	return rc;
}

static int stop_at_match(void *ctx, const char *id)
{
	return strcmp(ctx, id) == 0 ? 1 : 0;
}

int views_check_failed(struct ncffs *fs, const struct node *owner,
		       const char *id)
{
	int rc = views_each_failed(fs, owner, stop_at_match, (void *)id);

	if (rc == 1)
		return 0;
	return rc ? rc : -ENOENT;
}

/* ---- activations.tsv ------------------------------------------------------ */

struct tsv_fetch {
	struct ncffs *fs;
	const struct node *owner;
	const struct ncf_listing *listing;
	struct ttl_ref **refs;
	int *rcs;
};

static void fetch_one(void *ctx, size_t i)
{
	struct tsv_fetch *t = ctx;
	struct node n = *t->owner;

	n.kind = NODE_ACTIVATION;
	memcpy(n.id, t->listing->items[i].name, NCF_ACTIVATION_ID_LEN + 1);
	t->rcs[i] = fetch_activation(t->fs, &n, &t->refs[i]);
}

/* Lines in listing order (newest first); a listed activation whose record
 * is not readable yet (the API answers 404 for a while) has no line. */
static int write_lines(struct tsv_fetch *t, struct ncf_blob **out)
{
	size_t i, at, cap = sizeof(RENDER_TSV_HEADER) +
			    t->listing->count * RENDER_TSV_LINE_MAX;
	char *text = malloc(cap);

	if (!text)
		return -ENOMEM;
	at = strlen(RENDER_TSV_HEADER);
	memcpy(text, RENDER_TSV_HEADER, at);
	for (i = 0; i < t->listing->count; i++) {
		if (t->rcs[i] == -ENOENT)
			continue;
		if (t->rcs[i] != 0) {
			free(text);
			return t->rcs[i];
		}
		at += render_tsv_line(t->listing->items[i].name,
				      fetched_activation(t->refs[i]), text + at,
				      RENDER_TSV_LINE_MAX);
	}
	*out = ncf_blob_new(text, at);
	free(text);
	return *out ? 0 : -ENOMEM;
}

int views_render_tsv(struct ncffs *fs, const struct node *owner,
		     struct ncf_blob **out)
{
	struct tsv_fetch t = { .fs = fs, .owner = owner };
	struct ttl_ref *listing_ref = NULL;
	unsigned threads = fs->prefetch_workers > VIEWS_MIN_PARALLEL
				   ? fs->prefetch_workers : VIEWS_MIN_PARALLEL;
	size_t i;
	int rc = fetch_activations(fs, owner, &listing_ref);

	*out = NULL;
	if (rc)
		return rc;
	t.listing = fetched_listing(listing_ref);
	t.refs = calloc(t.listing->count + 1, sizeof(*t.refs));
	t.rcs = calloc(t.listing->count + 1, sizeof(*t.rcs));
	rc = t.refs && t.rcs ? 0 : -ENOMEM;
	if (rc == 0) {
		parallel_for(t.listing->count, threads, fetch_one, &t);
		rc = write_lines(&t, out);
	}
	for (i = 0; t.refs && i < t.listing->count; i++)
		fetch_release(fs, t.refs[i]);
	free(t.refs);
	free(t.rcs);
	fetch_release(fs, listing_ref);
	return rc;
}
