/*
 * plant_sync.c - plant-sync (seed 004): the plants of every active
 * vendor account (Solarman, Sungrow) of every organisation.
 *
 * Vendors are synced a few at a time (cfg->plant_concurrency, 5 by
 * default) on threads of this run, each with its own PostgreSQL
 * connection (the worker's own, from cf_run_pg, stays with this thread:
 * a cf_pg belongs to one thread). Per vendor: its sealed credentials,
 * its token from the token store (owner "vendor", key its id), every
 * page of its plant list through the adapter (which logs in again when
 * the token is stale or refused), the token stored back when it
 * changed, then the plants upserted in one transaction, 100 rows per
 * statement, a row rewritten only when something in it differs. A
 * failing vendor is recorded (vendors.last_error, its entry in the
 * summary) and the others go on; the run fails only when every vendor
 * failed.
 *
 * The run's result is the seed's summary: {totalVendors, successful,
 * failed, totalPlantsSynced, totalPlantsCreated, totalPlantsUpdated,
 * duration (ms), results: [{vendorId, vendorName, orgId, orgName,
 * success, synced, created, updated, total, error}]}, where synced is
 * the plants the vendor listed, created the new rows, updated the rows
 * that changed (an unchanged plant is neither), total what the vendor
 * said it has.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_log.h"
#include "cf_time.h"
#include "ingest.h"
#include "plants.h"

#define PS_BATCH 100

/* The adapter of a vendors.kind and the credentials it needs. */
typedef struct ps_adapter {
	const char   *kind;
	plant_list_fn list;
	const char   *creds[5];
} ps_adapter;

static const ps_adapter ps_adapters[] = {
	{ "solarman", solarman_plants,
	    { "app_id", "app_secret", "email", "password", NULL } },
	{ "sungrow", sungrow_plants,
	    { "appkey", "access_key", "user", "password", NULL } },
};

/* One vendor account: its row, then what its sync did. */
typedef struct ps_vendor {
	char   *id, *name, *kind, *base_url, *sealed, *org_id, *org_name;
	int     success;
	int64_t synced, created, updated, total;
	char    error[768];
} ps_vendor;

typedef struct ps_job {
	cf_run       *run;
	const ingest *in;
	ps_vendor    *v;
	size_t        n;
} ps_job;

static const ps_adapter *
ps_adapter_find(const char *kind)
{
	for (size_t i = 0; i < sizeof(ps_adapters) / sizeof(ps_adapters[0]);
	     i++) {
		if (strcmp(ps_adapters[i].kind, kind) == 0) {
			return (&ps_adapters[i]);
		}
	}
	return (NULL);
}

static int
ps_row_cmp(const void *a, const void *b)
{
	return (strcmp(((const plant_row *) a)->external_id,
	    ((const plant_row *) b)->external_id));
}

/* Sorts by external id and keeps the last of duplicates (a plant may
 * move between pages while they are fetched): one statement must not
 * touch a row twice. */
static void
ps_dedupe(plant_list *l)
{
	size_t w = 0;

	if (l->n < 2) {
		return;
	}
	qsort(l->v, l->n, sizeof(*l->v), ps_row_cmp);
	for (size_t r = 0; r < l->n; r++) {
		if (w > 0
		    && strcmp(l->v[w - 1].external_id, l->v[r].external_id)
		        == 0) {
			free(l->v[w - 1].name);
			l->v[w - 1] = l->v[r];
			continue;
		}
		l->v[w++] = l->v[r];
	}
	l->n = w;
}

static void
ps_add_num(cJSON *o, const char *name, double v)
{
	if (isnan(v) || isinf(v)) {
		cJSON_AddNullToObject(o, name);
	} else {
		cJSON_AddNumberToObject(o, name, v);
	}
}

