/* creds — credential lookup (see creds.h). The parser is pure; loading adds
 * the environment, file permissions and the home directory. Out of scope on
 * purpose: ncloud's encrypted or role-based credentials. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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

static int store_value(char *dst, const char *s, const char *end)
{
	size_t n = (size_t)(end - s);

	if (n >= NCF_KEY_MAX)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* One "key = value" line of the chosen section. */
static int parse_pair(const char *s, const char *end, struct ncf_credentials *out)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *key_end, *value;

	if (!eq)
		return 0;
	key_end = trim_end(s, eq);
	value = skip_blanks(eq + 1, end);
	end = trim_end(value, end);
	if (span_equals(s, key_end, "ncloud_access_key_id"))
		return store_value(out->access_key, value, end);
	if (span_equals(s, key_end, "ncloud_secret_access_key"))
		return store_value(out->secret_key, value, end);
	if (span_equals(s, key_end, "ncloud_api_url"))
		return store_value(out->api_url, value, end);
	return 0;
}

int ncf_creds_parse(const char *text, size_t len, const char *profile,
		    struct ncf_credentials *out)
{
	const char *cursor = text, *text_end = text + len;
	bool in_section = false;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!profile)
		profile = "DEFAULT";
	while (cursor < text_end && rc == 0) {
		const char *nl = memchr(cursor, '\n', (size_t)(text_end - cursor));
		const char *line_end = nl ? nl : text_end;
		const char *s = skip_blanks(cursor, line_end);
		const char *e = trim_end(s, line_end);

		cursor = nl ? nl + 1 : text_end;
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[' && e[-1] == ']') {
			in_section = span_equals(skip_blanks(s + 1, e - 1),
						 trim_end(s + 1, e - 1), profile);
			continue;
		}
		if (in_section)
			rc = parse_pair(s, e, out);
	}
	if (rc == 0 && (!out->access_key[0] || !out->secret_key[0]))
		rc = -ENOENT;
	if (rc)
		ncf_creds_wipe(out);
	return rc;
}

static int read_private_file(const char *path, char *buf, size_t size,
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
	size_t len = 0;
	int rc;

	if (!text)
		return -ENOMEM;
	rc = read_private_file(path, text, CREDS_FILE_MAX, &len, why, why_size);
	if (rc == 0) {
		rc = ncf_creds_parse(text, len, profile, out);
		if (rc)
			snprintf(why, why_size,
				 "credentials file %s has no [%s] section with ncloud_access_key_id and ncloud_secret_access_key",
				 path, profile);
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

static const char *home_dir(void)
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
	home = home_dir();
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

void ncf_creds_wipe(struct ncf_credentials *creds)
{
	if (creds)
		explicit_bzero(creds, sizeof(*creds));
}
