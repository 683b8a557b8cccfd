/*
 * energy_sync.c - the energy-sync job: measurements from every active
 * energy source of every organisation (Enphase, SolarEdge, Tesla,
 * UtilityAPI), incrementally from each source's cursor.
 *
 * Sources are synced side by side, CRONFLEET_ENERGY_SYNC_CONCURRENCY (5)
 * at once, each on a database connection of its own (a slow vendor then
 * delays only its own sources); vendor requests still share the client's
 * in-flight limit. The result lists them in id order. Per source:
 *  - the range: from sources.cursor_at (the start of the newest interval
 *    stored: it is read again, so a reading the vendor revised is
 *    replaced) or, for a new source, the fire's time less
 *    CRONFLEET_INGEST_ENERGY_LOOKBACK; up to the fire's time on the
 *    15-minute grid (only intervals that have ended). The fire's time,
 *    not the clock's: a retry or re-run of the same fire asks for the
 *    same range and changes nothing;
 *  - its credentials opened, its token loaded (Enphase, Tesla), the
 *    adapter called (adapters/energy.h), a refreshed token stored back
 *    whatever else happens;
 *  - the rows written with the bulk writer (COPY into staging and one
 *    upsert that skips unchanged values, one transaction), then
 *    cursor_at, last_sync_at and last_error updated.
 * A source that fails is isolated: its error (naming it) goes into its
 * last_error and the run's result, the rows it did fetch before the
 * error are kept (the adapters emit whole chunks in time order, so the
 * cursor never passes a gap), and the others go on. The run fails only
 * when every source failed, or the database is unreachable.
 *
 * Result:
 *	{"sources": N, "synced": n, "failed": n, "inserted": n,
 *	 "updated": n, "rows": n, "until": "...", "duration_ms": n,
 *	 "results": [{"source_id", "name", "vendor", "org", "success",
 *	              "since", "rows", "inserted", "updated", "requests",
 *	              "short_answers", "error"}]}
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "energy.h"
#include "ingest.h"

/* A first sync reaching back a month is ~3000 intervals x 8 metrics;
 * this bounds what one source may hold in memory in one run. */
#define ENERGY_MAX_ROWS (4 * 1000 * 1000)

typedef struct src_row {
	char   *id, *name, *vendor, *base_url, *site_id, *org;
	char   *sealed;    /* credentials, sealed (wiped after use) */
	int64_t cursor_ms; /* -1: none */
} src_row;

typedef struct row {
	const char *metric; /* one of energy_metric_names */
	int64_t     ts;
	double      value;
} row;

typedef struct sink {
	cf_run *run;
	row    *rows;
	size_t  n, cap;
	int64_t newest; /* start of the newest interval (-1: none) */
} sink;

static int
sink_emit(void *arg, const char *metric, int64_t start_ms, double value)
{
	sink *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 1024 : s->cap * 2;
		row   *r;
		if (cap > ENERGY_MAX_ROWS
		    || (r = realloc(s->rows, cap * sizeof(*r))) == NULL) {
			return (CF_ETOOBIG);
		}
		s->rows = r;
		s->cap  = cap;
	}
	s->rows[s->n].metric = metric;
	s->rows[s->n].ts     = start_ms;
	s->rows[s->n].value  = value;
	s->n++;
	if (start_ms > s->newest) {
		s->newest = start_ms;
	}
	return (0);
}

static int
sink_stopped(void *arg)
{
	return (cf_run_cancelled(((sink *) arg)->run));
}

static void
src_free(src_row *s)
{
	free(s->id);
	free(s->name);
	free(s->vendor);
	free(s->base_url);
	free(s->site_id);
	free(s->org);
	if (s->sealed != NULL) {
		cf_secret_wipe_str(s->sealed);
		free(s->sealed);
	}
}

static int
src_read_row(const PGresult *res, int i, void *elem)
{
	src_row *v = elem;
	char **f[] = { &v->id, &v->name, &v->vendor, &v->base_url, &v->site_id,
		&v->sealed, &v->org };

	v->cursor_ms = PQgetisnull(res, i, 7)
	    ? -1
	    : strtoll(PQgetvalue(res, i, 7), NULL, 10);
	return (ingest_pg_dups(res, i, 0, f, 7));
}

