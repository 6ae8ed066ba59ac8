/* test_seal — sealed cache entries (cache/seal.h): the keys are RFC 5869
 * HKDF-SHA256 (checked against HKDF written out here with two HMACs), a
 * value survives a round trip, and every way a shared server could hand
 * back something else fails to open: a flipped bit anywhere, a truncated
 * value, a value sealed by another account or for another entry, another
 * version. Names hide the paths they stand for. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cache/seal.h"

#define SECRET "emulator-secret-key"
#define OTHER_SECRET "another-accounts-secret"
#define CONTEXT "http://127.0.0.1:1/api/v2\nemulator-access-key"
#define PATH "R/packages/shop/actions/checkout/activations/0123456789abcdef0123456789abcdef"
#define PLAIN "{\"activationId\":\"0123\",\"logs\":[\"card 4111 declined\"]}"

static void derive(struct seal_keys *keys, const char *secret)
{
	assert_int_equal(seal_keys_derive(keys, secret, strlen(secret), CONTEXT), 0);
}

static void seal_plain(const struct seal_keys *keys, const char *name,
		       uint8_t **sealed, size_t *len)
{
	assert_int_equal(seal_value(keys, name, PLAIN, strlen(PLAIN), sealed, len), 0);
	assert_int_equal(*len, strlen(PLAIN) + SEAL_OVERHEAD);
}

/* RFC 5869 for one block: PRK = HMAC(salt, IKM), OKM = HMAC(PRK, info|1). */
static void reference_hkdf(const char *secret, const char *salt,
			   const char *info, uint8_t out[32])
{
	uint8_t prk[32], block[256];
	unsigned int n = 0;
	size_t info_len = strlen(info);

	assert_non_null(HMAC(EVP_sha256(), salt, (int)strlen(salt),
			     (const unsigned char *)secret, strlen(secret), prk, &n));
	memcpy(block, info, info_len);
	block[info_len] = 1;
	assert_non_null(HMAC(EVP_sha256(), prk, 32, block, info_len + 1, out, &n));
	assert_int_equal(n, 32);
}

static void keys_are_hkdf_sha256_with_one_label_each(void **state)
{
	struct seal_keys keys;
	uint8_t enc[32], name[32];

	(void)state;
	derive(&keys, SECRET);
	reference_hkdf(SECRET, CONTEXT, "ncffs cache v1 encryption", enc);
	reference_hkdf(SECRET, CONTEXT, "ncffs cache v1 entry names", name);
	assert_memory_equal(keys.enc, enc, 32);
	assert_memory_equal(keys.name, name, 32);
	assert_memory_not_equal(keys.enc, keys.name, 32);
	seal_keys_wipe(&keys);
}

static void an_empty_secret_is_refused(void **state)
{
	struct seal_keys keys;

	(void)state;
	assert_int_equal(seal_keys_derive(&keys, "", 0, CONTEXT), -EINVAL);
	assert_int_equal(seal_keys_derive(&keys, NULL, 3, CONTEXT), -EINVAL);
}

