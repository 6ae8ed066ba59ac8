/* test_cache — the TTL cache (cache/ttl_cache.h): expiry on an injected
 * clock, the LRU bound on bytes, negative and stale-on-error entries,
 * references that outlive eviction, and single-flight loading with real
 * threads.
 *
 * Values are heap objects that remember their key and which load made
 * them; free_value poisons and frees them and counts frees, so a value
 * freed too early or twice shows up as a wrong count or a sanitizer /
 * valgrind report. Thread tests wait on conditions with timeouts, never on
 * luck: a single-flight load is held open by a gate until the cache has
 * counted every other taker as waiting for it (see gate_until_joined). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache/ttl_cache.h"

#define VALUE_MAGIC 0x76616c7565ULL

struct value {
	uint64_t magic;
	char key[32];
	int generation; /* which call of its loader made it: 1, 2, ... */
};

/* free_value has no context pointer, so the count is global; every test's
 * setup resets it. */
static atomic_int frees;

static void free_value(void *p)
{
	struct value *v = p;

	/* May run on any thread, where cmocka cannot assert: a value freed
	 * twice stops the run here (ASan or valgrind would also report it). */
	if (v->magic != VALUE_MAGIC) {
		fprintf(stderr, "free_value: value freed twice or never made\n");
		abort();
	}
	v->magic = 0;
	free(v);
	atomic_fetch_add(&frees, 1);
}

struct fake_clock {
	_Atomic int64_t now;
};

static int64_t clock_now(void *ctx)
{
	return atomic_load(&((struct fake_clock *)ctx)->now);
}

static void advance(struct fake_clock *c, int64_t ms)
{
	atomic_fetch_add(&c->now, ms);
}

/* A scripted loader: what it returns is set by the test between calls. */
struct loader {
	atomic_int calls;
	int rc;           /* 0: make a value; else return this -errno */
	int64_t ttl_ms;
	size_t size;
	/* The gate: when set, each load waits (up to 5 s) until the cache has
	 * counted this many hits, i.e. until that many other takers have
	 * found the load in flight and are waiting for it. */
	struct ttl_cache *gate_cache;
	uint64_t gate_hits;
	atomic_bool gate_timed_out;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Holds a load open until every other taker has joined its flight: each
 * one that finds the key loading counts a hit before it waits, so the hit
 * count says when all of them are inside. No fixed sleep: a slow machine
 * waits longer, a fast one not at all; 5 s means the cache lost a taker. */
static void gate_until_joined(struct loader *l)
{
	struct ttl_cache_stats st;
	int waited_ms = 0;

	for (;;) {
		ttl_cache_get_stats(l->gate_cache, &st);
		if (st.hits >= l->gate_hits)
			return;
		if (waited_ms++ == 5000) {
			atomic_store(&l->gate_timed_out, true);
			return;
		}
		sleep_ms(1);
	}
}

static struct value *value_new(const char *key, int generation)
{
	struct value *v = calloc(1, sizeof *v);

	if (!v)
		return NULL;
	v->magic = VALUE_MAGIC;
	snprintf(v->key, sizeof v->key, "%s", key);
	v->generation = generation;
	return v;
}

static int scripted_load(void *ctx, const char *key, struct ttl_load *out)
{
	struct loader *l = ctx;
	int n = atomic_fetch_add(&l->calls, 1) + 1;

	if (l->gate_cache)
		gate_until_joined(l);
	out->ttl_ms = l->ttl_ms;
	if (l->rc != 0) {
		out->value = NULL;
		out->size = 0;
		return l->rc;
	}
	out->value = value_new(key, n);
	out->size = l->size;
	return out->value ? 0 : -ENOMEM;
}

struct fixture {
	struct ttl_cache *cache;
	struct fake_clock clock;
	struct loader loader;
	size_t unit; /* what one 100-byte value under a 1-char key is charged */
	size_t max_bytes;
};

static struct fixture *fixture_new(size_t max_bytes)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct ttl_cache_config config = {
		.max_bytes = max_bytes,
		.clock = clock_now,
		.free_value = free_value,
	};

	assert_non_null(f);
	f->max_bytes = max_bytes;
	atomic_store(&f->clock.now, 1000000);
	config.clock_ctx = &f->clock;
	f->cache = ttl_cache_new(&config);
	assert_non_null(f->cache);
	f->loader.ttl_ms = 100;
	f->loader.size = 100;
	atomic_store(&frees, 0);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(1000);
	return 0;
}

/* What the cache charges for one value of size under a 1-character key,
 * read from its stats: size plus key and bookkeeping (see
 * bytes_charged_are_loader_size_plus_key_and_bookkeeping). The LRU tests
 * size their bound in these units, so they are about order, not about the
 * exact overhead. */
static size_t charge_of(size_t size)
{
	int saved_frees = atomic_load(&frees);
	struct fixture *probe = fixture_new(1 << 30);
	struct ttl_cache_stats st;
	struct ttl_ref *ref = NULL;

	probe->loader.size = size;
	assert_int_equal(ttl_cache_take(probe->cache, "x", scripted_load,
					&probe->loader, &ref), 0);
	ttl_cache_release(probe->cache, ref);
	ttl_cache_get_stats(probe->cache, &st);
	ttl_cache_free(probe->cache);
	free(probe);
	atomic_store(&frees, saved_frees);
	assert_true(st.bytes >= size);
	return st.bytes;
}

