/*
 * cf_tz.c - compile ICU time zones into offset tables, shared and cached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cf_err.h"
#include "cf_tz_int.h"

static pthread_mutex_t tz_lock  = PTHREAD_MUTEX_INITIALIZER;
static cf_tz *         tz_cache = NULL;

/* The total offset, in seconds, of cal at its current instant. */
static int
tz_cal_offset(UCalendar *cal, UErrorCode *st)
{
	int32_t raw = ucal_get(cal, UCAL_ZONE_OFFSET, st);
	int32_t dst = ucal_get(cal, UCAL_DST_OFFSET, st);
	return ((raw + dst) / 1000);
}

static void
tz_free(cf_tz *tz)
{
	if (tz != NULL) {
		free(tz->name);
		free(tz->at);
		free(tz->off);
		free(tz->idx);
		free(tz->safe_lo);
		free(tz->safe_hi);
		free(tz);
	}
}

/*
 * Walks ICU's transitions from CF_TZ_MIN_MS to CF_TZ_MAX_MS. Transitions
 * that change the standard and DST parts by opposite amounts leave the
 * total offset as it was; they are not cut points for us, so we drop them.
 */
static int
tz_build(cf_tz *tz, const UChar *id, int32_t idlen)
{
	UErrorCode st  = U_ZERO_ERROR;
	UCalendar *cal = ucal_open(id, idlen, "en_US", UCAL_GREGORIAN, &st);
	int        cap = 0, rv = CF_ESYSTEM;
	UDate      t;

	if (U_FAILURE(st)) {
		return (CF_ESYSTEM);
	}
	ucal_setMillis(cal, (UDate) CF_TZ_MIN_MS, &st);
	if ((tz->off = malloc(sizeof(int32_t))) == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	tz->off[0] = tz_cal_offset(cal, &st);
	while (U_SUCCESS(st) &&
	    ucal_getTimeZoneTransitionDate(
	        cal, UCAL_TZ_TRANSITION_NEXT, &t, &st) &&
	    U_SUCCESS(st) && t < (UDate) CF_TZ_MAX_MS) {
		int off;
		ucal_setMillis(cal, t, &st);
		off = tz_cal_offset(cal, &st);
		if (U_FAILURE(st)) {
			break;
		}
		if (off == tz->off[tz->n]) {
			continue;
		}
		if (tz->n + 1 >= cap) {
			int      ncap = cap ? cap * 2 : 64;
			int64_t *at   = realloc(tz->at, ncap * sizeof(*at));
			int32_t *of;
			if (at == NULL) {
				rv = CF_ENOMEM;
				goto out;
			}
			tz->at = at;
			of     = realloc(tz->off, (ncap + 1) * sizeof(*of));
			if (of == NULL) {
				rv = CF_ENOMEM;
				goto out;
			}
			tz->off = of;
			cap     = ncap;
		}
		tz->at[tz->n]      = (int64_t) t;
		tz->off[tz->n + 1] = off;
		tz->n++;
	}
	if (U_FAILURE(st)) {
		goto out;
	}
	tz->nbucket = (int) (CF_TZ_MAX_MS >> CF__TZ_BUCKET_SHIFT) + 1;
	if ((tz->idx = calloc(tz->nbucket, sizeof(uint16_t))) == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	tz->safe_lo = malloc((tz->n + 1) * sizeof(int64_t));
	tz->safe_hi = malloc((tz->n + 1) * sizeof(int64_t));
	if (tz->safe_lo == NULL || tz->safe_hi == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	for (int i = 0; i <= tz->n; i++) {
		int64_t o    = tz->off[i] * 1000LL;
		int64_t lead = (i > 0) ? llabs(o - tz->off[i - 1] * 1000LL) : 0;
		int64_t tail = (i < tz->n && tz->off[i + 1] * 1000LL < o)
		    ? o - tz->off[i + 1] * 1000LL
		    : 0;
		tz->safe_lo[i] = (i == 0) ? INT64_MIN : tz->at[i - 1] + lead;
		tz->safe_hi[i] = (i == tz->n) ? INT64_MAX : tz->at[i] - tail;
	}
	for (int b = 0, i = 0; b < tz->nbucket; b++) {
		int64_t start = (int64_t) b << CF__TZ_BUCKET_SHIFT;
		while (i < tz->n && tz->at[i] < start) {
			i++;
		}
		tz->idx[b] = (uint16_t) i;
	}
	rv = CF_OK;
out:
	ucal_close(cal);
	return (rv);
}

int
cf_tz_open(cf_tz **out, const char *name, char *err, size_t errlen)
{
	UChar      id[128], canon[128];
	int32_t    idlen;
	UBool      system = 0;
	UErrorCode st     = U_ZERO_ERROR;
	cf_tz *    tz;
	int        rv;

	if (name == NULL || name[0] == '\0') {
		name = "UTC";
	}
	pthread_mutex_lock(&tz_lock);
	for (tz = tz_cache; tz != NULL; tz = tz->next) {
		if (strcmp(tz->name, name) == 0) {
			tz->refs++;
			pthread_mutex_unlock(&tz_lock);
			*out = tz;
			return (CF_OK);
		}
	}
	pthread_mutex_unlock(&tz_lock);

	/*
	 * ICU maps a name it does not know to "Etc/Unknown", which behaves as
	 * UTC+0: a typo would silently run every job at the wrong hour. The
	 * canonical-ID lookup fails for such names, so we check it first.
	 */
	if (strlen(name) >= 100) {
		snprintf(err, errlen, "unknown time zone '%.40s...'", name);
		return (CF_ETZ);
	}
	u_uastrncpy(id, name, 127);
	id[127] = 0;
	idlen   = u_strlen(id);
	ucal_getCanonicalTimeZoneID(id, idlen, canon, 128, &system, &st);
	if (U_FAILURE(st) || !system) {
		snprintf(err, errlen, "unknown time zone '%s'", name);
		return (CF_ETZ);
	}
	if ((tz = calloc(1, sizeof(*tz))) == NULL ||
	    (tz->name = strdup(name)) == NULL) {
		tz_free(tz);
		snprintf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	if ((rv = tz_build(tz, id, idlen)) != CF_OK) {
		tz_free(tz);
		snprintf(err, errlen, "time zone '%s': %s", name,
		    cf_strerror(rv));
		return (rv);
	}

	/* Another thread may have built the same zone meanwhile. */
	pthread_mutex_lock(&tz_lock);
	for (cf_tz *o = tz_cache; o != NULL; o = o->next) {
		if (strcmp(o->name, name) == 0) {
			o->refs++;
			pthread_mutex_unlock(&tz_lock);
			tz_free(tz);
			*out = o;
			return (CF_OK);
		}
	}
	tz->refs = 1;
	tz->next = tz_cache;
	tz_cache = tz;
	pthread_mutex_unlock(&tz_lock);
	*out = tz;
	return (CF_OK);
}

cf_tz *
cf_tz_ref(cf_tz *tz)
{
	pthread_mutex_lock(&tz_lock);
	tz->refs++;
	pthread_mutex_unlock(&tz_lock);
	return (tz);
}

void
cf_tz_close(cf_tz *tz)
{
	cf_tz **pp;

	if (tz == NULL) {
		return;
	}
	pthread_mutex_lock(&tz_lock);
	if (--tz->refs > 0) {
		pthread_mutex_unlock(&tz_lock);
		return;
	}
	for (pp = &tz_cache; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == tz) {
			*pp = tz->next;
			break;
		}
	}
	pthread_mutex_unlock(&tz_lock);
	tz_free(tz);
}

const char *
cf_tz_name(const cf_tz *tz)
{
	return (tz->name);
}

int
cf_tz_offset(const cf_tz *tz, int64_t utc_ms)
{
	return (tz->off[cf__tz_segment(tz, utc_ms)]);
}
