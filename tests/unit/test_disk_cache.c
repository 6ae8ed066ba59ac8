/* test_disk_cache — the disk tier (cache/disk_cache.h) on a real folder
 * under $TMPDIR: round trips across reopen, entries that must never be
 * served (a flipped byte, a truncated file, another key's or another
 * namespace's entry), LRU eviction under the bound, the usage file that
 * spares a mount the scan, and folders that must be refused or that fail
 * (unwritable, foreign-owned, group- or world-writable, removed).
 *
 * Run as root, the permission tests act as uid 65534 (seteuid), since
 * root writes wherever it likes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache/disk_cache.h"

#define NOBODY 65534
#define MIB (1024 * 1024)

struct fixture {
	char base[256];          /* the cache_dir */
	char folder[512];        /* base/<account> */
	char logged[8][600];
	int log_count;
	struct cache_tier *tier;
};

static void capture(void *ctx, int level, const char *message)
{
	struct fixture *f = ctx;

	(void)level;
	if (f->log_count < 8)
		snprintf(f->logged[f->log_count], sizeof(f->logged[0]), "%s", message);
	f->log_count++;
}

static struct cache_tier *open_ns(struct fixture *f, const char *ns,
				  uint64_t max_bytes)
{
	struct disk_cache_config c = { 0 };
	char name[DISK_CACHE_FOLDER_LEN + 1];

	c.dir = f->base;
	c.namespace = ns;
	c.max_bytes = max_bytes;
	c.max_value = 1 * MIB;
	c.log = capture;
	c.log_ctx = f;
	disk_cache_folder_name(ns, name);
	snprintf(f->folder, sizeof(f->folder), "%s/%s", f->base, name);
	return disk_cache_open(&c);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/ncffs-disk-XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(f->base))
		return -1;
	*state = f;
	return 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char child[1024];

	chmod(path, 0700);
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
		if (unlink(child) != 0)
			remove_tree(child);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != getuid())
		assert_int_equal(seteuid(getuid()), 0);
	cache_tier_free(f->tier);
	remove_tree(f->base);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static void entry_path(struct fixture *f, const char *key, char *out, size_t n)
{
	char name[DISK_CACHE_ENTRY_NAME_LEN + 1];

	disk_cache_entry_name(key, name);
	snprintf(out, n, "%s/%s", f->folder, name);
}

static void put_text(struct cache_tier *t, const char *key, const char *text)
{
	assert_int_equal(cache_tier_put(t, key, text, strlen(text)), 0);
}

/* What key holds, as text, or the -errno of the get. */
static int get_text(struct cache_tier *t, const char *key, char *out, size_t n)
{
	void *value = NULL;
	size_t len = 0;
	int rc = cache_tier_get(t, key, &value, &len);

	if (rc == 0) {
		assert_true(len < n);
		memcpy(out, value, len + 1); /* the tier adds the NUL */
	}
	free(value);
	return rc;
}

static struct cache_tier_stats stats_of(struct cache_tier *t)
{
	struct cache_tier_stats st;

