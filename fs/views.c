/* views — see views.h. */
#include "views.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "../client/ncf_client.h"
#include "fetch.h"
#include "readability.h"

/* How far in from each end of a listing to look for a readable record when
 * finding which end is the newest (unreadable records at an end, fresh,
 * purged or broken, are stepped over), and the longest whole listing whose
 * every record may be read when its order cannot be told. */
#define LATEST_SCAN_MAX 64
/* latest reads the ends of a list as pages of this many items: one request
 * each, and room for a burst of fresh runs not readable yet. */
#define END_PAGE_SIZE 8

/* ---- the order of a list ------------------------------------------------ */

/* The first and the last items of one list, in list order: the whole
 * listing twice, or page 1 and the last page. */
struct list_ends {
	const struct ncf_listing *front, *back;
	bool whole;  /* front and back are the whole list */
};

/* A readable record: its id (borrowed from a listing) and start. */
struct readable {
	const char *id;
	int64_t start;
};

/* The record of a listed id: 0 and *out, or the fetch's -errno. */
static int fetch_listed(struct ncffs *fs, const struct node *owner,
			const char *id, struct ttl_ref **out)
{
	struct node n = *owner;

	n.kind = NODE_ACTIVATION;
	memcpy(n.id, id, NCF_ACTIVATION_ID_LEN + 1);
	return fetch_activation(fs, &n, out);
}

/* The readable record nearest one end, stepping inwards at most steps items
 * from skip on. -ENOENT when none of them is readable (readability.h: a
 * fresh, purged or broken record is no answer); a failed fetch is returned
 * as it is. */
static int readable_end(struct ncffs *fs, const struct node *owner,
			const struct list_ends *ends, bool from_front,
			size_t skip, size_t steps, struct readable *out)
{
	const struct ncf_listing *side = from_front ? ends->front : ends->back;
	size_t step;

	for (step = skip; step < skip + steps && step < side->count; step++) {
		struct ttl_ref *ref = NULL;
		size_t i = from_front ? step : side->count - 1 - step;
		int rc = fetch_listed(fs, owner, side->items[i].name, &ref);

		if (rc == 0) {
			out->id = side->items[i].name;
			out->start = fetched_activation(ref)->start_ms;
			fetch_release(fs, ref);
			return 0;
		}
		if (!record_is_unreadable(rc))
			return rc;
	}
	return -ENOENT;
}

/* Whether two readable records are evidence of an order: two records, not
 * one seen from both ends, with starts that differ. */
static bool is_evidence(const struct readable *a, const struct readable *b)
{
	return strcmp(a->id, b->id) != 0 && a->start != NCF_UNKNOWN &&
	       b->start != NCF_UNKNOWN && a->start != b->start;
}

/* Whether the two scans from the ends answer for the whole list without
 * an order: they met at the one readable record, or the ends started at
 * the same time (so, sorted, did everything between), or they saw every
 * item and none was readable. */
static bool scans_cover(const struct list_ends *ends, int front_rc,
			int back_rc, const struct readable *front,
			const struct readable *back)
{
	if (!ends->whole)
		return false;
	if (front_rc == 0 && back_rc == 0)
		return strcmp(front->id, back->id) == 0 ||
		       (front->start != NCF_UNKNOWN && front->start == back->start);
	return front_rc == -ENOENT && back_rc == -ENOENT &&
	       ends->front->count <= 2 * LATEST_SCAN_MAX;
}

/* The API does not document the order of activation lists (OpenWhisk lists
 * newest first), so it is decided only on evidence: the readable records
 * nearest each end, when they are two and their starts differ; the later
 * start is the newest end (*decided). Without evidence the answer is still
 * exact when the two scans saw the whole list: the one readable record
 * there is, or none (-ENOENT). Otherwise nobody can tell which end holds
 * the new runs (fresh ones not readable yet, or purged old ones, fill an
 * end alike): -EAGAIN, never a guess. The one assumption: a list is sorted
 * by start, one way or the other. */