/* Room for exactly three 100-byte values under 1-character keys. */
static int setup_three(void **state)
{
	size_t unit = charge_of(100);
	struct fixture *f = fixture_new(3 * unit);

	f->unit = unit;
	f->max_bytes = 3 * unit;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ttl_cache_free(f->cache);
	free(f);
	return 0;
}

/* Takes key with the fixture's loader; returns rc, the value in *v. */
static int take(struct fixture *f, const char *key, struct ttl_ref **ref,
		const struct value **v)
{
	int rc;

	*ref = (struct ttl_ref *)&rc; /* must be overwritten */
	rc = ttl_cache_take(f->cache, key, scripted_load, &f->loader, ref);
	if (rc != 0) {
		assert_null(*ref);
		*v = NULL;
		return rc;
	}
	assert_non_null(*ref);
	*v = ttl_ref_value(*ref);
	assert_non_null(*v);
	assert_true((*v)->magic == VALUE_MAGIC);
	assert_string_equal((*v)->key, key);
	return 0;
}

/* Takes and releases; returns the generation served, or the -errno. */
static int take_generation(struct fixture *f, const char *key)
{
	struct ttl_ref *ref;
	const struct value *v;
	int rc = take(f, key, &ref, &v);
	int generation;

	if (rc != 0)
		return rc;
	generation = v->generation;
	ttl_cache_release(f->cache, ref);
	return generation;
}

static int calls(const struct fixture *f)
{
	return atomic_load(&f->loader.calls);
}

/* ---- lifecycle ------------------------------------------------------ */

static void new_refuses_a_null_config(void **state)
{
	(void)state;
	assert_null(ttl_cache_new(NULL));
}

static void free_frees_every_cached_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(take_generation(f, "b"), 2);
	assert_int_equal(take_generation(f, "c"), 3);
	assert_int_equal(atomic_load(&frees), 0);
	ttl_cache_free(f->cache);
	f->cache = NULL;
	assert_int_equal(atomic_load(&frees), 3);
	ttl_cache_free(NULL);
}

/* ---- TTL ------------------------------------------------------------ */

static void fresh_value_is_served_without_reloading(void **state)
{
	struct fixture *f = *state;
	struct ttl_cache_stats st;
	struct ttl_ref *ref;
	const struct value *v;

	assert_int_equal(take(f, "a", &ref, &v), 0);
	assert_int_equal(v->generation, 1);
	assert_int_equal(ttl_ref_size(ref), 100);
	ttl_cache_release(f->cache, ref);
	advance(&f->clock, 99);
	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(calls(f), 1);
	assert_int_equal(atomic_load(&frees), 0);

	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.loads, 1);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, charge_of(100));
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.stale_served, 0);
}

static void expired_value_is_reloaded_and_the_old_one_freed(void **state)
{
	struct fixture *f = *state;
	struct ttl_cache_stats st;

	assert_int_equal(take_generation(f, "a"), 1);
	advance(&f->clock, 101);
	assert_int_equal(take_generation(f, "a"), 2);
	assert_int_equal(calls(f), 2);
	assert_int_equal(atomic_load(&frees), 1);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.loads, 2);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, charge_of(100)); /* the old one's bytes went */
}

static void each_entry_has_its_own_ttl(void **state)
{
	struct fixture *f = *state;

	f->loader.ttl_ms = 50;
	assert_int_equal(take_generation(f, "short"), 1);
	f->loader.ttl_ms = 500;
	assert_int_equal(take_generation(f, "long"), 2);
	advance(&f->clock, 100);
	assert_false(ttl_cache_is_present(f->cache, "short"));
	assert_true(ttl_cache_is_present(f->cache, "long"));
	assert_int_equal(take_generation(f, "long"), 2);
	assert_int_equal(take_generation(f, "short"), 3);
}

/* TTL_FOREVER must not overflow when added to a late clock. */
static void forever_never_expires(void **state)
{
	struct fixture *f = *state;

	f->loader.ttl_ms = TTL_FOREVER;
	assert_int_equal(take_generation(f, "a"), 1);
	atomic_store(&f->clock.now, INT64_MAX / 2);
	assert_true(ttl_cache_is_present(f->cache, "a"));
	assert_int_equal(take_generation(f, "a"), 1);
	atomic_store(&f->clock.now, INT64_MAX - 1);
	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(calls(f), 1);
}

static void zero_ttl_value_is_handed_over_but_not_kept(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *ref;
	const struct value *v;
	struct ttl_cache_stats st;

	f->loader.ttl_ms = 0;
	assert_int_equal(take(f, "a", &ref, &v), 0);
	assert_int_equal(v->generation, 1);
	assert_int_equal(atomic_load(&frees), 0);
	ttl_cache_release(f->cache, ref);
	assert_int_equal(atomic_load(&frees), 1);
	assert_false(ttl_cache_is_present(f->cache, "a"));
	assert_int_equal(take_generation(f, "a"), 2);
	assert_int_equal(atomic_load(&frees), 2);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
}

/* ---- LRU bound ------------------------------------------------------ */

