/* listing — package, action, trigger and activation lists.
 *
 * Which lists page: the API pages only activation lists (pageNo, pageSize,
 * totalCount). The package, action and trigger lists take nothing but
 * platform and come whole in one answer, so they cost one GET; a server
 * that ignores paging parameters would otherwise answer page 1 forever.
 *
 * The walk of an activation list stops on what the server sent, never on
 * what we kept, so no server can stretch it (names we refuse still count as
 * seen; a short, empty or already-seen page ends it):
 *  - with a totalCount T and pages of P items, at most ceil(T / P) + 1
 *    requests: pages 2..ceil(T / P) in waves of 8 run by the scheduler (in series,
 *    2,000 activations are 20 round trips, most of a cold `ls`), then one
 *    more page if the list moved under us (new activations push items to
 *    later pages). P is the number of distinct items page 1 brought: a
 *    server may cap pageSize, so P is the server's to choose, and a server
 *    that sends one item a page stretches a walk to at most LIST_MAX_PAGES;
 *  - without a totalCount, pages in series until one brings nothing new: one
 *    request more than the pages that brought new items.
 * Past LIST_MAX_ITEMS items sent (or LIST_MAX_PAGES pages) the walk stops
 * and says so in the log: the listing shown is then the newest part.
 * Items are de-duplicated by name, keeping the first appearance and the
 * server's order, however often an item repeats.
 *
 * Page size: pageSize has no documented maximum, so we ask for more than the
 * default 20 (fewer round trips). A server that answers 400 with service
 * code 80000 (bad parameters) to page 1 at our size is asked again at 20;
 * when that works, 20 is used for the rest of the mount (logged once). That
 * retry is the one request a walk may cost beyond the bound above. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "backend.h"
#include "json.h"
#include "names.h"
#include "ncf_client.h"
#include "request.h"
#include "scheduler.h"

#define LIST_MAX_PAGES 10000
#define LIST_MAX_ITEMS 200000
#define LIST_PARALLEL_FETCHES 8
#define BAD_PARAMETERS_CODE "80000"

/* ---- sets of 64-bit hashes ---------------------------------------------- */

/* Open addressing; 0 marks a free slot, so a hash of 0 is stored as 1. A
 * slot may also carry a listing index (kept items), which lets a hash match
 * be checked against the name itself: a collision never drops an item. */
struct hash_set {
	uint64_t *slots;
	size_t *index;  /* NULL, or the listing index of each slot */
	size_t capacity, count;
};

static size_t slot_of(uint64_t hash, size_t capacity)
{
	return (size_t)hash & (capacity - 1);
}

static int hash_set_grow(struct hash_set *set, bool with_index)
{
	size_t capacity = set->capacity ? set->capacity * 2 : 64, i, j;
	uint64_t *slots = calloc(capacity, sizeof(*slots));
	size_t *index = with_index ? calloc(capacity, sizeof(*index)) : NULL;

	if (!slots || (with_index && !index)) {
		free(slots);
		free(index);
		return -ENOMEM;
	}
	for (i = 0; i < set->capacity; i++) {
		if (!set->slots[i])
			continue;
		for (j = slot_of(set->slots[i], capacity); slots[j];
		     j = (j + 1) & (capacity - 1))
			;
		slots[j] = set->slots[i];
		if (index)
			index[j] = set->index[i];
	}
	free(set->slots);
	free(set->index);
	set->slots = slots;
	set->index = index;
	set->capacity = capacity;
	return 0;
}

/* Adds hash unless an equal entry is there: equal means the same hash and,
 * when same_name is given, a name it accepts. 1 when added (at *at), 0 when
 * it was there already, or -ENOMEM. */
static int hash_set_add(struct hash_set *set, uint64_t hash,
			bool (*same_name)(const void *ctx, size_t index),
			const void *ctx, size_t **at)
{
	size_t i;

	if (!hash)
		hash = 1;
	if ((set->count + 1) * 2 > set->capacity &&
	    hash_set_grow(set, same_name != NULL) != 0)
		return -ENOMEM;
	for (i = slot_of(hash, set->capacity); set->slots[i];
	     i = (i + 1) & (set->capacity - 1)) {
		if (set->slots[i] == hash &&
		    (!same_name || same_name(ctx, set->index[i])))
			return 0;
	}
	set->slots[i] = hash;
	set->count++;
	if (at)
		*at = &set->index[i];
	return 1;
}

static void hash_set_release(struct hash_set *set)
{
	free(set->slots);
	free(set->index);
	memset(set, 0, sizeof(*set));
}

