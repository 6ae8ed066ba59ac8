/* wskprops — OpenWhisk credentials as the wsk CLI finds them, and the
 * choice between them and NCP's (creds.h). The parser is pure; loading adds
 * the environment, the file checks NCP's credentials get, and the APIHOST
 * to base URL rule: a host without a scheme is https, as in wsk. Out of
 * scope: whisk.properties, APIGW_ACCESS_TOKEN, client certificates. */
#include "creds.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"

#define WSKPROPS_FILE_MAX (64 * 1024)
#define OPENWHISK_BASE_PATH "/api/v1"

/* The properties and environment variables, as one table. */
static const struct wsk_key {
	const char *key, *env;
	size_t offset;
} wsk_keys[] = {
	{ "APIHOST", "__OW_API_HOST", offsetof(struct ncf_credentials, api_url) },
	{ "AUTH", "__OW_API_KEY", offsetof(struct ncf_credentials, secret_key) },
	{ "NAMESPACE", "__OW_NAMESPACE",
	  offsetof(struct ncf_credentials, namespace_name) },
};

#define WSK_KEYS (sizeof(wsk_keys) / sizeof(wsk_keys[0]))

static const char *trim_start(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *trim_end(const char *s, const char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	return end;
}

static int store(struct ncf_credentials *out, const struct wsk_key *k,
		 const char *value, size_t n)
{
	char *dst = (char *)out + k->offset;

	if (n >= NCF_KEY_MAX)
		return -EINVAL;
	memcpy(dst, value, n);
	dst[n] = '\0';
	return 0;
}

/* One KEY=value line; unknown keys and lines without '=' are ignored, as
 * wsk does. */
static int parse_line(const char *s, const char *end, unsigned line,
		      struct ncf_credentials *out, char *why, size_t why_size)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *key_end, *value;
	size_t i;

	s = trim_start(s, end);
	if (!eq || s == end || *s == '#')
		return 0;
	key_end = trim_end(s, eq);
	value = trim_start(eq + 1, end);
	end = trim_end(value, end);
	for (i = 0; i < WSK_KEYS; i++) {
		size_t n = strlen(wsk_keys[i].key);

		if ((size_t)(key_end - s) != n || memcmp(s, wsk_keys[i].key, n))
			continue;
		if (store(out, &wsk_keys[i], value, (size_t)(end - value)) == 0)
			return 0;
		snprintf(why, why_size,
			 "line %u: the value of %s is longer than %d bytes", line,
			 wsk_keys[i].key, NCF_KEY_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int ncf_wskprops_parse(const char *text, size_t len,
		       struct ncf_credentials *out, char *why, size_t why_size)
{
	const char *s = text, *stop = text + len;
	unsigned line = 1;
	int rc = 0;

	while (rc == 0 && s < stop) {
		const char *nl = memchr(s, '\n', (size_t)(stop - s));
		const char *end = nl ? nl : stop;

		if (memchr(s, '\0', (size_t)(end - s))) {
			snprintf(why, why_size, "line %u holds a NUL byte", line);
			return -EINVAL;
		}
		rc = parse_line(s, end, line++, out, why, why_size);
		s = end + 1;
	}
	return rc;
}

/* ~/.wskprops, or the file WSK_CONFIG_FILE names; false when neither
 * can be named. */
static bool wskprops_path(char *out, size_t size)
{
	const char *named = getenv("WSK_CONFIG_FILE");
	const char *home;
	int n;

	if (named && *named)
		return (size_t)snprintf(out, size, "%s", named) < size;
	home = ncf_creds_home_dir();
	if (!home)
		return false;
	n = snprintf(out, size, "%s/.wskprops", home);
	return n > 0 && (size_t)n < size;
}

static bool has_env(const char *name)
{
	const char *value = getenv(name);

	return value && *value;
}

static int load_wskprops_file(const char *path, struct ncf_credentials *out,
			      char *why, size_t why_size)
{
	char *text = malloc(WSKPROPS_FILE_MAX), reason[192];
	size_t len = 0;
	int rc;

	if (!text)
		return -ENOMEM;
	rc = ncf_creds_read_private_file(path, text, WSKPROPS_FILE_MAX, &len, why,
					 why_size);
	if (rc == 0 && ncf_wskprops_parse(text, len, out, reason, sizeof(reason))) {
		snprintf(why, why_size, "OpenWhisk properties %s: %s", path, reason);
		rc = -EINVAL;
	}
	explicit_bzero(text, WSKPROPS_FILE_MAX);
	free(text);
	return rc;
}

/* The environment wins key by key over the file. */
static int load_wsk_env(struct ncf_credentials *out, char *why, size_t why_size)
{
	size_t i;

	for (i = 0; i < WSK_KEYS; i++) {
		const char *value = getenv(wsk_keys[i].env);

		if (!value || !*value)
			continue;
		if (store(out, &wsk_keys[i], value, strlen(value))) {
			snprintf(why, why_size, "%s is longer than %d bytes",
				 wsk_keys[i].env, NCF_KEY_MAX - 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* "host", "host:port", "https://host" or "http://127.0.0.1:8080" into the
 * base URL of the API, checked by the endpoint policy. */
static int openwhisk_endpoint(const char *apihost, struct ncf_credentials *out,
			      char *why, size_t why_size)
{
	const char *scheme = strstr(apihost, "://") ? "" : "https://";
	size_t n = strlen(apihost), base = strlen(OPENWHISK_BASE_PATH);
	char reason[192];
	int written;

	while (n > 0 && apihost[n - 1] == '/')
		n--;
	if (n >= base && memcmp(apihost + n - base, OPENWHISK_BASE_PATH, base) == 0)
		n -= base; /* an APIHOST that names the API already */
	written = snprintf(out->endpoint, sizeof(out->endpoint), "%s%.*s%s",
			   scheme, (int)n, apihost, OPENWHISK_BASE_PATH);
	if (written < 0 || (size_t)written >= sizeof(out->endpoint)) {
		snprintf(why, why_size, "APIHOST is too long");
		return -EINVAL;
	}
	if (!ncf_endpoint_is_allowed(out->endpoint, reason, sizeof(reason))) {
		snprintf(why, why_size, "invalid APIHOST %s: %s", apihost, reason);
		return -EINVAL;
	}
	return 0;
}

static int load_openwhisk(const struct ncf_creds_request *req,
			  struct ncf_credentials *out, char *why,
			  size_t why_size)
{
	char path[4096];
	bool file = wskprops_path(path, sizeof(path)) && access(path, F_OK) == 0;
	int rc = file ? load_wskprops_file(path, out, why, why_size) : 0;

	if (rc == 0)
		rc = load_wsk_env(out, why, why_size);
	if (rc)
		return rc;
	snprintf(out->backend, sizeof(out->backend), "openwhisk");
	snprintf(out->source, sizeof(out->source), "%.200s",
		 has_env("__OW_API_KEY") || !file ? "environment (__OW_API_KEY)"
						  : path);
	if (req->namespace_name && *req->namespace_name)
		snprintf(out->namespace_name, sizeof(out->namespace_name), "%s",
			 req->namespace_name);
	if (!out->namespace_name[0])
		snprintf(out->namespace_name, sizeof(out->namespace_name), "_");
	if (req->apihost && *req->apihost)
		snprintf(out->api_url, sizeof(out->api_url), "%s", req->apihost);
	if (!out->secret_key[0] || !out->api_url[0]) {
		snprintf(why, why_size,
			 "no OpenWhisk %s: set it in %s (or WSK_CONFIG_FILE) or __OW_%s%s",
			 out->secret_key[0] ? "APIHOST" : "AUTH", file ? path : "~/.wskprops",
			 out->secret_key[0] ? "API_HOST" : "API_KEY",
			 out->secret_key[0] ? ", or use -o apihost=" : "");
		return -ENOENT;
	}
	return openwhisk_endpoint(out->api_url, out, why, why_size);
}

/* A properties file or __OW_API_KEY is there: someone uses OpenWhisk. */
static bool has_openwhisk_setup(void)
{
	char path[4096];

	return has_env("__OW_API_KEY") ||
	       (wskprops_path(path, sizeof(path)) && access(path, F_OK) == 0);
}

int ncf_creds_find(const struct ncf_creds_request *req,
		   struct ncf_credentials *out, char *why, size_t why_size)
{
	int rc;

	if (req->backend && strcmp(req->backend, "openwhisk") == 0) {
		memset(out, 0, sizeof(*out));
		rc = load_openwhisk(req, out, why, why_size);
	} else if (req->backend && strcmp(req->backend, "ncp") != 0) {
		memset(out, 0, sizeof(*out));
		snprintf(why, why_size, "invalid backend=%s (ncp or openwhisk)",
			 req->backend);
		rc = -EINVAL;
	} else {
		rc = ncf_creds_load(req->file, req->profile, out, why, why_size);
		/* No NCP credentials at all (not bad ones): an OpenWhisk user
		 * needs no -o backend= to mount. */
		if (rc == -ENOENT && !req->backend && !req->file &&
		    has_openwhisk_setup()) {
			ncf_creds_wipe(out);
			rc = load_openwhisk(req, out, why, why_size);
		} else if (rc == 0) {
			snprintf(out->backend, sizeof(out->backend), "ncp");
		}
	}
	if (rc)
		ncf_creds_wipe(out);
	return rc;
}
