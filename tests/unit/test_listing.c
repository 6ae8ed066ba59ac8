/* test_listing — list walks and retries against scripted servers, through
 * the client's transport seam (no sockets, no emulator).
 *
 * Each server below is a struct fake: a list of activations (or packages)
 * plus the ways it departs from the API pages: a page cap, a pageSize it
 * refuses, pageNo ignored, a totalCount that lies, items repeated, names no
 * client may use, failures before success. The tests pin what a walk costs
 * (requests counted here, where the server sees them) and what it keeps. */
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
#include <time.h>

#include <cmocka.h>

#include "client/ncf_client.h"

#define BODY_MAX (512u << 10)
#define NO_TOTAL (-2)
#define TRUE_TOTAL (-1)

struct fake {
	const char *list_kind;  /* "activations", "packages", "actions" */
	size_t count;           /* items in the list */
	int64_t total;          /* TRUE_TOTAL, NO_TOTAL or the lie to tell */
	size_t cap;             /* most items per page; 0: as asked */
	size_t refuse_above;    /* 400 80000 for a larger pageSize; 0: never */
	bool ignore_page_no;
	int repeat;             /* each item sent this many times (0 = 1) */
	bool bad_names;         /* every name invalid */
	int fail_first;         /* the first N requests answer 503 */
	const char *bad_request_code; /* 400 with this errorCode on every list */
	size_t fail_page;       /* this pageNo answers 503; 0: none */
	const char *retry_after;

	pthread_mutex_t lock;
	size_t requests;
	size_t page_sizes[64];  /* pageSize of each request, in order */
	char targets[8][256];   /* the first targets */
	char logs[8][512];
	size_t log_count;
};

static _Thread_local char body[BODY_MAX];

static void item_name(const struct fake *f, size_t i, char *out, size_t size)
{
	if (f->bad_names)
		snprintf(out, size, "bad name %zu", i);
	else if (strcmp(f->list_kind, "activations") == 0)
		snprintf(out, size, "%032zx", i + 1);
	else
		snprintf(out, size, "p%zu", i);
}

static size_t query_number(const char *target, const char *key, size_t dflt)
{
	const char *at = strstr(target, key);

	return at ? strtoul(at + strlen(key), NULL, 10) : dflt;
}

static size_t append_items(const struct fake *f, size_t first, size_t last,
			   size_t at)
{
	const char *key = strcmp(f->list_kind, "activations") == 0 ? "activationId"
								   : "name";
	char name[64];
	size_t i;
	int r;

	for (i = first; i < last; i++) {
		item_name(f, i, name, sizeof(name));
		for (r = 0; r < (f->repeat ? f->repeat : 1); r++)
			at += (size_t)snprintf(body + at, BODY_MAX - at,
					       "%s{\"%s\":\"%s\",\"status\":\"success\"}",
					       at && body[at - 1] != '[' ? "," : "",
					       key, name);
	}
	return at;
}

/* One answer, as the API pages describe it, bent by f's quirks. */
static size_t answer(struct fake *f, const char *target)
{
	bool paged = strcmp(f->list_kind, "activations") == 0;
	size_t page_no = query_number(target, "pageNo=", 1);
	size_t size = query_number(target, "pageSize=", 20);
	size_t first, last, at;

	if (!paged) {
		at = (size_t)snprintf(body, BODY_MAX, "{\"content\":%s[",
				      strcmp(f->list_kind, "packages") ? "{\"actions\":" : "");
		at = append_items(f, 0, f->count, at);
		return at + (size_t)snprintf(body + at, BODY_MAX - at, "]%s}",
					     strcmp(f->list_kind, "packages") ? "}" : "");
	}
	if (f->cap && size > f->cap)
		size = f->cap;
	if (f->ignore_page_no)
		page_no = 1;
	first = (page_no - 1) * size;
	last = first + size < f->count ? first + size : f->count;
	at = (size_t)snprintf(body, BODY_MAX, "{\"content\":{\"activations\":[");
	at = append_items(f, first < f->count ? first : f->count, last, at);
	at += (size_t)snprintf(body + at, BODY_MAX - at, "]");
	if (f->total != NO_TOTAL)
		at += (size_t)snprintf(body + at, BODY_MAX - at, ",\"totalCount\":%lld",
				       (long long)(f->total == TRUE_TOTAL
							   ? (int64_t)f->count : f->total));
	return at + (size_t)snprintf(body + at, BODY_MAX - at, "}}");
}

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	struct fake *f = ctx;
	size_t n, size = query_number(target, "pageSize=", 0);
	bool fail;

	pthread_mutex_lock(&f->lock);
	n = f->requests++;
	if (n < 64)
		f->page_sizes[n] = size;
	if (n < 8)
		snprintf(f->targets[n], sizeof(f->targets[n]), "%s", target);
	fail = (int)n < f->fail_first;
	pthread_mutex_unlock(&f->lock);
	reply->retry_after = f->retry_after;
	if (f->bad_request_code) {
		snprintf(body, BODY_MAX, "{\"error\":{\"errorCode\":\"%s\",\"message\":\"bad\"}}",
			 f->bad_request_code);
		reply->status = 400;
		reply->body = body;
		reply->len = strlen(body);
	} else if (fail || (f->fail_page && query_number(target, "pageNo=", 1) == f->fail_page)) {
		reply->status = 503;
		reply->body = "{\"error\":{\"errorCode\":\"500\",\"message\":\"Endpoint Error\"}}";
		reply->len = strlen(reply->body);
	} else if (f->refuse_above && size > f->refuse_above) {
		reply->status = 400;
		reply->body = "{\"error\":{\"errorCode\":\"80000\",\"message\":\"INVALID_PARAMETER\"}}";
		reply->len = strlen(reply->body);
	} else {
		reply->status = 200;
		reply->len = answer(f, target);
		reply->body = body;
	}
}