/* The active sources, all organisations, in id order. */
static int
sources_load(
    ingest *in, cf_pg *pg, src_row **out, int *n, char *err, size_t errlen)
{
	char   sql[768];
	void  *v;
	size_t rows;
	int    rv;

	snprintf(sql, sizeof(sql),
	    "SELECT s.id, s.name, s.vendor, s.base_url, s.site_id, "
	    "s.credentials, o.name, "
	    "(extract(epoch FROM s.cursor_at) * 1000)::bigint "
	    "FROM %s.sources s JOIN %s.organizations o ON o.id = s.org_id "
	    "WHERE s.active ORDER BY s.id",
	    in->schema, in->schema);
	rv = ingest_rows_load(
	    pg, sql, sizeof(src_row), src_read_row, &v, &rows, err, errlen);
	*out = v;
	*n   = (int) rows;
	return (rv);
}

/* What one source's sync did. */
typedef struct src_result {
	int     done; /* synced or failed (0: never taken, run cancelled) */
	int     ok;
	int64_t since, rows, inserted, updated;
	int     requests, short_answers, refreshed;
	char    error[768];
} src_result;

/* Writes the rows and the source's state. */
static int
source_store(ingest *in, cf_pg *pg, const src_row *s, const sink *k,
    src_result *r, char *err, size_t errlen)
{
	ingest_bulk *b   = NULL;
	int64_t      sid = strtoll(s->id, NULL, 10);
	int          rv;

	if (k->n == 0) {
		return (CF_OK);
	}
	if ((rv = ingest_bulk_begin(&b, pg, in->schema, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	for (size_t i = 0; i < k->n; i++) {
		if ((rv = ingest_bulk_add(b, sid, k->rows[i].metric,
		         k->rows[i].ts, k->rows[i].value, err, errlen))
		    != CF_OK) {
			ingest_bulk_abort(b);
			return (rv);
		}
	}
	return (ingest_bulk_end(b, &r->inserted, &r->updated, err, errlen));
}

static int
source_mark(ingest *in, cf_pg *pg, const src_row *s, int64_t newest,
    const char *error, char *err, size_t errlen)
{
	char        sql[640], nb[32];
	const char *p[3];

	snprintf(nb, sizeof(nb), "%" PRId64, newest);
	p[0] = s->id;
	p[1] = newest >= 0 ? nb : NULL;
	p[2] = error;
	/* last_sync_at: the last sync that succeeded. */
	snprintf(sql, sizeof(sql),
	    "UPDATE %s.sources SET cursor_at = CASE WHEN $2::bigint IS NULL "
	    "THEN cursor_at ELSE GREATEST(cursor_at, "
	    "to_timestamp($2::bigint / 1000.0)) END, "
	    "last_sync_at = CASE WHEN $3::text IS NULL THEN now() ELSE "
	    "last_sync_at END, last_error = $3::text WHERE id = $1::bigint",
	    in->schema);
	return (cf_pg_exec_prepared(pg, sql, 3, p, NULL, err, errlen));
}

static void
source_sync(cf_run *run, ingest *in, cf_pg *pg, const src_row *s,
    int64_t until, src_result *r)
{
	char            why[640], why2[256];
	cJSON          *creds = NULL;
	ingest_token    tok   = { 0 };
	sink            k     = { .run = run, .newest = -1 };
	energy_fetch_fn fn    = energy_adapter(s->vendor);
	int             uses  = energy_vendor_uses_token(s->vendor);
	int             rv    = CF_OK;

	why[0]   = '\0';
	r->since = s->cursor_ms >= 0
	    ? energy_floor(s->cursor_ms)
	    : energy_floor(until - in->cfg->energy_lookback_ms);
	if (fn == NULL) {
		snprintf(
		    why, sizeof(why), "unknown vendor '%.40s'", s->vendor);
		rv = CF_EINVAL;
		goto done;
	}
	if ((rv = ingest_creds_open(
	         in, "sources", s->id, s->sealed, &creds, why, sizeof(why)))
	    != CF_OK) {
		goto done;
	}
	if (uses) {
		rv = ingest_token_load(
		    in, pg, "source", s->id, &tok, why2, sizeof(why2));
		if (rv == CF_EINVAL) {
			/* Credentials are the truth: log in again. */
			cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
			    "energy-sync: stored token unusable, logging in "
			    "again",
			    "source", s->id, "error", why2, NULL);
			rv = CF_OK;
		} else if (rv != CF_OK) {
			snprintf(
			    why, sizeof(why), "loading its token: %s", why2);
			goto done;
		}
		if (tok.metadata == NULL
		    && (tok.metadata = cJSON_CreateObject()) == NULL) {
			rv = CF_ENOMEM;
			snprintf(why, sizeof(why), "out of memory");
			goto done;
		}
	}
	{
		ingest_call  c = { .http = in->http,
			 .vendor         = s->vendor,
			 .base_url       = s->base_url,
			 .creds          = creds,
			 .token          = uses ? &tok : NULL,
			 .cancel         = &in->stopping };
		energy_fetch f = { .call = &c,
			.site_id         = s->site_id,
			.since_ms        = r->since,
			.until_ms        = until,
			.emit            = sink_emit,
			.arg             = &k,
			.stopped         = sink_stopped };
		if (r->since < until) {
			rv = fn(&f, why, sizeof(why));
		}
		r->requests      = f.requests;
		r->short_answers = f.short_answers;
		r->refreshed     = c.refreshes;
	}
	/* A token refreshed is stored even when the fetch failed after. */
	if (uses && tok.changed) {
		int trv = ingest_token_store(
		    in, pg, "source", s->id, &tok, why2, sizeof(why2));
		if (trv != CF_OK && rv == CF_OK) {
			rv = trv;
			snprintf(
			    why, sizeof(why), "storing its token: %s", why2);
		}
	}
	/* What came before an error is a prefix of the range: keep it. */
	{
		char werr[512];
		int  wrv = source_store(in, pg, s, &k, r, werr, sizeof(werr));
		if (wrv != CF_OK) {
			k.newest = -1;
			if (rv == CF_OK) {
				rv = wrv;
				snprintf(why, sizeof(why), "storing rows: %s",
				    werr);
			}
		}
	}
	r->rows = (int64_t) k.n;
done:
	r->ok = rv == CF_OK;
	if (!r->ok) {
		snprintf(r->error, sizeof(r->error),
		    "source %s (%s/%s, %s): %s", s->id, s->org, s->name,
		    s->vendor, why[0] != '\0' ? why : cf_strerror(rv));
	}
	{
		char merr[256];
		if (source_mark(in, pg, s, k.newest, r->ok ? NULL : r->error,
		        merr, sizeof(merr))
		    != CF_OK) {
			if (r->ok) {
				r->ok = 0;
				snprintf(r->error, sizeof(r->error),
				    "source %s (%s/%s, %s): updating its "
				    "cursor: %s",
				    s->id, s->org, s->name, s->vendor, merr);
			}
		}
	}
	if (!r->ok) {
		cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
		    "energy-sync: source failed", "source", s->id, "error",
		    r->error, NULL);
	}
	ingest_json_wipe(creds);
	ingest_token_free(&tok);
	free(k.rows);
}

/* The sources of one run, synced side by side (ingest_parallel). */
typedef struct es_run {
	cf_run        *run;
	ingest        *in;
	const src_row *src;
	src_result    *res;
	int64_t        until;
} es_run;

static void
es_unit(void *arg, size_t i, cf_pg *pg, const char *pg_err)
{
	es_run        *e = arg;
	const src_row *s = &e->src[i];
	src_result    *r = &e->res[i];

	if (pg == NULL) {
		snprintf(r->error, sizeof(r->error),
		    "source %s (%s/%s, %s): database: %s", s->id, s->org,
		    s->name, s->vendor, pg_err);
	} else {
		source_sync(e->run, e->in, pg, s, e->until, r);
		if (r->ok) {
			cf_log_kv(CF_LOG_INFO, e->run->job, e->run->run_id,
			    "energy-sync: source synced", "source", s->id,
			    "vendor", s->vendor, NULL);
		}
	}
	r->done = 1;
}

static cJSON *
result_entry(const src_row *s, const src_result *r)
{
	cJSON *o = cJSON_CreateObject();
	char   t[40];

	if (o == NULL) {
		return (NULL);
	}
	cJSON_AddNumberToObject(
	    o, "source_id", (double) strtoll(s->id, NULL, 10));
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "vendor", s->vendor);
	cJSON_AddStringToObject(o, "org", s->org);
	cJSON_AddBoolToObject(o, "success", r->ok);
	ingest_time_format(t, sizeof(t), r->since);
	cJSON_AddStringToObject(o, "since", t);
	cJSON_AddNumberToObject(o, "rows", (double) r->rows);
	cJSON_AddNumberToObject(o, "inserted", (double) r->inserted);
	cJSON_AddNumberToObject(o, "updated", (double) r->updated);
	cJSON_AddNumberToObject(o, "requests", r->requests);
	if (r->refreshed > 0) {
		cJSON_AddNumberToObject(o, "token_refreshes", r->refreshed);
	}
	if (r->short_answers > 0) {
		cJSON_AddNumberToObject(o, "short_answers", r->short_answers);
	}
	if (r->ok) {
		cJSON_AddNullToObject(o, "error");
	} else {
		cJSON_AddStringToObject(o, "error", r->error);
	}
	return (o);
}

