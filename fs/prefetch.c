/* prefetch — a FIFO of record keys, fed by readahead streams (see
 * prefetch.h; which records a stream queues is readahead.c's rule) and
 * drained by jobs submitted to the client's scheduler at readahead
 * priority: no threads of its own. FIFO, because each window is queued in
 * the order its reader is expected to walk. */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cache/hash_table.h"
#include "../client/ncf_client.h"
#include "fetch.h"
#include "readahead.h"

#define TAG_MAX 16

struct job {
	struct node node; /* the activation to fetch */
};

struct stream_id {
	struct hash_link link;
	size_t index;
	char id[NCF_ACTIVATION_ID_LEN + 1];
};

/* One listing being followed: its ids, and what its readers did (ra). */
struct stream {
	struct node owner;
	char tag[TAG_MAX];
	struct stream_id *ids;
	size_t count;
	struct hash_table by_id;
	struct readahead ra;
	uint64_t used_at;       /* 0: a free slot */
};

struct prefetch {
	struct ncffs *fs;
	size_t max_window;
	pthread_mutex_t lock;   /* guards everything below */
	struct job *ring;       /* PREFETCH_QUEUE_MAX slots */
	size_t head, count;
	struct stream streams[PREFETCH_STREAMS];
	size_t *due;            /* max_window slots: what readahead answers */
	uint64_t clock;         /* for least recently used */
	bool stopping;
	unsigned drainers, drainers_max; /* jobs submitted and not over */
	pthread_cond_t drained;          /* drainers reached 0 */
};

/* ---- the drainers ----------------------------------------------------------- */

/* The next key, or false when the queue is empty (or stopping): then this
 * drainer is over, which the last one says to prefetch_free. */
