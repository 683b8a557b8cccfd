/*
 * bench_ingest.c - measurement rows per second through the ingest service's
 * bulk writer, next to the same rows as 100-row multi-value INSERTs.
 *
 * The rows are a pure function of their index (row_at()), so every
 * competitor writes the very same rows in the same order without keeping
 * them anywhere:
 *
 *   source_id  1000 + i / batch      one batch = one source's sync
 *   ts         2025-01-01Z + day, + interval (96 a day: 15 minutes)
 *   metric     one of BENCH_METRICS names, interval-major (each interval
 *              carries every metric, as the vendors' interval arrays do)
 *   value      a deterministic pseudo-random reading with one decimal
 *
 * batch = intervals x metrics x days (default 96 x 5 x 7 = 3360 rows):
 * energy-sync's unit of work is one source, in one transaction.
 *
 * Usage (DATABASE_URL names the server; SCHEMA.measurements must exist):
 *   bench_ingest gen ROWS FILE [text|binary|binary-sorted]
 *       writes the rows as COPY data for psql's \copy (the ceiling);
 *       binary-sorted: each batch's rows in key order (metric, then
 *       time), the order the ingest writer sends them in
 *   bench_ingest ingest ROWS SCHEMA [--staging] [--revise K]
 *       one ingest_bulk_begin/add.../end per batch, as energy-sync does
 *       (--staging: always the staging-table merge, never the direct
 *       COPY; --revise K: every K-th value differs from the generated
 *       one, to re-run over rows already there)
 *   bench_ingest insert ROWS SCHEMA [--txn batch|auto] [--revise K]
 *       INSERT ... VALUES (...) x 100 ... ON CONFLICT (key) DO UPDATE ...
 *       WHERE value IS DISTINCT FROM ..., text parameters, unnamed
 *       statements (as node-postgres and most drivers send them); --txn
 *       batch (default) wraps each source's batch in one transaction as
 *       the ingest path does, auto commits every statement
 *
 * Each timed command prints one line: "rows seconds rows_per_s inserted
 * updated" (the counts as the writer reported them). The environment
 * overrides the batch: BENCH_INTERVALS, BENCH_METRICS (1-8), BENCH_DAYS.
 * bench/ingest/run drives it; bench/README.md has the figures.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "cf_pg.h"
#include "cf_time.h"
#include "ingest.h"

/* 2025-01-01T00:00:00Z. */
#define BENCH_T0_MS 1735689600000LL

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define BENCH_PG_EPOCH_S 946684800LL

#define BENCH_INSERT_ROWS 100

static const char *const bench_metric_names[]
    = { "production_wh", "consumption_wh", "grid_import_wh", "grid_export_wh",
	      "self_consumption_wh", "battery_charge_wh",
	      "battery_discharge_wh", "power_w" };

static int64_t bench_intervals = 96;
static int64_t bench_metrics   = 5;
static int64_t bench_days      = 7;
static int64_t bench_batch; /* rows per source */

typedef struct bench_row {
	int64_t     source_id;
	const char *metric;
	int64_t     ts_ms;
	double      value;
} bench_row;

static void
row_at(int64_t i, int64_t revise, bench_row *r)
{
	int64_t  j     = i % bench_batch;
	int64_t  per   = bench_intervals * bench_metrics; /* rows a day */
	int64_t  day   = j / per;
	int64_t  k     = j % per;
	uint64_t h     = (uint64_t) i * UINT64_C(2654435761);
	int64_t  value = (int64_t) ((h >> 7) % 1000000);

	r->source_id = 1000 + i / bench_batch;
	r->metric    = bench_metric_names[k % bench_metrics];
	r->ts_ms     = BENCH_T0_MS + day * CF_MS_PER_DAY
	    + (k / bench_metrics) * (CF_MS_PER_DAY / bench_intervals);
	if (revise > 0 && i % revise == 0) {
		value += 5; /* half a unit more: a revised reading */
	}
	r->value = (double) value / 10.0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

static int64_t
env_int(const char *name, int64_t def, int64_t lo, int64_t hi)
{
	const char *s = getenv(name);
	char       *end;
	long long   v;

	if (s == NULL || *s == '\0') {
		return (def);
	}
	errno = 0;
	v     = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr,
		    "bench_ingest: %s must be %" PRId64 "-%" PRId64 "\n", name,
		    lo, hi);
		exit(2);
	}
	return (v);
}