static void a_value_survives_the_round_trip(void **state)
{
	struct seal_keys keys;
	char name[SEAL_NAME_SIZE];
	uint8_t *sealed, *plain;
	size_t len, plain_len;

	(void)state;
	derive(&keys, SECRET);
	assert_int_equal(seal_name(&keys, PATH, name), 0);
	seal_plain(&keys, name, &sealed, &len);
	/* Sealed bytes do not carry the plain text. */
	assert_null(memmem(sealed, len, "declined", 8));
	assert_int_equal(seal_open(&keys, name, sealed, len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, strlen(PLAIN));
	assert_memory_equal(plain, PLAIN, plain_len);
	assert_int_equal(plain[plain_len], '\0');
	free(plain);
	free(sealed);
}

static void an_empty_value_survives_the_round_trip(void **state)
{
	struct seal_keys keys;
	uint8_t *sealed, *plain;
	size_t len, plain_len;

	(void)state;
	derive(&keys, SECRET);
	assert_int_equal(seal_value(&keys, "n", "", 0, &sealed, &len), 0);
	assert_int_equal(len, SEAL_OVERHEAD);
	assert_int_equal(seal_open(&keys, "n", sealed, len, &plain, &plain_len), 0);
	assert_int_equal(plain_len, 0);
	free(plain);
	free(sealed);
}

static void two_seals_of_one_value_differ(void **state)
{
	struct seal_keys keys;
	uint8_t *a, *b;
	size_t la, lb;

	(void)state;
	derive(&keys, SECRET);
	seal_plain(&keys, "n", &a, &la);
	seal_plain(&keys, "n", &b, &lb);
	/* A fresh nonce each time: equal records are not equal entries. */
	assert_memory_not_equal(a, b, la);
	free(a);
	free(b);
}

static void every_flipped_byte_is_rejected(void **state)
{
	struct seal_keys keys;
	uint8_t *sealed, *plain = NULL;
	size_t len, plain_len, i;

	(void)state;
	derive(&keys, SECRET);
	seal_plain(&keys, "n", &sealed, &len);
	for (i = 0; i < len; i++) {
		sealed[i] ^= 0x01;
		assert_int_equal(seal_open(&keys, "n", sealed, len, &plain, &plain_len),
				 -EBADMSG);
		assert_null(plain);
		assert_int_equal(plain_len, 0);
		sealed[i] ^= 0x01;
	}
	assert_int_equal(seal_open(&keys, "n", sealed, len, &plain, &plain_len), 0);
	free(plain);
	free(sealed);
}

static void every_truncation_is_rejected(void **state)
{
	struct seal_keys keys;
	uint8_t *sealed, *plain = NULL;
	size_t len, plain_len, cut;

	(void)state;
	derive(&keys, SECRET);
	seal_plain(&keys, "n", &sealed, &len);
	for (cut = 0; cut < len; cut++) {
		assert_int_equal(seal_open(&keys, "n", sealed, cut, &plain, &plain_len),
				 -EBADMSG);
		assert_null(plain);
	}
	free(sealed);
}

static void another_accounts_entry_is_rejected(void **state)
{
	struct seal_keys mine, theirs;
	char name[SEAL_NAME_SIZE];
	uint8_t *sealed, *plain = NULL;
	size_t len, plain_len;

	(void)state;
	derive(&mine, SECRET);
	derive(&theirs, OTHER_SECRET);
	assert_int_equal(seal_name(&theirs, PATH, name), 0);
	seal_plain(&theirs, name, &sealed, &len);
	assert_int_equal(seal_open(&mine, name, sealed, len, &plain, &plain_len),
			 -EBADMSG);
	assert_null(plain);
	free(sealed);
}

static void an_entry_moved_under_another_name_is_rejected(void **state)
{
	struct seal_keys keys;
	char name[SEAL_NAME_SIZE], other[SEAL_NAME_SIZE];
	uint8_t *sealed, *plain = NULL;
	size_t len, plain_len;

	(void)state;
	derive(&keys, SECRET);
	assert_int_equal(seal_name(&keys, PATH, name), 0);
	assert_int_equal(seal_name(&keys, PATH "0", other), 0);
	seal_plain(&keys, name, &sealed, &len);
	assert_int_equal(seal_open(&keys, other, sealed, len, &plain, &plain_len),
			 -EBADMSG);
	assert_null(plain);
	free(sealed);
}

static void another_version_is_rejected(void **state)
{
	struct seal_keys keys;
	uint8_t *sealed, *plain = NULL;
	size_t len, plain_len;

	(void)state;
	derive(&keys, SECRET);
	seal_plain(&keys, "n", &sealed, &len);
	sealed[0] = 2;
	assert_int_equal(seal_open(&keys, "n", sealed, len, &plain, &plain_len),
			 -EBADMSG);
	free(sealed);
}

static void names_hide_the_path_and_depend_on_the_account(void **state)
{
	struct seal_keys mine, theirs, other_endpoint;
	char a[SEAL_NAME_SIZE], b[SEAL_NAME_SIZE], c[SEAL_NAME_SIZE], d[SEAL_NAME_SIZE];
	const size_t prefix = strlen(SEAL_NAME_PREFIX);
	size_t i;

	(void)state;
	derive(&mine, SECRET);
	derive(&theirs, OTHER_SECRET);
	assert_int_equal(seal_keys_derive(&other_endpoint, SECRET, strlen(SECRET),
					  "https://elsewhere/api/v2\nemulator-access-key"), 0);
	assert_int_equal(seal_name(&mine, PATH, a), 0);
	assert_int_equal(seal_name(&mine, PATH, b), 0);
	assert_int_equal(seal_name(&theirs, PATH, c), 0);
	assert_int_equal(seal_name(&other_endpoint, PATH, d), 0);
	assert_string_equal(a, b); /* stable: every host finds the entry */
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strlen(a), SEAL_NAME_SIZE - 1);
	assert_memory_equal(a, SEAL_NAME_PREFIX, prefix);
	for (i = prefix; a[i]; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_null(strstr(a, "shop"));
	assert_null(strstr(a, "checkout"));
	assert_null(strstr(a, "0123456789abcdef0123"));
}

static void wiped_keys_are_zero(void **state)
{
	struct seal_keys keys;
	static const uint8_t zero[sizeof(keys)];

	(void)state;
	derive(&keys, SECRET);
	seal_keys_wipe(&keys);
	assert_memory_equal(&keys, zero, sizeof(keys));
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_are_hkdf_sha256_with_one_label_each),
		cmocka_unit_test(an_empty_secret_is_refused),
		cmocka_unit_test(a_value_survives_the_round_trip),
		cmocka_unit_test(an_empty_value_survives_the_round_trip),
		cmocka_unit_test(two_seals_of_one_value_differ),
		cmocka_unit_test(every_flipped_byte_is_rejected),
		cmocka_unit_test(every_truncation_is_rejected),
		cmocka_unit_test(another_accounts_entry_is_rejected),
		cmocka_unit_test(an_entry_moved_under_another_name_is_rejected),
		cmocka_unit_test(another_version_is_rejected),
		cmocka_unit_test(names_hide_the_path_and_depend_on_the_account),
		cmocka_unit_test(wiped_keys_are_zero),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
