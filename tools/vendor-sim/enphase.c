/*
 * enphase.c - Enphase Enlighten Systems API v4 (monitoring), simulated.
 *
 * Documentation: https://developer-v4.enphase.com/docs.html (API
 * reference), https://developer-v4.enphase.com/docs/quickstart.html
 * (OAuth 2.0 flow), https://developer-v4.enphase.com/docs/faq.
 *
 * Auth, as documented: every API call carries the application's API key
 * as the `key` query parameter and an OAuth access token as
 * `Authorization: Bearer <token>`. Tokens come from
 * POST /oauth/token?grant_type=refresh_token&refresh_token=... with HTTP
 * Basic client_id:client_secret (the simulator also accepts the
 * parameters in a form body); access tokens are JWTs with an exp claim.
 * OAuth failures use the OAuth shape {"error","error_description"};
 * other failures Enphase's {"message","details","code"}.
 *
 * Routes (under /enphase):
 *	POST /oauth/token
 *	GET  /api/v4/systems                                      list
 *	GET  /api/v4/systems/{system_id}/telemetry/production_micro
 *	GET  /api/v4/systems/{system_id}/telemetry/consumption_meter
 * Telemetry takes start_at (unix seconds, default: the day's start) and
 * granularity (15mins, day (default), week) and answers 15-minute
 * intervals {end_at, devices_reporting, powr (W), enwh (Wh)} up to now.
 * Systems are 4001 ... 4000 + CRONFLEET_SIM_SITES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define ENPHASE_BASE 4001

static void
enphase_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "message",
	    status == 401       ? "Not Authorized"
	        : status == 429 ? "Too Many Requests"
	        : status == 404 ? "Not Found"
	        : status == 400 ? "Bad Request"
	                        : "Internal Server Error");
	cJSON_AddStringToObject(o, "details", msg);
	cJSON_AddNumberToObject(o, "code", status);
	if (status == 429) {
		/* The documented 429 says which plan limit was hit. */
		cJSON_AddStringToObject(o, "period", "minute");
		cJSON_AddNumberToObject(o, "limit", 10);
	}
	vs_reply_json(out, status, o);
}

static void
enphase_token(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const vs_config *c = sim->cfg;
	char             user[128], pass[128], gt[32], rt[1024], jti[24];
	const char      *grant, *refresh;
	char            *at, *nrt;
	int64_t          exp, rexp;
	cJSON           *o;

	out->route = "POST /oauth/token";
	if (vs_basic(rq, user, sizeof(user), pass, sizeof(pass)) != 0
	    || !vs_secret_eq(user, c->enphase_client_id)
	    || !vs_secret_eq(pass, c->enphase_client_secret)) {
		out->www_auth = "Basic realm=\"oauth2/client\"";
		vs_oauth_error(out, 401, "unauthorized", "Bad credentials");
		return;
	}
	grant = vs_param(rq, "grant_type", gt, sizeof(gt));
	if (grant == NULL || strcmp(grant, "refresh_token") != 0) {
		vs_oauth_error(out, 400, "unsupported_grant_type",
		    "Unsupported grant type: the simulator takes "
		    "grant_type=refresh_token");
		return;
	}
	refresh = vs_param(rq, "refresh_token", rt, sizeof(rt));
	switch (vs_refresh_check(
	    sim, rq, out, refresh, c->enphase_refresh_token)) {
	case VS_AUTH_OK:
		break;
	case VS_AUTH_MISSING:
		vs_oauth_error(
		    out, 400, "invalid_request", "Missing refresh_token");
		return;
	case VS_AUTH_REVOKED:
		vs_oauth_error(out, 400, "invalid_grant",
		    "Invalid refresh token: the token has been revoked");
		return;
	case VS_AUTH_EXPIRED:
		vs_oauth_error(out, 400, "invalid_grant",
		    "Invalid refresh token (expired)");
		return;
	default:
		vs_oauth_error(
		    out, 400, "invalid_grant", "Invalid refresh token");
		return;
	}
	at = vs_token_issue(
	    sim, rq, VS_TOKEN_ACCESS, true, "enl-user-1", true, &exp);
	nrt = vs_token_issue(
	    sim, rq, VS_TOKEN_REFRESH, true, "enl-user-1", true, &rexp);
	o = cJSON_CreateObject();
	if (at != NULL && nrt != NULL) {
		cJSON_AddStringToObject(o, "access_token", at);
		cJSON_AddStringToObject(o, "token_type", "bearer");
		cJSON_AddStringToObject(o, "refresh_token", nrt);
		cJSON_AddNumberToObject(
		    o, "expires_in", (double) (exp - rq->now));
		cJSON_AddStringToObject(o, "scope", "read write");
		cJSON_AddNumberToObject(o, "enl_uid", 1);
		cJSON_AddStringToObject(o, "enl_cid", "sim-company");
		cJSON_AddBoolToObject(o, "is_internal_app", 0);
		cJSON_AddStringToObject(o, "app_type", "partner");
		snprintf(jti, sizeof(jti), "%016llx",
		    (unsigned long long) vs_splitmix((uint64_t) exp));
		cJSON_AddStringToObject(o, "jti", jti);
	}
	free(at);
	free(nrt);
	vs_reply_json(out, 200, o);
}

