/*
 * tesla.c - Tesla Fleet API, energy sites (Powerwall), simulated:
 * products and the energy history (calendar_history?kind=energy).
 *
 * Documentation: https://developer.tesla.com/docs/fleet-api/endpoints/energy
 * (energy_history, products), https://developer.tesla.com/docs/fleet-api/
 * authentication/third-party-tokens (refresh_token grant at
 * https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token),
 * https://developer.tesla.com/docs/fleet-api/getting-started/
 * conventions (response envelope and errors).
 *
 * Auth, as documented: `Authorization: Bearer <access token>` (a JWT
 * with exp); POST /oauth2/v3/token with grant_type=refresh_token,
 * client_id and refresh_token (form body or query) answers
 * {access_token, refresh_token, id_token, expires_in, token_type}. API
 * answers are {"response": ...}; errors {"response": null, "error": ...,
 * "error_description": ...} (401 "invalid bearer token" or "token
 * expired (401)").
 *
 * Routes (under /tesla):
 *	POST /oauth2/v3/token
 *	GET  /api/1/products
 *	GET  /api/1/energy_sites/{energy_site_id}/calendar_history
 * calendar_history takes kind=energy, start_date and end_date (RFC
 * 3339), period (day, week, month, year) and time_zone (ignored: sites
 * are in Etc/UTC). Energy values are Wh; period=day gives 15-minute
 * entries, the others one entry per day (a simplification), at most a
 * year. Sites are 3001 ... 3000 + CRONFLEET_SIM_SITES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define TESLA_BASE 3001

static void
tesla_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddNullToObject(o, "response");
	cJSON_AddStringToObject(o, "error", msg);
	cJSON_AddStringToObject(o, "error_description", "");
	vs_reply_json(out, status, o);
}

static void
tesla_token(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char        gt[32], cid[128], rt[1024];
	const char *grant   = vs_param(rq, "grant_type", gt, sizeof(gt));
	const char *client  = vs_param(rq, "client_id", cid, sizeof(cid));
	const char *refresh = vs_param(rq, "refresh_token", rt, sizeof(rt));
	char       *at, *nrt, *idt;
	int64_t     exp, rexp;
	cJSON      *o, *body = NULL;

	/* The token endpoint takes JSON too. */
	if (grant == NULL && (body = vs_body_json(rq)) != NULL) {
		grant = cJSON_GetStringValue(
		    cJSON_GetObjectItem(body, "grant_type"));
		client = cJSON_GetStringValue(
		    cJSON_GetObjectItem(body, "client_id"));
		refresh = cJSON_GetStringValue(
		    cJSON_GetObjectItem(body, "refresh_token"));
	}
	if (grant == NULL || strcmp(grant, "refresh_token") != 0) {
		vs_oauth_error(out, 400, "unsupported_grant_type",
		    "the simulator takes grant_type=refresh_token");
		goto done;
	}
	if (client == NULL
	    || !vs_secret_eq(client, sim->cfg->tesla_client_id)) {
		vs_oauth_error(out, 401, "invalid_client", "unknown client_id");
		goto done;
	}
	switch (vs_refresh_check(
	    sim, rq, out, refresh, sim->cfg->tesla_refresh_token)) {
	case VS_AUTH_OK:
		break;
	case VS_AUTH_MISSING:
		vs_oauth_error(
		    out, 400, "invalid_request", "refresh_token missing");
		goto done;
	case VS_AUTH_REVOKED:
		vs_oauth_error(out, 401, "login_required",
		    "The refresh_token has been revoked");
		goto done;
	default:
		vs_oauth_error(out, 401, "login_required",
		    "The refresh_token is invalid or expired");
		goto done;
	}
	at = vs_token_issue(
	    sim, rq, VS_TOKEN_ACCESS, true, "tesla-owner-1", true, &exp);
	nrt = vs_token_issue(
	    sim, rq, VS_TOKEN_REFRESH, true, "tesla-owner-1", true, &rexp);
	idt = vs_token_issue(
	    sim, rq, VS_TOKEN_ACCESS, true, "tesla-owner-1", true, &rexp);
	o = cJSON_CreateObject();
	if (at != NULL && nrt != NULL && idt != NULL) {
		cJSON_AddStringToObject(o, "access_token", at);
		cJSON_AddStringToObject(o, "refresh_token", nrt);
		cJSON_AddStringToObject(o, "id_token", idt);
		cJSON_AddNumberToObject(
		    o, "expires_in", (double) (exp - rq->now));
		cJSON_AddStringToObject(o, "token_type", "Bearer");
	}
	free(at);
	free(nrt);
	free(idt);
	vs_reply_json(out, 200, o);
