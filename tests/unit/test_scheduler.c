/* test_scheduler — the one door to the API (client/scheduler.c), on an
 * injected clock, and through the client's transport seam:
 *
 *  - at most the limit is admitted; within the limit, a higher priority
 *    always goes first and one priority is first come, first served;
 *  - the limit grows while latency stays near its floor and the limit is
 *    in use, shrinks by 10 % on rising latency or a 429, once per round
 *    trip, and never passes max_inflight;
 *  - after a 429 every request waits for the pace's tokens; Retry-After
 *    pauses the whole queue, and the pause is counted;
 *  - -o rate caps sending from the start;
 *  - batches run every index, nested batches end, submissions run;
 *  - timed submissions run once due (by the injected clock) and not
 *    before; a cancelled one never runs, and sched_free drops those left;
 *  - through the client: 429s are retried without spending the retry
 *    budget until throttle_wait, then fail with EIO (never EAGAIN), logged
 *    once per burst. */
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

#include <cmocka.h>

#include "client/ncf_client.h"
#include "client/scheduler.h"

static double fake_now(void *ctx)
{
	return *(double *)ctx;
}

static struct sched *sched_at(double *clock, unsigned initial, unsigned max,
			      double rate)
{
	struct sched_config cfg = { .initial_limit = initial, .max_limit = max,
				    .rate_cap = rate, .clock = fake_now,
				    .clock_ctx = clock };
	struct sched *s = sched_new(&cfg);

	assert_non_null(s);
	return s;
}

/* Admits one request at prio now, or fails the test. */
static void admit(struct sched *s, enum ncf_priority prio)
{
	double wait;
	uint64_t t = sched_enter(s, prio);

	assert_int_equal(sched_try_admit(s, prio, t, &wait), 1);
}

static unsigned limit_of(struct sched *s)
{
	struct sched_stats st;

	sched_get_stats(s, &st);
	return st.limit;
}

static void the_limit_starts_at_16_and_admits_no_more(void **state)
{
	double clock = 1000, wait = 0;
	struct sched *s = sched_at(&clock, 0, 0, 0);
	uint64_t t;
	int i;

	(void)state;
	assert_int_equal(limit_of(s), 16);
	for (i = 0; i < 16; i++)
		admit(s, NCF_PRIORITY_INTERACTIVE);
	t = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 0);
	assert_true(wait < 0); /* only a release can change that */
	sched_release(s, SCHED_ANSWERED, 5, -1, 60);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 1);
	sched_free(s);
}

static void a_person_goes_before_readahead_and_background(void **state)
{
	double clock = 1000, wait;
	struct sched *s = sched_at(&clock, 1, 1, 0);
	uint64_t bg, ra1, ra2, me;
	struct sched_stats st;

	(void)state;
	admit(s, NCF_PRIORITY_READAHEAD); /* the limit (1) is full */
	bg = sched_enter(s, NCF_PRIORITY_BACKGROUND);
	ra1 = sched_enter(s, NCF_PRIORITY_READAHEAD);
	ra2 = sched_enter(s, NCF_PRIORITY_READAHEAD);
	me = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	sched_get_stats(s, &st);
	assert_int_equal(st.queued[NCF_PRIORITY_INTERACTIVE], 1);
	assert_int_equal(st.queued[NCF_PRIORITY_READAHEAD], 2);
	assert_int_equal(st.queued[NCF_PRIORITY_BACKGROUND], 1);
	sched_release(s, SCHED_ANSWERED, 5, -1, 60);
	/* The slot is the person's, though the others came first. */
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_READAHEAD, ra1, &wait), 0);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_BACKGROUND, bg, &wait), 0);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, me, &wait), 1);
	sched_release(s, SCHED_ANSWERED, 5, -1, 60);
	/* Then readahead, in its own order, and background last. */
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_READAHEAD, ra2, &wait), 0);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_BACKGROUND, bg, &wait), 0);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_READAHEAD, ra1, &wait), 1);
	sched_release(s, SCHED_ANSWERED, 5, -1, 60);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_BACKGROUND, bg, &wait), 0);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_READAHEAD, ra2, &wait), 1);
	sched_release(s, SCHED_ANSWERED, 5, -1, 60);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_BACKGROUND, bg, &wait), 1);
	sched_free(s);
}