static void lru_evicts_the_least_recently_used(void **state)
{
	struct fixture *f = *state; /* room for three values */
	struct ttl_cache_stats st;

	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(take_generation(f, "b"), 2);
	assert_int_equal(take_generation(f, "c"), 3);
	assert_int_equal(take_generation(f, "a"), 1); /* a is now newest */
	assert_int_equal(take_generation(f, "d"), 4); /* b must go */
	assert_false(ttl_cache_is_present(f->cache, "b"));
	assert_true(ttl_cache_is_present(f->cache, "a"));
	assert_true(ttl_cache_is_present(f->cache, "c"));
	assert_true(ttl_cache_is_present(f->cache, "d"));
	assert_int_equal(atomic_load(&frees), 1);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.bytes, 3 * f->unit);
	/* b comes back only by loading it again. */
	assert_int_equal(take_generation(f, "b"), 5);
}

/* The header: each entry is charged its loader's size plus its key and
 * about a hundred bytes of bookkeeping. */
static void bytes_charged_are_loader_size_plus_key_and_bookkeeping(void **state)
{
	struct fixture *f = *state; /* 1000 bytes */
	struct ttl_cache_stats st;
	size_t overhead = charge_of(100) - 100;

	assert_true(overhead > 0 && overhead <= 256);
	assert_int_equal(charge_of(350) - charge_of(100), 250);
	assert_int_equal(charge_of(0), overhead);
	assert_int_equal(take_generation(f, "a"), 1);
	f->loader.size = 250;
	assert_int_equal(take_generation(f, "b"), 2);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.bytes, 100 + 250 + 2 * overhead);
	/* A longer key costs more. */
	assert_int_equal(take_generation(f, "a-much-longer-key"), 3);
	ttl_cache_get_stats(f->cache, &st);
	assert_true(st.bytes > 100 + 250 + 250 + 3 * overhead);
	assert_int_equal(st.evictions, 0);
}

/* Being peeked at is being used: peek refreshes recency too. */
static void peek_counts_as_use_for_lru(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *ref;

	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(take_generation(f, "b"), 2);
	assert_int_equal(take_generation(f, "c"), 3);
	assert_int_equal(ttl_cache_peek(f->cache, "a", &ref), 0);
	ttl_cache_release(f->cache, ref);
	assert_int_equal(take_generation(f, "d"), 4);
	assert_true(ttl_cache_is_present(f->cache, "a"));
	assert_false(ttl_cache_is_present(f->cache, "b"));
}

static void bigger_values_evict_several(void **state)
{
	struct fixture *f = *state;
	struct ttl_cache_stats st;

	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(take_generation(f, "b"), 2);
	assert_int_equal(take_generation(f, "c"), 3);
	/* Charged two and a half units: all three others must go. */
	f->loader.size = 5 * f->unit / 2 - (f->unit - 100);
	assert_int_equal(take_generation(f, "e"), 4);
	ttl_cache_get_stats(f->cache, &st);
	assert_true(st.bytes <= f->max_bytes);
	assert_true(ttl_cache_is_present(f->cache, "e"));
	assert_false(ttl_cache_is_present(f->cache, "a"));
	assert_false(ttl_cache_is_present(f->cache, "b"));
	assert_false(ttl_cache_is_present(f->cache, "c"));
	assert_int_equal(st.entries, 1);
	assert_int_equal(atomic_load(&frees), 3);
}

static void entry_larger_than_the_bound_is_returned_then_dropped(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *ref;
	const struct value *v;
	struct ttl_cache_stats st;

	f->loader.size = 4 * f->unit;
	assert_int_equal(take(f, "h", &ref, &v), 0);
	assert_int_equal(v->generation, 1);
	assert_int_equal(ttl_ref_size(ref), 4 * f->unit);
	ttl_cache_get_stats(f->cache, &st);
	assert_true(st.bytes <= f->max_bytes);
	assert_false(ttl_cache_is_present(f->cache, "h"));
	ttl_cache_release(f->cache, ref);
	assert_int_equal(atomic_load(&frees), 1);
	assert_int_equal(take_generation(f, "h"), 2);
	assert_int_equal(atomic_load(&frees), 2);
}

/* ---- references ----------------------------------------------------- */

static void held_value_survives_eviction_until_released(void **state)
{
	struct fixture *f = *state; /* room for three values */
	struct ttl_ref *held;
	const struct value *v;
	struct ttl_cache_stats st;

	assert_int_equal(take(f, "a", &held, &v), 0);
	assert_int_equal(take_generation(f, "b"), 2);
	assert_int_equal(take_generation(f, "c"), 3);
	assert_int_equal(take_generation(f, "d"), 4); /* a is oldest: unlinked */
	assert_false(ttl_cache_is_present(f->cache, "a"));
	ttl_cache_get_stats(f->cache, &st);
	assert_true(st.bytes <= f->max_bytes);
	assert_int_equal(atomic_load(&frees), 0);
	/* Still the same, readable value. */
	assert_true(v->magic == VALUE_MAGIC);
	assert_string_equal(v->key, "a");
	assert_ptr_equal(ttl_ref_value(held), v);
	ttl_cache_release(f->cache, held);
	assert_int_equal(atomic_load(&frees), 1);
}

static void held_value_survives_expiry_and_reload(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *old, *fresh;
	const struct value *vo, *vn;

	assert_int_equal(take(f, "a", &old, &vo), 0);
	advance(&f->clock, 101);
	assert_int_equal(take(f, "a", &fresh, &vn), 0);
	assert_int_equal(vo->generation, 1);
	assert_int_equal(vn->generation, 2);
	assert_int_equal(atomic_load(&frees), 0);
	ttl_cache_release(f->cache, old);
	assert_int_equal(atomic_load(&frees), 1);
	ttl_cache_release(f->cache, fresh);
	assert_int_equal(atomic_load(&frees), 1); /* still cached */
	assert_true(ttl_cache_is_present(f->cache, "a"));
}

