/* disk_cache — see disk_cache.h. Plain files rather than LMDB or SQLite:
 * entries are written once and never updated, so rename gives atomicity
 * for free, two processes need nothing but the rename and one flock, a
 * torn or foreign file is just deleted, and a full or read-only disk fails
 * one write, never a database that must then be recovered.
 *
 * Left out on purpose: fsync (see the header), keeping anything in memory
 * about the entries (the file system is the index), and recreating a
 * folder removed under a running mount (it goes on without it). */
#include "disk_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MAGIC "ncffsC1\n"
#define KEY_MAX 4096            /* longest key kept */
#define TAG_LEN 16
#define SUM_LEN 32
#define USAGE_FILE "usage"
#define TMP_PREFIX "tmp."
#define TMP_STALE_S 3600        /* older temporaries are a dead writer's */
#define EVICT_TO_PERCENT 90
#define USAGE_SALT 0x6e636666757361ULL
/* Entries one scan sorts (64 bytes each): 16 times what 512 MiB of 4 KiB
 * entries make. Past it, the rest are counted and evicted from next time. */
#define SCAN_MAX (1u << 21)

/* The entry header, host byte order (a cache is one machine's). */
struct header {
	char magic[8];
	unsigned char tag[TAG_LEN];   /* SHA-256(namespace), truncated */
	uint32_t key_len;
	uint32_t flags;               /* 0 */
	uint64_t value_len;
	unsigned char sum[SUM_LEN];   /* SHA-256 of all the file, sum zeroed */
};
_Static_assert(sizeof(struct header) == 72, "header has no padding");

/* What is logged once, whatever the count. */
enum once { ONCE_READ, ONCE_WRITE, ONCE_CORRUPT, ONCE_SCAN };

struct disk_cache {
	struct cache_tier tier;
	int dir_fd;          /* the account folder: every call is *at() */
	int usage_fd;        /* also the lock of every writer */
	bool read_only;
	unsigned char tag[TAG_LEN];
	uint64_t max_bytes, block;
	size_t max_value;
	disk_cache_log_fn log;
	void *log_ctx;
	char *folder;        /* for messages */

	/* The flock section: one writer of this process at a time (a flock
	 * belongs to the open file, which all threads share). It may wait for
	 * another process's scan, so nothing a reader needs is under it. */
	pthread_mutex_t lock;
	pthread_mutex_t stats_lock; /* st, logged, tmp_seq */
	struct cache_tier_stats st;
	unsigned logged;
	unsigned long tmp_seq;
};

/* ---- small helpers ------------------------------------------------------- */

static void sha256(const void *data, size_t len, unsigned char out[SUM_LEN])
{
	unsigned int n = SUM_LEN;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		memset(out, 0, SUM_LEN);
}

static void to_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

void disk_cache_folder_name(const char *namespace,
			    char out[DISK_CACHE_FOLDER_LEN + 1])
{
	unsigned char sum[SUM_LEN];

	sha256(namespace, strlen(namespace), sum);
	to_hex(sum, DISK_CACHE_FOLDER_LEN / 2, out);
}

void disk_cache_entry_name(const char *key,
			   char out[DISK_CACHE_ENTRY_NAME_LEN + 1])
{
	unsigned char sum[SUM_LEN];

	sha256(key, strlen(key), sum);
	out[0] = 'e';
	to_hex(sum, (DISK_CACHE_ENTRY_NAME_LEN - 1) / 2, out + 1);
}

static bool is_entry_name(const char *name)
{
	return name[0] == 'e' && strlen(name) == DISK_CACHE_ENTRY_NAME_LEN &&
	       strspn(name + 1, "0123456789abcdef") ==
		       DISK_CACHE_ENTRY_NAME_LEN - 1;
}

