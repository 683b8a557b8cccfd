/*
 * carbon.h - the grid carbon intensity adapters (carbon-sync): WattTime
 * (watttime.c) and Electricity Maps (electricitymaps.c), and what they
 * share (carbon.c).
 *
 * Both turn a provider's forecast into a carbon_forecast: points in time
 * with the provider's own value and unit, and the factor that normalises
 * that unit to gCO2eq/kWh. They never touch PostgreSQL (adapter.h).
 */
#ifndef INGEST_CARBON_H
#define INGEST_CARBON_H

#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

/* One forecast point: its instant and the provider's raw value. */
typedef struct carbon_point {
	int64_t t_ms;
	double  value;
} carbon_point;

/* A provider's forecast for one region or zone. Owned: free with
 * carbon_forecast_free. */
typedef struct carbon_forecast {
	const char   *provider;     /* "watttime", "electricitymaps" */
	char          signal[32];   /* "co2_moer", "carbon_intensity" */
	char          unit[40];     /* the provider's: "lbs_co2_per_mwh" */
	double        factor;       /* raw value x factor = gCO2eq/kWh */
	int64_t       generated_ms; /* when the provider made it; 0 unknown */
	int64_t       expected; /* points the horizon promises; 0 unknown */
	carbon_point *pts;
	size_t        n;
} carbon_forecast;

void carbon_forecast_free(carbon_forecast *f);

/*
 * The factor from a unit's name to gCO2eq/kWh: 0.453592 for pounds per
 * MWh (1 lb = 453.592 g, 1 MWh = 1000 kWh), 1 for g/kWh and kg/MWh.
 * Returns CF_OK, or CF_EINVAL for a unit it does not know (a value in an
 * unknown unit is not stored as if it were grams).
 */
int carbon_unit_factor(const char *unit, double *factor);

/*
 * Reads a forecast's points from the array pts, each {tkey: an RFC 3339
 * time, vkey: a value >= 0}, into out->pts and out->n, and
 * out->generated_ms from generated (RFC 3339; NULL or not a time: 0).
 * Returns CF_OK, CF_ENOMEM, or CF_EPROTO for a point without both
 * ("<what>: point 3 has no valid <tkey> or <vkey>") and, when
 * need_points, for a forecast without points.
 */
int carbon_points(carbon_forecast *out, const cJSON *pts, const char *tkey,
    const char *vkey, const char *generated, int need_points, const char *what,
    char *err, size_t errlen);

/* ---- WattTime (watttime.c) ----------------------------------------------
 *
 * A WattTime account: HTTP Basic login for a JWT (no refresh: log in
 * again), then data calls with the bearer token. call.creds holds
 * {"username", "password"}; call.token is the account's stored token.
 * The rate-limit headers of every answer are kept, so the job can stop
 * using WattTime before it is refused.
 */
typedef struct watttime_call {
	ingest_call call;          /* first: the token dance gets &call */
	int64_t     min_remaining; /* below this, refuse to send */
	int64_t     remaining;     /* X-RateLimit-Remaining last seen; -1 */
	int64_t     limit;         /* X-RateLimit-Limit last seen; -1 */
	int         near_limit;    /* 1: a call was not sent, limit near */
	int         rate_limited;  /* 1: WattTime answered 429 */
} watttime_call;

/* Sets up w (remaining and limit unknown). */
void watttime_call_init(watttime_call *w, int64_t min_remaining);

/*
 * The forecast of signal ("co2_moer") for region over hours (0-72) into
 * *out (the caller's: carbon_forecast_free, also on error). Logs in
 * first when the token is stale and once more when it is refused.
 * Before each request, when the last answer said fewer than
 * min_remaining requests are left, nothing is sent: w->near_limit is set
 * and CF_ERANGE is returned with err saying so. A final 429 sets
 * w->rate_limited.
 */
int watttime_forecast(watttime_call *w, const char *region, const char *signal,
    int hours, carbon_forecast *out, char *err, size_t errlen);

/* ---- Electricity Maps (electricitymaps.c) --------------------------------
 *
 * A static key: call.creds holds {"token"}; call.token is NULL.
 */

/* The carbon-intensity forecast of zone over hours (6, 24, 48, 72). */
int electricitymaps_forecast(ingest_call *c, const char *zone, int hours,
    carbon_forecast *out, char *err, size_t errlen);

#endif /* INGEST_CARBON_H */
