/* ttl_cache — see ttl_cache.h for the contract.
 *
 * One mutex guards the whole cache: the work under it is a hash probe and a
 * few pointer moves, while the slow parts (the loader: a network round
 * trip; free_value: a big listing) always run unlocked. Entries are made
 * before the lock is taken where it matters, and entries to free are
 * collected under it and freed after it (see unlock()). An entry being
 * (re)loaded carries a "flight"; callers that find a flight wait on it and
 * share its outcome instead of loading again. A finished load never edits a value in place: it links a new entry
 * and unlinks the old one, which lives on until its last holder releases it.
 * Out of scope on purpose: persistence, and sizing by anything but what the
 * loader reports. */
#include "ttl_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash_table.h"

struct flight {
	int rc;
	struct ttl_ref *result; /* a value entry, or NULL when rc != 0 */
	unsigned waiters;
	bool done;
};

struct ttl_ref {
	char *key;
	struct hash_link in_keys;
	void *value;
	size_t size;        /* as charged: loader size + key + bookkeeping */
	int rc;             /* 0: holds a value; -errno: a cached error */
	int64_t expires_at;
	unsigned refs;
	bool in_map, in_lru;
	struct flight *flight; /* non-NULL while a load for this key runs */
	struct ttl_ref *lru_prev, *lru_next;
};

struct ttl_cache {
	pthread_mutex_t lock;
	pthread_cond_t landed;
	struct hash_table keys;  /* the entries in the map, by key */
	struct ttl_ref *lru_newest, *lru_oldest;
	size_t max_bytes;
	ttl_clock_fn clock;
	void *clock_ctx;
	void (*free_value)(void *value);
	struct ttl_cache_stats stats;
	/* Entries nothing holds or links any more, chained by lru_next: freed
	 * by unlock(), after the lock is dropped, because freeing a big
	 * listing takes long enough to stall every thread waiting for it. */
	struct ttl_ref *doomed;
};

/* ---- time -------------------------------------------------------------- */

static int64_t monotonic_ms(void *unused)
{
	struct timespec ts;

	(void)unused;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct ttl_cache *c)
{
	return c->clock(c->clock_ctx);
}

static int64_t expiry(int64_t now, int64_t ttl_ms)
{
	return ttl_ms >= INT64_MAX - now ? INT64_MAX : now + ttl_ms;
}

static bool is_fresh(const struct ttl_cache *c, const struct ttl_ref *e)
{
	return now_ms(c) < e->expires_at;
}

/* ---- entries ----------------------------------------------------------- */

static struct ttl_ref *entry_new(const char *key, uint64_t hash)
{
	struct ttl_ref *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return NULL;
	}
	e->in_keys.hash = hash;
	e->rc = -EAGAIN;
	return e;
}

static void entry_free(struct ttl_cache *c, struct ttl_ref *e)
{
	if (e->value && c->free_value)
		c->free_value(e->value);
	free(e->key);
	free(e);
}

/* Dooms e once nothing holds or links it: unlock() frees it. */
static void entry_drop_if_unused(struct ttl_cache *c, struct ttl_ref *e)
{
	if (e->refs == 0 && !e->in_map && !e->in_lru && !e->flight) {
		e->lru_next = c->doomed;
		c->doomed = e;
	}
}

static void free_chain(struct ttl_cache *c, struct ttl_ref *e)
{
	struct ttl_ref *next;

	for (; e; e = next) {
		next = e->lru_next;
		entry_free(c, e);
	}
}

/* Every public function leaves through here: collect what was doomed
 * under the lock, unlock, then free it. */
static void unlock(struct ttl_cache *c)
{
	struct ttl_ref *doomed = c->doomed;

	c->doomed = NULL;
	pthread_mutex_unlock(&c->lock);
	free_chain(c, doomed);
}

/* ---- the hash map ------------------------------------------------------ */

