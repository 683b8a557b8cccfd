/*
 * test_clock_schedule.c - the clock's job table: order of fires across
 * jobs, environment overrides, runtime schedule changes, pause.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cf_time.h"
#include "schedule.h"

static int64_t
t(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(cf_rfc3339_parse(s, &ms), 0);
	return (ms);
}

/* The fires of three jobs come out merged in time order. */
static void
merged_order(void **state)
{
	clock_sched s;
	char        err[256];
	int64_t     now = t("2025-01-01T00:00:00Z"), at;
	const char *want[] = { "2025-01-01T00:15:00Z|a", "2025-01-01T00:20:00Z|b",
		"2025-01-01T00:30:00Z|a", "2025-01-01T00:40:00Z|b",
		"2025-01-01T00:45:00Z|a", "2025-01-01T01:00:00Z|a",
		"2025-01-01T01:00:00Z|b", "2025-01-01T01:00:00Z|c" };
	(void) state;

	assert_int_equal(clock_sched_init(&s, 8, "UTC"), 0);
	assert_int_equal(clock_sched_add(&s, "svc", "a", "*/15 * * * *", NULL,
	                     NULL, now, 0, err, sizeof(err)),
	    0);
	assert_int_equal(clock_sched_add(&s, "svc", "b", "*/20 * * * *", NULL,
	                     NULL, now, 0, err, sizeof(err)),
	    1);
	assert_int_equal(clock_sched_add(&s, "svc", "c", "0 * * * *", NULL,
	                     NULL, now, 0, err, sizeof(err)),
	    2);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char buf[64];
		int  slot = clock_sched_peek(&s, &at);
		assert_true(slot >= 0);
		cf_rfc3339_format(buf, sizeof(buf), at, 0, 1);
		strcat(buf, "|");
		strcat(buf, s.jobs[slot].name);
		assert_string_equal(buf, want[i]);
		clock_sched_advance(&s, slot, at);
	}
	clock_sched_fini(&s);
}

static void
env_overrides(void **state)
{
	clock_sched s;
	char        err[256];
	int64_t     now = t("2025-03-29T12:00:00Z"), at;
	int         slot;
	(void) state;

	setenv("CRONFLEET_JOB_DAILY_CLEANUP_SCHEDULE", "30 2 * * *", 1);
	setenv("CRONFLEET_JOB_DAILY_CLEANUP_TZ", "Europe/Berlin", 1);
	setenv("CRONFLEET_JOB_OFF_JOB_ENABLED", "false", 1);
	setenv("CRONFLEET_JOB_BAD_FLAG_ENABLED", "maybe", 1);
	assert_int_equal(clock_sched_init(&s, 8, "UTC"), 0);
	slot = clock_sched_add(&s, "maintenance", "daily-cleanup", "0 2 * * *",
	    NULL, NULL, now, 0, err, sizeof(err));
	assert_true(slot >= 0);
	assert_string_equal(s.jobs[slot].expr, "30 2 * * *");
	/* 02:30 Berlin does not exist on 2025-03-30: shifted to 03:30+02. */
	assert_int_equal(clock_sched_peek(&s, &at), slot);
	assert_int_equal(at, t("2025-03-30T03:30:00+02:00"));
	/* A schedule changed at runtime outranks the environment. */
	assert_int_equal(
	    clock_sched_add(&s, "maintenance", "daily-cleanup", "45 3 * * *",
	        NULL, NULL, now, 1, err, sizeof(err)),
	    slot);
	assert_string_equal(s.jobs[slot].expr, "45 3 * * *");

	slot = clock_sched_add(&s, "x", "off-job", "* * * * *", NULL, NULL,
	    now, 0, err, sizeof(err));
	assert_true(slot >= 0);
	assert_int_equal(s.jobs[slot].enabled, 0);
	assert_int_equal(s.jobs[slot].next, -1);

	assert_true(clock_sched_add(&s, "x", "bad-flag", "* * * * *", NULL,
	                NULL, now, 0, err, sizeof(err))
	    < 0);
	assert_non_null(strstr(err, "maybe"));
	clock_sched_fini(&s);
	unsetenv("CRONFLEET_JOB_DAILY_CLEANUP_SCHEDULE");
	unsetenv("CRONFLEET_JOB_DAILY_CLEANUP_TZ");
	unsetenv("CRONFLEET_JOB_OFF_JOB_ENABLED");
	unsetenv("CRONFLEET_JOB_BAD_FLAG_ENABLED");
}

