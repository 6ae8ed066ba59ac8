/* test_redis_tier — the Redis tier (cache/redis_tier.h) against a real
 * redis-server that each test starts on a free loopback port and stops:
 * what goes in comes out, what the server holds reveals no key and no
 * value, and whatever the server hands back that this account did not
 * seal under that name (altered, moved, another account's) is a miss
 * counted as rejected. A dead or silent server costs a get at most its
 * timeout and then nothing (the breaker), a put never waits, and a full
 * queue drops. Also the cache_url parser, as a table.
 *
 * redis-server missing is a failure that says what to install, never a
 * skip. Waits are on conditions (a connect that works, pending stores
 * reaching zero) with deadlines, never bare sleeps. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "cache/redis_tier.h"

#define LOOPBACK "127.0.0.1"
#define PASSWORD "test-cache-password"
#define KEY "R/packages/shop/actions/checkout/activations/0123456789abcdef0123456789abcdef"
#define VALUE "{\"logs\":[\"card 4111 declined\"]}\n"
#define TIMEOUT_MS 50
#define START_DEADLINE_MS 10000
#define DRAIN_DEADLINE_MS 10000
#define COOLDOWN_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The breaker's clock, moved by hand. */
static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

/* ---- a resolver, interposed ------------------------------------------------
 * Over libc's getaddrinfo (this executable's definition comes first, for
 * hiredis too), for the name TEST_NAME only: as slow as a dead resolver
 * (resolver_delay_ms), or failing (resolver_fails), else 127.0.0.1. */
#define TEST_NAME "cache.ncffs.test"

static atomic_int resolver_delay_ms, resolver_fails, resolver_calls;

int getaddrinfo(const char *node, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	int (*real)(const char *, const char *, const struct addrinfo *,
		    struct addrinfo **);

	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (node && strcmp(node, TEST_NAME) == 0) {
		atomic_fetch_add(&resolver_calls, 1);
		sleep_ms(atomic_load(&resolver_delay_ms));
		if (atomic_load(&resolver_fails))
			return EAI_AGAIN;
		node = LOOPBACK;
	}
	return real(node, service, hints, res);
}

/* ---- a real redis-server -------------------------------------------------- */

struct server {
	pid_t pid;
	int port;
	char dir[64];
};

/* A port the kernel just handed out on loopback (a tiny race with other
 * programs, which a failed start would show). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static bool answers_ping(int port, const char *password)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout(LOOPBACK, port, tv);
	redisReply *r = NULL;
	bool ok = false;

	if (c && !c->err) {
		r = password ? redisCommand(c, "AUTH %s", password) : NULL;
		freeReplyObject(r);
		r = redisCommand(c, "PING");
		ok = r && r->type == REDIS_REPLY_STATUS;
	}
	freeReplyObject(r);
	if (c)
		redisFree(c);
	return ok;
}

/* Starts redis-server on port (0: a free one) with no persistence;
 * password NULL: no AUTH. */
static void server_start(struct server *s, int port, const char *password)
{
	char port_text[16];
	int64_t deadline;
	int status;

	s->port = port ? port : free_port();
	snprintf(port_text, sizeof(port_text), "%d", s->port);
	if (!s->dir[0]) {
		snprintf(s->dir, sizeof(s->dir), "/tmp/ncffs-redis-XXXXXX");
		assert_non_null(mkdtemp(s->dir));
	}
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		if (password)
			execlp("redis-server", "redis-server", "--port", port_text,
			       "--bind", LOOPBACK, "--save", "", "--appendonly",
			       "no", "--dir", s->dir, "--requirepass", password,
			       (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port_text,
			       "--bind", LOOPBACK, "--save", "", "--appendonly",
			       "no", "--dir", s->dir, (char *)NULL);
		fprintf(stderr, "test_redis_tier: cannot run redis-server (%s): install the Debian package redis-server (make deps)\n",
			strerror(errno));
		_exit(127);
	}
	deadline = now_ms() + START_DEADLINE_MS;
	while (!answers_ping(s->port, password)) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid)
			fail_msg("redis-server exited (status %d) before answering on port %d; is it installed (Debian package redis-server)?",
				 status, s->port);
		if (now_ms() > deadline)
			fail_msg("redis-server did not answer on port %d within %d ms",
				 s->port, START_DEADLINE_MS);
		sleep_ms(10);
	}
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static void server_cleanup(struct server *s)
{
	char command[128];

	server_stop(s);
	if (s->dir[0]) {
		snprintf(command, sizeof(command), "rm -rf %s", s->dir);
		assert_int_equal(system(command), 0);
	}
}

