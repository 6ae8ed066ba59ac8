/* prefetch — a small fixed pool of worker threads over a FIFO of record
 * keys (see prefetch.h). FIFO, because listings come newest first and that
 * is the order `ls -lt`, `grep -r` and people look at them in. */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

struct job {
	struct node node; /* the activation to fetch */
};

struct prefetch {
	struct ncffs *fs;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *ring;     /* PREFETCH_QUEUE_MAX slots */
	size_t head, count;
	bool stopping;
	unsigned worker_count;
	pthread_t *workers;
};

static bool pop(struct prefetch *p, struct job *out)
{
	bool got = false;

	pthread_mutex_lock(&p->lock);
	while (p->count == 0 && !p->stopping)
		pthread_cond_wait(&p->wake, &p->lock);
	if (!p->stopping) {
		*out = p->ring[p->head];
		p->head = (p->head + 1) % PREFETCH_QUEUE_MAX;
		p->count--;
		got = true;
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

static void *work(void *arg)
{
	struct prefetch *p = arg;
	struct ttl_ref *ref;
	struct job job;

	while (pop(p, &job)) {
		/* Errors are the on-demand path's to report; here they only mean
		 * the record was not warmed. */
		if (fetch_activation_is_present(p->fs, &job.node))
			continue;
		if (fetch_activation(p->fs, &job.node, &ref) == 0)
			fetch_release(p->fs, ref);
	}
	return NULL;
}

void prefetch_activations(struct prefetch *p, const struct node *owner,
			  const struct ncf_listing *listing)
{
	struct node n;
	size_t i;

	if (!p || !listing)
		return;
	n = *owner;
	n.kind = NODE_ACTIVATION;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < listing->count && p->count < PREFETCH_QUEUE_MAX; i++) {
		memcpy(n.id, listing->items[i].name, NCF_ACTIVATION_ID_LEN + 1);
		if (fetch_activation_is_present(p->fs, &n))
			continue;
		p->ring[(p->head + p->count) % PREFETCH_QUEUE_MAX].node = n;
		p->count++;
	}
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

struct prefetch *prefetch_new(struct ncffs *fs, unsigned workers)
{
	struct prefetch *p;

	if (workers == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fs = fs;
	p->ring = calloc(PREFETCH_QUEUE_MAX, sizeof(*p->ring));
	p->workers = calloc(workers, sizeof(*p->workers));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (!p->ring || !p->workers) {
		prefetch_free(p);
		return NULL;
	}
	for (; p->worker_count < workers; p->worker_count++) {
		if (pthread_create(&p->workers[p->worker_count], NULL, work, p))
			break;
	}
	if (p->worker_count == 0) {
		prefetch_free(p);
		return NULL;
	}
	return p;
}

void prefetch_free(struct prefetch *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	p->count = 0;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->worker_count; i++)
		pthread_join(p->workers[i], NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p->ring);
	free(p);
}
