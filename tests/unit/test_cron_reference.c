/*
 * test_cron_reference.c - the cron engine against an independent,
 * brute-force reference.
 *
 * A seeded generator produces random expressions together with a
 * structured form of them (bit sets and day rules), so the reference never
 * parses cron text: it evaluates the structure the generator built. The
 * reference walks UTC time step by step (a minute, or a second for short
 * 6-field windows), asks ICU for the local wall fields and offsets at every
 * step, and applies the DST policy of the contract by looking at the offset
 * changes it saw on the way. For windows of years and searches far ahead
 * it skips the wall days that its own calendar says cannot match, and
 * brute-forces the rest the same way. It shares no code with lib/: the
 * engine is only called through cf_cron_parse, cf_cron_next, cf_cron_prev
 * and cf_cron_free (cf_strerror for messages), and the calendar arithmetic
 * the reference needs is its own.
 *
 * A mismatch prints the seed, case and run, the expression, zone, policies
 * and window, and the call (from-instant, expected, got) in RFC 3339.
 *
 * Environment:
 *   CF_REF_SEED=<n>  replays a run (the seed is printed first)
 *   CF_REF_ITER=<n>  multiplies the iterations, for long local runs
 *   CF_REF_VERBOSE=1 prints every run (expression, zone, policy, fires)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cf_cron.h"
#include "cf_err.h"

#define REF_SEC 1000LL
#define REF_MIN 60000LL
#define REF_HOUR 3600000LL
#define REF_DAY 86400000LL

/* The supported instants of the contract: [1970-01-01, 2200-01-01). */
#define REF_MAX_MS 7258118400000LL

/* 2018-01-01 and 2027-01-01, the years DST windows are taken from. */
#define REF_2018_MS 1514764800000LL
#define REF_2027_MS 1798761600000LL

/*
 * At most this many fires are compared per run: long lists are cut to the
 * fires nearest the point of interest (a DST transition) to bound time.
 */
#define REF_CAP 2500

/* Mismatches printed in full; the rest are only counted. */
#define REF_MAX_REPORTS 25

#define REF_DEFAULT_SEED 20250330u

static const char *const ref_zone_names[] = {
	"UTC",
	"Europe/Berlin",
	"America/New_York",
	"Australia/Lord_Howe",
	"Asia/Kolkata",
	"Asia/Kathmandu",
	"America/Sao_Paulo",
	"Asia/Amman",
	"Pacific/Chatham",
	"America/St_Johns",
};
#define REF_NZONES (sizeof(ref_zone_names) / sizeof(ref_zone_names[0]))

static const char *const ref_gap_names[]
    = { "shift", "skip", "at-transition" };
static const char *const ref_repeat_names[]
    = { "auto", "first", "last", "both" };

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, so a seed replays everything exactly.  */

typedef struct ref_rng {
	uint64_t s;
} ref_rng;

static uint64_t
rng_next(ref_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
rng_below(ref_rng *r, int n)
{
	return (int) (rng_next(r) % (uint64_t) n);
}

static int
rng_between(ref_rng *r, int lo, int hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static int64_t
rng_between64(ref_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t) (rng_next(r) % (uint64_t) (hi - lo + 1));
}

static int
rng_pct(ref_rng *r, int pct)
{
	return rng_below(r, 100) < pct;
}

/* ------------------------------------------------------------------ */
/* Global state: the seed, the zones and the counters of a case.      */

typedef struct ref_trans {
	int64_t t;  /* first instant with the new offset */
	int32_t o1; /* offset before, ms */
	int32_t o2; /* offset from t on, ms */
} ref_trans;

typedef struct ref_zone {
	const char *name;
	UCalendar  *cal;
	ref_trans   tr[64]; /* transitions in 2018-2026 */
	int         ntr;
	ref_trans *hist; /* offset changes in 1970-2199, a day apart or more */
	int        nhist;
} ref_zone;

static struct {
	uint64_t   seed;
	int        iter;
	ref_zone   zones[REF_NZONES];
	UCalendar *utc; /* wall fields of wall times that do not exist */
	int        verbose;
	int        reports;
	long       mismatches; /* in the current case */
	long       runs, fires, probes, exprs, never;
	long       flagged[5]; /* compared fires per CF_FIRE_DST_* bit */
} g;

static void
ref_rng_for_case(ref_rng *r, const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	/*
	 * Each case draws from its own stream, so a case replays the same
	 * way whether it runs alone or after the others.
	 */
	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char) *name) * 1099511628211ULL;
	r->s = g.seed ^ h;
}

/* ------------------------------------------------------------------ */
/* Calendar arithmetic of the reference's own (H. Hinnant's algorithms) */

static int64_t
ref_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
ref_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
ref_days_in_month(int y, int m)
{
	static const int dm[12]
	    = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return (m == 2 && ref_is_leap(y)) ? 29 : dm[m - 1];
}

static int64_t
ref_days_from_civil(int y, int m, int d)
{
	int64_t yy  = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void
ref_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp  = (5 * doy + 2) / 153;
	*d  = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m  = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y  = (int) (yoe + era * 400 + (*m <= 2));
}

static int
ref_weekday_of_days(int64_t days)
{
	/* 1970-01-01 was a Thursday. */
	return (int) (((days + 4) % 7 + 7) % 7);
}

/* ------------------------------------------------------------------ */
/* ICU: the source of truth for wall fields and offsets.               */

typedef struct ref_wall {
	int year, mon, day, wday, hour, min, sec;
} ref_wall;

static UCalendar *
ref_icu_open(const char *name)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar      id[64], got[64];
	char       back[64];
	UCalendar *cal;

	u_uastrncpy(id, name, 63);
	id[63] = 0;
	cal    = ucal_open(id, -1, "en_US", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st))
		fail_msg("ICU cannot open %s: %s", name, u_errorName(st));
	/* ICU falls back to "Etc/Unknown" (GMT) for names it lacks. */
	ucal_getTimeZoneID(cal, got, 64, &st);
	u_austrncpy(back, got, 63);
	back[63] = '\0';
	if (U_FAILURE(st) || strcmp(back, "Etc/Unknown") == 0)
		fail_msg("ICU does not know the zone %s", name);
	return cal;
}

/* The total offset (ms) at t, and the wall fields if w is not NULL. */
static int32_t
ref_icu_at(UCalendar *cal, int64_t t, ref_wall *w)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t    off;

	ucal_setMillis(cal, (UDate) t, &st);
	off = ucal_get(cal, UCAL_ZONE_OFFSET, &st)
	    + ucal_get(cal, UCAL_DST_OFFSET, &st);
	if (w != NULL) {
		w->year = ucal_get(cal, UCAL_EXTENDED_YEAR, &st);
		w->mon  = ucal_get(cal, UCAL_MONTH, &st) + 1;
		w->day  = ucal_get(cal, UCAL_DATE, &st);
		w->wday = ucal_get(cal, UCAL_DAY_OF_WEEK, &st) - 1;
		w->hour = ucal_get(cal, UCAL_HOUR_OF_DAY, &st);
		w->min  = ucal_get(cal, UCAL_MINUTE, &st);
		w->sec  = ucal_get(cal, UCAL_SECOND, &st);
	}
	if (U_FAILURE(st))
		fail_msg("ICU failed at %" PRId64 ": %s", t, u_errorName(st));
	return off;
}

/*
 * The first instant in (a, b] whose offset differs from the offset at a,
 * given that the offset at b differs; a binary search to the millisecond.
 */
static int64_t
ref_icu_bisect(UCalendar *cal, int64_t a, int64_t b)
{
	int32_t oa = ref_icu_at(cal, a, NULL);

	while (b - a > 1) {
		int64_t mid = a + (b - a) / 2;

		if (ref_icu_at(cal, mid, NULL) == oa)
			a = mid;
		else
			b = mid;
	}
	return b;
}

/* RFC 3339 in the zone's offset, and the same instant in UTC. */
static const char *
ref_fmt(char *buf, size_t len, const ref_zone *z, int64_t t)
{
	int32_t off = z != NULL ? ref_icu_at(z->cal, t, NULL) : 0;
	int64_t w   = t + off;
	int64_t day = ref_floor_div(w, REF_DAY);
	int64_t ms  = w - day * REF_DAY;
	int64_t u   = t - ref_floor_div(t, REF_DAY) * REF_DAY;
	int     y, m, d, uy, um, ud, aoff = off < 0 ? -off : off;
	char    frac[8] = "", ufrac[8] = "";

	ref_civil_from_days(day, &y, &m, &d);
	ref_civil_from_days(ref_floor_div(t, REF_DAY), &uy, &um, &ud);
	if (ms % 1000 != 0)
		snprintf(frac, sizeof(frac), ".%03d", (int) (ms % 1000));
	if (u % 1000 != 0)
		snprintf(ufrac, sizeof(ufrac), ".%03d", (int) (u % 1000));
	snprintf(buf, len,
	    "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d "
	    "(%04d-%02d-%02dT%02d:%02d:%02d%sZ, %" PRId64 ")",
	    y, m, d, (int) (ms / REF_HOUR), (int) (ms / REF_MIN % 60),
	    (int) (ms / 1000 % 60), frac, off < 0 ? '-' : '+', aoff / 3600000,
	    aoff / 60000 % 60, uy, um, ud, (int) (u / REF_HOUR),
	    (int) (u / REF_MIN % 60), (int) (u / 1000 % 60), ufrac, t);
	return buf;
}

static const char *
ref_fmt_flags(char *buf, size_t len, unsigned f)
{
	static const char *const names[]
	    = { "shifted", "at-transition", "repeated", "second", "doubled" };
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 5; i++) {
		if ((f & (1u << i)) != 0)
			n += (size_t) snprintf(buf + n, len - n, "%s%s",
			    n > 0 ? "|" : "", names[i]);
	}
	if ((f & ~0x1fu) != 0)
		snprintf(
		    buf + n, len - n, "%s0x%x", n > 0 ? "|" : "", f & ~0x1fu);
	else if (n == 0)
		snprintf(buf, len, "none");
	return buf;
}

/* ------------------------------------------------------------------ */
/* The structured form of an expression, and the reference's matcher.  */

typedef struct ref_sched {
	char     text[256];
	int      six;      /* has a seconds field */
	int64_t  every_ms; /* > 0 for @every */
	uint64_t sec, min; /* bit v: second/minute v matches */
	uint32_t hour;
	uint32_t dom;        /* plain days, bits 1-31 */
	uint32_t dom_lminus; /* bit n: L-n (L is L-0) */
	uint32_t dom_w;      /* bit n: nW */
	int      dom_lw;     /* LW */
	uint16_t mon;        /* bits 1-12 */
	uint8_t  dow;        /* plain weekdays, bits 0-6 */
	uint8_t  dow_nth[6]; /* dow_nth[n] bit d: d#n */
	uint8_t  dow_last;   /* bit d: d#L */
	int      dom_star;   /* the field's text is exactly "*" or "?" */
	int      dow_star;
	int      ever; /* cached: 1 fires at all, 0 never, -1 unknown */
} ref_sched;

#define REF_ALL_HOURS 0xffffffu

static int
ref_weekday_in_month(int d, int wd, int n)
{
	/* The weekday of day n of the month whose day d is a wd. */
	return ((wd + n - d) % 7 + 7) % 7;
}

