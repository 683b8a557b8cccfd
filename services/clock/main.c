/*
 * main.c - cronfleet-clock: configuration, the clock actor, shutdown.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "cf_config.h"
#include "cf_log.h"
#include "cf_time.h"
#include "clock.h"

#ifndef CF_DB_DIR
#define CF_DB_DIR "db"
#endif

static const char *const tcp_only[]   = { "tcp", "ipc", "inproc", NULL };
static const char *const pg_urls[]    = { "postgres", "postgresql", NULL };
static const char *const redis_urls[] = { "redis", NULL };

typedef struct {
	clock_cfg clock;
	char     *start;
	char     *anchor;
	int       log_level;
} settings;

static const cf_config_item table[] = {
	CF_CFG_URL("CRONFLEET_CLOCK_REP", tcp_only, "tcp://127.0.0.1:7101", 0,
	    settings, clock.rep_url, "commands (REP)"),
	CF_CFG_URL("CRONFLEET_CLOCK_PUB", tcp_only, "tcp://127.0.0.1:7100", 0,
	    settings, clock.pub_url, "ticks (PUB)"),
	CF_CFG_URL("DATABASE_URL", pg_urls, NULL, CF_CONFIG_REQUIRED, settings,
	    clock.database_url, "PostgreSQL"),
	CF_CFG_STRING("CRONFLEET_CLOCK_SCHEMA", "clock", 0, settings,
	    clock.schema, "the clock's schema"),
	CF_CFG_ZONE("SCHEDULER_TIMEZONE", "UTC", settings, clock.default_tz,
	    "zone of schedules that name none"),
	CF_CFG_STRING("CRONFLEET_MIGRATIONS", CF_DB_DIR, 0, settings,
	    clock.migrations, "folder holding clock/ migrations"),
	CF_CFG_BOOL("ENABLE_SCHEDULER", "true", settings, clock.enabled,
	    "start with the scheduler running"),
	CF_CFG_INT("CRONFLEET_CLOCK_MAX_JOBS", 1, 100000, "1024", settings,
	    clock.max_jobs, "most jobs the clock holds"),
	CF_CFG_STRING("CRONFLEET_CLOCK_START", NULL, 0, settings, start,
	    "virtual time: start the clock at this RFC 3339 instant"),
	CF_CFG_INT("CRONFLEET_CLOCK_RATE", 1, 100000000, "1", settings,
	    clock.rate, "virtual time: clock speed (3600 = an hour a second)"),
	CF_CFG_STRING("CRONFLEET_CLOCK_ANCHOR", NULL, 0, settings, anchor,
	    "virtual time: the real RFC 3339 instant at which it equals "
	    "CRONFLEET_CLOCK_START (default: when the process starts); give "
	    "every clock the same one"),
	CF_CFG_URL("REDIS_URL", redis_urls, "redis://127.0.0.1:6379/0",
	    CF_CONFIG_SECRET, settings, clock.redis_url,
	    "Redis, for the leader lease (PostgreSQL stands in when it is "
	    "unreachable)"),
	CF_CFG_DURATION("CRONFLEET_CLOCK_LEASE", 500, 3600000, "5s", settings,
	    clock.lease_ms,
	    "leader lease: a standby takes over within this after the leader "
	    "dies"),
	CF_CFG_STRING("CRONFLEET_CLOCK_ID", NULL, 0, settings, clock.clock_id,
	    "this clock's name among the clocks sharing the schema, unique "
	    "(default <hostname>:<pid>)"),
	CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names, "info",
	    settings, log_level, "log level"),
};

int
main(void)
{
	settings     s = { 0 };
	sigset_t     sigs;
	clock_actor *c;
	char         err[1024];
	int          sig, rv;

	/* Signals are taken by sigwait below, never by a handler. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	cf_config_load_or_exit(
	    table, sizeof(table) / sizeof(table[0]), &s, "cronfleet-clock");
	s.clock.virt_start = -1;
	if (s.start != NULL && *s.start != '\0'
	    && cf_rfc3339_parse(s.start, &s.clock.virt_start) != 0) {
		fprintf(stderr,
		    "cronfleet-clock: CRONFLEET_CLOCK_START: '%.60s' is not "
		    "an RFC 3339 time (e.g. 2025-03-29T23:00:00Z)\n",
		    s.start);
		cf_config_free(table, sizeof(table) / sizeof(table[0]), &s);
		return (2);
	}
	s.clock.anchor = -1;
	if (s.anchor != NULL && s.start == NULL) {
		fprintf(stderr,
		    "cronfleet-clock: CRONFLEET_CLOCK_ANCHOR needs "
		    "CRONFLEET_CLOCK_START (the virtual instant at the "
		    "anchor)\n");
		cf_config_free(table, sizeof(table) / sizeof(table[0]), &s);
		return (2);
	}
	if (s.anchor != NULL
	    && cf_rfc3339_parse(s.anchor, &s.clock.anchor) != 0) {
		fprintf(stderr,
		    "cronfleet-clock: CRONFLEET_CLOCK_ANCHOR: '%.60s' is not "
		    "an RFC 3339 time (e.g. 2025-03-29T23:00:00Z)\n",
		    s.anchor);
		cf_config_free(table, sizeof(table) / sizeof(table[0]), &s);
		return (2);
	}
	if (s.clock.clock_id == NULL) {
		/* Unique among clocks: a host runs one process per pid. */
		char host[256] = "";
		char id[320];
		if (gethostname(host, sizeof(host) - 1) != 0
		    || host[0] == '\0') {
			snprintf(host, sizeof(host), "localhost");
		}
		snprintf(id, sizeof(id), "%s:%ld", host, (long) getpid());
		if ((s.clock.clock_id = strdup(id)) == NULL) {
			fprintf(stderr, "cronfleet-clock: out of memory\n");
			cf_config_free(
			    table, sizeof(table) / sizeof(table[0]), &s);
			return (1);
		}
	}
	if (s.clock.virt_start < 0 && s.clock.rate != 1) {
		/* A speed without a start: from now. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s.clock.virt_start
		    = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	cf_log_init("clock", s.log_level);
	if ((rv = clock_open(&c, &s.clock, err, sizeof(err))) != 0) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL, "clock failed to start",
		    "error", err, NULL);
		cf_config_free(table, sizeof(table) / sizeof(table[0]), &s);
		return (1);
	}
	sigwait(&sigs, &sig);
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "stopping", "signal",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	clock_close(c);
	/*
	 * A tick queued for a subscriber that went away can still sit in a
	 * pipe after its socket closed; nng frees it here, so leak checkers
	 * see a clean exit.
	 */
	nng_fini();
	cf_config_free(table, sizeof(table) / sizeof(table[0]), &s);
	return (0);
}