static void collect_log(void *ctx, int level, const char *message)
{
	struct fake *f = ctx;

	(void)level;
	pthread_mutex_lock(&f->lock);
	if (f->log_count < 8)
		snprintf(f->logs[f->log_count++], sizeof(f->logs[0]), "%s", message);
	pthread_mutex_unlock(&f->lock);
}

static struct ncf_client *client_at(struct fake *f, size_t page_size,
				    const char *endpoint, const char *region)
{
	struct ncf_client_config cfg = {
		.endpoint = endpoint,
		.region = region,
		.platform = "classic",
		.access_key = "AK",
		.secret_key = "secret",
		.retries = 2,
		.page_size = page_size,
		.log = collect_log,
		.log_ctx = f,
		.transport = transport,
		.transport_ctx = f,
	};
	struct ncf_client *c;

	pthread_mutex_init(&f->lock, NULL);
	c = ncf_client_new(&cfg);
	assert_non_null(c);
	return c;
}

static struct ncf_client *client_for(struct fake *f, size_t page_size)
{
	return client_at(f, page_size, "http://127.0.0.1:9/api/v2", NULL);
}

static struct ncf_listing *list_activations(struct fake *f, size_t page_size)
{
	struct ncf_client *c = client_for(f, page_size);
	struct ncf_listing *l = NULL;

	assert_int_equal(ncf_list_activations(c, "p", "a", &l, NULL), 0);
	ncf_client_free(c);
	return l;
}

/* The items are the list's first n, in the server's order, each once. */
static void assert_first_items(const struct fake *f, const struct ncf_listing *l,
			       size_t n)
{
	char name[64];
	size_t i;

	assert_int_equal(l->count, n);
	for (i = 0; i < n; i++) {
		item_name(f, i, name, sizeof(name));
		assert_string_equal(l->items[i].name, name);
	}
}

static bool logged(const struct fake *f, const char *text)
{
	size_t i;

	for (i = 0; i < f->log_count; i++)
		if (strstr(f->logs[i], text))
			return true;
	return false;
}

/* ---- unpaged lists ---------------------------------------------------- */

static void package_list_is_one_get_with_platform_only(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 45 };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_equal(f.requests, 1);
	assert_string_equal(f.targets[0], "/api/v2/packages?platform=classic");
	assert_first_items(&f, l, 45);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void items_sent_three_times_are_kept_once(void **state)
{
	struct fake f = { .list_kind = "actions", .count = 5, .repeat = 3 };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_actions(c, "pkg", &l, NULL), 0);
	assert_int_equal(f.requests, 1);
	assert_string_equal(f.targets[0], "/api/v2/packages/pkg/actions?platform=classic");
	assert_first_items(&f, l, 5);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void every_name_refused_lists_empty_in_one_request(void **state)
{
	struct fake f = { .list_kind = "actions", .count = 7, .bad_names = true };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_actions(c, "pkg", &l, NULL), 0);
	assert_int_equal(f.requests, 1);
	assert_int_equal(l->count, 0);
	assert_int_equal(l->skipped, 7);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void probe_answer_serves_the_first_package_listing(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 3 };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_client_probe(c, NULL), 0);
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_equal(f.requests, 1);
	assert_first_items(&f, l, 3);
	ncf_listing_free(l);
	/* Once only: the next listing asks the server again. */
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_equal(f.requests, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

/* ---- paged activation lists ------------------------------------------- */

static void total_count_walk_costs_the_pages(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = TRUE_TOTAL };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 3);
	assert_first_items(&f, l, 250);
	ncf_listing_free(l);
}