/* A direct connection, to look at (and meddle with) what the tier
 * stored, as a hostile server operator could. */
static redisContext *peek(const struct server *s, const char *password)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout(LOOPBACK, s->port, tv);
	redisReply *r;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	if (password) {
		r = redisCommand(c, "AUTH %s", password);
		assert_int_equal(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	return c;
}

/* ---- tiers ------------------------------------------------------------------ */

struct fixture {
	struct server server;
	struct seal_keys keys, other_keys;
	struct redis_tier_config config;
	char log[512];
	int logged;
};

static void capture_log(void *ctx, int level, const char *message)
{
	struct fixture *f = ctx;

	(void)level;
	snprintf(f->log, sizeof(f->log), "%s", message);
	f->logged++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char secret[] = "emulator-secret-key", other[] = "another-secret";

	assert_non_null(f);
	atomic_store(&resolver_delay_ms, 0);
	atomic_store(&resolver_fails, 0);
	assert_int_equal(seal_keys_derive(&f->keys, secret, strlen(secret), "ctx"), 0);
	assert_int_equal(seal_keys_derive(&f->other_keys, other, strlen(other), "ctx"), 0);
	fake_now = 1000;
	f->config = (struct redis_tier_config){
		.keys = &f->keys, .timeout_ms = TIMEOUT_MS,
		.ttl_s = 30 * 86400, .breaker_failures = 3,
		.breaker_cooldown_ms = COOLDOWN_MS, .clock = fake_clock,
		.queue_max = 64, .queue_bytes_max = 1 << 20,
		.max_value = 64 << 10, .log = capture_log, .log_ctx = f,
	};
	snprintf(f->config.url.host, sizeof(f->config.url.host), "%s", LOOPBACK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	server_cleanup(&f->server);
	free(f);
	return 0;
}

static struct redis_tier *start_with_server(struct fixture *f,
					    const char *password)
{
	struct redis_tier *t;

	server_start(&f->server, 0, password);
	f->config.url.port = f->server.port;
	f->config.password = password;
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	return t;
}

/* Waits until every queued put was stored or dropped. */
static void drain(struct redis_tier *t)
{
	struct redis_tier_stats st;
	int64_t deadline = now_ms() + DRAIN_DEADLINE_MS;

	for (;;) {
		redis_tier_get_stats(t, &st);
		if (st.pending == 0)
			return;
		if (now_ms() > deadline)
			fail_msg("%zu puts still pending after %d ms", st.pending,
				 DRAIN_DEADLINE_MS);
		sleep_ms(2);
	}
}

static void put_and_drain(struct redis_tier *t, const char *key,
			  const char *value)
{
	assert_int_equal(redis_tier_put(t, key, value, strlen(value)), 0);
	drain(t);
}

static void assert_gets(struct redis_tier *t, const char *key,
			const char *expected)
{
	void *value;
	size_t len;

	assert_int_equal(redis_tier_get(t, key, &value, &len), 0);
	assert_int_equal(len, strlen(expected));
	assert_memory_equal(value, expected, len);
	assert_int_equal(((char *)value)[len], '\0');
	free(value);
}

static void assert_misses(struct redis_tier *t, const char *key)
{
	void *value = (void *)1;
	size_t len = 1;

	assert_int_equal(redis_tier_get(t, key, &value, &len), -ENOENT);
	assert_null(value);
	assert_int_equal(len, 0);
}

/* The one name on the server (there must be exactly one). */
static void only_name(redisContext *c, char *out, size_t size)
{
	redisReply *r = redisCommand(c, "KEYS *");

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	snprintf(out, size, "%s", r->element[0]->str);
	freeReplyObject(r);
}

/* ---- the tests ---------------------------------------------------------------- */

static void a_stored_value_comes_back_and_a_missing_one_misses(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL);
	struct redis_tier_stats st;

	assert_misses(t, KEY);
	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	assert_misses(t, KEY "x");
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.stores, 1);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.breaker, BREAKER_CLOSED);
	assert_true(st.get_us > 0 && st.store_us > 0);
	redis_tier_free(t);
}

