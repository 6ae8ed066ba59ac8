/* inodes — see inodes.h. Two chained hash tables over one set of entries:
 * by number (every request) and by path (lookups). */
#include "inodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct inode_entry {
	uint64_t ino;
	uint64_t nlookup;
	uint64_t path_hash;
	char *path;
	struct inode_entry *by_ino_next, *by_path_next;
};

struct inodes {
	pthread_mutex_t lock;
	struct inode_entry **by_ino, **by_path;
	size_t bucket_count, count;
	uint64_t next_ino;
};

static uint64_t hash_path(const char *path)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 1099511628211ULL;
	return h;
}

static size_t slot(const struct inodes *t, uint64_t hash)
{
	return (size_t)(hash ^ (hash >> 29)) & (t->bucket_count - 1);
}

static struct inode_entry *find_ino(const struct inodes *t, uint64_t ino)
{
	struct inode_entry *e = t->by_ino[slot(t, ino)];

	while (e && e->ino != ino)
		e = e->by_ino_next;
	return e;
}

static struct inode_entry *find_path(const struct inodes *t, const char *path,
				     uint64_t hash)
{
	struct inode_entry *e = t->by_path[slot(t, hash)];

	while (e && (e->path_hash != hash || strcmp(e->path, path) != 0))
		e = e->by_path_next;
	return e;
}

static void link_entry(struct inodes *t, struct inode_entry *e)
{
	size_t i = slot(t, e->ino), j = slot(t, e->path_hash);

	e->by_ino_next = t->by_ino[i];
	t->by_ino[i] = e;
	e->by_path_next = t->by_path[j];
	t->by_path[j] = e;
	t->count++;
}

static void unlink_entry(struct inodes *t, struct inode_entry *e)
{
	struct inode_entry **p = &t->by_ino[slot(t, e->ino)];

	while (*p != e)
		p = &(*p)->by_ino_next;
	*p = e->by_ino_next;
	p = &t->by_path[slot(t, e->path_hash)];
	while (*p != e)
		p = &(*p)->by_path_next;
	*p = e->by_path_next;
	t->count--;
}

/* Doubles both tables when they average more than one entry a bucket; on
 * no memory the tables stay as they are (slower, still correct). */
static void grow(struct inodes *t)
{
	size_t old_count = t->bucket_count, i;
	struct inode_entry **old_ino = t->by_ino, *e, *next;
	struct inode_entry **by_ino = calloc(old_count * 2, sizeof(*by_ino));
	struct inode_entry **by_path = calloc(old_count * 2, sizeof(*by_path));

	if (!by_ino || !by_path) {
		free(by_ino);
		free(by_path);
		return;
	}
	free(t->by_path);
	t->by_ino = by_ino;
	t->by_path = by_path;
	t->bucket_count = old_count * 2;
	t->count = 0;
	for (i = 0; i < old_count; i++) {
		for (e = old_ino[i]; e; e = next) {
			next = e->by_ino_next;
			link_entry(t, e);
		}
	}
	free(old_ino);
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
	if (t->count >= t->bucket_count)
		grow(t);
	e->ino = t->next_ino++;
	e->path_hash = hash;
	link_entry(t, e);
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
		hash = hash_path(path);
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
			unlink_entry(t, e);
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
	t->bucket_count = 1024;
	t->by_ino = calloc(t->bucket_count, sizeof(*t->by_ino));
	t->by_path = calloc(t->bucket_count, sizeof(*t->by_path));
	t->next_ino = INODES_ROOT;
	pthread_mutex_init(&t->lock, NULL);
	if (!t->by_ino || !t->by_path || !add(t, "/", hash_path("/"))) {
		inodes_free(t);
		return NULL;
	}
	return t;
}

void inodes_free(struct inodes *t)
{
	struct inode_entry *e, *next;
	size_t i;

	if (!t)
		return;
	for (i = 0; t->by_ino && i < t->bucket_count; i++) {
		for (e = t->by_ino[i]; e; e = next) {
			next = e->by_ino_next;
			free(e->path);
			free(e);
		}
	}
	free(t->by_ino);
	free(t->by_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
