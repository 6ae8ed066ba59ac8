/* scheduler — the one door every API request of a mount goes through.
 *
 * One queue in three priorities (enum ncf_priority: what a person waits on,
 * then readahead, then tsv batches and follow polls), one in-flight limit
 * for the whole mount, one pool of worker threads for work submitted in
 * batches or fire-and-forget. A request runs on the thread that asked for
 * it once the scheduler admits it (sched_acquire ... sched_release); the
 * pool threads are callers like any other, at the priority of the job they
 * run.
 *
 * The limit adapts (AIMD with a delay threshold, as Netflix
 * concurrency-limits' AIMDLimit with latency treated like a drop): it starts
 * at initial_limit, grows by one per limit's worth of answers while latency
 * stays within twice its floor and the limit is in use, and is cut by 10 %
 * on a 429 (when the limit was what let it through) or on latency beyond
 * that threshold, at most once per round trip. AIMD because the gateway
 * gives one hard signal, the 429, which is a drop; the gradient algorithms
 * steer on an RTT ratio that the API's own spread (a record next to a page
 * of 100 items) would keep noisy, and their gains are harder to reason
 * about in tests.
 *
 * After a 429 all sending is paced by a token bucket (the AWS SDKs'
 * adaptive retry mode): its rate starts at a fraction of the answers a
 * second measured then, is cut again on each later 429 (once per 100 ms),
 * and grows by RATE_GROWTH a second while nothing is throttled; a minute
 * without a 429 ends pacing. A Retry-After pauses the whole queue. -o rate
 * caps sending at all times with the same bucket.
 *
 * Invariants:
 *  - At most floor(limit) requests are admitted and not released.
 *  - Within a priority, admission is first come, first served; a waiter is
 *    never admitted while one of a higher priority waits.
 *  - Every decision reads the injected clock, so tests can drive time.
 *  - Pool threads start on first use (never before the daemon forks) and
 *    are joined by sched_free; while timed submissions wait, at least one
 *    of them is there to keep the timers. */
#ifndef NCFFS_SCHEDULER_H
#define NCFFS_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncf_client.h"

#define SCHED_INITIAL_LIMIT 16
#define SCHED_MAX_LIMIT 64
#define SCHED_LIMIT_CEILING 1024 /* -o max_inflight at most */

/* Monotonic milliseconds. */
typedef double (*sched_clock_fn)(void *clock_ctx);

struct sched_config {
	unsigned initial_limit; /* 0: SCHED_INITIAL_LIMIT (capped by max) */
	unsigned max_limit;     /* 0: SCHED_MAX_LIMIT */
	double rate_cap;        /* requests a second, 0: none */
	sched_clock_fn clock;   /* NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
};

enum sched_outcome {
	SCHED_ANSWERED,  /* an answer, whatever its status: a latency sample */
	SCHED_THROTTLED, /* a 429 */
	SCHED_NO_ANSWER, /* no answer (refused, reset, timed out): no sample */
};

struct sched_stats {
	unsigned limit, inflight, queued[NCF_PRIORITIES];
	uint64_t admitted, throttled, retry_after_pauses;
	double paused_ms, floor_ms, pace_rate; /* pace_rate 0: not pacing */
};

/* ---- lifecycle ---------------------------------------------------------- */

struct sched *sched_new(const struct sched_config *config);
/* Cancels, then joins the pool; submitted jobs not started (timed ones
 * too) are dropped. */
void sched_free(struct sched *s);
/* Waiters and later acquires fail with -ECANCELED; batches still finish
 * (their calls fail fast). */
void sched_cancel(struct sched *s);

/* ---- admission ---------------------------------------------------------- */

/* Takes a place in prio's line; the ticket goes to sched_try_admit. */
uint64_t sched_enter(struct sched *s, enum ncf_priority prio);
/* 1: admitted (release it later); 0: not yet, *wait_ms is how long time
 * alone would take to change that (-1: until another request releases);
 * -ECANCELED: cancelled, the place is given up. Never blocks. */
int sched_try_admit(struct sched *s, enum ncf_priority prio, uint64_t ticket,
		    double *wait_ms);
/* enter + try_admit until admitted: 0 or -ECANCELED. */
int sched_acquire(struct sched *s, enum ncf_priority prio);
/* The end of an admitted request: latency_ms from admission to answer;
 * retry_after_s (>= 0) pauses the queue, capped at max_pause_s. */
void sched_release(struct sched *s, enum sched_outcome outcome,
		   double latency_ms, long retry_after_s, long max_pause_s);

/* ---- the pool ------------------------------------------------------------ */

/* fn(ctx, i) for every i in [0, count), at prio, on the pool and on the
 * calling thread; returns when every call has returned. The caller runs
 * whatever the pool has not taken, so a batch inside a batch always ends. */
void sched_run_batch(struct sched *s, enum ncf_priority prio, size_t count,
		     void (*fn)(void *ctx, size_t index), void *ctx);
/* fn(ctx) on the pool, at prio, some time later: 0, -ENOMEM or
 * -ECANCELED. The caller keeps ctx alive until fn has run (or sched_free). */
int sched_submit(struct sched *s, enum ncf_priority prio, void (*fn)(void *ctx),
		 void *ctx);
/* sched_submit, delay_ms later (by the injected clock; <= 0: now). Until
 * it is due it is a timer: an idle pool thread sleeps until the soonest
 * one, then moves it to prio's queue, where it waits its turn like any
 * submission. Same returns and ownership as sched_submit. */
int sched_submit_after(struct sched *s, enum ncf_priority prio,
		       double delay_ms, void (*fn)(void *ctx), void *ctx);
/* Drops every submission of fn with ctx that has not started (timed or
 * queued); returns how many. One already running is not waited for: the
 * caller learns of its end its own way. */
int sched_cancel_submitted(struct sched *s, void (*fn)(void *ctx),
			   const void *ctx);

/* The priority of the calling thread's requests (interactive by default). */
enum ncf_priority sched_thread_priority(void);
enum ncf_priority sched_set_thread_priority(enum ncf_priority prio);

void sched_get_stats(struct sched *s, struct sched_stats *out);

#endif