static int find_newest(struct ncffs *fs, const struct node *owner,
		       const struct list_ends *ends, struct readable *newest,
		       bool *newest_first, bool *decided)
{
	struct readable front = { NULL, NCF_UNKNOWN }, back = front;
	int front_rc, back_rc;

	*newest_first = true;
	*decided = false;
	if (ends->front->count == 0)
		return -ENOENT;
	front_rc = readable_end(fs, owner, ends, true, 0, LATEST_SCAN_MAX,
				&front);
	if (front_rc != 0 && front_rc != -ENOENT)
		return front_rc;
	back_rc = readable_end(fs, owner, ends, false, 0, LATEST_SCAN_MAX,
			       &back);
	if (back_rc != 0 && back_rc != -ENOENT)
		return back_rc;
	if (front_rc == 0 && back_rc == 0 && is_evidence(&front, &back)) {
		*decided = true;
		*newest_first = front.start > back.start;
		*newest = *newest_first ? front : back;
		return 0;
	}
	if (!scans_cover(ends, front_rc, back_rc, &front, &back))
		return -EAGAIN;
	*newest = front;
	return front_rc;
}

/* ---- what is remembered of an order ------------------------------------- */

/* The order, once decided, is remembered (readability.h) under the key
 * O + the owner's path, with the start of the newest record it was decided
 * on: a list does not change its order, but a remembered order whose
 * newest record is older than a newest already seen is wrong, and is then
 * forgotten and decided again. */
static int order_key(char *key, size_t size, const struct node *owner)
{
	return fetch_owner_key(key, size, 'O', owner);
}

/* An order kept on disk by an earlier mount, with its evidence: "newest-first
 * START" or "oldest-first START" (START: the newest readable record's start
 * when it was decided). "unknown" (or anything else) is no order: what a
 * contradicted order is overwritten with. */
static int kept_order(struct ncffs *fs, const char *key, bool *newest_first,
		      int64_t *newest_start)
{
	char text[64], way[16];
	long long start;

	if (fetch_kept_fact(fs, key, text, sizeof(text)) != 0 ||
	    sscanf(text, "%15s %lld", way, &start) != 2)
		return -ENOENT;
	if (strcmp(way, "newest-first") != 0 && strcmp(way, "oldest-first") != 0)
		return -ENOENT;
	*newest_first = way[0] == 'n';
	*newest_start = start;
	return 0;
}

static int known_order(struct ncffs *fs, const struct node *owner,
		       bool *newest_first)
{
	char key[256];
	int64_t newest_start;
	int rc = order_key(key, sizeof(key), owner);

	if (rc == 0)
		rc = readability_order_get(fs->readability, key, newest_first);
	if (rc == -ENOENT &&
	    kept_order(fs, key, newest_first, &newest_start) == 0) {
		readability_order_set(fs->readability, key, *newest_first,
				      newest_start);
		rc = 0;
	}
	return rc;
}

/* Remembered in memory, and on disk for the next mount (with the start
 * it rests on, so that the next mount re-checks it as this one would). */
static void remember_order(struct ncffs *fs, const struct node *owner,
			   bool newest_first, int64_t newest_start)
{
	char key[256], text[64];

	if (order_key(key, sizeof(key), owner) != 0)
		return;
	readability_order_set(fs->readability, key, newest_first, newest_start);
	snprintf(text, sizeof(text), "%s %lld",
		 newest_first ? "newest-first" : "oldest-first",
		 (long long)newest_start);
	fetch_keep_fact(fs, key, text);
}

/* The owner's name for a log line. */
static const char *owner_name(const struct node *owner, char *buf,
			      size_t size)
{
	if (owner->under_trigger)
		snprintf(buf, size, "trigger %s", owner->trigger);
	else
		snprintf(buf, size, "%s/%s", owner->pkg, owner->action);
	return buf;
}

/* newest, found by the remembered order, checked against what was seen. */
static bool is_contradicted(struct ncffs *fs, const struct node *owner,
			    const struct readable *newest)
{
	char key[256], name[2 * NCF_NAME_MAX + 16];

	if (order_key(key, sizeof(key), owner) != 0 ||
	    newest->start == NCF_UNKNOWN ||
	    !readability_order_contradicts(fs->readability, key, newest->start))
		return false;
	fetch_keep_fact(fs, key, "unknown");
	log_msg(&fs->log, LOG_INFO,
		"%s: the remembered order of its activation list no longer explains what the API sends; deciding it again",
		owner_name(owner, name, sizeof(name)));
	return true;
}

/* Which end of a listing is the newest, as remembered or found out (and
 * then remembered): *newest is the newest readable record. -ENOENT when
 * none is readable, -EAGAIN when that cannot be told. */
