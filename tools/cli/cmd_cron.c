/*
 * cmd_cron.c - "cronfleet cron next|explain": the cron engine for people.
 *
 * Everything is computed before anything is printed, so invalid input
 * leaves stdout empty and exits with CLI_USAGE after one line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_cron.h"
#include "cf_time.h"
#include "cf_tz.h"
#include "cli.h"

#define MAX_COUNT 10000

typedef struct {
	const char * expr;
	cf_cron_opts opts;
	int64_t      from;
	int          count;
} cron_args;

/* "--name value" or "--name=value"; advances *i past what it used. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0) {
		return (NULL);
	}
	if (argv[*i][n] == '=') {
		return (argv[*i] + n + 1);
	}
	if (argv[*i][n] != '\0') {
		return (NULL);
	}
	if (*i + 1 >= argc) {
		*bad = 1;
		return (NULL);
	}
	(*i)++;
	return (argv[*i]);
}

static int
parse_args(int argc, char **argv, int def_count, cron_args *a)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	memset(a, 0, sizeof(*a));
	a->from  = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
	a->count = def_count;
	for (int i = 1; i < argc; i++) {
		const char *v;
		int         bad = 0;
		if ((v = opt_value(argc, argv, &i, "--tz", &bad)) != NULL) {
			a->opts.tz = v;
		} else if ((v = opt_value(argc, argv, &i, "--from", &bad)) !=
		    NULL) {
			if (cf_rfc3339_parse(v, &a->from) != CF_OK) {
				return (cli_usage_error("--from: '%s' is not "
				                        "an RFC 3339 time (e.g. "
				                        "2025-03-30T01:30:00Z)",
				    v));
			}
			if (a->from < CF_TZ_MIN_MS || a->from >= CF_TZ_MAX_MS) {
				return (cli_usage_error("--from: '%s' is "
				                        "outside 1970-2199",
				    v));
			}
		} else if ((v = opt_value(argc, argv, &i, "--count", &bad)) !=
		    NULL) {
			char *end;
			long  n;
			errno = 0;
			n     = strtol(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' || n < 1 ||
			    n > MAX_COUNT) {
				return (cli_usage_error("--count: '%s' is not "
				                        "a number from 1 to %d",
				    v, MAX_COUNT));
			}
			a->count = (int) n;
		} else if ((v = opt_value(argc, argv, &i, "--dst-gap", &bad)) !=
		    NULL) {
			if (strcmp(v, "shift") == 0) {
				a->opts.gap = CF_DST_GAP_SHIFT;
			} else if (strcmp(v, "skip") == 0) {
				a->opts.gap = CF_DST_GAP_SKIP;
			} else if (strcmp(v, "at-transition") == 0) {
				a->opts.gap = CF_DST_GAP_AT_TRANSITION;
			} else {
				return (cli_usage_error("--dst-gap: '%s' is not "
				                        "one of shift, skip, "
				                        "at-transition",
				    v));
			}
		} else if ((v = opt_value(argc, argv, &i, "--dst-repeat",
		                &bad)) != NULL) {
			if (strcmp(v, "auto") == 0) {
				a->opts.repeat = CF_DST_REPEAT_AUTO;
			} else if (strcmp(v, "first") == 0) {
				a->opts.repeat = CF_DST_REPEAT_FIRST;
			} else if (strcmp(v, "last") == 0) {
				a->opts.repeat = CF_DST_REPEAT_LAST;
			} else if (strcmp(v, "both") == 0) {
				a->opts.repeat = CF_DST_REPEAT_BOTH;
			} else {
				return (cli_usage_error("--dst-repeat: '%s' is "
				                        "not one of auto, first, "
				                        "last, both",
				    v));
			}
		} else if (bad) {
			return (cli_usage_error("%s needs a value", argv[i]));
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			return (cli_usage_error("unknown option '%s'", argv[i]));
		} else if (a->expr == NULL) {
			a->expr = argv[i];
		} else {
			return (cli_usage_error("unexpected argument '%s' (quote "
			                        "the expression: '0 2 * * *')",
			    argv[i]));
		}
	}
	if (a->expr == NULL) {
		return (cli_usage_error("cron %s: missing expression", argv[0]));
	}
	return (CLI_OK);
}

static int
compile(const cron_args *a, cf_cron **c)
{
	char err[CF_CRON_ERRLEN];
	int  rv = cf_cron_parse(c, a->expr, &a->opts, err, sizeof(err));
	if (rv == CF_ENOMEM) {
		fprintf(stderr, "cronfleet: out of memory\n");
		return (CLI_FAIL);
	}
	if (rv != CF_OK) {
		return (cli_usage_error("%s", err));
	}
	return (CLI_OK);
}

/* Fills fires[] with up to count fires after from; returns how many. */
static int
collect(const cf_cron *c, int64_t from, int count, int64_t *fires,
    unsigned *flags)
{
	int n = 0;
	while (n < count &&
	    cf_cron_next(c, from, &fires[n], &flags[n]) == CF_OK) {
		from = fires[n++];
	}
	return (n);
}

static void
fmt_fire(const cf_cron *c, int64_t t, char *buf, size_t len)
{
	cf_rfc3339_format(buf, len, t, cf_cron_utc_offset(c, t), 0);
}

