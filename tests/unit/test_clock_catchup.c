/*
 * test_clock_catchup.c - the clock's side of the guarantees, in its pure
 * parts: the misfire decision over a job's due fires, registration
 * options, "after" cycles, and the DST-gap walk of a gap=skip job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "cf_time.h"
#include "schedule.h"

#define H (3600 * 1000LL)

static int64_t
t(const char *s)
{
	int64_t ms = 0;
	assert_int_equal(cf_rfc3339_parse(s, &ms), 0);
	return (ms);
}

/* n hourly fires ending at last. */
static void
hourly(catchup_fire *f, size_t n, int64_t last)
{
	for (size_t i = 0; i < n; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].at = last - (int64_t) (n - 1 - i) * H;
	}
}

static catchup_in
late_in(int64_t now, clock_misfire m, int64_t window)
{
	catchup_in in = { 0 };
	in.now_ms     = now;
	in.late       = 1;
	in.misfire    = m;
	in.window_ms  = window;
	in.latest     = -1;
	return (in);
}

/* On time: every fire published, trigger schedule. */
static void
on_time_publishes(void **state)
{
	catchup_fire f[2];
	catchup_in   in
	    = late_in(t("2025-01-01T10:00:00.500Z"), CLOCK_MISFIRE_SKIP, H);
	(void) state;

	in.late = 0;
	hourly(f, 2, t("2025-01-01T10:00:00Z"));
	catchup_decide(f, 2, &in);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f[i].why, CATCHUP_PUBLISH);
		assert_int_equal(f[i].trigger, CF_TRIGGER_SCHEDULE);
	}
}

/*
 * once: 10 fires missed, window 3h from now 10:30: 07:00 .. 00:00 are
 * outside, 08:00 and 09:00 coalesced into 10:00, which is published as
 * catchup.
 */
static void
once_coalesces_into_latest(void **state)
{
	catchup_fire f[11];
	int64_t      now = t("2025-01-01T10:30:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ONCE, 3 * H);
	char         why[128];
	(void) state;

	hourly(f, 11, t("2025-01-01T10:00:00Z"));
	catchup_decide(f, 11, &in);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(f[i].why, CATCHUP_OUTSIDE_WINDOW);
		assert_int_equal(f[i].trigger, CF_TRIGGER_CATCHUP);
	}
	assert_int_equal(f[8].why, CATCHUP_COALESCED);
	assert_int_equal(f[9].why, CATCHUP_COALESCED);
	assert_int_equal(f[9].into, t("2025-01-01T10:00:00Z"));
	assert_int_equal(f[10].why, CATCHUP_PUBLISH);
	assert_int_equal(f[10].trigger, CF_TRIGGER_CATCHUP);

	catchup_reason_text(why, sizeof(why), f[8].why, "sync", f[8].into);
	assert_string_equal(why, "coalesced into sync@2025-01-01T10:00:00Z");
	catchup_reason_text(why, sizeof(why), f[0].why, "sync", -1);
	assert_string_equal(why, "missed: outside the catch-up window");
}

/* The window's edge belongs to the window. */
static void
window_edge_inclusive(void **state)
{
	catchup_fire f[2];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ALL, H);
	(void) state;

	hourly(f, 2, now - H);
	f[1].at = now - H; /* exactly at now - window */
	f[0].at = now - H - 1;
	catchup_decide(f, 2, &in);
	assert_int_equal(f[0].why, CATCHUP_OUTSIDE_WINDOW);
	assert_int_equal(f[1].why, CATCHUP_PUBLISH);
}

static void
all_publishes_each_in_window(void **state)
{
	catchup_fire f[5];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ALL, 2 * H);
	(void) state;

	hourly(f, 5, now);
	catchup_decide(f, 5, &in);
	assert_int_equal(f[0].why, CATCHUP_OUTSIDE_WINDOW);
	assert_int_equal(f[1].why, CATCHUP_OUTSIDE_WINDOW);
	for (int i = 2; i < 5; i++) {
		assert_int_equal(f[i].why, CATCHUP_PUBLISH);
		assert_int_equal(f[i].trigger, CF_TRIGGER_CATCHUP);
	}
}

static void
skip_skips_each(void **state)
{
	catchup_fire f[3];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_SKIP, 24 * H);
	char         why[64];
	(void) state;

	hourly(f, 3, now);
	catchup_decide(f, 3, &in);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f[i].why, CATCHUP_POLICY_SKIP);
	}
	catchup_reason_text(why, sizeof(why), f[0].why, "x", -1);
	assert_string_equal(why, "missed (misfire policy skip)");
}

