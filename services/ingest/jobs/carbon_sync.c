/*
 * carbon_sync.c - carbon-sync (seed 000, hourly): the grid carbon
 * intensity forecast of every region where an active source sits.
 *
 * The regions are the distinct grid_region (a WattTime region) of the
 * active sources, and the grid_zone (an Electricity Maps zone) of those
 * that have no region. Per region, WattTime first (the account of
 * WATTTIME_USERNAME/PASSWORD; its token lives in the token store as
 * owner "provider", key "watttime", and is reused until stale); when
 * WattTime is not configured, fails for that region, or says that fewer
 * than CRONFLEET_WATTTIME_MIN_REMAINING requests are left in its rate
 * window (then for the rest of the run too), the region's zone is asked
 * of Electricity Maps, and the result says why.
 *
 * Points are stored in carbon_forecasts keyed (region, point_time), the
 * region being the grid_region (or the zone when the sources have no
 * region): the provider's value and unit as sent, the intensity
 * normalised to gCO2eq/kWh. A row is rewritten only when its provider,
 * signal or values differ (a re-run changes nothing; a newer forecast
 * generation with the same values keeps the row as it was).
 *
 * The result: {regions, succeeded, failed, points, created, updated,
 * watttime: {configured, token_refreshed, rate_limit_remaining,
 * rate_limit, switched}, results: [{region, zone, provider, signal,
 * points, created, updated, fallback, note, errors: []}]}. The run fails
 * only when every region failed (or the database is down, or neither
 * provider is configured: permanent).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "cf_log.h"
#include "cf_time.h"
#include "ingest.h"

#define CS_HOURS 24
#define CS_SIGNAL "co2_moer"

typedef struct cs_region {
	char *key;    /* the row's region */
	char *region; /* WattTime region, or NULL */
	char *zone;   /* Electricity Maps zone, or NULL */
} cs_region;

static int
cs_read_row(const PGresult *res, int i, void *elem)
{
	cs_region *r   = elem;
	char     **f[] = { &r->key, &r->region, &r->zone };

	return (ingest_pg_dups(res, i, 0, f, 3));
}

static int
cs_load(const ingest *in, cf_pg *pg, cs_region **out, size_t *n, char *err,
    size_t errlen)
{
	char  sql[768];
	void *r;
	int   rv;

	snprintf(sql, sizeof(sql),
	    "SELECT COALESCE(NULLIF(grid_region, ''), NULLIF(grid_zone, '')), "
	    "max(NULLIF(grid_region, '')), min(NULLIF(grid_zone, '')) "
	    "FROM %s.sources WHERE active AND COALESCE(NULLIF(grid_region, "
	    "''), NULLIF(grid_zone, '')) IS NOT NULL GROUP BY 1 ORDER BY 1",
	    in->schema);
	rv = ingest_rows_load(
	    pg, sql, sizeof(cs_region), cs_read_row, &r, n, err, errlen);
	*out = r;
	return (rv);
}

static void
cs_free(cs_region *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		free(r[i].key);
		free(r[i].region);
		free(r[i].zone);
	}
	free(r);
}

static int
cs_point_cmp(const void *a, const void *b)
{
	int64_t x = ((const carbon_point *) a)->t_ms;
	int64_t y = ((const carbon_point *) b)->t_ms;

	return (x < y ? -1 : x > y);
}

/*
 * Stores f's points for key: one statement, the points as a JSON array.
 * *created and *updated count new and changed rows.
 */
