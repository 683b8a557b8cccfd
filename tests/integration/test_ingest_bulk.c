/*
 * test_ingest_bulk.c - the bulk measurement writer (services/ingest/bulk.c)
 * against a real PostgreSQL (DATABASE_URL), both of its paths:
 *
 *  - direct (COPY straight into measurements; batches of 256 rows or
 *    more whose keys are all new),
 *  - staging (COPY into a temporary table and one upsert; small batches,
 *    batches meeting a stored or repeated key, after a failed direct
 *    attempt, batches too large to keep, and when forced),
 *
 * checked with SQL: the rows and values that landed, the counts the
 * writer reports, row versions (xmin, ctid) untouched by a re-run, one
 * transaction per batch, the path taken (the staging table exists in a
 * session only once that session used it). The schema comes from
 * db/ingest (cf_migrate), unique to the run, dropped at the end.
 * No timing is asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_migrate.h"
#include "cf_pg.h"
#include "ingest.h"

/* 2025-06-01T00:00:00Z */
#define T0_MS 1748736000000LL
#define STEP_MS (15 * 60 * 1000LL)

/* More COPY data than bulk.c keeps in memory (32 MiB, ~60 bytes a row):
 * such a batch is streamed into staging. */
#define SPILL_ROWS 700000

static const char *db_url;
static char        schema[64];
static cf_pg      *admin; /* checks and setup */
static cf_pg      *pg;    /* the writer's connection, new for each case */
static char        err[1024];

static const char *const metrics[]
    = { "production_wh", "consumption_wh", "grid_import_wh" };

/* Row i of a source: metric i % 3, interval i / 3, value i * 1.5 (+
 * bump when i is a multiple of revise). */
typedef struct gen {
	int64_t source;
	int64_t first, n; /* rows first .. first + n - 1 */
	int64_t revise;   /* 0: none */
	double  bump;
} gen;

static const char *
gen_metric(int64_t i)
{
	return (metrics[i % 3]);
}

static int64_t
gen_ts(int64_t i)
{
	return (T0_MS + (i / 3) * STEP_MS);
}

static double
gen_value(const gen *g, int64_t i)
{
	double v = (double) i * 1.5;

	if (g->revise > 0 && i % g->revise == 0) {
		v += g->bump;
	}
	return (v);
}

static void
exec_ok(cf_pg *h, const char *sql)
{
	int rc = cf_pg_exec(h, sql, 0, NULL, NULL, err, sizeof(err));
	if (rc != CF_OK) {
		fail_msg("%s: %s (%s)", sql, cf_strerror(rc), err);
	}
}

/* sql with every %s replaced by the schema. */
static const char *
sqlf(const char *fmt)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), fmt, schema, schema, schema, schema);
	return (buf);
}

/* The first column of the first row, as an integer. */
static int64_t
q64(cf_pg *h, const char *sql)
{
	PGresult *res;
	int64_t   v;
	int       rc = cf_pg_exec(h, sql, 0, NULL, &res, err, sizeof(err));

	if (rc != CF_OK) {
		fail_msg("%s: %s (%s)", sql, cf_strerror(rc), err);
	}
	v = PQgetisnull(res, 0, 0) ? -1
	                           : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return (v);
}