static struct ttl_ref *map_find(struct ttl_cache *c, const char *key,
				uint64_t hash)
{
	struct hash_link *l;

	for (l = hash_table_first(&c->keys, hash); l; l = hash_table_next(l)) {
		struct ttl_ref *e = HASH_ENTRY(l, struct ttl_ref, in_keys);

		if (strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static void map_insert(struct ttl_cache *c, struct ttl_ref *e)
{
	hash_table_insert(&c->keys, &e->in_keys, e->in_keys.hash);
	e->in_map = true;
}

static void map_remove(struct ttl_cache *c, struct ttl_ref *e)
{
	if (!e->in_map)
		return;
	hash_table_remove(&c->keys, &e->in_keys);
	e->in_map = false;
}

/* ---- the LRU list (only entries holding a value or an error) ----------- */

static void lru_unlink(struct ttl_cache *c, struct ttl_ref *e)
{
	if (!e->in_lru)
		return;
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_newest = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_oldest = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
	e->in_lru = false;
	c->stats.bytes -= e->size;
	c->stats.entries--;
}

static void lru_push_newest(struct ttl_cache *c, struct ttl_ref *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_newest;
	if (c->lru_newest)
		c->lru_newest->lru_prev = e;
	c->lru_newest = e;
	if (!c->lru_oldest)
		c->lru_oldest = e;
	e->in_lru = true;
	c->stats.bytes += e->size;
	c->stats.entries++;
}

static void lru_touch(struct ttl_cache *c, struct ttl_ref *e)
{
	if (!e->in_lru || c->lru_newest == e)
		return;
	lru_unlink(c, e);
	lru_push_newest(c, e);
}

static void unlink_entry(struct ttl_cache *c, struct ttl_ref *e)
{
	map_remove(c, e);
	lru_unlink(c, e);
	entry_drop_if_unused(c, e);
}

/* Entries with a load in flight are skipped: their flight still needs them. */
static void evict_over_bound(struct ttl_cache *c)
{
	struct ttl_ref *e = c->lru_oldest, *prev;

	while (e && c->stats.bytes > c->max_bytes) {
		prev = e->lru_prev;
		if (!e->flight) {
			unlink_entry(c, e);
			c->stats.evictions++;
		}
		e = prev;
	}
}

/* ---- loading ----------------------------------------------------------- */

/* Fills e, made unlocked for the outcome of a load, with a loaded value or
 * error, and links it under its key when it is to be kept. */
static void settle(struct ttl_cache *c, struct ttl_ref *e, int rc,
		   const struct ttl_load *load)
{
	e->rc = rc;
	e->value = rc == 0 ? load->value : NULL;
	e->size = (rc == 0 ? load->size : 0) + strlen(e->key) + sizeof(*e);
	e->expires_at = expiry(now_ms(c), load->ttl_ms);
	if (load->ttl_ms > 0) {
		map_insert(c, e);
		lru_push_newest(c, e);
	}
}

static bool can_serve_stale(const struct ttl_ref *old, int rc)
{
	return old->rc == 0 && old->in_lru && rc != -ENOENT;
}

/* Decides what the flight hands out once its loader returned; fresh is
 * the entry made for the outcome (it is dropped when not used). */
static void land(struct ttl_cache *c, struct ttl_ref *old, struct flight *f,
		 int rc, const struct ttl_load *load, struct ttl_ref *fresh)
{
	old->flight = NULL;
	if (rc != 0 && can_serve_stale(old, rc)) {
		old->expires_at = expiry(now_ms(c), load->ttl_ms);
		lru_touch(c, old);
		c->stats.stale_served++;
		f->result = old;
		rc = 0;
	} else {
		map_remove(c, old);
		lru_unlink(c, old);
		if (rc == 0 || load->ttl_ms > 0)
			settle(c, fresh, rc, load);
		entry_drop_if_unused(c, old);
		f->result = rc == 0 ? fresh : NULL;
	}
	f->rc = rc;
	/* Take every reference now, the loading caller's and each waiter's:
	 * a value that is not kept (ttl 0) would otherwise be freed by the
	 * first release before a slower waiter had woken up to hold it. */
	if (f->result)
		f->result->refs += 1 + f->waiters;
	if (fresh)
		entry_drop_if_unused(c, fresh);
	f->done = true;
	evict_over_bound(c);
}

static int wait_for_flight(struct ttl_cache *c, struct flight *f,
			   struct ttl_ref **out)
{
	int rc;

	f->waiters++;
	while (!f->done)
		pthread_cond_wait(&c->landed, &c->lock);
	rc = f->rc;
	*out = f->result; /* land() took this waiter's reference */
	if (--f->waiters == 0)
		free(f);
	return rc;
}

/* The loader's outcome, and the entry that will hold it, made unlocked.
 * Returns NULL when there is no memory for the entry (rc says so then). */
static struct ttl_ref *call_loader(struct ttl_cache *c, const struct ttl_ref *e,
				   ttl_loader_fn loader, void *loader_ctx,
				   struct ttl_load *load, int *rc)
{
	struct ttl_ref *fresh;

	*rc = loader(loader_ctx, e->key, load);
	if (*rc != 0 && load->value && c->free_value) {
		c->free_value(load->value); /* a loader that broke its contract */
		load->value = NULL;
	}
	fresh = entry_new(e->key, e->in_keys.hash);
	if (!fresh) {
		if (load->value && c->free_value)
			c->free_value(load->value);
		load->value = NULL;
		load->ttl_ms = 0;
		*rc = -ENOMEM;
	}
	return fresh;
}

/* Loads key into e, or into a new placeholder when e is NULL. Called with
 * the lock held; returns with it held. The placeholder is linked only once
 * its flight exists, so a failed allocation leaves nothing behind. */
static int load_under_flight(struct ttl_cache *c, struct ttl_ref *e,
			     const char *key, uint64_t hash,
			     ttl_loader_fn loader, void *loader_ctx,
			     struct ttl_ref **out)
{
	struct ttl_load load = { 0 };
	struct flight *f = calloc(1, sizeof(*f));
	struct ttl_ref *fresh;
	int rc;

	if (f && !e && (e = entry_new(key, hash)) != NULL)
		map_insert(c, e);
	if (!f || !e) {
		free(f);
		return -ENOMEM;
	}
	e->flight = f;
	c->stats.misses++;
	unlock(c);
	fresh = call_loader(c, e, loader, loader_ctx, &load, &rc);
	pthread_mutex_lock(&c->lock);
	c->stats.loads++;
	land(c, e, f, rc, &load, fresh);
	pthread_cond_broadcast(&c->landed);
	rc = f->rc;
	*out = f->result;
	if (f->waiters == 0)
		free(f);
	return rc;
}

int ttl_cache_take(struct ttl_cache *c, const char *key, ttl_loader_fn loader,
		   void *loader_ctx, struct ttl_ref **out)
{
	uint64_t hash = hash_string(key);
	struct ttl_ref *e;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = map_find(c, key, hash);
	if (e && e->flight) {
		c->stats.hits++;
		rc = wait_for_flight(c, e->flight, out);
	} else if (e && is_fresh(c, e)) {
		c->stats.hits++;
		rc = e->rc;
		if (rc == 0) {
			e->refs++;
			lru_touch(c, e);
			*out = e;
		}
	} else {
		rc = load_under_flight(c, e, key, hash, loader, loader_ctx,
				       out);
	}
	unlock(c);
	return rc;
}

int ttl_cache_peek(struct ttl_cache *c, const char *key, struct ttl_ref **out)
{
	struct ttl_ref *e;
	int rc = -EAGAIN;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = map_find(c, key, hash_string(key));
	if (e && !e->flight && e->rc == 0 && is_fresh(c, e)) {
		c->stats.hits++;
		e->refs++;
		lru_touch(c, e);
		*out = e;
		rc = 0;
	}
	unlock(c);
	return rc;
}

void ttl_cache_forget_error(struct ttl_cache *c, const char *key)
{
	struct ttl_ref *e;

	pthread_mutex_lock(&c->lock);
	e = map_find(c, key, hash_string(key));
	if (e && !e->flight && e->rc != 0)
		unlink_entry(c, e);
	unlock(c);
}

bool ttl_cache_is_present(struct ttl_cache *c, const char *key)
{
	struct ttl_ref *e;
	bool present;

	pthread_mutex_lock(&c->lock);
	e = map_find(c, key, hash_string(key));
	present = e && (e->flight || (e->rc == 0 && is_fresh(c, e)));
	unlock(c);
	return present;
}

void ttl_cache_release(struct ttl_cache *c, struct ttl_ref *ref)
{
	if (!ref)
		return;
	pthread_mutex_lock(&c->lock);
	ref->refs--;
	entry_drop_if_unused(c, ref);
	unlock(c);
}

const void *ttl_ref_value(const struct ttl_ref *ref)
{
	return ref->value;
}

size_t ttl_ref_size(const struct ttl_ref *ref)
{
	return ref->size - strlen(ref->key) - sizeof(*ref);
}

void ttl_cache_clear(struct ttl_cache *c)
{
	struct ttl_ref *e, *prev;

	pthread_mutex_lock(&c->lock);
	for (e = c->lru_oldest; e; e = prev) {
		prev = e->lru_prev;
		if (!e->flight)
			unlink_entry(c, e);
	}
	unlock(c);
}

void ttl_cache_get_stats(struct ttl_cache *c, struct ttl_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	unlock(c);
}

/* ---- lifecycle --------------------------------------------------------- */

struct ttl_cache *ttl_cache_new(const struct ttl_cache_config *config)
{
	struct ttl_cache *c;

	if (!config || config->max_bytes == 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (hash_table_init(&c->keys, 256) != 0) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->landed, NULL);
	c->max_bytes = config->max_bytes;
	c->clock = config->clock ? config->clock : monotonic_ms;
	c->clock_ctx = config->clock_ctx;
	c->free_value = config->free_value;
	return c;
}

static void free_linked(struct hash_link *link, void *cache)
{
	entry_free(cache, HASH_ENTRY(link, struct ttl_ref, in_keys));
}

void ttl_cache_free(struct ttl_cache *c)
{
	if (!c)
		return;
	free_chain(c, c->doomed);
	hash_table_drain(&c->keys, free_linked, c);
	hash_table_release(&c->keys);
	pthread_cond_destroy(&c->landed);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
