/*
 * test_service_policy.c - the pure parts of the job runtime
 * (lib/cf_service_policy.c): policies and their environment, the
 * registration options, retry backoff, how a fire's rows classify, the
 * misfire decision; and the job list of cronfleet-testsvc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cf_service_int.h"
#include "testsvc_spec.h"

static int
dummy_fn(cf_run *run, cf_job_result *res)
{
	(void) run;
	(void) res;
	return (0);
}

/* ---- backoff ------------------------------------------------------------ */

static void
backoff_doubles_to_the_cap(void **state)
{
	(void) state;
	assert_int_equal(cf__backoff_bound(1000, 300000, 1), 1000);
	assert_int_equal(cf__backoff_bound(1000, 300000, 2), 2000);
	assert_int_equal(cf__backoff_bound(1000, 300000, 3), 4000);
	assert_int_equal(cf__backoff_bound(1000, 300000, 9), 256000);
	assert_int_equal(cf__backoff_bound(1000, 300000, 10), 300000);
	/* No overflow, however many failures. */
	assert_int_equal(cf__backoff_bound(1000, 300000, 4000000000u), 300000);
	assert_int_equal(cf__backoff_bound(400000, 300000, 1), 300000);
	/* failures 0 (not expected) is treated as the first. */
	assert_int_equal(cf__backoff_bound(1000, 300000, 0), 1000);
	assert_int_equal(cf__backoff_bound(0, 300000, 3), 0);
}

static void
backoff_jitter_within_bounds(void **state)
{
	uint64_t x  = 88172645463325252ULL;
	int64_t  lo = INT64_MAX, hi = -1;

	(void) state;
	/* The extremes: rnd 0 gives 0, rnd == bound gives the bound. */
	assert_int_equal(cf__backoff_delay(1000, 300000, 2, 0), 0);
	assert_int_equal(cf__backoff_delay(1000, 300000, 2, 2000), 2000);
	assert_int_equal(cf__backoff_delay(1000, 300000, 2, 2001), 0);
	for (int i = 0; i < 100000; i++) {
		int64_t d;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		d = cf__backoff_delay(1000, 300000, 3, x);
		assert_true(d >= 0 && d <= 4000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* Full jitter: the whole range is used. */
	assert_true(lo < 100);
	assert_true(hi > 3900);
}

/* ---- policies ----------------------------------------------------------- */

static void
retries_by_priority(void **state)
{
	(void) state;
	assert_int_equal(cf__retries_for_priority("critical"), 3);
	assert_int_equal(cf__retries_for_priority("high"), 2);
	assert_int_equal(cf__retries_for_priority("medium"), 2);
	assert_int_equal(cf__retries_for_priority(NULL), 2);
	assert_int_equal(cf__retries_for_priority("low"), 1);
	assert_int_equal(cf__retries_for_priority("urgent"), -1);
}

static void
policy_defaults(void **state)
{
	cf_job_def d = { .name = "pol-defaults",
		.schedule      = "* * * * *",
		.fn            = dummy_fn,
		.priority      = "critical" };
	cf__policy p;
	char       err[256];
	int        env;

	(void) state;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	assert_int_equal(p.misfire, CF_MISFIRE_ONCE);
	assert_int_equal(p.window_ms, 3600000);
	assert_int_equal(p.overlap, CF_OVERLAP_SKIP);
	assert_int_equal(p.timeout_ms, 300000);
	assert_int_equal(p.retries, 3);
	assert_int_equal(p.retry_base_ms, 1000);
	assert_string_equal(p.after, "");
}

static void
policy_from_def(void **state)
{
	cf_job_def d = { .name     = "pol-def",
		.fn                = dummy_fn,
		.misfire           = CF_MISFIRE_ALL,
		.catchup_window_ms = 60000,
		.overlap           = CF_OVERLAP_QUEUE_ONE,
		.timeout_ms        = 2500,
		.retries           = CF_RETRIES_NONE,
		.retry_base_ms     = 50,
		.after             = "parent" };
	cf__policy p;
	char       err[256];
	int        env;

	(void) state;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	assert_int_equal(p.misfire, CF_MISFIRE_ALL);
	assert_int_equal(p.window_ms, 60000);
	assert_int_equal(p.overlap, CF_OVERLAP_QUEUE_ONE);
	assert_int_equal(p.timeout_ms, 2500);
	assert_int_equal(p.retries, 0);
	assert_int_equal(p.retry_base_ms, 50);
	assert_string_equal(p.after, "parent");
	d.retries = 7;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	assert_int_equal(p.retries, 7);
}

static void
policy_bad_def(void **state)
{
	cf_job_def d = { .name = "pol-bad", .fn = dummy_fn };
	cf__policy p;
	char       err[256];
	int        env = 1;

	(void) state;
	d.priority = "urgent";
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
	assert_int_equal(env, 0);
	assert_non_null(strstr(err, "urgent"));
	d.priority   = NULL;
	d.timeout_ms = -1;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
	d.timeout_ms = 0;
	d.retries    = -2;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
	d.retries = 0;
	d.after   = "pol-bad"; /* itself */
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
	d.after = "no.dots";
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
	d.after   = NULL;
	d.overlap = (cf_overlap) 7;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)),
	    CF_EINVAL);
}

