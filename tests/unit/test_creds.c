/* test_creds — finding credentials (client/creds.h): the pure INI parser,
 * and the lookup through the environment, an explicit file and
 * ~/.ncloud/configure. Each test runs with HOME set to a fresh temporary
 * directory and every NCLOUD_* variable unset, so the user's real
 * credentials are never read. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/creds.h"

static const char *const ncloud_vars[] = {
	"NCLOUD_ACCESS_KEY_ID", "NCLOUD_SECRET_ACCESS_KEY", "NCLOUD_ACCESS_KEY",
	"NCLOUD_SECRET_KEY",    "NCLOUD_PROFILE",          "NCLOUD_API_GW",
};

static const char configure_text[] =
	"# written by the ncloud CLI\n"
	"[DEFAULT]\n"
	"ncloud_access_key_id = AKDEFAULT\n"
	"ncloud_secret_access_key = SKDEFAULT\n"
	"ncloud_api_url = https://ncloud.apigw.ntruss.com\n"
	"\n"
	"[workshop]\n"
	"ncloud_access_key_id = AKWORKSHOP\n"
	"ncloud_secret_access_key = SKWORKSHOP\n"
	"\n"
	"[work]\n"
	"ncloud_access_key_id=AKWORK\n"
	"ncloud_secret_access_key=SKWORK\n";

struct fixture {
	char dir[64]; /* "/tmp/ncffs-creds-XXXXXX" */
	char *old_home;
};

/* ---- fixture -------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *home = getenv("HOME");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/ncffs-creds-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->old_home = home ? strdup(home) : NULL;
	setenv("HOME", f->dir, 1);
	for (size_t i = 0; i < sizeof ncloud_vars / sizeof ncloud_vars[0]; i++)
		unsetenv(ncloud_vars[i]);
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof ncloud_vars / sizeof ncloud_vars[0]; i++)
		unsetenv(ncloud_vars[i]);
	if (f->old_home)
		setenv("HOME", f->old_home, 1);
	else
		unsetenv("HOME");
	/* f->dir is the mkdtemp directory this test created; children first. */
	if (nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f->old_home);
	free(f);
	return 0;
}

/* Writes text to dir/name with exactly mode (whatever the umask). */
static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void write_home_configure(const struct fixture *f, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/.ncloud", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/.ncloud/configure", f->dir);
	write_file(path, text, mode);
}

static int parse(const char *text, const char *profile, struct ncf_credentials *out)
{
	size_t len = strlen(text);
	char *exact = malloc(len ? len : 1); /* no NUL after the text */
	int rc;

	assert_non_null(exact);
	memcpy(exact, text, len);
	memset(out, 0, sizeof *out);
	rc = ncf_creds_parse(exact, len, profile, out);
	free(exact);
	return rc;
}

/* ---- parse ---------------------------------------------------------- */

static void parse_takes_the_default_section(void **state)
{
	struct ncf_credentials c;

	(void)state;
	assert_int_equal(parse(configure_text, "DEFAULT", &c), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "SKDEFAULT");
	assert_string_equal(c.api_url, "https://ncloud.apigw.ntruss.com");
}

static void parse_takes_the_named_profile_exactly(void **state)
{
	struct ncf_credentials c;

	(void)state;
	assert_int_equal(parse(configure_text, "work", &c), 0);
	assert_string_equal(c.access_key, "AKWORK");
	assert_string_equal(c.secret_key, "SKWORK");
	assert_int_equal(parse(configure_text, "workshop", &c), 0);
	assert_string_equal(c.access_key, "AKWORKSHOP");
	assert_string_equal(c.secret_key, "SKWORKSHOP");
}

