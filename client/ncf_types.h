/* ncf_types — the plain C values the client hands out: no cJSON, no curl.
 * Each type is owned by whoever received it and freed with its _free, which
 * accepts NULL. */
#ifndef NCFFS_NCF_TYPES_H
#define NCFFS_NCF_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NCF_NAME_MAX 50          /* API rule for package/action names */
#define NCF_ACTIVATION_ID_LEN 32 /* lowercase hex */
#define NCF_UNKNOWN (-1)         /* for numbers the server did not send */

/* What went wrong, for a log line. Never holds a secret. */
struct ncf_error {
	long http_status;      /* 0: no HTTP answer */
	char code[24];         /* NCP/gateway errorCode, "" if none */
	char message[160];     /* server's message or a local reason */
	bool clock_skew;       /* the server's clock disagrees by > 5 min */
};

struct ncf_list_item {
	char *name;            /* validated: safe as a path component */
	char *status;          /* activations only, may be NULL */
	int64_t duration_ms;   /* activations only, NCF_UNKNOWN otherwise */
};

struct ncf_listing {
	size_t count;
	size_t capacity;       /* slots allocated in items */
	struct ncf_list_item *items;
	size_t skipped;        /* names dropped as invalid */
	size_t bytes;          /* approximate memory held, for cache sizing */
	int64_t total_count;   /* activation lists: the server's totalCount on
				* the first page asked for; else NCF_UNKNOWN */
};

struct ncf_blob {
	size_t len;
	char data[];           /* len bytes plus a NUL */
};

struct ncf_activation {
	char id[NCF_ACTIVATION_ID_LEN + 1];
	int64_t start_ms, end_ms, duration_ms; /* NCF_UNKNOWN if absent */
	int64_t init_time_ms;  /* annotation initTime, NCF_UNKNOWN if absent */
	bool has_annotations;  /* the record carried an annotations array */
	bool success;
	char *status;          /* response.status, "" if absent */
	char *record_json;     /* whole record, pretty, trailing newline */
	size_t record_len;
	char *result_json;     /* response.result, pretty, trailing newline */
	size_t result_len;
	size_t log_count;
	char **logs;           /* the API's entries, in order; an entry is
				* usually one line but may hold newlines */
};

/* A slice of an activation list: one page of it, or every page within a
 * window of start times. The window goes to the server as start/end (epoch
 * ms on v2.1, region-local yyyy-MM-ddTHH:mm:ss on v2.0, whole seconds), so
 * a day costs that day's pages, not the month's. */
struct ncf_list_query {
	size_t page_no;           /* 1-based; 0: every page (a walk) */
	size_t page_size;         /* 0: the mount's page size */
	int64_t start_ms, end_ms; /* NCF_UNKNOWN: not sent (the API's window) */
};

void ncf_listing_free(struct ncf_listing *listing);

/* Moves item (its name and status) to the end of listing, which owns them
 * after; -ENOMEM leaves item with the caller. */
int ncf_listing_append(struct ncf_listing *listing, struct ncf_list_item *item);

/* Frees what item holds (not item itself). */
void ncf_list_item_release(struct ncf_list_item *item);
void ncf_blob_free(struct ncf_blob *blob);
void ncf_activation_free(struct ncf_activation *activation);

/* Makes a blob holding a copy of len bytes; NULL on no memory. */
struct ncf_blob *ncf_blob_new(const char *data, size_t len);

#endif
