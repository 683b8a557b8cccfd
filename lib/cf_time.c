/*
 * cf_time.c - civil calendar arithmetic and RFC 3339 text.
 *
 * The day/date conversions use the well-known era decomposition of the
 * proleptic Gregorian calendar (400-year eras of 146097 days, years
 * starting in March so that the leap day ends the year).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"

#include <time.h>

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0))) {
		q--;
	}
	return (q);
}

int
cf_is_leap(int year)
{
	return ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0);
}

int
cf_days_in_month(int year, int month)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31,
		31, 30, 31, 30, 31 };
	if (month == 2 && cf_is_leap(year)) {
		return (29);
	}
	return (dim[month - 1]);
}

/*
 * The cron engine calls these on every next-fire, so they use Neri and
 * Schneider's "Euclidean affine functions" formulation (2021): the year is
 * shifted by a whole number of 400-year eras (NS_SHIFT) so that all the
 * arithmetic is unsigned 32-bit, and divisions by 4, 100, 153/5 become
 * multiplications and shifts. Outside the range where 32 bits suffice the
 * plain era decomposition below takes over.
 */
#define NS_ERAS 82u
#define NS_DAYS (719468u + 146097u * NS_ERAS) /* 1970-01-01 shifted */
#define NS_YEARS (400u * NS_ERAS)

static int64_t
days_from_civil_era(int64_t y, int month, int day)
{
	int64_t  era, yoe, doy, doe;
	unsigned mp = (unsigned) (month + (month > 2 ? -3 : 9));

	y -= (month <= 2);
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * mp + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

int64_t
cf_days_from_civil(int year, int month, int day)
{
	uint32_t jan_feb, y, m, cent, ydays, mdays;

	if (year < -30000 || year > 30000) {
		return (days_from_civil_era(year, month, day));
	}
	/* Years start in March, so the leap day ends the year. */
	jan_feb = (month <= 2);
	y       = (uint32_t) (year + (int) NS_YEARS) - jan_feb;
	m       = jan_feb ? (uint32_t) month + 12 : (uint32_t) month;
	cent    = y / 100;
	ydays   = 1461 * y / 4 - cent + cent / 4;
	mdays   = (979 * m - 2919) / 32;
	return ((int64_t) (ydays + mdays + (uint32_t) day - 1) -
	    (int64_t) NS_DAYS);
}

static void
civil_from_days_era(int64_t days, int *year, int *month, int *day)
{
	int64_t z   = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp  = (5 * doy + 2) / 153;
	int     m   = (int) (mp < 10 ? mp + 3 : mp - 9);
	*day        = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month      = m;
	*year       = (int) (yoe + era * 400 + (m <= 2));
}

void
cf_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	uint32_t n, n1, cent, nc, n2, nyd, y, n3, m, d, after_feb;
	uint64_t p2;

	if (days < -(int64_t) NS_DAYS || days > 10000000) {
		civil_from_days_era(days, year, month, day);
		return;
	}
	n    = (uint32_t) (days + NS_DAYS);
	n1   = 4 * n + 3;
	cent = n1 / 146097;
	nc   = n1 % 146097 / 4;
	/* Year of the century, and the day within it, in one product. */
	n2  = 4 * nc + 3;
	p2  = (uint64_t) 2939745 * n2;
	y   = 100 * cent + (uint32_t) (p2 >> 32);
	nyd = (uint32_t) p2 / 2939745 / 4;
	/* Month and day from the day of the (March-based) year. */
	n3        = 2141 * nyd + 197913;
	m         = n3 >> 16;
	d         = (n3 & 0xffff) / 2141;
	after_feb = (nyd >= 306);
	*year     = (int) (y + after_feb) - (int) NS_YEARS;
	*month    = (int) (after_feb ? m - 12 : m);
	*day      = (int) d + 1;
}