/* ---- one page ------------------------------------------------------------ */

struct page {
	struct ncf_listing items; /* the items with valid names */
	uint64_t *hashes;         /* one per item as sent */
	size_t sent;
	int64_t total;
	struct ncf_error err;
	int rc;
};

static void page_release(struct page *p)
{
	size_t i;

	for (i = 0; i < p->items.count; i++)
		ncf_list_item_release(&p->items.items[i]);
	free(p->items.items);
	free(p->hashes);
	memset(p, 0, sizeof(*p));
}

struct walk {
	struct ncf_client *client;
	const struct ncf_backend_ops *ops;
	const char *path;
	const char *filter;          /* the backend's, see decode_page */
	enum ncf_list_kind kind;
	struct ncf_error *err;       /* the caller's, or NULL */
	struct ncf_listing *listing; /* the result */
	struct hash_set sent;        /* every item the server sent */
	struct hash_set kept;        /* the names in listing */
	size_t full_page;            /* items in a full page: page 1's count */
	size_t pages;                /* requests made for pages */
	int64_t total;
	int64_t start_ms, end_ms;    /* the window sent with every page */
	bool done;
};

/* Fills p (page_no 0: the unpaged form, platform only). quiet: a 400 is
 * the caller's to report (a page size it may ask again at 20). */
static void fetch_page(const struct walk *w, size_t page_no, size_t page_size,
		       bool quiet, struct page *p)
{
	struct response resp = { .quiet_bad_request = quiet };
	const struct request_query q = { page_no, page_size, w->start_ms,
					 w->end_ms };
	char target[TARGET_MAX];

	p->rc = w->ops->page_target(w->client, target, sizeof(target), w->path,
				    &q);
	if (p->rc == 0)
		p->rc = request_get(w->client, target, &resp, &p->err);
	if (p->rc == 0)
		p->rc = w->ops->decode_page(resp.data, resp.len, w->kind, w->filter,
					    &p->items, &p->sent, &p->total,
					    &p->hashes);
	if (p->rc == -EBADMSG)
		logf_client(w->client, LOG_WARNING, "GET %s: malformed listing", target);
	free(resp.data);
}

struct name_probe {
	const struct ncf_listing *listing;
	const char *name;
};

static bool is_same_name(const void *ctx, size_t index)
{
	const struct name_probe *probe = ctx;

	return strcmp(probe->listing->items[index].name, probe->name) == 0;
}

/* Moves the page's items that are new by name to the result. Items moved
 * or released are left NULL, so page_release frees the rest on any path. */
static int keep_new_items(struct walk *w, struct page *p)
{
	size_t i, *at = NULL;
	int rc = 0;

	for (i = 0; i < p->items.count && rc >= 0; i++) {
		struct ncf_list_item *item = &p->items.items[i];
		struct name_probe probe = { w->listing, item->name };

		rc = hash_set_add(&w->kept, ncf_json_name_hash(item->name),
				  is_same_name, &probe, &at);
		if (rc == 1) {
			*at = w->listing->count;
			rc = ncf_listing_append(w->listing, item);
		} else if (rc == 0) {
			ncf_list_item_release(item);
		}
	}
	w->listing->skipped += p->items.skipped;
	return rc < 0 ? rc : 0;
}

/* Counts the page's items not sent before; a hash collision here costs at
 * most an early stop of the walk. */
static int count_fresh(struct walk *w, const struct page *p, size_t *fresh)
{
	size_t i;
	int rc = 0;

	*fresh = 0;
	for (i = 0; i < p->sent && rc >= 0; i++) {
		rc = hash_set_add(&w->sent, p->hashes[i], NULL, NULL, NULL);
		*fresh += rc == 1;
	}
	return rc < 0 ? rc : 0;
}

static bool is_at_a_ceiling(struct walk *w)
{
	if (w->sent.count <= LIST_MAX_ITEMS && w->pages < LIST_MAX_PAGES)
		return false;
	logf_client(w->client, LOG_WARNING,
		    "%s: stopped after %zu items in %zu pages; the rest of the list is not shown",
		    w->path, w->sent.count, w->pages);
	return true;
}

/* Takes one page into the result and decides whether the walk is over. */
static int absorb(struct walk *w, struct page *p)
{
	size_t fresh = 0;
	int rc = p->rc;

	w->pages++;
	if (rc && w->err)
		*w->err = p->err;
	if (rc == 0)
		rc = count_fresh(w, p, &fresh);
	if (rc == 0)
		rc = keep_new_items(w, p);
	if (rc == 0 && w->total == NCF_UNKNOWN)
		w->total = p->total;
	w->done = rc != 0 || fresh == 0 || p->sent < w->full_page ||
		  (w->total != NCF_UNKNOWN && w->sent.count >= (uint64_t)w->total) ||
		  is_at_a_ceiling(w);
	page_release(p);
	return rc;
}

