/*
 * cf_cron.c - parse cron expressions and compute fire times.
 *
 * A schedule compiles into bit masks, one per field, plus the day-of-month
 * and day-of-week extensions (L, W, #). Finding a fire is done in two
 * layers:
 *
 *  - local_next/local_prev search the zone-less ("wall clock") calendar:
 *    the smallest matching wall time at or after a given one. Each step is
 *    a bit scan on a mask, and a month's matching days are one 32-bit mask
 *    built from the weekday of its first day.
 *
 *  - cf_cron_next/cf_cron_prev walk the zone's segments of constant UTC
 *    offset (see cf_tz_int.h). Within a segment wall time and UTC move
 *    together, so its fires are the wall-clock matches inside the
 *    segment's wall range. The DST policy only moves the edges of that
 *    range (a repeated hour at a fall-back) or adds the fires of the wall
 *    times skipped by a spring-forward at the segment's start.
 *
 * Neither layer allocates or locks, and the schedule is never written
 * after cf_cron_parse returns.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_cron_int.h"
#include "cf_time.h"
#include "cf_tz_int.h"

/*
 * UTC offsets stay within -12h..+14h, so a fire (shifted or not) is less
 * than 15 hours away from its wall time.
 */
#define SKIP_MARGIN (15 * 3600 * 1000LL)
#define NONE_HI INT64_MAX
#define NONE_LO INT64_MIN

static inline int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q;
	if (a >= 0) {
		/* The usual case, and an unsigned division is cheaper. */
		return ((int64_t) ((uint64_t) a / (uint64_t) b));
	}
	q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0))) {
		q--;
	}
	return (q);
}

static inline int
ctz64(uint64_t v)
{
	return (__builtin_ctzll(v));
}

static inline int
top64(uint64_t v)
{
	return (63 - __builtin_clzll(v));
}

/*
 * The matching days of a month as bits 1-31, given the weekday of its 1st
 * (0 = Sunday) and its length. A weekday mask is turned into a day mask by
 * rotating it by the weekday of the 1st and repeating it every 7 bits.
 * Called at parse time only, to fill the day bitmap.
 */
static uint64_t
month_days(const cf_cron *c, int wd1, int dim)
{
	uint64_t full = ((1ULL << (dim + 1)) - 1) & ~1ULL;
	uint64_t dm = 0, wm = 0;

	if (c->dom_star && c->dow_star) {
		return (full);
	}
	if (!c->dom_star) {
		dm = c->dom;
		if (!c->dom_plain) {
			for (uint32_t l = c->dom_l; l != 0; l &= l - 1) {
				int day = dim - ctz64(l);
				if (day >= 1) {
					dm |= 1ULL << day;
				}
			}
			if (c->dom_lw) {
				int wl = (wd1 + dim - 1) % 7;
				dm |= 1ULL << (dim - (wl == 6 ? 1 : wl == 0 ? 2 : 0));
			}
			for (uint32_t w = c->dom_w; w != 0; w &= w - 1) {
				int n = ctz64(w), wd, day = n;
				if (n > dim) {
					break;
				}
				wd = (wd1 + n - 1) % 7;
				if (wd == 6) {
					day = (n == 1) ? 3 : n - 1;
				} else if (wd == 0) {
					day = (n == dim) ? n - 2 : n + 1;
				}
				dm |= 1ULL << day;
			}
		}
		dm &= full;
	}
	if (!c->dow_star) {
		uint64_t p = ((c->dow >> wd1) | (c->dow << (7 - wd1))) & 0x7f;
		wm = (p | p << 7 | p << 14 | p << 21 | p << 28) << 1;
		if (!c->dow_plain) {
			for (int w = 0; w < 7; w++) {
				unsigned nth = c->dow_nth[w];
				int      first;
				if (nth == 0) {
					continue;
				}
				first = 1 + (w - wd1 + 7) % 7;
				for (int n = 1; n <= 5; n++) {
					if (nth & (1u << n)) {
						wm |= 1ULL << (first + 7 * (n - 1));
					}
				}
				if (nth & CF__NTH_LAST) {
					wm |= 1ULL << (first + 7 * ((dim - first) / 7));
				}
			}
		}
		wm &= full;
	}
	if (c->dom_star) {
		return (wm);
	}
	if (c->dow_star) {
		return (dm);
	}
	return (dm | wm);
}

/* The first matching day >= day (a day count since the epoch), or NONE_HI. */
static inline int64_t
day_next(const cf_cron *c, int64_t day)
{
	int64_t  i = day - CF__DAY_BASE, w;
	uint64_t t;

	if (i < 0) {
		i = 0;
	}
	if (i >= CF__NDAYS) {
		return (NONE_HI);
	}
	w = i >> 6;
	t = c->days[w] & (~0ULL << (i & 63));
	while (t == 0) {
		if (++w >= CF__DAY_WORDS) {
			return (NONE_HI);
		}
		t = c->days[w];
	}
	return (CF__DAY_BASE + (w << 6) + ctz64(t));
}

/* The last matching day <= day, or NONE_LO. */
static inline int64_t
day_prev(const cf_cron *c, int64_t day)
{
	int64_t  i = day - CF__DAY_BASE, w;
	uint64_t t;

	if (i < 0) {
		return (NONE_LO);
	}
	if (i >= CF__NDAYS) {
		i = CF__NDAYS - 1;
	}
	w = i >> 6;
	t = c->days[w] & (~0ULL >> (63 - (i & 63)));
	while (t == 0) {
		if (--w < 0) {
			return (NONE_LO);
		}
		t = c->days[w];
	}
	return (CF__DAY_BASE + (w << 6) + top64(t));
}

