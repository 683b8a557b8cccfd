/*
 * test_migrate.c - lib/cf_migrate against a real PostgreSQL
 * (DATABASE_URL), with the fixture directories under
 * tests/integration/fixtures/db/. Each test uses a fresh schema, dropped
 * afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_migrate.h"
#include "cf_pg.h"

#define FIX(name) CF_MIGRATE_FIXTURES "/" name

static const char *db_url;
static cf_pg      *pg;
static char        schema[64];
static char        err[2048];
static int         serial;

static const char *
sqlf(const char *fmt)
{
	return (itest_sqlf(schema, fmt));
}

/* The first column of the first row of sql, as an int (-1: no row). */
static int
scalar(const char *sql)
{
	PGresult *res;
	int       v;
	int       rc = cf_pg_exec(pg, sql, 0, NULL, &res, err, sizeof(err));

	if (rc != CF_OK)
		fail_msg("%s: %s", sql, err);
	v = PQntuples(res) > 0 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return (v);
}

static int
schema_exists(void)
{
	const char *p[1] = { schema };
	PGresult   *res;
	int         n;

	assert_int_equal(
	    cf_pg_exec(pg, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1,
	        p, &res, err, sizeof(err)),
	    CF_OK);
	n = PQntuples(res);
	PQclear(res);
	return (n);
}

static int
apply(const char *dir, int *applied)
{
	int n  = -1;
	int rc = cf_migrate_apply_n(pg, schema, dir, &n, err, sizeof(err));
	if (applied != NULL)
		*applied = n;
	return (rc);
}

/* ---------------------------------------------------------------- */

static void
fresh_apply(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(n, 2);
	assert_int_equal(
	    scalar(sqlf("SELECT count(*) FROM %s.schema_migrations")), 2);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM %s.jobs")), 1);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM %s.job_runs")), 0);
	assert_int_equal(scalar(sqlf("SELECT version FROM "
	                             "%s.schema_migrations WHERE name = "
	                             "'002_create_job_runs.sql'")),
	    2);
	/* Nothing leaked into public, and the handle is outside any
	 * transaction with its usual settings. */
	assert_int_equal(scalar("SELECT count(*) FROM pg_tables WHERE "
	                        "schemaname = 'public' AND tablename = "
	                        "'jobs'"),
	    0);
	assert_int_equal(cf__pg_in_txn(pg), 0);
}

static void
reapply_is_noop(void **state)
{
	int       n;
	PGresult *r1, *r2;
	(void) state;

	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg,
	        sqlf("SELECT applied_at FROM %s.schema_migrations "
	             "ORDER BY version"),
	        0, NULL, &r1, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    cf_migrate_apply(pg, schema, FIX("v2"), err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg,
	        sqlf("SELECT applied_at FROM %s.schema_migrations "
	             "ORDER BY version"),
	        0, NULL, &r2, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(PQntuples(r1), 2);
	assert_int_equal(PQntuples(r2), 2);
	for (int i = 0; i < 2; i++)
		assert_string_equal(
		    PQgetvalue(r1, i, 0), PQgetvalue(r2, i, 0));
	PQclear(r1);
	PQclear(r2);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM %s.jobs")), 1);
}

static void
new_file_later(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(n, 2);
	assert_int_equal(apply(FIX("v3"), &n), CF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(
	    scalar(sqlf("SELECT max(version) FROM %s.schema_migrations")), 3);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM "
	                             "information_schema.columns WHERE "
	                             "table_schema = '%s' AND table_name = "
	                             "'job_runs' AND column_name = 'result'")),
	    1);
	/* An older release's directory (v2) against the newer database:
	 * nothing to do, not an error. */
	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(n, 0);
}

static void
broken_rolls_back_fresh(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("broken"), &n), CF_EDB);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "003_broken.sql"));
	assert_non_null(strstr(err, "line 5"));
	assert_non_null(strstr(err, "syntax error"));
	/* Not even the schema, the table of versions or 001 and 002. */
	assert_int_equal(schema_exists(), 0);
	assert_int_equal(cf__pg_in_txn(pg), 0);
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_OK);
}

static void
broken_rolls_back_upgrade(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(apply(FIX("broken"), &n), CF_EDB);
	assert_non_null(strstr(err, "003_broken.sql"));
	assert_int_equal(
	    scalar(sqlf("SELECT max(version) FROM %s.schema_migrations")), 2);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM "
	                             "information_schema.columns WHERE "
	                             "table_schema = '%s' AND column_name = "
	                             "'result'")),
	    0);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM pg_tables WHERE "
	                             "schemaname = '%s' AND tablename = "
	                             "'half_done'")),
	    0);
	/* Fixed later: v3 applies cleanly. */
	assert_int_equal(apply(FIX("v3"), &n), CF_OK);
	assert_int_equal(n, 1);
}

struct applier {
	pthread_barrier_t *start;
	int                rc, applied;
	char               err[1024];
};