/* ---- pages in parallel --------------------------------------------------- */

struct wave {
	const struct walk *walk;
	struct page *pages; /* pages[i] is page first + i */
	size_t first, page_size;
};

static void wave_page(void *ctx, size_t i)
{
	struct wave *wave = ctx;

	fetch_page(wave->walk, wave->first + i, wave->page_size, false,
		   &wave->pages[i]);
}

/* Pages first .. first + count - 1, taken in page order until one ends the
 * walk; the pages after that one are dropped unread. */
static int fetch_wave(struct walk *w, size_t first, size_t count,
		      size_t page_size)
{
	struct wave wave = { .walk = w, .first = first, .page_size = page_size };
	size_t i;
	int rc = 0;

	wave.pages = calloc(count, sizeof(*wave.pages));
	if (!wave.pages)
		return -ENOMEM;
	/* On the scheduler's pool, at the priority of whoever asked. */
	ncf_client_run_batch(w->client, sched_thread_priority(), count,
			     wave_page, &wave);
	for (i = 0; i < count; i++) {
		if (rc == 0 && !w->done)
			rc = absorb(w, &wave.pages[i]);
		else
			page_release(&wave.pages[i]);
	}
	free(wave.pages);
	return rc;
}

/* ---- the walk ------------------------------------------------------------ */

static bool is_refused_page_size(const struct page *p)
{
	return p->rc != 0 && p->err.http_status == 400 &&
	       strcmp(p->err.code, BAD_PARAMETERS_CODE) == 0;
}

/* A server that gives exactly what is asked (exact_pages) ended its list
 * with a short page: the walk is over, and the list's length is known
 * without a totalCount. */
static void exact_end(struct walk *w, size_t page_no, size_t page_size,
		      size_t sent)
{
	w->done = true;
	if (w->total == NCF_UNKNOWN)
		w->total = (int64_t)((page_no ? page_no - 1 : 0) * page_size + sent);
}

/* The first page asked for. At the mount's page size (page_size 0) it also
 * settles that size: a 400 "bad parameters" there is asked again at the
 * documented 20, which the mount keeps when it works. A size the caller
 * chose is the caller's: its 400 is an error like any other. */
static int first_page(struct walk *w, size_t page_no, size_t *page_size)
{
	bool ours = *page_size == 0;
	struct page p = { 0 };
	size_t sent;
	int rc;

	if (ours)
		*page_size = request_page_size(w->client);
	if (w->ops->max_page_size && *page_size > w->ops->max_page_size)
		*page_size = w->ops->max_page_size;
	ours = ours && *page_size != NCF_DOCUMENTED_PAGE_SIZE;
	fetch_page(w, page_no, *page_size, ours, &p);
	if (ours && is_refused_page_size(&p)) {
		size_t refused = *page_size;

		page_release(&p);
		*page_size = NCF_DOCUMENTED_PAGE_SIZE;
		fetch_page(w, page_no, *page_size, false, &p);
		if (p.rc == 0)
			request_refuse_page_size(w->client, refused);
	} else if (ours && p.rc != 0 && p.err.http_status == 400) {
		request_log_failure(w->client, w->path, &p.err);
	}
	sent = p.sent;
	/* A full page is what page 1 brought, repeats not counted: a server
	 * that sends every item twice must not halve the walk. */
	rc = absorb(w, &p);
	w->full_page = w->sent.count;
	if (rc == 0 && w->ops->exact_pages && sent < *page_size)
		exact_end(w, page_no, *page_size, sent);
	return rc;
}

static int walk_serial(struct walk *w, size_t page_no, size_t last_page,
		       size_t page_size)
{
	int rc = 0;

	for (; rc == 0 && !w->done && page_no <= last_page; page_no++) {
		struct page p = { 0 };
		size_t sent;

		fetch_page(w, page_no, page_size, false, &p);
		sent = p.sent;
		rc = absorb(w, &p);
		if (rc == 0 && w->ops->exact_pages && sent < page_size)
			w->done = true;
	}
	return rc;
}

