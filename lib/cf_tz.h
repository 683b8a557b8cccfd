/*
 * cf_tz.h - IANA time zones compiled into offset tables.
 *
 * ICU is the source of truth, but an ICU calendar round trip costs
 * microseconds. cf_tz_open() asks ICU once for every UTC-offset transition
 * of the zone between CF_TZ_MIN_MS and CF_TZ_MAX_MS and keeps them in an
 * immutable table; lookups are then a bucket index plus a short scan, with
 * no allocation and no lock. Zones are shared: opening the same name twice
 * returns the same table with its reference count raised.
 */
#ifndef CF_TZ_H
#define CF_TZ_H

#include <stddef.h>
#include <stdint.h>

/* The instants a zone table covers: [1970-01-01, 2200-01-01) UTC. */
#define CF_TZ_MIN_MS 0LL
#define CF_TZ_MAX_MS 7258118400000LL

typedef struct cf_tz cf_tz;

/*
 * Opens the zone called name ("Europe/Berlin", "UTC"; NULL or "" means
 * UTC). An unknown name fails with CF_ETZ and err says which name. On
 * success *out holds a reference the caller releases with cf_tz_close().
 */
int cf_tz_open(cf_tz **out, const char *name, char *err, size_t errlen);

/* Releases a reference from cf_tz_open(); NULL is ignored. */
void cf_tz_close(cf_tz *tz);

/* Another reference to an open zone; release it with cf_tz_close(). */
cf_tz *cf_tz_ref(cf_tz *tz);

/* The canonical name the zone was opened with ("UTC" for NULL/""). */
const char *cf_tz_name(const cf_tz *tz);

/* The zone's total UTC offset (standard + DST) in seconds at utc_ms. */
int cf_tz_offset(const cf_tz *tz, int64_t utc_ms);

#endif /* CF_TZ_H */
