/*
 * cf_service_int.h - internals of the job runtime shared by its files:
 *
 *   cf_service.c         configuration, start and stop, ticks in,
 *                        registration with the clock
 *   cf_service_run.c     the work queues, claiming a fire, running it,
 *                        recording its end, retries, chaining, the
 *                        monitor (heartbeats, timeouts)
 *   cf_service_sweep.c   the catch-up sweep (the clock's "fires")
 *   cf_service_policy.c  pure parts: policies and their environment,
 *                        backoff, classification of a fire's runs
 *   cf_service_cmd.c     the REP commands
 *
 * Not for services: they use cf_service.h.
 */
#ifndef CF_SERVICE_INT_H
#define CF_SERVICE_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "cf_nng.h"
#include "cf_pg.h"
#include "cf_service.h"

/* REP workers: commands are short, but history and status wait on
 * PostgreSQL and the forwarded ones on the clock. */
#define CF__SVC_REP_WORKERS 4

/* A running row's heartbeat period, and the age after which a row whose
 * heartbeat stopped is no longer "in progress" (its process is gone). */
#define CF__SVC_HEARTBEAT_MS 1000
#define CF__SVC_STALE_MS 5000

/* Policy defaults and bounds (docs/guarantees.md). */
#define CF__SVC_WINDOW_DEFAULT_MS (3600LL * 1000)
#define CF__SVC_WINDOW_MAX_MS (366LL * 86400 * 1000)
#define CF__SVC_TIMEOUT_DEFAULT_MS (300LL * 1000)
#define CF__SVC_TIMEOUT_MAX_MS (7LL * 86400 * 1000)
#define CF__SVC_RETRY_BASE_DEFAULT_MS 1000LL
#define CF__SVC_RETRY_CAP_MS (300LL * 1000)

/* ---- policies (cf_service_policy.c, pure) ------------------------------- */

/* A job's effective policies: its cf_job_def, then the environment. */
typedef struct cf__policy {
	int     misfire; /* enum cf_misfire */
	int64_t window_ms;
	int     overlap; /* enum cf_overlap */
	int64_t timeout_ms;
	int     retries; /* resolved: 0..CF_RETRIES_MAX */
	int64_t retry_base_ms;
	char    after[CF_PROTO_MAX_NAME + 1]; /* "" when none */
} cf__policy;

/* "once", "all", "skip" / "skip", "queue_one", "allow"; NULL-ended. */
extern const char *const cf__misfire_names[];
extern const char *const cf__overlap_names[];

/* Retries a priority gets (critical 3, high 2, medium 2, low 1); -1 for
 * an unknown priority. NULL is medium. */
int cf__retries_for_priority(const char *priority);

/*
 * The effective policies of d: its fields (zero: the default), then
 * CRONFLEET_JOB_<NAME>_* from the environment. Returns CF_OK, CF_ENOMEM,
 * or CF_EINVAL with err saying why on one line; *from_env is then 1 when
 * a variable was at fault (err names it, prefixed by "<prefix>: " when
 * prefix is not NULL) and 0 when d itself was.
 */
int cf__policy_resolve(cf__policy *out, int *from_env, const cf_job_def *d,
    const char *prefix, char *err, size_t errlen);

/* One registration option, "key=value". */
#define CF__OPT_LEN (CF_PROTO_MAX_NAME + 16)

/*
 * The registration options for the clock (proto/COMMANDS.md, register):
 * "misfire=once", "window=<ms>", ... into opts[i],
 * at most max. Returns how many.
 */
size_t cf__policy_options(const cf__policy *p, const char *priority,
    char (*opts)[CF__OPT_LEN], size_t                      max);

/*
 * Retry backoff: the upper bound of the delay before the retry that
 * follows the failures-th failed attempt, min(cap, base * 2^(failures -
 * 1)), and a delay drawn from [0, that] with rnd (full jitter).
 */
int64_t cf__backoff_bound(int64_t base_ms, int64_t cap_ms, uint32_t failures);
int64_t cf__backoff_delay(
    int64_t base_ms, int64_t cap_ms, uint32_t failures, uint64_t rnd);

/* A row of job_runs, as the sweep reads it for one fire. */
typedef enum cf__row_status {
	CF__ROW_RUNNING = 0,
	CF__ROW_SUCCEEDED,
	CF__ROW_FAILED,
	CF__ROW_SKIPPED,
	CF__ROW_TIMED_OUT,
	CF__ROW_INTERRUPTED,
} cf__row_status;