static void parse_missing_section_or_key_is_enoent(void **state)
{
	struct ncf_credentials c;

	(void)state;
	assert_int_equal(parse(configure_text, "wor", &c), -ENOENT);
	assert_int_equal(parse(configure_text, "nope", &c), -ENOENT);
	assert_int_equal(parse("", "DEFAULT", &c), -ENOENT);
	assert_int_equal(parse("[DEFAULT]\nncloud_access_key_id = AK\n", "DEFAULT", &c), -ENOENT);
	assert_int_equal(parse("[DEFAULT]\nncloud_secret_access_key = SK\n", "DEFAULT", &c), -ENOENT);
	/* Keys outside any section belong to no profile. */
	assert_int_equal(parse("ncloud_access_key_id = AK\nncloud_secret_access_key = SK\n[DEFAULT]\n",
			       "DEFAULT", &c),
			 -ENOENT);
	/* Keys of another section are not this one's. */
	assert_int_equal(parse("[DEFAULT]\nncloud_access_key_id = AK\n[other]\n"
			       "ncloud_secret_access_key = SK\n",
			       "DEFAULT", &c),
			 -ENOENT);
}

static void parse_without_api_url_leaves_it_empty(void **state)
{
	struct ncf_credentials c;

	(void)state;
	memset(&c, 'J', sizeof c);
	assert_int_equal(ncf_creds_parse("[DEFAULT]\nncloud_access_key_id = AK\n"
					 "ncloud_secret_access_key = SK\n",
					 strlen("[DEFAULT]\nncloud_access_key_id = AK\n"
						"ncloud_secret_access_key = SK\n"),
					 "DEFAULT", &c),
			 0);
	assert_string_equal(c.api_url, "");
}

static void parse_takes_the_cache_password_of_the_profile_only(void **state)
{
	static const char text[] = "[DEFAULT]\n"
				   "ncloud_access_key_id = AK\n"
				   "ncloud_secret_access_key = SK\n"
				   "ncffs_cache_password = p4ss word\n"
				   "[other]\n"
				   "ncloud_access_key_id = AK2\n"
				   "ncloud_secret_access_key = SK2\n";
	struct ncf_credentials c;

	(void)state;
	assert_int_equal(ncf_creds_parse(text, strlen(text), "DEFAULT", &c), 0);
	assert_string_equal(c.cache_password, "p4ss word");
	assert_int_equal(ncf_creds_parse(text, strlen(text), "other", &c), 0);
	assert_string_equal(c.cache_password, "");
}

struct format_case {
	const char *what;
	const char *text;
};

static const struct format_case format_cases[] = {
	{"spaces around =", "[DEFAULT]\nncloud_access_key_id = AK1\nncloud_secret_access_key = SK1\n"},
	{"no spaces", "[DEFAULT]\nncloud_access_key_id=AK1\nncloud_secret_access_key=SK1\n"},
	{"tabs and trailing blanks",
	 "[DEFAULT]\n\tncloud_access_key_id\t=\tAK1 \t\nncloud_secret_access_key   =   SK1  \n"},
	{"CRLF line ends", "[DEFAULT]\r\nncloud_access_key_id = AK1\r\nncloud_secret_access_key = SK1\r\n"},
	{"no final newline", "[DEFAULT]\nncloud_access_key_id = AK1\nncloud_secret_access_key = SK1"},
	{"comments and blank lines",
	 "# a comment\n\n[DEFAULT]\n# ncloud_access_key_id = WRONG\nncloud_access_key_id = AK1\n\n"
	 "   # ncloud_secret_access_key = WRONG\nncloud_secret_access_key = SK1\n# end\n"},
	{"unknown keys around", "[DEFAULT]\nregion = KR\nncloud_access_key_id = AK1\nfoo=bar\n"
	 "ncloud_secret_access_key = SK1\nncloud_access_key_id_old = WRONG\n"},
};