/* Index of the first tod >= r (ntod if none). */
static inline int
tod_lower(const cf_cron *c, int r)
{
	int lo = 0, hi = c->ntod;
	while (lo < hi) {
		int mid = (lo + hi) >> 1;
		if (c->tod[mid] < r) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return (lo);
}

/*
 * The smallest matching wall time >= from (ms), or NONE_HI. Days come from
 * the day bitmap; within a day, either the sorted times-of-day list or a
 * walk over the hour, minute and second masks where each level either
 * fits or carries into the one above.
 */
static int64_t
local_next(const cf_cron *c, int64_t from)
{
	int64_t  s    = floor_div(from + 999, 1000);
	int64_t  days = floor_div(s, 86400);
	int      rem  = (int) (s - days * 86400);
	int64_t  d;
	int      h, mi, se, k;
	uint64_t t;

	if ((d = day_next(c, days)) == NONE_HI) {
		return (NONE_HI);
	}
	if (d != days) {
		rem = 0;
	}
	if (c->ntod != 0) {
		if ((k = tod_lower(c, rem)) == c->ntod) {
			if ((d = day_next(c, d + 1)) == NONE_HI) {
				return (NONE_HI);
			}
			k = 0;
		}
		return ((d * 86400 + c->tod[k]) * 1000);
	}
	h  = rem / 3600;
	mi = (rem - h * 3600) / 60;
	se = rem - h * 3600 - mi * 60;
hour:
	if ((t = (uint64_t) c->hour >> h) == 0) {
		if ((d = day_next(c, d + 1)) == NONE_HI) {
			return (NONE_HI);
		}
		h = mi = se = 0;
		goto hour;
	}
	if (!(t & 1)) {
		h += ctz64(t);
		mi = se = 0;
	}
minute:
	if ((t = c->min >> mi) == 0) {
		h++;
		mi = se = 0;
		goto hour;
	}
	if (!(t & 1)) {
		mi += ctz64(t);
		se = 0;
	}
	if ((t = c->sec >> se) == 0) {
		mi++;
		se = 0;
		goto minute;
	}
	se += ctz64(t);
	return ((d * 86400 + h * 3600 + mi * 60 + se) * 1000);
}

/* The largest matching wall time <= from (ms), or NONE_LO. */
static int64_t
local_prev(const cf_cron *c, int64_t from)
{
	int64_t  s    = floor_div(from, 1000);
	int64_t  days = floor_div(s, 86400);
	int      rem  = (int) (s - days * 86400);
	int64_t  d;
	int      h, mi, se, k;
	uint64_t t;

	if ((d = day_prev(c, days)) == NONE_LO) {
		return (NONE_LO);
	}
	if (d != days) {
		rem = 86399;
	}
	if (c->ntod != 0) {
		if ((k = tod_lower(c, rem + 1)) == 0) {
			if ((d = day_prev(c, d - 1)) == NONE_LO) {
				return (NONE_LO);
			}
			k = c->ntod;
		}
		return ((d * 86400 + c->tod[k - 1]) * 1000);
	}
	h  = rem / 3600;
	mi = (rem - h * 3600) / 60;
	se = rem - h * 3600 - mi * 60;
hour:
	if (h < 0 || (t = c->hour & ((2ULL << h) - 1)) == 0) {
		if ((d = day_prev(c, d - 1)) == NONE_LO) {
			return (NONE_LO);
		}
		h  = 23;
		mi = se = 59;
		goto hour;
	}
	if (!(t >> h & 1)) {
		h  = top64(t);
		mi = se = 59;
	}
minute:
	if (mi < 0 || (t = c->min & ((2ULL << mi) - 1)) == 0) {
		h--;
		mi = se = 59;
		goto hour;
	}
	if (!(t >> mi & 1)) {
		mi = top64(t);
		se = 59;
	}
	if (se < 0 || (t = c->sec & ((2ULL << se) - 1)) == 0) {
		mi--;
		se = 59;
		goto minute;
	}
	se = top64(t);
	return ((d * 86400 + h * 3600 + mi * 60 + se) * 1000);
}

/*
 * A one-entry memo for local_next within one call: after L = local_next(q)
 * nothing matches in [q, L), so any later query in that span answers L.
 * This keeps sparse schedules (yearly, leap days) from searching the same
 * months again for every DST segment they cross.
 */
typedef struct {
	int64_t q, l;
} memo;

static int64_t
memo_next(const cf_cron *c, memo *m, int64_t q)
{
	if (q >= m->q && q <= m->l) {
		return (m->l);
	}
	m->q = q;
	m->l = local_next(c, q);
	return (m->l);
}

static int64_t
memo_prev(const cf_cron *c, memo *m, int64_t q)
{
	if (q <= m->q && q >= m->l) {
		return (m->l);
	}
	m->q = q;
	m->l = local_prev(c, q);
	return (m->l);
}

/* Flags of a normal fire at wall time l in segment i (offsets in ms). */
static unsigned
repeat_flags(const cf_cron *c, int64_t l, int64_t s0, int64_t s1, int64_t o,
    int64_t oprev, int64_t onext)
{
	unsigned dbl = (c->repeat == CF_DST_REPEAT_BOTH) ? CF_FIRE_DST_DOUBLED
	                                                 : 0;
	if (oprev > o && l < s0 + oprev) {
		return (CF_FIRE_DST_REPEATED | CF_FIRE_DST_SECOND | dbl);
	}
	if (onext < o && s1 != NONE_HI && l >= s1 + onext) {
		return (CF_FIRE_DST_REPEATED | dbl);
	}
	return (0);
}

int
cf_cron_next(
    const cf_cron *c, int64_t after_ms, int64_t *fire_ms, unsigned *flags)
{
	const cf_tz *tz = c->tz;
	int64_t      lo, best = NONE_HI;
	unsigned     bflags = 0;
	memo         m      = { 1, 0 };

	if (after_ms >= CF_TZ_MAX_MS) {
		return (CF_ENOENT);
	}
	lo = (after_ms < CF_TZ_MIN_MS) ? CF_TZ_MIN_MS : after_ms + 1;
	if (c->every != 0) {
		best = floor_div(lo + c->every - 1, c->every) * c->every;
		goto done;
	}
	/*
	 * The common case: lo is past the wall times its segment shares with
	 * the previous one (a gap's shifted fires, a repeated hour's second
	 * pass) and the next match comes before the end's repeated hour. Then
	 * the first wall-clock match is the answer and no policy applies.
	 */
	{
		int     i = cf__tz_segment(tz, lo);
		int64_t o = tz->off[i] * 1000LL;
		if (lo >= tz->safe_lo[i]) {
			int64_t l = local_next(c, lo + o);
			if (l != NONE_HI && l - o < tz->safe_hi[i]) {
				best = l - o;
				goto done;
			}
			m.q = lo + o;
			m.l = l;
		}
	}
	for (int i = cf__tz_segment(tz, lo); i <= tz->n; i++) {
		int64_t s0    = cf__tz_seg_start(tz, i);
		int64_t s1    = cf__tz_seg_end(tz, i);
		int64_t o     = tz->off[i] * 1000LL;
		int64_t oprev = (i > 0) ? tz->off[i - 1] * 1000LL : o;
		int64_t onext = (i < tz->n) ? tz->off[i + 1] * 1000LL : o;
		int64_t a     = (lo > s0) ? lo : s0;
		int64_t llo, lhi, l;

		if (s0 >= best || s0 >= CF_TZ_MAX_MS) {
			break;
		}
		/* Wall times of this segment, minus the excluded repeats. */
		llo = a + o;
		lhi = (s1 == NONE_HI) ? NONE_HI : s1 + o;
		if (oprev > o && c->repeat == CF_DST_REPEAT_FIRST &&
		    llo < s0 + oprev) {
			llo = s0 + oprev;
		}
		if (onext < o && c->repeat == CF_DST_REPEAT_LAST &&
		    s1 != NONE_HI) {
			lhi = s1 + onext;
		}
		if (llo < lhi && (l = memo_next(c, &m, llo)) < lhi &&
		    l - o < best) {
			best   = l - o;
			bflags = repeat_flags(c, l, s0, s1, o, oprev, onext);
		}
		/* Wall times skipped by a spring-forward at s0. */
		if (oprev < o && c->gap != CF_DST_GAP_SKIP) {
			if (c->gap == CF_DST_GAP_SHIFT) {
				int64_t g = (lo > s0 ? lo : s0) + oprev;
				if (g < s0 + o &&
				    (l = memo_next(c, &m, g)) < s0 + o &&
				    l - oprev < best) {
					best   = l - oprev;
					bflags = CF_FIRE_DST_SHIFTED;
				}
			} else if (s0 >= lo && s0 < best &&
			    memo_next(c, &m, s0 + oprev) < s0 + o) {
				best   = s0;
				bflags = CF_FIRE_DST_AT_TRANSITION;
			}
		}
		/*
		 * Nothing yet, and the next wall-clock match is far ahead (a
		 * sparse schedule): jump over the segments before it. A fire
		 * is never more than SKIP_MARGIN before its wall time, and
		 * only the next segment can share wall times with this one.
		 */
		if (best == NONE_HI && m.l >= m.q && m.l != NONE_HI) {
			int j = cf__tz_segment(tz, m.l - SKIP_MARGIN);
			if (j > i + 2) {
				i = j - 1;
			}
		}
	}
done:
	if (best >= CF_TZ_MAX_MS) {
		return (CF_ENOENT);
	}
	*fire_ms = best;
	if (flags != NULL) {
		*flags = bflags;
	}
	return (CF_OK);
}

int
cf_cron_prev(
    const cf_cron *c, int64_t at_ms, int64_t *fire_ms, unsigned *flags)
{
	const cf_tz *tz = c->tz;
	int64_t      hi, best = NONE_LO;
	unsigned     bflags = 0;
	memo         m      = { 0, 1 };

	if (at_ms < CF_TZ_MIN_MS) {
		return (CF_ENOENT);
	}
	hi = (at_ms >= CF_TZ_MAX_MS) ? CF_TZ_MAX_MS - 1 : at_ms;
	if (c->every != 0) {
		best = floor_div(hi, c->every) * c->every;
		goto done;
	}
	/* The mirror of cf_cron_next's common case. */
	{
		int     i = cf__tz_segment(tz, hi);
		int64_t o = tz->off[i] * 1000LL;
		if (hi < tz->safe_hi[i]) {
			int64_t l = local_prev(c, hi + o);
			if (l != NONE_LO && l - o >= tz->safe_lo[i]) {
				best = l - o;
				goto done;
			}
			m.q = hi + o;
			m.l = l;
		}
	}
	for (int i = cf__tz_segment(tz, hi); i >= 0; i--) {
		int64_t s0    = cf__tz_seg_start(tz, i);
		int64_t s1    = cf__tz_seg_end(tz, i);
		int64_t o     = tz->off[i] * 1000LL;
		int64_t oprev = (i > 0) ? tz->off[i - 1] * 1000LL : o;
		int64_t onext = (i < tz->n) ? tz->off[i + 1] * 1000LL : o;
		int64_t b     = (s1 != NONE_HI && hi >= s1) ? s1 - 1 : hi;
		int64_t gap   = (oprev < o) ? o - oprev : 0;
		int64_t llo, lhi, l;

		/* Shifted fires may reach gap past s0; nothing else past s1. */
		if (s1 != NONE_HI && s1 <= best && s0 + gap <= best) {
			break;
		}
		llo = (i == 0) ? NONE_LO : s0 + o;
		lhi = b + o;
		if (oprev > o && c->repeat == CF_DST_REPEAT_FIRST &&
		    llo < s0 + oprev) {
			llo = s0 + oprev;
		}
		if (onext < o && c->repeat == CF_DST_REPEAT_LAST &&
		    s1 != NONE_HI && lhi >= s1 + onext) {
			lhi = s1 + onext - 1;
		}
		if (llo <= lhi && (l = memo_prev(c, &m, lhi)) >= llo &&
		    l != NONE_LO && l - o > best) {
			best   = l - o;
			bflags = repeat_flags(c, l, s0, s1, o, oprev, onext);
		}
		if (gap != 0 && c->gap != CF_DST_GAP_SKIP) {
			if (c->gap == CF_DST_GAP_SHIFT) {
				int64_t g = hi + oprev;
				if (g > s0 + o - 1) {
					g = s0 + o - 1;
				}
				if (g >= s0 + oprev &&
				    (l = memo_prev(c, &m, g)) >= s0 + oprev &&
				    l != NONE_LO && l - oprev > best) {
					best   = l - oprev;
					bflags = CF_FIRE_DST_SHIFTED;
				}
			} else if (s0 <= hi && s0 > best &&
			    (l = memo_prev(c, &m, s0 + o - 1)) >= s0 + oprev &&
			    l != NONE_LO) {
				best   = s0;
				bflags = CF_FIRE_DST_AT_TRANSITION;
			}
		}
		if (best >= s0) {
			break;
		}
		/* The mirror of cf_cron_next's jump. */
		if (best == NONE_LO && m.l <= m.q && m.l != NONE_LO) {
			int j = cf__tz_segment(tz, m.l + SKIP_MARGIN);
			if (j < i - 2) {
				i = j + 1;
			}
		}
	}
done:
	if (best < CF_TZ_MIN_MS) {
		return (CF_ENOENT);
	}
	*fire_ms = best;
	if (flags != NULL) {
		*flags = bflags;
	}
	return (CF_OK);
}

/* ---- parsing ---------------------------------------------------------- */

typedef struct {
	const char *name; /* for messages */
	int         min, max;
	const char *const *names; /* 3-letter names from min, or NULL */
	const char *       hint;  /* what is allowed, for messages */
} field_desc;

static const char *const mon_names[] = { "JAN", "FEB", "MAR", "APR", "MAY",
	"JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const dow_names[] = { "SUN", "MON", "TUE", "WED", "THU",
	"FRI", "SAT", NULL };

static const field_desc fields[CF__NFIELDS] = {
	[CF__F_SEC]  = { "second", 0, 59, NULL, "0-59" },
	[CF__F_MIN]  = { "minute", 0, 59, NULL, "0-59" },
	[CF__F_HOUR] = { "hour", 0, 23, NULL, "0-23" },
	[CF__F_DOM]  = { "day-of-month", 1, 31, NULL, "1-31, L, L-n, LW, nW, ?" },
	[CF__F_MON]  = { "month", 1, 12, mon_names, "1-12 or JAN-DEC" },
	[CF__F_DOW]  = { "day-of-week", 0, 7, dow_names,
	     "0-7 or SUN-SAT, DAY#n, DAY#L, ?" },
};

typedef struct {
	char * err;
	size_t errlen;
} perr;

static int
fail(perr *pe, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (pe->err != NULL && pe->errlen > 0) {
		vsnprintf(pe->err, pe->errlen, fmt, ap);
		/* Quoted input may hold tabs or newlines: keep one line. */
		for (char *p = pe->err; *p != '\0'; p++) {
			if (isspace((unsigned char) *p)) {
				*p = ' ';
			}
		}
	}
	va_end(ap);
	return (CF_EINVAL);
}

/*
 * Reads a number or (where the field has them) a name from s[0..n).
 * Range checks are the caller's, so that messages can quote the text.
 */
static int
read_value(const field_desc *f, const char *s, size_t n, int *out, perr *pe)
{
	if (n == 0) {
		return (fail(pe, "%s: missing value", f->name));
	}
	if (isdigit((unsigned char) s[0])) {
		long v = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char) s[i])) {
				return (fail(pe, "%s: '%.*s' is not a number",
				    f->name, (int) n, s));
			}
			if (v < 100000) {
				v = v * 10 + (s[i] - '0');
			}
		}
		if (v < f->min || v > f->max) {
			return (fail(pe, "%s: %.*s is out of range %d-%d",
			    f->name, (int) n, s, f->min, f->max));
		}
		*out = (int) v;
		return (CF_OK);
	}
	if (f->names != NULL && n == 3) {
		for (int i = 0; f->names[i] != NULL; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->min + i;
				return (CF_OK);
			}
		}
	}
	if (f->names != NULL) {
		return (fail(pe, "%s: unknown name '%.*s' (allowed: %s)",
		    f->name, (int) n, s, f->hint));
	}
	return (fail(pe, "%s: '%.*s' is not a number (allowed: %s)", f->name,
	    (int) n, s, f->hint));
}

