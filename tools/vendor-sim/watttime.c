/*
 * watttime.c - WattTime API v3, simulated: login, then forecast.
 *
 * Documentation: https://docs.watttime.org (API v3 reference: /login,
 * /v3/forecast, rate limits), https://watttime.org/data-science/
 * data-signals/ (signal types and units).
 *
 * Auth, as documented: GET /login with HTTP Basic username:password
 * answers {"token": "<JWT>"}, valid 30 minutes at WattTime (here:
 * CRONFLEET_SIM_TOKEN_TTL); data calls carry `Authorization: Bearer
 * <token>`; there is no refresh: log in again. The documented limit is
 * 3,000 requests per rolling 5 minutes (429 beyond); the simulator
 * counts per 5-minute bucket of virtual time (CRONFLEET_SIM_WATTTIME_
 * RATE_LIMIT) and, so that a client can see the limit coming, sends
 * X-RateLimit-Limit and X-RateLimit-Remaining (the simulator's own
 * headers, not WattTime's). Errors are {"error": ..., "message": ...}.
 *
 * Routes (under /watttime):
 *	GET /login
 *	GET /v3/forecast?region=&signal_type=co2_moer|co2_aoer&horizon_hours=
 * The forecast is generated every 5 minutes (generated_at = now rounded
 * down); data holds 5-minute points {point_time, value} for
 * horizon_hours (default 24, 0-72) from generated_at; units
 * lbs_co2_per_mwh. Any region of capitals, digits and '_' exists.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void
wt_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "error",
	    status == 401       ? "Unauthorized"
	        : status == 403 ? "Forbidden"
	        : status == 429 ? "Too Many Requests"
	        : status == 404 ? "Not Found"
	        : status == 400 ? "Bad Request"
	                        : "Internal Server Error");
	cJSON_AddStringToObject(o, "message", msg);
	vs_reply_json(out, status, o);
}

/*
 * Counts the request in the current 5-minute window: the remaining
 * count, or -1 when over the limit.
 */
static int64_t
wt_rate(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	int64_t b = rq->now / 300, left;
	char    v[24];

	pthread_mutex_lock(&sim->mu);
	if (sim->rl_bucket != b) {
		sim->rl_bucket = b;
		sim->rl_count  = 0;
	}
	left = sim->cfg->watttime_rate_limit - ++sim->rl_count;
	pthread_mutex_unlock(&sim->mu);
	snprintf(
	    v, sizeof(v), "%lld", (long long) sim->cfg->watttime_rate_limit);
	vs_reply_header(out, "X-RateLimit-Limit", v);
	snprintf(v, sizeof(v), "%lld", (long long) (left > 0 ? left : 0));
	vs_reply_header(out, "X-RateLimit-Remaining", v);
	if (left < 0) {
		out->retry_after = (int) (300 - rq->now % 300);
		return (-1);
	}
	return (left);
}

