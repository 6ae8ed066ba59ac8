/* breaker — see breaker.h. One mutex around a few integers: callers take it
 * twice per remote call, which costs nothing next to a network round
 * trip. */
#include "breaker.h"

#include <time.h>

static int64_t monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void breaker_init(struct breaker *b, const struct breaker_config *config)
{
	pthread_mutex_init(&b->lock, NULL);
	b->config = *config;
	if (!b->config.clock)
		b->config.clock = monotonic_ms;
	if (b->config.failures == 0)
		b->config.failures = 1;
	b->state = BREAKER_CLOSED;
	b->failures = 0;
	b->open_until = 0;
	b->trips = 0;
}

void breaker_release(struct breaker *b)
{
	pthread_mutex_destroy(&b->lock);
}

static int64_t now(const struct breaker *b)
{
	return b->config.clock(b->config.clock_ctx);
}

bool breaker_allow(struct breaker *b)
{
	bool allow = true;

	pthread_mutex_lock(&b->lock);
	if (b->state == BREAKER_OPEN && now(b) >= b->open_until)
		b->state = BREAKER_PROBING; /* this caller is the probe */
	else if (b->state != BREAKER_CLOSED)
		allow = false;
	pthread_mutex_unlock(&b->lock);
	return allow;
}

bool breaker_is_open(struct breaker *b)
{
	bool open;

	pthread_mutex_lock(&b->lock);
	open = b->state == BREAKER_PROBING ||
	       (b->state == BREAKER_OPEN && now(b) < b->open_until);
	pthread_mutex_unlock(&b->lock);
	return open;
}

void breaker_success(struct breaker *b)
{
	pthread_mutex_lock(&b->lock);
	b->state = BREAKER_CLOSED;
	b->failures = 0;
	pthread_mutex_unlock(&b->lock);
}

void breaker_failure(struct breaker *b)
{
	pthread_mutex_lock(&b->lock);
	/* A late failure of a call let through before the breaker opened
	 * extends nothing: only closed counts, and a probe reopens. */
	if (b->state == BREAKER_PROBING ||
	    (b->state == BREAKER_CLOSED && ++b->failures >= b->config.failures)) {
		b->state = BREAKER_OPEN;
		b->open_until = now(b) + b->config.cooldown_ms;
		b->failures = 0;
		b->trips++;
	}
	pthread_mutex_unlock(&b->lock);
}

enum breaker_state breaker_get_state(struct breaker *b, uint64_t *trips)
{
	enum breaker_state state;

	pthread_mutex_lock(&b->lock);
	state = b->state;
	if (trips)
		*trips = b->trips;
	pthread_mutex_unlock(&b->lock);
	return state;
}

const char *breaker_state_name(enum breaker_state state)
{
	static const char *const names[] = {
		[BREAKER_CLOSED] = "closed",
		[BREAKER_OPEN] = "open",
		[BREAKER_PROBING] = "probing",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state]
								 : "?";
}