typedef struct cf__fire_row {
	uint32_t attempt;
	int      status;        /* cf__row_status */
	int      final;         /* no attempt follows */
	int      fresh;         /* running, heartbeat younger than stale */
	int      retry_pending; /* failed, next_attempt_at not long past */
} cf__fire_row;

/* Parses job_runs.status; -1 when unknown. */
int cf__row_status_parse(const char *s);

typedef enum cf__fire_class {
	CF__FIRE_SETTLED = 0, /* succeeded, skipped, or failed for good */
	CF__FIRE_BUSY,        /* running, or about to be retried, somewhere */
	CF__FIRE_STALE,       /* a run whose process stopped: mark it
	                         interrupted, then it is unsettled */
	CF__FIRE_UNSETTLED,   /* nothing will run it unless the sweep does */
} cf__fire_class;

/*
 * Classifies a fire from its rows (any order) as docs/guarantees.md
 * defines "settled". pending_here: this process holds it (queued,
 * waiting, running or a retry due). *next_attempt is the attempt number
 * a new run would take (after the highest row's), *failures the failed
 * and timed-out attempts so far (interrupted ones do not count).
 */
cf__fire_class cf__fire_classify(const cf__fire_row *rows, size_t n,
    int pending_here, uint32_t *next_attempt, uint32_t *failures);

/* What the sweep does with an unsettled fire (misfire policy). */
typedef enum cf__misfire_act {
	CF__MISFIRE_RUN = 0,     /* run it (misfire all) */
	CF__MISFIRE_CANDIDATE,   /* misfire once: run it unless a later one
	                            comes (then coalesced into that) */
	CF__MISFIRE_SKIP_WINDOW, /* "missed: outside the catch-up window" */
	CF__MISFIRE_SKIP_POLICY, /* "missed (misfire policy skip)" */
} cf__misfire_act;

cf__misfire_act cf__misfire_decide(
    const cf__policy *p, int64_t now_ms, int64_t scheduled_for);

/* ---- the runtime -------------------------------------------------------- */

struct cf_job_result {
	int   failed;
	int   permanent;
	char  error[1024];
	char *json; /* compact JSON text, or NULL */
};

/*
 * A fire to run, on its way through the queues. TICK items obey the
 * job's overlap policy when claimed; BACKLOG items (retries, the sweep's
 * catch-up runs, the clock's catch-up ticks, a queue_one tick that took
 * the job's queue slot) wait for the job to be free instead of being
 * skipped.
 */
typedef enum { CF__ITEM_TICK = 0, CF__ITEM_BACKLOG = 1 } cf__item_kind;

typedef struct cf__item {
	struct cf__item *next;
	size_t           job; /* index in svc->jobs */
	int              kind;
	int              launched; /* taken from held: job->launching */
	char             fire_id[CF_PROTO_MAX_ID + 1];
	int64_t          scheduled_for; /* unix ms (nominal) */
	cf_trigger       trigger;
	uint32_t         attempt;
	uint32_t         failures; /* failed attempts of the fire before */
	int64_t          due;      /* monotonic ms; 0: now */
} cf__item;

/* A job worker: one thread with its own database handles. */
typedef struct cf__worker {
	struct cf_service *svc;
	pthread_t          thr;
	int                started;
	cf_pg             *pg;    /* opened on first use */
	cf_redis          *redis; /* opened on first use */
	/* The run in progress, under svc->mu; cur is NULL when idle. */
	cf__item *cur;
	char      cur_run_id[40];
	int64_t   cur_started;   /* unix ms, from the row */
	int64_t   cur_deadline;  /* monotonic ms */
	int       cur_timed_out; /* past its deadline: cancelled */
	int       cur_returned;  /* the job function returned */
	int       cur_settled;   /* its end is recorded (by anyone) */
	int64_t   cur_retry_at;  /* monotonic ms: the monitor's next try
	                            to record its timeout */
} cf__worker;

typedef struct cf__svc_job {
	const cf_job_def *def;
	cf__policy        pol;
	int               registered; /* the clock accepted it */
	unsigned          failures;   /* registration attempts that failed */
	/* Under svc->mu. */
	int       running;   /* runs here whose row is 'running' */
	int       launching; /* held items handed to workers, unclaimed */
	int       claiming;  /* a batch of its ticks is being claimed */
	cf__item *held;      /* BACKLOG items waiting for the job to be
	                        free, by scheduled_for */
	size_t nheld;
} cf__svc_job;

