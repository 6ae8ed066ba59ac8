/* errmap — the one place where foreign error spaces become errno. */
#ifndef NCFFS_ERRMAP_H
#define NCFFS_ERRMAP_H

#include <stdbool.h>

/* An HTTP status (and the NCP errorCode, may be "") as -errno; 2xx is 0.
 * Among them: 404 is -ENOENT, 413 -EFBIG, 429 -EAGAIN, 504 -ETIMEDOUT;
 * a transient failure is never -ENOENT (the cache serves stale on it). */
int ncf_errno_from_http(long http_status, const char *ncp_code);

/* A CURLcode (as int, so callers need not include curl) as -errno. */
int ncf_errno_from_curl(int curl_code);

/* Whether a failed attempt with this outcome is worth repeating. */
bool ncf_is_retryable(long http_status, int curl_code);

#endif
