/* sign — API Gateway signature v2, a pure function over its inputs.
 *
 * signature = Base64(HMAC-SHA256(secret, "METHOD TARGET\nTIMESTAMP\nKEY"))
 * where TARGET is the path with its query string exactly as sent. */
#ifndef NCFFS_SIGN_H
#define NCFFS_SIGN_H

#include <stddef.h>

/* Base64 of a 32-byte MAC is 44 characters; plus NUL. */
#define NCF_SIGNATURE_SIZE 45

/* Writes the NUL-terminated signature to out. Returns 0, or -EINVAL on a
 * NULL or oversized input, -EIO if OpenSSL fails. */
int ncf_sign(const char *method, const char *target, const char *timestamp,
	     const char *access_key, const char *secret_key,
	     char out[NCF_SIGNATURE_SIZE]);

#endif
