/* hash_table — see hash_table.h. Buckets are found by the low bits of the
 * hash after folding the high bits in, so that hashes that differ only in
 * their high bits (or small consecutive numbers, like inode numbers) still
 * spread over the buckets. */
#include "hash_table.h"

#include <errno.h>
#include <stdlib.h>

#define BUCKETS_MIN 16

uint64_t hash_string(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a offset basis */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct hash_link **bucket_of(const struct hash_table *t, uint64_t hash)
{
	size_t folded = (size_t)(hash ^ (hash >> 29));

	return &t->buckets[folded & (t->bucket_count - 1)];
}

int hash_table_init(struct hash_table *t, size_t buckets)
{
	size_t count = BUCKETS_MIN;

	while (count < buckets && count < (SIZE_MAX >> 1) / sizeof(*t->buckets))
		count *= 2;
	t->count = 0;
	t->buckets = calloc(count, sizeof(*t->buckets));
	t->bucket_count = t->buckets ? count : 0;
	return t->buckets ? 0 : -ENOMEM;
}

void hash_table_release(struct hash_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->bucket_count = 0;
	t->count = 0;
}

static void link_into(struct hash_table *t, struct hash_link *link)
{
	struct hash_link **bucket = bucket_of(t, link->hash);

	link->next = *bucket;
	*bucket = link;
}

/* On no memory the table keeps its buckets (see hash_table.h). */
static void grow(struct hash_table *t)
{
	struct hash_link **old = t->buckets, *l, *next;
	size_t old_count = t->bucket_count, i;
	struct hash_link **grown = calloc(old_count * 2, sizeof(*grown));

	if (!grown)
		return;
	t->buckets = grown;
	t->bucket_count = old_count * 2;
	for (i = 0; i < old_count; i++) {
		for (l = old[i]; l; l = next) {
			next = l->next;
			link_into(t, l);
		}
	}
	free(old);
}

void hash_table_insert(struct hash_table *t, struct hash_link *link,
		       uint64_t hash)
{
	if (t->count >= t->bucket_count)
		grow(t);
	link->hash = hash;
	link_into(t, link);
	t->count++;
}

void hash_table_remove(struct hash_table *t, struct hash_link *link)
{
	struct hash_link **p = bucket_of(t, link->hash);

	while (*p != link)
		p = &(*p)->next;
	*p = link->next;
	link->next = NULL;
	t->count--;
}

static struct hash_link *same_hash(struct hash_link *l, uint64_t hash)
{
	while (l && l->hash != hash)
		l = l->next;
	return l;
}

struct hash_link *hash_table_first(const struct hash_table *t, uint64_t hash)
{
	return same_hash(*bucket_of(t, hash), hash);
}

struct hash_link *hash_table_next(const struct hash_link *link)
{
	return same_hash(link->next, link->hash);
}

void hash_table_drain(struct hash_table *t,
		      void (*fn)(struct hash_link *link, void *ctx), void *ctx)
{
	struct hash_link *l, *next;
	size_t i;

	for (i = 0; i < t->bucket_count; i++) {
		for (l = t->buckets[i]; l; l = next) {
			next = l->next;
			l->next = NULL;
			fn(l, ctx);
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}