int
energy_sync_run(cf_run *run, cf_job_result *res)
{
	ingest     *in  = run->ctx;
	cf_pg      *pg  = NULL;
	src_row    *src = NULL;
	cJSON      *out, *list;
	char        err[512], t[40], first[800] = "";
	int64_t     t0 = cf_time_now_ms(), until, ins = 0, upd = 0, rows = 0;
	int         n = 0, synced = 0, failed = 0, untaken = 0, rv, i;
	src_result *rs = NULL;

	/* The fire's time (a re-run asks for the same range), never the
	 * future. */
	until = run->scheduled_for > 0 && run->scheduled_for < t0
	    ? run->scheduled_for
	    : t0;
	until = energy_floor(until);
	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK
	    || (rv = sources_load(in, pg, &src, &n, err, sizeof(err)))
	        != CF_OK) {
		cf_result_fail(res, "energy-sync: database: %s", err);
		goto free_src;
	}
	if ((out = cJSON_CreateObject()) == NULL) {
		rv = CF_ENOMEM;
		goto free_src;
	}
	list = cJSON_CreateArray();
	if (n > 0 && (rs = calloc((size_t) n, sizeof(*rs))) == NULL) {
		cJSON_Delete(out);
		cJSON_Delete(list);
		cf_result_fail(res, "energy-sync: out of memory");
		rv = CF_ENOMEM;
		goto free_src;
	}
	{
		es_run e = { .run = run,
			.in       = in,
			.src      = src,
			.res      = rs,
			.until    = until };
		ingest_parallel(run, in, (size_t) n,
		    (int) in->cfg->energy_concurrency, es_unit, &e);
	}
	/* Results in the sources' order, whatever order they ended in. */
	for (i = 0; i < n; i++) {
		const src_result *r = &rs[i];
		if (!r->done) {
			continue;
		}
		if (r->ok) {
			synced++;
		} else {
			failed++;
			if (first[0] == '\0') {
				snprintf(first, sizeof(first), "%s", r->error);
			}
		}
		ins += r->inserted;
		upd += r->updated;
		rows += r->rows;
		cJSON_AddItemToArray(list, result_entry(&src[i], r));
	}
	untaken = n - synced - failed;
	cJSON_AddNumberToObject(out, "sources", n);
	cJSON_AddNumberToObject(out, "synced", synced);
	cJSON_AddNumberToObject(out, "failed", failed);
	cJSON_AddNumberToObject(out, "inserted", (double) ins);
	cJSON_AddNumberToObject(out, "updated", (double) upd);
	cJSON_AddNumberToObject(out, "rows", (double) rows);
	ingest_time_format(t, sizeof(t), until);
	cJSON_AddStringToObject(out, "until", t);
	if (untaken > 0) {
		cJSON_AddBoolToObject(out, "cancelled", 1);
	}
	cJSON_AddNumberToObject(
	    out, "duration_ms", (double) (cf_time_now_ms() - t0));
	cJSON_AddItemToObject(out, "results", list);
	cf_result_json(res, out);
	rv = CF_OK;
	if (n > 0 && failed == n) {
		cf_result_fail(
		    res, "energy-sync: all %d sources failed; %s", n, first);
		rv = CF_EPROTO;
	} else if (untaken > 0) {
		cf_result_fail(res,
		    "energy-sync: cancelled after %d of %d "
		    "sources",
		    n - untaken, n);
		rv = CF_ECLOSED;
	}
free_src:
	free(rs);
	for (i = 0; i < n; i++) {
		src_free(&src[i]);
	}
	free(src);
	return (rv);
}
