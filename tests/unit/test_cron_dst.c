/*
 * test_cron_dst.c - cron schedules across UTC offset changes: the gap and
 * repeat policies, prev() mirroring next(), @every staying on UTC, zone
 * names and offsets.
 *
 * Every expected instant below was derived by hand from the tz database
 * (zdump -v, checked against ICU's own transition table), never from the
 * engine's output. The transitions used:
 *
 *   Europe/Berlin        2025-03-30T01:00Z  +01:00 -> +02:00 (02:00 -> 03:00)
 *                        2025-10-26T01:00Z  +02:00 -> +01:00 (03:00 -> 02:00)
 *   America/New_York     2025-03-09T07:00Z  -05:00 -> -04:00 (02:00 -> 03:00)
 *                        2025-11-02T06:00Z  -04:00 -> -05:00 (02:00 -> 01:00)
 *   Australia/Lord_Howe  2025-04-05T15:00Z  +11:00 -> +10:30 (02:00 -> 01:30)
 *                        2025-10-04T15:30Z  +10:30 -> +11:00 (02:00 -> 02:30)
 *   America/Sao_Paulo    2018-11-04T03:00Z  -03:00 -> -02:00 (00:00 -> 01:00)
 *                        2019-02-17T02:00Z  -02:00 -> -03:00 (00:00 -> 23:00)
 *   Asia/Amman           2014-03-27T22:00Z  +02:00 -> +03:00 (00:00 -> 01:00)
 *                        2014-10-30T22:00Z  +03:00 -> +02:00 (01:00 -> 00:00)
 *                        2021-03-25T22:00Z  +02:00 -> +03:00 (00:00 -> 01:00)
 *                        2021-10-28T22:00Z  +03:00 -> +02:00 (01:00 -> 00:00)
 *   Asia/Kathmandu       1985-12-31T18:30Z  +05:30 -> +05:45 (00:00 -> 00:15)
 *   Asia/Kolkata         +05:30, no change since 1970
 *   Pacific/Apia         2011-12-30T10:00Z  -10:00 -> +14:00 (all of
 *                        2011-12-30 skipped: 2011-12-29T23:59:59 is
 *                        followed by 2011-12-31T00:00:00)
 *
 * The contract: a wall time W in a gap (offset o1 -> o2 > o1) fires at
 * W - o1 flagged SHIFTED (default), not at all (SKIP), or at the
 * transition flagged AT_TRANSITION; a wall time repeated in a fall-back
 * (o1 -> o2 < o1) fires at W - o1 (FIRST), W - o2 (LAST) or both, AUTO
 * meaning BOTH when the hour field matches all 24 hours and FIRST
 * otherwise; fires landing on one instant are one fire, with the flags of
 * the normal fire if there is one.
 *
 * Three layers: seq_cases, hand-written fire lists for each rule and zone;
 * the sweeps, which apply the contract literally, minute by minute, to
 * 28 hours around each transition (offsets written out from zdump) for
 * simple schedules under all twelve policy pairs; and year-long chains of
 * next() that must climb strictly. Each fire found is also checked from
 * the other side with prev().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_cron.h"
#include "cf_err.h"
#include "cf_time.h"

/* Short names keep the case tables inside 79 columns. */
#define G_SHIFT CF_DST_GAP_SHIFT
#define G_SKIP CF_DST_GAP_SKIP
#define G_AT CF_DST_GAP_AT_TRANSITION
#define R_AUTO CF_DST_REPEAT_AUTO
#define R_FIRST CF_DST_REPEAT_FIRST
#define R_LAST CF_DST_REPEAT_LAST
#define R_BOTH CF_DST_REPEAT_BOTH

#define SH CF_FIRE_DST_SHIFTED
#define AT CF_FIRE_DST_AT_TRANSITION
#define RP CF_FIRE_DST_REPEATED
#define R2 (CF_FIRE_DST_REPEATED | CF_FIRE_DST_SECOND)
#define RD (CF_FIRE_DST_REPEATED | CF_FIRE_DST_DOUBLED)
#define R2D (CF_FIRE_DST_REPEATED | CF_FIRE_DST_SECOND | CF_FIRE_DST_DOUBLED)

#define BERLIN "Europe/Berlin"
#define NEWYORK "America/New_York"
#define LORDHOWE "Australia/Lord_Howe"
#define SAOPAULO "America/Sao_Paulo"
#define AMMAN "Asia/Amman"
#define KOLKATA "Asia/Kolkata"
#define KATHMANDU "Asia/Kathmandu"
#define APIA "Pacific/Apia"

#define MAX_FIRES 8

struct fire {
	const char *at; /* RFC 3339 with the zone's offset at that instant */
	unsigned    flags; /* CF_FIRE_* */
};

/*
 * One schedule, one starting instant and the fires next() must return
 * from there, in order (the list ends at the first NULL).
 */
struct seq_case {
	const char   *name;
	const char   *expr;
	const char   *tz;
	cf_dst_gap    gap;
	cf_dst_repeat repeat;
	const char   *from;
	struct fire   want[MAX_FIRES];
};

