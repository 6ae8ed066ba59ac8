/* main — options, credentials, the start-up probe, and the mount.
 *
 * Set-up is a staircase and teardown walks it back down in reverse: parse
 * options → credentials → client → probe → cache → fuse_new → mount →
 * daemonize → signal handlers → loop. Nothing that needs threads is made
 * before daemonizing except the client, whose curl handles hold no thread. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../cache/disk_cache.h"
#include "../cache/redis_tier.h"
#include "../cache/seal.h"
#include "../cache/ttl_cache.h"
#include "../client/creds.h"
#include "../client/endpoint.h"
#include "../client/ncf_client.h"
#include "dirops.h"
#include "fetch.h"
#include "inodes.h"
#include "log.h"
#include "ncffs.h"
#include "ops.h"
#include "perms.h"
#include "prefetch.h"
#include "readability.h"
#include "stats.h"

#include <fuse_lowlevel.h> /* fuse_parse_cmdline, fuse_cmdline_help */

#ifndef NCFFS_VERSION
#define NCFFS_VERSION "0.1.0"
#endif

#define MIB (1024UL * 1024UL)

/* The one global: a signal handler has no other way to reach the mount. */
static struct ncffs *signalled_fs;

static void on_sighup(int signo)
{
	(void)signo;
	atomic_store(&signalled_fs->hup_pending, true);
	sem_post(&signalled_fs->wakeup); /* async-signal-safe */
}

/* libfuse makes SIGHUP unmount; ncffs makes it drop the cache instead. */
static int install_sighup(struct ncffs *fs)
{
	struct sigaction sa = { 0 };

	signalled_fs = fs;
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGHUP, &sa, NULL);
}

struct options {
	char *endpoint, *region, *api, *platform, *profile, *credentials;
	char *backend, *apihost, *namespace_name; /* forwarded to client/ */
	char *cafile, *loglevel, *cache_dir;
	char *list_ttl, *neg_ttl, *cache_size, *timeout, *retries, *max_body;
	char *prefetch, *readahead, *recent, *poll, *follow_buffer, *late_max;
	char *disk_cache_size, *cache_url, *cache_timeout;
	char *max_inflight, *rate, *throttle_wait;
	char *uid, *gid, *umask;
	char *source, *mountpoint;
	int show_help, show_version;
	int allow_other, default_permissions;   /* seen among the FUSE options */
};

/* Numbers a user may set, with their defaults and limits in one place. */
struct number_option {
	const char *name;
	size_t offset;           /* of the char * in struct options */
	unsigned long fallback, min, max;
	const char *unit;
};

static const struct number_option number_options[] = {
	{ "list_ttl", offsetof(struct options, list_ttl), 30, 0, 86400, "seconds" },
	{ "neg_ttl", offsetof(struct options, neg_ttl), 5, 0, 86400, "seconds" },
	{ "cache_size", offsetof(struct options, cache_size), 64, 1, 65536, "MiB" },
	{ "timeout", offsetof(struct options, timeout), 10, 1, 3600, "seconds" },
	{ "retries", offsetof(struct options, retries), 3, 0, 10, "attempts" },
	{ "max_body", offsetof(struct options, max_body), 64, 1, 4096, "MiB" },
	/* Readahead fetches waiting in the scheduler at once: as many as the
	 * limit may grow to, so that the limit decides, not this. */
	{ "prefetch", offsetof(struct options, prefetch), 64, 0, 256, "fetches at once" },
	{ "readahead", offsetof(struct options, readahead), 512, 0, PREFETCH_QUEUE_MAX, "records" },
	{ "recent", offsetof(struct options, recent), 20, 1, 1000, "activations" },
	/* follow.log: a poll a second at most (one list request per followed
	 * action), and what each open file keeps for readers behind. */
	{ "poll", offsetof(struct options, poll), 2, 1, 3600, "seconds" },
	{ "follow_buffer", offsetof(struct options, follow_buffer), 4, 1, 1024, "MiB" },
	{ "disk_cache_size", offsetof(struct options, disk_cache_size), 512, 1, 1048576, "MiB" },
	/* Tens of milliseconds: a shared cache that is slower than that is
	 * no faster than the API, and a reader must never wait on it long. */
	{ "cache_timeout", offsetof(struct options, cache_timeout), 50, 1, 10000, "milliseconds" },
	/* The scheduler (client/scheduler.h): its limit adapts from 16 up to
	 * max_inflight; rate= caps requests a second (0: no cap); 429s are
	 * retried for throttle_wait before they count as failures. */
	{ "max_inflight", offsetof(struct options, max_inflight), 64, 1, 1024, "requests" },
	{ "rate", offsetof(struct options, rate), 0, 0, 100000, "requests a second" },
	{ "throttle_wait", offsetof(struct options, throttle_wait), 60, 1, 86400, "seconds" },
	/* How long a listed record may answer "not found" before it counts as
	 * purged rather than fresh (NCP: up to ~40 s), and follow.log gives up
	 * on it. */
	{ "late_max", offsetof(struct options, late_max), READABILITY_FRESH_MAX_S, 1,
	  3600, "seconds" },
};