static unsigned inflight_of(struct sched *s)
{
	struct sched_stats st;

	sched_get_stats(s, &st);
	return st.inflight;
}

/* n answers of latency ms each from a pipeline kept full (a new request
 * for each answer, as a readahead does), then the pipeline drained. */
static void answer_full(struct sched *s, double *clock, int n, double latency)
{
	int i;

	for (i = 0; i <= n; i++) {
		while (i < n && inflight_of(s) < limit_of(s))
			admit(s, NCF_PRIORITY_INTERACTIVE);
		if (i == n)
			break;
		*clock += latency / limit_of(s);
		sched_release(s, SCHED_ANSWERED, latency, -1, 60);
	}
	while (inflight_of(s) > 0)
		sched_release(s, SCHED_ANSWERED, latency, -1, 60);
}

static void the_limit_grows_near_the_floor_up_to_the_cap(void **state)
{
	double clock = 1000;
	struct sched *s = sched_at(&clock, 16, 24, 0);

	(void)state;
	answer_full(s, &clock, 16, 80); /* a round trip's worth: one more */
	assert_int_equal(limit_of(s), 17);
	answer_full(s, &clock, 3 * 18, 85); /* within twice the floor */
	assert_in_range(limit_of(s), 19, 20);
	answer_full(s, &clock, 400, 80);
	assert_int_equal(limit_of(s), 24); /* max_inflight */
	sched_free(s);
}

static void an_idle_limit_does_not_grow(void **state)
{
	double clock = 1000;
	struct sched *s = sched_at(&clock, 16, 64, 0);
	int i;

	(void)state;
	for (i = 0; i < 200; i++) { /* one request at a time: 1 of 16 used */
		admit(s, NCF_PRIORITY_INTERACTIVE);
		clock += 80;
		sched_release(s, SCHED_ANSWERED, 80, -1, 60);
	}
	assert_int_equal(limit_of(s), 16);
	sched_free(s);
}

static void rising_latency_cuts_the_limit_once_per_round_trip(void **state)
{
	double clock = 1000;
	struct sched *s = sched_at(&clock, 20, 64, 0);
	int i;

	(void)state;
	unsigned before, after;

	answer_full(s, &clock, 20, 80); /* the floor: 80 ms */
	before = limit_of(s);
	assert_int_equal(before, 21);
	for (i = 0; i < 21; i++)
		admit(s, NCF_PRIORITY_INTERACTIVE);
	clock += 400;
	for (i = 0; i < 21; i++) /* all late, in one round trip: one cut */
		sched_release(s, SCHED_ANSWERED, 400, -1, 60);
	after = limit_of(s);
	assert_in_range(after, 18, 19); /* 21.x x 0.9 */
	clock += 500;
	for (i = 0; i < 2; i++)
		admit(s, NCF_PRIORITY_INTERACTIVE);
	clock += 400;
	for (i = 0; i < 2; i++) /* the next round trip: one more cut */
		sched_release(s, SCHED_ANSWERED, 400, -1, 60);
	assert_in_range(limit_of(s), after * 9 / 10 - 1, after * 9 / 10 + 1);
	sched_free(s);
}

