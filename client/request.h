/* request — one signed GET with retries, shared by the files of client/.
 * Internal to client/: fs/ sees only ncf_client.h. */
#ifndef NCFFS_REQUEST_H
#define NCFFS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ncf_client.h"

#define TARGET_MAX 1024
#define NCF_DOCUMENTED_PAGE_SIZE 20 /* the API's default pageSize */

/* A response body, bounded by max. Zero-initialise with .max set; the
 * caller frees data. */
struct response {
	char *data;
	size_t len, capacity, max;
	long status;
	long retry_after_s;
	time_t server_date;
	bool quiet_bad_request; /* the caller handles a 400: do not log it */
	bool no_memory;         /* the body could not be kept: -ENOMEM */
};

/* What goes after platform= in a list request's query. */
struct request_query {
	size_t page_no, page_size;  /* not sent when page_no is 0 */
	int64_t start_ms, end_ms;   /* not sent when NCF_UNKNOWN */
};

/* base path + path + "?platform=..." (+ "&pageNo=&pageSize=" when page_no
 * is not 0) into out. Returns 0 or -ENAMETOOLONG. */
int request_target(const struct ncf_client *c, char *out, size_t size,
		   const char *path, size_t page_no, size_t page_size);

/* The same with the query's start/end too, in the API generation's format. */
int request_target_query(const struct ncf_client *c, char *out, size_t size,
			 const char *path, const struct request_query *q);

/* GETs target (as built above), retrying what is worth retrying; on
 * failure logs once and returns -errno with err filled when given. */
int request_get(struct ncf_client *c, const char *target, struct response *resp,
		struct ncf_error *err);

/* The pageSize to ask for: the configured one until a server refuses it. */
size_t request_page_size(const struct ncf_client *c);

/* A server refused pageSize refused and took the documented default: ask
 * for that from now on. Logged the first time only. */
void request_refuse_page_size(struct ncf_client *c, size_t refused);

/* Logs a failure request_get kept quiet (quiet_bad_request), as it would
 * have: the caller decided it was an error after all. */
void request_log_failure(const struct ncf_client *c, const char *path,
			 const struct ncf_error *err);

/* The start-up probe's package list, handed out once while fresh; NULL
 * otherwise. keep takes ownership of listing. */
void request_keep_probed_packages(struct ncf_client *c,
				  struct ncf_listing *listing);
struct ncf_listing *request_take_probed_packages(struct ncf_client *c);

void logf_client(const struct ncf_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