static int
cs_store(const ingest *in, cf_pg *pg, const char *key,
    const carbon_forecast *f, int64_t *created, int64_t *updated, char *err,
    size_t errlen)
{
	char          sql[2048], gen[48], t[48];
	cJSON        *a = cJSON_CreateArray();
	char         *text;
	const char   *p[6];
	carbon_point *pts;
	size_t        n = 0;
	int           rv;

	*created = *updated = 0;
	if (a == NULL) {
		return (CF_ENOMEM);
	}
	/* In time order, one point per instant (the last one sent). */
	if ((pts = malloc((f->n + 1) * sizeof(*pts))) == NULL) {
		cJSON_Delete(a);
		return (CF_ENOMEM);
	}
	memcpy(pts, f->pts, f->n * sizeof(*pts));
	qsort(pts, f->n, sizeof(*pts), cs_point_cmp);
	for (size_t i = 0; i < f->n; i++) {
		if (n > 0 && pts[n - 1].t_ms == pts[i].t_ms) {
			pts[n - 1] = pts[i];
		} else {
			pts[n++] = pts[i];
		}
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (o == NULL) {
			free(pts);
			cJSON_Delete(a);
			return (CF_ENOMEM);
		}
		ingest_time_format(t, sizeof(t), pts[i].t_ms);
		cJSON_AddStringToObject(o, "t", t);
		cJSON_AddNumberToObject(o, "v", pts[i].value);
		cJSON_AddNumberToObject(o, "i", pts[i].value * f->factor);
		cJSON_AddItemToArray(a, o);
	}
	free(pts);
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	if (text == NULL) {
		return (CF_ENOMEM);
	}
	if (f->generated_ms != 0) {
		ingest_time_format(gen, sizeof(gen), f->generated_ms);
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s.carbon_forecasts AS c (region, point_time, "
	    "provider, signal, intensity, raw_value, raw_unit, "
	    "generated_at) "
	    "SELECT $1::text, r.t, $2::text, $3::text, r.i, r.v, $4::text, "
	    "$5::timestamptz FROM jsonb_to_recordset($6::jsonb) AS r(t "
	    "timestamptz, v float8, i float8) "
	    "ON CONFLICT (region, point_time) DO UPDATE SET "
	    "provider = EXCLUDED.provider, signal = EXCLUDED.signal, "
	    "intensity = EXCLUDED.intensity, "
	    "raw_value = EXCLUDED.raw_value, raw_unit = EXCLUDED.raw_unit, "
	    "generated_at = EXCLUDED.generated_at, fetched_at = now() "
	    "WHERE (c.provider, c.signal, c.intensity, c.raw_value, "
	    "c.raw_unit) IS DISTINCT FROM (EXCLUDED.provider, "
	    "EXCLUDED.signal, EXCLUDED.intensity, EXCLUDED.raw_value, "
	    "EXCLUDED.raw_unit) "
	    "RETURNING (xmax = 0)",
	    in->schema);
	p[0] = key;
	p[1] = f->provider;
	p[2] = f->signal;
	p[3] = f->unit;
	p[4] = f->generated_ms != 0 ? gen : NULL;
	p[5] = text;
	rv   = ingest_upsert_counted(
	      pg, sql, 6, p, created, updated, err, errlen);
	free(text);
	return (rv);
}

/* What one run carries from region to region. */
typedef struct cs_state {
	cf_run       *run;
	const ingest *in;
	cf_pg        *pg;
	int           wt_ok; /* WattTime configured */
	int           em_ok; /* Electricity Maps configured */
	watttime_call wt;
	ingest_token  wt_tok;
	cJSON        *wt_creds;
	ingest_call   em;
	cJSON        *em_creds;
	char          wt_off[512]; /* non-empty: WattTime is off, why */
} cs_state;

/* Stores f into the region's entry of the result. */
static int
cs_take(cs_state *s, const cs_region *r, const carbon_forecast *f, cJSON *o,
    cJSON *errors, int64_t *points)
{
	int64_t created = 0, updated = 0;
	char    err[512], line[640];

	if (cs_store(
	        s->in, s->pg, r->key, f, &created, &updated, err, sizeof(err))
	    != CF_OK) {
		snprintf(line, sizeof(line), "%s: not stored: %s", f->provider,
		    err);
		cJSON_AddItemToArray(errors, cJSON_CreateString(line));
		return (0);
	}
	cJSON_AddStringToObject(o, "provider", f->provider);
	cJSON_AddStringToObject(o, "signal", f->signal);
	cJSON_AddNumberToObject(o, "points", (double) f->n);
	cJSON_AddNumberToObject(o, "created", (double) created);
	cJSON_AddNumberToObject(o, "updated", (double) updated);
	if (f->expected > 0 && (int64_t) f->n < f->expected) {
		snprintf(line, sizeof(line),
		    "short forecast: %zu of the %" PRId64 " points the "
		    "horizon promises (stored as sent)",
		    f->n, f->expected);
		cJSON_AddStringToObject(o, "note", line);
	}
	*points += (int64_t) f->n;
	return (1);
}

/* One region: WattTime, else Electricity Maps. 1 when stored. */
static int
cs_region_sync(cs_state *s, const cs_region *r, cJSON *o, int64_t *points)
{
	const ingest_cfg *cfg    = s->in->cfg;
	cJSON            *errors = cJSON_CreateArray();
	carbon_forecast   f;
	char              err[512], why[640], line[640];
	int               done = 0;

	why[0] = '\0';
	cJSON_AddStringToObject(o, "region", r->key);
	if (r->zone != NULL) {
		cJSON_AddStringToObject(o, "zone", r->zone);
	} else {
		cJSON_AddNullToObject(o, "zone");
	}
	if (!s->wt_ok) {
		snprintf(why, sizeof(why),
		    "watttime not configured (WATTTIME_USERNAME and "
		    "WATTTIME_PASSWORD unset)");
	} else if (r->region == NULL) {
		snprintf(
		    why, sizeof(why), "no WattTime grid_region for this zone");
	} else if (s->wt_off[0] != '\0') {
		snprintf(why, sizeof(why), "%s", s->wt_off);
	} else {
		int rv = watttime_forecast(&s->wt, r->region, CS_SIGNAL,
		    CS_HOURS, &f, err, sizeof(err));
		if (rv == CF_OK) {
			done = cs_take(s, r, &f, o, errors, points);
		} else {
			snprintf(line, sizeof(line), "%s", err);
			cJSON_AddItemToArray(errors, cJSON_CreateString(line));
			snprintf(why, sizeof(why), "watttime failed: %s", err);
		}
		carbon_forecast_free(&f);
		if (s->wt.rate_limited) {
			snprintf(s->wt_off, sizeof(s->wt_off),
			    "watttime rate limited (HTTP 429) at region "
			    "%.64s; "
			    "Electricity Maps for the rest of the run",
			    r->key);
		} else if (s->wt.near_limit
		    || (s->wt.remaining >= 0
		        && s->wt.remaining < cfg->watttime_min_remaining)) {
			snprintf(s->wt_off, sizeof(s->wt_off),
			    "watttime rate limit near: %" PRId64 " requests "
			    "left in the window (the least allowed is %" PRId64
			    "), seen at region %.64s; Electricity Maps for "
			    "the "
			    "rest of the run",
			    s->wt.remaining, cfg->watttime_min_remaining,
			    r->key);
		}
		if (s->wt.near_limit || s->wt.rate_limited) {
			/* Not sent, or refused: this region's reason too. */
			snprintf(why, sizeof(why), "%s", s->wt_off);
		}
	}
	if (!done) {
		if (!s->em_ok) {
			cJSON_AddItemToArray(errors,
			    cJSON_CreateString(
			        "electricitymaps not configured "
			        "(ELECTRICITYMAPS_TOKEN unset)"));
		} else if (r->zone == NULL) {
			cJSON_AddItemToArray(errors,
			    cJSON_CreateString("no Electricity Maps grid_zone "
			                       "for this region"));
		} else if (electricitymaps_forecast(
		               &s->em, r->zone, CS_HOURS, &f, err, sizeof(err))
		    == CF_OK) {
			done = cs_take(s, r, &f, o, errors, points);
			carbon_forecast_free(&f);
		} else {
			carbon_forecast_free(&f);
			cJSON_AddItemToArray(errors, cJSON_CreateString(err));
		}
	}
	if (!done) {
		cJSON_AddNullToObject(o, "provider");
		cJSON_AddNumberToObject(o, "points", 0);
	}
	if (why[0] != '\0') {
		cJSON_AddStringToObject(o, "fallback", why);
	} else {
		cJSON_AddNullToObject(o, "fallback");
	}
	cJSON_AddItemToObject(o, "errors", errors);
	return (done);
}

static void
cs_fini(cs_state *s)
{
	ingest_token_free(&s->wt_tok);
	ingest_json_wipe(s->wt_creds);
	ingest_json_wipe(s->em_creds);
}

static int
cs_init(cs_state *s, cf_run *run, cf_pg *pg)
{
	const ingest     *in  = run->ctx;
	const ingest_cfg *cfg = in->cfg;
	char              err[512];
	int               rv;

	memset(s, 0, sizeof(*s));
	s->run   = run;
	s->in    = in;
	s->pg    = pg;
	s->wt_ok = cfg->watttime_user != NULL && cfg->watttime_user[0] != '\0'
	    && cfg->watttime_password != NULL
	    && cfg->watttime_password[0] != '\0';
	s->em_ok = cfg->emaps_token != NULL && cfg->emaps_token[0] != '\0';
	watttime_call_init(&s->wt, cfg->watttime_min_remaining);
	if (s->wt_ok) {
		if ((s->wt_creds = cJSON_CreateObject()) == NULL) {
			return (CF_ENOMEM);
		}
		cJSON_AddStringToObject(
		    s->wt_creds, "username", cfg->watttime_user);
		cJSON_AddStringToObject(
		    s->wt_creds, "password", cfg->watttime_password);
		rv = ingest_token_load(in, pg, "provider", "watttime",
		    &s->wt_tok, err, sizeof(err));
		if (rv == CF_EINVAL) {
			cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
			    "stored WattTime token ignored; logging in again",
			    "error", err, NULL);
		} else if (rv != CF_OK) {
			cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
			    "token store not read", "error", err, NULL);
			return (rv);
		}
		s->wt.call.http     = in->http;
		s->wt.call.vendor   = "watttime";
		s->wt.call.base_url = cfg->watttime_url;
		s->wt.call.creds    = s->wt_creds;
		s->wt.call.token    = &s->wt_tok;
		s->wt.call.cancel   = &in->stopping;
	}
	if (s->em_ok) {
		if ((s->em_creds = cJSON_CreateObject()) == NULL) {
			return (CF_ENOMEM);
		}
		cJSON_AddStringToObject(
		    s->em_creds, "token", cfg->emaps_token);
		s->em.http     = in->http;
		s->em.vendor   = "electricitymaps";
		s->em.base_url = cfg->emaps_url;
		s->em.creds    = s->em_creds;
		s->em.cancel   = &in->stopping;
	}
	return (CF_OK);
}