static void a_throttle_paces_every_request(void **state)
{
	double clock = 1000, wait;
	struct sched *s = sched_at(&clock, 16, 64, 0);
	struct sched_stats st;
	uint64_t t;
	int i;

	(void)state;
	for (i = 0; i < 100; i++) { /* 100 answers in the last second */
		admit(s, NCF_PRIORITY_INTERACTIVE);
		clock += 10;
		sched_release(s, SCHED_ANSWERED, 2, -1, 60);
	}
	admit(s, NCF_PRIORITY_BACKGROUND);
	sched_release(s, SCHED_THROTTLED, 2, -1, 60);
	sched_get_stats(s, &st);
	assert_int_equal(st.throttled, 1);
	/* 0.9 x the ~92 answers a second measured over the last second */
	assert_true(st.pace_rate > 75 && st.pace_rate < 95);
	assert_int_equal(st.limit, 16); /* the limit was not what let it through */
	/* No token yet: a wait of about one pace interval, for a person too. */
	t = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 0);
	assert_true(wait > 5 && wait < 15);
	clock += wait;
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 1);
	sched_release(s, SCHED_ANSWERED, 2, -1, 60);
	/* A 429 echoing the old pace (within 100 ms) does not cut again. */
	clock += 20;
	admit(s, NCF_PRIORITY_INTERACTIVE);
	sched_release(s, SCHED_THROTTLED, 2, -1, 60);
	sched_get_stats(s, &st);
	assert_true(st.pace_rate > 75 && st.pace_rate < 95);
	/* A later one does. */
	clock += 200;
	admit(s, NCF_PRIORITY_INTERACTIVE);
	sched_release(s, SCHED_THROTTLED, 2, -1, 60);
	sched_get_stats(s, &st);
	assert_true(st.pace_rate > 60 && st.pace_rate < 88);
	/* A minute without a 429 ends pacing. */
	clock += 61000;
	sched_get_stats(s, &st);
	assert_true(st.pace_rate == 0);
	sched_free(s);
}

static void retry_after_pauses_the_whole_queue(void **state)
{
	double clock = 1000, wait;
	struct sched *s = sched_at(&clock, 16, 64, 0);
	struct sched_stats st;
	uint64_t me;

	(void)state;
	admit(s, NCF_PRIORITY_BACKGROUND);
	sched_release(s, SCHED_THROTTLED, 3, 2, 60); /* Retry-After: 2 */
	me = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, me, &wait), 0);
	assert_true(wait > 1999 && wait <= 2000);
	clock += 2000;
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, me, &wait), 1);
	sched_release(s, SCHED_ANSWERED, 3, -1, 60);
	/* A Retry-After beyond throttle_wait pauses for throttle_wait. */
	clock += 1100; /* the pace's next token */
	admit(s, NCF_PRIORITY_INTERACTIVE);
	sched_release(s, SCHED_THROTTLED, 3, 3600, 5);
	sched_get_stats(s, &st);
	assert_int_equal(st.retry_after_pauses, 2);
	clock += 5000;
	sched_get_stats(s, &st);
	assert_true(st.paused_ms > 6999 && st.paused_ms < 7001);
	assert_int_equal(st.throttled, 2);
	sched_free(s);
}

static void a_rate_cap_spaces_requests_from_the_start(void **state)
{
	double clock = 1000, wait;
	struct sched *s = sched_at(&clock, 16, 64, 10);
	uint64_t t;

	(void)state;
	admit(s, NCF_PRIORITY_INTERACTIVE);
	t = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 0);
	assert_true(wait > 99 && wait <= 100); /* 10 a second */
	clock += 100;
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait), 1);
	sched_free(s);
}

static void cancel_turns_waiters_away(void **state)
{
	double clock = 1000, wait;
	struct sched *s = sched_at(&clock, 1, 1, 0);
	uint64_t t;

	(void)state;
	admit(s, NCF_PRIORITY_INTERACTIVE);
	t = sched_enter(s, NCF_PRIORITY_INTERACTIVE);
	sched_cancel(s);
	assert_int_equal(sched_try_admit(s, NCF_PRIORITY_INTERACTIVE, t, &wait),
			 -ECANCELED);
	assert_int_equal(sched_acquire(s, NCF_PRIORITY_BACKGROUND), -ECANCELED);
	assert_int_equal(sched_submit(s, NCF_PRIORITY_BACKGROUND, NULL, NULL),
			 -ECANCELED);
	sched_free(s);
}

