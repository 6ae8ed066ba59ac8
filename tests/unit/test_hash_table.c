/* test_hash_table — the one chained hash table (cache/hash_table.h), used
 * by the cache for its keys and by fs/inodes.c for numbers and paths.
 *
 * Entries are test structs that embed a link; keys are compared by the
 * test, as the users do. A link the table lost, kept twice or left behind
 * after drain shows up as a wrong count or a missed key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/hash_table.h"

#define MANY 5000

struct item {
	char key[16];
	int drained;
	struct hash_link link;
};

static struct item *find(const struct hash_table *t, const char *key)
{
	struct hash_link *l;

	for (l = hash_table_first(t, hash_string(key)); l; l = hash_table_next(l)) {
		struct item *it = HASH_ENTRY(l, struct item, link);

		if (strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

static struct item *make_items(size_t count)
{
	struct item *items = calloc(count, sizeof(*items));

	assert_non_null(items);
	for (size_t i = 0; i < count; i++)
		snprintf(items[i].key, sizeof items[i].key, "key-%zu", i);
	return items;
}

static void every_inserted_key_is_found_and_no_other(void **state)
{
	struct hash_table t;
	struct item *items = make_items(MANY);

	(void)state;
	assert_int_equal(hash_table_init(&t, 16), 0);
	for (size_t i = 0; i < MANY; i++)
		hash_table_insert(&t, &items[i].link, hash_string(items[i].key));
	assert_int_equal(t.count, MANY);
	/* It grew: more entries than buckets would mean long chains. */
	assert_true(t.bucket_count >= MANY);
	for (size_t i = 0; i < MANY; i++)
		assert_ptr_equal(find(&t, items[i].key), &items[i]);
	assert_null(find(&t, "key-"));
	assert_null(find(&t, "key-5000"));
	assert_null(find(&t, "KEY-1"));
	hash_table_release(&t);
	free(items);
}

static void removed_keys_are_gone_and_the_rest_stay(void **state)
{
	struct hash_table t;
	struct item *items = make_items(MANY);

	(void)state;
	assert_int_equal(hash_table_init(&t, 0), 0);
	for (size_t i = 0; i < MANY; i++)
		hash_table_insert(&t, &items[i].link, hash_string(items[i].key));
	for (size_t i = 0; i < MANY; i += 2)
		hash_table_remove(&t, &items[i].link);
	assert_int_equal(t.count, MANY / 2);
	for (size_t i = 0; i < MANY; i++) {
		if (i % 2)
			assert_ptr_equal(find(&t, items[i].key), &items[i]);
		else
			assert_null(find(&t, items[i].key));
	}
	hash_table_release(&t);
	free(items);
}

/* Keys whose hashes collide are all reachable, and told apart by the
 * caller's comparison. */
static void links_with_the_same_hash_are_all_walked(void **state)
{
	struct hash_table t;
	struct item *items = make_items(8);
	struct hash_link *l;
	int seen = 0;

	(void)state;
	assert_int_equal(hash_table_init(&t, 16), 0);
	for (size_t i = 0; i < 8; i++)
		hash_table_insert(&t, &items[i].link, 42);
	/* A neighbour in the same bucket with another hash is skipped. */
	hash_table_insert(&t, &make_items(1)[0].link, 42 + 16);
	for (l = hash_table_first(&t, 42); l; l = hash_table_next(l)) {
		assert_int_equal(l->hash, 42);
		HASH_ENTRY(l, struct item, link)->drained++;
		seen++;
	}
	assert_int_equal(seen, 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(items[i].drained, 1);
	hash_table_remove(&t, &items[3].link);
	seen = 0;
	for (l = hash_table_first(&t, 42); l; l = hash_table_next(l))
		seen++;
	assert_int_equal(seen, 7);
	l = hash_table_first(&t, 42 + 16);
	assert_non_null(l);
	free(HASH_ENTRY(l, struct item, link));
	hash_table_release(&t);
	free(items);
}

static void mark_drained(struct hash_link *link, void *count)
{
	HASH_ENTRY(link, struct item, link)->drained++;
	(*(size_t *)count)++;
}

static void drain_hands_out_every_link_once(void **state)
{
	struct hash_table t;
	struct item *items = make_items(MANY);
	size_t count = 0;

	(void)state;
	assert_int_equal(hash_table_init(&t, 64), 0);
	for (size_t i = 0; i < MANY; i++)
		hash_table_insert(&t, &items[i].link, hash_string(items[i].key));
	hash_table_drain(&t, mark_drained, &count);
	assert_int_equal(count, MANY);
	assert_int_equal(t.count, 0);
	for (size_t i = 0; i < MANY; i++)
		assert_int_equal(items[i].drained, 1);
	assert_null(find(&t, items[0].key));
	hash_table_release(&t);
	free(items);
}

/* Inode numbers are their own hash: consecutive numbers must not pile up
 * in a few buckets. */
static void consecutive_numbers_spread_over_the_buckets(void **state)
{
	struct hash_table t;
	struct item *items = make_items(1024);
	size_t longest = 0;

	(void)state;
	assert_int_equal(hash_table_init(&t, 1024), 0);
	for (size_t i = 0; i < 1024; i++)
		hash_table_insert(&t, &items[i].link, (uint64_t)i + 1);
	for (size_t b = 0; b < t.bucket_count; b++) {
		size_t chain = 0;

		for (struct hash_link *l = t.buckets[b]; l; l = l->next)
			chain++;
		if (chain > longest)
			longest = chain;
	}
	assert_true(longest <= 2);
	hash_table_release(&t);
	free(items);
}

static void string_hash_is_fnv1a(void **state)
{
	(void)state;
	/* Published FNV-1a 64 test vectors. */
	assert_true(hash_string("") == 0xcbf29ce484222325ULL);
	assert_true(hash_string("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(hash_string("foobar") == 0x85944171f73967e8ULL);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_inserted_key_is_found_and_no_other),
		cmocka_unit_test(removed_keys_are_gone_and_the_rest_stay),
		cmocka_unit_test(links_with_the_same_hash_are_all_walked),
		cmocka_unit_test(drain_hands_out_every_link_once),
		cmocka_unit_test(consecutive_numbers_spread_over_the_buckets),
		cmocka_unit_test(string_hash_is_fnv1a),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
