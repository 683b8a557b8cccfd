/*
 * test_time.c - civil calendar arithmetic and RFC 3339 text (lib/cf_time).
 */
#define _DEFAULT_SOURCE /* timegm */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "cf_time.h"

/* Every day from 1900 to 2400 round-trips and agrees with timegm(3). */
static void
civil_roundtrip(void **state)
{
	(void) state;
	for (int64_t d = cf_days_from_civil(1900, 1, 1);
	     d < cf_days_from_civil(2400, 1, 1); d++) {
		int       y, m, dd;
		struct tm tm = { 0 };
		cf_civil_from_days(d, &y, &m, &dd);
		assert_int_equal(cf_days_from_civil(y, m, dd), d);
		assert_true(dd >= 1 && dd <= cf_days_in_month(y, m));
		tm.tm_year = y - 1900;
		tm.tm_mon  = m - 1;
		tm.tm_mday = dd;
		assert_int_equal((int64_t) timegm(&tm), d * 86400);
	}
}

static void
civil_fields(void **state)
{
	cf_civil c;
	(void) state;
	/* 2025-03-30T01:30:15.250Z was a Sunday. */
	cf_civil_from_ms(1743298215250LL, &c);
	assert_int_equal(c.year, 2025);
	assert_int_equal(c.month, 3);
	assert_int_equal(c.day, 30);
	assert_int_equal(c.hour, 1);
	assert_int_equal(c.minute, 30);
	assert_int_equal(c.second, 15);
	assert_int_equal(c.ms, 250);
	assert_int_equal(c.wday, 0);
	assert_int_equal(cf_ms_from_civil(&c), 1743298215250LL);
	/* Before the epoch: 1969-12-31T23:59:59.999Z, a Wednesday. */
	cf_civil_from_ms(-1, &c);
	assert_int_equal(c.year, 1969);
	assert_int_equal(c.day, 31);
	assert_int_equal(c.ms, 999);
	assert_int_equal(c.wday, 3);
}

static void
leap_years(void **state)
{
	(void) state;
	assert_true(cf_is_leap(2000));
	assert_false(cf_is_leap(2100));
	assert_true(cf_is_leap(2024));
	assert_false(cf_is_leap(2025));
	assert_int_equal(cf_days_in_month(2024, 2), 29);
	assert_int_equal(cf_days_in_month(2100, 2), 28);
	assert_int_equal(cf_days_in_month(2025, 4), 30);
	assert_int_equal(cf_days_in_month(2025, 12), 31);
}

static void
rfc3339_parse_ok(void **state)
{
	static const struct {
		const char *in;
		int64_t     ms;
	} v[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2025-03-30T01:30:00Z", 1743298200000LL },
		{ "2025-03-30T03:30:00+02:00", 1743298200000LL },
		{ "2025-03-29T20:30:00-05:00", 1743298200000LL },
		{ "2025-03-30t01:30:00z", 1743298200000LL },
		{ "2025-03-30 01:30:00Z", 1743298200000LL },
		{ "2025-03-30T01:30:00.25Z", 1743298200250LL },
		{ "2025-03-30T07:15:00+05:45", 1743298200000LL },
		{ "2016-12-31T23:59:60Z", 1483228799999LL },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t ms = -1;
		assert_int_equal(cf_rfc3339_parse(v[i].in, &ms), CF_OK);
		assert_int_equal(ms, v[i].ms);
	}
}

static void
rfc3339_parse_bad(void **state)
{
	static const char *const bad[] = { "", "2025", "2025-03-30",
		"2025-03-30T01:30", "2025-03-30T01:30:00", "2025-02-30T00:00:00Z",
		"2025-13-01T00:00:00Z", "2025-03-30T24:00:00Z",
		"2025-03-30T01:60:00Z", "2025-03-30T01:30:00+2:00",
		"2025-03-30T01:30:00Zjunk", "2025-03-30T01:30:00.Z",
		"2025-03-30X01:30:00Z", "abcd-ef-ghT00:00:00Z" };
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 7;
		assert_int_equal(cf_rfc3339_parse(bad[i], &ms), CF_EINVAL);
		assert_int_equal(ms, 7);
	}
	assert_int_equal(cf_rfc3339_parse(NULL, NULL), CF_EINVAL);
}

static void
rfc3339_format(void **state)
{
	char buf[40];
	(void) state;
	assert_int_equal(cf_rfc3339_format(buf, sizeof(buf), 1743298200000LL,
	                     7200, 0), 25);
	assert_string_equal(buf, "2025-03-30T03:30:00+02:00");
	cf_rfc3339_format(buf, sizeof(buf), 1743298200000LL, 0, 1);
	assert_string_equal(buf, "2025-03-30T01:30:00Z");
	cf_rfc3339_format(buf, sizeof(buf), 1743298200000LL, 0, 0);
	assert_string_equal(buf, "2025-03-30T01:30:00+00:00");
	cf_rfc3339_format(buf, sizeof(buf), 1743298200250LL, -16200, 0);
	assert_string_equal(buf, "2025-03-29T21:00:00.250-04:30");
	cf_rfc3339_format(buf, sizeof(buf), 1743298200000LL, 20700, 0);
	assert_string_equal(buf, "2025-03-30T07:15:00+05:45");
	assert_int_equal(cf_rfc3339_format(buf, 10, 0, 0, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(civil_roundtrip),
		cmocka_unit_test(civil_fields),
		cmocka_unit_test(leap_years),
		cmocka_unit_test(rfc3339_parse_ok),
		cmocka_unit_test(rfc3339_parse_bad),
		cmocka_unit_test(rfc3339_format),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