	cache_tier_get_stats(t, &st);
	return st;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	n = fread(buf, 1, sizeof(buf), in);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static bool logged(const struct fixture *f, const char *text)
{
	int i;

	for (i = 0; i < f->log_count && i < 8; i++) {
		if (strstr(f->logged[i], text))
			return true;
	}
	return false;
}

/* ---- round trips ---------------------------------------------------------- */

static void a_value_comes_back_after_reopen(void **state)
{
	struct fixture *f = *state;
	char got[64], path[1024];
	struct stat st;

	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_non_null(f->tier);
	put_text(f->tier, "R/k1", "hello");
	cache_tier_free(f->tier);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), 0);
	assert_string_equal(got, "hello");
	assert_int_equal(get_text(f->tier, "R/k2", got, sizeof(got)), -ENOENT);
	assert_int_equal(stats_of(f->tier).hits, 1);
	assert_int_equal(stats_of(f->tier).misses, 1);
	/* Private: the folder 0700, the entry 0600. */
	assert_int_equal(stat(f->folder, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	entry_path(f, "R/k1", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void an_empty_value_is_a_value(void **state)
{
	struct fixture *f = *state;
	char got[8] = "x";

	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_int_equal(cache_tier_put(f->tier, "O/x", "", 0), 0);
	assert_int_equal(get_text(f->tier, "O/x", got, sizeof(got)), 0);
	assert_string_equal(got, "");
}

/* ---- what must never be served --------------------------------------------- */

static void flip_byte(const char *path, long offset_from_end)
{
	int fd = open(path, O_RDWR);
	off_t at = lseek(fd, -offset_from_end, SEEK_END);
	unsigned char c;

	assert_true(fd >= 0 && at >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void a_flipped_byte_is_dropped_never_served(void **state)
{
	struct fixture *f = *state;
	char got[64], path[1024];
	long where[] = { 1, 40, 100 }; /* the value, the checksum, the header */
	size_t i;

	f->tier = open_ns(f, "account-a", 4 * MIB);
	entry_path(f, "R/k1", path, sizeof(path));
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		put_text(f->tier, "R/k1", "a value long enough to flip a byte of it anywhere we like");
		flip_byte(path, where[i]);
		assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), -EBADMSG);
		assert_false(exists(path));
		assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), -ENOENT);
	}
	assert_int_equal(stats_of(f->tier).corrupt, 3);
	assert_int_equal(f->log_count, 1); /* logged once */
	assert_true(logged(f, "checksum or key"));
}

static void a_truncated_entry_is_dropped(void **state)
{
	struct fixture *f = *state;
	char got[64], path[1024];

	f->tier = open_ns(f, "account-a", 4 * MIB);
	put_text(f->tier, "R/k1", "some bytes");
	entry_path(f, "R/k1", path, sizeof(path));
	assert_int_equal(truncate(path, 50), 0);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), -EBADMSG);
	assert_false(exists(path));
	assert_int_equal(stats_of(f->tier).corrupt, 1);
}

/* A header whose key length runs past the end of the file (and whose
 * value length, wrapped around, agrees with it) is no entry: the key is
 * never compared beyond the bytes read (ASan catches the overread). */
static void a_key_length_past_the_file_is_no_entry(void **state)
{
	struct fixture *f = *state;
	char got[64], from[1024], to[1024], long_key[101];
	unsigned char buf[256];
	uint32_t key_len = sizeof(long_key) - 1;
	uint64_t value_len;
	ssize_t n;
	int fd;

	memset(long_key, 'x', sizeof(long_key) - 1);
	memcpy(long_key, "R/", 2);
	long_key[sizeof(long_key) - 1] = '\0';
	f->tier = open_ns(f, "account-a", 4 * MIB);
	put_text(f->tier, "R/a", "v");
	entry_path(f, "R/a", from, sizeof(from));
	entry_path(f, long_key, to, sizeof(to));
	fd = open(from, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 72 + 3 + 1);
	/* key_len at 24, value_len at 32 (the header's layout) */
	value_len = (uint64_t)n - 72 - key_len;
	memcpy(buf + 24, &key_len, sizeof(key_len));
	memcpy(buf + 32, &value_len, sizeof(value_len));
	fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, (size_t)n), n);
	close(fd);
	assert_int_equal(get_text(f->tier, long_key, got, sizeof(got)), -EBADMSG);
	assert_false(exists(to));
	assert_int_equal(stats_of(f->tier).corrupt, 1);
}