static void two_holders_share_one_value(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *r1, *r2;
	const struct value *v1, *v2;

	assert_int_equal(take(f, "a", &r1, &v1), 0);
	assert_int_equal(take(f, "a", &r2, &v2), 0);
	assert_ptr_equal(v1, v2);
	ttl_cache_clear(f->cache);
	ttl_cache_release(f->cache, r1);
	assert_int_equal(atomic_load(&frees), 0);
	assert_true(v2->magic == VALUE_MAGIC);
	ttl_cache_release(f->cache, r2);
	assert_int_equal(atomic_load(&frees), 1);
}

/* ---- negative entries and stale-on-error ------------------------------ */

static void error_is_remembered_for_its_ttl(void **state)
{
	struct fixture *f = *state;

	f->loader.rc = -ENOENT;
	f->loader.ttl_ms = 1000;
	assert_int_equal(take_generation(f, "missing"), -ENOENT);
	advance(&f->clock, 500);
	assert_int_equal(take_generation(f, "missing"), -ENOENT);
	assert_int_equal(take_generation(f, "missing"), -ENOENT);
	assert_int_equal(calls(f), 1);
	advance(&f->clock, 600);
	f->loader.rc = 0;
	f->loader.ttl_ms = 100;
	assert_int_equal(take_generation(f, "missing"), 2);
	assert_int_equal(calls(f), 2);
}

/* A forgotten error is loaded again at once; a value is never forgotten. */
static void forget_error_drops_errors_only(void **state)
{
	struct fixture *f = *state;

	f->loader.rc = -ENOENT;
	f->loader.ttl_ms = 5000;
	assert_int_equal(take_generation(f, "fresh"), -ENOENT);
	ttl_cache_forget_error(f->cache, "fresh");
	assert_int_equal(take_generation(f, "fresh"), -ENOENT);
	assert_int_equal(calls(f), 2);
	f->loader.rc = 0;
	f->loader.ttl_ms = TTL_FOREVER;
	ttl_cache_forget_error(f->cache, "fresh");
	assert_int_equal(take_generation(f, "fresh"), 3);
	ttl_cache_forget_error(f->cache, "fresh");
	ttl_cache_forget_error(f->cache, "never-taken");
	assert_int_equal(take_generation(f, "fresh"), 3);
	assert_int_equal(calls(f), 3);
}

static void error_with_zero_ttl_is_not_kept(void **state)
{
	struct fixture *f = *state;

	f->loader.rc = -EIO;
	f->loader.ttl_ms = 0;
	assert_int_equal(take_generation(f, "flaky"), -EIO);
	assert_int_equal(take_generation(f, "flaky"), -EIO);
	assert_int_equal(calls(f), 2);
	f->loader.rc = 0;
	f->loader.ttl_ms = 100;
	assert_int_equal(take_generation(f, "flaky"), 3);
}

static void stale_value_is_served_when_reload_fails(void **state)
{
	struct fixture *f = *state;
	struct ttl_cache_stats st;

	assert_int_equal(take_generation(f, "a"), 1);
	advance(&f->clock, 150);
	f->loader.rc = -EIO;
	f->loader.ttl_ms = 50;
	assert_int_equal(take_generation(f, "a"), 1); /* stale, not -EIO */
	assert_int_equal(calls(f), 2);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.stale_served, 1);
	/* Kept for the error's TTL: no new attempt within it. */
	advance(&f->clock, 20);
	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(calls(f), 2);
	/* After it, a new attempt, which now succeeds. */
	advance(&f->clock, 40);
	f->loader.rc = 0;
	f->loader.ttl_ms = 100;
	assert_int_equal(take_generation(f, "a"), 3);
	assert_int_equal(atomic_load(&frees), 1);
}

static void stale_serving_works_for_other_errors_too(void **state)
{
	static const int errors[] = {-ETIMEDOUT, -EAGAIN, -EACCES, -ENOMEM, -EBADMSG};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		char key[8];

		int gen;

		snprintf(key, sizeof key, "k%zu", i);
		f->loader.rc = 0;
		f->loader.ttl_ms = 100;
		gen = take_generation(f, key);
		assert_true(gen > 0);
		advance(&f->clock, 150);
		f->loader.rc = errors[i];
		f->loader.ttl_ms = 10;
		assert_int_equal(take_generation(f, key), gen);
	}
}

static void enoent_is_not_served_stale(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(take_generation(f, "gone"), 1);
	advance(&f->clock, 150);
	f->loader.rc = -ENOENT;
	f->loader.ttl_ms = 50;
	assert_int_equal(take_generation(f, "gone"), -ENOENT);
	assert_int_equal(atomic_load(&frees), 1);
	assert_false(ttl_cache_is_present(f->cache, "gone"));
	/* And the -ENOENT itself is remembered for its TTL. */
	assert_int_equal(take_generation(f, "gone"), -ENOENT);
	assert_int_equal(calls(f), 2);
}

/* ---- peek, is_present, clear ---------------------------------------- */