static bool pop(struct prefetch *p, struct job *out)
{
	bool got = false;

	pthread_mutex_lock(&p->lock);
	if (p->count > 0 && !p->stopping) {
		*out = p->ring[p->head];
		p->head = (p->head + 1) % PREFETCH_QUEUE_MAX;
		p->count--;
		got = true;
	} else if (--p->drainers == 0) {
		pthread_cond_broadcast(&p->drained);
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

static void drain(void *arg)
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
}

/* One drainer per queued key, up to drainers_max: each waits its turn in
 * the scheduler, which decides how many fetch at once. p->lock held. */
static void add_drainers(struct prefetch *p)
{
	while (!p->stopping && p->drainers < p->drainers_max &&
	       p->drainers < p->count &&
	       ncf_client_submit(p->fs->client, NCF_PRIORITY_READAHEAD, drain,
				 p) == 0)
		p->drainers++;
}

/* Queues the ids of s at p->due[0..count) not cached yet; p->lock held. */
static void queue_due(struct prefetch *p, const struct stream *s, size_t count)
{
	struct node n = s->owner;
	size_t i;

	if (count == 0)
		return;
	n.kind = NODE_ACTIVATION;
	for (i = 0; i < count && p->count < PREFETCH_QUEUE_MAX; i++) {
		memcpy(n.id, s->ids[p->due[i]].id, sizeof(n.id));
		if (fetch_activation_is_present(p->fs, &n))
			continue;
		p->ring[(p->head + p->count) % PREFETCH_QUEUE_MAX].node = n;
		p->count++;
	}
	add_drainers(p);
}

/* ---- streams ---------------------------------------------------------------- */

static bool is_same_owner(const struct node *a, const struct node *b)
{
	if (a->under_trigger != b->under_trigger)
		return false;
	if (a->under_trigger)
		return strcmp(a->trigger, b->trigger) == 0;
	return strcmp(a->pkg, b->pkg) == 0 && strcmp(a->action, b->action) == 0;
}

static void stream_release(struct stream *s)
{
	readahead_release(&s->ra);
	hash_table_release(&s->by_id);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

/* The slot for owner's tag: its own, else a free one, else the least
 * recently used (released). */
static struct stream *slot_for(struct prefetch *p, const struct node *owner,
			       const char *tag)
{
	struct stream *oldest = &p->streams[0];
	size_t i;

	for (i = 0; i < PREFETCH_STREAMS; i++) {
		struct stream *s = &p->streams[i];

		if (s->used_at && is_same_owner(&s->owner, owner) &&
		    strcmp(s->tag, tag) == 0)
			return s;
		if (s->used_at < oldest->used_at)
			oldest = s;
	}
	stream_release(oldest);
	return oldest;
}

static int stream_fill(struct prefetch *p, struct stream *s,
		       const char *const *ids, size_t count, bool eager)
{
	size_t i;

	s->ids = calloc(count ? count : 1, sizeof(*s->ids));
	if (!s->ids || hash_table_init(&s->by_id, count) != 0 ||
	    readahead_init(&s->ra, count, PREFETCH_FIRST_WINDOW, p->max_window,
			   eager) != 0)
		return -1;
	for (i = 0; i < count; i++) {
		struct stream_id *e = &s->ids[i];

		e->index = i;
		memcpy(e->id, ids[i], sizeof(e->id) - 1);
		hash_table_insert(&s->by_id, &e->link, hash_string(e->id));
	}
	s->count = count;
	return 0;
}

static void listed(struct prefetch *p, const struct node *owner,
		   const char *tag, const char *const *ids, size_t count,
		   bool eager)
{
	struct stream *s;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	s = slot_for(p, owner, tag);
	stream_release(s);
	if (stream_fill(p, s, ids, count, eager) != 0) {
		stream_release(s);
	} else {
		s->owner = *owner;
		snprintf(s->tag, sizeof(s->tag), "%s", tag);
		s->used_at = ++p->clock;
		queue_due(p, s, readahead_start(&s->ra, p->due));
	}
	pthread_mutex_unlock(&p->lock);
}

void prefetch_listed(struct prefetch *p, const struct node *owner,
		     const char *tag, const char *const *ids, size_t count)
{
	listed(p, owner, tag, ids, count, true);
}

void prefetch_listed_lazily(struct prefetch *p, const struct node *owner,
			    const char *tag, const char *const *ids,
			    size_t count)
{
	listed(p, owner, tag, ids, count, false);
}

static bool find_index(const struct stream *s, const char *id, size_t *index)
{
	struct hash_link *l;

	for (l = hash_table_first(&s->by_id, hash_string(id)); l;
	     l = hash_table_next(l)) {
		const struct stream_id *e = HASH_ENTRY(l, struct stream_id, link);

		if (strcmp(e->id, id) == 0) {
			*index = e->index;
			return true;
		}
	}
	return false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The reader is at index: readahead.c says what to queue. */
static void follow(struct prefetch *p, struct stream *s, size_t index,
		   int64_t now)
{
	s->used_at = ++p->clock;
	queue_due(p, s, readahead_touch(&s->ra, index, now, p->due));
}

void prefetch_touched(struct prefetch *p, const struct node *n)
{
	int64_t now = now_ms();
	size_t i, index;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < PREFETCH_STREAMS; i++) {
		struct stream *s = &p->streams[i];

		if (s->used_at && is_same_owner(&s->owner, n) &&
		    find_index(s, n->id, &index))
			follow(p, s, index, now);
	}
	pthread_mutex_unlock(&p->lock);
}

/* ---- lifecycle ------------------------------------------------------------------ */

struct prefetch *prefetch_new(struct ncffs *fs, unsigned workers,
			      size_t max_window)
{
	struct prefetch *p;

	if (workers == 0 || max_window == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fs = fs;
	p->max_window = max_window;
	p->ring = calloc(PREFETCH_QUEUE_MAX, sizeof(*p->ring));
	p->due = calloc(max_window, sizeof(*p->due));
	p->drainers_max = workers;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->drained, NULL);
	if (!p->ring || !p->due) {
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
	/* A drainer holds p until its fetch returns and it sees stopping. */
	while (p->drainers > 0)
		pthread_cond_wait(&p->drained, &p->lock);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < PREFETCH_STREAMS; i++)
		stream_release(&p->streams[i]);
	pthread_cond_destroy(&p->drained);
	pthread_mutex_destroy(&p->lock);
	free(p->due);
	free(p->ring);
	free(p);
}