static int newest_of(struct ncffs *fs, const struct node *owner,
		     const struct list_ends *ends, struct readable *newest,
		     bool *newest_first)
{
	bool decided;
	int rc;

	if (known_order(fs, owner, newest_first) == 0) {
		rc = readable_end(fs, owner, ends, *newest_first, 0,
				  LATEST_SCAN_MAX, newest);
		if (rc == -ENOENT && !(ends->whole &&
				       ends->front->count <= LATEST_SCAN_MAX))
			rc = -EAGAIN; /* a burst of fresh runs, or more */
		if (rc != 0 || !is_contradicted(fs, owner, newest))
			return rc;
	}
	rc = find_newest(fs, owner, ends, newest, newest_first, &decided);
	if (rc == 0 && decided)
		remember_order(fs, owner, *newest_first, newest->start);
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

/* Pages are asked for with count items, but numbered by the items page 1
 * brought when the list is longer than that: a server may cap its page
 * size (the page-size model of client/listing.c). 0 for an empty list. */
static size_t items_per_page(const struct ncf_listing *first, size_t count)
{
	if (first->count < count && first->total_count != NCF_UNKNOWN &&
	    (uint64_t)first->total_count > first->count)
		return first->count;
	return first->count < count ? first->count : count;
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
	if (first->count == 0)
		return -EAGAIN; /* a total, but no items: the listing decides */
	return take_page(fs, owner,
			 last_page(first->total_count,
				   items_per_page(first, page_size)),
			 page_size, tail);
}

/* latest from the two ends of the list, without listing it: page 1 and the
 * last page of END_PAGE_SIZE items, and their end records. -EAGAIN when
 * they cannot tell (no totalCount, no evidence of the order, or no readable
 * record at the newest end), for the whole listing to answer. */
static int latest_from_ends(struct ncffs *fs, const struct node *owner,
			    char *id)
{
	struct ttl_ref *head = NULL, *tail = NULL;
	struct list_ends ends = { 0 };
	struct readable newest = { NULL, NCF_UNKNOWN };
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
		memcpy(id, newest.id, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, tail);
	fetch_release(fs, head);
	return rc;
}

static int latest_from_listing(struct ncffs *fs, const struct node *owner,
			       struct ttl_ref *ref, char *id)
{
	const struct list_ends ends = { fetched_listing(ref),
					fetched_listing(ref), true };
	struct readable newest = { NULL, NCF_UNKNOWN };
	bool newest_first;
	int rc = newest_of(fs, owner, &ends, &newest, &newest_first);

	if (rc == 0)
		memcpy(id, newest.id, NCF_ACTIVATION_ID_LEN + 1);
	fetch_release(fs, ref);
	return rc;
}

/* A listing someone already made costs nothing; else the ends of the list
 * cost at most four requests the first time and two or three once the
 * order is known, whatever the list's length; else the listing. -EAGAIN
 * when even the listing cannot tell. */
static int latest_or_unknown(struct ncffs *fs, const struct node *owner,
			     char *id)
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

/* Said once per call, since it is rare (no two readable records with
 * different starts near the ends of a long list) and a reader should know
 * why an answer failed. */
static int unknown_order(struct ncffs *fs, const struct node *owner,
			 const char *view)
{
	char name[2 * NCF_NAME_MAX + 16];

	log_msg(&fs->log, LOG_WARNING,
		"%s of %s: which end of its activation list is the newest cannot be told yet (no two readable records with different starts within %d of its ends): EIO rather than a guess",
		view, owner_name(owner, name, sizeof(name)), LATEST_SCAN_MAX);
	return -EIO;
}

int views_latest(struct ncffs *fs, const struct node *owner, char *id)
{
	int rc = latest_or_unknown(fs, owner, id);

	return rc == -EAGAIN ? unknown_order(fs, owner, "latest") : rc;
}

int views_latest_if_known(struct ncffs *fs, const struct node *owner,
			  char *id)
{
	return latest_or_unknown(fs, owner, id);
}

/* ---- recent/ ------------------------------------------------------------- */

/* Which way owner's list runs: remembered, else found by latest's look at
 * the ends (which remembers it when it can tell). -EAGAIN when nothing
 * tells it yet. */
static int order_of(struct ncffs *fs, const struct node *owner,
		    bool *newest_first)
{
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int rc;

	if (known_order(fs, owner, newest_first) == 0)
		return 0;
	rc = latest_or_unknown(fs, owner, id);
	if (known_order(fs, owner, newest_first) == 0)
		return 0;
	return rc == 0 || rc == -ENOENT ? -EAGAIN : rc;
}

/* Calls each for up to count items of listing from its newest end; *shown
 * counts the calls. */
static int each_from_newest(const struct ncf_listing *listing,
			    bool newest_first, size_t count, size_t *shown,
			    int (*each)(void *ctx, const char *id), void *ctx)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < listing->count && i < count && rc == 0; i++) {
		rc = each(ctx, listing->items[newest_first
						  ? i : listing->count - 1 - i].name);
		(*shown)++;
	}
	return rc;
}