static void parse_reads_the_formats_people_write(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
		struct ncf_credentials c;
		int rc = parse(format_cases[i].text, "DEFAULT", &c);

		if (rc != 0 || strcmp(c.access_key, "AK1") != 0 ||
		    strcmp(c.secret_key, "SK1") != 0) {
			print_error("%s: rc %d access \"%s\" secret of %zu bytes\n",
				    format_cases[i].what, rc, rc == 0 ? c.access_key : "",
				    rc == 0 ? strlen(c.secret_key) : 0);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void parse_respects_len(void **state)
{
	static const char text[] = "[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = SK\n";
	struct ncf_credentials c;
	size_t cut = strlen("[DEFAULT]\nncloud_access_key_id = AK\n");

	(void)state;
	assert_int_equal(ncf_creds_parse(text, cut, "DEFAULT", &c), -ENOENT);
	/* Cut in the middle of the secret: the secret is what len holds. */
	memset(&c, 0, sizeof c);
	assert_int_equal(ncf_creds_parse(text, sizeof text - 3, "DEFAULT", &c), 0);
	assert_string_equal(c.secret_key, "S");
}

static void parse_value_limits(void **state)
{
	char text[1024];
	char value[NCF_KEY_MAX + 1];
	struct ncf_credentials c;

	(void)state;
	memset(value, 'v', sizeof value);
	value[NCF_KEY_MAX - 1] = '\0'; /* 255 bytes: fits with its NUL */
	snprintf(text, sizeof text,
		 "[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = %s\n", value);
	assert_int_equal(parse(text, "DEFAULT", &c), 0);
	assert_int_equal(strlen(c.secret_key), NCF_KEY_MAX - 1);

	value[NCF_KEY_MAX - 1] = 'v';
	value[NCF_KEY_MAX] = '\0'; /* 256 bytes: too long */
	snprintf(text, sizeof text,
		 "[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = %s\n", value);
	assert_int_equal(parse(text, "DEFAULT", &c), -EINVAL);
	snprintf(text, sizeof text,
		 "[DEFAULT]\nncloud_access_key_id = %s\nncloud_secret_access_key = SK\n", value);
	assert_int_equal(parse(text, "DEFAULT", &c), -EINVAL);
	snprintf(text, sizeof text,
		 "[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = SK\n"
		 "ncloud_api_url = %s\n", value);
	assert_int_equal(parse(text, "DEFAULT", &c), -EINVAL);
}

/* A very long line (say a pasted certificate) must not break the parser. */
static void parse_survives_a_huge_line(void **state)
{
	size_t n = 100000;
	char *text = malloc(n + 200);
	struct ncf_credentials c;
	size_t len;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, n + 200, "[DEFAULT]\n# ");
	memset(text + len, 'x', n);
	len += n;
	len += (size_t)snprintf(text + len, n + 200 - len,
				"\nncloud_access_key_id = AK\nncloud_secret_access_key = SK\n");
	assert_int_equal(ncf_creds_parse(text, len, "DEFAULT", &c), 0);
	assert_string_equal(c.secret_key, "SK");
	free(text);
}

/* ---- load ----------------------------------------------------------- */

static void load_prefers_the_environment(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[256] = "";

	write_home_configure(f, configure_text, 0600);
	setenv("NCLOUD_ACCESS_KEY_ID", "AKENV", 1);
	setenv("NCLOUD_SECRET_ACCESS_KEY", "SKENV", 1);
	assert_int_equal(ncf_creds_load(NULL, NULL, &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.secret_key, "SKENV");
	assert_true(strlen(c.source) > 0);
	assert_null(strstr(c.source, "SKENV"));
}

static void load_uses_the_fallback_variables(void **state)
{
	struct ncf_credentials c;
	char why[256] = "";

	(void)state;
	setenv("NCLOUD_ACCESS_KEY", "AKOLD", 1);
	setenv("NCLOUD_SECRET_KEY", "SKOLD", 1);
	assert_int_equal(ncf_creds_load(NULL, NULL, &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKOLD");
	assert_string_equal(c.secret_key, "SKOLD");
}

static void load_primary_variables_win_over_fallbacks(void **state)
{
	struct ncf_credentials c;
	char why[256] = "";

	(void)state;
	setenv("NCLOUD_ACCESS_KEY", "AKOLD", 1);
	setenv("NCLOUD_SECRET_KEY", "SKOLD", 1);
	setenv("NCLOUD_ACCESS_KEY_ID", "AKNEW", 1);
	setenv("NCLOUD_SECRET_ACCESS_KEY", "SKNEW", 1);
	assert_int_equal(ncf_creds_load(NULL, NULL, &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKNEW");
	assert_string_equal(c.secret_key, "SKNEW");
}

static void load_reads_home_configure(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[256] = "";

	write_home_configure(f, configure_text, 0600);
	assert_int_equal(ncf_creds_load(NULL, NULL, &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "SKDEFAULT");
	assert_string_equal(c.api_url, "https://ncloud.apigw.ntruss.com");
	assert_true(strlen(c.source) > 0);
	assert_null(strstr(c.source, "SKDEFAULT"));

	assert_int_equal(ncf_creds_load(NULL, "work", &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKWORK");
	assert_string_equal(c.secret_key, "SKWORK");
}

static void load_explicit_file_wins_over_home(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[256] = "";
	char path[PATH_MAX];

	write_home_configure(f, configure_text, 0600);
	snprintf(path, sizeof path, "%s/mycreds", f->dir);
	write_file(path,
		   "[DEFAULT]\nncloud_access_key_id = AKFILE\nncloud_secret_access_key = SKFILE\n",
		   0400);
	assert_int_equal(ncf_creds_load(path, NULL, &c, why, sizeof why), 0);
	assert_string_equal(c.access_key, "AKFILE");
	assert_string_equal(c.secret_key, "SKFILE");
}

static void load_refuses_files_others_can_read(void **state)
{
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0666};
	struct fixture *f = *state;
	char path[PATH_MAX];
	int failures = 0;

	snprintf(path, sizeof path, "%s/mycreds", f->dir);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct ncf_credentials c;
		char why[256] = "";
		int rc;

		write_file(path,
			   "[DEFAULT]\nncloud_access_key_id = AKFILE\n"
			   "ncloud_secret_access_key = SKSECRETFILE\n",
			   modes[i]);
		memset(&c, 0, sizeof c);
		rc = ncf_creds_load(path, NULL, &c, why, sizeof why);
		if (rc >= 0 || strlen(why) == 0 || strstr(why, "SKSECRETFILE") ||
		    strstr(c.secret_key, "SKSECRETFILE")) {
			print_error("mode %04o: rc %d why \"%s\"\n", (unsigned)modes[i], rc, why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void load_refuses_a_home_configure_others_can_read(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[256] = "";
	int rc;

	write_home_configure(f, configure_text, 0644);
	memset(&c, 0, sizeof c);
	rc = ncf_creds_load(NULL, NULL, &c, why, sizeof why);
	assert_true(rc < 0);
	assert_true(strlen(why) > 0);
	assert_null(strstr(why, "SKDEFAULT"));
	assert_null(strstr(c.secret_key, "SKDEFAULT"));
}

static void load_with_nothing_anywhere_fails_with_a_reason(void **state)
{
	struct ncf_credentials c;
	char why[256] = "";

	(void)state;
	assert_true(ncf_creds_load(NULL, NULL, &c, why, sizeof why) < 0);
	assert_true(strlen(why) > 0);
	assert_null(strchr(why, '\n'));
}

static void load_missing_profile_fails(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[256] = "";

	write_home_configure(f, configure_text, 0600);
	assert_true(ncf_creds_load(NULL, "nope", &c, why, sizeof why) < 0);
	assert_true(strlen(why) > 0);
}

static void load_reason_fits_a_small_buffer(void **state)
{
	struct ncf_credentials c;
	char why[6];

	(void)state;
	memset(why, 'Z', sizeof why);
	assert_true(ncf_creds_load(NULL, NULL, &c, why, sizeof why) < 0);
	assert_non_null(memchr(why, '\0', sizeof why));
}

/* ---- reasons ---------------------------------------------------------- */

#define LONG_SECRET                                                           \
	"SK3456789012345678901234567890123456789012345678901234567890123456789" \
	"0123456789012345678901234567890123456789012345678901234567890123456789" \
	"0123456789012345678901234567890123456789012345678901234567890123456789" \
	"01234567890123456789012345678901234567890123456789"

struct reason_case {
	const char *text, *profile;
	int rc;
	const char *why; /* the whole reason */
};

static const struct reason_case reason_cases[] = {
	{"[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = " LONG_SECRET "\n",
	 "DEFAULT", -EINVAL,
	 "line 3: the value of ncloud_secret_access_key is longer than 255 bytes"},
	{"# c\n[work]\nncloud_access_key_id = " LONG_SECRET "\n", "work", -EINVAL,
	 "line 3: the value of ncloud_access_key_id is longer than 255 bytes"},
	{configure_text, "nope", -ENOENT, "no [nope] section"},
	{"[DEFAULT]\nncloud_access_key_id = AK\n", "DEFAULT", -ENOENT,
	 "[DEFAULT] has no ncloud_secret_access_key"},
	{"[DEFAULT]\nncloud_secret_access_key = SK\n", "DEFAULT", -ENOENT,
	 "[DEFAULT] has no ncloud_access_key_id"},
	{"[DEFAULT]\nregion = KR\n", "DEFAULT", -ENOENT,
	 "[DEFAULT] has no ncloud_access_key_id or ncloud_secret_access_key"},
	/* A line that is no key = value (here a missing "="), by number. */
	{"[DEFAULT]\n\nncloud_access_key_id AK\nncloud_secret_access_key = SK\n",
	 "DEFAULT", -ENOENT,
	 "[DEFAULT] has no ncloud_access_key_id (line 3 is neither [section] nor key = value)"},
	/* A header that is never closed opens no section. */
	{"[DEFAULT\nncloud_access_key_id = AK\nncloud_secret_access_key = SK\n", "DEFAULT",
	 -ENOENT, "no [DEFAULT] section (line 1 is neither [section] nor key = value)"},
};

/* Each failure says what failed, never with a value in it. */
static void parse_failures_say_what_failed(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof reason_cases / sizeof reason_cases[0]; i++) {
		const struct reason_case *c = &reason_cases[i];
		struct ncf_credentials creds;
		char why[256] = "";
		int rc = ncf_creds_parse_why(c->text, strlen(c->text), c->profile, &creds,
					     why, sizeof why);

		if (rc != c->rc || strcmp(why, c->why) != 0 || strstr(why, "SK3456")) {
			print_error("case %zu: rc %d why \"%s\"\n", i, rc, why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The file's reason is the parser's, after the file's name. */
static void load_says_which_file_and_what_failed(void **state)
{
	struct fixture *f = *state;
	struct ncf_credentials c;
	char why[512] = "", path[PATH_MAX], want[PATH_MAX + 128];

	snprintf(path, sizeof path, "%s/mycreds", f->dir);
	write_file(path,
		   "[DEFAULT]\nncloud_access_key_id = AK\nncloud_secret_access_key = " LONG_SECRET
		   "\n",
		   0600);
	assert_int_equal(ncf_creds_load(path, NULL, &c, why, sizeof why), -EINVAL);
	snprintf(want, sizeof want,
		 "credentials file %s: line 3: the value of ncloud_secret_access_key is "
		 "longer than 255 bytes",
		 path);
	assert_string_equal(why, want);
	assert_null(strstr(why, "SK3456"));
	assert_int_equal(ncf_creds_load(path, "work", &c, why, sizeof why), -ENOENT);
	snprintf(want, sizeof want, "credentials file %s: no [work] section", path);
	assert_string_equal(why, want);
}

static void wipe_clears_the_secret(void **state)
{
	struct ncf_credentials c;
	static const char zeros[NCF_KEY_MAX];

	(void)state;
	assert_int_equal(parse(configure_text, "DEFAULT", &c), 0);
	memset(c.secret_key + strlen(c.secret_key), 'S',
	       sizeof c.secret_key - strlen(c.secret_key));
	ncf_creds_wipe(&c);
	assert_memory_equal(c.secret_key, zeros, sizeof c.secret_key);
}


/* The disk cache is named per account: two OpenWhisk users on one host never
 * share it, and no secret is part of the name. */
static void account_names_the_user_never_the_secret(void **state)
{
	struct ncf_credentials a = { 0 }, b = { 0 }, n = { 0 };
	char id_a[256], id_b[256], id_n[256];

	(void)state;
	snprintf(a.backend, sizeof(a.backend), "openwhisk");
	snprintf(a.namespace_name, sizeof(a.namespace_name), "_");
	snprintf(a.secret_key, sizeof(a.secret_key), "user-a:very-secret-a");
	b = a;
	snprintf(b.secret_key, sizeof(b.secret_key), "user-b:very-secret-b");
	snprintf(n.backend, sizeof(n.backend), "ncp");
	snprintf(n.access_key, sizeof(n.access_key), "AKID");
	snprintf(n.secret_key, sizeof(n.secret_key), "ncp-secret");
	assert_int_equal(ncf_creds_account(&a, id_a, sizeof(id_a)), 0);
	assert_int_equal(ncf_creds_account(&b, id_b, sizeof(id_b)), 0);
	assert_int_equal(ncf_creds_account(&n, id_n, sizeof(id_n)), 0);
	assert_string_not_equal(id_a, id_b);
	assert_non_null(strstr(id_a, "user-a"));
	assert_null(strstr(id_a, "secret"));
	assert_null(strstr(id_n, "secret"));
	assert_non_null(strstr(id_n, "AKID"));
	assert_int_equal(ncf_creds_account(&a, id_a, 8), -ENAMETOOLONG);
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

/* An optional argument runs only the tests whose names match it (a cmocka
 * glob), e.g. test_cache 'single_flight*'. */
int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(account_names_the_user_never_the_secret),
		FIXTURE_TEST(parse_takes_the_default_section),
		FIXTURE_TEST(parse_takes_the_named_profile_exactly),
		FIXTURE_TEST(parse_missing_section_or_key_is_enoent),
		FIXTURE_TEST(parse_without_api_url_leaves_it_empty),
		FIXTURE_TEST(parse_takes_the_cache_password_of_the_profile_only),
		FIXTURE_TEST(parse_reads_the_formats_people_write),
		FIXTURE_TEST(parse_respects_len),
		FIXTURE_TEST(parse_value_limits),
		FIXTURE_TEST(parse_survives_a_huge_line),
		FIXTURE_TEST(load_prefers_the_environment),
		FIXTURE_TEST(load_uses_the_fallback_variables),
		FIXTURE_TEST(load_primary_variables_win_over_fallbacks),
		FIXTURE_TEST(load_reads_home_configure),
		FIXTURE_TEST(load_explicit_file_wins_over_home),
		FIXTURE_TEST(load_refuses_files_others_can_read),
		FIXTURE_TEST(load_refuses_a_home_configure_others_can_read),
		FIXTURE_TEST(load_with_nothing_anywhere_fails_with_a_reason),
		FIXTURE_TEST(load_missing_profile_fails),
		FIXTURE_TEST(load_reason_fits_a_small_buffer),
		FIXTURE_TEST(wipe_clears_the_secret),
		FIXTURE_TEST(parse_failures_say_what_failed),
		FIXTURE_TEST(load_says_which_file_and_what_failed),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
