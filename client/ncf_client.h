/* ncf_client — the NCP Cloud Functions read API, as fs/ sees it, or the
 * same read API of Apache OpenWhisk (config.backend; see backend.h).
 *
 * Every call is one or more HTTPS GETs (NCP: signed with API Gateway
 * signature v2; OpenWhisk: basic auth) made with libcurl; names are validated before they reach a request
 * target, and names the server sends back that are not valid path
 * components are dropped (and logged) before the caller sees them.
 *
 * Invariants:
 *  - Thread-safe: one client serves every FUSE worker thread; connections,
 *    DNS and TLS sessions are shared between them.
 *  - Secrets never leave the client: not in logs, not in error messages.
 *  - Errors are -errno (see errmap.c for the single mapping); the optional
 *    struct ncf_error says what the server said, for a log line.
 *  - Returned objects are owned by the caller and freed with their _free.
 */
#ifndef NCFFS_NCF_CLIENT_H
#define NCFFS_NCF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncf_types.h"

struct ncf_client;

/* Who waits on a request, most urgent first: a person (a read, a lookup,
 * ls), readahead, then background work (tsv batches, follow.log polls).
 * A thread's requests go at its priority (ncf_client_set_priority). */
enum ncf_priority {
	NCF_PRIORITY_INTERACTIVE,
	NCF_PRIORITY_READAHEAD,
	NCF_PRIORITY_BACKGROUND,
	NCF_PRIORITIES
};

/* level is a syslog priority (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
typedef void (*ncf_log_fn)(void *log_ctx, int level, const char *message);

/* A stand-in for HTTP, so tests can drive paging and retries without
 * sockets: it answers one GET of target (path and query, as signed). */
struct ncf_transport_reply {
	long status;             /* HTTP status; ignored when failed */
	const char *body;        /* copied by the client */
	size_t len;
	const char *retry_after; /* the Retry-After header's value, or NULL */
	bool failed;             /* no answer at all, as a refused connection */
};
typedef void (*ncf_transport_fn)(void *transport_ctx, const char *target,
				 struct ncf_transport_reply *reply);

struct ncf_client_config {
	/* Which API: "ncp" (NULL: the same) or "openwhisk" (Apache
	 * OpenWhisk's /api/v1: Adobe I/O Runtime, DigitalOcean Functions).
	 * OpenWhisk reads neither platform nor access_key nor region; its
	 * AUTH (uuid:key) is secret_key, its namespace namespace_name. */
	const char *backend;
	const char *namespace_name; /* NULL or "": "_", the key's own */
	const char *endpoint;   /* base URL with its path, e.g. https://h/api/v2 */
	const char *platform;   /* "classic" or "vpc" */
	const char *access_key;
	const char *secret_key; /* copied; the copy is wiped on free */
	const char *cafile;     /* extra CA bundle, or NULL */
	long timeout_s;         /* per attempt: connect and stalled transfer */
	int retries;            /* extra attempts for retryable failures */
	size_t max_body;        /* bytes; a larger response fails with -EFBIG */
	size_t page_size;       /* pageSize asked for when listing */
	ncf_log_fn log;
	void *log_ctx;
	const char *region;     /* kr, sg or jp: the local time of v2.0 start/end
				 * query parameters (NULL: kr) */
	ncf_transport_fn transport; /* NULL: libcurl (tests set it) */
	void *transport_ctx;
	/* The scheduler (scheduler.h): requests in flight at most (0: 64),
	 * to start with (0: 16), requests a second at most (0: no cap), and
	 * how long 429s are retried before they count as failures (0: 60 s). */
	unsigned max_inflight, initial_inflight;
	double rate;
	long throttle_wait_s;
};

struct ncf_client_stats {
	uint64_t requests, retries, failures;
};

/* Lifecycle. ncf_client_new returns NULL on bad config or no memory. */
struct ncf_client *ncf_client_new(const struct ncf_client_config *config);
void ncf_client_free(struct ncf_client *client);

/* One signed call to check the endpoint and the credentials before
 * mounting: the package list, which the API does not page. Its answer is
 * kept for a few seconds and serves the first ncf_list_packages, so a mount
 * followed by `ls packages` costs one request. */