static void
ps_add_time(cJSON *o, const char *name, int64_t ms)
{
	char t[48];

	if (ms == 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	ingest_time_format(t, sizeof(t), ms);
	cJSON_AddStringToObject(o, name, t);
}

static void
ps_add_str(cJSON *o, const char *name, const char *s)
{
	if (s == NULL || s[0] == '\0') {
		cJSON_AddNullToObject(o, name);
	} else {
		cJSON_AddStringToObject(o, name, s);
	}
}

/*
 * Upserts rows [from, from + n) of l for vendor v: one statement, the
 * rows as a JSON array. Adds to *created and *updated.
 */
static int
ps_upsert_batch(const ingest *in, cf_pg *pg, const ps_vendor *v,
    const plant_list *l, size_t from, size_t n, int64_t *created,
    int64_t *updated, char *err, size_t errlen)
{
	char        sql[2048];
	cJSON      *a = cJSON_CreateArray();
	char       *text;
	const char *p[3];
	int         rv;

	if (a == NULL) {
		return (CF_ENOMEM);
	}
	for (size_t i = from; i < from + n; i++) {
		const plant_row *r = &l->v[i];
		cJSON           *o = cJSON_CreateObject();

		if (o == NULL) {
			cJSON_Delete(a);
			return (CF_ENOMEM);
		}
		cJSON_AddItemToArray(a, o);
		cJSON_AddStringToObject(o, "external_id", r->external_id);
		cJSON_AddStringToObject(o, "name", r->name);
		ps_add_num(o, "latitude", r->latitude);
		ps_add_num(o, "longitude", r->longitude);
		ps_add_str(o, "timezone", r->timezone);
		ps_add_num(o, "capacity_kw", r->capacity_kw);
		ps_add_str(o, "status", r->status);
		ps_add_num(o, "current_power_w", r->current_power_w);
		ps_add_num(o, "today_energy_kwh", r->today_energy_kwh);
		ps_add_num(o, "total_energy_kwh", r->total_energy_kwh);
		ps_add_time(o, "installed_at", r->installed_ms);
		ps_add_time(o, "vendor_updated_at", r->vendor_updated_ms);
	}
	text = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	if (text == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s.plants AS p (vendor_id, org_id, external_id, "
	    "name, latitude, longitude, timezone, capacity_kw, status, "
	    "current_power_w, today_energy_kwh, total_energy_kwh, "
	    "installed_at, vendor_updated_at) "
	    "SELECT $1::bigint, $2::bigint, r.external_id, r.name, "
	    "r.latitude, r.longitude, r.timezone, r.capacity_kw, r.status, "
	    "r.current_power_w, r.today_energy_kwh, r.total_energy_kwh, "
	    "r.installed_at, r.vendor_updated_at "
	    "FROM jsonb_to_recordset($3::jsonb) AS r(external_id text, "
	    "name text, latitude float8, longitude float8, timezone text, "
	    "capacity_kw float8, status text, current_power_w float8, "
	    "today_energy_kwh float8, total_energy_kwh float8, "
	    "installed_at timestamptz, vendor_updated_at timestamptz) "
	    "ON CONFLICT (vendor_id, external_id) DO UPDATE SET "
	    "org_id = EXCLUDED.org_id, name = EXCLUDED.name, "
	    "latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, "
	    "timezone = EXCLUDED.timezone, "
	    "capacity_kw = EXCLUDED.capacity_kw, status = EXCLUDED.status, "
	    "current_power_w = EXCLUDED.current_power_w, "
	    "today_energy_kwh = EXCLUDED.today_energy_kwh, "
	    "total_energy_kwh = EXCLUDED.total_energy_kwh, "
	    "installed_at = EXCLUDED.installed_at, "
	    "vendor_updated_at = EXCLUDED.vendor_updated_at, "
	    "updated_at = now() "
	    "WHERE (p.org_id, p.name, p.latitude, p.longitude, p.timezone, "
	    "p.capacity_kw, p.status, p.current_power_w, "
	    "p.today_energy_kwh, p.total_energy_kwh, p.installed_at, "
	    "p.vendor_updated_at) IS DISTINCT FROM (EXCLUDED.org_id, "
	    "EXCLUDED.name, EXCLUDED.latitude, EXCLUDED.longitude, "
	    "EXCLUDED.timezone, EXCLUDED.capacity_kw, EXCLUDED.status, "
	    "EXCLUDED.current_power_w, EXCLUDED.today_energy_kwh, "
	    "EXCLUDED.total_energy_kwh, EXCLUDED.installed_at, "
	    "EXCLUDED.vendor_updated_at) "
	    "RETURNING (xmax = 0)",
	    in->schema);
	p[0] = v->id;
	p[1] = v->org_id;
	p[2] = text;
	rv   = ingest_upsert_counted(
	      pg, sql, 3, p, created, updated, err, errlen);
	free(text);
	return (rv);
}

/* Every row of l in batches of PS_BATCH, in one transaction. */
static int
ps_upsert(const ingest *in, cf_pg *pg, ps_vendor *v, const plant_list *l,
    char *err, size_t errlen)
{
	int64_t created = 0, updated = 0;
	int     rv;

	if ((rv = cf_pg_begin(pg, err, errlen)) != CF_OK) {
		return (rv);
	}
	for (size_t i = 0; i < l->n; i += PS_BATCH) {
		size_t n = l->n - i < PS_BATCH ? l->n - i : PS_BATCH;

		if ((rv = ps_upsert_batch(
		         in, pg, v, l, i, n, &created, &updated, err, errlen))
		    != CF_OK) {
			cf_pg_rollback(pg, NULL, 0);
			return (rv);
		}
	}
	if ((rv = cf_pg_commit(pg, err, errlen)) != CF_OK) {
		cf_pg_rollback(pg, NULL, 0);
		return (rv);
	}
	v->created = created;
	v->updated = updated;
	return (CF_OK);
}

/* vendors.last_sync_at (on success) and last_error. */
static void
ps_mark(const ps_job *j, cf_pg *pg, const ps_vendor *v)
{
	char        sql[512], err[256];
	const char *p[2] = { v->id, v->success ? NULL : v->error };

	snprintf(sql, sizeof(sql),
	    "UPDATE %s.vendors SET last_error = $2::text, last_sync_at = "
	    "CASE WHEN $2::text IS NULL THEN now() ELSE last_sync_at END "
	    "WHERE id = $1::bigint",
	    j->in->schema);
	if (cf_pg_exec_prepared(pg, sql, 2, p, NULL, err, sizeof(err))
	    != CF_OK) {
		cf_log_kv(CF_LOG_WARN, j->run->job, j->run->run_id,
		    "vendor status not recorded", "vendor", v->id, "error",
		    err, NULL);
	}
}

static void
ps_sync_vendor(ps_job *j, cf_pg *pg, ps_vendor *v)
{
	const ingest     *in    = j->in;
	const ps_adapter *ad    = ps_adapter_find(v->kind);
	cJSON            *creds = NULL;
	ingest_token      tok   = { 0 };
	plant_list        l     = { 0 };
	ingest_call       c;
	char              err[512], why[512];
	int               rv;

	err[0] = '\0';
	if (ad == NULL) {
		snprintf(v->error, sizeof(v->error),
		    "vendor %s: unknown kind \"%.40s\"", v->id, v->kind);
		goto out;
	}
	if ((rv = ingest_creds_open(
	         in, "vendors", v->id, v->sealed, &creds, err, sizeof(err)))
	    != CF_OK) {
		snprintf(v->error, sizeof(v->error), "%s", err);
		goto out;
	}
	for (const char *const *k = ad->creds; *k != NULL; k++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(creds, *k);
		if (!cJSON_IsString(x) || x->valuestring[0] == '\0') {
			snprintf(v->error, sizeof(v->error),
			    "%s: credentials lack \"%s\" (a %s vendor needs "
			    "%s, %s, %s, %s)",
			    v->kind, *k, v->kind, ad->creds[0], ad->creds[1],
			    ad->creds[2], ad->creds[3]);
			goto out;
		}
	}
	rv = ingest_token_load(
	    in, pg, "vendor", v->id, &tok, err, sizeof(err));
	if (rv == CF_EINVAL) {
		/* A token that does not open is only a lost cache. */
		cf_log_kv(CF_LOG_WARN, j->run->job, j->run->run_id,
		    "stored token ignored; logging in again", "vendor", v->id,
		    "error", err, NULL);
	} else if (rv != CF_OK) {
		snprintf(v->error, sizeof(v->error), "token store: %s", err);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.http     = in->http;
	c.vendor   = v->kind;
	c.base_url = v->base_url;
	c.creds    = creds;
	c.token    = &tok;
	c.cancel   = &in->stopping;
	rv         = ad->list(&c, &l, err, sizeof(err));
	if (tok.changed
	    && ingest_token_store(
	           in, pg, "vendor", v->id, &tok, why, sizeof(why))
	        != CF_OK) {
		cf_log_kv(CF_LOG_WARN, j->run->job, j->run->run_id,
		    "refreshed token not stored", "vendor", v->id, "error",
		    why, NULL);
	}
	if (rv != CF_OK) {
		snprintf(v->error, sizeof(v->error), "%s", err);
		goto out;
	}
	ps_dedupe(&l);
	v->synced = (int64_t) l.n;
	v->total  = l.total;
	if ((rv = ps_upsert(in, pg, v, &l, err, sizeof(err))) != CF_OK) {
		snprintf(
		    v->error, sizeof(v->error), "plants not stored: %s", err);
		v->synced = 0;
		goto out;
	}
	v->success = 1;
	if (l.short_pages > 0) {
		cf_log_kv(CF_LOG_INFO, j->run->job, j->run->run_id,
		    "a short page was asked again", "vendor", v->id, NULL);
	}
out:
	ps_mark(j, pg, v);
	if (v->success) {
		char s[24], cr[24], up[24];
		snprintf(s, sizeof(s), "%" PRId64, v->synced);
		snprintf(cr, sizeof(cr), "%" PRId64, v->created);
		snprintf(up, sizeof(up), "%" PRId64, v->updated);
		cf_log_kv(CF_LOG_INFO, j->run->job, j->run->run_id,
		    "vendor synced", "vendor", v->id, "kind", v->kind,
		    "synced", s, "created", cr, "updated", up, NULL);
	} else {
		cf_log_kv(CF_LOG_WARN, j->run->job, j->run->run_id,
		    "vendor failed", "vendor", v->id, "kind", v->kind, "error",
		    v->error, NULL);
	}
	plant_list_free(&l);
	ingest_token_free(&tok);
	ingest_json_wipe(creds);
}

/* One vendor, on one of ingest_parallel's threads. */
static void
ps_unit(void *arg, size_t i, cf_pg *pg, const char *pg_err)
{
	ps_job    *j = arg;
	ps_vendor *v = &j->v[i];

	if (pg == NULL) {
		snprintf(v->error, sizeof(v->error), "database: %s", pg_err);
	} else {
		ps_sync_vendor(j, pg, v);
	}
}

static int
ps_read_row(const PGresult *res, int i, void *elem)
{
	ps_vendor *v = elem;
	char **f[]   = { &v->id, &v->name, &v->kind, &v->base_url, &v->sealed,
		  &v->org_id, &v->org_name };

	return (ingest_pg_dups(res, i, 0, f, 7));
}

static int
ps_load(const ingest *in, cf_pg *pg, ps_vendor **out, size_t *n, char *err,
    size_t errlen)
{
	char  sql[512];
	void *v;
	int   rv;

	snprintf(sql, sizeof(sql),
	    "SELECT v.id, v.name, v.kind, v.base_url, v.credentials, "
	    "v.org_id, o.name FROM %s.vendors v JOIN %s.organizations o "
	    "ON o.id = v.org_id WHERE v.active ORDER BY v.id",
	    in->schema, in->schema);
	rv = ingest_rows_load(
	    pg, sql, sizeof(ps_vendor), ps_read_row, &v, n, err, errlen);
	*out = v;
	return (rv);
}

static void
ps_free(ps_vendor *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].name);
		free(v[i].kind);
		free(v[i].base_url);
		free(v[i].sealed);
		free(v[i].org_id);
		free(v[i].org_name);
	}
	free(v);
}

