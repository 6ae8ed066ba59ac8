/* scheduler — see scheduler.h. One mutex guards everything: decisions are
 * a few comparisons, next to which a request's round trip is an eternity.
 * Left out on purpose: fairness between callers of one priority beyond
 * first come, first served, and any per-endpoint limit (the gateway
 * throttles the account, not a path). */
#include "scheduler.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DECREASE 0.9           /* AIMD: the limit's cut on a drop */
#define LATENCY_FACTOR 2.0     /* latency beyond floor x this is a drop ... */
#define LATENCY_SLACK_MS 10.0  /* ... plus this (a loopback floor is ~1 ms) */
#define FLOOR_PERIOD_MS 10000.0 /* the floor is the minimum of 1-2 periods */
#define PACE_BETA 0.95         /* pace at this fraction of the answer rate */
#define PACE_TRUST 0.8         /* see adapt_to_throttle */
#define PACE_MIN_RATE 1.0      /* requests a second, the slowest pace */
#define RATE_GROWTH 0.1        /* pace grows 10 % a second, see pace_growth */
#define THROTTLE_ECHO_MS 100.0 /* 429s this soon after a cut answer the old pace */
#define PACE_END_MS 60000.0    /* a minute without a 429 ends pacing */
#define RATE_BUCKETS 10        /* answers counted in 100 ms buckets, 1 s */
#define RATE_BUCKET_MS 100.0
#define IDLE_MS 1000.0         /* idle this long: the answer rate starts over */
#define PAUSE_MAX_S 3600L
#define POOL_MARGIN 16         /* pool threads beyond the limit's ceiling */
#define POOL_THREADS_MAX 256

struct job {
	void (*fn)(void *ctx, size_t index);
	void *ctx;
	size_t count, next, done;
	enum ncf_priority prio;
	bool owned;             /* a submission: the pool frees it when done */
	void (*single)(void *ctx);
	struct job *prev, *after;
	double due;             /* a timed submission: when it joins the queue */
};

struct sched {
	pthread_mutex_t lock;
	pthread_cond_t changed;  /* admission may have become possible */
	pthread_cond_t work;     /* a job was queued or timed, or stopping */
	pthread_cond_t job_done; /* a batch call returned */
	sched_clock_fn clock;
	void *clock_ctx;
	bool cancelled, stopping;

	/* admission */
	double limit;
	unsigned max_limit, inflight;
	uint64_t next_ticket[NCF_PRIORITIES], serving[NCF_PRIORITIES];
	unsigned waiting[NCF_PRIORITIES];
	uint64_t admitted, throttled, pauses;

	/* latency floor: the minimum of this period and the last */
	double floor_now, floor_last, floor_since, calm_from;

	/* answers a second, in RATE_BUCKETS buckets */
	unsigned answers[RATE_BUCKETS];
	int64_t answer_period[RATE_BUCKETS];
	double first_answer_at, last_active;

	/* the token bucket: -o rate, and pacing after a 429 */
	double rate_cap, pace_rate, tokens, tokens_at;
	bool pacing;
	double last_throttle, echo_until;
	double paused_until, paused_ms;

	/* the pool */
	struct job *head[NCF_PRIORITIES], *tail[NCF_PRIORITIES];
	struct job *timers;     /* timed submissions, soonest first (->after) */
	pthread_t threads[POOL_THREADS_MAX];
	unsigned thread_count, threads_max;
	unsigned busy;          /* pool threads running a call */
	size_t pending;         /* calls queued and not taken yet */
};

static _Thread_local enum ncf_priority thread_priority = NCF_PRIORITY_INTERACTIVE;

/* ---- clock -------------------------------------------------------------- */

