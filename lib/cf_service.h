/*
 * cf_service.h - the job runtime shared by every domain service.
 *
 * A domain service (ingest, analytics, maintenance) describes itself and
 * its jobs; the runtime does the rest, so that the service holds job
 * functions and wiring and nothing else:
 *
 *	static const cf_job_def jobs[] = {
 *		{ .name = "health-check", .schedule = "*\/5 * * * *",
 *		  .description = "PostgreSQL, Redis, disks and peers",
 *		  .priority = "high", .fn = health_check_run,
 *		  .overlap = CF_OVERLAP_SKIP, .timeout_ms = 60000 },
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
 * What the runtime does (see proto/COMMANDS.md, docs/guarantees.md and
 * DESIGN.md):
 *
 *  - at start, applies the migrations of db/runtime/ (job_runs and the
 *    claim), then those of db/<service>/ if that folder exists, to the
 *    service's schema;
 *  - answers the domain-service commands on its REP socket: status,
 *    ping, jobs, history <job> [n]; trigger, pause, resume, next and
 *    schedule are forwarded to the clock, so the clock stays the one
 *    owner of schedules and of the fire ledger;
 *  - registers each job with the clock ("register <job> <service>
 *    <expr> <tz> key=value..." with its effective policies), retrying
 *    every second in the background until the clock answers, so that
 *    the start order of the fleet does not matter;
 *  - subscribes to "tick.<service>." on the clock's PUB socket (every
 *    replica's, when CRONFLEET_CLOCK_PUB lists several), ignores ticks
 *    whose leader epoch is older than the newest seen (fencing), and
 *    runs each tick of a known job on one of its worker threads:
 *      the claim, one statement under a per-job lock: a row in
 *      <schema>.job_runs (unique on job, fire_id, attempt: a duplicate
 *      tick, or one seen by another replica, does nothing), or the
 *      job's overlap policy (skip: a skipped row; queue_one: the fire
 *      waits; allow);
 *      an event "event.<service>.<job>.started", the job function, the
 *      row's end (succeeded, failed, timed_out) and its event; a
 *      failed or timed-out attempt with retries left stays non-final
 *      and is tried again after its backoff as attempt + 1;
 *      after a success, "chain" to the clock so jobs "after" it run;
 *  - renews the heartbeat of its running rows every second, and
 *    cancels runs past their timeout (cf_run_cancelled), recording them
 *    timed_out at once;
 *  - sweeps at start and every CRONFLEET_<SVC>_SWEEP: asks the clock
 *    for the fires it published for this service ("fires") and takes up
 *    those not settled (no row, interrupted, a retry that never ran, a
 *    run whose process stopped) by each job's misfire policy.
 *
 * Threads: the caller's, which waits for SIGTERM or SIGINT in
 * cf_service_run(); the REP workers; the SUB receiver (it only queues
 * ticks); the job workers; the monitor (heartbeats, timeouts, retries
 * falling due); the sweep; the chain sender; the registration thread;
 * and nng's own.
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

/* What the catch-up sweep does with fires a job missed (see
 * docs/guarantees.md, "Misfires"). */
typedef enum cf_misfire {
	CF_MISFIRE_ONCE = 0, /* one run (the latest fire) for any number */
	CF_MISFIRE_ALL  = 1, /* each missed fire, in order */
	CF_MISFIRE_SKIP = 2, /* none: each recorded skipped */
} cf_misfire;

/* What a fire does when a run of its job is in progress. */
typedef enum cf_overlap {
	CF_OVERLAP_SKIP      = 0, /* recorded skipped */
	CF_OVERLAP_QUEUE_ONE = 1, /* waits for the run to end; one at most */
	CF_OVERLAP_ALLOW     = 2, /* runs alongside */
} cf_overlap;

/* cf_job_def.retries: no retry at all (0 means "by priority"). */
#define CF_RETRIES_NONE (-1)
/* The most retries a job may ask for. */
#define CF_RETRIES_MAX 100

/*
 * A job as the service declares it; strings must outlive the service.
 *
 * The policies after fn are optional: a zero (or NULL) field takes the
 * default. Declare jobs with designated initializers: a positional one
 * that stops at fn means the same, but -Wextra warns about it.
 * Each can be overridden from the environment, NAME being the job name
 * in upper case with '-' as '_' (docs/guarantees.md):
 *
 *	CRONFLEET_JOB_<NAME>_MISFIRE         once, all, skip
 *	CRONFLEET_JOB_<NAME>_CATCHUP_WINDOW  duration (1ms..366d)
 *	CRONFLEET_JOB_<NAME>_OVERLAP         skip, queue_one, allow
 *	CRONFLEET_JOB_<NAME>_TIMEOUT         duration (1ms..7d)
 *	CRONFLEET_JOB_<NAME>_RETRIES         0..CF_RETRIES_MAX (0: none)
 *	CRONFLEET_JOB_<NAME>_RETRY_BASE      duration (1ms..5m)
 *	CRONFLEET_JOB_<NAME>_AFTER           a job name, or "-" for none
 *
 * Retries: a failed or timed-out attempt is tried again after a delay
 * drawn uniformly from [0, min(5 min, retry_base * 2^(failures - 1))]
 * (full jitter), until retries + 1 attempts have failed.
 */
