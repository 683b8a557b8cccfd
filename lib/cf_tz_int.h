/*
 * cf_tz_int.h - the zone table's layout, for the cron engine only.
 *
 * The UTC time line is cut into segments of constant offset. With n
 * transitions at[0] < ... < at[n-1], segment i (0 <= i <= n) covers
 * [at[i-1], at[i]) (open at the ends) and has offset off[i] seconds.
 */
#ifndef CF_TZ_INT_H
#define CF_TZ_INT_H

#include <stdint.h>

#include "cf_tz.h"

/* Bucket width for the index: 2^35 ms, a little over a year. */
#define CF__TZ_BUCKET_SHIFT 35

struct cf_tz {
	struct cf_tz *next; /* cache list */
	int           refs;
	char *        name;
	int           n;       /* number of transitions */
	int64_t *     at;      /* n transition instants (UTC ms) */
	int32_t *     off;     /* n + 1 offsets (seconds) */
	/*
	 * Per segment, the instants whose wall time belongs to it alone:
	 * [safe_lo[i], safe_hi[i]) skips the wall times a transition at
	 * either end makes skipped or repeated. n + 1 entries each.
	 */
	int64_t *     safe_lo;
	int64_t *     safe_hi;
	int           nbucket; /* entries in idx */
	uint16_t *    idx;     /* idx[b]: transitions before bucket b */
};

/* The segment holding utc_ms. */
static inline int
cf__tz_segment(const cf_tz *tz, int64_t utc_ms)
{
	int i;
	if (tz->n == 0) {
		return (0);
	}
	if (utc_ms < 0) {
		i = 0;
	} else {
		int64_t b = utc_ms >> CF__TZ_BUCKET_SHIFT;
		i = (b >= tz->nbucket) ? tz->idx[tz->nbucket - 1] : tz->idx[b];
	}
	while (i < tz->n && tz->at[i] <= utc_ms) {
		i++;
	}
	return (i);
}

static inline int64_t
cf__tz_seg_start(const cf_tz *tz, int i)
{
	return (i == 0 ? INT64_MIN : tz->at[i - 1]);
}

static inline int64_t
cf__tz_seg_end(const cf_tz *tz, int i)
{
	return (i == tz->n ? INT64_MAX : tz->at[i]);
}

#endif /* CF_TZ_INT_H */
