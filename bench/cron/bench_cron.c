/*
 * bench_cron.c - the cost of one next-fire of the cron engine.
 *
 * Every expression of a fixed set is parsed once. A repetition then starts
 * at 2025-01-01T00:00:00Z and chains BENCH_K calls of cf_cron_next(),
 * feeding each fire back in as the next "after" instant, and is timed with
 * CLOCK_MONOTONIC. The figure printed for an expression is the median over
 * the repetitions of elapsed / BENCH_K, in nanoseconds.
 *
 * Usage:
 *   bench_cron [--reps R]          time every expression (TSV on stdout)
 *   bench_cron --list              the expression set (TSV)
 *   bench_cron --fires             fires used to check the peers agree
 *   bench_cron --callgrind I [N]   only chain N (default BENCH_K) calls for
 *                                  expression I, for
 *                                  valgrind --tool=callgrind
 *                                           --toggle-collect=cf_cron_next
 *
 * bench/cron/node/bench.mjs measures the peers the same way, and
 * bench/cron/run puts the figures side by side.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_cron.h"
#include "cf_err.h"
#include "cf_time.h"

/* 2025-01-01T00:00:00Z, the start instant of every chain. */
#define BENCH_START_MS 1735689600000LL

/* Calls chained per repetition. */
#define BENCH_K 1000

/* Default number of timed repetitions; odd, so the median is one of them. */
#define BENCH_REPS 21

/*
 * Fires listed per window by --fires: at least this many, and in a DST
 * window also every fire up to BENCH_CHECK_AFTER past the offset change
 * (so that dense schedules cover the change itself), at most
 * BENCH_CHECK_MAX.
 */
#define BENCH_CHECK_FIRST 8
#define BENCH_CHECK_DST 12
#define BENCH_CHECK_AFTER (3 * CF_MS_PER_HOUR)
#define BENCH_CHECK_MAX 64

struct bench_case {
	const char *expr;
	const char *tz; /* IANA name; "UTC" for the default zone */
};

/*
 * The set. bench.mjs carries the same list (the runner hands it this one
 * through --list, so the two cannot drift apart). None of these runs out of
 * fires within BENCH_K calls of the start: the sparsest ones fire monthly,
 * which is 83 years, well before the engine's 2200 horizon.
 */
static const struct bench_case bench_cases[] = {
	{ "*/15 * * * *", "UTC" },
	{ "0 2 * * *", "Europe/Berlin" },
	{ "0 3 * * 0", "UTC" },
	{ "0 4 1 * *", "UTC" },
	{ "0 8-20 * * *", "UTC" },
	{ "0 */6 * * *", "UTC" },
	{ "0 9 * * MON#1", "UTC" },
	{ "0 0 L * *", "UTC" },
	{ "*/20 * * * * *", "UTC" },
	{ "30 2 * * *", "Europe/Berlin" },
	{ "*/15 * * * *", "America/New_York" },
	{ "0 9 * * 1-5", "Asia/Kolkata" },
	{ "30 1 * * *", "America/New_York" },
	{ "0 */6 * * *", "Australia/Lord_Howe" },
	{ "0 9 * * MON#1", "America/Los_Angeles" },
	{ "0 0 L * *", "Australia/Sydney" },
};

#define BENCH_NCASES (sizeof(bench_cases) / sizeof(bench_cases[0]))

/*
 * Keeps the fires observable, so that no compiler can decide the chain has
 * no effect.
 */
static volatile int64_t bench_sink;

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: bench_cron [--reps R] | --list | --fires |"
	    " --callgrind INDEX [CALLS]\n");
}

static int
bench_parse_index(const char *s, long max, long *out)
{
	char *end;
	long  v;

	errno = 0;
	v     = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		return (-1);
	}
	*out = v;
	return (0);
}

