/* creds — credential lookup (see creds.h). The parser is pure; loading adds
 * the environment, file permissions and the home directory. Out of scope on
 * purpose: ncloud's encrypted or role-based credentials. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ncf_types.h"

/* A configure file is a few lines; anything bigger is not one. */
#define CREDS_FILE_MAX (64 * 1024)

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *trim_end(const char *start, const char *end)
{
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\r'))
		end--;
	return end;
}

static bool span_equals(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - s) == n && memcmp(s, word, n) == 0;
}

/* What the parser found, for the one-line reason of a failure. */
struct parse_state {
	const char *profile;
	unsigned line;          /* the current line, from 1 */
	bool in_section, found_section;
	unsigned first_bad;     /* first line no header, pair or comment */
	char *why;
	size_t why_size;
};

static int store_value(char *dst, const char *s, const char *end)
{
	size_t n = (size_t)(end - s);

	if (n >= NCF_KEY_MAX)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Stores one key's value; names the key and line when it is too long
 * (never the value: it may be the secret). */
static int store_key(struct parse_state *st, char *dst, const char *key,
		     const char *s, const char *end)
{
	int rc = store_value(dst, s, end);

	if (rc && st->why)
		snprintf(st->why, st->why_size,
			 "line %u: the value of %s is longer than %d bytes",
			 st->line, key, NCF_KEY_MAX - 1);
	return rc;
}

/* One "key = value" line of the chosen section. */
static int parse_pair(struct parse_state *st, const char *s, const char *end,
		      struct ncf_credentials *out)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
#define KEY(name, field) { name, offsetof(struct ncf_credentials, field) }
		KEY("ncloud_access_key_id", access_key),
		KEY("ncloud_secret_access_key", secret_key),
		KEY("ncloud_api_url", api_url),
		KEY("ncffs_cache_password", cache_password),
#undef KEY
	};
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *key_end, *value;
	size_t i;

	if (!eq) {
		if (!st->first_bad)
			st->first_bad = st->line;
		return 0;
	}
	key_end = trim_end(s, eq);
	value = skip_blanks(eq + 1, end);
	end = trim_end(value, end);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (span_equals(s, key_end, keys[i].key))
			return store_key(st, (char *)out + keys[i].offset,
					 keys[i].key, value, end);
	}
	return 0;
}

/* "[name]" switches sections. A line that opens one without closing it is
 * a bad line, noted for the reason of a failure, and switches nothing (as
 * it always did: a file that worked keeps working). */
static bool parse_header(struct parse_state *st, const char *s, const char *e)
{
	if (*s != '[')
		return false;
	if (e[-1] != ']' || e - s < 2) {
		if (!st->first_bad)
			st->first_bad = st->line;
		return true;
	}
	st->in_section = span_equals(skip_blanks(s + 1, e - 1),
				     trim_end(s + 1, e - 1), st->profile);
	st->found_section |= st->in_section;
	return true;
}

/* Why a parse that read every line found no usable keys. */
static void explain_missing(const struct parse_state *st,
			    const struct ncf_credentials *out)
{
	char bad[64] = "";

	if (st->first_bad)
		snprintf(bad, sizeof(bad),
			 " (line %u is neither [section] nor key = value)",
			 st->first_bad);
	if (!st->found_section)
		snprintf(st->why, st->why_size, "no [%s] section%s", st->profile,
			 bad);
	else if (!out->access_key[0] && !out->secret_key[0])
		snprintf(st->why, st->why_size,
			 "[%s] has no ncloud_access_key_id or ncloud_secret_access_key%s",
			 st->profile, bad);
	else
		snprintf(st->why, st->why_size, "[%s] has no %s%s", st->profile,
			 !out->access_key[0] ? "ncloud_access_key_id"
					     : "ncloud_secret_access_key",
			 bad);
}

int ncf_creds_parse_why(const char *text, size_t len, const char *profile,
			struct ncf_credentials *out, char *why, size_t why_size)
{
	const char *cursor = text, *text_end = text + len;
	struct parse_state st = { .profile = profile ? profile : "DEFAULT",
				  .why = why_size ? why : NULL,
				  .why_size = why_size };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (cursor < text_end && rc == 0) {
		const char *nl = memchr(cursor, '\n', (size_t)(text_end - cursor));
		const char *line_end = nl ? nl : text_end;
		const char *s = skip_blanks(cursor, line_end);
		const char *e = trim_end(s, line_end);

		cursor = nl ? nl + 1 : text_end;
		st.line++;
		if (s == e || *s == '#' || *s == ';' || parse_header(&st, s, e))
			continue;
		if (st.in_section)
			rc = parse_pair(&st, s, e, out);
		else if (!memchr(s, '=', (size_t)(e - s)) && !st.first_bad)
			st.first_bad = st.line;
	}
	if (rc == 0 && (!out->access_key[0] || !out->secret_key[0])) {
		if (st.why)
			explain_missing(&st, out);
		rc = -ENOENT;
	}
	if (rc)
		ncf_creds_wipe(out);
	return rc;
}

