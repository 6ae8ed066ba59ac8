/* disk_cache — the persistent tier (tier.h) as a folder of plain files,
 * one per entry, shared safely by every process of one user that opens it.
 *
 * Layout: DIR/<account>/ holds e<32 hex> entries, "usage" (the bytes held,
 * and the lock every writer takes) and tmp.<pid>.<n> files being written.
 * <account> is 32 hex digits of SHA-256(namespace): processes that pass
 * another namespace use another folder, and never see these entries.
 *
 * Invariants:
 *  - An entry is written whole to a temporary file and renamed into place,
 *    so a reader sees an old entry, a new one or none, never a torn one.
 *  - Every entry starts with a header: magic, the namespace's tag, the key's
 *    and the value's lengths and a SHA-256 of header, key and value. An
 *    entry whose checksum, length, namespace or key does not match is
 *    deleted and counted, never served (a flipped byte, a crash on a file
 *    system that lost unflushed data, a file copied from another account).
 *  - Folders are 0700 and files 0600; a folder that belongs to another user
 *    or that the group or others may write is refused (open returns NULL
 *    and logs why: another user could plant entries in it).
 *  - Bounded: the bytes held (each entry rounded up to the file system's
 *    block, so du agrees) stay under max_bytes. Going over evicts the least
 *    recently used entries (mtime, which a hit refreshes) down to 90 %.
 *  - Accounting is the usage file, updated under flock by every writer, so
 *    a mount reads 16 bytes instead of scanning the folder; only eviction
 *    (once per 10 % of the bound written) and a lost or torn usage file
 *    scan the folder, and each scan recounts it exactly, healing the drift
 *    a crash between a rename and its usage update leaves.
 *  - No fsync: a kill -9 loses nothing the kernel already holds, and after
 *    a power loss the checksum catches what the file system lost.
 */
#ifndef NCFFS_DISK_CACHE_H
#define NCFFS_DISK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "tier.h"

/* level: a syslog priority (LOG_WARNING, ...); message has no newline. */
typedef void (*disk_cache_log_fn)(void *log_ctx, int level, const char *message);

struct disk_cache_config {
	const char *dir;        /* the base folder, made 0700 if missing */
	const char *namespace;  /* whose entries (an account): any text */
	uint64_t max_bytes;     /* the bound on disk */
	size_t max_value;       /* larger values are neither kept nor read */
	disk_cache_log_fn log;  /* NULL: silent */
	void *log_ctx;
};

#define DISK_CACHE_FOLDER_LEN 32

/* Opens (making it if needed) the namespace's folder under dir. NULL when
 * it cannot or must not be used (logged once, with why). */
struct cache_tier *disk_cache_open(const struct disk_cache_config *config);

/* The name of namespace's folder under dir, DISK_CACHE_FOLDER_LEN hex
 * digits and a NUL, for tools and tests. */
void disk_cache_folder_name(const char *namespace,
			    char out[DISK_CACHE_FOLDER_LEN + 1]);

/* The file name of key's entry in the folder ("e" and 32 hex digits). */
#define DISK_CACHE_ENTRY_NAME_LEN 33
void disk_cache_entry_name(const char *key,
			   char out[DISK_CACHE_ENTRY_NAME_LEN + 1]);

#endif