done:
	cJSON_Delete(body);
}

static void
tesla_products(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *a;
	int    n = vs_partial(rq, out, (int) sim->cfg->sites);

	a = cJSON_AddArrayToObject(o, "response");
	for (int k = 0; k < n; k++) {
		cJSON *e = cJSON_CreateObject();
		char   s[48];
		cJSON_AddNumberToObject(e, "energy_site_id", TESLA_BASE + k);
		cJSON_AddStringToObject(e, "resource_type", "battery");
		snprintf(s, sizeof(s), "Sim Powerwall %d", k + 1);
		cJSON_AddStringToObject(e, "site_name", s);
		snprintf(s, sizeof(s), "STE2024-SIM-%05d", k + 1);
		cJSON_AddStringToObject(e, "id", s);
		cJSON_AddNumberToObject(e, "energy_left", 9000);
		cJSON_AddNumberToObject(e, "total_pack_energy", 13500);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddNumberToObject(o, "count", n);
	vs_reply_json(out, 200, o);
}

/* Adds the energy flows of [t0, t1) (Wh) to entry e. */
static void
tesla_flows(vs_sim *sim, int64_t site, int64_t t0, int64_t t1, cJSON *e)
{
	double                   f[9]     = { 0 };
	static const char *const names[9] = { "solar_energy_exported",
		"grid_energy_imported", "grid_energy_exported_from_solar",
		"battery_energy_exported",
		"battery_energy_imported_from_solar",
		"consumer_energy_imported_from_grid",
		"consumer_energy_imported_from_solar",
		"consumer_energy_imported_from_battery",
		"generator_energy_exported" };

	for (int64_t t = t0; t < t1; t += VS_BUCKET) {
		double p = vs_solar_w(sim, VS_TESLA, (uint64_t) site, t) / 4;
		double c = vs_load_w(sim, VS_TESLA, (uint64_t) site, t) / 4;
		double surplus = p > c ? p - c : 0,
		       deficit = c > p ? c - p : 0;
		/* Half the surplus charges the battery, which covers 40% of
		 * a deficit: stateless, and the flows add up. */
		double charge = vs_round(surplus * 0.5, 2);
		double cover  = vs_round(deficit * 0.4, 2);
		f[0] += p;
		f[1] += deficit - cover;
		f[2] += surplus - charge;
		f[3] += cover;
		f[4] += charge;
		f[5] += deficit - cover;
		f[6] += p < c ? p : c;
		f[7] += cover;
	}
	for (int i = 0; i < 9; i++) {
		cJSON_AddNumberToObject(e, names[i], vs_round(f[i], 2));
	}
}

static void
tesla_history(vs_sim *sim, const vs_req *rq, vs_resp *out, const char *id)
{
	const char *kind   = rq->query(rq->conn, "kind");
	const char *sd     = rq->query(rq->conn, "start_date");
	const char *ed     = rq->query(rq->conn, "end_date");
	const char *period = rq->query(rq->conn, "period");
	int64_t     site, t0, t1, step;
	cJSON      *o, *r, *ts;
	char        serial[40], t[40];
	int         n;

	if (vs_int_parse(id, 1, 9999999999LL, &site) != 0
	    || !vs_site_ok(sim, site, TESLA_BASE)) {
		tesla_error(rq, out, 404, "not_found");
		return;
	}
	if (kind == NULL || strcmp(kind, "energy") != 0) {
		tesla_error(rq, out, 400,
		    "invalid kind: the simulator serves kind=energy");
		return;
	}
	if (period == NULL || strcmp(period, "day") == 0) {
		step = VS_BUCKET;
	} else if (strcmp(period, "week") == 0 || strcmp(period, "month") == 0
	    || strcmp(period, "year") == 0) {
		step = 86400;
	} else {
		tesla_error(rq, out, 400,
		    "invalid period: expected day, week, month or year");
		return;
	}
	if (ed == NULL) {
		t1 = rq->now;
	} else if (vs_time_parse(ed, &t1) != 0) {
		tesla_error(
		    rq, out, 400, "invalid end_date: expected RFC 3339");
		return;
	}
	if (sd == NULL) {
		t0 = t1 - t1 % 86400;
	} else if (vs_time_parse(sd, &t0) != 0) {
		tesla_error(
		    rq, out, 400, "invalid start_date: expected RFC 3339");
		return;
	}
	if (t1 < t0 || t1 - t0 > 366 * 86400) {
		tesla_error(rq, out, 400,
		    "invalid date range: start_date after end_date or over a "
		    "year");
		return;
	}
	t0 -= t0 % step;
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "response");
	snprintf(serial, sizeof(serial), "SIM-TG-%05lld", (long long) site);
	cJSON_AddStringToObject(r, "serial_number", serial);
	cJSON_AddStringToObject(r, "period", period != NULL ? period : "day");
	cJSON_AddStringToObject(r, "installation_time_zone", "Etc/UTC");
	ts = cJSON_AddArrayToObject(r, "time_series");
	n  = 0;
	for (int64_t x = t0; x < t1 && x + step <= rq->now; x += step) {
		n++;
	}
	n = vs_partial(rq, out, n);
	for (int i = 0; i < n; i++) {
		int64_t x = t0 + (int64_t) i * step;
		cJSON  *e = cJSON_CreateObject();
		vs_rfc3339(t, sizeof(t), x);
		/* Tesla writes the offset, not Z. */
		if (t[strlen(t) - 1] == 'Z') {
			strcpy(t + strlen(t) - 1, "+00:00");
		}
		cJSON_AddStringToObject(e, "timestamp", t);
		tesla_flows(sim, site, x, x + step, e);
		cJSON_AddItemToArray(ts, e);
	}
	vs_reply_json(out, 200, o);
}

