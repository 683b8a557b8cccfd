/*
 * bulk.c - measurements into PostgreSQL at COPY's speed.
 *
 * Rows are encoded as COPY binary tuples (no number or date formatting on
 * our side, no parsing on the server's) into a buffer kept in memory, and
 * nothing reaches the server before ingest_bulk_end(), which writes the
 * batch in one transaction by one of two paths:
 *
 *  - direct: COPY straight into <schema>.measurements. When every key is
 *    new, which is what a first sync or a backfill sends, this is as fast
 *    as PostgreSQL loads rows, and every row counts as inserted. A key
 *    already stored, or repeated in the batch, fails the COPY on the
 *    primary key (unique_violation); the transaction is rolled back, so
 *    nothing of the attempt stays visible, and the same buffer is sent
 *    again through the staging path.
 *  - staging: COPY into a temporary table of the session (created once,
 *    emptied at each commit), then one statement merges it:
 *
 *	INSERT ... SELECT DISTINCT ON (key) ... FROM stage ORDER BY key, seq
 *DESC ON CONFLICT (source_id, metric, ts) DO UPDATE SET value = EXCLUDED.value
 *	WHERE measurements.value IS DISTINCT FROM EXCLUDED.value
 *
 *    so a re-run of the same rows writes no new row versions, a revised
 *    reading replaces the old one, and a key repeated in the batch (a
 *    vendor's overlapping pages) keeps its last value instead of failing.
 *    RETURNING (xmax = 0) tells inserted rows from updated ones.
 *
 * Small batches (under BULK_DIRECT_MIN rows: energy-sync's incremental
 * runs, which re-read the newest stored interval and so always meet a
 * stored key) go to staging at once: a direct attempt would fail on the
 * first row and cost round trips for nothing. A failed attempt costs
 * little more than that for a larger batch too: COPY checks keys at
 * each flush of its insert buffer (1000 rows), so a clash in the first
 * rows ends it there, leaving at most that many dead tuples for vacuum.
 *
 * A batch larger than BULK_KEEP bytes is not kept: the writer then opens
 * the transaction and streams it into the staging table as it comes
 * (memory stays bounded, and there is nothing to send again). Such a
 * batch (millions of rows) may merge for longer than the connection's
 * statement_timeout, meant for ordinary statements: its transaction
 * allows BULK_LONG_TIMEOUT.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "ingest.h"

/* Batches of fewer rows skip the direct attempt (see above). */
#define BULK_DIRECT_MIN 256

/* At most this much COPY data is kept in memory for a second send. */
#define BULK_KEEP (32 * 1024 * 1024)

/* statement_timeout for a streamed batch's statements. */
#define BULK_LONG_TIMEOUT "10min"

/* Once streaming, data is sent in chunks of about this size. */
#define BULK_CHUNK (256 * 1024)

/* A tuple: field count, 4 length words, bigint, text (<= 40), two
 * 8-byte values. */
#define BULK_TUPLE_MAX (2 + 4 * 4 + 8 + 40 + 8 + 8)

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define BULK_PG_EPOCH_MS 946684800000LL

/* Timestamps the binary form carries without overflow: years 1-9999. */
#define BULK_TS_MIN_MS (-62135596800000LL)
#define BULK_TS_MAX_MS 253402300799999LL

/* Signature, flags (0: no OIDs), header extension length (0). */
static const char bulk_header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
#define BULK_HEADER_LEN (sizeof(bulk_header) - 1)

struct ingest_bulk {
	cf_pg *pg;
	char   schema[64];
	char  *buf; /* COPY binary data not yet sent (all of it, unless
	               streaming) */
	size_t  len;
	size_t  cap;
	int64_t rows;
	int     streaming; /* transaction open, COPY into staging running */
	int     failed;    /* streaming broke: end can only fail */
	int     force_staging;
};

static void
put16(char *p, uint16_t v)
{
	p[0] = (char) (v >> 8);
	p[1] = (char) v;
}

static void
put32(char *p, uint32_t v)
{
	for (int k = 0; k < 4; k++) {
		p[k] = (char) (v >> (24 - 8 * k));
	}
}

static void
put64(char *p, uint64_t v)
{
	for (int k = 0; k < 8; k++) {
		p[k] = (char) (v >> (56 - 8 * k));
	}
}

/* Makes room for need more bytes; within BULK_KEEP, or BULK_CHUNK when
 * streaming (the caller flushes first). */
static int
bulk_reserve(ingest_bulk *b, size_t need)
{
	size_t cap = b->cap;
	char  *p;

	if (b->len + need <= b->cap) {
		return (CF_OK);
	}
	while (cap < b->len + need) {
		cap *= 2;
	}
	if ((p = realloc(b->buf, cap)) == NULL) {
		return (CF_ENOMEM);
	}
	b->buf = p;
	b->cap = cap;
	return (CF_OK);
}