/* Logs once per kind (the caller holds stats_lock). */
static void say_once(struct disk_cache *dc, enum once kind, int level,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say_once(struct disk_cache *dc, enum once kind, int level,
		     const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (dc->logged & (1u << kind) || !dc->log)
		return;
	dc->logged |= 1u << kind;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	dc->log(dc->log_ctx, level, text);
}

static uint64_t charge(const struct disk_cache *dc, uint64_t size)
{
	return (size + dc->block - 1) / dc->block * dc->block;
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Marks the file open on fd as used now. The kernel's own timestamps tick
 * coarsely (a few ms), too coarsely to order a burst of writes; this is
 * the clock eviction sorts by. */
static void stamp(int fd)
{
	struct timespec now[2];

	clock_gettime(CLOCK_REALTIME, &now[0]);
	now[1] = now[0];
	futimens(fd, now);
}

/* ---- usage: the bytes held, shared through one small file ---------------- */

static void usage_lock(struct disk_cache *dc)
{
	pthread_mutex_lock(&dc->lock);
	while (flock(dc->usage_fd, LOCK_EX) != 0 && errno == EINTR)
		;
}

static void usage_unlock(struct disk_cache *dc)
{
	flock(dc->usage_fd, LOCK_UN);
	pthread_mutex_unlock(&dc->lock);
}

/* 0 and *bytes, or -EBADMSG for a usage file that is missing or torn. */
static int usage_read(struct disk_cache *dc, uint64_t *bytes)
{
	uint64_t v[2];

	if (pread(dc->usage_fd, v, sizeof(v), 0) != (ssize_t)sizeof(v) ||
	    (v[0] ^ USAGE_SALT) != v[1])
		return -EBADMSG;
	*bytes = v[0];
	return 0;
}

static void usage_write(struct disk_cache *dc, uint64_t bytes)
{
	uint64_t v[2] = { bytes, bytes ^ USAGE_SALT };
	bool failed = !dc->read_only &&
		      pwrite(dc->usage_fd, v, sizeof(v), 0) != (ssize_t)sizeof(v);
	int err = errno;

	pthread_mutex_lock(&dc->stats_lock);
	dc->st.bytes = bytes;
	if (failed)
		say_once(dc, ONCE_WRITE, LOG_WARNING,
			 "disk cache %s: cannot write its usage file: %s",
			 dc->folder, strerror(err));
	pthread_mutex_unlock(&dc->stats_lock);
}

/* ---- the scan: recount, drop stale temporaries, evict the oldest --------- */

struct seen {
	char name[DISK_CACHE_ENTRY_NAME_LEN + 1];
	struct timespec used;
	uint64_t charge;
};

struct scan {
	struct seen *items;
	size_t count, capacity;
	uint64_t bytes;
};

static int scan_add(struct scan *s, const char *name, const struct stat *st,
		    uint64_t charged)
{
	s->bytes += charged;
	if (s->count == SCAN_MAX)
		return 0;
	if (s->count == s->capacity) {
		size_t capacity = s->capacity ? s->capacity * 2 : 256;
		struct seen *grown = realloc(s->items, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->items = grown;
		s->capacity = capacity;
	}
	memcpy(s->items[s->count].name, name, DISK_CACHE_ENTRY_NAME_LEN + 1);
	s->items[s->count].used = st->st_mtim;
	s->items[s->count].charge = charged;
	s->count++;
	return 0;
}

static void scan_one(struct disk_cache *dc, struct scan *s, const char *name,
		     int *rc)
{
	struct stat st;

	if (fstatat(dc->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode))
		return;
	if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
		if (st.st_mtime + TMP_STALE_S < time(NULL))
			unlinkat(dc->dir_fd, name, 0);
		return;
	}
	if (is_entry_name(name) && *rc == 0)
		*rc = scan_add(s, name, &st, charge(dc, (uint64_t)st.st_size));
}

static int scan_folder(struct disk_cache *dc, struct scan *s)
{
	int fd = openat(dc->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while ((e = readdir(d)) != NULL)
		scan_one(dc, s, e->d_name, &rc);
	closedir(d);
	return rc;
}

static int older_first(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Recounts the folder, and when it holds more than the bound evicts the
 * least recently used down to EVICT_TO_PERCENT of it. The caller holds the
 * usage lock. */
static void recount_and_evict(struct disk_cache *dc)
{
	uint64_t target = dc->max_bytes / 100 * EVICT_TO_PERCENT;
	struct scan s = { 0 };
	size_t i;
	uint64_t evicted = 0;
	int rc = scan_folder(dc, &s);

	if (rc != 0) {
		pthread_mutex_lock(&dc->stats_lock);
		say_once(dc, ONCE_SCAN, LOG_WARNING, "disk cache %s: cannot scan it: %s",
			 dc->folder, strerror(-rc));
		pthread_mutex_unlock(&dc->stats_lock);
		free(s.items);
		return;
	}
	if (s.bytes > dc->max_bytes) {
		qsort(s.items, s.count, sizeof(*s.items), older_first);
		for (i = 0; i < s.count && s.bytes > target; i++) {
			if (unlinkat(dc->dir_fd, s.items[i].name, 0) != 0 &&
			    errno != ENOENT)
				continue;
			s.bytes -= s.items[i].charge;
			evicted++;
		}
	}
	pthread_mutex_lock(&dc->stats_lock);
	dc->st.evictions += evicted;
	pthread_mutex_unlock(&dc->stats_lock);
	usage_write(dc, s.bytes);
	free(s.items);
}

/* ---- get ----------------------------------------------------------------- */

/* Whether buf (a whole entry file of len bytes) is key's, in this
 * namespace, intact. */
static bool entry_is_valid(const struct disk_cache *dc, unsigned char *buf,
			   size_t len, const char *key)
{
	struct header h;
	unsigned char sum[SUM_LEN];
	size_t key_len = strlen(key);

	/* The key must fit in the file before its length is subtracted: a
	 * wrapped value_len would otherwise agree with a key_len past the end. */
	if (len < sizeof(h) || len - sizeof(h) < key_len)
		return false;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, MAGIC, sizeof(h.magic)) != 0 || h.flags != 0 ||
	    h.key_len != key_len || h.value_len != len - sizeof(h) - key_len ||
	    memcmp(h.tag, dc->tag, TAG_LEN) != 0 ||
	    memcmp(buf + sizeof(h), key, key_len) != 0)
		return false;
	memset(buf + offsetof(struct header, sum), 0, SUM_LEN);
	sha256(buf, len, sum);
	return memcmp(sum, h.sum, SUM_LEN) == 0;
}

/* Deletes name if it is still the file fd has open (another process may
 * have renamed a good entry over it since), and takes it off the usage. */
static void drop_entry(struct disk_cache *dc, const char *name, int fd)
{
	struct stat mine, now;
	uint64_t bytes;

	if (dc->read_only || fstat(fd, &mine) != 0)
		return;
	usage_lock(dc);
	if (fstatat(dc->dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_ino == mine.st_ino && now.st_dev == mine.st_dev &&
	    unlinkat(dc->dir_fd, name, 0) == 0 && usage_read(dc, &bytes) == 0) {
		uint64_t c = charge(dc, (uint64_t)mine.st_size);

		usage_write(dc, bytes > c ? bytes - c : 0);
	}
	usage_unlock(dc);
}

static void count(struct disk_cache *dc, uint64_t *counter)
{
	pthread_mutex_lock(&dc->stats_lock);
	(*counter)++;
	pthread_mutex_unlock(&dc->stats_lock);
}

static void count_error(struct disk_cache *dc, uint64_t *counter,
			enum once kind, const char *what, int err)
{
	pthread_mutex_lock(&dc->stats_lock);
	(*counter)++;
	say_once(dc, kind, LOG_WARNING,
		 "disk cache %s: cannot %s: %s; going on without it where it fails",
		 dc->folder, what, strerror(err));
	pthread_mutex_unlock(&dc->stats_lock);
}

/* Reads the entry open on fd into a new buffer: 0, or -errno. */
static int read_entry(struct disk_cache *dc, int fd, unsigned char **buf,
		      size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct header) ||
	    (uint64_t)st.st_size > sizeof(struct header) + KEY_MAX + dc->max_value)
		return -EBADMSG;
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	if (!*buf)
		return -ENOMEM;
	return read_all(fd, *buf, *len);
}

static int disk_get(struct cache_tier *tier, const char *key, void **value,
		    size_t *len)
{
	struct disk_cache *dc = (struct disk_cache *)tier;
	char name[DISK_CACHE_ENTRY_NAME_LEN + 1];
	unsigned char *buf = NULL;
	size_t size = 0, off = sizeof(struct header) + strlen(key);
	int fd, rc;

	disk_cache_entry_name(key, name);
	/* O_NONBLOCK: whatever sits under the name, opening it never waits
	 * (a FIFO would); read_entry then takes regular files only. */
	fd = openat(dc->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			count(dc, &dc->st.misses);
		else
			count_error(dc, &dc->st.read_errors, ONCE_READ, "read an entry", -rc);
		return rc;
	}
	rc = read_entry(dc, fd, &buf, &size);
	if (rc == 0 && !entry_is_valid(dc, buf, size, key))
		rc = -EBADMSG;
	if (rc == -EBADMSG) {
		drop_entry(dc, name, fd);
		pthread_mutex_lock(&dc->stats_lock);
		dc->st.corrupt++;
		say_once(dc, ONCE_CORRUPT, LOG_WARNING,
			 "disk cache %s: dropped an entry that failed its checksum or key check (fetching it again)",
			 dc->folder);
		pthread_mutex_unlock(&dc->stats_lock);
	} else if (rc != 0) {
		count_error(dc, &dc->st.read_errors, ONCE_READ, "read an entry", -rc);
	} else {
		/* Its mtime is its last use: what eviction sorts by. */
		if (!dc->read_only)
			stamp(fd);
		memmove(buf, buf + off, size - off);
		buf[size - off] = '\0';
		*value = buf;
		*len = size - off;
		buf = NULL;
		count(dc, &dc->st.hits);
	}
	close(fd);
	free(buf);
	return rc;
}

/* ---- put ----------------------------------------------------------------- */

/* A whole entry file for key and value in one new buffer. */
static unsigned char *make_entry(const struct disk_cache *dc, const char *key,
				 const void *value, size_t len, size_t *size)
{
	struct header h = { .magic = MAGIC };
	size_t key_len = strlen(key);
	unsigned char *buf;

	*size = sizeof(h) + key_len + len;
	buf = malloc(*size);
	if (!buf)
		return NULL;
	memcpy(h.tag, dc->tag, TAG_LEN);
	h.key_len = (uint32_t)key_len;
	h.value_len = len;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), key, key_len);
	if (len)
		memcpy(buf + sizeof(h) + key_len, value, len);
	sha256(buf, *size, h.sum);
	memcpy(buf + offsetof(struct header, sum), h.sum, SUM_LEN);
	return buf;
}

