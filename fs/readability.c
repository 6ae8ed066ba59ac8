/* readability — see readability.h. Two small tables under one mutex: the
 * ids that answered something other than a record (sorted by id), and the
 * owners whose list order is known (linear: a mount follows few). Left out
 * on purpose: persistence (a new mount learns again, at the cost of a few
 * records) and any guess from what a list looks like. */
#include "readability.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS_PER_S 1000

struct waiting_id {
	char id[READABILITY_ID_MAX + 1];
	int rc;                 /* the last answer */
	int64_t first_ms;       /* the first "not found" (or broken) answer */
	int64_t next_ms;        /* when it may be asked again */
	unsigned tries;
};

struct known_order {
	char *key;
	bool newest_first;
	int64_t newest_start;
	int64_t set_ms;
};

struct readability {
	pthread_mutex_t lock;
	readability_clock_fn clock;
	readability_random_fn random;
	void *ctx;
	uint32_t seed;
	struct waiting_id *ids; /* sorted by id */
	size_t id_count;
	struct known_order *orders;
	size_t order_count;
	int64_t fresh_max_ms;
	double tokens;
	int64_t tokens_at;
	struct readability_stats st;
};

static int64_t monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

/* xorshift32: jitter needs no more. */
static uint32_t xorshift(void *ctx)
{
	uint32_t *x = ctx;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

struct readability *readability_new(readability_clock_fn clock,
				    readability_random_fn random, void *ctx)
{
	struct readability *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->ids = calloc(READABILITY_IDS_MAX, sizeof(*r->ids));
	r->orders = calloc(READABILITY_ORDERS_MAX, sizeof(*r->orders));
	if (!r->ids || !r->orders) {
		readability_free(r);
		return NULL;
	}
	r->seed = (uint32_t)time(NULL) | 1u;
	r->clock = clock ? clock : monotonic_ms;
	r->random = random ? random : xorshift;
	r->ctx = clock || random ? ctx : &r->seed;
	r->fresh_max_ms = (int64_t)READABILITY_FRESH_MAX_S * MS_PER_S;
	r->tokens = READABILITY_BUDGET_BURST;
	r->tokens_at = r->clock(r->ctx);
	return r;
}

void readability_set_late_max(struct readability *r, unsigned seconds)
{
	if (!r || !seconds)
		return;
	pthread_mutex_lock(&r->lock);
	r->fresh_max_ms = (int64_t)seconds * MS_PER_S;
	pthread_mutex_unlock(&r->lock);
}

void readability_free(struct readability *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; r->orders && i < r->order_count; i++)
		free(r->orders[i].key);
	pthread_mutex_destroy(&r->lock);
	free(r->orders);
	free(r->ids);
	free(r);
}

bool record_is_unreadable(int rc)
{
	return rc == -ENOENT || rc == -EBADMSG || rc == -EFBIG;
}

/* ---- the ids (under lock) --------------------------------------------------- */