static cf_cron *
bench_compile(const struct bench_case *bc)
{
	cf_cron_opts opts;
	cf_cron     *c = NULL;
	char         err[CF_CRON_ERRLEN];
	int          rv;

	memset(&opts, 0, sizeof(opts));
	opts.tz = bc->tz;
	rv      = cf_cron_parse(&c, bc->expr, &opts, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "bench_cron: %s (%s): %s: %s\n", bc->expr,
		    bc->tz, cf_strerror(rv), err);
		return (NULL);
	}
	return (c);
}

/*
 * Runs one chain of n calls from the start instant. Returns 0, or the
 * engine's error when the chain ends early, which would make the timing
 * meaningless.
 */
static int
bench_chain(const cf_cron *c, int n)
{
	int64_t t = BENCH_START_MS;
	int64_t fire;
	int     rv;

	for (int i = 0; i < n; i++) {
		rv = cf_cron_next(c, t, &fire, NULL);
		if (rv != 0) {
			return (rv);
		}
		t = fire;
	}
	bench_sink = t;
	return (0);
}

static int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static int
bench_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a;
	int64_t y = *(const int64_t *) b;

	return ((x > y) - (x < y));
}

/* The median elapsed time of reps chains, in nanoseconds per call. */
static int
bench_measure(const cf_cron *c, int reps, double *ns_op)
{
	int64_t *elapsed;
	int64_t  t0;
	int      rv;

	elapsed = calloc((size_t) reps, sizeof(*elapsed));
	if (elapsed == NULL) {
		return (CF_ENOMEM);
	}
	/*
	 * One untimed chain first, so that the caches and the branch
	 * predictor start the same way for every timed one.
	 */
	if ((rv = bench_chain(c, BENCH_K)) != 0) {
		free(elapsed);
		return (rv);
	}
	for (int r = 0; r < reps; r++) {
		t0 = bench_now_ns();
		if ((rv = bench_chain(c, BENCH_K)) != 0) {
			free(elapsed);
			return (rv);
		}
		elapsed[r] = bench_now_ns() - t0;
	}
	qsort(elapsed, (size_t) reps, sizeof(*elapsed), bench_cmp_i64);
	if (reps % 2 == 1) {
		*ns_op = (double) elapsed[reps / 2] / BENCH_K;
	} else {
		*ns_op = (double) (elapsed[reps / 2 - 1] + elapsed[reps / 2])
		    / 2.0 / BENCH_K;
	}
	free(elapsed);
	return (0);
}

static int
bench_run_all(int reps)
{
	int status = 0;

	printf("# K=%d R=%d start=%" PRId64 "\n", BENCH_K, reps,
	    (int64_t) BENCH_START_MS);
	printf("# index\texpr\ttz\tns_op\n");
	for (size_t i = 0; i < BENCH_NCASES; i++) {
		const struct bench_case *bc = &bench_cases[i];
		cf_cron                 *c  = bench_compile(bc);
		double                   ns_op;
		int                      rv;

		if (c == NULL) {
			printf("%zu\t%s\t%s\tn/a\n", i, bc->expr, bc->tz);
			status = 1;
			continue;
		}
		rv = bench_measure(c, reps, &ns_op);
		if (rv != 0) {
			fprintf(stderr, "bench_cron: %s (%s): chain: %s\n",
			    bc->expr, bc->tz, cf_strerror(rv));
			printf("%zu\t%s\t%s\tn/a\n", i, bc->expr, bc->tz);
			status = 1;
		} else {
			printf(
			    "%zu\t%s\t%s\t%.2f\n", i, bc->expr, bc->tz, ns_op);
		}
		fflush(stdout);
		cf_cron_free(c);
	}
	return (status);
}

static int
bench_list(void)
{
	printf("# index\texpr\ttz\n");
	for (size_t i = 0; i < BENCH_NCASES; i++) {
		printf("%zu\t%s\t%s\n", i, bench_cases[i].expr,
		    bench_cases[i].tz);
	}
	return (0);
}

