/* seal — key derivation, entry names and AES-256-GCM values (see seal.h).
 * Out of scope on purpose: padding values to hide their sizes (records
 * vary from bytes to megabytes; padding to buckets would cost a fleet's
 * Redis memory for little), and rotating keys (a new secret is a new,
 * empty cache: its names differ, so old entries are misses that expire). */
#include "seal.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define SEAL_VERSION 1

/* The HKDF labels: one key per purpose, never shared. */
static const char enc_label[] = "ncffs cache v1 encryption";
static const char name_label[] = "ncffs cache v1 entry names";

static int hkdf(const void *secret, size_t secret_len, const char *salt,
		const char *label, uint8_t out[SEAL_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int rc = -EIO;

	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)secret, secret_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)salt, strlen(salt));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      (void *)label, strlen(label));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, SEAL_KEY_LEN, params) == 1)
		rc = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

int seal_keys_derive(struct seal_keys *keys, const void *secret,
		     size_t secret_len, const char *context)
{
	int rc;

	memset(keys, 0, sizeof(*keys));
	if (!secret || secret_len == 0 || !context)
		return -EINVAL;
	rc = hkdf(secret, secret_len, context, enc_label, keys->enc);
	if (rc == 0)
		rc = hkdf(secret, secret_len, context, name_label, keys->name);
	if (rc)
		seal_keys_wipe(keys);
	return rc;
}

void seal_keys_wipe(struct seal_keys *keys)
{
	if (keys)
		explicit_bzero(keys, sizeof(*keys));
}

int seal_name(const struct seal_keys *keys, const char *path,
	      char out[SEAL_NAME_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	const size_t prefix = sizeof(SEAL_NAME_PREFIX) - 1;
	uint8_t mac[32];
	unsigned int mac_len = 0;
	size_t i;

	if (!HMAC(EVP_sha256(), keys->name, SEAL_KEY_LEN,
		  (const unsigned char *)path, strlen(path), mac, &mac_len) ||
	    mac_len != sizeof(mac))
		return -EIO;
	memcpy(out, SEAL_NAME_PREFIX, prefix);
	for (i = 0; i < sizeof(mac); i++) {
		out[prefix + 2 * i] = hex[mac[i] >> 4];
		out[prefix + 2 * i + 1] = hex[mac[i] & 15];
	}
	out[prefix + 2 * sizeof(mac)] = '\0';
	return 0;
}

/* One GCM pass over in (len bytes) into out, with the entry name as the
 * associated data. Encrypting writes the tag, decrypting checks it. */
static int gcm(const struct seal_keys *keys, bool encrypt, const char *name,
	       const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t *in,
	       size_t len, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, rc = -EIO;

	if (!ctx || len > INT_MAX ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, keys->enc, nonce,
			      encrypt) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)name,
			     (int)strlen(name)) != 1 ||
	    (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1))
		goto out;
	if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					    SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
		rc = encrypt ? -EIO : -EBADMSG; /* a tag that does not match */
		goto out;
	}
	if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
					   SEAL_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* Layout: version | nonce | ciphertext | tag. */
int seal_value(const struct seal_keys *keys, const char *name,
	       const void *plain, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (len > SIZE_MAX - SEAL_OVERHEAD)
		return -ENOMEM;
	buf = malloc(len + SEAL_OVERHEAD);
	if (!buf)
		return -ENOMEM;
	buf[0] = SEAL_VERSION;
	rc = RAND_bytes(buf + 1, SEAL_NONCE_LEN) == 1 ? 0 : -EIO;
	if (rc == 0)
		rc = gcm(keys, true, name, buf + 1, plain, len,
			 buf + 1 + SEAL_NONCE_LEN,
			 buf + 1 + SEAL_NONCE_LEN + len);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len + SEAL_OVERHEAD;
	return 0;
}

int seal_open(const struct seal_keys *keys, const char *name,
	      const void *sealed, size_t len, uint8_t **out, size_t *out_len)
{
	const uint8_t *in = sealed;
	uint8_t tag[SEAL_TAG_LEN];
	size_t plain_len;
	uint8_t *buf;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (len < SEAL_OVERHEAD || in[0] != SEAL_VERSION)
		return -EBADMSG;
	plain_len = len - SEAL_OVERHEAD;
	buf = malloc(plain_len + 1);
	if (!buf)
		return -ENOMEM;
	/* The tag is copied out: gcm wants it writable, and sealed is not. */
	memcpy(tag, in + 1 + SEAL_NONCE_LEN + plain_len, SEAL_TAG_LEN);
	rc = gcm(keys, false, name, in + 1, in + 1 + SEAL_NONCE_LEN, plain_len,
		 buf, tag);
	if (rc) {
		/* Unauthenticated plaintext never leaves this function. */
		explicit_bzero(buf, plain_len + 1);
		free(buf);
		return rc;
	}
	buf[plain_len] = '\0';
	*out = buf;
	*out_len = plain_len;
	return 0;
}
