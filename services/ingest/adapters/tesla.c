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

static const char *const api_fields[] = { "error", "error_description", NULL };

/* energy_grant_fn: one grant with refresh token rt at the token host. */
static int
tesla_grant(ingest_call *c, const char *rt, char *err, size_t errlen)
{
	const char *pairs[]  = { "grant_type", "refresh_token", "client_id",
		 ingest_cred(c, "client_id"), "refresh_token", rt, NULL };
	const char *auth_url = ingest_cred(c, "auth_url");
	char        url[1024];
	int         rv;

	if ((rv = ingest_url(url, sizeof(url),
	         auth_url != NULL ? auth_url : c->base_url,
	         "/oauth2/v3/token"))
	    != CF_OK) {
		cf_errf(err, errlen, "tesla: token URL is too long");
		return (rv);
	}
	return (energy_oauth_refresh(c, url, NULL, pairs, err, errlen));
}

/* ingest_login_fn: the stored refresh token, else the credentials'. */
static int
tesla_login(ingest_call *c, char *err, size_t errlen)
{
	if (ingest_cred(c, "client_id") == NULL) {
		cf_errf(err, errlen, "tesla: the credentials lack client_id");
		return (CF_EINVAL);
	}
	return (energy_refresh_login(c, tesla_grant, err, errlen));
}

/* ingest_send_fn: GET arg (a URL) with the access token. */
static int
tesla_send(ingest_call *c, void *arg, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	return (energy_get(
	    c, arg, c->token->access, api_fields, rs, doc, err, errlen));
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
	char         path[256], url[1024], sd[40], ed[40];
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
	if ((rv = ingest_url_query(url, sizeof(url), c->base_url, path, pairs))
	    != CF_OK) {
		cf_errf(err, errlen, "tesla: request too long");
		return (rv);
	}
	f->requests++;
	rv = ingest_authed(c, tesla_login, tesla_send, ingest_auth_failed_401,
	    url, &rs, &doc, err, errlen);
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