static void the_server_sees_no_key_no_value_and_a_30_day_expiry(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL);
	redisContext *c = peek(&f->server, NULL);
	char name[256];
	redisReply *r;

	put_and_drain(t, KEY, VALUE);
	only_name(c, name, sizeof(name));
	assert_memory_equal(name, SEAL_NAME_PREFIX, strlen(SEAL_NAME_PREFIX));
	assert_null(strstr(name, "shop"));
	assert_null(strstr(name, "checkout"));
	assert_null(strstr(name, "0123456789abcdef0123"));
	r = redisCommand(c, "GET %s", name);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, strlen(VALUE) + SEAL_OVERHEAD);
	assert_null(memmem(r->str, r->len, "declined", 8));
	freeReplyObject(r);
	r = redisCommand(c, "TTL %s", name);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_true(r->integer > 29 * 86400 && r->integer <= 30 * 86400);
	freeReplyObject(r);
	redisFree(c);
	redis_tier_free(t);
}

static void an_altered_value_is_rejected_and_counted(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL);
	redisContext *c = peek(&f->server, NULL);
	struct redis_tier_stats st;
	char name[256];
	redisReply *r;

	put_and_drain(t, KEY, VALUE);
	only_name(c, name, sizeof(name));
	r = redisCommand(c, "SETRANGE %s 20 X", name);
	freeReplyObject(r);
	assert_misses(t, KEY);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.hits, 0);
	/* A rejected entry is a server that answered: no breaker trip. */
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.breaker, BREAKER_CLOSED);
	/* The next put of the record replaces it. */
	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	redisFree(c);
	redis_tier_free(t);
}

static void an_entry_moved_or_from_another_account_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL), *other;
	redisContext *c = peek(&f->server, NULL);
	struct redis_tier_config other_config = f->config;
	struct redis_tier_stats st;
	char mine[SEAL_NAME_SIZE], theirs[SEAL_NAME_SIZE], moved[SEAL_NAME_SIZE];
	redisReply *r;

	other_config.keys = &f->other_keys;
	other = redis_tier_new(&other_config);
	assert_non_null(other);
	/* Another account shares the server: same path, another name, so
	 * neither sees the other's record. */
	put_and_drain(other, KEY, "their record\n");
	assert_misses(t, KEY);
	/* Their entry copied under my name for the path: rejected. */
	assert_int_equal(seal_name(&f->keys, KEY, mine), 0);
	assert_int_equal(seal_name(&f->other_keys, KEY, theirs), 0);
	r = redisCommand(c, "COPY %s %s", theirs, mine);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	assert_misses(t, KEY);
	/* My own entry for another path, moved under this path's name. */
	put_and_drain(t, KEY "2", VALUE);
	assert_int_equal(seal_name(&f->keys, KEY "2", moved), 0);
	r = redisCommand(c, "RENAME %s %s", moved, mine);
	freeReplyObject(r);
	assert_misses(t, KEY);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 0);
	redisFree(c);
	redis_tier_free(other);
	redis_tier_free(t);
}

static void a_password_is_sent_and_a_wrong_one_is_said_once(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, PASSWORD), *wrong;
	struct redis_tier_config config = f->config;
	char why[256] = "";

	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	assert_int_equal(redis_tier_probe(&f->config, why, sizeof(why)), 0);
	config.password = "not-the-password";
	assert_int_equal(redis_tier_probe(&config, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "AUTH refused"));
	assert_null(strstr(why, "not-the-password"));
	wrong = redis_tier_new(&config);
	assert_non_null(wrong);
	for (int i = 0; i < 2; i++) {
		void *value;
		size_t len;

		assert_int_equal(redis_tier_get(wrong, KEY, &value, &len), -EIO);
		assert_null(value);
	}
	assert_int_equal(f->logged, 1);
	assert_non_null(strstr(f->log, "AUTH refused"));
	assert_null(strstr(f->log, "not-the-password"));
	assert_null(strstr(f->log, PASSWORD));
	redis_tier_free(wrong);
	redis_tier_free(t);
}

static void a_value_over_the_limit_is_neither_put_nor_read(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	size_t big_len = (64 << 10) + 1;
	char *big = malloc(big_len);
	struct redis_tier_stats st;

	assert_non_null(big);
	memset(big, 'x', big_len);
	t = start_with_server(f, NULL);
	assert_int_equal(redis_tier_put(t, KEY, big, big_len), -ENOSPC);
	assert_int_equal(redis_tier_put(t, KEY, big, big_len - 1), 0);
	drain(t);
	{
		void *value;
		size_t len;

		assert_int_equal(redis_tier_get(t, KEY, &value, &len), 0);
		assert_int_equal(len, big_len - 1);
		free(value);
	}
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.stores, 1);
	free(big);
	redis_tier_free(t);
}

