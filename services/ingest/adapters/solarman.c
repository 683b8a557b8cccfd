/*
 * solarman.c - SOLARMAN OpenAPI: obtain a token, then the station
 * (plant) list of the account, page after page.
 *
 * Documentation: "SOLARMAN OPEN API (V1.1.x) User Manual" (the PDF the
 * SOLARMAN developer portal hands out, https://doc.solarmanpv.com;
 * a copy is shared at https://github.com/evcc-io/evcc/files/10950986/
 * SolarmanOpenAPI.v1.1.0.-EN.pdf): 2.1 "Obtain token" (POST
 * /account/v1.0/token?appId=&language=en with {appSecret, email,
 * password: the SHA-256 of the password, lowercase hex}, answering
 * {access_token, token_type, refresh_token, expires_in (seconds, a
 * string), ...}) and 4.1 "Station list" (POST /station/v1.0/list
 * ?language=en with {page, size <= 100} and `Authorization: bearer
 * <token>`, answering {total, stationList: [{id, name, locationLat,
 * locationLng, regionTimezone, installedCapacity (kWp), networkStatus,
 * generationPower (W), startOperatingTime, lastUpdateTime (unix s)}]}),
 * every answer in the envelope {code, msg, success, requestId}.
 *
 * A refused token is HTTP 401 (or, as some deployments answer, a 200 with
 * success false and a token code); either way the token dance logs in
 * again with the credentials: the manual's refresh path needs the same
 * credentials, so it gains nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cf_err.h"
#include "cf_time.h"
#include "plants.h"

/* The envelope's code, when it is a short code (never free text). */
static const char *
sm_code(const cJSON *doc, char *buf, size_t len)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "code");

	if (cJSON_IsNumber(c)) {
		snprintf(buf, len, "%.0f", c->valuedouble);
		return (buf);
	}
	return (ingest_safe_code(buf, len, cJSON_GetStringValue(c)));
}

/* What the simulator's (and the manual's common) codes mean. */
static const ingest_code_text sm_codes[] = {
	{ "2101017", "wrong app id, app secret, account or password" },
	{ "2101018", "token invalid" },
	{ "2101019", "token expired" },
	{ "2101020", "the account's authorization was revoked" },
	{ "2101006", "bad parameter" },
	{ NULL, NULL },
};

static int
sm_token_code(const char *code)
{
	return (strcmp(code, "2101018") == 0 || strcmp(code, "2101019") == 0
	    || strcmp(code, "2101020") == 0);
}

/* Adds the vendor's code (and its meaning) to an error line. */
static void
sm_err_code(const cJSON *doc, char *err, size_t errlen)
{
	char        code[24], *tail;
	const char *text;
	size_t      n = strlen(err);

	if (doc == NULL || sm_code(doc, code, sizeof(code))[0] == '\0') {
		return;
	}
	text = ingest_code_lookup(sm_codes, code, "");
	tail = err + n;
	snprintf(tail, errlen - n, " (code %s%s%s)", code, text[0] ? ": " : "",
	    text);
}

/* POST with a JSON body; an answer with success false is an error. */
static int
sm_post(ingest_call *c, const char *path, const char *auth, cJSON *body,
    cf_http_response *rs, cJSON **doc, char *err, size_t errlen)
{
	const cJSON *ok;
	int          rv;

	rv = ingest_post_json(c, path, auth, body, rs, doc, err, errlen);
	if (rv == CF_EPROTO) {
		sm_err_code(*doc, err, errlen);
		return (rv);
	}
	if (rv != CF_OK) {
		return (rv);
	}
	ok = cJSON_GetObjectItemCaseSensitive(*doc, "success");
	if (cJSON_IsFalse(ok)) {
		cf_errf(err, errlen, "%s: the answer says success false",
		    rs->what);
		sm_err_code(*doc, err, errlen);
		return (CF_EPROTO);
	}
	return (CF_OK);
}

/* Lowercase hex SHA-256 of s, as the token call wants the password. */
static int
sm_sha256_hex(const char *s, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  n = 0;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1
	    || n != 32) {
		return (CF_ESYSTEM);
	}
	for (unsigned int i = 0; i < n; i++) {
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	OPENSSL_cleanse(md, sizeof(md));
	return (CF_OK);
}