static int
ref_dom_match(const ref_sched *s, int y, int m, int d, int wd)
{
	int dim = ref_days_in_month(y, m);

	if ((s->dom & (1u << d)) != 0)
		return 1;
	if ((s->dom_lminus & (1u << (dim - d))) != 0)
		return 1;
	if (s->dom_lw) {
		int wl = ref_weekday_in_month(d, wd, dim);
		int lw = wl == 6 ? dim - 1 : wl == 0 ? dim - 2 : dim;

		if (d == lw)
			return 1;
	}
	for (int n = 1; n <= 31; n++) {
		int wn, near;

		if ((s->dom_w & (1u << n)) == 0 || n > dim)
			continue;
		wn = ref_weekday_in_month(d, wd, n);
		if (wn == 6)
			near = n == 1 ? 3 : n - 1;
		else if (wn == 0)
			near = n == dim ? n - 2 : n + 1;
		else
			near = n;
		if (near == d)
			return 1;
	}
	return 0;
}

static int
ref_dow_match(const ref_sched *s, int y, int m, int d, int wd)
{
	if ((s->dow & (1u << wd)) != 0)
		return 1;
	if ((s->dow_nth[(d - 1) / 7 + 1] & (1u << wd)) != 0)
		return 1;
	if ((s->dow_last & (1u << wd)) != 0 && d + 7 > ref_days_in_month(y, m))
		return 1;
	return 0;
}

static int
ref_day_match(const ref_sched *s, int y, int m, int d, int wd)
{
	int dom_ok, dow_ok;

	if ((s->mon & (1u << m)) == 0)
		return 0;
	dom_ok = s->dom_star || ref_dom_match(s, y, m, d, wd);
	dow_ok = s->dow_star || ref_dow_match(s, y, m, d, wd);
	/* POSIX: two restricted day fields are joined by OR. */
	if (!s->dom_star && !s->dow_star)
		return dom_ok || dow_ok;
	return dom_ok && dow_ok;
}

/* Minute-level match of a wall time; seconds are the caller's. */
static int
ref_wall_match(const ref_sched *s, const ref_wall *w)
{
	return ((s->min >> w->min) & 1) != 0 && ((s->hour >> w->hour) & 1) != 0
	    && ref_day_match(s, w->year, w->mon, w->day, w->wday);
}

/*
 * Whether any wall day from 1969-12-31 to 2200-01-01 matches: the
 * reference's notion of "can fire at all" (the time fields never empty).
 */
static int
ref_ever(ref_sched *s)
{
	if (s->ever >= 0)
		return s->ever;
	s->ever = 0;
	if (s->every_ms > 0) {
		s->ever = 1;
		return 1;
	}
	for (int y = 1969; y <= 2200 && !s->ever; y++) {
		for (int m = 1; m <= 12 && !s->ever; m++) {
			int64_t d0;
			int     wd0;

			if ((s->mon & (1u << m)) == 0)
				continue;
			d0  = ref_days_from_civil(y, m, 1);
			wd0 = ref_weekday_of_days(d0);
			for (int d = 1; d <= ref_days_in_month(y, m); d++) {
				if (ref_day_match(
				        s, y, m, d, (wd0 + d - 1) % 7)) {
					s->ever = 1;
					break;
				}
			}
		}
	}
	return s->ever;
}

/* ------------------------------------------------------------------ */
/* The generator: expression text and structure, built together.       */

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

static const struct gen_info {
	const char *name;
	int         lo, hi;
} gen_info[F_COUNT] = {
	{ "second", 0, 59 },
	{ "minute", 0, 59 },
	{ "hour", 0, 23 },
	{ "day-of-month", 1, 31 },
	{ "month", 1, 12 },
	{ "day-of-week", 0, 7 },
};

static const char *const gen_mon_names[13] = { "", "JAN", "FEB", "MAR", "APR",
	"MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const gen_dow_names[7]
    = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

/* A wall date and the wall hours touched by a DST gap or overlap. */
typedef struct ref_hint {
	int      valid;
	int      year, mon, day, wday;
	uint32_t hours;
} ref_hint;

typedef struct gen_expr {
	char     text[F_COUNT][96];
	uint64_t bits[F_COUNT];
} gen_expr;

static void
gen_put(char *buf, size_t len, const char *fmt, ...)
{
	size_t  n = strlen(buf);
	va_list ap;
	int     k;

	va_start(ap, fmt);
	k = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t) k >= len - n)
		fail_msg("generator: field text too long");
}

/* A value as text: a name (in a random case) or a number. */
static void
gen_value(ref_rng *r, int f, int v, int names, char *out, size_t len)
{
	const char *name = NULL;

	if (names && f == F_MON)
		name = gen_mon_names[v];
	else if (names && f == F_DOW && v < 7)
		name = gen_dow_names[v];
	if (name == NULL) {
		snprintf(out, len, "%d", v);
		return;
	}
	switch (rng_below(r, 3)) {
	case 0:
		snprintf(out, len, "%s", name);
		break;
	case 1:
		snprintf(out, len, "%c%c%c", name[0] + 32, name[1] + 32,
		    name[2] + 32);
		break;
	default:
		snprintf(
		    out, len, "%c%c%c", name[0], name[1] + 32, name[2] + 32);
		break;
	}
}

static void
gen_set(uint64_t *bits, int f, int a, int b, int n)
{
	for (int v = a; v <= b; v += n)
		*bits |= 1ULL << (f == F_DOW && v == 7 ? 0 : v);
}

static int
gen_step(ref_rng *r, int span)
{
	/* Mostly useful steps, sometimes one larger than the range. */
	if (rng_pct(r, 75))
		return rng_between(r, 1, span < 12 ? span : 12);
	return rng_between(r, 1, 2 * span);
}

/* A value, range or step item of a list. */
static void
gen_plain_item(
    ref_rng *r, int f, int single, char *buf, size_t len, uint64_t *bits)
{
	int  lo = gen_info[f].lo, hi = gen_info[f].hi;
	int  top   = f == F_DOW ? 6 : hi;
	int  names = rng_pct(r, 35);
	int  k     = single ? 0 : rng_below(r, 100);
	int  a, b, n;
	char ta[16], tb[16];

	if (k < 45) {
		a = rng_between(r, lo, hi);
		gen_value(r, f, a, names, ta, sizeof(ta));
		gen_put(buf, len, "%s", ta);
		gen_set(bits, f, a, a, 1);
	} else if (k < 72) {
		a = rng_between(r, lo, hi);
		b = rng_between(r, a, hi);
		/* A name range ending in 7 would read FRI-SUN, reversed. */
		names = names && !(f == F_DOW && b == 7);
		gen_value(r, f, a, names, ta, sizeof(ta));
		gen_value(r, f, b, names, tb, sizeof(tb));
		if (k < 60) {
			gen_put(buf, len, "%s-%s", ta, tb);
			gen_set(bits, f, a, b, 1);
		} else {
			n = gen_step(r, b - a + 1);
			gen_put(buf, len, "%s-%s/%d", ta, tb, n);
			gen_set(bits, f, a, b, n);
		}
	} else if (k < 88) {
		/*
		 * For day-of-week, "*" spans 0-6 or 0-7 alike under any
		 * step: 7 is reached only by steps 1 and 7, which have 0.
		 */
		n = gen_step(r, top - lo + 1);
		gen_put(buf, len, "*/%d", n);
		gen_set(bits, f, lo, top, n);
	} else {
		a = rng_between(r, lo, top);
		n = gen_step(r, hi - a + 1);
		if (f == F_DOW && a != 0 && (7 - a) % n == 0) {
			/*
			 * "a/n" runs to the field maximum; whether that is
			 * 6 or 7 for day-of-week would matter here, and the
			 * contract does not say, so use a plain value.
			 */
			gen_put(buf, len, "%d", a);
			gen_set(bits, f, a, a, 1);
			return;
		}
		gen_put(buf, len, "%d/%d", a, n);
		gen_set(bits, f, a, hi, n);
	}
}

/* A dom item: L, L-n, LW, nW (special percent of the time) or plain. */
static void
gen_dom_item(ref_rng *r, ref_sched *s, int special, int single, char *buf,
    size_t len, uint64_t *bits)
{
	static const int wdays[] = { 1, 1, 2, 15, 28, 29, 30, 31 };
	int              n;

	if (!rng_pct(r, special)) {
		gen_plain_item(r, F_DOM, single, buf, len, bits);
		return;
	}
	switch (rng_below(r, 4)) {
	case 0:
		gen_put(buf, len, "L");
		s->dom_lminus |= 1u;
		break;
	case 1:
		n = rng_pct(r, 60)   ? rng_between(r, 0, 6)
		    : rng_pct(r, 50) ? rng_between(r, 26, 30)
		                     : rng_between(r, 0, 30);
		gen_put(buf, len, "L-%d", n);
		s->dom_lminus |= 1u << n;
		break;
	case 2:
		gen_put(buf, len, "LW");
		s->dom_lw = 1;
		break;
	default:
		n = rng_pct(r, 60) ? wdays[rng_below(r, 8)]
		                   : rng_between(r, 1, 31);
		gen_put(buf, len, "%dW", n);
		s->dom_w |= 1u << n;
		break;
	}
}

/* A dow item: DAY#n, DAY#L (special percent of the time) or plain. */
static void
gen_dow_item(ref_rng *r, ref_sched *s, int special, int single, char *buf,
    size_t len, uint64_t *bits)
{
	char ta[16];
	int  d, n;

	if (!rng_pct(r, special)) {
		gen_plain_item(r, F_DOW, single, buf, len, bits);
		return;
	}
	d = rng_between(r, 0, 7);
	gen_value(r, F_DOW, d, rng_pct(r, 40), ta, sizeof(ta));
	if (rng_pct(r, 30)) {
		gen_put(buf, len, "%s#L", ta);
		s->dow_last |= (uint8_t) (1u << (d % 7));
	} else {
		n = rng_between(r, 1, 5);
		gen_put(buf, len, "%s#%d", ta, n);
		s->dow_nth[n] |= (uint8_t) (1u << (d % 7));
	}
}

/*
 * What the generator aims at: any schedule; sparse ones (single values in
 * the time fields, restricted day fields) for searches far ahead; or day
 * rules (L, W, #) above all, for windows of years.
 */
enum { GEN_ANY, GEN_SPARSE, GEN_DAYS };

/* One field: "*", "?" or a list of one to three items. */
static void
gen_field(ref_rng *r, ref_sched *s, gen_expr *e, int f, int mode)
{
	static const char *const full_hours[]
	    = { "0-23", "*/1", "0-11,12-23", "0-23/1" };
	int       sparse  = mode != GEN_ANY;
	int       special = mode == GEN_DAYS ? 80 : 35;
	char     *buf     = e->text[f];
	size_t    len     = sizeof(e->text[f]);
	uint64_t *bits    = &e->bits[f];
	int       star = 0, ask = 0, k;

	buf[0] = '\0';
	switch (f) {
	case F_SEC:
	case F_MIN:
		star = sparse ? 0 : 18;
		break;
	case F_HOUR:
		if (!sparse && rng_pct(r, 8)) {
			/* Spelled-out "every hour": AUTO must see all 24. */
			gen_put(buf, len, "%s", full_hours[rng_below(r, 4)]);
			*bits = REF_ALL_HOURS;
			return;
		}
		star = sparse ? 0 : 18;
		break;
	case F_DOM:
		star = sparse ? 20 : 42;
		ask  = 8;
		break;
	case F_MON:
		star = sparse ? 45 : 60;
		break;
	default:
		star = sparse ? 35 : 45;
		ask  = 8;
		break;
	}
	k = rng_below(r, 100);
	if (k < star + ask) {
		gen_put(buf, len, k < star ? "*" : "?");
		gen_set(bits, f, gen_info[f].lo, gen_info[f].hi, 1);
		if (f == F_DOM)
			s->dom_star = 1;
		if (f == F_DOW)
			s->dow_star = 1;
		return;
	}
	if (sparse && f < F_DOM)
		k = rng_pct(r, 75) ? 1 : 2;
	else
		k = rng_pct(r, 60) ? 1 : rng_pct(r, 60) ? 2 : 3;
	for (int i = 0; i < k; i++) {
		if (i > 0)
			gen_put(buf, len, ",");
		if (f == F_DOM)
			gen_dom_item(r, s, special, sparse, buf, len, bits);
		else if (f == F_DOW)
			gen_dow_item(r, s, special, sparse, buf, len, bits);
		else
			gen_plain_item(r, f, sparse, buf, len, bits);
	}
}

