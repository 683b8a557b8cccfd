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
	int64_t anchor;       /* CRONFLEET_CLOCK_ANCHOR as UTC ms, or -1 */
	char *  redis_url;    /* REDIS_URL: the leader lease */
	char *  clock_id;     /* CRONFLEET_CLOCK_ID: this clock among peers */
	int64_t lease_ms;     /* CRONFLEET_CLOCK_LEASE */
} clock_cfg;

typedef struct clock_actor clock_actor;

/*
 * Connects to PostgreSQL, applies the clock's migrations and starts the
 * loop and the leader lease (lease.h), as a standby: a standby neither
 * listens on the REP and PUB addresses nor fires. When the lease makes it
 * leader (a new epoch), it loads the stored schedules and switches, sets
 * each job's cursor from the ledger (catchup_cursors), listens, and fires,
 * every tick and ledger entry carrying the epoch; when it loses the lease,
 * or the ledger refuses a fire because another clock has begun a newer
 * epoch, it stops firing at once and closes the addresses.
 * On success *out runs until clock_close(). cfg must outlive it.
 */
int clock_open(clock_actor **out, const clock_cfg *cfg, char *err, size_t errlen);

/*
 * Steps down if leading (a standby then takes over at once: the Redis key
 * is deleted and the PostgreSQL lock released), stops the loop, frees.
 */
void clock_close(clock_actor *c);

#endif /* CLOCK_CLOCK_H */
