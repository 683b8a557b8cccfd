/*
 * sungrow.c - Sungrow iSolarCloud OpenAPI: log in, then the power
 * station (plant) list of the account, page after page.
 *
 * Documentation: iSolarCloud Developer Portal, https://developer-api.
 * isolarcloud.com ("Login" POST /openapi/login and "Get Power Station
 * List" POST /openapi/getPowerStationList; every call a POST with a JSON
 * body holding `appkey`, the header `x-access-key: <secret key>`, the
 * answer {req_serial_num, result_code ("1": success), result_msg,
 * result_data}). Login takes {user_account, user_password} and answers
 * result_data {token, user_id, login_state ("1": logged in; "0": wrong
 * account or password), ...}; later calls carry `token` in the body.
 * The list takes {token, curPage, size} and answers result_data
 * {rowCount, pageList: [{ps_id, ps_name, ps_status, latitude, longitude,
 * install_date ("YYYY-MM-DD hh:mm:ss" in ps_current_time_zone),
 * total_capcity, curr_power, today_energy, total_energy: {unit, value}}]}
 * (the portal needs an account; the shapes were checked against
 * published clients: pysolarcloud, GoSungrow).
 *
 * Failures come as HTTP 200 with a result_code: "E00003" (token invalid
 * or expired: log in again) is what sg_auth_failed looks for, and
 * "E00009" (access revoked) too, so that the fresh login says plainly
 * that it is refused; "E912" (appkey or access key wrong), "E00001"
 * (bad parameter).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "plants.h"

/* The result_code, when it is a short code (never free text). */
static const char *
sg_code(const cJSON *doc, char *buf, size_t len)
{
	return (
	    ingest_safe_code(buf, len, ingest_json_str(doc, "result_code")));
}

/* What iSolarCloud's result codes mean. */
static const ingest_code_text sg_codes[] = {
	{ "E00003", "token invalid or expired" },
	{ "E00009", "the application's access was revoked" },
	{ "E912", "appkey or access key wrong" },
	{ "E00001", "bad parameter" },
	{ "E429", "too many requests" },
	{ "E500", "server error" },
	{ NULL, NULL },
};

/*
 * POST path with body (appkey added) and the access-key header; an
 * answer whose result_code is not "1" is CF_EPROTO with err naming the
 * code (rs->status stays 200: sg_auth_failed reads the code).
 */
static int
sg_post(ingest_call *c, const char *path, cJSON *body, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen)
{
	const char *appkey = ingest_cred(c, "appkey");
	const char *key    = ingest_cred(c, "access_key");
	char        code[24];
	char       *hdr;
	int         rv;

	memset(rs, 0, sizeof(*rs));
	*doc = NULL;
	if (appkey == NULL || key == NULL) {
		cf_errf(err, errlen,
		    "sungrow: credentials need appkey and access_key");
		return (CF_EINVAL);
	}
	cJSON_AddStringToObject(body, "appkey", appkey);
	cJSON_AddStringToObject(body, "lang", "_en_US");
	if ((hdr = ingest_header("x-access-key: ", key)) == NULL) {
		return (CF_ENOMEM);
	}
	rv = ingest_post_json(c, path, hdr, body, rs, doc, err, errlen);
	ingest_secret_free(hdr);
	if (rv == CF_EPROTO && *doc != NULL
	    && sg_code(*doc, code, sizeof(code))[0] != '\0') {
		size_t m = strlen(err);
		snprintf(err + m, errlen - m, " (result_code %s: %s)", code,
		    ingest_code_lookup(sg_codes, code, "unknown code"));
	}
	if (rv != CF_OK) {
		return (rv);
	}
	if (strcmp(sg_code(*doc, code, sizeof(code)), "1") != 0) {
		cf_errf(err, errlen, "%s: result_code %s: %s", rs->what,
		    code[0] ? code : "(none)",
		    ingest_code_lookup(sg_codes, code, "unknown code"));
		return (CF_EPROTO);
	}
	return (CF_OK);
}

