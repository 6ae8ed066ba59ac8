/* views — see views.h. */
#include "views.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../client/ncf_client.h"
#include "fetch.h"

/* How far from each end of a listing to look for a readable record when
 * finding which end is the newest, and how much further in from the newest
 * end to look for the newest readable one. */
#define ORDER_PROBE_STEPS 4
#define LATEST_SCAN_MAX 64
/* latest reads the ends of a list as pages of this many items: one request
 * each, and room for a burst of fresh runs not readable yet. */
#define END_PAGE_SIZE 8

/* ---- the order of a list ------------------------------------------------ */

/* A record that cannot be shown (not readable yet, malformed, too big)
 * says nothing about the order; a failed fetch is an answer of its own. */
static bool is_unreadable(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || rc == -EFBIG;
}

/* The first and the last items of one list, in list order: the whole
 * listing twice, or page 1 and the last page. */
struct list_ends {
	const struct ncf_listing *front, *back;
	bool whole;  /* front and back are the whole list */
};

/* The readable record nearest one end, stepping inwards at most steps items
 * from skip on; *id gets its id. -ENOENT when none of them is readable; a
 * failed fetch is returned as it is. */
static int readable_end(struct ncffs *fs, const struct node *owner,
			const struct list_ends *ends, bool from_front,
			size_t skip, size_t steps, const char **id,
			int64_t *start)
{
	const struct ncf_listing *side = from_front ? ends->front : ends->back;
	struct node n = *owner;
	size_t step;

	n.kind = NODE_ACTIVATION;
	for (step = skip; step < skip + steps && step < side->count; step++) {
		struct ttl_ref *ref = NULL;
		size_t i = from_front ? step : side->count - 1 - step;
		int rc;

		memcpy(n.id, side->items[i].name, NCF_ACTIVATION_ID_LEN + 1);
		rc = fetch_activation(fs, &n, &ref);
		if (rc == 0) {
			*id = side->items[i].name;
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
 * with the later start is the newest, and *decided says so. When only one
 * end has a readable record, the other end is taken for the newest (not
 * decided): fresh activations are the ones the API does not return yet (for
 * up to ~40 s), and a burst of them fills an end; the newest readable one is
 * then looked for further in from there. The one assumption: a list is
 * sorted by start, one way or the other. */
static int find_newest(struct ncffs *fs, const struct node *owner,
		       const struct list_ends *ends, const char **newest,
		       bool *newest_first, bool *decided)
{
	const char *front_id = NULL, *back_id = NULL;
	int64_t front = NCF_UNKNOWN, back = NCF_UNKNOWN;
	int front_rc, back_rc;

	*newest_first = true;
	*decided = false;
	if (ends->front->count == 0)
		return -ENOENT;
	*newest = ends->front->items[0].name;
	if (ends->whole && ends->front->count == 1)
		return 0;
	front_rc = readable_end(fs, owner, ends, true, 0, ORDER_PROBE_STEPS,
				&front_id, &front);
	back_rc = front_rc == 0 || front_rc == -ENOENT
			  ? readable_end(fs, owner, ends, false, 0,
					 ORDER_PROBE_STEPS, &back_id, &back)
			  : front_rc;
	if (back_rc != 0 && back_rc != -ENOENT)
		return back_rc;
	if (front_rc == 0 && back_rc == 0) {
		*decided = true;
		*newest_first = front >= back;
		*newest = *newest_first ? front_id : back_id;
		return 0;
	}
	if (front_rc != 0 && back_rc != 0)
		return -ENOENT;
	*newest_first = back_rc == 0;
	return readable_end(fs, owner, ends, *newest_first, ORDER_PROBE_STEPS,
			    LATEST_SCAN_MAX, newest, &front);
}

/* ---- what is remembered of an order ------------------------------------- */

/* The order, once decided, under key O + the owner's path, for good: a
 * list does not change its order. */
static int order_key(char *key, size_t size, const struct node *owner)
{
	return fetch_owner_key(key, size, 'O', owner);
}

static int known_order(struct ncffs *fs, const struct node *owner,
		       bool *newest_first)
{
	struct ttl_ref *ref = NULL;
	char key[256];
	int rc = order_key(key, sizeof(key), owner);

	if (rc == 0)
		rc = fetch_peek(fs, key, &ref);
	if (rc == 0) {
		*newest_first = fetched_blob(ref)->data[0] == 'n';
		fetch_release(fs, ref);
	}
	return rc;
}

static int make_order(struct ncffs *fs, void *newest_first,
		      struct fetch_load *out)
{
	const char *text = *(bool *)newest_first ? "newest-first" : "oldest-first";

	(void)fs;
	out->blob = ncf_blob_new(text, strlen(text));
	out->forever = true;
	return out->blob ? 0 : -ENOMEM;
}

static void remember_order(struct ncffs *fs, const struct node *owner,
			   bool newest_first)
{
	struct ttl_ref *ref = NULL;
	char key[256];

	if (order_key(key, sizeof(key), owner) == 0 &&
	    fetch_take(fs, key, make_order, &newest_first, &ref) == 0)
		fetch_release(fs, ref);
}

/* Which end of a listing is the newest, as remembered or found out (and
 * then remembered): *newest is the newest readable id. */
static int newest_of(struct ncffs *fs, const struct node *owner,
		     const struct list_ends *ends, const char **newest,
		     bool *newest_first)
{
	const char *id = NULL;
	int64_t start;
	bool decided;
	int rc;

	if (known_order(fs, owner, newest_first) == 0) {
		rc = readable_end(fs, owner, ends, *newest_first, 0,
				  LATEST_SCAN_MAX, &id, &start);
		*newest = id;
		return rc;
	}
	rc = find_newest(fs, owner, ends, newest, newest_first, &decided);
	if (rc == 0 && decided)
		remember_order(fs, owner, *newest_first);
	return rc;
}

/* ---- latest --------------------------------------------------------------- */

/* Page page_no of page_size items of owner's list, cached list_ttl. */
static int take_page(struct ncffs *fs, const struct node *owner,
		     size_t page_no, size_t page_size, struct ttl_ref **out)
{
	const struct ncf_list_query q = { page_no, page_size, NCF_UNKNOWN,
					  NCF_UNKNOWN };

	return fetch_activation_slice(fs, owner, &q, out);
}

/* The last page of a list of total items in pages of page_size. */
static size_t last_page(int64_t total, size_t page_size)
{
	return (size_t)(((uint64_t)total + page_size - 1) / page_size);
}

/* The ends of owner's list as two pages of page_size: page 1, and the last
 * page (not fetched when the order says the newest is in page 1, or when
 * page 1 is the whole list). -EAGAIN when the server sends no totalCount,
 * so the last page is unknown. */
static int take_ends(struct ncffs *fs, const struct node *owner,
		     size_t page_size, bool need_back, struct ttl_ref **head,
		     struct ttl_ref **tail)
{
	const struct ncf_listing *first;
	int rc = take_page(fs, owner, 1, page_size, head);

	*tail = NULL;
	if (rc)
		return rc;
	first = fetched_listing(*head);
	if (first->total_count == NCF_UNKNOWN)
		return -EAGAIN;
	if (!need_back || (uint64_t)first->total_count <= first->count)
		return 0;
	return take_page(fs, owner, last_page(first->total_count, page_size),
			 page_size, tail);
}

/* latest from the two ends of the list, without listing it: page 1 and the
 * last page of END_PAGE_SIZE items, and their end records. -EAGAIN when
 * they cannot tell (no totalCount, or no readable record at the newest
 * end), for the whole listing to answer. */
static int latest_from_ends(struct ncffs *fs, const struct node *owner,
			    char *id)
{
	struct ttl_ref *head = NULL, *tail = NULL;
	struct list_ends ends = { 0 };
	const char *newest = NULL;
	bool newest_first = true, known;
	int rc;

	known = known_order(fs, owner, &newest_first) == 0;
	rc = take_ends(fs, owner, END_PAGE_SIZE, !known || !newest_first,
		       &head, &tail);
	if (rc == 0) {
		ends.front = fetched_listing(head);
		ends.back = tail ? fetched_listing(tail) : ends.front;
		ends.whole = !tail && (uint64_t)ends.front->total_count <=
					      ends.front->count;
		rc = newest_of(fs, owner, &ends, &newest, &newest_first);
	}
	if (rc == -ENOENT && !ends.whole)
		rc = -EAGAIN;
	if (rc == 0)
		memcpy(id, newest, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, tail);
	fetch_release(fs, head);
	return rc;
}

static int latest_from_listing(struct ncffs *fs, const struct node *owner,
			       struct ttl_ref *ref, char *id)
{
	const struct list_ends ends = { fetched_listing(ref),
					fetched_listing(ref), true };
	const char *newest = NULL;
	bool newest_first;
	int rc = newest_of(fs, owner, &ends, &newest, &newest_first);

	if (rc == 0)
		memcpy(id, newest, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, ref);
	return rc;
}

/* A listing someone already made costs nothing; else the ends of the list
 * cost at most four requests the first time and two or three once the
 * order is known, whatever the list's length. */
int views_latest(struct ncffs *fs, const struct node *owner, char *id)
{
	struct ttl_ref *ref = NULL;
	int rc;

	if (fetch_activations_peek(fs, owner, &ref) == 0)
		return latest_from_listing(fs, owner, ref, id);
	rc = latest_from_ends(fs, owner, id);
	if (rc != -EAGAIN)
		return rc;
	rc = fetch_activations(fs, owner, &ref);
	return rc ? rc : latest_from_listing(fs, owner, ref, id);
}

/* ---- recent/ ------------------------------------------------------------- */

/* Which way owner's list runs: remembered, else found by latest's look at
 * the ends (which remembers it when it can tell), else by the listing. */
static int order_of(struct ncffs *fs, const struct node *owner,
		    bool *newest_first)
{
	struct list_ends ends = { .whole = true };
	char id[NCF_ACTIVATION_ID_LEN + 1];
	struct ttl_ref *ref = NULL;
	const char *newest;
	int rc;

	if (known_order(fs, owner, newest_first) == 0)
		return 0;
	rc = views_latest(fs, owner, id);
	if (rc == 0 && known_order(fs, owner, newest_first) == 0)
		return 0;
	if (rc != 0 && rc != -ENOENT)
		return rc;
	rc = fetch_activations(fs, owner, &ref);
	if (rc == 0) {
		ends.front = ends.back = fetched_listing(ref);
		rc = newest_of(fs, owner, &ends, &newest, newest_first);
	}
	fetch_release(fs, ref);
	*newest_first = rc == 0 ? *newest_first : true;
	return rc == -ENOENT ? 0 : rc;  /* no readable record: any order */
}

/* Calls each for up to count items of listing from its newest end. */
static int each_from_newest(const struct ncf_listing *listing,
			    bool newest_first, size_t count,
			    int (*each)(void *ctx, const char *id), void *ctx)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < listing->count && i < count && rc == 0; i++)
		rc = each(ctx, listing->items[newest_first
						  ? i : listing->count - 1 - i].name);
	return rc;
}

/* The newest count items of a whole listing that runs oldest first;
 * releases ref. */
static int each_recent_of(struct ncffs *fs, struct ttl_ref *ref, size_t count,
			  int (*each)(void *ctx, const char *id), void *ctx)
{
	int rc = each_from_newest(fetched_listing(ref), false, count, each, ctx);

	fetch_release(fs, ref);
	return rc;
}

/* An oldest-first list keeps its newest count items in its last page, or
 * in its last two when the last is short. */
static int each_recent_at_the_back(struct ncffs *fs, const struct node *owner,
				   size_t count,
				   int (*each)(void *ctx, const char *id),
				   void *ctx)
{
	struct ttl_ref *head = NULL, *last = NULL, *before = NULL;
	size_t pages = 0, shown = 0;
	int rc = take_page(fs, owner, 1, count, &head);

	if (rc == 0 && fetched_listing(head)->total_count == NCF_UNKNOWN) {
		/* No totalCount: the last page is unknown; the listing has it. */
		fetch_release(fs, head);
		rc = fetch_activations(fs, owner, &head);
		return rc ? rc : each_recent_of(fs, head, count, each, ctx);
	}
	if (rc == 0)
		pages = last_page(fetched_listing(head)->total_count, count);
	if (rc == 0 && pages > 1)
		rc = take_page(fs, owner, pages, count, &last);
	if (rc == 0 && last && fetched_listing(last)->count < count)
		rc = take_page(fs, owner, pages - 1, count, &before);
	if (rc == 0) {
		const struct ncf_listing *tail = last ? fetched_listing(last)
						      : fetched_listing(head);

		shown = tail->count < count ? tail->count : count;
		rc = each_from_newest(tail, false, count, each, ctx);
	}
	if (rc == 0 && before)
		rc = each_from_newest(fetched_listing(before), false,
				      count - shown, each, ctx);
	fetch_release(fs, before);
	fetch_release(fs, last);
	fetch_release(fs, head);
	return rc;
}

int views_each_recent(struct ncffs *fs, const struct node *owner,
		      size_t count, int (*each)(void *ctx, const char *id),
		      void *ctx)
{
	struct ttl_ref *ref = NULL;
	bool newest_first = true;
	int rc = order_of(fs, owner, &newest_first);

	if (rc)
		return rc;
	if (!newest_first)
		return each_recent_at_the_back(fs, owner, count, each, ctx);
	rc = take_page(fs, owner, 1, count, &ref);
	if (rc == 0)
		rc = each_from_newest(fetched_listing(ref), true, count, each,
				      ctx);
	fetch_release(fs, ref);
	return rc;
}

static int stop_at_match(void *ctx, const char *id)
{
	return strcmp(ctx, id) == 0 ? 1 : 0;
}

/* each's 1 means found. */
static int found(int rc)
{
	if (rc == 1)
		return 0;
	return rc ? rc : -ENOENT;
}

int views_check_recent(struct ncffs *fs, const struct node *owner,
		       size_t count, const char *id)
{
	return found(views_each_recent(fs, owner, count, stop_at_match,
				       (void *)id));
}

/* ---- days/ ----------------------------------------------------------------- */

/* Local midnight of the day that holds t, days_back days before it. */
static time_t local_midnight(time_t t, int days_back)
{
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_mday -= days_back;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

int views_each_day(int (*each)(void *ctx, const char *day), void *ctx)
{
	time_t now = time(NULL);
	char day[sizeof("YYYY-MM-DD")];
	int i, rc = 0;

	for (i = 0; i < VIEWS_DAYS && rc == 0; i++) {
		time_t midnight = local_midnight(now, i);
		struct tm tm;

		localtime_r(&midnight, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		rc = each(ctx, day);
	}
	return rc;
}

/* The number n digits spell (checked to be digits). */
static int atoi_n(const char *digits, int n)
{
	int value = 0;

	while (n-- > 0)
		value = value * 10 + (*digits++ - '0');
	return value;
}

/* YYYY-MM-DD exactly, a real date (no 2026-02-30). */
static int parse_day(const char *day, struct tm *tm)
{
	struct tm back;
	time_t t;
	int i;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7 ? day[i] != '-'
				     : (day[i] < '0' || day[i] > '9'))
			return -ENOENT;
	}
	if (day[10] != '\0')
		return -ENOENT;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = atoi_n(day, 4) - 1900;
	tm->tm_mon = atoi_n(day + 5, 2) - 1;
	tm->tm_mday = atoi_n(day + 8, 2);
	tm->tm_isdst = -1;
	back = *tm;
	t = mktime(&back);
	if (t == (time_t)-1 || back.tm_mday != tm->tm_mday ||
	    back.tm_mon != tm->tm_mon)
		return -ENOENT;
	*tm = back;
	return 0;
}

int views_day_window(const char *day, int64_t *start_ms, int64_t *end_ms)
{
	time_t now = time(NULL), start, next;
	struct tm tm;
	int rc = parse_day(day, &tm);

	if (rc)
		return rc;
	start = mktime(&tm);
	tm.tm_mday += 1;
	tm.tm_isdst = -1;
	next = mktime(&tm);
	if (start > now || start < local_midnight(now, VIEWS_DAYS - 1))
		return -ENOENT;
	*start_ms = (int64_t)start * 1000;
	*end_ms = (int64_t)next * 1000 - 1;
	return 0;
}

static int take_day(struct ncffs *fs, const struct node *owner,
		    const char *day, struct ttl_ref **out)
{
	struct ncf_list_query q = { 0, 0, NCF_UNKNOWN, NCF_UNKNOWN };
	int rc = views_day_window(day, &q.start_ms, &q.end_ms);

	*out = NULL;
	return rc ? rc : fetch_activation_slice(fs, owner, &q, out);
}

int views_each_of_day(struct ncffs *fs, const struct node *owner,
		      const char *day, int (*each)(void *ctx, const char *id),
		      void *ctx)
{
	struct ttl_ref *ref = NULL;
	int rc = take_day(fs, owner, day, &ref);

	if (rc == 0)
		rc = each_from_newest(fetched_listing(ref), true, SIZE_MAX,
				      each, ctx);
	fetch_release(fs, ref);
	return rc;
}

int views_check_of_day(struct ncffs *fs, const struct node *owner,
		       const char *day, const char *id)
{
	return found(views_each_of_day(fs, owner, day, stop_at_match,
				       (void *)id));
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
	struct list_ends ends = { .whole = true };
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL;
	const char *newest;
	bool newest_first = true;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	ends.front = ends.back = listing;
	/* The order is only how the entries are sorted: when it cannot be
	 * told, the listing's own order will do. */
	if (newest_of(fs, owner, &ends, &newest, &newest_first) != 0)
		newest_first = true;
	rc = each_failed_in(fs, owner, listing, newest_first, each, ctx);
	fetch_release(fs, ref);
	return rc;
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

/* ---- activations.tsv, streamed ------------------------------------------- */

/* Records are fetched TSV_BATCH at a time, in parallel, and rendered as
 * rows; the text a reader has passed is dropped but for TSV_KEEP_BEHIND
 * bytes (a `less` scrolling back a little), so reading a table of 20,000
 * activations holds one batch of records and a few hundred KiB of text,
 * never the whole table; the records stay in the cache, bounded by
 * cache_size. */
#define TSV_BATCH 256
#define TSV_KEEP_BEHIND (256u << 10)

struct tsv_stream {
	pthread_mutex_t lock;       /* reads of one handle may overlap */
	struct node owner;
	struct ttl_ref *listing;    /* the activations, held while open */
	bool newest_first;
	size_t next;                /* rows taken so far, from the newest */
	bool done;
	char *text;                 /* bytes [text_at, text_at + len) */
	size_t len, capacity;
	off_t text_at;
};

struct tsv_batch {
	struct ncffs *fs;
	struct tsv_stream *s;
	const struct ncf_listing *listing;
	size_t first, count;
	struct ttl_ref *refs[TSV_BATCH];
	int rcs[TSV_BATCH];
};

static size_t stream_index(const struct tsv_stream *s,
			   const struct ncf_listing *listing, size_t k)
{
	return s->newest_first ? k : listing->count - 1 - k;
}

static void fetch_row(void *ctx, size_t i)
{
	struct tsv_batch *b = ctx;
	struct node n = b->s->owner;

	n.kind = NODE_ACTIVATION;
	memcpy(n.id, b->listing->items[stream_index(b->s, b->listing,
						    b->first + i)].name,
	       NCF_ACTIVATION_ID_LEN + 1);
	b->rcs[i] = fetch_activation(b->fs, &n, &b->refs[i]);
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

/* Room for more bytes at the end of the text, after dropping what lies
 * more than TSV_KEEP_BEHIND before offset. */
static int make_text_room(struct tsv_stream *s, off_t offset, size_t more)
{
	char *grown;
	size_t drop = 0, capacity;

	if (offset - s->text_at > (off_t)TSV_KEEP_BEHIND)
		drop = (size_t)(offset - s->text_at) - TSV_KEEP_BEHIND;
	if (drop > s->len)
		drop = s->len;
	if (drop) {
		memmove(s->text, s->text + drop, s->len - drop);
		s->len -= drop;
		s->text_at += (off_t)drop;
	}
	if (s->len + more <= s->capacity)
		return 0;
	capacity = s->capacity ? s->capacity : 64u << 10;
	while (capacity < s->len + more)
		capacity *= 2;
	grown = realloc(s->text, capacity);
	if (!grown)
		return -ENOMEM;
	s->text = grown;
	s->capacity = capacity;
	return 0;
}

/* The batch's rows, newest first by start (a list sorted by start either
 * way streams in order; within a batch, start decides). A record not
 * readable yet has no row; any other failure ends the read. */
static int append_rows(struct tsv_batch *b, off_t offset)
{
	struct tsv_row rows[TSV_BATCH] = { { 0, 0 } };
	size_t i, count = 0;
	int rc = make_text_room(b->s, offset, b->count * RENDER_TSV_LINE_MAX);

	for (i = 0; rc == 0 && i < b->count; i++) {
		if (b->rcs[i] == 0)
			rows[count++] = (struct tsv_row){
				i, fetched_activation(b->refs[i])->start_ms };
		else if (b->rcs[i] != -ENOENT)
			rc = b->rcs[i];
	}
	qsort(rows, count, sizeof(rows[0]), newest_row_first);
	for (i = 0; rc == 0 && i < count; i++) {
		size_t k = rows[i].index, at = b->s->len;
		size_t n = render_tsv_line(
			b->listing->items[stream_index(b->s, b->listing,
						       b->first + k)].name,
			fetched_activation(b->refs[k]), b->s->text + at,
			RENDER_TSV_LINE_MAX);

		/* A line that did not fit would be cut mid-row. */
		rc = n == 0 || n >= RENDER_TSV_LINE_MAX ? -EFBIG : 0;
		b->s->len += n;
	}
	return rc;
}

static int next_batch(struct ncffs *fs, struct tsv_stream *s, off_t offset)
{
	struct tsv_batch b = { .fs = fs, .s = s,
			       .listing = fetched_listing(s->listing),
			       .first = s->next };
	size_t i;
	int rc;

	b.count = b.listing->count - s->next;
	if (b.count > TSV_BATCH)
		b.count = TSV_BATCH;
	/* Background: a tsv reader takes 256 rows at a time and yields to
	 * whatever a person or a readahead is waiting on. */
	ncf_client_run_batch(fs->client, NCF_PRIORITY_BACKGROUND, b.count,
			     fetch_row, &b);
	rc = append_rows(&b, offset);
	for (i = 0; i < b.count; i++)
		fetch_release(fs, b.refs[i]);
	s->next += b.count;
	s->done = s->next == b.listing->count;
	return rc;
}

static void tsv_stream_free(struct ncffs *fs, struct tsv_stream *s)
{
	if (!s)
		return;
	fetch_release(fs, s->listing);
	pthread_mutex_destroy(&s->lock);
	free(s->text);
	free(s);
}

int views_tsv_open(struct ncffs *fs, const struct node *owner,
		   struct tsv_stream **out)
{
	struct list_ends ends = { .whole = true };
	struct tsv_stream *s = calloc(1, sizeof(*s));
	const char *newest;
	int rc = s ? fetch_activations(fs, owner, &s->listing) : -ENOMEM;

	*out = NULL;
	if (rc) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->owner = *owner;
	ends.front = ends.back = fetched_listing(s->listing);
	rc = newest_of(fs, owner, &ends, &newest, &s->newest_first);
	if (rc == -ENOENT) { /* nothing readable: no rows, any order */
		s->newest_first = true;
		rc = 0;
	}
	if (rc == 0)
		rc = make_text_room(s, 0, sizeof(RENDER_TSV_HEADER));
	if (rc) {
		tsv_stream_free(fs, s);
		return rc;
	}
	s->len = strlen(RENDER_TSV_HEADER);
	memcpy(s->text, RENDER_TSV_HEADER, s->len);
	s->done = ends.front->count == 0;
	*out = s;
	return 0;
}

ssize_t views_tsv_read(struct ncffs *fs, struct tsv_stream *s, char *buf,
		       size_t size, off_t offset)
{
	ssize_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	while (rc == 0 && !s->done &&
	       (uint64_t)offset + size > (uint64_t)s->text_at + s->len)
		rc = next_batch(fs, s, offset);
	if (rc == 0 && offset < s->text_at)
		rc = -EIO; /* further back than TSV_KEEP_BEHIND: gone */
	if (rc == 0 && offset < s->text_at + (off_t)s->len) {
		size_t at = (size_t)(offset - s->text_at);

		n = (ssize_t)(s->len - at < size ? s->len - at : size);
		memcpy(buf, s->text + at, (size_t)n);
	}
	pthread_mutex_unlock(&s->lock);
	return rc ? rc : n;
}

void views_tsv_close(struct ncffs *fs, struct tsv_stream *s)
{
	tsv_stream_free(fs, s);
}