static int
read_step(const field_desc *f, const char *s, size_t n, int *out, perr *pe)
{
	long v = 0;
	if (n == 0) {
		return (fail(pe, "%s: missing step after '/'", f->name));
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char) s[i])) {
			return (fail(pe, "%s: step '%.*s' is not a number",
			    f->name, (int) n, s));
		}
		if (v < 100000) {
			v = v * 10 + (s[i] - '0');
		}
	}
	if (v == 0) {
		return (fail(pe, "%s: step 0 is not allowed (use 1 or more)",
		    f->name));
	}
	*out = (int) v;
	return (CF_OK);
}

/* Parses the day-of-month extensions L, L-n, LW and nW of one item. */
static int
parse_dom_special(cf_cron *c, const char *s, size_t n, int *done, perr *pe)
{
	const field_desc *f = &fields[CF__F_DOM];

	*done = 1;
	if (n >= 1 && (s[0] == 'L' || s[0] == 'l')) {
		if (n == 1) {
			c->dom_l |= 1u;
			return (CF_OK);
		}
		if (n == 2 && (s[1] == 'W' || s[1] == 'w')) {
			c->dom_lw = 1;
			return (CF_OK);
		}
		if (s[1] == '-') {
			long v = 0;
			if (n == 2) {
				return (fail(pe, "%s: missing offset after 'L-'",
				    f->name));
			}
			for (size_t i = 2; i < n; i++) {
				if (!isdigit((unsigned char) s[i])) {
					return (fail(pe,
					    "%s: 'L-%.*s' needs a number 0-30",
					    f->name, (int) (n - 2), s + 2));
				}
				if (v < 1000) {
					v = v * 10 + (s[i] - '0');
				}
			}
			if (v > 30) {
				return (fail(pe,
				    "%s: L-%.*s is out of range L-0 to L-30",
				    f->name, (int) (n - 2), s + 2));
			}
			c->dom_l |= 1u << v;
			return (CF_OK);
		}
		return (fail(pe, "%s: unknown value '%.*s' (allowed: %s)",
		    f->name, (int) n, s, f->hint));
	}
	if (n >= 2 && (s[n - 1] == 'W' || s[n - 1] == 'w') &&
	    isdigit((unsigned char) s[0])) {
		int v, rv;
		if ((rv = read_value(f, s, n - 1, &v, pe)) != CF_OK) {
			return (rv);
		}
		c->dom_w |= 1u << v;
		return (CF_OK);
	}
	*done = 0;
	return (CF_OK);
}

