/* test_prefetch — readahead (fs/prefetch.h) through its public API, with one
 * worker fetching from a scripted server behind the client's transport
 * seam: the first window, windows doubling up to max_window as a reader
 * walks in order, random access queuing nothing, the queue's ceiling, and
 * the least recently used stream dropped for a ninth.
 *
 * Deterministic despite the thread: with one worker the queue is served in
 * order, so a "sentinel" record queued after a step is fetched only once
 * everything queued before it was; the test waits for the sentinel (a
 * condition, with a timeout), then compares what the server was asked. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <cmocka.h>

#include "cache/ttl_cache.h"
#include "client/ncf_client.h"
#include "fs/fetch.h"
#include "fs/prefetch.h"
#include "fs/readability.h"

#define ASKED_MAX 70000
#define BODY_MAX 4096

struct server {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	char (*asked)[NCF_ACTIVATION_ID_LEN + 1]; /* record ids, in order */
	char (*owner)[NCF_NAME_MAX + 1];          /* and their actions */
	size_t count;
	bool gate_closed;       /* requests wait while set */
	size_t waiting;         /* requests waiting at the gate */
};

static _Thread_local char body[BODY_MAX];

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	struct server *s = ctx;
	const char *id = strrchr(target, '/') + 1;
	const char *action = strstr(target, "/actions/") + strlen("/actions/");
	int n = (int)strcspn(id, "?");

	pthread_mutex_lock(&s->lock);
	s->waiting++;
	pthread_cond_broadcast(&s->changed);
	while (s->gate_closed)
		pthread_cond_wait(&s->changed, &s->lock);
	s->waiting--;
	if (s->count < ASKED_MAX) {
		snprintf(s->owner[s->count], NCF_NAME_MAX + 1, "%.*s",
			 (int)strcspn(action, "/"), action);
		snprintf(s->asked[s->count++], NCF_ACTIVATION_ID_LEN + 1, "%.*s", n, id);
	}
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	reply->status = 200;
	reply->body = body;
	reply->len = (size_t)snprintf(body, BODY_MAX,
				      "{\"content\":{\"activationId\":\"%.*s\",\"name\":\"p/a\","
				      "\"start\":1700000000000,\"end\":1700000000001,"
				      "\"duration\":1,\"logs\":[],\"response\":{\"status\":"
				      "\"success\",\"success\":true,\"result\":{}}}}",
				      n, id);
}

struct world {
	struct server server;
	struct ncffs fs;
	struct prefetch *prefetch;
	char (*ids)[NCF_ACTIVATION_ID_LEN + 1];
	const char **id_ptrs;
	size_t id_count;
	unsigned sentinels;
};

static struct world *world_new(size_t max_window, size_t ids)
{
	struct world *w = calloc(1, sizeof(*w));
	struct ncf_client_config cfg = {
		.endpoint = "http://127.0.0.1:9/api/v2",
		.platform = "classic",
		.access_key = "AK",
		.secret_key = "secret",
		.max_body = 1u << 20,
		.transport = transport,
	};
	struct ttl_cache_config cache = { .max_bytes = 256u << 20,
					  .free_value = fetched_free };
	size_t i;

	assert_non_null(w);
	pthread_mutex_init(&w->server.lock, NULL);
	pthread_cond_init(&w->server.changed, NULL);
	w->server.asked = calloc(ASKED_MAX, sizeof(*w->server.asked));
	w->server.owner = calloc(ASKED_MAX, sizeof(*w->server.owner));
	assert_non_null(w->server.owner);
	w->ids = calloc(ids, sizeof(*w->ids));
	w->id_ptrs = calloc(ids, sizeof(*w->id_ptrs));
	assert_non_null(w->server.asked);
	assert_non_null(w->ids);
	assert_non_null(w->id_ptrs);
	for (i = 0; i < ids; i++) {
		snprintf(w->ids[i], sizeof(w->ids[i]), "%032zx", i + 1);
		w->id_ptrs[i] = w->ids[i];
	}
	w->id_count = ids;
	cfg.transport_ctx = &w->server;
	w->fs.log.max_level = LOG_ERR;
	w->fs.client = ncf_client_new(&cfg);
	w->fs.cache = ttl_cache_new(&cache);
	w->fs.readability = readability_new(NULL, NULL, NULL);
	w->fs.list_ttl_ms = 60000;
	w->fs.neg_ttl_ms = 1000;
	w->fs.max_file = 1u << 20;
	w->prefetch = prefetch_new(&w->fs, 1, max_window);
	assert_non_null(w->prefetch);
	return w;
}