static void
bulk_free(ingest_bulk *b)
{
	free(b->buf);
	free(b);
}

/* Opens the transaction and starts COPY into the staging table;
 * streaming: for a batch too large to keep. */
static int
bulk_stage_begin(ingest_bulk *b, int streaming, char *err, size_t errlen)
{
	int rv;

	/* ON COMMIT DELETE ROWS: each transaction starts with it empty.
	 * seq keeps the order rows came in, so the last of a repeated key
	 * wins. */
	if ((rv = cf_pg_begin(b->pg, err, errlen)) != CF_OK
	    || (streaming
	        && (rv = cf_pg_exec(b->pg,
	                "SET LOCAL statement_timeout = '" BULK_LONG_TIMEOUT
	                "'",
	                0, NULL, NULL, err, errlen))
	            != CF_OK)
	    || (rv = cf_pg_exec(b->pg,
	            "CREATE TEMP TABLE IF NOT EXISTS ingest_bulk_stage ("
	            "source_id bigint, metric text, ts timestamptz, "
	            "value double precision, "
	            "seq bigint GENERATED ALWAYS AS IDENTITY) "
	            "ON COMMIT DELETE ROWS",
	            0, NULL, NULL, err, errlen))
	        != CF_OK
	    || (rv = cf_pg_copy_begin(b->pg,
	            "COPY ingest_bulk_stage (source_id, metric, ts, value) "
	            "FROM STDIN (FORMAT binary)",
	            err, errlen))
	        != CF_OK) {
		(void) cf_pg_rollback(b->pg, NULL, 0);
		return (rv);
	}
	return (CF_OK);
}

/* Ends the staging COPY, merges, commits; the transaction is rolled
 * back on any error. */
static int
bulk_stage_end(
    ingest_bulk *b, int64_t *ins, int64_t *upd, char *err, size_t errlen)
{
	char      sql[1024];
	PGresult *res = NULL;
	int       rv;

	if ((rv = cf_pg_copy_end(b->pg, NULL, NULL, err, errlen)) != CF_OK) {
		goto fail;
	}
	/* xmax = 0 on a RETURNING row: it was inserted, not updated. */
	snprintf(sql, sizeof(sql),
	    "WITH m AS (INSERT INTO %s.measurements AS t (source_id, metric, "
	    "ts, value) SELECT DISTINCT ON (source_id, metric, ts) source_id, "
	    "metric, ts, value FROM ingest_bulk_stage "
	    "ORDER BY source_id, metric, ts, seq DESC "
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
	*ins = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*upd = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if ((rv = cf_pg_commit(b->pg, err, errlen)) != CF_OK) {
		goto fail;
	}
	return (CF_OK);
fail:
	(void) cf_pg_rollback(b->pg, NULL, 0);
	return (rv);
}

/*
 * The direct path: COPY into measurements. CF_EEXIST when a key is
 * already there or repeated (the transaction is rolled back: try
 * staging); any other error is the batch's.
 */
static int
bulk_direct(ingest_bulk *b, char *err, size_t errlen)
{
	char sql[256];
	int  rv;

	snprintf(sql, sizeof(sql),
	    "COPY %s.measurements (source_id, metric, ts, value) FROM STDIN "
	    "(FORMAT binary)",
	    b->schema);
	if ((rv = cf_pg_begin(b->pg, err, errlen)) != CF_OK
	    || (rv = cf_pg_copy_begin(b->pg, sql, err, errlen)) != CF_OK) {
		goto fail;
	}
	rv = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
	if (rv != CF_OK) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
		goto fail;
	}
	if ((rv = cf_pg_copy_end(b->pg, NULL, NULL, err, errlen)) != CF_OK
	    || (rv = cf_pg_commit(b->pg, err, errlen)) != CF_OK) {
		goto fail;
	}
	return (CF_OK);
fail:
	(void) cf_pg_rollback(b->pg, NULL, 0);
	return (rv);
}

int
ingest_bulk_begin(
    ingest_bulk **out, cf_pg *pg, const char *schema, char *err, size_t errlen)
{
	ingest_bulk *b;

	*out = NULL;
	if (strlen(schema) >= sizeof(b->schema)) {
		cf_errf(err, errlen, "bulk: schema name too long");
		return (CF_EINVAL);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL
	    || (b->buf = malloc(BULK_CHUNK)) == NULL) {
		free(b);
		cf_errf(err, errlen, "bulk: out of memory");
		return (CF_ENOMEM);
	}
	b->pg  = pg;
	b->cap = BULK_CHUNK;
	snprintf(b->schema, sizeof(b->schema), "%s", schema);
	memcpy(b->buf, bulk_header, BULK_HEADER_LEN);
	b->len = BULK_HEADER_LEN;
	*out   = b;
	return (CF_OK);
}

