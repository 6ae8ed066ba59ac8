/* ncffs — the state one mount shares between its FUSE handlers. Handlers
 * reach it through fuse_get_context()->private_data; nothing is global. */
#ifndef NCFFS_NCFFS_H
#define NCFFS_NCFFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

struct ncf_client;
struct prefetch;
struct ttl_cache;

struct ncffs {
	struct ncf_client *client;
	struct ttl_cache *cache;
	struct prefetch *prefetch;  /* NULL: off, or not started yet */
	unsigned prefetch_workers;
	bool kernel_opens;      /* the kernel opens files without asking us */
	struct ncffs_log log;
	int64_t list_ttl_ms;
	int64_t neg_ttl_ms;
	size_t max_file;        /* largest rendered file */
	uid_t uid;
	gid_t gid;
	struct timespec mounted_at; /* mtime of directories with no time */
};

#endif