static void capped_pages_cost_ceil_total_over_cap(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = TRUE_TOTAL, .cap = 20 };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 13); /* ceil(250 / 20) */
	assert_first_items(&f, l, 250);
	ncf_listing_free(l);
}

static void no_total_count_stops_at_the_short_page(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = NO_TOTAL };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 3);
	assert_first_items(&f, l, 250);
	ncf_listing_free(l);
}

static void no_total_count_full_last_page_costs_one_more(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 200,
			  .total = NO_TOTAL };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 3); /* two that brought items, one empty */
	assert_first_items(&f, l, 200);
	ncf_listing_free(l);
}

static void ignored_page_no_without_total_costs_two(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = NO_TOTAL, .ignore_page_no = true };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 2);
	assert_first_items(&f, l, 100);
	ncf_listing_free(l);
}

static void ignored_page_no_with_total_stays_in_budget(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = TRUE_TOTAL, .ignore_page_no = true };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_true(f.requests <= 3 + 1); /* ceil(250 / 100) + 1 */
	assert_first_items(&f, l, 100);
	ncf_listing_free(l);
}

static void overstated_total_ends_at_the_real_end(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = 1000000000 };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	/* Page 3 is short: the wave it came in is the last one. */
	assert_true(f.requests <= 1 + 8);
	assert_first_items(&f, l, 250);
	ncf_listing_free(l);
}

static void understated_total_is_believed(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250, .total = 5 };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(f.requests, 1);
	assert_first_items(&f, l, 100);
	ncf_listing_free(l);
}

static void refused_names_count_as_seen(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 40,
			  .total = TRUE_TOTAL, .bad_names = true };
	struct ncf_listing *l = list_activations(&f, 20);

	(void)state;
	assert_int_equal(f.requests, 2);
	assert_int_equal(l->count, 0);
	assert_int_equal(l->skipped, 40);
	ncf_listing_free(l);
}

static void refused_names_on_a_repeating_server_cost_two(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 500,
			  .total = NO_TOTAL, .bad_names = true,
			  .ignore_page_no = true };
	struct ncf_listing *l = list_activations(&f, 20);

	(void)state;
	assert_int_equal(f.requests, 2);
	assert_int_equal(l->count, 0);
	ncf_listing_free(l);
}

static void repeated_items_in_pages_are_kept_once(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 90,
			  .total = TRUE_TOTAL, .repeat = 3 };
	struct ncf_listing *l = list_activations(&f, 30);

	(void)state;
	/* 90 items sent per page, 30 distinct: the walk counts 30 a page. */
	assert_int_equal(f.requests, 3);
	assert_first_items(&f, l, 90);
	ncf_listing_free(l);
}

static void refused_page_size_falls_back_to_twenty_once(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 50,
			  .total = TRUE_TOTAL, .refuse_above = 20 };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;
	size_t i;

	(void)state;
	assert_int_equal(ncf_list_activations(c, "p", "a", &l, NULL), 0);
	assert_first_items(&f, l, 50);
	ncf_listing_free(l);
	assert_int_equal(f.requests, 1 + 3); /* the 400, then ceil(50 / 20) */
	assert_int_equal(f.page_sizes[0], 100);
	for (i = 1; i < f.requests; i++)
		assert_int_equal(f.page_sizes[i], 20);
	/* The mount remembers: no second 400. */
	assert_int_equal(ncf_list_activations(c, "p", "a", &l, NULL), 0);
	ncf_listing_free(l);
	assert_int_equal(f.requests, 4 + 3);
	assert_true(logged(&f, "refused pageSize=100"));
	assert_false(logged(&f, "HTTP 400"));
	ncf_client_free(c);
}

static void a_400_to_the_documented_size_is_an_error(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 50,
			  .total = TRUE_TOTAL, .refuse_above = 1 };
	struct ncf_client *c = client_for(&f, 20);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_list_activations(c, "p", "a", &l, NULL), -EINVAL);
	assert_null(l);
	assert_int_equal(f.requests, 1);
	assert_true(logged(&f, "HTTP 400"));
	ncf_client_free(c);
}

/* ---- slices of a list ------------------------------------------------- */