/* Login: the account's credentials for a new token. */
static int
sg_login(ingest_call *c, char *err, size_t errlen)
{
	const char      *user = ingest_cred(c, "user");
	const char      *pw   = ingest_cred(c, "password");
	cJSON           *body, *doc = NULL;
	const cJSON     *d;
	cf_http_response rs = { 0 };
	const char      *tok, *state, *uid;
	int64_t          ttl;
	int              rv;

	if (user == NULL || pw == NULL) {
		cf_errf(err, errlen,
		    "sungrow: credentials need user and "
		    "password");
		return (CF_EINVAL);
	}
	if ((body = cJSON_CreateObject()) == NULL) {
		return (CF_ENOMEM);
	}
	cJSON_AddStringToObject(body, "user_account", user);
	cJSON_AddStringToObject(body, "user_password", pw);
	rv = sg_post(c, "/openapi/login", body, &rs, &doc, err, errlen);
	ingest_json_wipe(body);
	if (rv != CF_OK) {
		goto out;
	}
	d     = cJSON_GetObjectItemCaseSensitive(doc, "result_data");
	state = ingest_json_str(d, "login_state");
	tok   = ingest_json_str(d, "token");
	if (state != NULL && strcmp(state, "1") != 0) {
		cf_errf(err, errlen,
		    "%s: login refused (login_state %.8s: wrong account or "
		    "password)",
		    rs.what, state);
		rv = CF_EINVAL;
		goto out;
	}
	if (tok == NULL || tok[0] == '\0') {
		cf_errf(err, errlen,
		    "sungrow: POST /openapi/login: no token "
		    "in the answer");
		rv = CF_EPROTO;
		goto out;
	}
	/* The documented answer has no lifetime; take one when given. */
	ttl = ingest_json_int(d, "token_expires_in", 0);
	rv  = ingest_token_set(
	     c->token, tok, NULL, ttl > 0 ? cf_time_now_ms() + ttl * 1000 : 0);
	if (rv == CF_OK && (uid = ingest_json_str(d, "user_id")) != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(
		    c->token->metadata, "user_id");
		cJSON_AddStringToObject(c->token->metadata, "user_id", uid);
	}
out:
	ingest_json_wipe(doc);
	cf_http_response_free(&rs);
	return (rv);
}

/* One page of the power station list; arg: the page number (int64_t). */
static int
sg_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	const int64_t *page = arg;
	cJSON         *body;
	int            rv;

	if ((body = cJSON_CreateObject()) == NULL) {
		memset(rs, 0, sizeof(*rs));
		*doc = NULL;
		return (CF_ENOMEM);
	}
	cJSON_AddStringToObject(body, "token", c->token->access);
	cJSON_AddNumberToObject(body, "curPage", (double) *page);
	cJSON_AddNumberToObject(body, "size", PLANT_PAGE_SIZE);
	rv = sg_post(
	    c, "/openapi/getPowerStationList", body, rs, doc, err, errlen);
	ingest_json_wipe(body);
	return (rv);
}

/* iSolarCloud refuses a token with HTTP 200 and result_code E00003
 * (invalid or expired) or E00009 (revoked): log in again. */
static int
sg_auth_failed(int rv, const cf_http_response *rs, const cJSON *doc)
{
	char code[24];

	(void) rs;
	if (doc == NULL) {
		return (0);
	}
	sg_code(doc, code, sizeof(code));
	return ((rv == CF_EPROTO || rv == CF_OK)
	    && (strcmp(code, "E00003") == 0 || strcmp(code, "E00009") == 0));
}

/* A quantity {unit, value} in the unit wanted: "W" (power), "kWh"
 * (energy), "kWp" (capacity). NAN when absent or in a unit not known. */
