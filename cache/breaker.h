/* breaker — a circuit breaker: after enough consecutive failures of a
 * remote service, callers skip it for a cooldown instead of each paying
 * its timeout, then one probe decides whether it is back.
 *
 * States: closed (calls go ahead; a success resets the failure count),
 * open (calls are refused until the cooldown is over), probing (the first
 * call after the cooldown went ahead; the others are refused until it
 * reports). A probe's success closes the breaker; any failure while open
 * or probing opens it for another cooldown.
 *
 * Every call that breaker_allow let through must report exactly one
 * breaker_success or breaker_failure (else a probe never ends).
 * Time comes only from the injected clock. Thread-safe. */
#ifndef NCFFS_BREAKER_H
#define NCFFS_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum breaker_state {
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_PROBING,
};

/* Milliseconds on a monotonic timeline. */
typedef int64_t (*breaker_clock_fn)(void *clock_ctx);

struct breaker_config {
	unsigned failures;      /* consecutive failures that open it (>= 1) */
	int64_t cooldown_ms;    /* how long it stays open */
	breaker_clock_fn clock; /* NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
};

struct breaker {
	pthread_mutex_t lock;
	struct breaker_config config;
	enum breaker_state state;
	unsigned failures;      /* consecutive, while closed */
	int64_t open_until;     /* while open */
	uint64_t trips;         /* times it opened */
};

/* Lifecycle: init starts closed; release frees the lock only. */
void breaker_init(struct breaker *b, const struct breaker_config *config);
void breaker_release(struct breaker *b);

/* Whether a call may go ahead now. In the open state past its cooldown,
 * true exactly once: that call is the probe. */
bool breaker_allow(struct breaker *b);

/* Whether calls are refused right now, without claiming the probe: for a
 * caller that only wants to know if queueing work is worth it. */
bool breaker_is_open(struct breaker *b);

void breaker_success(struct breaker *b);
void breaker_failure(struct breaker *b);

enum breaker_state breaker_get_state(struct breaker *b, uint64_t *trips);

/* "closed", "open" or "probing". */
const char *breaker_state_name(enum breaker_state state);

#endif