static void a_fifo_or_folder_under_the_name_is_no_entry(void **state)
{
	struct fixture *f = *state;
	char got[64], path[1024];

	f->tier = open_ns(f, "account-a", 4 * MIB);
	entry_path(f, "R/fifo", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(get_text(f->tier, "R/fifo", got, sizeof(got)), -EBADMSG);
	assert_false(exists(path)); /* dropped: the next put can take the name */
	put_text(f->tier, "R/fifo", "now a value");
	assert_int_equal(get_text(f->tier, "R/fifo", got, sizeof(got)), 0);
	entry_path(f, "R/dir", path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(get_text(f->tier, "R/dir", got, sizeof(got)) < 0);
}

static void another_keys_entry_is_not_served(void **state)
{
	struct fixture *f = *state;
	char got[64], from[1024], to[1024];

	f->tier = open_ns(f, "account-a", 4 * MIB);
	put_text(f->tier, "R/k1", "one");
	put_text(f->tier, "R/k2", "two");
	entry_path(f, "R/k1", from, sizeof(from));
	entry_path(f, "R/k2", to, sizeof(to));
	copy_file(from, to);
	assert_int_equal(get_text(f->tier, "R/k2", got, sizeof(got)), -EBADMSG);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), 0);
	assert_string_equal(got, "one");
	assert_int_equal(stats_of(f->tier).corrupt, 1);
}

static void another_accounts_entry_is_not_served(void **state)
{
	struct fixture *f = *state;
	struct cache_tier *other;
	char got[64], theirs[1024], mine[1024];

	other = open_ns(f, "account-b", 4 * MIB);
	assert_non_null(other);
	put_text(other, "R/k1", "account b's record");
	entry_path(f, "R/k1", theirs, sizeof(theirs));
	f->tier = open_ns(f, "account-a", 4 * MIB);
	entry_path(f, "R/k1", mine, sizeof(mine));
	assert_string_not_equal(theirs, mine); /* folders differ */
	copy_file(theirs, mine);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), -EBADMSG);
	assert_int_equal(stats_of(f->tier).corrupt, 1);
	assert_int_equal(get_text(other, "R/k1", got, sizeof(got)), 0);
	cache_tier_free(other);
}

/* ---- the bound ------------------------------------------------------------ */

static void eviction_keeps_the_bound_and_the_recently_used(void **state)
{
	struct fixture *f = *state;
	const uint64_t bound = 256 * 1024; /* 64 entries of one 4 KiB block */
	char key[32], got[2048], value[1500];
	int i, kept_early = 0;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	f->tier = open_ns(f, "account-a", bound);
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "R/%d", i);
		put_text(f->tier, key, value);
		/* Use entry 0 all along: the least recently used go first. */
		assert_int_equal(get_text(f->tier, "R/0", got, sizeof(got)), 0);
		assert_true(stats_of(f->tier).bytes <= bound);
	}
	assert_true(stats_of(f->tier).evictions > 0);
	assert_true(stats_of(f->tier).bytes >= bound / 100 * 80);
	assert_int_equal(get_text(f->tier, "R/0", got, sizeof(got)), 0);
	assert_int_equal(get_text(f->tier, "R/299", got, sizeof(got)), 0);
	for (i = 1; i < 100; i++) {
		snprintf(key, sizeof(key), "R/%d", i);
		kept_early += get_text(f->tier, key, got, sizeof(got)) == 0;
	}
	assert_int_equal(kept_early, 0);
}

/* ---- two mounts ---------------------------------------------------------- */

struct op {
	struct cache_tier *tier;
	const char *key;
	int rc;
	atomic_bool done;
};

static void *put_in_thread(void *arg)
{
	struct op *op = arg;

	op->rc = cache_tier_put(op->tier, op->key, "two", 3);
	atomic_store(&op->done, true);
	return NULL;
}

