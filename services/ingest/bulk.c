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
 *    primary key (unique_violation); the COPY, sent without BEGIN, is
 *    a transaction of its own, so nothing of the attempt stays, and the
 *    same buffer is sent again through the staging path.
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
 * A kept batch is sent in key order (source_id, metric, ts), whatever
 * order the rows came in. Vendors answer interval by interval, each
 * interval carrying every metric, so rows arrive with several metrics
 * interleaved: copied as they come, each row lands in the middle of the
 * primary key's index, next to the previous row of its metric, which
 * costs a descent from the root and leaves pages split in half. In key
 * order a new source's rows only ever append at the index's right edge
 * (PostgreSQL's fast path for the rightmost leaf, and its rightmost
 * split that fills pages). bench/README.md has what it is worth. The
 * order is by bytes: the index's own under the C and C.UTF-8 collations;
 * under another, the sort still groups a source's rows by metric, which
 * is most of the gain. Rows of
 * the same key keep the order they came in (the staging merge's "last
 * value wins" depends on it). Sorting is only an optimisation: when the
 * batch has more distinct metric names than BULK_METRICS_MAX, or memory
 * for it is short, rows go in the order they came.
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

/* Distinct metric names a batch can have and still be sorted. */
#define BULK_METRICS_MAX 32

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

/* Where a kept row is in buf, and its key. */
typedef struct bulk_key {
	int64_t  source_id;
	int64_t  ts;
	uint32_t metric; /* index into metric_names; its rank when sorting */
	uint32_t seq;    /* arrival: equal keys keep their order */
	uint32_t off;    /* the tuple: buf[off, off + len) */
	uint32_t len;
} bulk_key;

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
	/* The kept rows' keys, for sending them in key order (keys == NULL:
	 * unsorted, in arrival order). */
	bulk_key *keys;
	size_t    nkeys, keycap;
	char      metric_names[BULK_METRICS_MAX][41]; /* as first given */
	uint32_t  nmetrics, last_metric;
	/* What a vendor's answer usually is: one source, each metric's
	 * times rising. Such a batch is put in key order by grouping the
	 * rows by metric, without comparing them. */
	int     grouped;
	int64_t last_ts[BULK_METRICS_MAX];
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
	free(b->keys);
	free(b->buf);
	free(b);
}

/* Rows go in arrival order from now on. */
static void
bulk_unsorted(ingest_bulk *b)
{
	free(b->keys);
	b->keys  = NULL;
	b->nkeys = b->keycap = 0;
}

/* The index of metric (mlen bytes) in metric_names; BULK_METRICS_MAX when
 * there is no room left. */
static uint32_t
bulk_metric_id(ingest_bulk *b, const char *metric, size_t mlen)
{
	uint32_t i;

	if (b->nmetrics > 0
	    && strncmp(b->metric_names[b->last_metric], metric, mlen) == 0
	    && b->metric_names[b->last_metric][mlen] == '\0') {
		return (b->last_metric);
	}
	for (i = 0; i < b->nmetrics; i++) {
		if (strncmp(b->metric_names[i], metric, mlen) == 0
		    && b->metric_names[i][mlen] == '\0') {
			break;
		}
	}
	if (i == b->nmetrics) {
		if (i == BULK_METRICS_MAX) {
			return (BULK_METRICS_MAX);
		}
		memcpy(b->metric_names[i], metric, mlen);
		b->metric_names[i][mlen] = '\0';
		b->last_ts[i]            = INT64_MIN;
		b->nmetrics++;
	}
	b->last_metric = i;
	return (i);
}

/* Notes the key of the row just encoded at buf[off, off + len). */
static void
bulk_key_add(ingest_bulk *b, int64_t source_id, const char *metric,
    size_t mlen, int64_t ts, size_t off, size_t len)
{
	uint32_t id;

	if (b->keys == NULL && b->rows > 0) {
		return; /* unsorted already */
	}
	if ((id = bulk_metric_id(b, metric, mlen)) == BULK_METRICS_MAX
	    || off > UINT32_MAX) {
		bulk_unsorted(b);
		return;
	}
	if (b->nkeys == 0) {
		b->grouped = 1;
	} else if (source_id != b->keys[0].source_id
	    || (b->last_ts[id] != INT64_MIN && ts < b->last_ts[id])) {
		b->grouped = 0;
	}
	b->last_ts[id] = ts;
	if (b->nkeys == b->keycap) {
		size_t    cap = b->keycap ? 2 * b->keycap : 1024;
		bulk_key *k   = realloc(b->keys, cap * sizeof(*k));
		if (k == NULL) {
			bulk_unsorted(b);
			return;
		}
		b->keys   = k;
		b->keycap = cap;
	}
	b->keys[b->nkeys] = (bulk_key) { .source_id = source_id,
		.ts                                 = ts,
		.metric                             = id,
		.seq                                = (uint32_t) b->nkeys,
		.off                                = (uint32_t) off,
		.len                                = (uint32_t) len };
	b->nkeys++;
}