enum number_index { NUM_LIST_TTL, NUM_NEG_TTL, NUM_CACHE_SIZE, NUM_TIMEOUT,
		    NUM_RETRIES, NUM_MAX_BODY, NUM_PREFETCH, NUM_READAHEAD,
		    NUM_RECENT, NUM_POLL, NUM_FOLLOW_BUFFER, NUM_DISK_CACHE_SIZE,
		    NUM_CACHE_TIMEOUT, NUM_MAX_INFLIGHT, NUM_RATE,
		    NUM_THROTTLE_WAIT, NUM_LATE_MAX, NUM_COUNT };

enum { KEY_HELP, KEY_VERSION, KEY_ALLOW_OTHER, KEY_DEFAULT_PERMISSIONS };

#define OPTION(t, field) { t, offsetof(struct options, field), 1 }
static const struct fuse_opt option_table[] = {
	OPTION("endpoint=%s", endpoint),
	OPTION("region=%s", region),
	OPTION("api=%s", api),
	OPTION("platform=%s", platform),
	OPTION("profile=%s", profile),
	OPTION("credentials=%s", credentials),
	OPTION("backend=%s", backend),
	OPTION("apihost=%s", apihost),
	OPTION("namespace=%s", namespace_name),
	OPTION("cafile=%s", cafile),
	OPTION("loglevel=%s", loglevel),
	OPTION("list_ttl=%s", list_ttl),
	OPTION("neg_ttl=%s", neg_ttl),
	OPTION("cache_size=%s", cache_size),
	OPTION("timeout=%s", timeout),
	OPTION("retries=%s", retries),
	OPTION("max_body=%s", max_body),
	OPTION("prefetch=%s", prefetch),
	OPTION("readahead=%s", readahead),
	OPTION("recent=%s", recent),
	OPTION("poll=%s", poll),
	OPTION("follow_buffer=%s", follow_buffer),
	OPTION("cache_dir=%s", cache_dir),
	OPTION("disk_cache_size=%s", disk_cache_size),
	OPTION("cache_url=%s", cache_url),
	OPTION("cache_timeout=%s", cache_timeout),
	OPTION("max_inflight=%s", max_inflight),
	OPTION("rate=%s", rate),
	OPTION("throttle_wait=%s", throttle_wait),
	OPTION("late_max=%s", late_max),
	OPTION("uid=%s", uid),
	OPTION("gid=%s", gid),
	OPTION("umask=%s", umask),
	/* Noted, then passed on to libfuse (option_proc keeps them). */
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static void print_usage(const char *program)
{
	printf("usage: %s [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o opt[,opt...]]\n"
	       "\n"
	       "Mounts NAVER Cloud Platform Cloud Functions activations as a read-only tree.\n"
	       "SOURCE is ignored (it lets mount -t fuse and fstab call ncffs).\n"
	       "\n"
	       "ncffs options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print the version and exit\n"
	       "    -o endpoint=URL        base URL incl. path (default https://cloudfunctions.apigw.ntruss.com/api/v2)\n"
	       "    -o region=kr|sg|jp     host when endpoint is not given (default kr)\n"
	       "    -o api=v2|v2.1         /api/v2 or /ncf/api/v2 under the region host (default v2)\n"
	       "    -o platform=classic|vpc  platform query parameter (default vpc for v2.1 and\n"
	       "                           for region=sg|jp, else classic)\n"
	       "    -o profile=NAME        section of the credentials file (default DEFAULT)\n"
	       "    -o credentials=FILE    credentials file in the ~/.ncloud/configure format\n"
	       "    -o backend=ncp|openwhisk  the API to read (default ncp, or openwhisk when only\n"
	       "                           OpenWhisk credentials are found)\n"
	       "    -o apihost=HOST        OpenWhisk API host (default APIHOST of ~/.wskprops)\n"
	       "    -o namespace=NAME      OpenWhisk namespace (default NAMESPACE of ~/.wskprops, else _)\n"
	       "    -o list_ttl=SECONDS    how long listings stay fresh (default 30)\n"
	       "    -o neg_ttl=SECONDS     how long \"not found\" and other errors are remembered (default 5)\n"
	       "    -o cache_size=MIB      upper bound of the in-memory cache (default 64)\n"
	       "    -o cache_dir=DIR|none  where finished records are kept across mounts (default\n"
	       "                           $XDG_CACHE_HOME/ncffs, else ~/.cache/ncffs, else\n"
	       "                           /var/cache/ncffs); none: keep nothing on disk\n"
	       "    -o disk_cache_size=MIB  upper bound of the disk cache (default 512)\n"
	       "    -o cache_url=redis://HOST:PORT[/DB]  a Redis server that hosts of one account\n"
	       "                           share records through (sealed; password from\n"
	       "                           NCFFS_CACHE_PASSWORD or ncffs_cache_password)\n"
	       "    -o cache_timeout=MS    timeout of each call to that server (default 50)\n"
	       "    -o cafile=PATH         extra CA bundle for TLS\n"
	       "    -o timeout=SECONDS     per-attempt connect/stall timeout (default 10)\n"
	       "    -o retries=N           extra attempts for retryable failures (default 3)\n"
	       "    -o max_body=MIB        largest API response accepted (default 64)\n"
	       "    -o prefetch=N          records fetched in parallel ahead of a reader, 0 = off (default 64)\n"
	       "    -o readahead=N         largest readahead window in records, 0 = off (default 512)\n"
	       "    -o recent=N            entries of recent/ (default 20)\n"
	       "    -o poll=SECONDS        how often a followed follow.log asks for new activations (default 2)\n"
	       "    -o follow_buffer=MIB   what each open follow.log keeps for readers behind (default 4)\n"
	       "    -o max_inflight=N      API requests in flight at most; the limit adapts up to it (default 64)\n"
	       "    -o rate=N              API requests a second at most, 0 = no cap (default 0)\n"
	       "    -o throttle_wait=SECONDS  how long 429s are retried before a read fails (default 60)\n"
	       "    -o late_max=SECONDS    how long a listed run may not be readable before it counts as gone (default 120)\n"
	       "    -o loglevel=LEVEL      error, warn, info or debug (default warn)\n"
	       "    -o uid=N|USER          owner of every entry (default the mounting user)\n"
	       "    -o gid=N|GROUP         group of every entry (default the mounting user's group)\n"
	       "    -o umask=OCTAL         bits to clear from 0444 files, 0555 dirs and links (default 022)\n"
	       "\n"
	       "With -o allow_other, ncffs adds -o default_permissions: the kernel then lets\n"
	       "other users read only what uid=, gid= and umask= allow them.\n"
	       "-o auto_unmount unmounts when ncffs dies, even by SIGKILL.\n"
	       "\n"
	       "Credentials: NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY, else\n"
	       "-o credentials=FILE, else ~/.ncloud/configure. OpenWhisk: AUTH from\n"
	       "~/.wskprops (or WSK_CONFIG_FILE) or __OW_API_KEY. See ncffs(1).\n"
	       "\n"
	       "FUSE options:\n",
	       program);
	fuse_cmdline_help();
}

static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct options *opts = data;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		opts->show_help = 1;
		return 0;
	case KEY_VERSION:
		opts->show_version = 1;
		return 0;
	case KEY_ALLOW_OTHER:
		opts->allow_other = 1;
		return 1;
	case KEY_DEFAULT_PERMISSIONS:
		opts->default_permissions = 1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		/* "ncffs SOURCE MOUNTPOINT": the last non-option wins. */
		if (opts->source) {
			fprintf(stderr, "ncffs: unexpected argument '%s'\n", arg);
			return -1;
		}
		opts->source = opts->mountpoint;
		opts->mountpoint = strdup(arg);
		return opts->mountpoint ? 0 : -1;
	default:
		return 1;
	}
}