static void a_dead_server_costs_a_timeout_then_nothing(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL);
	struct redis_tier_stats st;
	int64_t started;
	int port = f->server.port, i;

	put_and_drain(t, KEY, VALUE);
	server_stop(&f->server);
	for (i = 0; i < 3; i++) {
		void *value;
		size_t len;

		started = now_ms();
		assert_int_not_equal(redis_tier_get(t, KEY, &value, &len), 0);
		/* Refused at once on loopback; the bound is the timeout's
		 * order, with room for a loaded machine. */
		assert_true(now_ms() - started < 20 * TIMEOUT_MS);
	}
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.breaker, BREAKER_OPEN);
	assert_int_equal(st.trips, 1);
	assert_int_equal(st.errors, 3);
	assert_int_equal(f->logged, 1);
	assert_non_null(strstr(f->log, "cannot connect"));
	/* Open: gets do not ask, puts are not queued. */
	assert_misses(t, KEY);
	assert_int_equal(redis_tier_put(t, KEY, VALUE, strlen(VALUE)), -EAGAIN);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.errors, 3);
	/* Back on the same port (empty: no persistence); after the cooldown
	 * one probe closes the breaker. */
	server_start(&f->server, port, NULL);
	fake_now += COOLDOWN_MS - 1;
	assert_misses(t, KEY);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.skipped, 2);
	fake_now += 1;
	assert_misses(t, KEY);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.breaker, BREAKER_CLOSED);
	assert_int_equal(st.misses, 1);
	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	redis_tier_free(t);
}

/* A listener that never accepts: connects succeed (the kernel's
 * backlog), nothing ever answers. */
static int silent_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void a_silent_server_costs_a_get_its_timeout_at_most(void **state)
{
	struct fixture *f = *state;
	struct redis_tier_stats st;
	struct redis_tier *t;
	int fd = silent_listener(&f->config.url.port), i;
	int64_t started, took;

	t = redis_tier_new(&f->config);
	assert_non_null(t);
	for (i = 0; i < 3; i++) {
		void *value;
		size_t len;

		started = now_ms();
		assert_int_equal(redis_tier_get(t, KEY, &value, &len), -EIO);
		took = now_ms() - started;
		assert_true(took >= TIMEOUT_MS - 5);
		assert_true(took < 20 * TIMEOUT_MS);
	}
	started = now_ms();
	assert_misses(t, KEY); /* open: no wait at all */
	assert_true(now_ms() - started < TIMEOUT_MS);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.breaker, BREAKER_OPEN);
	assert_true(st.get_us >= 3 * (TIMEOUT_MS - 5) * 1000);
	redis_tier_free(t);
	close(fd);
}

/* ---- a hostile server ------------------------------------------------------- */

/* Answers the tier's PING, then answers its GET with head and body_bytes
 * of 'x' (one byte per drip_ms when drip_ms > 0), as a broken or hostile
 * server could: slowly enough that no single read times out, or more
 * than any value the tier asks for. */
struct hostile {
	int listen_fd, port;
	const char *first_word, *first_reply; /* NULL: PING, +PONG */
	const char *head;
	size_t body_bytes;
	int drip_ms;
	size_t sent;      /* body bytes the client took */
	bool cut_off;     /* the client hung up before the body's end */
	pthread_t thread;
};