static double monotonic_ms(void *ctx)
{
	struct timespec now;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

static double now_ms(const struct sched *s)
{
	return s->clock(s->clock_ctx);
}

/* ---- answers a second ---------------------------------------------------- */

static void count_answer(struct sched *s, double now)
{
	int64_t period = (int64_t)floor(now / RATE_BUCKET_MS);
	size_t i = (size_t)(period % RATE_BUCKETS);

	if (s->answer_period[i] != period) {
		s->answer_period[i] = period;
		s->answers[i] = 0;
	}
	s->answers[i]++;
	if (s->first_answer_at < 0)
		s->first_answer_at = now;
}

/* A mount idle for a while starts measuring again: the answers of a
 * quiet second before a burst say nothing about the rate the gateway
 * allows (a pace from them would crawl). */
static void note_activity(struct sched *s, double now)
{
	size_t i;

	if (s->inflight == 0 && now - s->last_active > IDLE_MS) {
		for (i = 0; i < RATE_BUCKETS; i++)
			s->answer_period[i] = INT64_MIN;
		s->first_answer_at = -1;
	}
	s->last_active = now;
}

/* Answers a second over the last second, or since the first answer of
 * this busy spell when that is shorter (at 50 ms in, 15 answers are 300 a
 * second, not 15; a gateway's burst makes that too high, which the next
 * 429s cut down). */
static double answer_rate(const struct sched *s, double now)
{
	int64_t period = (int64_t)floor(now / RATE_BUCKET_MS);
	double window = RATE_BUCKETS * RATE_BUCKET_MS, sum = 0;
	size_t i;

	for (i = 0; i < RATE_BUCKETS; i++)
		if (s->answer_period[i] > period - RATE_BUCKETS)
			sum += s->answers[i];
	if (s->first_answer_at >= 0 && now - s->first_answer_at < window)
		window = now - s->first_answer_at > RATE_BUCKET_MS
				 ? now - s->first_answer_at : RATE_BUCKET_MS;
	return sum * 1000.0 / window;
}

/* ---- the token bucket ------------------------------------------------------ */

static double send_rate(const struct sched *s)
{
	if (s->pacing && (s->rate_cap <= 0 || s->pace_rate < s->rate_cap))
		return s->pace_rate;
	return s->rate_cap;
}

/* Requests a second the pace grows by, a second: RATE_GROWTH of it at
 * first, doubling with every second without a 429 (a pace set from a slow
 * second, while listings were being read, must not take half a minute to
 * find the gateway's rate again), and at least 1. */
static double pace_growth(const struct sched *s, double now)
{
	double quiet_s = (now - s->last_throttle) / 1000.0;
	double factor = RATE_GROWTH * exp2(quiet_s < 4.0 ? quiet_s : 4.0);
	double growth = s->pace_rate * factor;

	return growth > 1.0 ? growth : 1.0;
}

/* Tokens and the pace, brought up to now. A bucket holds a tenth of a
 * second's worth: enough to keep a fast gateway busy, too little to burst
 * past a throttle. */
static void refill(struct sched *s, double now)
{
	double dt = now - s->tokens_at, rate, cap;

	if (dt <= 0)
		return;
	if (s->pacing && now - s->last_throttle > PACE_END_MS)
		s->pacing = false;
	if (s->pacing)
		s->pace_rate += dt / 1000.0 * pace_growth(s, now);
	rate = send_rate(s);
	cap = rate * 0.1 > 1.0 ? rate * 0.1 : 1.0;
	s->tokens += dt * rate / 1000.0;
	if (s->tokens > cap)
		s->tokens = cap;
	s->tokens_at = now;
}

/* ---- the limit ------------------------------------------------------------- */

static double latency_floor(const struct sched *s)
{
	return s->floor_now < s->floor_last ? s->floor_now : s->floor_last;
}

static void note_latency(struct sched *s, double latency, double now)
{
	if (now - s->floor_since > FLOOR_PERIOD_MS) {
		s->floor_last = s->floor_now;
		s->floor_now = INFINITY;
		s->floor_since = now;
	}
	if (latency < s->floor_now)
		s->floor_now = latency;
}

/* Multiplicative decrease, once per round trip: the answers that follow a
 * cut were sent before it. */
static void decrease(struct sched *s, double now, double latency)
{
	if (now < s->calm_from)
		return;
	s->limit *= DECREASE;
	if (s->limit < 1.0)
		s->limit = 1.0;
	s->calm_from = now + (latency > 1.0 ? latency : 1.0);
}

/* inflight counts the releasing request: the limit grows only when it is
 * in use, or an idle mount would inflate it to no end. */
static void adapt_to_answer(struct sched *s, double latency, double now)
{
	note_latency(s, latency, now);
	if (latency > latency_floor(s) * LATENCY_FACTOR + LATENCY_SLACK_MS) {
		decrease(s, now, latency);
		return;
	}
	if ((double)(s->inflight + 1) * 2.0 >= s->limit) {
		s->limit += 1.0 / s->limit;
		if (s->limit > s->max_limit)
			s->limit = s->max_limit;
	}
}

static void pause_until(struct sched *s, double until, double now)
{
	double from = s->paused_until > now ? s->paused_until : now;

	if (until <= from)
		return;
	s->paused_ms += until - from;
	s->paused_until = until;
	s->pauses++;
}

static void adapt_to_throttle(struct sched *s, double latency, double now)
{
	double measured = answer_rate(s, now);

	s->throttled++;
	if (now >= s->echo_until) {
		/* Pacing, the pace is what was too fast (the answers of the last
		 * second lag behind it) unless far more than came back: a pace
		 * set from a gateway's first burst. */
		if (s->pacing && measured >= PACE_TRUST * s->pace_rate)
			measured = s->pace_rate;
		s->pace_rate = measured * PACE_BETA;
		if (s->pace_rate < PACE_MIN_RATE)
			s->pace_rate = PACE_MIN_RATE;
		if (!s->pacing)
			s->tokens = 0;
		s->pacing = true;
		s->echo_until = now + THROTTLE_ECHO_MS;
	}
	s->last_throttle = now;
	/* The pace is what answers a 429 now; the limit only when it was
	 * full, else cutting it would slow a mount the pace already holds. */
	if ((double)(s->inflight + 1) * 2.0 >= s->limit)
		decrease(s, now, latency);
}

/* ---- admission ---------------------------------------------------------- */

uint64_t sched_enter(struct sched *s, enum ncf_priority prio)
{
	uint64_t ticket;

	pthread_mutex_lock(&s->lock);
	ticket = s->next_ticket[prio]++;
	s->waiting[prio]++;
	pthread_mutex_unlock(&s->lock);
	return ticket;
}

/* s->lock held. 1, 0 with *wait_ms, or -ECANCELED (see the header). */
static int try_admit(struct sched *s, enum ncf_priority prio, uint64_t ticket,
		     double *wait_ms)
{
	double now = now_ms(s), rate;
	int p;

	*wait_ms = -1;
	if (s->cancelled) {
		s->waiting[prio]--;
		return -ECANCELED;
	}
	if (ticket != s->serving[prio])
		return 0;
	for (p = 0; p < (int)prio; p++)
		if (s->waiting[p])
			return 0;
	if (now < s->paused_until) {
		*wait_ms = s->paused_until - now;
		return 0;
	}
	if (s->inflight >= (unsigned)s->limit)
		return 0;
	refill(s, now);
	rate = send_rate(s);
	if (rate > 0 && s->tokens < 1.0) {
		*wait_ms = (1.0 - s->tokens) * 1000.0 / rate;
		return 0;
	}
	if (rate > 0)
		s->tokens -= 1.0;
	note_activity(s, now);
	s->serving[prio]++;
	s->waiting[prio]--;
	s->inflight++;
	s->admitted++;
	/* The next in line may be admissible too. */
	pthread_cond_broadcast(&s->changed);
	return 1;
}

int sched_try_admit(struct sched *s, enum ncf_priority prio, uint64_t ticket,
		    double *wait_ms)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = try_admit(s, prio, ticket, wait_ms);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Waits on cond (a CLOCK_MONOTONIC one) for wait_ms at most, forever when
 * negative. The conditions wait on the monotonic clock; an injected clock
 * only decides, which is why every wake-up looks again. */
static void wait_on(struct sched *s, pthread_cond_t *cond, double wait_ms)
{
	struct timespec until;
	long long ns;

	if (wait_ms < 0) {
		pthread_cond_wait(cond, &s->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = (long long)until.tv_nsec + (long long)(wait_ms * 1e6) + 100000;
	until.tv_sec += (time_t)(ns / 1000000000LL);
	until.tv_nsec = (long)(ns % 1000000000LL);
	pthread_cond_timedwait(cond, &s->lock, &until);
}

static void wait_for(struct sched *s, double wait_ms)
{
	wait_on(s, &s->changed, wait_ms);
}

int sched_acquire(struct sched *s, enum ncf_priority prio)
{
	uint64_t ticket;
	double wait_ms;
	int rc;

	pthread_mutex_lock(&s->lock);
	ticket = s->next_ticket[prio]++;
	s->waiting[prio]++;
	while ((rc = try_admit(s, prio, ticket, &wait_ms)) == 0)
		wait_for(s, wait_ms);
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? rc : 0;
}

void sched_release(struct sched *s, enum sched_outcome outcome,
		   double latency_ms, long retry_after_s, long max_pause_s)
{
	double now;

	pthread_mutex_lock(&s->lock);
	now = now_ms(s);
	if (s->inflight > 0)
		s->inflight--;
	s->last_active = now;
	if (outcome == SCHED_ANSWERED) {
		count_answer(s, now);
		adapt_to_answer(s, latency_ms, now);
	} else if (outcome == SCHED_THROTTLED) {
		adapt_to_throttle(s, latency_ms, now);
	}
	if (outcome == SCHED_THROTTLED && retry_after_s >= 0) {
		long cap = max_pause_s > 0 && max_pause_s < PAUSE_MAX_S ? max_pause_s
								: PAUSE_MAX_S;

		pause_until(s, now + (double)(retry_after_s < cap ? retry_after_s
								  : cap) * 1000.0, now);
	}
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the pool ------------------------------------------------------------ */

enum ncf_priority sched_thread_priority(void)
{
	return thread_priority;
}

enum ncf_priority sched_set_thread_priority(enum ncf_priority prio)
{
	enum ncf_priority old = thread_priority;

	if ((int)prio >= 0 && prio < NCF_PRIORITIES)
		thread_priority = prio;
	return old;
}

static void unlink_job(struct sched *s, struct job *j)
{
	if (j->prev)
		j->prev->after = j->after;
	else
		s->head[j->prio] = j->after;
	if (j->after)
		j->after->prev = j->prev;
	else
		s->tail[j->prio] = j->prev;
	j->prev = j->after = NULL;
}

/* The next index of j; s->lock held, j->next < j->count. A job whose last
 * index is taken leaves the queue. */
static size_t claim(struct sched *s, struct job *j)
{
	size_t i = j->next++;

	s->pending--;
	if (j->next == j->count)
		unlink_job(s, j);
	return i;
}

static void run_one(struct job *j, size_t i)
{
	enum ncf_priority old = sched_set_thread_priority(j->prio);

	if (j->single)
		j->single(j->ctx);
	else
		j->fn(j->ctx, i);
	sched_set_thread_priority(old);
}

/* s->lock held. */
static void finish(struct sched *s, struct job *j)
{
	if (++j->done < j->count)
		return;
	if (j->owned)
		free(j);
	else
		pthread_cond_broadcast(&s->job_done);
}

static struct job *first_job(const struct sched *s)
{
	int p;

	for (p = 0; p < NCF_PRIORITIES; p++)
		if (s->head[p])
			return s->head[p];
	return NULL;
}

static void enqueue(struct sched *s, struct job *j);

/* s->lock held. Moves the timed submissions that are due to their queue;
 * returns the milliseconds until the next is, or -1 when none is timed. */
static double promote_due(struct sched *s)
{
	double now = now_ms(s);
	struct job *j;

	while ((j = s->timers) && j->due <= now) {
		s->timers = j->after;
		enqueue(s, j);
	}
	return s->timers ? s->timers->due - now : -1;
}

/* An idle thread also keeps the timers: it sleeps until the soonest is due
 * (or a job, a new timer or stopping wakes it). */
static void *pool_thread(void *arg)
{
	struct sched *s = arg;
	struct job *j;
	double wait_ms;
	size_t i;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		wait_ms = promote_due(s);
		j = first_job(s);
		if (!j) {
			wait_on(s, &s->work, wait_ms);
			continue;
		}
		i = claim(s, j);
		s->busy++;
		pthread_mutex_unlock(&s->lock);
		run_one(j, i);
		pthread_mutex_lock(&s->lock);
		s->busy--;
		finish(s, j);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* s->lock held: threads until every queued call has one that is not busy
 * (idle, or started and about to look), and one more to keep the timers
 * while there are any, up to threads_max. A failed
 * pthread_create leaves the work to the threads there are (and to a
 * batch's own caller). */
static void grow_pool(struct sched *s)
{
	while (!s->stopping && s->thread_count < s->threads_max &&
	       s->thread_count - s->busy < s->pending + (s->timers ? 1 : 0)) {
		if (pthread_create(&s->threads[s->thread_count], NULL, pool_thread,
				   s) != 0)
			return;
		s->thread_count++;
	}
}

/* s->lock held. */
static void enqueue(struct sched *s, struct job *j)
{
	j->after = NULL;
	j->prev = s->tail[j->prio];
	if (j->prev)
		j->prev->after = j;
	else
		s->head[j->prio] = j;
	s->tail[j->prio] = j;
	s->pending += j->count - j->next;
	pthread_cond_broadcast(&s->work);
	grow_pool(s);
}

void sched_run_batch(struct sched *s, enum ncf_priority prio, size_t count,
		     void (*fn)(void *ctx, size_t index), void *ctx)
{
	struct job j = { .fn = fn, .ctx = ctx, .count = count, .prio = prio };
	size_t i;

	if (count == 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (count > 1 && !s->stopping)
		enqueue(s, &j);
	while (j.next < j.count) {
		i = j.prev || s->head[prio] == &j ? claim(s, &j) : j.next++;
		pthread_mutex_unlock(&s->lock);
		run_one(&j, i);
		pthread_mutex_lock(&s->lock);
		j.done++;
	}
	while (j.done < j.count)
		pthread_cond_wait(&s->job_done, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static struct job *submission_new(enum ncf_priority prio,
				  void (*fn)(void *ctx), void *ctx)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->single = fn;
	j->ctx = ctx;
	j->count = 1;
	j->prio = prio;
	j->owned = true;
	return j;
}


/* s->lock held. After every timer due no later than j (first come, first
 * served among equals). */
static void insert_timer(struct sched *s, struct job *j)
{
	struct job **link = &s->timers;

	while (*link && (*link)->due <= j->due)
		link = &(*link)->after;
	j->after = *link;
	*link = j;
}

/* s->lock held. */
static void remove_timer(struct sched *s, struct job *j)
{
	struct job **link = &s->timers;

	while (*link && *link != j)
		link = &(*link)->after;
	if (*link)
		*link = j->after;
	j->after = NULL;
}

/* s->lock held. A submission goes in line now, or among the timers when
 * timed (a pool thread keeps those, so one is started). */
static void place(struct sched *s, struct job *j, bool timed, double delay_ms)
{
	if (!timed) {
		enqueue(s, j);
		return;
	}
	j->due = now_ms(s) + (delay_ms > 0 ? delay_ms : 0);
	insert_timer(s, j);
	pthread_cond_broadcast(&s->work); /* it may be the soonest */
	grow_pool(s);
}

/* s->lock held. Takes back what place put where no thread will see it. */
static void unplace(struct sched *s, struct job *j, bool timed)
{
	if (timed) {
		remove_timer(s, j);
		return;
	}
	unlink_job(s, j);
	s->pending--;
}

static int submit(struct sched *s, enum ncf_priority prio, bool timed,
		  double delay_ms, void (*fn)(void *ctx), void *ctx)
{
	struct job *j = submission_new(prio, fn, ctx);
	int rc = 0;

	if (!j)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->cancelled) {
		rc = -ECANCELED;
	} else {
		place(s, j, timed, delay_ms);
		if (s->thread_count == 0) { /* no thread could start: never run */
			unplace(s, j, timed);
			rc = -EAGAIN;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		free(j);
	return rc;
}

int sched_submit(struct sched *s, enum ncf_priority prio, void (*fn)(void *ctx),
		 void *ctx)
{
	return submit(s, prio, false, 0, fn, ctx);
}

int sched_submit_after(struct sched *s, enum ncf_priority prio,
		       double delay_ms, void (*fn)(void *ctx), void *ctx)
{
	return submit(s, prio, true, delay_ms, fn, ctx);
}

static bool is_submission_of(const struct job *j, void (*fn)(void *ctx),
			     const void *ctx)
{
	return j->owned && j->single == fn && j->ctx == ctx;
}

int sched_cancel_submitted(struct sched *s, void (*fn)(void *ctx),
			   const void *ctx)
{
	struct job **link, *j, *next;
	int p, removed = 0;

	pthread_mutex_lock(&s->lock);
	for (link = &s->timers; (j = *link);) {
		if (is_submission_of(j, fn, ctx)) {
			*link = j->after;
			free(j);
			removed++;
		} else {
			link = &j->after;
		}
	}
	/* A submission still queued has not started: claim unlinks it. */
	for (p = 0; p < NCF_PRIORITIES; p++) {
		for (j = s->head[p]; j; j = next) {
			next = j->after;
			if (!is_submission_of(j, fn, ctx))
				continue;
			unlink_job(s, j);
			s->pending--;
			free(j);
			removed++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return removed;
}

/* ---- lifecycle ---------------------------------------------------------- */

struct sched *sched_new(const struct sched_config *cfg)
{
	struct sched *s = calloc(1, sizeof(*s));
	pthread_condattr_t monotonic;
	size_t i;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &monotonic);
	pthread_cond_init(&s->work, &monotonic);
	pthread_condattr_destroy(&monotonic);
	pthread_cond_init(&s->job_done, NULL);
	s->clock = cfg && cfg->clock ? cfg->clock : monotonic_ms;
	s->clock_ctx = cfg ? cfg->clock_ctx : NULL;
	s->max_limit = cfg && cfg->max_limit ? cfg->max_limit : SCHED_MAX_LIMIT;
	if (s->max_limit > SCHED_LIMIT_CEILING)
		s->max_limit = SCHED_LIMIT_CEILING;
	s->limit = cfg && cfg->initial_limit ? cfg->initial_limit : SCHED_INITIAL_LIMIT;
	if (s->limit > s->max_limit)
		s->limit = s->max_limit;
	s->rate_cap = cfg && cfg->rate_cap > 0 ? cfg->rate_cap : 0;
	s->threads_max = s->max_limit + POOL_MARGIN < POOL_THREADS_MAX
				 ? s->max_limit + POOL_MARGIN : POOL_THREADS_MAX;
	s->floor_now = s->floor_last = INFINITY;
	s->floor_since = s->tokens_at = now_ms(s);
	s->tokens = 1.0;
	s->first_answer_at = -1;
	s->last_active = -INFINITY;
	s->last_throttle = -INFINITY;
	for (i = 0; i < RATE_BUCKETS; i++)
		s->answer_period[i] = INT64_MIN;
	return s;
}

void sched_cancel(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

static void drop_queued(struct sched *s)
{
	struct job *t;
	int p;

	while ((t = s->timers)) {
		s->timers = t->after;
		free(t);
	}
	for (p = 0; p < NCF_PRIORITIES; p++) {
		while (s->head[p]) {
			struct job *j = s->head[p];

			s->pending -= j->count - j->next;
			unlink_job(s, j);
			if (j->owned)
				free(j);
		}
	}
}

void sched_free(struct sched *s)
{
	unsigned i;

	if (!s)
		return;
	sched_cancel(s);
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->thread_count; i++)
		pthread_join(s->threads[i], NULL);
	drop_queued(s);
	pthread_cond_destroy(&s->job_done);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void sched_get_stats(struct sched *s, struct sched_stats *out)
{
	double now;
	int p;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	now = now_ms(s);
	refill(s, now);
	out->limit = (unsigned)s->limit;
	out->inflight = s->inflight;
	for (p = 0; p < NCF_PRIORITIES; p++)
		out->queued[p] = s->waiting[p];
	out->admitted = s->admitted;
	out->throttled = s->throttled;
	out->retry_after_pauses = s->pauses;
	out->paused_ms = s->paused_ms -
			 (s->paused_until > now ? s->paused_until - now : 0);
	out->floor_ms = isinf(latency_floor(s)) ? 0 : latency_floor(s);
	out->pace_rate = s->pacing ? s->pace_rate : 0;
	pthread_mutex_unlock(&s->lock);
}