static void
wt_login(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char    user[128], pass[128];
	char   *tok;
	int64_t exp;
	cJSON  *o;

	if (vs_basic(rq, user, sizeof(user), pass, sizeof(pass)) != 0
	    || !vs_secret_eq(user, sim->cfg->watttime_user)
	    || !vs_secret_eq(pass, sim->cfg->watttime_password)) {
		out->www_auth = "Basic realm=\"watttime\"";
		wt_error(rq, out, 401, "invalid username or password");
		return;
	}
	if (vs_grant_check(sim, rq, out) != VS_AUTH_OK) {
		wt_error(rq, out, 403, "account access has been revoked");
		return;
	}
	if ((tok = vs_token_issue(
	         sim, rq, VS_TOKEN_ACCESS, true, user, false, &exp))
	    == NULL) {
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", tok);
	free(tok);
	vs_reply_json(out, 200, o);
}

static void
wt_forecast(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *region = rq->query(rq->conn, "region");
	const char *sig    = rq->query(rq->conn, "signal_type");
	const char *hh     = rq->query(rq->conn, "horizon_hours");
	int64_t     hours  = 24, gen;
	cJSON      *o, *d, *m, *model;
	char        t[40];
	int         n;
	double      k;

	if (region == NULL || *region == '\0' || strlen(region) > 40) {
		wt_error(rq, out, 400, "region is required");
		return;
	}
	for (const char *p = region; *p != '\0'; p++) {
		if (!isupper((unsigned char) *p)
		    && !isdigit((unsigned char) *p) && *p != '_') {
			wt_error(rq, out, 400,
			    "region: unknown region abbreviation");
			return;
		}
	}
	if (sig == NULL
	    || (strcmp(sig, "co2_moer") != 0
	        && strcmp(sig, "co2_aoer") != 0)) {
		wt_error(rq, out, 400,
		    "signal_type: the simulator serves co2_moer and co2_aoer");
		return;
	}
	if (hh != NULL && vs_int_parse(hh, 0, 72, &hours) != 0) {
		wt_error(rq, out, 400, "horizon_hours: expected 0 to 72");
		return;
	}
	gen = rq->now - rq->now % 300;
	/* Marginal emissions run above the average: a fixed factor. */
	k = (strcmp(sig, "co2_moer") == 0 ? 1.6 : 1.0) * 2.20462;
	o = cJSON_CreateObject();
	d = cJSON_AddArrayToObject(o, "data");
	n = vs_partial(rq, out, (int) (hours * 12));
	for (int i = 0; i < n; i++) {
		int64_t pt = gen + (int64_t) i * 300;
		cJSON  *e  = cJSON_CreateObject();
		vs_rfc3339(t, sizeof(t), pt);
		if (t[strlen(t) - 1] == 'Z') {
			strcpy(t + strlen(t) - 1, "+00:00");
		}
		cJSON_AddStringToObject(e, "point_time", t);
		cJSON_AddNumberToObject(e, "value",
		    vs_round(
		        vs_carbon_g(sim, VS_WATTTIME, region, pt) * k, 1));
		cJSON_AddItemToArray(d, e);
	}
	m = cJSON_AddObjectToObject(o, "meta");
	cJSON_AddNumberToObject(m, "data_point_period_seconds", 300);
	cJSON_AddStringToObject(m, "region", region);
	cJSON_AddArrayToObject(m, "warnings");
	cJSON_AddStringToObject(m, "signal_type", sig);
	model = cJSON_AddObjectToObject(m, "model");
	cJSON_AddStringToObject(model, "date", "2024-01-01");
	cJSON_AddStringToObject(m, "units", "lbs_co2_per_mwh");
	cJSON_AddNumberToObject(m, "generated_at_period_seconds", 300);
	vs_rfc3339(t, sizeof(t), gen);
	cJSON_AddStringToObject(m, "generated_at", t);
	vs_reply_json(out, 200, o);
}

static void
wt_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  rv;
	bool login = false;

	if (vs_match(rq->path, "/login", caps, 0)) {
		login      = true;
		out->route = "GET /login";
	} else if (vs_match(rq->path, "/v3/forecast", caps, 0)) {
		out->route = "GET /v3/forecast";
	} else {
		out->route = "(unrouted)";
		wt_error(rq, out, 404, "no such endpoint");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		wt_error(rq, out, 405, "method not allowed");
		return;
	}
	if (wt_rate(sim, rq, out) < 0) {
		wt_error(rq, out, 429,
		    "rate limit exceeded: 3000 requests per 5 minutes");
		return;
	}
	if (login) {
		wt_login(sim, rq, out);
		return;
	}
	rv = vs_token_check(
	    sim, rq, out, vs_auth_param(rq, "Bearer"), VS_TOKEN_ACCESS);
	if (rv != VS_AUTH_OK) {
		out->www_auth = "Bearer realm=\"watttime\"";
		wt_error(rq, out, 401,
		    rv == VS_AUTH_MISSING
		        ? "missing bearer token: GET /login first"
		        : rv == VS_AUTH_EXPIRED
		        ? "token expired: GET /login again"
		        : rv == VS_AUTH_REVOKED ? "token revoked"
		                                : "invalid token");
		return;
	}
	wt_forecast(sim, rq, out);
}

const vs_vendor vs_watttime = {
	.name   = "watttime",
	.handle = wt_handle,
	.error  = wt_error,
};