/* The first column of the first row as text, into out. */
static void
qtext(cf_pg *h, const char *sql, char *out, size_t len)
{
	PGresult *res;
	int       rc = cf_pg_exec(h, sql, 0, NULL, &res, err, sizeof(err));

	if (rc != CF_OK) {
		fail_msg("%s: %s (%s)", sql, cf_strerror(rc), err);
	}
	snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

static int64_t
rows_in_table(void)
{
	return (q64(admin, sqlf("SELECT count(*) FROM %s.measurements")));
}

/* The stored value of row i of source, or NAN when absent. */
static double
stored(int64_t source, int64_t i)
{
	char        s[32], m[64], t[32];
	const char *p[3] = { s, m, t };
	PGresult   *res;
	double      v = NAN;

	snprintf(s, sizeof(s), "%" PRId64, source);
	snprintf(m, sizeof(m), "%s", gen_metric(i));
	snprintf(t, sizeof(t), "%" PRId64, gen_ts(i));
	assert_int_equal(cf_pg_exec(admin,
	                     sqlf("SELECT value FROM %s.measurements WHERE "
	                          "source_id = $1 AND metric = $2 AND ts = "
	                          "to_timestamp($3::bigint / 1000.0)"),
	                     3, p, &res, err, sizeof(err)),
	    CF_OK);
	if (PQntuples(res) == 1) {
		v = strtod(PQgetvalue(res, 0, 0), NULL);
	}
	PQclear(res);
	return (v);
}

/* Every row version of the table: same text = not one row rewritten. */
static void
versions(char *out, size_t len)
{
	qtext(admin,
	    sqlf(
	        "SELECT md5(coalesce(string_agg(ctid::text || xmin::text, ',' "
	        "ORDER BY source_id, metric, ts), '')) FROM %s.measurements"),
	    out, len);
}

/* Whether the writer's session has made the staging table. */
static int
staged(void)
{
	return (q64(pg,
	            "SELECT count(*) FROM pg_class WHERE relname = "
	            "'ingest_bulk_stage' AND relpersistence = 't' AND "
	            "relnamespace = pg_my_temp_schema()")
	    == 1);
}

static void
add_rows(ingest_bulk *b, const gen *g)
{
	for (int64_t i = g->first; i < g->first + g->n; i++) {
		int rc = ingest_bulk_add(b, g->source, gen_metric(i),
		    gen_ts(i), gen_value(g, i), err, sizeof(err));
		if (rc != CF_OK) {
			fail_msg("add row %" PRId64 ": %s (%s)", i,
			    cf_strerror(rc), err);
		}
	}
}

/* One batch of g's rows; the counts the writer reported. */
static void
write_gen(const gen *g, int force_staging, int64_t *ins, int64_t *upd)
{
	ingest_bulk *b;
	int          rc;

	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	if (force_staging) {
		ingest__bulk_force_staging(b);
	}
	add_rows(b, g);
	rc = ingest_bulk_end(b, ins, upd, err, sizeof(err));
	if (rc != CF_OK) {
		fail_msg("end: %s (%s)", cf_strerror(rc), err);
	}
}

static void
expect_write(const gen *g, int force, int64_t want_ins, int64_t want_upd)
{
	int64_t ins = -1, upd = -1;

	write_gen(g, force, &ins, &upd);
	assert_int_equal(ins, want_ins);
	assert_int_equal(upd, want_upd);
}

/* ---- cases --------------------------------------------------------- */

/* New keys, enough of them: COPY straight into the table. */
static void
direct_fresh(void **state)
{
	gen g = { .source = 7, .first = 0, .n = 1000 };

	(void) state;
	expect_write(&g, 0, 1000, 0);
	assert_int_equal(rows_in_table(), 1000);
	assert_false(staged());
	/* Exact values and instants, as given. */
	assert_true(stored(7, 0) == 0.0);
	assert_true(stored(7, 999) == 999 * 1.5);
	assert_int_equal(
	    q64(admin,
	        sqlf("SELECT count(*) FROM %s.measurements WHERE "
	             "value = (extract(epoch FROM ts) * 1000 - "
	             "1748736000000) / 900000 * 3 * 1.5 + "
	             "CASE metric WHEN 'production_wh' THEN 0 "
	             "WHEN 'consumption_wh' THEN 1.5 ELSE 3 END")),
	    1000);
	/* One transaction: every row has the same xmin. */
	assert_int_equal(q64(admin,
	                     sqlf("SELECT count(DISTINCT xmin::text) FROM "
	                          "%s.measurements")),
	    1);
}

/* New keys, a small batch: staging at once. */
static void
small_fresh(void **state)
{
	gen g = { .source = 8, .first = 0, .n = 100 };

	(void) state;
	expect_write(&g, 0, 100, 0);
	assert_int_equal(rows_in_table(), 100);
	assert_true(staged());
	assert_true(stored(8, 99) == 99 * 1.5);
}

/* New keys through staging when told to (what the benchmark compares). */
static void
forced_staging_fresh(void **state)
{
	gen g = { .source = 9, .first = 0, .n = 1000 };

	(void) state;
	expect_write(&g, 1, 1000, 0);
	assert_int_equal(rows_in_table(), 1000);
	assert_true(staged());
	assert_true(stored(9, 500) == 500 * 1.5);
}

/* The same rows again, large and small batches, both paths: nothing
 * written, no row version changed. */
static void
rerun_writes_nothing(void **state)
{
	gen  big   = { .source = 10, .first = 0, .n = 1200 };
	gen  small = { .source = 10, .first = 30, .n = 50 };
	char before[64], after[64];

	(void) state;
	expect_write(&big, 0, 1200, 0);
	assert_false(staged());
	versions(before, sizeof(before));
	expect_write(&big, 0, 0, 0); /* direct attempt fails, staging */
	assert_true(staged());
	expect_write(&small, 0, 0, 0);
	expect_write(&big, 1, 0, 0);
	versions(after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(rows_in_table(), 1200);
}

/* Revised readings are updated, and only they. */
static void
changed_values_updated(void **state)
{
	gen     g   = { .source = 11, .first = 0, .n = 1000 };
	gen     rev = { .source = 11,
		    .first      = 0,
		    .n          = 1000,
		    .revise     = 100,
		    .bump       = 0.25 };
	char    x0[32];
	int64_t ins = -1, upd = -1;

	(void) state;
	expect_write(&g, 0, 1000, 0);
	qtext(admin, sqlf("SELECT min(xmin::text) FROM %s.measurements"), x0,
	    sizeof(x0));
	write_gen(&rev, 0, &ins, &upd);
	assert_int_equal(ins, 0);
	assert_int_equal(upd, 10);
	for (int64_t i = 0; i < 1000; i += 100) {
		assert_true(stored(11, i) == i * 1.5 + 0.25);
	}
	assert_true(stored(11, 1) == 1.5);
	/* Exactly the ten revised rows have a new version. */
	{
		char sql[512];
		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM %s.measurements WHERE xmin::text <> "
		    "'%s'",
		    schema, x0);
		assert_int_equal(q64(admin, sql), 10);
	}
	/* Through a small batch too. */
	rev.first = 0;
	rev.n     = 120;
	rev.bump  = 0.5;
	expect_write(&rev, 0, 0, 2); /* rows 0 and 100 */
	assert_true(stored(11, 100) == 100 * 1.5 + 0.5);
	assert_int_equal(rows_in_table(), 1000);
}

/* Part new, part stored (some of those revised): counts of each. */
static void
mixed_batch(void **state)
{
	gen first = { .source = 12, .first = 0, .n = 600 };
	gen next  = {
		 .source = 12, .first = 300, .n = 600, .revise = 50, .bump = 1.0
	};

	(void) state;
	expect_write(&first, 0, 600, 0);
	/* Rows 300-599 exist (6 of them revised: 300, 350, ... 550), rows
	 * 600-899 are new (their multiples of 50 are new, not updates). */
	expect_write(&next, 0, 300, 6);
	assert_int_equal(rows_in_table(), 900);
	assert_true(stored(12, 350) == 350 * 1.5 + 1.0);
	assert_true(stored(12, 650) == 650 * 1.5 + 1.0);
	assert_true(stored(12, 351) == 351 * 1.5);
}

/* A key twice in one batch: no failure, the last value stays, counted
 * once; in a direct-size batch, in a small one, over a stored row. */
static void
repeated_key(void **state)
{
	gen          g = { .source = 13, .first = 0, .n = 400 };
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;

	(void) state;
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	add_rows(b, &g);
	assert_int_equal(ingest_bulk_add(b, 13, gen_metric(10), gen_ts(10),
	                     -1.0, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 400);
	assert_int_equal(upd, 0);
	assert_true(stored(13, 10) == -1.0);
	assert_int_equal(rows_in_table(), 400);

	/* Small batch: a new key three times. */
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(ingest_bulk_add(b, 13, gen_metric(1000),
		                     gen_ts(1000), 10.0 + k, err, sizeof(err)),
		    CF_OK);
	}
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 1);
	assert_int_equal(upd, 0);
	assert_true(stored(13, 1000) == 12.0);

	/* A stored key twice, both values new: one update, the last. */
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	assert_int_equal(ingest_bulk_add(b, 13, gen_metric(20), gen_ts(20),
	                     5.0, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(ingest_bulk_add(b, 13, gen_metric(20), gen_ts(20),
	                     6.0, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 0);
	assert_int_equal(upd, 1);
	assert_true(stored(13, 20) == 6.0);
	assert_int_equal(rows_in_table(), 401);

	/* A new key twice in a row at the end of a batch otherwise in key
	 * order (kept so by the writer): the direct COPY meets it, the
	 * merge keeps the second value. */
	g = (gen) { .source = 24, .first = 0, .n = 300 };
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	add_rows(b, &g);
	assert_int_equal(ingest_bulk_add(b, 24, gen_metric(299), gen_ts(299),
	                     -7.0, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 300);
	assert_int_equal(upd, 0);
	assert_true(stored(24, 299) == -7.0);
	assert_int_equal(rows_in_table(), 701);
}

/* Rows the writer refuses: a clear error, and the batch goes on. */
static void
bad_rows_refused(void **state)
{
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;

	(void) state;
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	assert_int_equal(ingest_bulk_add(b, 14, "production_wh", T0_MS, 1.0,
	                     err, sizeof(err)),
	    CF_OK);
	assert_int_equal(ingest_bulk_add(b, 14, "Production Wh", T0_MS, 1.0,
	                     err, sizeof(err)),
	    CF_EINVAL);
	assert_non_null(strstr(err, "metric"));
	assert_int_equal(
	    ingest_bulk_add(b, 14, "", T0_MS, 1.0, err, sizeof(err)),
	    CF_EINVAL);
	assert_int_equal(ingest_bulk_add(b, 14, "production_wh", T0_MS + 1,
	                     NAN, err, sizeof(err)),
	    CF_EINVAL);
	assert_non_null(strstr(err, "not a number"));
	assert_int_equal(ingest_bulk_add(b, 14, "production_wh", INT64_MAX / 2,
	                     1.0, err, sizeof(err)),
	    CF_EINVAL);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(ingest_bulk_add(b, 14, "consumption_wh", T0_MS, 2.0,
	                     err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 2);
	assert_int_equal(rows_in_table(), 2);
}

/* Nothing added: nothing done. */
static void
empty_batch(void **state)
{
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;

	(void) state;
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 0);
	assert_int_equal(upd, 0);
	assert_int_equal(rows_in_table(), 0);
	ingest_bulk_abort(NULL);
}

/* A row the server refuses (a CHECK added for the test) fails the whole
 * batch, on either path, and the connection serves the next batch. */
static void
server_error_rolls_back(void **state)
{
	gen          ok  = { .source = 15, .first = 0, .n = 500 };
	gen          big = { .source = 15, .first = 500, .n = 1000 };
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;
	char         before[64], after[64];

	(void) state;
	exec_ok(admin,
	    sqlf("ALTER TABLE %s.measurements ADD CONSTRAINT "
	         "bulk_test_cap CHECK (value < 1e9)"));
	expect_write(&ok, 0, 500, 0);
	versions(before, sizeof(before));

	/* Direct path: new keys, one value refused. */
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	add_rows(b, &big);
	assert_int_equal(ingest_bulk_add(b, 15, gen_metric(5000), gen_ts(5000),
	                     2e9, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_EDB);
	assert_non_null(strstr(err, "bulk_test_cap"));

	/* A stored key first (the direct COPY stops on it at its first
	 * flush of 1000 rows), then a refused value the merge meets. */
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	assert_int_equal(ingest_bulk_add(b, 15, gen_metric(3), gen_ts(3), 7.0,
	                     err, sizeof(err)),
	    CF_OK);
	add_rows(b, &big);
	assert_int_equal(ingest_bulk_add(b, 15, gen_metric(5000), gen_ts(5000),
	                     2e9, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_EDB);
	assert_non_null(strstr(err, "bulk_test_cap"));
	assert_true(stored(15, 3) == 4.5);

	/* A small batch (staging only). */
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	assert_int_equal(ingest_bulk_add(b, 15, gen_metric(6000), gen_ts(6000),
	                     1.0, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(ingest_bulk_add(b, 15, gen_metric(6001), gen_ts(6001),
	                     3e9, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_EDB);

	versions(after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(rows_in_table(), 500);
	/* The connection is fine, no transaction left open. */
	expect_write(&big, 0, 1000, 0);
	assert_int_equal(rows_in_table(), 1500);
	exec_ok(admin,
	    sqlf("ALTER TABLE %s.measurements DROP CONSTRAINT "
	         "bulk_test_cap"));
}

/* abort leaves nothing, kept or streaming, and the connection works. */
static void
abort_leaves_nothing(void **state)
{
	gen          g     = { .source = 16, .first = 0, .n = 1000 };
	gen          spill = { .source = 17, .first = 0, .n = SPILL_ROWS };
	ingest_bulk *b;

	(void) state;
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	add_rows(b, &g);
	ingest_bulk_abort(b);
	assert_int_equal(rows_in_table(), 0);

	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	add_rows(b, &spill);
	/* Streaming already: the COPY into staging is running. */
	assert_int_equal(q64(admin,
	                     "SELECT count(*) FROM pg_stat_activity WHERE "
	                     "state = 'active' AND query LIKE "
	                     "'COPY ingest_bulk_stage%'"),
	    1);
	ingest_bulk_abort(b);
	assert_int_equal(rows_in_table(), 0);
	expect_write(&g, 0, 1000, 0);
	assert_int_equal(rows_in_table(), 1000);
}

/* A batch too large to keep is streamed into staging: same results. */
static void
spilled_batch(void **state)
{
	gen  g   = { .source = 18, .first = 0, .n = SPILL_ROWS };
	gen  rev = { .source = 18,
		 .first      = 0,
		 .n          = SPILL_ROWS,
		 .revise     = 100000,
		 .bump       = 0.5 };
	char before[64], after[64];

	char timeout[32], timeout_after[32];

	(void) state;
	qtext(pg, "SHOW statement_timeout", timeout, sizeof(timeout));
	expect_write(&g, 0, SPILL_ROWS, 0);
	assert_true(staged());
	/* Its longer statement_timeout was the transaction's only. */
	qtext(pg, "SHOW statement_timeout", timeout_after,
	    sizeof(timeout_after));
	assert_string_equal(timeout, timeout_after);
	assert_int_equal(rows_in_table(), SPILL_ROWS);
	assert_true(stored(18, SPILL_ROWS - 1) == (SPILL_ROWS - 1) * 1.5);
	versions(before, sizeof(before));
	expect_write(&g, 0, 0, 0);
	versions(after, sizeof(after));
	assert_string_equal(before, after);
	expect_write(&rev, 0, 0, SPILL_ROWS / 100000);
	assert_true(stored(18, 200000) == 200000 * 1.5 + 0.5);
}

/* Another session inserts one of the batch's keys while the batch is
 * written: the direct COPY meets it (at once, or after waiting for that
 * session's commit) and the batch is merged instead; it never fails. */
typedef struct bg_write {
	gen     g;
	int     rc;
	int64_t ins, upd;
	char    err[1024];
} bg_write;

static void *
bg_writer(void *arg)
{
	bg_write    *w = arg;
	ingest_bulk *b;

	w->rc = ingest_bulk_begin(&b, pg, schema, w->err, sizeof(w->err));
	if (w->rc != CF_OK) {
		return (NULL);
	}
	for (int64_t i = w->g.first; i < w->g.first + w->g.n; i++) {
		if ((w->rc = ingest_bulk_add(b, w->g.source, gen_metric(i),
		         gen_ts(i), gen_value(&w->g, i), w->err,
		         sizeof(w->err)))
		    != CF_OK) {
			ingest_bulk_abort(b);
			return (NULL);
		}
	}
	w->rc = ingest_bulk_end(b, &w->ins, &w->upd, w->err, sizeof(w->err));
	return (NULL);
}

static void
concurrent_key(void **state)
{
	bg_write        w  = { .g = { .source = 19, .first = 0, .n = 1000 } };
	struct timespec ts = { 0, 200 * 1000000L };
	pthread_t       t;
	char            sql[512];

	(void) state;
	assert_int_equal(cf_pg_begin(admin, err, sizeof(err)), CF_OK);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s.measurements VALUES (19, '%s', "
	    "to_timestamp(%" PRId64 " / 1000.0), 42)",
	    schema, gen_metric(500), gen_ts(500));
	exec_ok(admin, sql);
	assert_int_equal(pthread_create(&t, NULL, bg_writer, &w), 0);
	nanosleep(&ts, NULL); /* usually the COPY now waits on that key */
	assert_int_equal(cf_pg_commit(admin, err, sizeof(err)), CF_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (w.rc != CF_OK) {
		fail_msg("writer: %s (%s)", cf_strerror(w.rc), w.err);
	}
	assert_int_equal(w.ins, 999);
	assert_int_equal(w.upd, 1);
	assert_true(stored(19, 500) == 500 * 1.5);
	assert_int_equal(rows_in_table(), 1000);
}

/* The heap holds a batch's rows in the order the server got them: true
 * when that is key order (source_id, metric, ts), on the first n rows
 * of the table. */
static int64_t
rows_out_of_key_order(void)
{
	return (q64(admin,
	    sqlf("SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY "
	         "ctid) AS h, row_number() OVER (ORDER BY source_id, metric, "
	         "ts) AS k FROM %s.measurements) x WHERE h <> k")));
}

/* Rows given interleaved (each interval with every metric, as vendors
 * answer) reach the server in key order; so do rows of two sources
 * given out of order, times falling. Values are the ones given. */
static void
key_order(void **state)
{
	gen          g = { .source = 20, .first = 0, .n = 900 };
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;

	(void) state;
	expect_write(&g, 0, 900, 0);
	assert_false(staged());
	assert_int_equal(rows_out_of_key_order(), 0);
	assert_true(stored(20, 899) == 899 * 1.5);

	exec_ok(admin, sqlf("TRUNCATE %s.measurements"));
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	for (int64_t i = 599; i >= 0; i--) {
		assert_int_equal(
		    ingest_bulk_add(b, 22 - (i % 2), gen_metric(i), gen_ts(i),
		        (double) i, err, sizeof(err)),
		    CF_OK);
	}
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 600);
	assert_false(staged());
	assert_int_equal(rows_out_of_key_order(), 0);
	assert_true(stored(21, 1) == 1.0);
	assert_true(stored(22, 598) == 598.0);
}

/* More metric names than the writer sorts by: the rows go in the order
 * given, all of them. */
static void
many_metrics_unsorted(void **state)
{
	ingest_bulk *b;
	int64_t      ins = -1, upd = -1;
	char         m[16];

	(void) state;
	assert_int_equal(
	    ingest_bulk_begin(&b, pg, schema, err, sizeof(err)), CF_OK);
	for (int64_t t = 0; t < 10; t++) {
		for (int k = 39; k >= 0; k--) {
			snprintf(m, sizeof(m), "m%02d", k);
			assert_int_equal(
			    ingest_bulk_add(b, 23, m, T0_MS + t * STEP_MS,
			        (double) k, err, sizeof(err)),
			    CF_OK);
		}
	}
	assert_int_equal(
	    ingest_bulk_end(b, &ins, &upd, err, sizeof(err)), CF_OK);
	assert_int_equal(ins, 400);
	/* In the order given: time first, names falling (none of the 400
	 * is where key order would put it). */
	assert_int_equal(rows_out_of_key_order(), 400);
	{
		char first[16];
		qtext(admin,
		    sqlf("SELECT metric || '@' || ((extract(epoch FROM ts) * "
		         "1000 - 1748736000000) / 900000)::int FROM "
		         "%s.measurements ORDER BY ctid LIMIT 1"),
		    first, sizeof(first));
		assert_string_equal(first, "m39@0");
	}
	assert_int_equal(
	    q64(admin,
	        sqlf("SELECT count(*) FROM %s.measurements WHERE value = "
	             "substr(metric, 2)::int")),
	    400);
}

/* The direct COPY is a statement of its own: with the writer's
 * connection gone before it, the connection is made again and the batch
 * lands whole. */
static void
direct_after_lost_connection(void **state)
{
	gen     g = { .source = 25, .first = 0, .n = 1000 };
	int64_t pid;
	char    sql[128];

	(void) state;
	pid = q64(pg, "SELECT pg_backend_pid()");
	/* Waits (up to 5 s) until that backend has exited. */
	snprintf(sql, sizeof(sql),
	    "SELECT pg_terminate_backend(%" PRId64 ", 5000)::int", pid);
	assert_int_equal(q64(admin, sql), 1);
	expect_write(&g, 0, 1000, 0);
	assert_int_equal(rows_in_table(), 1000);
	assert_true(q64(pg, "SELECT pg_backend_pid()") != pid);
}

/* ---- fixtures ------------------------------------------------------- */

static int
case_setup(void **state)
{
	(void) state;
	exec_ok(admin, sqlf("TRUNCATE %s.measurements"));
	if (cf_pg_open(&pg, db_url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "cannot connect: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
case_teardown(void **state)
{
	(void) state;
	cf_pg_close(pg);
	pg = NULL;
	return (0);
}

static int
group_setup(void **state)
{
	(void) state;
	snprintf(schema, sizeof(schema), "cft_bulk_%ld_%ld", (long) getpid(),
	    (long) time(NULL));
	if (cf_pg_open(&admin, db_url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "cannot connect to DATABASE_URL: %s\n", err);
		return (-1);
	}
	if (cf_migrate_apply(
	        admin, schema, INGEST_MIGRATIONS, err, sizeof(err))
	    != CF_OK) {
		fprintf(stderr, "migrations: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	if (admin != NULL) {
		(void) cf_pg_exec(admin,
		    sqlf("DROP SCHEMA IF EXISTS %s CASCADE"), 0, NULL, NULL,
		    err, sizeof(err));
	}
	cf_pg_close(admin);
	return (0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, case_setup, case_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(direct_fresh),
		CASE(small_fresh),
		CASE(forced_staging_fresh),
		CASE(rerun_writes_nothing),
		CASE(changed_values_updated),
		CASE(mixed_batch),
		CASE(repeated_key),
		CASE(bad_rows_refused),
		CASE(empty_batch),
		CASE(server_error_rolls_back),
		CASE(abort_leaves_nothing),
		CASE(spilled_batch),
		CASE(concurrent_key),
		CASE(key_order),
		CASE(many_metrics_unsorted),
		CASE(direct_after_lost_connection),
	};

	if ((db_url = getenv("DATABASE_URL")) == NULL || *db_url == '\0') {
		fprintf(stderr,
		    "FAIL: DATABASE_URL is not set. This integration test "
		    "needs a real PostgreSQL: run scripts/test, or start one "
		    "(scripts/lib/common.sh cf_start_pg) and export "
		    "DATABASE_URL.\n");
		return (1);
	}
	return (cmocka_run_group_tests_name(
	    "integration.ingest.bulk", tests, group_setup, group_teardown));
}
