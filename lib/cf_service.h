/*
 * cf_service.h - the job runtime shared by every domain service.
 *
 * A domain service (ingest, analytics, maintenance) describes itself and
 * its jobs; the runtime does the rest, so that the service holds job
 * functions and wiring and nothing else:
 *
 *	static const cf_job_def jobs[] = {
 *		{ "health-check", "*\/5 * * * *", NULL,
 *		  "PostgreSQL, Redis, disks and peers", "high",
 *		  health_check_run },
 *	};
 *
 *	cf_service_opts opts;
 *	cf_service *    svc;
 *	signal(SIGPIPE, SIG_IGN);
 *	cf_service_opts_load_or_exit(&opts, "maintenance",
 *	    "tcp://127.0.0.1:7131", "tcp://127.0.0.1:7132");
 *	opts.ctx = &my_config;
 *	if (cf_service_open(&svc, &opts, err, sizeof(err)) != 0 ||
 *	    cf_service_register(svc, jobs, 1, err, sizeof(err)) != 0 ||
 *	    cf_service_run(svc, err, sizeof(err)) != 0) ...
 *	cf_service_close(svc);
 *	cf_service_opts_free(&opts);
 *
 * What the runtime does (see proto/COMMANDS.md and DESIGN.md):
 *
 *  - at start, applies the migrations of db/runtime/ (job_runs), then
 *    those of db/<service>/ if that folder exists, to the service's
 *    schema;
 *  - answers the domain-service commands on its REP socket: status,
 *    ping, jobs, history <job> [n]; trigger, pause, resume, next and
 *    schedule are forwarded to the clock, so the clock stays the one
 *    owner of schedules and of the fire ledger;
 *  - registers each job with the clock ("register <job> <service>
 *    <expr> [tz]"), retrying every second in the background until the
 *    clock answers, so that the start order of the fleet does not
 *    matter;
 *  - subscribes to "tick.<service>." on the clock's PUB socket and runs
 *    each tick of a known job on one of its worker threads: a row in
 *    <schema>.job_runs (unique on job, fire_id, attempt: a duplicate tick,
 *    or one seen by another replica, does nothing), an event
 *    "event.<service>.<job>.started", the job function, the row's final
 *    status and result, and an event "...succeeded" or "...failed".
 *
 * Threads: the caller's, which waits for SIGTERM or SIGINT in
 * cf_service_run(); the REP workers; the SUB receiver (it only queues
 * ticks); the job workers; the registration thread; and nng's own.
 */
#ifndef CF_SERVICE_H
#define CF_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_log.h" /* CF__PRINTF */
#include "cf_pg.h"
#include "cf_nng.h"
#include "cf_proto.h"
#include "cf_redis.h"

typedef struct cf_service    cf_service;
typedef struct cf_job_result cf_job_result;
typedef struct cf_run        cf_run;

/*
 * A job's entry point. It runs on a job worker thread and may block
 * (PostgreSQL, Redis, HTTP). It reports through res (see cf_result_*);
 * its return value is 0, or an error code meaning "failed" (when the job
 * gave no error text, cf_strerror() of the code is used).
 */
typedef int (*cf_job_fn)(cf_run *run, cf_job_result *res);

/* A job as the service declares it; strings must outlive the service. */
typedef struct cf_job_def {
	const char *name;        /* [A-Za-z0-9_-], as in cf_proto_name_valid */
	const char *schedule;    /* default cron expression */
	const char *tz;          /* IANA zone; NULL: the clock's default */
	const char *description; /* one sentence, for "jobs" */
	const char *priority;    /* "critical", "high", "medium", "low" */
	cf_job_fn   fn;
} cf_job_def;

/*
 * One run of a job, as the job function sees it. The fields are read
 * only and valid during the call.
 */
struct cf_run {
	const char *service;
	const char *job;
	const char *fire_id; /* the same on every replica: key side effects
	                        on it to make them idempotent */
	const char        *run_id; /* this attempt's row in job_runs */
	cf_trigger         trigger;
	int64_t            scheduled_for; /* unix ms, from the tick */
	uint32_t           attempt;
	void              *ctx;    /* cf_service_opts.ctx */
	struct cf__worker *worker; /* internal */
};

/*
 * The worker's own PostgreSQL and Redis handles, opened on first use and
 * kept for later runs on the same worker; they reconnect by themselves
 * (see cf_pg.h, cf_redis.h). On success *out is owned by the worker:
 * never close it. On failure (CF_ECONN, CF_EINVAL, CF_ENOMEM...) err
 * says why and the next call tries again.
 */
int cf_run_pg(cf_run *run, cf_pg **out, char *err, size_t errlen);

/*
 * 1 once the service is stopping (SIGTERM): a long job should wind down
 * and return. Jobs still running when the grace period
 * (CRONFLEET_<SERVICE>_GRACE, default 30 s) ends are recorded as
 * interrupted and the process exits.
 */
int cf_run_stopping(const cf_run *run);

/*
 * Sends a command to another service over req and waits up to timeout_ms
 * for its reply. Returns CF_OK when it answered ok (then, if out is not
 * NULL, *out is the decoded reply, freed with cf_reply_free); the
 * codes of cf_req_call when it could not be reached or did not answer;
 * CF_EPROTO with the service's error text in err when it refused.
 */
