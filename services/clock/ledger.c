/*
 * ledger.c - the clock's statements against its own schema.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cf_err.h"
#include "cf_time.h"
#include "ledger.h"

/* One clock per process: the schema is set once at start. */
static char store_schema[64] = "clock";

int
store_init(cf_pg *pg, const char *schema, char *err, size_t errlen)
{
	(void) pg;
	if (schema == NULL || schema[0] == '\0' ||
	    strlen(schema) >= sizeof(store_schema)) {
		snprintf(err, errlen, "schema name is empty or too long");
		return (CF_EINVAL);
	}
	for (const char *p = schema; *p != '\0'; p++) {
		/* Spliced into SQL as an identifier: letters, digits, '_'. */
		if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) ||
		        *p == '_')) {
			snprintf(err, errlen,
			    "schema '%s': use lower-case letters, digits and _",
			    schema);
			return (CF_EINVAL);
		}
	}
	snprintf(store_schema, sizeof(store_schema), "%s", schema);
	return (CF_OK);
}

/* Prefixes every "%s." in sql with the schema. */
#define SQL(buf, fmt) snprintf(buf, sizeof(buf), fmt, store_schema)

/*
 * The fence's verdict, from a result whose first column is the current
 * epoch: CF_OK when it is ours (ep), else CF_ECLOSED with err naming both.
 */
static int
ledger_fence(const PGresult *res, const char *ep, char *err, size_t errlen)
{
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "%s.leadership has no row", store_schema);
		return (CF_ECLOSED);
	}
	if (strcmp(PQgetvalue(res, 0, 0), ep) != 0) {
		snprintf(err, errlen,
		    "epoch %s is stale: another clock leads with epoch %s", ep,
		    PQgetvalue(res, 0, 0));
		return (CF_ECLOSED);
	}
	return (CF_OK);
}