static void
gen_finish(ref_sched *s, const gen_expr *e)
{
	s->text[0] = '\0';
	if (s->six)
		gen_put(s->text, sizeof(s->text), "%s ", e->text[F_SEC]);
	gen_put(s->text, sizeof(s->text), "%s %s %s %s %s", e->text[F_MIN],
	    e->text[F_HOUR], e->text[F_DOM], e->text[F_MON], e->text[F_DOW]);
	s->sec  = s->six ? e->bits[F_SEC] : 1;
	s->min  = e->bits[F_MIN];
	s->hour = (uint32_t) e->bits[F_HOUR];
	s->dom  = s->dom_star ? 0 : (uint32_t) e->bits[F_DOM];
	s->mon  = (uint16_t) e->bits[F_MON];
	s->dow  = s->dow_star ? 0 : (uint8_t) e->bits[F_DOW];
}

/* Appends ",v" to a restricted field so that it matches v. */
static void
gen_hint_add(ref_rng *r, gen_expr *e, int f, int v)
{
	char t[16];

	gen_value(r, f, v, rng_pct(r, 35), t, sizeof(t));
	gen_put(e->text[f], sizeof(e->text[f]), ",%s", t);
	gen_set(&e->bits[f], f, v, v, 1);
}

/*
 * Makes a random expression more likely to fire inside a DST gap or
 * overlap, by adding the hint's hour, month and day to restricted fields;
 * otherwise a window of a few days would rarely see the interesting case.
 */
static void
gen_apply_hint(ref_rng *r, ref_sched *s, gen_expr *e, const ref_hint *h)
{
	int hours[24], nh = 0;

	if (h == NULL || !h->valid || !rng_pct(r, 70))
		return;
	for (int i = 0; i < 24; i++)
		if ((h->hours >> i) & 1)
			hours[nh++] = i;
	if (nh > 0 && (e->bits[F_HOUR] & h->hours) == 0)
		gen_hint_add(r, e, F_HOUR, hours[rng_below(r, nh)]);
	if (((e->bits[F_MON] >> h->mon) & 1) == 0)
		gen_hint_add(r, e, F_MON, h->mon);
	gen_finish(s, e);
	if (!ref_day_match(s, h->year, h->mon, h->day, h->wday)) {
		if (!s->dom_star)
			gen_hint_add(r, e, F_DOM, h->day);
		if (!s->dow_star)
			gen_hint_add(r, e, F_DOW, h->wday);
	}
}

static void
gen_sched_init(ref_sched *s)
{
	memset(s, 0, sizeof(*s));
	s->ever = -1;
}

static int
gen_macro(ref_rng *r, ref_sched *s)
{
	static const struct {
		const char *name;
		int         hour_all, dom1, mon1, sunday;
	} m[] = {
		{ "@yearly", 0, 1, 1, 0 },
		{ "@annually", 0, 1, 1, 0 },
		{ "@monthly", 0, 1, 0, 0 },
		{ "@weekly", 0, 0, 0, 1 },
		{ "@daily", 0, 0, 0, 0 },
		{ "@midnight", 0, 0, 0, 0 },
		{ "@hourly", 1, 0, 0, 0 },
	};
	int k = rng_below(r, 7);

	snprintf(s->text, sizeof(s->text), "%s", m[k].name);
	s->sec      = 1;
	s->min      = 1;
	s->hour     = m[k].hour_all ? REF_ALL_HOURS : 1;
	s->dom_star = !m[k].dom1;
	s->dom      = m[k].dom1 ? 1u << 1 : 0;
	s->mon      = m[k].mon1 ? 1u << 1 : 0x1ffe;
	s->dow_star = !m[k].sunday;
	s->dow      = m[k].sunday ? 1 : 0;
	return 1;
}

/*
 * A random cron expression (5 fields, or 6 if six) in s, of the given
 * mode (GEN_*); h, if not NULL, is a DST change to aim at.
 */
static void
gen_cron(ref_rng *r, ref_sched *s, int six, int mode, const ref_hint *h)
{
	gen_expr e;

	gen_sched_init(s);
	if (!six && mode == GEN_ANY && rng_pct(r, 4)) {
		gen_macro(r, s);
		return;
	}
	memset(&e, 0, sizeof(e));
	s->six = six;
	for (int f = six ? F_SEC : F_MIN; f < F_COUNT; f++)
		gen_field(r, s, &e, f, mode);
	gen_finish(s, &e);
	gen_apply_hint(r, s, &e, h);
	gen_finish(s, &e);
}

/* "@every <dur>" with one to three units, in decreasing size. */
static void
gen_every(ref_rng *r, ref_sched *s)
{
	static const struct {
		const char *u;
		int64_t     ms;
		int         max;
	} units[] = {
		{ "d", REF_DAY, 3 },
		{ "h", REF_HOUR, 23 },
		{ "m", REF_MIN, 59 },
		{ "s", REF_SEC, 59 },
		{ "ms", 1, 999 },
	};
	int64_t total = 0;

	gen_sched_init(s);
	snprintf(s->text, sizeof(s->text), "@every ");
	switch (rng_below(r, 6)) {
	case 0:
		total = rng_pct(r, 50) ? rng_between(r, 1, 120)
		                       : rng_between(r, 1, 7200);
		gen_put(s->text, sizeof(s->text), "%" PRId64 "s", total);
		total *= REF_SEC;
		break;
	case 1:
		total = rng_between(r, 1, 1440);
		gen_put(s->text, sizeof(s->text), "%" PRId64 "m", total);
		total *= REF_MIN;
		break;
	case 2:
		total = rng_between(r, 1, 72);
		gen_put(s->text, sizeof(s->text), "%" PRId64 "h", total);
		total *= REF_HOUR;
		break;
	case 3:
		total = rng_between(r, 1, 14);
		gen_put(s->text, sizeof(s->text), "%" PRId64 "d", total);
		total *= REF_DAY;
		break;
	case 4:
		total = rng_between(r, 1000, 600000);
		gen_put(s->text, sizeof(s->text), "%" PRId64 "ms", total);
		break;
	default:
		while (total < REF_SEC) {
			int first = rng_below(r, 4), n = rng_between(r, 2, 3);

			s->text[7] = '\0';
			total      = 0;
			for (int i = first; i < 5 && n > 0; i++) {
				int v;

				if (i > first && !rng_pct(r, 60))
					continue;
				v = rng_between(r, 1, units[i].max);
				gen_put(s->text, sizeof(s->text), "%d%s", v,
				    units[i].u);
				total += v * units[i].ms;
				n--;
			}
		}
		break;
	}
	s->every_ms = total;
	s->ever     = 1;
}

/* ------------------------------------------------------------------ */
/* The brute force: a table of ICU answers, one per step of UTC time.  */

typedef struct ref_slot {
	int64_t t;
	int32_t off;
	int16_t year;
	int8_t  mon, day, wday, hour, min, sec;
} ref_slot;

typedef struct ref_table {
	ref_zone *z;
	int64_t   step;
	ref_slot *slot;
	size_t    n;
	ref_trans tr[16];
	int       ntr;
} ref_table;

/*
 * Fills the table for [from, to] (widened to whole steps): every step's
 * wall fields, and every offset change between two steps, located to the
 * millisecond. The reference relies on changes falling on step boundaries
 * (true of the zones here since 1970), and checks that it is so.
 */
static void
ref_table_build(
    ref_table *tab, ref_zone *z, int64_t step, int64_t from, int64_t to)
{
	int64_t t0 = ref_floor_div(from, step) * step;
	int64_t t1 = ref_floor_div(to, step) * step + step;

	tab->z    = z;
	tab->step = step;
	tab->n    = (size_t) ((t1 - t0) / step + 1);
	tab->slot = calloc(tab->n, sizeof(*tab->slot));
	tab->ntr  = 0;
	assert_non_null(tab->slot);
	for (size_t i = 0; i < tab->n; i++) {
		ref_slot *p = &tab->slot[i];
		ref_wall  w;

		p->t    = t0 + (int64_t) i * step;
		p->off  = ref_icu_at(z->cal, p->t, &w);
		p->year = (int16_t) w.year;
		p->mon  = (int8_t) w.mon;
		p->day  = (int8_t) w.day;
		p->wday = (int8_t) w.wday;
		p->hour = (int8_t) w.hour;
		p->min  = (int8_t) w.min;
		p->sec  = (int8_t) w.sec;
		if (p->off % REF_MIN != 0)
			fail_msg("reference: %s has offset %d ms, not whole "
			         "minutes",
			    z->name, p->off);
		if (i > 0 && p->off != p[-1].off) {
			int64_t at = ref_icu_bisect(z->cal, p[-1].t, p->t);

			if (at != p->t)
				fail_msg("reference: %s changes offset at "
				         "%" PRId64 ", between steps",
				    z->name, at);
			if (tab->ntr == 16)
				fail_msg("reference: too many transitions");
			tab->tr[tab->ntr].t  = p->t;
			tab->tr[tab->ntr].o1 = p[-1].off;
			tab->tr[tab->ntr].o2 = p->off;
			tab->ntr++;
		}
	}
}

static void
ref_table_free(ref_table *tab)
{
	free(tab->slot);
	tab->slot = NULL;
}

typedef struct ref_fire {
	int64_t  t;
	unsigned flags;
	int      normal; /* the wall time exists (or repeats) here */
} ref_fire;

typedef struct ref_list {
	ref_fire *v;
	size_t    n, cap;
} ref_list;

static void
ref_list_push(ref_list *l, int64_t t, unsigned flags, int normal)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v   = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n].t      = t;
	l->v[l->n].flags  = flags;
	l->v[l->n].normal = normal;
	l->n++;
}

static int
ref_fire_cmp(const void *a, const void *b)
{
	const ref_fire *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* At one instant the normal fire wins, and with it its flags. */
	return y->normal - x->normal;
}

/* Sorts, merges fires at one instant, keeps those in (ws, we]. */
static void
ref_list_settle(ref_list *l, int64_t ws, int64_t we)
{
	size_t k = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), ref_fire_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].t <= ws || l->v[i].t > we)
			continue;
		if (k > 0 && l->v[k - 1].t == l->v[i].t)
			continue;
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

/*
 * Emits the fires of a wall minute (or second) that matched at minute
 * level: with a step of a minute the seconds field is expanded here, a
 * minute-aligned wall time being minute-aligned in UTC too.
 */
static void
ref_emit(ref_list *l, const ref_sched *s, int64_t step, int64_t t, int wsec,
    unsigned flags, int normal)
{
	if (step == REF_SEC) {
		if ((s->sec >> wsec) & 1)
			ref_list_push(l, t, flags, normal);
		return;
	}
	for (int sec = 0; sec < 60; sec++)
		if ((s->sec >> sec) & 1)
			ref_list_push(l, t + sec * REF_SEC, flags, normal);
}

