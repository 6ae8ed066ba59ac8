/* test_days — days/<day>/ windows (views_day_bounds): a day runs from its
 * local midnight to the next one's, computed as midnights, so a day is 23,
 * 24 or 25 hours long and no instant belongs to two days; pinned where DST
 * starts or ends at midnight (America/Santiago), at 01:00 UTC
 * (Europe/London) and where there is none (Asia/Seoul). Each row is checked
 * against epoch values worked out by hand from the zone's rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "fs/views.h"

struct day_case {
	const char *tz, *day;
	int64_t start_s;   /* epoch seconds of its first instant */
	int64_t hours;     /* its length */
};

/* 2024-09-08 in Santiago: 00:00 -04 does not exist, the day starts 01:00
 * -03 (04:00Z) and is 23 h. 2024-09-07 ends there. 2024-04-07: at 00:00
 * -03 clocks go back to 23:00 -04 on the 6th, so the 6th is 25 h and the
 * 7th starts at 00:00 -04 (04:00Z). London: 2024-03-31 is 23 h (01:00Z),
 * 2024-10-27 is 25 h (01:00Z+1 h back). Seoul: always 24 h at 15:00Z. */
static const struct day_case cases[] = {
	{ "America/Santiago", "2024-09-07", 1725681600, 24 }, /* 04:00Z */
	{ "America/Santiago", "2024-09-08", 1725768000, 23 }, /* 04:00Z */
	{ "America/Santiago", "2024-09-09", 1725850800, 24 }, /* 03:00Z */
	{ "America/Santiago", "2024-04-06", 1712372400, 25 }, /* 03:00Z */
	{ "America/Santiago", "2024-04-07", 1712462400, 24 }, /* 04:00Z */
	{ "Europe/London", "2024-03-30", 1711756800, 24 },   /* 00:00Z */
	{ "Europe/London", "2024-03-31", 1711843200, 23 },   /* 00:00Z */
	{ "Europe/London", "2024-04-01", 1711926000, 24 },   /* 23:00Z */
	{ "Europe/London", "2024-10-27", 1729983600, 25 },   /* 23:00Z */
	{ "Europe/London", "2024-10-28", 1730073600, 24 },   /* 00:00Z */
	{ "Asia/Seoul", "2024-09-08", 1725721200, 24 },      /* 15:00Z */
	{ "Asia/Seoul", "2024-03-31", 1711810800, 24 },
	{ "UTC", "2024-02-29", 1709164800, 24 },
};

static void set_zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void days_are_midnight_to_midnight(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct day_case *c = &cases[i];
		int64_t start = 0, end = 0;

		set_zone(c->tz);
		print_message("%s %s\n", c->tz, c->day);
		assert_int_equal(views_day_bounds(c->day, &start, &end), 0);
		assert_int_equal(start, c->start_s * 1000);
		assert_int_equal(end, (c->start_s + c->hours * 3600) * 1000 - 1);
	}
}

/* Consecutive days tile time: each starts 1 ms after the one before ends. */
static void consecutive_days_share_no_instant(void **state)
{
	static const char *const zones[] = { "America/Santiago", "Europe/London",
					     "Asia/Seoul", "America/Asuncion",
					     "Asia/Beirut", "America/Havana" };
	size_t z;

	(void)state;
	for (z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		int64_t prev_end = 0, start, end;
		char day[16];
		int d;

		set_zone(zones[z]);
		for (d = 0; d < 366; d++) {
			struct tm tm = { .tm_year = 124, .tm_mon = 0,
					 .tm_mday = 1 + d, .tm_hour = 12,
					 .tm_isdst = -1 };
			time_t t = mktime(&tm);

			localtime_r(&t, &tm);
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
			assert_int_equal(views_day_bounds(day, &start, &end), 0);
			if (d > 0)
				assert_int_equal(start, prev_end + 1);
			assert_true(end - start + 1 >= 23 * 3600 * 1000LL &&
				    end - start + 1 <= 25 * 3600 * 1000LL);
			prev_end = end;
		}
	}
}

static void not_a_day_is_enoent(void **state)
{
	static const char *const bad[] = { "2024-02-30", "2023-02-29", "2024-13-01",
					   "2024-1-01", "2024-01-01x", "abcd-ef-gh",
					   "2024/01/01", "" };
	int64_t start, end;
	size_t i;

	(void)state;
	set_zone("America/Santiago");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(views_day_bounds(bad[i], &start, &end), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(days_are_midnight_to_midnight),
		cmocka_unit_test(consecutive_days_share_no_instant),
		cmocka_unit_test(not_a_day_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