static void
policy_from_env(void **state)
{
	cf_job_def d = { .name = "env-job",
		.fn            = dummy_fn,
		.priority      = "low",
		.after         = "old-parent" };
	cf__policy p;
	char       err[256];
	int        env;

	(void) state;
	setenv("CRONFLEET_JOB_ENV_JOB_MISFIRE", "SKIP", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_CATCHUP_WINDOW", "90m", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_OVERLAP", "allow", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_TIMEOUT", "30s", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_RETRIES", "0", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_RETRY_BASE", "250ms", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_AFTER", "new-parent", 1);
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, "cronfleet-x", err, sizeof(err)),
	    CF_OK);
	assert_int_equal(p.misfire, CF_MISFIRE_SKIP);
	assert_int_equal(p.window_ms, 90 * 60000);
	assert_int_equal(p.overlap, CF_OVERLAP_ALLOW);
	assert_int_equal(p.timeout_ms, 30000);
	assert_int_equal(p.retries, 0); /* 0 in the environment: none */
	assert_int_equal(p.retry_base_ms, 250);
	assert_string_equal(p.after, "new-parent");
	/* "-" takes the declared after away. */
	setenv("CRONFLEET_JOB_ENV_JOB_AFTER", "-", 1);
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	assert_string_equal(p.after, "");
	/* Empty counts as unset: the declaration's value. */
	setenv("CRONFLEET_JOB_ENV_JOB_AFTER", "", 1);
	setenv("CRONFLEET_JOB_ENV_JOB_RETRIES", "", 1);
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	assert_string_equal(p.after, "old-parent");
	assert_int_equal(p.retries, 1);
	unsetenv("CRONFLEET_JOB_ENV_JOB_MISFIRE");
	unsetenv("CRONFLEET_JOB_ENV_JOB_CATCHUP_WINDOW");
	unsetenv("CRONFLEET_JOB_ENV_JOB_OVERLAP");
	unsetenv("CRONFLEET_JOB_ENV_JOB_TIMEOUT");
	unsetenv("CRONFLEET_JOB_ENV_JOB_RETRY_BASE");
}

static void
policy_bad_env(void **state)
{
	static const char *const bad[][2] = {
		{ "CRONFLEET_JOB_BAD_ENV_MISFIRE", "sometimes" },
		{ "CRONFLEET_JOB_BAD_ENV_CATCHUP_WINDOW", "soon" },
		{ "CRONFLEET_JOB_BAD_ENV_OVERLAP", "queue" },
		{ "CRONFLEET_JOB_BAD_ENV_TIMEOUT", "0" },
		{ "CRONFLEET_JOB_BAD_ENV_RETRIES", "101" },
		{ "CRONFLEET_JOB_BAD_ENV_RETRIES", "-1" },
		{ "CRONFLEET_JOB_BAD_ENV_RETRY_BASE", "6m" },
		{ "CRONFLEET_JOB_BAD_ENV_AFTER", "a.b" },
		{ "CRONFLEET_JOB_BAD_ENV_AFTER", "bad-env" },
	};
	cf_job_def d = { .name = "bad-env", .fn = dummy_fn };
	cf__policy p;
	char       err[512];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int env = 0;
		setenv(bad[i][0], bad[i][1], 1);
		assert_int_equal(cf__policy_resolve(&p, &env, &d,
		                     "cronfleet-x", err, sizeof(err)),
		    CF_EINVAL);
		assert_int_equal(env, 1);
		assert_non_null(strstr(err, bad[i][0]));
		assert_int_equal(strncmp(err, "cronfleet-x: ", 13), 0);
		assert_null(strchr(err, '\n'));
		unsetenv(bad[i][0]);
	}
}

