/*
 * solaredge.c - SolarEdge Monitoring Server API: a site's detailed
 * energy and power as measurements (energy-sync).
 *
 * Documentation: "SolarEdge Monitoring Server API" (the API guide, PDF),
 * https://knowledge-center.solaredge.com/sites/kc/files/se_monitoring_api.pdf
 * - "Site Energy - Detailed" (GET /site/{siteId}/energyDetails),
 * "Site Power - Detailed" (GET /site/{siteId}/powerDetails), "Site List"
 * (GET /sites/list, for the site's time zone) and "Usage Limitations"
 * (quarter-hour and hourly data: at most one month per request; 300
 * requests a day per site).
 *
 * Auth: the account's API key as the api_key query parameter (a static
 * key: nothing to refresh; a refused key is HTTP 403).
 *
 * Credentials: {api_key}.
 *
 * Requests: chunks of 28 days (under a month, whatever the month),
 * timeUnit=QUARTER_OF_AN_HOUR; per chunk one energyDetails (all meters)
 * and one powerDetails (meters=PRODUCTION). Times are local to the site
 * ("YYYY-MM-DD hh:mm:ss"): the site's time zone is read once per process
 * from /sites/list (location.timeZone) and converted with cf_tz; a site
 * not listed is taken as UTC, with a warning.
 *
 * Mapping (Wh per quarter hour; a period not over has no "value" and is
 * skipped):
 *	energyDetails Production      -> production_wh
 *	              Consumption     -> consumption_wh
 *	              SelfConsumption -> self_consumption_wh
 *	              FeedIn          -> grid_export_wh
 *	              Purchased       -> grid_import_wh
 *	powerDetails  Production      -> power_w (the quarter's average)
 * No battery meters in these two reports: no battery rows.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "cf_tz.h"
#include "energy.h"

#define SE_SPAN_MS (28 * 24 * 3600 * 1000LL)

static const char *const se_fields[] = { "String", "message", NULL };

/* ---- the site's time zone, once per process ----------------------------- */

#define SE_TZ_CACHE 64

static pthread_mutex_t se_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char key[320]; /* base_url "|" site id */
	char tz[64];
} se_tz_cache[SE_TZ_CACHE];
static int se_tz_n;

static int
se_tz_cached(const char *key, char *tz, size_t len)
{
	int found = 0;

	pthread_mutex_lock(&se_mu);
	for (int i = 0; i < se_tz_n && !found; i++) {
		if (strcmp(se_tz_cache[i].key, key) == 0) {
			snprintf(tz, len, "%s", se_tz_cache[i].tz);
			found = 1;
		}
	}
	pthread_mutex_unlock(&se_mu);
	return (found);
}

static void
se_tz_remember(const char *key, const char *tz)
{
	pthread_mutex_lock(&se_mu);
	/* Full: start over (a cache, not a record). */
	if (se_tz_n == SE_TZ_CACHE) {
		se_tz_n = 0;
	}
	snprintf(
	    se_tz_cache[se_tz_n].key, sizeof(se_tz_cache[0].key), "%s", key);
	snprintf(se_tz_cache[se_tz_n].tz, sizeof(se_tz_cache[0].tz), "%s", tz);
	se_tz_n++;
	pthread_mutex_unlock(&se_mu);
}

/* GET path?api_key=...&<more> into *doc. */
static int
se_get(energy_fetch *f, const char *path, const char *const *more,
    cf_http_response *rs, cJSON **doc, char *err, size_t errlen)
{
	ingest_call *c   = f->call;
	const char  *key = ingest_cred(c, "api_key");
	const char  *pairs[16];
	char         url[2048];
	int          n = 0, rv;

	if (key == NULL) {
		cf_errf(
		    err, errlen, "solaredge: the credentials lack api_key");
		return (CF_EINVAL);
	}
	pairs[n++] = "api_key";
	pairs[n++] = key;
	for (int i = 0; more[i] != NULL && n < 14; i++) {
		pairs[n++] = more[i];
	}
	pairs[n] = NULL;
	if ((rv = ingest_url_query(url, sizeof(url), c->base_url, path, pairs))
	    != CF_OK) {
		cf_errf(err, errlen, "solaredge: request too long");
		return (rv);
	}
	rv = energy_get(c, url, NULL, se_fields, rs, doc, err, errlen);
	memset(url, 0, sizeof(url)); /* it held the key */
	return (rv);
}

/* The site's IANA zone into tz ("UTC" when the list does not say). */
static int
se_site_tz(energy_fetch *f, char *tz, size_t len, char *err, size_t errlen)
{
	char             key[320];
	const char      *more[] = { "size", "100", NULL };
	cf_http_response rs     = { 0 };
	cJSON           *doc    = NULL, *site, *s;
	int              rv, found = 0;

	snprintf(key, sizeof(key), "%s|%s", f->call->base_url, f->site_id);
	if (se_tz_cached(key, tz, len)) {
		return (CF_OK);
	}
	f->requests++;
	if ((rv = se_get(f, "/sites/list", more, &rs, &doc, err, errlen))
	    != CF_OK) {
		goto out;
	}
	site = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "sites"), "site");
	cJSON_ArrayForEach(s, site)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
		const char  *z  = ingest_json_str(
		      cJSON_GetObjectItemCaseSensitive(s, "location"),
		      "timeZone");
		char ids[32];
		if (!cJSON_IsNumber(id)) {
			continue;
		}
		snprintf(ids, sizeof(ids), "%.0f", id->valuedouble);
		if (strcmp(ids, f->site_id) == 0 && z != NULL
		    && z[0] != '\0') {
			snprintf(tz, len, "%s", z);
			found = 1;
			break;
		}
	}
	if (found) {
		se_tz_remember(key, tz);
	} else {
		cf_log_kv(CF_LOG_WARN, NULL, NULL,
		    "solaredge: site not in /sites/list; its times taken as "
		    "UTC",
		    "site", f->site_id, NULL);
		snprintf(tz, len, "UTC");
	}
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}

