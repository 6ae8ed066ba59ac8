/* test_views_model — latest, recent/ and activations.tsv against a model
 * of an activation list, through the client's transport seam (a scripted
 * server, no sockets): random list orders, random sets of fresh, purged
 * and broken records, tiny lists (1-3 runs), page caps, and lists that
 * change between rounds (fresh records become readable, new runs arrive).
 *
 * The properties, checked after every round:
 *  - latest is the greatest start among the readable records, or the view
 *    says it does not know (-EIO), or there is none readable (-ENOENT);
 *    never another run, and never a remembered answer the list contradicts;
 *  - recent/ lists runs newest first, and never leaves out a readable run
 *    newer than one it shows (or says -EIO);
 *  - activations.tsv never fails: the header, every readable record once,
 *    newest first, and the broken ones as rows with an empty start.
 * Each seed is printed on failure, and deterministic. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "cache/ttl_cache.h"
#include "client/ncf_client.h"
#include "fs/fetch.h"
#include "fs/readability.h"
#include "fs/views.h"

#define RUNS_MAX 200
#define BODY_MAX (256u << 10)
#define BASE_MS 1700000000000LL

enum run_kind { READABLE, NOT_FOUND, BROKEN };

struct run {
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int64_t start;
	enum run_kind kind;
	int last_status;   /* the server's last answer for it; 0: never asked */
};

struct model {
	pthread_mutex_t lock;
	struct run runs[RUNS_MAX]; /* oldest first */
	size_t count;
	bool newest_first;         /* how the server lists them */
	size_t cap;                /* page cap; 0: none */
	unsigned rng;
	size_t requests;
	int64_t now;               /* readability's clock */
};

static _Thread_local char body[BODY_MAX];

static unsigned next_random(struct model *m)
{
	m->rng = m->rng * 1103515245u + 12345u;
	return (m->rng >> 8) & 0xffffff;
}

static size_t query_number(const char *target, const char *key, size_t dflt)
{
	const char *at = strstr(target, key);

	return at ? strtoul(at + strlen(key), NULL, 10) : dflt;
}

/* The run at list position i, in the server's order. */
static const struct run *listed(const struct model *m, size_t i)
{
	return &m->runs[m->newest_first ? m->count - 1 - i : i];
}

static size_t answer_list(struct model *m, const char *target)
{
	size_t page_no = query_number(target, "pageNo=", 1);
	size_t size = query_number(target, "pageSize=", 20), first, i;
	size_t at = (size_t)snprintf(body, BODY_MAX, "{\"content\":{\"activations\":[");

	if (m->cap && size > m->cap)
		size = m->cap;
	first = (page_no - 1) * size;
	for (i = first; i < first + size && i < m->count; i++)
		at += (size_t)snprintf(body + at, BODY_MAX - at,
				       "%s{\"activationId\":\"%s\",\"duration\":1}",
				       i > first ? "," : "", listed(m, i)->id);
	return at + (size_t)snprintf(body + at, BODY_MAX - at,
				     "],\"totalCount\":%zu}}", m->count);
}

static const struct run *run_of(const struct model *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		if (strcmp(m->runs[i].id, id) == 0)
			return &m->runs[i];
	}
	return NULL;
}

static void answer_record(struct model *m, const char *id,
			  struct ncf_transport_reply *reply)
{
	struct run *r = (struct run *)run_of(m, id);

	if (r)
		r->last_status = r->kind == NOT_FOUND ? 404 : 200;
	if (!r || r->kind == NOT_FOUND) {
		reply->status = 404;
		reply->body = "{\"error\":{\"errorCode\":\"80322\",\"message\":\"ACTION_ACTIVATION_NOT_FOUND\"}}";
		reply->len = strlen(reply->body);
		return;
	}
	reply->status = 200;
	reply->len = (size_t)snprintf(body, BODY_MAX,
				      "{\"content\":{\"activationId\":\"%s\",\"name\":\"p/a\","
				      "\"namespace\":\"n\",\"subject\":\"n\",\"start\":%lld,"
				      "\"end\":%lld,\"duration\":1,\"logs\":[],"
				      "\"response\":{\"status\":\"success\",\"success\":true,"
				      "\"result\":{}}}}",
				      r->id, (long long)r->start, (long long)r->start + 1);
	if (r->kind == BROKEN)
		reply->len /= 2; /* cut mid-document: malformed */
	reply->body = body;
}

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	struct model *m = ctx;
	const char *path_end = strchr(target, '?');
	const char *last = target;
	size_t n = path_end ? (size_t)(path_end - target) : strlen(target), i;

	pthread_mutex_lock(&m->lock);
	m->requests++;
	for (i = 0; i < n; i++) {
		if (target[i] == '/')
			last = target + i + 1;
	}
	if (strncmp(last, "activations", 11) == 0 && last + 11 == target + n) {
		reply->len = answer_list(m, target);
		reply->status = 200;
		reply->body = body;
	} else {
		char id[NCF_ACTIVATION_ID_LEN + 1];

		snprintf(id, sizeof id, "%.*s", (int)(target + n - last), last);
		answer_record(m, id, reply);
	}
	pthread_mutex_unlock(&m->lock);
}