static void peek_never_loads(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *ref = (struct ttl_ref *)&ref;
	const struct value *v;

	assert_int_equal(ttl_cache_peek(f->cache, "a", &ref), -EAGAIN);
	assert_null(ref);
	assert_int_equal(take_generation(f, "a"), 1);
	assert_int_equal(ttl_cache_peek(f->cache, "a", &ref), 0);
	v = ttl_ref_value(ref);
	assert_int_equal(v->generation, 1);
	assert_string_equal(v->key, "a");
	ttl_cache_release(f->cache, ref);
	advance(&f->clock, 101);
	ref = (struct ttl_ref *)&ref;
	assert_int_equal(ttl_cache_peek(f->cache, "a", &ref), -EAGAIN);
	assert_null(ref);
	/* A cached error is no value either. */
	f->loader.rc = -ENOENT;
	f->loader.ttl_ms = 1000;
	assert_int_equal(take_generation(f, "missing"), -ENOENT);
	assert_int_equal(ttl_cache_peek(f->cache, "missing", &ref), -EAGAIN);
	assert_int_equal(calls(f), 2);
}

static void is_present_means_cached_and_fresh(void **state)
{
	struct fixture *f = *state;

	assert_false(ttl_cache_is_present(f->cache, "a"));
	assert_int_equal(take_generation(f, "a"), 1);
	assert_true(ttl_cache_is_present(f->cache, "a"));
	assert_false(ttl_cache_is_present(f->cache, "A"));
	assert_false(ttl_cache_is_present(f->cache, "ab"));
	advance(&f->clock, 101);
	assert_false(ttl_cache_is_present(f->cache, "a"));
	assert_int_equal(calls(f), 1);
}

static void clear_drops_everything_but_held_values_live_on(void **state)
{
	struct fixture *f = *state;
	struct ttl_ref *held;
	const struct value *v;
	struct ttl_cache_stats st;

	assert_int_equal(take(f, "a", &held, &v), 0);
	assert_int_equal(take_generation(f, "b"), 2);
	f->loader.rc = -ENOENT;
	f->loader.ttl_ms = 10000;
	assert_int_equal(take_generation(f, "missing"), -ENOENT);
	ttl_cache_clear(f->cache);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_false(ttl_cache_is_present(f->cache, "a"));
	assert_false(ttl_cache_is_present(f->cache, "b"));
	assert_int_equal(atomic_load(&frees), 1); /* b only */
	assert_string_equal(v->key, "a");
	ttl_cache_release(f->cache, held);
	assert_int_equal(atomic_load(&frees), 2);
	/* The cached error went too. */
	f->loader.rc = 0;
	f->loader.ttl_ms = 100;
	assert_int_equal(take_generation(f, "missing"), 4);
	assert_int_equal(take_generation(f, "a"), 5);
}

/* ---- threads -------------------------------------------------------- */

#define FLIGHT_THREADS 16

struct flight {
	struct fixture *f;
	pthread_barrier_t barrier;
	const char *keys[FLIGHT_THREADS];
	int rc[FLIGHT_THREADS];
	const void *value[FLIGHT_THREADS];
	struct ttl_ref *ref[FLIGHT_THREADS];
};

struct flight_arg {
	struct flight *flight;
	int index;
};

static void *flight_thread(void *p)
{
	struct flight_arg *a = p;
	struct flight *fl = a->flight;
	struct ttl_ref *ref = NULL;

	pthread_barrier_wait(&fl->barrier);
	fl->rc[a->index] = ttl_cache_take(fl->f->cache, fl->keys[a->index],
					  scripted_load, &fl->f->loader, &ref);
	fl->ref[a->index] = ref;
	fl->value[a->index] = ref ? ttl_ref_value(ref) : NULL;
	return NULL;
}

static void run_flight(struct flight *fl)
{
	pthread_t threads[FLIGHT_THREADS];
	struct flight_arg args[FLIGHT_THREADS];

	assert_int_equal(pthread_barrier_init(&fl->barrier, NULL, FLIGHT_THREADS), 0);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		args[i].flight = fl;
		args[i].index = i;
		assert_int_equal(pthread_create(&threads[i], NULL, flight_thread, &args[i]), 0);
	}
	for (int i = 0; i < FLIGHT_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&fl->barrier);
}

/* Holds every load of f's loader until joined takers have joined. */
static void gate(struct fixture *f, uint64_t joined)
{
	f->loader.gate_cache = f->cache;
	f->loader.gate_hits = joined;
}

static void single_flight_loads_once_for_concurrent_takers(void **state)
{
	struct fixture *f = *state;
	struct flight fl = {.f = f};
	struct ttl_cache_stats st;

	gate(f, FLIGHT_THREADS - 1);
	for (int i = 0; i < FLIGHT_THREADS; i++)
		fl.keys[i] = "same";
	run_flight(&fl);
	assert_false(atomic_load(&f->loader.gate_timed_out));
	assert_int_equal(calls(f), 1);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		assert_int_equal(fl.rc[i], 0);
		assert_non_null(fl.value[i]);
		assert_ptr_equal(fl.value[i], fl.value[0]);
	}
	assert_int_equal(((const struct value *)fl.value[0])->generation, 1);
	for (int i = 0; i < FLIGHT_THREADS; i++)
		ttl_cache_release(f->cache, fl.ref[i]);
	assert_int_equal(atomic_load(&frees), 0);
	ttl_cache_get_stats(f->cache, &st);
	assert_int_equal(st.loads, 1);
	assert_int_equal(st.entries, 1);
}

