/* fuzz_creds — ncf_creds_parse on hostile configure files.
 *
 * Input: byte 0 sets the profile: its low 4 bits are the profile's length
 * in bytes, taken from the bytes after it (a NUL among them ends it early);
 * bit 4 set means no profile at all (NULL, that is "DEFAULT"). The rest of
 * the input is the file text, handed over with nothing after it.
 *
 * Invariants checked, from client/creds.h:
 *   - the result is 0, -ENOENT or -EINVAL;
 *   - on 0, both keys are non-empty, shorter than NCF_KEY_MAX, single lines,
 *     and (for text without NULs) taken from the text; api_url is a string;
 *   - on failure, nothing of the text is left behind: the whole struct is
 *     zero, as ncf_creds_wipe leaves it. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/creds.h"
#include "tests/fuzz/fuzz_common.h"

#define PROFILE_LEN_MASK 0x0f
#define PROFILE_NULL_BIT 0x10

static void check_key(const char *key, const char *text, size_t len,
                      const char *what)
{
	size_t n = strnlen(key, NCF_KEY_MAX);

	fuzz_require(n > 0 && n < NCF_KEY_MAX, what);
	fuzz_require(memchr(key, '\n', n) == NULL, what);
	if (!fuzz_has_byte(text, len, '\0'))
		fuzz_require(memmem(text, len, key, n) != NULL, what);
}

static bool is_zero(const void *p, size_t size)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < size; i++) {
		if (b[i])
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ncf_credentials creds;
	size_t profile_len, len;
	char *profile, *text;
	int rc;

	if (size < 1)
		return 0;
	profile_len = data[0] & PROFILE_LEN_MASK;
	if (profile_len > size - 1)
		profile_len = size - 1;
	profile = fuzz_cstring(data + 1, profile_len);
	len = size - 1 - profile_len;
	text = fuzz_exact(data + 1 + profile_len, len);
	memset(&creds, 0xa5, sizeof(creds));
	rc = ncf_creds_parse(
	    text, len, (data[0] & PROFILE_NULL_BIT) ? NULL : profile, &creds);
	fuzz_require(rc == 0 || rc == -ENOENT || rc == -EINVAL,
	             "creds_parse returned none of 0, -ENOENT, -EINVAL");
	if (rc == 0) {
		check_key(creds.access_key, text, len, "bad access key");
		check_key(creds.secret_key, text, len, "bad secret key");
		fuzz_require(memchr(creds.api_url, '\0', NCF_KEY_MAX) != NULL,
		             "api_url not NUL-terminated");
	} else {
		fuzz_require(is_zero(&creds, sizeof(creds)),
		             "a failed parse left data behind");
	}
	ncf_creds_wipe(&creds);
	free(text);
	free(profile);
	return 0;
}
