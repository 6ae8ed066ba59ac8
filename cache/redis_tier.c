/* redis_tier — the Redis tier (see redis_tier.h), on hiredis's blocking
 * API with socket timeouts. Out of scope on purpose: TLS (rediss://),
 * Redis Cluster and Sentinel (a fleet's cache is one server or a managed
 * primary behind one address), and ACL user names. */
#include "redis_tier.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

/* ---- the URL -------------------------------------------------------------- */

#define URL_SCHEME "redis://"
#define URL_FORM "expected redis://HOST:PORT[/DB]"

/* Digits only, no sign, at most max: the value, or -1. */
static long parse_decimal(const char *s, const char *end, long max)
{
	long value = 0;

	if (s == end || end - s > 10)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		value = value * 10 + (*s - '0');
	}
	return value <= max ? value : -1;
}

static bool is_host_char(char c, bool bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-')
		return true;
	return bracketed && c == ':';
}

/* HOST up to the port's colon: [v6] or a name; returns where it ended. */
static const char *parse_host(const char *s, struct redis_url *out)
{
	bool bracketed = *s == '[';
	const char *start = s + bracketed, *p = start;
	size_t n;

	while (*p && is_host_char(*p, bracketed))
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= sizeof(out->host) || (bracketed && *p++ != ']'))
		return NULL;
	memcpy(out->host, start, n);
	out->host[n] = '\0';
	return p;
}

static int url_error(char *why, size_t why_size, const char *url,
		     const char *reason)
{
	snprintf(why, why_size, "invalid cache_url=%s: %s", url, reason);
	return -EINVAL;
}

int redis_url_parse(const char *url, struct redis_url *out, char *why,
		    size_t why_size)
{
	const char *p, *port, *end;
	long value;

	memset(out, 0, sizeof(*out));
	/* First: every other message quotes the URL, and with it what may be
	 * a password, whatever the scheme. */
	if (strchr(url, '@'))
		return url_error(why, why_size, "...@...",
				 "a password on the command line shows in ps; put it in the credentials file (ncffs_cache_password) or in NCFFS_CACHE_PASSWORD");
	if (strncmp(url, "rediss://", 9) == 0)
		return url_error(why, why_size, url, "TLS (rediss://) is not supported");
	if (strncmp(url, URL_SCHEME, strlen(URL_SCHEME)) != 0)
		return url_error(why, why_size, url, URL_FORM);
	p = url + strlen(URL_SCHEME);
	p = parse_host(p, out);
	if (!p || *p != ':')
		return url_error(why, why_size, url, URL_FORM " (HOST and PORT are required)");
	port = ++p;
	end = port + strcspn(port, "/");
	value = parse_decimal(port, end, 65535);
	if (value < 1)
		return url_error(why, why_size, url, "PORT must be 1 to 65535");
	out->port = (int)value;
	if (*end == '\0')
		return 0;
	value = parse_decimal(end + 1, end + 1 + strlen(end + 1), REDIS_DB_MAX);
	if (value < 0)
		return url_error(why, why_size, url, "DB must be a number, 0 to 9999");
	out->db = (int)value;
	return 0;
}

/* ---- the tier ------------------------------------------------------------- */

/* A put waiting for the store thread: the plain value, sealed there. */
struct queued {
	struct queued *next;
	char *key;
	void *value;
	size_t len;
};

/* A numeric address, v4 or v6, and its NUL. */
#define ADDRESS_MAX 64

struct redis_tier {
	struct cache_tier base;          /* first: a tier is its base */
	struct redis_tier_config config; /* password points at password */
	char *password;
	struct seal_keys keys;
	struct breaker breaker;

	pthread_mutex_t pool_lock;       /* idle connections and address */
	redisContext *idle[REDIS_POOL_IDLE_MAX];
	size_t idle_count;
	char address[ADDRESS_MAX];       /* url.host resolved; "": not yet */
	atomic_bool resolve_wanted;      /* a connect failed: resolve again */
	int64_t resolved_at_ms;          /* the last try (store thread's) */

	pthread_mutex_t queue_lock;
	pthread_cond_t queue_cond;
	struct queued *head, *tail;
	size_t queued, queued_bytes;
	size_t storing;         /* 0 or 1: the store in flight */
	bool stopping;
	bool started;
	pthread_t thread;

