/*
 * fuzz_cron_parse.c - libFuzzer target for the cron parser.
 *
 * The input's first byte picks a zone and DST policy; the rest is the
 * expression. Whatever parses must then behave: next() is strictly after
 * its argument, prev(next(t)) == next(t), and describing it fits. Any
 * violation traps, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cf_cron.h"
#include "cf_tz.h"

static const char *const zones[] = { "UTC", "Europe/Berlin",
	"America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
	"America/Sao_Paulo", "Asia/Amman", "Pacific/Apia" };
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static cf_tz *held[NZONES];

/* Keep every zone open so each run does not rebuild its table. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CF_CRON_ERRLEN];
	(void) argc;
	(void) argv;
	for (size_t i = 0; i < NZONES; i++) {
		if (cf_tz_open(&held[i], zones[i], err, sizeof(err)) != 0) {
			abort();
		}
	}
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char         err[CF_CRON_ERRLEN], text[600];
	cf_cron_opts o = { 0 };
	cf_cron *    c = NULL;
	char *       expr;
	int64_t      t, f, p;

	if (size < 1 || size > 2048) {
		return (0);
	}
	o.tz     = zones[data[0] % NZONES];
	o.gap    = (cf_dst_gap) ((data[0] >> 3) % 3);
	o.repeat = (cf_dst_repeat) ((data[0] >> 5) % 4);
	if ((expr = malloc(size)) == NULL) {
		return (0);
	}
	memcpy(expr, data + 1, size - 1);
	expr[size - 1] = '\0';

	if (cf_cron_parse(&c, expr, &o, err, sizeof(err)) != CF_OK) {
		/* A failure always explains itself in one line. */
		if (err[0] == '\0' || strchr(err, '\n') != NULL) {
			__builtin_trap();
		}
		free(expr);
		return (0);
	}
	/* A few instants spread over the supported range. */
	for (int i = 0; i < 4; i++) {
		t = 1700000000000LL + (int64_t) i * 97531234567LL;
		if (cf_cron_next(c, t, &f, NULL) == CF_OK) {
			if (f <= t || cf_cron_prev(c, f, &p, NULL) != CF_OK ||
			    p != f) {
				__builtin_trap();
			}
			if (cf_cron_prev(c, f - 1, &p, NULL) == CF_OK &&
			    p >= f) {
				__builtin_trap();
			}
		}
	}
	if (cf_cron_describe(c, text, sizeof(text)) <= 0) {
		__builtin_trap();
	}
	cf_cron_warning(c, text, sizeof(text));
	cf_cron_free(c);
	free(expr);
	return (0);
}
