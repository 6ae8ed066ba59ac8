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
	/* Filled by ncf_creds_find (wskprops.c): the backend the credentials
	 * are for ("ncp", "openwhisk"); for OpenWhisk the base URL they name
	 * (APIHOST + /api/v1, "" for NCP: the options decide) and the
	 * namespace. OpenWhisk's AUTH is secret_key, its APIHOST api_url. */
	char backend[16];
	char endpoint[NCF_KEY_MAX + 16];
	char namespace_name[NCF_KEY_MAX];
};

/* What the mount's options say about credentials; NULL: not given. */
struct ncf_creds_request {
	const char *backend;        /* "ncp", "openwhisk" or NULL: see below */
	const char *file, *profile; /* NCP's -o credentials=, -o profile= */
	const char *apihost;        /* OpenWhisk's -o apihost= (no secret) */
	const char *namespace_name; /* OpenWhisk's -o namespace= */
};

/* OpenWhisk's properties file (~/.wskprops, or WSK_CONFIG_FILE), as the
 * wsk CLI reads it: KEY=value lines, '#' comments; APIHOST, AUTH and
 * NAMESPACE are taken, other keys ignored. Pure; on failure a one-line
 * reason in why that never holds a value. */
int ncf_wskprops_parse(const char *text, size_t len,
		       struct ncf_credentials *out, char *why, size_t why_size);

/* The credentials of req->backend: NCP's as ncf_creds_load finds them, or
 * OpenWhisk's from the properties file (same file checks as NCP's) and the
 * environment (__OW_API_HOST, __OW_API_KEY, __OW_NAMESPACE win key by key,
 * as in the wsk CLI). The AUTH key comes only from there, never from an
 * option. Without req->backend: NCP when NCP credentials are found, else
 * OpenWhisk when a properties file or __OW_API_KEY is there, else NCP's
 * reason. Returns 0 or -errno with a one-line reason in why. */
int ncf_creds_find(const struct ncf_creds_request *req,
		   struct ncf_credentials *out, char *why, size_t why_size);

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

/* Who creds belong to, without any secret, for naming what is kept per
 * account (the disk cache): the backend, then NCP's access key id, or
 * OpenWhisk's namespace and the user id before the ':' of AUTH (the key
 * after it is the secret and never goes in). 0, or -ENAMETOOLONG. */
int ncf_creds_account(const struct ncf_credentials *creds, char *out,
		      size_t size);

void ncf_creds_wipe(struct ncf_credentials *creds);

/* Shared by the loaders of client/: a regular file, not a symlink, that
 * group and others cannot access, read whole into buf (size bytes at
 * most, a bigger one is refused). 0 or -errno with a reason in why. */
int ncf_creds_read_private_file(const char *path, char *buf, size_t size,
				size_t *len, char *why, size_t why_size);
/* $HOME, else the password database's; NULL if neither. */
const char *ncf_creds_home_dir(void);

#endif