	/* Logged once each: the server down, and its answer to AUTH. */
	atomic_bool logged_down, logged_refused;

	_Atomic uint64_t hits, misses, rejected, stores, dropped, errors,
		skipped, waits, get_us, store_us;
};

static void say(struct redis_tier *t, atomic_bool *once, int level,
		const char *message)
{
	if (t->config.log && !atomic_exchange(once, true))
		t->config.log(t->config.log_ctx, level, message);
}

static uint64_t elapsed_us(const struct timespec *since)
{
	struct timespec now;
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - since->tv_sec) * 1000000 +
	     (now.tv_nsec - since->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

/* ---- connections ---------------------------------------------------------- */

/* What one reply may hold beyond the largest sealed value: the protocol's
 * framing, and a claim's "1" next to the value in an MGET. */
#define REPLY_SLACK 4096
#define READ_CHUNK 16384
/* A command has config.timeout_ms, and another for each MOVE_UNIT bytes it
 * moves: a healthy link moves a large value in a few units' time, and a
 * server that drips never earns one. */
#define MOVE_UNIT (1u << 20)

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Our replies are arrays of two at most (MGET). hiredis 0.14 has no limit
 * of its own: it callocs the elements a server announces (16 GB for two
 * billion) and walks them all when freeing a half-read reply. Its reply
 * functions, with createArray refusing more than this (a NULL is an
 * out-of-memory error to the reader, so the command fails). */
#define REPLY_ELEMENTS_MAX 16

static redisReplyObjectFunctions bounded_fn;
static void *(*hiredis_create_array)(const redisReadTask *task, int elements);
static pthread_once_t bounded_once = PTHREAD_ONCE_INIT;

static void *create_bounded_array(const redisReadTask *task, int elements)
{
	if (elements > REPLY_ELEMENTS_MAX)
		return NULL;
	return hiredis_create_array(task, elements);
}

static void init_bounded_fn(void)
{
	redisReader *r = redisReaderCreate();

	if (!r || !r->fn)
		goto out;
	bounded_fn = *r->fn;
	hiredis_create_array = bounded_fn.createArray;
	bounded_fn.createArray = create_bounded_array;
out:
	redisReaderFree(r);
}

/* Makes c's reader refuse long arrays: 0, or -1 (then c is not used). */
static int bound_reader(redisContext *c)
{
	pthread_once(&bounded_once, init_bounded_fn);
	if (!hiredis_create_array)
		return -1;
	c->reader->fn = &bounded_fn;
	return 0;
}

/* Marks c failed (pool_give then closes it): a half-read reply leaves the
 * connection out of step with the server. */
static void fail(redisContext *c, const char *why)
{
	if (!c->err) {
		c->err = REDIS_ERR_IO;
		snprintf(c->errstr, sizeof(c->errstr), "%s", why);
	}
}

/* Sets the socket's timeouts to what is left until deadline; false (and c
 * failed) once nothing is left. The socket timeouts alone bound each read
 * and write, not the command: a server that drips a byte per timeout
 * would hold a reader for ever. */
static bool budget_left(redisContext *c, int64_t deadline)
{
	int64_t left = deadline - monotonic_ms();
	struct timeval tv = { (time_t)(left / 1000),
			      (suseconds_t)(left % 1000) * 1000 };

	if (left <= 0) {
		fail(c, "timed out");
		return false;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		fail(c, "cannot set a timeout");
		return false;
	}
	return true;
}

/* When a command that started at start and moved moved bytes is late. */
static int64_t deadline(const struct redis_tier_config *config, int64_t start,
			size_t moved)
{
	return start + (int64_t)config->timeout_ms * (int64_t)(1 + moved / MOVE_UNIT);
}

/* Reads what the server sent into the reader: 0, or -1 (c failed). */
static int read_some(redisContext *c, size_t *total, size_t max)
{
	char buf[READ_CHUNK];
	ssize_t n;

	do
		n = read(c->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fail(c, n == 0 ? "server closed the connection"
			       : errno == EAGAIN ? "timed out" : strerror(errno));
		return -1;
	}
	*total += (size_t)n;
	/* Nothing we ask for is larger: a server that says otherwise is
	 * broken or hostile, and is not buffered. */
	if (*total > max) {
		fail(c, "reply too large");
		return -1;
	}
	if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
		fail(c, "protocol error");
		return -1;
	}
	return 0;
}

