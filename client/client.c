/* client — signed GETs against the NCP Cloud Functions API (ncf_client.h).
 *
 * Connections: easy handles are pooled and all of them share one curl share
 * handle for connections, DNS and TLS sessions, so a worker thread reuses a
 * warm keep-alive connection instead of paying a handshake per request.
 * Retries: libcurl retries nothing by itself, so attempts and backoff live
 * here; a failure is logged once, after the last attempt. Every attempt is
 * admitted by the scheduler (scheduler.h), which also answers 429s for the
 * whole mount: it paces all sending and pauses on Retry-After, so a
 * throttled request goes back in line instead of sleeping on its own, and
 * does not spend the retry budget until throttle_wait is over.
 * Never enabled: CURLOPT_VERBOSE (it would print the signing headers). */
#include "ncf_client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>

#include <curl/curl.h>

#include "backend.h"
#include "errmap.h"
#include "json.h"
#include "metrics.h"
#include "names.h"
#include "request.h"
#include "scheduler.h"
#include "sign.h"

#define CONNECTIONS_KEPT 64
#define URL_MAX (TARGET_MAX + 512) /* origin + target */
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define RETRY_AFTER_MAX_S 30
#define THROTTLE_WAIT_S 60
/* Requests given up on are logged one line per burst: the first, then a
 * count of the others, at most this often. */
#define GIVE_UP_LOG_MS 10000
#define CLOCK_SKEW_MAX_S 300
/* The probe's package list serves the first listing only this long after
 * it: a mount from fstab may see its first ls hours later. */
#define PROBE_REUSE_MS 10000

struct ncf_client {
	const struct ncf_backend_ops *ops;
	char *namespace_name; /* OpenWhisk's, "_" by default; NULL for NCP */
	char *origin;    /* scheme://authority, no trailing slash */
	char *base_path; /* "/api/v2", no trailing slash, may be "" */
	char *platform;
	char *access_key;
	char *secret_key;
	char *cafile;
	long timeout_s;
	int retries;
	size_t max_body;
	atomic_size_t page_size;
	ncf_log_fn log;
	void *log_ctx;
	ncf_transport_fn transport;
	void *transport_ctx;
	long utc_offset_s; /* of the region, for v2.0 start/end */

	pthread_mutex_t probe_lock;
	struct ncf_listing *probed; /* see request_take_probed_packages */
	struct timespec probed_at;

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	/* Idle handles, as many as the shared cache keeps connections: a
	 * handle beyond that would find no connection of its own to reuse. */
	CURL *idle[CONNECTIONS_KEPT];
	size_t idle_count;

	atomic_uint_fast64_t requests, retried, failures;
	atomic_bool cancelled;
	struct metrics *metrics;

	struct sched *sched;
	long throttle_wait_s;
	pthread_mutex_t give_up_lock;
	struct timespec give_up_logged; /* zero: never */
	unsigned long give_ups_unlogged;
};


/* ---- logging ----------------------------------------------------------- */

void logf_client(const struct ncf_client *c, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!c->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->log(c->log_ctx, level, line);
}

/* ---- the share handle and the pool ------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data,
		       curl_lock_access access, void *userptr)
{
	struct ncf_client *c = userptr;

	(void)handle;
	(void)access;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	struct ncf_client *c = userptr;

	(void)handle;
	pthread_mutex_unlock(&c->share_locks[data]);
}

static int share_init(struct ncf_client *c)
{
	int i;

	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->share = curl_share_init();
	if (!c->share)
		return -ENOMEM;
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

static CURL *pool_take(struct ncf_client *c)
{
	CURL *easy = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->idle_count > 0)
		easy = c->idle[--c->idle_count];
	pthread_mutex_unlock(&c->pool_lock);
	if (!easy) {
		easy = curl_easy_init();
		if (easy)
			curl_easy_setopt(easy, CURLOPT_SHARE, c->share);
	}
	return easy;
}

static void pool_put(struct ncf_client *c, CURL *easy)
{
	pthread_mutex_lock(&c->pool_lock);
	if (c->idle_count < CONNECTIONS_KEPT) {
		c->idle[c->idle_count++] = easy;
		easy = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	curl_easy_cleanup(easy);
}

/* ---- one attempt ------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t count, void *userp)
{
	struct response *resp = userp;
	size_t n = size * count;
	char *grown;

	if (n > resp->max - resp->len)
		return 0; /* past the body limit: curl aborts with WRITE_ERROR */
	if (resp->len + n + 1 > resp->capacity) {
		size_t capacity = resp->capacity ? resp->capacity : 16384;
		while (capacity < resp->len + n + 1)
			capacity *= 2;
		grown = realloc(resp->data, capacity);
		if (!grown) {
			/* Not "too big": see body_failure. */
			resp->no_memory = true;
			return 0;
		}
		resp->data = grown;
		resp->capacity = capacity;
	}
	memcpy(resp->data + resp->len, data, n);
	resp->len += n;
	resp->data[resp->len] = '\0';
	return n;
}

