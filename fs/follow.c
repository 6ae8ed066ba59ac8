/* follow — follow.log's streams and pollers (see follow.h).
 *
 * Layout: the ids a poller remembers (seen, pending); entries; streams;
 * a poll; the poller's timer; opening and releasing; stats.
 *
 * A poller's own state (its window, the ids it has seen, the records it
 * still waits for) belongs to its one job alone (a poller has at most one
 * in the scheduler at a time, which runs a poll and submits the next
 * one); what others read (the
 * newest entry a new stream starts with, the counters, stopping) is under
 * follow->lock. Left out on purpose: following triggers (the issue asks
 * for actions and packages), actions added to a package after its
 * follow.log was opened, and keeping a stream after its last reader: the
 * file then starts again from the newest activation. */
#include "follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "../client/ncf_client.h"
#include "fetch.h"
#include "follow_buffer.h"
#include "views.h"

#define MS_PER_S 1000
/* v2.0 sends start as whole seconds: a window may bring up to a second of
 * runs before the start it was asked for. */
#define WINDOW_ROUNDING_MS 1000
/* Records fetched at once: on opening a package's follow.log, and for the
 * new and late records of one poll. */
/* The API refuses signatures made more than 5 minutes off its clock, so a
 * run that starts after an open never starts, on the API's clock, earlier
 * than the local clock at the open less this. */
#define CLOCK_SKEW_MAX_MS (6 * 60 * 1000)
/* An open retries this often when a poller it counted on went away. */
#define OPEN_TRIES 3
#define OWNER_MAX (2 * NCF_NAME_MAX + 2)

struct seen_id {
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int64_t start_ms;
};

struct pending_id {
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int64_t first_seen_ms;  /* monotonic */
	bool asked;             /* its record was asked for at least once */
	/* one poll's outcome */
	struct ttl_ref *ref;
	int rc;
};

struct follow_poller {
	struct follow *follow;
	struct node owner;      /* NODE_ACTION: pkg, action */
	char name[OWNER_MAX];   /* "pkg/action", for logs and stats */
	struct follow_poller *next;

	/* under follow->lock */
	unsigned subscribers;   /* open streams that include it */
	bool stopping;
	bool scheduled;         /* its job is timed, queued or running */
	uint64_t polls;
	size_t late;            /* records it waits for, as of its last poll */
	char *newest_entry;     /* what a new stream starts with, or NULL */
	size_t newest_len;
	int64_t newest_start;

	/* its job's own */
	int64_t due_ms;         /* monotonic: when the next poll is due */
	int64_t floor_ms;       /* start of the activation it began with */
	int64_t latest_ms;      /* the latest start appended */
	int64_t horizon_ms;     /* ids older than this were forgotten */
	bool failing, told_full;
	struct seen_id *seen;   /* sorted by id */
	size_t seen_count, seen_capacity;
	struct pending_id *pending;
	size_t pending_count, pending_capacity;
};

struct follow_stream {
	char pkg[NCF_NAME_MAX + 1];
	char action[NCF_NAME_MAX + 1]; /* "" for a package's follow.log */
	unsigned handles;
	struct follow_buffer buffer;
	struct timespec mtime;  /* of the last append */
	struct follow_poller **pollers;
	size_t poller_count;
	struct follow_stream *next;
};

struct follow_handle {
	struct follow_stream *stream;
	bool told_behind;
};

struct follow {
	struct ncffs *fs;
	unsigned poll_s;
	size_t buffer_bytes;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* a retired poller's job is over */
	struct follow_stream *streams;
	struct follow_poller *pollers;  /* polling */
	struct follow_poller *retired;  /* stopping or stopped, to be freed */
	size_t stream_count, poller_count;
	uint64_t poll_requests, appended, given_up;
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

static int64_t later(int64_t a, int64_t b)
{
	if (a == NCF_UNKNOWN)
		return b;
	if (b == NCF_UNKNOWN)
		return a;
	return a > b ? a : b;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, NCF_NAME_MAX + 1, "%s", src);
}

static int grow_array(void **items, size_t *capacity, size_t count,
		      size_t item_size, size_t max)
{
	size_t wanted = *capacity ? *capacity * 2 : 16;
	void *grown;

	if (count < *capacity)
		return 0;
	if (count >= max)
		return -ENOSPC;
	if (wanted > max)
		wanted = max;
	grown = realloc(*items, wanted * item_size);
	if (!grown)
		return -ENOMEM;
	*items = grown;
	*capacity = wanted;
	return 0;
}

/* ---- the ids a poller has seen ------------------------------------------ */

