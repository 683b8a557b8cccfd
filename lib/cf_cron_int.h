/*
 * cf_cron_int.h - the compiled schedule, shared by the engine's files.
 */
#ifndef CF_CRON_INT_H
#define CF_CRON_INT_H

#include <stdint.h>

#include "cf_cron.h"
#include "cf_tz.h"

enum { CF__F_SEC, CF__F_MIN, CF__F_HOUR, CF__F_DOM, CF__F_MON, CF__F_DOW,
	CF__NFIELDS };

#define CF__TOD_MAX 128

/*
 * The local dates searched: 1969 (UTC 1970 seen west of Greenwich) to 2200
 * (UTC 2199 seen east of it). CF__DAY_BASE is 1969-01-01 in days since the
 * epoch; CF__NDAYS counts the days to 2201-01-01.
 */
#define CF__YEAR_MIN 1969
#define CF__YEAR_MAX 2200
#define CF__DAY_BASE (-365)
#define CF__NDAYS 84736
#define CF__DAY_WORDS ((CF__NDAYS + 63) / 64)

/* dow_nth[w] bits: 1 << n for "w#n" (n 1-5), CF__NTH_LAST for "w#L". */
#define CF__NTH_LAST 0x40u

struct cf_cron {
	uint64_t sec;        /* bits 0-59 */
	uint64_t min;        /* bits 0-59 */
	uint32_t hour;       /* bits 0-23 */
	uint32_t dom;        /* bits 1-31: plain days */
	uint32_t dom_w;      /* bits 1-31: "nW" */
	uint32_t dom_l;      /* bits 0-30: "L-n" (bit 0 is "L") */
	uint16_t mon;        /* bits 1-12 */
	uint8_t  dow;        /* bits 0-6: plain weekdays */
	uint8_t  dom_lw;     /* "LW" */
	uint8_t  dow_nth[7]; /* per weekday, see CF__NTH_LAST */
	uint8_t  dom_star;   /* day-of-month is "*" or "?" */
	uint8_t  dow_star;   /* day-of-week is "*" or "?" */
	uint8_t  dom_plain;  /* day-of-month has no L, W */
	uint8_t  dow_plain;  /* day-of-week has no # */
	uint8_t  has_sec;    /* 6 fields were given */
	uint8_t  warn_or;    /* a "* /n" day field met a restricted one */
	/*
	 * Every matching local date from CF__YEAR_MIN to CF__YEAR_MAX, one
	 * bit per day counted from CF__DAY_BASE: finding the next matching
	 * day is a bit scan, with no calendar arithmetic at run time.
	 */
	uint64_t days[CF__DAY_WORDS];
	/*
	 * When a day has at most CF__TOD_MAX matching times, they are kept
	 * sorted (seconds since midnight) so that a search within a day is
	 * a binary search instead of a walk through hours and minutes.
	 */
	uint16_t ntod;
	int32_t  tod[128];
	int64_t  every;      /* "@every" interval in ms; 0 for cron */
	cf_dst_gap    gap;
	cf_dst_repeat repeat; /* resolved: FIRST, LAST or BOTH */
	cf_tz *       tz;
	char *        expr;                /* trimmed input */
	char *        field[CF__NFIELDS];  /* field texts (NULL if absent) */
	const char *  macro;               /* "@daily" etc., or NULL */
};

#endif /* CF_CRON_INT_H */