int
ledger_record(cf_pg *pg, const char *job, const char *service, int64_t at,
    const char *fire_id, cf_trigger trigger, uint64_t epoch, char *err,
    size_t errlen)
{
	char        sql[1024], when[40], ep[24];
	const char *p[6];
	PGresult *  res = NULL;
	int         rv;

	cf_rfc3339_format(when, sizeof(when), at, 0, 1);
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) epoch);
	p[0] = job;
	p[1] = service;
	p[2] = when;
	p[3] = fire_id;
	p[4] = cf_trigger_name(trigger);
	p[5] = ep;
	/*
	 * The fence: the leadership row is locked in the same statement, so
	 * a new leader's epoch increment (an UPDATE of that row) waits for
	 * fires being written and every fire written after it sees the new
	 * epoch. A writer whose epoch is no longer the current one inserts
	 * nothing and learns the current epoch. The lock is exclusive among
	 * writers (FOR NO KEY UPDATE, not FOR SHARE) so that fires commit in
	 * the order of their seq: a reader paging by seq never sees a later
	 * one before an earlier one.
	 */
	snprintf(sql, sizeof(sql),
	    "WITH l AS (SELECT epoch FROM %s.leadership WHERE id = 1 "
	    "FOR NO KEY UPDATE), "
	    "ins AS (INSERT INTO %s.fires (job, service, scheduled_for, "
	    "fire_id, trigger, epoch) "
	    "SELECT $1, $2, $3::timestamptz, $4, $5, $6::bigint FROM l "
	    "WHERE l.epoch = $6::bigint "
	    "ON CONFLICT DO NOTHING RETURNING fire_id) "
	    "SELECT l.epoch, (SELECT count(*) FROM ins) FROM l",
	    store_schema, store_schema);
	if ((rv = cf_pg_exec_prepared(pg, sql, 6, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if ((rv = ledger_fence(res, ep, err, errlen)) == CF_OK) {
		rv = strcmp(PQgetvalue(res, 0, 1), "1") == 0 ? CF_OK : CF_EEXIST;
	}
	PQclear(res);
	return (rv);
}

int
ledger_record_many(cf_pg *pg, ledger_new_fire *fires, size_t n,
    cf_trigger trigger, uint64_t epoch, char *err, size_t errlen)
{
	char        sql[1024 + LEDGER_MANY_MAX * 80], ep[24];
	char        when[LEDGER_MANY_MAX][40];
	const char *p[2 + 4 * LEDGER_MANY_MAX];
	PGresult   *res = NULL;
	size_t      len;
	int         rv;

	if (n == 0 || n > LEDGER_MANY_MAX) {
		snprintf(err, errlen, "ledger_record_many: %zu fires", n);
		return (CF_EINVAL);
	}
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) epoch);
	p[0] = cf_trigger_name(trigger);
	p[1] = ep;
	/* The same fence as ledger_record's; the rows keep their order. */
	len = (size_t) snprintf(sql, sizeof(sql),
	    "WITH l AS (SELECT epoch FROM %s.leadership WHERE id = 1 "
	    "FOR NO KEY UPDATE), "
	    "v (job, service, at, fire_id, ord) AS (VALUES ",
	    store_schema);
	for (size_t i = 0; i < n; i++) {
		int k = 3 + 4 * (int) i;

		cf_rfc3339_format(when[i], sizeof(when[i]), fires[i].at, 0, 1);
		p[k - 1] = fires[i].job;
		p[k]     = fires[i].service;
		p[k + 1] = when[i];
		p[k + 2] = fires[i].fire_id;
		len += (size_t) snprintf(sql + len, sizeof(sql) - len,
		    "%s($%d::text, $%d::text, $%d::timestamptz, $%d::text, %zu)",
		    i > 0 ? ", " : "", k, k + 1, k + 2, k + 3, i);
	}
	snprintf(sql + len, sizeof(sql) - len,
	    "), ins AS (INSERT INTO %s.fires (job, service, scheduled_for, "
	    "fire_id, trigger, epoch) "
	    "SELECT v.job, v.service, v.at, v.fire_id, $1, $2::bigint "
	    "FROM l, v WHERE l.epoch = $2::bigint ORDER BY v.ord "
	    "ON CONFLICT DO NOTHING RETURNING fire_id) "
	    "SELECT l.epoch, (SELECT string_agg(fire_id, ' ') FROM ins) "
	    "FROM l",
	    store_schema);
	if ((rv = cf_pg_exec_prepared(
	         pg, sql, 2 + 4 * (int) n, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if ((rv = ledger_fence(res, ep, err, errlen)) == CF_OK) {
		/* Space-separated ids of the rows written (ids hold none). */
		const char *ids = PQgetvalue(res, 0, 1);

		for (size_t i = 0; i < n; i++) {
			const char *f  = ids;
			size_t      fl = strlen(fires[i].fire_id);

			fires[i].inserted = 0;
			while ((f = strstr(f, fires[i].fire_id)) != NULL) {
				if ((f == ids || f[-1] == ' ')
				    && (f[fl] == ' ' || f[fl] == '\0')) {
					fires[i].inserted = 1;
					break;
				}
				f += fl;
			}
		}
	}
	PQclear(res);
	return (rv);
}

int
leadership_begin(cf_pg *pg, const char *holder, const char *via,
    uint64_t *epoch, int64_t *since_ms, char *err, size_t errlen)
{
	char        sql[384];
	const char *p[2] = { holder, via };
	PGresult *  res  = NULL;
	int         rv;

	SQL(sql,
	    "UPDATE %s.leadership SET epoch = epoch + 1, holder = $1, "
	    "via = $2, since = now() WHERE id = 1 "
	    "RETURNING epoch, (extract(epoch FROM since) * 1000)::bigint");
	if ((rv = cf_pg_exec(pg, sql, 2, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		snprintf(err, errlen, "%s.leadership has no row", store_schema);
		return (CF_EDB);
	}
	*epoch    = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	*since_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return (CF_OK);
}

int
leadership_set_via(cf_pg *pg, uint64_t epoch, const char *via, char *err,
    size_t errlen)
{
	char        sql[256], ep[24];
	const char *p[2] = { via, ep };

	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) epoch);
	SQL(sql,
	    "UPDATE %s.leadership SET via = $1 "
	    "WHERE id = 1 AND epoch = $2::bigint");
	return (cf_pg_exec(pg, sql, 2, p, NULL, err, errlen));
}

int
store_schedule(cf_pg *pg, const char *job, const char *service,
    const char *expr, const char *tz, int paused, int overridden,
    const clock_policy *pol, const char *by, char *err, size_t errlen)
{
	char        sql[1536], win[24], tmo[24], rty[16];
	const char *p[17];

	p[0] = job;
	p[1] = service;
	p[2] = expr;
	p[3] = tz;
	p[4] = paused ? "true" : "false";
	p[5] = overridden < 0 ? NULL : overridden ? "true" : "false";
	p[6] = by;
	/* $8 says whether the policies ($9..$17) are to be written. */
	p[7] = pol != NULL ? "true" : "false";
	for (int i = 8; i < 17; i++) {
		p[i] = NULL;
	}
	if (pol != NULL) {
		snprintf(win, sizeof(win), "%lld", (long long) pol->window_ms);
		snprintf(tmo, sizeof(tmo), "%lld", (long long) pol->timeout_ms);
		snprintf(rty, sizeof(rty), "%d", pol->retries);
		p[8]  = clock_misfire_name(pol->misfire);
		p[9]  = win;
		p[10] = clock_overlap_name(pol->overlap);
		p[11] = tmo;
		p[12] = pol->priority;
		p[13] = pol->retries >= 0 ? rty : NULL;
		p[14] = pol->after[0] != '\0' ? pol->after : NULL;
		p[15] = clock_gap_name(pol->gap);
		p[16] = clock_repeat_name(pol->repeat);
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s.schedules AS s (job, service, expr, tz, paused, "
	    "overridden, changed_by, changed_at, misfire, window_ms, overlap, "
	    "timeout_ms, priority, retries, after_job, dst_gap, dst_repeat) "
	    "VALUES ($1, $2, $3, $4, $5, coalesce($6::boolean, false), $7, "
	    "now(), coalesce($9, 'once'), coalesce($10::bigint, 3600000), "
	    "coalesce($11, 'skip'), coalesce($12::bigint, 300000), "
	    "coalesce($13, 'medium'), $14::integer, $15, "
	    "coalesce($16, 'shift'), coalesce($17, 'auto')) "
	    "ON CONFLICT (job) DO UPDATE SET service = EXCLUDED.service, "
	    "expr = EXCLUDED.expr, tz = EXCLUDED.tz, paused = EXCLUDED.paused, "
	    "overridden = coalesce($6::boolean, s.overridden), "
	    "changed_by = EXCLUDED.changed_by, changed_at = now(), "
	    "misfire = CASE WHEN $8 THEN EXCLUDED.misfire ELSE s.misfire END, "
	    "window_ms = CASE WHEN $8 THEN EXCLUDED.window_ms "
	    "ELSE s.window_ms END, "
	    "overlap = CASE WHEN $8 THEN EXCLUDED.overlap ELSE s.overlap END, "
	    "timeout_ms = CASE WHEN $8 THEN EXCLUDED.timeout_ms "
	    "ELSE s.timeout_ms END, "
	    "priority = CASE WHEN $8 THEN EXCLUDED.priority "
	    "ELSE s.priority END, "
	    "retries = CASE WHEN $8 THEN EXCLUDED.retries ELSE s.retries END, "
	    "after_job = CASE WHEN $8 THEN EXCLUDED.after_job "
	    "ELSE s.after_job END, "
	    "dst_gap = CASE WHEN $8 THEN EXCLUDED.dst_gap ELSE s.dst_gap END, "
	    "dst_repeat = CASE WHEN $8 THEN EXCLUDED.dst_repeat "
	    "ELSE s.dst_repeat END",
	    store_schema);
	return (cf_pg_exec(pg, sql, 17, p, NULL, err, errlen));
}

#define STORED_COLUMNS                                                  \
	"job, service, expr, tz, paused, overridden, misfire, window_ms, " \
	"overlap, timeout_ms, priority, coalesce(retries, -1), "           \
	"coalesce(after_job, ''), dst_gap, dst_repeat"

static void
row_to_job(PGresult *res, int r, stored_job *j)
{
	clock_policy *p = &j->pol;

	snprintf(j->job, sizeof(j->job), "%s", PQgetvalue(res, r, 0));
	snprintf(j->service, sizeof(j->service), "%s", PQgetvalue(res, r, 1));
	snprintf(j->expr, sizeof(j->expr), "%s", PQgetvalue(res, r, 2));
	snprintf(j->tz, sizeof(j->tz), "%s", PQgetvalue(res, r, 3));
	j->paused     = PQgetvalue(res, r, 4)[0] == 't';
	j->overridden = PQgetvalue(res, r, 5)[0] == 't';
	/* The table's CHECKs keep the words valid; defaults otherwise. */
	clock_policy_init(p);
	(void) clock_misfire_parse(PQgetvalue(res, r, 6), &p->misfire);
	p->window_ms = strtoll(PQgetvalue(res, r, 7), NULL, 10);
	(void) clock_overlap_parse(PQgetvalue(res, r, 8), &p->overlap);
	p->timeout_ms = strtoll(PQgetvalue(res, r, 9), NULL, 10);
	snprintf(
	    p->priority, sizeof(p->priority), "%s", PQgetvalue(res, r, 10));
	p->retries = (int) strtol(PQgetvalue(res, r, 11), NULL, 10);
	snprintf(p->after, sizeof(p->after), "%s", PQgetvalue(res, r, 12));
	(void) clock_gap_parse(PQgetvalue(res, r, 13), &p->gap);
	(void) clock_repeat_parse(PQgetvalue(res, r, 14), &p->repeat);
}

int
store_load_one(cf_pg *pg, const char *job, stored_job *out, int *found,
    char *err, size_t errlen)
{
	char        sql[512];
	const char *p[1] = { job };
	PGresult *  res  = NULL;
	int         rv;

	SQL(sql, "SELECT " STORED_COLUMNS " FROM %s.schedules WHERE job = $1");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*found = PQntuples(res) == 1;
	if (*found) {
		row_to_job(res, 0, out);
	}
	PQclear(res);
	return (CF_OK);
}

int
store_load_all(cf_pg *pg, stored_job **out, int *n, char *err, size_t errlen)
{
	char      sql[512];
	PGresult *res = NULL;
	int       rv;

	SQL(sql, "SELECT " STORED_COLUMNS " FROM %s.schedules ORDER BY job");
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*n   = PQntuples(res);
	*out = calloc((size_t) (*n > 0 ? *n : 1), sizeof(stored_job));
	if (*out == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int r = 0; r < *n; r++) {
		row_to_job(res, r, &(*out)[r]);
	}
	PQclear(res);
	return (CF_OK);
}

int
store_setting(
    cf_pg *pg, const char *key, const char *value, char *err, size_t errlen)
{
	char        sql[256];
	const char *p[2] = { key, value };
	SQL(sql,
	    "INSERT INTO %s.settings (key, value) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
	    "changed_at = now()");
	return (cf_pg_exec(pg, sql, 2, p, NULL, err, errlen));
}

int
store_get_setting(cf_pg *pg, const char *key, char *buf, size_t len,
    char *err, size_t errlen)
{
	char        sql[128];
	const char *p[1] = { key };
	PGresult *  res  = NULL;
	int         rv;

	SQL(sql, "SELECT value FROM %s.settings WHERE key = $1");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(buf, len, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return (CF_OK);
}

/* ---- skipped fires, catch-up cursors, the fires a service missed ------ */

/* A growing text buffer for array literals. */
typedef struct arrbuf {
	char * s;
	size_t n, cap;
	int    oom;
} arrbuf;

static void
arr_put(arrbuf *b, const char *s, size_t len)
{
	if (b->oom) {
		return;
	}
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char * t;
		while (cap < b->n + len + 1) {
			cap *= 2;
		}
		if ((t = realloc(b->s, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s   = t;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, len);
	b->n += len;
	b->s[b->n] = '\0';
}

/*
 * One element of a PostgreSQL array literal, quoted: '"' and '\' are
 * escaped, so any text (a reason naming a fire id) goes through.
 */
static void
arr_elem(arrbuf *b, const char *s, int first)
{
	arr_put(b, first ? "\"" : ",\"", first ? 1 : 2);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			arr_put(b, "\\", 1);
		}
		arr_put(b, p, 1);
	}
	arr_put(b, "\"", 1);
}

/* Writes rows[0..n-1] in one statement; see ledger_skip_batch. */
static int
ledger_skip_chunk(cf_pg *pg, const ledger_skip *rows, size_t n,
    uint64_t epoch, char *err, size_t errlen)
{
	arrbuf      a[6] = { { 0 } };
	char        sql[1024], ep[24], num[24];
	const char *p[7];
	PGresult *  res = NULL;
	int         rv;

	for (int k = 0; k < 6; k++) {
		arr_put(&a[k], "{", 1);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%lld", (long long) rows[i].at);
		arr_elem(&a[0], rows[i].job, i == 0);
		arr_elem(&a[1], rows[i].service, i == 0);
		arr_elem(&a[2], num, i == 0);
		arr_elem(&a[3], rows[i].fire_id, i == 0);
		arr_elem(&a[4], cf_trigger_name(rows[i].trigger), i == 0);
		arr_elem(&a[5], rows[i].reason, i == 0);
	}
	rv = CF_OK;
	for (int k = 0; k < 6; k++) {
		arr_put(&a[k], "}", 1);
		if (a[k].oom) {
			rv = CF_ENOMEM;
		}
		p[k] = a[k].s;
	}
	if (rv != CF_OK) {
		snprintf(err, errlen, "out of memory for %zu skipped fires", n);
		goto out;
	}
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) epoch);
	p[6] = ep;
	/*
	 * The same fence as ledger_record: the leadership row locked in
	 * the statement, nothing written unless epoch is still current.
	 * Instants go in as integer milliseconds added to the epoch, which
	 * is exact (a float conversion could land a microsecond off the
	 * instant that the primary key compares).
	 */
	snprintf(sql, sizeof(sql),
	    "WITH l AS (SELECT epoch FROM %s.leadership WHERE id = 1 "
	    "FOR NO KEY UPDATE), "
	    "ins AS (INSERT INTO %s.fires (job, service, scheduled_for, "
	    "fire_id, trigger, epoch, outcome, reason) "
	    "SELECT r.job, r.service, "
	    "timestamptz 'epoch' + r.at * interval '1 millisecond', "
	    "r.fire_id, r.trigger, $7::bigint, 'skipped', r.reason "
	    "FROM l, unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
	    "$5::text[], $6::text[]) WITH ORDINALITY "
	    "AS r(job, service, at, fire_id, trigger, reason, i) "
	    "WHERE l.epoch = $7::bigint ORDER BY r.i "
	    "ON CONFLICT DO NOTHING RETURNING 1) "
	    "SELECT l.epoch, (SELECT count(*) FROM ins) FROM l",
	    store_schema, store_schema);
	if ((rv = cf_pg_exec(pg, sql, 7, p, &res, err, errlen)) != CF_OK) {
		goto out;
	}
	rv = ledger_fence(res, ep, err, errlen);
	PQclear(res);
out:
	for (int k = 0; k < 6; k++) {
		free(a[k].s);
	}
	return (rv);
}

int
ledger_skip_batch(cf_pg *pg, const ledger_skip *rows, size_t n,
    uint64_t epoch, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i += LEDGER_SKIP_CHUNK) {
		size_t k = n - i < LEDGER_SKIP_CHUNK ? n - i
		                                     : LEDGER_SKIP_CHUNK;
		int    rv;
		if ((rv = ledger_skip_chunk(pg, rows + i, k, epoch, err,
		         errlen)) != CF_OK) {
			return (rv);
		}
	}
	return (CF_OK);
}

int
ledger_last_scheduled(
    cf_pg *pg, ledger_last **out, int *n, char *err, size_t errlen)
{
	char      sql[768];
	PGresult *res = NULL;
	int       rv;

	*out = NULL;
	*n   = 0;
	/* One index probe per job (fires_schedule_by_job, backwards). */
	snprintf(sql, sizeof(sql),
	    "SELECT s.job, l.ms FROM %s.schedules s, LATERAL ("
	    "SELECT (extract(epoch FROM f.scheduled_for) * 1000)::bigint AS ms "
	    "FROM %s.fires f WHERE f.job = s.job "
	    "AND f.trigger IN ('schedule', 'catchup') "
	    "ORDER BY f.scheduled_for DESC LIMIT 1) l",
	    store_schema, store_schema);
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*n   = PQntuples(res);
	*out = calloc((size_t) (*n > 0 ? *n : 1), sizeof(ledger_last));
	if (*out == NULL) {
		PQclear(res);
		*n = 0;
		return (CF_ENOMEM);
	}
	for (int r = 0; r < *n; r++) {
		snprintf((*out)[r].job, sizeof((*out)[r].job), "%s",
		    PQgetvalue(res, r, 0));
		(*out)[r].at = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	}
	PQclear(res);
	return (CF_OK);
}

int
ledger_fires_page(cf_pg *pg, const char *service, int64_t after_seq,
    int64_t min_age_ms, int limit, ledger_fire **out, int *n, int *more,
    char *err, size_t errlen)
{
	char        sql[768], seq[24], age[24], lim[24];
	const char *p[4] = { service, seq, age, lim };
	PGresult *  res  = NULL;
	int         rv, rows;

	*out  = NULL;
	*n    = 0;
	*more = 0;
	snprintf(seq, sizeof(seq), "%lld", (long long) after_seq);
	snprintf(age, sizeof(age), "%lld", (long long) min_age_ms);
	/* One more than asked for, to tell whether there are more. */
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	SQL(sql,
	    "SELECT seq, job, fire_id, "
	    "(extract(epoch FROM scheduled_for) * 1000)::bigint, trigger "
	    "FROM %s.fires WHERE service = $1 AND seq > $2::bigint "
	    "AND outcome = 'published' "
	    "AND published_at <= now() - $3::bigint * interval '1 millisecond' "
	    "ORDER BY seq LIMIT $4::integer");
	if ((rv = cf_pg_exec(pg, sql, 4, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	rows = PQntuples(res);
	if (rows > limit) {
		*more = 1;
		rows  = limit;
	}
	*out = calloc((size_t) (rows > 0 ? rows : 1), sizeof(ledger_fire));
	if (*out == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int r = 0; r < rows; r++) {
		ledger_fire *f = &(*out)[r];
		f->seq         = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		snprintf(f->job, sizeof(f->job), "%s", PQgetvalue(res, r, 1));
		snprintf(
		    f->fire_id, sizeof(f->fire_id), "%s", PQgetvalue(res, r, 2));
		f->at = strtoll(PQgetvalue(res, r, 3), NULL, 10);
		snprintf(
		    f->trigger, sizeof(f->trigger), "%s", PQgetvalue(res, r, 4));
	}
	*n = rows;
	PQclear(res);
	return (CF_OK);
}

int
ledger_find_fire(cf_pg *pg, const char *fire_id, int *found,
    int *published, char *job, size_t joblen, int64_t *at, char *err,
    size_t errlen)
{
	char        sql[384];
	const char *p[1] = { fire_id };
	PGresult *  res  = NULL;
	int         rv;

	*found = *published = 0;
	SQL(sql,
	    "SELECT job, (extract(epoch FROM scheduled_for) * 1000)::bigint, "
	    "outcome FROM %s.fires WHERE fire_id = $1");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) == 1) {
		*found = 1;
		snprintf(job, joblen, "%s", PQgetvalue(res, 0, 0));
		*at        = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		*published = strcmp(PQgetvalue(res, 0, 2), "published") == 0;
	}
	PQclear(res);
	return (CF_OK);
}

/*
 * The order is (published_at, seq), not scheduled_for: the gateway merges
 * these entries with the services' runs, which it orders by when they
 * started, and the time a fire was recorded is the one on the same
 * (real, database) clock. The indexes of db/clock/004_history.sql serve
 * each form: by job, and skipped only (what the gateway asks for).
 */
int
ledger_history(cf_pg *pg, const ledger_query *q, ledger_entry **out,
    int *n_out, char *err, size_t errlen)
{
	char        sql[1024], lim[16], since[24], bus[24], bseq[24];
	const char *p[6];
	PGresult *  res = NULL;
	size_t      off = 0;
	int         rv, rows, np = 0, bad;

	*out   = NULL;
	*n_out = 0;
	bad    = cf_pg_sqlcat(sql, sizeof(sql), &off,
	       "SELECT seq, fire_id, "
	       "(extract(epoch FROM scheduled_for) * 1000)::bigint, "
	       "(extract(epoch FROM published_at) * 1000)::bigint, trigger, "
	       "outcome, coalesce(reason, ''), epoch, job, "
	       "(extract(epoch FROM published_at) * 1000000)::bigint, "
	       "service FROM %s.fires WHERE true",
	       store_schema);
	if (q->job != NULL) {
		p[np++] = q->job;
		bad |= cf_pg_sqlcat(
		    sql, sizeof(sql), &off, " AND job = $%d", np);
	}
	if (q->outcome >= 0) {
		/* A constant, so that the planner can pick the partial
		 * index of skipped fires. */
		bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " AND outcome = '%s'",
		    q->outcome ? "published" : "skipped");
	}
	if (q->since != INT64_MIN) {
		snprintf(since, sizeof(since), "%lld", (long long) q->since);
		p[np++] = since;
		bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " AND published_at >= timestamptz 'epoch' + $%d::bigint "
		    "* interval '1 millisecond'",
		    np);
	}
	if (q->before_us >= 0) {
		snprintf(bus, sizeof(bus), "%lld", (long long) q->before_us);
		snprintf(bseq, sizeof(bseq), "%lld", (long long) q->before_seq);
		p[np++] = bus;
		p[np++] = bseq;
		bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " AND (published_at, seq) < (timestamptz 'epoch' + "
		    "$%d::bigint * interval '1 microsecond', $%d::bigint)",
		    np - 1, np);
	}
	snprintf(lim, sizeof(lim), "%d", q->n);
	p[np++] = lim;
	bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
	    " ORDER BY published_at DESC, seq DESC LIMIT $%d::integer", np);
	if (bad != 0) {
		snprintf(err, errlen, "ledger_history: query too long");
		return (CF_EINVAL);
	}
	if ((rv = cf_pg_exec(pg, sql, np, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	rows = PQntuples(res);
	*out = calloc((size_t) (rows > 0 ? rows : 1), sizeof(ledger_entry));
	if (*out == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int r = 0; r < rows; r++) {
		ledger_entry *e = &(*out)[r];
		e->seq          = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		snprintf(
		    e->fire_id, sizeof(e->fire_id), "%s", PQgetvalue(res, r, 1));
		e->at           = strtoll(PQgetvalue(res, r, 2), NULL, 10);
		e->published_at = strtoll(PQgetvalue(res, r, 3), NULL, 10);
		snprintf(
		    e->trigger, sizeof(e->trigger), "%s", PQgetvalue(res, r, 4));
		e->published = strcmp(PQgetvalue(res, r, 5), "published") == 0;
		snprintf(
		    e->reason, sizeof(e->reason), "%s", PQgetvalue(res, r, 6));
		e->epoch = strtoll(PQgetvalue(res, r, 7), NULL, 10);
		snprintf(e->job, sizeof(e->job), "%s", PQgetvalue(res, r, 8));
		e->published_us = strtoll(PQgetvalue(res, r, 9), NULL, 10);
		snprintf(e->service, sizeof(e->service), "%s",
		    PQgetvalue(res, r, 10));
	}
	*n_out = rows;
	PQclear(res);
	return (CF_OK);
}
