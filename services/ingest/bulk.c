/*
 * bulk.c - measurements into PostgreSQL near COPY's speed.
 *
 * Rows are formatted into COPY text in a local buffer and streamed into a
 * temporary staging table of the session (created once, emptied at each
 * commit), then merged into <schema>.measurements with one statement:
 *
 *	INSERT ... SELECT DISTINCT ON (key) ... FROM staging
 *	ON CONFLICT (source_id, metric, ts) DO UPDATE SET value =
 *EXCLUDED.value WHERE measurements.value IS DISTINCT FROM EXCLUDED.value
 *
 * so a re-run of the same fire writes no new row versions, a revised
 * reading replaces the old one, and a batch that repeats a key (a vendor's
 * overlapping pages) keeps one of its values instead of failing.
 * One transaction: either the whole batch lands or none of it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "ingest.h"

#define BULK_BUF (256 * 1024)

struct ingest_bulk {
	cf_pg  *pg;
	char    schema[64];
	char   *buf;
	size_t  len;
	int64_t rows;
	int     copying; /* COPY in progress */
};

static int
bulk_flush(ingest_bulk *b, char *err, size_t errlen)
{
	int rv = CF_OK;

	if (b->len > 0) {
		rv     = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
		b->len = 0;
	}
	return (rv);
}

int
ingest_bulk_begin(
    ingest_bulk **out, cf_pg *pg, const char *schema, char *err, size_t errlen)
{
	ingest_bulk *b;
	int          rv;

	*out = NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL
	    || (b->buf = malloc(BULK_BUF)) == NULL) {
		free(b);
		return (CF_ENOMEM);
	}
	b->pg = pg;
	snprintf(b->schema, sizeof(b->schema), "%s", schema);
	/* ON COMMIT DELETE ROWS: each transaction starts with it empty. */
	if ((rv = cf_pg_begin(pg, err, errlen)) != CF_OK
	    || (rv = cf_pg_exec(pg,
	            "CREATE TEMP TABLE IF NOT EXISTS ingest_stage ("
	            "source_id bigint, metric text, ts timestamptz, "
	            "value double precision) ON COMMIT DELETE ROWS",
	            0, NULL, NULL, err, errlen))
	        != CF_OK
	    || (rv = cf_pg_copy_begin(pg,
	            "COPY ingest_stage (source_id, metric, ts, value) FROM "
	            "STDIN",
	            err, errlen))
	        != CF_OK) {
		(void) cf_pg_rollback(pg, NULL, 0);
		free(b->buf);
		free(b);
		return (rv);
	}
	b->copying = 1;
	*out       = b;
	return (CF_OK);
}

/* A metric name is written as is: it must not need COPY escapes. */
static int
bulk_metric_ok(const char *m)
{
	size_t n = 0;

	for (; m[n] != '\0'; n++) {
		char c = m[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '_')) {
			return (0);
		}
	}
	return (n > 0 && n <= 40);
}

int
ingest_bulk_add(ingest_bulk *b, int64_t source_id, const char *metric,
    int64_t ts_ms, double value, char *err, size_t errlen)
{
	cf_civil c;
	int      n, rv;

	if (!bulk_metric_ok(metric) || value != value) {
		cf_errf(err, errlen, "bulk: bad row (metric '%.40s')", metric);
		return (CF_EINVAL);
	}
	if (b->len + 160 > BULK_BUF
	    && (rv = bulk_flush(b, err, errlen)) != CF_OK) {
		return (rv);
	}
	cf_civil_from_ms(ts_ms, &c);
	n = snprintf(b->buf + b->len, BULK_BUF - b->len,
	    "%" PRId64 "\t%s\t%04d-%02d-%02d %02d:%02d:%02d.%03d+00\t%.17g\n",
	    source_id, metric, c.year, c.month, c.day, c.hour, c.minute,
	    c.second, c.ms, value);
	if (n < 0 || (size_t) n >= BULK_BUF - b->len) {
		cf_errf(err, errlen, "bulk: row does not fit");
		return (CF_EINVAL);
	}
	b->len += (size_t) n;
	b->rows++;
	return (CF_OK);
}

int
ingest_bulk_end(ingest_bulk *b, int64_t *inserted, int64_t *updated, char *err,
    size_t errlen)
{
	char      sql[1024];
	PGresult *res = NULL;
	int64_t   ins = 0, upd = 0;
	int       rv;

	if (inserted != NULL) {
		*inserted = 0;
	}
	if (updated != NULL) {
		*updated = 0;
	}
	rv         = bulk_flush(b, err, errlen);
	b->copying = 0;
	if (rv != CF_OK) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
		goto fail;
	}
	if ((rv = cf_pg_copy_end(b->pg, NULL, NULL, err, errlen)) != CF_OK) {
		goto fail;
	}
	/* xmax = 0 on a RETURNING row: it was inserted, not updated. */
	snprintf(sql, sizeof(sql),
	    "WITH m AS (INSERT INTO %s.measurements AS t (source_id, metric, "
	    "ts, value) SELECT DISTINCT ON (source_id, metric, ts) source_id, "
	    "metric, ts, value FROM ingest_stage "
	    "ON CONFLICT (source_id, metric, ts) DO UPDATE SET value = "
	    "EXCLUDED.value WHERE t.value IS DISTINCT FROM EXCLUDED.value "
	    "RETURNING (xmax = 0) AS ins) "
	    "SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT "
	    "ins) FROM m",
	    b->schema);
	if ((rv = cf_pg_exec(b->pg, sql, 0, NULL, &res, err, errlen))
	    != CF_OK) {
		goto fail;
	}
	ins = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	upd = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if ((rv = cf_pg_commit(b->pg, err, errlen)) != CF_OK) {
		goto fail;
	}
	if (inserted != NULL) {
		*inserted = ins;
	}
	if (updated != NULL) {
		*updated = upd;
	}
	free(b->buf);
	free(b);
	return (CF_OK);
fail:
	(void) cf_pg_rollback(b->pg, NULL, 0);
	free(b->buf);
	free(b);
	return (rv);
}

void
ingest_bulk_abort(ingest_bulk *b)
{
	if (b == NULL) {
		return;
	}
	if (b->copying) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
	}
	(void) cf_pg_rollback(b->pg, NULL, 0);
	free(b->buf);
	free(b);
}