/* The newest count items of a whole listing that runs oldest first;
 * releases ref. */
static int each_recent_of(struct ncffs *fs, struct ttl_ref *ref, size_t count,
			  int (*each)(void *ctx, const char *id), void *ctx)
{
	size_t shown = 0;
	int rc = each_from_newest(fetched_listing(ref), false, count, &shown,
				  each, ctx);

	fetch_release(fs, ref);
	return rc;
}

/* Page page_no (of count asked), given page 1 as first: each from its
 * newest end, up to count - *shown items. */
static int each_of_page(struct ncffs *fs, const struct node *owner,
			const struct ncf_listing *first, size_t page_no,
			size_t count, bool newest_first, size_t *shown,
			int (*each)(void *ctx, const char *id), void *ctx)
{
	struct ttl_ref *ref = NULL;
	int rc = page_no == 1 ? 0 : take_page(fs, owner, page_no, count, &ref);

	if (rc == 0)
		rc = each_from_newest(ref ? fetched_listing(ref) : first,
				      newest_first, count - *shown, shown, each,
				      ctx);
	fetch_release(fs, ref);
	return rc;
}

/* A newest-first list keeps its newest count items in its first pages. */
static int each_recent_at_the_front(struct ncffs *fs, const struct node *owner,
				    size_t count,
				    int (*each)(void *ctx, const char *id),
				    void *ctx)
{
	struct ttl_ref *head = NULL;
	const struct ncf_listing *first;
	size_t per, page, shown = 0, pages = SIZE_MAX;
	int rc = take_page(fs, owner, 1, count, &head);

	if (rc)
		return rc;
	first = fetched_listing(head);
	per = items_per_page(first, count);
	if (per && first->total_count != NCF_UNKNOWN)
		pages = last_page(first->total_count, per);
	for (page = 1; rc == 0 && per && shown < count && page <= pages;
	     page++) {
		size_t before = shown;

		rc = each_of_page(fs, owner, first, page, count, true, &shown,
				  each, ctx);
		if (shown == before)
			break; /* a page past the end */
	}
	fetch_release(fs, head);
	return rc;
}

/* An oldest-first list keeps its newest count items in its last pages. */
static int each_recent_at_the_back(struct ncffs *fs, const struct node *owner,
				   size_t count,
				   int (*each)(void *ctx, const char *id),
				   void *ctx)
{
	struct ttl_ref *head = NULL;
	const struct ncf_listing *first;
	size_t per, page, shown = 0;
	int rc = take_page(fs, owner, 1, count, &head);

	if (rc == 0 && fetched_listing(head)->total_count == NCF_UNKNOWN) {
		/* No totalCount: the last page is unknown; the listing has it. */
		fetch_release(fs, head);
		rc = fetch_activations(fs, owner, &head);
		return rc ? rc : each_recent_of(fs, head, count, each, ctx);
	}
	if (rc)
		return rc;
	first = fetched_listing(head);
	per = items_per_page(first, count);
	page = per ? last_page(first->total_count, per) : 0;
	for (; rc == 0 && page >= 1 && shown < count; page--)
		rc = each_of_page(fs, owner, first, page, count, false, &shown,
				  each, ctx);
	fetch_release(fs, head);
	return rc;
}

struct by_start {
	const char *id;
	int64_t start;
};