/* A zero window: nothing late runs. */
static void
zero_window(void **state)
{
	catchup_fire f[2];
	int64_t      now = t("2025-01-01T10:00:01Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ONCE, 0);
	(void) state;

	hourly(f, 2, t("2025-01-01T10:00:00Z"));
	catchup_decide(f, 2, &in);
	assert_int_equal(f[0].why, CATCHUP_OUTSIDE_WINDOW);
	assert_int_equal(f[1].why, CATCHUP_OUTSIDE_WINDOW);
}

/* Stopped beats paused beats the DST gap beats the misfire policy. */
static void
precedence(void **state)
{
	catchup_fire f[3];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ALL, 24 * H);
	char         why[64];
	(void) state;

	hourly(f, 3, now);
	f[1].gap   = 1;
	in.stopped = 1;
	in.paused  = 1;
	catchup_decide(f, 3, &in);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f[i].why, CATCHUP_STOPPED);
	}
	catchup_reason_text(why, sizeof(why), f[0].why, "x", -1);
	assert_string_equal(why, "scheduler stopped");
	in.stopped = 0;
	catchup_decide(f, 3, &in);
	assert_int_equal(f[1].why, CATCHUP_PAUSED);
	catchup_reason_text(why, sizeof(why), f[1].why, "x", -1);
	assert_string_equal(why, "paused");
	in.paused = 0;
	catchup_decide(f, 3, &in);
	assert_int_equal(f[0].why, CATCHUP_PUBLISH);
	assert_int_equal(f[1].why, CATCHUP_DST_GAP);
	assert_int_equal(f[2].why, CATCHUP_PUBLISH);
	catchup_reason_text(why, sizeof(why), f[1].why, "x", -1);
	assert_string_equal(why, "dst gap (policy skip)");
	/* On time, a paused fire is still skipped, trigger schedule. */
	in.late   = 0;
	in.paused = 1;
	catchup_decide(f, 3, &in);
	assert_int_equal(f[2].why, CATCHUP_PAUSED);
	assert_int_equal(f[2].trigger, CF_TRIGGER_SCHEDULE);
}

/* once never picks a gap-swallowed fire as the one to run. */
static void
once_skips_gap_fire_as_latest(void **state)
{
	catchup_fire f[3];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ONCE, 24 * H);
	(void) state;

	hourly(f, 3, now);
	f[2].gap = 1;
	catchup_decide(f, 3, &in);
	assert_int_equal(f[0].why, CATCHUP_COALESCED);
	assert_int_equal(f[0].into, now - H);
	assert_int_equal(f[1].why, CATCHUP_PUBLISH);
	assert_int_equal(f[2].why, CATCHUP_DST_GAP);
}

/* A backlog cut into passes: coalesced into the latest beyond the cut. */
static void
once_cut_backlog(void **state)
{
	catchup_fire f[3];
	int64_t      now = t("2025-01-01T10:00:00Z");
	catchup_in   in  = late_in(now, CLOCK_MISFIRE_ONCE, 24 * H);
	(void) state;

	hourly(f, 3, now - 5 * H);
	in.latest = now;
	catchup_decide(f, 3, &in);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f[i].why, CATCHUP_COALESCED);
		assert_int_equal(f[i].into, now);
	}
	/* ... unless that latest is itself outside the window. */
	in.window_ms = 0;
	in.latest    = now - 1;
	catchup_decide(f, 3, &in);
	assert_int_equal(f[2].why, CATCHUP_OUTSIDE_WINDOW);
}

static void
late_threshold(void **state)
{
	(void) state;
	assert_int_equal(catchup_late_ms(1), 1000);
	assert_int_equal(catchup_late_ms(10), 1000);
	assert_int_equal(catchup_late_ms(60), 6000);
	assert_int_equal(catchup_late_ms(3600), 360000);
}

/* ---- registration options ------------------------------------------ */

static void
options_parse(void **state)
{
	clock_policy p;
	char         err[256];
	const char  *ok[] = { "misfire=all", "window=90m", "overlap=queue_one",
		 "timeout=30000", "priority=critical", "retries=0",
		 "after=parent-job", "dst_gap=skip", "dst_repeat=both" };
	(void) state;

	clock_policy_init(&p);
	assert_int_equal(p.misfire, CLOCK_MISFIRE_ONCE);
	assert_int_equal(p.window_ms, H);
	assert_int_equal(p.timeout_ms, 300000);
	assert_string_equal(p.priority, "medium");
	assert_int_equal(clock_policy_retries(&p), 2);
	assert_int_equal(clock_policy_parse(&p, ok, 9, err, sizeof(err)), 0);
	assert_int_equal(p.misfire, CLOCK_MISFIRE_ALL);
	assert_int_equal(p.window_ms, 90 * 60000);
	assert_int_equal(p.overlap, CLOCK_OVERLAP_QUEUE_ONE);
	assert_int_equal(p.timeout_ms, 30000);
	assert_string_equal(p.priority, "critical");
	assert_int_equal(clock_policy_retries(&p), 0);
	assert_string_equal(p.after, "parent-job");
	assert_int_equal(p.gap, CF_DST_GAP_SKIP);
	assert_int_equal(p.repeat, CF_DST_REPEAT_BOTH);
	assert_string_equal(clock_overlap_name(p.overlap), "queue_one");

	/* Retries by priority when not given. */
	clock_policy_init(&p);
	snprintf(p.priority, sizeof(p.priority), "critical");
	assert_int_equal(clock_policy_retries(&p), 3);
	snprintf(p.priority, sizeof(p.priority), "low");
	assert_int_equal(clock_policy_retries(&p), 1);
}