/* Reads from fd until the bytes seen so far contain word. */
static bool read_until(int fd, const char *word)
{
	char seen[4096];
	size_t len = 0;

	while (len < sizeof(seen) - 1) {
		ssize_t n = read(fd, seen + len, sizeof(seen) - 1 - len);

		if (n <= 0)
			return false;
		len += (size_t)n;
		seen[len] = '\0';
		if (strstr(seen, word))
			return true;
	}
	return false;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static void *hostile_serve(void *arg)
{
	struct hostile *h = arg;
	static char chunk[65536];
	struct timeval tv = { 5, 0 };
	int fd = accept(h->listen_fd, NULL, NULL);
	bool ok;

	memset(chunk, 'x', sizeof(chunk));
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ok = read_until(fd, h->first_word ? h->first_word : "PING") &&
	     send_all(fd, h->first_reply ? h->first_reply : "+PONG\r\n",
		      strlen(h->first_reply ? h->first_reply : "+PONG\r\n")) &&
	     read_until(fd, "GET") && send_all(fd, h->head, strlen(h->head));
	while (ok && h->sent < h->body_bytes) {
		size_t n = h->drip_ms ? 1 : h->body_bytes - h->sent;

		n = n < sizeof(chunk) ? n : sizeof(chunk);
		ok = send_all(fd, chunk, n);
		h->sent += ok ? n : 0;
		if (ok && h->drip_ms)
			sleep_ms(h->drip_ms);
	}
	h->cut_off = !ok;
	close(fd);
	return NULL;
}

static void hostile_start(struct hostile *h, struct fixture *f)
{
	h->listen_fd = silent_listener(&h->port);
	f->config.url.port = h->port;
	assert_int_equal(pthread_create(&h->thread, NULL, hostile_serve, h), 0);
}

static void hostile_stop(struct hostile *h)
{
	pthread_join(h->thread, NULL);
	close(h->listen_fd);
}

static void a_dripping_server_costs_a_get_its_timeout_at_most(void **state)
{
	struct fixture *f = *state;
	/* 200 bytes at one per 20 ms: 4 s, though no read waits 50 ms. */
	struct hostile h = { .head = "$200\r\n", .body_bytes = 200, .drip_ms = 20 };
	struct redis_tier *t;
	void *value = NULL;
	size_t len;
	int64_t started, took;

	hostile_start(&h, f);
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	started = now_ms();
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), -EIO);
	took = now_ms() - started;
	redis_tier_free(t);
	hostile_stop(&h);
	assert_null(value);
	/* the PING's budget and the GET's, and room for a loaded machine */
	assert_true(took < 20 * TIMEOUT_MS);
	assert_true(h.cut_off);
}

static void a_reply_larger_than_any_value_is_not_read(void **state)
{
	struct fixture *f = *state;
	/* 64 MiB announced and sent as fast as the client takes it; the
	 * tier's largest value is 64 KiB. */
	struct hostile h = { .head = "$67108864\r\n", .body_bytes = 64 << 20 };
	struct redis_tier *t;
	void *value = NULL;
	size_t len;

	f->config.timeout_ms = 2000; /* so only the size can stop it */
	hostile_start(&h, f);
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), -EIO);
	redis_tier_free(t);
	hostile_stop(&h);
	assert_null(value);
	assert_true(h.cut_off);
	/* what the kernel's buffers held, not the 64 MiB */
	assert_true(h.sent < (32u << 20));
}

/* One deadline per command must still let a large value through: each
 * MiB moved earns another timeout. */
static void a_large_value_still_goes_and_comes_back(void **state)
{
	struct fixture *f = *state;
	const size_t big = 6u << 20;
	char *data = malloc(big);
	struct redis_tier_stats st;
	struct redis_tier *t;
	void *value = NULL;
	size_t len = 0, i;

	assert_non_null(data);
	for (i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	f->config.max_value = 8u << 20;
	f->config.queue_bytes_max = 16u << 20;
	t = start_with_server(f, NULL);
	assert_int_equal(redis_tier_put(t, KEY, data, big), 0);
	drain(t);
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(value, data, big);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.stores, 1);
	assert_int_equal(st.errors, 0);
	free(value);
	free(data);
	redis_tier_free(t);
}

static void an_array_longer_than_any_reply_is_not_made(void **state)
{
	struct fixture *f = *state;
	/* Two billion elements announced: hiredis would calloc 16 GB for
	 * them, and walk them all when the half-read reply is freed. */
	struct hostile h = { .head = "*2000000000\r\n:1\r\n" };
	struct redis_tier *t;
	void *value = NULL;
	size_t len;
	int64_t started;

	hostile_start(&h, f);
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	started = now_ms();
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), -EIO);
	redis_tier_free(t);
	assert_true(now_ms() - started < 20 * TIMEOUT_MS);
	hostile_stop(&h);
	assert_null(value);
}

/* A name is resolved when the tier is made, not when a reader connects:
 * a resolver as slow as a dead one costs no get anything. */
static void a_slow_resolver_never_holds_a_reader(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	void *value = NULL;
	size_t len;
	int64_t started;

	server_start(&f->server, 0, NULL);
	f->config.url.port = f->server.port;
	snprintf(f->config.url.host, sizeof(f->config.url.host), "%s", TEST_NAME);
	atomic_store(&resolver_delay_ms, 40 * TIMEOUT_MS);
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	started = now_ms();
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), -ENOENT);
	assert_true(now_ms() - started < 20 * TIMEOUT_MS);
	atomic_store(&resolver_delay_ms, 0);
	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	redis_tier_free(t);
}

