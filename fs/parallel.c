/* parallel — see parallel.h. Threads are made per call: the calls this
 * serves cost network round trips, next to which a pthread_create is
 * noise, and a pool would be one more thing to shut down. */
#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>

#define PARALLEL_THREADS_MAX 64

struct run {
	void (*fn)(void *ctx, size_t index);
	void *ctx;
	size_t count;
	atomic_size_t next;
};

static void *drain(void *arg)
{
	struct run *run = arg;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->count)
		run->fn(run->ctx, i);
	return NULL;
}

void parallel_for(size_t count, unsigned threads,
		  void (*fn)(void *ctx, size_t index), void *ctx)
{
	pthread_t extra[PARALLEL_THREADS_MAX];
	struct run run = { .fn = fn, .ctx = ctx, .count = count };
	unsigned started = 0, i;

	atomic_init(&run.next, 0);
	while (started + 1 < threads && started < PARALLEL_THREADS_MAX &&
	       started + 1 < count &&
	       pthread_create(&extra[started], NULL, drain, &run) == 0)
		started++;
	drain(&run); /* also covers a failed pthread_create */
	for (i = 0; i < started; i++)
		pthread_join(extra[i], NULL);
}