/* Parses "DAY#n" / "DAY#L" of one day-of-week item. */
static int
parse_dow_nth(cf_cron *c, const char *s, size_t n, int *done, perr *pe)
{
	const field_desc *f    = &fields[CF__F_DOW];
	const char *      hash = memchr(s, '#', n);
	size_t            k, r;
	int               w, rv;

	*done = 0;
	if (hash == NULL) {
		return (CF_OK);
	}
	*done = 1;
	k     = (size_t) (hash - s);
	r     = n - k - 1;
	if ((rv = read_value(f, s, k, &w, pe)) != CF_OK) {
		return (rv);
	}
	w %= 7;
	if (r == 1 && (hash[1] == 'L' || hash[1] == 'l')) {
		c->dow_nth[w] |= CF__NTH_LAST;
		return (CF_OK);
	}
	if (r == 1 && hash[1] >= '1' && hash[1] <= '5') {
		c->dow_nth[w] |= (uint8_t) (1u << (hash[1] - '0'));
		return (CF_OK);
	}
	return (fail(pe, "%s: #%.*s is out of range (allowed: #1-#5 or #L)",
	    f->name, (int) r, hash + 1));
}

/*
 * Parses one field into a bit mask (bit v for value v). Items are
 * separated by commas; each is "*", "?", a value, a range, or one of those
 * with "/step"; the day fields also take their extensions.
 */