static int walk_pages(struct walk *w, size_t page_size)
{
	size_t implied, next = 2;
	int rc = first_page(w, 1, &page_size);

	if (rc || w->done)
		return rc;
	if (w->total == NCF_UNKNOWN)
		return walk_serial(w, next, LIST_MAX_PAGES, page_size);
	implied = ((uint64_t)w->total + w->full_page - 1) / w->full_page;
	if (implied > LIST_MAX_PAGES)
		implied = LIST_MAX_PAGES;
	while (rc == 0 && !w->done && next <= implied) {
		size_t count = implied - next + 1;

		if (count > LIST_PARALLEL_FETCHES)
			count = LIST_PARALLEL_FETCHES;
		rc = fetch_wave(w, next, count, page_size);
		next += count;
	}
	return rc ? rc : walk_serial(w, next, next, page_size);
}

/* The whole list in one answer. A server that pages it anyway (a totalCount
 * beyond what it sent) is logged: the docs say it does not. */
static int walk_unpaged(struct walk *w)
{
	struct page p = { 0 };
	int64_t total;
	size_t sent;
	int rc;

	fetch_page(w, 0, 0, false, &p);
	total = p.total;
	sent = p.sent;
	if (p.rc == 0 && total != NCF_UNKNOWN && (uint64_t)total > sent)
		logf_client(w->client, LOG_WARNING,
			    "%s: the server lists %zu of %lld items; the API does not page this list, so the rest is not shown",
			    w->path, sent, (long long)total);
	rc = absorb(w, &p);
	w->total = NCF_UNKNOWN; /* only activation lists have one */
	return rc;
}

static const struct ncf_list_query every_page = { 0, 0, NCF_UNKNOWN,
						  NCF_UNKNOWN };

static int walk(struct walk *w, const struct ncf_list_query *q)
{
	size_t page_size = q->page_size;

	if (w->kind != NCF_LIST_ACTIVATIONS && !w->ops->pages_every_list)
		return walk_unpaged(w);
	w->start_ms = q->start_ms;
	w->end_ms = q->end_ms;
	if (q->page_no)
		return first_page(w, q->page_no, &page_size);
	return walk_pages(w, page_size);
}

int request_list(struct ncf_client *c, const char *path, const char *filter,
		 enum ncf_list_kind kind, const struct ncf_list_query *q,
		 struct ncf_listing **out, struct ncf_error *err)
{
	struct walk w = { .client = c, .ops = request_backend(c), .path = path,
			  .filter = filter, .kind = kind, .err = err,
			  .total = NCF_UNKNOWN, .start_ms = NCF_UNKNOWN,
			  .end_ms = NCF_UNKNOWN };
	int rc = -ENOMEM;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	w.listing = calloc(1, sizeof(*w.listing));
	if (w.listing)
		rc = walk(&w, q);
	if (rc == 0)
		w.listing->total_count = w.total;
	if (rc == 0 && w.listing->skipped)
		logf_client(c, LOG_WARNING,
			    "%s: skipped %zu name%s that are not valid path components",
			    path, w.listing->skipped, w.listing->skipped == 1 ? "" : "s");
	hash_set_release(&w.sent);
	hash_set_release(&w.kept);
	if (rc == 0)
		*out = w.listing;
	else
		ncf_listing_free(w.listing);
	return rc;
}

int ncp_list_packages(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	*out = request_take_probed_packages(c);
	if (*out)
		return 0;
	return request_list(c, "/packages", NULL, NCF_LIST_PACKAGES, &every_page,
			    out, err);
}

int ncp_list_actions(struct ncf_client *c, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/packages/%s/actions", pkg);
	return request_list(c, path, NULL, NCF_LIST_ACTIONS, &every_page, out,
			    err);
}

int ncp_query_activations(struct ncf_client *c, const char *pkg,
			  const char *action, const struct ncf_list_query *q,
			  struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/packages/%s/actions/%s/activations", pkg,
		 action);
	return request_list(c, path, NULL, NCF_LIST_ACTIVATIONS, q, out, err);
}

int ncp_list_triggers(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	return request_list(c, "/triggers", NULL, NCF_LIST_TRIGGERS, &every_page,
			    out, err);
}

int ncp_query_trigger_activations(struct ncf_client *c, const char *trigger,
				  const struct ncf_list_query *q,
				  struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/triggers/%s/activations", trigger);
	return request_list(c, path, NULL, NCF_LIST_ACTIVATIONS, q, out, err);
}

int ncp_probe(struct ncf_client *c, struct ncf_error *err)
{
	struct ncf_listing *packages = NULL;
	int rc = request_list(c, "/packages", NULL, NCF_LIST_PACKAGES, &every_page,
			      &packages, err);

	if (rc == 0)
		request_keep_probed_packages(c, packages);
	return rc;
}