static void
tesla_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  which, rv;

	if (vs_match(rq->path, "/oauth2/v3/token", caps, 0)) {
		out->route = "POST /oauth2/v3/token";
		if (strcmp(rq->method, "POST") != 0) {
			vs_oauth_error(out, 405, "invalid_request", "use POST");
			return;
		}
		tesla_token(sim, rq, out);
		return;
	}
	if (vs_match(rq->path, "/api/1/products", caps, 0)) {
		which      = 0;
		out->route = "GET /api/1/products";
	} else if (vs_match(rq->path,
	               "/api/1/energy_sites/{}/calendar_history", caps, 1)) {
		which      = 1;
		out->route = "GET /api/1/energy_sites/{id}/calendar_history";
	} else {
		out->route = "(unrouted)";
		tesla_error(rq, out, 404, "not_found");
		return;
	}
	if (strcmp(rq->method, "GET") != 0) {
		tesla_error(rq, out, 405, "method not allowed");
		return;
	}
	rv = vs_token_check(
	    sim, rq, out, vs_auth_param(rq, "Bearer"), VS_TOKEN_ACCESS);
	if (rv != VS_AUTH_OK) {
		out->www_auth = "Bearer error=\"invalid_token\"";
		tesla_error(rq, out, 401,
		    rv == VS_AUTH_EXPIRED       ? "token expired (401)"
		        : rv == VS_AUTH_REVOKED ? "token revoked (401)"
		                                : "invalid bearer token");
		return;
	}
	if (which == 0) {
		tesla_products(sim, rq, out);
	} else {
		tesla_history(sim, rq, out, caps[0]);
	}
}

const vs_vendor vs_tesla = {
	.name   = "tesla",
	.handle = tesla_handle,
	.error  = tesla_error,
};