static int64_t model_clock(void *ctx)
{
	return ((struct model *)ctx)->now;
}

static uint32_t model_random(void *ctx)
{
	return next_random(ctx);
}

/* ---- a mount's state around the model ------------------------------------- */

static void setup_fs(struct ncffs *fs, struct model *m)
{
	struct ncf_client_config cfg = {
		.endpoint = "http://127.0.0.1:9/api/v2",
		.platform = "classic",
		.access_key = "AK",
		.secret_key = "secret",
		.retries = 0,
		.max_body = 1u << 20,
		.transport = transport,
		.transport_ctx = m,
	};
	struct ttl_cache_config cache = { .max_bytes = 64u << 20,
					  .free_value = fetched_free };

	memset(fs, 0, sizeof(*fs));
	fs->log.max_level = LOG_ERR; /* the views' warnings are expected */
	fs->client = ncf_client_new(&cfg);
	fs->cache = ttl_cache_new(&cache);
	fs->readability = readability_new(model_clock, model_random, m);
	assert_non_null(fs->client);
	assert_non_null(fs->cache);
	assert_non_null(fs->readability);
	fs->list_ttl_ms = 0; /* every round sees the list as it is now */
	fs->neg_ttl_ms = 0;
	fs->max_file = 1u << 20;
}

static void release_fs(struct ncffs *fs)
{
	ttl_cache_free(fs->cache);
	readability_free(fs->readability);
	ncf_client_free(fs->client);
}

static void add_run(struct model *m, enum run_kind kind)
{
	struct run *r = &m->runs[m->count];

	snprintf(r->id, sizeof r->id, "%08x%024zx", m->rng, m->count + 1);
	/* distinct starts, 1-3 s apart, newest last */
	r->start = m->count ? m->runs[m->count - 1].start + 1000 +
				      (int64_t)(next_random(m) % 2000)
			    : BASE_MS;
	r->kind = kind;
	m->count++;
}

static enum run_kind random_kind(struct model *m, size_t i, size_t n,
				 bool realistic)
{
	unsigned roll = next_random(m) % 100;

	if (!realistic)
		return roll < 60 ? READABLE : roll < 85 ? NOT_FOUND : BROKEN;
	/* fresh runs at the new end, purged ones at the old end */
	if ((i + 4 >= n || i < 4) && roll < 40)
		return NOT_FOUND;
	return roll < 8 ? BROKEN : READABLE;
}

/* ---- the properties -------------------------------------------------------- */

/* Readable as far as the mount can know: the server would send it, and its
 * last answer to the mount was not a 404 still standing in the backoff
 * (readability.h: asked again on a schedule and within a budget). */
static bool is_readable(const struct run *r)
{
	return r->kind == READABLE && r->last_status != 404;
}

static const struct run *newest_readable(const struct model *m)
{
	size_t i;

	for (i = m->count; i-- > 0;) {
		if (is_readable(&m->runs[i]))
			return &m->runs[i];
	}
	return NULL;
}

/* How the checks came out, so that a run that only ever heard "I do not
 * know" fails too. */
static size_t latest_exact, latest_unknown, latest_none;

static void check_latest(struct ncffs *fs, const struct node *owner,
			 const struct model *m, unsigned seed)
{
	char id[NCF_ACTIVATION_ID_LEN + 1] = "";
	int rc = views_latest(fs, owner, id);
	/* after the call: what it asked on the way counts */
	const struct run *want = newest_readable(m);

	if (rc == -EIO) {
		latest_unknown++; /* it says it does not know */
		return;
	}
	if (rc == -ENOENT && !want) {
		latest_none++;
		return;
	}
	latest_exact++;
	if (rc != 0 || !want || strcmp(id, want->id) != 0)
		fail_msg("seed %u: latest rc %d id %s, want %s (of %zu, %s, cap %zu)",
			 seed, rc, id, want ? want->id : "none", m->count,
			 m->newest_first ? "newest-first" : "oldest-first", m->cap);
}