/* The seed's summary. */
static cJSON *
ps_summary(const ps_vendor *v, size_t n, int64_t ms, int *ok, int *bad)
{
	cJSON  *s      = cJSON_CreateObject(), *a;
	int64_t synced = 0, created = 0, updated = 0;

	*ok = *bad = 0;
	if (s == NULL) {
		return (NULL);
	}
	a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *r = cJSON_CreateObject();

		*ok += v[i].success;
		*bad += !v[i].success;
		synced += v[i].synced;
		created += v[i].created;
		updated += v[i].updated;
		cJSON_AddNumberToObject(
		    r, "vendorId", (double) strtoll(v[i].id, NULL, 10));
		cJSON_AddStringToObject(r, "vendorName", v[i].name);
		cJSON_AddNumberToObject(
		    r, "orgId", (double) strtoll(v[i].org_id, NULL, 10));
		cJSON_AddStringToObject(r, "orgName", v[i].org_name);
		cJSON_AddBoolToObject(r, "success", v[i].success);
		cJSON_AddNumberToObject(r, "synced", (double) v[i].synced);
		cJSON_AddNumberToObject(r, "created", (double) v[i].created);
		cJSON_AddNumberToObject(r, "updated", (double) v[i].updated);
		cJSON_AddNumberToObject(r, "total", (double) v[i].total);
		if (v[i].success) {
			cJSON_AddNullToObject(r, "error");
		} else {
			cJSON_AddStringToObject(r, "error", v[i].error);
		}
		cJSON_AddItemToArray(a, r);
	}
	cJSON_AddNumberToObject(s, "totalVendors", (double) n);
	cJSON_AddNumberToObject(s, "successful", *ok);
	cJSON_AddNumberToObject(s, "failed", *bad);
	cJSON_AddNumberToObject(s, "totalPlantsSynced", (double) synced);
	cJSON_AddNumberToObject(s, "totalPlantsCreated", (double) created);
	cJSON_AddNumberToObject(s, "totalPlantsUpdated", (double) updated);
	cJSON_AddNumberToObject(s, "duration", (double) ms);
	cJSON_AddItemToObject(s, "results", a);
	return (s);
}