static double
sg_qty(const cJSON *o, const char *name, const char *want)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, name);
	const char  *u;
	double       v;
	static const struct {
		const char *want, *unit;
		double      k;
	} units[] = {
		{ "W", "W", 1 },
		{ "W", "kW", 1e3 },
		{ "W", "MW", 1e6 },
		{ "kWh", "Wh", 1e-3 },
		{ "kWh", "kWh", 1 },
		{ "kWh", "MWh", 1e3 },
		{ "kWh", "GWh", 1e6 },
		{ "kWp", "Wp", 1e-3 },
		{ "kWp", "kWp", 1 },
		{ "kWp", "MWp", 1e3 },
		{ "kWp", "kW", 1 },
	};

	if (!cJSON_IsObject(q)) {
		return (NAN);
	}
	u = ingest_json_str(q, "unit");
	v = ingest_json_num(q, "value", NAN);
	if (u == NULL || isnan(v)) {
		return (NAN);
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(units[i].want, want) == 0
		    && strcmp(units[i].unit, u) == 0) {
			return (v * units[i].k);
		}
	}
	return (NAN);
}

/* "GMT+2", "GMT-5:30", "GMT+0": the offset in ms (0 when not that). */
static int64_t
sg_tz_offset_ms(const char *tz)
{
	int h = 0, m = 0, sign;

	if (tz == NULL || strncmp(tz, "GMT", 3) != 0
	    || (tz[3] != '+' && tz[3] != '-')) {
		return (0);
	}
	sign = tz[3] == '-' ? -1 : 1;
	if (sscanf(tz + 4, "%d:%d", &h, &m) < 1 || h > 14 || m > 59) {
		return (0);
	}
	return (sign * ((int64_t) h * 3600 + m * 60) * 1000);
}

static int
sg_station(const cJSON *s, plant_list *out, char *err, size_t errlen)
{
	plant_row  *r;
	const char *name, *tz, *inst;
	double      id = ingest_json_num(s, "ps_id", NAN), st;
	int64_t     t;

	name = ingest_json_str(s, "ps_name");
	if (isnan(id) || id < 0 || name == NULL) {
		cf_errf(err, errlen,
		    "sungrow: a power station without a ps_id or a ps_name");
		return (CF_EPROTO);
	}
	if ((r = plant_list_take(out, id, name)) == NULL) {
		return (CF_ENOMEM);
	}
	r->latitude         = ingest_json_num(s, "latitude", NAN);
	r->longitude        = ingest_json_num(s, "longitude", NAN);
	r->capacity_kw      = sg_qty(s, "total_capcity", "kWp");
	r->current_power_w  = sg_qty(s, "curr_power", "W");
	r->today_energy_kwh = sg_qty(s, "today_energy", "kWh");
	r->total_energy_kwh = sg_qty(s, "total_energy", "kWh");
	tz                  = ingest_json_str(s, "ps_current_time_zone");
	if (tz != NULL) {
		snprintf(r->timezone, sizeof(r->timezone), "%s", tz);
	}
	/* ps_status: 1 online, 0 offline (iSolarCloud's codes). */
	st = ingest_json_num(s, "ps_status", NAN);
	if (!isnan(st)) {
		snprintf(r->status, sizeof(r->status), "%s",
		    st == 1       ? "NORMAL"
		        : st == 0 ? "OFFLINE"
		                  : "UNKNOWN");
	}
	inst = ingest_json_str(s, "install_date");
	if (inst != NULL && ingest_time_parse(inst, &t) == CF_OK) {
		/* Local time of the plant's zone, as iSolarCloud writes. */
		r->installed_ms = t - sg_tz_offset_ms(tz);
	}
	return (CF_OK);
}

static const plant_pager sg_pager = {
	.login       = sg_login,
	.send        = sg_send,
	.auth_failed = sg_auth_failed,
	.data        = "result_data",
	.total       = "rowCount",
	.list        = "pageList",
	.item        = sg_station,
	.what        = "POST /openapi/getPowerStationList",
	.list_name   = "power station list",
	.items       = "plants",
	.total_name  = "rowCount",
	.pages_of    = "power stations",
};

int
sungrow_plants(ingest_call *c, plant_list *out, char *err, size_t errlen)
{
	return (plant_walk(c, &sg_pager, out, err, errlen));
}
