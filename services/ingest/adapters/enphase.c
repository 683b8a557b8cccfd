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

#include "cf_err.h"
#include "cf_time.h"
#include "energy.h"

#define ENPHASE_SPAN_MS (24 * 3600 * 1000LL)

static const char *const api_fields[]
    = { "error", "error_description", "message", "details", NULL };

/* energy_grant_fn: one grant with refresh token rt, the application's
 * client id and secret as HTTP Basic. */
static int
enphase_grant(ingest_call *c, const char *rt, char *err, size_t errlen)
{
	const char *pairs[]
	    = { "grant_type", "refresh_token", "refresh_token", rt, NULL };
	char *auth;
	char  url[1024];
	int   rv;

	if ((rv = ingest_url(url, sizeof(url), c->base_url, "/oauth/token"))
	    != CF_OK) {
		cf_errf(err, errlen, "enphase: base_url is too long");
		return (rv);
	}
	if ((auth = ingest_basic_header(
	         ingest_cred(c, "client_id"), ingest_cred(c, "client_secret")))
	    == NULL) {
		cf_errf(err, errlen, "enphase: out of memory");
		return (CF_ENOMEM);
	}
	rv = energy_oauth_refresh(c, url, auth, pairs, err, errlen);
	ingest_secret_free(auth);
	return (rv);
}

/* ingest_login_fn: the stored refresh token, else the credentials'. */
static int
enphase_login(ingest_call *c, char *err, size_t errlen)
{
	if (ingest_cred(c, "client_id") == NULL
	    || ingest_cred(c, "client_secret") == NULL) {
		cf_errf(err, errlen,
		    "enphase: the credentials lack client_id or "
		    "client_secret");
		return (CF_EINVAL);
	}
	return (energy_refresh_login(c, enphase_grant, err, errlen));
}

/* ingest_send_fn: GET arg (a URL) with the access token. */
static int
enphase_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	return (energy_get(
	    c, arg, c->token->access, api_fields, rs, doc, err, errlen));
}

/* One telemetry route for the chunk: metric of enwh, and of powr. */
static int
enphase_series(energy_fetch *f, energy_chunk *ch, const char *route, int m_wh,
    int m_w, char *err, size_t errlen)
{
	ingest_call     *c = f->call;
	char             path[256], url[2048], start[24];
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL, *iv, *it;
	const char      *key = ingest_cred(c, "api_key");
	const char      *gran
	    = ch->t1 - ch->t0 <= ENERGY_BUCKET_MS ? "15mins" : "day";
	const char *pairs[]
	    = { "key", key, "start_at", start, "granularity", gran, NULL };
	int rv;

	if (key == NULL) {
		cf_errf(err, errlen, "enphase: the credentials lack api_key");
		return (CF_EINVAL);
	}
	snprintf(start, sizeof(start), "%lld", (long long) (ch->t0 / 1000));
	snprintf(path, sizeof(path), "/api/v4/systems/%s/telemetry/%s",
	    f->site_id, route);
	if ((rv = ingest_url_query(url, sizeof(url), c->base_url, path, pairs))
	    != CF_OK) {
		cf_errf(err, errlen, "enphase: request too long");
		return (rv);
	}
	f->requests++;
	rv = ingest_authed(c, enphase_login, enphase_send,
	    ingest_auth_failed_401, url, &rs, &doc, err, errlen);
	memset(url, 0, sizeof(url)); /* it held the key */
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