struct shown {
	const char *ids[RUNS_MAX];
	size_t count;
};

static int collect(void *ctx, const char *id)
{
	struct shown *s = ctx;

	if (s->count < RUNS_MAX)
		s->ids[s->count++] = strdup(id);
	return 0;
}

static void check_recent(struct ncffs *fs, const struct node *owner,
			 const struct model *m, size_t count, unsigned seed)
{
	struct shown s = { { 0 }, 0 };
	int rc = views_each_recent(fs, owner, count, collect, &s);
	int64_t previous = INT64_MAX;
	size_t i, j;

	if (rc == -EIO)
		goto out;
	if (rc != 0)
		fail_msg("seed %u: recent rc %d", seed, rc);
	if (s.count > count)
		fail_msg("seed %u: recent shows %zu of %zu", seed, s.count, count);
	for (i = 0; i < s.count; i++) {
		const struct run *r = run_of(m, s.ids[i]);

		if (!r) {
			fail_msg("seed %u: recent shows %s, not listed", seed, s.ids[i]);
			return;
		}
		if (i > 0 && r->start >= previous)
			fail_msg("seed %u: recent not newest first at %zu", seed, i);
		previous = r->start;
		/* no readable run newer than a shown one is left out */
		for (j = 0; j < m->count; j++) {
			const struct run *o = &m->runs[j];
			bool in = false;
			size_t k;

			if (!is_readable(o) || o->start <= r->start)
				continue;
			for (k = 0; k < s.count; k++)
				in = in || strcmp(s.ids[k], o->id) == 0;
			if (!in)
				fail_msg("seed %u: recent (%zu, %s, cap %zu) shows %s but not newer %s",
					 seed, count, m->newest_first ? "newest-first" : "oldest-first",
					 m->cap, r->id, o->id);
		}
	}
out:
	for (i = 0; i < s.count; i++)
		free((void *)s.ids[i]);
}

static void check_tsv(struct ncffs *fs, const struct node *owner,
		      const struct model *m, unsigned seed)
{
	struct tsv_stream *s = NULL;
	static char text[RUNS_MAX * RENDER_TSV_LINE_MAX + 256];
	size_t len = 0, i;
	bool has_row[RUNS_MAX] = { false };
	int64_t before = INT64_MAX;
	ssize_t n;
	char *line, *save = NULL;

	assert_int_equal(views_tsv_open(fs, owner, &s), 0);
	do {
		n = views_tsv_read(fs, s, text + len, 100, (off_t)len);
		if (n < 0)
			fail_msg("seed %u: tsv read at %zu: %zd", seed, len, n);
		len += (size_t)n;
	} while (n > 0 && len + 100 < sizeof text);
	text[len] = '\0';
	views_tsv_close(fs, s);
	assert_memory_equal(text, RENDER_TSV_HEADER, strlen(RENDER_TSV_HEADER));
	for (line = strtok_r(text + strlen(RENDER_TSV_HEADER), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char id[NCF_ACTIVATION_ID_LEN + 1];
		const struct run *r;

		snprintf(id, sizeof id, "%.32s", line);
		r = run_of(m, id);
		if (!r) {
			fail_msg("seed %u: tsv row of %s, not listed", seed, id);
			return;
		}
		if (has_row[r - m->runs])
			fail_msg("seed %u: tsv has two rows for %s", seed, id);
		has_row[r - m->runs] = true;
		if (r->kind == READABLE && r->last_status == 200) {
			if (r->start > before)
				fail_msg("seed %u: tsv not newest first at %s", seed, id);
			before = r->start;
		} else if (line[32] != '\t' || line[33] != '\t') {
			fail_msg("seed %u: tsv row of unreadable %s has a start", seed, id);
		} else if (r->kind == BROKEN && !strstr(line, "malformed record")) {
			fail_msg("seed %u: tsv row of broken %s: %s", seed, id, line);
		}
	}
	for (i = 0; i < m->count; i++) {
		const struct run *r = &m->runs[i];

		if ((r->kind == BROKEN || is_readable(r)) && !has_row[i])
			fail_msg("seed %u: tsv has no row for %s", seed, r->id);
	}
}

/* One list through three rounds: as made, then with fresh records readable
 * and new runs (some fresh), then again, readability's clock moved on so
 * that every record is due to be asked again. */
static void one_model(unsigned seed)
{
	struct model m;
	struct ncffs fs;
	struct node owner = { .kind = NODE_ACTION, .pkg = "p", .action = "a" };
	bool realistic = seed % 2 == 0;
	size_t n, i;
	int round;

	memset(&m, 0, sizeof m);
	pthread_mutex_init(&m.lock, NULL);
	m.rng = seed * 2654435761u + 1;
	m.now = 1000000;
	n = next_random(&m) % 10 < 3 ? 1 + next_random(&m) % 3
				     : 4 + next_random(&m) % (seed % 5 == 0 ? 150 : 40);
	m.newest_first = next_random(&m) % 2;
	m.cap = next_random(&m) % 3 == 0 ? 2 + next_random(&m) % 9 : 0;
	for (i = 0; i < n; i++)
		add_run(&m, random_kind(&m, i, n, realistic));
	setup_fs(&fs, &m);
	for (round = 0; round < 3; round++) {
		check_latest(&fs, &owner, &m, seed);
		check_recent(&fs, &owner, &m, 1 + next_random(&m) % 12, seed);
		check_tsv(&fs, &owner, &m, seed);
		/* the list moves on: fresh ones become readable, new runs */
		for (i = 0; i < m.count; i++) {
			if (m.runs[i].kind == NOT_FOUND && next_random(&m) % 2)
				m.runs[i].kind = READABLE;
		}
		for (i = next_random(&m) % 4; i > 0 && m.count < RUNS_MAX; i--)
			add_run(&m, next_random(&m) % 3 ? READABLE : NOT_FOUND);
		m.now += 60 * 1000;
	}
	release_fs(&fs);
	pthread_mutex_destroy(&m.lock);
}

static void latest_recent_and_tsv_hold_for_random_lists(void **state)
{
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 400; seed++)
		one_model(seed);
	print_message("latest: %zu exact, %zu unknown (EIO), %zu none readable\n",
		      latest_exact, latest_unknown, latest_none);
	assert_true(latest_exact >= 9 * (latest_exact + latest_unknown) / 10);
}