static void
default_zone_and_errors(void **state)
{
	clock_sched s;
	char        err[256];
	int64_t     now = t("2025-06-01T00:00:00Z"), at;
	int         slot;
	(void) state;

	assert_int_equal(clock_sched_init(&s, 2, "Asia/Kolkata"), 0);
	slot = clock_sched_add(
	    &s, "a", "j", "0 9 * * *", NULL, NULL, now, 0, err, sizeof(err));
	assert_int_equal(clock_sched_peek(&s, &at), slot);
	assert_int_equal(at, t("2025-06-01T03:30:00Z"));

	assert_true(clock_sched_add(&s, "a", "k", "0 0 32 * *", NULL, NULL,
	                now, 0, err, sizeof(err))
	    < 0);
	assert_non_null(strstr(err, "job k: day-of-month: 32"));

	/* A bad runtime change leaves the job as it was. */
	assert_int_not_equal(clock_sched_set_expr(&s, slot, "61 * * * *", now,
	                         err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "minute"));
	assert_string_equal(s.jobs[slot].expr, "0 9 * * *");
	assert_int_equal(
	    clock_sched_set_expr(&s, slot, "0 10 * * *", now, err, sizeof(err)),
	    0);
	clock_sched_peek(&s, &at);
	assert_int_equal(at, t("2025-06-01T04:30:00Z"));

	/* The table is full at 2 jobs; re-adding an existing name updates. */
	assert_int_equal(clock_sched_add(&s, "a", "k", "@hourly", NULL, NULL,
	                     now, 0, err, sizeof(err)),
	    1);
	assert_true(clock_sched_add(&s, "a", "l", "@hourly", NULL, NULL, now,
	                0, err, sizeof(err))
	    < 0);
	assert_int_equal(clock_sched_add(&s, "a", "j", "@daily", NULL, NULL,
	                     now, 0, err, sizeof(err)),
	    slot);
	assert_string_equal(s.jobs[slot].expr, "@daily");
	clock_sched_fini(&s);
}

/*
 * A paused job keeps its cursor in the heap: the loop records its fires
 * as skipped ("paused"), so that resuming goes on from there with no
 * fire left out of the ledger.
 */
static void
pause_and_resume(void **state)
{
	clock_sched s;
	char        err[256];
	int64_t     now = t("2025-01-01T00:00:00Z"), at;
	(void) state;

	assert_int_equal(clock_sched_init(&s, 4, NULL), 0);
	clock_sched_add(
	    &s, "a", "p", "*/5 * * * *", NULL, NULL, now, 0, err, sizeof(err));
	clock_sched_add(
	    &s, "a", "q", "0 * * * *", NULL, NULL, now, 0, err, sizeof(err));
	clock_sched_pause(&s, 0, 1);
	assert_int_equal(s.jobs[0].paused, 1);
	assert_int_equal(clock_sched_peek(&s, &at), 0);
	assert_int_equal(at, t("2025-01-01T00:05:00Z"));
	/* The loop handles (skips) 00:05; the cursor moves on. */
	clock_sched_advance(&s, 0, at);
	assert_int_equal(clock_sched_peek(&s, &at), 0);
	assert_int_equal(at, t("2025-01-01T00:10:00Z"));
	/* Resuming does not move it. */
	clock_sched_pause(&s, 0, 0);
	assert_int_equal(s.jobs[0].paused, 0);
	assert_int_equal(s.jobs[0].next, t("2025-01-01T00:10:00Z"));
	/* A paused job keeps its pause and cursor across a
	 * re-registration. */
	clock_sched_pause(&s, 0, 1);
	clock_sched_add(&s, "a", "p", "*/5 * * * *", NULL, NULL,
	    t("2025-01-01T00:07:00Z"), 0, err, sizeof(err));
	assert_int_equal(s.jobs[0].paused, 1);
	assert_int_equal(s.jobs[0].next, t("2025-01-01T00:10:00Z"));
	assert_int_equal(clock_sched_upcoming(&s, 0, now, (int64_t[3]) { 0 },
	                     NULL, 3),
	    3);
	clock_sched_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merged_order),
		cmocka_unit_test(env_overrides),
		cmocka_unit_test(default_zone_and_errors),
		cmocka_unit_test(pause_and_resume),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