/* Every bad option is refused with a message naming it. */
static void
options_errors(void **state)
{
	static const struct {
		const char *opt;
		const char *want;
	} bad[] = {
		{ "misfire=sometimes",
		    "option misfire: 'sometimes' is not once, "
		    "all or skip" },
		{ "window=-5", "option window" },
		{ "window=2y", "option window" },
		{ "window=400d", "option window" },
		{ "timeout=0", "option timeout" },
		{ "overlap=queue",
		    "option overlap: 'queue' is not skip, "
		    "queue_one or allow" },
		{ "priority=urgent", "option priority" },
		{ "retries=many", "option retries" },
		{ "retries=101", "option retries" },
		{ "after=a.b", "option after" },
		{ "colour=blue", "unknown option 'colour'" },
		{ "misfire", "'misfire' is not an option" },
		{ "=all", "is not an option" },
		{ "dst_gap=jump", "option dst_gap" },
	};
	(void) state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clock_policy p;
		char         err[256] = "";
		const char  *o[1]     = { bad[i].opt };
		clock_policy_init(&p);
		assert_int_equal(
		    clock_policy_parse(&p, o, 1, err, sizeof(err)), CF_EINVAL);
		if (strstr(err, bad[i].want) == NULL) {
			fail_msg("%s: got '%s', want '%s'", bad[i].opt, err,
			    bad[i].want);
		}
	}
	{
		clock_policy p;
		char         err[256] = "";
		const char  *o[2]     = { "misfire=all", "misfire=skip" };
		clock_policy_init(&p);
		assert_int_equal(
		    clock_policy_parse(&p, o, 2, err, sizeof(err)), CF_EINVAL);
		assert_non_null(strstr(err, "misfire is given twice"));
	}
}

/* ---- after: cycles ---------------------------------------------------- */

static int
add_after(clock_sched *s, const char *job, const char *after, char *err,
    size_t errlen)
{
	clock_policy p;
	clock_policy_init(&p);
	snprintf(p.after, sizeof(p.after), "%s", after);
	return (clock_sched_add(s, "svc", job, "-", NULL, &p,
	    t("2025-01-01T00:00:00Z"), 0, err, errlen));
}