static int
parse_field(cf_cron *c, int fi, const char *text, uint64_t *mask, perr *pe)
{
	const field_desc *f = &fields[fi];
	const char *      p = text;
	int               rv;

	*mask = 0;
	if (*text == '\0') {
		return (fail(pe, "%s: empty field", f->name));
	}
	for (;;) {
		const char *end   = strchr(p, ',');
		size_t      n     = end ? (size_t) (end - p) : strlen(p);
		const char *slash = memchr(p, '/', n);
		size_t      rn    = slash ? (size_t) (slash - p) : n;
		int         lo, hi, step = 1, done = 0;

		if (n == 0) {
			return (fail(pe, "%s: empty item in list '%s'",
			    f->name, text));
		}
		if (fi == CF__F_DOM && slash == NULL) {
			if ((rv = parse_dom_special(c, p, n, &done, pe)) != 0) {
				return (rv);
			}
		} else if (fi == CF__F_DOW && slash == NULL) {
			if ((rv = parse_dow_nth(c, p, n, &done, pe)) != 0) {
				return (rv);
			}
		}
		if (done) {
			goto next;
		}
		if (slash != NULL &&
		    (rv = read_step(f, slash + 1, n - rn - 1, &step, pe)) != 0) {
			return (rv);
		}
		if (rn == 1 && (p[0] == '*' || p[0] == '?')) {
			if (p[0] == '?' && fi != CF__F_DOM && fi != CF__F_DOW) {
				return (fail(pe,
				    "%s: '?' is only allowed in day-of-month "
				    "and day-of-week",
				    f->name));
			}
			lo = f->min;
			hi = f->max;
		} else {
			const char *dash = memchr(p, '-', rn);
			if (dash != NULL) {
				size_t k = (size_t) (dash - p);
				if ((rv = read_value(f, p, k, &lo, pe)) != 0 ||
				    (rv = read_value(f, dash + 1, rn - k - 1,
				         &hi, pe)) != 0) {
					return (rv);
				}
				if (hi < lo) {
					return (fail(pe,
					    "%s: range %.*s is reversed (the "
					    "start must not be after the end)",
					    f->name, (int) rn, p));
				}
			} else {
				if ((rv = read_value(f, p, rn, &lo, pe)) != 0) {
					return (rv);
				}
				/*
				 * "a/n" runs from a to the field's end; for
				 * weekdays that is 7, Sunday again.
				 */
				hi = (slash == NULL) ? lo : f->max;
			}
		}
		for (int v = lo; v <= hi; v += step) {
			*mask |= 1ULL << v;
		}
	next:
		if (end == NULL) {
			break;
		}
		p = end + 1;
	}
	return (CF_OK);
}

