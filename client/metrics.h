/* metrics — counters of the API calls a client made, for /.ncffs-stats.
 * Thread-safe; costs one short mutex hold per request. Internal to client/. */
#ifndef NCFFS_METRICS_H
#define NCFFS_METRICS_H

#include <stddef.h>

/* Distinct (endpoint, status) pairs kept; further pairs are counted under
 * "other". Latency percentiles cover the last METRICS_SAMPLES requests. */
#define METRICS_PAIRS 64
#define METRICS_SAMPLES 4096

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

void metrics_begin(struct metrics *m);
/* target: the request target; base_len: bytes of base path to skip;
 * status: the HTTP status, 0 when no answer came. */
void metrics_end(struct metrics *m, const char *target, size_t base_len,
		 long status, double elapsed_ms, int retried);

/* Appends "key value\n" lines to buf (NUL-terminated, truncated at size). */
size_t metrics_format(struct metrics *m, char *buf, size_t size);

#endif
