/*
 * ledger.h - what the clock keeps in PostgreSQL: the fire ledger, the
 * schedules as changed at runtime, and the scheduler's on/off switch.
 * Tables are in db/clock/; every statement names the schema given to
 * store_init, so a reconnect (which loses session settings) changes
 * nothing.
 */
#ifndef CLOCK_LEDGER_H
#define CLOCK_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "cf_pg.h"
#include "cf_proto.h"
#include "schedule.h"

/* Sets the schema the statements use (a plain identifier). */
int store_init(cf_pg *pg, const char *schema, char *err, size_t errlen);

/*
 * Records a fire. Returns CF_OK, CF_EEXIST when (job, instant) or the
 * fire id is already there (it must not be published again), or an
 * error from cf_pg_exec.
 */
int ledger_record(cf_pg *pg, const char *job, const char *service,
    int64_t at, const char *fire_id, cf_trigger trigger, uint64_t epoch,
    char *err, size_t errlen);

typedef struct stored_job {
	char job[CLOCK_NAME_MAX];
	char service[CLOCK_NAME_MAX];
	char expr[CLOCK_EXPR_MAX];
	char tz[CLOCK_NAME_MAX];
	int  paused;
	int  overridden;
} stored_job;

/*
 * Writes a job's row. overridden: 1 the expression was set at runtime,
 * 0 it was not, -1 keep what is stored.
 */
int store_schedule(cf_pg *pg, const char *job, const char *service,
    const char *expr, const char *tz, int paused, int overridden,
    const char *by, char *err, size_t errlen);

/* One job's row; *found is 0 when there is none. */
int store_load_one(cf_pg *pg, const char *job, stored_job *out, int *found,
    char *err, size_t errlen);

/* Every row, as a malloc'd array the caller frees. */
int store_load_all(
    cf_pg *pg, stored_job **out, int *n, char *err, size_t errlen);

int store_setting(cf_pg *pg, const char *key, const char *value, char *err,
    size_t errlen);

/* A setting's value, or "" when unset. */
int store_get_setting(cf_pg *pg, const char *key, char *buf, size_t len,
    char *err, size_t errlen);

#endif /* CLOCK_LEDGER_H */