static int
parse_every(cf_cron *c, const char *s, perr *pe)
{
	int64_t total = 0;
	int     parts = 0;

	while (isspace((unsigned char) *s)) {
		s++;
	}
	if (*s == '\0') {
		return (fail(pe, "@every: missing duration (e.g. 90s, 15m, "
		                 "2h, 1h30m)"));
	}
	const char *start = s;
	while (*s != '\0' && !isspace((unsigned char) *s)) {
		int64_t v = 0, unit;
		if (!isdigit((unsigned char) *s)) {
			return (fail(pe,
			    "@every: '%s' is not a duration (use e.g. 90s, "
			    "15m, 2h, 1h30m; units ms, s, m, h, d)",
			    start));
		}
		while (isdigit((unsigned char) *s)) {
			if (v < 100000000000LL) {
				v = v * 10 + (*s - '0');
			}
			s++;
		}
		if (s[0] == 'm' && s[1] == 's') {
			unit = 1;
			s += 2;
		} else if (*s == 's') {
			unit = CF_MS_PER_SEC;
			s++;
		} else if (*s == 'm') {
			unit = CF_MS_PER_MIN;
			s++;
		} else if (*s == 'h') {
			unit = CF_MS_PER_HOUR;
			s++;
		} else if (*s == 'd') {
			unit = CF_MS_PER_DAY;
			s++;
		} else {
			return (fail(pe,
			    "@every: '%s' is not a duration (use e.g. 90s, "
			    "15m, 2h, 1h30m; units ms, s, m, h, d)",
			    start));
		}
		if (v > CF_TZ_MAX_MS / unit ||
		    (total += v * unit) > CF_TZ_MAX_MS) {
			return (fail(pe, "@every: '%s' is too long", start));
		}
		parts++;
	}
	while (isspace((unsigned char) *s)) {
		s++;
	}
	if (*s != '\0') {
		return (fail(pe, "@every: unexpected '%s' after the duration",
		    s));
	}
	if (total < CF_MS_PER_SEC) {
		return (fail(pe, "@every: '%s' is shorter than the minimum 1s",
		    start));
	}
	c->every = total;
	return (CF_OK);
}

/*
 * Rejects a byte no field can hold (control or non-ASCII), naming the
 * field it is in when the expression has the shape of 5 or 6 fields.
 * The byte is shown in hex: echoing it could break a terminal or a log.
 */
static int
bad_byte(perr *pe, const char *s, size_t len, size_t at)
{
	int n = 0, which = -1, in = 0;
	for (size_t i = 0; i < len; i++) {
		if (isspace((unsigned char) s[i])) {
			in = 0;
		} else if (!in) {
			in = 1;
			n++;
		}
		if (i == at) {
			which = n - 1;
		}
	}
	if (s[0] != '@' && (n == 5 || n == 6) && which >= 0) {
		return (fail(pe, "%s: byte 0x%02x is not allowed (use ASCII)",
		    fields[which + (n == 5)].name, (unsigned char) s[at]));
	}
	return (fail(pe, "expression contains byte 0x%02x, which is not "
	                 "allowed (use ASCII)",
	    (unsigned char) s[at]));
}

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* Splits text into at most 7 whitespace-separated fields. */
static int
split_fields(char *text, char **out, int max)
{
	int   n = 0;
	char *p = text;
	for (;;) {
		while (isspace((unsigned char) *p)) {
			*p++ = '\0';
		}
		if (*p == '\0') {
			return (n);
		}
		if (n < max) {
			out[n] = p;
		}
		n++;
		while (*p != '\0' && !isspace((unsigned char) *p)) {
			p++;
		}
	}
}

/*
 * Marks every matching day from 1969 to 2200. A month's matching days
 * depend only on the weekday of its 1st and its length, so there are 28
 * month masks to compute; the rest is copying bits.
 */
