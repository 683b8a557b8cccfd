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
#include "cf_secret.h"

int
electricitymaps_forecast(ingest_call *c, const char *zone, int hours,
    carbon_forecast *out, char *err, size_t errlen)
{
	const char      *key = ingest_cred(c, "token");
	char             url[1024], path[512], hh[16];
	char            *q = NULL, *auth = NULL;
	const char      *pairs[5], *hdrs[3], *upd;
	cf_http_request  rq  = { 0 };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const cJSON     *fc, *e;
	size_t           n, i = 0;
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
	pairs[0] = "zone";
	pairs[1] = zone;
	pairs[2] = "horizonHours";
	pairs[3] = hh;
	pairs[4] = NULL;
	if (cf_http_form(&q, pairs) != CF_OK) {
		return (CF_ENOMEM);
	}
	snprintf(path, sizeof(path), "/v3/carbon-intensity/forecast?%s", q);
	free(q);
	if (ingest_url(url, sizeof(url), c->base_url, path) != CF_OK) {
		cf_errf(err, errlen, "electricitymaps: URL too long");
		return (CF_ETOOBIG);
	}
	n = strlen("auth-token: ") + strlen(key) + 1;
	if ((auth = malloc(n)) == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(auth, n, "auth-token: %s", key);
	hdrs[0]    = auth;
	hdrs[1]    = "Accept: application/json";
	hdrs[2]    = NULL;
	rq.method  = "GET";
	rq.url     = url;
	rq.headers = hdrs;
	rv         = ingest_http_json(c, &rq, &rs, &doc, err, errlen);
	cf_secret_free(auth, strlen(auth));
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
	if ((upd = ingest_json_str(doc, "updatedAt")) != NULL
	    && ingest_time_parse(upd, &out->generated_ms) != CF_OK) {
		out->generated_ms = 0;
	}
	out->pts
	    = calloc((size_t) cJSON_GetArraySize(fc) + 1, sizeof(*out->pts));
	if (out->pts == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(e, fc)
	{
		const char *t = ingest_json_str(e, "datetime");
		double      v = ingest_json_num(e, "carbonIntensity", -1.0);

		if (t == NULL
		    || ingest_time_parse(t, &out->pts[i].t_ms) != CF_OK
		    || v < 0) {
			cf_errf(err, errlen,
			    "electricitymaps: GET /v3/carbon-intensity/"
			    "forecast: point %zu has no valid datetime or "
			    "carbonIntensity",
			    i);
			rv = CF_EPROTO;
			goto out;
		}
		out->pts[i++].value = v;
	}
	out->n = i;
	if (i == 0) {
		cf_errf(err, errlen,
		    "electricitymaps: GET /v3/carbon-intensity/forecast: the "
		    "forecast has no points");
		rv = CF_EPROTO;
	}
out:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}