/*
 * The key and the bearer token; 0 if the call may go on. The key is
 * compared plainly: the token faults act on the access token, which is
 * what a client can refresh.
 */
static int
enphase_auth(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *key = rq->query(rq->conn, "key");
	int         rv;

	if (key == NULL || *key == '\0'
	    || !vs_secret_eq(key, sim->cfg->enphase_api_key)) {
		enphase_error(rq, out, 401,
		    key == NULL || *key == '\0'
		        ? "API key is missing (key=...)"
		        : "Invalid API key");
		return (-1);
	}
	rv = vs_token_check(
	    sim, rq, out, vs_auth_param(rq, "Bearer"), VS_TOKEN_ACCESS);
	switch (rv) {
	case VS_AUTH_OK:
		return (0);
	case VS_AUTH_MISSING:
		out->www_auth = "Bearer realm=\"enlighten\"";
		vs_oauth_error(out, 401, "unauthorized",
		    "Full authentication is required to access this resource");
		return (-1);
	case VS_AUTH_EXPIRED:
		out->www_auth = "Bearer error=\"invalid_token\"";
		vs_oauth_error(out, 401, "invalid_token", "Access token expired");
		return (-1);
	case VS_AUTH_REVOKED:
		out->www_auth = "Bearer error=\"invalid_token\"";
		vs_oauth_error(out, 401, "invalid_token",
		    "Access token has been revoked");
		return (-1);
	default:
		out->www_auth = "Bearer error=\"invalid_token\"";
		vs_oauth_error(out, 401, "invalid_token", "Invalid access token");
		return (-1);
	}
}

static void
enphase_systems(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *a;
	int    n = (int) sim->cfg->sites;

	out->route = "GET /api/v4/systems";
	n          = vs_partial(rq, out, n);
	cJSON_AddNumberToObject(o, "total", (double) sim->cfg->sites);
	cJSON_AddNumberToObject(o, "current_page", 1);
	cJSON_AddNumberToObject(o, "size", (double) sim->cfg->sites);
	cJSON_AddNumberToObject(o, "count", n);
	cJSON_AddStringToObject(o, "items", "systems");
	a = cJSON_AddArrayToObject(o, "systems");
	for (int k = 0; k < n; k++) {
		cJSON *s = cJSON_CreateObject();
		char   name[48];
		snprintf(name, sizeof(name), "Sim Rooftop %d", k + 1);
		cJSON_AddNumberToObject(s, "system_id", ENPHASE_BASE + k);
		cJSON_AddStringToObject(s, "name", name);
		cJSON_AddStringToObject(s, "timezone", "Etc/UTC");
		cJSON_AddStringToObject(s, "status", "normal");
		cJSON_AddNumberToObject(
		    s, "operational_at", (double) sim->cfg->epoch_s);
		cJSON_AddNumberToObject(s, "last_report_at",
		    (double) (rq->now - rq->now % VS_BUCKET));
		cJSON_AddItemToArray(a, s);
	}
	vs_reply_json(out, 200, o);
}