static int
cron_next(int argc, char **argv)
{
	cron_args a;
	cf_cron * c = NULL;
	int64_t * fires;
	unsigned *flags;
	int       rv, n;

	if ((rv = parse_args(argc, argv, 1, &a)) != CLI_OK ||
	    (rv = compile(&a, &c)) != CLI_OK) {
		return (rv);
	}
	fires = calloc((size_t) a.count, sizeof(*fires));
	flags = calloc((size_t) a.count, sizeof(*flags));
	if (fires == NULL || flags == NULL) {
		fprintf(stderr, "cronfleet: out of memory\n");
		rv = CLI_FAIL;
		goto out;
	}
	n = collect(c, a.from, a.count, fires, flags);
	for (int i = 0; i < n; i++) {
		char buf[40];
		fmt_fire(c, fires[i], buf, sizeof(buf));
		puts(buf);
	}
	if (n < a.count) {
		fprintf(stderr,
		    "cronfleet: %s fire%s before 2200-01-01T00:00:00Z\n",
		    n == 0 ? "no" : "no further", n == 0 ? "" : "s");
		rv = (n == 0) ? CLI_FAIL : CLI_OK;
	}
out:
	free(fires);
	free(flags);
	cf_cron_free(c);
	return (rv);
}

/* "02:30" for the wall time of t at offset off (seconds). */
static void
fmt_wall(int64_t t, int off, char *buf, size_t len)
{
	cf_civil w;
	cf_civil_from_ms(t + off * 1000LL, &w);
	if (w.second != 0) {
		snprintf(buf, len, "%02d:%02d:%02d", w.hour, w.minute, w.second);
	} else {
		snprintf(buf, len, "%02d:%02d", w.hour, w.minute);
	}
}

/* What DST did to a fire, in words (empty if nothing). */
static void
dst_note(const cf_cron *c, int64_t t, unsigned fl, char *buf, size_t len)
{
	char wall[16];
	int  off = cf_cron_utc_offset(c, t);

	buf[0] = '\0';
	if (fl & (CF_FIRE_DST_SHIFTED | CF_FIRE_DST_AT_TRANSITION)) {
		/*
		 * Such a fire lies within a few hours after its transition;
		 * a day earlier the zone still had the old offset.
		 */
		int before = cf_cron_utc_offset(c, t - CF_MS_PER_DAY);
		int gap    = off - before;
		if (fl & CF_FIRE_DST_SHIFTED) {
			fmt_wall(t, before, wall, sizeof(wall));
			snprintf(buf, len,
			    "DST: %s does not exist that day; shifted by "
			    "%dh%02d",
			    wall, gap / 3600, gap / 60 % 60);
		} else {
			snprintf(buf, len,
			    "DST: wall time skipped by the clock change; fired "
			    "at the transition");
		}
		return;
	}
	if (fl & CF_FIRE_DST_REPEATED) {
		fmt_wall(t, off, wall, sizeof(wall));
		if (fl & CF_FIRE_DST_DOUBLED) {
			snprintf(buf, len,
			    "DST: %s occurs twice; %s of two fires", wall,
			    (fl & CF_FIRE_DST_SECOND) ? "second" : "first");
		} else {
			snprintf(buf, len,
			    "DST: %s occurs twice; fires at the %s only", wall,
			    (fl & CF_FIRE_DST_SECOND) ? "second" : "first");
		}
	}
}

static int
cron_explain(int argc, char **argv)
{
	cron_args a;
	cf_cron * c = NULL;
	int64_t * fires;
	unsigned *flags;
	char      desc[512], warn[512];
	int       rv, n;

	if ((rv = parse_args(argc, argv, 5, &a)) != CLI_OK ||
	    (rv = compile(&a, &c)) != CLI_OK) {
		return (rv);
	}
	fires = calloc((size_t) a.count, sizeof(*fires));
	flags = calloc((size_t) a.count, sizeof(*flags));
	if (fires == NULL || flags == NULL) {
		fprintf(stderr, "cronfleet: out of memory\n");
		rv = CLI_FAIL;
		goto out;
	}
	n = collect(c, a.from, a.count, fires, flags);
	cf_cron_describe(c, desc, sizeof(desc));
	/* An interval counts real time: its zone only formats the fires. */
	if (cf_cron_is_interval(c)) {
		printf("%s\n", desc);
	} else {
		printf("%s, %s\n", desc, cf_cron_tz_name(c));
	}
	if (cf_cron_warning(c, warn, sizeof(warn)) > 0) {
		printf("Warning: %s\n", warn);
	}
	printf("Next %d fire%s:\n", n, n == 1 ? "" : "s");
	for (int i = 0; i < n; i++) {
		char buf[40], note[160];
		fmt_fire(c, fires[i], buf, sizeof(buf));
		dst_note(c, fires[i], flags[i], note, sizeof(note));
		printf("  %s%s%s\n", buf, note[0] ? "  " : "", note);
	}
	if (n < a.count) {
		printf("  (no further fires before 2200-01-01)\n");
	}
out:
	free(fires);
	free(flags);
	cf_cron_free(c);
	return (rv);
}

int
cli_cron(int argc, char **argv)
{
	if (argc < 2) {
		return (cli_usage_error("cron: expected 'next' or 'explain'"));
	}
	if (strcmp(argv[1], "next") == 0) {
		return (cron_next(argc - 1, argv + 1));
	}
	if (strcmp(argv[1], "explain") == 0) {
		return (cron_explain(argc - 1, argv + 1));
	}
	return (cli_usage_error("cron: unknown subcommand '%s' (expected "
	                        "'next' or 'explain')",
	    argv[1]));
}