static int64_t
arg_int(const char *s, const char *what)
{
	char     *end;
	long long v;

	errno = 0;
	v     = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0) {
		fprintf(stderr, "bench_ingest: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (v);
}

/* "YYYY-MM-DD hh:mm:ss+00": the form psql and our writer both send. */
static int
fmt_ts(char *buf, size_t len, int64_t ms)
{
	cf_civil c;

	cf_civil_from_ms(ms, &c);
	return (snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d+00", c.year,
	    c.month, c.day, c.hour, c.minute, c.second));
}

/* ---- gen: the file psql loads ------------------------------------------ */

static void
put_be(FILE *f, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int k = 0; k < bytes; k++) {
		b[k] = (unsigned char) (v >> (8 * (bytes - 1 - k)));
	}
	fwrite(b, 1, (size_t) bytes, f);
}

static void
gen_row(FILE *f, int binary, int64_t i)
{
	bench_row r;
	char      ts[40];

	row_at(i, 0, &r);
	if (binary) {
		uint64_t bits;
		size_t   mlen = strlen(r.metric);
		int64_t  us   = (r.ts_ms - BENCH_PG_EPOCH_S * 1000) * 1000;

		memcpy(&bits, &r.value, sizeof(bits));
		put_be(f, 4, 2);
		put_be(f, 8, 4);
		put_be(f, (uint64_t) r.source_id, 8);
		put_be(f, mlen, 4);
		fwrite(r.metric, 1, mlen, f);
		put_be(f, 8, 4);
		put_be(f, (uint64_t) us, 8);
		put_be(f, 8, 4);
		put_be(f, bits, 8);
	} else {
		fmt_ts(ts, sizeof(ts), r.ts_ms);
		fprintf(f, "%" PRId64 "\t%s\t%s\t%.15g\n", r.source_id,
		    r.metric, ts, r.value);
	}
}

/* mode: "text", "binary", or "binary-sorted" (each batch's rows in key
 * order, metric then time, as the ingest writer sends them). */
static int
cmd_gen(int64_t rows, const char *path, const char *mode)
{
	int   binary = strcmp(mode, "text") != 0;
	int   sorted = strcmp(mode, "binary-sorted") == 0;
	FILE *f      = fopen(path, "w");

	if (f == NULL) {
		fprintf(
		    stderr, "bench_ingest: %s: %s\n", path, strerror(errno));
		return (1);
	}
	if (binary) {
		fwrite("PGCOPY\n\377\r\n\0", 1, 11, f);
		put_be(f, 0, 4); /* flags */
		put_be(f, 0, 4); /* header extension */
	}
	if (!sorted) {
		for (int64_t i = 0; i < rows; i++) {
			gen_row(f, binary, i);
		}
	} else {
		int64_t per = bench_intervals * bench_metrics;
		int     order[8];

		/* The metrics' indexes by name. */
		for (int m = 0; m < bench_metrics; m++) {
			int at = m;
			while (at > 0
			    && strcmp(bench_metric_names[order[at - 1]],
			           bench_metric_names[m])
			        > 0) {
				order[at] = order[at - 1];
				at--;
			}
			order[at] = m;
		}
		for (int64_t b0 = 0; b0 < rows; b0 += bench_batch) {
			for (int m = 0; m < bench_metrics; m++) {
				for (int64_t d = 0; d < bench_days; d++) {
					for (int64_t v = 0;
					     v < bench_intervals; v++) {
						int64_t i = b0 + d * per
						    + v * bench_metrics
						    + order[m];
						if (i < rows) {
							gen_row(f, binary, i);
						}
					}
				}
			}
		}
	}
	if (binary) {
		put_be(f, 0xffff, 2);
	}
	if (fclose(f) != 0) {
		fprintf(
		    stderr, "bench_ingest: %s: %s\n", path, strerror(errno));
		return (1);
	}
	return (0);
}

