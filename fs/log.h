/* log — where ncffs's own messages go: stderr in the foreground, syslog
 * (LOG_DAEMON, ident "ncffs") once daemonized. Levels are syslog
 * priorities; messages above max_level are dropped. Callers never pass
 * secrets: nothing here can tell a secret from any other text. */
#ifndef NCFFS_LOG_H
#define NCFFS_LOG_H

#include <stdbool.h>

struct ncffs_log {
	int max_level;  /* LOG_ERR .. LOG_DEBUG */
	bool to_syslog;
};

/* "error", "warn", "info", "debug" → LOG_*; -1 for anything else. */
int log_level_from_name(const char *name);

void log_msg(const struct ncffs_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fits ncf_log_fn: lets the client log through us without knowing us. */
void log_from_client(void *log, int level, const char *message);

#endif