/* Writes buf to a new temporary file; 0 and its name, or -errno. */
static int write_temporary(struct disk_cache *dc, const unsigned char *buf,
			   size_t size, char *tmp, size_t tmp_size)
{
	unsigned long seq;
	int fd, rc;

	pthread_mutex_lock(&dc->stats_lock);
	seq = dc->tmp_seq++;
	pthread_mutex_unlock(&dc->stats_lock);
	snprintf(tmp, tmp_size, TMP_PREFIX "%ld.%lu", (long)getpid(), seq);
	fd = openat(dc->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, size);
	stamp(fd);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		unlinkat(dc->dir_fd, tmp, 0);
	return rc;
}

/* Renames tmp over name and charges it; evicts when that goes over. */
static int publish(struct disk_cache *dc, const char *tmp, const char *name,
		   uint64_t size)
{
	struct stat old;
	uint64_t bytes = 0, replaced = 0;
	int rc = 0;

	usage_lock(dc);
	if (fstatat(dc->dir_fd, name, &old, AT_SYMLINK_NOFOLLOW) == 0)
		replaced = charge(dc, (uint64_t)old.st_size);
	if (renameat(dc->dir_fd, tmp, dc->dir_fd, name) != 0) {
		rc = -errno;
		unlinkat(dc->dir_fd, tmp, 0);
	} else if (usage_read(dc, &bytes) != 0) {
		recount_and_evict(dc);  /* a torn usage file: count again */
	} else {
		bytes = bytes > replaced ? bytes - replaced : 0;
		bytes += charge(dc, size);
		if (bytes > dc->max_bytes)
			recount_and_evict(dc);
		else
			usage_write(dc, bytes);
	}
	usage_unlock(dc);
	if (rc == 0)
		count(dc, &dc->st.writes);
	return rc;
}

