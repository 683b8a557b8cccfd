/*
 * solaredge.c - SolarEdge Monitoring API (monitoringapi.solaredge.com),
 * simulated: site list, Site Energy - Detailed, Site Power - Detailed.
 *
 * Documentation: "SolarEdge API" (Monitoring Server API guide, PDF),
 * https://knowledge-center.solaredge.com/sites/kc/files/
 * se_monitoring_api.pdf - sections "Site List", "Site Energy -
 * Detailed" (energyDetails) and "Site Power - Detailed" (powerDetails),
 * "Error Handling", "Usage Limitations", "Time Unit".
 *
 * Auth, as documented: the account's API key as the api_key query
 * parameter; a missing or wrong key is HTTP 403. Times are
 * "YYYY-MM-DD hh:mm:ss" in the site's time zone (every simulated site is
 * in Etc/UTC). energyDetails takes timeUnit QUARTER_OF_AN_HOUR, HOUR or
 * DAY (the first two limited to one month, DAY to one year, as
 * documented; WEEK, MONTH and YEAR are not simulated) and meters, a
 * comma list of PRODUCTION, CONSUMPTION, SELFCONSUMPTION, FEEDIN,
 * PURCHASED (default: all). A period not over yet is listed without a
 * "value", as the API does for missing data. The guide gives statuses,
 * not error bodies: errors here are {"String": "<message>"}.
 *
 * Routes (under /solaredge):
 *	GET /sites/list
 *	GET /site/{siteId}/energyDetails
 *	GET /site/{siteId}/powerDetails
 * Sites are 2001 ... 2000 + CRONFLEET_SIM_SITES.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

#define SE_BASE 2001
#define SE_MONTH (31 * 86400)

static void
se_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "String", msg);
	vs_reply_json(out, status, o);
}

static const char *const se_meters[] = { "Production", "Consumption",
	"SelfConsumption", "FeedIn", "Purchased" };

/* Wh (or average W) of meter m over [t0, t1) in 15-minute buckets. */
static double
se_value(vs_sim *sim, int64_t site, int m, int64_t t0, int64_t t1)
{
	double sum = 0;

	for (int64_t t = t0; t < t1; t += VS_BUCKET) {
		double p = vs_solar_w(sim, VS_SOLAREDGE, (uint64_t) site, t);
		double c = vs_load_w(sim, VS_SOLAREDGE, (uint64_t) site, t);
		double self = p < c ? p : c, v;
		switch (m) {
		case 0:
			v = p;
			break;
		case 1:
			v = c;
			break;
		case 2:
			v = self;
			break;
		case 3:
			v = p - self;
			break;
		default:
			v = c - self;
			break;
		}
		sum += v;
	}
	return (sum);
}

static void
se_sites(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *s, *a;
	int    n = vs_partial(rq, out, (int) sim->cfg->sites);
	char   date[32];

	s = cJSON_AddObjectToObject(o, "sites");
	cJSON_AddNumberToObject(s, "count", (double) sim->cfg->sites);
	a = cJSON_AddArrayToObject(s, "site");
	for (int k = 0; k < n; k++) {
		cJSON *e = cJSON_CreateObject(), *loc;
		char   name[40];
		snprintf(name, sizeof(name), "Sim Site %d", k + 1);
		cJSON_AddNumberToObject(e, "id", SE_BASE + k);
		cJSON_AddStringToObject(e, "name", name);
		cJSON_AddNumberToObject(e, "accountId", 900);
		cJSON_AddStringToObject(e, "status", "Active");
		cJSON_AddNumberToObject(e, "peakPower",
		    vs_round(2.0
		            + 8.0
		                * vs_unit(sim, VS_SOLAREDGE,
		                    (uint64_t) (SE_BASE + k), 0, 1),
		        2));
		vs_datetime(date, sizeof(date), sim->cfg->epoch_s);
		date[10] = '\0';
		cJSON_AddStringToObject(e, "installationDate", date);
		loc = cJSON_AddObjectToObject(e, "location");
		cJSON_AddStringToObject(loc, "country", "France");
		cJSON_AddStringToObject(loc, "timeZone", "Etc/UTC");
		cJSON_AddItemToArray(a, e);
	}
	vs_reply_json(out, 200, o);
}

