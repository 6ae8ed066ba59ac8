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
 *  - with a totalCount T and pages of P items (P: the distinct items page 1
 *    held, since a server may cap pageSize), at most ceil(T / P) + 1 requests: pages
 *    2..ceil(T / P) in parallel waves of 8 (in series, 2,000 activations are
 *    20 round trips, most of a cold `ls`), then one more page if the list
 *    moved under us (new activations push items to later pages);
 *  - without a totalCount, pages in series until one brings nothing new: one
 *    request more than the pages that brought new items.
 * Items are de-duplicated by name, keeping the first appearance and the
 * server's order, however often an item repeats.
 *
 * Page size: pageSize has no documented maximum, so we ask for more than the
 * default 20 (fewer round trips); a server that answers 400 to that gets 20
 * for the rest of the mount (see request_refuse_page_size). */
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

/* ---- a set of 64-bit hashes -------------------------------------------- */

/* Open addressing; 0 marks a free slot, so a hash of 0 is stored as 1 (a
 * collision there costs at most one early stop of a walk). */
struct hash_set {
	uint64_t *slots;
	size_t capacity, count;
};

static int hash_set_grow(struct hash_set *set)
{
	size_t capacity = set->capacity ? set->capacity * 2 : 64, i, j;
	uint64_t *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < set->capacity; i++) {
		if (!set->slots[i])
			continue;
		for (j = set->slots[i] & (capacity - 1); slots[j];
		     j = (j + 1) & (capacity - 1))
			;
		slots[j] = set->slots[i];
	}
	free(set->slots);
	set->slots = slots;
	set->capacity = capacity;
	return 0;
}

/* 1 when hash was added, 0 when it was there already, or -ENOMEM. */
static int hash_set_add(struct hash_set *set, uint64_t hash)
{
	size_t i;

	if (!hash)
		hash = 1;
	if ((set->count + 1) * 2 > set->capacity && hash_set_grow(set) != 0)
		return -ENOMEM;
	for (i = hash & (set->capacity - 1); set->slots[i];
	     i = (i + 1) & (set->capacity - 1)) {
		if (set->slots[i] == hash)
			return 0;
	}
	set->slots[i] = hash;
	set->count++;
	return 1;
}

static void hash_set_release(struct hash_set *set)
{
	free(set->slots);
	memset(set, 0, sizeof(*set));
}

/* ---- one page ------------------------------------------------------------ */

struct page {
	struct ncf_listing items; /* the items with valid names */
	uint64_t *hashes;         /* one per item as sent */
	size_t sent;
	int64_t total;
	int rc;
};

static void page_release(struct page *p)
{
	size_t i;

	for (i = 0; i < p->items.count; i++) {
		free(p->items.items[i].name);
		free(p->items.items[i].status);
	}
	free(p->items.items);
	free(p->hashes);
	memset(p, 0, sizeof(*p));
}

struct walk {
	struct ncf_client *client;
	const char *path;
	enum ncf_list_kind kind;
	struct ncf_error *err;
	struct ncf_listing *listing; /* the result */
	struct hash_set sent;        /* every item the server sent */
	struct hash_set kept;        /* the names in listing */
	size_t full_page;            /* items in a full page: page 1's count */
	int64_t total;
	int64_t start_ms, end_ms;    /* the window sent with every page */
	bool done;
};

/* page_no 0: the unpaged form (platform only). */
static int fetch_page(const struct walk *w, size_t page_no, size_t page_size,
		      struct page *p, struct ncf_error *err)
{
	/* A 400 to a page size of ours is not worth a warning: page 1 falls
	 * back to the documented size and says so once. */
	struct response resp = {
		.quiet_bad_request = page_no != 0 &&
				     page_size != NCF_DOCUMENTED_PAGE_SIZE,
	};
	const struct request_query q = { page_no, page_size, w->start_ms,
					 w->end_ms };
	char target[TARGET_MAX];
	int rc = request_target_query(w->client, target, sizeof(target), w->path,
				      &q);

