/*
 * cf_cron_describe.c - a compiled schedule in plain English.
 *
 * The description is built from the compiled masks, not the text, so
 * "0-59/15", "* /15" and "0,15,30,45" all read "Every 15 minutes". Each
 * mask is classified once (all, one value, an arithmetic run, a list) and
 * the phrases are joined: time of day, then days, then months.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cf_cron_int.h"
#include "cf_time.h"

typedef struct {
	char * buf;
	size_t len;
	size_t need;
} sbuf;

static void
put(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;
	char *  at  = b->need < b->len ? b->buf + b->need : NULL;
	size_t  room = b->need < b->len ? b->len - b->need : 0;

	va_start(ap, fmt);
	n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n > 0) {
		b->need += (size_t) n;
	}
}

/* What a mask over [lo, hi] looks like. */
typedef struct {
	int n;           /* values set */
	int first, last; /* smallest and largest set value */
	int step;        /* common difference if n >= 2 and evenly spaced */
	int all;         /* every value in [lo, hi] */
} shape;

static shape
classify(uint64_t mask, int lo, int hi)
{
	shape s = { 0, -1, -1, 0, 0 };
	int   prev = -1, even = 1;
	for (int v = lo; v <= hi; v++) {
		if (!(mask >> v & 1)) {
			continue;
		}
		if (s.n == 0) {
			s.first = v;
		} else if (s.n == 1) {
			s.step = v - prev;
		} else if (v - prev != s.step) {
			even = 0;
		}
		prev   = v;
		s.last = v;
		s.n++;
	}
	if (!even || s.n < 2) {
		s.step = 0;
	}
	s.all = (s.n == hi - lo + 1);
	return (s);
}

static const char *const mon_full[] = { "", "January", "February", "March",
	"April", "May", "June", "July", "August", "September", "October",
	"November", "December" };
static const char *const dow_full[] = { "Sunday", "Monday", "Tuesday",
	"Wednesday", "Thursday", "Friday", "Saturday" };
static const char *const ordinal[] = { "", "first", "second", "third",
	"fourth", "fifth" };

/* "a", "a and b", "a, b and c" over the set bits, with names or numbers. */
static void
put_list(sbuf *b, uint64_t mask, int lo, int hi, const char *const *names,
    const char *numfmt)
{
	int total = 0, i = 0;
	for (int v = lo; v <= hi; v++) {
		total += (int) (mask >> v & 1);
	}
	for (int v = lo; v <= hi; v++) {
		if (!(mask >> v & 1)) {
			continue;
		}
		if (i > 0) {
			put(b, i == total - 1 ? " and " : ", ");
		}
		if (names != NULL) {
			put(b, "%s", names[v]);
		} else {
			put(b, numfmt, v);
		}
		i++;
	}
}

/*
 * A set of values: "5", "5 through 20", "every 15th value from 5 through
 * 50" is too stiff for people, so runs are said per unit by the caller.
 */
static void
put_set(sbuf *b, uint64_t mask, int lo, int hi, const char *const *names,
    const char *numfmt)
{
	shape s = classify(mask, lo, hi);
	if (s.n >= 3 && s.step == 1) {
		if (names != NULL) {
			put(b, "%s through %s", names[s.first], names[s.last]);
		} else {
			put(b, numfmt, s.first);
			put(b, " through ");
			put(b, numfmt, s.last);
		}
		return;
	}
	put_list(b, mask, lo, hi, names, numfmt);
}

/* "Every 15 minutes" style for a unit; returns 1 if it applied. */
static int
put_every(sbuf *b, uint64_t mask, int lo, int hi, const char *unit, int cap)
{
	shape s = classify(mask, lo, hi);
	if (s.all) {
		put(b, "%s %s", cap ? "Every" : "every", unit);
		return (1);
	}
	/* A step from the start that reaches the end of the range. */
	if (s.n >= 2 && s.step > 1 && s.first == lo &&
	    s.last + s.step > hi) {
		put(b, "%s %d %ss", cap ? "Every" : "every", s.step, unit);
		return (1);
	}
	return (0);
}

static void
put_time_of_day(sbuf *b, const cf_cron *c)
{
	shape sh = classify(c->sec, 0, 59);
	shape mi = classify(c->min, 0, 59);
	shape hr = classify(c->hour, 0, 23);

	/* A handful of exact times: "At 02:30", "At 08:00 and 20:00". */
	if (sh.n == 1 && mi.n == 1 && hr.n <= 4) {
		int i = 0;
		put(b, "At ");
		for (int h = 0; h < 24; h++) {
			if (!(c->hour >> h & 1)) {
				continue;
			}
			if (i > 0) {
				put(b, i == hr.n - 1 ? " and " : ", ");
			}
			put(b, "%02d:%02d", h, mi.first);
			if (sh.first != 0) {
				put(b, ":%02d", sh.first);
			}
			i++;
		}
		return;
	}
	if (c->has_sec && !(sh.n == 1 && sh.first == 0)) {
		if (!put_every(b, c->sec, 0, 59, "second", 1)) {
			put(b, "At second ");
			put_set(b, c->sec, 0, 59, NULL, "%d");
		}
		if (mi.all && hr.all) {
			return;
		}
		put(b, ", ");
		if (!put_every(b, c->min, 0, 59, "minute", 0)) {
			put(b, "at minute ");
			put_set(b, c->min, 0, 59, NULL, "%d");
		}
	} else if (mi.n == 1 && mi.first == 0) {
		put(b, "Every hour");
		if (hr.all) {
			return;
		}
		if (hr.n >= 3 && hr.step > 1 && hr.first == 0 &&
		    hr.last + hr.step > 23) {
			put(b, " (every %d hours)", hr.step);
			return;
		}
		goto hours_from;
	} else if (put_every(b, c->min, 0, 59, "minute", 1)) {
		/* "Every 15 minutes", then the hours below. */
	} else {
		put(b, "At minute%s ", mi.n > 1 ? "s" : "");
		put_set(b, c->min, 0, 59, NULL, "%d");
		if (hr.n >= 3 && hr.step > 1 && hr.first == 0 &&
		    hr.last + hr.step > 23) {
			put(b, ", every %d hours", hr.step);
			return;
		}
		put(b, " past every hour");
		if (hr.all) {
			return;
		}
		goto hours_from;
	}
	if (hr.all) {
		return;
	}
	put(b, ",");
hours_from:
	if (hr.n >= 3 && hr.step == 1) {
		/* The last fire of "0 8-20" is at 20:00, not 20:59. */
		put(b, " from %02d:00 through %02d:%02d", hr.first, hr.last,
		    (mi.n == 1 && sh.n == 1) ? mi.first : 59);
	} else {
		put(b, " during hour%s ", hr.n > 1 ? "s" : "");
		put_list(b, c->hour, 0, 23, NULL, "%02d");
	}
}