static int parse_number(const struct options *opts, const struct number_option *n,
			unsigned long *out)
{
	const char *text = *(char *const *)((const char *)opts + n->offset);
	unsigned long value;
	char *end;

	if (!text) {
		*out = n->fallback;
		return 0;
	}
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value < n->min ||
	    value > n->max) {
		fprintf(stderr, "ncffs: invalid %s=%s (expected %s, %lu to %lu)\n",
			n->name, text, n->unit, n->min, n->max);
		return -EINVAL;
	}
	*out = value;
	return 0;
}

static int parse_numbers(const struct options *opts, unsigned long values[NUM_COUNT])
{
	int i;

	for (i = 0; i < NUM_COUNT; i++) {
		if (parse_number(opts, &number_options[i], &values[i]))
			return -EINVAL;
	}
	return 0;
}

static int check_choice(const char *name, const char *value,
			const char *const *choices)
{
	for (; *choices; choices++) {
		if (strcmp(value, *choices) == 0)
			return 0;
	}
	fprintf(stderr, "ncffs: invalid %s=%s\n", name, value);
	return -EINVAL;
}

/* Fills endpoint and platform from endpoint=, region=, api=, platform=. */
static int resolve_endpoint(const struct options *opts, const char **endpoint,
			    const char **platform)
{
	static const char *const regions[] = { "kr", "sg", "jp", NULL };
	static const char *const apis[] = { "v2", "v2.1", NULL };
	static const char *const platforms[] = { "classic", "vpc", NULL };
	const char *api = opts->api;
	char why[256];

	/* An explicit endpoint under /ncf/api/ is the v2.1 API: its platform
	 * default (vpc) follows, unless api= or platform= say otherwise. */
	if (!api)
		api = opts->endpoint && strstr(opts->endpoint, "/ncf/api/") ? "v2.1"
									    : "v2";

	if ((opts->region && check_choice("region", opts->region, regions)) ||
	    check_choice("api", api, apis) ||
	    (opts->platform && check_choice("platform", opts->platform, platforms)))
		return -EINVAL;
	*endpoint = opts->endpoint ? opts->endpoint
		: ncf_endpoint_default(opts->region ? opts->region : "kr", api);
	/* Singapore and Japan are VPC-only: region= picks the platform even
	 * with an explicit endpoint, unless platform= says otherwise. */
	*platform = opts->platform ? opts->platform
				   : ncf_platform_default(opts->region, api);
	if (!ncf_endpoint_is_allowed(*endpoint, why, sizeof(why))) {
		fprintf(stderr, "ncffs: invalid endpoint=%s: %s\n", *endpoint, why);
		return -EINVAL;
	}
	return 0;
}

