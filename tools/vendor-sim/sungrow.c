/*
 * sungrow.c - Sungrow iSolarCloud OpenAPI (gateway.isolarcloud.com),
 * simulated: login, then the power station (plant) list.
 *
 * Documentation: iSolarCloud Developer Portal, https://developer-api.
 * isolarcloud.com (API documents: "Login" POST /openapi/login and
 * "Get Power Station List" POST /openapi/getPowerStationList; a
 * developer account is needed to read them). Shapes were checked
 * against published client code and captured answers (pysolarcloud,
 * sungrow-isolarcloud on PyPI; GoSungrow).
 *
 * Auth, as documented: every call is a POST with a JSON body holding
 * `appkey` and the header `x-access-key: <secret key>`; login takes
 * user_account and user_password and answers result_data {token,
 * user_id, login_state, ...}; later calls put `token` in the body.
 * Tokens are opaque here ("<user_id>_<hex>"). iSolarCloud answers HTTP
 * 200 with a result_code: "1" is success; the simulator's failures are
 * "E00003" (token invalid or expired: log in again), "E00009" (access
 * revoked), "E912" (appkey or access key wrong), "E00001" (bad
 * parameter); a wrong password is result_code "1" with login_state "0".
 * Only unknown routes and injected 429/500 use HTTP statuses.
 *
 * Routes (under /sungrow):
 *	POST /openapi/login
 *	POST /openapi/getPowerStationList   {curPage, size (max 100)}
 * A new plant appears every CRONFLEET_SIM_PLANT_INTERVAL after the
 * epoch, up to CRONFLEET_SIM_PLANTS; ps_id 5100001 ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SG_BASE 5100001

static cJSON *
sg_envelope(const vs_req *rq, const char *code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char   id[40];

	vs_request_id(rq, id, sizeof(id));
	cJSON_AddStringToObject(o, "req_serial_num", id);
	cJSON_AddStringToObject(o, "result_code", code);
	cJSON_AddStringToObject(o, "result_msg", msg);
	return (o);
}

static void
sg_fail(const vs_req *rq, vs_resp *out, int status, const char *code,
    const char *msg)
{
	cJSON *o = sg_envelope(rq, code, msg);

	cJSON_AddNullToObject(o, "result_data");
	vs_reply_json(out, status, o);
}

static void
sg_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	char code[16];

	snprintf(code, sizeof(code), "E%d", status);
	sg_fail(rq, out, status, code, msg);
}

static void
sg_login(vs_sim *sim, const vs_req *rq, vs_resp *out, cJSON *b)
{
	const vs_config *c = sim->cfg;
	const char      *user, *pw;
	cJSON           *o, *d;
	char            *tok;
	int64_t          exp;

	user = cJSON_GetStringValue(cJSON_GetObjectItem(b, "user_account"));
	pw   = cJSON_GetStringValue(cJSON_GetObjectItem(b, "user_password"));
	if (user == NULL || pw == NULL) {
		sg_fail(rq, out, 200, "E00001",
		    "user_account and user_password are required");
		return;
	}
	o = sg_envelope(rq, "1", "success");
	d = cJSON_AddObjectToObject(o, "result_data");
	if (!vs_secret_eq(user, c->sungrow_user)
	    || !vs_secret_eq(pw, c->sungrow_password)) {
		cJSON_AddStringToObject(d, "login_state", "0");
		cJSON_AddStringToObject(d, "msg", "wrong account or password");
		vs_reply_json(out, 200, o);
		return;
	}
	if (vs_grant_check(sim, rq, out) != VS_AUTH_OK) {
		cJSON_Delete(o);
		sg_fail(rq, out, 200, "E00009",
		    "the application's access has been revoked");
		return;
	}
	if ((tok = vs_token_issue(
	         sim, rq, VS_TOKEN_ACCESS, false, "880001", false, &exp))
	    == NULL) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddStringToObject(d, "token", tok);
	cJSON_AddStringToObject(d, "user_id", "880001");
	cJSON_AddStringToObject(d, "user_account", user);
	cJSON_AddStringToObject(d, "user_name", "Sim Installer");
	cJSON_AddStringToObject(d, "login_state", "1");
	cJSON_AddNumberToObject(
	    d, "token_expires_in", (double) (exp - rq->now));
	free(tok);
	vs_reply_json(out, 200, o);
}

/* {"unit": u, "value": "<v>"}: iSolarCloud's quantities are text. */
static void
sg_qty(cJSON *o, const char *name, const char *unit, double v)
{
	cJSON *q = cJSON_AddObjectToObject(o, name);
	char   s[32];

	snprintf(s, sizeof(s), "%.2f", v);
	cJSON_AddStringToObject(q, "unit", unit);
	cJSON_AddStringToObject(q, "value", s);
}