/* Finding 1 of issue 16, as a fixed case: oldest first, one old run and
 * one listed but not readable yet. latest is the old run (the only one
 * readable) and, once the new one is readable and three more arrive, the
 * newest: no order was remembered from one record seen from both ends. */
static void one_record_seen_from_both_ends_decides_no_order(void **state)
{
	struct model m;
	struct ncffs fs;
	struct node owner = { .kind = NODE_ACTION, .pkg = "p", .action = "a" };
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int i;

	(void)state;
	memset(&m, 0, sizeof m);
	pthread_mutex_init(&m.lock, NULL);
	m.rng = 7;
	m.now = 1000000;
	add_run(&m, READABLE);
	add_run(&m, NOT_FOUND);
	setup_fs(&fs, &m);
	assert_int_equal(views_latest(&fs, &owner, id), 0);
	assert_string_equal(id, m.runs[0].id);
	m.runs[1].kind = READABLE;
	for (i = 0; i < 3; i++)
		add_run(&m, READABLE);
	m.now += 60 * 1000;
	assert_int_equal(views_latest(&fs, &owner, id), 0);
	assert_string_equal(id, m.runs[4].id);
	release_fs(&fs);
	pthread_mutex_destroy(&m.lock);
}

/* Finding 2: the 4 oldest records purged (404): latest is still the
 * newest, in either order. */
static void purged_old_records_are_no_evidence_of_order(void **state)
{
	int order;

	(void)state;
	for (order = 0; order < 2; order++) {
		struct model m;
		struct ncffs fs;
		struct node owner = { .kind = NODE_ACTION, .pkg = "p", .action = "a" };
		char id[NCF_ACTIVATION_ID_LEN + 1];
		int i;

		memset(&m, 0, sizeof m);
		pthread_mutex_init(&m.lock, NULL);
		m.rng = 11;
		m.now = 1000000;
		m.newest_first = order == 0;
		for (i = 0; i < 25; i++)
			add_run(&m, i < 4 ? NOT_FOUND : READABLE);
		setup_fs(&fs, &m);
		assert_int_equal(views_latest(&fs, &owner, id), 0);
		assert_string_equal(id, m.runs[24].id);
		release_fs(&fs);
		pthread_mutex_destroy(&m.lock);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_record_seen_from_both_ends_decides_no_order),
		cmocka_unit_test(purged_old_records_are_no_evidence_of_order),
		cmocka_unit_test(latest_recent_and_tsv_hold_for_random_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
