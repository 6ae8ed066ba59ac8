/* endpoint — URL policy and the documented default hosts (see endpoint.h).
 * libcurl's URL parser decides what the host is, so this file never has
 * to second-guess userinfo, ports or IPv6 brackets. */
#include "endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct region_endpoint {
	const char *region;
	const char *api;
	const char *url;
};

static const struct region_endpoint region_endpoints[] = {
	{ "kr", "v2", "https://cloudfunctions.apigw.ntruss.com/api/v2" },
	{ "kr", "v2.1", "https://cloudfunctions.apigw.ntruss.com/ncf/api/v2" },
	{ "sg", "v2", "https://sg-cloudfunctions.apigw.ntruss.com/api/v2" },
	{ "sg", "v2.1", "https://sg-cloudfunctions.apigw.ntruss.com/ncf/api/v2" },
	{ "jp", "v2", "https://jp-cloudfunctions.apigw.ntruss.com/api/v2" },
	{ "jp", "v2.1", "https://jp-cloudfunctions.apigw.ntruss.com/ncf/api/v2" },
};

const char *ncf_endpoint_default(const char *region, const char *api)
{
	size_t i;

	if (!region || !api)
		return NULL;
	for (i = 0; i < sizeof(region_endpoints) / sizeof(region_endpoints[0]);
	     i++) {
		if (strcmp(region_endpoints[i].region, region) == 0 &&
		    strcmp(region_endpoints[i].api, api) == 0)
			return region_endpoints[i].url;
	}
	return NULL;
}

const char *ncf_platform_default(const char *region, const char *api)
{
	if (region && (strcmp(region, "sg") == 0 || strcmp(region, "jp") == 0))
		return "vpc";
	if (api && strcmp(api, "v2.1") == 0)
		return "vpc";
	return "classic";
}

/* localhost, an IPv4 literal in 127.0.0.0/8, or ::1; a name that only
 * starts with "127." (127.0.0.1.example.com) is not loopback. */
static bool is_loopback_host(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	char bare[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (n >= 2 && n < sizeof(bare) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(bare, host + 1, n - 2);
		bare[n - 2] = '\0';
		host = bare;
	}
	return inet_pton(AF_INET6, host, &v6) == 1 &&
	       IN6_IS_ADDR_LOOPBACK(&v6);
}

static bool check_parts(CURLU *url, char *why, size_t why_size)
{
	char *scheme = NULL, *host = NULL, *query = NULL, *fragment = NULL;
	bool ok = false;

	if (curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, why_size, "endpoint has no scheme or host");
		goto out;
	}
	if (curl_url_get(url, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(url, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
		snprintf(why, why_size, "endpoint must not carry a query or fragment");
		goto out;
	}
	if (strcmp(scheme, "https") == 0) {
		ok = true;
	} else if (strcmp(scheme, "http") == 0 && is_loopback_host(host)) {
		ok = true;
	} else {
		snprintf(why, why_size,
			 "endpoint must be https:// (plain http:// is allowed only for loopback hosts)");
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(query);
	curl_free(fragment);
	return ok;
}

bool ncf_endpoint_is_allowed(const char *url, char *why, size_t why_size)
{
	CURLU *parsed;
	bool ok;

	if (!url || !*url) {
		snprintf(why, why_size, "endpoint is empty");
		return false;
	}
	parsed = curl_url();
	if (!parsed) {
		snprintf(why, why_size, "out of memory");
		return false;
	}
	if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(why, why_size, "endpoint is not a valid URL");
		ok = false;
	} else {
		ok = check_parts(parsed, why, why_size);
	}
	curl_url_cleanup(parsed);
	return ok;
}
