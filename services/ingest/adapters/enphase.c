/*
 * enphase.c - Enphase Enlighten Systems API v4: a system's telemetry as
 * measurements (energy-sync).
 *
 * Documentation: https://developer-v4.enphase.com/docs.html (API
 * reference: "Site Level Production Monitoring", GET
 * /api/v4/systems/{system_id}/telemetry/production_micro and
 * .../telemetry/consumption_meter), and
 * https://developer-v4.enphase.com/docs/quickstart.html (OAuth 2.0:
 * POST /oauth/token with grant_type=refresh_token, HTTP Basic
 * client_id:client_secret).
 *
 * Auth: every call carries the application's API key as `key` and the
 * access token as `Authorization: Bearer`. The token is the source's
 * (owner "source" in the token store): refreshed when stale or on a 401
 * (ingest_authed), with the stored refresh token (Enphase rotates it),
 * or the credentials' first one until there is a stored one. The
 * refresh token goes in a form body rather than the query string the
 * quickstart shows (the endpoint takes both): a body is never logged.
 *
 * Credentials: {api_key, client_id, client_secret, refresh_token}.
 *
 * Requests: one day per call (granularity=day from start_at, unix
 * seconds; 15mins when a single interval is wanted), both telemetry
 * routes per day.
 *
 * Mapping (each interval {end_at, powr, enwh} lands in the 15-minute
 * bucket it ends in; real production_micro reports 5-minute intervals,
 * which add up):
 *	production_micro  enwh -> production_wh (summed)
 *	                  powr -> power_w (production, averaged)
 *	consumption_meter enwh -> consumption_wh (summed)
 * A system without a consumption meter gives no consumption rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cf_err.h"
#include "cf_time.h"
#include "energy.h"

#define ENPHASE_SPAN_MS (24 * 3600 * 1000LL)

static const char *const oauth_fields[]
    = { "error", "error_description", NULL };
static const char *const api_fields[]
    = { "error", "error_description", "message", "details", NULL };

/* One grant with refresh token rt; the new tokens into c->token. */
static int
enphase_grant(ingest_call *c, const char *id, const char *secret,
    const char *rt, char *err, size_t errlen)
{
	const char *pairs[]
	    = { "grant_type", "refresh_token", "refresh_token", rt, NULL };
	char            *body = NULL, *basic = NULL, *auth = NULL;
	char             url[1024], why[256];
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const char      *at, *nrt;
	int64_t          exp_s;
	size_t           n;
	int              rv;

	if ((rv = ingest_url(url, sizeof(url), c->base_url, "/oauth/token"))
	    != CF_OK) {
		cf_errf(err, errlen, "enphase: base_url is too long");
		return (rv);
	}
	n     = strlen(id) + strlen(secret) + 2;
	basic = malloc(n);
	auth  = malloc(4 * n / 3 + 64);
	if (basic == NULL || auth == NULL
	    || (rv = cf_http_form(&body, pairs)) != CF_OK) {
		rv = CF_ENOMEM;
		cf_errf(err, errlen, "enphase: out of memory");
		goto out;
	}
	snprintf(basic, n, "%s:%s", id, secret);
	memcpy(auth, "Authorization: Basic ", 21);
	EVP_EncodeBlock((unsigned char *) auth + 21,
	    (const unsigned char *) basic, (int) strlen(basic));
	{
		const char *hdrs[]
		    = { auth, "Accept: application/json", NULL };
		cf_http_request rq = { .method = "POST",
			.url                   = url,
			.headers               = hdrs,
			.body                  = body,
			.body_len              = strlen(body),
			.content_type = "application/x-www-form-urlencoded" };
		rv = ingest_http_json(c, &rq, &rs, &doc, err, errlen);
	}
	if (rv == CF_EPROTO && rs.status >= 400) {
		cf_errf(err, errlen, "%s: refused: %s", rs.what,
		    energy_refusal(why, sizeof(why), &rs, doc, oauth_fields));
		goto out;
	}
	if (rv != CF_OK) {
		goto out;
	}
	at    = ingest_json_str(doc, "access_token");
	nrt   = ingest_json_str(doc, "refresh_token");
	exp_s = ingest_json_int(doc, "expires_in", 0);
	if (at == NULL || at[0] == '\0') {
		cf_errf(err, errlen, "%s: the answer has no access_token",
		    rs.what);
		rv = CF_EPROTO;
		goto out;
	}
	rv = ingest_token_set(c->token, at,
	    nrt != NULL && nrt[0] != '\0' ? nrt : NULL,
	    exp_s > 0 ? cf_time_now_ms() + exp_s * 1000 : 0);
	if (rv != CF_OK) {
		cf_errf(err, errlen, "enphase: out of memory");
	}
out:
	ingest_json_wipe(doc);
	energy_response_wipe(&rs);
	energy_secret_free(body);
	energy_secret_free(basic);
	energy_secret_free(auth);
	return (rv);
}