static void world_free(struct world *w)
{
	prefetch_free(w->prefetch);
	ttl_cache_free(w->fs.cache);
	readability_free(w->fs.readability);
	ncf_client_free(w->fs.client);
	pthread_cond_destroy(&w->server.changed);
	pthread_mutex_destroy(&w->server.lock);
	free(w->server.asked);
	free(w->server.owner);
	free(w->ids);
	free(w->id_ptrs);
	free(w);
}

static struct node owner_of(const char *action)
{
	struct node n = { .kind = NODE_ACTION };

	snprintf(n.pkg, sizeof n.pkg, "p");
	snprintf(n.action, sizeof n.action, "%s", action);
	return n;
}

/* Waits (10 s at most) until the server was asked for id. */
static void wait_asked(struct world *w, const char *id)
{
	struct timespec deadline;
	bool found = false;
	size_t i, from = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&w->server.lock);
	while (!found) {
		for (i = from; i < w->server.count && !found; i++)
			found = strcmp(w->server.asked[i], id) == 0;
		from = i;
		if (!found && pthread_cond_timedwait(&w->server.changed,
						     &w->server.lock, &deadline))
			break;
	}
	pthread_mutex_unlock(&w->server.lock);
	assert_true(found);
}

/* Queues one new record of the sentinel stream (always the same slot) and
 * waits until it is fetched: everything queued before it was fetched too. */
static void drain(struct world *w)
{
	struct node sentinel = owner_of("sentinel");
	char id[NCF_ACTIVATION_ID_LEN + 1];
	const char *ids[1] = { id };

	snprintf(id, sizeof id, "ffff%028x", ++w->sentinels);
	prefetch_listed(w->prefetch, &sentinel, "activations", ids, 1);
	wait_asked(w, id);
}

/* How many records of action's the server was asked for; *prefix: how many
 * of them, from the first, were w's ids [0, n) in order. */
static size_t asked_of(struct world *w, const char *action, size_t *prefix)
{
	size_t i, count = 0, seen_prefix = 0;
	bool in_order = true;

	pthread_mutex_lock(&w->server.lock);
	for (i = 0; i < w->server.count; i++) {
		if (strcmp(w->server.owner[i], action) != 0)
			continue;
		in_order = in_order &&
			   strcmp(w->server.asked[i], w->ids[seen_prefix]) == 0;
		seen_prefix += in_order;
		count++;
	}
	pthread_mutex_unlock(&w->server.lock);
	*prefix = seen_prefix;
	return count;
}

static void touch(struct world *w, const struct node *owner, size_t index)
{
	struct node n = *owner;

	n.kind = NODE_ACTIVATION;
	memcpy(n.id, w->ids[index], sizeof n.id);
	prefetch_touched(w->prefetch, &n);
}

/* The first window, then windows doubling as a reader walks in order:
 * 64, then 128 when it passes 32, 256 (the max) when it passes 128, 256. */
static void windows_double_as_a_reader_walks_in_order(void **state)
{
	struct world *w = world_new(256, 2000);
	struct node owner = owner_of("a");
	size_t prefix, i;

	(void)state;
	drain(w); /* the sentinel stream first: the same slot from now on */
	prefetch_listed(w->prefetch, &owner, "activations", w->id_ptrs, w->id_count);
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), PREFETCH_FIRST_WINDOW);
	assert_int_equal(prefix, PREFETCH_FIRST_WINDOW);
	for (i = 0; i < 32; i++)
		touch(w, &owner, i); /* before the middle: nothing more */
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64);
	touch(w, &owner, 32);
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64 + 128);
	assert_int_equal(prefix, 64 + 128);
	for (i = 33; i <= 128; i++)
		touch(w, &owner, i);
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64 + 128 + 256);
	for (i = 129; i <= 320; i++)
		touch(w, &owner, i);
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64 + 128 + 256 + 256);
	assert_int_equal(prefix, 704);
	world_free(w);
}

/* A lookup far from the window (random access) queues nothing; the
 * stream still follows a reader that comes back to it. */
