/* ncffs — the state one mount shares between its FUSE handlers. Handlers
 * reach it through fuse_get_context()->private_data; nothing is global
 * (but for the one pointer a signal handler needs, in main.c). */
#ifndef NCFFS_NCFFS_H
#define NCFFS_NCFFS_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

struct follow;
struct housekeeping;
struct inodes;
struct open_handle;
struct ncf_client;
struct prefetch;
struct readability;
struct ttl_cache;
struct cache_tier;
struct redis_tier;

struct ncffs {
	struct ncf_client *client;
	struct ttl_cache *cache;
	struct cache_tier *disk;    /* records kept across mounts; NULL: off */
	struct redis_tier *redis;   /* records shared by hosts; NULL: off */
	struct ncffs_log log;
	int64_t list_ttl_ms;
	int64_t neg_ttl_ms;
	size_t cache_limit;     /* bytes */
	size_t max_file;        /* largest rendered file */
	size_t recent_count;    /* entries of recent/ */
	uid_t uid;
	gid_t gid;
	mode_t umask;           /* uid, gid, umask: of every entry (perms.h) */
	struct timespec mounted_at; /* mtime of directories with no time */

	struct inodes *inodes;
	/* What unreadable records are, when to ask again, list orders. */
	struct readability *readability;

	/* Started in init (after daemonizing), stopped in destroy. */
	struct prefetch *prefetch;  /* NULL: off */
	unsigned prefetch_workers;
	size_t readahead_max;   /* records, the largest readahead window */
	struct housekeeping *housekeeping;
	struct follow *follow;      /* follow.log's streams and pollers */
	unsigned poll_s;            /* follow.log: seconds between polls */
	size_t follow_buffer;       /* follow.log: bytes each open file keeps */
	unsigned late_max_s;        /* a 404 this old is no fresh run (0: default) */
	bool kernel_opens;      /* the kernel opens files without asking us */
	/* dirops.c: the INIT reply is written by ncffs, and the flags init
	 * asked to add to it (cleared once written). */
	bool dirops_shim;
	atomic_uint_least32_t init_reply_flags;

	/* /.ncffs-stats: the snapshot its size came from, served to reads. */
	pthread_mutex_t stats_lock;
	char *stats_text;
	size_t stats_len;

	/* Open file and directory handles, freed in destroy if the kernel
	 * never released them (a signal or lazy unmount ends the session). */
	pthread_mutex_t handles_lock;
	struct open_handle *handles;

	/* Set by SIGHUP; the housekeeping thread clears the cache. */
	atomic_bool hup_pending;
	sem_t wakeup;
};

#endif