/* A success to tell the clock about, for the jobs after it. */
typedef struct cf__chain {
	struct cf__chain *next;
	size_t            job;
	char              fire_id[CF_PROTO_MAX_ID + 1];
	int64_t           scheduled_for;
} cf__chain;

/* Fires this process holds, counted (a fire may be in two items). */
typedef struct cf__pending {
	struct cf__pending *next;
	unsigned            refs;
	char                key[]; /* "<job> <fire_id>" */
} cf__pending;
#define CF__PENDING_BUCKETS 1024

struct cf_service {
	const cf_service_opts *opts;
	int64_t                started_at; /* unix ms */
	sigset_t               sigs;
	char                   owner[96]; /* job_runs.owner of our rows */

	pthread_mutex_t mu;     /* everything below up to "sockets" */
	pthread_cond_t  cv;     /* ready not empty, or stop */
	pthread_cond_t  reg_cv; /* stop, for the registration and sweep
	                           threads */
	pthread_cond_t idle_cv; /* a worker finished a run */
	pthread_cond_t mon_cv;  /* hard stop, for the monitor */
	cf__svc_job   *jobs;    /* fixed once registered */
	size_t         njobs;
	cf__item      *ready; /* FIFO for the workers */
	cf__item      *ready_tail;
	size_t         nticks;  /* TICK items in ready (capped) */
	cf__item      *delayed; /* retries, by due */
	cf__pending   *pending[CF__PENDING_BUCKETS];
	int            stop;      /* SIGTERM: no new work */
	int            hard_stop; /* the monitor ends */
	int            busy;      /* runs in progress */
	uint64_t       epoch;     /* the highest clock epoch seen */
	pthread_cond_t chain_cv;  /* a chain queued, or hard stop */
	cf__chain     *chains;    /* FIFO for the chain thread */
	cf__chain     *chain_tail;
	size_t         nchains;
	int            chain_off; /* the clock has no "chain" */
	/* The sweep, for status. */
	int64_t sweep_last_at; /* unix ms of the last complete sweep */
	int64_t sweep_after;   /* its watermark */
	char    sweep_error[256];
	int     sweep_off; /* the clock has no "fires" */

	cf__worker *workers;
	int         nworkers;
	pthread_t   reg_thr, sweep_thr, mon_thr, chain_thr;
	int         reg_started, sweep_started, mon_started, chain_started;

	/* Sockets and connections. */
	pthread_mutex_t cmd_mu; /* cmd_pg: migrations, shutdown records */
	cf_pg          *cmd_pg;
	/* The REP workers' queries (status, history, counts, metrics): one
	 * connection each at most, opened when first needed, so that
	 * concurrent commands do not queue behind one connection. */
	pthread_mutex_t pool_mu;
	pthread_cond_t  pool_cv;
	cf_pg          *pool[CF__SVC_REP_WORKERS];
	int             pool_busy[CF__SVC_REP_WORKERS];
	cf_pg          *mon_pg;    /* the monitor's */
	cf_pg          *sweep_pg;  /* the sweep's */
	cf_req         *clock_req; /* forwarded commands */
	cf_req         *reg_req;   /* registration thread */
	cf_req         *sweep_req; /* the sweep's "fires" */
	cf_req         *chain_req; /* "chain", from the chain thread */
	cf_rep         *rep;
	cf_pub         *pub;
	cf_sub         *sub;

	/* Counters for `metrics` (cf_service_metrics.c, its own lock). */
	struct cf__svc_metrics *metrics;
};

int64_t            cf__svc_now_ms(void);
int64_t            cf__svc_mono_ms(void);
const cf__svc_job *cf__svc_find(const cf_service *svc, const char *name);
/* The index of the job called name, or -1. */
long cf__svc_find_index(const cf_service *svc, const char *name);

/* Publishes a run event (cf_service.c). */
void cf__svc_publish(cf_service *svc, const char *job, const char *fire_id,
    cf_trigger trigger, int64_t scheduled_for, uint32_t attempt,
    const char *run_id, cf_run_state state, int64_t started_at,
    int64_t finished_at, const char *error, const char *result);

/*
 * A PostgreSQL text[] literal of n strings (each quoted and escaped), for
 * a statement parameter. NULL when out of memory; the caller frees it.
 */
char *cf__svc_text_array(const char *const *v, size_t n);

/* A fresh random run id (32 hex digits) into buf. */
void cf__svc_run_id(char *buf, size_t len);

