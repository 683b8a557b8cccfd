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
 * Records a fire written by the leader of the given epoch. Returns CF_OK,
 * CF_EEXIST when (job, instant) or the fire id is already there (it must
 * not be published again), CF_ECLOSED when epoch is no longer the current
 * one in leadership (another clock has taken over since: nothing was
 * written, the caller must stop leading; err names both epochs), or an
 * error from cf_pg_exec.
 */
int ledger_record(cf_pg *pg, const char *job, const char *service,
    int64_t at, const char *fire_id, cf_trigger trigger, uint64_t epoch,
    char *err, size_t errlen);

/* One new fire of ledger_record_many; inserted is its outcome. */
typedef struct ledger_new_fire {
	const char *job;
	const char *service;
	const char *fire_id;
	int64_t     at; /* UTC ms */
	int         inserted; /* out: 1 written, 0 already there */
} ledger_new_fire;

#define LEDGER_MANY_MAX 64

/*
 * ledger_record for n (at most LEDGER_MANY_MAX) fires of one trigger in
 * one statement, fenced by epoch the same way, their seq in array
 * order: one commit for all (manual fires arriving together). Returns
 * CF_OK with each inserted flag set, CF_ECLOSED (stale epoch: nothing
 * written), or an error from cf_pg_exec (nothing written).
 */
int ledger_record_many(cf_pg *pg, ledger_new_fire *fires, size_t n,
    cf_trigger trigger, uint64_t epoch, char *err, size_t errlen);

/*
 * Leadership (table leadership, one row). leadership_begin() starts a new
 * epoch for holder (a clock id) leading via "redis" or "postgres": the
 * epoch is incremented and returned in *epoch, with the database's time
 * of the change in *since_ms (unix ms). From then on fires written with an
 * older epoch are refused (ledger_record). leadership_set_via() records
 * that the leader of epoch now holds its lease through via (nothing
 * changes when another epoch has begun since).
 */
int leadership_begin(cf_pg *pg, const char *holder, const char *via,
    uint64_t *epoch, int64_t *since_ms, char *err, size_t errlen);
int leadership_set_via(cf_pg *pg, uint64_t epoch, const char *via, char *err,
    size_t errlen);

/* A fire recorded as not published (ledger_skip_batch). */
typedef struct ledger_skip {
	const char *job;
	const char *service;
	const char *fire_id;
	const char *reason; /* docs/guarantees.md's words */
	int64_t     at;     /* UTC ms */
	cf_trigger  trigger;
} ledger_skip;

/*
 * Records fires as skipped, with their reasons, in a few statements
 * (LEDGER_SKIP_CHUNK rows each, so a long backlog does not make one
 * huge statement), fenced by epoch like ledger_record. A fire already in
 * the ledger (published or skipped) is left as it is: recording again
 * is harmless. Returns CF_OK, CF_ECLOSED when epoch is stale (err names
 * both; chunks before it are written), or an error from cf_pg_exec
 * (likewise: earlier chunks may be written; retrying is safe).
 */
#define LEDGER_SKIP_CHUNK 5000
int ledger_skip_batch(cf_pg *pg, const ledger_skip *rows, size_t n,
    uint64_t epoch, char *err, size_t errlen);

/* A job's latest fire made by its schedule (catchup_cursors). */
typedef struct ledger_last {
	char    job[CLOCK_NAME_MAX];
	int64_t at; /* UTC ms */
} ledger_last;

/*
 * For every job in schedules with a fire of trigger schedule or catchup
 * (published or skipped) in the ledger, the latest one. *out is a
 * malloc'd array the caller frees (also when *n is 0).
 */
int ledger_last_scheduled(
    cf_pg *pg, ledger_last **out, int *n, char *err, size_t errlen);

/* A published fire, as "fires" lists it. */
typedef struct ledger_fire {
	int64_t seq;
	char    job[CLOCK_NAME_MAX];
	char    service[CLOCK_NAME_MAX]; /* the job's owner */
	char    fire_id[CF_FIRE_ID_LEN];
	int64_t at; /* UTC ms */
	char    trigger[16];
} ledger_fire;

/*
 * Up to limit published fires of service's jobs with seq > after_seq,
 * oldest first, leaving out those published (database time) less than
 * min_age_ms ago. *more is 1 when there are further ones. *out is a
 * malloc'd array the caller frees (also when *n is 0).
 */
int ledger_fires_page(cf_pg *pg, const char *service, int64_t after_seq,
    int64_t min_age_ms, int limit, ledger_fire **out, int *n, int *more,
    char *err, size_t errlen);

/*
 * Looks a fire up by its id: *found 1 and its job and instant, when it
 * is in the ledger (published or skipped), *published 1 when published.
 */
int ledger_find_fire(cf_pg *pg, const char *fire_id, int *found,
    int *published, char *job, size_t joblen, int64_t *at, char *err,
    size_t errlen);

/* A fire as the ledger has it (ledger_history). */
typedef struct ledger_entry {
	int64_t seq;
	char    job[CLOCK_NAME_MAX];
	char    service[CLOCK_NAME_MAX]; /* the job's owner */
	char    fire_id[CF_FIRE_ID_LEN];
	int64_t at;           /* UTC ms */
	int64_t published_at; /* UTC ms, database time of the write */
	int64_t published_us; /* the same in µs, for the page cursor */
	char    trigger[16];
	int     published; /* 0: skipped */
	char    reason[CF_FIRE_ID_LEN + 32]; /* "" when published */
	int64_t epoch;
} ledger_entry;

/* Which fires ledger_history lists. */
typedef struct ledger_query {
	const char *job;     /* NULL: every job */
	int         outcome; /* -1 any, 1 published only, 0 skipped only */
	int64_t     since;   /* recorded at or after (UTC ms); INT64_MIN: any */
	/*
	 * The page cursor: only fires recorded before (before_us, before_seq)
	 * in (published_at, seq) order; before_us < 0: no cursor.
	 */
	int64_t before_us;
	int64_t before_seq;
	int     n; /* at most this many */
} ledger_query;

/*
 * The fires q asks for, published or skipped, newest first by the time
 * they were recorded, then by seq (a pair that is unique, so pages
 * neither repeat nor lose a fire). *out is a malloc'd array the caller
 * frees (also when *n_out is 0).
 */
int ledger_history(cf_pg *pg, const ledger_query *q, ledger_entry **out,
    int *n_out, char *err, size_t errlen);

typedef struct stored_job {
	char         job[CLOCK_NAME_MAX];
	char         service[CLOCK_NAME_MAX];
	char         expr[CLOCK_EXPR_MAX];
	char         tz[CLOCK_NAME_MAX];
	int          paused;
	int          overridden;
	clock_policy pol; /* defaults where the row holds a bad value */
} stored_job;

/*
 * Writes a job's row. overridden: 1 the expression was set at runtime,
 * 0 it was not, -1 keep what is stored. pol: the policies to store, or
 * NULL to keep what is stored (defaults for a new row).
 */
int store_schedule(cf_pg *pg, const char *job, const char *service,
    const char *expr, const char *tz, int paused, int overridden,
    const clock_policy *pol, const char *by, char *err, size_t errlen);

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