static void one_page_of_one_item_costs_one_request(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = TRUE_TOTAL };
	struct ncf_client *c = client_for(&f, 100);
	const struct ncf_list_query q = { 3, 1, NCF_UNKNOWN, NCF_UNKNOWN };
	struct ncf_listing *l = NULL;
	char name[64];

	(void)state;
	assert_int_equal(ncf_query_activations(c, "p", "a", &q, &l, NULL), 0);
	assert_int_equal(f.requests, 1);
	assert_string_equal(f.targets[0],
			    "/api/v2/packages/p/actions/a/activations?platform=classic&pageNo=3&pageSize=1");
	assert_int_equal(l->count, 1);
	item_name(&f, 2, name, sizeof(name));
	assert_string_equal(l->items[0].name, name);
	assert_int_equal(l->total_count, 250);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void full_walk_reports_the_total_count(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 7,
			  .total = TRUE_TOTAL };
	struct ncf_listing *l = list_activations(&f, 100);

	(void)state;
	assert_int_equal(l->total_count, 7);
	ncf_listing_free(l);
	f = (struct fake){ .list_kind = "activations", .count = 7, .total = NO_TOTAL };
	l = list_activations(&f, 100);
	assert_int_equal(l->total_count, -1);
	ncf_listing_free(l);
}

/* 1714111020170 ms is 2024-04-26T05:57:00.170Z. */
static void window_is_sent_as_the_generation_wants_it(void **state)
{
	static const struct {
		const char *endpoint, *region, *expected;
	} cases[] = {
		{ "http://127.0.0.1:9/ncf/api/v2", NULL,
		  "/ncf/api/v2/triggers/t/activations?platform=classic&pageNo=1&pageSize=100"
		  "&start=1714111020170&end=1714197419999" },
		{ "http://127.0.0.1:9/api/v2", NULL,
		  "/api/v2/triggers/t/activations?platform=classic&pageNo=1&pageSize=100"
		  "&start=2024-04-26T14:57:00&end=2024-04-27T14:56:59" },
		{ "http://127.0.0.1:9/api/v2", "jp",
		  "/api/v2/triggers/t/activations?platform=classic&pageNo=1&pageSize=100"
		  "&start=2024-04-26T14:57:00&end=2024-04-27T14:56:59" },
		{ "http://127.0.0.1:9/api/v2", "sg",
		  "/api/v2/triggers/t/activations?platform=classic&pageNo=1&pageSize=100"
		  "&start=2024-04-26T13:57:00&end=2024-04-27T13:56:59" },
	};
	const struct ncf_list_query q = { 0, 0, 1714111020170, 1714197419999 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = { .list_kind = "activations", .count = 3,
				  .total = TRUE_TOTAL };
		struct ncf_client *c = client_at(&f, 100, cases[i].endpoint,
						 cases[i].region);
		struct ncf_listing *l = NULL;

		assert_int_equal(ncf_query_trigger_activations(c, "t", &q, &l, NULL), 0);
		assert_int_equal(f.requests, 1);
		assert_string_equal(f.targets[0], cases[i].expected);
		assert_int_equal(l->count, 3);
		ncf_listing_free(l);
		ncf_client_free(c);
	}
}

static void another_400_on_page_one_is_an_error_not_a_page_size(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 50,
			  .total = TRUE_TOTAL, .bad_request_code = "80102" };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;
	struct ncf_error err;

	(void)state;
	/* 80102, the other platform's package: not there, as errmap says */
	assert_int_equal(ncf_list_activations(c, "p", "a", &l, &err), -ENOENT);
	assert_int_equal(f.requests, 1);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.code, "80102");
	assert_true(logged(&f, "HTTP 400"));
	assert_false(logged(&f, "refused pageSize"));
	ncf_client_free(c);
}

static void a_page_size_the_caller_chose_is_not_replaced(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 250,
			  .total = TRUE_TOTAL, .refuse_above = 20 };
	struct ncf_client *c = client_for(&f, 100);
	const struct ncf_list_query q = { 3, 50, NCF_UNKNOWN, NCF_UNKNOWN };
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_equal(ncf_query_activations(c, "p", "a", &q, &l, NULL), -EINVAL);
	assert_null(l);
	assert_int_equal(f.requests, 1);
	assert_false(logged(&f, "refused pageSize"));
	ncf_client_free(c);
}

static void a_failed_page_in_a_wave_fails_the_listing_with_its_error(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 950,
			  .total = TRUE_TOTAL, .fail_page = 3, .retry_after = "0" };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;
	struct ncf_error err;

	(void)state;
	assert_int_not_equal(ncf_list_activations(c, "p", "a", &l, &err), 0);
	assert_null(l);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.code, "500");
	ncf_client_free(c);
}