/* A name that did not resolve when the tier was made is resolved again
 * by the store thread, never by a get, and without any put: a failed
 * connect wakes it (the breaker keeps puts away while the server fails). */
static void a_name_that_failed_to_resolve_is_resolved_again_off_readers(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	void *value = NULL;
	size_t len;
	int64_t deadline;
	int calls, rc;

	server_start(&f->server, 0, NULL);
	f->config.url.port = f->server.port;
	snprintf(f->config.url.host, sizeof(f->config.url.host), "%s", TEST_NAME);
	f->config.resolve_every_ms = 20;
	f->config.breaker_failures = 1000; /* this test counts no failures */
	atomic_store(&resolver_fails, 1);
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	/* Readers never resolve: the get fails at once, the resolver is not
	 * asked in its thread (its 2 s would show; the store thread asks in
	 * its own, after resolve_every_ms). */
	atomic_store(&resolver_delay_ms, 40 * TIMEOUT_MS);
	calls = atomic_load(&resolver_calls);
	deadline = now_ms();
	assert_int_equal(redis_tier_get(t, KEY, &value, &len), -EIO);
	assert_true(now_ms() - deadline < 20 * TIMEOUT_MS);
	atomic_store(&resolver_delay_ms, 0);
	atomic_store(&resolver_fails, 0);
	deadline = now_ms() + 5000;
	do {
		sleep_ms(5);
		rc = redis_tier_get(t, KEY, &value, &len);
	} while (rc == -EIO && now_ms() < deadline);
	assert_int_equal(rc, -ENOENT); /* reached: a miss */
	assert_true(atomic_load(&resolver_calls) > calls);
	put_and_drain(t, KEY, VALUE);
	assert_gets(t, KEY, VALUE);
	redis_tier_free(t);
}

/* The server's words about a refused AUTH are quoted to the user, unless
 * they quote the password back. */
static void a_password_the_server_quotes_back_is_not_shown(void **state)
{
	struct fixture *f = *state;
	struct hostile h = { .first_word = "AUTH",
			     .first_reply = "-ERR invalid password '" PASSWORD "'\r\n" };
	char why[256] = "";

	hostile_start(&h, f);
	f->config.password = PASSWORD;
	assert_int_equal(redis_tier_probe(&f->config, why, sizeof(why)), -EACCES);
	hostile_stop(&h);
	assert_non_null(strstr(why, "AUTH refused"));
	assert_null(strstr(why, PASSWORD));
}

static void puts_never_wait_and_a_full_queue_drops(void **state)
{
	struct fixture *f = *state;
	struct redis_tier_stats st;
	struct redis_tier *t;
	int fd = silent_listener(&f->config.url.port), i, dropped = 0;
	int64_t started;
	char key[128];

	/* Each store waits its whole timeout on the silent server, so the
	 * queue fills behind the first one. */
	f->config.timeout_ms = 500;
	f->config.queue_max = 4;
	t = redis_tier_new(&f->config);
	assert_non_null(t);
	started = now_ms();
	for (i = 0; i < 20; i++) {
		int rc;

		snprintf(key, sizeof(key), "%s%d", KEY, i);
		rc = redis_tier_put(t, key, VALUE, strlen(VALUE));
		assert_true(rc == 0 || rc == -ENOSPC);
		dropped += rc == -ENOSPC;
	}
	assert_true(now_ms() - started < f->config.timeout_ms / 2);
	/* At most the queue and the one store in flight took a put. */
	assert_true(dropped >= 20 - 5);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.dropped, (uint64_t)dropped);
	assert_true(st.pending >= 1 && st.pending <= 5);
	/* Freeing stores what is queued under the breaker: three timeouts,
	 * then the rest dropped at once. */
	redis_tier_free(t);
	close(fd);
}