static struct seq_case seq_cases[] = {
	/*
	 * Europe/Berlin, spring forward: wall times 02:00-02:59 do not exist
	 * on 2025-03-30, o1 = +01:00, T = 01:00Z = 03:00+02:00.
	 */
	{ "berlin_gap_shift", "30 2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:30:00+01:00", 0 },
	        { "2025-03-30T03:30:00+02:00", SH },
	        { "2025-03-31T02:30:00+02:00", 0 } } },
	{ "berlin_gap_skip", "30 2 * * *", BERLIN, G_SKIP, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:30:00+01:00", 0 },
	        { "2025-03-31T02:30:00+02:00", 0 } } },
	{ "berlin_gap_at_transition", "30 2 * * *", BERLIN, G_AT, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:30:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", AT },
	        { "2025-03-31T02:30:00+02:00", 0 } } },
	{ "berlin_gap_top_of_hour_shift", "0 2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:00:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", SH },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
	{ "berlin_gap_top_of_hour_at", "0 2 * * *", BERLIN, G_AT, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:00:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", AT },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
	{ "berlin_gap_top_of_hour_skip", "0 2 * * *", BERLIN, G_SKIP, R_AUTO,
	    "2025-03-29T00:00:00+01:00",
	    { { "2025-03-29T02:00:00+01:00", 0 },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
	/* The shifted 02:00 lands on the normal 03:00: one fire, flags 0. */
	{ "berlin_gap_two_hours_shift", "0 2,3 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T12:00:00+01:00",
	    { { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-31T02:00:00+02:00", 0 },
	        { "2025-03-31T03:00:00+02:00", 0 } } },
	{ "berlin_gap_two_hours_at", "0 2,3 * * *", BERLIN, G_AT, R_AUTO,
	    "2025-03-29T12:00:00+01:00",
	    { { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
	{ "berlin_gap_two_hours_skip", "0 2,3 * * *", BERLIN, G_SKIP, R_AUTO,
	    "2025-03-29T12:00:00+01:00",
	    { { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
	/* Every 30 real minutes, 01:30 then 03:00, nothing twice. */
	{ "berlin_gap_half_hourly_shift", "*/30 * * * *", BERLIN, G_SHIFT,
	    R_AUTO, "2025-03-30T00:45:00+01:00",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-30T01:30:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-30T03:30:00+02:00", 0 },
	        { "2025-03-30T04:00:00+02:00", 0 } } },
	{ "berlin_gap_half_hourly_at", "*/30 * * * *", BERLIN, G_AT, R_AUTO,
	    "2025-03-30T00:45:00+01:00",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-30T01:30:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-30T03:30:00+02:00", 0 } } },
	{ "berlin_gap_half_hourly_skip", "*/30 * * * *", BERLIN, G_SKIP,
	    R_AUTO, "2025-03-30T00:45:00+01:00",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-30T01:30:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-30T03:30:00+02:00", 0 } } },
	{ "berlin_gap_hourly", "0 * * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-30T00:30:00+01:00",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-30T04:00:00+02:00", 0 } } },
	/* 02:15 shifts onto the normal 03:15 but goes to 03:00 at T. */
	{ "berlin_gap_quarter_past_shift", "15 * * * *", BERLIN, G_SHIFT,
	    R_AUTO, "2025-03-30T01:00:00+01:00",
	    { { "2025-03-30T01:15:00+01:00", 0 },
	        { "2025-03-30T03:15:00+02:00", 0 },
	        { "2025-03-30T04:15:00+02:00", 0 } } },
	{ "berlin_gap_quarter_past_at", "15 * * * *", BERLIN, G_AT, R_AUTO,
	    "2025-03-30T01:00:00+01:00",
	    { { "2025-03-30T01:15:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", AT },
	        { "2025-03-30T03:15:00+02:00", 0 },
	        { "2025-03-30T04:15:00+02:00", 0 } } },
	{ "berlin_gap_seconds_shift", "30 0 2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T12:00:00+01:00",
	    { { "2025-03-30T03:00:30+02:00", SH },
	        { "2025-03-31T02:00:30+02:00", 0 } } },
	/* The last second before the gap exists and is not flagged. */
	{ "berlin_gap_last_second_before", "59 59 1 * * *", BERLIN, G_SHIFT,
	    R_AUTO, "2025-03-29T12:00:00+01:00",
	    { { "2025-03-30T01:59:59+01:00", 0 },
	        { "2025-03-31T01:59:59+02:00", 0 } } },

	/*
	 * Europe/Berlin, fall back: wall times 02:00-02:59 occur twice on
	 * 2025-10-26, first at +02:00, then at +01:00.
	 */
	{ "berlin_fall_auto", "30 2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-25T00:00:00+02:00",
	    { { "2025-10-25T02:30:00+02:00", 0 },
	        { "2025-10-26T02:30:00+02:00", RP },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	{ "berlin_fall_first", "30 2 * * *", BERLIN, G_SHIFT, R_FIRST,
	    "2025-10-25T00:00:00+02:00",
	    { { "2025-10-25T02:30:00+02:00", 0 },
	        { "2025-10-26T02:30:00+02:00", RP },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	{ "berlin_fall_last", "30 2 * * *", BERLIN, G_SHIFT, R_LAST,
	    "2025-10-25T00:00:00+02:00",
	    { { "2025-10-25T02:30:00+02:00", 0 },
	        { "2025-10-26T02:30:00+01:00", R2 },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	{ "berlin_fall_both", "30 2 * * *", BERLIN, G_SHIFT, R_BOTH,
	    "2025-10-25T00:00:00+02:00",
	    { { "2025-10-25T02:30:00+02:00", 0 },
	        { "2025-10-26T02:30:00+02:00", RD },
	        { "2025-10-26T02:30:00+01:00", R2D },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	/* Starting between the two 02:30s. */
	{ "berlin_fall_first_from_between", "30 2 * * *", BERLIN, G_SHIFT,
	    R_FIRST, "2025-10-26T02:45:00+02:00",
	    { { "2025-10-27T02:30:00+01:00", 0 } } },
	{ "berlin_fall_last_from_between", "30 2 * * *", BERLIN, G_SHIFT,
	    R_LAST, "2025-10-26T02:45:00+02:00",
	    { { "2025-10-26T02:30:00+01:00", R2 },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	{ "berlin_fall_both_from_between", "30 2 * * *", BERLIN, G_SHIFT,
	    R_BOTH, "2025-10-26T02:30:00+02:00",
	    { { "2025-10-26T02:30:00+01:00", R2D },
	        { "2025-10-27T02:30:00+01:00", 0 } } },
	/* Every 30 real minutes through the repeated hour. */
	{ "berlin_fall_half_hourly", "*/30 * * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-26T01:00:00+02:00",
	    { { "2025-10-26T01:30:00+02:00", 0 },
	        { "2025-10-26T02:00:00+02:00", RD },
	        { "2025-10-26T02:30:00+02:00", RD },
	        { "2025-10-26T02:00:00+01:00", R2D },
	        { "2025-10-26T02:30:00+01:00", R2D },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "berlin_fall_half_hourly_first", "*/30 * * * *", BERLIN, G_SHIFT,
	    R_FIRST, "2025-10-26T01:00:00+02:00",
	    { { "2025-10-26T01:30:00+02:00", 0 },
	        { "2025-10-26T02:00:00+02:00", RP },
	        { "2025-10-26T02:30:00+02:00", RP },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "berlin_fall_half_hourly_last", "*/30 * * * *", BERLIN, G_SHIFT,
	    R_LAST, "2025-10-26T01:00:00+02:00",
	    { { "2025-10-26T01:30:00+02:00", 0 },
	        { "2025-10-26T02:00:00+01:00", R2 },
	        { "2025-10-26T02:30:00+01:00", R2 },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "berlin_fall_hourly", "0 * * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-26T00:30:00+02:00",
	    { { "2025-10-26T01:00:00+02:00", 0 },
	        { "2025-10-26T02:00:00+02:00", RD },
	        { "2025-10-26T02:00:00+01:00", R2D },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	/* "0-23" matches all 24 hours, so AUTO means BOTH as for "*". */
	{ "berlin_fall_hour_range_all", "0 0-23 * * *", BERLIN, G_SHIFT,
	    R_AUTO, "2025-10-26T00:30:00+02:00",
	    { { "2025-10-26T01:00:00+02:00", 0 },
	        { "2025-10-26T02:00:00+02:00", RD },
	        { "2025-10-26T02:00:00+01:00", R2D },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "berlin_fall_six_fields_hourly", "0 0 * * * *", BERLIN, G_SHIFT,
	    R_AUTO, "2025-10-26T01:30:00+02:00",
	    { { "2025-10-26T02:00:00+02:00", RD },
	        { "2025-10-26T02:00:00+01:00", R2D },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	/* 03:00 (+01:00) is past the repeated hour: once, unflagged. */
	/* A step of 1 in the hour field matches all 24 hours; 2 does not. */
	{ "berlin_fall_hour_step_one", "0 */1 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-26T01:30:00+02:00",
	    { { "2025-10-26T02:00:00+02:00", RD },
	        { "2025-10-26T02:00:00+01:00", R2D },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "berlin_fall_hour_step_two", "0 */2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-26T01:30:00+02:00",
	    { { "2025-10-26T02:00:00+02:00", RP },
	        { "2025-10-26T04:00:00+01:00", 0 } } },
	/* 2025-10-26 is a Sunday: the day fields match both 02:30s. */
	{ "berlin_fall_sunday_both", "30 2 * * SUN", BERLIN, G_SHIFT, R_BOTH,
	    "2025-10-20T00:00:00+02:00",
	    { { "2025-10-26T02:30:00+02:00", RD },
	        { "2025-10-26T02:30:00+01:00", R2D },
	        { "2025-11-02T02:30:00+01:00", 0 } } },
	{ "berlin_fall_two_hours", "0 2,3 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-26T00:00:00+02:00",
	    { { "2025-10-26T02:00:00+02:00", RP },
	        { "2025-10-26T03:00:00+01:00", 0 },
	        { "2025-10-27T02:00:00+01:00", 0 } } },
	{ "berlin_fall_last_second_both", "59 59 2 * * *", BERLIN, G_SHIFT,
	    R_BOTH, "2025-10-26T00:00:00+02:00",
	    { { "2025-10-26T02:59:59+02:00", RD },
	        { "2025-10-26T02:59:59+01:00", R2D },
	        { "2025-10-27T02:59:59+01:00", 0 } } },

	/* The last transitions in the supported range. */
	{ "berlin_2199_gap_shift", "30 2 * * *", BERLIN, G_SHIFT, R_AUTO,
	    "2199-03-30T00:00:00+01:00",
	    { { "2199-03-30T02:30:00+01:00", 0 },
	        { "2199-03-31T03:30:00+02:00", SH },
	        { "2199-04-01T02:30:00+02:00", 0 } } },
	{ "berlin_2199_fall_last", "30 2 * * *", BERLIN, G_SHIFT, R_LAST,
	    "2199-10-26T00:00:00+02:00",
	    { { "2199-10-26T02:30:00+02:00", 0 },
	        { "2199-10-27T02:30:00+01:00", R2 },
	        { "2199-10-28T02:30:00+01:00", 0 } } },

	/*
	 * America/New_York: 02:00-02:59 missing on 2025-03-09 (o1 = -05:00),
	 * 01:00-01:59 repeated on 2025-11-02 (-04:00, then -05:00).
	 */
	{ "newyork_gap_shift", "30 2 * * *", NEWYORK, G_SHIFT, R_AUTO,
	    "2025-03-08T00:00:00-05:00",
	    { { "2025-03-08T02:30:00-05:00", 0 },
	        { "2025-03-09T03:30:00-04:00", SH },
	        { "2025-03-10T02:30:00-04:00", 0 } } },
	{ "newyork_gap_skip", "30 2 * * *", NEWYORK, G_SKIP, R_AUTO,
	    "2025-03-08T00:00:00-05:00",
	    { { "2025-03-08T02:30:00-05:00", 0 },
	        { "2025-03-10T02:30:00-04:00", 0 } } },
	{ "newyork_gap_at_transition", "30 2 * * *", NEWYORK, G_AT, R_AUTO,
	    "2025-03-08T00:00:00-05:00",
	    { { "2025-03-08T02:30:00-05:00", 0 },
	        { "2025-03-09T03:00:00-04:00", AT },
	        { "2025-03-10T02:30:00-04:00", 0 } } },
	{ "newyork_gap_half_hourly", "*/30 * * * *", NEWYORK, G_SHIFT, R_AUTO,
	    "2025-03-09T01:00:00-05:00",
	    { { "2025-03-09T01:30:00-05:00", 0 },
	        { "2025-03-09T03:00:00-04:00", 0 },
	        { "2025-03-09T03:30:00-04:00", 0 } } },
	{ "newyork_gap_first_hour_after", "0 3 * * *", NEWYORK, G_SHIFT,
	    R_AUTO, "2025-03-08T12:00:00-05:00",
	    { { "2025-03-09T03:00:00-04:00", 0 },
	        { "2025-03-10T03:00:00-04:00", 0 } } },
	{ "newyork_fall_auto", "30 1 * * *", NEWYORK, G_SHIFT, R_AUTO,
	    "2025-11-01T00:00:00-04:00",
	    { { "2025-11-01T01:30:00-04:00", 0 },
	        { "2025-11-02T01:30:00-04:00", RP },
	        { "2025-11-03T01:30:00-05:00", 0 } } },
	{ "newyork_fall_last", "30 1 * * *", NEWYORK, G_SHIFT, R_LAST,
	    "2025-11-01T00:00:00-04:00",
	    { { "2025-11-01T01:30:00-04:00", 0 },
	        { "2025-11-02T01:30:00-05:00", R2 },
	        { "2025-11-03T01:30:00-05:00", 0 } } },
	{ "newyork_fall_both", "30 1 * * *", NEWYORK, G_SHIFT, R_BOTH,
	    "2025-11-01T00:00:00-04:00",
	    { { "2025-11-01T01:30:00-04:00", 0 },
	        { "2025-11-02T01:30:00-04:00", RD },
	        { "2025-11-02T01:30:00-05:00", R2D },
	        { "2025-11-03T01:30:00-05:00", 0 } } },
	{ "newyork_fall_half_hourly", "*/30 * * * *", NEWYORK, G_SHIFT, R_AUTO,
	    "2025-11-02T00:00:00-04:00",
	    { { "2025-11-02T00:30:00-04:00", 0 },
	        { "2025-11-02T01:00:00-04:00", RD },
	        { "2025-11-02T01:30:00-04:00", RD },
	        { "2025-11-02T01:00:00-05:00", R2D },
	        { "2025-11-02T01:30:00-05:00", R2D },
	        { "2025-11-02T02:00:00-05:00", 0 } } },
	{ "newyork_fall_hourly", "0 * * * *", NEWYORK, G_SHIFT, R_AUTO,
	    "2025-11-02T00:30:00-04:00",
	    { { "2025-11-02T01:00:00-04:00", RD },
	        { "2025-11-02T01:00:00-05:00", R2D },
	        { "2025-11-02T02:00:00-05:00", 0 } } },
	/* The repeated range is [01:00, 02:00): 01:00 in, 02:00 out. */
	{ "newyork_fall_start_of_repeat_last", "0 1 * * *", NEWYORK, G_SHIFT,
	    R_LAST, "2025-11-01T12:00:00-04:00",
	    { { "2025-11-02T01:00:00-05:00", R2 },
	        { "2025-11-03T01:00:00-05:00", 0 } } },
	{ "newyork_fall_end_of_repeat", "0 2 * * *", NEWYORK, G_SHIFT, R_BOTH,
	    "2025-11-01T12:00:00-04:00",
	    { { "2025-11-02T02:00:00-05:00", 0 },
	        { "2025-11-03T02:00:00-05:00", 0 } } },

	/*
	 * Australia/Lord_Howe, half-hour DST: 02:00-02:29 missing on
	 * 2025-10-05 (o1 = +10:30, T = 15:30Z = 02:30+11:00), 01:30-01:59
	 * repeated on 2025-04-06 (+11:00, then +10:30).
	 */
	{ "lordhowe_gap_shift", "15 2 * * *", LORDHOWE, G_SHIFT, R_AUTO,
	    "2025-10-04T00:00:00+10:30",
	    { { "2025-10-04T02:15:00+10:30", 0 },
	        { "2025-10-05T02:45:00+11:00", SH },
	        { "2025-10-06T02:15:00+11:00", 0 } } },
	{ "lordhowe_gap_skip", "15 2 * * *", LORDHOWE, G_SKIP, R_AUTO,
	    "2025-10-04T00:00:00+10:30",
	    { { "2025-10-04T02:15:00+10:30", 0 },
	        { "2025-10-06T02:15:00+11:00", 0 } } },
	{ "lordhowe_gap_at_transition", "15 2 * * *", LORDHOWE, G_AT, R_AUTO,
	    "2025-10-04T00:00:00+10:30",
	    { { "2025-10-04T02:15:00+10:30", 0 },
	        { "2025-10-05T02:30:00+11:00", AT },
	        { "2025-10-06T02:15:00+11:00", 0 } } },
	/*
	 * The shifted 02:15 (02:45) comes after the normal 02:40: fires
	 * must come out in instant order, not wall-time order.
	 */
	{ "lordhowe_gap_interleaved_shift", "0,15,40 2 * * *", LORDHOWE,
	    G_SHIFT, R_AUTO, "2025-10-05T00:00:00+10:30",
	    { { "2025-10-05T02:30:00+11:00", SH },
	        { "2025-10-05T02:40:00+11:00", 0 },
	        { "2025-10-05T02:45:00+11:00", SH },
	        { "2025-10-06T02:00:00+11:00", 0 } } },
	/* 02:00 and 02:15 both go to T: one fire. */
	{ "lordhowe_gap_interleaved_at", "0,15,40 2 * * *", LORDHOWE, G_AT,
	    R_AUTO, "2025-10-05T00:00:00+10:30",
	    { { "2025-10-05T02:30:00+11:00", AT },
	        { "2025-10-05T02:40:00+11:00", 0 },
	        { "2025-10-06T02:00:00+11:00", 0 } } },
	{ "lordhowe_gap_twenty", "*/20 * * * *", LORDHOWE, G_SHIFT, R_AUTO,
	    "2025-10-05T01:30:00+10:30",
	    { { "2025-10-05T01:40:00+10:30", 0 },
	        { "2025-10-05T02:30:00+11:00", SH },
	        { "2025-10-05T02:40:00+11:00", 0 },
	        { "2025-10-05T02:50:00+11:00", SH },
	        { "2025-10-05T03:00:00+11:00", 0 } } },
	{ "lordhowe_gap_quarter_hourly", "*/15 * * * *", LORDHOWE, G_SHIFT,
	    R_AUTO, "2025-10-05T01:30:00+10:30",
	    { { "2025-10-05T01:45:00+10:30", 0 },
	        { "2025-10-05T02:30:00+11:00", 0 },
	        { "2025-10-05T02:45:00+11:00", 0 },
	        { "2025-10-05T03:00:00+11:00", 0 } } },
	{ "lordhowe_fall_auto", "45 1 * * *", LORDHOWE, G_SHIFT, R_AUTO,
	    "2025-04-05T00:00:00+11:00",
	    { { "2025-04-05T01:45:00+11:00", 0 },
	        { "2025-04-06T01:45:00+11:00", RP },
	        { "2025-04-07T01:45:00+10:30", 0 } } },
	{ "lordhowe_fall_first", "45 1 * * *", LORDHOWE, G_SHIFT, R_FIRST,
	    "2025-04-05T00:00:00+11:00",
	    { { "2025-04-05T01:45:00+11:00", 0 },
	        { "2025-04-06T01:45:00+11:00", RP },
	        { "2025-04-07T01:45:00+10:30", 0 } } },
	{ "lordhowe_fall_last", "45 1 * * *", LORDHOWE, G_SHIFT, R_LAST,
	    "2025-04-05T00:00:00+11:00",
	    { { "2025-04-05T01:45:00+11:00", 0 },
	        { "2025-04-06T01:45:00+10:30", R2 },
	        { "2025-04-07T01:45:00+10:30", 0 } } },
	{ "lordhowe_fall_both", "45 1 * * *", LORDHOWE, G_SHIFT, R_BOTH,
	    "2025-04-05T00:00:00+11:00",
	    { { "2025-04-05T01:45:00+11:00", 0 },
	        { "2025-04-06T01:45:00+11:00", RD },
	        { "2025-04-06T01:45:00+10:30", R2D },
	        { "2025-04-07T01:45:00+10:30", 0 } } },
	/* Only 01:30-01:59 repeats; 01:15 happens once. */
	{ "lordhowe_fall_not_repeated", "15 1 * * *", LORDHOWE, G_SHIFT,
	    R_BOTH, "2025-04-05T12:00:00+11:00",
	    { { "2025-04-06T01:15:00+11:00", 0 },
	        { "2025-04-07T01:15:00+10:30", 0 } } },
	{ "lordhowe_fall_quarter_hourly", "*/15 * * * *", LORDHOWE, G_SHIFT,
	    R_AUTO, "2025-04-06T01:00:00+11:00",
	    { { "2025-04-06T01:15:00+11:00", 0 },
	        { "2025-04-06T01:30:00+11:00", RD },
	        { "2025-04-06T01:45:00+11:00", RD },
	        { "2025-04-06T01:30:00+10:30", R2D },
	        { "2025-04-06T01:45:00+10:30", R2D },
	        { "2025-04-06T02:00:00+10:30", 0 } } },

	/* Fractional offsets without DST fire at the right instants. */
	{ "kolkata_daily", "0 9 * * *", KOLKATA, G_SHIFT, R_AUTO,
	    "2025-06-01T00:00:00Z",
	    { { "2025-06-01T03:30:00Z", 0 }, { "2025-06-02T03:30:00Z", 0 },
	        { "2025-06-03T09:00:00+05:30", 0 } } },
	{ "kolkata_twenty", "*/20 * * * *", KOLKATA, G_SHIFT, R_AUTO,
	    "2025-06-01T03:31:00Z",
	    { { "2025-06-01T03:50:00Z", 0 }, { "2025-06-01T04:10:00Z", 0 },
	        { "2025-06-01T04:30:00Z", 0 },
	        { "2025-06-01T10:20:00+05:30", 0 } } },
	{ "kathmandu_daily", "0 9 * * *", KATHMANDU, G_SHIFT, R_AUTO,
	    "2025-06-01T00:00:00Z",
	    { { "2025-06-01T03:15:00Z", 0 }, { "2025-06-02T03:15:00Z", 0 },
	        { "2025-06-03T09:00:00+05:45", 0 } } },
	{ "kathmandu_twenty", "*/20 * * * *", KATHMANDU, G_SHIFT, R_AUTO,
	    "2025-06-01T03:16:00Z",
	    { { "2025-06-01T03:35:00Z", 0 }, { "2025-06-01T03:55:00Z", 0 },
	        { "2025-06-01T04:15:00Z", 0 },
	        { "2025-06-01T10:20:00+05:45", 0 } } },
	/*
	 * Kathmandu's move from +05:30 to +05:45 left a 15-minute gap at
	 * midnight on 1986-01-01: 00:00 shifts to 00:15+05:45 = T.
	 */
	{ "kathmandu_1986_shift", "0 0 * * *", KATHMANDU, G_SHIFT, R_AUTO,
	    "1985-12-30T12:00:00+05:30",
	    { { "1985-12-31T00:00:00+05:30", 0 },
	        { "1986-01-01T00:15:00+05:45", SH },
	        { "1986-01-02T00:00:00+05:45", 0 } } },
	{ "kathmandu_1986_at_transition", "0 0 * * *", KATHMANDU, G_AT, R_AUTO,
	    "1985-12-30T12:00:00+05:30",
	    { { "1985-12-31T00:00:00+05:30", 0 },
	        { "1986-01-01T00:15:00+05:45", AT },
	        { "1986-01-02T00:00:00+05:45", 0 } } },
	{ "kathmandu_1986_skip", "0 0 * * *", KATHMANDU, G_SKIP, R_AUTO,
	    "1985-12-30T12:00:00+05:30",
	    { { "1985-12-31T00:00:00+05:30", 0 },
	        { "1986-01-02T00:00:00+05:45", 0 } } },

	/*
	 * America/Sao_Paulo: midnight did not exist on 2018-11-04 (00:00 ->
	 * 01:00, o1 = -03:00); 23:00-23:59 of 2019-02-16 happened twice
	 * (-02:00, then -03:00). Brazil dropped DST after that, so
	 * 2019-11-04 has a midnight at -03:00.
	 */
	{ "saopaulo_gap_shift", "0 0 * * *", SAOPAULO, G_SHIFT, R_AUTO,
	    "2018-11-02T12:00:00-03:00",
	    { { "2018-11-03T00:00:00-03:00", 0 },
	        { "2018-11-04T01:00:00-02:00", SH },
	        { "2018-11-05T00:00:00-02:00", 0 } } },
	{ "saopaulo_gap_skip", "0 0 * * *", SAOPAULO, G_SKIP, R_AUTO,
	    "2018-11-02T12:00:00-03:00",
	    { { "2018-11-03T00:00:00-03:00", 0 },
	        { "2018-11-05T00:00:00-02:00", 0 } } },
	{ "saopaulo_gap_at_transition", "0 0 * * *", SAOPAULO, G_AT, R_AUTO,
	    "2018-11-02T12:00:00-03:00",
	    { { "2018-11-03T00:00:00-03:00", 0 },
	        { "2018-11-04T01:00:00-02:00", AT },
	        { "2018-11-05T00:00:00-02:00", 0 } } },
	{ "saopaulo_gap_daily_macro", "@daily", SAOPAULO, G_SHIFT, R_AUTO,
	    "2018-11-02T12:00:00-03:00",
	    { { "2018-11-03T00:00:00-03:00", 0 },
	        { "2018-11-04T01:00:00-02:00", SH },
	        { "2018-11-05T00:00:00-02:00", 0 } } },
	/* 2018-11-04 was a Sunday; the shifted fire stays on it. */
	{ "saopaulo_gap_sunday", "30 0 * * SUN", SAOPAULO, G_SHIFT, R_AUTO,
	    "2018-10-30T00:00:00-03:00",
	    { { "2018-11-04T01:30:00-02:00", SH },
	        { "2018-11-11T00:30:00-02:00", 0 } } },
	{ "saopaulo_gap_only_day_shift", "0 0 4 11 *", SAOPAULO, G_SHIFT,
	    R_AUTO, "2018-01-01T00:00:00-02:00",
	    { { "2018-11-04T01:00:00-02:00", SH },
	        { "2019-11-04T00:00:00-03:00", 0 },
	        { "2020-11-04T00:00:00-03:00", 0 } } },
	/* Skipping the only matching day moves on a whole year. */
	{ "saopaulo_gap_only_day_skip", "0 0 4 11 *", SAOPAULO, G_SKIP, R_AUTO,
	    "2018-01-01T00:00:00-02:00",
	    { { "2019-11-04T00:00:00-03:00", 0 },
	        { "2020-11-04T00:00:00-03:00", 0 } } },
	{ "saopaulo_fall_auto", "30 23 * * *", SAOPAULO, G_SHIFT, R_AUTO,
	    "2019-02-15T12:00:00-02:00",
	    { { "2019-02-15T23:30:00-02:00", 0 },
	        { "2019-02-16T23:30:00-02:00", RP },
	        { "2019-02-17T23:30:00-03:00", 0 } } },
	{ "saopaulo_fall_first", "30 23 * * *", SAOPAULO, G_SHIFT, R_FIRST,
	    "2019-02-15T12:00:00-02:00",
	    { { "2019-02-15T23:30:00-02:00", 0 },
	        { "2019-02-16T23:30:00-02:00", RP },
	        { "2019-02-17T23:30:00-03:00", 0 } } },
	{ "saopaulo_fall_last", "30 23 * * *", SAOPAULO, G_SHIFT, R_LAST,
	    "2019-02-15T12:00:00-02:00",
	    { { "2019-02-15T23:30:00-02:00", 0 },
	        { "2019-02-16T23:30:00-03:00", R2 },
	        { "2019-02-17T23:30:00-03:00", 0 } } },
	{ "saopaulo_fall_both", "30 23 * * *", SAOPAULO, G_SHIFT, R_BOTH,
	    "2019-02-15T12:00:00-02:00",
	    { { "2019-02-15T23:30:00-02:00", 0 },
	        { "2019-02-16T23:30:00-02:00", RD },
	        { "2019-02-16T23:30:00-03:00", R2D },
	        { "2019-02-17T23:30:00-03:00", 0 } } },
	{ "saopaulo_fall_half_hourly", "*/30 * * * *", SAOPAULO, G_SHIFT,
	    R_AUTO, "2019-02-16T22:00:00-02:00",
	    { { "2019-02-16T22:30:00-02:00", 0 },
	        { "2019-02-16T23:00:00-02:00", RD },
	        { "2019-02-16T23:30:00-02:00", RD },
	        { "2019-02-16T23:00:00-03:00", R2D },
	        { "2019-02-16T23:30:00-03:00", R2D },
	        { "2019-02-17T00:00:00-03:00", 0 } } },
	/* Midnight of the 17th comes after the repeat: once, unflagged. */
	{ "saopaulo_fall_midnight_after", "0 0 * * *", SAOPAULO, G_SHIFT,
	    R_BOTH, "2019-02-16T12:00:00-02:00",
	    { { "2019-02-17T00:00:00-03:00", 0 },
	        { "2019-02-18T00:00:00-03:00", 0 } } },
	{ "saopaulo_fall_day_of_month_last", "30 23 16 2 *", SAOPAULO, G_SHIFT,
	    R_LAST, "2019-01-01T00:00:00-02:00",
	    { { "2019-02-16T23:30:00-03:00", R2 },
	        { "2020-02-16T23:30:00-03:00", 0 } } },

	/*
	 * Asia/Amman moved its clocks at midnight: 00:00-00:59 missing on
	 * 2014-03-28 (o1 = +02:00) and repeated on 2014-10-31 (+03:00,
	 * then +02:00); the same on 2021-03-26 and 2021-10-29 (Fridays).
	 */
	{ "amman_gap_shift", "0 0 * * *", AMMAN, G_SHIFT, R_AUTO,
	    "2014-03-26T12:00:00+02:00",
	    { { "2014-03-27T00:00:00+02:00", 0 },
	        { "2014-03-28T01:00:00+03:00", SH },
	        { "2014-03-29T00:00:00+03:00", 0 } } },
	{ "amman_gap_skip", "0 0 * * *", AMMAN, G_SKIP, R_AUTO,
	    "2014-03-26T12:00:00+02:00",
	    { { "2014-03-27T00:00:00+02:00", 0 },
	        { "2014-03-29T00:00:00+03:00", 0 } } },
	{ "amman_gap_at_transition", "0 0 * * *", AMMAN, G_AT, R_AUTO,
	    "2014-03-26T12:00:00+02:00",
	    { { "2014-03-27T00:00:00+02:00", 0 },
	        { "2014-03-28T01:00:00+03:00", AT },
	        { "2014-03-29T00:00:00+03:00", 0 } } },
	{ "amman_gap_half_past", "30 0 * * *", AMMAN, G_SHIFT, R_AUTO,
	    "2014-03-27T12:00:00+02:00",
	    { { "2014-03-28T01:30:00+03:00", SH },
	        { "2014-03-29T00:30:00+03:00", 0 } } },
	{ "amman_fall_auto", "0 0 * * *", AMMAN, G_SHIFT, R_AUTO,
	    "2014-10-29T12:00:00+03:00",
	    { { "2014-10-30T00:00:00+03:00", 0 },
	        { "2014-10-31T00:00:00+03:00", RP },
	        { "2014-11-01T00:00:00+02:00", 0 } } },
	{ "amman_fall_last", "0 0 * * *", AMMAN, G_SHIFT, R_LAST,
	    "2014-10-29T12:00:00+03:00",
	    { { "2014-10-30T00:00:00+03:00", 0 },
	        { "2014-10-31T00:00:00+02:00", R2 },
	        { "2014-11-01T00:00:00+02:00", 0 } } },
	{ "amman_fall_both", "0 0 * * *", AMMAN, G_SHIFT, R_BOTH,
	    "2014-10-29T12:00:00+03:00",
	    { { "2014-10-30T00:00:00+03:00", 0 },
	        { "2014-10-31T00:00:00+03:00", RD },
	        { "2014-10-31T00:00:00+02:00", R2D },
	        { "2014-11-01T00:00:00+02:00", 0 } } },
	{ "amman_fall_hourly", "0 * * * *", AMMAN, G_SHIFT, R_AUTO,
	    "2014-10-30T22:30:00+03:00",
	    { { "2014-10-30T23:00:00+03:00", 0 },
	        { "2014-10-31T00:00:00+03:00", RD },
	        { "2014-10-31T00:00:00+02:00", R2D },
	        { "2014-10-31T01:00:00+02:00", 0 } } },
	{ "amman_2021_weekly_gap", "0 0 * * FRI", AMMAN, G_SHIFT, R_AUTO,
	    "2021-03-18T00:00:00+02:00",
	    { { "2021-03-19T00:00:00+02:00", 0 },
	        { "2021-03-26T01:00:00+03:00", SH },
	        { "2021-04-02T00:00:00+03:00", 0 } } },
	{ "amman_2021_weekly_fall_last", "0 0 * * 5", AMMAN, G_SHIFT, R_LAST,
	    "2021-10-21T00:00:00+03:00",
	    { { "2021-10-22T00:00:00+03:00", 0 },
	        { "2021-10-29T00:00:00+02:00", R2 },
	        { "2021-11-05T00:00:00+02:00", 0 } } },

	/*
	 * Pacific/Apia skipped 2011-12-30: every wall time of that day is in
	 * the gap (o1 = -10:00), and SHIFT moves it by 24 hours onto the
	 * same wall time of the 31st (+14:00).
	 */
	{ "apia_skipped_day_daily_shift", "0 12 * * *", APIA, G_SHIFT, R_AUTO,
	    "2011-12-29T00:00:00-10:00",
	    { { "2011-12-29T12:00:00-10:00", 0 },
	        { "2011-12-31T12:00:00+14:00", 0 },
	        { "2012-01-01T12:00:00+14:00", 0 } } },
	{ "apia_skipped_day_daily_at", "0 12 * * *", APIA, G_AT, R_AUTO,
	    "2011-12-29T00:00:00-10:00",
	    { { "2011-12-29T12:00:00-10:00", 0 },
	        { "2011-12-31T00:00:00+14:00", AT },
	        { "2011-12-31T12:00:00+14:00", 0 } } },
	{ "apia_skipped_day_daily_skip", "0 12 * * *", APIA, G_SKIP, R_AUTO,
	    "2011-12-29T00:00:00-10:00",
	    { { "2011-12-29T12:00:00-10:00", 0 },
	        { "2011-12-31T12:00:00+14:00", 0 } } },
	{ "apia_skipped_30th_shift", "0 12 30 * *", APIA, G_SHIFT, R_AUTO,
	    "2011-12-01T00:00:00-10:00",
	    { { "2011-12-31T12:00:00+14:00", SH },
	        { "2012-01-30T12:00:00+14:00", 0 } } },
	{ "apia_skipped_30th_at", "0 12 30 * *", APIA, G_AT, R_AUTO,
	    "2011-12-01T00:00:00-10:00",
	    { { "2011-12-31T00:00:00+14:00", AT },
	        { "2012-01-30T12:00:00+14:00", 0 } } },
	{ "apia_skipped_30th_skip", "0 12 30 * *", APIA, G_SKIP, R_AUTO,
	    "2011-12-01T00:00:00-10:00",
	    { { "2012-01-30T12:00:00+14:00", 0 } } },
	{ "apia_skipped_day_hourly", "0 * * * *", APIA, G_SHIFT, R_AUTO,
	    "2011-12-29T22:30:00-10:00",
	    { { "2011-12-29T23:00:00-10:00", 0 },
	        { "2011-12-31T00:00:00+14:00", 0 },
	        { "2011-12-31T01:00:00+14:00", 0 } } },

	/*
	 * @every counts UTC milliseconds from the epoch: whole UTC hours
	 * through both Berlin transitions, never flagged, whatever the
	 * policies say.
	 */
	{ "every_hour_berlin_spring", "@every 1h", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T23:30:00Z",
	    { { "2025-03-30T00:00:00Z", 0 }, { "2025-03-30T01:00:00Z", 0 },
	        { "2025-03-30T02:00:00Z", 0 },
	        { "2025-03-30T05:00:00+02:00", 0 } } },
	{ "every_hour_berlin_fall", "@every 1h", BERLIN, G_SHIFT, R_AUTO,
	    "2025-10-25T23:30:00Z",
	    { { "2025-10-26T00:00:00Z", 0 }, { "2025-10-26T01:00:00Z", 0 },
	        { "2025-10-26T02:00:00Z", 0 },
	        { "2025-10-26T04:00:00+01:00", 0 } } },
	{ "every_hour_berlin_other_policies", "@every 1h", BERLIN, G_SKIP,
	    R_LAST, "2025-10-25T23:30:00Z",
	    { { "2025-10-26T02:00:00+02:00", 0 },
	        { "2025-10-26T02:00:00+01:00", 0 },
	        { "2025-10-26T03:00:00+01:00", 0 } } },
	{ "every_hour_berlin_gap_at", "@every 1h", BERLIN, G_AT, R_BOTH,
	    "2025-03-29T23:30:00Z",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-30T03:00:00+02:00", 0 },
	        { "2025-03-30T04:00:00+02:00", 0 } } },
	/* 2025-03-30T00:00Z is 1743292800 s, a multiple of 5400 s. */
	{ "every_90m_berlin", "@every 90m", BERLIN, G_SHIFT, R_AUTO,
	    "2025-03-29T23:59:59Z",
	    { { "2025-03-30T00:00:00Z", 0 }, { "2025-03-30T01:30:00Z", 0 },
	        { "2025-03-30T03:00:00Z", 0 } } },
	/* 1d fires at 00:00Z: 01:00 local in winter, 02:00 in summer. */
	{ "every_day_berlin", "@every 1d", BERLIN, G_SKIP, R_LAST,
	    "2025-03-29T00:00:00Z",
	    { { "2025-03-30T01:00:00+01:00", 0 },
	        { "2025-03-31T02:00:00+02:00", 0 } } },
};

/*
 * A transition for the exhaustive sweep: the zone changes from o1 to o2
 * (seconds east of UTC) at the instant at.
 */
struct window {
	const char *name;
	const char *tz;
	const char *at;
	int         o1;
	int         o2;
};

static struct window windows[] = {
	{ "sweep_berlin_spring", BERLIN, "2025-03-30T01:00:00Z", 3600, 7200 },
	{ "sweep_berlin_fall", BERLIN, "2025-10-26T01:00:00Z", 7200, 3600 },
	{ "sweep_newyork_spring", NEWYORK, "2025-03-09T07:00:00Z", -18000,
	    -14400 },
	{ "sweep_newyork_fall", NEWYORK, "2025-11-02T06:00:00Z", -14400,
	    -18000 },
	{ "sweep_lordhowe_fall", LORDHOWE, "2025-04-05T15:00:00Z", 39600,
	    37800 },
	{ "sweep_lordhowe_spring", LORDHOWE, "2025-10-04T15:30:00Z", 37800,
	    39600 },
	{ "sweep_saopaulo_spring", SAOPAULO, "2018-11-04T03:00:00Z", -10800,
	    -7200 },
	{ "sweep_saopaulo_fall", SAOPAULO, "2019-02-17T02:00:00Z", -7200,
	    -10800 },
	{ "sweep_amman_spring_2014", AMMAN, "2014-03-27T22:00:00Z", 7200,
	    10800 },
	{ "sweep_amman_fall_2014", AMMAN, "2014-10-30T22:00:00Z", 10800,
	    7200 },
	{ "sweep_amman_spring_2021", AMMAN, "2021-03-25T22:00:00Z", 7200,
	    10800 },
	{ "sweep_amman_fall_2021", AMMAN, "2021-10-28T22:00:00Z", 10800,
	    7200 },
	{ "sweep_apia_2011", APIA, "2011-12-30T10:00:00Z", -36000, 50400 },
	/* Rules projected past 2037, up to the end of the range. */
	{ "sweep_berlin_spring_2038", BERLIN, "2038-03-28T01:00:00Z", 3600,
	    7200 },
	{ "sweep_berlin_fall_2038", BERLIN, "2038-10-31T01:00:00Z", 7200,
	    3600 },
	{ "sweep_berlin_spring_2199", BERLIN, "2199-03-31T01:00:00Z", 3600,
	    7200 },
	{ "sweep_berlin_fall_2199", BERLIN, "2199-10-27T01:00:00Z", 7200,
	    3600 },
	{ "sweep_lordhowe_fall_2199", LORDHOWE, "2199-04-06T15:00:00Z", 39600,
	    37800 },
	{ "sweep_lordhowe_spring_2199", LORDHOWE, "2199-10-05T15:30:00Z",
	    37800, 39600 },
	{ "sweep_newyork_spring_1970", NEWYORK, "1970-04-26T07:00:00Z", -18000,
	    -14400 },
	{ "sweep_kathmandu_1986", KATHMANDU, "1985-12-31T18:30:00Z", 19800,
	    20700 },
};

/*
 * Schedules for the sweep, each with its minute and hour sets written out
 * by hand ("*" or a comma list), so the oracle needs no cron parser.
 */
struct sweep_sched {
	const char *expr;
	const char *minutes;
	const char *hours;
};

static const struct sweep_sched sweep_scheds[] = {
	{ "* * * * *", "*", "*" },
	{ "*/30 * * * *", "0,30", "*" },
	{ "0 * * * *", "0", "*" },
	{ "15 * * * *", "15", "*" },
	{ "*/20 * * * *", "0,20,40", "*" },
	{ "*/7 * * * *", "0,7,14,21,28,35,42,49,56", "*" },
	{ "30 2 * * *", "30", "2" },
	{ "0 2 * * *", "0", "2" },
	{ "0 2,3 * * *", "0", "2,3" },
	{ "45 1 * * *", "45", "1" },
	{ "30 1 * * *", "30", "1" },
	{ "15 2 * * *", "15", "2" },
	{ "0,15,40 2 * * *", "0,15,40", "2" },
	{ "0 0 * * *", "0", "0" },
	{ "30 0 * * *", "30", "0" },
	{ "30 23 * * *", "30", "23" },
	{ "*/15 0-3 * * *", "0,15,30,45", "0,1,2,3" },
	{ "10 22-23,0-1 * * *", "10", "22,23,0,1" },
};

/* How far the sweep looks on either side of a transition. */
#define SWEEP_HALF_MS (14 * CF_MS_PER_HOUR)
#define SWEEP_MAX 2048

static const char *
gap_name(cf_dst_gap g)
{
	switch (g) {
	case CF_DST_GAP_SHIFT:
		return "SHIFT";
	case CF_DST_GAP_SKIP:
		return "SKIP";
	case CF_DST_GAP_AT_TRANSITION:
		return "AT_TRANSITION";
	}
	return "?";
}

static const char *
repeat_name(cf_dst_repeat r)
{
	switch (r) {
	case CF_DST_REPEAT_AUTO:
		return "AUTO";
	case CF_DST_REPEAT_FIRST:
		return "FIRST";
	case CF_DST_REPEAT_LAST:
		return "LAST";
	case CF_DST_REPEAT_BOTH:
		return "BOTH";
	}
	return "?";
}

static int64_t
ts(const char *s)
{
	int64_t ms = 0;
	int     rc = cf_rfc3339_parse(s, &ms);

	if (rc != 0) {
		fail_msg("test data: cf_rfc3339_parse(\"%s\") = %d", s, rc);
	}
	return ms;
}

/*
 * Formats an instant in UTC, which is what the checks compare, and in
 * local time, so a failure reads like the table. The local offset is the
 * engine's (cf_cron_utc_offset), which utc_offsets checks on its own.
 */
static const char *
fmt_instant(char *buf, size_t len, int64_t ms, const cf_cron *c)
{
	char utc[40];
	char loc[40];
	int  off = cf_cron_utc_offset(c, ms);

	if (cf_rfc3339_format(utc, sizeof(utc), ms, 0, 1) < 0) {
		snprintf(utc, sizeof(utc), "%lld ms", (long long) ms);
	}
	if (cf_rfc3339_format(loc, sizeof(loc), ms, off, 0) < 0) {
		loc[0] = '\0';
	}
	snprintf(buf, len, "%s (%s)", utc, loc);
	return buf;
}

static cf_cron *
compile(const char *expr, const char *tz, cf_dst_gap gap, cf_dst_repeat rep)
{
	cf_cron     *c                   = NULL;
	char         err[CF_CRON_ERRLEN] = "";
	cf_cron_opts opts;
	int          rc;

	memset(&opts, 0, sizeof(opts));
	opts.tz     = tz;
	opts.gap    = gap;
	opts.repeat = rep;
	rc          = cf_cron_parse(&c, expr, &opts, err, sizeof(err));
	if (rc != 0 || c == NULL) {
		fail_msg("cf_cron_parse(\"%s\", tz %s) = %d: %s", expr, tz, rc,
		    err);
	}
	return c;
}

/* What a failure message needs to reproduce the call. */
struct ctx {
	const char    *expr;
	const char    *tz;
	cf_dst_gap     gap;
	cf_dst_repeat  repeat;
	const cf_cron *c; /* for printing instants */
};

/*
 * Compares one result of next() or prev() with the expectation and fails
 * with a full reproduction (schedule, zone, policies, argument, expected,
 * got) if they differ.
 */
static void
check_call(const struct ctx *x, const char *fn, int64_t arg, int rc,
    int64_t got, unsigned gflags, int want_rc, int64_t want, unsigned wflags)
{
	char a[96];
	char w[96];
	char g[96];

	if (rc == want_rc
	    && (want_rc != 0 || (got == want && gflags == wflags))) {
		return;
	}
	fmt_instant(a, sizeof(a), arg, x->c);
	fmt_instant(w, sizeof(w), want, x->c);
	fmt_instant(g, sizeof(g), got, x->c);
	fail_msg("%s(\"%s\", tz %s, gap %s, repeat %s, %s):\n"
	         "  expected rc %d %s flags 0x%02x\n"
	         "  got      rc %d %s flags 0x%02x",
	    fn, x->expr, x->tz, gap_name(x->gap), repeat_name(x->repeat), a,
	    want_rc, want_rc == 0 ? w : "-", wflags, rc, rc == 0 ? g : "-",
	    gflags);
}

/*
 * Checks one fire f (flags fl) that follows the fire p (flags pfl; p < 0
 * when there is none to check) with nothing in between:
 * next(f - 1) == f, prev(f) == f, prev(f - 1) == p, and from the
 * midpoint m of (p, f) next(m) == f and prev(m) == p. Together with the
 * chain of next() this makes prev() the mirror image of next().
 */
static void
check_mirror(const struct ctx *x, const cf_cron *c, int64_t f, unsigned fl,
    int64_t p, unsigned pfl, int64_t from)
{
	int64_t  got   = -1;
	unsigned flags = 0xffu;
	int      rc;

	rc = cf_cron_next(c, f - 1, &got, &flags);
	check_call(x, "cf_cron_next", f - 1, rc, got, flags, 0, f, fl);

	got   = -1;
	flags = 0xffu;
	rc    = cf_cron_prev(c, f, &got, &flags);
	check_call(x, "cf_cron_prev", f, rc, got, flags, 0, f, fl);

	got   = -1;
	flags = 0xffu;
	rc    = cf_cron_prev(c, f - 1, &got, &flags);
	if (p >= 0) {
		int64_t m = p + (f - p) / 2;

		check_call(
		    x, "cf_cron_prev", f - 1, rc, got, flags, 0, p, pfl);
		rc = cf_cron_prev(c, m, &got, &flags);
		check_call(x, "cf_cron_prev", m, rc, got, flags, 0, p, pfl);
		rc = cf_cron_next(c, m, &got, &flags);
		check_call(x, "cf_cron_next", m, rc, got, flags, 0, f, fl);
	} else if (rc == 0 && got > from) {
		/* The first fire after from: its predecessor is <= from. */
		char a[96];
		char g[96];

		fmt_instant(a, sizeof(a), f - 1, x->c);
		fmt_instant(g, sizeof(g), got, x->c);
		fail_msg("cf_cron_prev(\"%s\", tz %s, gap %s, repeat %s, %s):"
		         " got %s, which lies between the start and the "
		         "first fire",
		    x->expr, x->tz, gap_name(x->gap), repeat_name(x->repeat),
		    a, g);
	}
}

static void
run_seq(void **state)
{
	const struct seq_case *sc = *state;
	cf_cron               *c;
	struct ctx             x;
	int64_t                t, from, prev_f = -1;
	unsigned               prev_fl = 0;
	size_t                 i;

	c        = compile(sc->expr, sc->tz, sc->gap, sc->repeat);
	from     = ts(sc->from);
	x.expr   = sc->expr;
	x.tz     = sc->tz;
	x.gap    = sc->gap;
	x.repeat = sc->repeat;
	x.c      = c;
	t        = from;
	for (i = 0; i < MAX_FIRES && sc->want[i].at != NULL; i++) {
		int64_t  want  = ts(sc->want[i].at);
		int64_t  got   = -1;
		unsigned flags = 0xffu;
		int      rc;

		/* A typo in the table must not pass for an engine bug. */
		if (want <= t) {
			fail_msg("test data: %s is not after %s",
			    sc->want[i].at,
			    i == 0 ? sc->from : sc->want[i - 1].at);
		}
		rc = cf_cron_next(c, t, &got, &flags);
		check_call(&x, "cf_cron_next", t, rc, got, flags, 0, want,
		    sc->want[i].flags);
		/* flags may be NULL. */
		got = -1;
		rc  = cf_cron_next(c, t, &got, NULL);
		check_call(&x, "cf_cron_next", t, rc, got, sc->want[i].flags,
		    0, want, sc->want[i].flags);
		check_mirror(
		    &x, c, want, sc->want[i].flags, prev_f, prev_fl, from);
		prev_f  = want;
		prev_fl = sc->want[i].flags;
		t       = want;
	}
	cf_cron_free(c);
}

/* Parses "*" or "a,b,c" (values 0..n-1) into a membership table. */
static void
parse_set(const char *s, int n, unsigned char *set)
{
	memset(set, 0, (size_t) n);
	if (strcmp(s, "*") == 0) {
		memset(set, 1, (size_t) n);
		return;
	}
	while (*s != '\0') {
		char *end;
		long  v = strtol(s, &end, 10);

		if (end == s || v < 0 || v >= n) {
			fail_msg("test data: bad set \"%s\"", s);
		}
		set[v] = 1;
		s      = *end == ',' ? end + 1 : end;
	}
}

struct oracle {
	unsigned char min[60];
	unsigned char hour[24];
	int           all_hours;
	int64_t       at[SWEEP_MAX];
	unsigned      flags[SWEEP_MAX];
	size_t        n;
};

/* Whether a local wall-clock millisecond count matches the schedule. */
static int
oracle_matches(const struct oracle *o, int64_t wall_ms)
{
	int64_t mins = wall_ms / CF_MS_PER_MIN;
	int64_t mod;

	if (wall_ms % CF_MS_PER_MIN != 0) {
		return 0;
	}
	mod = ((mins % 1440) + 1440) % 1440;
	return o->hour[mod / 60] && o->min[mod % 60];
}

/*
 * Adds an instant; with dedup set, only unless it is already there. The
 * normal fires are added first (each minute once, so they need no check),
 * then the gap fires, so a gap fire landing on a normal one keeps the
 * normal's flags.
 */
static void
oracle_add(struct oracle *o, int64_t at, unsigned flags, int dedup)
{
	size_t i;

	for (i = 0; dedup && i < o->n; i++) {
		if (o->at[i] == at) {
			return;
		}
	}
	if (o->n == SWEEP_MAX) {
		fail_msg("test bug: SWEEP_MAX too small");
	}
	o->at[o->n]    = at;
	o->flags[o->n] = flags;
	o->n++;
}

static int
cmp_fire(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a;
	int64_t y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/*
 * The contract, applied literally to every minute of [lo, hi) around one
 * transition at T from o1 to o2.
 */
static void
oracle_build(struct oracle *o, const struct window *w, int64_t T, int64_t lo,
    int64_t hi, cf_dst_gap gap, cf_dst_repeat rep)
{
	int64_t o1 = (int64_t) w->o1 * CF_MS_PER_SEC;
	int64_t o2 = (int64_t) w->o2 * CF_MS_PER_SEC;
	int     both;
	int64_t u, wall;
	size_t  i, j;

	o->n = 0;
	both = rep == CF_DST_REPEAT_BOTH
	    || (rep == CF_DST_REPEAT_AUTO && o->all_hours);
	for (u = lo; u < hi; u += CF_MS_PER_MIN) {
		int64_t off = u < T ? o1 : o2;

		wall = u + off;
		if (!oracle_matches(o, wall)) {
			continue;
		}
		if (o2 < o1 && wall >= T + o2 && wall < T + o1) {
			int      second = u == wall - o2;
			unsigned fl     = CF_FIRE_DST_REPEATED;

			if (second) {
				fl |= CF_FIRE_DST_SECOND;
			}
			if (both) {
				oracle_add(o, u, fl | CF_FIRE_DST_DOUBLED, 0);
			} else if (second ? rep == CF_DST_REPEAT_LAST
			                  : rep != CF_DST_REPEAT_LAST) {
				oracle_add(o, u, fl, 0);
			}
			continue;
		}
		oracle_add(o, u, 0, 0);
	}
	if (o2 > o1 && gap != CF_DST_GAP_SKIP) {
		for (wall = T + o1; wall < T + o2; wall += CF_MS_PER_MIN) {
			if (!oracle_matches(o, wall)) {
				continue;
			}
			/* A day-long gap shifts fires beyond the window. */
			if (gap == CF_DST_GAP_SHIFT && wall - o1 < hi) {
				oracle_add(
				    o, wall - o1, CF_FIRE_DST_SHIFTED, 1);
			} else if (gap == CF_DST_GAP_AT_TRANSITION) {
				oracle_add(o, T, CF_FIRE_DST_AT_TRANSITION, 1);
			}
		}
	}
	/* Sort instants, carrying the flags along. */
	for (i = 1; i < o->n; i++) {
		for (j = i; j > 0 && cmp_fire(&o->at[j - 1], &o->at[j]) > 0;
		     j--) {
			int64_t  ta     = o->at[j];
			unsigned tf     = o->flags[j];
			o->at[j]        = o->at[j - 1];
			o->flags[j]     = o->flags[j - 1];
			o->at[j - 1]    = ta;
			o->flags[j - 1] = tf;
		}
	}
}

static struct oracle sweep_oracle;

/*
 * For every sweep schedule and every pair of policies, walks next() over
 * 28 hours around the transition and compares each fire with the oracle,
 * checking the prev() mirror at each step.
 */
static void
run_sweep(void **state)
{
	const struct window *w  = *state;
	struct oracle       *o  = &sweep_oracle;
	int64_t              T  = ts(w->at);
	int64_t              lo = T - SWEEP_HALF_MS;
	int64_t              hi = T + SWEEP_HALF_MS;
	size_t               s;
	int                  g, r;

	for (s = 0; s < sizeof(sweep_scheds) / sizeof(sweep_scheds[0]); s++) {
		const struct sweep_sched *sc = &sweep_scheds[s];

		parse_set(sc->minutes, 60, o->min);
		parse_set(sc->hours, 24, o->hour);
		o->all_hours = strcmp(sc->hours, "*") == 0;
		for (g = 0; g < 3; g++) {
			for (r = 0; r < 4; r++) {
				cf_cron   *c;
				struct ctx x;
				int64_t    t = lo - 1;
				size_t     i;

				oracle_build(o, w, T, lo, hi, (cf_dst_gap) g,
				    (cf_dst_repeat) r);
				c = compile(sc->expr, w->tz, (cf_dst_gap) g,
				    (cf_dst_repeat) r);
				x.expr   = sc->expr;
				x.tz     = w->tz;
				x.gap    = (cf_dst_gap) g;
				x.repeat = (cf_dst_repeat) r;
				x.c      = c;
				for (i = 0; i <= o->n; i++) {
					int64_t  got   = -1;
					unsigned flags = 0xffu;
					int      rc;

					rc = cf_cron_next(c, t, &got, &flags);
					if (i == o->n) {
						/* Nothing more inside the
						 * window. */
						if (rc == 0 && got < hi) {
							check_call(&x,
							    "cf_cron_next", t,
							    rc, got, flags, 0,
							    hi, 0);
						}
						break;
					}
					check_call(&x, "cf_cron_next", t, rc,
					    got, flags, 0, o->at[i],
					    o->flags[i]);
					check_mirror(&x, c, o->at[i],
					    o->flags[i],
					    i > 0 ? o->at[i - 1] : -1,
					    i > 0 ? o->flags[i - 1] : 0, t);
					t = o->at[i];
				}
				cf_cron_free(c);
			}
		}
	}
}

/*
 * Unknown zones fail with CF_ETZ, name the zone in the message and leave
 * the output alone.
 */
static void
unknown_zone(void **state)
{
	static const char *const names[]
	    = { "Mars/Base", "Europe/Berln", "America/NewYork", "Not a zone" };
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cf_cron     *c                   = NULL;
		char         err[CF_CRON_ERRLEN] = "";
		cf_cron_opts opts;
		int          rc;

		memset(&opts, 0, sizeof(opts));
		opts.tz = names[i];
		rc = cf_cron_parse(&c, "0 * * * *", &opts, err, sizeof(err));
		if (rc != CF_ETZ) {
			fail_msg("zone \"%s\": rc %d, want CF_ETZ (%d); err "
			         "\"%s\"",
			    names[i], rc, CF_ETZ, err);
		}
		assert_null(c);
		if (strstr(err, names[i]) == NULL) {
			fail_msg("zone \"%s\": message \"%s\" lacks the name",
			    names[i], err);
		}
	}
}

/* NULL opts, a NULL zone and "" all mean UTC. */
static void
empty_zone_is_utc(void **state)
{
	static const char *const zones[] = { NULL, "", "UTC" };
	int64_t                  from    = ts("2025-03-30T00:00:00Z");
	int64_t                  want    = ts("2025-03-30T09:00:00Z");
	size_t                   i;

	(void) state;
	for (i = 0; i <= sizeof(zones) / sizeof(zones[0]); i++) {
		cf_cron     *c                   = NULL;
		char         err[CF_CRON_ERRLEN] = "";
		cf_cron_opts opts;
		int64_t      got   = -1;
		unsigned     flags = 0xffu;
		int          rc;

		memset(&opts, 0, sizeof(opts));
		if (i < sizeof(zones) / sizeof(zones[0])) {
			opts.tz = zones[i];
			rc      = cf_cron_parse(
			         &c, "0 9 * * *", &opts, err, sizeof(err));
		} else {
			rc = cf_cron_parse(
			    &c, "0 9 * * *", NULL, err, sizeof(err));
		}
		if (rc != 0 || c == NULL) {
			fail_msg("zone #%zu: rc %d: %s", i, rc, err);
		}
		assert_string_equal(cf_cron_tz_name(c), "UTC");
		assert_int_equal(cf_cron_utc_offset(c, from), 0);
		assert_int_equal(cf_cron_next(c, from, &got, &flags), 0);
		assert_int_equal(got, want);
		assert_int_equal(flags, 0);
		cf_cron_free(c);
	}
}

static void
zone_name_kept(void **state)
{
	cf_cron *c = compile("0 * * * *", BERLIN, G_SHIFT, R_AUTO);

	(void) state;
	assert_string_equal(cf_cron_tz_name(c), BERLIN);
	assert_int_equal(cf_cron_is_interval(c), 0);
	cf_cron_free(c);
	c = compile("@every 1h", BERLIN, G_SHIFT, R_AUTO);
	assert_int_equal(cf_cron_is_interval(c), 1);
	cf_cron_free(c);
}

/*
 * The supported range is [1970-01-01, 2200-01-01) UTC, not local time:
 * Berlin's 2200-01-01T00:00+01:00 is inside it and its
 * 1970-01-01T00:00+01:00 is not; New York's are the other way round.
 */
static void
range_edges_in_zone(void **state)
{
	cf_cron *c;
	int64_t  got   = -1;
	unsigned flags = 0xffu;

	(void) state;
	c = compile("0 0 1 1 *", BERLIN, G_SHIFT, R_AUTO);
	assert_int_equal(
	    cf_cron_next(c, ts("2199-06-01T00:00:00Z"), &got, &flags), 0);
	assert_int_equal(got, ts("2200-01-01T00:00:00+01:00"));
	assert_int_equal(flags, 0);
	assert_int_equal(cf_cron_next(c, got, &got, &flags), CF_ENOENT);
	assert_int_equal(
	    cf_cron_prev(c, ts("1970-06-01T00:00:00Z"), &got, &flags),
	    CF_ENOENT);
	cf_cron_free(c);

	c = compile("0 0 1 1 *", NEWYORK, G_SHIFT, R_AUTO);
	assert_int_equal(
	    cf_cron_next(c, ts("2199-06-01T00:00:00Z"), &got, &flags),
	    CF_ENOENT);
	assert_int_equal(
	    cf_cron_prev(c, ts("1970-06-01T00:00:00Z"), &got, &flags), 0);
	assert_int_equal(got, ts("1970-01-01T00:00:00-05:00"));
	assert_int_equal(flags, 0);
	cf_cron_free(c);
}

struct offset_case {
	const char *tz;
	const char *at;
	int         want;
};

/* Offsets on either side of each transition, to the millisecond. */
static const struct offset_case offset_cases[] = {
	{ BERLIN, "2025-03-30T00:59:59.999Z", 3600 },
	{ BERLIN, "2025-03-30T01:00:00Z", 7200 },
	{ BERLIN, "2025-10-26T00:59:59.999Z", 7200 },
	{ BERLIN, "2025-10-26T01:00:00Z", 3600 },
	{ BERLIN, "2025-01-15T12:00:00Z", 3600 },
	{ BERLIN, "2025-07-15T12:00:00Z", 7200 },
	{ NEWYORK, "2025-03-09T06:59:59.999Z", -18000 },
	{ NEWYORK, "2025-03-09T07:00:00Z", -14400 },
	{ NEWYORK, "2025-11-02T05:59:59.999Z", -14400 },
	{ NEWYORK, "2025-11-02T06:00:00Z", -18000 },
	{ LORDHOWE, "2025-04-05T14:59:59.999Z", 39600 },
	{ LORDHOWE, "2025-04-05T15:00:00Z", 37800 },
	{ LORDHOWE, "2025-10-04T15:29:59.999Z", 37800 },
	{ LORDHOWE, "2025-10-04T15:30:00Z", 39600 },
	{ SAOPAULO, "2018-11-04T02:59:59.999Z", -10800 },
	{ SAOPAULO, "2018-11-04T03:00:00Z", -7200 },
	{ SAOPAULO, "2019-02-17T01:59:59.999Z", -7200 },
	{ SAOPAULO, "2019-02-17T02:00:00Z", -10800 },
	{ AMMAN, "2014-03-27T21:59:59.999Z", 7200 },
	{ AMMAN, "2014-03-27T22:00:00Z", 10800 },
	{ AMMAN, "2014-10-30T21:59:59.999Z", 10800 },
	{ AMMAN, "2014-10-30T22:00:00Z", 7200 },
	{ KOLKATA, "2025-06-01T00:00:00Z", 19800 },
	{ KATHMANDU, "1985-12-31T18:29:59.999Z", 19800 },
	{ KATHMANDU, "1985-12-31T18:30:00Z", 20700 },
	{ KATHMANDU, "2025-06-01T00:00:00Z", 20700 },
};

static void
utc_offsets(void **state)
{
	size_t i;

	(void) state;
	for (i = 0; i < sizeof(offset_cases) / sizeof(offset_cases[0]); i++) {
		const struct offset_case *oc = &offset_cases[i];
		cf_cron *c   = compile("0 * * * *", oc->tz, G_SHIFT, R_AUTO);
		int      got = cf_cron_utc_offset(c, ts(oc->at));

		if (got != oc->want) {
			fail_msg("cf_cron_utc_offset(tz %s, %s) = %d, want %d",
			    oc->tz, oc->at, got, oc->want);
		}
		cf_cron_free(c);
	}
}

/*
 * A long walk: a year of next() in each DST zone must be strictly
 * increasing, with prev() agreeing at every fire.
 */
static void
year_chains(void **state)
{
	static const struct {
		const char *expr;
		const char *tz;
		const char *from;
		const char *to;
	} walks[] = {
		{ "*/30 * * * *", BERLIN, "2025-01-01T00:00:00Z",
		    "2026-01-01T00:00:00Z" },
		{ "30 2 * * *", NEWYORK, "2025-01-01T00:00:00Z",
		    "2026-01-01T00:00:00Z" },
		{ "15,45 1-2 * * *", LORDHOWE, "2025-01-01T00:00:00Z",
		    "2026-01-01T00:00:00Z" },
		{ "0 0 * * *", SAOPAULO, "2018-01-01T00:00:00Z",
		    "2020-01-01T00:00:00Z" },
		{ "0 0,23 * * *", AMMAN, "2014-01-01T00:00:00Z",
		    "2015-01-01T00:00:00Z" },
	};
	/* Each gap policy and each repeat policy at least once. */
	static const struct {
		cf_dst_gap    gap;
		cf_dst_repeat repeat;
	} pols[] = {
		{ G_SHIFT, R_AUTO },
		{ G_SKIP, R_LAST },
		{ G_AT, R_BOTH },
		{ G_SHIFT, R_FIRST },
	};
	size_t i, k;

	(void) state;
	for (i = 0; i < sizeof(walks) / sizeof(walks[0]); i++) {
		for (k = 0; k < sizeof(pols) / sizeof(pols[0]); k++) {
			struct ctx x  = { walks[i].expr, walks[i].tz,
				 pols[k].gap, pols[k].repeat, NULL };
			cf_cron   *c  = compile(x.expr, x.tz, x.gap, x.repeat);
			int64_t    t  = ts(walks[i].from);
			int64_t    to = ts(walks[i].to);
			int64_t    p  = -1;
			unsigned   pfl = 0;

			x.c = c;
			while (t < to) {
				int64_t  f  = -1;
				unsigned fl = 0;
				int      rc = cf_cron_next(c, t, &f, &fl);

				if (rc != 0 || f <= t) {
					check_call(&x, "cf_cron_next", t, rc,
					    f, fl, 0, t + 1, 0);
					fail_msg(
					    "cf_cron_next went backwards");
				}
				check_mirror(&x, c, f, fl, p, pfl, t);
				p   = f;
				pfl = fl;
				t   = f;
			}
			cf_cron_free(c);
		}
	}
}

int
main(void)
{
	enum {
		NSEQ = sizeof(seq_cases) / sizeof(seq_cases[0]),
		NWIN = sizeof(windows) / sizeof(windows[0]),
		NFIX = 6,
	};
	struct CMUnitTest tests[NSEQ + NWIN + NFIX];
	size_t            i, n = 0;

	for (i = 0; i < NSEQ; i++) {
		tests[n].name          = seq_cases[i].name;
		tests[n].test_func     = run_seq;
		tests[n].setup_func    = NULL;
		tests[n].teardown_func = NULL;
		tests[n].initial_state = &seq_cases[i];
		n++;
	}
	for (i = 0; i < NWIN; i++) {
		tests[n].name          = windows[i].name;
		tests[n].test_func     = run_sweep;
		tests[n].setup_func    = NULL;
		tests[n].teardown_func = NULL;
		tests[n].initial_state = &windows[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(unknown_zone);
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(empty_zone_is_utc);
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(zone_name_kept);
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(utc_offsets);
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(range_edges_in_zone);
	tests[n++] = (struct CMUnitTest) cmocka_unit_test(year_chains);
	assert_int_equal(n, NSEQ + NWIN + NFIX);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