/* Waiters share the loader's failure too, even one that is not kept. */
static void single_flight_shares_a_failure(void **state)
{
	struct fixture *f = *state;
	struct flight fl = {.f = f};

	gate(f, FLIGHT_THREADS - 1);
	f->loader.rc = -EIO;
	f->loader.ttl_ms = 0;
	for (int i = 0; i < FLIGHT_THREADS; i++)
		fl.keys[i] = "same";
	run_flight(&fl);
	assert_false(atomic_load(&f->loader.gate_timed_out));
	assert_int_equal(calls(f), 1);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		assert_int_equal(fl.rc[i], -EIO);
		assert_null(fl.ref[i]);
	}
}

/* A value with TTL 0 is kept by no one but its holders: every waiter must
 * still get it, alive, however soon the loading caller releases its own
 * reference. Each thread checks the value, then releases at once. */
struct quick_arg {
	struct fixture *f;
	pthread_barrier_t *barrier;
	int rc, generation;
	bool intact;
};

static void *quick_thread(void *p)
{
	struct quick_arg *a = p;
	struct ttl_ref *ref = NULL;

	pthread_barrier_wait(a->barrier);
	a->rc = ttl_cache_take(a->f->cache, "once", scripted_load, &a->f->loader, &ref);
	if (ref) {
		const struct value *v = ttl_ref_value(ref);

		a->intact = v->magic == VALUE_MAGIC && strcmp(v->key, "once") == 0;
		a->generation = v->generation;
		ttl_cache_release(a->f->cache, ref);
	}
	return NULL;
}

static void single_flight_shares_a_value_that_is_not_kept(void **state)
{
	struct fixture *f = *state;
	pthread_barrier_t barrier;
	pthread_t t[FLIGHT_THREADS];
	struct quick_arg args[FLIGHT_THREADS];

	gate(f, FLIGHT_THREADS - 1);
	f->loader.ttl_ms = 0;
	assert_int_equal(pthread_barrier_init(&barrier, NULL, FLIGHT_THREADS), 0);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		args[i] = (struct quick_arg){f, &barrier, -1, 0, false};
		assert_int_equal(pthread_create(&t[i], NULL, quick_thread, &args[i]), 0);
	}
	for (int i = 0; i < FLIGHT_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	assert_false(atomic_load(&f->loader.gate_timed_out));
	assert_int_equal(calls(f), 1);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		assert_int_equal(args[i].rc, 0);
		assert_true(args[i].intact);
		assert_int_equal(args[i].generation, 1);
	}
	assert_int_equal(atomic_load(&frees), 1);
}

static void single_flight_per_key(void **state)
{
	static const char *const keys[4] = {"k0", "k1", "k2", "k3"};
	struct fixture *f = *state;
	struct flight fl = {.f = f};

	/* Four loads, each held until all twelve other takers wait. */
	gate(f, FLIGHT_THREADS - 4);
	for (int i = 0; i < FLIGHT_THREADS; i++)
		fl.keys[i] = keys[i % 4];
	run_flight(&fl);
	assert_false(atomic_load(&f->loader.gate_timed_out));
	assert_int_equal(calls(f), 4);
	for (int i = 0; i < FLIGHT_THREADS; i++) {
		assert_int_equal(fl.rc[i], 0);
		assert_ptr_equal(fl.value[i], fl.value[i % 4]);
		assert_string_equal(((const struct value *)fl.value[i])->key, keys[i % 4]);
	}
	for (int i = 0; i < FLIGHT_THREADS; i++)
		ttl_cache_release(f->cache, fl.ref[i]);
}

/* A loader that waits (up to 5 s) for a flag another thread sets. */
struct rendezvous {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started[2];  /* loader of key i is running */
	bool saw_other[2];
	bool gate_open;   /* for the gated loader */
	struct ttl_cache *cache;
};