int ncf_client_probe(struct ncf_client *client, struct ncf_error *err);

/* Listings, every page of them (see listing.c for what a walk may cost and
 * when it stops). Items keep the server's order; *out is the caller's. */
int ncf_list_packages(struct ncf_client *client, struct ncf_listing **out,
		      struct ncf_error *err);
int ncf_list_actions(struct ncf_client *client, const char *pkg,
		     struct ncf_listing **out, struct ncf_error *err);
int ncf_list_activations(struct ncf_client *client, const char *pkg,
			 const char *action, struct ncf_listing **out,
			 struct ncf_error *err);

/* Slices of activation lists (struct ncf_list_query, ncf_types.h). */
int ncf_query_activations(struct ncf_client *client, const char *pkg,
			  const char *action, const struct ncf_list_query *query,
			  struct ncf_listing **out, struct ncf_error *err);
int ncf_query_trigger_activations(struct ncf_client *client,
				  const char *trigger,
				  const struct ncf_list_query *query,
				  struct ncf_listing **out, struct ncf_error *err);

int ncf_list_triggers(struct ncf_client *client, struct ncf_listing **out,
		      struct ncf_error *err);
int ncf_list_trigger_activations(struct ncf_client *client, const char *trigger,
				 struct ncf_listing **out, struct ncf_error *err);

/* Get Action's content, pretty-printed with a trailing newline. */
int ncf_get_action(struct ncf_client *client, const char *pkg,
		   const char *action, struct ncf_blob **out,
		   struct ncf_error *err);

/* Get Trigger's content, likewise. */
int ncf_get_trigger(struct ncf_client *client, const char *trigger,
		    struct ncf_blob **out, struct ncf_error *err);

/* One activation record, decoded. */
int ncf_get_activation(struct ncf_client *client, const char *pkg,
		       const char *action, const char *id,
		       struct ncf_activation **out, struct ncf_error *err);

/* Work for the client's scheduler: every API request of a mount goes
 * through it, so nobody else starts threads to talk to the API.
 * run_batch calls fn(ctx, i) for i in [0, count) on the scheduler's pool
 * and on the calling thread, at prio, and returns when all have returned.
 * submit runs fn(ctx) on the pool later, at prio: 0, -ENOMEM or
 * -ECANCELED; ctx must live until fn has run. */
void ncf_client_run_batch(struct ncf_client *client, enum ncf_priority prio,
			  size_t count, void (*fn)(void *ctx, size_t index),
			  void *ctx);
int ncf_client_submit(struct ncf_client *client, enum ncf_priority prio,
		      void (*fn)(void *ctx), void *ctx);
/* submit, delay_ms from now: a timer in the scheduler, no thread of the
 * caller's (follow.log's polls). cancel_submitted drops the submissions of
 * fn with ctx that have not started, timed or queued, and returns how
 * many; one that is running is not waited for. */
int ncf_client_submit_after(struct ncf_client *client, enum ncf_priority prio,
			    int64_t delay_ms, void (*fn)(void *ctx), void *ctx);
int ncf_client_cancel_submitted(struct ncf_client *client,
				void (*fn)(void *ctx), const void *ctx);
/* The priority of the calling thread's requests from now on; returns the
 * previous one. Threads start interactive. */
enum ncf_priority ncf_client_set_priority(enum ncf_priority prio);

/* Aborts running requests and refuses new ones (they fail with
 * -ECANCELED): unmounting must not wait out retries against a dead API. */
void ncf_client_cancel(struct ncf_client *client);

int ncf_get_trigger_activation(struct ncf_client *client, const char *trigger,
			       const char *id, struct ncf_activation **out,
			       struct ncf_error *err);

/* The API-call counters and the scheduler's state (limit, in flight,
 * queued by priority, 429s answered, time paused) as "key value" lines
 * (see metrics.h), appended to
 * buf and NUL-terminated; returns the length they needed. */
size_t ncf_client_format_stats(struct ncf_client *client, char *buf,
			       size_t size);

void ncf_client_get_stats(struct ncf_client *client,
			  struct ncf_client_stats *out);

#endif