	if (rc == 0)
		rc = request_get(w->client, target, &resp, err);
	if (rc == 0)
		rc = ncf_json_decode_page(resp.data, resp.len, w->kind, &p->items,
					  &p->sent, &p->total, &p->hashes);
	if (rc == -EBADMSG)
		logf_client(w->client, LOG_WARNING, "GET %s: malformed listing", target);
	free(resp.data);
	p->rc = rc;
	return rc;
}

/* Moves the page's items that are new by name to the result. */
static int keep_new_items(struct walk *w, struct page *p)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < p->items.count && rc == 0; i++) {
		struct ncf_list_item *item = &p->items.items[i];

		rc = hash_set_add(&w->kept, ncf_json_name_hash(item->name));
		if (rc == 1)
			rc = ncf_listing_append(w->listing, item);
		else if (rc == 0)
			ncf_list_item_release(item);
	}
	w->listing->skipped += p->items.skipped;
	p->items.count = 0; /* moved or released */
	return rc < 0 ? rc : 0;
}

/* Takes one page into the result and decides whether the walk is over. */
static int absorb(struct walk *w, struct page *p)
{
	size_t i, fresh = 0;
	int rc = p->rc;

	for (i = 0; rc == 0 && i < p->sent; i++) {
		rc = hash_set_add(&w->sent, p->hashes[i]);
		if (rc > 0)
			fresh++;
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0)
		rc = keep_new_items(w, p);
	if (rc == 0 && w->total == NCF_UNKNOWN)
		w->total = p->total;
	w->done = rc != 0 || fresh == 0 || p->sent < w->full_page ||
		  (w->total != NCF_UNKNOWN && w->sent.count >= (uint64_t)w->total) ||
		  w->listing->count > LIST_MAX_ITEMS;
	page_release(p);
	return rc;
}

/* ---- pages in parallel --------------------------------------------------- */

struct wave {
	const struct walk *walk;
	struct page *pages; /* pages[i] is page first + i */
	size_t first, count, page_size;
	atomic_size_t next;
};

static void *wave_worker(void *arg)
{
	struct wave *wave = arg;
	size_t i;

	while ((i = atomic_fetch_add(&wave->next, 1)) < wave->count)
		fetch_page(wave->walk, wave->first + i, wave->page_size,
			   &wave->pages[i], NULL);
	return NULL;
}

/* A thread pool of its own rather than fs/'s parallel_for: client/ must not
 * reach up into fs/, and these threads live only for one wave. */
