/*
 * test_pg.c - lib/cf_pg against a real PostgreSQL (DATABASE_URL):
 * statements and parameters, error translation, reconnects, timeouts,
 * advisory locks. Everything lives in a schema unique to the run, dropped
 * at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_pg.h"

static const char *db_url;
static char        schema[64];
static cf_pg      *pg;    /* the handle under test */
static cf_pg      *admin; /* a second session, to kill the first */
static char        err[1024];

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

/* sql with every %s replaced by the test schema. */
static const char *
sqlf(const char *fmt)
{
	return (itest_sqlf(schema, fmt));
}

static void
exec_ok(cf_pg *h, const char *sql)
{
	int rc = cf_pg_exec(h, sql, 0, NULL, NULL, err, sizeof(err));
	if (rc != CF_OK)
		fail_msg("%s: %s (%s)", sql, cf_strerror(rc), err);
}

static long
backend_pid(cf_pg *h)
{
	PGresult *res;
	long      pid;

	assert_int_equal(cf_pg_exec(h, "SELECT pg_backend_pid()", 0, NULL,
	                     &res, err, sizeof(err)),
	    CF_OK);
	pid = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return (pid);
}

/* Has admin terminate pid and waits until that backend is gone. */
static void
terminate(long pid)
{
	char        p[24];
	const char *params[1] = { p };
	PGresult   *res;

	snprintf(p, sizeof(p), "%ld", pid);
	assert_int_equal(cf_pg_exec(admin, "SELECT pg_terminate_backend($1)",
	                     1, params, &res, err, sizeof(err)),
	    CF_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	for (int i = 0; i < 500; i++) {
		int n;
		assert_int_equal(cf_pg_exec(admin,
		                     "SELECT 1 FROM pg_stat_activity "
		                     "WHERE pid = $1",
		                     1, params, &res, err, sizeof(err)),
		    CF_OK);
		n = PQntuples(res);
		PQclear(res);
		if (n == 0)
			return;
		sleep_ms(10);
	}
	fail_msg("backend %ld still there after 5 s", pid);
}

static int
count(cf_pg *h, const char *sql)
{
	PGresult *res;
	int       n;

	assert_int_equal(
	    cf_pg_exec(h, sql, 0, NULL, &res, err, sizeof(err)), CF_OK);
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return (n);
}

/* ---------------------------------------------------------------- */

/* Statements the session has prepared (pg_prepared_statements). */
static int
prepared_count(void)
{
	return (count(pg, "SELECT count(*) FROM pg_prepared_statements"));
}

/*
 * cf_pg_exec_prepared: prepared once per session, run by name after;
 * the same answers as unprepared; prepared again in a new session after
 * the backend is killed; beyond 32 texts, run unprepared.
 */
static void
exec_prepared(void **state)
{
	const char *sql = "SELECT $1::int + 1";
	const char *p[1];
	char        v[16], text[64];
	PGresult   *res;
	int         before;

	(void) state;
	before = prepared_count();
	for (int i = 0; i < 5; i++) {
		snprintf(v, sizeof(v), "%d", i);
		p[0] = v;
		assert_int_equal(cf_pg_exec_prepared(pg, sql, 1, p, &res, err,
		                     sizeof(err)),
		    CF_OK);
		assert_int_equal(atoi(PQgetvalue(res, 0, 0)), i + 1);
		PQclear(res);
	}
	assert_int_equal(prepared_count(), before + 1);

	/* An error in the statement is reported as cf_pg_exec would. */
	assert_int_equal(cf_pg_exec_prepared(pg, "SELECT nosuchcolumn", 0,
	                     NULL, &res, err, sizeof(err)),
	    CF_EDB);
	assert_non_null(strstr(err, "nosuchcolumn"));

	/* A new session (the backend killed): prepared again, same answer. */
	terminate(backend_pid(pg));
	p[0] = "41";
	assert_int_equal(
	    cf_pg_exec_prepared(pg, sql, 1, p, &res, err, sizeof(err)), CF_OK);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 42);
	PQclear(res);
	assert_int_equal(prepared_count(), 1);

	/* Many distinct texts: at most 32 are prepared, all answer. */
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "SELECT %d + $1::int", i);
		p[0] = "1";
		assert_int_equal(cf_pg_exec_prepared(pg, text, 1, p, &res, err,
		                     sizeof(err)),
		    CF_OK);
		assert_int_equal(atoi(PQgetvalue(res, 0, 0)), i + 1);
		PQclear(res);
	}
	assert_int_equal(prepared_count(), 32);
}