/* Obtain token: the account's credentials for a new access token. */
static int
sm_login(ingest_call *c, char *err, size_t errlen)
{
	const char      *app = ingest_cred(c, "app_id");
	const char      *sec = ingest_cred(c, "app_secret");
	const char      *who = ingest_cred(c, "email");
	const char      *pw  = ingest_cred(c, "password");
	char             hex[65], path[512];
	char            *q = NULL;
	const char      *pairs[5], *at, *rt;
	cJSON           *body, *doc = NULL;
	cf_http_response rs = { 0 };
	int64_t          ttl;
	int              rv;

	if (app == NULL || sec == NULL || who == NULL || pw == NULL) {
		cf_errf(err, errlen,
		    "solarman: credentials need app_id, "
		    "app_secret, email and password");
		return (CF_EINVAL);
	}
	if ((rv = sm_sha256_hex(pw, hex)) != CF_OK) {
		cf_errf(err, errlen, "solarman: SHA-256 failed");
		return (rv);
	}
	pairs[0] = "appId";
	pairs[1] = app;
	pairs[2] = "language";
	pairs[3] = "en";
	pairs[4] = NULL;
	if (cf_http_form(&q, pairs) != CF_OK
	    || (body = cJSON_CreateObject()) == NULL) {
		free(q);
		OPENSSL_cleanse(hex, sizeof(hex));
		return (CF_ENOMEM);
	}
	snprintf(path, sizeof(path), "/account/v1.0/token?%s", q);
	free(q);
	cJSON_AddStringToObject(body, "appSecret", sec);
	cJSON_AddStringToObject(body, "email", who);
	cJSON_AddStringToObject(body, "password", hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	rv = sm_post(c, path, NULL, body, &rs, &doc, err, errlen);
	ingest_json_wipe(body);
	if (rv != CF_OK) {
		goto out;
	}
	at  = ingest_json_str(doc, "access_token");
	rt  = ingest_json_str(doc, "refresh_token");
	ttl = ingest_json_int(doc, "expires_in", 0);
	if (at == NULL || at[0] == '\0') {
		cf_errf(err, errlen,
		    "solarman: POST /account/v1.0/token: no "
		    "access_token in the answer");
		rv = CF_EPROTO;
		goto out;
	}
	rv = ingest_token_set(
	    c->token, at, rt, ttl > 0 ? cf_time_now_ms() + ttl * 1000 : 0);
	if (rv == CF_OK) {
		cJSON_DeleteItemFromObjectCaseSensitive(
		    c->token->metadata, "uid");
		if (cJSON_IsNumber(
		        cJSON_GetObjectItemCaseSensitive(doc, "uid"))) {
			cJSON_AddNumberToObject(c->token->metadata, "uid",
			    cJSON_GetObjectItemCaseSensitive(doc, "uid")
			        ->valuedouble);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(
		    c->token->metadata, "token_type");
		cJSON_AddStringToObject(c->token->metadata, "token_type",
		    ingest_json_str(doc, "token_type") != NULL
		        ? ingest_json_str(doc, "token_type")
		        : "bearer");
	}
out:
	ingest_json_wipe(doc);
	cf_http_response_free(&rs);
	return (rv);
}

/* One page of the station list; arg: the page number (int64_t). */
static int
sm_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	const int64_t *page = arg;
	cJSON         *body;
	char          *auth;
	int            rv;

	memset(rs, 0, sizeof(*rs));
	*doc = NULL;
	if ((auth = ingest_header("Authorization: bearer ", c->token->access))
	        == NULL
	    || (body = cJSON_CreateObject()) == NULL) {
		free(auth);
		return (CF_ENOMEM);
	}
	cJSON_AddNumberToObject(body, "page", (double) *page);
	cJSON_AddNumberToObject(body, "size", PLANT_PAGE_SIZE);
	rv = sm_post(c, "/station/v1.0/list?language=en", auth, body, rs, doc,
	    err, errlen);
	ingest_secret_free(auth);
	cJSON_Delete(body);
	return (rv);
}

/* A 401, or success false with a token code: log in again. */
static int
sm_auth_failed(int rv, const cf_http_response *rs, const cJSON *doc)
{
	char code[24];

	if (rv == CF_EPROTO && rs->status == 401) {
		return (1);
	}
	return (rv == CF_EPROTO && rs->status == 200 && doc != NULL
	    && sm_token_code(sm_code(doc, code, sizeof(code))));
}

/* One station into a row. */
static int
sm_station(const cJSON *s, plant_list *out, char *err, size_t errlen)
{
	plant_row  *r;
	const char *name, *tz, *st;
	double      id = ingest_json_num(s, "id", NAN), t;

	name = ingest_json_str(s, "name");
	if (isnan(id) || id < 0 || name == NULL) {
		cf_errf(err, errlen,
		    "solarman: a station without an id or a name");
		return (CF_EPROTO);
	}
	if ((r = plant_list_take(out, id, name)) == NULL) {
		return (CF_ENOMEM);
	}
	r->latitude        = ingest_json_num(s, "locationLat", NAN);
	r->longitude       = ingest_json_num(s, "locationLng", NAN);
	r->capacity_kw     = ingest_json_num(s, "installedCapacity", NAN);
	r->current_power_w = ingest_json_num(s, "generationPower", NAN);
	if ((tz = ingest_json_str(s, "regionTimezone")) != NULL) {
		snprintf(r->timezone, sizeof(r->timezone), "%s", tz);
	}
	if ((st = ingest_json_str(s, "networkStatus")) != NULL) {
		snprintf(r->status, sizeof(r->status), "%s", st);
	}
	/* Unix seconds (the manual: "timestamp, seconds"). */
	if ((t = ingest_json_num(s, "startOperatingTime", NAN)) > 0) {
		r->installed_ms = (int64_t) (t * 1000);
	}
	if ((t = ingest_json_num(s, "lastUpdateTime", NAN)) > 0) {
		r->vendor_updated_ms = (int64_t) (t * 1000);
	}
	return (CF_OK);
}

static const plant_pager sm_pager = {
	.login       = sm_login,
	.send        = sm_send,
	.auth_failed = sm_auth_failed,
	.total       = "total",
	.list        = "stationList",
	.item        = sm_station,
	.what        = "POST /station/v1.0/list",
	.list_name   = "station list",
	.items       = "stations",
	.total_name  = "the total",
	.pages_of    = "stations",
};

int
solarman_plants(ingest_call *c, plant_list *out, char *err, size_t errlen)
{
	return (plant_walk(c, &sm_pager, out, err, errlen));
}