static void
put_dom(sbuf *b, const cf_cron *c)
{
	int parts = 0;
	if (c->dom != 0) {
		shape s = classify(c->dom, 1, 31);
		if (s.n >= 3 && s.step > 1) {
			put(b, "on every %d%s day of the month from day %d "
			       "through %d",
			    s.step, s.step == 2 ? "nd" : s.step == 3 ? "rd" : "th",
			    s.first, s.last);
		} else {
			put(b, "on day%s ", s.n > 1 ? "s" : "");
			put_set(b, c->dom, 1, 31, NULL, "%d");
			put(b, " of the month");
		}
		parts++;
	}
	for (int n = 0; n <= 30; n++) {
		if (!(c->dom_l >> n & 1)) {
			continue;
		}
		put(b, "%s", parts++ ? " and " : "");
		if (n == 0) {
			put(b, "on the last day of the month");
		} else {
			put(b, "%d day%s before the last day of the month", n,
			    n > 1 ? "s" : "");
		}
	}
	if (c->dom_lw) {
		put(b, "%son the last weekday of the month", parts++ ? " and " : "");
	}
	for (int n = 1; n <= 31; n++) {
		if (c->dom_w >> n & 1) {
			put(b, "%son the weekday nearest day %d of the month",
			    parts++ ? " and " : "", n);
		}
	}
}

static void
put_dow(sbuf *b, const cf_cron *c)
{
	int parts = 0;
	if (c->dow != 0) {
		put(b, "on ");
		put_set(b, c->dow, 0, 6, dow_full, NULL);
		parts++;
	}
	for (int w = 0; w < 7; w++) {
		for (int n = 1; n <= 6; n++) {
			unsigned bit = (n == 6) ? CF__NTH_LAST : 1u << n;
			if (!(c->dow_nth[w] & bit)) {
				continue;
			}
			put(b, "%son the %s %s of the month",
			    parts++ ? " and " : "",
			    n == 6 ? "last" : ordinal[n], dow_full[w]);
		}
	}
}

int
cf_cron_describe(const cf_cron *c, char *buf, size_t len)
{
	sbuf b = { buf, len, 0 };

	if (len > 0) {
		buf[0] = '\0';
	}
	if (c->every != 0) {
		static const struct {
			int64_t     ms;
			const char *unit;
		} units[] = { { CF_MS_PER_DAY, "day" }, { CF_MS_PER_HOUR, "hour" },
			{ CF_MS_PER_MIN, "minute" }, { CF_MS_PER_SEC, "second" },
			{ 1, "millisecond" } };
		int64_t rest = c->every;
		put(&b, "Every");
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			int64_t n = rest / units[i].ms;
			if (n == 0) {
				continue;
			}
			rest -= n * units[i].ms;
			put(&b, " %lld %s%s", (long long) n, units[i].unit,
			    n > 1 ? "s" : "");
		}
		put(&b, ", counted from 1970-01-01 00:00 UTC");
		return ((int) b.need);
	}
	put_time_of_day(&b, c);
	if (c->dom_star && c->dow_star) {
		if (classify(c->hour, 0, 23).n <= 4 &&
		    classify(c->min, 0, 59).n == 1) {
			put(&b, " every day");
		}
	} else {
		put(&b, " ");
		if (!c->dom_star) {
			put_dom(&b, c);
		}
		if (!c->dom_star && !c->dow_star) {
			put(&b, " or ");
		}
		if (!c->dow_star) {
			put_dow(&b, c);
		}
	}
	if (!classify(c->mon, 1, 12).all) {
		put(&b, " in ");
		put_set(&b, c->mon, 1, 12, mon_full, NULL);
	}
	return ((int) b.need);
}

int
cf_cron_warning(const cf_cron *c, char *buf, size_t len)
{
	if (!c->warn_or) {
		if (len > 0) {
			buf[0] = '\0';
		}
		return (0);
	}
	return (snprintf(buf, len,
	    "day-of-month '%s' and day-of-week '%s' are both restricted, so "
	    "a day matches if either matches (POSIX); Vixie cron and "
	    "cronie read a day field starting with '*' as unrestricted and "
	    "fire only on days matching both",
	    c->field[CF__F_DOM], c->field[CF__F_DOW]));
}