static int
bulk_key_cmp(const void *pa, const void *pb)
{
	const bulk_key *a = pa, *b = pb;

	if (a->source_id != b->source_id) {
		return (a->source_id < b->source_id ? -1 : 1);
	}
	if (a->metric != b->metric) {
		return (a->metric < b->metric ? -1 : 1);
	}
	if (a->ts != b->ts) {
		return (a->ts < b->ts ? -1 : 1);
	}
	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* Rewrites the kept rows of buf in key order (before the trailer). */
static void
bulk_sort(ingest_bulk *b)
{
	uint32_t rank[BULK_METRICS_MAX];
	size_t   at[BULK_METRICS_MAX + 1];
	char    *out;
	int      sorted = 1;

	if (b->keys == NULL || b->nkeys != (size_t) b->rows || b->nkeys < 2) {
		return;
	}
	/* Metric ids (first appearance) -> ranks (name order). */
	for (uint32_t i = 0; i < b->nmetrics; i++) {
		rank[i] = 0;
		for (uint32_t j = 0; j < b->nmetrics; j++) {
			rank[i]
			    += strcmp(b->metric_names[j], b->metric_names[i])
			    < 0;
		}
	}
	for (size_t i = 0; i < b->nkeys; i++) {
		b->keys[i].metric = rank[b->keys[i].metric];
		if (i > 0 && bulk_key_cmp(&b->keys[i - 1], &b->keys[i]) > 0) {
			sorted = 0;
		}
	}
	if (sorted || (out = malloc(b->cap)) == NULL) {
		return; /* in order already; or arrival order will do */
	}
	memcpy(out, b->buf, BULK_HEADER_LEN);
	if (b->grouped) {
		/* One source, times rising per metric: each metric's rows in
		 * the order they came are in key order; place the groups by
		 * rank. at[r]: where rank r's next row goes. */
		memset(at, 0, sizeof(at));
		for (size_t i = 0; i < b->nkeys; i++) {
			at[b->keys[i].metric + 1] += b->keys[i].len;
		}
		at[0] = BULK_HEADER_LEN;
		for (uint32_t r = 1; r <= b->nmetrics; r++) {
			at[r] += at[r - 1];
		}
		for (size_t i = 0; i < b->nkeys; i++) {
			const bulk_key *k = &b->keys[i];
			memcpy(out + at[k->metric], b->buf + k->off, k->len);
			at[k->metric] += k->len;
		}
	} else {
		size_t n = BULK_HEADER_LEN;

		qsort(b->keys, b->nkeys, sizeof(*b->keys), bulk_key_cmp);
		for (size_t i = 0; i < b->nkeys; i++) {
			memcpy(
			    out + n, b->buf + b->keys[i].off, b->keys[i].len);
			n += b->keys[i].len;
		}
	}
	free(b->buf);
	b->buf = out;
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
 * The direct path: COPY into measurements, as a statement of its own,
 * which is its own transaction (no BEGIN and COMMIT round trips): all the
 * rows or none. CF_EEXIST when a key is already there or repeated (the
 * server loaded nothing: try staging); any other error is the batch's.
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
	if ((rv = cf_pg_copy_begin(b->pg, sql, err, errlen)) != CF_OK) {
		return (rv);
	}
	rv = cf_pg_copy_put(b->pg, b->buf, b->len, err, errlen);
	if (rv != CF_OK) {
		(void) cf_pg_copy_end(
		    b->pg, "bulk write abandoned", NULL, NULL, 0);
		return (rv);
	}
	return (cf_pg_copy_end(b->pg, NULL, NULL, err, errlen));
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
			bulk_unsorted(b); /* the merge sorts a stream */
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
	if (!b->streaming) {
		bulk_key_add(
		    b, source_id, metric, mlen, ts_ms, b->len, 18 + mlen + 24);
	}
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
	if (!b->streaming) {
		bulk_sort(b);
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
