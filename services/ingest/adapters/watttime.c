/*
 * watttime.c - WattTime API v3: log in, then the emissions forecast of a
 * grid region.
 *
 * Documentation: https://docs.watttime.org (API v3 reference: "Login"
 * GET /login with HTTP Basic, answering {"token"}, valid 30 minutes, no
 * refresh; "Forecast" GET /v3/forecast?region=&signal_type=
 * &horizon_hours=, answering {data: [{point_time, value}], meta: {region,
 * signal_type, units, generated_at, data_point_period_seconds, ...}};
 * rate limits: 3,000 requests per rolling 5 minutes, 429 beyond) and
 * https://watttime.org/data-science/data-signals/ (co2_moer in
 * lbs_co2_per_mwh).
 *
 * Beyond the documented API, the answers' X-RateLimit-Remaining and
 * X-RateLimit-Limit headers are read when present (the vendor simulator
 * sends them), so that carbon-sync can move to Electricity Maps before
 * WattTime starts refusing.
 *
 * The two helpers every carbon adapter uses (carbon_unit_factor,
 * carbon_forecast_free) live here too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "carbon.h"
#include "cf_err.h"
#include "cf_secret.h"
#include "cf_time.h"

/* WattTime's documented token lifetime; a JWT's own exp still counts. */
#define WT_TOKEN_TTL_MS (30 * 60 * 1000)

void
carbon_forecast_free(carbon_forecast *f)
{
	if (f != NULL) {
		free(f->pts);
		memset(f, 0, sizeof(*f));
	}
}

int
carbon_unit_factor(const char *unit, double *factor)
{
	if (unit == NULL) {
		return (CF_EINVAL);
	}
	if (strcmp(unit, "lbs_co2_per_mwh") == 0
	    || strcmp(unit, "lbs/MWh") == 0) {
		*factor = 0.453592;
		return (CF_OK);
	}
	if (strcmp(unit, "g_co2_per_kwh") == 0
	    || strcmp(unit, "gCO2eq/kWh") == 0
	    || strcmp(unit, "kg_co2_per_mwh") == 0) {
		*factor = 1.0;
		return (CF_OK);
	}
	return (CF_EINVAL);
}

void
watttime_call_init(watttime_call *w, int64_t min_remaining)
{
	memset(w, 0, sizeof(*w));
	w->min_remaining = min_remaining;
	w->remaining     = -1;
	w->limit         = -1;
}

/* Keeps the rate-limit headers of an answer, when it has them. */
static void
wt_rate_note(watttime_call *w, const cf_http_response *rs)
{
	char      v[32], *end;
	long long n;

	if (cf_http_response_header(rs, "X-RateLimit-Remaining", v, sizeof(v))
	    && (n = strtoll(v, &end, 10)) >= 0 && end != v && *end == '\0') {
		w->remaining = n;
	}
	if (cf_http_response_header(rs, "X-RateLimit-Limit", v, sizeof(v))
	    && (n = strtoll(v, &end, 10)) >= 0 && end != v && *end == '\0') {
		w->limit = n;
	}
	if (rs->status == 429) {
		w->rate_limited = 1;
	}
}

/* 1 (and err said) when the last answer left too few requests. */
static int
wt_near(watttime_call *w, char *err, size_t errlen)
{
	if (w->remaining < 0 || w->remaining >= w->min_remaining) {
		return (0);
	}
	w->near_limit = 1;
	cf_errf(err, errlen,
	    "watttime: rate limit near: %" PRId64 " requests left in the "
	    "window (the least allowed is %" PRId64 ")",
	    w->remaining, w->min_remaining);
	return (1);
}

/* "<prefix><value>" in a buffer that is wiped when freed. */
static char *
wt_header(const char *prefix, const char *value)
{
	size_t n = strlen(prefix) + strlen(value) + 1;
	char  *h = malloc(n);

	if (h != NULL) {
		snprintf(h, n, "%s%s", prefix, value);
	}
	return (h);
}

static void
wt_header_free(char *h)
{
	if (h != NULL) {
		cf_secret_free(h, strlen(h));
	}
}