/* One signed call before mounting: bad credentials must fail here, not as
 * EACCES on the first ls. A network failure only warns (the API may come
 * back; the mount retries on every access). */
static int probe(struct ncf_client *client, const char *endpoint,
		 const char *source, const char *cafile)
{
	struct ncf_error err = { 0 };
	int rc = ncf_client_probe(client, &err);

	if (rc == 0)
		return 0;
	if (rc == -EACCES) {
		fprintf(stderr,
			"ncffs: the API at %s rejected the credentials from %s (HTTP %ld%s%s: %s)\n",
			endpoint, source, err.http_status,
			err.code[0] ? ", errorCode " : "", err.code, err.message);
		if (err.clock_skew)
			fprintf(stderr, "ncffs: the local clock looks wrong; signatures are only valid within 5 minutes of the server's time (fix the clock, e.g. with NTP)\n");
		return rc;
	}
	if (rc == -EPROTO) {
		if (cafile)
			fprintf(stderr, "ncffs: TLS with %s failed: %s (with cafile %s)\n",
				endpoint, err.message, cafile);
		else
			fprintf(stderr,
				"ncffs: TLS with %s failed: %s (is the server's certificate trusted? add its CA with -o cafile=PATH)\n",
				endpoint, err.message);
		return rc;
	}
	fprintf(stderr, "ncffs: warning: cannot check %s (%s); mounting anyway\n",
		endpoint, err.message[0] ? err.message : strerror(-rc));
	return 0;
}

/* kind: "user" or "group" for uid= and gid=, NULL for umask=. */
static int perms_error(const char *name, const char *value, const char *kind,
		       int rc)
{
	if (rc == -ENOENT)
		fprintf(stderr, "ncffs: invalid %s=%s: no such %s\n", name, value,
			kind);
	else if (rc != -EINVAL)
		fprintf(stderr, "ncffs: cannot look up %s=%s: %s\n", name, value,
			strerror(-rc));
	else if (kind)
		fprintf(stderr, "ncffs: invalid %s=%s (expected a %s name or a number, 0 to %lu)\n",
			name, value, kind, (unsigned long)(uid_t)-1 - 1);
	else
		fprintf(stderr, "ncffs: invalid %s=%s (expected octal digits, 000 to 777)\n",
			name, value);
	return -EINVAL;
}

