/*
 * cf_time.h - calendar arithmetic and RFC 3339 text for UTC milliseconds.
 *
 * Instants are int64_t milliseconds since 1970-01-01T00:00:00Z. The civil
 * conversions use the proleptic Gregorian calendar and never touch ICU or
 * the C library's time zone state, so they are cheap and thread-safe.
 */
#ifndef CF_TIME_H
#define CF_TIME_H

#include <stddef.h>
#include <stdint.h>

#define CF_MS_PER_SEC 1000LL
#define CF_MS_PER_MIN 60000LL
#define CF_MS_PER_HOUR 3600000LL
#define CF_MS_PER_DAY 86400000LL

typedef struct cf_civil {
	int year;   /* e.g. 2025 */
	int month;  /* 1-12 */
	int day;    /* 1-31 */
	int hour;   /* 0-23 */
	int minute; /* 0-59 */
	int second; /* 0-59 */
	int ms;     /* 0-999 */
	int wday;   /* 0 = Sunday ... 6 = Saturday */
} cf_civil;

/* The wall clock (CLOCK_REALTIME) in unix ms. */
int64_t cf_time_now_ms(void);

/* Days since 1970-01-01 of a civil date (any month/day in range). */
int64_t cf_days_from_civil(int year, int month, int day);

/* The civil date of a day count since 1970-01-01. */
void cf_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Splits a (local or UTC) millisecond count into civil fields. */
void cf_civil_from_ms(int64_t ms, cf_civil *out);

/* Joins civil fields (wday ignored) into a millisecond count. */
int64_t cf_ms_from_civil(const cf_civil *c);

/* 1 if year is a Gregorian leap year. */
int cf_is_leap(int year);

/* Number of days in month (1-12) of year. */
int cf_days_in_month(int year, int month);

/*
 * Parses an RFC 3339 timestamp ("2025-03-30T01:30:00Z",
 * "2025-03-30T03:30:00.250+02:00"; 't', 'z' and a space separator are
 * accepted) into UTC milliseconds. Returns 0, or CF_EINVAL.
 */
int cf_rfc3339_parse(const char *s, int64_t *out_ms);

/*
 * Formats utc_ms shifted by offset_sec as RFC 3339 with that offset
 * ("2025-03-30T03:30:00+02:00"; "Z" when the offset is 0 and utc_z is
 * set). Milliseconds are printed only when not zero. Needs 30 bytes;
 * returns the length written (excluding the NUL), or -1 if len is short.
 */
int cf_rfc3339_format(char *buf, size_t len, int64_t utc_ms, int offset_sec,
    int utc_z);

/*
 * 1 if s[0..len) is 1 to 18 decimal digits: a unix ms or µs time, or an
 * id, that fits an int64 (history cursors, audit ids).
 */
int cf_digits(const char *s, size_t len);

#endif /* CF_TIME_H */