static int disk_put(struct cache_tier *tier, const char *key, const void *value,
		    size_t len)
{
	struct disk_cache *dc = (struct disk_cache *)tier;
	char name[DISK_CACHE_ENTRY_NAME_LEN + 1], tmp[64];
	unsigned char *buf = NULL;
	size_t size = 0;
	int rc;

	/* Too big to be worth a slot: an entry must leave room for others. */
	if (strlen(key) > KEY_MAX || len > dc->max_value ||
	    charge(dc, sizeof(struct header) + strlen(key) + len) > dc->max_bytes / 4)
		return -EFBIG;
	if (dc->read_only) {
		count(dc, &dc->st.write_errors);
		return -EROFS;
	}
	disk_cache_entry_name(key, name);
	buf = make_entry(dc, key, value, len, &size);
	rc = buf ? write_temporary(dc, buf, size, tmp, sizeof(tmp)) : -ENOMEM;
	if (rc == 0)
		rc = publish(dc, tmp, name, size);
	if (rc != 0 && rc != -ENOMEM)
		count_error(dc, &dc->st.write_errors, ONCE_WRITE, "write an entry", -rc);
	free(buf);
	return rc;
}

/* ---- stats and lifecycle ------------------------------------------------- */

static void disk_get_stats(struct cache_tier *tier, struct cache_tier_stats *out)
{
	struct disk_cache *dc = (struct disk_cache *)tier;
	uint64_t bytes;

	pthread_mutex_lock(&dc->stats_lock);
	/* Another process may have written since: the usage file knows. */
	if (usage_read(dc, &bytes) == 0)
		dc->st.bytes = bytes;
	*out = dc->st;
	pthread_mutex_unlock(&dc->stats_lock);
}