/* ---- the pool (real threads, real clock) -------------------------------- */

struct tally {
	struct sched *s;
	atomic_int calls[200];
	atomic_int nested;
	enum ncf_priority seen[200];
};

static void count_call(void *ctx, size_t i)
{
	struct tally *t = ctx;

	t->seen[i] = sched_thread_priority();
	atomic_fetch_add(&t->calls[i], 1);
}

static void nested_call(void *ctx, size_t i)
{
	struct tally *t = ctx;
	struct tally inner = { .s = t->s };
	size_t j;

	(void)i;
	sched_run_batch(t->s, NCF_PRIORITY_BACKGROUND, 20, count_call, &inner);
	for (j = 0; j < 20; j++)
		if (atomic_load(&inner.calls[j]) == 1)
			atomic_fetch_add(&t->nested, 1);
}

static void batches_run_every_index_once_at_their_priority(void **state)
{
	struct sched *s = sched_new(NULL);
	struct tally *t = calloc(1, sizeof(*t));
	size_t i;

	(void)state;
	assert_non_null(t);
	t->s = s;
	sched_run_batch(s, NCF_PRIORITY_READAHEAD, 200, count_call, t);
	for (i = 0; i < 200; i++) {
		assert_int_equal(atomic_load(&t->calls[i]), 1);
		assert_int_equal(t->seen[i], NCF_PRIORITY_READAHEAD);
	}
	/* 100 batches of 20 inside a batch: they end, each call once. */
	sched_run_batch(s, NCF_PRIORITY_BACKGROUND, 100, nested_call, t);
	assert_int_equal(atomic_load(&t->nested), 2000);
	assert_int_equal(sched_thread_priority(), NCF_PRIORITY_INTERACTIVE);
	sched_free(s);
	free(t);
}

struct signal_box {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int runs;
	enum ncf_priority prio;
};

static void mark_run(void *ctx)
{
	struct signal_box *b = ctx;

	pthread_mutex_lock(&b->lock);
	b->runs++;
	b->prio = sched_thread_priority();
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void submissions_run_on_the_pool(void **state)
{
	struct sched *s = sched_new(NULL);
	struct signal_box b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
				0, NCF_PRIORITY_INTERACTIVE };

	(void)state;
	assert_int_equal(sched_submit(s, NCF_PRIORITY_READAHEAD, mark_run, &b), 0);
	pthread_mutex_lock(&b.lock);
	while (b.runs == 0)
		pthread_cond_wait(&b.cond, &b.lock);
	pthread_mutex_unlock(&b.lock);
	assert_int_equal(b.prio, NCF_PRIORITY_READAHEAD);
	sched_free(s);
}

/* ---- timed submissions (the pool, an injected clock) -------------------------- */

/* The pool's threads read the clock while the test moves it. */
static double atomic_clock(void *ctx)
{
	return atomic_load((_Atomic double *)ctx);
}

struct run_log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char order[16];
	size_t count;
};

struct timed {
	struct run_log *log;
	char name;
};

static void log_run(void *ctx)
{
	struct timed *t = ctx;

	pthread_mutex_lock(&t->log->lock);
	if (t->log->count + 1 < sizeof(t->log->order))
		t->log->order[t->log->count++] = t->name;
	pthread_cond_broadcast(&t->log->cond);
	pthread_mutex_unlock(&t->log->lock);
}

static void wait_runs(struct run_log *log, size_t count)
{
	pthread_mutex_lock(&log->lock);
	while (log->count < count)
		pthread_cond_wait(&log->cond, &log->lock);
	pthread_mutex_unlock(&log->lock);
}

