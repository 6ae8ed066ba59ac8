/* perms — see perms.h.
 *
 * Left out on purpose: a user's primary group for gid= (uid=NAME does not
 * change the group; gid= says it, as with chown USER without ":"), and
 * supplementary groups, which the kernel checks by itself under
 * default_permissions. */
#include "perms.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The largest buffer handed to getpwnam_r/getgrnam_r: a group entry holds
 * every member's name, so it can outgrow the first guess many times over,
 * but not without bound. */
#define ENTRY_BUF_START 1024
#define ENTRY_BUF_MAX (1024 * 1024)

static bool is_decimal(const char *text)
{
	if (!*text)
		return false;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return false;
	}
	return true;
}

/* A decimal id below (id_t)-1, which chown(2) reserves for "unchanged". */
static int parse_id_number(const char *text, unsigned long *out)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value >= (unsigned long)(uid_t)-1)
		return -EINVAL;
	*out = value;
	return 0;
}

typedef int (*lookup_fn)(const char *name, char *buf, size_t size,
			 unsigned long *id);

/* getpwnam_r and getgrnam_r report "no such entry" as 0 and a NULL
 * result, or (per POSIX, on some systems) as ENOENT or ESRCH: -ENOENT here.
 * ERANGE (the buffer is too small) comes back as -ERANGE. */
static int lookup_failure(int rc)
{
	return rc == 0 || rc == ENOENT || rc == ESRCH ? -ENOENT : -rc;
}

static int lookup_user(const char *name, char *buf, size_t size,
		       unsigned long *id)
{
	struct passwd entry, *found = NULL;
	int rc = getpwnam_r(name, &entry, buf, size, &found);

	if (rc || !found)
		return lookup_failure(rc);
	*id = found->pw_uid;
	return 0;
}

static int lookup_group(const char *name, char *buf, size_t size,
			unsigned long *id)
{
	struct group entry, *found = NULL;
	int rc = getgrnam_r(name, &entry, buf, size, &found);

	if (rc || !found)
		return lookup_failure(rc);
	*id = found->gr_gid;
	return 0;
}

/* Runs lookup with a buffer doubled while the entry does not fit. */
static int lookup_name(lookup_fn lookup, const char *name, unsigned long *id)
{
	size_t size;
	int rc = -ERANGE;

	for (size = ENTRY_BUF_START; rc == -ERANGE && size <= ENTRY_BUF_MAX;
	     size *= 2) {
		char *buf = malloc(size);

		if (!buf)
			return -ENOMEM;
		rc = lookup(name, buf, size, id);
		free(buf);
	}
	return rc == -ERANGE ? -ENOMEM : rc;
}

/* All digits: a number (as mount options of other filesystems take it);
 * anything else: a name, but not one starting with "-" ("-1" is a mistake,
 * and no user or group may be named so). */
static int parse_id(const char *text, lookup_fn lookup, unsigned long *out)
{
	if (!*text || *text == '-')
		return -EINVAL;
	if (is_decimal(text))
		return parse_id_number(text, out);
	return lookup_name(lookup, text, out);
}

int perms_parse_uid(const char *text, uid_t *out)
{
	unsigned long id;
	int rc = parse_id(text, lookup_user, &id);

	if (rc == 0)
		*out = (uid_t)id;
	return rc;
}

int perms_parse_gid(const char *text, gid_t *out)
{
	unsigned long id;
	int rc = parse_id(text, lookup_group, &id);

	if (rc == 0)
		*out = (gid_t)id;
	return rc;
}

int perms_parse_umask(const char *text, mode_t *out)
{
	unsigned long value = 0;
	size_t len = strlen(text), i;

	/* Octal digits only: no sign, no blanks, no 0x (strtoul takes all
	 * three), and 4 digits at most so "00000000000000000777" is no umask. */
	if (len == 0 || len > 4)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '7')
			return -EINVAL;
		value = value * 8 + (unsigned long)(text[i] - '0');
	}
	if (value > 0777)
		return -EINVAL;
	*out = (mode_t)value;
	return 0;
}

mode_t perms_mode(mode_t type, mode_t umask)
{
	/* Read for everyone; search on directories, and on symbolic links so
	 * that they show the same bits as the directories they lead to. */
	mode_t bits = type == S_IFREG ? 0444 : 0555;

	return type | (bits & ~umask & 0777);
}
