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
/* How far from each end of a listing to look for a readable record when
 * finding which end is the newest, and how much further in from the newest
 * end to look for the newest readable one. */
#define ORDER_PROBE_STEPS 4
#define LATEST_SCAN_MAX 64

/* ---- the order of a listing -------------------------------------------- */

/* A record that cannot be shown (not readable yet, malformed, too big)
 * says nothing about the order; a failed fetch is an answer of its own. */
static bool is_unreadable(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || rc == -EFBIG;
}

/* The start of the readable record nearest one end of the listing, stepping
 * inwards at most steps items from skip on. *at gets its index. -ENOENT when
 * none of them is readable; a failed fetch is returned as it is. */
static int readable_end(struct ncffs *fs, const struct node *owner,
			const struct ncf_listing *listing, bool from_front,
			size_t skip, size_t steps, size_t *at, int64_t *start)
{
	struct node n = *owner;
	size_t step;
	int rc = -ENOENT;

	n.kind = NODE_ACTIVATION;
	for (step = skip; step < skip + steps && step < listing->count; step++) {
		struct ttl_ref *ref = NULL;
		size_t i = from_front ? step : listing->count - 1 - step;

		memcpy(n.id, listing->items[i].name, NCF_ACTIVATION_ID_LEN + 1);
		rc = fetch_activation(fs, &n, &ref);
		if (rc == 0) {
			*at = i;
			*start = fetched_activation(ref)->start_ms;
			fetch_release(fs, ref);
			return 0;
		}
		if (!is_unreadable(rc))
			return rc;
	}
	return -ENOENT;
}

/* The API does not document the order of activation lists (OpenWhisk lists
 * newest first), so the records at both ends of the list decide: the end
 * with the later start is the newest. When only one end has a readable
 * record, the other end is the newest: fresh activations are the ones the
 * API does not return yet (for up to ~40 s), and a burst of them fills an
 * end; the newest readable one is then looked for further in from there.
 * Records are cached for good, so after the first look this costs at most
 * the record of a new newest one. The one assumption: a list is sorted by
 * start, one way or the other. */
static int find_newest(struct ncffs *fs, const struct node *owner,
		       const struct ncf_listing *listing, size_t *newest,
		       bool *newest_first)
{
	size_t front_at = 0, back_at = 0;
	int64_t front = NCF_UNKNOWN, back = NCF_UNKNOWN;
	int front_rc, back_rc, rc = 0;

	*newest_first = true;
	*newest = 0;
	if (listing->count < 2)
		return listing->count ? 0 : -ENOENT;
	front_rc = readable_end(fs, owner, listing, true, 0, ORDER_PROBE_STEPS,
				&front_at, &front);
	back_rc = front_rc == 0 || front_rc == -ENOENT
			  ? readable_end(fs, owner, listing, false, 0,
					 ORDER_PROBE_STEPS, &back_at, &back)
			  : front_rc;
	if (back_rc != 0 && back_rc != -ENOENT)
		return back_rc;
	if (front_rc == 0 && back_rc == 0) {
		*newest_first = front >= back;
		*newest = *newest_first ? front_at : back_at;
	} else if (front_rc == 0 || back_rc == 0) {
		*newest_first = back_rc == 0;
		rc = readable_end(fs, owner, listing, *newest_first,
				  ORDER_PROBE_STEPS, LATEST_SCAN_MAX, newest, &front);
	} else {
		rc = -ENOENT;
	}
	return rc;
}

int views_latest(struct ncffs *fs, const struct node *owner, char *id)
{
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL;
	size_t newest;
	bool newest_first;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	rc = find_newest(fs, owner, listing, &newest, &newest_first);
	if (rc == 0)
		memcpy(id, listing->items[newest].name, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, ref);
	return rc;
}

/* From the listing's status when it has one, else from the record; a record
 * that cannot be shown (not readable yet, malformed) is not known to have
 * failed, and a failed fetch is the answer. */
static int is_failed(struct ncffs *fs, const struct node *owner,
		     const struct ncf_list_item *item, bool *failed)
{
	struct node n = *owner;
	struct ttl_ref *ref = NULL;
	int rc;

	*failed = false;
	if (item->status) {
		*failed = strcmp(item->status, "success") != 0;
		return 0;
	}
	n.kind = NODE_ACTIVATION;
	memcpy(n.id, item->name, NCF_ACTIVATION_ID_LEN + 1);
	rc = fetch_activation(fs, &n, &ref);
	if (is_unreadable(rc))
		return 0;
	if (rc == 0)
		*failed = !fetched_activation(ref)->success;
	fetch_release(fs, ref);
	return rc;
}