/* uid=, gid=, umask=: the owner, group and mode bits of every entry. */
static int configure_perms(struct ncffs *fs, const struct options *opts)
{
	int rc;

	fs->uid = getuid();
	fs->gid = getgid();
	fs->umask = PERMS_DEFAULT_UMASK;
	rc = opts->uid ? perms_parse_uid(opts->uid, &fs->uid) : 0;
	if (rc)
		return perms_error("uid", opts->uid, "user", rc);
	rc = opts->gid ? perms_parse_gid(opts->gid, &fs->gid) : 0;
	if (rc)
		return perms_error("gid", opts->gid, "group", rc);
	rc = opts->umask ? perms_parse_umask(opts->umask, &fs->umask) : 0;
	if (rc)
		return perms_error("umask", opts->umask, NULL, rc);
	return 0;
}

/* Whose records a disk cache holds: the entries of another endpoint, API
 * generation, platform or account (ncf_creds_account: an access key id or
 * an OpenWhisk user, never a secret) never meet. -ENAMETOOLONG: too long to name one account for sure. */
#define NAMESPACE_MAX 2048
static int account_namespace(char *out, const char *endpoint,
			     const char *platform, const char *account)
{
	int n = snprintf(out, NAMESPACE_MAX, "ncffs-account-1\n%s\n%s\n%s\n%s",
			 endpoint, strstr(endpoint, "/ncf/api/") ? "v2.1" : "v2",
			 platform, account);

	return n > 0 && n < NAMESPACE_MAX ? 0 : -ENAMETOOLONG;
}

/* Where the disk cache goes by default (XDG base directories: only an
 * absolute XDG_CACHE_HOME counts); fstab and systemd set neither. */
static void default_cache_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(out, size, "%s/ncffs", xdg);
	else if (home && home[0] == '/')
		snprintf(out, size, "%s/.cache/ncffs", home);
	else
		snprintf(out, size, "/var/cache/ncffs");
}

/* The disk tier, or NULL: off (cache_dir=none), refused or failed (the
 * disk cache said why; the mount goes on without it). */
static struct cache_tier *open_disk_cache(struct ncffs *fs,
					  const struct options *opts,
					  unsigned long mib, const char *namespace)
{
	struct disk_cache_config config = { 0 };
	char dir[PATH_MAX];

	if (opts->cache_dir && strcmp(opts->cache_dir, "none") == 0)
		return NULL;
	if (!opts->cache_dir)
		default_cache_dir(dir, sizeof(dir));
	config.dir = opts->cache_dir ? opts->cache_dir : dir;
	config.namespace = namespace;
	config.max_bytes = (uint64_t)mib * MIB;
	config.max_value = fs->max_file;
	config.log = log_from_client;
	config.log_ctx = &fs->log;
	return disk_cache_open(&config);
}

/* The shared cache's fixed settings. Its entries live as long as the
 * API keeps the records (30 days); three failures in a row open the
 * breaker for five seconds (a dead server then costs three timeouts per
 * five seconds, not one per read); the store queue takes a burst of a few
 * thousand records without growing without bound; a record too big to
 * move within a few timeouts is not shared. */
#define SHARED_TTL_S (30 * 86400)
#define SHARED_BREAKER_FAILURES 3
#define SHARED_BREAKER_COOLDOWN_MS 5000
#define SHARED_QUEUE_MAX 4096
#define SHARED_QUEUE_BYTES (64 * MIB)
#define SHARED_VALUE_MAX (8 * MIB)
/* Hosts that miss the same record at once: the first fetches it, the
 * others look for its copy every 5 ms for up to a second (an API answer
 * takes tens of milliseconds; a record the API does not return yet is
 * never stored, and costs the others that second). */
#define SHARED_CLAIM_MS 1000
#define SHARED_CLAIM_POLL_MS 5
#define CACHE_PASSWORD_ENV "NCFFS_CACHE_PASSWORD"

/* What the shared cache (cache_url=) takes from the options and the
 * credentials; the secrets in it are wiped as soon as the tier has its
 * own copies. */
struct shared_cache {
	bool wanted;            /* cache_url= was given */
	struct redis_tier_config config;
	struct seal_keys keys;
	char password[NCF_KEY_MAX];
};

/* The password (never from argv), and the keys from the account's secret
 * bound to the account's namespace: -errno when there is no key to seal
 * with. */
static int take_shared_secrets(struct shared_cache *shared,
			       const struct ncf_credentials *creds,
			       const char *namespace)
{
	const char *password = getenv(CACHE_PASSWORD_ENV);
	int n;

	if (!shared->wanted)
		return 0;
	/* A cut password would be refused by the server as a wrong one, and
	 * the log would never say why: refuse it here instead. */
	n = snprintf(shared->password, sizeof(shared->password), "%s",
		     password ? password : creds->cache_password);
	if (n < 0 || (size_t)n >= sizeof(shared->password)) {
		fprintf(stderr, "ncffs: the shared cache's password (%s) is longer than %zu bytes\n",
			password ? CACHE_PASSWORD_ENV : "ncffs_cache_password",
			sizeof(shared->password) - 1);
		return -ENAMETOOLONG;
	}
	if (!namespace[0])
		return -ENAMETOOLONG;
	return seal_keys_derive(&shared->keys, creds->secret_key,
				strlen(creds->secret_key), namespace);
}