int
carbon_sync_run(cf_run *run, cf_job_result *res)
{
	const ingest *in = run->ctx;
	cf_pg        *pg;
	cs_region    *r = NULL;
	size_t        n = 0;
	cs_state      s;
	cJSON        *sum, *list, *wt;
	char          err[512], first[640] = "";
	int64_t       points = 0, created = 0, updated = 0;
	int           rv, ok = 0, refreshed;

	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK
	    || (rv = cs_load(in, pg, &r, &n, err, sizeof(err))) != CF_OK) {
		cs_free(r, n);
		cf_result_fail(res, "carbon-sync: regions not read: %s", err);
		return (rv);
	}
	if ((rv = cs_init(&s, run, pg)) != CF_OK) {
		cs_fini(&s);
		cs_free(r, n);
		cf_result_fail(res, "carbon-sync: %s",
		    rv == CF_ENOMEM ? "out of memory"
		                    : "token store not read");
		return (rv);
	}
	if (n > 0 && !s.wt_ok && !s.em_ok) {
		cs_fini(&s);
		cs_free(r, n);
		cf_result_fail(res,
		    "carbon-sync: no provider configured: set "
		    "WATTTIME_USERNAME "
		    "and WATTTIME_PASSWORD, or ELECTRICITYMAPS_TOKEN");
		cf_result_permanent(res);
		return (CF_EINVAL);
	}
	sum  = cJSON_CreateObject();
	list = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToArray(list, o);
		if (cf_run_cancelled(run)) {
			cJSON_AddStringToObject(o, "region", r[i].key);
			cJSON_AddNullToObject(o, "provider");
			cJSON_AddStringToObject(
			    o, "error", "not synced: the run was cancelled");
			continue;
		}
		if (cs_region_sync(&s, &r[i], o, &points)) {
			ok++;
			created += (int64_t) cJSON_GetNumberValue(
			    cJSON_GetObjectItem(o, "created"));
			updated += (int64_t) cJSON_GetNumberValue(
			    cJSON_GetObjectItem(o, "updated"));
		} else {
			const cJSON *e = cJSON_GetArrayItem(
			    cJSON_GetObjectItem(o, "errors"), 0);
			cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
			    "region failed", "region", r[i].key, "error",
			    cJSON_GetStringValue(e), NULL);
			if (first[0] == '\0') {
				snprintf(first, sizeof(first), "%s: %s",
				    r[i].key,
				    e != NULL ? cJSON_GetStringValue(e)
				              : "failed");
			}
		}
	}
	/* A new WattTime token is kept for the next runs. */
	refreshed = s.wt_ok && s.wt.call.refreshes > 0;
	if (s.wt_ok && s.wt_tok.changed
	    && ingest_token_store(
	           in, pg, "provider", "watttime", &s.wt_tok, err, sizeof(err))
	        != CF_OK) {
		cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
		    "WattTime token not stored", "error", err, NULL);
	}
	cJSON_AddNumberToObject(sum, "regions", (double) n);
	cJSON_AddNumberToObject(sum, "succeeded", ok);
	cJSON_AddNumberToObject(sum, "failed", (double) n - ok);
	cJSON_AddNumberToObject(sum, "points", (double) points);
	cJSON_AddNumberToObject(sum, "created", (double) created);
	cJSON_AddNumberToObject(sum, "updated", (double) updated);
	wt = cJSON_AddObjectToObject(sum, "watttime");
	cJSON_AddBoolToObject(wt, "configured", s.wt_ok);
	cJSON_AddBoolToObject(wt, "token_refreshed", refreshed);
	if (s.wt.remaining >= 0) {
		cJSON_AddNumberToObject(
		    wt, "rate_limit_remaining", (double) s.wt.remaining);
	} else {
		cJSON_AddNullToObject(wt, "rate_limit_remaining");
	}
	if (s.wt.limit >= 0) {
		cJSON_AddNumberToObject(wt, "rate_limit", (double) s.wt.limit);
	} else {
		cJSON_AddNullToObject(wt, "rate_limit");
	}
	if (s.wt_off[0] != '\0') {
		cJSON_AddStringToObject(wt, "switched", s.wt_off);
	} else {
		cJSON_AddNullToObject(wt, "switched");
	}
	if (n == 0) {
		cJSON_AddStringToObject(sum, "message",
		    "no active source has a grid_region or a grid_zone");
	}
	cJSON_AddItemToObject(sum, "results", list);
	cs_fini(&s);
	cs_free(r, n);
	if (cf_result_json(res, sum) != CF_OK) {
		cf_result_fail(res, "carbon-sync: out of memory");
		return (CF_ENOMEM);
	}
	if (n > 0 && ok == 0) {
		cf_result_fail(res,
		    "carbon-sync: every region failed (%zu); "
		    "first: %s",
		    n, first);
		return (CF_EPROTO);
	}
	return (CF_OK);
}