/* One command, within config's timeout in all (and one more per MOVE_UNIT
 * moved) and its bound on a reply's bytes; the reply (the caller frees it), or NULL when the connection
 * failed (then it is no longer usable). */
static redisReply *command(redisContext *c,
			   const struct redis_tier_config *config, int argc,
			   const char **argv, const size_t *lens)
{
	const int64_t start = monotonic_ms();
	const size_t max = config->max_value + SEAL_OVERHEAD + REPLY_SLACK;
	void *reply = NULL;
	size_t sent = 0, total = 0;
	int done = 0, i;

	for (i = 0; i < argc; i++)
		sent += lens ? lens[i] : strlen(argv[i]);
	if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK)
		goto out;
	while (!done) {
		if (!budget_left(c, deadline(config, start, sent)) ||
		    redisBufferWrite(c, &done) != REDIS_OK)
			goto out;
	}
	while (redisGetReplyFromReader(c, &reply) == REDIS_OK && !reply) {
		if (!budget_left(c, deadline(config, start, sent + total)) ||
		    read_some(c, &total, max) != 0)
			goto out;
	}
out:
	if (reply && !c->err)
		return reply;
	fail(c, "protocol error");
	freeReplyObject(reply);
	return NULL;
}

/* A command whose answer must be +OK or +PONG: 0, -EACCES on an error
 * reply (a wrong password, a DB the server does not have), -EIO. */
static int command_ok(redisContext *c, const struct redis_tier_config *config,
		      int argc, const char **argv, char *why, size_t why_size)
{
	redisReply *reply = command(c, config, argc, argv, NULL);
	int rc = -EIO;

	if (!reply)
		snprintf(why, why_size, "%s: %s", argv[0], c->errstr);
	else if (reply->type == REDIS_REPLY_ERROR) {
		/* The server's words name the problem; a server that quotes
		 * the password back (a hostile one) is not quoted. */
		if (config->password && config->password[0] &&
		    strstr(reply->str, config->password))
			snprintf(why, why_size, "%s refused", argv[0]);
		else
			snprintf(why, why_size, "%s refused: %.120s", argv[0],
				 reply->str);
		rc = -EACCES;
	} else if (reply->type == REDIS_REPLY_STATUS)
		rc = 0;
	else
		snprintf(why, why_size, "%s: unexpected reply", argv[0]);
	freeReplyObject(reply);
	return rc;
}

static int greet(redisContext *c, const struct redis_tier_config *config,
		 char *why, size_t why_size)
{
	char db[16];
	const char *auth[] = { "AUTH", config->password };
	const char *select[] = { "SELECT", db };
	const char *ping[] = { "PING" };
	int rc = 0;

	snprintf(db, sizeof(db), "%d", config->url.db);
	if (config->password && config->password[0])
		rc = command_ok(c, config, 2, auth, why, why_size);
	if (rc == 0 && config->url.db != 0)
		rc = command_ok(c, config, 2, select, why, why_size);
	if (rc == 0)
		rc = command_ok(c, config, 1, ping, why, why_size);
	return rc;
}

/* Connects to host (config's, or the address it resolved to). */
static redisContext *connect_to(const struct redis_tier_config *config,
				const char *host, int *rc, char *why,
				size_t why_size)
{
	struct timeval tv = { config->timeout_ms / 1000,
			      (config->timeout_ms % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(host, config->url.port, tv);

	*rc = -EIO;
	if (!c || c->err) {
		snprintf(why, why_size, "cannot connect to %s:%d: %s",
			 config->url.host, config->url.port,
			 c ? c->errstr : "no memory");
	} else if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(why, why_size, "cannot set a timeout on the connection");
	} else if (bound_reader(c) != 0) {
		snprintf(why, why_size, "cannot bound the connection's replies");
	} else {
		*rc = greet(c, config, why, why_size);
	}
	if (*rc) {
		redisFree(c);
		c = NULL;
	}
	return c;
}

/* ---- the address ----------------------------------------------------------
 * getaddrinfo has no timeout: a dead resolver holds its caller for its own
 * (seconds a try). So no get resolves: new resolves the name once, every
 * connect goes to that address, and a failed connect has the store
 * thread, which keeps no reader waiting, resolve it again (a managed
 * server's address moves on a failover). */

/* host's first address, numeric, into out; IPv4 first, as hiredis
 * resolves. 0, or -EHOSTUNREACH. */
static int resolve(const char *host, char out[ADDRESS_MAX])
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *found = NULL;
	size_t i;
	int rc = -EHOSTUNREACH;

	for (i = 0; rc != 0 && i < sizeof(families) / sizeof(families[0]); i++) {
		hints.ai_family = families[i];
		if (getaddrinfo(host, NULL, &hints, &found) != 0)
			continue;
		if (getnameinfo(found->ai_addr, found->ai_addrlen, out,
				ADDRESS_MAX, NULL, 0, NI_NUMERICHOST) == 0)
			rc = 0;
		freeaddrinfo(found);
	}
	return rc;
}