static bool wait_for(struct rendezvous *r, const bool *flag)
{
	struct timespec deadline;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&r->lock);
	while (!*flag) {
		if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
			break;
	}
	ok = *flag;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static void set_flag(struct rendezvous *r, bool *flag)
{
	pthread_mutex_lock(&r->lock);
	*flag = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Key "0" and key "1": each loader announces itself and waits for the
 * other's. Both succeed only if the two loads overlap in time. */
static int meeting_load(void *ctx, const char *key, struct ttl_load *out)
{
	struct rendezvous *r = ctx;
	int me = key[0] == '1';

	set_flag(r, &r->started[me]);
	r->saw_other[me] = wait_for(r, &r->started[!me]);
	out->value = value_new(key, 1);
	out->size = 10;
	out->ttl_ms = 1000;
	return out->value ? 0 : -ENOMEM;
}

struct meet_arg {
	struct rendezvous *r;
	const char *key;
	int rc;
};

static void *meet_thread(void *p)
{
	struct meet_arg *a = p;
	struct ttl_ref *ref = NULL;

	a->rc = ttl_cache_take(a->r->cache, a->key, meeting_load, a->r, &ref);
	if (ref)
		ttl_cache_release(a->r->cache, ref);
	return NULL;
}

static void different_keys_load_in_parallel(void **state)
{
	struct fixture *f = *state;
	struct rendezvous r = {.cache = f->cache};
	struct meet_arg args[2] = {{&r, "0", -1}, {&r, "1", -1}};
	pthread_t t[2];

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, meet_thread, &args[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	assert_int_equal(args[0].rc, 0);
	assert_int_equal(args[1].rc, 0);
	assert_true(r.saw_other[0]);
	assert_true(r.saw_other[1]);
}

/* A loader that blocks until the test opens its gate. */
static int gated_load(void *ctx, const char *key, struct ttl_load *out)
{
	struct rendezvous *r = ctx;

	set_flag(r, &r->started[0]);
	wait_for(r, &r->gate_open);
	out->value = value_new(key, 1);
	out->size = 10;
	out->ttl_ms = 1000;
	return out->value ? 0 : -ENOMEM;
}

struct gated_arg {
	struct rendezvous *r;
	int rc;
	const struct value *v;
};

static void *gated_thread(void *p)
{
	struct gated_arg *a = p;
	struct ttl_ref *ref = NULL;

	a->rc = ttl_cache_take(a->r->cache, "slow", gated_load, a->r, &ref);
	if (ref) {
		a->v = ttl_ref_value(ref);
		ttl_cache_release(a->r->cache, ref);
	}
	return NULL;
}

static void loading_key_is_present_but_not_peekable(void **state)
{
	struct fixture *f = *state;
	struct rendezvous r = {.cache = f->cache};
	struct gated_arg arg = {&r, -1, NULL};
	struct ttl_ref *ref = (struct ttl_ref *)&ref;
	bool present, started;
	int peek_rc;
	pthread_t t;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, gated_thread, &arg), 0);
	started = wait_for(&r, &r.started[0]);
	/* These run while the loader is blocked: they must not wait for it. */
	present = ttl_cache_is_present(f->cache, "slow");
	peek_rc = ttl_cache_peek(f->cache, "slow", &ref);
	set_flag(&r, &r.gate_open);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	assert_true(started);
	assert_true(present);
	assert_int_equal(peek_rc, -EAGAIN);
	assert_null(ref);
	assert_int_equal(arg.rc, 0);
	assert_true(ttl_cache_is_present(f->cache, "slow"));
}

/* Loaders run without the cache lock: one may use the cache itself (a
 * loader for a directory may want another entry). Guarded by alarm() so a
 * deadlock fails the run instead of hanging it. */
struct nested {
	struct fixture *f;
	int inner_rc;
	int inner_generation;
};

static int nested_load(void *ctx, const char *key, struct ttl_load *out)
{
	struct nested *n = ctx;
	struct ttl_ref *ref = NULL;

	n->inner_rc = ttl_cache_take(n->f->cache, "inner", scripted_load,
				     &n->f->loader, &ref);
	if (ref) {
		n->inner_generation = ((const struct value *)ttl_ref_value(ref))->generation;
		ttl_cache_release(n->f->cache, ref);
	}
	(void)ttl_cache_is_present(n->f->cache, "inner");
	out->value = value_new(key, 100);
	out->size = 10;
	out->ttl_ms = 1000;
	return out->value ? 0 : -ENOMEM;
}

static void loader_may_use_the_cache(void **state)
{
	struct fixture *f = *state;
	struct nested n = {f, -1, 0};
	struct ttl_ref *ref = NULL;

	alarm(20);
	assert_int_equal(ttl_cache_take(f->cache, "outer", nested_load, &n, &ref), 0);
	alarm(0);
	assert_int_equal(n.inner_rc, 0);
	assert_int_equal(n.inner_generation, 1);
	assert_int_equal(((const struct value *)ttl_ref_value(ref))->generation, 100);
	ttl_cache_release(f->cache, ref);
	assert_true(ttl_cache_is_present(f->cache, "inner"));
	assert_true(ttl_cache_is_present(f->cache, "outer"));
}

/* Many threads, few keys, a small bound and a moving clock: every value
 * served is the key's own and alive, and every value is freed exactly once
 * by the end. */
#define STRESS_THREADS 8
#define STRESS_OPS 3000

struct stress {
	struct fixture *f;
	atomic_int bad;
};

static int stress_load(void *ctx, const char *key, struct ttl_load *out)
{
	struct stress *s = ctx;
	int n = atomic_fetch_add(&s->f->loader.calls, 1) + 1;

	out->ttl_ms = 5 + n % 20;
	if (n % 7 == 0) {
		out->value = NULL;
		return n % 14 == 0 ? -ENOENT : -EIO;
	}
	out->value = value_new(key, n);
	out->size = 10 + (size_t)(n % 50);
	return out->value ? 0 : -ENOMEM;
}

static void *stress_thread(void *p)
{
	struct stress *s = p;
	unsigned seed = (unsigned)(uintptr_t)pthread_self();

	for (int i = 0; i < STRESS_OPS; i++) {
		char key[8];
		struct ttl_ref *ref = NULL;
		int r = rand_r(&seed);
		int rc;

		snprintf(key, sizeof key, "s%d", r % 13);
		if (r % 5 == 0)
			advance(&s->f->clock, 1);
		if (r % 11 == 0)
			rc = ttl_cache_peek(s->f->cache, key, &ref);
		else
			rc = ttl_cache_take(s->f->cache, key, stress_load, s, &ref);
		if (r % 97 == 0)
			ttl_cache_clear(s->f->cache);
		if (rc == 0) {
			const struct value *v = ttl_ref_value(ref);

			if (!v || v->magic != VALUE_MAGIC || strcmp(v->key, key) != 0)
				atomic_fetch_add(&s->bad, 1);
			ttl_cache_release(s->f->cache, ref);
		} else if (ref != NULL) {
			atomic_fetch_add(&s->bad, 1);
		}
	}
	return NULL;
}

