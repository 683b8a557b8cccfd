/*
 * electricitymaps.c - Electricity Maps API v3: the carbon-intensity
 * forecast of a zone (carbon-sync's fallback when WattTime fails or its
 * rate limit is near).
 *
 * Documentation: https://portal.electricitymaps.com/docs/api (API
 * reference: "Carbon intensity forecast" GET /v3/carbon-intensity/
 * forecast?zone=&horizonHours=, answering {zone, forecast:
 * [{carbonIntensity, datetime}], updatedAt} in gCO2eq/kWh;
 * "Authentication": the auth-token header).
 *
 * The key is static: a 401 means the key is wrong, expired or revoked,
 * and nothing here can refresh it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "cf_err.h"

int
electricitymaps_forecast(ingest_call *c, const char *zone, int hours,
    carbon_forecast *out, char *err, size_t errlen)
{
	const char      *key = ingest_cred(c, "token");
	char             url[1024], hh[16];
	char            *auth;
	const char      *pairs[] = { "zone", zone, "horizonHours", hh, NULL };
	cf_http_response rs      = { 0 };
	cJSON           *doc     = NULL;
	const cJSON     *fc;
	int              rv;

	memset(out, 0, sizeof(*out));
	out->provider = "electricitymaps";
	out->factor   = 1.0;
	out->expected = hours;
	snprintf(out->signal, sizeof(out->signal), "carbon_intensity");
	snprintf(out->unit, sizeof(out->unit), "gCO2eq/kWh");
	if (key == NULL) {
		cf_errf(err, errlen, "electricitymaps: no auth token");
		return (CF_EINVAL);
	}
	snprintf(hh, sizeof(hh), "%d", hours);
	if ((rv = ingest_url_query(url, sizeof(url), c->base_url,
	         "/v3/carbon-intensity/forecast", pairs))
	    != CF_OK) {
		if (rv == CF_ETOOBIG) {
			cf_errf(err, errlen, "electricitymaps: URL too long");
		}
		return (rv);
	}
	if ((auth = ingest_header("auth-token: ", key)) == NULL) {
		return (CF_ENOMEM);
	}
	rv = ingest_get_json(c, url, auth, &rs, &doc, err, errlen);
	ingest_secret_free(auth);
	if (rv != CF_OK) {
		if (rv == CF_EPROTO && rs.status == 401) {
			cf_errf(err, errlen,
			    "electricitymaps: the auth token was refused "
			    "(HTTP "
			    "401: wrong, expired or revoked)");
		}
		goto out;
	}
	fc = cJSON_GetObjectItemCaseSensitive(doc, "forecast");
	if (!cJSON_IsArray(fc)) {
		cf_errf(err, errlen,
		    "electricitymaps: GET /v3/carbon-intensity/forecast: the "
		    "answer has no forecast array");
		rv = CF_EPROTO;
		goto out;
	}
	rv = carbon_points(out, fc, "datetime", "carbonIntensity",
	    ingest_json_str(doc, "updatedAt"), 1,
	    "electricitymaps: GET /v3/carbon-intensity/forecast", err, errlen);
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}