static int
ref_any_second(const ref_sched *s, int64_t step, int wsec)
{
	return step == REF_SEC ? (int) ((s->sec >> wsec) & 1) : s->sec != 0;
}

/*
 * All fires in (ws, we] of s under the given policies, from a table that
 * covers a few hours more on each side (so that every DST change that
 * shapes a fire inside is in the table).
 */
static void
ref_table_fires(const ref_table *tab, const ref_sched *s, cf_dst_gap gap,
    cf_dst_repeat rep, int64_t ws, int64_t we, ref_list *out)
{
	int both = rep == CF_DST_REPEAT_BOTH
	    || (rep == CF_DST_REPEAT_AUTO && s->hour == REF_ALL_HOURS);

	out->n = 0;
	/* Wall times that exist: each step of UTC time, once. */
	for (size_t i = 0; i < tab->n; i++) {
		const ref_slot *p = &tab->slot[i];
		ref_wall w    = { p->year, p->mon, p->day, p->wday, p->hour,
			   p->min, p->sec };
		int64_t  wall = p->t + p->off;
		int      rep_second = -1;

		if (p->t + 60 * REF_SEC <= ws || p->t > we)
			continue;
		if (!ref_wall_match(s, &w))
			continue;
		/* Does this wall time occur twice (an overlap)? */
		for (int k = 0; k < tab->ntr; k++) {
			const ref_trans *tr = &tab->tr[k];

			if (tr->o2 < tr->o1 && wall >= tr->t + tr->o2
			    && wall < tr->t + tr->o1)
				rep_second = p->t >= tr->t;
		}
		if (rep_second < 0) {
			ref_emit(out, s, tab->step, p->t, p->sec, 0, 1);
		} else {
			int      ok;
			unsigned fl = CF_FIRE_DST_REPEATED;

			if (rep_second) {
				ok = both || rep == CF_DST_REPEAT_LAST;
				fl |= CF_FIRE_DST_SECOND;
			} else {
				ok = both || rep != CF_DST_REPEAT_LAST;
			}
			if (both)
				fl |= CF_FIRE_DST_DOUBLED;
			if (ok)
				ref_emit(
				    out, s, tab->step, p->t, p->sec, fl, 1);
		}
	}
	/* Wall times that do not exist: those a gap skipped. */
	for (int k = 0; k < tab->ntr; k++) {
		const ref_trans *tr = &tab->tr[k];

		if (tr->o2 <= tr->o1 || gap == CF_DST_GAP_SKIP)
			continue;
		for (int64_t W = tr->t + tr->o1; W < tr->t + tr->o2;
		     W += tab->step) {
			ref_wall w;

			ref_icu_at(g.utc, W, &w);
			if (!ref_wall_match(s, &w)
			    || !ref_any_second(s, tab->step, w.sec))
				continue;
			if (gap == CF_DST_GAP_SHIFT)
				ref_emit(out, s, tab->step, W - tr->o1, w.sec,
				    CF_FIRE_DST_SHIFTED, 0);
			else
				ref_list_push(
				    out, tr->t, CF_FIRE_DST_AT_TRANSITION, 0);
		}
	}
	ref_list_settle(out, ws, we);
}

/* The fires in (ws, we], from a table of their own. */
static void
ref_fires(const ref_sched *s, ref_zone *z, cf_dst_gap gap, cf_dst_repeat rep,
    int64_t step, int64_t ws, int64_t we, ref_list *out)
{
	ref_table tab;

	if (s->every_ms > 0) {
		int64_t t = (ref_floor_div(ws, s->every_ms) + 1) * s->every_ms;

		out->n = 0;
		for (; t <= we; t += s->every_ms)
			if (t >= 0 && t < REF_MAX_MS)
				ref_list_push(out, t, 0, 1);
		return;
	}
	ref_table_build(&tab, z, step, ws - 4 * REF_HOUR, we + 4 * REF_HOUR);
	ref_table_fires(&tab, s, gap, rep, ws, we, out);
	ref_table_free(&tab);
}

static void
ref_fires_append(const ref_sched *s, ref_zone *z, cf_dst_gap gap,
    cf_dst_repeat rep, int64_t ws, int64_t we, ref_list *out)
{
	ref_list part = { 0 };

	if (ws >= we)
		return;
	ref_fires(s, z, gap, rep, REF_MIN, ws, we, &part);
	for (size_t i = 0; i < part.n; i++)
		ref_list_push(
		    out, part.v[i].t, part.v[i].flags, part.v[i].normal);
	free(part.v);
}

/*
 * The fires in (ws, we] for schedules that match on few days: only the
 * UTC ranges around wall days that match (by the reference's calendar)
 * are brute-forced. A fire whose wall date is D lies within 15 hours of
 * D's UTC day (offsets are within -12..+14 hours, gaps are short), so the
 * ranges hold every fire; and every fire found in them is a fire.
 */
static void
ref_fires_days(const ref_sched *s, ref_zone *z, cf_dst_gap gap,
    cf_dst_repeat rep, int64_t ws, int64_t we, ref_list *out)
{
	int64_t lo = 0, hi = 0;
	int     have = 0;

	out->n = 0;
	for (int64_t day = ref_floor_div(ws, REF_DAY) - 1;
	     day <= ref_floor_div(we, REF_DAY) + 1; day++) {
		int     y, m, d;
		int64_t a = day * REF_DAY - 15 * REF_HOUR;
		int64_t b = (day + 1) * REF_DAY + 15 * REF_HOUR;

		ref_civil_from_days(day, &y, &m, &d);
		if (!ref_day_match(s, y, m, d, ref_weekday_of_days(day)))
			continue;
		if (have && a <= hi) {
			hi = b;
			continue;
		}
		if (have)
			ref_fires_append(s, z, gap, rep, lo > ws ? lo : ws,
			    hi < we ? hi : we, out);
		lo   = a;
		hi   = b;
		have = 1;
	}
	if (have)
		ref_fires_append(
		    s, z, gap, rep, lo > ws ? lo : ws, hi < we ? hi : we, out);
	ref_list_settle(out, ws, we);
}

/*
 * The reference's next: skips whole wall days that cannot match (by its
 * own calendar), and brute-forces the UTC range around each day that can.
 * A fire whose wall date is D lies within 15 hours of D in UTC (offsets
 * are within -12..+14 hours, gaps are short), so the first fire found in
 * the range of the first matching day after t is the next fire.
 */
static int
ref_next_far(const ref_sched *s, ref_zone *z, cf_dst_gap gap,
    cf_dst_repeat rep, int64_t t, ref_fire *out)
{
	ref_list l     = { 0 };
	int      found = 0;

	for (int64_t day = ref_floor_div(t, REF_DAY) - 1;
	     day <= REF_MAX_MS / REF_DAY + 1 && !found; day++) {
		int     y, m, d;
		int64_t ws = day * REF_DAY - 15 * REF_HOUR;
		int64_t we = (day + 1) * REF_DAY + 15 * REF_HOUR;

		if (we <= t)
			continue;
		ref_civil_from_days(day, &y, &m, &d);
		if (!ref_day_match(s, y, m, d, ref_weekday_of_days(day)))
			continue;
		ref_fires(s, z, gap, rep, REF_MIN, ws > t ? ws : t, we, &l);
		if (l.n > 0) {
			*out  = l.v[0];
			found = out->t < REF_MAX_MS;
			if (!found)
				break;
		}
	}
	free(l.v);
	return found;
}

/* The mirror image of ref_next_far: the last fire at or before t. */
static int
ref_prev_far(const ref_sched *s, ref_zone *z, cf_dst_gap gap,
    cf_dst_repeat rep, int64_t t, ref_fire *out)
{
	ref_list l     = { 0 };
	int      found = 0;

	for (int64_t day = ref_floor_div(t, REF_DAY) + 1; day >= -2 && !found;
	     day--) {
		int     y, m, d;
		int64_t ws = day * REF_DAY - 15 * REF_HOUR;
		int64_t we = (day + 1) * REF_DAY + 15 * REF_HOUR;

		if (ws < -1)
			ws = -1;
		if (ws >= t)
			continue;
		ref_civil_from_days(day, &y, &m, &d);
		if (!ref_day_match(s, y, m, d, ref_weekday_of_days(day)))
			continue;
		ref_fires(s, z, gap, rep, REF_MIN, ws, we < t ? we : t, &l);
		if (l.n > 0) {
			*out  = l.v[l.n - 1];
			found = 1;
		}
	}
	free(l.v);
	return found;
}

/* ------------------------------------------------------------------ */
/* Comparing the engine with the reference.                            */

typedef struct diff_run {
	const char      *name; /* the case */
	int              id;   /* the run within the case */
	const ref_sched *s;
	ref_zone        *z;
	cf_dst_gap       gap;
	cf_dst_repeat    rep;
	int64_t          ws; /* the reference list holds fires in (ws, we] */
	int64_t          S;  /* next() chains from here (S >= ws) */
	int64_t          we; /* prev() chains from here */
	int              edge_lo, edge_hi; /* the window meets the range end */
	int              days;             /* use the day-skipping reference */
	cf_cron         *c;
} diff_run;

static void
diff_header(const diff_run *d)
{
	char a[96], b[96];

	print_message("MISMATCH CF_REF_SEED=%" PRIu64 " case=%s run=%d\n"
	              "  expr \"%s\"  zone %s  gap %s  repeat %s\n"
	              "  window (%s,\n          %s]\n",
	    g.seed, d->name, d->id, d->s->text, d->z->name,
	    ref_gap_names[d->gap], ref_repeat_names[d->rep],
	    ref_fmt(a, sizeof(a), d->z, d->S),
	    ref_fmt(b, sizeof(b), d->z, d->we));
}

/* Counts a mismatch; prints it unless enough have been printed. */
static int
diff_fail(const diff_run *d, const char *call, int64_t from,
    const ref_fire *exp, const char *exp_text, int rc, int64_t got,
    unsigned gfl)
{
	char f[96], e[96], x[96], ef[64], gf[64];

	g.mismatches++;
	if (g.reports++ >= REF_MAX_REPORTS)
		return 1;
	diff_header(d);
	print_message("  %s(%s)\n", call, ref_fmt(f, sizeof(f), d->z, from));
	if (exp != NULL)
		print_message("    expected %s flags %s\n",
		    ref_fmt(e, sizeof(e), d->z, exp->t),
		    ref_fmt_flags(ef, sizeof(ef), exp->flags));
	else
		print_message("    expected %s\n", exp_text);
	if (rc == 0)
		print_message("    got      %s flags %s\n",
		    ref_fmt(x, sizeof(x), d->z, got),
		    ref_fmt_flags(gf, sizeof(gf), gfl));
	else
		print_message(
		    "    got      rc %d (%s)\n", rc, cf_strerror(rc));
	return 1;
}

/* First index in l whose instant is > t. */
static size_t
diff_upper(const ref_list *l, int64_t t)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * next(from) against the list: the fire after from if the list has one,
 * else nothing up to we (and nothing at all at the end of the range).
 */