static void concurrent_mixed_use_keeps_values_intact(void **state)
{
	struct fixture *f = *state; /* a small bound: constant eviction */
	struct stress s = {.f = f};
	pthread_t t[STRESS_THREADS];
	struct ttl_cache_stats st;
	int made;

	for (int i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &s), 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(atomic_load(&s.bad), 0);
	ttl_cache_get_stats(f->cache, &st);
	assert_true(st.bytes <= f->max_bytes);
	made = calls(f) - calls(f) / 7; /* loads that made a value */
	ttl_cache_free(f->cache);
	f->cache = NULL;
	assert_int_equal(atomic_load(&frees), made);
}

/* ---- values are freed outside the lock ------------------------------ */

/* Freeing a big listing takes a while; under the cache lock it would stall
 * every thread. This free_value takes the lock itself (through
 * ttl_cache_get_stats): called under it, it would deadlock, so the work
 * runs on a thread the test waits for with a deadline. */
static struct ttl_cache *reentered;
static atomic_int reentering_frees;

static void free_reentering(void *p)
{
	struct ttl_cache_stats st;

	ttl_cache_get_stats(reentered, &st);
	free(p);
	atomic_fetch_add(&reentering_frees, 1);
}

static int malloc_load(void *ctx, const char *key, struct ttl_load *out)
{
	(void)ctx;
	(void)key;
	out->value = malloc(16);
	out->size = 100;
	out->ttl_ms = 100;
	return out->value ? 0 : -ENOMEM;
}

struct free_check {
	struct rendezvous done; /* gate_open: every step returned */
	struct fake_clock clock;
};

/* Every way a value leaves: eviction, expiry and reload, release of a
 * value evicted while held, clear, free. */
static void *free_every_way(void *p)
{
	struct free_check *check = p;
	struct fake_clock *clock = &check->clock;
	struct ttl_cache_config config = {.max_bytes = 600, .clock = clock_now,
					  .clock_ctx = clock,
					  .free_value = free_reentering};
	struct ttl_ref *held = NULL, *ref = NULL;
	char key[2] = "a";

	reentered = ttl_cache_new(&config);
	ttl_cache_take(reentered, "held", malloc_load, NULL, &held);
	for (; key[0] <= 'j'; key[0]++) { /* 600 bytes hold about three */
		ttl_cache_take(reentered, key, malloc_load, NULL, &ref);
		ttl_cache_release(reentered, ref);
	}
	ttl_cache_release(reentered, held); /* evicted meanwhile: freed now */
	advance(clock, 1000);
	ttl_cache_take(reentered, "j", malloc_load, NULL, &ref); /* reload */
	ttl_cache_release(reentered, ref);
	ttl_cache_clear(reentered);
	ttl_cache_take(reentered, "k", malloc_load, NULL, &ref);
	ttl_cache_release(reentered, ref);
	ttl_cache_free(reentered);
	set_flag(&check->done, &check->done.gate_open);
	return NULL;
}

static void values_are_freed_after_the_lock_is_dropped(void **state)
{
	struct free_check check = {0};
	struct rendezvous *r = &check.done;
	pthread_t t;

	(void)state;
	atomic_store(&check.clock.now, 1000000);
	atomic_store(&reentering_frees, 0);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, free_every_way, &check), 0);
	if (!wait_for(r, &r->gate_open)) {
		/* The thread is stuck on the cache lock: nothing to unwind. */
		fprintf(stderr, "a value was freed with the cache lock held\n");
		abort();
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	/* held, a..j, the reloaded j, k: every value made was freed. */
	assert_int_equal(atomic_load(&reentering_frees), 13);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define T3(name) cmocka_unit_test_setup_teardown(name, setup_three, teardown)

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_refuses_a_null_config),
		T(free_frees_every_cached_value),
		T(fresh_value_is_served_without_reloading),
		T(expired_value_is_reloaded_and_the_old_one_freed),
		T(each_entry_has_its_own_ttl),
		T(forever_never_expires),
		T(zero_ttl_value_is_handed_over_but_not_kept),
		T(bytes_charged_are_loader_size_plus_key_and_bookkeeping),
		T3(lru_evicts_the_least_recently_used),
		T3(peek_counts_as_use_for_lru),
		T3(bigger_values_evict_several),
		T3(entry_larger_than_the_bound_is_returned_then_dropped),
		T3(held_value_survives_eviction_until_released),
		T(held_value_survives_expiry_and_reload),
		T(two_holders_share_one_value),
		T(error_is_remembered_for_its_ttl),
		T(forget_error_drops_errors_only),
		T(error_with_zero_ttl_is_not_kept),
		T(stale_value_is_served_when_reload_fails),
		T(stale_serving_works_for_other_errors_too),
		T(enoent_is_not_served_stale),
		T(peek_never_loads),
		T(is_present_means_cached_and_fresh),
		T(clear_drops_everything_but_held_values_live_on),
		T(single_flight_loads_once_for_concurrent_takers),
		T(single_flight_shares_a_failure),
		T(single_flight_per_key),
		T(different_keys_load_in_parallel),
		T(loading_key_is_present_but_not_peekable),
		T(loader_may_use_the_cache),
		/* Last: a use-after-free here ends the run under ASan. */
		T(single_flight_shares_a_value_that_is_not_kept),
		T3(concurrent_mixed_use_keeps_values_intact),
		cmocka_unit_test(values_are_freed_after_the_lock_is_dropped),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