static void
sg_list(vs_sim *sim, const vs_req *rq, vs_resp *out, cJSON *b)
{
	cJSON  *o, *d, *a, *it;
	int64_t page = 1, size = 10, total = vs_plants_at(sim, rq->now), from;
	int64_t b15  = rq->now - rq->now % VS_BUCKET,
	        day0 = rq->now - rq->now % 86400;
	char t[32];
	int  n;

	if ((it = cJSON_GetObjectItem(b, "curPage")) != NULL) {
		page = cJSON_IsNumber(it) ? (int64_t) it->valuedouble : -1;
	}
	if ((it = cJSON_GetObjectItem(b, "size")) != NULL) {
		size = cJSON_IsNumber(it) ? (int64_t) it->valuedouble : -1;
	}
	if (page < 1 || size < 1 || size > 100) {
		sg_fail(rq, out, 200, "E00001", "curPage >= 1, size 1 to 100");
		return;
	}
	o = sg_envelope(rq, "1", "success");
	d = cJSON_AddObjectToObject(o, "result_data");
	cJSON_AddNumberToObject(d, "rowCount", (double) total);
	a    = cJSON_AddArrayToObject(d, "pageList");
	from = (page - 1) * size;
	n    = from < total ? (int) (total - from < size ? total - from : size)
	                    : 0;
	n    = vs_partial(rq, out, n);
	for (int i = 0; i < n; i++) {
		int64_t k = from + i, id = SG_BASE + k;
		int64_t made = sim->cfg->epoch_s
		    + k * (sim->cfg->plant_interval_ms / 1000);
		cJSON   *s = cJSON_CreateObject();
		char     name[48];
		uint64_t e = (uint64_t) id;
		snprintf(name, sizeof(name), "Sim Sungrow Plant %lld",
		    (long long) (k + 1));
		cJSON_AddNumberToObject(s, "ps_id", (double) id);
		cJSON_AddStringToObject(s, "ps_name", name);
		cJSON_AddNumberToObject(s, "ps_type", 5);
		cJSON_AddNumberToObject(s, "ps_status", 1);
		cJSON_AddNumberToObject(s, "valid_flag", 1);
		cJSON_AddStringToObject(s, "ps_location", "Simulated address");
		cJSON_AddNumberToObject(s, "latitude",
		    vs_round(
		        45.0 + 8.0 * vs_unit(sim, VS_SUNGROW, e, 0, 8), 6));
		cJSON_AddNumberToObject(s, "longitude",
		    vs_round(
		        2.0 + 12.0 * vs_unit(sim, VS_SUNGROW, e, 0, 9), 6));
		cJSON_AddStringToObject(
		    s, "install_date", vs_datetime(t, sizeof(t), made));
		cJSON_AddStringToObject(s, "ps_current_time_zone", "GMT+0");
		sg_qty(s, "total_capcity", "kWp",
		    5.0 + 95.0 * vs_unit(sim, VS_SUNGROW, e, 0, 1));
		sg_qty(
		    s, "curr_power", "W", vs_solar_w(sim, VS_SUNGROW, e, b15));
		sg_qty(s, "today_energy", "kWh",
		    vs_energy_wh(
		        sim, VS_SUNGROW, e, day0, rq->now, rq->now, false)
		        / 1000.0);
		sg_qty(s, "total_energy", "kWh",
		    vs_energy_wh(sim, VS_SUNGROW, e, day0 - 30 * 86400,
		        rq->now, rq->now, false)
		        / 1000.0);
		cJSON_AddItemToArray(a, s);
	}
	vs_reply_json(out, 200, o);
}

static void
sg_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const vs_config *c = sim->cfg;
	char             caps[1][64];
	bool             login;
	cJSON           *b;
	const char      *key, *tok;

	if (vs_match(rq->path, "/openapi/login", caps, 0)) {
		login      = true;
		out->route = "POST /openapi/login";
	} else if (vs_match(
	               rq->path, "/openapi/getPowerStationList", caps, 0)) {
		login      = false;
		out->route = "POST /openapi/getPowerStationList";
	} else {
		out->route = "(unrouted)";
		sg_error(rq, out, 404, "no such interface");
		return;
	}
	if (strcmp(rq->method, "POST") != 0) {
		sg_error(rq, out, 405, "use POST");
		return;
	}
	if ((b = vs_body_json(rq)) == NULL) {
		sg_fail(rq, out, 200, "E00001", "expected a JSON body");
		return;
	}
	key = cJSON_GetStringValue(cJSON_GetObjectItem(b, "appkey"));
	if (key == NULL || !vs_secret_eq(key, c->sungrow_appkey)
	    || !vs_secret_eq(
	        rq->header(rq->conn, "x-access-key"), c->sungrow_access_key)) {
		sg_fail(
		    rq, out, 200, "E912", "appkey or x-access-key is wrong");
		vs_auth_failed(sim, VS_SUNGROW);
	} else if (login) {
		sg_login(sim, rq, out, b);
	} else {
		tok = cJSON_GetStringValue(cJSON_GetObjectItem(b, "token"));
		switch (vs_token_check(sim, rq, out, tok, VS_TOKEN_ACCESS)) {
		case VS_AUTH_OK:
			sg_list(sim, rq, out, b);
			break;
		case VS_AUTH_REVOKED:
			sg_fail(rq, out, 200, "E00009", "token revoked");
			vs_auth_failed(sim, VS_SUNGROW);
			break;
		default:
			sg_fail(rq, out, 200, "E00003",
			    "er_token_login_invalid: token invalid or "
			    "expired, "
			    "log in again");
			vs_auth_failed(sim, VS_SUNGROW);
			break;
		}
	}
	cJSON_Delete(b);
}

const vs_vendor vs_sungrow = {
	.name   = "sungrow",
	.handle = sg_handle,
	.error  = sg_error,
};