static void
se_details(
    vs_sim *sim, const vs_req *rq, vs_resp *out, const char *id, bool power)
{
	const char *st = rq->query(rq->conn, "startTime");
	const char *et = rq->query(rq->conn, "endTime");
	const char *tu = power ? NULL : rq->query(rq->conn, "timeUnit");
	const char *ms = rq->query(rq->conn, "meters");
	int64_t     site, t0, t1, step = VS_BUCKET, limit = SE_MONTH;
	bool        want[5];
	cJSON      *o, *d, *meters;
	char        date[32];
	int         nvals, k;

	if (vs_int_parse(id, 1, 999999999, &site) != 0
	    || !vs_site_ok(sim, site, SE_BASE)) {
		se_error(rq, out, 403,
		    "site "
		    "is not accessible with this api_key");
		return;
	}
	if (st == NULL || et == NULL || vs_time_parse(st, &t0) != 0
	    || vs_time_parse(et, &t1) != 0) {
		se_error(rq, out, 400,
		    "startTime and endTime are required, as "
		    "'YYYY-MM-DD hh:mm:ss'");
		return;
	}
	if (tu == NULL || strcmp(tu, "QUARTER_OF_AN_HOUR") == 0) {
		step = VS_BUCKET;
	} else if (strcmp(tu, "HOUR") == 0) {
		step = 3600;
	} else if (strcmp(tu, "DAY") == 0) {
		step  = 86400;
		limit = 366 * 86400;
	} else {
		se_error(rq, out, 400,
		    "timeUnit: the simulator serves QUARTER_OF_AN_HOUR, HOUR "
		    "and DAY");
		return;
	}
	if (t1 < t0 || t1 - t0 > limit) {
		se_error(rq, out, 403,
		    "The requested period exceeds the allowed range for this "
		    "timeUnit");
		return;
	}
	for (k = 0; k < 5; k++) {
		want[k] = ms == NULL;
	}
	for (const char *p = ms; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		for (k = 0; k < 5; k++) {
			if (strlen(se_meters[k]) == n
			    && strncasecmp(p, se_meters[k], n) == 0) {
				want[k] = true;
				break;
			}
		}
		if (k == 5) {
			se_error(rq, out, 400,
			    "meters: expected PRODUCTION, CONSUMPTION, "
			    "SELFCONSUMPTION, FEEDIN, PURCHASED");
			return;
		}
		p += n + (p[n] == ',');
	}
	t0 -= t0 % step;
	o = cJSON_CreateObject();
	d = cJSON_AddObjectToObject(
	    o, power ? "powerDetails" : "energyDetails");
	cJSON_AddStringToObject(d, "timeUnit",
	    step == VS_BUCKET  ? "QUARTER_OF_AN_HOUR"
	        : step == 3600 ? "HOUR"
	                       : "DAY");
	cJSON_AddStringToObject(d, "unit", power ? "W" : "Wh");
	meters = cJSON_AddArrayToObject(d, "meters");
	nvals  = (int) ((t1 - t0 + step - 1) / step);
	if (t1 == t0) {
		nvals = 1;
	}
	nvals = vs_partial(rq, out, nvals);
	for (k = 0; k < 5; k++) {
		cJSON *m, *vals;
		if (!want[k]) {
			continue;
		}
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", se_meters[k]);
		vals = cJSON_AddArrayToObject(m, "values");
		for (int i = 0; i < nvals; i++) {
			int64_t t = t0 + (int64_t) i * step;
			cJSON  *v = cJSON_CreateObject();
			cJSON_AddStringToObject(
			    v, "date", vs_datetime(date, sizeof(date), t));
			if (t + step <= rq->now) {
				double x = se_value(sim, site, k, t, t + step);
				/* Power is the 15-minute average. */
				cJSON_AddNumberToObject(v, "value",
				    power ? x : x * VS_BUCKET / 3600.0);
			}
			cJSON_AddItemToArray(vals, v);
		}
		cJSON_AddItemToArray(meters, m);
	}
	vs_reply_json(out, 200, o);
}

static void
se_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  which, rv;

	if (vs_match(rq->path, "/sites/list", caps, 0)) {
		which      = 0;
		out->route = "GET /sites/list";
	} else if (vs_match(rq->path, "/site/{}/energyDetails", caps, 1)) {
		which      = 1;
		out->route = "GET /site/{siteId}/energyDetails";
	} else if (vs_match(rq->path, "/site/{}/powerDetails", caps, 1)) {
		which      = 2;
		out->route = "GET /site/{siteId}/powerDetails";
	} else {
		out->route = "(unrouted)";
		se_error(rq, out, 404, "Not Found");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		se_error(rq, out, 405, "Method Not Allowed");
		return;
	}
	rv = vs_key_check(sim, rq, out, rq->query(rq->conn, "api_key"),
	    sim->cfg->solaredge_api_key);
	if (rv != VS_AUTH_OK) {
		se_error(rq, out, 403,
		    rv == VS_AUTH_MISSING ? "Invalid token: api_key is missing"
		        : rv == VS_AUTH_INVALID
		        ? "Invalid token"
		        : "Invalid token: the api_key was revoked or expired");
		return;
	}
	if (which == 0) {
		se_sites(sim, rq, out);
	} else {
		se_details(sim, rq, out, caps[0], which == 2);
	}
}

const vs_vendor vs_solaredge = {
	.name   = "solaredge",
	.handle = se_handle,
	.error  = se_error,
};
