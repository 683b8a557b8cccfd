/*
 * solarman.c - SOLARMAN OpenAPI (global, api.solarmanpv.com), simulated:
 * obtain a token, list stations (plants).
 *
 * Documentation: "SOLARMAN OPEN API (V1.1.x) User Manual" (PDF, shared
 * at https://github.com/evcc-io/evcc/files/10950986/
 * SolarmanOpenAPI.v1.1.0.-EN.pdf): 2.1 "Obtain token"
 * (POST /account/v1.0/token?appId=...&language=en with {appSecret,
 * email|username|mobile, password = SHA-256 of the password}) and 4.1
 * "Station list" (POST /station/v1.0/list?language=en with {page,
 * size}), the common envelope {code, msg, success, requestId}.
 *
 * Auth, as documented: `Authorization: bearer <access_token>` (a JWT;
 * expires_in is a string of seconds). No refresh here: an expired or
 * revoked token means obtaining a token again; while revoked_token is
 * armed that is refused. The manual's error-code table is not
 * reproduced: failures carry the envelope with success false, a code
 * of the simulator's ("2101017" bad credentials, "2101018" token
 * invalid, "2101019" token expired, "2101020" revoked, "2101006" bad
 * parameter) and HTTP 401 or 400.
 *
 * Routes (under /solarman):
 *	POST /account/v1.0/token
 *	POST /station/v1.0/list
 * A new station appears every CRONFLEET_SIM_PLANT_INTERVAL after the
 * epoch, up to CRONFLEET_SIM_PLANTS; ids 60000001 ...; size at most 100.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SM_BASE 60000001

static void
sm_envelope(
    const vs_req *rq, cJSON *o, const char *code, const char *msg, bool ok)
{
	char id[40];

	vs_request_id(rq, id, sizeof(id));
	if (code != NULL) {
		cJSON_AddStringToObject(o, "code", code);
		cJSON_AddStringToObject(o, "msg", msg);
	} else {
		cJSON_AddNullToObject(o, "code");
		cJSON_AddNullToObject(o, "msg");
	}
	cJSON_AddBoolToObject(o, "success", ok);
	cJSON_AddStringToObject(o, "requestId", id);
}

static void
sm_fail(const vs_req *rq, vs_resp *out, int status, const char *code,
    const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	sm_envelope(rq, o, code, msg, false);
	vs_reply_json(out, status, o);
}

static void
sm_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	char code[16];

	snprintf(code, sizeof(code), "%d", status);
	sm_fail(rq, out, status, code, msg);
}

static void
sm_token(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const vs_config *c   = sim->cfg;
	cJSON           *b   = vs_body_json(rq), *o;
	const char      *app = rq->query(rq->conn, "appId"), *sec, *who, *pw;
	char             want[65], *at, *rt, exps[24];
	int64_t          exp, rexp;

	if (b == NULL) {
		sm_fail(rq, out, 400, "2101006",
		    "invalid param: expected a JSON body {appSecret, email, "
		    "password}");
		return;
	}
	sec = cJSON_GetStringValue(cJSON_GetObjectItem(b, "appSecret"));
	who = cJSON_GetStringValue(cJSON_GetObjectItem(b, "email"));
	if (who == NULL) {
		who = cJSON_GetStringValue(cJSON_GetObjectItem(b, "username"));
	}
	pw = cJSON_GetStringValue(cJSON_GetObjectItem(b, "password"));
	vs_sha256_hex(c->solarman_password, want);
	if (app == NULL || sec == NULL || who == NULL || pw == NULL) {
		sm_fail(rq, out, 400, "2101006",
		    "invalid param: appId (query), appSecret, email and "
		    "password are required");
	} else if (!vs_secret_eq(app, c->solarman_app_id)
	    || !vs_secret_eq(sec, c->solarman_app_secret)
	    || !vs_secret_eq(who, c->solarman_email)
	    || !vs_secret_eq(pw, want)) {
		sm_fail(rq, out, 401, "2101017",
		    "auth failed: wrong appId, appSecret, account or password "
		    "(the password is sent as its SHA-256)");
	} else if (vs_grant_check(sim, rq, out) != VS_AUTH_OK) {
		sm_fail(rq, out, 401, "2101020",
		    "the account's authorization has been revoked");
	} else {
		at = vs_token_issue(
		    sim, rq, VS_TOKEN_ACCESS, true, "solarman-1", false, &exp);
		rt = vs_token_issue(sim, rq, VS_TOKEN_REFRESH, true,
		    "solarman-1", false, &rexp);
		o  = cJSON_CreateObject();
		sm_envelope(rq, o, NULL, NULL, true);
		if (at != NULL && rt != NULL) {
			cJSON_AddStringToObject(o, "access_token", at);
			cJSON_AddStringToObject(o, "token_type", "bearer");
			cJSON_AddStringToObject(o, "refresh_token", rt);
			snprintf(exps, sizeof(exps), "%lld",
			    (long long) (exp - rq->now));
			cJSON_AddStringToObject(o, "expires_in", exps);
			cJSON_AddNullToObject(o, "scope");
			cJSON_AddNumberToObject(o, "uid", 1001);
		}
		free(at);
		free(rt);
		vs_reply_json(out, 200, o);
	}
	cJSON_Delete(b);
}

static void
sm_list(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON  *b    = vs_body_json(rq), *o, *a, *it;
	int64_t page = 1, size = 20, total = vs_plants_at(sim, rq->now), from;
	int     n;

	if (b != NULL) {
		if ((it = cJSON_GetObjectItem(b, "page")) != NULL) {
			page = cJSON_IsNumber(it) ? (int64_t) it->valuedouble
			                          : -1;
		}
		if ((it = cJSON_GetObjectItem(b, "size")) != NULL) {
			size = cJSON_IsNumber(it) ? (int64_t) it->valuedouble
			                          : -1;
		}
		cJSON_Delete(b);
	}
	if (page < 1 || size < 1 || size > 100) {
		sm_fail(rq, out, 400, "2101006",
		    "invalid param: page >= 1, size 1 to 100");
		return;
	}
	o = cJSON_CreateObject();
	sm_envelope(rq, o, NULL, NULL, true);
	cJSON_AddNumberToObject(o, "total", (double) total);
	a    = cJSON_AddArrayToObject(o, "stationList");
	from = (page - 1) * size;
	n    = from < total ? (int) (total - from < size ? total - from : size)
	                    : 0;
	n    = vs_partial(rq, out, n);
	for (int i = 0; i < n; i++) {
		int64_t k = from + i, id = SM_BASE + k;
		int64_t made = sim->cfg->epoch_s
		    + k * (sim->cfg->plant_interval_ms / 1000);
		cJSON *s = cJSON_CreateObject();
		char   name[48];
		double kwp = vs_round(3.0
		        + 97.0
		            * vs_unit(sim, VS_SOLARMAN, (uint64_t) id, 0, 1),
		    2);
		snprintf(name, sizeof(name), "Sim Solarman Plant %lld",
		    (long long) (k + 1));
		cJSON_AddNumberToObject(s, "id", (double) id);
		cJSON_AddStringToObject(s, "name", name);
		cJSON_AddNumberToObject(s, "locationLat",
		    vs_round(36.0
		            + 8.0
		                * vs_unit(
		                    sim, VS_SOLARMAN, (uint64_t) id, 0, 8),
		        6));
		cJSON_AddNumberToObject(s, "locationLng",
		    vs_round(-1.0
		            + 9.0
		                * vs_unit(
		                    sim, VS_SOLARMAN, (uint64_t) id, 0, 9),
		        6));
		cJSON_AddStringToObject(
		    s, "locationAddress", "Simulated address");
		cJSON_AddNumberToObject(s, "regionNationId", 3);
		cJSON_AddStringToObject(s, "regionTimezone", "Etc/UTC");
		cJSON_AddStringToObject(s, "type", "HOUSE_ROOF");
		cJSON_AddStringToObject(
		    s, "gridInterconnectionType", "DISTRIBUTED_FULLY");
		cJSON_AddNumberToObject(s, "installedCapacity", kwp);
		cJSON_AddNumberToObject(
		    s, "startOperatingTime", (double) made);
		cJSON_AddNumberToObject(s, "createdDate", (double) made);
		cJSON_AddStringToObject(s, "networkStatus", "NORMAL");
		cJSON_AddNumberToObject(s, "generationPower",
		    vs_solar_w(sim, VS_SOLARMAN, (uint64_t) id,
		        rq->now - rq->now % VS_BUCKET));
		cJSON_AddNumberToObject(s, "lastUpdateTime",
		    (double) (rq->now - rq->now % VS_BUCKET));
		cJSON_AddItemToArray(a, s);
	}
	vs_reply_json(out, 200, o);
}

static void
sm_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  rv;

	if (vs_match(rq->path, "/account/v1.0/token", caps, 0)) {
		out->route = "POST /account/v1.0/token";
	} else if (vs_match(rq->path, "/station/v1.0/list", caps, 0)) {
		out->route = "POST /station/v1.0/list";
	} else {
		out->route = "(unrouted)";
		sm_error(rq, out, 404, "no such interface");
		return;
	}
	if (strcmp(rq->method, "POST") != 0) {
		sm_error(
		    rq, out, 405, "request method not supported: use POST");
		return;
	}
	if (out->route[6] == 'a') {
		sm_token(sim, rq, out);
		return;
	}
	rv = vs_token_check(
	    sim, rq, out, vs_auth_param(rq, "bearer"), VS_TOKEN_ACCESS);
	switch (rv) {
	case VS_AUTH_OK:
		sm_list(sim, rq, out);
		return;
	case VS_AUTH_EXPIRED:
		sm_fail(rq, out, 401, "2101019", "token expired");
		return;
	case VS_AUTH_REVOKED:
		sm_fail(rq, out, 401, "2101020", "token revoked");
		return;
	default:
		sm_fail(rq, out, 401, "2101018",
		    rv == VS_AUTH_MISSING
		        ? "token missing: Authorization: bearer <token>"
		        : "token invalid");
		return;
	}
}

const vs_vendor vs_solarman = {
	.name   = "solarman",
	.handle = sm_handle,
	.error  = sm_error,
};
