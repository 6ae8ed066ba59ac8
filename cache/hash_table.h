/* hash_table — a chained hash table of intrusive links: the one hash table
 * of ncffs (the cache's keys, the inode numbers and paths of fs/).
 *
 * Invariants:
 *  - The table stores no keys and no values: a user embeds a struct
 *    hash_link in its own struct, hashes its own key (hash_string for
 *    strings, or any well-mixed 64-bit number) and compares keys itself
 *    while walking the links that share a hash.
 *  - The table owns only its bucket array; entries stay the user's, and a
 *    link belongs to at most one table at a time (a struct that is in two
 *    tables embeds two links).
 *  - It doubles its buckets when it holds more entries than buckets; when
 *    that allocation fails it keeps the buckets it has (slower, still
 *    correct), so inserting never fails.
 *  - Not thread-safe: users hold their own lock around every call.
 */
#ifndef NCFFS_HASH_TABLE_H
#define NCFFS_HASH_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct hash_link {
	struct hash_link *next;
	uint64_t hash;
};

struct hash_table {
	struct hash_link **buckets;
	size_t bucket_count; /* a power of two */
	size_t count;
};

/* The struct that embeds link as its field member. */
#define HASH_ENTRY(link, type, member) \
	((type *)(void *)((char *)(link) - offsetof(type, member)))

/* FNV-1a of a NUL-terminated string. */
uint64_t hash_string(const char *s);

/* Lifecycle. init makes room for about buckets entries (rounded up to a
 * power of two); 0 or -ENOMEM. release frees the bucket array only: the
 * entries still linked are the caller's (see hash_table_drain). */
int hash_table_init(struct hash_table *t, size_t buckets);
void hash_table_release(struct hash_table *t);

/* Links link under hash. The caller checks first that its key is not in
 * the table already, if it wants keys to be unique. */
void hash_table_insert(struct hash_table *t, struct hash_link *link,
		       uint64_t hash);

/* Unlinks link, which must be in t. */
void hash_table_remove(struct hash_table *t, struct hash_link *link);

/* The first link with this hash, and the next link with the same hash
 * after link; NULL when there is none. Callers compare their keys:
 *
 *	for (l = hash_table_first(t, h); l; l = hash_table_next(l))
 *		if (strcmp(HASH_ENTRY(l, struct item, link)->key, key) == 0)
 *			return ...;
 */
struct hash_link *hash_table_first(const struct hash_table *t, uint64_t hash);
struct hash_link *hash_table_next(const struct hash_link *link);

/* Unlinks every link and hands each to fn, which may free its entry: how
 * a user frees its entries before hash_table_release. */
void hash_table_drain(struct hash_table *t,
		      void (*fn)(struct hash_link *link, void *ctx), void *ctx);

#endif