static void
exec_params(void **state)
{
	const char *p1[2] = { "1", "O'Brien'); DROP TABLE x; --" };
	const char *p2[2] = { "2", NULL };
	const char *q[1]  = { "1" };
	PGresult   *res;
	(void) state;

	exec_ok(pg,
	    sqlf("CREATE TABLE %s.items (id int PRIMARY KEY, "
	         "name text)"));
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("INSERT INTO %s.items VALUES ($1, $2)"), 2, p1,
	        NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("INSERT INTO %s.items VALUES ($1, $2)"), 2, p2,
	        NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("SELECT name FROM %s.items WHERE id = $1"), 1,
	        q, &res, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), p1[1]);
	PQclear(res);
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("SELECT name FROM %s.items ORDER BY id"), 0,
	        NULL, &res, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(PQntuples(res), 2);
	assert_true(PQgetisnull(res, 1, 0));
	PQclear(res);
	assert_string_equal(cf_pg_sqlstate(pg), "");
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_OK);
}

static void
sql_error(void **state)
{
	(void) state;
	assert_int_equal(cf_pg_exec(pg, sqlf("SELECT * FROM %s.no_such"), 0,
	                     NULL, NULL, err, sizeof(err)),
	    CF_EDB);
	assert_string_equal(cf_pg_sqlstate(pg), "42P01");
	assert_non_null(strstr(err, "does not exist"));
	assert_non_null(strstr(err, "42P01"));
	assert_null(strchr(err, '\n'));

	assert_int_equal(
	    cf_pg_exec(pg, "SELEC 1", 0, NULL, NULL, err, sizeof(err)),
	    CF_EDB);
	assert_string_equal(cf_pg_sqlstate(pg), "42601");

	/* Several statements are refused: parameters only. */
	assert_int_equal(cf_pg_exec(pg, "SELECT 1; SELECT 2", 0, NULL, NULL,
	                     err, sizeof(err)),
	    CF_EDB);

	/* The handle is still fine. */
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_OK);
	assert_string_equal(cf_pg_sqlstate(pg), "");
}

static void
unique_violation(void **state)
{
	const char *p[1] = { "7" };
	(void) state;

	exec_ok(pg, sqlf("CREATE TABLE %s.runs (id int PRIMARY KEY)"));
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("INSERT INTO %s.runs VALUES ($1)"), 1, p, NULL,
	        err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg, sqlf("INSERT INTO %s.runs VALUES ($1)"), 1, p, NULL,
	        err, sizeof(err)),
	    CF_EEXIST);
	assert_string_equal(cf_pg_sqlstate(pg), "23505");
	assert_non_null(strstr(err, "duplicate key"));
}

static void
commit_after_error(void **state)
{
	(void) state;
	assert_int_equal(cf_pg_begin(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_pg_exec(pg, "SELECT 1/0", 0, NULL, NULL, err, sizeof(err)),
	    CF_EDB);
	assert_string_equal(cf_pg_sqlstate(pg), "22012");
	assert_int_equal(cf_pg_commit(pg, err, sizeof(err)), CF_EDB);
	assert_non_null(strstr(err, "rolled back"));
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_OK);
}

/* The server ends our idle session; the next statement reconnects. */
static void
reconnect_after_terminate(void **state)
{
	long pid1, pid2;
	(void) state;

	pid1 = backend_pid(pg);
	terminate(pid1);
	exec_ok(pg, "SELECT 1");
	pid2 = backend_pid(pg);
	assert_true(pid2 != pid1);

	/* And again, with a statement that must not run twice. */
	exec_ok(pg, sqlf("CREATE TABLE %s.once (n int)"));
	terminate(pid2);
	exec_ok(pg, sqlf("INSERT INTO %s.once VALUES (1)"));
	assert_int_equal(count(pg, sqlf("SELECT count(*) FROM %s.once")), 1);
}

struct inflight {
	int    rc;
	double secs;
	char   err[512];
};

static void *
inflight_run(void *arg)
{
	struct inflight *f  = arg;
	double           t0 = now_s();

	f->rc = cf_pg_exec(
	    pg, "SELECT pg_sleep(10)", 0, NULL, NULL, f->err, sizeof(f->err));
	f->secs = now_s() - t0;
	return (NULL);
}