static void *get_in_thread(void *arg)
{
	struct op *op = arg;
	void *value = NULL;
	size_t len;

	op->rc = cache_tier_get(op->tier, op->key, &value, &len);
	free(value);
	atomic_store(&op->done, true);
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether someone waits for a flock on inode ino ("->" in /proc/locks). */
static bool flock_waited_for(ino_t ino)
{
	FILE *locks = fopen("/proc/locks", "r");
	char line[256], tail[64];
	bool found = false;

	snprintf(tail, sizeof(tail), ":%lu ", (unsigned long)ino);
	while (locks && !found && fgets(line, sizeof(line), locks))
		found = strstr(line, "->") && strstr(line, "FLOCK") &&
			strstr(line, tail);
	if (locks)
		fclose(locks);
	return found;
}

/* Another mount holds the usage lock (scanning and evicting a large
 * folder, say) and a writer of this one waits for it: a reader of this
 * one must not wait too. */
static void a_reader_never_waits_for_another_mounts_lock(void **state)
{
	struct fixture *f = *state;
	struct op put = { .key = "R/k2" }, get = { .key = "R/k1" };
	pthread_t putter, getter;
	char usage[1024];
	struct stat st;
	bool got_while_held;
	int64_t deadline;
	int fd;

	f->tier = open_ns(f, "account-a", 4 * MIB);
	put_text(f->tier, "R/k1", "one");
	put.tier = get.tier = f->tier;
	snprintf(usage, sizeof(usage), "%s/usage", f->folder);
	fd = open(usage, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(flock(fd, LOCK_EX), 0); /* the other mount */
	assert_int_equal(pthread_create(&putter, NULL, put_in_thread, &put), 0);
	deadline = now_ms() + 5000;
	while (!flock_waited_for(st.st_ino) && now_ms() < deadline)
		usleep(1000);
	assert_int_equal(pthread_create(&getter, NULL, get_in_thread, &get), 0);
	deadline = now_ms() + 2000;
	while (!atomic_load(&get.done) && now_ms() < deadline)
		usleep(1000);
	got_while_held = atomic_load(&get.done);
	flock(fd, LOCK_UN);
	close(fd);
	pthread_join(putter, NULL);
	pthread_join(getter, NULL);
	assert_true(got_while_held);
	assert_int_equal(get.rc, 0);
	assert_int_equal(put.rc, 0);
}

static void a_value_too_big_for_the_bound_is_not_kept(void **state)
{
	struct fixture *f = *state;
	static char big[128 * 1024];

	f->tier = open_ns(f, "account-a", 256 * 1024);
	assert_int_equal(cache_tier_put(f->tier, "R/big", big, sizeof(big)), -EFBIG);
	assert_int_equal(stats_of(f->tier).write_errors, 0);
}

/* Count the entries and the bytes held without the tier's help. */
static void accounting_is_restored_after_reopen_without_a_scan(void **state)
{
	struct fixture *f = *state;
	char key[32], orphan[1024], usage[1024];
	uint64_t before;
	int i;

	f->tier = open_ns(f, "account-a", 4 * MIB);
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "R/%d", i);
		put_text(f->tier, key, "some record");
	}
	before = stats_of(f->tier).bytes;
	assert_true(before >= 20 * 12);
	cache_tier_free(f->tier);
	/* An entry the usage file does not know (as a kill -9 between a
	 * rename and its usage update leaves): a reopen that scanned would
	 * count it; one that reads the usage file does not. */
	entry_path(f, "R/0", usage, sizeof(usage));
	snprintf(orphan, sizeof(orphan), "%s/e%032d", f->folder, 7);
	copy_file(usage, orphan);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_int_equal(stats_of(f->tier).bytes, before);
	cache_tier_free(f->tier);
	/* A torn usage file: the next open counts the folder again. */
	snprintf(usage, sizeof(usage), "%s/usage", f->folder);
	assert_int_equal(truncate(usage, 3), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_true(stats_of(f->tier).bytes > before);
}

/* ---- folders that are refused or fail ------------------------------------ */

/* As root, become uid 65534 with base its own (permission bits bind it). */
static void act_as_owner_of_base(struct fixture *f)
{
	if (getuid() != 0)
		return;
	assert_int_equal(chown(f->base, NOBODY, NOBODY), 0);
	assert_int_equal(seteuid(NOBODY), 0);
}

static void an_unwritable_folder_turns_the_tier_off(void **state)
{
	struct fixture *f = *state;

	act_as_owner_of_base(f);
	assert_int_equal(chmod(f->base, 0500), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_null(f->tier);
	assert_int_equal(f->log_count, 1);
	assert_true(logged(f, "disk cache off: cannot create"));
}

static void an_unwritable_account_folder_still_serves(void **state)
{
	struct fixture *f = *state;
	char got[64];

	act_as_owner_of_base(f);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_non_null(f->tier);
	put_text(f->tier, "R/k1", "kept before");
	cache_tier_free(f->tier);
	assert_int_equal(chmod(f->folder, 0500), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_non_null(f->tier);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), 0);
	assert_string_equal(got, "kept before");
	assert_true(cache_tier_put(f->tier, "R/k2", "x", 1) < 0);
	assert_true(cache_tier_put(f->tier, "R/k3", "x", 1) < 0);
	assert_int_equal(stats_of(f->tier).write_errors, 2);
	assert_int_equal(f->log_count, 1); /* once */
}

static void a_foreign_owned_folder_is_refused(void **state)
{
	struct fixture *f = *state;

	if (getuid() != 0)
		skip();
	assert_int_equal(chown(f->base, NOBODY, NOBODY), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_null(f->tier);
	assert_int_equal(f->log_count, 1);
	assert_true(logged(f, "belongs to uid 65534"));
	assert_false(exists(f->folder));
}

static void a_group_or_world_writable_folder_is_refused(void **state)
{
	struct fixture *f = *state;
	const mode_t modes[] = { 0777, 0770, 0702, 01777 };
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->base, modes[i]), 0);
		f->log_count = 0;
		f->tier = open_ns(f, "account-a", 4 * MIB);
		assert_null(f->tier);
		assert_int_equal(f->log_count, 1);
		assert_true(logged(f, "writable by its group or others"));
	}
	/* The same check holds for the account folder itself. */
	assert_int_equal(chmod(f->base, 0700), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_non_null(f->tier);
	cache_tier_free(f->tier);
	assert_int_equal(chmod(f->folder, 0777), 0);
	f->tier = open_ns(f, "account-a", 4 * MIB);
	assert_null(f->tier);
}