static void *
applier_run(void *arg)
{
	struct applier *a = arg;
	cf_pg          *h;

	if ((a->rc = cf_pg_open(&h, db_url, a->err, sizeof(a->err))) != 0) {
		pthread_barrier_wait(a->start);
		return (NULL);
	}
	pthread_barrier_wait(a->start);
	a->rc = cf_migrate_apply_n(
	    h, schema, FIX("slow"), &a->applied, a->err, sizeof(a->err));
	cf_pg_close(h);
	return (NULL);
}

/* Replicas starting together: each file is applied exactly once. */
static void
concurrent_appliers(void **state)
{
	enum { N = 4 };
	pthread_barrier_t start;
	pthread_t         t[N];
	struct applier    a[N];
	int               total = 0;
	(void) state;

	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].start = &start;
		assert_int_equal(
		    pthread_create(&t[i], NULL, applier_run, &a[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (a[i].rc != CF_OK)
			fail_msg("applier %d: %s", i, a[i].err);
		total += a[i].applied;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(total, 2);
	assert_int_equal(scalar(sqlf("SELECT count(*) FROM %s.applied")), 2);
	assert_int_equal(
	    scalar(sqlf("SELECT count(*) FROM %s.schema_migrations")), 2);
}

static void
bad_directories(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("gap"), &n), CF_EINVAL);
	assert_non_null(strstr(err, "001_a.sql"));
	assert_non_null(strstr(err, "003_c.sql"));
	assert_non_null(strstr(err, "gap"));

	assert_int_equal(apply(FIX("dup"), &n), CF_EINVAL);
	assert_non_null(strstr(err, "001_a.sql"));
	assert_non_null(strstr(err, "001_b.sql"));

	assert_int_equal(apply(FIX("badname"), &n), CF_EINVAL);
	assert_non_null(strstr(err, "add_x.sql"));

	assert_int_equal(apply(FIX("no_such_dir"), &n), CF_ENOENT);
	assert_non_null(strstr(err, "no_such_dir"));

	/* Rejected before touching the database. */
	assert_int_equal(schema_exists(), 0);
}

static void
bad_schema_names(void **state)
{
	static const char *const bad[]
	    = { "", "Clock", "1clock", "pg_x", "clock;drop", "a-b", "x\"y",
		      "a234567890123456789012345678901234567890123456789012345"
		      "678901234",
		      NULL };
	(void) state;

	for (int i = 0; bad[i] != NULL; i++)
		assert_int_equal(
		    cf_migrate_apply(pg, bad[i], FIX("v2"), err, sizeof(err)),
		    CF_EINVAL);
	/* Not from inside a transaction either. */
	assert_int_equal(cf_pg_begin(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(apply(FIX("v2"), NULL), CF_EINVAL);
	assert_int_equal(cf_pg_rollback(pg, err, sizeof(err)), CF_OK);
}

static void
renamed_file(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("v2"), &n), CF_OK);
	assert_int_equal(apply(FIX("renamed"), &n), CF_EINVAL);
	assert_non_null(strstr(err, "002_create_job_runs.sql"));
	assert_non_null(strstr(err, "002_runs_renamed.sql"));
}

static void
file_that_commits(void **state)
{
	int n;
	(void) state;

	assert_int_equal(apply(FIX("commits"), &n), CF_EINVAL);
	assert_non_null(strstr(err, "001_commits.sql"));
	assert_non_null(strstr(err, "ended the transaction"));
	assert_int_equal(cf__pg_in_txn(pg), 0);
}

/* ---------------------------------------------------------------- */

static int
test_setup(void **state)
{
	(void) state;
	snprintf(schema, sizeof(schema), "cft_mig_%ld_%ld_%d", (long) getpid(),
	    (long) time(NULL), serial++);
	return (0);
}

static int
test_teardown(void **state)
{
	(void) state;
	(void) cf_pg_rollback(pg, err, sizeof(err));
	(void) cf_pg_exec(pg, sqlf("DROP SCHEMA IF EXISTS %s CASCADE"), 0,
	    NULL, NULL, err, sizeof(err));
	return (0);
}

static int
group_setup(void **state)
{
	(void) state;
	if (cf_pg_open(&pg, db_url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "cannot connect to DATABASE_URL: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	cf_pg_close(pg);
	return (0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(fresh_apply),
		T(reapply_is_noop),
		T(new_file_later),
		T(broken_rolls_back_fresh),
		T(broken_rolls_back_upgrade),
		T(concurrent_appliers),
		T(bad_directories),
		T(bad_schema_names),
		T(renamed_file),
		T(file_that_commits),
	};

	if ((db_url = getenv("DATABASE_URL")) == NULL || *db_url == '\0') {
		fprintf(stderr,
		    "FAIL: DATABASE_URL is not set. These integration tests "
		    "need a real PostgreSQL: run scripts/test, or start one "
		    "(scripts/lib/common.sh cf_start_pg) and export "
		    "DATABASE_URL.\n");
		return (1);
	}
	return (cmocka_run_group_tests_name(
	    "integration.db.migrate", tests, group_setup, group_teardown));
}
