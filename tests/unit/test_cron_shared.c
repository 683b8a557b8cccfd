/*
 * test_cron_shared.c - the next/prev path allocates nothing and one
 * compiled schedule can be shared by threads.
 *
 * malloc, calloc and realloc are interposed (glibc resolves the program's
 * definitions first) to count calls while a flag is armed.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cf_cron.h"

/*
 * ASan brings its own allocator and intercepts malloc itself; counting
 * there would fight it, so that build checks threads only.
 */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static _Thread_local int armed;
static atomic_long       allocs;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *
malloc(size_t n)
{
	if (armed) {
		atomic_fetch_add(&allocs, 1);
	}
	return (__libc_malloc(n));
}

void *
calloc(size_t n, size_t m)
{
	if (armed) {
		atomic_fetch_add(&allocs, 1);
	}
	return (__libc_calloc(n, m));
}

void *
realloc(void *p, size_t n)
{
	if (armed) {
		atomic_fetch_add(&allocs, 1);
	}
	return (__libc_realloc(p, n));
}
#endif

static const struct {
	const char *expr;
	const char *tz;
} cases[] = {
	{ "*/15 * * * *", "UTC" },
	{ "30 2 * * *", "Europe/Berlin" },
	{ "*/20 * * * * *", "America/New_York" },
	{ "0 0 L * *", "Australia/Lord_Howe" },
	{ "0 9 * * MON#1", "America/Sao_Paulo" },
	{ "0 0 29 2 *", "Europe/Berlin" },
	{ "@every 90s", "UTC" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))
#define CHAIN 400

/* A chain of fires both ways from a fixed instant. */
static void
chain(const cf_cron *c, int64_t *out)
{
	int64_t t = 1735689600000LL; /* 2025-01-01T00:00:00Z */
	for (int i = 0; i < 2 * CHAIN; i++) {
		out[i] = -1; /* a chain may end before CHAIN fires */
	}
	for (int i = 0; i < CHAIN; i++) {
		if (cf_cron_next(c, t, &out[i], NULL) != CF_OK) {
			out[i] = -1;
			break;
		}
		t = out[i];
	}
	for (int i = 0; i < CHAIN; i++) {
		unsigned fl;
		if (cf_cron_prev(c, t - 1, &out[CHAIN + i], &fl) != CF_OK) {
			out[CHAIN + i] = -1;
			break;
		}
		t = out[CHAIN + i];
	}
}

static void
next_prev_do_not_allocate(void **state)
{
	(void) state;
	if (!COUNT_ALLOCS) {
		skip();
	}
	for (size_t i = 0; i < NCASES; i++) {
		cf_cron_opts o = { cases[i].tz, 0, 0 };
		char         err[CF_CRON_ERRLEN];
		cf_cron *    c;
		int64_t      out[2 * CHAIN];

		assert_int_equal(cf_cron_parse(&c, cases[i].expr, &o, err,
		                     sizeof(err)),
		    CF_OK);
		atomic_store(&allocs, 0);
		armed = 1;
		chain(c, out);
		armed = 0;
		assert_int_equal(atomic_load(&allocs), 0);
		cf_cron_free(c);
	}
}

typedef struct {
	const cf_cron *c;
	const int64_t *want;
	int            ok;
} worker;

static void *
worker_run(void *arg)
{
	worker *w = arg;
	int64_t got[2 * CHAIN];
	w->ok     = 1;
	for (int round = 0; round < 20; round++) {
		chain(w->c, got);
		for (int i = 0; i < 2 * CHAIN; i++) {
			if (got[i] != w->want[i]) {
				w->ok = 0;
			}
		}
	}
	return (NULL);
}

static void
shared_between_threads(void **state)
{
	(void) state;
	for (size_t i = 0; i < NCASES; i++) {
		cf_cron_opts o = { cases[i].tz, 0, 0 };
		char         err[CF_CRON_ERRLEN];
		cf_cron *    c;
		int64_t      want[2 * CHAIN];
		pthread_t    th[4];
		worker       w[4];

		assert_int_equal(cf_cron_parse(&c, cases[i].expr, &o, err,
		                     sizeof(err)),
		    CF_OK);
		chain(c, want);
		for (int k = 0; k < 4; k++) {
			w[k] = (worker) { c, want, 0 };
			assert_int_equal(
			    pthread_create(&th[k], NULL, worker_run, &w[k]), 0);
		}
		for (int k = 0; k < 4; k++) {
			pthread_join(th[k], NULL);
			assert_true(w[k].ok);
		}
		cf_cron_free(c);
	}
}

/* Zones are shared and reference-counted: parse/free from many threads. */
static void *
parse_free_run(void *arg)
{
	int *ok = arg;
	*ok     = 1;
	for (int i = 0; i < 50; i++) {
		cf_cron_opts o = { cases[i % NCASES].tz, 0, 0 };
		char         err[CF_CRON_ERRLEN];
		cf_cron *    c;
		if (cf_cron_parse(&c, cases[i % NCASES].expr, &o, err,
		        sizeof(err)) != CF_OK) {
			*ok = 0;
			continue;
		}
		cf_cron_free(c);
	}
	return (NULL);
}

static void
parse_free_concurrently(void **state)
{
	pthread_t th[4];
	int       ok[4];
	(void) state;
	for (int k = 0; k < 4; k++) {
		assert_int_equal(
		    pthread_create(&th[k], NULL, parse_free_run, &ok[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		assert_true(ok[k]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(next_prev_do_not_allocate),
		cmocka_unit_test(shared_between_threads),
		cmocka_unit_test(parse_free_concurrently),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
