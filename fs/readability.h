/* readability — what the mount has learned from the API's answers about
 * records it could not read, and about the order of its lists; the one
 * place every view asks, so that each treats the same answer the same way.
 *
 * Kinds of "cannot read" (record_kind):
 *  - fresh: 404 "not found" for a listed record, for less than
 *    READABILITY_FRESH_MAX_S (-o late_max) since its first 404 (NCP answers 404 80322 for
 *    up to ~40 s after a run is listed). Waited for: asked again later.
 *  - gone: still 404 after that (purged: retention ended under a reader).
 *  - broken: malformed (EBADMSG) or too big to show (EFBIG).
 *  - failed: any other error (the network, the server): not an answer about
 *    the record at all, so a view passes it on.
 * None of them is evidence of a list's order; a view shows purged and
 * broken records as what they are and never points latest at them.
 *
 * Retries: a record that answered "not found" is asked
 * again after 1, 2, 4, ... s (doubling, capped at READABILITY_BACKOFF_CAP_S,
 * plus up to a quarter of jitter), whoever asks: follow.log's pollers,
 * latest, readahead, the tsv. Asking again also takes a token from a
 * per-mount budget (READABILITY_BUDGET_PER_S a second, bursts of
 * READABILITY_BUDGET_BURST): past it, the last answer stands. First asks
 * are free: they are not retries. At most READABILITY_IDS_MAX ids are
 * remembered (the longest-waiting one is forgotten first).
 *
 * Orders: a list's order is remembered per owner only with the evidence it
 * was decided on (the greatest start seen at its newest end), and dropped
 * when an answer contradicts it (readability_order_*). At most
 * READABILITY_ORDERS_MAX owners; the oldest remembered is forgotten first.
 *
 * Thread-safe (one mutex). The clock and the random source are injected,
 * so the schedule is testable without sleeping. */
#ifndef NCFFS_READABILITY_H
#define NCFFS_READABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READABILITY_FRESH_MAX_S 120
#define READABILITY_BACKOFF_CAP_S 8
#define READABILITY_GONE_RETRY_S 600
#define READABILITY_BUDGET_PER_S 4
#define READABILITY_BUDGET_BURST 32
#define READABILITY_IDS_MAX 4096
#define READABILITY_ORDERS_MAX 1024
#define READABILITY_ID_MAX 64

enum record_kind {
	RECORD_READABLE,
	RECORD_FRESH,
	RECORD_GONE,
	RECORD_BROKEN,
	RECORD_FAILED,
};

struct readability_stats {
	uint64_t retries;      /* records asked again */
	uint64_t deferred;     /* asks answered from the schedule, no request */
	uint64_t over_budget;  /* of those, for want of budget */
	uint64_t became_readable; /* records readable after a 404 */
	uint64_t broken;       /* malformed or too-big answers */
	size_t waiting;        /* ids remembered as fresh */
	size_t gone;           /* ids remembered as gone */
	size_t orders;         /* owners whose order is known */
	uint64_t orders_dropped; /* remembered orders a fact contradicted */
};

/* Milliseconds on a monotonic clock; a random 32-bit number. */
typedef int64_t (*readability_clock_fn)(void *ctx);
typedef uint32_t (*readability_random_fn)(void *ctx);

struct readability;

/* NULL clock/random: CLOCK_MONOTONIC and a seeded xorshift. NULL on no
 * memory. readability_free(NULL) is a no-op. */
struct readability *readability_new(readability_clock_fn clock,
				    readability_random_fn random, void *ctx);
void readability_free(struct readability *r);
/* How long a record may answer 404 and still be fresh (default
 * READABILITY_FRESH_MAX_S). NULL r or 0: no-op. */
void readability_set_late_max(struct readability *r, unsigned seconds);

/* Whether rc (a fetch's answer) says the record cannot be read, as opposed
 * to a fetch that failed: "not found", malformed, too big. */
bool record_is_unreadable(int rc);

/* Before asking the API for record id: 0 to ask now, else -ENOENT, the
 * last answer, which stands until the next try is due (and the budget
 * allows). A broken answer has no schedule: the cache keeps it neg_ttl, as
 * any error. NULL r: always 0. */
int readability_may_ask(struct readability *r, const char *id);

/* After asking: the answer rc (0 or -errno). NULL r: no-op. */
void readability_note(struct readability *r, const char *id, int rc);

/* The kind of an answer rc for id (see above). NULL r: "not found" is
 * fresh. */
enum record_kind readability_kind(struct readability *r, const char *id,
				  int rc);

/* What a tsv row says of a record of that kind ("not readable yet", ...). */
const char *readability_describe(enum record_kind kind, int rc);

/* The order remembered for owner_key: 0 with *newest_first, or -ENOENT. */
int readability_order_get(struct readability *r, const char *owner_key,
			  bool *newest_first);
/* Decided on evidence: newest_start is the start of the newest readable
 * record. Remembers it (replacing what was there). */
void readability_order_set(struct readability *r, const char *owner_key,
			   bool newest_first, int64_t newest_start);
/* A newest record by the remembered order started at start: true when
 * that contradicts the evidence (it is older than a newest already seen),
 * and then the order is forgotten; else the evidence moves up to it. */
bool readability_order_contradicts(struct readability *r,
				   const char *owner_key, int64_t start);

void readability_get_stats(struct readability *r,
			   struct readability_stats *out);
/* "key value" lines for /.ncffs-stats, NUL-terminated, snprintf-like. */
size_t readability_format_stats(struct readability *r, char *buf,
				size_t size);

#endif