static void refused_names_cannot_outgrow_the_item_ceiling(void **state)
{
	struct fake f = { .list_kind = "activations", .count = 300000,
			  .total = TRUE_TOTAL, .bad_names = true };
	struct ncf_listing *l = list_activations(&f, 1000);

	(void)state;
	/* 200,000 items at 1,000 a page: the 201st page crosses the ceiling,
	 * its wave of 8 is the last. */
	assert_true(f.requests >= 201 && f.requests <= 208);
	assert_int_equal(l->count, 0);
	assert_true(logged(&f, "stopped after"));
	ncf_listing_free(l);
}

/* ---- retries ------------------------------------------------------------ */

static void retry_after_seconds_then_success(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 2, .fail_first = 2,
			  .retry_after = "0" };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;
	struct ncf_client_stats stats;

	(void)state;
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_equal(f.requests, 3);
	ncf_client_get_stats(c, &stats);
	assert_int_equal(stats.retries, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void retry_after_http_date_is_waited_for(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 2, .fail_first = 1 };
	struct ncf_client *c;
	struct ncf_listing *l = NULL;
	struct timespec t0;
	char date[64];
	time_t when = time(NULL) + 2;
	struct tm tm;

	(void)state;
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	f.retry_after = date;
	c = client_for(&f, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	/* The date is 1 to 2 s ahead (it has whole seconds); backoff without
	 * it would be 100-200 ms. */
	assert_true(seconds_since(&t0) >= 0.9);
	assert_int_equal(f.requests, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void retry_after_date_in_the_past_retries_at_once(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 2, .fail_first = 1,
			  .retry_after = "Wed, 21 Oct 2015 07:28:00 GMT" };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;
	struct timespec t0;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_true(seconds_since(&t0) < 0.1);
	assert_int_equal(f.requests, 2);
	ncf_listing_free(l);
	ncf_client_free(c);
}

static void failures_past_the_retries_are_errors(void **state)
{
	struct fake f = { .list_kind = "packages", .count = 2, .fail_first = 100,
			  .retry_after = "0" };
	struct ncf_client *c = client_for(&f, 100);
	struct ncf_listing *l = NULL;

	(void)state;
	assert_int_not_equal(ncf_list_packages(c, &l, NULL), 0);
	assert_int_not_equal(ncf_list_packages(c, &l, NULL), -ENOENT);
	assert_null(l);
	assert_int_equal(f.requests, 2 * 3);
	ncf_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(package_list_is_one_get_with_platform_only),
		cmocka_unit_test(items_sent_three_times_are_kept_once),
		cmocka_unit_test(every_name_refused_lists_empty_in_one_request),
		cmocka_unit_test(probe_answer_serves_the_first_package_listing),
		cmocka_unit_test(total_count_walk_costs_the_pages),
		cmocka_unit_test(capped_pages_cost_ceil_total_over_cap),
		cmocka_unit_test(no_total_count_stops_at_the_short_page),
		cmocka_unit_test(no_total_count_full_last_page_costs_one_more),
		cmocka_unit_test(ignored_page_no_without_total_costs_two),
		cmocka_unit_test(ignored_page_no_with_total_stays_in_budget),
		cmocka_unit_test(overstated_total_ends_at_the_real_end),
		cmocka_unit_test(understated_total_is_believed),
		cmocka_unit_test(refused_names_count_as_seen),
		cmocka_unit_test(refused_names_on_a_repeating_server_cost_two),
		cmocka_unit_test(repeated_items_in_pages_are_kept_once),
		cmocka_unit_test(refused_page_size_falls_back_to_twenty_once),
		cmocka_unit_test(a_400_to_the_documented_size_is_an_error),
		cmocka_unit_test(one_page_of_one_item_costs_one_request),
		cmocka_unit_test(full_walk_reports_the_total_count),
		cmocka_unit_test(window_is_sent_as_the_generation_wants_it),
		cmocka_unit_test(another_400_on_page_one_is_an_error_not_a_page_size),
		cmocka_unit_test(a_page_size_the_caller_chose_is_not_replaced),
		cmocka_unit_test(a_failed_page_in_a_wave_fails_the_listing_with_its_error),
		cmocka_unit_test(refused_names_cannot_outgrow_the_item_ceiling),
		cmocka_unit_test(retry_after_seconds_then_success),
		cmocka_unit_test(retry_after_http_date_is_waited_for),
		cmocka_unit_test(retry_after_date_in_the_past_retries_at_once),
		cmocka_unit_test(failures_past_the_retries_are_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