/* GET /login with HTTP Basic: a new token into c->token. */
static int
wt_login(ingest_call *c, char *err, size_t errlen)
{
	watttime_call   *w    = (watttime_call *) c;
	const char      *user = ingest_cred(c, "username");
	const char      *pass = ingest_cred(c, "password");
	char             url[1024];
	char            *pair = NULL, *b64 = NULL, *auth = NULL;
	const char      *hdrs[3];
	cf_http_request  rq  = { 0 };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const char      *tok;
	size_t           n;
	int              rv;

	if (user == NULL || pass == NULL) {
		cf_errf(err, errlen, "watttime: no username or password");
		return (CF_EINVAL);
	}
	if (wt_near(w, err, errlen)) {
		return (CF_ERANGE);
	}
	if (ingest_url(url, sizeof(url), c->base_url, "/login") != CF_OK) {
		cf_errf(err, errlen, "watttime: base URL too long");
		return (CF_ETOOBIG);
	}
	/* Basic credentials: base64 of "user:password" (RFC 7617). */
	n    = strlen(user) + strlen(pass) + 2;
	pair = malloc(n);
	b64  = malloc(4 * ((n + 2) / 3) + 1);
	if (pair == NULL || b64 == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	snprintf(pair, n, "%s:%s", user, pass);
	EVP_EncodeBlock(
	    (unsigned char *) b64, (const unsigned char *) pair, (int) n - 1);
	if ((auth = wt_header("Authorization: Basic ", b64)) == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	hdrs[0]    = auth;
	hdrs[1]    = "Accept: application/json";
	hdrs[2]    = NULL;
	rq.method  = "GET";
	rq.url     = url;
	rq.headers = hdrs;
	rv         = ingest_http_json(c, &rq, &rs, &doc, err, errlen);
	wt_rate_note(w, &rs);
	if (rv != CF_OK) {
		goto out;
	}
	tok = ingest_json_str(doc, "token");
	if (tok == NULL || tok[0] == '\0') {
		cf_errf(err, errlen,
		    "watttime: GET /login: no token in the "
		    "answer");
		rv = CF_EPROTO;
		goto out;
	}
	rv = ingest_token_set(
	    c->token, tok, NULL, cf_time_now_ms() + WT_TOKEN_TTL_MS);
out:
	if (pair != NULL) {
		cf_secret_free(pair, strlen(pair));
	}
	if (b64 != NULL) {
		cf_secret_free(b64, strlen(b64));
	}
	wt_header_free(auth);
	ingest_json_wipe(doc);
	cf_http_response_free(&rs);
	return (rv);
}

typedef struct wt_args {
	const char *region;
	const char *signal;
	int         hours;
} wt_args;

/* GET /v3/forecast with the bearer token. */
static int
wt_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	watttime_call  *w = (watttime_call *) c;
	wt_args        *a = arg;
	char            url[1024], hh[16], path[512];
	char           *q = NULL, *auth = NULL;
	const char     *pairs[7], *hdrs[3];
	cf_http_request rq = { 0 };
	int             rv;

	memset(rs, 0, sizeof(*rs));
	*doc = NULL;
	if (wt_near(w, err, errlen)) {
		return (CF_ERANGE);
	}
	snprintf(hh, sizeof(hh), "%d", a->hours);
	pairs[0] = "region";
	pairs[1] = a->region;
	pairs[2] = "signal_type";
	pairs[3] = a->signal;
	pairs[4] = "horizon_hours";
	pairs[5] = hh;
	pairs[6] = NULL;
	if (cf_http_form(&q, pairs) != CF_OK) {
		return (CF_ENOMEM);
	}
	snprintf(path, sizeof(path), "/v3/forecast?%s", q);
	free(q);
	if (ingest_url(url, sizeof(url), c->base_url, path) != CF_OK) {
		cf_errf(err, errlen, "watttime: URL too long");
		return (CF_ETOOBIG);
	}
	if ((auth = wt_header("Authorization: Bearer ", c->token->access))
	    == NULL) {
		return (CF_ENOMEM);
	}
	hdrs[0]    = auth;
	hdrs[1]    = "Accept: application/json";
	hdrs[2]    = NULL;
	rq.method  = "GET";
	rq.url     = url;
	rq.headers = hdrs;
	rv         = ingest_http_json(c, &rq, rs, doc, err, errlen);
	wt_rate_note(w, rs);
	wt_header_free(auth);
	return (rv);
}

/* The forecast document into out. */
static int
wt_parse(const cJSON *doc, int hours, carbon_forecast *out, char *err,
    size_t errlen)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
	const cJSON *e;
	const char  *units, *sig, *gen;
	int64_t      period;
	size_t       i = 0;

	if (!cJSON_IsArray(data) || !cJSON_IsObject(meta)) {
		cf_errf(err, errlen,
		    "watttime: GET /v3/forecast: the answer "
		    "has no data array or no meta object");
		return (CF_EPROTO);
	}
	units = ingest_json_str(meta, "units");
	if (carbon_unit_factor(units, &out->factor) != CF_OK) {
		cf_errf(err, errlen,
		    "watttime: GET /v3/forecast: unknown unit \"%.40s\"",
		    units != NULL ? units : "(none)");
		return (CF_EPROTO);
	}
	snprintf(out->unit, sizeof(out->unit), "%s", units);
	if ((sig = ingest_json_str(meta, "signal_type")) != NULL) {
		snprintf(out->signal, sizeof(out->signal), "%s", sig);
	}
	if ((gen = ingest_json_str(meta, "generated_at")) != NULL
	    && ingest_time_parse(gen, &out->generated_ms) != CF_OK) {
		out->generated_ms = 0;
	}
	period = ingest_json_int(meta, "data_point_period_seconds", 0);
	if (period > 0) {
		out->expected = (int64_t) hours * 3600 / period;
	}
	out->pts
	    = calloc((size_t) cJSON_GetArraySize(data) + 1, sizeof(*out->pts));
	if (out->pts == NULL) {
		return (CF_ENOMEM);
	}
	cJSON_ArrayForEach(e, data)
	{
		const char *t = ingest_json_str(e, "point_time");
		double      v = ingest_json_num(e, "value", -1.0);

		if (t == NULL
		    || ingest_time_parse(t, &out->pts[i].t_ms) != CF_OK
		    || v < 0) {
			cf_errf(err, errlen,
			    "watttime: GET /v3/forecast: point %zu has no "
			    "valid point_time or value",
			    i);
			return (CF_EPROTO);
		}
		out->pts[i++].value = v;
	}
	out->n = i;
	if (i == 0 && hours > 0) {
		cf_errf(err, errlen,
		    "watttime: GET /v3/forecast: the forecast has no points");
		return (CF_EPROTO);
	}
	return (CF_OK);
}

int
watttime_forecast(watttime_call *w, const char *region, const char *signal,
    int hours, carbon_forecast *out, char *err, size_t errlen)
{
	wt_args          a   = { region, signal, hours };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	int              rv;

	memset(out, 0, sizeof(*out));
	out->provider = "watttime";
	snprintf(out->signal, sizeof(out->signal), "%s", signal);
	w->near_limit = 0;
	rv = ingest_authed(&w->call, wt_login, wt_send, ingest_auth_failed_401,
	    &a, &rs, &doc, err, errlen);
	if (rv == CF_OK) {
		rv = wt_parse(doc, hours, out, err, errlen);
	}
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}