static void
registration_options(void **state)
{
	cf_job_def d = { .name     = "opt-job",
		.fn                = dummy_fn,
		.misfire           = CF_MISFIRE_ALL,
		.overlap           = CF_OVERLAP_ALLOW,
		.timeout_ms        = 1500,
		.catchup_window_ms = 7200000,
		.after             = "up" };
	cf__policy p;
	char       opts[8][CF__OPT_LEN], err[256];
	size_t     n;
	int        env;

	(void) state;
	assert_int_equal(
	    cf__policy_resolve(&p, &env, &d, NULL, err, sizeof(err)), CF_OK);
	n = cf__policy_options(&p, "high", opts, 8);
	assert_int_equal(n, 7);
	assert_string_equal(opts[0], "misfire=all");
	assert_string_equal(opts[1], "window=7200000");
	assert_string_equal(opts[2], "overlap=allow");
	assert_string_equal(opts[3], "timeout=1500");
	assert_string_equal(opts[4], "priority=high");
	assert_string_equal(opts[5], "retries=2");
	assert_string_equal(opts[6], "after=up");
	/* No after: no option; NULL priority is medium. */
	p.after[0] = '\0';
	n          = cf__policy_options(&p, NULL, opts, 8);
	assert_int_equal(n, 6);
	assert_string_equal(opts[4], "priority=medium");
	/* Never more than asked for. */
	assert_int_equal(cf__policy_options(&p, NULL, opts, 3), 3);
}

/* ---- a fire's rows ------------------------------------------------------ */

static cf__fire_row
row(uint32_t attempt, int status, int final, int fresh, int retry_pending)
{
	cf__fire_row r = { attempt, status, final, fresh, retry_pending };
	return (r);
}

static void
classify_fires(void **state)
{
	cf__fire_row r[4];
	uint32_t     next, fails;

	(void) state;
	assert_int_equal(
	    cf__fire_classify(NULL, 0, 0, &next, &fails), CF__FIRE_UNSETTLED);
	assert_int_equal(next, 1);
	assert_int_equal(fails, 0);
	/* Held here (queued, running, retry due): not the sweep's. */
	assert_int_equal(
	    cf__fire_classify(NULL, 0, 1, &next, &fails), CF__FIRE_BUSY);

	r[0] = row(1, CF__ROW_SUCCEEDED, 1, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_SETTLED);
	r[0] = row(1, CF__ROW_SKIPPED, 1, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 1, &next, &fails), CF__FIRE_SETTLED);

	/* Failed for good, and failed with a retry to come. */
	r[0] = row(1, CF__ROW_FAILED, 1, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_SETTLED);
	r[0] = row(1, CF__ROW_FAILED, 0, 0, 1);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_BUSY);
	/* ... whose retry never ran. */
	r[0] = row(1, CF__ROW_FAILED, 0, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_UNSETTLED);
	assert_int_equal(next, 2);
	assert_int_equal(fails, 1);
	r[0] = row(1, CF__ROW_TIMED_OUT, 0, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_UNSETTLED);
	assert_int_equal(fails, 1);

	/* Running: alive elsewhere, or its process stopped. */
	r[0] = row(1, CF__ROW_RUNNING, 0, 1, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_BUSY);
	r[0] = row(1, CF__ROW_RUNNING, 0, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 1, 0, &next, &fails), CF__FIRE_STALE);
	assert_int_equal(next, 2);

	/* An interrupted attempt uses no retry. */
	r[0] = row(1, CF__ROW_FAILED, 0, 0, 0);
	r[1] = row(2, CF__ROW_INTERRUPTED, 0, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 2, 0, &next, &fails), CF__FIRE_UNSETTLED);
	assert_int_equal(next, 3);
	assert_int_equal(fails, 1);

	/* Rows in any order; the retry pending of an older attempt does
	 * not count once a later one exists. */
	r[0] = row(3, CF__ROW_INTERRUPTED, 0, 0, 0);
	r[1] = row(1, CF__ROW_FAILED, 0, 0, 1);
	r[2] = row(2, CF__ROW_TIMED_OUT, 0, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 3, 0, &next, &fails), CF__FIRE_UNSETTLED);
	assert_int_equal(next, 4);
	assert_int_equal(fails, 2);

	/* A later success settles whatever came before. */
	r[3] = row(4, CF__ROW_SUCCEEDED, 1, 0, 0);
	assert_int_equal(
	    cf__fire_classify(r, 4, 0, &next, &fails), CF__FIRE_SETTLED);

	assert_int_equal(cf__row_status_parse("timed_out"), CF__ROW_TIMED_OUT);
	assert_int_equal(cf__row_status_parse("nope"), -1);
	assert_int_equal(cf__row_status_parse(NULL), -1);
}

