/* test_stats — /.ncffs-stats (fs/stats.h) grows to what it holds: with 200
 * actions of long names followed (one follow_polls line each, ~24 KiB in
 * all), every line is there, whole, and reads give exactly the snapshot.
 * The API is a scripted server behind the client's transport seam: one
 * package of 200 actions, each with no activation. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include "fs/follow.h"
#include "fs/readability.h"
#include "fs/stats.h"

#define ACTIONS 200
#define BODY_MAX (64u << 10)

static _Thread_local char body[BODY_MAX];

/* 50 characters, the longest name the API allows, ending in the index. */
static void action_name(size_t i, char *out, size_t size)
{
	snprintf(out, size, "%.44s%06zu",
		 "an-action-with-a-long-name-xxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
}

static void transport(void *ctx, const char *target,
		      struct ncf_transport_reply *reply)
{
	size_t at, i;
	char name[64];

	(void)ctx;
	reply->status = 200;
	reply->body = body;
	if (strstr(target, "/activations")) {
		reply->len = (size_t)snprintf(body, BODY_MAX,
					      "{\"content\":{\"activations\":[],\"totalCount\":0}}");
		return;
	}
	at = (size_t)snprintf(body, BODY_MAX, "{\"content\":{\"actions\":[");
	for (i = 0; i < ACTIONS; i++) {
		action_name(i, name, sizeof name);
		at += (size_t)snprintf(body + at, BODY_MAX - at,
				       "%s{\"name\":\"%s\",\"type\":\"basic\"}",
				       i ? "," : "", name);
	}
	reply->len = at + (size_t)snprintf(body + at, BODY_MAX - at, "]}}");
}

static void stats_hold_every_followed_action_whole(void **state)
{
	struct ncf_client_config cfg = {
		.endpoint = "http://127.0.0.1:9/api/v2",
		.platform = "classic",
		.access_key = "AK",
		.secret_key = "secret",
		.max_body = 1u << 20,
		.transport = transport,
	};
	struct ttl_cache_config cache = { .max_bytes = 16u << 20,
					  .free_value = fetched_free };
	struct node pkg = { .kind = NODE_PACKAGE_FOLLOW };
	struct ncffs fs;
	void *handle = NULL;
	char *copy, line[160], name[64];
	ssize_t len;
	size_t i;

	(void)state;
	memset(&fs, 0, sizeof fs);
	pthread_mutex_init(&fs.stats_lock, NULL);
	fs.log.max_level = LOG_ERR;
	fs.client = ncf_client_new(&cfg);
	fs.cache = ttl_cache_new(&cache);
	fs.readability = readability_new(NULL, NULL, NULL);
	fs.list_ttl_ms = 60000;
	fs.neg_ttl_ms = 1000;
	fs.max_file = 1u << 20;
	/* a poll a minute: none happens during the test */
	fs.follow = follow_new(&fs, 60, 1u << 20);
	assert_non_null(fs.follow);
	snprintf(pkg.pkg, sizeof pkg.pkg, "%s",
		 "a-package-with-a-long-name-too-xxxxxxxxxxxxxxxxxxx");
	assert_int_equal(follow_open(&fs, &pkg, &handle), 0);

	len = stats_refresh(&fs);
	assert_true(len > 16384);          /* past the old fixed ceiling */
	copy = malloc((size_t)len + 1);
	assert_non_null(copy);
	assert_int_equal(stats_read(&fs, copy, (size_t)len + 1, 0), len);
	copy[len] = '\0';
	assert_int_equal(copy[len - 1], '\n');
	for (i = 0; i < ACTIONS; i++) {
		action_name(i, name, sizeof name);
		snprintf(line, sizeof line, "\nfollow_polls:%s/%s 0\n", pkg.pkg, name);
		assert_non_null(strstr(copy, line));
	}
	assert_non_null(strstr(copy, "\nrecords_retried 0\n"));
	assert_non_null(strstr(copy, "follow_actions_polled 200\n"));
	/* a read at an offset inside is the snapshot's bytes from there */
	assert_int_equal(stats_read(&fs, line, 100, len - 100), 100);
	assert_memory_equal(line, copy + len - 100, 100);
	free(copy);

	follow_release(fs.follow, handle);
	ncf_client_cancel(fs.client);
	follow_free(fs.follow);
	stats_release(&fs);
	ttl_cache_free(fs.cache);
	readability_free(fs.readability);
	ncf_client_free(fs.client);
	pthread_mutex_destroy(&fs.stats_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_hold_every_followed_action_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