static size_t id_slot(const struct readability *r, const char *id, bool *found)
{
	size_t low = 0, high = r->id_count;

	*found = false;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		int cmp = strcmp(r->ids[mid].id, id);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

static struct waiting_id *id_find(struct readability *r, const char *id)
{
	bool found;
	size_t at = id_slot(r, id, &found);

	return found ? &r->ids[at] : NULL;
}

static void id_remove_at(struct readability *r, size_t at)
{
	memmove(&r->ids[at], &r->ids[at + 1],
		(r->id_count - at - 1) * sizeof(*r->ids));
	r->id_count--;
}

/* The table is full: the id that has waited longest goes. */
static void id_make_room(struct readability *r)
{
	size_t i, oldest = 0;

	if (r->id_count < READABILITY_IDS_MAX)
		return;
	for (i = 1; i < r->id_count; i++) {
		if (r->ids[i].first_ms < r->ids[oldest].first_ms)
			oldest = i;
	}
	id_remove_at(r, oldest);
}

static struct waiting_id *id_add(struct readability *r, const char *id,
				 int64_t now)
{
	struct waiting_id *w;
	bool found;
	size_t at;

	id_make_room(r);
	at = id_slot(r, id, &found);
	memmove(&r->ids[at + 1], &r->ids[at],
		(r->id_count - at) * sizeof(*r->ids));
	r->id_count++;
	w = &r->ids[at];
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->first_ms = now;
	return w;
}

static bool is_gone(const struct readability *r, const struct waiting_id *w,
		    int64_t now)
{
	return w->rc == -ENOENT && now - w->first_ms >= r->fresh_max_ms;
}

/* 1, 2, 4, ... s after the tries so far, capped, plus up to a quarter. */
static int64_t backoff_ms(struct readability *r, const struct waiting_id *w,
			  int64_t now)
{
	int64_t base = (int64_t)READABILITY_BACKOFF_CAP_S * MS_PER_S;

	if (is_gone(r, w, now))
		return (int64_t)READABILITY_GONE_RETRY_S * MS_PER_S;
	if (w->tries < 16 && ((int64_t)MS_PER_S << (w->tries - 1)) < base)
		base = (int64_t)MS_PER_S << (w->tries - 1);
	return base + (int64_t)(r->random(r->ctx) % (uint32_t)(base / 4 + 1));
}

/* One token of the budget, refilled at READABILITY_BUDGET_PER_S. */
static bool take_token(struct readability *r, int64_t now)
{
	r->tokens += (double)(now - r->tokens_at) * READABILITY_BUDGET_PER_S /
		     MS_PER_S;
	r->tokens_at = now;
	if (r->tokens > READABILITY_BUDGET_BURST)
		r->tokens = READABILITY_BUDGET_BURST;
	if (r->tokens < 1.0)
		return false;
	r->tokens -= 1.0;
	return true;
}

int readability_may_ask(struct readability *r, const char *id)
{
	struct waiting_id *w;
	int64_t now;
	int rc = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	now = r->clock(r->ctx);
	w = id_find(r, id);
	if (w && now < w->next_ms) {
		rc = w->rc;
		r->st.deferred++;
	} else if (w && !take_token(r, now)) {
		rc = w->rc;
		r->st.deferred++;
		r->st.over_budget++;
	} else if (w) {
		r->st.retries++;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void readability_note(struct readability *r, const char *id, int rc)
{
	struct waiting_id *w;
	bool found;
	size_t at;
	int64_t now;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	now = r->clock(r->ctx);
	at = id_slot(r, id, &found);
	if (rc == -EBADMSG || rc == -EFBIG)
		r->st.broken++;
	if (found && rc != -ENOENT) {
		/* readable now, broken, or a failed fetch that says nothing of
		 * it: no schedule (a broken answer may be a proxy's, and an
		 * error is the cache's to remember, for neg_ttl) */
		if (rc == 0)
			r->st.became_readable++;
		if (rc == 0 || rc == -EBADMSG || rc == -EFBIG)
			id_remove_at(r, at);
	} else if (rc == -ENOENT) {
		w = found ? &r->ids[at] : id_add(r, id, now);
		w->rc = rc;
		w->tries++;
		w->next_ms = now + backoff_ms(r, w, now);
	}
	pthread_mutex_unlock(&r->lock);
}

enum record_kind readability_kind(struct readability *r, const char *id,
				  int rc)
{
	const struct waiting_id *w;
	enum record_kind kind = RECORD_FRESH;

	if (rc == 0)
		return RECORD_READABLE;
	if (rc == -EBADMSG || rc == -EFBIG)
		return RECORD_BROKEN;
	if (rc != -ENOENT)
		return RECORD_FAILED;
	if (!r)
		return RECORD_FRESH;
	pthread_mutex_lock(&r->lock);
	w = id_find(r, id);
	if (w && is_gone(r, w, r->clock(r->ctx)))
		kind = RECORD_GONE;
	pthread_mutex_unlock(&r->lock);
	return kind;
}

const char *readability_describe(enum record_kind kind, int rc)
{
	switch (kind) {
	case RECORD_READABLE:
		return "";
	case RECORD_FRESH:
		return "not readable yet";
	case RECORD_GONE:
		return "not found";
	case RECORD_BROKEN:
		return rc == -EFBIG ? "record too big" : "malformed record";
	case RECORD_FAILED:
		break;
	}
	return "fetch failed";
}

/* ---- orders (under lock) ------------------------------------------------------ */

static struct known_order *order_find(struct readability *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->order_count; i++) {
		if (strcmp(r->orders[i].key, key) == 0)
			return &r->orders[i];
	}
	return NULL;
}

static void order_remove(struct readability *r, struct known_order *o)
{
	free(o->key);
	*o = r->orders[--r->order_count];
}

int readability_order_get(struct readability *r, const char *owner_key,
			  bool *newest_first)
{
	const struct known_order *o;

	if (!r)
		return -ENOENT;
	pthread_mutex_lock(&r->lock);
	o = order_find(r, owner_key);
	if (o)
		*newest_first = o->newest_first;
	pthread_mutex_unlock(&r->lock);
	return o ? 0 : -ENOENT;
}

/* The table is full: the order learnt longest ago goes. */
static void order_make_room(struct readability *r)
{
	size_t i, oldest = 0;

	if (r->order_count < READABILITY_ORDERS_MAX)
		return;
	for (i = 1; i < r->order_count; i++) {
		if (r->orders[i].set_ms < r->orders[oldest].set_ms)
			oldest = i;
	}
	order_remove(r, &r->orders[oldest]);
}

void readability_order_set(struct readability *r, const char *owner_key,
			   bool newest_first, int64_t newest_start)
{
	struct known_order *o;
	char *key;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	o = order_find(r, owner_key);
	if (!o) {
		key = strdup(owner_key);
		if (key) {
			order_make_room(r);
			o = &r->orders[r->order_count++];
			o->key = key;
		}
	}
	if (o) {
		o->newest_first = newest_first;
		o->newest_start = newest_start;
		o->set_ms = r->clock(r->ctx);
	}
	pthread_mutex_unlock(&r->lock);
}

bool readability_order_contradicts(struct readability *r,
				   const char *owner_key, int64_t start)
{
	struct known_order *o;
	bool contradicted = false;

	if (!r)
		return false;
	pthread_mutex_lock(&r->lock);
	o = order_find(r, owner_key);
	if (o && start < o->newest_start) {
		order_remove(r, o);
		r->st.orders_dropped++;
		contradicted = true;
	} else if (o) {
		o->newest_start = start;
	}
	pthread_mutex_unlock(&r->lock);
	return contradicted;
}

/* ---- stats ------------------------------------------------------------------- */

void readability_get_stats(struct readability *r, struct readability_stats *out)
{
	size_t i;
	int64_t now;

	memset(out, 0, sizeof(*out));
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	now = r->clock(r->ctx);
	out->waiting = out->gone = 0;
	for (i = 0; i < r->id_count; i++) {
		if (is_gone(r, &r->ids[i], now))
			out->gone++;
		else if (r->ids[i].rc == -ENOENT)
			out->waiting++;
	}
	out->orders = r->order_count;
	pthread_mutex_unlock(&r->lock);
}

size_t readability_format_stats(struct readability *r, char *buf, size_t size)
{
	struct readability_stats st;
	int n;

	readability_get_stats(r, &st);
	n = snprintf(buf, size,
		     "records_retried %llu\nrecords_retries_deferred %llu\n"
		     "records_retries_over_budget %llu\n"
		     "records_readable_after_404 %llu\nrecords_broken %llu\n"
		     "records_waiting %zu\nrecords_gone %zu\n"
		     "retry_budget_per_s %d\nretry_backoff_cap_s %d\n"
		     "list_orders_known %zu\nlist_orders_dropped %llu\n",
		     (unsigned long long)st.retries,
		     (unsigned long long)st.deferred,
		     (unsigned long long)st.over_budget,
		     (unsigned long long)st.became_readable,
		     (unsigned long long)st.broken, st.waiting, st.gone,
		     READABILITY_BUDGET_PER_S, READABILITY_BACKOFF_CAP_S,
		     st.orders, (unsigned long long)st.orders_dropped);
	return n < 0 ? 0 : (size_t)n;
}
