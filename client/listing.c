/* listing — every page of a package, action or activation list.
 *
 * Paging: pageNo/pageSize until totalCount items are seen or a page comes
 * back empty; the server may send fewer items than asked for. When page 1
 * reports a totalCount, the pages it implies are fetched 8 at a time (a
 * 2,000-activation list is 20 round trips: in series that is most of a
 * cold `ls`), then paging goes on in series in case pages ran short.
 * Guards against hostile servers: a page ceiling, an item ceiling, and a
 * server that ignores pageNo (same first item twice) ends the walk. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "json.h"
#include "names.h"
#include "ncf_client.h"
#include "request.h"

#define LIST_MAX_PAGES 10000
#define LIST_MAX_ITEMS 200000
#define LIST_PARALLEL_FETCHES 8

struct page_walk {
	struct ncf_client *client;
	const char *path;
	enum ncf_list_kind kind;
	struct ncf_error *err;
};

/* One page appended to listing. */
static int fetch_page(const struct page_walk *w, size_t page_no,
		      struct ncf_listing *listing, size_t *page_items,
		      int64_t *total, struct ncf_error *err)
{
	struct response resp = { 0 };
	char target[TARGET_MAX];
	int rc = request_target(w->client, target, sizeof(target), w->path,
				page_no, request_page_size(w->client));

	*page_items = 0;
	*total = NCF_UNKNOWN;
	if (rc == 0)
		rc = request_get(w->client, target, &resp, err);
	if (rc == 0)
		rc = ncf_json_decode_page(resp.data, resp.len, w->kind, listing,
					  page_items, total);
	if (rc == -EBADMSG)
		logf_client(w->client, LOG_WARNING, "GET %s: malformed listing", target);
	free(resp.data);
	return rc;
}

/* ---- pages 2..last in parallel ----------------------------------------- */

struct page_slot {
	struct ncf_listing listing;
	size_t items;
	int rc;
};

struct parallel_pages {
	const struct page_walk *walk;
	struct page_slot *slots;  /* slots[i] holds page first_page + i */
	size_t first_page, count;
	atomic_size_t next;
};

static void *page_worker(void *arg)
{
	struct parallel_pages *pp = arg;
	size_t i;
	int64_t total;

	while ((i = atomic_fetch_add(&pp->next, 1)) < pp->count) {
		struct page_slot *slot = &pp->slots[i];

		slot->rc = fetch_page(pp->walk, pp->first_page + i, &slot->listing,
				      &slot->items, &total, NULL);
	}
	return NULL;
}

