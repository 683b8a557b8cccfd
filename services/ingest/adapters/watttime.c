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
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "cf_err.h"
#include "cf_time.h"

/* WattTime's documented token lifetime; a JWT's own exp still counts. */
#define WT_TOKEN_TTL_MS (30 * 60 * 1000)

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

/* GET /login with HTTP Basic: a new token into c->token. */
static int
wt_login(ingest_call *c, char *err, size_t errlen)
{
	watttime_call   *w    = (watttime_call *) c;
	const char      *user = ingest_cred(c, "username");
	const char      *pass = ingest_cred(c, "password");
	char             url[1024];
	char            *auth;
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const char      *tok;
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
	if ((auth = ingest_basic_header(user, pass)) == NULL) {
		return (CF_ENOMEM);
	}
	rv = ingest_get_json(c, url, auth, &rs, &doc, err, errlen);
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
	ingest_secret_free(auth);
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
	watttime_call *w = (watttime_call *) c;
	wt_args       *a = arg;
	char           url[1024], hh[16];
	char          *auth;
	const char *pairs[] = { "region", a->region, "signal_type", a->signal,
		"horizon_hours", hh, NULL };
	int         rv;

	memset(rs, 0, sizeof(*rs));
	*doc = NULL;
	if (wt_near(w, err, errlen)) {
		return (CF_ERANGE);
	}
	snprintf(hh, sizeof(hh), "%d", a->hours);
	if ((rv = ingest_url_query(
	         url, sizeof(url), c->base_url, "/v3/forecast", pairs))
	    != CF_OK) {
		if (rv == CF_ETOOBIG) {
			cf_errf(err, errlen, "watttime: URL too long");
		}
		return (rv);
	}
	if ((auth = ingest_header("Authorization: Bearer ", c->token->access))
	    == NULL) {
		return (CF_ENOMEM);
	}
	rv = ingest_get_json(c, url, auth, rs, doc, err, errlen);
	wt_rate_note(w, rs);
	ingest_secret_free(auth);
	return (rv);
}

/* The forecast document into out. */
static int
wt_parse(const cJSON *doc, int hours, carbon_forecast *out, char *err,
    size_t errlen)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
	const char  *units, *sig;
	int64_t      period;

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
	period = ingest_json_int(meta, "data_point_period_seconds", 0);
	if (period > 0) {
		out->expected = (int64_t) hours * 3600 / period;
	}
	return (carbon_points(out, data, "point_time", "value",
	    ingest_json_str(meta, "generated_at"), hours > 0,
	    "watttime: GET /v3/forecast", err, errlen));
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
