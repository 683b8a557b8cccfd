/*
 * utilityapi.c - UtilityAPI v2 (utilityapi.com/api/v2), simulated:
 * meters and interval data.
 *
 * Documentation: https://utilityapi.com/docs/api/meters and
 * https://utilityapi.com/docs/api/intervals (object shapes, the `next`
 * pagination link), https://utilityapi.com/docs/api (authentication).
 *
 * Auth, as documented: `Authorization: Bearer <API token>` (a static
 * token: nothing to refresh; expired/revoked faults answer 401). Lists
 * page with a `next` URL (null on the last page). Errors here are
 * {"error": "<message>"}.
 *
 * Routes (under /utilityapi):
 *	GET /api/v2/meters
 *	GET /api/v2/intervals?meters=<uid,uid>&start=&end=&limit=&next=
 * An interval object is one meter's block: {uid, meter_uid, base,
 * readings: [{start, end, kwh, datapoints: [{type, unit, value}]}]},
 * 15-minute readings of consumption, those ended by now only. start
 * defaults to seven days before now, end to now; limit (readings per
 * page) to 1000, at most 10000; `next` walks meter by meter. Meter uids
 * are "5001" ... (CRONFLEET_SIM_SITES of them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define UA_BASE 5001

static void
ua_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "error", msg);
	vs_reply_json(out, status, o);
}

static cJSON *
ua_base(int64_t uid)
{
	cJSON *b = cJSON_CreateObject(), *mn;
	char   s[32];

	snprintf(s, sizeof(s), "SA-%" PRId64, uid);
	cJSON_AddStringToObject(b, "service_identifier", s);
	cJSON_AddStringToObject(b, "service_tariff", "E-TOU-C");
	cJSON_AddStringToObject(b, "service_class", "residential");
	mn = cJSON_AddArrayToObject(b, "meter_numbers");
	snprintf(s, sizeof(s), "M%" PRId64, uid * 7919);
	cJSON_AddItemToArray(mn, cJSON_CreateString(s));
	return (b);
}

static void
ua_meters(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *a;
	int    n = vs_partial(rq, out, (int) sim->cfg->sites);
	char   s[40];

	a = cJSON_AddArrayToObject(o, "meters");
	for (int k = 0; k < n; k++) {
		cJSON *m = cJSON_CreateObject();
		snprintf(s, sizeof(s), "%d", UA_BASE + k);
		cJSON_AddStringToObject(m, "uid", s);
		cJSON_AddStringToObject(m, "authorization_uid", "9001");
		cJSON_AddStringToObject(m, "utility", "PG&E");
		cJSON_AddStringToObject(m, "status", "updated");
		cJSON_AddBoolToObject(m, "is_archived", 0);
		cJSON_AddStringToObject(
		    m, "created", vs_rfc3339(s, sizeof(s), sim->cfg->epoch_s));
		cJSON_AddItemToObject(m, "base", ua_base(UA_BASE + k));
		cJSON_AddItemToArray(a, m);
	}
	cJSON_AddNullToObject(o, "next");
	vs_reply_json(out, 200, o);
}

static void
ua_intervals(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *ms = rq->query(rq->conn, "meters");
	const char *st = rq->query(rq->conn, "start");
	const char *en = rq->query(rq->conn, "end");
	const char *li = rq->query(rq->conn, "limit");
	const char *nx = rq->query(rq->conn, "next");
	int64_t     meters[64], t0, t1, limit = 1000, mi = 0, off = 0;
	int         nm = 0, n, avail;
	cJSON      *o, *a, *blk, *rd;
	char        s[40], link[1024];

	/* The meters, in the order given (default: all). */
	if (ms == NULL || *ms == '\0') {
		for (int k = 0; k < sim->cfg->sites && k < 64; k++) {
			meters[nm++] = UA_BASE + k;
		}
	} else {
		for (const char *p = ms; *p != '\0' && nm < 64;) {
			size_t n2 = strcspn(p, ",");
			char   one[24];
			if (n2 == 0 || n2 >= sizeof(one)) {
				ua_error(rq, out, 400,
				    "meters: expected uids, comma-separated");
				return;
			}
			memcpy(one, p, n2);
			one[n2] = '\0';
			if (vs_int_parse(one, 1, 999999999, &meters[nm]) != 0
			    || !vs_site_ok(sim, meters[nm], UA_BASE)) {
				snprintf(link, sizeof(link),
				    "meters: no meter with uid '%s'", one);
				ua_error(rq, out, 404, link);
				return;
			}
			nm++;
			p += n2 + (p[n2] == ',');
		}
	}
	if (en == NULL) {
		t1 = rq->now;
	} else if (vs_time_parse(en, &t1) != 0) {
		ua_error(rq, out, 400, "end: expected an ISO 8601 datetime");
		return;
	}
	if (st == NULL) {
		t0 = t1 - 7 * 86400;
	} else if (vs_time_parse(st, &t0) != 0) {
		ua_error(rq, out, 400, "start: expected an ISO 8601 datetime");
		return;
	}
	if (li != NULL && vs_int_parse(li, 1, 10000, &limit) != 0) {
		ua_error(rq, out, 400, "limit: expected 1 to 10000");
		return;
	}
	if (nx != NULL
	    && (sscanf(nx, "m%" SCNd64 "o%" SCNd64, &mi, &off) != 2 || mi < 0
	        || mi >= nm || off < 0)) {
		ua_error(rq, out, 400, "next: not a cursor this API gave");
		return;
	}
	t0 -= ((t0 % VS_BUCKET) + VS_BUCKET) % VS_BUCKET;
	if (t1 > rq->now) {
		t1 = rq->now;
	}
	avail = t1 > t0 ? (int) ((t1 - t0) / VS_BUCKET) : 0;

	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "intervals");
	n = avail - (int) off;
	if (n > limit) {
		n = (int) limit;
	}
	if (n < 0) {
		n = 0;
	}
	blk = cJSON_CreateObject();
	snprintf(s, sizeof(s), "%" PRId64 "-%" PRId64, meters[mi], t0);
	cJSON_AddStringToObject(blk, "uid", s);
	snprintf(s, sizeof(s), "%" PRId64, meters[mi]);
	cJSON_AddStringToObject(blk, "meter_uid", s);
	cJSON_AddStringToObject(blk, "authorization_uid", "9001");
	cJSON_AddItemToObject(blk, "base", ua_base(meters[mi]));
	cJSON_AddItemToArray(a, blk);
	rd = cJSON_AddArrayToObject(blk, "readings");
	{
		/* A partial page keeps its next link: readings are missing. */
		int send = vs_partial(rq, out, n);
		for (int i = 0; i < send; i++) {
			int64_t t   = t0 + (off + i) * VS_BUCKET;
			cJSON  *r   = cJSON_CreateObject(), *dps, *dp;
			double  kwh = vs_load_w(sim, VS_UTILITYAPI,
			                  (uint64_t) meters[mi], t)
			    / 4000.0;
			cJSON_AddStringToObject(
			    r, "start", vs_rfc3339(s, sizeof(s), t));
			cJSON_AddStringToObject(
			    r, "end", vs_rfc3339(s, sizeof(s), t + VS_BUCKET));
			cJSON_AddNumberToObject(r, "kwh", kwh);
			dps = cJSON_AddArrayToObject(r, "datapoints");
			dp  = cJSON_CreateObject();
			cJSON_AddStringToObject(dp, "type", "kwh");
			cJSON_AddStringToObject(dp, "unit", "kwh");
			cJSON_AddNumberToObject(dp, "value", kwh);
			cJSON_AddStringToObject(dp, "direction", "forward");
			cJSON_AddItemToArray(dps, dp);
			cJSON_AddItemToArray(rd, r);
		}
	}
	/* The next page: more of this meter, else the next meter. */
	if (off + n < avail) {
		off += n;
	} else {
		mi++;
		off = 0;
	}
	if (mi < nm) {
		char st0[40], en0[40];
		snprintf(link, sizeof(link),
		    "%s/api/v2/"
		    "intervals?meters=%s&start=%s&end=%s&limit=%" PRId64
		    "&next=m%" PRId64 "o%" PRId64,
		    rq->base, ms != NULL ? ms : "",
		    vs_rfc3339(st0, sizeof(st0), t0),
		    vs_rfc3339(en0, sizeof(en0), t1), limit, mi, off);
		cJSON_AddStringToObject(o, "next", link);
	} else {
		cJSON_AddNullToObject(o, "next");
	}
	vs_reply_json(out, 200, o);
}