int cf_service_call(cf_req *req, const cf_command *cmd, int timeout_ms,
    cf_reply **out, char *err, size_t errlen);
int cf_run_redis(cf_run *run, cf_redis **out, char *err, size_t errlen);

/*
 * What a job reports. Without any call the run succeeds with a null
 * result.
 *
 * cf_result_fail: the run failed; fmt is its error text (printf form;
 * the last call wins). cf_result_permanent: the failure will not go away
 * by trying again (bad configuration, a rejected request), so a retry
 * policy must not retry it.
 *
 * cf_result_json: the result summary; takes ownership of json (also on
 * failure), replacing an earlier one. cf_result_text: the same from JSON
 * text, copied; CF_EINVAL when it is not JSON. Both CF_ENOMEM when out of
 * memory. The summary is stored in job_runs.result and sent in the run's
 * event, whether the run succeeded or failed.
 */
void cf_result_fail(cf_job_result *res, const char *fmt, ...) CF__PRINTF(2, 3);
void cf_result_permanent(cf_job_result *res);
int  cf_result_json(cf_job_result *res, cJSON *json);
int  cf_result_text(cf_job_result *res, const char *json_text);

/*
 * A service's settings. cf_service_opts_load_or_exit() fills them from
 * the environment through a cf_config table, where SVC is the service
 * name in upper case with '-' as '_':
 *
 *	CRONFLEET_<SVC>_REP      rep_url (default rep_default)
 *	CRONFLEET_<SVC>_PUB      pub_url (default pub_default)
 *	CRONFLEET_<SVC>_SCHEMA   schema (default: the name, '-' as '_')
 *	CRONFLEET_<SVC>_WORKERS  workers, 1..64 (default 4)
 *	CRONFLEET_CLOCK_REP      clock_rep_url (tcp://127.0.0.1:7101)
 *	CRONFLEET_CLOCK_PUB      clock_pub_url (tcp://127.0.0.1:7100)
 *	DATABASE_URL             database_url (required)
 *	REDIS_URL                redis_url (redis://127.0.0.1:6379/0)
 *	CRONFLEET_MIGRATIONS     migrations_dir (the source tree's db/)
 *	CRONFLEET_LOG_LEVEL      log_level (info)
 *
 * An invalid value exits the process with status 2 and a message naming
 * the variable (cf_config_load_or_exit). On return opts owns its
 * strings: release them with cf_service_opts_free(), after
 * cf_service_close(). name points at the caller's string, ctx is NULL.
 */
typedef struct cf_service_opts {
	const char *name; /* the service, a name as for jobs */
	char       *schema;
	char       *rep_url;
	char       *pub_url;
	char       *clock_rep_url;
	char       *clock_pub_url;
	char       *database_url;
	char       *redis_url;
	char       *migrations_dir; /* holds runtime/ and <name>/ */
	int64_t     workers;        /* job worker threads */
	int64_t     grace_ms;       /* SIGTERM: how long running jobs get */
	int         log_level;      /* enum cf_log_level */
	void       *ctx;            /* handed to jobs as cf_run.ctx */
} cf_service_opts;

void cf_service_opts_load_or_exit(cf_service_opts *opts, const char *name,
    const char *rep_default, const char *pub_default);
void cf_service_opts_free(cf_service_opts *opts);

/*
 * Starts the service: blocks SIGTERM and SIGINT in the calling thread
 * (so every thread started from here on inherits the mask and
 * cf_service_run() can sigwait), sets up logging, applies the migrations,
 * opens the REP, PUB and SUB sockets and starts the workers. Ticks that
 * arrive before cf_service_register() are for unknown jobs and ignored.
 * Call it before any other thread exists. opts must outlive the service.
 * On success *out is owned by the caller (cf_service_close). Returns
 * CF_EINVAL (bad name or schema), CF_ECONN (PostgreSQL unreachable, or a
 * socket that cannot listen), CF_EDB (a migration failed), CF_ENOMEM...,
 * with err saying why.
 */
int cf_service_open(
    cf_service **out, const cf_service_opts *opts, char *err, size_t errlen);

/*
 * Declares n jobs (defs and their strings must outlive the service) and
 * starts registering them with the clock. Call once, before
 * cf_service_run(). Returns CF_EINVAL for a bad or repeated name, a
 * missing schedule or function, or a second call.
 */
int cf_service_register(cf_service *svc, const cf_job_def *defs, size_t n,
    char *err, size_t errlen);

/*
 * Blocks until SIGTERM or SIGINT arrives (sigwait in the calling thread,
 * the one that called cf_service_open). Returns CF_OK, or CF_ESYSTEM if
 * it could not wait.
 */
int cf_service_run(cf_service *svc, char *err, size_t errlen);

/*
 * Stops in order: no more ticks are taken (those queued but not started
 * are dropped; the clock's ledger has them), running jobs finish and are
 * recorded, then the sockets close and everything is freed. NULL is
 * ignored.
 */
void cf_service_close(cf_service *svc);

#endif /* CF_SERVICE_H */