static void wipe_shared_secrets(struct shared_cache *shared)
{
	seal_keys_wipe(&shared->keys);
	explicit_bzero(shared->password, sizeof(shared->password));
}

static struct ncf_client *make_client(struct ncffs *fs, const struct options *opts,
				      const unsigned long numbers[NUM_COUNT],
				      const char *endpoint, const char *platform,
				      char *namespace, struct shared_cache *shared)
{
	const struct ncf_creds_request request = {
		opts->backend, opts->credentials, opts->profile, opts->apihost,
		opts->namespace_name
	};
	struct ncf_credentials creds;
	struct ncf_client_config config = { 0 };
	struct ncf_client *client;
	char why[512], account[2 * NCF_KEY_MAX + 32];

	if (ncf_creds_find(&request, &creds, why, sizeof(why)) != 0) {
		fprintf(stderr, "ncffs: %s\n", why);
		return NULL;
	}
	/* Credentials that name their own API (OpenWhisk's APIHOST) say
	 * where it is; NCP's come from the options. */
	if (creds.endpoint[0])
		endpoint = creds.endpoint;
	config.backend = creds.backend;
	config.namespace_name = creds.namespace_name;
	config.endpoint = endpoint;
	config.platform = platform;
	config.region = opts->region;
	config.access_key = creds.access_key;
	config.secret_key = creds.secret_key;
	config.cafile = opts->cafile;
	config.timeout_s = (long)numbers[NUM_TIMEOUT];
	config.retries = (int)numbers[NUM_RETRIES];
	config.max_body = numbers[NUM_MAX_BODY] * MIB;
	config.max_inflight = (unsigned)numbers[NUM_MAX_INFLIGHT];
	config.rate = (double)numbers[NUM_RATE];
	config.throttle_wait_s = (long)numbers[NUM_THROTTLE_WAIT];
	config.log = log_from_client;
	config.log_ctx = &fs->log;
	if (ncf_creds_account(&creds, account, sizeof(account)) ||
	    account_namespace(namespace, endpoint, platform, account))
		namespace[0] = '\0';
	if (take_shared_secrets(shared, &creds, namespace)) {
		fprintf(stderr, "ncffs: cannot derive the shared cache's keys; mounting without it\n");
		shared->wanted = false;
	}
	client = ncf_client_new(&config);
	if (!client)
		fprintf(stderr, "ncffs: cannot set up the API client\n");
	else if (probe(client, endpoint, creds.source, opts->cafile)) {
		ncf_client_free(client);
		client = NULL;
	}
	ncf_creds_wipe(&creds);
	return client;
}

/* cache_url= parsed (before any network call: a typo fails at once). */
static int parse_shared_cache(const struct options *opts,
			      struct shared_cache *shared)
{
	char why[512];

	if (!opts->cache_url)
		return 0;
	if (redis_url_parse(opts->cache_url, &shared->config.url, why,
			    sizeof(why))) {
		fprintf(stderr, "ncffs: %s\n", why);
		return -EINVAL;
	}
	shared->wanted = true;
	return 0;
}

/* The Redis tier, or NULL when none is wanted. A server that does not
 * answer now may later (the tier retries behind its breaker): a warning.
 * A server that refuses the password will not change its mind: an
 * error. */
static int open_shared_cache(struct ncffs *fs, struct shared_cache *shared,
			     const char *url, unsigned long timeout_ms)
{
	struct redis_tier_config *c = &shared->config;
	char why[512];
	int rc;

	if (!shared->wanted)
		return 0;
	c->password = shared->password;
	c->keys = &shared->keys;
	c->timeout_ms = (int)timeout_ms;
	c->ttl_s = SHARED_TTL_S;
	c->breaker_failures = SHARED_BREAKER_FAILURES;
	c->breaker_cooldown_ms = SHARED_BREAKER_COOLDOWN_MS;
	c->queue_max = SHARED_QUEUE_MAX;
	c->queue_bytes_max = SHARED_QUEUE_BYTES;
	c->max_value = SHARED_VALUE_MAX;
	c->claim_ms = SHARED_CLAIM_MS;
	c->claim_poll_ms = SHARED_CLAIM_POLL_MS;
	c->log = log_from_client;
	c->log_ctx = &fs->log;
	rc = redis_tier_probe(c, why, sizeof(why));
	if (rc == -EACCES) {
		fprintf(stderr, "ncffs: cache_url=%s: %s (the password comes from %s or ncffs_cache_password in the credentials file)\n",
			url, why, CACHE_PASSWORD_ENV);
		return rc;
	}
	if (rc)
		fprintf(stderr, "ncffs: warning: cache_url=%s: %s; mounting anyway (it is tried again while mounted)\n",
			url, why);
	fs->redis = redis_tier_new(c);
	return fs->redis ? 0 : -ENOMEM;
}