/* Lost while the statement runs: CF_ECONN, not sent again. */
static void
lost_in_flight(void **state)
{
	struct inflight f = { 0 };
	pthread_t       t;
	long            pid = backend_pid(pg);
	char            p[24];
	const char     *params[1] = { p };
	int             active    = 0;
	(void) state;

	snprintf(p, sizeof(p), "%ld", pid);
	assert_int_equal(pthread_create(&t, NULL, inflight_run, &f), 0);
	for (int i = 0; i < 500 && !active; i++) {
		PGresult *res;
		assert_int_equal(cf_pg_exec(admin,
		                     "SELECT 1 FROM pg_stat_activity WHERE "
		                     "pid = $1 AND state = 'active'",
		                     1, params, &res, err, sizeof(err)),
		    CF_OK);
		active = PQntuples(res) == 1;
		PQclear(res);
		if (!active)
			sleep_ms(10);
	}
	assert_true(active);
	terminate(pid);
	pthread_join(t, NULL);
	assert_int_equal(f.rc, CF_ECONN);
	assert_true(f.secs < 5.0); /* a resend would have slept 10 s */
	assert_non_null(strstr(f.err, "PostgreSQL"));
	exec_ok(pg, "SELECT 1");
	assert_true(backend_pid(pg) != pid);
}