typedef struct cf_job_def {
	const char *name;        /* [A-Za-z0-9_-], as in cf_proto_name_valid */
	const char *schedule;    /* default cron expression; NULL or "-":
	                            none (run after another job, or by hand) */
	const char *tz;          /* IANA zone; NULL: the clock's default */
	const char *description; /* one sentence, for "jobs" */
	const char *priority;    /* "critical", "high", "medium" (NULL),
	                            "low" */
	cf_job_fn  fn;
	cf_misfire misfire;
	int64_t    catchup_window_ms; /* 0: 1 h */
	cf_overlap overlap;
	int64_t    timeout_ms; /* 0: 5 min */
	/*
	 * 0: by priority (critical 3, high 2, medium 2, low 1);
	 * CF_RETRIES_NONE: none; 1..CF_RETRIES_MAX: that many.
	 */
	int         retries;
	int64_t     retry_base_ms; /* 0: 1 s */
	const char *after;         /* run when this job succeeds; or NULL */
	/*
	 * 1: once the clock has taken the job at start, fire it by hand
	 * (a manual fire, in the ledger like any other) unless a run of it
	 * started in the last minute here or in a replica, so a new
	 * installation shows data without waiting for the first scheduled
	 * fire. CRONFLEET_JOB_<NAME>_RUN_ON_START=false turns it off.
	 */
	int run_on_start;
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
 * 1 once the run should stop: it passed its timeout (it is already
 * recorded timed_out, and whatever it returns is ignored) or the service
 * is stopping. A long job polls this and returns early.
 */
int cf_run_cancelled(const cf_run *run);

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
 *	CRONFLEET_<SVC>_GRACE    grace_ms, on SIGTERM (default 30s)
 *	CRONFLEET_<SVC>_SWEEP    sweep_ms, the catch-up sweep's period and
 *	                         the least age of the fires it takes up
 *	                         (100ms..1h, default 10s)
 *	CRONFLEET_CLOCK_REP      clock_rep_url (tcp://127.0.0.1:7101)
 *	CRONFLEET_CLOCK_PUB      clock_pub_url (tcp://127.0.0.1:7100)
 *	                         both may list every clock replica's
 *	                         address, comma-separated (at most 8)
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
	int64_t     sweep_ms;       /* catch-up sweep period */
	int         log_level;      /* enum cf_log_level */
	void       *ctx;            /* handed to jobs as cf_run.ctx */
	/*
	 * The service's own commands (optional), asked about any verb the
	 * runtime does not answer itself, on a REP worker thread (it may
	 * block, briefly: PostgreSQL). It returns 0 when cmd is not one of
	 * its own; 1 when it is, with *data the answer (any JSON, taken over;
	 * NULL is JSON null) or err set to a non-empty refusal. Refusals
	 * that the gateway maps to HTTP: "invalid ..." (400), "unknown ..."
	 * (404), "conflict: ..." (409). commands_help lists its verbs for
	 * the unknown-command error ("sources, source-put, ...").
	 */
	int (*commands)(void *ctx, const cf_command *cmd, cJSON **data,
	    char *err, size_t errlen);
	const char *commands_help;
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
 * Declares n jobs (defs and their strings must outlive the service),
 * resolves their policies (cf_job_def, then CRONFLEET_JOB_<NAME>_*),
 * and starts registering them with the clock and sweeping. Call once,
 * before cf_service_run(). Returns CF_EINVAL for a bad or repeated
 * name, an empty schedule, a missing function, a policy out of range or
 * a second call. An invalid CRONFLEET_JOB_* variable ends the process
 * with status 2 and one line naming it on stderr, as any configuration
 * error does.
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
 * Stops in order: no more ticks are taken (those queued, waiting or
 * with a retry due are dropped: the clock's ledger and job_runs keep
 * them for the next sweep, here or in another replica), running jobs get
 * the grace period to finish and be recorded (then those still running
 * are recorded interrupted and the process exits 0 at once), the last
 * chains are sent if the clock takes them quickly, then the sockets
 * close and everything is freed. NULL is ignored.
 */
void cf_service_close(cf_service *svc);

#endif /* CF_SERVICE_H */
