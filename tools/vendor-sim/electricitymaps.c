/*
 * electricitymaps.c - Electricity Maps API v3, simulated: the
 * carbon-intensity forecast.
 *
 * Documentation: https://portal.electricitymaps.com/docs/api (API
 * reference: GET /v3/carbon-intensity/forecast, authentication),
 * https://static.electricitymaps.com/api/docs/index.html (earlier v3
 * reference with the same shapes).
 *
 * Auth, as documented: the `auth-token: <token>` header (a static key:
 * expired/revoked faults answer 401, nothing to refresh). Errors are
 * {"status": "error", "message": ...}.
 *
 * Routes (under /electricitymaps):
 *	GET /v3/carbon-intensity/forecast?zone=<zone>&horizonHours=
 * The forecast is {zone, forecast: [{carbonIntensity (gCO2eq/kWh),
 * datetime}], updatedAt}: hourly points from the current hour for
 * horizonHours (6, 24 (default), 48 or 72). Any zone of capitals, digits
 * and '-' exists (DE, FR, US-CAL-CISO).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

static void
em_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "status", "error");
	cJSON_AddStringToObject(o, "message", msg);
	vs_reply_json(out, status, o);
}

/* "2025-06-01T12:00:00.000Z", as Electricity Maps writes instants. */
static char *
em_time(char *buf, size_t len, int64_t t)
{
	vs_rfc3339(buf, len, t);
	if (strlen(buf) == 20 && len > 24) {
		strcpy(buf + 19, ".000Z");
	}
	return (buf);
}

static void
em_forecast(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *zone  = rq->query(rq->conn, "zone");
	const char *hh    = rq->query(rq->conn, "horizonHours");
	int64_t     hours = 24, h0;
	cJSON      *o, *a;
	char        t[40], msg[96];
	int         n;

	if (zone == NULL || *zone == '\0') {
		em_error(rq, out, 400, "zone is required (or lat and lon)");
		return;
	}
	for (const char *p = zone; *p != '\0'; p++) {
		if ((!isupper((unsigned char) *p)
		        && !isdigit((unsigned char) *p) && *p != '-')
		    || p - zone > 32) {
			snprintf(msg, sizeof(msg),
			    "Zone '%.32s' does not exist", zone);
			em_error(rq, out, 404, msg);
			return;
		}
	}
	if (hh != NULL
	    && (vs_int_parse(hh, 1, 72, &hours) != 0
	        || (hours != 6 && hours != 24 && hours != 48
	            && hours != 72))) {
		em_error(
		    rq, out, 400, "horizonHours must be one of 6, 24, 48, 72");
		return;
	}
	h0 = rq->now - rq->now % 3600;
	o  = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "zone", zone);
	a = cJSON_AddArrayToObject(o, "forecast");
	n = vs_partial(rq, out, (int) hours);
	for (int i = 0; i < n; i++) {
		int64_t pt = h0 + (int64_t) i * 3600;
		cJSON  *e  = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "carbonIntensity",
		    vs_round(
		        vs_carbon_g(sim, VS_ELECTRICITYMAPS, zone, pt), 0));
		cJSON_AddStringToObject(
		    e, "datetime", em_time(t, sizeof(t), pt));
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddStringToObject(o, "updatedAt", em_time(t, sizeof(t), h0));
	vs_reply_json(out, 200, o);
}

static void
em_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  rv;

	if (!vs_match(rq->path, "/v3/carbon-intensity/forecast", caps, 0)) {
		out->route = "(unrouted)";
		em_error(rq, out, 404, "Not found");
		return;
	}
	out->route = "GET /v3/carbon-intensity/forecast";
	if (strcmp(rq->method, "GET") != 0) {
		em_error(rq, out, 405, "Method not allowed");
		return;
	}
	rv = vs_key_check(sim, rq, out, rq->header(rq->conn, "auth-token"),
	    sim->cfg->electricitymaps_token);
	if (rv != VS_AUTH_OK) {
		em_error(rq, out, 401,
		    rv == VS_AUTH_MISSING ? "Missing auth-token header"
		        : rv == VS_AUTH_INVALID
		        ? "Invalid authentication token"
		        : "Authentication token expired or revoked");
		return;
	}
	em_forecast(sim, rq, out);
}

const vs_vendor vs_electricitymaps = {
	.name   = "electricitymaps",
	.handle = em_handle,
	.error  = em_error,
};