static void a_removed_folder_fails_writes_not_the_caller(void **state)
{
	struct fixture *f = *state;
	char got[64];

	f->tier = open_ns(f, "account-a", 4 * MIB);
	put_text(f->tier, "R/k1", "one");
	remove_tree(f->base);
	assert_true(cache_tier_put(f->tier, "R/k2", "two", 3) < 0);
	assert_true(cache_tier_put(f->tier, "R/k3", "three", 5) < 0);
	assert_int_equal(get_text(f->tier, "R/k1", got, sizeof(got)), -ENOENT);
	assert_int_equal(stats_of(f->tier).write_errors, 2);
	assert_int_equal(f->log_count, 1);
	assert_int_equal(mkdir(f->base, 0700), 0); /* for teardown */
}

static void a_bad_config_opens_nothing(void **state)
{
	struct fixture *f = *state;
	struct disk_cache_config c = { 0 };

	(void)f;
	assert_null(disk_cache_open(NULL));
	assert_null(disk_cache_open(&c));
	c.dir = "";
	c.namespace = "x";
	c.max_bytes = 1;
	assert_null(disk_cache_open(&c));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(a_value_comes_back_after_reopen),
		T(an_empty_value_is_a_value),
		T(a_flipped_byte_is_dropped_never_served),
		T(a_truncated_entry_is_dropped),
		T(a_fifo_or_folder_under_the_name_is_no_entry),
		T(a_key_length_past_the_file_is_no_entry),
		T(another_keys_entry_is_not_served),
		T(another_accounts_entry_is_not_served),
		T(eviction_keeps_the_bound_and_the_recently_used),
		T(a_value_too_big_for_the_bound_is_not_kept),
		T(a_reader_never_waits_for_another_mounts_lock),
		T(accounting_is_restored_after_reopen_without_a_scan),
		T(an_unwritable_folder_turns_the_tier_off),
		T(an_unwritable_account_folder_still_serves),
		T(a_foreign_owned_folder_is_refused),
		T(a_group_or_world_writable_folder_is_refused),
		T(a_removed_folder_fails_writes_not_the_caller),
		T(a_bad_config_opens_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