/* ingest_login_fn: the stored refresh token, else the credentials'. */
static int
enphase_login(ingest_call *c, char *err, size_t errlen)
{
	const char *id     = ingest_cred(c, "client_id");
	const char *secret = ingest_cred(c, "client_secret");
	const char *first  = ingest_cred(c, "refresh_token");
	const char *stored = c->token->refresh;
	int         rv;

	if (id == NULL || secret == NULL) {
		cf_errf(err, errlen,
		    "enphase: the credentials lack client_id or "
		    "client_secret");
		return (CF_EINVAL);
	}
	if (stored == NULL && first == NULL) {
		cf_errf(err, errlen,
		    "enphase: no refresh token (credentials: refresh_token)");
		return (CF_EINVAL);
	}
	rv = enphase_grant(
	    c, id, secret, stored != NULL ? stored : first, err, errlen);
	/* The credentials were given a new first token (authorised again)
	 * after the stored one died: that one is worth a try. */
	if (rv == CF_EPROTO && stored != NULL && first != NULL
	    && strcmp(stored, first) != 0) {
		rv = enphase_grant(c, id, secret, first, err, errlen);
	}
	return (rv);
}

/* ingest_send_fn: GET arg (a URL) with the access token. */
static int
enphase_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	char *auth = energy_bearer(c->token->access);
	int   rv;

	if (auth == NULL) {
		cf_errf(err, errlen, "enphase: out of memory");
		return (CF_ENOMEM);
	}
	{
		const char *hdrs[]
		    = { auth, "Accept: application/json", NULL };
		cf_http_request rq
		    = { .method = "GET", .url = arg, .headers = hdrs };
		rv = ingest_http_json(c, &rq, rs, doc, err, errlen);
	}
	energy_secret_free(auth);
	return (rv);
}

/* One telemetry route for the chunk: metric of enwh, and of powr. */
static int
enphase_series(energy_fetch *f, energy_chunk *ch, const char *route, int m_wh,
    int m_w, char *err, size_t errlen)
{
	ingest_call     *c = f->call;
	char             path[256], url[2048], why[256];
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL, *iv, *it;
	const char      *key = ingest_cred(c, "api_key");
	int              rv;

	if (key == NULL) {
		cf_errf(err, errlen, "enphase: the credentials lack api_key");
		return (CF_EINVAL);
	}
	{
		char        start[24];
		const char *gran
		    = ch->t1 - ch->t0 <= ENERGY_BUCKET_MS ? "15mins" : "day";
		const char *pairs[] = { "key", key, "start_at", start,
			"granularity", gran, NULL };
		char       *q       = NULL;
		snprintf(
		    start, sizeof(start), "%lld", (long long) (ch->t0 / 1000));
		snprintf(path, sizeof(path), "/api/v4/systems/%s/telemetry/%s",
		    f->site_id, route);
		if ((rv = cf_http_form(&q, pairs)) != CF_OK
		    || (rv = ingest_url(url, sizeof(url), c->base_url, path))
		        != CF_OK
		    || strlen(url) + strlen(q) + 2 > sizeof(url)) {
			energy_secret_free(q);
			cf_errf(err, errlen, "enphase: request too long");
			return (rv != CF_OK ? rv : CF_ETOOBIG);
		}
		strcat(url, "?");
		strcat(url, q);
		energy_secret_free(q);
	}
	f->requests++;
	rv = ingest_authed(c, enphase_login, enphase_send,
	    ingest_auth_failed_401, url, &rs, &doc, err, errlen);
	memset(url, 0, sizeof(url)); /* it held the key */
	if (rv == CF_EPROTO && rs.status >= 400) {
		cf_errf(err, errlen, "%s: %s", rs.what,
		    energy_refusal(why, sizeof(why), &rs, doc, api_fields));
	}
	if (rv != CF_OK) {
		goto out;
	}
	iv = cJSON_GetObjectItemCaseSensitive(doc, "intervals");
	if (!cJSON_IsArray(iv)) {
		cf_errf(err, errlen, "%s: the answer has no intervals list",
		    rs.what);
		rv = CF_EPROTO;
		goto out;
	}
	cJSON_ArrayForEach(it, iv)
	{
		int64_t end = ingest_json_int(it, "end_at", -1);
		int64_t b;
		if (end <= 0) {
			cf_errf(err, errlen, "%s: an interval without end_at",
			    rs.what);
			rv = CF_EPROTO;
			goto out;
		}
		/* The bucket the interval ends in. */
		b = energy_floor(end * 1000 - 1);
		energy_chunk_put(ch, m_wh, b, b + ENERGY_BUCKET_MS,
		    ingest_json_num(it, "enwh", NAN));
		if (m_w >= 0) {
			energy_chunk_put(ch, m_w, b, b + ENERGY_BUCKET_MS,
			    ingest_json_num(it, "powr", NAN));
		}
	}
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}

static int
enphase_chunk(
    energy_fetch *f, void *ctx, energy_chunk *ch, char *err, size_t errlen)
{
	int rv;

	(void) ctx;
	if ((rv = enphase_series(f, ch, "production_micro", EM_PRODUCTION,
	         EM_POWER, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	return (enphase_series(
	    f, ch, "consumption_meter", EM_CONSUMPTION, -1, err, errlen));
}

int
energy_enphase_fetch(energy_fetch *f, char *err, size_t errlen)
{
	if (!energy_id_ok(f->site_id)) {
		cf_errf(err, errlen, "enphase: invalid site_id (a system id)");
		return (CF_EINVAL);
	}
	if (f->call->token == NULL) {
		cf_errf(err, errlen, "enphase: no token slot (internal)");
		return (CF_EINVAL);
	}
	return (energy_chunks(f, ENPHASE_SPAN_MS,
	    EM_BIT(EM_PRODUCTION) | EM_BIT(EM_CONSUMPTION), enphase_chunk,
	    NULL, err, errlen));
}