static int configure(struct ncffs *fs, const struct options *opts)
{
	unsigned long numbers[NUM_COUNT];
	const char *endpoint = NULL, *platform = NULL;
	struct ttl_cache_config cache_config = { 0 };
	struct shared_cache shared = { 0 };
	char namespace[NAMESPACE_MAX];
	int rc;

	fs->log.max_level = opts->loglevel ? log_level_from_name(opts->loglevel)
					   : LOG_WARNING;
	if (fs->log.max_level < 0) {
		fprintf(stderr, "ncffs: invalid loglevel=%s (error, warn, info or debug)\n",
			opts->loglevel);
		return -EINVAL;
	}
	if (parse_numbers(opts, numbers) || configure_perms(fs, opts) ||
	    resolve_endpoint(opts, &endpoint, &platform) ||
	    parse_shared_cache(opts, &shared))
		return -EINVAL;
	if (opts->cache_dir && !opts->cache_dir[0]) {
		fprintf(stderr, "ncffs: invalid cache_dir= (a folder, or none)\n");
		return -EINVAL;
	}
	fs->list_ttl_ms = (int64_t)numbers[NUM_LIST_TTL] * 1000;
	fs->neg_ttl_ms = (int64_t)numbers[NUM_NEG_TTL] * 1000;
	fs->max_file = numbers[NUM_MAX_BODY] * MIB * 2;
	fs->prefetch_workers = (unsigned)numbers[NUM_PREFETCH];
	fs->recent_count = numbers[NUM_RECENT];
	fs->readahead_max = numbers[NUM_READAHEAD];
	fs->poll_s = (unsigned)numbers[NUM_POLL];
	fs->follow_buffer = numbers[NUM_FOLLOW_BUFFER] * MIB;
	fs->late_max_s = (unsigned)numbers[NUM_LATE_MAX];
	clock_gettime(CLOCK_REALTIME, &fs->mounted_at);
	fs->client = make_client(fs, opts, numbers, endpoint, platform, namespace,
				 &shared);
	rc = fs->client ? open_shared_cache(fs, &shared, opts->cache_url,
					    numbers[NUM_CACHE_TIMEOUT])
			: -EACCES;
	wipe_shared_secrets(&shared);
	if (rc)
		return rc;
	if (namespace[0])
		fs->disk = open_disk_cache(fs, opts, numbers[NUM_DISK_CACHE_SIZE],
					   namespace);
	fs->inodes = inodes_new();
	fs->readability = readability_new(NULL, NULL, NULL);
	if (!fs->inodes || !fs->readability)
		return -ENOMEM;
	readability_set_late_max(fs->readability, fs->late_max_s);
	cache_config.max_bytes = numbers[NUM_CACHE_SIZE] * MIB;
	fs->cache_limit = cache_config.max_bytes;
	cache_config.free_value = fetched_free;
	fs->cache = ttl_cache_new(&cache_config);
	return fs->cache ? 0 : -ENOMEM;
}

static void free_options(struct options *opts)
{
	char **fields[] = { &opts->endpoint, &opts->region, &opts->api,
			    &opts->platform, &opts->profile, &opts->credentials,
			    &opts->backend, &opts->apihost, &opts->namespace_name,
			    &opts->cafile, &opts->loglevel, &opts->list_ttl,
			    &opts->neg_ttl, &opts->cache_size, &opts->timeout,
			    &opts->retries, &opts->max_body, &opts->prefetch,
			    &opts->readahead, &opts->recent,
			    &opts->poll, &opts->follow_buffer, &opts->cache_dir,
			    &opts->disk_cache_size, &opts->cache_url,
			    &opts->cache_timeout,
			    &opts->max_inflight, &opts->rate, &opts->throttle_wait,
			    &opts->late_max,
			    &opts->uid, &opts->gid, &opts->umask, &opts->source,
			    &opts->mountpoint };
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(*fields[i]);
}