static void
ua_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  which, rv;

	if (vs_match(rq->path, "/api/v2/meters", caps, 0)) {
		which      = 0;
		out->route = "GET /api/v2/meters";
	} else if (vs_match(rq->path, "/api/v2/intervals", caps, 0)) {
		which      = 1;
		out->route = "GET /api/v2/intervals";
	} else {
		out->route = "(unrouted)";
		ua_error(rq, out, 404, "Not found");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		ua_error(rq, out, 405, "Method not allowed");
		return;
	}
	rv = vs_key_check(sim, rq, out, vs_auth_param(rq, "Bearer"),
	    sim->cfg->utilityapi_token);
	if (rv != VS_AUTH_OK) {
		out->www_auth = "Bearer realm=\"utilityapi\"";
		ua_error(rq, out, 401,
		    rv == VS_AUTH_MISSING
		        ? "Missing API token (Authorization: Bearer)"
		        : rv == VS_AUTH_INVALID
		        ? "Invalid API token"
		        : "API token expired or revoked");
		return;
	}
	if (which == 0) {
		ua_meters(sim, rq, out);
	} else {
		ua_intervals(sim, rq, out);
	}
}

const vs_vendor vs_utilityapi = {
	.name   = "utilityapi",
	.handle = ua_handle,
	.error  = ua_error,
};