static void disk_free(struct cache_tier *tier)
{
	struct disk_cache *dc = (struct disk_cache *)tier;

	if (!dc)
		return;
	if (dc->usage_fd >= 0)
		close(dc->usage_fd);
	if (dc->dir_fd >= 0)
		close(dc->dir_fd);
	pthread_mutex_destroy(&dc->stats_lock);
	pthread_mutex_destroy(&dc->lock);
	free(dc->folder);
	free(dc);
}

static const struct cache_tier_ops disk_ops = {
	.get = disk_get,
	.put = disk_put,
	.get_stats = disk_get_stats,
	.free = disk_free,
};

/* Logs why the disk cache is off (the one line a user sees). */
static void refuse(const struct disk_cache_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refuse(const struct disk_cache_config *c, const char *fmt, ...)
{
	char text[600];
	int n = snprintf(text, sizeof(text), "disk cache off: ");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	if (c->log)
		c->log(c->log_ctx, LOG_WARNING, text);
}

/* Makes path and its missing parents, each 0700. */
static int make_dirs(const char *path)
{
	char buf[4096];
	char *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -errno : 0;
}

/* A folder only this user may write, or refused (logged). */
static int check_folder(const struct disk_cache_config *c, int fd,
			const char *path)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		refuse(c, "cannot stat %s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid()) {
		refuse(c, "%s belongs to uid %ld, not to this user (uid %ld); use -o cache_dir= to pick a folder of yours",
		       path, (long)st.st_uid, (long)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 022) {
		refuse(c, "%s is writable by its group or others (mode %03o), who could plant entries; run: chmod 700 %s",
		       path, (unsigned)(st.st_mode & 0777), path);
		return -EPERM;
	}
	return 0;
}

/* Opens dir_fd (the account folder) and usage_fd, checked. */
static int open_folder(struct disk_cache *dc, const struct disk_cache_config *c,
		       const char *folder_name)
{
	int base = -1, rc = make_dirs(c->dir);

	if (rc != 0) {
		refuse(c, "cannot create %s: %s", c->dir, strerror(-rc));
		return rc;
	}
	base = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0) {
		rc = -errno;
		refuse(c, "cannot open %s: %s", c->dir, strerror(-rc));
		return rc;
	}
	rc = check_folder(c, base, c->dir);
	if (rc == 0 && mkdirat(base, folder_name, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		refuse(c, "cannot create %s: %s", dc->folder, strerror(-rc));
	}
	if (rc == 0) {
		dc->dir_fd = openat(base, folder_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = dc->dir_fd < 0 ? -errno : check_folder(c, dc->dir_fd, dc->folder);
		if (dc->dir_fd < 0)
			refuse(c, "cannot open %s: %s", dc->folder, strerror(-rc));
	}
	close(base);
	return rc;
}

/* The usage file, read-write; read-only on a folder we may not write
 * (entries are still served). */
static int open_usage(struct disk_cache *dc, const struct disk_cache_config *c)
{
	const int flags = O_NOFOLLOW | O_CLOEXEC;
	struct stat st;

	dc->usage_fd = openat(dc->dir_fd, USAGE_FILE, O_RDWR | O_CREAT | flags, 0600);
	if (dc->usage_fd < 0 && (errno == EROFS || errno == EACCES)) {
		dc->usage_fd = openat(dc->dir_fd, USAGE_FILE, O_RDONLY | flags);
		dc->read_only = dc->usage_fd >= 0;
		if (dc->read_only && c->log)
			c->log(c->log_ctx, LOG_WARNING,
			       "disk cache: the folder is read-only to ncffs: serving what it holds, keeping nothing new");
	}
	if (dc->usage_fd < 0) {
		refuse(c, "cannot open %s/" USAGE_FILE ": %s", dc->folder, strerror(errno));
		return -errno;
	}
	if (fstat(dc->usage_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		refuse(c, "%s/" USAGE_FILE " is not a file of this user", dc->folder);
		return -EPERM;
	}
	return 0;
}

static struct disk_cache *new_disk_cache(const struct disk_cache_config *c,
					 const char *folder_name)
{
	struct disk_cache *dc = calloc(1, sizeof(*dc));
	size_t n = strlen(c->dir) + DISK_CACHE_FOLDER_LEN + 2;
	unsigned char sum[SUM_LEN];

	if (!dc)
		return NULL;
	dc->tier.ops = &disk_ops;
	dc->dir_fd = dc->usage_fd = -1;
	dc->max_bytes = c->max_bytes;
	dc->max_value = c->max_value;
	dc->log = c->log;
	dc->log_ctx = c->log_ctx;
	dc->block = 4096;
	dc->st.limit_bytes = c->max_bytes;
	sha256(c->namespace, strlen(c->namespace), sum);
	memcpy(dc->tag, sum, TAG_LEN);
	pthread_mutex_init(&dc->lock, NULL);
	pthread_mutex_init(&dc->stats_lock, NULL);
	dc->folder = malloc(n);
	if (!dc->folder) {
		disk_free(&dc->tier);
		return NULL;
	}
	snprintf(dc->folder, n, "%s/%s", c->dir, folder_name);
	return dc;
}

struct cache_tier *disk_cache_open(const struct disk_cache_config *c)
{
	char folder_name[DISK_CACHE_FOLDER_LEN + 1];
	struct disk_cache *dc;
	struct statfs fsinfo;
	uint64_t bytes;

	if (!c || !c->dir || !c->dir[0] || !c->namespace || c->max_bytes == 0)
		return NULL;
	disk_cache_folder_name(c->namespace, folder_name);
	dc = new_disk_cache(c, folder_name);
	if (!dc)
		return NULL;
	if (open_folder(dc, c, folder_name) != 0 || open_usage(dc, c) != 0) {
		disk_free(&dc->tier);
		return NULL;
	}
	/* Entries are charged whole blocks, as du counts them. */
	if (fstatfs(dc->dir_fd, &fsinfo) == 0 && fsinfo.f_bsize > 0 &&
	    fsinfo.f_bsize <= 65536)
		dc->block = (uint64_t)fsinfo.f_bsize;
	if (!dc->read_only) {
		usage_lock(dc);
		if (usage_read(dc, &bytes) != 0 || bytes > dc->max_bytes)
			recount_and_evict(dc);  /* first use, a torn file, a smaller bound */
		else
			dc->st.bytes = bytes;
		usage_unlock(dc);
	} else if (usage_read(dc, &bytes) == 0) {
		dc->st.bytes = bytes;
	}
	return &dc->tier;
}