void
cf_civil_from_ms(int64_t ms, cf_civil *out)
{
	int64_t days = floor_div(ms, CF_MS_PER_DAY);
	int64_t rem  = ms - days * CF_MS_PER_DAY;

	cf_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour   = (int) (rem / CF_MS_PER_HOUR);
	out->minute = (int) (rem / CF_MS_PER_MIN % 60);
	out->second = (int) (rem / CF_MS_PER_SEC % 60);
	out->ms     = (int) (rem % CF_MS_PER_SEC);
	/* 1970-01-01 was a Thursday. */
	out->wday = (int) (((days % 7) + 11) % 7);
}

int64_t
cf_ms_from_civil(const cf_civil *c)
{
	return (cf_days_from_civil(c->year, c->month, c->day) * CF_MS_PER_DAY +
	    c->hour * CF_MS_PER_HOUR + c->minute * CF_MS_PER_MIN +
	    c->second * CF_MS_PER_SEC + c->ms);
}

/* Reads exactly n digits at *p; returns -1 if they are not all digits. */
static int
rd_digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) (*p)[i])) {
			return (-1);
		}
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return (v);
}

int
cf_rfc3339_parse(const char *s, int64_t *out_ms)
{
	cf_civil    c = { 0 };
	const char *p = s;
	int         off = 0;

	if (s == NULL) {
		return (CF_EINVAL);
	}
	if ((c.year = rd_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (c.month = rd_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (c.day = rd_digits(&p, 2)) < 0) {
		return (CF_EINVAL);
	}
	if (*p != 'T' && *p != 't' && *p != ' ') {
		return (CF_EINVAL);
	}
	p++;
	if ((c.hour = rd_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (c.minute = rd_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (c.second = rd_digits(&p, 2)) < 0) {
		return (CF_EINVAL);
	}
	if (*p == '.') {
		/* Fractions beyond milliseconds are truncated. */
		int scale = 100, n = 0;
		p++;
		while (isdigit((unsigned char) *p)) {
			c.ms += (*p - '0') * scale;
			scale /= 10;
			p++;
			n++;
		}
		if (n == 0) {
			return (CF_EINVAL);
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = (*p == '-') ? -1 : 1, oh, om;
		p++;
		if ((oh = rd_digits(&p, 2)) < 0 || *p++ != ':' ||
		    (om = rd_digits(&p, 2)) < 0 || oh > 23 || om > 59) {
			return (CF_EINVAL);
		}
		off = sign * (oh * 3600 + om * 60);
	} else {
		return (CF_EINVAL);
	}
	if (*p != '\0') {
		return (CF_EINVAL);
	}
	/* RFC 3339 allows second 60 (leap second); we fold it into 59.999. */
	if (c.month < 1 || c.month > 12 || c.day < 1 ||
	    c.day > cf_days_in_month(c.year, c.month) || c.hour > 23 ||
	    c.minute > 59 || c.second > 60) {
		return (CF_EINVAL);
	}
	if (c.second == 60) {
		c.second = 59;
		c.ms     = 999;
	}
	*out_ms = cf_ms_from_civil(&c) - (int64_t) off * CF_MS_PER_SEC;
	return (CF_OK);
}

int
cf_rfc3339_format(
    char *buf, size_t len, int64_t utc_ms, int offset_sec, int utc_z)
{
	cf_civil c;
	char     zone[16];
	char     frac[16] = "";
	int      n;

	cf_civil_from_ms(utc_ms + (int64_t) offset_sec * CF_MS_PER_SEC, &c);
	if (offset_sec == 0 && utc_z) {
		snprintf(zone, sizeof(zone), "Z");
	} else {
		int a = offset_sec < 0 ? -offset_sec : offset_sec;
		snprintf(zone, sizeof(zone), "%c%02d:%02d",
		    offset_sec < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	}
	if (c.ms != 0) {
		snprintf(frac, sizeof(frac), ".%03d", c.ms);
	}
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", c.year,
	    c.month, c.day, c.hour, c.minute, c.second, frac, zone);
	if (n < 0 || (size_t) n >= len) {
		return (-1);
	}
	return (n);
}

int
cf_digits(const char *s, size_t len)
{
	if (len == 0 || len > 18) {
		return (0);
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return (0);
		}
	}
	return (1);
}

int64_t
cf_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