/* A metric name: what 101_ingest.sql lists, [a-z0-9_]{1,40}. */
static size_t
bulk_metric_len(const char *m)
{
	size_t n = 0;

	for (; m[n] != '\0'; n++) {
		char c = m[n];
		if (n == 40
		    || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '_')) {
			return (0);
		}
	}
	return (n);
}

int
ingest_bulk_add(ingest_bulk *b, int64_t source_id, const char *metric,
    int64_t ts_ms, double value, char *err, size_t errlen)
{
	size_t   mlen = bulk_metric_len(metric);
	uint64_t bits;
	char    *p;
	int      rv;

	if (b->failed) {
		cf_errf(err, errlen, "bulk: the batch failed already");
		return (CF_EINVAL);
	}
	if (mlen == 0) {
		cf_errf(err, errlen, "bulk: bad metric name '%.40s'", metric);
		return (CF_EINVAL);
	}
	if (value != value) {
		cf_errf(err, errlen, "bulk: %s value is not a number", metric);
		return (CF_EINVAL);
	}
	if (ts_ms < BULK_TS_MIN_MS || ts_ms > BULK_TS_MAX_MS) {
		cf_errf(err, errlen, "bulk: %s time %" PRId64 " out of range",
		    metric, ts_ms);
		return (CF_EINVAL);
	}
	if (b->len + BULK_TUPLE_MAX
	    > (b->streaming ? BULK_CHUNK : BULK_KEEP)) {
		/* Too much to keep (or a full chunk): stream into staging. */
		if (!b->streaming) {
			if ((rv = bulk_stage_begin(b, 1, err, errlen))
			    != CF_OK) {
				b->failed = 1;
				return (rv);
			}
			b->streaming = 1;
		}
		rv     = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
		b->len = 0;
		if (rv != CF_OK) {
			b->failed = 1;
			return (rv);
		}
	}
	if ((rv = bulk_reserve(b, BULK_TUPLE_MAX)) != CF_OK) {
		cf_errf(err, errlen, "bulk: out of memory");
		return (rv);
	}
	memcpy(&bits, &value, sizeof(bits));
	p = b->buf + b->len;
	put16(p, 4);
	put32(p + 2, 8);
	put64(p + 6, (uint64_t) source_id);
	put32(p + 14, (uint32_t) mlen);
	memcpy(p + 18, metric, mlen);
	p += 18 + mlen;
	put32(p, 8);
	put64(p + 4, (uint64_t) ((ts_ms - BULK_PG_EPOCH_MS) * 1000));
	put32(p + 12, 8);
	put64(p + 16, bits);
	b->len += 18 + mlen + 24;
	b->rows++;
	return (CF_OK);
}

int
ingest_bulk_end(ingest_bulk *b, int64_t *inserted, int64_t *updated, char *err,
    size_t errlen)
{
	int64_t ins = 0, upd = 0;
	int     rv = CF_OK;

	if (inserted != NULL) {
		*inserted = 0;
	}
	if (updated != NULL) {
		*updated = 0;
	}
	if (b->failed) {
		cf_errf(err, errlen, "bulk: the batch failed already");
		ingest_bulk_abort(b);
		return (CF_EINVAL);
	}
	if (b->rows == 0 && !b->streaming) {
		bulk_free(b);
		return (CF_OK);
	}
	if ((rv = bulk_reserve(b, 2)) != CF_OK) {
		cf_errf(err, errlen, "bulk: out of memory");
		ingest_bulk_abort(b);
		return (rv);
	}
	put16(b->buf + b->len, 0xffff); /* the trailer */
	b->len += 2;
	if (b->streaming) {
		rv = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
		if (rv != CF_OK) {
			ingest_bulk_abort(b);
			return (rv);
		}
		rv = bulk_stage_end(b, &ins, &upd, err, errlen);
		goto done;
	}
	if (b->rows >= BULK_DIRECT_MIN && !b->force_staging) {
		rv = bulk_direct(b, err, errlen);
		if (rv == CF_OK) {
			ins = b->rows;
			goto done;
		}
		if (rv != CF_EEXIST) {
			goto done;
		}
	}
	if ((rv = bulk_stage_begin(b, 0, err, errlen)) != CF_OK) {
		goto done;
	}
	rv = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
	if (rv != CF_OK) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
		(void) cf_pg_rollback(b->pg, NULL, 0);
		goto done;
	}
	rv = bulk_stage_end(b, &ins, &upd, err, errlen);
done:
	if (rv == CF_OK) {
		if (inserted != NULL) {
			*inserted = ins;
		}
		if (updated != NULL) {
			*updated = upd;
		}
	}
	bulk_free(b);
	return (rv);
}

void
ingest_bulk_abort(ingest_bulk *b)
{
	if (b == NULL) {
		return;
	}
	if (b->streaming) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
		(void) cf_pg_rollback(b->pg, NULL, 0);
	}
	bulk_free(b);
}

void
ingest__bulk_force_staging(ingest_bulk *b)
{
	b->force_staging = 1;
}