/* The least time between two resolutions: a server that is down (same
 * address) makes every connect ask for one, and a fleet's resolver should
 * not hear from each host more than this often. */
#define RESOLVE_EVERY_MS 5000

static int resolve_every_ms(const struct redis_tier *t)
{
	return t->config.resolve_every_ms > 0 ? t->config.resolve_every_ms
					      : RESOLVE_EVERY_MS;
}

/* Resolves url.host again when a connect asked for it and the last try is
 * old enough (store thread only): a name that does not resolve now keeps
 * the last address. */
static void resolve_if_wanted(struct redis_tier *t)
{
	char address[ADDRESS_MAX];
	int64_t now = monotonic_ms();

	if (now < t->resolved_at_ms + resolve_every_ms(t) ||
	    !atomic_exchange(&t->resolve_wanted, false))
		return;
	t->resolved_at_ms = now;
	if (resolve(t->config.url.host, address) != 0) {
		atomic_store(&t->resolve_wanted, true);
		return;
	}
	pthread_mutex_lock(&t->pool_lock);
	memcpy(t->address, address, sizeof(address));
	pthread_mutex_unlock(&t->pool_lock);
}

static void *store_thread(void *arg);

/* Starts the store thread if it is not running (queue_lock held). Not in
 * new: a daemon makes its tier before it forks into the background, and
 * a fork keeps no threads; the first put or failed connect comes after. */
static void start_locked(struct redis_tier *t)
{
	if (!t->started && !t->stopping)
		t->started = pthread_create(&t->thread, NULL, store_thread, t) == 0;
}

/* Asks the store thread to resolve the name again, waking it if idle:
 * the breaker keeps puts, and so the thread's stores, away while the
 * server fails, and a failover that moved the name must still be seen. */
static void want_resolve(struct redis_tier *t)
{
	pthread_mutex_lock(&t->queue_lock);
	start_locked(t);
	atomic_store(&t->resolve_wanted, true);
	pthread_cond_signal(&t->queue_cond);
	pthread_mutex_unlock(&t->queue_lock);
}

/* An idle connection, or a new one; NULL when the server cannot be
 * reached (logged once). */
static redisContext *pool_take(struct redis_tier *t)
{
	char address[ADDRESS_MAX], why[256];
	redisContext *c = NULL;
	int rc = -EIO;

	pthread_mutex_lock(&t->pool_lock);
	if (t->idle_count)
		c = t->idle[--t->idle_count];
	memcpy(address, t->address, sizeof(address));
	pthread_mutex_unlock(&t->pool_lock);
	if (c)
		return c;
	if (address[0])
		c = connect_to(&t->config, address, &rc, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "cannot resolve %.200s",
			 t->config.url.host);
	if (!c && rc != -EACCES)
		want_resolve(t);
	if (!c) {
		char message[320];

		snprintf(message, sizeof(message),
			 "cache server: %s; going on without it while it fails",
			 why);
		say(t, rc == -EACCES ? &t->logged_refused : &t->logged_down,
		    LOG_WARNING, message);
	}
	return c;
}

/* Gives c back, or closes it when it failed or the pool is full. A
 * failure closes the idle connections too: after a server restart they
 * are all dead, and each would cost the breaker's probe one failure. */