static void
fill_days(cf_cron *c)
{
	uint32_t mask[7][4];
	for (int wd1 = 0; wd1 < 7; wd1++) {
		for (int dim = 28; dim <= 31; dim++) {
			mask[wd1][dim - 28] = (uint32_t) month_days(c, wd1, dim);
		}
	}
	memset(c->days, 0, sizeof(c->days));
	for (int y = CF__YEAR_MIN; y <= CF__YEAR_MAX; y++) {
		for (int mo = 1; mo <= 12; mo++) {
			int64_t  day1 = cf_days_from_civil(y, mo, 1);
			int      wd1  = (int) (((day1 % 7) + 11) % 7);
			int      dim  = cf_days_in_month(y, mo);
			uint32_t m;
			if (!(c->mon & (1u << mo))) {
				continue;
			}
			m = mask[wd1][dim - 28] >> 1; /* bit 0 = the 1st */
			for (; m != 0; m &= m - 1) {
				int64_t i = day1 - CF__DAY_BASE + ctz64(m);
				c->days[i >> 6] |= 1ULL << (i & 63);
			}
		}
	}
}

static int
parse_cron_fields(cf_cron *c, const char *text, perr *pe)
{
	char *   buf = strdup(text);
	char *   f[7];
	int      n, rv = CF_OK, base;
	uint64_t m[CF__NFIELDS];

	if (buf == NULL) {
		return (CF_ENOMEM);
	}
	n = split_fields(buf, f, 7);
	if (n != 5 && n != 6) {
		free(buf);
		return (fail(pe,
		    "expected 5 or 6 fields (optional second, minute, hour, "
		    "day-of-month, month, day-of-week), got %d",
		    n));
	}
	base       = (n == 6) ? 0 : 1;
	c->has_sec = (n == 6);
	m[CF__F_SEC] = 1; /* 5 fields fire at second 0 */
	for (int i = 0; i < n && rv == CF_OK; i++) {
		int fi = base + i;
		rv     = parse_field(c, fi, f[i], &m[fi], pe);
		if (rv == CF_OK &&
		    (c->field[fi] = strdup(f[i])) == NULL) {
			rv = CF_ENOMEM;
		}
	}
	free(buf);
	if (rv != CF_OK) {
		return (rv);
	}
	c->sec  = m[CF__F_SEC];
	c->min  = m[CF__F_MIN];
	c->hour = (uint32_t) m[CF__F_HOUR];
	c->dom  = (uint32_t) m[CF__F_DOM];
	c->mon  = (uint16_t) m[CF__F_MON];
	/* Weekday 7 is Sunday. */
	c->dow = (uint8_t) ((m[CF__F_DOW] | m[CF__F_DOW] >> 7) & 0x7f);

	c->dom_star  = strcmp(c->field[CF__F_DOM], "*") == 0 ||
	    strcmp(c->field[CF__F_DOM], "?") == 0;
	c->dow_star  = strcmp(c->field[CF__F_DOW], "*") == 0 ||
	    strcmp(c->field[CF__F_DOW], "?") == 0;
	c->dom_plain = (c->dom_l == 0 && c->dom_w == 0 && !c->dom_lw);
	c->dow_plain = 1;
	for (int w = 0; w < 7; w++) {
		if (c->dow_nth[w] != 0) {
			c->dow_plain = 0;
		}
	}
	{
		int n = __builtin_popcount(c->hour) * __builtin_popcountll(c->min) *
		    __builtin_popcountll(c->sec);
		if (n <= CF__TOD_MAX) {
			for (int h = 0; h < 24; h++) {
				for (int mi = 0; mi < 60 && (c->hour >> h & 1); mi++) {
					for (int se = 0; se < 60 && (c->min >> mi & 1);
					     se++) {
						if (c->sec >> se & 1) {
							c->tod[c->ntod++] =
							    h * 3600 + mi * 60 + se;
						}
					}
				}
			}
		}
	}
	fill_days(c);
	/*
	 * Vixie cron and cronie treat a day field that starts with "*" as
	 * unrestricted, so "0 0 * /2 * MON" is AND for them and OR here.
	 */
	if (!c->dom_star && !c->dow_star &&
	    (c->field[CF__F_DOM][0] == '*' || c->field[CF__F_DOM][0] == '?' ||
	        c->field[CF__F_DOW][0] == '*' ||
	        c->field[CF__F_DOW][0] == '?')) {
		c->warn_or = 1;
	}
	return (CF_OK);
}

/* A precise message for the common "day that no chosen month has". */
static int
never_fires(cf_cron *c, perr *pe)
{
	static const char *const mname[] = { "", "January", "February",
		"March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December" };
	if (c->dow_star && c->dom_plain && c->dom != 0) {
		int maxdim = 0, lowday = ctz64(c->dom);
		for (int mo = 1; mo <= 12; mo++) {
			if (c->mon & (1u << mo)) {
				int d = cf_days_in_month(2000, mo);
				maxdim = d > maxdim ? d : maxdim;
			}
		}
		if (lowday > maxdim) {
			char   months[128] = "";
			size_t len         = 0;
			for (int mo = 1; mo <= 12; mo++) {
				if (c->mon & (1u << mo)) {
					len += (size_t) snprintf(months + len,
					    sizeof(months) - len, "%s%s",
					    len ? ", " : "", mname[mo]);
				}
			}
			return (fail(pe,
			    "day-of-month: %s never occurs in %s, so the "
			    "schedule never fires",
			    c->field[CF__F_DOM], months));
		}
	}
	if (strcmp(cf_tz_name(c->tz), "UTC") != 0) {
		return (fail(pe,
		    "schedule never fires between 1970 and 2199 in %s",
		    cf_tz_name(c->tz)));
	}
	return (fail(pe, "schedule never fires between 1970 and 2199"));
}

