/*
 * clock.h - the clock actor: owns every job's schedule, sleeps until the
 * next fire, records it in the ledger, publishes its tick, and answers
 * commands on its REP socket.
 */
#ifndef CLOCK_CLOCK_H
#define CLOCK_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct clock_cfg {
	char *  rep_url;      /* CRONFLEET_CLOCK_REP */
	char *  pub_url;      /* CRONFLEET_CLOCK_PUB */
	char *  database_url; /* DATABASE_URL */
	char *  schema;       /* CRONFLEET_CLOCK_SCHEMA */
	char *  default_tz;   /* SCHEDULER_TIMEZONE */
	char *  migrations;   /* CRONFLEET_MIGRATIONS (folder with clock/) */
	bool    enabled;      /* ENABLE_SCHEDULER */
	int64_t max_jobs;     /* CRONFLEET_CLOCK_MAX_JOBS */
	int64_t virt_start;   /* CRONFLEET_CLOCK_START as UTC ms, or -1 */
	int64_t rate;         /* CRONFLEET_CLOCK_RATE: virtual ms per real ms */
} clock_cfg;

typedef struct clock_actor clock_actor;

/*
 * Connects to PostgreSQL, applies the clock's migrations, loads the
 * stored schedules and switches, opens the sockets and starts the loop.
 * On success *out runs until clock_close(). cfg must outlive it.
 */
int clock_open(clock_actor **out, const clock_cfg *cfg, char *err, size_t errlen);

/* Stops the loop and the sockets, and frees. */
void clock_close(clock_actor *c);

#endif /* CLOCK_CLOCK_H */
