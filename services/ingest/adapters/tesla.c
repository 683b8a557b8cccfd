/*
 * tesla.c - Tesla Fleet API, energy sites (Powerwall): the energy
 * history of a site as measurements (energy-sync).
 *
 * Documentation: https://developer.tesla.com/docs/fleet-api/endpoints/energy
 * (GET /api/1/energy_sites/{energy_site_id}/calendar_history with
 * kind=energy, start_date, end_date, period, time_zone) and
 * https://developer.tesla.com/docs/fleet-api/authentication/third-party-tokens
 * (POST https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token,
 * grant_type=refresh_token, client_id, refresh_token; the refresh token
 * is rotated: the answer's one replaces it).
 *
 * Auth: `Authorization: Bearer <access token>`, the source's token in
 * the token store, refreshed when stale (5 minutes before its expiry or
 * JWT exp) or on a 401 through ingest_authed, with the stored refresh
 * token once there is one, else the credentials' first one.
 *
 * Credentials: {client_id, refresh_token}, and optionally auth_url, the
 * token host (Tesla's is not the API host; default: the source's
 * base_url, as the vendor simulator serves both).
 *
 * Requests: one day per call (period=day gives 15-minute entries),
 * start_date and end_date as RFC 3339 UTC.
 *
 * Mapping (Wh per entry; a field the site does not report counts 0):
 *	solar_energy_exported                   -> production_wh
 *	consumer_energy_imported_from_grid
 *	  + _from_solar + _from_battery
 *	  + _from_generator                     -> consumption_wh
 *	grid_energy_imported                    -> grid_import_wh
 *	grid_energy_exported_from_solar
 *	  + _from_battery + _from_generator     -> grid_export_wh
 *	battery_energy_imported_from_solar
 *	  + _from_grid + _from_generator        -> battery_charge_wh
 *	battery_energy_exported                 -> battery_discharge_wh
 *	consumer_energy_imported_from_solar
 *	  + battery_energy_imported_from_solar  -> self_consumption_wh
 *	                                           (solar used on site, now
 *	                                           or later from the battery)
 * The history is energy only: no power_w.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "energy.h"

#define TESLA_SPAN_MS (24 * 3600 * 1000LL)

static const char *const oauth_fields[]
    = { "error", "error_description", NULL };
static const char *const api_fields[] = { "error", "error_description", NULL };

static int
tesla_grant(ingest_call *c, const char *client, const char *rt, char *err,
    size_t errlen)
{
	const char *pairs[]  = { "grant_type", "refresh_token", "client_id",
		 client, "refresh_token", rt, NULL };
	const char *auth_url = ingest_cred(c, "auth_url");
	char       *body     = NULL;
	char        url[1024], why[256];
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const char      *at, *nrt;
	int64_t          exp_s;
	int              rv;

	if ((rv = ingest_url(url, sizeof(url),
	         auth_url != NULL ? auth_url : c->base_url,
	         "/oauth2/v3/token"))
	    != CF_OK) {
		cf_errf(err, errlen, "tesla: token URL is too long");
		return (rv);
	}
	if ((rv = cf_http_form(&body, pairs)) != CF_OK) {
		cf_errf(err, errlen, "tesla: out of memory");
		return (rv);
	}
	{
		const char     *hdrs[] = { "Accept: application/json", NULL };
		cf_http_request rq     = { .method = "POST",
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
		cf_errf(err, errlen, "tesla: out of memory");
	}
out:
	ingest_json_wipe(doc);
	energy_response_wipe(&rs);
	energy_secret_free(body);
	return (rv);
}

/* ingest_login_fn: the stored refresh token, else the credentials'. */
static int
tesla_login(ingest_call *c, char *err, size_t errlen)
{
	const char *client = ingest_cred(c, "client_id");
	const char *first  = ingest_cred(c, "refresh_token");
	const char *stored = c->token->refresh;
	int         rv;

	if (client == NULL) {
		cf_errf(err, errlen, "tesla: the credentials lack client_id");
		return (CF_EINVAL);
	}
	if (stored == NULL && first == NULL) {
		cf_errf(err, errlen,
		    "tesla: no refresh token (credentials: refresh_token)");
		return (CF_EINVAL);
	}
	rv = tesla_grant(
	    c, client, stored != NULL ? stored : first, err, errlen);
	/* Authorised again since the stored token died: try the new one. */
	if (rv == CF_EPROTO && stored != NULL && first != NULL
	    && strcmp(stored, first) != 0) {
		rv = tesla_grant(c, client, first, err, errlen);
	}
	return (rv);
}