int
cf_cron_parse(cf_cron **out, const char *expr, const cf_cron_opts *opts,
    char *err, size_t errlen)
{
	perr          pe = { err, errlen };
	cf_cron_opts  o  = { NULL, CF_DST_GAP_SHIFT, CF_DST_REPEAT_AUTO };
	cf_cron *     c;
	const char *  s, *body;
	char          zone[128] = "";
	size_t        len;
	int           rv;
	int64_t       probe;

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (opts != NULL) {
		o = *opts;
	}
	if (expr == NULL) {
		return (fail(&pe, "empty expression"));
	}
	if (o.gap > CF_DST_GAP_AT_TRANSITION ||
	    o.repeat > CF_DST_REPEAT_BOTH) {
		return (fail(&pe, "invalid DST policy"));
	}
	for (s = expr; isspace((unsigned char) *s); s++) {
	}
	len = strlen(s);
	while (len > 0 && isspace((unsigned char) s[len - 1])) {
		len--;
	}
	if (len == 0) {
		return (fail(&pe, "empty expression"));
	}
	if (len > 1024) {
		return (fail(&pe, "expression is too long (%zu bytes, at most "
		                  "1024)",
		    len));
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char) s[i];
		if ((ch < 0x20 && !isspace(ch)) || ch >= 0x7f) {
			return (bad_byte(&pe, s, len, i));
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->expr = strndup(s, len)) == NULL) {
		free(c);
		return (CF_ENOMEM);
	}
	body = c->expr;

	/* "CRON_TZ=Zone expr" / "TZ=Zone expr", as robfig/cron accepts. */
	if (strncmp(body, "CRON_TZ=", 8) == 0 || strncmp(body, "TZ=", 3) == 0) {
		const char *z = strchr(body, '=') + 1;
		size_t      zn = 0;
		while (z[zn] != '\0' && !isspace((unsigned char) z[zn])) {
			zn++;
		}
		if (zn == 0 || zn >= sizeof(zone)) {
			rv = fail(&pe, "time zone prefix: missing or too long "
			               "zone name");
			goto fail;
		}
		memcpy(zone, z, zn);
		zone[zn] = '\0';
		o.tz     = zone;
		for (body = z + zn; isspace((unsigned char) *body); body++) {
		}
	}

	if (body[0] == '@') {
		size_t mn = 0;
		while (body[mn] != '\0' && !isspace((unsigned char) body[mn])) {
			mn++;
		}
		if (mn == 6 && strncasecmp(body, "@every", 6) == 0) {
			rv = parse_every(c, body + 6, &pe);
		} else {
			rv = fail(&pe, "unknown macro '%.*s' (allowed: @yearly "
			               "@annually @monthly @weekly @daily "
			               "@midnight @hourly @every)",
			    (int) (mn > 40 ? 40 : mn), body);
			for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]);
			     i++) {
				if (strlen(macros[i].name) == mn &&
				    strncasecmp(body, macros[i].name, mn) == 0) {
					const char *t = body + mn;
					while (isspace((unsigned char) *t)) {
						t++;
					}
					if (*t != '\0') {
						rv = fail(&pe,
						    "%s takes no fields, got "
						    "'%s'",
						    macros[i].name, t);
						break;
					}
					c->macro = macros[i].name;
					rv       = parse_cron_fields(
                                            c, macros[i].expr, &pe);
					break;
				}
			}
		}
	} else {
		rv = parse_cron_fields(c, body, &pe);
	}
	if (rv != CF_OK) {
		goto fail;
	}
	if ((rv = cf_tz_open(&c->tz, o.tz, err, errlen)) != CF_OK) {
		goto fail;
	}
	c->gap    = o.gap;
	c->repeat = o.repeat;
	if (c->repeat == CF_DST_REPEAT_AUTO) {
		/* A schedule over every hour follows real time. */
		c->repeat = (c->every == 0 && c->hour == 0xffffffu)
		    ? CF_DST_REPEAT_BOTH
		    : CF_DST_REPEAT_FIRST;
	}
	if (cf_cron_next(c, CF_TZ_MIN_MS - 1, &probe, NULL) != CF_OK) {
		rv = never_fires(c, &pe);
		goto fail;
	}
	*out = c;
	return (CF_OK);
fail:
	cf_cron_free(c);
	return (rv);
}

void
cf_cron_free(cf_cron *c)
{
	if (c == NULL) {
		return;
	}
	cf_tz_close(c->tz);
	for (int i = 0; i < CF__NFIELDS; i++) {
		free(c->field[i]);
	}
	free(c->expr);
	free(c);
}

const char *
cf_cron_tz_name(const cf_cron *c)
{
	return (cf_tz_name(c->tz));
}

int
cf_cron_utc_offset(const cf_cron *c, int64_t utc_ms)
{
	return (cf_tz_offset(c->tz, utc_ms));
}

const char *
cf_cron_expr(const cf_cron *c)
{
	return (c->expr);
}

int
cf_cron_is_interval(const cf_cron *c)
{
	return (c->every != 0);
}