static void timed_submissions_run_when_due_in_order_and_cancel(void **state)
{
	_Atomic double clock = 1000;
	struct sched_config cfg = { .clock = atomic_clock, .clock_ctx = &clock };
	struct sched *s = sched_new(&cfg);
	struct run_log log = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			       "", 0 };
	struct timed a = { &log, 'a' }, b = { &log, 'b' }, c = { &log, 'c' },
		     d = { &log, 'd' }, m = { &log, 'm' }, n = { &log, 'n' };

	(void)state;
	assert_non_null(s);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 500, log_run, &a), 0);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 100, log_run, &b), 0);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 100, log_run, &c), 0);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 50, log_run, &d), 0);
	/* The pool looks at its timers before it takes a job: once m has run,
	 * it has seen the clock at 1000, when none was due. */
	assert_int_equal(sched_submit(s, NCF_PRIORITY_BACKGROUND, log_run, &m), 0);
	wait_runs(&log, 1);
	assert_string_equal(log.order, "m");
	/* d is dropped before it is due; nothing of it is left. */
	assert_int_equal(sched_cancel_submitted(s, log_run, &d), 1);
	assert_int_equal(sched_cancel_submitted(s, log_run, &d), 0);
	/* At 1100 b and c are due, a is not. The pool sleeps until then by
	 * itself: nothing else wakes it. (b and c may run at once on two
	 * threads, so the order they end in says nothing.) */
	atomic_store(&clock, 1100);
	wait_runs(&log, 3);
	pthread_mutex_lock(&log.lock);
	assert_true(strcmp(log.order, "mbc") == 0 || strcmp(log.order, "mcb") == 0);
	pthread_mutex_unlock(&log.lock);
	assert_int_equal(sched_cancel_submitted(s, log_run, &a), 1);
	/* Past a's time: had it been left, it would be due before n and
	 * taken first; sched_free joins whatever was taken. */
	atomic_store(&clock, 2000);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 0, log_run, &n), 0);
	wait_runs(&log, 4);
	sched_cancel(s);
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 10, log_run, &a),
			 -ECANCELED);
	sched_free(s);
	assert_int_equal(log.count, 4);
	assert_int_equal(log.order[3], 'n');
}

/* A timer left at sched_free is dropped (ASan sees no leak), never run. */
static void sched_free_drops_timers(void **state)
{
	struct sched *s = sched_new(NULL);
	struct run_log log = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			       "", 0 };
	struct timed a = { &log, 'a' };

	(void)state;
	assert_int_equal(sched_submit_after(s, NCF_PRIORITY_BACKGROUND, 3600000,
					    log_run, &a), 0);
	sched_free(s);
	assert_int_equal(log.count, 0);
}

/* ---- through the client ---------------------------------------------------- */

struct gateway {
	atomic_int requests;
	int throttle_first;   /* this many 429s, then 200s (-1: 429s forever) */
	const char *retry_after;
	char logs[8][512];
	atomic_int log_count;
};

static const char action_body[] = "{\"content\":{\"name\":\"a\"}}";
static const char throttled_body[] =
	"{\"error\":{\"errorCode\":\"420\",\"message\":\"Rate Limited\"}}";

static void gateway(void *ctx, const char *target,
		    struct ncf_transport_reply *reply)
{
	struct gateway *g = ctx;
	int n = atomic_fetch_add(&g->requests, 1);

	(void)target;
	if (g->throttle_first < 0 || n < g->throttle_first) {
		reply->status = 429;
		reply->body = throttled_body;
		reply->retry_after = g->retry_after;
	} else {
		reply->status = 200;
		reply->body = action_body;
	}
	reply->len = strlen(reply->body);
}

static void collect(void *ctx, int level, const char *message)
{
	struct gateway *g = ctx;
	int i = atomic_fetch_add(&g->log_count, 1);

	(void)level;
	if (i < 8)
		snprintf(g->logs[i], sizeof(g->logs[0]), "%s", message);
}

static struct ncf_client *client_for(struct gateway *g, long throttle_wait_s)
{
	struct ncf_client_config cfg = {
		.endpoint = "https://h/api/v2", .platform = "classic",
		.access_key = "AK", .secret_key = "secret",
		.retries = 0, .log = collect, .log_ctx = g,
		.transport = gateway, .transport_ctx = g,
		.throttle_wait_s = throttle_wait_s,
	};
	struct ncf_client *c = ncf_client_new(&cfg);