/* The value of header line "Name: value\r\n" when it is named name, into
 * value (NUL-terminated); false when it is another header or too long. */
static bool header_value(const char *line, size_t n, const char *name,
			 char *value, size_t size)
{
	size_t name_len = strlen(name);

	if (n <= name_len || n - name_len >= size ||
	    strncasecmp(line, name, name_len) != 0)
		return false;
	memcpy(value, line + name_len, n - name_len);
	value[n - name_len] = '\0';
	return true;
}

/* Retry-After is seconds or an HTTP date (RFC 9110 10.2.3); -1 when it is
 * neither. A date in the past means now. */
static long retry_after_seconds(const char *value)
{
	time_t when, now;

	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		long seconds = strtol(value, NULL, 10);

		return seconds >= 0 ? seconds : -1;
	}
	when = curl_getdate(value, NULL);
	if (when < 0)
		return -1;
	now = time(NULL);
	return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *line, size_t size, size_t count, void *userp)
{
	struct response *resp = userp;
	size_t n = size * count;
	char value[128];

	if (header_value(line, n, "Date:", value, sizeof(value)))
		resp->server_date = curl_getdate(value, NULL);
	else if (header_value(line, n, "Retry-After:", value, sizeof(value)))
		resp->retry_after_s = retry_after_seconds(value);
	return n;
}

/* curl calls this about once a second and on every chunk; a non-zero
 * answer aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	const struct ncf_client *c = userp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&c->cancelled) ? 1 : 0;
}

static struct curl_slist *append_header(struct curl_slist *headers,
					const char *name, const char *value)
{
	char line[NCF_SIGNATURE_SIZE + 320];
	struct curl_slist *next;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	next = curl_slist_append(headers, line);
	explicit_bzero(line, sizeof(line));
	if (!next)
		curl_slist_free_all(headers);
	return next;
}

/* A fresh timestamp and signature for every attempt: a retry after a long
 * backoff must not reuse a timestamp the gateway may find stale. */