/* ---- ingest: through ingest_bulk_* ------------------------------------- */

static int
cmd_ingest(
    cf_pg *pg, int64_t rows, const char *schema, int staging, int64_t revise)
{
	char      err[1024];
	int64_t   ins_total = 0, upd_total = 0;
	bench_row r;
	double    t0 = now_s();

	for (int64_t i = 0; i < rows;) {
		ingest_bulk *b;
		int64_t      ins, upd, end = i + bench_batch;
		int          rv;

		if (end > rows) {
			end = rows;
		}
		if ((rv = ingest_bulk_begin(&b, pg, schema, err, sizeof(err)))
		    != CF_OK) {
			fprintf(stderr, "bench_ingest: begin: %s\n", err);
			return (1);
		}
		if (staging) {
			ingest__bulk_force_staging(b);
		}
		for (; i < end; i++) {
			row_at(i, revise, &r);
			if ((rv = ingest_bulk_add(b, r.source_id, r.metric,
			         r.ts_ms, r.value, err, sizeof(err)))
			    != CF_OK) {
				fprintf(
				    stderr, "bench_ingest: add: %s\n", err);
				ingest_bulk_abort(b);
				return (1);
			}
		}
		if ((rv = ingest_bulk_end(b, &ins, &upd, err, sizeof(err)))
		    != CF_OK) {
			fprintf(stderr, "bench_ingest: end: %s\n", err);
			return (1);
		}
		ins_total += ins;
		upd_total += upd;
	}
	double dt = now_s() - t0;
	printf("%" PRId64 " %.3f %.0f %" PRId64 " %" PRId64 "\n", rows, dt,
	    (double) rows / dt, ins_total, upd_total);
	return (0);
}

/* ---- insert: 100-row multi-value INSERT statements --------------------- */

/* The statement for n rows (n <= BENCH_INSERT_ROWS) into schema. */
static char *
insert_sql(const char *schema, int n)
{
	size_t cap = 512 + (size_t) n * 40, off = 0;
	char  *sql = malloc(cap);

	if (sql == NULL
	    || cf_pg_sqlcat(sql, cap, &off,
	           "INSERT INTO %s.measurements AS t (source_id, metric, ts, "
	           "value) VALUES ",
	           schema)
	        != 0) {
		free(sql);
		return (NULL);
	}
	for (int k = 0; k < n; k++) {
		if (cf_pg_sqlcat(sql, cap, &off, "%s($%d,$%d,$%d,$%d)",
		        k > 0 ? "," : "", 4 * k + 1, 4 * k + 2, 4 * k + 3,
		        4 * k + 4)
		    != 0) {
			free(sql);
			return (NULL);
		}
	}
	if (cf_pg_sqlcat(sql, cap, &off,
	        " ON CONFLICT (source_id, metric, ts) DO UPDATE SET value = "
	        "EXCLUDED.value WHERE t.value IS DISTINCT FROM EXCLUDED.value")
	    != 0) {
		free(sql);
		return (NULL);
	}
	return (sql);
}

