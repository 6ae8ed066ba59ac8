/* perms — who owns the mounted tree and who may read it: the values of
 * -o uid=, gid= and umask=, and the mode each entry shows.
 *
 * Invariants: the tree is read-only, so no entry ever has a write bit;
 * files are 0444, directories and symbolic links 0555 (read and search),
 * minus the umask. With allow_other, main.c adds default_permissions so the
 * kernel enforces these modes; without it only the mounting user gets in
 * and the modes are informative.
 *
 * Pure functions: no globals, no output; callers print the messages. */
#ifndef NCFFS_PERMS_H
#define NCFFS_PERMS_H

#include <sys/types.h>

/* Defaults when the options are absent (the ids default to the mounting
 * user's, which main.c takes from getuid/getgid). */
#define PERMS_DEFAULT_UMASK 0022

/* uid=: a decimal number, or a user name from the password database.
 * 0, -EINVAL (not a valid number or name) or -ENOENT (no such user); another
 * -errno if the database cannot be read. */
int perms_parse_uid(const char *text, uid_t *out);

/* gid=: a decimal number, or a group name; as perms_parse_uid. */
int perms_parse_gid(const char *text, gid_t *out);

/* umask=: 1 to 4 octal digits, at most 0777; 0 or -EINVAL. */
int perms_parse_umask(const char *text, mode_t *out);

/* The st_mode of an entry of the given S_IF* type under umask. */
mode_t perms_mode(mode_t type, mode_t umask);

#endif
