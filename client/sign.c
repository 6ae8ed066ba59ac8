/* sign — API Gateway signature v2 (see sign.h). OpenSSL does the HMAC and
 * the Base64; all this file does is build the message exactly. */
#include "sign.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* A request target longer than this is not something ncffs builds. */
#define SIGN_MESSAGE_MAX 8192

int ncf_sign(const char *method, const char *target, const char *timestamp,
	     const char *access_key, const char *secret_key,
	     char out[NCF_SIGNATURE_SIZE])
{
	char message[SIGN_MESSAGE_MAX];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	int n;

	if (!method || !target || !timestamp || !access_key || !secret_key ||
	    !out)
		return -EINVAL;
	n = snprintf(message, sizeof(message), "%s %s\n%s\n%s", method, target,
		     timestamp, access_key);
	if (n < 0 || (size_t)n >= sizeof(message))
		return -EINVAL;
	if (strlen(secret_key) > SIGN_MESSAGE_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), secret_key, (int)strlen(secret_key),
		  (const unsigned char *)message, (size_t)n, mac, &mac_len) ||
	    mac_len != 32)
		return -EIO;
	/* 32 bytes encode to exactly 44 characters plus NUL. */
	if (EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len) != 44)
		return -EIO;
	return 0;
}