/* Where id is, or would be inserted, in the sorted seen array. */
static size_t seen_slot(const struct follow_poller *p, const char *id,
			bool *found)
{
	size_t low = 0, high = p->seen_count;

	*found = false;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		int cmp = strcmp(p->seen[mid].id, id);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

static bool seen_has(const struct follow_poller *p, const char *id)
{
	bool found;

	seen_slot(p, id, &found);
	return found;
}

/* Forgets the ids that started before threshold (they cannot come back in
 * a window that starts after them). */
static void seen_prune(struct follow_poller *p, int64_t threshold)
{
	size_t i, kept = 0;

	for (i = 0; i < p->seen_count; i++) {
		if (p->seen[i].start_ms >= threshold)
			p->seen[kept++] = p->seen[i];
	}
	p->seen_count = kept;
}

/* When FOLLOW_SEEN_MAX ids are remembered (hundreds of runs a second), the
 * oldest are forgotten and nothing that started before the latest appended
 * counts as new any more: a run listed late is then missed, and logged,
 * rather than ever shown twice. */
static void seen_make_room(struct follow_poller *p)
{
	if (p->seen_count < FOLLOW_SEEN_MAX)
		return;
	p->horizon_ms = later(p->horizon_ms, p->latest_ms);
	seen_prune(p, p->horizon_ms);
	if (!p->told_full) {
		log_msg(&p->follow->fs->log, LOG_WARNING,
			"follow %s: more than %d runs in its window; runs listed late may be missed",
			p->name, FOLLOW_SEEN_MAX);
		p->told_full = true;
	}
}

static int seen_add(struct follow_poller *p, const char *id, int64_t start_ms)
{
	bool found;
	size_t at;
	int rc;

	seen_make_room(p);
	at = seen_slot(p, id, &found);
	if (found)
		return 0;
	rc = grow_array((void **)&p->seen, &p->seen_capacity, p->seen_count,
			sizeof(*p->seen), FOLLOW_SEEN_MAX);
	if (rc)
		return rc;
	memmove(&p->seen[at + 1], &p->seen[at],
		(p->seen_count - at) * sizeof(*p->seen));
	memcpy(p->seen[at].id, id, NCF_ACTIVATION_ID_LEN + 1);
	p->seen[at].start_ms = start_ms;
	p->seen_count++;
	return 0;
}

/* ---- the records a poller waits for ---------------------------------------- */

static bool pending_has(const struct follow_poller *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->pending_count; i++) {
		if (strcmp(p->pending[i].id, id) == 0)
			return true;
	}
	return false;
}

static int pending_add(struct follow_poller *p, const char *id, int64_t now)
{
	struct pending_id *item;
	int rc = grow_array((void **)&p->pending, &p->pending_capacity,
			    p->pending_count, sizeof(*p->pending),
			    FOLLOW_PENDING_MAX);

	if (rc)
		return rc;
	item = &p->pending[p->pending_count++];
	memset(item, 0, sizeof(*item));
	memcpy(item->id, id, NCF_ACTIVATION_ID_LEN + 1);
	item->first_seen_ms = now;
	return 0;
}

/* ---- entries --------------------------------------------------------------- */

/* The header line and the logs of one activation, as a new string (the
 * caller's); NULL on no memory. */
static char *entry_new(const struct node *owner, const char *id,
		       const struct rendered_activation *act, size_t *len)
{
	const struct rendered_file *logs = &act->files[ACT_FILE_LOGS_TXT];
	char header[RENDER_FOLLOW_HEADER_MAX];
	size_t n = render_follow_header(id, owner->pkg, owner->action, act,
					header, sizeof(header));
	char *entry;

	if (n >= sizeof(header))
		n = sizeof(header) - 1; /* cannot happen: names are short */
	entry = malloc(n + logs->len + 1);
	if (!entry)
		return NULL;
	memcpy(entry, header, n);
	if (logs->len)
		memcpy(entry + n, logs->data, logs->len);
	entry[n + logs->len] = '\0';
	*len = n + logs->len;
	return entry;
}

/* ---- streams (under follow->lock) ---------------------------------------- */

static struct follow_stream *stream_find(struct follow *f, const char *pkg,
					 const char *action)
{
	struct follow_stream *s;

	for (s = f->streams; s; s = s->next) {
		if (strcmp(s->pkg, pkg) == 0 && strcmp(s->action, action) == 0)
			return s;
	}
	return NULL;
}

static bool stream_includes(const struct follow_stream *s,
			    const struct follow_poller *p)
{
	size_t i;

	for (i = 0; i < s->poller_count; i++) {
		if (s->pollers[i] == p)
			return true;
	}
	return false;
}