static int later_first(const void *a, const void *b)
{
	const struct by_start *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* With no order known, a short list's readable records sorted by start
 * (each is read; records not readable have no place and are left out); a
 * long one's answer would cost every record: EIO, said in the log. */
static int each_recent_by_start(struct ncffs *fs, const struct node *owner,
				size_t count,
				int (*each)(void *ctx, const char *id),
				void *ctx)
{
	struct by_start rows[LATEST_SCAN_MAX];
	const struct ncf_listing *listing;
	struct ttl_ref *ref = NULL, *rec;
	size_t i, n = 0;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	if (listing->count > LATEST_SCAN_MAX)
		rc = unknown_order(fs, owner, "recent/");
	for (i = 0; rc == 0 && i < listing->count; i++) {
		int got = fetch_listed(fs, owner, listing->items[i].name, &rec);

		if (got == 0)
			rows[n++] = (struct by_start){
				listing->items[i].name,
				fetched_activation(rec)->start_ms };
		else if (!record_is_unreadable(got))
			rc = got;
		fetch_release(fs, rec);
	}
	if (rc == 0)
		qsort(rows, n, sizeof(rows[0]), later_first);
	for (i = 0; rc == 0 && i < n && i < count; i++)
		rc = each(ctx, rows[i].id);
	fetch_release(fs, ref);
	return rc;
}

int views_each_recent(struct ncffs *fs, const struct node *owner,
		      size_t count, int (*each)(void *ctx, const char *id),
		      void *ctx)
{
	bool newest_first = true;
	int rc = order_of(fs, owner, &newest_first);

	if (rc == -EAGAIN)
		return each_recent_by_start(fs, owner, count, each, ctx);
	if (rc)
		return rc;
	return newest_first
		       ? each_recent_at_the_front(fs, owner, count, each, ctx)
		       : each_recent_at_the_back(fs, owner, count, each, ctx);
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
static time_t midnight_of(int year, int mon, int mday);

static time_t local_midnight(time_t t, int days_back)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return midnight_of(tm.tm_year + 1900, tm.tm_mon, tm.tm_mday - days_back);
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

/* t when the local time date (normalized) at hour:00 with isdst is a real
 * instant that reads back as itself; (time_t)-1 when it is not. */
static time_t exact_local(const struct tm *date, int hour, int isdst)
{
	struct tm tm = *date, back;
	time_t t;

	tm.tm_hour = hour;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = isdst;
	t = mktime(&tm);
	if (t == (time_t)-1 || !localtime_r(&t, &back) ||
	    back.tm_year != date->tm_year || back.tm_mon != date->tm_mon ||
	    back.tm_mday != date->tm_mday || back.tm_hour != hour ||
	    back.tm_min != 0 || back.tm_sec != 0)
		return (time_t)-1;
	return t;
}

/* The first instant of the local day year-mon-mday (mday may run past the
 * month), computed as a midnight every time, never as "plus 24 hours" nor
 * with an hour inherited from another day: 00:00, the earlier of two where
 * clocks go back at midnight (America/Havana), and where DST starts at
 * midnight (America/Santiago, Asia/Beirut) the first hour that exists,
 * 01:00. Both DST flags are tried, since glibc's mktime picks between two
 * readings of an ambiguous time by what it was asked before. */
static time_t midnight_of(int year, int mon, int mday)
{
	struct tm date;
	time_t best = (time_t)-1;
	int hour, isdst;

	memset(&date, 0, sizeof(date));
	date.tm_year = year - 1900;
	date.tm_mon = mon;
	date.tm_mday = mday;
	date.tm_hour = 12;
	date.tm_isdst = -1;
	if (mktime(&date) == (time_t)-1)
		return (time_t)-1;
	for (hour = 0; hour < 4 && best == (time_t)-1; hour++) {
		for (isdst = 0; isdst <= 1; isdst++) {
			time_t t = exact_local(&date, hour, isdst);

			if (t != (time_t)-1 && (best == (time_t)-1 || t < best))
				best = t;
		}
	}
	return best;
}

/* YYYY-MM-DD exactly, a real date (no 2026-02-30): its year, month (0-11)
 * and day. */
static int parse_day(const char *day, int *year, int *mon, int *mday)
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
	*year = atoi_n(day, 4);
	*mon = atoi_n(day + 5, 2) - 1;
	*mday = atoi_n(day + 8, 2);
	t = midnight_of(*year, *mon, *mday);
	if (t == (time_t)-1 || !localtime_r(&t, &back) ||
	    back.tm_mday != *mday || back.tm_mon != *mon)
		return -ENOENT;
	return 0;
}

int views_day_bounds(const char *day, int64_t *start_ms, int64_t *end_ms)
{
	int year, mon, mday;
	int rc = parse_day(day, &year, &mon, &mday);

	if (rc)
		return rc;
	*start_ms = (int64_t)midnight_of(year, mon, mday) * 1000;
	*end_ms = (int64_t)midnight_of(year, mon, mday + 1) * 1000 - 1;
	return 0;
}

int views_day_window(const char *day, int64_t *start_ms, int64_t *end_ms)
{
	time_t now = time(NULL);
	int rc = views_day_bounds(day, start_ms, end_ms);

	if (rc)
		return rc;
	if (*start_ms > (int64_t)now * 1000 ||
	    *start_ms < (int64_t)local_midnight(now, VIEWS_DAYS - 1) * 1000)
		return -ENOENT;
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
	size_t shown = 0;
	int rc = take_day(fs, owner, day, &ref);

	if (rc == 0)
		rc = each_from_newest(fetched_listing(ref), true, SIZE_MAX,
				      &shown, each, ctx);
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
	struct ttl_ref *ref = NULL;
	int rc;

	*failed = false;
	if (item->status) {
		*failed = strcmp(item->status, "success") != 0;
		return 0;
	}
	rc = fetch_listed(fs, owner, item->name, &ref);
	if (record_is_unreadable(rc))
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
	struct readable newest;
	bool newest_first = true;
	int rc = fetch_activations(fs, owner, &ref);

	if (rc)
		return rc;
	listing = fetched_listing(ref);
	ends.front = ends.back = listing;
	/* The order is only how the entries are sorted: when it cannot be
	 * told, the listing's own order will do (the entries are right). */
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
	int64_t start;  /* where it sorts: its start, or its neighbour's */
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
 * way streams in order; within a batch, start decides); *count gets their
 * number. A fresh record (readability.h) has no row yet: the listing it
 * came in holds it while it is not readable. A purged or broken one is a
 * row that says so, right after the readable row before it in stream
 * order. A fetch that failed ends the read with nothing appended, and the
 * next read tries the batch again: offsets never move. */
static int sort_rows(struct tsv_batch *b, struct tsv_row *rows, size_t *count)
{
	int64_t before = INT64_MAX;
	size_t i;

	*count = 0;
	for (i = 0; i < b->count; i++) {
		const char *id = b->listing->items[stream_index(
			b->s, b->listing, b->first + i)].name;
		enum record_kind kind =
			readability_kind(b->fs->readability, id, b->rcs[i]);

		if (kind == RECORD_FAILED)
			return b->rcs[i];
		if (kind == RECORD_FRESH)
			continue;
		if (kind == RECORD_READABLE &&
		    fetched_activation(b->refs[i])->start_ms != NCF_UNKNOWN)
			before = fetched_activation(b->refs[i])->start_ms;
		rows[(*count)++] = (struct tsv_row){ i, before };
	}
	qsort(rows, *count, sizeof(rows[0]), newest_row_first);
	return 0;
}

static size_t render_row(struct tsv_batch *b, size_t k, char *out)
{
	const char *id = b->listing->items[stream_index(b->s, b->listing,
							b->first + k)].name;
	enum record_kind kind;

	if (b->rcs[k] == 0)
		return render_tsv_line(id, fetched_activation(b->refs[k]), out,
				       RENDER_TSV_LINE_MAX);
	kind = readability_kind(b->fs->readability, id, b->rcs[k]);
	return render_tsv_unreadable(id, readability_describe(kind, b->rcs[k]),
				     out, RENDER_TSV_LINE_MAX);
}

static int append_rows(struct tsv_batch *b, off_t offset)
{
	struct tsv_row rows[TSV_BATCH];
	size_t i, base, count = 0;
	int rc = make_text_room(b->s, offset, b->count * RENDER_TSV_LINE_MAX);

	base = b->s->len;
	if (rc == 0)
		rc = sort_rows(b, rows, &count);
	for (i = 0; rc == 0 && i < count; i++) {
		size_t n = render_row(b, rows[i].index, b->s->text + b->s->len);

		/* A line that did not fit would be cut mid-row. */
		rc = n == 0 || n >= RENDER_TSV_LINE_MAX ? -EFBIG : 0;
		b->s->len += rc ? 0 : n;
	}
	if (rc)
		b->s->len = base;
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
	if (rc == 0) {
		s->next += b.count;
		s->done = s->next == b.listing->count;
	}
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
	struct readable newest;
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
	if (rc == -EAGAIN)
		log_msg(&fs->log, LOG_INFO,
			"activations.tsv of %s%s%s: the order of its list cannot be told yet; rows in the listing's order, by start within each batch",
			owner->under_trigger ? owner->trigger : owner->pkg,
			owner->under_trigger ? "" : "/", owner->action);
	if (rc != 0) { /* none readable, or unknown: the rows still are */
		s->newest_first = true;
		rc = 0;
	}
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
	/* A batch that failed leaves the rows before it (and the header)
	 * readable: a short read, and the error at the offset it starts. */
	if (rc && offset >= s->text_at && offset < s->text_at + (off_t)s->len)
		rc = 0;
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