static void urls_parse_as_documented(void **state)
{
	static const struct {
		const char *url;
		int rc;
		const char *host;
		int port, db;
	} cases[] = {
		{ "redis://127.0.0.1:6379", 0, "127.0.0.1", 6379, 0 },
		{ "redis://127.0.0.1:6379/3", 0, "127.0.0.1", 6379, 3 },
		{ "redis://cache.internal-1.example:1/9999", 0,
		  "cache.internal-1.example", 1, 9999 },
		{ "redis://[::1]:6380/0", 0, "::1", 6380, 0 },
		{ "redis://127.0.0.1", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:0", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:65536", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:-1", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:+6379", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:6379/", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:6379/10000", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:6379/1/2", -EINVAL, NULL, 0, 0 },
		{ "redis://127.0.0.1:6379?db=1", -EINVAL, NULL, 0, 0 },
		{ "redis://:secret@127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "redis://user:secret@127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "rediss://127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "rediss://:secret@127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "http://user:secret@127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "http://127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "redis://:6379", -EINVAL, NULL, 0, 0 },
		{ "redis://[::1:6379", -EINVAL, NULL, 0, 0 },
		{ "redis://host name:6379", -EINVAL, NULL, 0, 0 },
		{ "127.0.0.1:6379", -EINVAL, NULL, 0, 0 },
		{ "", -EINVAL, NULL, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct redis_url url;
		char why[256] = "";
		int rc = redis_url_parse(cases[i].url, &url, why, sizeof(why));

		if (rc != cases[i].rc)
			fail_msg("%s: %d, expected %d (%s)", cases[i].url, rc,
				 cases[i].rc, why);
		if (rc) {
			assert_non_null(strstr(why, "invalid cache_url="));
			/* A password never goes to a message. */
			assert_null(strstr(why, "secret"));
			continue;
		}
		assert_string_equal(url.host, cases[i].host);
		assert_int_equal(url.port, cases[i].port);
		assert_int_equal(url.db, cases[i].db);
	}
}

static void a_db_number_selects_that_db(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	redisContext *c;
	redisReply *r;

	f->config.url.db = 5;
	t = start_with_server(f, NULL);
	put_and_drain(t, KEY, VALUE);
	c = peek(&f->server, NULL);
	r = redisCommand(c, "DBSIZE");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	r = redisCommand(c, "SELECT 5");
	freeReplyObject(r);
	r = redisCommand(c, "DBSIZE");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	redisFree(c);
	assert_gets(t, KEY, VALUE);
	redis_tier_free(t);
}

static void the_tier_table_reaches_the_same_entries(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t = start_with_server(f, NULL);
	struct cache_tier *tier = redis_tier_as_tier(t);
	struct cache_tier_stats st;
	void *value;
	size_t len;

	assert_null(redis_tier_as_tier(NULL));
	assert_int_equal(cache_tier_get(tier, KEY, &value, &len), -ENOENT);
	assert_int_equal(cache_tier_put(tier, KEY, VALUE, strlen(VALUE)), 0);
	drain(t);
	assert_int_equal(cache_tier_get(tier, KEY, &value, &len), 0);
	assert_int_equal(len, strlen(VALUE));
	assert_memory_equal(value, VALUE, len);
	free(value);
	cache_tier_get_stats(tier, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.writes, 1);
	assert_int_equal(st.corrupt, 0);
	cache_tier_free(tier); /* frees t */
}

/* ---- claims: one fetch for a fleet ---------------------------------------- */

#define CLAIM_MS 2000

struct waiter {
	struct redis_tier *tier;
	int rc;
	void *value;
	size_t len;
	int64_t took_ms;
};

static void *wait_in_thread(void *arg)
{
	struct waiter *w = arg;
	int64_t started = now_ms();

	w->rc = redis_tier_get(w->tier, KEY, &w->value, &w->len);
	w->took_ms = now_ms() - started;
	return NULL;
}

/* How many MGETs the server has run: a waiting get's polls. */
static long long mget_calls(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO commandstats");
	const char *at = r && r->str ? strstr(r->str, "cmdstat_mget:calls=") : NULL;
	long long calls = at ? strtoll(at + strlen("cmdstat_mget:calls="), NULL, 10) : 0;

	freeReplyObject(r);
	return calls;
}

static void a_miss_claims_the_fetch_for_a_while(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	redisContext *c;
	char name[SEAL_NAME_SIZE];
	redisReply *r;

	f->config.claim_ms = CLAIM_MS;
	f->config.claim_poll_ms = 5;
	t = start_with_server(f, NULL);
	c = peek(&f->server, NULL);
	assert_misses(t, KEY);
	assert_int_equal(seal_name(&f->keys, KEY, name), 0);
	r = redisCommand(c, "PTTL %s:claim", name);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_true(r->integer > 0 && r->integer <= CLAIM_MS);
	freeReplyObject(r);
	redisFree(c);
	redis_tier_free(t);
}

static void a_claimed_fetch_is_waited_for_not_repeated(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t, *other;
	struct waiter w = { 0 };
	struct redis_tier_stats st;
	char name[SEAL_NAME_SIZE];
	redisContext *c;
	redisReply *r;
	pthread_t thread;
	int64_t deadline;

	f->config.claim_ms = CLAIM_MS;
	f->config.claim_poll_ms = 5;
	t = start_with_server(f, NULL);
	other = redis_tier_new(&f->config);
	assert_non_null(other);
	c = peek(&f->server, NULL);
	/* Another host has just claimed the record's fetch. */
	assert_int_equal(seal_name(&f->keys, KEY, name), 0);
	r = redisCommand(c, "SET %s:claim 1 PX %d", name, CLAIM_MS);
	freeReplyObject(r);
	w.tier = t;
	assert_int_equal(pthread_create(&thread, NULL, wait_in_thread, &w), 0);
	deadline = now_ms() + START_DEADLINE_MS;
	while (mget_calls(c) == 0) {
		if (now_ms() > deadline)
			fail_msg("the get never polled for the claimed value");
		sleep_ms(1);
	}
	/* ... and stores it. */
	assert_int_equal(redis_tier_put(other, KEY, VALUE, strlen(VALUE)), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.len, strlen(VALUE));
	assert_memory_equal(w.value, VALUE, w.len);
	assert_true(w.took_ms < CLAIM_MS);
	free(w.value);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.waits, 1);
	assert_int_equal(st.misses, 0);
	redisFree(c);
	redis_tier_free(other);
	redis_tier_free(t);
}

static void a_claim_that_lapses_without_a_value_is_a_miss(void **state)
{
	struct fixture *f = *state;
	struct redis_tier *t;
	struct redis_tier_stats st;
	char name[SEAL_NAME_SIZE];
	redisContext *c;
	redisReply *r;
	int64_t started;

	f->config.claim_ms = CLAIM_MS;
	f->config.claim_poll_ms = 5;
	t = start_with_server(f, NULL);
	c = peek(&f->server, NULL);
	/* The claiming host's fetch failed (a record not readable yet):
	 * nothing will come, and the claim lapses after 100 ms. */
	assert_int_equal(seal_name(&f->keys, KEY, name), 0);
	r = redisCommand(c, "SET %s:claim 1 PX 100", name);
	freeReplyObject(r);
	started = now_ms();
	assert_misses(t, KEY);
	assert_true(now_ms() - started >= 90);
	assert_true(now_ms() - started < CLAIM_MS);
	redis_tier_get_stats(t, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.waits, 0);
	redisFree(c);
	redis_tier_free(t);
}

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob). */
int main(int argc, char **argv)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urls_parse_as_documented),
		T(a_stored_value_comes_back_and_a_missing_one_misses),
		T(the_server_sees_no_key_no_value_and_a_30_day_expiry),
		T(an_altered_value_is_rejected_and_counted),
		T(an_entry_moved_or_from_another_account_is_rejected),
		T(a_password_is_sent_and_a_wrong_one_is_said_once),
		T(a_value_over_the_limit_is_neither_put_nor_read),
		T(a_db_number_selects_that_db),
		T(the_tier_table_reaches_the_same_entries),
		T(a_miss_claims_the_fetch_for_a_while),
		T(a_claimed_fetch_is_waited_for_not_repeated),
		T(a_claim_that_lapses_without_a_value_is_a_miss),
		T(a_dead_server_costs_a_timeout_then_nothing),
		T(a_silent_server_costs_a_get_its_timeout_at_most),
		T(puts_never_wait_and_a_full_queue_drops),
		T(a_dripping_server_costs_a_get_its_timeout_at_most),
		T(a_reply_larger_than_any_value_is_not_read),
		T(an_array_longer_than_any_reply_is_not_made),
		T(a_large_value_still_goes_and_comes_back),
		T(a_password_the_server_quotes_back_is_not_shown),
		T(a_slow_resolver_never_holds_a_reader),
		T(a_name_that_failed_to_resolve_is_resolved_again_off_readers),
	};
#undef T

	/* A write to a server that died raises SIGPIPE; ncffs ignores it
	 * too (libfuse's signal handlers). */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