static int
diff_check_next(const diff_run *d, const ref_list *l, int64_t from)
{
	size_t   i   = diff_upper(l, from);
	int64_t  got = 0;
	unsigned fl  = 0;
	int      rc  = cf_cron_next(d->c, from, &got, &fl);

	if (i < l->n) {
		if (rc != 0 || got != l->v[i].t || fl != l->v[i].flags)
			return diff_fail(d, "cf_cron_next", from, &l->v[i],
			    NULL, rc, got, fl);
		return 0;
	}
	if (d->edge_hi) {
		if (rc != CF_ENOENT)
			return diff_fail(d, "cf_cron_next", from, NULL,
			    "CF_ENOENT (no fire before 2200)", rc, got, fl);
		return 0;
	}
	if ((rc != 0 && rc != CF_ENOENT) || (rc == 0 && got <= d->we))
		return diff_fail(d, "cf_cron_next", from, NULL,
		    "no fire up to the window end", rc, got, fl);
	return 0;
}

/* prev(at) against the list, as diff_check_next. */
static int
diff_check_prev(const diff_run *d, const ref_list *l, int64_t at)
{
	size_t   i   = diff_upper(l, at);
	int64_t  got = 0;
	unsigned fl  = 0;
	int      rc  = cf_cron_prev(d->c, at, &got, &fl);

	if (i > 0) {
		if (rc != 0 || got != l->v[i - 1].t || fl != l->v[i - 1].flags)
			return diff_fail(d, "cf_cron_prev", at, &l->v[i - 1],
			    NULL, rc, got, fl);
		return 0;
	}
	if (d->edge_lo) {
		if (rc != CF_ENOENT)
			return diff_fail(d, "cf_cron_prev", at, NULL,
			    "CF_ENOENT (no fire since 1970)", rc, got, fl);
		return 0;
	}
	if ((rc != 0 && rc != CF_ENOENT) || (rc == 0 && got > d->ws))
		return diff_fail(d, "cf_cron_prev", at, NULL,
		    "no fire down to the window start", rc, got, fl);
	return 0;
}

/*
 * The heart of it: next() chained from S must give exactly the fires in
 * (S, we], prev() chained from we exactly the fires in (ws, we] reversed,
 * and both must agree with the list at probes: random instants, instants
 * next to fires and next to the DST changes.
 */
static void
diff_compare(
    const diff_run *d, const ref_list *l, ref_rng *r, const ref_table *tab)
{
	int64_t t = d->S;
	size_t  i = diff_upper(l, d->S);

	g.runs++;
	g.fires += (long) l->n;
	for (size_t k = 0; k < l->n; k++)
		for (int b = 0; b < 5; b++)
			g.flagged[b] += (l->v[k].flags >> b) & 1;
	/*
	 * The chain forwards: each call starts from the fire before, which
	 * the check has just found equal to the reference's.
	 */
	for (;;) {
		if (diff_check_next(d, l, t) || i == l->n)
			break;
		t = l->v[i++].t;
	}
	/* The chain backwards. */
	t = d->we;
	i = l->n;
	for (;;) {
		if (diff_check_prev(d, l, t))
			break;
		if (i == 0 || l->v[i - 1].t <= 0)
			break;
		t = l->v[i - 1].t - 1;
		i--;
	}
	/* Probes. */
	for (int k = 0; k < 24; k++) {
		int64_t p;

		if (k < 8 || l->n == 0) {
			p = rng_between64(r, d->S, d->we);
		} else if (k < 20 || tab == NULL || tab->ntr == 0) {
			const ref_fire *f = &l->v[rng_below(r, (int) l->n)];

			p = f->t + rng_between(r, -1, 1);
		} else {
			const ref_trans *tr = &tab->tr[rng_below(r, tab->ntr)];
			int64_t          gsz = tr->o2 - tr->o1;

			p = tr->t + rng_between(r, -1, 1)
			    + (rng_pct(r, 50) ? (gsz < 0 ? -gsz : gsz) : 0);
		}
		if (p < d->S || p > d->we)
			continue;
		g.probes++;
		if (diff_check_next(d, l, p) || diff_check_prev(d, l, p))
			break;
	}
}

/*
 * Cuts a long list to REF_CAP fires around center, moving S and we to
 * match: at a fire (to test that next() is strict and prev() is not), a
 * millisecond before one, or in between.
 */
static void
diff_cut(diff_run *d, ref_list *l, ref_rng *r, int64_t center)
{
	size_t    lo, hi, c;
	int64_t   a, b;
	ref_fire *v = l->v;

	if (l->n <= REF_CAP)
		return;
	c  = diff_upper(l, center);
	lo = c > REF_CAP / 2 ? c - REF_CAP / 2 : 0;
	hi = lo + REF_CAP < l->n ? lo + REF_CAP : l->n;
	lo = hi - REF_CAP;
	if (lo > 0) {
		a = v[lo - 1].t;
		b = v[lo].t - 1;
		switch (rng_below(r, 3)) {
		case 0:
			d->S = a;
			break;
		case 1:
			d->S = b;
			break;
		default:
			d->S = rng_between64(r, a, b);
			break;
		}
		d->ws      = d->S;
		d->edge_lo = 0;
	}
	if (hi < l->n) {
		a          = v[hi - 1].t;
		b          = v[hi].t - 1;
		d->we      = rng_pct(r, 50) ? a : rng_between64(r, a, b);
		d->edge_hi = 0;
	}
	memmove(v, v + lo, (hi - lo) * sizeof(*v));
	l->n = hi - lo;
}

/*
 * Compiles the run's schedule. Returns 1 if it compiled; 0 if the engine
 * said "never" and the reference agrees (nothing to compare); counts a
 * mismatch otherwise.
 */
static int
diff_open(diff_run *d, ref_sched *s)
{
	cf_cron_opts o                   = { d->z->name, d->gap, d->rep };
	char         err[CF_CRON_ERRLEN] = "";
	int          rc = cf_cron_parse(&d->c, s->text, &o, err, sizeof(err));

	if (rc == CF_EINVAL && strstr(err, "never") != NULL && !ref_ever(s)) {
		g.never++;
		return 0;
	}
	if (rc == 0 && ref_ever(s))
		return 1;
	g.mismatches++;
	if (g.reports++ < REF_MAX_REPORTS) {
		diff_header(d);
		if (rc == 0)
			print_message("  cf_cron_parse accepted a schedule "
			              "that never fires (contract: CF_EINVAL "
			              "\"never\")\n");
		else
			print_message("  cf_cron_parse: rc %d: %s (the "
			              "reference %s)\n",
			    rc, err,
			    ref_ever(s) ? "finds days that match"
			                : "finds no day that matches");
	}
	if (rc == 0)
		cf_cron_free(d->c);
	d->c = NULL;
	return 0;
}

/*
 * One run: compile, compute the reference's fires in (ws, we] (from tab
 * when given, else from a table of their own), cut, compare.
 */
static void
diff_run_one(diff_run *d, ref_sched *s, const ref_table *tab, int64_t center,
    ref_rng *rr)
{
	ref_list l = { 0 };
	/*
	 * Cuts and probes draw from a stream of the run's own, so that a
	 * mismatch (which ends a chain early) does not change the runs
	 * after it: a seed replays the same runs whatever the engine does.
	 */
	ref_rng rs = { rng_next(rr) }, *r = &rs;

	d->s = s;
	d->S = d->ws < 0 ? 0 : d->ws;
	if (!diff_open(d, s))
		return;
	if (tab != NULL && s->every_ms == 0)
		ref_table_fires(tab, s, d->gap, d->rep, d->ws, d->we, &l);
	else if (d->days && s->every_ms == 0)
		ref_fires_days(s, d->z, d->gap, d->rep, d->ws, d->we, &l);
	else
		ref_fires(s, d->z, d->gap, d->rep, REF_MIN, d->ws, d->we, &l);
	diff_cut(d, &l, r, center);
	if (g.verbose) {
		char a[96], b[96];

		print_message("%s#%d \"%s\" %s %s/%s (%s, %s] %zu fires\n",
		    d->name, d->id, s->text, d->z->name, ref_gap_names[d->gap],
		    ref_repeat_names[d->rep],
		    ref_fmt(a, sizeof(a), d->z, d->S),
		    ref_fmt(b, sizeof(b), d->z, d->we), l.n);
	}
	diff_compare(d, &l, r, tab);
	cf_cron_free(d->c);
	d->c = NULL;
	free(l.v);
}

static int
diff_case_begin(const char *name, ref_rng *r, struct timespec *t0)
{
	ref_rng_for_case(r, name);
	g.mismatches = 0;
	g.reports    = 0;
	g.runs = g.fires = g.probes = g.exprs = g.never = 0;
	memset(g.flagged, 0, sizeof(g.flagged));
	clock_gettime(CLOCK_MONOTONIC, t0);
	return 0;
}

static void
diff_case_end(const char *name, const struct timespec *t0)
{
	struct timespec t1;
	double          secs;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double) (t1.tv_sec - t0->tv_sec)
	    + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
	print_message("[ reference ] %s: %ld expressions, %ld runs, %ld "
	              "fires (%ld shifted, %ld at-transition, %ld repeated, "
	              "%ld second, %ld doubled), %ld probes, %ld never-fire, "
	              "%ld mismatches, %.2f s\n",
	    name, g.exprs, g.runs, g.fires, g.flagged[0], g.flagged[1],
	    g.flagged[2], g.flagged[3], g.flagged[4], g.probes, g.never,
	    g.mismatches, secs);
	if (g.mismatches > 0)
		fail_msg("%s: %ld mismatches with the reference (seed %" PRIu64
		         ")",
		    name, g.mismatches, g.seed);
}

/* The wall date and hours a DST change touches (its gap or overlap). */
static void
diff_hint(const ref_trans *tr, ref_hint *h)
{
	int32_t  lo = tr->o1 < tr->o2 ? tr->o1 : tr->o2;
	int32_t  hi = tr->o1 < tr->o2 ? tr->o2 : tr->o1;
	ref_wall w;

	ref_icu_at(g.utc, tr->t + lo, &w);
	h->valid = 1;
	h->year  = w.year;
	h->mon   = w.mon;
	h->day   = w.day;
	h->wday  = w.wday;
	h->hours = 0;
	for (int64_t W = tr->t + lo; W < tr->t + hi; W += 15 * REF_MIN) {
		ref_icu_at(g.utc, W, &w);
		h->hours |= 1u << w.hour;
	}
}

/* A random policy pair, or all gap / all repeat policies in turn. */
static void
diff_policies(ref_rng *r, const ref_trans *tr, int k, cf_dst_gap *gap,
    cf_dst_repeat *rep)
{
	*gap = (cf_dst_gap) rng_below(r, 3);
	*rep = (cf_dst_repeat) rng_below(r, 4);
	if (tr != NULL && tr->o2 > tr->o1)
		*gap = (cf_dst_gap) k;
	else if (tr != NULL)
		*rep = (cf_dst_repeat) k;
}

static int
diff_npolicies(const ref_trans *tr)
{
	return tr == NULL ? 1 : tr->o2 > tr->o1 ? 3 : 4;
}

/* t, or t rounded down to a minute or a second, at random. */
static int64_t
diff_jitter(ref_rng *r, int64_t t)
{
	switch (rng_below(r, 3)) {
	case 0:
		return ref_floor_div(t, REF_MIN) * REF_MIN;
	case 1:
		return ref_floor_div(t, REF_SEC) * REF_SEC;
	default:
		return t;
	}
}

/* ------------------------------------------------------------------ */
/* Cases.                                                              */

/*
 * The reference on cases worked out by hand from the contract, so that a
 * mismatch later can be blamed on the engine with some confidence.
 */
typedef struct known {
	const char   *expr;
	const char   *zone;
	cf_dst_gap    gap;
	cf_dst_repeat rep;
	int64_t       ws, we;
	int           n;
	int64_t       t[4];
	unsigned      fl[4];
} known;