static int each_failed_in(struct ncffs *fs, const struct node *owner,
			  const struct ncf_listing *listing, bool newest_first,
			  int (*each)(void *ctx, const char *id), void *ctx)
{
	size_t i;
	bool failed;
	int rc = 0;

	for (i = 0; i < listing->count && rc == 0; i++) {
		const struct ncf_list_item *item =
			&listing->items[newest_first ? i : listing->count - 1 - i];

		rc = is_failed(fs, owner, item, &failed);
		if (rc == 0 && failed)
			rc = each(ctx, item->name);
	}
	return rc;
}

int views_each_failed(struct ncffs *fs, const struct node *owner,
		      int (*each)(void *ctx, const char *id), void *ctx)
{
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL;
	size_t newest;
	bool newest_first = true;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	/* The order is only how the entries are sorted: when it cannot be
	 * told, the listing's own order will do. */
	if (find_newest(fs, owner, listing, &newest, &newest_first) != 0)
		newest_first = true;
	rc = each_failed_in(fs, owner, listing, newest_first, each, ctx);
	fetch_release(fs, ref);
	return rc;
}

static int stop_at_match(void *ctx, const char *id)
{
	return strcmp(ctx, id) == 0 ? 1 : 0;
}

/* Whether one id is listed and failed needs no order. */
int views_check_failed(struct ncffs *fs, const struct node *owner,
		       const char *id)
{
	struct ttl_ref *ref = NULL;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc == 0) {
		rc = each_failed_in(fs, owner, fetched_listing(ref), true,
				    stop_at_match, (void *)id);
		fetch_release(fs, ref);
	}
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

struct tsv_row {
	size_t index;
	int64_t start;
};

static int newest_row_first(const void *a, const void *b)
{
	const struct tsv_row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? 1 : -1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The rows newest first by start, whatever order the API listed them in; a
 * listed activation whose record is not readable yet (the API answers 404
 * for a while) has no row. */
static int sort_rows(const struct tsv_fetch *t, struct tsv_row *rows,
		     size_t *count)
{
	size_t i;

	*count = 0;
	for (i = 0; i < t->listing->count; i++) {
		if (t->rcs[i] == -ENOENT)
			continue;
		if (t->rcs[i] != 0)
			return t->rcs[i];
		rows[*count].index = i;
		rows[(*count)++].start = fetched_activation(t->refs[i])->start_ms;
	}
	qsort(rows, *count, sizeof(*rows), newest_row_first);
	return 0;
}

static int write_lines(struct tsv_fetch *t, struct ncf_blob **out)
{
	size_t i, at, rows_count, cap = sizeof(RENDER_TSV_HEADER) +
					t->listing->count * RENDER_TSV_LINE_MAX;
	struct tsv_row *rows = malloc((t->listing->count + 1) * sizeof(*rows));
	char *text = malloc(cap);
	int rc = rows && text ? sort_rows(t, rows, &rows_count) : -ENOMEM;

	at = strlen(RENDER_TSV_HEADER);
	if (rc == 0)
		memcpy(text, RENDER_TSV_HEADER, at);
	for (i = 0; rc == 0 && i < rows_count; i++) {
		size_t k = rows[i].index,
		       n = render_tsv_line(t->listing->items[k].name,
					   fetched_activation(t->refs[k]),
					   text + at, RENDER_TSV_LINE_MAX);

		/* A line that did not fit would be cut mid-row. */
		if (n == 0 || n >= RENDER_TSV_LINE_MAX)
			rc = -EFBIG;
		at += n;
	}
	if (rc == 0) {
		*out = ncf_blob_new(text, at);
		rc = *out ? 0 : -ENOMEM;
	}
	free(rows);
	free(text);
	return rc;
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

static int load_tsv(struct ncffs *fs, void *owner, struct fetch_load *out)
{
	return views_render_tsv(fs, owner, &out->blob);
}

int views_take_tsv(struct ncffs *fs, const struct node *owner,
		   struct ttl_ref **out)
{
	char key[128];
	int rc = fetch_owner_key(key, sizeof(key), 'T', owner);

	*out = NULL;
	return rc ? rc : fetch_take(fs, key, load_tsv, (void *)owner, out);
}