static int
cmd_insert(
    cf_pg *pg, int64_t rows, const char *schema, int per_txn, int64_t revise)
{
	char        err[1024];
	char        text[BENCH_INSERT_ROWS][3][40];
	const char *params[BENCH_INSERT_ROWS * 4];
	char       *full    = insert_sql(schema, BENCH_INSERT_ROWS);
	int64_t     changed = 0;
	bench_row   r;
	double      t0 = now_s();

	if (full == NULL) {
		return (1);
	}
	for (int64_t i = 0; i < rows;) {
		int64_t end = i + bench_batch;

		if (end > rows) {
			end = rows;
		}
		if (per_txn && cf_pg_begin(pg, err, sizeof(err)) != CF_OK) {
			fprintf(stderr, "bench_ingest: begin: %s\n", err);
			return (1);
		}
		while (i < end) {
			int       n = 0;
			char     *sql;
			PGresult *res;

			for (; i < end && n < BENCH_INSERT_ROWS; i++, n++) {
				row_at(i, revise, &r);
				snprintf(text[n][0], sizeof(text[n][0]),
				    "%" PRId64, r.source_id);
				fmt_ts(
				    text[n][1], sizeof(text[n][1]), r.ts_ms);
				snprintf(text[n][2], sizeof(text[n][2]),
				    "%.15g", r.value);
				params[4 * n]     = text[n][0];
				params[4 * n + 1] = r.metric;
				params[4 * n + 2] = text[n][1];
				params[4 * n + 3] = text[n][2];
			}
			sql = n == BENCH_INSERT_ROWS ? full
			                             : insert_sql(schema, n);
			if (sql == NULL
			    || cf_pg_exec(pg, sql, 4 * n, params, &res, err,
			           sizeof(err))
			        != CF_OK) {
				fprintf(stderr, "bench_ingest: insert: %s\n",
				    sql == NULL ? "out of memory" : err);
				return (1);
			}
			changed += strtoll(PQcmdTuples(res), NULL, 10);
			PQclear(res);
			if (sql != full) {
				free(sql);
			}
		}
		if (per_txn && cf_pg_commit(pg, err, sizeof(err)) != CF_OK) {
			fprintf(stderr, "bench_ingest: commit: %s\n", err);
			return (1);
		}
	}
	double dt = now_s() - t0;
	/* The statement's count is rows inserted or updated, not which. */
	printf("%" PRId64 " %.3f %.0f %" PRId64 " -\n", rows, dt,
	    (double) rows / dt, changed);
	free(full);
	return (0);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_ingest gen ROWS FILE [text|binary|binary-sorted]\n"
	    "       bench_ingest ingest ROWS SCHEMA [--staging] [--revise K]\n"
	    "       bench_ingest insert ROWS SCHEMA [--txn batch|auto] "
	    "[--revise K]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *url = getenv("DATABASE_URL");
	char        err[1024];
	cf_pg      *pg;
	int64_t     rows, revise = 0;
	int         staging = 0, per_txn = 1, rc;

	if (argc < 4) {
		usage();
	}
	bench_intervals = env_int("BENCH_INTERVALS", 96, 1, 1440);
	bench_metrics   = env_int("BENCH_METRICS", 5, 1, 8);
	bench_days      = env_int("BENCH_DAYS", 7, 1, 3660);
	bench_batch     = bench_intervals * bench_metrics * bench_days;
	rows            = arg_int(argv[2], "ROWS");
	if (strcmp(argv[1], "gen") == 0) {
		if (argc > 5) {
			usage();
		}
		const char *mode = argc == 5 ? argv[4] : "text";
		if (strcmp(mode, "text") != 0 && strcmp(mode, "binary") != 0
		    && strcmp(mode, "binary-sorted") != 0) {
			usage();
		}
		return (cmd_gen(rows, argv[3], mode));
	}
	for (int k = 4; k < argc; k++) {
		if (strcmp(argv[k], "--staging") == 0) {
			staging = 1;
		} else if (strcmp(argv[k], "--revise") == 0 && k + 1 < argc) {
			revise = arg_int(argv[++k], "--revise");
		} else if (strcmp(argv[k], "--txn") == 0 && k + 1 < argc) {
			k++;
			if (strcmp(argv[k], "auto") == 0) {
				per_txn = 0;
			} else if (strcmp(argv[k], "batch") != 0) {
				usage();
			}
		} else {
			usage();
		}
	}
	if (url == NULL) {
		fprintf(stderr, "bench_ingest: DATABASE_URL is not set\n");
		return (2);
	}
	if (cf_pg_open(&pg, url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "bench_ingest: %s\n", err);
		return (1);
	}
	if (strcmp(argv[1], "ingest") == 0) {
		rc = cmd_ingest(pg, rows, argv[3], staging, revise);
	} else if (strcmp(argv[1], "insert") == 0 && !staging) {
		rc = cmd_insert(pg, rows, argv[3], per_txn, revise);
	} else {
		usage();
	}
	cf_pg_close(pg);
	return (rc);
}