static int
tesla_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	char *auth = energy_bearer(c->token->access);
	int   rv;

	if (auth == NULL) {
		cf_errf(err, errlen, "tesla: out of memory");
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

/* The sum of the named fields present in e (Wh); NAN if none is. */
static double
tesla_sum(const cJSON *e, const char *const *names)
{
	double s   = 0;
	int    any = 0;

	for (int i = 0; names[i] != NULL; i++) {
		double v = ingest_json_num(e, names[i], NAN);
		if (!isnan(v)) {
			s += v;
			any = 1;
		}
	}
	return (any ? s : NAN);
}

static const char *const f_production[] = { "solar_energy_exported", NULL };
static const char *const f_consumption[]
    = { "consumer_energy_imported_from_grid",
	      "consumer_energy_imported_from_solar",
	      "consumer_energy_imported_from_battery",
	      "consumer_energy_imported_from_generator", NULL };
static const char *const f_import[] = { "grid_energy_imported", NULL };
static const char *const f_export[]
    = { "grid_energy_exported_from_solar", "grid_energy_exported_from_battery",
	      "grid_energy_exported_from_generator", NULL };
static const char *const f_charge[] = { "battery_energy_imported_from_solar",
	"battery_energy_imported_from_grid",
	"battery_energy_imported_from_generator", NULL };
static const char *const f_discharge[] = { "battery_energy_exported", NULL };
static const char *const f_self[] = { "consumer_energy_imported_from_solar",
	"battery_energy_imported_from_solar", NULL };

static const struct {
	int                m;
	const char *const *fields;
} tesla_map[] = {
	{ EM_PRODUCTION, f_production },
	{ EM_CONSUMPTION, f_consumption },
	{ EM_GRID_IMPORT, f_import },
	{ EM_GRID_EXPORT, f_export },
	{ EM_BATTERY_CHARGE, f_charge },
	{ EM_BATTERY_DISCHARGE, f_discharge },
	{ EM_SELF_CONSUMPTION, f_self },
};

static int
tesla_chunk(
    energy_fetch *f, void *ctx, energy_chunk *ch, char *err, size_t errlen)
{
	ingest_call *c = f->call;
	char         path[256], url[1024], why[256], sd[40], ed[40];
	char        *q = NULL;
	const char  *pairs[]
	    = { "kind", "energy", "period", "day", "start_date", sd,
		      "end_date", ed, "time_zone", "Etc/UTC", NULL };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL, *ts, *e;
	int              rv;

	(void) ctx;
	ingest_time_format(sd, sizeof(sd), ch->t0);
	ingest_time_format(ed, sizeof(ed), ch->t1);
	snprintf(path, sizeof(path), "/api/1/energy_sites/%s/calendar_history",
	    f->site_id);
	if ((rv = cf_http_form(&q, pairs)) != CF_OK
	    || (rv = ingest_url(url, sizeof(url), c->base_url, path)) != CF_OK
	    || strlen(url) + strlen(q) + 2 > sizeof(url)) {
		free(q);
		cf_errf(err, errlen, "tesla: request too long");
		return (rv != CF_OK ? rv : CF_ETOOBIG);
	}
	strcat(url, "?");
	strcat(url, q);
	free(q);
	f->requests++;
	rv = ingest_authed(c, tesla_login, tesla_send, ingest_auth_failed_401,
	    url, &rs, &doc, err, errlen);
	if (rv == CF_EPROTO && rs.status >= 400) {
		cf_errf(err, errlen, "%s: %s", rs.what,
		    energy_refusal(why, sizeof(why), &rs, doc, api_fields));
	}
	if (rv != CF_OK) {
		goto out;
	}
	ts = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "response"), "time_series");
	if (!cJSON_IsArray(ts)) {
		cf_errf(err, errlen,
		    "%s: the answer has no response.time_series", rs.what);
		rv = CF_EPROTO;
		goto out;
	}
	cJSON_ArrayForEach(e, ts)
	{
		int64_t t, b;
		if (ingest_time_parse(ingest_json_str(e, "timestamp"), &t)
		    != CF_OK) {
			cf_errf(err, errlen,
			    "%s: an entry without a valid timestamp", rs.what);
			rv = CF_EPROTO;
			goto out;
		}
		b = energy_floor(t);
		for (size_t i = 0;
		     i < sizeof(tesla_map) / sizeof(tesla_map[0]); i++) {
			energy_chunk_put(ch, tesla_map[i].m, b,
			    b + ENERGY_BUCKET_MS,
			    tesla_sum(e, tesla_map[i].fields));
		}
	}
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}

int
energy_tesla_fetch(energy_fetch *f, char *err, size_t errlen)
{
	if (!energy_id_ok(f->site_id)) {
		cf_errf(
		    err, errlen, "tesla: invalid site_id (an energy_site_id)");
		return (CF_EINVAL);
	}
	if (f->call->token == NULL) {
		cf_errf(err, errlen, "tesla: no token slot (internal)");
		return (CF_EINVAL);
	}
	return (energy_chunks(f, TESLA_SPAN_MS,
	    EM_BIT(EM_PRODUCTION) | EM_BIT(EM_GRID_IMPORT), tesla_chunk, NULL,
	    err, errlen));
}
