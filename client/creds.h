/* creds — finding the access key and secret, as the NCP tools do.
 *
 * Order, first found wins: NCLOUD_ACCESS_KEY_ID / NCLOUD_SECRET_ACCESS_KEY
 * (fallbacks NCLOUD_ACCESS_KEY / NCLOUD_SECRET_KEY), then the file given
 * with -o credentials=, then ~/.ncloud/configure. Only one of the two
 * variables set is an error, not a fall-through. A file must be a regular
 * file (not a symlink) that group and others cannot access (like ssh, we
 * refuse it rather than use it). The profile is the one asked for, else
 * $NCLOUD_PROFILE, else DEFAULT. Secrets are wiped with ncf_creds_wipe
 * when no longer needed.
 *
 * The profile may also hold ncffs_cache_password, the password of a shared
 * cache server (-o cache_url=): ncffs's own key, which the NCP tools
 * ignore. */
#ifndef NCFFS_CREDS_H
#define NCFFS_CREDS_H

#include <stddef.h>

#define NCF_KEY_MAX 256

struct ncf_credentials {
	char access_key[NCF_KEY_MAX];
	char secret_key[NCF_KEY_MAX];
	char api_url[NCF_KEY_MAX];  /* ncloud_api_url, "" if none */
	char cache_password[NCF_KEY_MAX]; /* ncffs_cache_password, "" if none */
	char source[NCF_KEY_MAX];   /* where they came from, for messages */
};

/* Parses INI text in the ~/.ncloud/configure format and takes the keys of
 * section profile. Returns 0, -ENOENT when the section or a key is missing,
 * -EINVAL on an over-long value. Pure. */
int ncf_creds_parse(const char *text, size_t len, const char *profile,
		    struct ncf_credentials *out);

/* The same, and on failure a one-line reason in why (NULL: none): which
 * line holds a value that is too long, "no [work] section", "[work] has no
 * ncloud_secret_access_key", each with the first line that is neither a
 * [section] nor key = value when there is one. Never holds a value. */
int ncf_creds_parse_why(const char *text, size_t len, const char *profile,
			struct ncf_credentials *out, char *why, size_t why_size);

/* The lookup above. file and profile may be NULL.
 * Returns 0, or -errno with a one-line reason in why (never the secret). */
int ncf_creds_load(const char *file, const char *profile,
		   struct ncf_credentials *out, char *why, size_t why_size);

void ncf_creds_wipe(struct ncf_credentials *creds);

#endif
