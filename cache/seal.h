/* seal — what makes a shared cache server learn nothing and poison nothing:
 * keys derived from the account's secret, entry names that hide the paths
 * they stand for, and values sealed with AES-256-GCM.
 *
 * Invariants:
 *  - Two keys come from the secret by HKDF-SHA256 (RFC 5869), each with its
 *    own label: one encrypts, one names. The context (the API endpoint and
 *    the access key id) is the salt, so one secret used against two
 *    endpoints makes two unrelated caches. The secret itself is never kept.
 *  - A name is SEAL_NAME_PREFIX and the hex HMAC-SHA256 of the path under
 *    the naming key: the server sees neither package, action nor id, and
 *    another account's names for the same path are other names.
 *  - A sealed value is a version byte, a random 96-bit nonce, the
 *    ciphertext and a 128-bit tag. The associated data is the entry's name,
 *    so a value copied under another name fails to open, as does a flipped
 *    bit, a truncated value, or a value another account's key sealed.
 *    Random nonces are safe here: each record is sealed a handful of times
 *    per host, far below the 2^32 messages one GCM key may see.
 *  - What the server can still see: how many entries there are, their
 *    sizes (the plaintext's length plus SEAL_OVERHEAD), and when and from
 *    where each is read or written.
 *
 * Pure but for the random nonce; thread-safe (keys are read-only once
 * derived). Functions return 0 or -errno. */
#ifndef NCFFS_SEAL_H
#define NCFFS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
/* version byte + nonce + tag */
#define SEAL_OVERHEAD (1 + SEAL_NONCE_LEN + SEAL_TAG_LEN)
/* Bumped with any change to the derivation or the layout, so that old
 * entries are other names (misses), never misread. */
#define SEAL_NAME_PREFIX "ncffs:v1:"
/* The prefix, 64 hex digits and a NUL. */
#define SEAL_NAME_SIZE (sizeof(SEAL_NAME_PREFIX) - 1 + 64 + 1)

struct seal_keys {
	uint8_t enc[SEAL_KEY_LEN];
	uint8_t name[SEAL_KEY_LEN];
};

/* Derives both keys from secret (secret_len bytes) and context (any text:
 * what else an entry belongs to). 0, or -EINVAL on an empty secret, -EIO
 * when OpenSSL fails. */
int seal_keys_derive(struct seal_keys *keys, const void *secret,
		     size_t secret_len, const char *context);

/* Zeroes the keys (explicit_bzero). */
void seal_keys_wipe(struct seal_keys *keys);

/* The entry name of path into out (SEAL_NAME_SIZE bytes). 0 or -EIO. */
int seal_name(const struct seal_keys *keys, const char *path,
	      char out[SEAL_NAME_SIZE]);

/* Seals len bytes of plain for the entry name into *out, a malloc'd buffer
 * of *out_len = len + SEAL_OVERHEAD bytes the caller frees.
 * 0, -ENOMEM, or -EIO. */
int seal_value(const struct seal_keys *keys, const char *name,
	       const void *plain, size_t len, uint8_t **out, size_t *out_len);

/* Opens what seal_value made for name: 0 and a malloc'd copy of the plain
 * bytes in *out (*out_len bytes, one NUL past them) the caller frees;
 * -EBADMSG when sealed is not a value this account sealed under this name
 * (tampered, truncated, moved, foreign, another version); -ENOMEM, -EIO. */
int seal_open(const struct seal_keys *keys, const char *name,
	      const void *sealed, size_t len, uint8_t **out, size_t *out_len);

#endif