static int run_loop(struct fuse_session *se,
		    const struct fuse_cmdline_opts *cmdline)
{
	struct fuse_loop_config *loop;
	int rc;

	if (cmdline->singlethread)
		return fuse_session_loop(se);
	loop = fuse_loop_cfg_create();
	if (!loop)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(loop, (unsigned int)cmdline->clone_fd);
	/* fuse_parse_cmdline leaves these at UINT_MAX when not given. */
	if (cmdline->max_threads > 0 && cmdline->max_threads <= 100000)
		fuse_loop_cfg_set_max_threads(loop, cmdline->max_threads);
	if (cmdline->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(loop, cmdline->max_idle_threads);
	rc = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	return rc;
}

static int mount_and_serve(struct ncffs *fs, struct fuse_session *se,
			   const struct fuse_cmdline_opts *cmdline)
{
	int rc = 1;

	if (fuse_session_mount(se, cmdline->mountpoint) != 0)
		return 1;
	if (dirops_install(se, fs) != 0)
		goto out_unmount;
	if (fuse_daemonize(cmdline->foreground) != 0)
		goto out_unmount;
	if (!cmdline->foreground) {
		openlog("ncffs", LOG_PID, LOG_DAEMON);
		fs->log.to_syslog = true;
	}
	if (fuse_set_signal_handlers(se) != 0 || install_sighup(fs) != 0)
		goto out_unmount;
	log_msg(&fs->log, LOG_INFO, "mounted on %s", cmdline->mountpoint);
	/* The loop returns the signal number after SIGTERM/SIGINT: a clean
	 * stop, not a failure (systemd would mark the unit failed). */
	rc = run_loop(se, cmdline) < 0 ? 1 : 0;
	fuse_remove_signal_handlers(se);
	/* That put SIGPIPE back to its default, and teardown still writes to
	 * the shared cache (its last stores): a server gone away must give
	 * EPIPE, not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
out_unmount:
	fuse_session_unmount(se);
	return rc;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmdline = { 0 };
	struct fuse_session *se = NULL;
	struct options opts = { 0 };
	struct ncffs fs = { 0 };
	int rc = 1;

	/* hiredis writes with write(2): a closed connection must be an
	 * error, not a signal (libfuse ignores SIGPIPE only while serving). */
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&fs.stats_lock, NULL);
	pthread_mutex_init(&fs.handles_lock, NULL);
	sem_init(&fs.wakeup, 0, 0);
	if (fuse_opt_parse(&args, &opts, option_table, option_proc) != 0)
		goto out_args;
	if (opts.show_help || opts.show_version) {
		if (opts.show_help)
			print_usage(argv[0]);
		else
			printf("ncffs %s (libfuse %s)\n", NCFFS_VERSION, fuse_pkgversion());
		rc = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "ncffs: no mountpoint given (try --help)\n");
		goto out_args;
	}
	/* allow_other lets every user in, and ncffs checks no permissions
	 * itself: default_permissions has the kernel enforce uid=, gid= and
	 * umask= (root passes, as everywhere). */
	if (opts.allow_other && !opts.default_permissions &&
	    fuse_opt_add_arg(&args, "-odefault_permissions"))
		goto out_args;
	/* Read-only in the kernel too; name the filesystem for mount(8) and df. */
	if (fuse_opt_add_arg(&args, opts.mountpoint) ||
	    fuse_opt_add_arg(&args, "-oro,fsname=ncffs,subtype=ncffs") ||
	    fuse_parse_cmdline(&args, &cmdline) != 0)
		goto out_args;
	/* The session first: it rejects unknown options before we spend a
	 * network round trip (or a 40 s timeout) on the start-up probe. */
	se = fuse_session_new(&args, &ncffs_operations, sizeof(ncffs_operations),
			      &fs);
	if (!se)
		goto out_state;
	if (configure(&fs, &opts) == 0)
		rc = mount_and_serve(&fs, se, &cmdline);
	fuse_session_destroy(se); /* runs ncffs_destroy if it was mounted */
out_state:
	stats_release(&fs);
	ttl_cache_free(fs.cache);
	cache_tier_free(fs.disk);
	redis_tier_free(fs.redis); /* stores what is still queued, briefly */
	readability_free(fs.readability);
	inodes_free(fs.inodes);
	ncf_client_free(fs.client);
	free(cmdline.mountpoint);
out_args:
	free_options(&opts);
	fuse_opt_free_args(&args);
	sem_destroy(&fs.wakeup);
	pthread_mutex_destroy(&fs.handles_lock);
	pthread_mutex_destroy(&fs.stats_lock);
	return rc;
}