static void
enphase_telemetry(
    vs_sim *sim, const vs_req *rq, vs_resp *out, const char *id, bool load)
{
	const char *sa = rq->query(rq->conn, "start_at");
	const char *gr = rq->query(rq->conn, "granularity");
	int64_t     sys, start, span, end, n;
	cJSON      *o, *a;

	out->route = load
	    ? "GET /api/v4/systems/{system_id}/telemetry/consumption_meter"
	    : "GET /api/v4/systems/{system_id}/telemetry/production_micro";
	if (vs_int_parse(id, 1, 999999999, &sys) != 0
	    || !vs_site_ok(sim, sys, ENPHASE_BASE)) {
		enphase_error(rq, out, 404, "System not found");
		return;
	}
	if (gr == NULL || strcmp(gr, "day") == 0) {
		span = 86400;
	} else if (strcmp(gr, "week") == 0) {
		span = 7 * 86400;
	} else if (strcmp(gr, "15mins") == 0) {
		span = VS_BUCKET;
	} else {
		enphase_error(rq, out, 400,
		    "granularity must be one of 15mins, day, week");
		return;
	}
	if (sa == NULL) {
		start = rq->now - rq->now % 86400;
	} else if (vs_int_parse(sa, 0, 253402300799LL, &start) != 0) {
		enphase_error(rq, out, 400, "start_at must be unix seconds");
		return;
	}
	if (start > rq->now) {
		enphase_error(
		    rq, out, 400, "start_at must not be in the future");
		return;
	}
	start -= start % VS_BUCKET;
	end = start + span;
	o   = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "system_id", (double) sys);
	cJSON_AddStringToObject(o, "granularity", gr != NULL ? gr : "day");
	cJSON_AddNumberToObject(o, "total_devices", 10 + (double) (sys % 7));
	cJSON_AddNumberToObject(o, "start_at", (double) start);
	cJSON_AddNumberToObject(o, "end_at", (double) end);
	cJSON_AddStringToObject(o, "items", "intervals");
	a = cJSON_AddArrayToObject(o, "intervals");
	n = 0;
	for (int64_t t = start; t < end && t + VS_BUCKET <= rq->now;
	     t += VS_BUCKET) {
		n++;
	}
	n = vs_partial(rq, out, (int) n);
	for (int64_t i = 0, t = start; i < n; i++, t += VS_BUCKET) {
		cJSON *iv = cJSON_CreateObject();
		double w  = t < sim->cfg->epoch_s ? 0
		     : load ? vs_load_w(sim, VS_ENPHASE, (uint64_t) sys, t)
		            : vs_solar_w(sim, VS_ENPHASE, (uint64_t) sys, t);
		cJSON_AddNumberToObject(
		    iv, "end_at", (double) (t + VS_BUCKET));
		cJSON_AddNumberToObject(
		    iv, "devices_reporting", 10 + (double) (sys % 7));
		cJSON_AddNumberToObject(iv, "powr", w);
		cJSON_AddNumberToObject(iv, "enwh", w * VS_BUCKET / 3600.0);
		cJSON_AddItemToArray(a, iv);
	}
	vs_reply_json(out, 200, o);
}

static void
enphase_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	bool get = strcmp(rq->method, "GET") == 0;
	int  which;

	if (vs_match(rq->path, "/oauth/token", caps, 0)) {
		if (strcmp(rq->method, "POST") != 0) {
			out->route = "POST /oauth/token";
			enphase_error(
			    rq, out, 405, "Request method not supported");
			return;
		}
		enphase_token(sim, rq, out);
		return;
	}
	if (strncmp(rq->path, "/api/v4/", 8) != 0 || !get) {
		out->route = "(unrouted)";
		enphase_error(rq, out, 404, "No route matches the path");
		return;
	}
	/* The route first, so that a refused call counts on its route. */
	if (vs_match(rq->path, "/api/v4/systems", caps, 0)) {
		which      = 1;
		out->route = "GET /api/v4/systems";
	} else if (vs_match(rq->path,
	               "/api/v4/systems/{}/telemetry/production_micro", caps,
	               1)) {
		which      = 2;
		out->route = "GET /api/v4/systems/{system_id}/telemetry/"
		             "production_micro";
	} else if (vs_match(rq->path,
	               "/api/v4/systems/{}/telemetry/consumption_meter", caps,
	               1)) {
		which      = 3;
		out->route = "GET /api/v4/systems/{system_id}/telemetry/"
		             "consumption_meter";
	} else {
		out->route = "(unrouted)";
		enphase_error(rq, out, 404, "No route matches the path");
		return;
	}
	if (enphase_auth(sim, rq, out) != 0) {
		return;
	}
	if (which == 1) {
		enphase_systems(sim, rq, out);
	} else {
		enphase_telemetry(sim, rq, out, caps[0], which == 3);
	}
}

const vs_vendor vs_enphase = {
	.name   = "enphase",
	.handle = enphase_handle,
	.error  = enphase_error,
};