static void random_access_queues_nothing(void **state)
{
	struct world *w = world_new(256, 2000);
	struct node owner = owner_of("a");
	size_t prefix;

	(void)state;
	drain(w);
	prefetch_listed(w->prefetch, &owner, "activations", w->id_ptrs, w->id_count);
	drain(w);
	touch(w, &owner, 1500);
	touch(w, &owner, 900);
	touch(w, &owner, 64 + 64); /* just past what a window could reach */
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64);
	/* A lone lookup in the window is no reader walking (readahead.c): it
	 * is one whose entry before was looked up too. */
	touch(w, &owner, 40);
	drain(w);
	assert_int_equal(asked_of(w, "a", &prefix), 64);
	touch(w, &owner, 41);
	drain(w);
	/* the next window, but for 128, which the reader already looked up */
	assert_int_equal(asked_of(w, "a", &prefix), 64 + 128 - 1);
	world_free(w);
}

/* The worker held at the gate, a reader racing through 60,000 ids with
 * windows up to 65,536: the queue stops at PREFETCH_QUEUE_MAX, however
 * much the windows ask for. */
static void the_queue_has_a_ceiling(void **state)
{
	struct world *w = world_new(65536, 60000);
	struct node owner = owner_of("a");
	size_t prefix, i, asked;

	(void)state;
	drain(w);
	pthread_mutex_lock(&w->server.lock);
	w->server.gate_closed = true;
	pthread_mutex_unlock(&w->server.lock);
	prefetch_listed(w->prefetch, &owner, "activations", w->id_ptrs, w->id_count);
	/* the worker took the first job and waits at the gate */
	pthread_mutex_lock(&w->server.lock);
	while (w->server.waiting == 0)
		pthread_cond_wait(&w->server.changed, &w->server.lock);
	pthread_mutex_unlock(&w->server.lock);
	for (i = 0; i < w->id_count; i++)
		touch(w, &owner, i);
	pthread_mutex_lock(&w->server.lock);
	w->server.gate_closed = false;
	pthread_cond_broadcast(&w->server.changed);
	/* a second record asked: the worker popped it, the queue has room for
	 * the sentinel */
	while (w->server.count < 3)
		pthread_cond_wait(&w->server.changed, &w->server.lock);
	pthread_mutex_unlock(&w->server.lock);
	drain(w);
	asked = asked_of(w, "a", &prefix);
	/* the one in flight at the gate, then a full queue */
	assert_int_equal(asked, PREFETCH_QUEUE_MAX + 1);
	assert_true(asked < w->id_count);
	world_free(w);
}

/* Nine listings (the sentinel's and eight): the least recently used is
 * dropped for the ninth (a reader walking it queues nothing), the others
 * still follow readers. */
static void a_ninth_stream_drops_the_least_recently_used(void **state)
{
	struct world *w = world_new(256, 1000);
	struct node owners[8];
	char name[8][16];
	size_t prefix;
	int k, i;

	(void)state;
	assert_int_equal(PREFETCH_STREAMS, 8);
	drain(w); /* the sentinel stream: slot one of eight */
	for (k = 0; k < 8; k++) {
		snprintf(name[k], sizeof name[k], "s%d", k);
		owners[k] = owner_of(name[k]);
	}
	for (k = 0; k < 6; k++)
		prefetch_listed(w->prefetch, &owners[k], "activations",
				w->id_ptrs, w->id_count);
	drain(w);
	touch(w, &owners[0], 0); /* s0 used again: s1 is now the oldest */
	prefetch_listed(w->prefetch, &owners[6], "activations", w->id_ptrs,
			w->id_count);   /* the eighth slot: nothing dropped */
	prefetch_listed(w->prefetch, &owners[7], "activations", w->id_ptrs,
			w->id_count);   /* the ninth: s1 goes */
	drain(w);
	for (k = 0; k < 8; k++)
		assert_int_equal(asked_of(w, name[k], &prefix), 64);
	for (k = 0; k < 8; k++) {
		for (i = 0; i <= 40; i++)
			touch(w, &owners[k], (size_t)i);
	}
	drain(w);
	for (k = 0; k < 8; k++)
		assert_int_equal(asked_of(w, name[k], &prefix),
				 k == 1 ? 64 : 64 + 128);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(windows_double_as_a_reader_walks_in_order),
		cmocka_unit_test(random_access_queues_nothing),
		cmocka_unit_test(the_queue_has_a_ceiling),
		cmocka_unit_test(a_ninth_stream_drops_the_least_recently_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