static void
misfire_decisions(void **state)
{
	cf__policy p   = { 0 };
	int64_t    now = 1000000000;

	(void) state;
	p.window_ms = 3600000;
	p.misfire   = CF_MISFIRE_ONCE;
	assert_int_equal(
	    cf__misfire_decide(&p, now, now - 3600000), CF__MISFIRE_CANDIDATE);
	assert_int_equal(cf__misfire_decide(&p, now, now - 3600001),
	    CF__MISFIRE_SKIP_WINDOW);
	p.misfire = CF_MISFIRE_ALL;
	assert_int_equal(
	    cf__misfire_decide(&p, now, now - 1), CF__MISFIRE_RUN);
	assert_int_equal(cf__misfire_decide(&p, now, now - 7200000),
	    CF__MISFIRE_SKIP_WINDOW);
	p.misfire = CF_MISFIRE_SKIP;
	assert_int_equal(
	    cf__misfire_decide(&p, now, now - 1), CF__MISFIRE_SKIP_POLICY);
}

/* ---- testsvc's jobs ----------------------------------------------------- */

static void
testsvc_spec_parses(void **state)
{
	tsv_job *j = NULL;
	size_t   n = 0;
	char     err[512];

	(void) state;
	assert_int_equal(tsv_parse("a|*/5 * * * *|misfire=all,window=30d,"
	                           "overlap=queue_one,timeout=1500,"
	                           "priority=critical,retries=0,"
	                           "retry_base=200ms,tz=Europe/Paris,work=2s,"
	                           "fail=2,failp=0.25,permanent=1,hang=1;"
	                           "b|-|after=a;c|0 3 * * *",
	                     &j, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 3);
	assert_string_equal(j[0].def.name, "a");
	assert_string_equal(j[0].def.schedule, "*/5 * * * *");
	assert_int_equal(j[0].def.misfire, CF_MISFIRE_ALL);
	assert_int_equal(j[0].def.catchup_window_ms, 30LL * 86400000);
	assert_int_equal(j[0].def.overlap, CF_OVERLAP_QUEUE_ONE);
	assert_int_equal(j[0].def.timeout_ms, 1500);
	assert_string_equal(j[0].def.priority, "critical");
	assert_int_equal(j[0].def.retries, CF_RETRIES_NONE);
	assert_int_equal(j[0].def.retry_base_ms, 200);
	assert_string_equal(j[0].def.tz, "Europe/Paris");
	assert_int_equal(j[0].work_ms, 2000);
	assert_int_equal(j[0].fail, 2);
	assert_true(j[0].failp > 0.24 && j[0].failp < 0.26);
	assert_int_equal(j[0].permanent, 1);
	assert_int_equal(j[0].hang, 1);
	assert_string_equal(j[1].def.schedule, "-");
	assert_string_equal(j[1].def.after, "a");
	assert_null(j[1].def.tz);
	assert_null(j[2].def.after);
	assert_null(j[2].def.priority);
	free(j);

	assert_int_equal(tsv_parse("", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(tsv_parse(NULL, &j, &n, err, sizeof(err)), -1);
	assert_int_equal(tsv_parse("a", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(tsv_parse("a.b|-", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(tsv_parse("a||", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(
	    tsv_parse("a|-|misfire=most", &j, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "misfire=most"));
	assert_int_equal(
	    tsv_parse("a|-|failp=2", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(
	    tsv_parse("a|-|color=red", &j, &n, err, sizeof(err)), -1);
	assert_int_equal(tsv_parse("a|-|work", &j, &n, err, sizeof(err)), -1);
	assert_null(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_to_the_cap),
		cmocka_unit_test(backoff_jitter_within_bounds),
		cmocka_unit_test(retries_by_priority),
		cmocka_unit_test(policy_defaults),
		cmocka_unit_test(policy_from_def),
		cmocka_unit_test(policy_bad_def),
		cmocka_unit_test(policy_from_env),
		cmocka_unit_test(policy_bad_env),
		cmocka_unit_test(registration_options),
		cmocka_unit_test(classify_fires),
		cmocka_unit_test(misfire_decisions),
		cmocka_unit_test(testsvc_spec_parses),
	};
	return (cmocka_run_group_tests_name(
	    "unit.service.policy", tests, NULL, NULL));
}