static void stream_append(struct follow *f, struct follow_stream *s,
			  const char *entry, size_t len)
{
	if (follow_buffer_append(&s->buffer, entry, len) != 0) {
		log_msg(&f->fs->log, LOG_WARNING,
			"follow.log of %s%s%s: no memory to append %zu bytes",
			s->pkg, s->action[0] ? "/" : "", s->action, len);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &s->mtime);
}

/* Appends to every open stream that includes p, and makes it p's newest
 * when it is; entry moves to p or is freed. A stopping poller appends
 * nothing: its streams are gone, or have another poller now. */
static void publish(struct follow_poller *p, char *entry, size_t len,
		    int64_t start_ms)
{
	struct follow *f = p->follow;
	struct follow_stream *s;

	pthread_mutex_lock(&f->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&f->lock);
		free(entry);
		return;
	}
	for (s = f->streams; s; s = s->next) {
		if (stream_includes(s, p))
			stream_append(f, s, entry, len);
	}
	f->appended++;
	if (p->newest_entry && start_ms < p->newest_start) {
		free(entry);
	} else {
		free(p->newest_entry);
		p->newest_entry = entry;
		p->newest_len = len;
		p->newest_start = start_ms;
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- one poll ---------------------------------------------------------------- */

/* The window asked for: from the latest start appended less the slack for
 * runs listed late, never before the activation the poller began with. */
static int64_t window_start(const struct follow_poller *p)
{
	int64_t since = p->latest_ms == NCF_UNKNOWN
				? NCF_UNKNOWN
				: p->latest_ms - FOLLOW_LATE_LISTING_S * MS_PER_S;

	return later(later(since, p->floor_ms), p->horizon_ms);
}

/* A record readable when first seen that started before what this poller
 * counts as new: before the activation it began with, or below the window
 * it asked for (by more than the rounding of v2.0 windows: a server that
 * ignores the window), or before ids were forgotten. Never appended. */
static bool is_old(const struct follow_poller *p, int64_t since, int64_t start)
{
	if (start == NCF_UNKNOWN)
		return false;
	if (p->floor_ms != NCF_UNKNOWN && start < p->floor_ms)
		return true;
	if (p->horizon_ms != NCF_UNKNOWN && start < p->horizon_ms)
		return true;
	return since != NCF_UNKNOWN && start < since - WINDOW_ROUNDING_MS;
}

static void note_poll(struct follow_poller *p, int rc)
{
	struct ncffs_log *log = &p->follow->fs->log;

	if (rc && !p->failing && rc != -ECANCELED)
		log_msg(log, LOG_WARNING,
			"follow %s: polling failed (%s); trying again every %u s",
			p->name, strerror(-rc), p->follow->poll_s);
	else if (rc == 0 && p->failing)
		log_msg(log, LOG_INFO, "follow %s: polling works again", p->name);
	p->failing = rc != 0;
}

/* The ids of the listing not seen before wait for their records. */
static void take_new_ids(struct follow_poller *p,
			 const struct ncf_listing *listing, int64_t now)
{
	size_t i;

	for (i = 0; i < listing->count; i++) {
		const char *id = listing->items[i].name;

		if (seen_has(p, id) || pending_has(p, id))
			continue;
		/* The rest stay in the window: the next poll takes them. */
		if (pending_add(p, id, now) != 0)
			break;
	}
}

static void fetch_pending(void *ctx, size_t i)
{
	struct follow_poller *p = ctx;
	struct pending_id *item = &p->pending[i];
	struct node n = p->owner;

	n.kind = NODE_ACTIVATION;
	memcpy(n.id, item->id, NCF_ACTIVATION_ID_LEN + 1);
	item->rc = item->asked ? fetch_activation_again(p->follow->fs, &n, &item->ref)
			       : fetch_activation(p->follow->fs, &n, &item->ref);
	item->asked = true;
}

struct ready {
	size_t index;
	int64_t start;
};

static int by_start(const void *a, const void *b)
{
	const struct ready *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* A record still not readable after late_max (-o late_max, default
 * FOLLOW_LATE_MAX_S) is given up, loudly, and remembered as seen so that it
 * is not taken up again; readability counts it as gone from then on. */
static bool gives_up(struct follow_poller *p, struct pending_id *item,
		     int64_t since, int64_t now)
{
	unsigned late_max = p->follow->fs->late_max_s ? p->follow->fs->late_max_s
						      : FOLLOW_LATE_MAX_S;

	if (now - item->first_seen_ms < (int64_t)late_max * MS_PER_S)
		return false;
	log_msg(&p->follow->fs->log, LOG_WARNING,
		"follow %s: gave up on activation %s, listed %u s ago: its record is still not readable (%s)",
		p->name, item->id, late_max, strerror(-item->rc));
	seen_add(p, item->id, since == NCF_UNKNOWN ? p->latest_ms : since);
	pthread_mutex_lock(&p->follow->lock);
	p->follow->given_up++;
	pthread_mutex_unlock(&p->follow->lock);
	return true;
}

/* Appends the readable records, oldest start first, and remembers them. */
static void publish_ready(struct follow_poller *p, struct ready *ready,
			  size_t count, int64_t since)
{
	size_t i, len;

	qsort(ready, count, sizeof(*ready), by_start);
	for (i = 0; i < count; i++) {
		struct pending_id *item = &p->pending[ready[i].index];
		char *entry = entry_new(&p->owner, item->id,
					fetched_activation(item->ref), &len);

		if (!entry) {
			log_msg(&p->follow->fs->log, LOG_WARNING,
				"follow %s: no memory for activation %s; asking again",
				p->name, item->id);
			item->rc = -ENOMEM;
			continue;
		}
		publish(p, entry, len, ready[i].start);
		/* A record without a start is kept as long as the window it
		 * came in: no window can list it (a server that does anyway
		 * could show it twice). */
		seen_add(p, item->id, ready[i].start == NCF_UNKNOWN
					      ? since : ready[i].start);
		p->latest_ms = later(p->latest_ms, ready[i].start);
	}
}

/* Fetches every waiting record (in parallel), appends the readable ones,
 * and keeps waiting for the others. */
static void check_pending(struct follow_poller *p, int64_t since, int64_t now)
{
	struct ready *ready = calloc(p->pending_count, sizeof(*ready));
	size_t i, count = 0, kept = 0;

	if (!ready)
		return;
	ncf_client_run_batch(p->follow->fs->client, NCF_PRIORITY_BACKGROUND,
			     p->pending_count, fetch_pending, p);
	for (i = 0; i < p->pending_count; i++) {
		struct pending_id *item = &p->pending[i];
		int64_t start = item->rc == 0
					? fetched_activation(item->ref)->start_ms
					: NCF_UNKNOWN;

		/* Only what was readable when first listed can be old: a
		 * record that became readable later arrived while followed. */
		if (item->rc == 0 && item->first_seen_ms == now &&
		    is_old(p, since, start))
			seen_add(p, item->id, start);
		else if (item->rc == 0)
			ready[count++] = (struct ready){ i, start };
	}
	publish_ready(p, ready, count, since);
	for (i = 0; i < p->pending_count; i++) {
		struct pending_id *item = &p->pending[i];
		bool done = seen_has(p, item->id) ||
			    (item->rc != 0 && gives_up(p, item, since, now));

		fetch_release(p->follow->fs, item->ref);
		item->ref = NULL;
		if (!done)
			p->pending[kept++] = *item;
	}
	p->pending_count = kept;
	free(ready);
}

static void poll_once(struct follow_poller *p)
{
	struct ncf_listing *listing = NULL;
	int64_t since = window_start(p), now = monotonic_ms();
	int rc = fetch_activations_since(p->follow->fs, &p->owner, since,
					 &listing);

	note_poll(p, rc);
	if (rc == 0)
		take_new_ids(p, listing, now);
	ncf_listing_free(listing);
	if (p->pending_count)
		check_pending(p, since, now);
	/* Ids below the next window cannot come back. */
	seen_prune(p, window_start(p) - WINDOW_ROUNDING_MS);
	pthread_mutex_lock(&p->follow->lock);
	p->late = p->pending_count;
	pthread_mutex_unlock(&p->follow->lock);
}

/* ---- the poller's timer ------------------------------------------------------ */

/* f->lock held: p's job is over (none of it is timed, queued or running
 * any more); a follow_free waiting for it may free p now. */
static void job_over(struct follow *f, struct follow_poller *p)
{
	p->scheduled = false;
	pthread_cond_broadcast(&f->wake);
}

/* A poller's job: one poll, then itself again for the next due time, on a
 * fixed beat of poll_s seconds (a poll slower than that starts the beat
 * again rather than bunching up). It is a timer in the scheduler, not a
 * thread: it runs on the scheduler's pool at background priority, so its
 * requests wait in line behind everything a person or a readahead asked
 * for. It resubmits under f->lock, where poller_retire sets stopping and
 * cancels: either retire finds the next job and drops it, or this job sees
 * stopping and submits nothing. Once it has said its job is over it does
 * not touch p again. */
static void poll_job(void *arg)
{
	struct follow_poller *p = arg;
	struct follow *f = p->follow;
	int64_t interval = (int64_t)f->poll_s * MS_PER_S, now;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (!p->stopping) {
		p->polls++;
		f->poll_requests++;
		pthread_mutex_unlock(&f->lock);
		poll_once(p);
		pthread_mutex_lock(&f->lock);
	}
	now = monotonic_ms();
	p->due_ms += interval;
	if (now > p->due_ms)
		p->due_ms = now + interval;
	if (!p->stopping)
		rc = ncf_client_submit_after(f->fs->client, NCF_PRIORITY_BACKGROUND,
					     p->due_ms - now, poll_job, p);
	/* -ECANCELED: unmounting, follow_free retires it next. */
	if (rc && rc != -ECANCELED)
		log_msg(&f->fs->log, LOG_WARNING,
			"follow: %s is not polled any more: %s", p->name,
			strerror(-rc));
	if (p->stopping || rc)
		job_over(f, p);
	pthread_mutex_unlock(&f->lock);
}

static void poller_free(struct follow_poller *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->pending_count; i++)
		fetch_release(p->follow->fs, p->pending[i].ref);
	free(p->pending);
	free(p->seen);
	free(p->newest_entry);
	free(p);
}

static struct follow_poller *poller_find(struct follow *f, const char *pkg,
					 const char *action)
{
	struct follow_poller *p;

	for (p = f->pollers; p; p = p->next) {
		if (strcmp(p->owner.pkg, pkg) == 0 &&
		    strcmp(p->owner.action, action) == 0)
			return p;
	}
	return NULL;
}

/* Moves p from the pollers to the retired ones and stops its timer: f->lock
 * held. A job of p's that has not started (timed, or queued) is dropped
 * from the scheduler by (poll_job, p), so nothing there points at p once
 * it is freed; one that is running sees stopping and submits no other.
 * Cancelling rather than letting a timed job run out its delay: an unmount
 * or a close does not wait up to poll_s for it. */
static void poller_retire(struct follow *f, struct follow_poller *p)
{
	struct follow_poller **link;

	for (link = &f->pollers; *link && *link != p; link = &(*link)->next)
		;
	if (*link)
		*link = p->next;
	p->stopping = true;
	if (ncf_client_cancel_submitted(f->fs->client, poll_job, p) > 0)
		job_over(f, p);
	p->next = f->retired;
	f->retired = p;
	f->poller_count--;
}

static bool any_scheduled(const struct follow_poller *p)
{
	for (; p; p = p->next)
		if (p->scheduled)
			return true;
	return false;
}

/* Frees the retired pollers whose jobs are over; with all set, waits for
 * every one's (they were told to stop and their requests cancelled, so a
 * poll under way ends soon). */
static void reap(struct follow *f, bool all)
{
	struct follow_poller *done = NULL, **link, *p;

	pthread_mutex_lock(&f->lock);
	while (all && any_scheduled(f->retired))
		pthread_cond_wait(&f->wake, &f->lock);
	for (link = &f->retired; *link;) {
		p = *link;
		if (!p->scheduled) {
			*link = p->next;
			p->next = done;
			done = p;
		} else {
			link = &p->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
	while (done) {
		p = done;
		done = p->next;
		poller_free(p);
	}
}

/* ---- opening ----------------------------------------------------------------- */

/* What a new poller begins with: the newest activation of its action. */
struct seed {
	char action[NCF_NAME_MAX + 1];
	bool wanted;            /* no poller for it when the open looked */
	int rc;
	char id[NCF_ACTIVATION_ID_LEN + 1]; /* "" when it has no activation */
	int64_t start;
	char *entry;
	size_t len;
};

struct seeding {
	struct ncffs *fs;
	const char *pkg;
	struct seed *seeds;
	size_t count;
};

static void seed_one(void *ctx, size_t i)
{
	struct seeding *s = ctx;
	struct seed *seed = &s->seeds[i];
	struct node n = { .kind = NODE_ACTION };
	struct ttl_ref *ref = NULL;

	if (!seed->wanted)
		return;
	copy_name(n.pkg, s->pkg);
	copy_name(n.action, seed->action);
	seed->start = NCF_UNKNOWN;
	seed->rc = views_latest_if_known(s->fs, &n, seed->id);
	if (seed->rc == 0) {
		n.kind = NODE_ACTIVATION;
		memcpy(n.id, seed->id, sizeof(n.id));
		seed->rc = fetch_activation(s->fs, &n, &ref);
	}
	if (seed->rc == 0) {
		n.kind = NODE_ACTION;
		seed->start = fetched_activation(ref)->start_ms;
		seed->entry = entry_new(&n, seed->id, fetched_activation(ref),
					&seed->len);
		seed->rc = seed->entry ? 0 : -ENOMEM;
	}
	/* No activation (or none readable yet), or no telling which is the
	 * newest: it starts empty, from the open, never from an old run. */
	if (seed->rc == -ENOENT || seed->rc == -EAGAIN) {
		seed->rc = 0;
		seed->id[0] = '\0';
		seed->start = NCF_UNKNOWN;
	}
	fetch_release(s->fs, ref);
}

static void seeding_release(struct seeding *s)
{
	size_t i;

	for (i = 0; s->seeds && i < s->count; i++)
		free(s->seeds[i].entry);
	free(s->seeds);
	memset(s, 0, sizeof(*s));
}

/* The actions n's file includes: n's own, or every action of its package
 * (at most FOLLOW_POLLERS_MAX). */
static int seeds_of(struct ncffs *fs, const struct node *n, struct seeding *s)
{
	const struct ncf_listing *actions;
	struct ttl_ref *ref = NULL;
	size_t i;
	int rc = 0;

	s->fs = fs;
	s->pkg = n->pkg;
	if (n->action[0]) {
		s->seeds = calloc(1, sizeof(*s->seeds));
		if (!s->seeds)
			return -ENOMEM;
		copy_name(s->seeds[0].action, n->action);
		s->count = 1;
		return 0;
	}
	rc = fetch_actions(fs, n->pkg, &ref);
	actions = rc == 0 ? fetched_listing(ref) : NULL;
	if (actions && actions->count > FOLLOW_POLLERS_MAX)
		rc = -EMFILE;
	if (actions && rc == 0) {
		s->seeds = calloc(actions->count + 1, sizeof(*s->seeds));
		rc = s->seeds ? 0 : -ENOMEM;
	}
	for (i = 0; rc == 0 && i < actions->count; i++)
		copy_name(s->seeds[s->count++].action, actions->items[i].name);
	fetch_release(fs, ref);
	return rc;
}

/* Fetches the newest activation of each action that has no poller yet
 * (those that have one are looked at again under the lock). */
static int prepare(struct follow *f, const struct node *n, struct seeding *s)
{
	size_t i;
	int rc = seeds_of(f->fs, n, s);

	if (rc)
		return rc;
	pthread_mutex_lock(&f->lock);
	for (i = 0; i < s->count; i++)
		s->seeds[i].wanted = !poller_find(f, n->pkg, s->seeds[i].action);
	pthread_mutex_unlock(&f->lock);
	/* Someone is opening follow.log and waits for this. */
	ncf_client_run_batch(f->fs->client, NCF_PRIORITY_INTERACTIVE, s->count,
			     seed_one, s);
	for (i = 0; rc == 0 && i < s->count; i++)
		rc = s->seeds[i].rc;
	return rc;
}

/* A new poller from seed (whose entry moves to it), its first poll timed
 * poll_s from now: f->lock held. */
static int poller_start(struct follow *f, const char *pkg, struct seed *seed,
			struct follow_poller **out)
{
	int64_t interval = (int64_t)f->poll_s * MS_PER_S;
	struct follow_poller *p;
	int rc;

	if (f->poller_count >= FOLLOW_POLLERS_MAX) {
		log_msg(&f->fs->log, LOG_WARNING,
			"follow: %d actions are followed already; %s/%s is not",
			FOLLOW_POLLERS_MAX, pkg, seed->action);
		return -EMFILE;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->follow = f;
	p->owner.kind = NODE_ACTION;
	copy_name(p->owner.pkg, pkg);
	copy_name(p->owner.action, seed->action);
	snprintf(p->name, sizeof(p->name), "%s/%s", pkg, seed->action);
	p->latest_ms = p->newest_start = seed->start;
	/* With no activation to start from (none yet, or none readable), the
	 * window still starts near now, never a month back: what started
	 * before the open is not new. */
	p->floor_ms = seed->start != NCF_UNKNOWN ? seed->start
						 : realtime_ms() - CLOCK_SKEW_MAX_MS;
	p->horizon_ms = NCF_UNKNOWN;
	if (seed->id[0] && seen_add(p, seed->id, seed->start) != 0) {
		poller_free(p);
		return -ENOMEM;
	}
	p->newest_entry = seed->entry;
	p->newest_len = seed->len;
	seed->entry = NULL;
	p->due_ms = monotonic_ms() + interval;
	p->scheduled = true;
	rc = ncf_client_submit_after(f->fs->client, NCF_PRIORITY_BACKGROUND,
				     interval, poll_job, p);
	if (rc) {
		poller_free(p);
		return rc == -ECANCELED ? -EAGAIN : rc;
	}
	p->next = f->pollers;
	f->pollers = p;
	f->poller_count++;
	*out = p;
	return 0;
}

/* Gives back s's place in its pollers: a poller nothing includes any more
 * stops. */
static void unsubscribe(struct follow *f, struct follow_stream *s)
{
	size_t i;

	for (i = 0; i < s->poller_count; i++) {
		if (--s->pollers[i]->subscribers == 0)
			poller_retire(f, s->pollers[i]);
	}
	s->poller_count = 0;
}

static void stream_free(struct follow_stream *s)
{
	if (!s)
		return;
	follow_buffer_release(&s->buffer);
	free(s->pollers);
	free(s);
}

/* The pollers of every action s includes, started from their seeds where
 * there is none. -EAGAIN when one the open counted on has gone meanwhile
 * (its seed was not fetched). */
static int subscribe(struct follow *f, struct follow_stream *s,
		     struct seeding *seeds)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < seeds->count; i++) {
		struct seed *seed = &seeds->seeds[i];
		struct follow_poller *p = poller_find(f, s->pkg, seed->action);

		if (!p && !seed->wanted)
			rc = -EAGAIN;
		else if (!p)
			rc = poller_start(f, s->pkg, seed, &p);
		if (rc == 0) {
			s->pollers[s->poller_count++] = p;
			p->subscribers++;
		}
	}
	if (rc)
		unsubscribe(f, s);
	return rc;
}

/* A new stream starts with the newest entry of its pollers. */
static void stream_start(struct follow *f, struct follow_stream *s)
{
	struct follow_poller *best = NULL;
	size_t i;

	for (i = 0; i < s->poller_count; i++) {
		struct follow_poller *p = s->pollers[i];

		if (p->newest_entry &&
		    (!best || p->newest_start > best->newest_start))
			best = p;
	}
	clock_gettime(CLOCK_REALTIME, &s->mtime);
	if (best)
		stream_append(f, s, best->newest_entry, best->newest_len);
}

/* n's stream, including the actions seeds lists. */
static int make_stream(struct follow *f, const struct node *n,
		       struct seeding *seeds, struct follow_stream **out)
{
	struct follow_stream *s;
	int rc;

	if (f->stream_count >= FOLLOW_FILES_MAX)
		return -EMFILE;
	s = calloc(1, sizeof(*s));
	if (s)
		s->pollers = calloc(seeds->count + 1, sizeof(*s->pollers));
	if (!s || !s->pollers) {
		stream_free(s);
		return -ENOMEM;
	}
	copy_name(s->pkg, n->pkg);
	copy_name(s->action, n->action);
	follow_buffer_init(&s->buffer, f->buffer_bytes);
	rc = subscribe(f, s, seeds);
	if (rc) {
		stream_free(s);
		return rc;
	}
	stream_start(f, s);
	s->next = f->streams;
	f->streams = s;
	f->stream_count++;
	*out = s;
	return 0;
}

/* One more handle on n's stream, if it is open: under follow->lock. */
static struct follow_handle *attach(struct follow *f, const struct node *n,
				    int *rc)
{
	struct follow_stream *s = stream_find(f, n->pkg, n->action);
	struct follow_handle *h;

	*rc = 0;
	if (!s)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		*rc = -ENOMEM;
		return NULL;
	}
	h->stream = s;
	s->handles++;
	return h;
}

/* One try at making n's stream: its newest activations are fetched with the
 * lock dropped, then the stream is made under it, unless another open made
 * it meanwhile. */
static int open_once(struct follow *f, const struct node *n,
		     struct follow_handle **out)
{
	struct seeding seeds = { 0 };
	struct follow_stream *s = NULL;
	int rc = prepare(f, n, &seeds);

	if (rc == 0) {
		pthread_mutex_lock(&f->lock);
		*out = attach(f, n, &rc);
		if (!*out && rc == 0) {
			rc = make_stream(f, n, &seeds, &s);
			if (rc == 0)
				*out = attach(f, n, &rc);
		}
		pthread_mutex_unlock(&f->lock);
	}
	seeding_release(&seeds);
	return rc;
}

int follow_open(struct ncffs *fs, const struct node *n, void **handle)
{
	struct follow *f = fs->follow;
	struct follow_handle *h = NULL;
	int rc = 0, tries;

	*handle = NULL;
	if (!f)
		return -ENOMEM;
	reap(f, false);
	pthread_mutex_lock(&f->lock);
	h = attach(f, n, &rc);
	pthread_mutex_unlock(&f->lock);
	for (tries = 0; !h && rc == 0 && tries < OPEN_TRIES; tries++) {
		rc = open_once(f, n, &h);
		if (rc == -EAGAIN && tries + 1 < OPEN_TRIES)
			rc = 0;
	}
	if (rc == -EMFILE)
		log_msg(&fs->log, LOG_WARNING,
			"follow.log of %s%s%s: too many followed files or actions (at most %d and %d)",
			n->pkg, n->action[0] ? "/" : "", n->action,
			FOLLOW_FILES_MAX, FOLLOW_POLLERS_MAX);
	*handle = h;
	return h ? 0 : (rc ? rc : -EAGAIN);
}

/* ---- reading and releasing ------------------------------------------------- */

bool follow_get_size(struct follow *f, const struct node *n, size_t *size,
		     struct timespec *mtime)
{
	struct follow_stream *s;

	if (!f)
		return false;
	pthread_mutex_lock(&f->lock);
	s = stream_find(f, n->pkg, n->action);
	if (s) {
		*size = (size_t)s->buffer.size;
		*mtime = s->mtime;
	}
	pthread_mutex_unlock(&f->lock);
	return s != NULL;
}

ssize_t follow_read(struct follow *f, void *handle, char *buf, size_t size,
		    off_t offset)
{
	struct follow_handle *h = handle;
	struct follow_stream *s = h->stream;
	ssize_t n;

	pthread_mutex_lock(&f->lock);
	n = follow_buffer_read(&s->buffer, buf, size, offset);
	if (n == -EIO && !h->told_behind) {
		h->told_behind = true;
		log_msg(&f->fs->log, LOG_WARNING,
			"follow.log of %s%s%s: a reader at offset %lld is behind the oldest byte kept (%llu, follow_buffer=%zu MiB): EIO",
			s->pkg, s->action[0] ? "/" : "", s->action,
			(long long)offset, (unsigned long long)s->buffer.first,
			f->buffer_bytes >> 20);
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

void follow_release(struct follow *f, void *handle)
{
	struct follow_handle *h = handle;
	struct follow_stream *s, **link;

	if (!h)
		return;
	s = h->stream;
	pthread_mutex_lock(&f->lock);
	if (--s->handles == 0) {
		for (link = &f->streams; *link && *link != s; link = &(*link)->next)
			;
		if (*link)
			*link = s->next;
		f->stream_count--;
		unsubscribe(f, s);
	} else {
		s = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	stream_free(s);
	free(h);
	reap(f, false);
}

/* ---- lifecycle and stats ------------------------------------------------------ */

void follow_reap(struct follow *f)
{
	if (f)
		reap(f, false);
}

struct follow *follow_new(struct ncffs *fs, unsigned poll_s,
			  size_t buffer_bytes)
{
	struct follow *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fs = fs;
	f->poll_s = poll_s ? poll_s : 1;
	f->buffer_bytes = buffer_bytes ? buffer_bytes : 1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	return f;
}

void follow_free(struct follow *f)
{
	struct follow_stream *s;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	while (f->pollers)
		poller_retire(f, f->pollers);
	pthread_mutex_unlock(&f->lock);
	reap(f, true);
	/* Streams whose handles were never released (there are none once ops
	 * has freed its handles). */
	while ((s = f->streams)) {
		f->streams = s->next;
		stream_free(s);
	}
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static size_t advanced(int n, size_t at)
{
	return n < 0 ? at : at + (size_t)n;
}

size_t follow_format_stats(struct follow *f, char *buf, size_t size)
{
	struct follow_poller *p;
	struct follow_stream *s;
	size_t at = 0, readers = 0, late = 0, stopping = 0;

	if (size)
		buf[0] = '\0';
	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	for (s = f->streams; s; s = s->next)
		readers += s->handles;
	for (p = f->pollers; p; p = p->next)
		late += p->late;
	for (p = f->retired; p; p = p->next)
		stopping++;
	at = advanced(snprintf(buf, size,
			       "follow_files_open %zu\nfollow_readers %zu\n"
			       "follow_actions_polled %zu\nfollow_poll_requests %llu\n"
			       "follow_activations_appended %llu\n"
			       "follow_late_records %zu\nfollow_given_up %llu\n"
			       "follow_pollers_stopping %zu\n",
			       f->stream_count, readers, f->poller_count,
			       (unsigned long long)f->poll_requests,
			       (unsigned long long)f->appended, late,
			       (unsigned long long)f->given_up, stopping),
		      at);
	for (p = f->pollers; p; p = p->next)
		at = advanced(snprintf(at < size ? buf + at : NULL,
				       at < size ? size - at : 0,
				       "follow_polls:%s %llu\n", p->name,
				       (unsigned long long)p->polls),
			      at);
	pthread_mutex_unlock(&f->lock);
	return at;
}