static void pool_give(struct redis_tier *t, redisContext *c, bool failed)
{
	redisContext *dead[REDIS_POOL_IDLE_MAX];
	size_t n = 0, i;

	failed = failed || (c && c->err);
	pthread_mutex_lock(&t->pool_lock);
	if (failed) {
		n = t->idle_count;
		memcpy(dead, t->idle, n * sizeof(dead[0]));
		t->idle_count = 0;
	} else if (c && t->idle_count < REDIS_POOL_IDLE_MAX) {
		t->idle[t->idle_count++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&t->pool_lock);
	for (i = 0; i < n; i++)
		redisFree(dead[i]);
	if (c)
		redisFree(c);
}

/* ---- get ------------------------------------------------------------------ */

/* What a GET's reply holds: 0 and the opened value, -ENOENT (nil),
 * -EBADMSG (a value this account did not seal under this name), or -EIO
 * (the connection failed or answered nonsense). Counts nothing. */
static int open_reply(struct redis_tier *t, const char *name,
		      const redisReply *reply, void **value, size_t *len)
{
	uint8_t *plain = NULL;
	int rc;

	if (!reply)
		return -EIO;
	if (reply->type == REDIS_REPLY_NIL)
		return -ENOENT;
	if (reply->type != REDIS_REPLY_STRING)
		return -EIO;
	rc = reply->len > t->config.max_value + SEAL_OVERHEAD
		     ? -EBADMSG
		     : seal_open(&t->keys, name, reply->str, reply->len, &plain,
				 len);
	if (rc == 0)
		*value = plain;
	return rc;
}

/* One GET: as open_reply. */
static int get_once(struct redis_tier *t, redisContext *c, const char *name,
		    void **value, size_t *len)
{
	const char *argv[2] = { "GET", name };
	redisReply *reply = command(c, &t->config, 2, argv, NULL);
	int rc = open_reply(t, name, reply, value, len);

	freeReplyObject(reply);
	return rc;
}

/* The claim on name's fetch: name and CLAIM_SUFFIX. */
#define CLAIM_SUFFIX ":claim"
#define CLAIM_NAME_SIZE (SEAL_NAME_SIZE + sizeof(CLAIM_SUFFIX))

/* Takes the claim on fetching name for this host: 1 when it is ours (go
 * to the origin), 0 when another host holds it, -EIO. */
static int claim(struct redis_tier *t, redisContext *c, const char *claim_name)
{
	char ms[24];
	const char *argv[6] = { "SET", claim_name, "1", "PX", ms, "NX" };
	redisReply *reply;
	int rc;

	snprintf(ms, sizeof(ms), "%d", t->config.claim_ms);
	reply = command(c, &t->config, 6, argv, NULL);
	/* NX: only the first host to ask gets +OK; the others a nil. */
	if (!reply)
		rc = -EIO;
	else if (reply->type == REDIS_REPLY_STATUS)
		rc = 1;
	else
		rc = reply->type == REDIS_REPLY_NIL ? 0 : -EIO;
	freeReplyObject(reply);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Another host is fetching name: polls for the value it will store, until
 * it is there, the claim is gone without it (that fetch failed), or the
 * claim's time is over. As open_reply; -ENOENT when no value came. */
static int wait_for_claim(struct redis_tier *t, redisContext *c,
			  const char *name, const char *claim_name,
			  void **value, size_t *len)
{
	const char *argv[3] = { "MGET", name, claim_name };
	int64_t waited = 0;
	int rc = -ENOENT;

	while (rc == -ENOENT && waited < t->config.claim_ms) {
		redisReply *reply;

		sleep_ms(t->config.claim_poll_ms);
		waited += t->config.claim_poll_ms;
		reply = command(c, &t->config, 3, argv, NULL);
		if (!reply || reply->type != REDIS_REPLY_ARRAY ||
		    reply->elements != 2)
			rc = -EIO;
		else if (reply->element[0]->type != REDIS_REPLY_NIL)
			rc = open_reply(t, name, reply->element[0], value, len);
		else if (reply->element[1]->type == REDIS_REPLY_NIL)
			waited = t->config.claim_ms; /* no claim, no value */
		freeReplyObject(reply);
	}
	return rc;
}

/* No usable value under name: claim its fetch, or wait for the host that
 * did. As open_reply. */
static int claim_or_wait(struct redis_tier *t, redisContext *c,
			 const char *name, void **value, size_t *len)
{
	char claim_name[CLAIM_NAME_SIZE];
	int rc;

	snprintf(claim_name, sizeof(claim_name), "%s%s", name, CLAIM_SUFFIX);
	rc = claim(t, c, claim_name);
	if (rc != 0)
		return rc < 0 ? rc : -ENOENT;
	rc = wait_for_claim(t, c, name, claim_name, value, len);
	if (rc == 0)
		atomic_fetch_add(&t->waits, 1);
	return rc;
}

/* Counts a get's outcome; -EBADMSG becomes the miss it is to callers. */
static int count_get(struct redis_tier *t, int rc)
{
	switch (rc) {
	case 0:
		atomic_fetch_add(&t->hits, 1);
		break;
	case -ENOENT:
		atomic_fetch_add(&t->misses, 1);
		break;
	case -EBADMSG:
		atomic_fetch_add(&t->rejected, 1);
		rc = -ENOENT;
		break;
	default:
		atomic_fetch_add(&t->errors, 1);
		break;
	}
	return rc;
}

int redis_tier_get(struct redis_tier *t, const char *key, void **value,
		   size_t *len)
{
	char name[SEAL_NAME_SIZE];
	redisContext *c = NULL;
	struct timespec start;
	int rc = -EIO;

	*value = NULL;
	*len = 0;
	if (seal_name(&t->keys, key, name) != 0)
		return -EIO;
	if (!breaker_allow(&t->breaker)) {
		atomic_fetch_add(&t->skipped, 1);
		return -ENOENT;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	c = pool_take(t);
	if (c)
		rc = get_once(t, c, name, value, len);
	if (rc == -ENOENT && t->config.claim_ms > 0)
		rc = claim_or_wait(t, c, name, value, len);
	if (rc == -EIO)
		breaker_failure(&t->breaker);
	else
		breaker_success(&t->breaker);
	pool_give(t, c, rc == -EIO);
	rc = count_get(t, rc);
	atomic_fetch_add(&t->get_us, elapsed_us(&start));
	return rc;
}

/* ---- put and the store thread --------------------------------------------- */

static void queued_free(struct queued *q)
{
	if (!q)
		return;
	free(q->key);
	free(q->value);
	free(q);
}

static struct queued *queued_new(const char *key, const void *value,
				 size_t len)
{
	struct queued *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->key = strdup(key);
	q->value = malloc(len ? len : 1);
	q->len = len;
	if (!q->key || !q->value) {
		queued_free(q);
		return NULL;
	}
	memcpy(q->value, value, len);
	return q;
}

int redis_tier_put(struct redis_tier *t, const char *key, const void *value,
		   size_t len)
{
	struct queued *q;
	int rc = 0;

	if (len > t->config.max_value)
		rc = -ENOSPC;
	else if (breaker_is_open(&t->breaker))
		rc = -EAGAIN; /* a store now would only fail */
	if (rc) {
		atomic_fetch_add(&t->dropped, 1);
		return rc;
	}
	q = queued_new(key, value, len);
	if (!q)
		return -ENOMEM;
	pthread_mutex_lock(&t->queue_lock);
	start_locked(t);
	if (!t->started || t->stopping || t->queued >= t->config.queue_max ||
	    t->queued_bytes + len > t->config.queue_bytes_max) {
		rc = -ENOSPC;
	} else {
		if (t->tail)
			t->tail->next = q;
		else
			t->head = q;
		t->tail = q;
		t->queued++;
		t->queued_bytes += len;
		pthread_cond_signal(&t->queue_cond);
		q = NULL;
	}
	pthread_mutex_unlock(&t->queue_lock);
	if (q) {
		atomic_fetch_add(&t->dropped, 1);
		queued_free(q);
	}
	return rc;
}

/* SET name sealed EX ttl: 0, or -EIO. */
static int set_sealed(struct redis_tier *t, redisContext *c, const char *name,
		      const uint8_t *sealed, size_t len)
{
	char ttl[24];
	const char *argv[5] = { "SET", name, (const char *)sealed, "EX", ttl };
	size_t lens[5] = { 3, strlen(name), len, 2, 0 };
	redisReply *reply;
	int rc;

	snprintf(ttl, sizeof(ttl), "%lld", (long long)t->config.ttl_s);
	lens[4] = strlen(ttl);
	reply = command(c, &t->config, 5, argv, lens);
	rc = reply && reply->type == REDIS_REPLY_STATUS ? 0 : -EIO;
	freeReplyObject(reply);
	return rc;
}

/* Seals and stores one queued put, under the breaker. */
static void store(struct redis_tier *t, const struct queued *q)
{
	char name[SEAL_NAME_SIZE];
	uint8_t *sealed = NULL;
	size_t len = 0;
	redisContext *c = NULL;
	struct timespec start;
	int rc = -EIO;

	if (!breaker_allow(&t->breaker)) {
		atomic_fetch_add(&t->dropped, 1);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	resolve_if_wanted(t);
	if (seal_name(&t->keys, q->key, name) == 0 &&
	    seal_value(&t->keys, name, q->value, q->len, &sealed, &len) == 0) {
		c = pool_take(t);
		rc = c ? set_sealed(t, c, name, sealed, len) : -EIO;
	}
	if (rc == 0) {
		atomic_fetch_add(&t->stores, 1);
		breaker_success(&t->breaker);
	} else {
		atomic_fetch_add(&t->dropped, 1);
		atomic_fetch_add(&t->errors, 1);
		breaker_failure(&t->breaker);
	}
	pool_give(t, c, rc != 0);
	free(sealed);
	atomic_fetch_add(&t->store_us, elapsed_us(&start));
}

/* Waits for a put, or until the next resolution is due (queue_lock held). */
static void wait_for_work(struct redis_tier *t)
{
	int64_t due = t->resolved_at_ms + resolve_every_ms(t);
	struct timespec until = { (time_t)(due / 1000),
				  (long)(due % 1000) * 1000000 };

	if (atomic_load(&t->resolve_wanted))
		pthread_cond_timedwait(&t->queue_cond, &t->queue_lock, &until);
	else
		pthread_cond_wait(&t->queue_cond, &t->queue_lock);
}

/* The next put to store, or NULL once stopping with nothing queued; in
 * between, the name is resolved again when a connect asked for it. */
static struct queued *dequeue(struct redis_tier *t)
{
	struct queued *q;

	pthread_mutex_lock(&t->queue_lock);
	t->storing = 0;
	while (!t->head && !t->stopping) {
		if (atomic_load(&t->resolve_wanted) &&
		    monotonic_ms() >= t->resolved_at_ms + resolve_every_ms(t)) {
			pthread_mutex_unlock(&t->queue_lock);
			resolve_if_wanted(t);
			pthread_mutex_lock(&t->queue_lock);
			continue;
		}
		wait_for_work(t);
	}
	q = t->head;
	if (q) {
		t->head = q->next;
		if (!t->head)
			t->tail = NULL;
		t->queued--;
		t->queued_bytes -= q->len;
		t->storing = 1;
	}
	pthread_mutex_unlock(&t->queue_lock);
	return q;
}

static void *store_thread(void *arg)
{
	struct redis_tier *t = arg;
	struct queued *q;
	sigset_t pipe;

	/* A server that closed the connection must be EPIPE here, whatever
	 * the process does with SIGPIPE (a signal from write(2) goes to the
	 * thread that wrote, and a blocked one is never delivered). */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	while ((q = dequeue(t))) {
		store(t, q);
		queued_free(q);
	}
	return NULL;
}

/* ---- as a tier ------------------------------------------------------------ */

static struct redis_tier *of(struct cache_tier *base)
{
	return (struct redis_tier *)(void *)base;
}

static int tier_get(struct cache_tier *base, const char *key, void **value,
		    size_t *len)
{
	return redis_tier_get(of(base), key, value, len);
}

static int tier_put(struct cache_tier *base, const char *key,
		    const void *value, size_t len)
{
	return redis_tier_put(of(base), key, value, len);
}

/* The common counters: errors are reads and writes that failed, corrupt
 * the entries that did not open; a shared server's size is not ours. */
static void tier_get_stats(struct cache_tier *base,
			   struct cache_tier_stats *out)
{
	struct redis_tier_stats st;

	redis_tier_get_stats(of(base), &st);
	*out = (struct cache_tier_stats){ .hits = st.hits,
					  .misses = st.misses + st.rejected +
						    st.skipped,
					  .writes = st.stores,
					  .read_errors = st.errors,
					  .write_errors = st.dropped,
					  .corrupt = st.rejected };
}

static void tier_free(struct cache_tier *base)
{
	redis_tier_free(of(base));
}

static const struct cache_tier_ops redis_tier_ops = {
	.get = tier_get,
	.put = tier_put,
	.get_stats = tier_get_stats,
	.free = tier_free,
};

struct cache_tier *redis_tier_as_tier(struct redis_tier *t)
{
	return t ? &t->base : NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

static bool is_valid_config(const struct redis_tier_config *config)
{
	return config->keys && config->url.host[0] && config->url.port > 0 &&
	       config->timeout_ms > 0 && config->ttl_s > 0 &&
	       config->queue_max > 0 && config->max_value > 0 &&
	       config->claim_ms >= 0 &&
	       (config->claim_ms == 0 || config->claim_poll_ms > 0);
}

struct redis_tier *redis_tier_new(const struct redis_tier_config *config)
{
	struct breaker_config bc = { config->breaker_failures,
				     config->breaker_cooldown_ms, config->clock,
				     config->clock_ctx };
	pthread_condattr_t attr;
	struct redis_tier *t;

	if (!is_valid_config(config))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->base.ops = &redis_tier_ops;
	t->config = *config;
	t->keys = *config->keys;
	t->config.keys = &t->keys;
	if (config->password && config->password[0]) {
		t->password = strdup(config->password);
		if (!t->password) {
			free(t);
			return NULL;
		}
	}
	t->config.password = t->password;
	/* Blocking, once, at mount; a name that does not resolve yet is
	 * resolved by the store thread (readers never wait for DNS). */
	t->resolved_at_ms = monotonic_ms();
	if (resolve(config->url.host, t->address) != 0)
		atomic_store(&t->resolve_wanted, true);
	breaker_init(&t->breaker, &bc);
	pthread_mutex_init(&t->pool_lock, NULL);
	pthread_mutex_init(&t->queue_lock, NULL);
	/* Monotonic: the thread's timed waits (resolve_every_ms) must not
	 * jump with the wall clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->queue_cond, &attr);
	pthread_condattr_destroy(&attr);
	return t;
}

void redis_tier_free(struct redis_tier *t)
{
	size_t i;

	if (!t)
		return;
	pthread_mutex_lock(&t->queue_lock);
	t->stopping = true;
	pthread_cond_signal(&t->queue_cond);
	pthread_mutex_unlock(&t->queue_lock);
	if (t->started)
		pthread_join(t->thread, NULL);
	for (i = 0; i < t->idle_count; i++)
		redisFree(t->idle[i]);
	pthread_cond_destroy(&t->queue_cond);
	pthread_mutex_destroy(&t->queue_lock);
	pthread_mutex_destroy(&t->pool_lock);
	breaker_release(&t->breaker);
	if (t->password) {
		explicit_bzero(t->password, strlen(t->password));
		free(t->password);
	}
	seal_keys_wipe(&t->keys);
	free(t);
}

int redis_tier_probe(const struct redis_tier_config *config, char *why,
		     size_t why_size)
{
	int rc;
	redisContext *c = connect_to(config, config->url.host, &rc, why,
				     why_size);

	redisFree(c);
	return rc;
}

void redis_tier_get_stats(struct redis_tier *t, struct redis_tier_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->breaker = breaker_get_state(&t->breaker, &out->trips);
	out->hits = atomic_load(&t->hits);
	out->misses = atomic_load(&t->misses);
	out->rejected = atomic_load(&t->rejected);
	out->stores = atomic_load(&t->stores);
	out->dropped = atomic_load(&t->dropped);
	out->errors = atomic_load(&t->errors);
	out->skipped = atomic_load(&t->skipped);
	out->waits = atomic_load(&t->waits);
	out->get_us = atomic_load(&t->get_us);
	out->store_us = atomic_load(&t->store_us);
	pthread_mutex_lock(&t->queue_lock);
	out->pending = t->queued + t->storing;
	pthread_mutex_unlock(&t->queue_lock);
}