	assert_non_null(c);
	return c;
}

static void throttled_requests_are_retried_free_of_charge(void **state)
{
	struct gateway g = { .throttle_first = 2 };
	struct ncf_client *c = client_for(&g, 60);
	struct ncf_client_stats st;
	struct ncf_blob *blob = NULL;
	char text[4096];

	(void)state;
	/* retries=0, yet two 429s later the answer comes. */
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, NULL), 0);
	assert_non_null(blob);
	ncf_blob_free(blob);
	assert_int_equal(atomic_load(&g.requests), 3);
	ncf_client_get_stats(c, &st);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.retries, 2);
	ncf_client_format_stats(c, text, sizeof(text));
	assert_non_null(strstr(text, "sched_throttled 2\n"));
	assert_non_null(strstr(text, "sched_limit "));
	assert_non_null(strstr(text, "sched_queued_readahead 0\n"));
	assert_int_equal(atomic_load(&g.log_count), 0);
	ncf_client_free(c);
}

static void a_retry_after_pauses_then_the_request_succeeds(void **state)
{
	struct gateway g = { .throttle_first = 1, .retry_after = "1" };
	struct ncf_client *c = client_for(&g, 60);
	struct ncf_blob *blob = NULL;
	char text[4096];

	(void)state;
	assert_int_equal(ncf_get_action(c, "p", "a", &blob, NULL), 0);
	ncf_blob_free(blob);
	ncf_client_format_stats(c, text, sizeof(text));
	assert_non_null(strstr(text, "sched_retry_after_pauses 1\n"));
	assert_null(strstr(text, "sched_paused_ms 0\n"));
	ncf_client_free(c);
}

static void endless_429s_fail_with_eio_after_throttle_wait(void **state)
{
	struct gateway g = { .throttle_first = -1 };
	struct ncf_client *c = client_for(&g, 1);
	struct ncf_blob *blob = NULL;
	struct ncf_error err;
	int rc;

	(void)state;
	rc = ncf_get_action(c, "p", "a", &blob, &err);
	assert_int_equal(rc, -EIO);
	assert_int_not_equal(rc, -EAGAIN);
	assert_int_equal(err.http_status, 429);
	assert_true(atomic_load(&g.requests) > 1);
	/* A second give-up in the same burst is counted, not logged. */
	assert_int_equal(ncf_get_action(c, "p", "b", &blob, &err), -EIO);
	assert_int_equal(atomic_load(&g.log_count), 1);
	assert_non_null(strstr(g.logs[0], "/packages/p/actions/a"));
	assert_non_null(strstr(g.logs[0], "429"));
	ncf_client_free(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_limit_starts_at_16_and_admits_no_more),
		cmocka_unit_test(a_person_goes_before_readahead_and_background),
		cmocka_unit_test(the_limit_grows_near_the_floor_up_to_the_cap),
		cmocka_unit_test(an_idle_limit_does_not_grow),
		cmocka_unit_test(rising_latency_cuts_the_limit_once_per_round_trip),
		cmocka_unit_test(a_throttle_paces_every_request),
		cmocka_unit_test(retry_after_pauses_the_whole_queue),
		cmocka_unit_test(a_rate_cap_spaces_requests_from_the_start),
		cmocka_unit_test(cancel_turns_waiters_away),
		cmocka_unit_test(batches_run_every_index_once_at_their_priority),
		cmocka_unit_test(submissions_run_on_the_pool),
		cmocka_unit_test(timed_submissions_run_when_due_in_order_and_cancel),
		cmocka_unit_test(sched_free_drops_timers),
		cmocka_unit_test(throttled_requests_are_retried_free_of_charge),
		cmocka_unit_test(a_retry_after_pauses_then_the_request_succeeds),
		cmocka_unit_test(endless_429s_fail_with_eio_after_throttle_wait),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