int ncf_creds_parse(const char *text, size_t len, const char *profile,
		    struct ncf_credentials *out)
{
	return ncf_creds_parse_why(text, len, profile, out, NULL, 0);
}

int ncf_creds_read_private_file(const char *path, char *buf, size_t size,
				size_t *len, char *why, size_t why_size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(why, why_size, "cannot open credentials file %s: %s",
			 path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "credentials file %s is not a regular file", path);
		rc = -EINVAL;
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, why_size,
			 "credentials file %s is accessible by group or others; run: chmod 600 %s",
			 path, path);
		rc = -EACCES;
	} else if ((n = read(fd, buf, size)) < 0 || (size_t)n >= size) {
		snprintf(why, why_size, "cannot read credentials file %s (too big or unreadable)",
			 path);
		rc = -EINVAL;
	} else {
		*len = (size_t)n;
	}
	close(fd);
	return rc;
}

static int load_file(const char *path, const char *profile,
		     struct ncf_credentials *out, char *why, size_t why_size)
{
	char *text = malloc(CREDS_FILE_MAX);
	char reason[256];
	size_t len = 0;
	int rc;

	if (!text)
		return -ENOMEM;
	rc = ncf_creds_read_private_file(path, text, CREDS_FILE_MAX, &len, why,
					 why_size);
	if (rc == 0) {
		rc = ncf_creds_parse_why(text, len, profile, out, reason,
					 sizeof(reason));
		if (rc)
			snprintf(why, why_size, "credentials file %s: %s", path, reason);
	}
	if (rc == 0)
		snprintf(out->source, sizeof(out->source), "%s [%s]", path, profile);
	explicit_bzero(text, CREDS_FILE_MAX);
	free(text);
	return rc;
}

static const char *first_env(const char *name, const char *fallback)
{
	const char *value = getenv(name);

	return value && *value ? value : getenv(fallback);
}

/* 1: found in the environment, 0: not there, -errno: half there. */
static int load_env(struct ncf_credentials *out, char *why, size_t why_size)
{
	const char *key = first_env("NCLOUD_ACCESS_KEY_ID", "NCLOUD_ACCESS_KEY");
	const char *secret =
		first_env("NCLOUD_SECRET_ACCESS_KEY", "NCLOUD_SECRET_KEY");

	if ((!key || !*key) && (!secret || !*secret))
		return 0;
	if (!key || !*key || !secret || !*secret) {
		snprintf(why, why_size,
			 "only one of NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY is set");
		return -EINVAL;
	}
	if (store_value(out->access_key, key, key + strlen(key)) ||
	    store_value(out->secret_key, secret, secret + strlen(secret))) {
		snprintf(why, why_size, "credentials in the environment are too long");
		return -EINVAL;
	}
	snprintf(out->source, sizeof(out->source), "environment");
	return 1;
}

const char *ncf_creds_home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && *home)
		return home;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

int ncf_creds_load(const char *file, const char *profile,
		   struct ncf_credentials *out, char *why, size_t why_size)
{
	char default_path[4096];
	const char *home;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!profile || !*profile)
		profile = getenv("NCLOUD_PROFILE");
	if (!profile || !*profile)
		profile = "DEFAULT";
	rc = load_env(out, why, why_size);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	if (file)
		return load_file(file, profile, out, why, why_size);
	home = ncf_creds_home_dir();
	if (!home) {
		snprintf(why, why_size, "no credentials: set NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY or use -o credentials=FILE");
		return -ENOENT;
	}
	snprintf(default_path, sizeof(default_path), "%s/.ncloud/configure", home);
	if (access(default_path, F_OK) != 0) {
		snprintf(why, why_size,
			 "no credentials: set NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY, use -o credentials=FILE, or create %s",
			 default_path);
		return -ENOENT;
	}
	return load_file(default_path, profile, out, why, why_size);
}

int ncf_creds_account(const struct ncf_credentials *creds, char *out,
		      size_t size)
{
	const char *colon = strchr(creds->secret_key, ':');
	int user_len = colon ? (int)(colon - creds->secret_key) : 0;
	int n;

	if (creds->access_key[0])
		n = snprintf(out, size, "%s\n%s", creds->backend,
			     creds->access_key);
	else
		n = snprintf(out, size, "%s\n%s\n%.*s", creds->backend,
			     creds->namespace_name, user_len,
			     creds->secret_key);
	return n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

void ncf_creds_wipe(struct ncf_credentials *creds)
{
	if (creds)
		explicit_bzero(creds, sizeof(*creds));
}
