/* test_perms — -o uid=, gid=, umask= and the modes they give (fs/perms.h).
 *
 * Ids are numbers or names (root is in every password and group database;
 * names that cannot exist must be -ENOENT, malformed values -EINVAL); a
 * umask is 1 to 4 octal digits up to 0777; files are 0444, directories and
 * symbolic links 0555, minus the umask, never with a write bit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fs/perms.h"

#define NO_SUCH_NAME "ncffs-test-no-such-name"

struct id_case {
	const char *text;
	int rc;
	unsigned long id; /* when rc == 0 */
};

static const struct id_case id_cases[] = {
	{ "0", 0, 0 },
	{ "1000", 0, 1000 },
	{ "007", 0, 7 },
	{ "4294967294", 0, 4294967294UL },
	{ "root", 0, 0 },
	{ "4294967295", -EINVAL, 0 },   /* (uid_t)-1 means "unchanged" */
	{ "99999999999999999999", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "-root", -EINVAL, 0 },
	{ NO_SUCH_NAME, -ENOENT, 0 },
	{ "1000x", -ENOENT, 0 },        /* not a number, so a name: none */
	{ " 1000", -ENOENT, 0 },
};

static void ids_parse_as_numbers_or_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		const struct id_case *c = &id_cases[i];
		unsigned long want = c->rc ? 12345 : c->id;
		uid_t uid = 12345;
		gid_t gid = 12345;
		int urc = perms_parse_uid(c->text, &uid);
		int grc = perms_parse_gid(c->text, &gid);

		if (urc != c->rc || grc != c->rc || uid != want || gid != want)
			fail_msg("\"%s\": uid %d/%lu, gid %d/%lu; expected %d/%lu",
				 c->text, urc, (unsigned long)uid, grc,
				 (unsigned long)gid, c->rc, want);
	}
}

struct umask_case {
	const char *text;
	int rc;
	mode_t umask; /* when rc == 0 */
};

static const struct umask_case umask_cases[] = {
	{ "0", 0, 0 },       { "022", 0, 022 },    { "077", 0, 077 },
	{ "0077", 0, 077 },  { "777", 0, 0777 },   { "7", 0, 07 },
	{ "", -EINVAL, 0 },  { "8", -EINVAL, 0 },  { "0778", -EINVAL, 0 },
	{ "1000", -EINVAL, 0 }, { "01000", -EINVAL, 0 }, { "-22", -EINVAL, 0 },
	{ "+22", -EINVAL, 0 }, { " 22", -EINVAL, 0 }, { "22 ", -EINVAL, 0 },
	{ "0x1f", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
	{ "00000000000000000022", -EINVAL, 0 },
};

static void umask_is_octal_up_to_0777(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(umask_cases) / sizeof(umask_cases[0]); i++) {
		const struct umask_case *c = &umask_cases[i];
		mode_t want = c->rc ? 0123 : c->umask;
		mode_t umask = 0123;
		int rc = perms_parse_umask(c->text, &umask);

		if (rc != c->rc || umask != want)
			fail_msg("\"%s\": %d/%03o; expected %d/%03o", c->text, rc,
				 (unsigned)umask, c->rc, (unsigned)want);
	}
}

struct mode_case {
	mode_t type, umask, mode;
};

static const struct mode_case mode_cases[] = {
	{ S_IFREG, 022, S_IFREG | 0444 }, { S_IFDIR, 022, S_IFDIR | 0555 },
	{ S_IFLNK, 022, S_IFLNK | 0555 }, { S_IFREG, 077, S_IFREG | 0400 },
	{ S_IFDIR, 077, S_IFDIR | 0500 }, { S_IFLNK, 077, S_IFLNK | 0500 },
	{ S_IFREG, 027, S_IFREG | 0440 }, { S_IFDIR, 027, S_IFDIR | 0550 },
	{ S_IFREG, 0, S_IFREG | 0444 },   { S_IFDIR, 0, S_IFDIR | 0555 },
	{ S_IFDIR, 0111, S_IFDIR | 0444 }, { S_IFREG, 0777, S_IFREG },
	{ S_IFDIR, 0777, S_IFDIR },
};

static void modes_are_read_only_bits_minus_umask(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mode_cases) / sizeof(mode_cases[0]); i++) {
		const struct mode_case *c = &mode_cases[i];
		mode_t mode = perms_mode(c->type, c->umask);

		if (mode != c->mode)
			fail_msg("type %o umask %03o: %o; expected %o",
				 (unsigned)c->type, (unsigned)c->umask,
				 (unsigned)mode, (unsigned)c->mode);
	}
}

static void default_umask_is_022(void **state)
{
	(void)state;
	assert_int_equal(PERMS_DEFAULT_UMASK, 022);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_parse_as_numbers_or_names),
		cmocka_unit_test(umask_is_octal_up_to_0777),
		cmocka_unit_test(modes_are_read_only_bits_minus_umask),
		cmocka_unit_test(default_umask_is_022),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