#define SH CF_FIRE_DST_SHIFTED
#define AT CF_FIRE_DST_AT_TRANSITION
#define RP CF_FIRE_DST_REPEATED
#define SE CF_FIRE_DST_SECOND
#define DB CF_FIRE_DST_DOUBLED

static const known known_cases[] = {
	/* Berlin spring 2025-03-30 01:00Z, 02:00 CET -> 03:00 CEST. */
	{ "30 2 * * *", "Europe/Berlin", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1743206400000, 1743465600000, 3,
	    { 1743211800000, 1743298200000, 1743381000000 }, { 0, SH, 0 } },
	{ "30 2 * * *", "Europe/Berlin", CF_DST_GAP_SKIP, CF_DST_REPEAT_AUTO,
	    1743206400000, 1743465600000, 2, { 1743211800000, 1743381000000 },
	    { 0, 0 } },
	{ "30 2 * * *", "Europe/Berlin", CF_DST_GAP_AT_TRANSITION,
	    CF_DST_REPEAT_AUTO, 1743206400000, 1743465600000, 3,
	    { 1743211800000, 1743296400000, 1743381000000 }, { 0, AT, 0 } },
	/* 03:00 exists, and is where 02:00 shifts to: one fire, no flag. */
	{ "0 2,3 30 3 *", "Europe/Berlin", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_AUTO, 1743206400000, 1743465600000, 1,
	    { 1743296400000 }, { 0 } },
	/* Berlin autumn 2025-10-26 01:00Z, 03:00 CEST -> 02:00 CET. */
	{ "30 2 26 10 *", "Europe/Berlin", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_AUTO, 1761350400000, 1761609600000, 1,
	    { 1761438600000 }, { RP } },
	{ "30 2 26 10 *", "Europe/Berlin", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_LAST, 1761350400000, 1761609600000, 1,
	    { 1761442200000 }, { RP | SE } },
	{ "30 2 26 10 *", "Europe/Berlin", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_BOTH, 1761350400000, 1761609600000, 2,
	    { 1761438600000, 1761442200000 }, { RP | DB, RP | SE | DB } },
	{ "30 0-23 26 10 *", "Europe/Berlin", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_AUTO, 1761433200000, 1761444000000, 3,
	    { 1761435000000, 1761438600000, 1761442200000 },
	    { 0, RP | DB, RP | SE | DB } },
	/* Lord Howe 2025-10-05: 02:00 +10:30 -> 02:30 +11, at 15:30Z. */
	{ "15 2 5 10 *", "Australia/Lord_Howe", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_AUTO, 1759536000000, 1759795200000, 1,
	    { 1759592700000 }, { SH } },
	{ "15 2 5 10 *", "Australia/Lord_Howe", CF_DST_GAP_AT_TRANSITION,
	    CF_DST_REPEAT_AUTO, 1759536000000, 1759795200000, 1,
	    { 1759591800000 }, { AT } },
	/* Sao Paulo 2018-11-04: 00:00 -03 -> 01:00 -02 at 03:00Z. */
	{ "0 0 4 11 *", "America/Sao_Paulo", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_AUTO, 1541203200000, 1541462400000, 1,
	    { 1541300400000 }, { SH } },
	/* A 6-field schedule across New York's 2025-11-02 06:00Z. */
	{ "30 59 1 2 11 *", "America/New_York", CF_DST_GAP_SHIFT,
	    CF_DST_REPEAT_BOTH, 1762041600000, 1762128000000, 2,
	    { 1762063170000, 1762066770000 }, { RP | DB, RP | SE | DB } },
	/* Day rules in UTC, 2022: Jan 1 and Oct 15 are Saturdays. */
	{ "0 12 1W 1 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1640995200000, 1643673600000, 1, { 1641211200000 }, { 0 } },
	{ "0 12 15W 10 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1664582400000, 1667260800000, 1, { 1665748800000 }, { 0 } },
	/* May 1 is a Sunday: Monday the 2nd. */
	{ "0 12 1W 5 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1651276800000, 1654041600000, 1, { 1651492800000 }, { 0 } },
	/* July 31 is a Sunday and the last day: Friday the 29th. */
	{ "0 12 31W 7 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1656633600000, 1659312000000, 1, { 1659096000000 }, { 0 } },
	/* April 30 is a Saturday. */
	{ "0 12 LW 4 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1648771200000, 1651363200000, 1, { 1651233600000 }, { 0 } },
	{ "0 12 * 2 5#L", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1643673600000, 1646092800000, 1, { 1645790400000 }, { 0 } },
	{ "0 12 * 2 5#5", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1643673600000, 1646092800000, 0, { 0 }, { 0 } },
	/* L-30 is the 1st of 31-day months only. */
	{ "0 12 L-30 1-3 *", "UTC", CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO,
	    1640995200000, 1648771200000, 2, { 1641038400000, 1646136000000 },
	    { 0, 0 } },
};

/*
 * The structured form of a hand case's field: only numbers, ranges,
 * lists, "*" and numeric day rules appear in them, so this is all the
 * parsing they need.
 */
static uint64_t
known_field(ref_sched *s, const char *text, int f, int *star)
{
	char     buf[64], *save = NULL;
	uint64_t bits = 0;

	*star = strcmp(text, "*") == 0;
	if (*star) {
		gen_set(&bits, f, gen_info[f].lo, gen_info[f].hi, 1);
		return bits;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *it = strtok_r(buf, ",", &save); it != NULL;
	     it       = strtok_r(NULL, ",", &save)) {
		const char *dash = strchr(it, '-');
		const char *hash = strchr(it, '#');
		int         lo   = atoi(it);

		if (strcmp(it, "LW") == 0)
			s->dom_lw = 1;
		else if (it[0] == 'L')
			s->dom_lminus |= 1u
			    << (dash != NULL ? atoi(dash + 1) : 0);
		else if (it[strlen(it) - 1] == 'W')
			s->dom_w |= 1u << lo;
		else if (hash != NULL && hash[1] == 'L')
			s->dow_last |= (uint8_t) (1u << (lo % 7));
		else if (hash != NULL)
			s->dow_nth[atoi(hash + 1)]
			    |= (uint8_t) (1u << (lo % 7));
		else
			gen_set(&bits, f, lo,
			    dash != NULL ? atoi(dash + 1) : lo, 1);
	}
	return bits;
}

static void
known_sched(ref_sched *s, const char *expr)
{
	gen_expr e;
	char     buf[64], *save = NULL, *tok[6];
	int      n = 0, star;

	gen_sched_init(s);
	memset(&e, 0, sizeof(e));
	snprintf(buf, sizeof(buf), "%s", expr);
	for (char *t = strtok_r(buf, " ", &save); t != NULL && n < 6;
	     t       = strtok_r(NULL, " ", &save))
                tok[n++] = t;
	s->six = n == 6;
	for (int i = 0; i < n; i++) {
		int f = i + (s->six ? F_SEC : F_MIN);

		e.bits[f] = known_field(s, tok[i], f, &star);
		snprintf(e.text[f], sizeof(e.text[f]), "%s", tok[i]);
		if (f == F_DOM)
			s->dom_star = star;
		if (f == F_DOW)
			s->dow_star = star;
	}
	gen_finish(s, &e);
}

static ref_zone *
ref_zone_named(const char *name)
{
	for (size_t i = 0; i < REF_NZONES; i++)
		if (strcmp(g.zones[i].name, name) == 0)
			return &g.zones[i];
	fail_msg("no zone %s", name);
	return NULL;
}

/*
 * The reference (not the engine) on cases worked out by hand from the
 * contract, at both step sizes, so that a later mismatch can be blamed on
 * the engine with some confidence.
 */
static void
reference_known_answers(void **state)
{
	ref_list l   = { 0 };
	int      bad = 0;

	(void) state;
	for (size_t k = 0; k < sizeof(known_cases) / sizeof(known_cases[0]);
	     k++) {
		const known *kc = &known_cases[k];
		ref_sched    s;
		ref_zone    *z = ref_zone_named(kc->zone);

		known_sched(&s, kc->expr);
		for (int pass = 0; pass < 2; pass++) {
			int64_t step = pass == 0 ? REF_MIN : REF_SEC;
			int     ok;

			/* Seconds only where they matter: near DST changes. */
			if (pass == 1 && kc->we - kc->ws > 3 * REF_DAY)
				continue;
			ref_fires(
			    &s, z, kc->gap, kc->rep, step, kc->ws, kc->we, &l);
			ok = l.n == (size_t) kc->n;
			for (int i = 0; ok && i < kc->n; i++)
				ok = l.v[i].t == kc->t[i]
				    && l.v[i].flags == kc->fl[i];
			if (ok)
				continue;
			bad++;
			print_message("reference wrong on \"%s\" %s gap %s "
			              "repeat %s step %" PRId64 " ms:\n",
			    s.text, z->name, ref_gap_names[kc->gap],
			    ref_repeat_names[kc->rep], step);
			for (size_t i = 0; i < l.n; i++) {
				char a[96], fl[64];

				print_message("  got %s %s\n",
				    ref_fmt(a, sizeof(a), z, l.v[i].t),
				    ref_fmt_flags(
				        fl, sizeof(fl), l.v[i].flags));
			}
		}
	}
	free(l.v);
	assert_int_equal(bad, 0);
}

/*
 * The reference against itself: its calendar arithmetic against ICU's,
 * and its two step sizes (a minute with the seconds expanded, and a
 * second) on random 6-field schedules around DST changes.
 */
static void
reference_self_consistency(void **state)
{
	ref_rng  r;
	ref_list a = { 0 }, b = { 0 };
	int      bad = 0;

	(void) state;
	ref_rng_for_case(&r, "self");
	for (int i = 0; i < 20000; i++) {
		int64_t  t   = rng_between64(&r, -REF_DAY, REF_MAX_MS);
		int64_t  day = ref_floor_div(t, REF_DAY);
		ref_wall w;
		int      y, m, d;

		ref_icu_at(g.utc, t, &w);
		ref_civil_from_days(day, &y, &m, &d);
		if (w.year != y || w.mon != m || w.day != d
		    || w.wday != ref_weekday_of_days(day)
		    || ref_days_from_civil(y, m, d) != day) {
			print_message("calendar: %" PRId64
			              " ICU %d-%d-%d wd %d"
			              ", reference %d-%d-%d wd %d\n",
			    t, w.year, w.mon, w.day, w.wday, y, m, d,
			    ref_weekday_of_days(day));
			bad++;
			break;
		}
	}
	for (int i = 0; i < 24 * g.iter; i++) {
		ref_zone        *z;
		const ref_trans *tr;
		ref_hint         h;
		ref_sched        s;
		cf_dst_gap       gap;
		cf_dst_repeat    rep;
		int64_t          ws, we;

		do
			z = &g.zones[rng_below(&r, REF_NZONES)];
		while (z->ntr == 0);
		tr = &z->tr[rng_below(&r, z->ntr)];
		diff_hint(tr, &h);
		gen_cron(&r, &s, 1, GEN_ANY, &h);
		diff_policies(
		    &r, tr, rng_below(&r, diff_npolicies(tr)), &gap, &rep);
		ws = tr->t - rng_between64(&r, 0, 2 * REF_HOUR);
		we = tr->t + rng_between64(&r, 0, 2 * REF_HOUR);
		ref_fires(&s, z, gap, rep, REF_MIN, ws, we, &a);
		ref_fires(&s, z, gap, rep, REF_SEC, ws, we, &b);
		if (a.n != b.n
		    || (a.n > 0
		        && memcmp(a.v, b.v, a.n * sizeof(*a.v)) != 0)) {
			print_message("reference steps disagree on \"%s\" %s "
			              "gap %s repeat %s: %zu vs %zu fires\n",
			    s.text, z->name, ref_gap_names[gap],
			    ref_repeat_names[rep], a.n, b.n);
			bad++;
		}
	}
	free(a.v);
	free(b.v);
	assert_int_equal(bad, 0);
}

/*
 * 5-field schedules in windows of a few days around DST changes of
 * 2018-2026, under every gap policy (spring) or repeat policy (autumn);
 * zones without changes get random windows in those years.
 */
static void
diff_transitions_5field(void **state)
{
	ref_rng         r;
	struct timespec t0;
	int             id = 0;

	(void) state;
	diff_case_begin("transitions_5field", &r, &t0);
	for (size_t zi = 0; zi < REF_NZONES; zi++) {
		ref_zone *z = &g.zones[zi];

		for (int w = 0; w < 6 * g.iter; w++) {
			const ref_trans *tr = NULL;
			ref_hint         h  = { 0 };
			ref_table        tab;
			int64_t          center, ws, we;

			if (z->ntr > 0) {
				/* One spring, one autumn, then any. */
				do
					tr = &z->tr[rng_below(&r, z->ntr)];
				while (w < 2 && (w == 0) != (tr->o2 > tr->o1));
				diff_hint(tr, &h);
				center = tr->t;
			} else {
				center = rng_between64(
				    &r, REF_2018_MS, REF_2027_MS - REF_DAY);
			}
			ws = diff_jitter(&r,
			    center - rng_between64(&r, REF_DAY, 3 * REF_DAY));
			we = diff_jitter(&r,
			    center + rng_between64(&r, REF_DAY, 3 * REF_DAY));
			ref_table_build(&tab, z, REF_MIN, ws - 4 * REF_HOUR,
			    we + 4 * REF_HOUR);
			for (int e = 0; e < 6; e++) {
				ref_sched s;

				gen_cron(&r, &s, 0, GEN_ANY, &h);
				g.exprs++;
				for (int k = 0; k < diff_npolicies(tr); k++) {
					diff_run d = { 0 };

					d.name = "transitions_5field";
					d.id   = id++;
					d.z    = z;
					d.ws   = ws;
					d.we   = we;
					diff_policies(
					    &r, tr, k, &d.gap, &d.rep);
					diff_run_one(&d, &s, &tab, center, &r);
				}
			}
			ref_table_free(&tab);
		}
	}
	diff_case_end("transitions_5field", &t0);
}

/*
 * 6-field schedules around DST changes: in windows of a few hours
 * stepped second by second, and in windows of a day or two stepped by
 * minute with the seconds expanded.
 */
static void
diff_transitions_6field(void **state)
{
	ref_rng         r;
	struct timespec t0;
	int             id = 0;

	(void) state;
	diff_case_begin("transitions_6field", &r, &t0);
	for (size_t zi = 0; zi < REF_NZONES; zi++) {
		ref_zone *z = &g.zones[zi];

		if (z->ntr == 0)
			continue;
		for (int w = 0; w < 8 * g.iter; w++) {
			const ref_trans *tr;
			ref_hint         h;
			ref_table        tab;
			int64_t          step = w % 2 == 0 ? REF_SEC : REF_MIN;
			int64_t          span
			    = step == REF_SEC ? 2 * REF_HOUR : 30 * REF_HOUR;
			int64_t ws, we;

			do
				tr = &z->tr[rng_below(&r, z->ntr)];
			while (w < 2 && (w == 0) != (tr->o2 > tr->o1));
			diff_hint(tr, &h);
			ws = diff_jitter(
			    &r, tr->t - rng_between64(&r, span / 4, span));
			we = diff_jitter(
			    &r, tr->t + rng_between64(&r, span / 4, span));
			ref_table_build(&tab, z, step, ws - 4 * REF_HOUR,
			    we + 4 * REF_HOUR);
			for (int e = 0; e < 4; e++) {
				ref_sched s;

				gen_cron(&r, &s, 1, GEN_ANY, &h);
				g.exprs++;
				for (int k = 0; k < diff_npolicies(tr); k++) {
					diff_run d = { 0 };

					d.name = "transitions_6field";
					d.id   = id++;
					d.z    = z;
					d.ws   = ws;
					d.we   = we;
					diff_policies(
					    &r, tr, k, &d.gap, &d.rep);
					diff_run_one(&d, &s, &tab, tr->t, &r);
				}
			}
			ref_table_free(&tab);
		}
	}
	diff_case_end("transitions_6field", &t0);
}

static int
ref_popcount(uint64_t v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

/*
 * Random schedules, zones, policies and windows anywhere in 1970-2199
 * (half of them in 2018-2026): up to 45 days long for sparse schedules,
 * shorter for dense ones so the lists stay small.
 */
static void
diff_random_windows(void **state)
{
	ref_rng         r;
	struct timespec t0;
	int             id = 0;

	(void) state;
	diff_case_begin("random_windows", &r, &t0);
	for (int w = 0; w < 200 * g.iter; w++) {
		ref_zone *z = &g.zones[rng_below(&r, REF_NZONES)];
		ref_sched s[3];
		ref_table tab;
		int64_t   len = rng_between64(&r, 6 * REF_HOUR, 45 * REF_DAY);
		int64_t   ws, we;

		/* Size the window for the densest of its schedules. */
		for (int e = 0; e < 3; e++) {
			int64_t per_day;

			gen_cron(&r, &s[e], rng_pct(&r, 30),
			    rng_pct(&r, 30) ? GEN_SPARSE : GEN_ANY, NULL);
			g.exprs++;
			per_day = (int64_t) ref_popcount(s[e].sec)
			    * ref_popcount(s[e].min) * ref_popcount(s[e].hour);
			if (len > 40000 * REF_DAY / per_day)
				len = 40000 * REF_DAY / per_day;
		}
		if (len < 6 * REF_HOUR)
			len = 6 * REF_HOUR;
		if (rng_pct(&r, 50))
			ws = rng_between64(&r, REF_2018_MS, REF_2027_MS - len);
		else
			ws = rng_between64(
			    &r, REF_DAY, REF_MAX_MS - len - REF_DAY);
		ws = diff_jitter(&r, ws);
		we = ws + len;
		ref_table_build(
		    &tab, z, REF_MIN, ws - 4 * REF_HOUR, we + 4 * REF_HOUR);
		for (int e = 0; e < 3; e++) {
			diff_run d = { 0 };

			d.name = "random_windows";
			d.id   = id++;
			d.z    = z;
			d.ws   = ws;
			d.we   = we;
			diff_policies(&r, NULL, 0, &d.gap, &d.rep);
			diff_run_one(
			    &d, &s[e], &tab, rng_between64(&r, ws, we), &r);
		}
		ref_table_free(&tab);
	}
	diff_case_end("random_windows", &t0);
}

/* "@every" in every zone: multiples of the interval since the epoch. */
static void
diff_every(void **state)
{
	ref_rng         r;
	struct timespec t0;

	(void) state;
	diff_case_begin("every", &r, &t0);
	for (int i = 0; i < 300 * g.iter; i++) {
		ref_sched s;
		diff_run  d = { 0 };
		int64_t   len;

		gen_every(&r, &s);
		g.exprs++;
		len = s.every_ms * rng_between(&r, 1, 300)
		    + rng_between64(&r, 0, s.every_ms);
		d.name = "every";
		d.id   = i;
		d.z    = &g.zones[rng_below(&r, REF_NZONES)];
		diff_policies(&r, NULL, 0, &d.gap, &d.rep);
		if (rng_pct(&r, 50))
			d.ws = rng_between64(&r, REF_2018_MS, REF_2027_MS);
		else
			d.ws = rng_between64(&r, 0, REF_MAX_MS - len - 1);
		d.ws = diff_jitter(&r, d.ws);
		d.we = d.ws + len;
		diff_run_one(&d, &s, NULL, d.ws, &r);
	}
	diff_case_end("every", &t0);
}

/*
 * A few steps of next and of prev from a random instant anywhere in the
 * range, against the reference's day-skipping search.
 */
static void
diff_far_steps(diff_run *d, ref_sched *s, ref_rng *r)
{
	int64_t t = diff_jitter(r, rng_between64(r, 0, REF_MAX_MS - 1));

	d->s  = s;
	d->ws = d->S = 0;
	d->we        = REF_MAX_MS - 1;
	if (!diff_open(d, s))
		return;
	g.runs++;
	for (int dir = 0; dir < 2; dir++) {
		const char *call = dir == 0 ? "cf_cron_next" : "cf_cron_prev";
		int64_t     from = t;

		for (int k = 0; k < 4; k++) {
			ref_fire e;
			int64_t  got = 0;
			unsigned fl  = 0;
			int      found, rc;

			if (dir == 0) {
				found = ref_next_far(
				    s, d->z, d->gap, d->rep, from, &e);
				rc = cf_cron_next(d->c, from, &got, &fl);
			} else {
				found = ref_prev_far(
				    s, d->z, d->gap, d->rep, from, &e);
				rc = cf_cron_prev(d->c, from, &got, &fl);
			}
			g.probes++;
			if (!found) {
				if (rc != CF_ENOENT)
					diff_fail(d, call, from, NULL,
					    "CF_ENOENT (no fire in the range)",
					    rc, got, fl);
				break;
			}
			g.fires++;
			if (rc != 0 || got != e.t || fl != e.flags) {
				diff_fail(
				    d, call, from, &e, NULL, rc, got, fl);
				break;
			}
			if (dir == 1 && e.t == 0)
				break;
			from = dir == 0 ? e.t : e.t - 1;
		}
	}
	cf_cron_free(d->c);
	d->c = NULL;
}

/*
 * Sparse schedules (fires days to years apart) from random instants
 * anywhere in the range.
 */
static void
diff_far(void **state)
{
	ref_rng         r;
	struct timespec t0;

	(void) state;
	diff_case_begin("far", &r, &t0);
	for (int i = 0; i < 150 * g.iter; i++) {
		ref_sched s;
		diff_run  d = { 0 };

		gen_cron(&r, &s, rng_pct(&r, 20), GEN_SPARSE, NULL);
		g.exprs++;
		d.name = "far";
		d.id   = i;
		d.z    = &g.zones[rng_below(&r, REF_NZONES)];
		diff_policies(&r, NULL, 0, &d.gap, &d.rep);
		diff_far_steps(&d, &s, &r);
	}
	diff_case_end("far", &t0);
}

/*
 * Day rules (L, L-n, LW, nW, DAY#n, DAY#L, mixed with plain values, one
 * or both day fields restricted) over windows of one to four years, where
 * every month length and weekday arrangement comes round.
 */
static void
diff_day_rules(void **state)
{
	ref_rng         r;
	struct timespec t0;

	(void) state;
	diff_case_begin("day_rules", &r, &t0);
	for (int i = 0; i < 150 * g.iter; i++) {
		ref_sched s;
		diff_run  d = { 0 };
		int64_t   len
		    = rng_between64(&r, 365 * REF_DAY, 4 * 366 * REF_DAY);

		int64_t ndays = 0, day0;

		gen_cron(&r, &s, rng_pct(&r, 15), GEN_DAYS, NULL);
		g.exprs++;
		d.name = "day_rules";
		d.id   = i;
		d.z    = &g.zones[rng_below(&r, REF_NZONES)];
		d.days = 1;
		diff_policies(&r, NULL, 0, &d.gap, &d.rep);
		if (rng_pct(&r, 50))
			d.ws = rng_between64(
			    &r, REF_2018_MS, REF_2027_MS - len);
		else
			d.ws = rng_between64(
			    &r, REF_DAY, REF_MAX_MS - len - REF_DAY);
		d.ws = diff_jitter(&r, d.ws);
		/*
		 * Schedules matching many days get shorter windows: each
		 * such day costs the reference a day and a half of steps.
		 */
		day0 = ref_floor_div(d.ws, REF_DAY);
		for (int64_t day = day0; day * REF_DAY < d.ws + len; day++) {
			int y, m, dd;

			ref_civil_from_days(day, &y, &m, &dd);
			if (ref_day_match(
			        &s, y, m, dd, ref_weekday_of_days(day))
			    && ++ndays == 120) {
				len = (day - day0) * REF_DAY;
				break;
			}
		}
		d.we = d.ws + len;
		diff_run_one(&d, &s, NULL, rng_between64(&r, d.ws, d.we), &r);
	}
	diff_case_end("day_rules", &t0);
}

/*
 * Day and month combinations that may never happen (the 30th of
 * February, L-30 in 30-day months, 5th Mondays of February): the engine
 * must refuse exactly those the reference finds no day for, and find the
 * rare fires of the others.
 */
static void
diff_never(void **state)
{
	static const struct {
		const char *t;
		uint32_t    dom, lminus, w;
	} doms[] = {
		{ "29", 1u << 29, 0, 0 },
		{ "30", 1u << 30, 0, 0 },
		{ "31", 1u << 31, 0, 0 },
		{ "L-28", 0, 1u << 28, 0 },
		{ "L-29", 0, 1u << 29, 0 },
		{ "L-30", 0, 1u << 30, 0 },
		{ "29W", 0, 0, 1u << 29 },
		{ "30W", 0, 0, 1u << 30 },
		{ "31W", 0, 0, 1u << 31 },
		{ "30,31", 3u << 30, 0, 0 },
		{ "L-29,31", 1u << 31, 1u << 29, 0 },
	};
	static const struct {
		const char *t;
		uint16_t    mon;
	} mons[] = {
		{ "2", 1u << 2 },
		{ "FEB", 1u << 2 },
		{ "4", 1u << 4 },
		{ "4,6", (1u << 4) | (1u << 6) },
		{ "9,11", (1u << 9) | (1u << 11) },
		{ "2,4,6,9,11", 0xa54 },
		{ "feb-apr/2", (1u << 2) | (1u << 4) },
	};
	static const struct {
		const char *t;
		uint8_t     nth5;
	} dows[] = {
		{ "MON#5", 1u << 1 },
		{ "0#5", 1u << 0 },
		{ "SAT#5", 1u << 6 },
		{ "fri#5,2#5", (1u << 5) | (1u << 2) },
	};
	ref_rng         r;
	struct timespec t0;

	(void) state;
	diff_case_begin("never", &r, &t0);
	for (int i = 0; i < 100 * g.iter; i++) {
		ref_sched s;
		diff_run  d  = { 0 };
		int       k  = rng_pct(&r, 60) ? 0 : rng_between(&r, 1, 2);
		int       di = rng_below(&r, 11), mi = rng_below(&r, 7);
		int       wi = rng_below(&r, 4);
		int mn = rng_between(&r, 0, 59), hr = rng_between(&r, 0, 23);

		/* k: 0 dom alone, 1 dom OR dow#5, 2 dow#5 alone. */
		gen_sched_init(&s);
		snprintf(s.text, sizeof(s.text), "%d %d %s %s %s", mn, hr,
		    k == 2 ? "?" : doms[di].t, mons[mi].t,
		    k == 0 ? "*" : dows[wi].t);
		s.sec  = 1;
		s.min  = 1ULL << mn;
		s.hour = 1u << hr;
		s.mon  = mons[mi].mon;
		if (k == 2) {
			s.dom_star = 1;
		} else {
			s.dom        = doms[di].dom;
			s.dom_lminus = doms[di].lminus;
			s.dom_w      = doms[di].w;
		}
		if (k == 0)
			s.dow_star = 1;
		else
			s.dow_nth[5] = dows[wi].nth5;
		g.exprs++;
		d.name = "never";
		d.id   = i;
		d.z    = &g.zones[rng_below(&r, REF_NZONES)];
		diff_policies(&r, NULL, 0, &d.gap, &d.rep);
		diff_far_steps(&d, &s, &r);
	}
	diff_case_end("never", &t0);
}

/*
 * Windows of a few days around offset changes from the zones' whole
 * history, 1970-2199: other rules, other hours, gaps of 15 minutes to two
 * hours, and zones changing their standard offset.
 */
static void
diff_history(void **state)
{
	ref_rng         r;
	struct timespec t0;
	int             id = 0;

	(void) state;
	diff_case_begin("history", &r, &t0);
	for (int w = 0; w < 120 * g.iter; w++) {
		ref_zone        *z;
		const ref_trans *tr;
		ref_hint         h;
		ref_table        tab;
		int64_t          ws, we;

		do
			z = &g.zones[rng_below(&r, REF_NZONES)];
		while (z->nhist == 0);
		tr = &z->hist[rng_below(&r, z->nhist)];
		/* Half the time, look for an unusual one: not an hour. */
		for (int k = 0; k < 200 && rng_pct(&r, 50); k++) {
			const ref_trans *u = &z->hist[rng_below(&r, z->nhist)];

			if (u->o2 - u->o1 != REF_HOUR
			    && u->o1 - u->o2 != REF_HOUR) {
				tr = u;
				break;
			}
		}
		diff_hint(tr, &h);
		ws = diff_jitter(
		    &r, tr->t - rng_between64(&r, REF_DAY, 3 * REF_DAY));
		we = diff_jitter(
		    &r, tr->t + rng_between64(&r, REF_DAY, 3 * REF_DAY));
		if (ws < 0)
			ws = 0;
		ref_table_build(
		    &tab, z, REF_MIN, ws - 4 * REF_HOUR, we + 4 * REF_HOUR);
		for (int e = 0; e < 4; e++) {
			ref_sched s;

			gen_cron(&r, &s, rng_pct(&r, 20), GEN_ANY, &h);
			g.exprs++;
			for (int k = 0; k < diff_npolicies(tr); k++) {
				diff_run d = { 0 };

				d.name = "history";
				d.id   = id++;
				d.z    = z;
				d.ws   = ws;
				d.we   = we;
				diff_policies(&r, tr, k, &d.gap, &d.rep);
				diff_run_one(&d, &s, &tab, tr->t, &r);
			}
		}
		ref_table_free(&tab);
	}
	diff_case_end("history", &t0);
}

/*
 * Windows at both ends of the supported range, where wall dates fall in
 * 1969 (zones west of UTC) or 2200 (east), and next/prev must run out
 * with CF_ENOENT.
 */
static void
diff_range_edges(void **state)
{
	ref_rng         r;
	struct timespec t0;
	int             id = 0;

	(void) state;
	diff_case_begin("range_edges", &r, &t0);
	for (size_t zi = 0; zi < REF_NZONES; zi++) {
		for (int end = 0; end < 2; end++) {
			ref_table tab;
			int64_t ws = end == 0 ? -1 : REF_MAX_MS - 3 * REF_DAY;
			int64_t we = end == 0 ? 3 * REF_DAY : REF_MAX_MS - 1;

			ref_table_build(&tab, &g.zones[zi], REF_MIN,
			    ws - 4 * REF_HOUR, we + 4 * REF_HOUR);
			for (int e = 0; e < 8 * g.iter; e++) {
				ref_sched s;
				diff_run  d = { 0 };

				gen_cron(
				    &r, &s, rng_pct(&r, 25), GEN_ANY, NULL);
				g.exprs++;
				d.name    = "range_edges";
				d.id      = id++;
				d.z       = &g.zones[zi];
				d.ws      = ws;
				d.we      = we;
				d.edge_lo = end == 0;
				d.edge_hi = end == 1;
				diff_policies(&r, NULL, 0, &d.gap, &d.rep);
				diff_run_one(&d, &s, &tab,
				    end == 0 ? 0 : REF_MAX_MS, &r);
			}
			ref_table_free(&tab);
		}
	}
	diff_case_end("range_edges", &t0);
}

static int
ref_setup(void **state)
{
	const char *seed = getenv("CF_REF_SEED");
	const char *iter = getenv("CF_REF_ITER");

	(void) state;
	g.seed    = seed != NULL && *seed != '\0' ? strtoull(seed, NULL, 0)
	                                          : REF_DEFAULT_SEED;
	g.iter    = iter != NULL && atoi(iter) > 0 ? atoi(iter) : 1;
	g.verbose = getenv("CF_REF_VERBOSE") != NULL;
	print_message("[ reference ] CF_REF_SEED=%" PRIu64 " CF_REF_ITER=%d\n",
	    g.seed, g.iter);
	g.utc = ref_icu_open("UTC");
	for (size_t i = 0; i < REF_NZONES; i++) {
		ref_zone *z = &g.zones[i];
		int32_t   prev;

		z->name = ref_zone_names[i];
		z->cal  = ref_icu_open(z->name);
		/*
		 * The DST changes of 2018-2026, found by sampling hourly
		 * and narrowing down; windows are placed around them.
		 */
		prev = ref_icu_at(z->cal, REF_2018_MS, NULL);
		for (int64_t t = REF_2018_MS + REF_HOUR; t < REF_2027_MS;
		     t += REF_HOUR) {
			int32_t off = ref_icu_at(z->cal, t, NULL);

			if (off != prev && z->ntr < 64) {
				ref_trans *tr = &z->tr[z->ntr++];

				tr->t
				    = ref_icu_bisect(z->cal, t - REF_HOUR, t);
				tr->o1 = prev;
				tr->o2 = off;
			}
			prev = off;
		}
		/*
		 * Every offset change of 1970-2199 (sampled daily, so two
		 * changes within a day would hide each other): the zones'
		 * history has odd ones, such as Kathmandu's 15-minute gap of
		 * 1986 or St. John's two-hour "double daylight" of 1988.
		 */
		prev = ref_icu_at(z->cal, 0, NULL);
		for (int64_t t = REF_DAY; t < REF_MAX_MS; t += REF_DAY) {
			int32_t off = ref_icu_at(z->cal, t, NULL);

			if (off != prev) {
				ref_trans *tr;

				z->hist = realloc(z->hist,
				    (size_t) (z->nhist + 1)
				        * sizeof(*z->hist));
				assert_non_null(z->hist);
				tr    = &z->hist[z->nhist++];
				tr->t = ref_icu_bisect(z->cal, t - REF_DAY, t);
				tr->o1 = prev;
				tr->o2 = off;
			}
			prev = off;
		}
	}
	return 0;
}

static int
ref_teardown(void **state)
{
	(void) state;
	for (size_t i = 0; i < REF_NZONES; i++) {
		ucal_close(g.zones[i].cal);
		free(g.zones[i].hist);
	}
	ucal_close(g.utc);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_known_answers),
		cmocka_unit_test(reference_self_consistency),
		cmocka_unit_test(diff_transitions_5field),
		cmocka_unit_test(diff_transitions_6field),
		cmocka_unit_test(diff_history),
		cmocka_unit_test(diff_random_windows),
		cmocka_unit_test(diff_every),
		cmocka_unit_test(diff_far),
		cmocka_unit_test(diff_day_rules),
		cmocka_unit_test(diff_never),
		cmocka_unit_test(diff_range_edges),
	};

	return cmocka_run_group_tests(tests, ref_setup, ref_teardown);
}
