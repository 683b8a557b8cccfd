/*
 * carbon.c - what both carbon adapters (watttime.c, electricitymaps.c)
 * share: a unit's factor to gCO2eq/kWh, a forecast's points read from
 * the provider's array, and freeing a forecast.
 */
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "cf_err.h"

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

int
carbon_points(carbon_forecast *out, const cJSON *pts, const char *tkey,
    const char *vkey, const char *generated, int need_points, const char *what,
    char *err, size_t errlen)
{
	const cJSON *e;
	size_t       i = 0;

	if (generated != NULL
	    && ingest_time_parse(generated, &out->generated_ms) != CF_OK) {
		out->generated_ms = 0;
	}
	out->pts
	    = calloc((size_t) cJSON_GetArraySize(pts) + 1, sizeof(*out->pts));
	if (out->pts == NULL) {
		return (CF_ENOMEM);
	}
	cJSON_ArrayForEach(e, pts)
	{
		const char *t = ingest_json_str(e, tkey);
		double      v = ingest_json_num(e, vkey, -1.0);

		if (t == NULL
		    || ingest_time_parse(t, &out->pts[i].t_ms) != CF_OK
		    || v < 0) {
			cf_errf(err, errlen,
			    "%s: point %zu has no valid %s or %s", what, i,
			    tkey, vkey);
			return (CF_EPROTO);
		}
		out->pts[i++].value = v;
	}
	out->n = i;
	if (i == 0 && need_points) {
		cf_errf(err, errlen, "%s: the forecast has no points", what);
		return (CF_EPROTO);
	}
	return (CF_OK);
}