struct curl_slist *ncp_headers(const struct ncf_client *c, const char *target)
{
	char timestamp[32], signature[NCF_SIGNATURE_SIZE];
	struct curl_slist *headers = NULL;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(timestamp, sizeof(timestamp), "%lld",
		 (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if (ncf_sign("GET", target, timestamp, c->access_key, c->secret_key,
		     signature) != 0)
		return NULL;
	headers = append_header(headers, "Accept", "application/json");
	if (headers)
		headers = append_header(headers, "x-ncp-apigw-timestamp", timestamp);
	if (headers)
		headers = append_header(headers, "x-ncp-iam-access-key", c->access_key);
	if (headers)
		headers = append_header(headers, "x-ncp-apigw-signature-v2", signature);
	return headers;
}

static void set_request_options(const struct ncf_client *c, CURL *easy,
				const char *url, struct curl_slist *headers,
				struct response *resp)
{
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, resp);
	/* Signals and threads do not mix; timeouts still work without them. */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, c->timeout_s);
	/* A server that accepts and then goes quiet is caught by the low-speed
	 * check: less than a byte per second for timeout_s seconds. */
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, c->timeout_s);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	/* The shared cache closes idle connections beyond this count (default
	 * 5); with 16 prefetch fetches in flight that meant a new connection,
	 * and a new TLS handshake, for almost every request. */
	curl_easy_setopt(easy, CURLOPT_MAXCONNECTS, (long)CONNECTIONS_KEPT);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)c);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cafile) {
		/* CAINFO alone would replace the system store; keeping CAPATH
		 * makes cafile an addition, as documented. */
		curl_easy_setopt(easy, CURLOPT_CAINFO, c->cafile);
		curl_easy_setopt(easy, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1000.0 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* Our write callback refused the body: too big, or no memory to keep it
 * (curl reports both as a write error). */
static CURLcode body_failure(const struct response *resp)
{
	return resp->no_memory ? CURLE_OUT_OF_MEMORY : CURLE_WRITE_ERROR;
}

/* The test transport in place of libcurl: same counting, same limits. */
static CURLcode attempt_transport(struct ncf_client *c, const char *target,
				  struct response *resp, int attempt_no)
{
	struct ncf_transport_reply reply = { 0 };
	struct timespec started;

	atomic_fetch_add(&c->requests, 1);
	metrics_begin(c->metrics);
	clock_gettime(CLOCK_MONOTONIC, &started);
	c->transport(c->transport_ctx, target, &reply);
	resp->status = reply.failed ? 0 : reply.status;
	metrics_end(c->metrics, target, strlen(c->base_path), resp->status,
		    elapsed_ms(&started), attempt_no > 0);
	if (reply.failed)
		return CURLE_COULDNT_CONNECT;
	if (reply.retry_after)
		resp->retry_after_s = retry_after_seconds(reply.retry_after);
	if (reply.len && on_body((char *)reply.body, 1, reply.len, resp) != reply.len)
		return body_failure(resp);
	return CURLE_OK;
}

static CURLcode attempt(struct ncf_client *c, const char *target,
			const char *url, struct response *resp, int attempt_no)
{
	struct timespec started;
	struct curl_slist *headers;
	CURL *easy;
	CURLcode code;

	resp->len = 0;
	resp->status = 0;
	resp->retry_after_s = -1;
	resp->server_date = -1;
	resp->no_memory = false;
	if (c->transport)
		return attempt_transport(c, target, resp, attempt_no);
	headers = c->ops->headers(c, target);
	easy = pool_take(c);
	if (!headers || !easy) {
		curl_slist_free_all(headers);
		if (easy)
			pool_put(c, easy);
		return CURLE_OUT_OF_MEMORY;
	}
	set_request_options(c, easy, url, headers, resp);
	atomic_fetch_add(&c->requests, 1);
	metrics_begin(c->metrics);
	clock_gettime(CLOCK_MONOTONIC, &started);
	code = curl_easy_perform(easy);
	if (code == CURLE_WRITE_ERROR)
		code = body_failure(resp);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	metrics_end(c->metrics, target, strlen(c->base_path),
		    code == CURLE_OK ? resp->status : 0, elapsed_ms(&started),
		    attempt_no > 0);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	pool_put(c, easy);
	curl_slist_free_all(headers);
	return code;
}

/* ---- retries and errors ------------------------------------------------ */

/* Sleeps in short slices so that a cancel is noticed within 100 ms. */
static void sleep_ms(const struct ncf_client *c, long ms)
{
	while (ms > 0 && !atomic_load(&c->cancelled)) {
		long slice = ms < 100 ? ms : 100;
		struct timespec ts = { 0, slice * 1000000L };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		ms -= slice;
	}
}

/* Exponential backoff with full jitter; Retry-After wins when given. */
static long backoff_ms(int attempt_no, long retry_after_s)
{
	unsigned int noise = 0;
	long ceiling = BACKOFF_FIRST_MS << (attempt_no < 5 ? attempt_no : 5);

	if (retry_after_s >= 0)
		return (retry_after_s < RETRY_AFTER_MAX_S ? retry_after_s
							  : RETRY_AFTER_MAX_S) * 1000;
	if (ceiling > BACKOFF_MAX_MS)
		ceiling = BACKOFF_MAX_MS;
	if (getrandom(&noise, sizeof(noise), GRND_NONBLOCK) != sizeof(noise))
		noise = (unsigned int)time(NULL);
	return ceiling / 2 + (long)(noise % (unsigned long)(ceiling / 2 + 1));
}

static void describe_failure(const struct response *resp, CURLcode code,
			     struct ncf_error *err)
{
	memset(err, 0, sizeof(*err));
	err->http_status = code == CURLE_OK ? resp->status : 0;
	if (code != CURLE_OK) {
		snprintf(err->message, sizeof(err->message), "%s",
			 code == CURLE_WRITE_ERROR ? "response larger than max_body"
						   : curl_easy_strerror(code));
		return;
	}
	ncf_json_decode_error(resp->data, resp->len, err);
	if (!err->message[0]) /* an HTML page from a proxy, or nothing */
		snprintf(err->message, sizeof(err->message),
			 "no error details in the response (%zu bytes)", resp->len);
	if (resp->status == 401 && resp->server_date > 0) {
		long skew = (long)(time(NULL) - resp->server_date);
		if (skew > CLOCK_SKEW_MAX_S || skew < -CLOCK_SKEW_MAX_S) {
			err->clock_skew = true;
			snprintf(err->message, sizeof(err->message),
				 "local clock differs from the server's by %ld s (signatures are valid for 5 min)",
				 skew);
		}
	}
}

/* origin + target into url; a URL that does not fit is refused here,
 * before any attempt: a cut one would ask for another object. */
static int make_url(const struct ncf_client *c, const char *target, char *url,
		    size_t size, struct ncf_error *err)
{
	int n = snprintf(url, size, "%s%s", c->origin, target);

	if (n > 0 && (size_t)n < size)
		return 0;
	memset(err, 0, sizeof(*err));
	snprintf(err->message, sizeof(err->message),
		 "request URL longer than %zu bytes", size - 1);
	logf_client(c, LOG_WARNING, "GET %s: %s", target, err->message);
	return -ENAMETOOLONG;
}

static enum sched_outcome outcome_of(CURLcode code, const struct response *resp)
{
	if (code != CURLE_OK)
		return SCHED_NO_ANSWER;
	return resp->status == 429 ? SCHED_THROTTLED : SCHED_ANSWERED;
}

/* One attempt, admitted by the scheduler at the thread's priority. */
static CURLcode scheduled_attempt(struct ncf_client *c, const char *target,
				  const char *url, struct response *resp,
				  int attempt_no)
{
	struct timespec started;
	CURLcode code;

	if (sched_acquire(c->sched, sched_thread_priority()) != 0)
		return CURLE_ABORTED_BY_CALLBACK;
	clock_gettime(CLOCK_MONOTONIC, &started);
	code = attempt(c, target, url, resp, attempt_no);
	sched_release(c->sched, outcome_of(code, resp), elapsed_ms(&started),
		      resp->retry_after_s, c->throttle_wait_s);
	return code;
}

/* A 429 within throttle_wait of the first: back in line, free of charge
 * (the scheduler already slowed the mount down for it). */
static bool is_throttle_retry(const struct ncf_client *c, CURLcode code,
			      const struct response *resp,
			      struct timespec *first)
{
	if (code != CURLE_OK || resp->status != 429 || atomic_load(&c->cancelled))
		return false;
	if (first->tv_sec == 0 && first->tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, first);
	return elapsed_ms(first) < (double)c->throttle_wait_s * 1000.0;
}

/* A request given up on after 429s: the first of a burst is logged with
 * its target, the rest are counted into the next line. */
static void log_give_up(struct ncf_client *c, const char *target,
			const struct ncf_error *err, int rc)
{
	unsigned long others = 0;
	bool quiet;

	pthread_mutex_lock(&c->give_up_lock);
	quiet = (c->give_up_logged.tv_sec || c->give_up_logged.tv_nsec) &&
		elapsed_ms(&c->give_up_logged) < GIVE_UP_LOG_MS;
	if (quiet) {
		c->give_ups_unlogged++;
	} else {
		others = c->give_ups_unlogged;
		c->give_ups_unlogged = 0;
		clock_gettime(CLOCK_MONOTONIC, &c->give_up_logged);
	}
	pthread_mutex_unlock(&c->give_up_lock);
	if (!quiet)
		logf_client(c, LOG_WARNING,
			    "GET %s: gave up (%s) after %ld s of HTTP 429 errorCode %s: %s; %lu other request%s given up on since the last such line",
			    target, strerror(-rc), c->throttle_wait_s,
			    err->code[0] ? err->code : "-", err->message, others,
			    others == 1 ? "" : "s");
}

static void log_failure(struct ncf_client *c, const char *target,
			const struct ncf_error *err, int rc, int tries)
{
	if (err->http_status == 429)
		log_give_up(c, target, err, rc);
	else if (err->http_status)
		logf_client(c, rc == -ENOENT ? LOG_DEBUG : LOG_WARNING,
			    "GET %s: HTTP %ld%s%s: %s (after %d attempt%s)", target,
			    err->http_status, err->code[0] ? " errorCode " : "",
			    err->code, err->message, tries + 1, tries ? "s" : "");
	else if (rc != -ECANCELED) /* our own cancel, at unmount: not a failure */
		logf_client(c, LOG_WARNING, "GET %s: no answer: %s (after %d attempt%s)",
			    target, err->message, tries + 1, tries ? "s" : "");
}

int request_get(struct ncf_client *c, const char *target, struct response *resp,
		struct ncf_error *err)
{
	struct timespec first_throttle = { 0, 0 };
	struct ncf_error local;
	char url[URL_MAX];
	CURLcode code;
	int tries = 0, attempts = 0, rc;

	if (!err)
		err = &local;
	if (!resp->max)
		resp->max = c->max_body;
	if (atomic_load(&c->cancelled))
		return -ECANCELED;
	rc = make_url(c, target, url, sizeof(url), err);
	if (rc)
		return rc;
	for (;;) {
		code = scheduled_attempt(c, target, url, resp, attempts++);
		if (code == CURLE_OK && resp->status >= 200 && resp->status < 300)
			return 0;
		if (is_throttle_retry(c, code, resp, &first_throttle)) {
			atomic_fetch_add(&c->retried, 1);
			continue;
		}
		if (tries >= c->retries || atomic_load(&c->cancelled) ||
		    !ncf_is_retryable(resp->status, code))
			break;
		atomic_fetch_add(&c->retried, 1);
		sleep_ms(c, backoff_ms(tries++, resp->status == 429
						       ? -1 : resp->retry_after_s));
	}
	describe_failure(resp, code, err);
	rc = code != CURLE_OK ? ncf_errno_from_curl(code)
			      : ncf_errno_from_http(resp->status, err->code);
	atomic_fetch_add(&c->failures, 1);
	if (err->http_status == 400 && resp->quiet_bad_request)
		return rc;
	log_failure(c, target, err, rc, tries);
	return rc;
}

/* ---- request targets --------------------------------------------------- */

/* v2.1 (under /ncf/) takes epoch ms; v2.0 a wall-clock time of the region
 * (no zone in the text, so the offset is ours to apply). */
static void query_time(const struct ncf_client *c, int64_t ms, char *out,
		       size_t size)
{
	time_t local;
	struct tm tm;

	if (strncmp(c->base_path, "/ncf/", 5) == 0) {
		snprintf(out, size, "%lld", (long long)ms);
		return;
	}
	local = (time_t)(ms / 1000) + c->utc_offset_s;
	if (!gmtime_r(&local, &tm) ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		out[0] = '\0';
}

static int append(char *out, size_t size, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int append(char *out, size_t size, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= size)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(out + *at, size - *at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *at)
		return -ENAMETOOLONG;
	*at += (size_t)n;
	return 0;
}

int request_target_query(const struct ncf_client *c, char *out, size_t size,
			 const char *path, const struct request_query *q)
{
	char when[32];
	size_t at = 0;
	int rc = append(out, size, &at, "%s%s?platform=%s", c->base_path, path,
			c->platform);

	if (rc == 0 && q->page_no)
		rc = append(out, size, &at, "&pageNo=%zu&pageSize=%zu", q->page_no,
			    q->page_size);
	if (rc == 0 && q->start_ms != NCF_UNKNOWN) {
		query_time(c, q->start_ms, when, sizeof(when));
		rc = append(out, size, &at, "&start=%s", when);
	}
	if (rc == 0 && q->end_ms != NCF_UNKNOWN) {
		query_time(c, q->end_ms, when, sizeof(when));
		rc = append(out, size, &at, "&end=%s", when);
	}
	return rc;
}

int request_target(const struct ncf_client *c, char *out, size_t size,
		   const char *path, size_t page_no, size_t page_size)
{
	const struct request_query q = { page_no, page_size, NCF_UNKNOWN,
					 NCF_UNKNOWN };

	return request_target_query(c, out, size, path, &q);
}

/* ---- single objects ---------------------------------------------------- */

static int get_one(struct ncf_client *c, const char *path, struct response *resp,
		   struct ncf_error *err)
{
	char target[TARGET_MAX];
	int rc = request_target(c, target, sizeof(target), path, 0, 0);

	return rc ? rc : request_get(c, target, resp, err);
}

static int get_blob(struct ncf_client *c, const char *path,
		    struct ncf_blob **out, struct ncf_error *err)
{
	struct response resp = { 0 };
	int rc = get_one(c, path, &resp, err);

	if (rc == 0)
		rc = ncf_json_pretty_content(resp.data, resp.len, out);
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed response", path);
	free(resp.data);
	return rc;
}

int ncp_get_action(struct ncf_client *c, const char *pkg, const char *action,
		   struct ncf_blob **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/packages/%s/actions/%s", pkg, action);
	return get_blob(c, path, out, err);
}

int ncp_get_trigger(struct ncf_client *c, const char *trigger,
		    struct ncf_blob **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/triggers/%s", trigger);
	return get_blob(c, path, out, err);
}

static int get_record(struct ncf_client *c, const char *path, const char *id,
		      struct ncf_activation **out, struct ncf_error *err)
{
	struct response resp = { 0 };
	int rc = get_one(c, path, &resp, err);

	if (rc == 0)
		rc = ncf_json_decode_activation(resp.data, resp.len, out);
	if (rc == 0 && strcmp((*out)->id, id) != 0) {
		/* A record for another id would be served under this name. */
		ncf_activation_free(*out);
		*out = NULL;
		rc = -EBADMSG;
	}
	if (rc == -EBADMSG)
		logf_client(c, LOG_WARNING, "GET %s: malformed activation record", path);
	free(resp.data);
	return rc;
}

int ncp_get_activation(struct ncf_client *c, const char *pkg,
		       const char *action, const char *id,
		       struct ncf_activation **out, struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/packages/%s/actions/%s/activations/%s",
		 pkg, action, id);
	return get_record(c, path, id, out, err);
}

int ncp_get_trigger_activation(struct ncf_client *c, const char *trigger,
			       const char *id, struct ncf_activation **out,
			       struct ncf_error *err)
{
	char path[TARGET_MAX];

	snprintf(path, sizeof(path), "/triggers/%s/activations/%s", trigger, id);
	return get_record(c, path, id, out, err);
}

int request_get_path(struct ncf_client *c, const char *path,
		     struct response *resp, struct ncf_error *err)
{
	char target[TARGET_MAX];
	int n = snprintf(target, sizeof(target), "%s%s", c->base_path, path);

	if (n < 0 || (size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	return request_get(c, target, resp, err);
}

/* ---- lifecycle --------------------------------------------------------- */

/* "https://host:port/api/v2/" → origin "https://host:port", base "/api/v2".
 * The endpoint was already checked by ncf_endpoint_is_allowed. */
static int split_endpoint(struct ncf_client *c, const char *endpoint)
{
	const char *authority = strstr(endpoint, "://");
	const char *path;
	size_t path_len;

	if (!authority)
		return -EINVAL;
	path = strchr(authority + 3, '/');
	if (!path)
		path = endpoint + strlen(endpoint);
	path_len = strlen(path);
	while (path_len > 0 && path[path_len - 1] == '/')
		path_len--;
	c->origin = strndup(endpoint, (size_t)(path - endpoint));
	c->base_path = strndup(path, path_len);
	return c->origin && c->base_path ? 0 : -ENOMEM;
}

/* NULL and "" mean "_"; anything else goes into request paths as it is. */
static bool is_usable_namespace(const char *ns)
{
	return !ns || !*ns || strcmp(ns, "_") == 0 || ncf_is_valid_namespace(ns);
}

/* The OpenWhisk backend reads no platform, access key or region: its one
 * secret (AUTH) is secret_key, its namespace namespace_name ("_": the
 * key's own). */
static bool copy_config(struct ncf_client *c, const struct ncf_client_config *cfg)
{
	c->platform = strdup(cfg->platform ? cfg->platform : "");
	c->access_key = strdup(cfg->access_key ? cfg->access_key : "");
	c->secret_key = strdup(cfg->secret_key);
	if (c->ops != &ncf_backend_ncp && is_usable_namespace(cfg->namespace_name))
		c->namespace_name = strdup(cfg->namespace_name &&
					   *cfg->namespace_name
					   ? cfg->namespace_name : "_");
	c->cafile = cfg->cafile ? strdup(cfg->cafile) : NULL;
	c->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 10;
	c->retries = cfg->retries >= 0 ? cfg->retries : 0;
	c->max_body = cfg->max_body ? cfg->max_body : 64u << 20;
	atomic_init(&c->page_size, cfg->page_size ? cfg->page_size : 100);
	c->log = cfg->log;
	c->log_ctx = cfg->log_ctx;
	c->transport = cfg->transport;
	/* Korea and Japan are UTC+9, Singapore UTC+8 (no daylight saving). */
	c->utc_offset_s = (cfg->region && strcmp(cfg->region, "sg") == 0 ? 8 : 9) * 3600L;
	c->transport_ctx = cfg->transport_ctx;
	c->throttle_wait_s = cfg->throttle_wait_s > 0 ? cfg->throttle_wait_s
						      : THROTTLE_WAIT_S;
	return c->platform && c->access_key && c->secret_key &&
	       (!cfg->cafile || c->cafile) &&
	       (c->ops == &ncf_backend_ncp || c->namespace_name);
}

static struct sched *new_scheduler(const struct ncf_client_config *cfg)
{
	struct sched_config sc = { .initial_limit = cfg->initial_inflight,
				   .max_limit = cfg->max_inflight,
				   .rate_cap = cfg->rate };

	return sched_new(&sc);
}

struct ncf_client *ncf_client_new(const struct ncf_client_config *cfg)
{
	struct ncf_client *c;

	const struct ncf_backend_ops *ops =
		cfg ? ncf_backend_find(cfg->backend ? cfg->backend : "ncp") : NULL;

	if (!ops || !cfg->endpoint || !cfg->secret_key ||
	    (ops == &ncf_backend_ncp && (!cfg->platform || !cfg->access_key)))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ops = ops;
	pthread_mutex_init(&c->pool_lock, NULL);
	pthread_mutex_init(&c->probe_lock, NULL);
	pthread_mutex_init(&c->give_up_lock, NULL);
	c->metrics = metrics_new();
	c->sched = new_scheduler(cfg);
	if (!c->metrics || !c->sched || split_endpoint(c, cfg->endpoint) != 0 ||
	    !copy_config(c, cfg) || share_init(c) != 0) {
		ncf_client_free(c);
		return NULL;
	}
	return c;
}

void ncf_client_free(struct ncf_client *c)
{
	size_t i;

	if (!c)
		return;
	/* First: the pool's threads may be in a request on this client. */
	sched_free(c->sched);
	for (i = 0; i < c->idle_count; i++)
		curl_easy_cleanup(c->idle[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	for (i = 0; c->share && i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	pthread_mutex_destroy(&c->probe_lock);
	pthread_mutex_destroy(&c->give_up_lock);
	ncf_listing_free(c->probed);
	if (c->secret_key)
		explicit_bzero(c->secret_key, strlen(c->secret_key));
	free(c->secret_key);
	free(c->access_key);
	free(c->platform);
	free(c->namespace_name);
	free(c->cafile);
	free(c->origin);
	free(c->base_path);
	metrics_free(c->metrics);
	free(c);
}

static size_t format_scheduler(struct ncf_client *c, char *buf, size_t size)
{
	struct sched_stats st;
	int n;

	sched_get_stats(c->sched, &st);
	n = snprintf(buf, size,
		     "sched_limit %u\nsched_in_flight %u\n"
		     "sched_queued_interactive %u\nsched_queued_readahead %u\n"
		     "sched_queued_background %u\nsched_admitted %llu\n"
		     "sched_throttled %llu\nsched_retry_after_pauses %llu\n"
		     "sched_paused_ms %.0f\nsched_pace_per_s %.1f\n"
		     "sched_latency_floor_ms %.1f\n",
		     st.limit, st.inflight, st.queued[NCF_PRIORITY_INTERACTIVE],
		     st.queued[NCF_PRIORITY_READAHEAD],
		     st.queued[NCF_PRIORITY_BACKGROUND],
		     (unsigned long long)st.admitted,
		     (unsigned long long)st.throttled,
		     (unsigned long long)st.retry_after_pauses, st.paused_ms,
		     st.pace_rate, st.floor_ms);
	return n < 0 ? 0 : (size_t)n;
}

size_t ncf_client_format_stats(struct ncf_client *c, char *buf, size_t size)
{
	size_t at = metrics_format(c->metrics, buf, size);

	if (at < size)
		at += format_scheduler(c, buf + at, size - at);
	return at;
}

void ncf_client_cancel(struct ncf_client *c)
{
	atomic_store(&c->cancelled, true);
	sched_cancel(c->sched);
}

void ncf_client_run_batch(struct ncf_client *c, enum ncf_priority prio,
			  size_t count, void (*fn)(void *ctx, size_t index),
			  void *ctx)
{
	sched_run_batch(c->sched, prio, count, fn, ctx);
}

int ncf_client_submit(struct ncf_client *c, enum ncf_priority prio,
		      void (*fn)(void *ctx), void *ctx)
{
	return sched_submit(c->sched, prio, fn, ctx);
}

int ncf_client_submit_after(struct ncf_client *c, enum ncf_priority prio,
			    int64_t delay_ms, void (*fn)(void *ctx), void *ctx)
{
	return sched_submit_after(c->sched, prio, (double)delay_ms, fn, ctx);
}

int ncf_client_cancel_submitted(struct ncf_client *c, void (*fn)(void *ctx),
				const void *ctx)
{
	return sched_cancel_submitted(c->sched, fn, ctx);
}

enum ncf_priority ncf_client_set_priority(enum ncf_priority prio)
{
	return sched_set_thread_priority(prio);
}

size_t request_page_size(const struct ncf_client *c)
{
	return atomic_load(&((struct ncf_client *)c)->page_size);
}

void request_refuse_page_size(struct ncf_client *c, size_t refused)
{
	size_t expected = refused;

	if (atomic_compare_exchange_strong(&c->page_size, &expected,
					   NCF_DOCUMENTED_PAGE_SIZE))
		/* Once per mount, and a warning only in name: every listing
		 * still works, with more requests. */
		logf_client(c, LOG_WARNING,
			    "the API refused pageSize=%zu; asking for %d per page from now on",
			    refused, NCF_DOCUMENTED_PAGE_SIZE);
}

void request_log_failure(const struct ncf_client *c, const char *path,
			 const struct ncf_error *err)
{
	logf_client(c, LOG_WARNING, "GET %s%s: HTTP %ld%s%s: %s", c->base_path,
		    path, err->http_status, err->code[0] ? " errorCode " : "",
		    err->code, err->message);
}

void request_keep_probed_packages(struct ncf_client *c,
				  struct ncf_listing *listing)
{
	pthread_mutex_lock(&c->probe_lock);
	ncf_listing_free(c->probed);
	c->probed = listing;
	clock_gettime(CLOCK_MONOTONIC, &c->probed_at);
	pthread_mutex_unlock(&c->probe_lock);
}

struct ncf_listing *request_take_probed_packages(struct ncf_client *c)
{
	struct ncf_listing *listing;
	bool stale;

	pthread_mutex_lock(&c->probe_lock);
	listing = c->probed;
	c->probed = NULL;
	stale = listing && elapsed_ms(&c->probed_at) > PROBE_REUSE_MS;
	pthread_mutex_unlock(&c->probe_lock);
	if (stale) {
		ncf_listing_free(listing);
		listing = NULL;
	}
	return listing;
}

void ncf_client_get_stats(struct ncf_client *c, struct ncf_client_stats *out)
{
	out->requests = atomic_load(&c->requests);
	out->retries = atomic_load(&c->retried);
	out->failures = atomic_load(&c->failures);
}

const struct ncf_backend_ops *request_backend(const struct ncf_client *c)
{
	return c->ops;
}

const char *request_base_path(const struct ncf_client *c)
{
	return c->base_path;
}

const char *request_namespace(const struct ncf_client *c)
{
	return c->namespace_name;
}

const char *request_secret_key(const struct ncf_client *c)
{
	return c->secret_key;
}