/*
 * Prints one check window as UTC milliseconds: the fires after start, at
 * least n of them and all of those up to until.
 */
static void
bench_print_window(
    size_t i, const cf_cron *c, int64_t start, int n, int64_t until)
{
	int64_t t = start;
	int64_t fire;

	printf("%zu\t%s\t%s\t%" PRId64 "\t", i, bench_cases[i].expr,
	    bench_cases[i].tz, start);
	for (int k = 0; k < BENCH_CHECK_MAX && (k < n || t < until); k++) {
		if (cf_cron_next(c, t, &fire, NULL) != 0) {
			break;
		}
		printf("%s%" PRId64, k == 0 ? "" : ",", fire);
		t = fire;
	}
	printf("\n");
}

/*
 * The fires the peers are checked against: the first few from the start
 * instant and, for zones with daylight saving time, a window from six hours
 * before to three hours after each offset change in 2025 (at least
 * BENCH_CHECK_DST fires). The changes are found by asking
 * the engine for the offset hour by hour, which keeps this program free of
 * any zone knowledge of its own.
 */
static int
bench_fires(void)
{
	const int64_t year_end = 1767225600000LL; /* 2026-01-01T00:00Z */

	printf("# index\texpr\ttz\tstart_ms\tfires_ms\n");
	for (size_t i = 0; i < BENCH_NCASES; i++) {
		cf_cron *c = bench_compile(&bench_cases[i]);
		int      prev_off;

		if (c == NULL) {
			continue;
		}
		bench_print_window(
		    i, c, BENCH_START_MS, BENCH_CHECK_FIRST, BENCH_START_MS);
		prev_off = cf_cron_utc_offset(c, BENCH_START_MS);
		for (int64_t t = BENCH_START_MS + CF_MS_PER_HOUR; t < year_end;
		     t += CF_MS_PER_HOUR) {
			int off = cf_cron_utc_offset(c, t);

			if (off != prev_off) {
				bench_print_window(i, c,
				    t - 6 * CF_MS_PER_HOUR, BENCH_CHECK_DST,
				    t + BENCH_CHECK_AFTER);
				prev_off = off;
			}
		}
		cf_cron_free(c);
	}
	return (0);
}

/*
 * Only the chain, and nothing else that calls cf_cron_next(), so that the
 * instructions callgrind collects under --toggle-collect=cf_cron_next,
 * divided by the number of calls printed here, are the cost of one fire.
 */
static int
bench_callgrind(size_t i, int n)
{
	cf_cron *c = bench_compile(&bench_cases[i]);
	int      rv;

	if (c == NULL) {
		return (1);
	}
	rv = bench_chain(c, n);
	cf_cron_free(c);
	if (rv != 0) {
		fprintf(stderr, "bench_cron: %s (%s): chain: %s\n",
		    bench_cases[i].expr, bench_cases[i].tz, cf_strerror(rv));
		return (1);
	}
	printf("calls\t%d\n", n);
	return (0);
}

int
main(int argc, char **argv)
{
	long v;

	if (argc == 1) {
		return (bench_run_all(BENCH_REPS));
	}
	if (argc == 3 && strcmp(argv[1], "--reps") == 0) {
		if (bench_parse_index(argv[2], 100000, &v) != 0 || v < 1) {
			bench_usage();
			return (2);
		}
		return (bench_run_all((int) v));
	}
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		return (bench_list());
	}
	if (argc == 2 && strcmp(argv[1], "--fires") == 0) {
		return (bench_fires());
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "--callgrind") == 0) {
		long idx;
		long n = BENCH_K;

		if (bench_parse_index(argv[2], (long) BENCH_NCASES - 1, &idx)
		        != 0
		    || (argc == 4
		        && bench_parse_index(argv[3], 100000000L, &n) != 0)) {
			bench_usage();
			return (2);
		}
		return (bench_callgrind((size_t) idx, (int) n));
	}
	bench_usage();
	return (2);
}