/* ---- the queues (cf_service_run.c); all with svc->mu held --------------- */

/* A new item (NULL when out of memory), counted as pending. */
cf__item *cf__item_new(cf_service *svc, size_t job, const char *fire_id,
    int64_t scheduled_for, cf_trigger trigger, uint32_t attempt,
    uint32_t failures, int kind);
/* Frees it and drops it from the pending fires. */
void cf__item_free(cf_service *svc, cf__item *it);
/* 1 if this process holds the fire (cf__fire_classify's pending_here). */
int cf__svc_pending(cf_service *svc, const char *job, const char *fire_id);
/* Hands a TICK item to the workers; 0, or CF_ETOOBIG when too many
 * ticks wait already (the item is then the caller's). */
int cf__svc_enqueue_tick(cf_service *svc, cf__item *it);
/* Hands a BACKLOG item over: held until the job is free (or to the
 * workers at once when its overlap is allow); due later: delayed. */
void cf__svc_enqueue_backlog(cf_service *svc, cf__item *it);
/* Starts the next held item of each job that is free. */
void cf__svc_kick_all(cf_service *svc);
/* Frees everything queued (at close). */
void cf__svc_drop_queued(cf_service *svc);

/*
 * Queues a success to tell the clock about ("chain"), unless it is
 * queued already. CF_OK, CF_ETOOBIG (too many waiting) or CF_ECLOSED
 * (stopping, or the clock has no "chain").
 */
int cf__svc_chain_enqueue(
    cf_service *svc, size_t job, const char *fire_id, int64_t scheduled_for);

/* ---- recording (cf_service_run.c); without svc->mu ---------------------- */

/* A fire recorded skipped, without running. */
typedef struct cf__skip {
	size_t      job;
	const char *fire_id;
	int64_t     scheduled_for;
	cf_trigger  trigger;
	uint32_t    attempt;
	const char *reason;
} cf__skip;

/*
 * Inserts n skipped rows (final) in one statement, on *pg (opened when
 * NULL), and publishes a "skipped" event for each row inserted: a row
 * that already exists (same job, fire and attempt) is left alone.
 * Returns CF_OK or the database's error.
 */
int cf__svc_skip(cf_service *svc, cf_pg **pg, const cf__skip *s, size_t n,
    char *err, size_t errlen);

/* ---- threads (cf_service_run.c, cf_service_sweep.c) --------------------- */

void *cf__svc_worker_main(void *arg);
void *cf__svc_monitor_main(void *arg);
void *cf__svc_sweep_main(void *arg);
void *cf__svc_chain_main(void *arg);

/* After the grace period: records every run still going as interrupted
 * (with svc->mu held). */
void cf__svc_interrupt_running(cf_service *svc);

/* ---- commands (cf_service_cmd.c and the files it calls) ------------------ */

/* The columns every run query selects, in cf__svc_run_json's order. */
#define CF__RUN_COLUMNS                                                           \
	"run_id, job, fire_id, trigger, attempt, "                            \
	"(extract(epoch FROM scheduled_for) * 1000)::bigint, "                \
	"(extract(epoch FROM started_at) * 1000)::bigint, "                   \
	"(extract(epoch FROM finished_at) * 1000)::bigint, "                  \
	"status, error, result::text, final, "                                \
	"(extract(epoch FROM next_attempt_at) * 1000)::bigint, owner"

/* One run row (selected with CF__RUN_COLUMNS) as proto/COMMANDS.md's run. */
cJSON *cf__svc_run_json(const PGresult *res, int row);

/* Runs a query on the command connection (under cmd_mu); NULL with error
 * set ("run history unavailable: ...") on failure. */
PGresult *cf__svc_cmd_query(cf_service *svc, const char *sql, int np,
    const char *const *p, char *error, size_t errlen);

/*
 * Commands answered outside cf_service_cmd.c: each sets *data (owned by
 * the caller) or writes error.
 *   history  cf_service_history.c (runs, filtered and paged)
 *   counts   cf_service_history.c (runs per status, for GET /api/admin/jobs)
 *   metrics  cf_service_metrics.c (counters and histograms for /metrics)
 */
void cf__svc_cmd_history(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen);
void cf__svc_cmd_counts(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen);
void cf__svc_cmd_metrics(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen);

/* The REP handler (cf_service_cmd.c). */
void cf__svc_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len);

#endif /* CF_SERVICE_INT_H */