/* Moves the items of from to the end of to (which owns them after). */
static int move_items(struct ncf_listing *to, struct ncf_listing *from)
{
	struct ncf_list_item *grown;
	size_t need = to->count + from->count;

	if (need > to->capacity) {
		grown = realloc(to->items, need * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		to->items = grown;
		to->capacity = need;
	}
	if (from->count)
		memcpy(to->items + to->count, from->items,
		       from->count * sizeof(*grown));
	to->count = need;
	to->skipped += from->skipped;
	to->bytes += from->bytes;
	from->count = 0;
	return 0;
}

static void run_workers(struct parallel_pages *pp)
{
	pthread_t threads[LIST_PARALLEL_FETCHES];
	size_t started = 0, i;

	while (started < LIST_PARALLEL_FETCHES && started < pp->count &&
	       pthread_create(&threads[started], NULL, page_worker, pp) == 0)
		started++;
	page_worker(pp); /* the caller works too, and covers a failed create */
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

static void free_slot_listing(struct ncf_listing *listing)
{
	size_t i;

	for (i = 0; i < listing->count; i++) {
		free(listing->items[i].name);
		free(listing->items[i].status);
	}
	free(listing->items);
}

/* Fetches pages first_page .. first_page + count - 1 and appends them in
 * page order. *short_page is set when one of them held fewer than
 * full_size items: the list ended there. */
static int fetch_parallel(const struct page_walk *w, size_t first_page,
			  size_t count, struct ncf_listing *listing, size_t *seen,
			  bool *short_page, size_t full_size)
{
	struct parallel_pages pp = { .walk = w, .first_page = first_page,
				     .count = count };
	size_t i;
	int rc = 0;

	pp.slots = calloc(count, sizeof(*pp.slots));
	if (!pp.slots)
		return -ENOMEM;
	atomic_init(&pp.next, 0);
	run_workers(&pp);
	for (i = 0; i < count; i++) {
		if (rc == 0)
			rc = pp.slots[i].rc;
		if (rc == 0)
			rc = move_items(listing, &pp.slots[i].listing);
		*seen += pp.slots[i].items;
		*short_page = *short_page || pp.slots[i].items < full_size;
		free_slot_listing(&pp.slots[i].listing);
	}
	free(pp.slots);
	return rc;
}

/* ---- the walk ------------------------------------------------------------ */

static bool same_first_item(const struct ncf_listing *listing, size_t prev_start,
			    size_t page_start)
{
	return page_start > prev_start && page_start < listing->count &&
	       strcmp(listing->items[prev_start].name,
		      listing->items[page_start].name) == 0;
}

static bool is_done(const struct ncf_listing *listing, size_t seen,
		    int64_t total)
{
	return (total != NCF_UNKNOWN && seen >= (uint64_t)total) ||
	       listing->count > LIST_MAX_ITEMS;
}

/* Pages from page_no on, one at a time, until empty, total or a ceiling. */
static int walk_serial(const struct page_walk *w, size_t page_no,
		       struct ncf_listing *listing, size_t seen, int64_t total)
{
	size_t prev_start = listing->count, page_items;
	int64_t page_total;
	int rc = 0;

	for (; page_no <= LIST_MAX_PAGES && !is_done(listing, seen, total);
	     page_no++) {
		size_t page_start = listing->count;

		rc = fetch_page(w, page_no, listing, &page_items, &page_total, w->err);
		if (rc || page_items == 0)
			break;
		if (page_total != NCF_UNKNOWN)
			total = page_total;
		seen += page_items;
		/* A server that ignores pageNo sends page 1 forever. */
		if (page_no > 1 && same_first_item(listing, prev_start, page_start))
			break;
		prev_start = page_start;
	}
	return rc;
}

static int walk_pages(const struct page_walk *w, struct ncf_listing *listing)
{
	size_t first_items, seen, pages, next = 2;
	bool short_page = false;
	int64_t total;
	int rc = fetch_page(w, 1, listing, &first_items, &total, w->err);

	if (rc || first_items == 0)
		return rc;
	seen = first_items;
	if (total != NCF_UNKNOWN && seen < (uint64_t)total) {
		uint64_t implied = ((uint64_t)total + first_items - 1) / first_items;

		pages = implied < LIST_MAX_PAGES ? (size_t)implied : LIST_MAX_PAGES;
		/* In waves, so a totalCount that overstates the list costs one
		 * wave of empty pages, not thousands of requests. */
		while (rc == 0 && !short_page && next <= pages &&
		       seen < (uint64_t)total) {
			size_t count = pages - next + 1;

			if (count > LIST_PARALLEL_FETCHES)
				count = LIST_PARALLEL_FETCHES;
			rc = fetch_parallel(w, next, count, listing, &seen,
					    &short_page, first_items);
			next += count;
		}
		if (rc || short_page)
			return rc;
	}
	return walk_serial(w, next, listing, seen, total);
}

/* ---- the result ---------------------------------------------------------- */

static int compare_item_names(const void *a, const void *b)
{
	const struct ncf_list_item *const *x = a, *const *y = b;
	int by_name = strcmp((*x)->name, (*y)->name);

	if (by_name)
		return by_name;
	return *x < *y ? -1 : *x > *y;
}

/* Pages shift while we read them (new activations arrive at the front), so
 * an item can show up twice; keep its first appearance, keep the order. */
static int drop_duplicates(struct ncf_listing *listing)
{
	struct ncf_list_item **sorted;
	size_t i, kept = 0;

	if (listing->count < 2)
		return 0;
	sorted = malloc(listing->count * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < listing->count; i++)
		sorted[i] = &listing->items[i];
	qsort(sorted, listing->count, sizeof(*sorted), compare_item_names);
	for (i = 1; i < listing->count; i++) {
		if (strcmp(sorted[i]->name, sorted[i - 1]->name) == 0) {
			free(sorted[i]->name);
			sorted[i]->name = NULL;
		}
	}
	free(sorted);
	for (i = 0; i < listing->count; i++) {
		if (listing->items[i].name)
			listing->items[kept++] = listing->items[i];
		else
			free(listing->items[i].status);
	}
	listing->count = kept;
	return 0;
}

static int list_all(struct ncf_client *c, const char *path,
		    enum ncf_list_kind kind, struct ncf_listing **out,
		    struct ncf_error *err)
{
	struct ncf_listing *listing = calloc(1, sizeof(*listing));
	int rc = -ENOMEM;

	*out = NULL;
	if (!listing)
		return rc;
	rc = walk_pages(&(struct page_walk){ c, path, kind, err }, listing);
	if (rc == 0)
		rc = drop_duplicates(listing);
	if (rc == 0 && listing->skipped)
		logf_client(c, LOG_WARNING,
			    "%s: skipped %zu name%s that are not valid path components",
			    path, listing->skipped, listing->skipped == 1 ? "" : "s");
	if (rc == 0)
		*out = listing;
	else
		ncf_listing_free(listing);
	return rc;
}

int ncf_list_packages(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	return list_all(c, "/packages", NCF_LIST_PACKAGES, out, err);
}

int ncf_list_actions(struct ncf_client *c, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_package_name(pkg))
		return -ENOENT;
	snprintf(path, sizeof(path), "/packages/%s/actions", pkg);
	return list_all(c, path, NCF_LIST_ACTIONS, out, err);
}

int ncf_list_activations(struct ncf_client *c, const char *pkg,
			 const char *action, struct ncf_listing **out,
			 struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_package_name(pkg) || !ncf_is_valid_name(action))
		return -ENOENT;
	snprintf(path, sizeof(path), "/packages/%s/actions/%s/activations", pkg,
		 action);
	return list_all(c, path, NCF_LIST_ACTIVATIONS, out, err);
}


int ncf_list_triggers(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	return list_all(c, "/triggers", NCF_LIST_TRIGGERS, out, err);
}

int ncf_list_trigger_activations(struct ncf_client *c, const char *trigger,
				 struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_name(trigger))
		return -ENOENT;
	snprintf(path, sizeof(path), "/triggers/%s/activations", trigger);
	return list_all(c, path, NCF_LIST_ACTIVATIONS, out, err);
}