static void
after_cycles(void **state)
{
	clock_sched s;
	char        err[256];
	(void) state;

	assert_int_equal(clock_sched_init(&s, 8, NULL), 0);
	/* A parent not yet registered is fine. */
	assert_true(add_after(&s, "a", "b", err, sizeof(err)) >= 0);
	assert_true(add_after(&s, "b", "c", err, sizeof(err)) >= 0);
	/* c -> a -> b -> c */
	assert_true(add_after(&s, "c", "a", err, sizeof(err)) < 0);
	assert_string_equal(err, "after=a: cycle: c -> a -> b -> c");
	assert_int_equal(clock_sched_find(&s, "c"), -1);
	/* Two-step and self cycles. */
	assert_true(add_after(&s, "b", "a", err, sizeof(err)) < 0);
	assert_string_equal(err, "after=a: cycle: b -> a -> b");
	assert_true(add_after(&s, "d", "d", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cycle: d -> d"));
	/* A re-registration may drop its after, which opens the way. */
	assert_true(add_after(&s, "b", "", err, sizeof(err)) >= 0);
	assert_true(add_after(&s, "c", "a", err, sizeof(err)) >= 0);
	assert_int_equal(
	    clock_sched_check_after(&s, "x", "c", err, sizeof(err)), 0);
	/* A job without a schedule has no cursor. */
	assert_int_equal(s.jobs[clock_sched_find(&s, "a")].next, -1);
	clock_sched_fini(&s);
}

/* ---- the walk of a gap=skip job --------------------------------------- */

static void
gap_skip_walk(void **state)
{
	clock_sched  s;
	clock_policy p;
	char         err[256];
	int64_t      at, from = t("2025-03-29T12:00:00Z");
	int          slot, gap;
	(void) state;

	assert_int_equal(clock_sched_init(&s, 4, "Europe/Berlin"), 0);
	clock_policy_init(&p);
	p.gap = CF_DST_GAP_SKIP;
	slot  = clock_sched_add(&s, "svc", "nightly", "30 2 * * *", NULL, &p,
	     from, 0, err, sizeof(err));
	assert_true(slot >= 0);
	/* The cursor stops at the swallowed fire (03:30+02:00)... */
	assert_int_equal(s.jobs[slot].next, t("2025-03-30T01:30:00Z"));
	assert_int_equal(
	    clock_sched_walk_next(&s, slot, from, &at, &gap), CF_OK);
	assert_int_equal(at, t("2025-03-30T01:30:00Z"));
	assert_int_equal(gap, 1);
	/* ... the next is an ordinary one ... */
	assert_int_equal(
	    clock_sched_walk_next(&s, slot, at, &at, &gap), CF_OK);
	assert_int_equal(at, t("2025-03-31T00:30:00Z"));
	assert_int_equal(gap, 0);
	/* ... and "next" does not list the swallowed one. */
	{
		int64_t up[2];
		assert_int_equal(
		    clock_sched_upcoming(&s, slot, from, up, NULL, 2), 2);
		assert_int_equal(up[0], t("2025-03-31T00:30:00Z"));
	}
	/* With the default (shift) policy there is no gap skip. */
	clock_policy_init(&p);
	slot = clock_sched_add(&s, "svc", "shifted", "30 2 * * *", NULL, &p,
	    from, 0, err, sizeof(err));
	assert_int_equal(clock_sched_walk_next(&s, slot, from, &at, &gap), 0);
	assert_int_equal(at, t("2025-03-30T01:30:00Z"));
	assert_int_equal(gap, 0);
	/* The environment chooses the policy too, and is checked. */
	setenv("CRONFLEET_JOB_ENV_GAP_DST_GAP", "skip", 1);
	slot = clock_sched_add(&s, "svc", "env-gap", "30 2 * * *", NULL, NULL,
	    from, 0, err, sizeof(err));
	assert_int_equal(s.jobs[slot].pol.gap, CF_DST_GAP_SKIP);
	setenv("CRONFLEET_JOB_ENV_GAP_DST_GAP", "sometimes", 1);
	assert_true(clock_sched_add(&s, "svc", "env-gap", "30 2 * * *", NULL,
	                NULL, from, 0, err, sizeof(err))
	    < 0);
	assert_non_null(strstr(err, "DST_GAP 'sometimes'"));
	unsetenv("CRONFLEET_JOB_ENV_GAP_DST_GAP");
	clock_sched_fini(&s);
}

/* A re-registration keeps the cursor of fires not handled yet. */
static void
reregistration_keeps_cursor(void **state)
{
	clock_sched s;
	char        err[256];
	int64_t     t0 = t("2025-01-01T00:00:00Z");
	int         slot;
	(void) state;

	assert_int_equal(clock_sched_init(&s, 4, NULL), 0);
	slot = clock_sched_add(
	    &s, "svc", "h", "0 * * * *", NULL, NULL, t0, 0, err, sizeof(err));
	assert_int_equal(s.jobs[slot].next, t0 + H);
	/* A backlog (as catchup_cursors leaves it), then a registration
	 * three hours later: the cursor stays at the backlog's start. */
	clock_sched_set_cursor(&s, slot, t0 + H);
	assert_int_equal(clock_sched_add(&s, "svc", "h", "0 * * * *", NULL,
	                     NULL, t0 + 3 * H + 5, 0, err, sizeof(err)),
	    slot);
	assert_int_equal(s.jobs[slot].next, t0 + H);
	/* Pausing does not move it. */
	clock_sched_pause(&s, slot, 1);
	assert_int_equal(s.jobs[slot].next, t0 + H);
	clock_sched_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(on_time_publishes),
		cmocka_unit_test(once_coalesces_into_latest),
		cmocka_unit_test(window_edge_inclusive),
		cmocka_unit_test(all_publishes_each_in_window),
		cmocka_unit_test(skip_skips_each),
		cmocka_unit_test(zero_window),
		cmocka_unit_test(precedence),
		cmocka_unit_test(once_skips_gap_fire_as_latest),
		cmocka_unit_test(once_cut_backlog),
		cmocka_unit_test(late_threshold),
		cmocka_unit_test(options_parse),
		cmocka_unit_test(options_errors),
		cmocka_unit_test(after_cycles),
		cmocka_unit_test(gap_skip_walk),
		cmocka_unit_test(reregistration_keeps_cursor),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