static void run_wave(struct wave *wave)
{
	pthread_t threads[LIST_PARALLEL_FETCHES];
	size_t started = 0, i;

	while (started + 1 < LIST_PARALLEL_FETCHES && started + 1 < wave->count &&
	       pthread_create(&threads[started], NULL, wave_worker, wave) == 0)
		started++;
	wave_worker(wave); /* the caller works too, and covers a failed create */
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* Pages first .. first + count - 1, taken in page order until one ends the
 * walk; the pages after that one are dropped unread. */
static int fetch_wave(struct walk *w, size_t first, size_t count,
		      size_t page_size)
{
	struct wave wave = { .walk = w, .first = first, .count = count,
			     .page_size = page_size };
	size_t i;
	int rc = 0;

	wave.pages = calloc(count, sizeof(*wave.pages));
	if (!wave.pages)
		return -ENOMEM;
	atomic_init(&wave.next, 0);
	run_wave(&wave);
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

/* The first page asked for decides the page size: a server that refuses
 * ours gets the documented 20 (once per mount; see request_refuse_page_size).
 * page_size 0 means the mount's. */
static int first_page(struct walk *w, size_t page_no, size_t *page_size)
{
	struct page p = { 0 };
	struct ncf_error local = { 0 };
	struct ncf_error *err = w->err ? w->err : &local;
	int rc;

	if (*page_size == 0)
		*page_size = request_page_size(w->client);
	fetch_page(w, page_no, *page_size, &p, err);
	if (p.rc != 0 && err->http_status == 400 &&
	    request_refuse_page_size(w->client, *page_size)) {
		page_release(&p);
		*page_size = request_page_size(w->client);
		fetch_page(w, page_no, *page_size, &p, w->err);
	}
	/* A full page is what page 1 brought, repeats not counted: a server
	 * that sends every item twice must not halve the walk. */
	rc = absorb(w, &p);
	w->full_page = w->sent.count;
	return rc;
}

static int walk_serial(struct walk *w, size_t page_no, size_t last_page,
		       size_t page_size)
{
	int rc = 0;

	for (; rc == 0 && !w->done && page_no <= last_page; page_no++) {
		struct page p = { 0 };

		fetch_page(w, page_no, page_size, &p, w->err);
		rc = absorb(w, &p);
	}
	return rc;
}

static int walk_pages(struct walk *w)
{
	size_t page_size = 0, implied, next = 2;
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

	fetch_page(w, 0, 0, &p, w->err);
	total = p.total;
	sent = p.sent;
	if (p.rc == 0 && total != NCF_UNKNOWN && (uint64_t)total > sent)
		logf_client(w->client, LOG_WARNING,
			    "%s: the server lists %zu of %lld items; the API does not page this list, so the rest is not shown",
			    w->path, sent, (long long)total);
	return absorb(w, &p);
}

static const struct ncf_list_query every_page = { 0, 0, NCF_UNKNOWN,
						  NCF_UNKNOWN };

static int walk(struct walk *w, const struct ncf_list_query *q)
{
	size_t page_size = q->page_size;

	if (w->kind != NCF_LIST_ACTIVATIONS)
		return walk_unpaged(w);
	w->start_ms = q->start_ms;
	w->end_ms = q->end_ms;
	if (q->page_no)
		return first_page(w, q->page_no, &page_size);
	return walk_pages(w);
}

static int list(struct ncf_client *c, const char *path, enum ncf_list_kind kind,
		const struct ncf_list_query *q, struct ncf_listing **out,
		struct ncf_error *err)
{
	struct walk w = { .client = c, .path = path, .kind = kind, .err = err,
			  .total = NCF_UNKNOWN, .start_ms = NCF_UNKNOWN,
			  .end_ms = NCF_UNKNOWN };
	int rc = -ENOMEM;

	*out = NULL;
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

int ncf_list_packages(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	*out = request_take_probed_packages(c);
	if (*out)
		return 0;
	return list(c, "/packages", NCF_LIST_PACKAGES, &every_page, out, err);
}

int ncf_list_actions(struct ncf_client *c, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_package_name(pkg))
		return -ENOENT;
	snprintf(path, sizeof(path), "/packages/%s/actions", pkg);
	return list(c, path, NCF_LIST_ACTIONS, &every_page, out, err);
}

int ncf_query_activations(struct ncf_client *c, const char *pkg,
			  const char *action, const struct ncf_list_query *q,
			  struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_package_name(pkg) || !ncf_is_valid_name(action))
		return -ENOENT;
	snprintf(path, sizeof(path), "/packages/%s/actions/%s/activations", pkg,
		 action);
	return list(c, path, NCF_LIST_ACTIVATIONS, q, out, err);
}

int ncf_list_activations(struct ncf_client *c, const char *pkg,
			 const char *action, struct ncf_listing **out,
			 struct ncf_error *err)
{
	return ncf_query_activations(c, pkg, action, &every_page, out, err);
}

int ncf_list_triggers(struct ncf_client *c, struct ncf_listing **out,
		      struct ncf_error *err)
{
	return list(c, "/triggers", NCF_LIST_TRIGGERS, &every_page, out, err);
}

int ncf_query_trigger_activations(struct ncf_client *c, const char *trigger,
				  const struct ncf_list_query *q,
				  struct ncf_listing **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	*out = NULL;
	if (!ncf_is_valid_name(trigger))
		return -ENOENT;
	snprintf(path, sizeof(path), "/triggers/%s/activations", trigger);
	return list(c, path, NCF_LIST_ACTIVATIONS, q, out, err);
}

int ncf_list_trigger_activations(struct ncf_client *c, const char *trigger,
				 struct ncf_listing **out, struct ncf_error *err)
{
	return ncf_query_trigger_activations(c, trigger, &every_page, out, err);
}

int ncf_client_probe(struct ncf_client *c, struct ncf_error *err)
{
	struct ncf_listing *packages = NULL;
	int rc = list(c, "/packages", NCF_LIST_PACKAGES, &every_page, &packages, err);

	if (rc == 0)
		request_keep_probed_packages(c, packages);
	return rc;
}