/* ---- the reports ---------------------------------------------------------
 */

typedef struct se_ctx {
	cf_tz *tz;
} se_ctx;

static int64_t
se_off_ms(const se_ctx *x, int64_t utc_ms)
{
	return ((int64_t) cf_tz_offset(x->tz, utc_ms) * 1000);
}

/* Local wall time text ("YYYY-MM-DD hh:mm:ss") of a UTC instant. */
static void
se_local_text(const se_ctx *x, int64_t utc_ms, char *buf, size_t len)
{
	cf_civil c;

	cf_civil_from_ms(utc_ms + se_off_ms(x, utc_ms), &c);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month,
	    c.day, c.hour, c.minute, c.second);
}

/* A local wall time (parsed as if UTC) back to UTC. */
static int64_t
se_utc(const se_ctx *x, int64_t local_ms)
{
	return (local_ms - se_off_ms(x, local_ms - se_off_ms(x, local_ms)));
}

static int
se_meter(const char *type)
{
	static const struct {
		const char *type;
		int         m;
	} map[] = {
		{ "Production", EM_PRODUCTION },
		{ "Consumption", EM_CONSUMPTION },
		{ "SelfConsumption", EM_SELF_CONSUMPTION },
		{ "FeedIn", EM_GRID_EXPORT },
		{ "Purchased", EM_GRID_IMPORT },
	};

	for (size_t i = 0; type != NULL && i < sizeof(map) / sizeof(map[0]);
	     i++) {
		if (strcmp(type, map[i].type) == 0) {
			return (map[i].m);
		}
	}
	return (-1);
}

/* One report (energyDetails or powerDetails) of the chunk. */
static int
se_report(energy_fetch *f, const se_ctx *x, energy_chunk *ch, int power,
    char *err, size_t errlen)
{
	char        path[256], st[32], et[32];
	const char *e_more[] = { "timeUnit", "QUARTER_OF_AN_HOUR", "startTime",
		st, "endTime", et, NULL };
	const char *p_more[]
	    = { "meters", "PRODUCTION", "startTime", st, "endTime", et, NULL };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL, *meters, *m;
	int              rv;

	se_local_text(x, ch->t0, st, sizeof(st));
	se_local_text(x, ch->t1, et, sizeof(et));
	snprintf(path, sizeof(path), "/site/%s/%s", f->site_id,
	    power ? "powerDetails" : "energyDetails");
	f->requests++;
	if ((rv = se_get(
	         f, path, power ? p_more : e_more, &rs, &doc, err, errlen))
	    != CF_OK) {
		goto out;
	}
	meters = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        doc, power ? "powerDetails" : "energyDetails"),
	    "meters");
	if (!cJSON_IsArray(meters)) {
		cf_errf(err, errlen, "%s: the answer has no %s.meters list",
		    rs.what, power ? "powerDetails" : "energyDetails");
		rv = CF_EPROTO;
		goto out;
	}
	cJSON_ArrayForEach(m, meters)
	{
		int    k = se_meter(ingest_json_str(m, "type")), metric;
		cJSON *v;
		if (k < 0 || (power && k != EM_PRODUCTION)) {
			continue;
		}
		metric = power ? EM_POWER : k;
		cJSON_ArrayForEach(
		    v, cJSON_GetObjectItemCaseSensitive(m, "values"))
		{
			int64_t local, t;
			double  val = ingest_json_num(v, "value", NAN);
			if (ingest_time_parse(
			        ingest_json_str(v, "date"), &local)
			    != CF_OK) {
				cf_errf(err, errlen,
				    "%s: a value without a valid date",
				    rs.what);
				rv = CF_EPROTO;
				goto out;
			}
			if (isnan(val)) {
				continue; /* not over yet, or no data */
			}
			t = se_utc(x, local);
			energy_chunk_put(
			    ch, metric, t, t + ENERGY_BUCKET_MS, val);
		}
	}
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}

static int
se_chunk(
    energy_fetch *f, void *ctx, energy_chunk *ch, char *err, size_t errlen)
{
	int rv;

	if ((rv = se_report(f, ctx, ch, 0, err, errlen)) != CF_OK) {
		return (rv);
	}
	return (se_report(f, ctx, ch, 1, err, errlen));
}

int
energy_solaredge_fetch(energy_fetch *f, char *err, size_t errlen)
{
	se_ctx x = { 0 };
	char   tz[64], why[256];
	int    rv;

	if (!energy_id_ok(f->site_id)) {
		cf_errf(err, errlen, "solaredge: invalid site_id (a site id)");
		return (CF_EINVAL);
	}
	if (f->since_ms >= f->until_ms) {
		return (CF_OK);
	}
	if ((rv = se_site_tz(f, tz, sizeof(tz), err, errlen)) != CF_OK) {
		return (rv);
	}
	if ((rv = cf_tz_open(&x.tz, tz, why, sizeof(why))) != CF_OK) {
		cf_errf(err, errlen, "solaredge: site %s: time zone: %s",
		    f->site_id, why);
		return (rv);
	}
	rv = energy_chunks(
	    f, SE_SPAN_MS, EM_BIT(EM_PRODUCTION), se_chunk, &x, err, errlen);
	cf_tz_close(x.tz);
	return (rv);
}
