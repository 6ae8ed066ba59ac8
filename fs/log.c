/* log — see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

struct level_name {
	const char *name;
	int level;
};

static const struct level_name level_names[] = {
	{ "error", LOG_ERR },
	{ "warn", LOG_WARNING },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

int log_level_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i].name) == 0)
			return level_names[i].level;
	}
	return -1;
}

static const char *level_label(int level)
{
	switch (level) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void log_line(const struct ncffs_log *log, int level, const char *line)
{
	if (level > log->max_level)
		return;
	if (log->to_syslog)
		syslog(level, "%s", line);
	else
		fprintf(stderr, "ncffs: %s: %s\n", level_label(level), line);
}

void log_msg(const struct ncffs_log *log, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log->max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(log, level, line);
}

void log_from_client(void *log, int level, const char *message)
{
	log_line(log, level, message);
}