/* Lost inside a transaction: refused until ROLLBACK, nothing half done. */
static void
lost_in_transaction(void **state)
{
	const char *p10[1] = { "10" }, *p11[1] = { "11" }, *p13[1] = { "13" };
	(void) state;

	exec_ok(pg, sqlf("CREATE TABLE %s.tx (id int PRIMARY KEY)"));
	assert_int_equal(cf_pg_begin(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_exec(pg, sqlf("INSERT INTO %s.tx VALUES ($1)"),
	                     1, p10, NULL, err, sizeof(err)),
	    CF_OK);
	terminate(backend_pid(pg));
	assert_int_equal(cf_pg_exec(pg, sqlf("INSERT INTO %s.tx VALUES ($1)"),
	                     1, p11, NULL, err, sizeof(err)),
	    CF_ECONN);
	assert_non_null(strstr(err, "rolled back"));
	/* Still refused: these were meant for the lost transaction. */
	assert_int_equal(cf_pg_exec(pg, sqlf("INSERT INTO %s.tx VALUES ($1)"),
	                     1, p11, NULL, err, sizeof(err)),
	    CF_ECONN);
	assert_int_equal(cf_pg_commit(pg, err, sizeof(err)), CF_ECONN);
	assert_int_equal(cf_pg_rollback(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(count(pg, sqlf("SELECT count(*) FROM %s.tx")), 0);
	assert_int_equal(cf_pg_exec(pg, sqlf("INSERT INTO %s.tx VALUES ($1)"),
	                     1, p13, NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(count(pg, sqlf("SELECT count(*) FROM %s.tx")), 1);
}

/* A session advisory lock lost with its connection is reported once. */
static void
lost_session_lock(void **state)
{
	int64_t k   = cf_pg_lock_key(sqlf("%s.lost-lock"));
	int     got = 0;
	(void) state;

	assert_int_equal(cf_pg_lock(pg, k, err, sizeof(err)), CF_OK);
	terminate(backend_pid(pg));
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_ECONN);
	assert_non_null(strstr(err, "advisory"));
	assert_int_equal(cf_pg_ping(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_trylock(admin, k, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 1);
	assert_int_equal(cf_pg_unlock(admin, k, err, sizeof(err)), CF_OK);
}

static void
closed_port_fails_fast(void **state)
{
	char   url[256];
	cf_pg *h = (cf_pg *) 1;
	double t0;
	(void) state;

	snprintf(url, sizeof(url),
	    "postgresql://cronfleet:Sup3rSecretPw@127.0.0.1:%d/x",
	    itest_closed_port());
	t0 = now_s();
	assert_int_equal(cf_pg_open(&h, url, err, sizeof(err)), CF_ECONN);
	assert_true(now_s() - t0 < 3.0);
	assert_null(h);
	assert_true(strlen(err) > 0);
	assert_null(strstr(err, "Sup3rSecretPw"));
	assert_null(strchr(err, '\n'));
}

static void
bad_url(void **state)
{
	cf_pg *h = NULL;
	(void) state;

	/* libpq quotes the bad token; the password must not show. */
	assert_int_equal(
	    cf_pg_open(&h, "postgresql://u:Sup3r%zzSecret@127.0.0.1/x", err,
	        sizeof(err)),
	    CF_EINVAL);
	assert_null(h);
	assert_null(strstr(err, "Sup3r"));
	assert_int_equal(cf_pg_open(&h,
	                     "postgresql://u@127.0.0.1/x?password=Sup3rSecret&"
	                     "nonsense=1",
	                     err, sizeof(err)),
	    CF_EINVAL);
	assert_null(strstr(err, "Sup3rSecret"));
	assert_int_equal(cf_pg_open(&h, "", err, sizeof(err)), CF_EINVAL);
}

/* A server that accepts TCP but never answers: connect_timeout. */
static void
connect_timeout(void **state)
{
	char   url[256];
	cf_pg *h = NULL;
	int    port, fd = itest_listener(&port);
	double t0, dt;
	(void) state;

	snprintf(url, sizeof(url),
	    "postgresql://u@127.0.0.1:%d/x?connect_timeout=2", port);
	t0 = now_s();
	assert_int_equal(cf_pg_open(&h, url, err, sizeof(err)), CF_ECONN);
	dt = now_s() - t0;
	close(fd);
	assert_true(dt >= 1.5 && dt < 10.0);
	assert_non_null(strstr(err, "timeout"));
}

static void
statement_timeout(void **state)
{
	PGresult *res;
	double    t0;
	(void) state;

	/* The default arrives with the connection. */
	assert_int_equal(cf_pg_exec(pg, "SHOW statement_timeout", 0, NULL,
	                     &res, err, sizeof(err)),
	    CF_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "30s");
	PQclear(res);

	exec_ok(pg, "SET statement_timeout = 200");
	t0 = now_s();
	assert_int_equal(cf_pg_exec(pg, "SELECT pg_sleep(5)", 0, NULL, NULL,
	                     err, sizeof(err)),
	    CF_ETIMEDOUT);
	assert_true(now_s() - t0 < 3.0);
	assert_string_equal(cf_pg_sqlstate(pg), "57014");
	exec_ok(pg, "RESET statement_timeout");
}

static void
advisory_locks(void **state)
{
	int64_t k   = cf_pg_lock_key(sqlf("%s.lock"));
	int     got = -1;
	(void) state;

	assert_true(k == cf_pg_lock_key(sqlf("%s.lock")));
	assert_true(k != cf_pg_lock_key(sqlf("%s.lock2")));
	/* FNV-1a 64 of "" is 0xcbf29ce484222325. */
	assert_true(cf_pg_lock_key("") == INT64_C(-3750763034362895579));

	/* Session locks exclude each other. */
	assert_int_equal(cf_pg_lock(pg, k, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_trylock(admin, k, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 0);
	/* A waiting lock gives up at statement_timeout. */
	exec_ok(admin, "SET statement_timeout = 300");
	assert_int_equal(cf_pg_lock(admin, k, err, sizeof(err)), CF_ETIMEDOUT);
	exec_ok(admin, "RESET statement_timeout");
	assert_int_equal(cf_pg_unlock(pg, k, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_unlock(pg, k, err, sizeof(err)), CF_ENOENT);
	assert_int_equal(cf_pg_trylock(admin, k, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 1);
	assert_int_equal(cf_pg_trylock(pg, k, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 0);
	assert_int_equal(cf_pg_unlock(admin, k, err, sizeof(err)), CF_OK);

	/* Transaction locks: only inside one, released at its end. */
	assert_int_equal(cf_pg_xact_lock(pg, k, err, sizeof(err)), CF_EINVAL);
	assert_int_equal(cf_pg_begin(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_xact_lock(pg, k, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_begin(admin, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_pg_xact_trylock(admin, k, &got, err, sizeof(err)), CF_OK);
	assert_int_equal(got, 0);
	assert_int_equal(cf_pg_rollback(admin, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_commit(pg, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_pg_trylock(admin, k, &got, err, sizeof(err)), 0);
	assert_int_equal(got, 1);
	assert_int_equal(cf_pg_unlock(admin, k, err, sizeof(err)), CF_OK);
}

/* ---------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void) state;
	snprintf(schema, sizeof(schema), "cft_pg_%ld_%ld", (long) getpid(),
	    (long) time(NULL));
	if (cf_pg_open(&pg, db_url, err, sizeof(err)) != CF_OK
	    || cf_pg_open(&admin, db_url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "cannot connect to DATABASE_URL: %s\n", err);
		return (-1);
	}
	exec_ok(admin, sqlf("CREATE SCHEMA %s"));
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	if (admin != NULL)
		(void) cf_pg_exec(admin,
		    sqlf("DROP SCHEMA IF EXISTS %s CASCADE"), 0, NULL, NULL,
		    err, sizeof(err));
	cf_pg_close(pg);
	cf_pg_close(admin);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec_params),
		cmocka_unit_test(exec_prepared),
		cmocka_unit_test(sql_error),
		cmocka_unit_test(unique_violation),
		cmocka_unit_test(commit_after_error),
		cmocka_unit_test(reconnect_after_terminate),
		cmocka_unit_test(lost_in_flight),
		cmocka_unit_test(lost_in_transaction),
		cmocka_unit_test(lost_session_lock),
		cmocka_unit_test(closed_port_fails_fast),
		cmocka_unit_test(bad_url),
		cmocka_unit_test(connect_timeout),
		cmocka_unit_test(statement_timeout),
		cmocka_unit_test(advisory_locks),
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
	    "integration.db.pg", tests, group_setup, group_teardown));
}
