/* prefetch — a FIFO of record keys, fed by readahead streams (see
 * prefetch.h) and drained by jobs submitted to the client's scheduler at
 * readahead priority: no threads of its own. FIFO, because windows are
 * queued in listing order, which is the order readers walk in. */
#include "prefetch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/hash_table.h"
#include "../client/ncf_client.h"
#include "fetch.h"

#define TAG_MAX 16

struct job {
	struct node node; /* the activation to fetch */
};

struct stream_id {
	struct hash_link link;
	size_t index;
	char id[NCF_ACTIVATION_ID_LEN + 1];
};

/* One listing being followed: [0, queued_to) is queued; reaching marker
 * queues the next window. */
struct stream {
	struct node owner;
	char tag[TAG_MAX];
	struct stream_id *ids;
	size_t count;
	struct hash_table by_id;
	size_t queued_to, window, marker;
	uint64_t used_at;       /* 0: a free slot */
};

struct prefetch {
	struct ncffs *fs;
	size_t max_window;
	pthread_mutex_t lock;   /* guards everything below */
	struct job *ring;       /* PREFETCH_QUEUE_MAX slots */
	size_t head, count;
	struct stream streams[PREFETCH_STREAMS];
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

/* Queues ids [from, to) of s not cached yet; p->lock held. */
static void queue_range(struct prefetch *p, const struct stream *s,
			size_t from, size_t to)
{
	struct node n = s->owner;
	size_t i;

	n.kind = NODE_ACTIVATION;
	for (i = from; i < to && p->count < PREFETCH_QUEUE_MAX; i++) {
		memcpy(n.id, s->ids[i].id, sizeof(n.id));
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

static int stream_fill(struct stream *s, const char *const *ids, size_t count)
{
	size_t i;

	s->ids = calloc(count ? count : 1, sizeof(*s->ids));
	if (!s->ids || hash_table_init(&s->by_id, count) != 0)
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

void prefetch_listed(struct prefetch *p, const struct node *owner,
		     const char *tag, const char *const *ids, size_t count)
{
	struct stream *s;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	s = slot_for(p, owner, tag);
	stream_release(s);
	if (stream_fill(s, ids, count) != 0) {
		stream_release(s);
	} else {
		s->owner = *owner;
		snprintf(s->tag, sizeof(s->tag), "%s", tag);
		s->used_at = ++p->clock;
		s->window = p->max_window < PREFETCH_FIRST_WINDOW
				    ? p->max_window : PREFETCH_FIRST_WINDOW;
		s->queued_to = s->window < count ? s->window : count;
		s->marker = s->queued_to / 2;
		queue_range(p, s, 0, s->queued_to);
	}
	pthread_mutex_unlock(&p->lock);
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

/* The reader is at index: once past the marker, and not far beyond what is
 * queued (a jump is random access), queue the next, doubled window. */
static void follow(struct prefetch *p, struct stream *s, size_t index)
{
	size_t from, to;

	s->used_at = ++p->clock;
	if (index < s->marker || s->queued_to >= s->count ||
	    index >= s->queued_to + s->window)
		return;
	from = index + 1 > s->queued_to ? index + 1 : s->queued_to;
	s->window = s->window * 2 < p->max_window ? s->window * 2 : p->max_window;
	to = from + s->window < s->count ? from + s->window : s->count;
	queue_range(p, s, from, to);
	s->queued_to = to;
	s->marker = to - (to - from) / 2;
}

void prefetch_touched(struct prefetch *p, const struct node *n)
{
	size_t i, index;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < PREFETCH_STREAMS; i++) {
		struct stream *s = &p->streams[i];

		if (s->used_at && is_same_owner(&s->owner, n) &&
		    find_index(s, n->id, &index))
			follow(p, s, index);
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
	p->drainers_max = workers;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->drained, NULL);
	if (!p->ring) {
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
	free(p->ring);
	free(p);
}