int
plant_sync_run(cf_run *run, cf_job_result *res)
{
	const ingest *in = run->ctx;
	int64_t       t0 = cf_time_now_ms();
	cf_pg        *pg;
	ps_vendor    *v = NULL;
	size_t        n = 0;
	ps_job        j;
	cJSON        *sum;
	char          err[512];
	int           rv, ok, bad;

	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK
	    || (rv = ps_load(in, pg, &v, &n, err, sizeof(err))) != CF_OK) {
		ps_free(v, n);
		cf_result_fail(res, "plant-sync: vendors not read: %s", err);
		return (rv);
	}
	memset(&j, 0, sizeof(j));
	j.run = run;
	j.in  = in;
	j.v   = v;
	j.n   = n;
	ingest_parallel(
	    run, in, n, (int) in->cfg->plant_concurrency, ps_unit, &j);
	/* Vendors no thread took: the run was cancelled first. */
	for (size_t i = 0; i < n; i++) {
		if (!v[i].success && v[i].error[0] == '\0') {
			snprintf(v[i].error, sizeof(v[i].error),
			    "not synced: the run was cancelled (timeout or "
			    "shutdown)");
		}
	}
	sum = ps_summary(v, n, cf_time_now_ms() - t0, &ok, &bad);
	if (sum == NULL || cf_result_json(res, sum) != CF_OK) {
		ps_free(v, n);
		cf_result_fail(res, "plant-sync: out of memory");
		return (CF_ENOMEM);
	}
	if (n > 0 && ok == 0) {
		cf_result_fail(res,
		    "plant-sync: all %zu vendors failed; "
		    "first: %s",
		    n, v[0].error);
		ps_free(v, n);
		return (CF_EPROTO);
	}
	ps_free(v, n);
	return (CF_OK);
}
