/* inodes — see inodes.h. Two hash tables (cache/hash_table.h) over one
 * set of entries: by number (every request) and by path (lookups). */
#include "inodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/hash_table.h"

struct inode_entry {
	uint64_t ino;
	uint64_t nlookup;
	char *path;
	struct hash_link by_ino, by_path;
};

struct inodes {
	pthread_mutex_t lock;
	struct hash_table by_ino, by_path;
	uint64_t next_ino;
};

static struct inode_entry *find_ino(const struct inodes *t, uint64_t ino)
{
	/* Numbers are unique: the first link with this hash is the one. */
	struct hash_link *l = hash_table_first(&t->by_ino, ino);

	return l ? HASH_ENTRY(l, struct inode_entry, by_ino) : NULL;
}

static struct inode_entry *find_path(const struct inodes *t, const char *path,
				     uint64_t hash)
{
	struct hash_link *l;

	for (l = hash_table_first(&t->by_path, hash); l; l = hash_table_next(l)) {
		struct inode_entry *e = HASH_ENTRY(l, struct inode_entry, by_path);

		if (strcmp(e->path, path) == 0)
			return e;
	}
	return NULL;
}

static int join(char *out, size_t size, const char *parent, const char *name)
{
	int n = strcmp(parent, "/") == 0 ? snprintf(out, size, "/%s", name)
					 : snprintf(out, size, "%s/%s", parent, name);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int inodes_child_path(struct inodes *t, uint64_t parent, const char *name,
		      char *out, size_t size)
{
	struct inode_entry *p;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	p = find_ino(t, parent);
	if (p)
		rc = join(out, size, p->path, name);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

size_t inodes_known(struct inodes *t)
{
	size_t n;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	n = t->by_ino.count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int inodes_path(struct inodes *t, uint64_t ino, char *out, size_t size)
{
	struct inode_entry *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	e = find_ino(t, ino);
	if (e) {
		size_t n = strlen(e->path);

		rc = n < size ? 0 : -ENAMETOOLONG;
		if (rc == 0)
			memcpy(out, e->path, n + 1);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static struct inode_entry *add(struct inodes *t, const char *path, uint64_t hash)
{
	struct inode_entry *e = calloc(1, sizeof(*e));

	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->ino = t->next_ino++;
	/* The number is its own hash: numbers are unique and consecutive. */
	hash_table_insert(&t->by_ino, &e->by_ino, e->ino);
	hash_table_insert(&t->by_path, &e->by_path, hash);
	return e;
}

uint64_t inodes_lookup(struct inodes *t, uint64_t parent, const char *name)
{
	char path[INODES_PATH_MAX];
	struct inode_entry *p, *e = NULL;
	uint64_t hash, ino = 0;

	pthread_mutex_lock(&t->lock);
	p = find_ino(t, parent);
	if (p && join(path, sizeof(path), p->path, name) == 0) {
		hash = hash_string(path);
		e = find_path(t, path, hash);
		if (!e)
			e = add(t, path, hash);
	}
	if (e) {
		e->nlookup++;
		ino = e->ino;
	}
	pthread_mutex_unlock(&t->lock);
	return ino;
}

void inodes_forget(struct inodes *t, uint64_t ino, uint64_t nlookup)
{
	struct inode_entry *e;

	pthread_mutex_lock(&t->lock);
	e = find_ino(t, ino);
	if (e && ino != INODES_ROOT) {
		e->nlookup = e->nlookup > nlookup ? e->nlookup - nlookup : 0;
		if (e->nlookup == 0) {
			hash_table_remove(&t->by_ino, &e->by_ino);
			hash_table_remove(&t->by_path, &e->by_path);
			free(e->path);
			free(e);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

struct inodes *inodes_new(void)
{
	struct inodes *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->next_ino = INODES_ROOT;
	pthread_mutex_init(&t->lock, NULL);
	if (hash_table_init(&t->by_ino, 1024) != 0 ||
	    hash_table_init(&t->by_path, 1024) != 0 ||
	    !add(t, "/", hash_string("/"))) {
		inodes_free(t);
		return NULL;
	}
	return t;
}

static void free_entry(struct hash_link *link, void *unused)
{
	struct inode_entry *e = HASH_ENTRY(link, struct inode_entry, by_ino);

	(void)unused;
	free(e->path);
	free(e);
}

void inodes_free(struct inodes *t)
{
	if (!t)
		return;
	/* Every entry is in both tables: free them through one, then drop
	 * the other's buckets without walking them. */
	hash_table_drain(&t->by_ino, free_entry, NULL);
	hash_table_release(&t->by_ino);
	hash_table_release(&t->by_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
