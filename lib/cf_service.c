/*
 * cf_service.c - the job runtime: configuration, start and stop, ticks,
 * job workers and registration with the clock. The REP commands are in
 * cf_service_cmd.c.
 *
 * Ticks come in on the SUB thread, which only decodes, checks and queues
 * them: a job may block for minutes and the SUB queue would overflow
 * (nng drops the oldest) if the receiver waited for it. Job workers take
 * ticks off the queue, each with its own PostgreSQL and Redis handles.
 *
 * The row in job_runs is the run's claim: it is inserted before the job
 * runs, and a tick whose row already exists (a duplicate, or another
 * replica got there first) does nothing at all. If PostgreSQL cannot be
 * reached the job does not run, since nothing could record it; the
 * clock's ledger still holds the fire for a later catch-up.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf_config.h"
#include "cf_log.h"
#include "cf_migrate.h"
#include "cf_service_int.h"

#ifndef CF_SVC_DB_DIR
#define CF_SVC_DB_DIR "db"
#endif

/* Ticks waiting for a worker; beyond this they are dropped and logged. */
#define SVC_QUEUE_MAX 256
/* How often an unregistered job is offered to the clock again. */
#define SVC_REGISTER_EVERY_MS 1000
#define SVC_REGISTER_TIMEOUT_MS 2000
/* Attempts to record a finished run before giving up on the row. */
#define SVC_FINISH_TRIES 3

int64_t
cf__svc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

const cf__svc_job *
cf__svc_find(const cf_service *svc, const char *name)
{
	if (name == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < svc->njobs; i++) {
		if (strcmp(svc->jobs[i].def->name, name) == 0) {
			return (&svc->jobs[i]);
		}
	}
	return (NULL);
}

/* ---- configuration ------------------------------------------------------ */

static const char *const svc_nng_schemes[] = { "tcp", "ipc", "inproc", NULL };
static const char *const svc_pg_schemes[] = { "postgres", "postgresql", NULL };
static const char *const svc_redis_schemes[] = { "redis", NULL };

/* Variable names built from the service's name, for one table. */
typedef struct {
	char rep[96];
	char pub[96];
	char schema[96];
	char workers[96];
	char grace[96];
	char schema_def[CF_PROTO_MAX_NAME + 1];
} svc_names;

#define SVC_NITEMS 11

static void
svc_table(cf_config_item *t, svc_names *nm, const char *name,
    const char *rep_def, const char *pub_def)
{
	char   up[CF_PROTO_MAX_NAME + 1];
	size_t i;

	for (i = 0; name[i] != '\0' && i < CF_PROTO_MAX_NAME; i++) {
		char ch           = name[i] == '-' ? '_' : name[i];
		up[i]             = (char) toupper((unsigned char) ch);
		nm->schema_def[i] = (char) tolower((unsigned char) ch);
	}
	up[i]             = '\0';
	nm->schema_def[i] = '\0';
	snprintf(nm->rep, sizeof(nm->rep), "CRONFLEET_%s_REP", up);
	snprintf(nm->pub, sizeof(nm->pub), "CRONFLEET_%s_PUB", up);
	snprintf(nm->schema, sizeof(nm->schema), "CRONFLEET_%s_SCHEMA", up);
	snprintf(nm->workers, sizeof(nm->workers), "CRONFLEET_%s_WORKERS", up);
	snprintf(nm->grace, sizeof(nm->grace), "CRONFLEET_%s_GRACE", up);

	cf_config_item items[SVC_NITEMS] = {
		CF_CFG_URL(nm->rep, svc_nng_schemes, rep_def, 0,
		    cf_service_opts, rep_url,
		    "Commands (REP) of this service."),
		CF_CFG_URL(nm->pub, svc_nng_schemes, pub_def, 0,
		    cf_service_opts, pub_url,
		    "Run events (PUB) of this service."),
		CF_CFG_STRING(nm->schema, nm->schema_def, 0, cf_service_opts,
		    schema, "PostgreSQL schema of this service."),
		CF_CFG_INT(nm->workers, 1, 64, "4", cf_service_opts, workers,
		    "Job worker threads."),
		CF_CFG_DURATION(nm->grace, 0, 3600000, "30s", cf_service_opts,
		    grace_ms,
		    "On SIGTERM, how long running jobs may take to finish."),
		CF_CFG_URL("CRONFLEET_CLOCK_REP", svc_nng_schemes,
		    "tcp://127.0.0.1:7101", 0, cf_service_opts, clock_rep_url,
		    "The clock's commands (REP)."),
		CF_CFG_URL("CRONFLEET_CLOCK_PUB", svc_nng_schemes,
		    "tcp://127.0.0.1:7100", 0, cf_service_opts, clock_pub_url,
		    "The clock's ticks (PUB)."),
		CF_CFG_URL("DATABASE_URL", svc_pg_schemes, NULL,
		    CF_CONFIG_REQUIRED | CF_CONFIG_SECRET, cf_service_opts,
		    database_url, "PostgreSQL connection URL."),
		CF_CFG_URL("REDIS_URL", svc_redis_schemes,
		    "redis://127.0.0.1:6379/0", CF_CONFIG_SECRET,
		    cf_service_opts, redis_url, "Redis connection URL."),
		CF_CFG_STRING("CRONFLEET_MIGRATIONS", CF_SVC_DB_DIR, 0,
		    cf_service_opts, migrations_dir,
		    "Folder holding runtime/ and <service>/ migrations."),
		CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names, "info",
		    cf_service_opts, log_level, "Least level logged."),
	};
	memcpy(t, items, sizeof(items));
}

void
cf_service_opts_load_or_exit(cf_service_opts *opts, const char *name,
    const char *rep_default, const char *pub_default)
{
	cf_config_item t[SVC_NITEMS];
	svc_names      nm;
	char           prefix[CF_PROTO_MAX_NAME + 16];

	memset(opts, 0, sizeof(*opts));
	if (!cf_proto_name_valid(name)) {
		fprintf(stderr, "cf_service: invalid service name '%s'\n",
		    name != NULL ? name : "(null)");
		exit(2);
	}
	svc_table(t, &nm, name, rep_default, pub_default);
	snprintf(prefix, sizeof(prefix), "cronfleet-%s", name);
	cf_config_load_or_exit(t, SVC_NITEMS, opts, prefix);
	opts->name = name;
}

void
cf_service_opts_free(cf_service_opts *opts)
{
	cf_config_item t[SVC_NITEMS];
	svc_names      nm;

	if (opts == NULL || opts->name == NULL) {
		return;
	}
	svc_table(t, &nm, opts->name, NULL, NULL);
	cf_config_free(t, SVC_NITEMS, opts);
}

/* ---- job results -------------------------------------------------------- */

void
cf_result_fail(cf_job_result *res, const char *fmt, ...)
{
	va_list ap;
	res->failed = 1;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

void
cf_result_permanent(cf_job_result *res)
{
	res->permanent = 1;
}

int
cf_result_json(cf_job_result *res, cJSON *json)
{
	char *text;
	if (json == NULL) {
		return (CF_EINVAL);
	}
	text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (text == NULL) {
		return (CF_ENOMEM);
	}
	free(res->json);
	res->json = text;
	return (CF_OK);
}

int
cf_result_text(cf_job_result *res, const char *json_text)
{
	cJSON *j;
	if (json_text == NULL || (j = cJSON_Parse(json_text)) == NULL) {
		return (CF_EINVAL);
	}
	/* Stored compact, as cf_result_json stores it. */
	return (cf_result_json(res, j));
}

/* ---- the worker's handles ----------------------------------------------- */

int
cf_run_pg(cf_run *run, cf_pg **out, char *err, size_t errlen)
{
	cf__worker *w = run->worker;
	int         rv;

	if (w->pg == NULL
	    && (rv = cf_pg_open(
	            &w->pg, w->svc->opts->database_url, err, errlen))
	        != CF_OK) {
		return (rv);
	}
	*out = w->pg;
	return (CF_OK);
}

int
cf_run_redis(cf_run *run, cf_redis **out, char *err, size_t errlen)
{
	cf__worker *w = run->worker;
	int         rv;

	if (w->redis == NULL
	    && (rv = cf_redis_open(
	            &w->redis, w->svc->opts->redis_url, err, errlen))
	        != CF_OK) {
		return (rv);
	}
	*out = w->redis;
	return (CF_OK);
}

/* ---- running a tick ----------------------------------------------------- */

static void
svc_run_id(char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char     rnd[16];
	size_t            got = 0;

	while (got < sizeof(rnd)) {
		ssize_t k = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			/*
			 * Not expected on Linux >= 3.17; the id must still be
			 * unique, so mix time and address rather than fail.
			 */
			uint64_t x = (uint64_t) cf__svc_now_ms()
			    ^ (uint64_t) (uintptr_t) buf;
			for (; got < sizeof(rnd); got++) {
				x = x * 6364136223846793005ULL
				    + 1442695040888963407ULL;
				rnd[got] = (unsigned char) (x >> 56);
			}
			break;
		}
		got += (size_t) k;
	}
	for (size_t i = 0; i < sizeof(rnd) && 2 * i + 2 < len; i++) {
		buf[2 * i]     = hex[rnd[i] >> 4];
		buf[2 * i + 1] = hex[rnd[i] & 15];
		buf[2 * i + 2] = '\0';
	}
}

static void
svc_publish(cf_service *svc, const cf_tick *t, const char *run_id,
    cf_run_state state, int64_t started_at, int64_t finished_at,
    const char *error, const char *result)
{
	char            topic[CF_PROTO_MAX_NAME * 2 + 32];
	cf_event        e = { 0 };
	msgpack_sbuffer sb;
	int             rv;

	e.service       = (char *) svc->opts->name;
	e.job           = t->job;
	e.run_id        = (char *) run_id;
	e.fire_id       = t->fire_id;
	e.state         = state;
	e.trigger       = t->trigger;
	e.scheduled_for = t->scheduled_for;
	e.started_at    = started_at;
	e.finished_at   = finished_at;
	e.attempt       = t->attempt;
	e.error         = (char *) error;
	e.result        = (char *) result;
	snprintf(topic, sizeof(topic), "event.%s.%s.%s", svc->opts->name,
	    t->job, cf_run_state_name(state));
	msgpack_sbuffer_init(&sb);
	/* The encoder writes the whole message, topic included. */
	if ((rv = cf_proto_event_encode(&sb, &e)) == CF_OK) {
		rv = cf_pub_send_msg(svc->pub, sb.data, sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_WARN, t->job, run_id, "event not published",
		    "topic", topic, "error", cf_strerror(rv), NULL);
	}
}

/*
 * Claims the fire: inserts the run's row unless (job, fire_id, attempt)
 * already has one. Returns CF_OK with *started_at set, CF_EEXIST when
 * the fire is someone else's, or the database's error.
 */
static int
svc_claim(cf__worker *w, const cf_tick *t, const char *run_id,
    int64_t *started_at, char *err, size_t errlen)
{
	cf_service *svc = w->svc;
	char        sql[512], attempt[16], sched[32];
	const char *p[6];
	PGresult   *res = NULL;
	int         rv;

	if (w->pg == NULL
	    && (rv = cf_pg_open(&w->pg, svc->opts->database_url, err, errlen))
	        != CF_OK) {
		return (rv);
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO \"%s\".job_runs (run_id, job, fire_id, trigger, "
	    "attempt, scheduled_for, status) VALUES ($1, $2, $3, $4, $5, "
	    "timestamptz 'epoch' + $6::bigint * interval '1 millisecond', "
	    "'running') ON CONFLICT (job, fire_id, attempt) DO NOTHING "
	    "RETURNING (extract(epoch FROM started_at) * 1000)::bigint",
	    svc->opts->schema);
	snprintf(attempt, sizeof(attempt), "%u", t->attempt);
	snprintf(sched, sizeof(sched), "%lld", (long long) t->scheduled_for);
	p[0] = run_id;
	p[1] = t->job;
	p[2] = t->fire_id;
	p[3] = cf_trigger_name(t->trigger);
	p[4] = attempt;
	p[5] = sched;
	if ((rv = cf_pg_exec(w->pg, sql, 6, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (CF_EEXIST);
	}
	*started_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return (CF_OK);
}

/*
 * Records the end of a run. A connection lost meanwhile is retried a few
 * times (cf_pg reconnects on the next call; the UPDATE is idempotent).
 */
static int
svc_finish(cf__worker *w, const char *run_id, const char *status,
    const char *error, const char *result, int64_t *finished_at, char *err,
    size_t errlen)
{
	cf_service *svc = w->svc;
	char        sql[512];
	const char *p[4] = { run_id, status, error, result };
	int         rv   = CF_ECONN;

	snprintf(sql, sizeof(sql),
	    "UPDATE \"%s\".job_runs SET status = $2, finished_at = now(), "
	    "error = $3, result = $4::jsonb WHERE run_id = $1 "
	    "RETURNING (extract(epoch FROM finished_at) * 1000)::bigint",
	    svc->opts->schema);
	for (int i = 0; i < SVC_FINISH_TRIES; i++) {
		PGresult *res = NULL;
		if (i > 0) {
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
		}
		if (w->pg == NULL
		    && (rv = cf_pg_open(
		            &w->pg, svc->opts->database_url, err, errlen))
		        != CF_OK) {
			continue;
		}
		rv = cf_pg_exec(w->pg, sql, 4, p, &res, err, errlen);
		if (rv == CF_OK) {
			if (PQntuples(res) == 1) {
				*finished_at
				    = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			}
			PQclear(res);
			return (CF_OK);
		}
		if (rv != CF_ECONN && rv != CF_ETIMEDOUT) {
			break;
		}
	}
	return (rv);
}

static void
svc_run_tick(cf__worker *w, const cf_tick *t)
{
	cf_service        *svc = w->svc;
	const cf__svc_job *job = cf__svc_find(svc, t->job);
	cf_job_result      res = { 0 };
	cf_run             run = { 0 };
	char               run_id[40], err[1024];
	int64_t            started_at = 0, finished_at = 0, t0;
	int                rv;

	svc_run_id(run_id, sizeof(run_id));
	rv = svc_claim(w, t, run_id, &started_at, err, sizeof(err));
	if (rv == CF_EEXIST) {
		cf_log_kv(CF_LOG_DEBUG, t->job, NULL,
		    "fire already claimed (duplicate tick or another replica)",
		    "fire_id", t->fire_id, NULL);
		return;
	}
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, t->job, NULL,
		    "run not started: it cannot be recorded (the clock's "
		    "ledger "
		    "keeps the fire for catch-up)",
		    "fire_id", t->fire_id, "error", err, NULL);
		return;
	}
	cf_log_kv(CF_LOG_INFO, t->job, run_id, "run started", "fire_id",
	    t->fire_id, "trigger", cf_trigger_name(t->trigger), NULL);
	svc_publish(svc, t, run_id, CF_RUN_STARTED, started_at, 0, NULL, NULL);
	pthread_mutex_lock(&svc->mu);
	w->cur         = t;
	w->cur_started = started_at;
	snprintf(w->cur_run_id, sizeof(w->cur_run_id), "%s", run_id);
	svc->busy++;
	pthread_mutex_unlock(&svc->mu);

	run.service       = svc->opts->name;
	run.job           = t->job;
	run.fire_id       = t->fire_id;
	run.run_id        = run_id;
	run.trigger       = t->trigger;
	run.scheduled_for = t->scheduled_for;
	run.attempt       = t->attempt;
	run.ctx           = svc->opts->ctx;
	run.worker        = w;
	t0                = cf__svc_now_ms();
	rv                = job->def->fn(&run, &res);
	if (rv != CF_OK && !res.failed) {
		cf_result_fail(&res, "%s", cf_strerror(rv));
	}

	rv = svc_finish(w, run_id, res.failed ? "failed" : "succeeded",
	    res.failed ? res.error : NULL, res.json, &finished_at, err,
	    sizeof(err));
	if (rv != CF_OK) {
		/*
		 * The job did run, so its event is still true; the row stays
		 * "running" and says so to whoever reads the history.
		 */
		cf_log_kv(CF_LOG_ERROR, t->job, run_id,
		    "run finished but its end was not recorded", "fire_id",
		    t->fire_id, "error", err, NULL);
		finished_at = cf__svc_now_ms();
	}
	svc_publish(svc, t, run_id,
	    res.failed ? CF_RUN_FAILED : CF_RUN_SUCCEEDED, started_at,
	    finished_at, res.failed ? res.error : NULL, res.json);
	{
		char ms[32];
		snprintf(ms, sizeof(ms), "%lld",
		    (long long) (cf__svc_now_ms() - t0));
		cf_log_kv(res.failed ? CF_LOG_WARN : CF_LOG_INFO, t->job,
		    run_id, "run finished", "fire_id", t->fire_id, "status",
		    res.failed ? "failed" : "succeeded", "ms", ms, "error",
		    res.failed ? res.error : NULL, "permanent",
		    res.failed ? (res.permanent ? "true" : "false") : NULL,
		    NULL);
	}
	free(res.json);
	pthread_mutex_lock(&svc->mu);
	w->cur = NULL;
	svc->busy--;
	pthread_cond_broadcast(&svc->idle_cv);
	pthread_mutex_unlock(&svc->mu);
}

int
cf_run_stopping(const cf_run *run)
{
	cf_service *svc = run->worker->svc;
	int         stop;
	pthread_mutex_lock(&svc->mu);
	stop = svc->stop;
	pthread_mutex_unlock(&svc->mu);
	return (stop);
}

/*
 * After the grace period: every run still in progress is recorded as
 * interrupted (unless it finished meanwhile) and announced. Called with
 * svc->mu held, so no worker can finish and free its tick under us.
 */
static void
svc_interrupt_running(cf_service *svc)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
	    "interrupted: still running when the %lld ms shutdown grace "
	    "period ended",
	    (long long) svc->opts->grace_ms);
	pthread_mutex_lock(&svc->cmd_mu);
	for (int i = 0; i < svc->nworkers; i++) {
		cf__worker *w = &svc->workers[i];
		char        sql[256], err[512];
		const char *p[2] = { w->cur_run_id, msg };
		PGresult   *res  = NULL;
		int         n    = 0;

		if (w->cur == NULL) {
			continue;
		}
		snprintf(sql, sizeof(sql),
		    "UPDATE %s.job_runs SET status = 'interrupted', "
		    "finished_at = now(), error = $2 "
		    "WHERE run_id = $1 AND status = 'running'",
		    svc->opts->schema);
		if (svc->cmd_pg == NULL ||
		    cf_pg_exec(svc->cmd_pg, sql, 2, p, &res, err, sizeof(err)) !=
		        CF_OK) {
			cf_log_kv(CF_LOG_ERROR, w->cur->job, w->cur_run_id,
			    "interrupted run not recorded", "error",
			    svc->cmd_pg ? err : "no connection", NULL);
		} else {
			n = atoi(PQcmdTuples(res));
			PQclear(res);
		}
		if (n == 1) {
			svc_publish(svc, w->cur, w->cur_run_id,
			    CF_RUN_INTERRUPTED, w->cur_started, cf__svc_now_ms(),
			    msg, NULL);
			cf_log_kv(CF_LOG_WARN, w->cur->job, w->cur_run_id,
			    "run interrupted at shutdown", "fire_id",
			    w->cur->fire_id, NULL);
		}
	}
	pthread_mutex_unlock(&svc->cmd_mu);
}

static void *
svc_worker_main(void *arg)
{
	cf__worker *w   = arg;
	cf_service *svc = w->svc;

	pthread_mutex_lock(&svc->mu);
	for (;;) {
		cf_tick *t;
		while (!svc->stop && svc->qlen == 0) {
			pthread_cond_wait(&svc->cv, &svc->mu);
		}
		if (svc->stop) {
			break;
		}
		t          = svc->queue[svc->qhead];
		svc->qhead = (svc->qhead + 1) % SVC_QUEUE_MAX;
		svc->qlen--;
		pthread_mutex_unlock(&svc->mu);
		svc_run_tick(w, t);
		cf_tick_free(t);
		pthread_mutex_lock(&svc->mu);
	}
	pthread_mutex_unlock(&svc->mu);
	return (NULL);
}

/* The SUB thread: decode, check, queue. Never blocks on a job. */
static void
svc_on_tick(void *arg, const char *topic, const uint8_t *msg, size_t len)
{
	cf_service *svc = arg;
	cf_tick    *t   = NULL;
	char        err[512];
	int         rv;

	/* The decoder takes the whole message: service and job are in the
	 * topic as well as in the body, and must agree. */
	rv = cf_proto_tick_decode(msg, len, &t, err, sizeof(err));
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_WARN, NULL, NULL, "bad tick ignored", "topic",
		    topic, "error", err, NULL);
		return;
	}
	if (strcmp(t->service, svc->opts->name) != 0) {
		cf_log_kv(CF_LOG_WARN, t->job, NULL,
		    "tick for another service ignored", "service", t->service,
		    "fire_id", t->fire_id, NULL);
		cf_tick_free(t);
		return;
	}
	pthread_mutex_lock(&svc->mu);
	if (cf__svc_find(svc, t->job) == NULL) {
		pthread_mutex_unlock(&svc->mu);
		cf_log_kv(CF_LOG_WARN, t->job, NULL,
		    "tick for an unknown job ignored", "fire_id", t->fire_id,
		    NULL);
		cf_tick_free(t);
		return;
	}
	if (svc->stop || svc->qlen == SVC_QUEUE_MAX) {
		pthread_mutex_unlock(&svc->mu);
		cf_log_kv(CF_LOG_ERROR, t->job, NULL,
		    "tick dropped: stopping or too many waiting (the clock's "
		    "ledger keeps the fire)",
		    "fire_id", t->fire_id, NULL);
		cf_tick_free(t);
		return;
	}
	svc->queue[(svc->qhead + svc->qlen) % SVC_QUEUE_MAX] = t;
	svc->qlen++;
	pthread_cond_signal(&svc->cv);
	pthread_mutex_unlock(&svc->mu);
}

/* ---- registration with the clock ---------------------------------------- */

/* Offers one job to the clock. Returns CF_OK once the clock took it. */
static int
svc_register_one(cf_service *svc, cf__svc_job *j, char *err, size_t errlen)
{
	const cf_job_def *d = j->def;
	char      *args[3]  = { (char *) svc->opts->name, (char *) d->schedule,
		      (char *) d->tz };
	cf_command c        = { 0 };

	c.cmd   = "register";
	c.job   = (char *) d->name;
	c.args  = args;
	c.nargs = d->tz != NULL ? 3 : 2;
	return (cf_service_call(svc->reg_req, &c, SVC_REGISTER_TIMEOUT_MS, NULL,
	    err, errlen));
}

int
cf_service_call(cf_req *req, const cf_command *cmd, int timeout_ms,
    cf_reply **out, char *err, size_t errlen)
{
	cf_reply       *r = NULL;
	msgpack_sbuffer sb;
	uint8_t        *reply = NULL;
	size_t          rlen  = 0;
	int             rv;

	msgpack_sbuffer_init(&sb);
	if ((rv = cf_proto_command_encode(&sb, cmd)) != CF_OK) {
		msgpack_sbuffer_destroy(&sb);
		cf_errf(err, errlen, "%s: %s", cmd->cmd, cf_strerror(rv));
		return (rv);
	}
	rv = cf_req_call(req, sb.data, sb.size, timeout_ms, &reply, &rlen, err,
	    errlen);
	msgpack_sbuffer_destroy(&sb);
	if (rv != CF_OK) {
		return (rv);
	}
	rv = cf_proto_reply_decode(reply, rlen, &r, err, errlen);
	free(reply);
	if (rv != CF_OK) {
		return (rv);
	}
	if (!r->ok) {
		cf_errf(err, errlen, "refused: %s",
		    r->error != NULL ? r->error : "(no reason)");
		cf_reply_free(r);
		return (CF_EPROTO);
	}
	if (out != NULL) {
		*out = r;
	} else {
		cf_reply_free(r);
	}
	return (CF_OK);
}

static void *
svc_register_main(void *arg)
{
	cf_service *svc = arg;

	pthread_mutex_lock(&svc->mu);
	while (!svc->stop) {
		int             pending = 0;
		struct timespec ts;
		int64_t         until;

		for (size_t i = 0; i < svc->njobs && !svc->stop; i++) {
			cf__svc_job *j = &svc->jobs[i];
			char         err[512];
			int          rv;

			if (j->registered) {
				continue;
			}
			pthread_mutex_unlock(&svc->mu);
			rv = svc_register_one(svc, j, err, sizeof(err));
			pthread_mutex_lock(&svc->mu);
			if (rv == CF_OK) {
				j->registered = 1;
				cf_log_kv(CF_LOG_INFO, j->def->name, NULL,
				    "registered with the clock", "schedule",
				    j->def->schedule, NULL);
				continue;
			}
			pending++;
			/* Say it once, then now and then: the clock may be
			 * starting, or down for a while. */
			if (j->failures++ % 30 == 0) {
				cf_log_kv(CF_LOG_WARN, j->def->name, NULL,
				    "not yet registered with the clock; "
				    "retrying every second",
				    "clock", svc->opts->clock_rep_url, "error",
				    err, NULL);
			}
		}
		if (pending == 0) {
			break;
		}
		until      = cf__svc_now_ms() + SVC_REGISTER_EVERY_MS;
		ts.tv_sec  = (time_t) (until / 1000);
		ts.tv_nsec = (long) (until % 1000) * 1000000L;
		while (!svc->stop && cf__svc_now_ms() < until) {
			pthread_cond_timedwait(&svc->reg_cv, &svc->mu, &ts);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	return (NULL);
}

/* ---- open / register / run / close -------------------------------------- */

static int
svc_schema_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || strncmp(s, "pg_", 3) == 0
	    || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z')
		        || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
			return (0);
		}
	}
	return (1);
}

/* 1 if dir holds a migration file (a visible *.sql). */
static int
svc_has_sql(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	int            found = 0;

	if (d == NULL) {
		return (0);
	}
	while (!found && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		found    = e->d_name[0] != '.' && n > 4
		    && strcmp(e->d_name + n - 4, ".sql") == 0;
	}
	closedir(d);
	return (found);
}

static int
svc_migrate(cf_service *svc, char *err, size_t errlen)
{
	const cf_service_opts *o = svc->opts;
	char                   dir[1024];
	struct stat            st;
	int                    rv;

	snprintf(dir, sizeof(dir), "%s/runtime", o->migrations_dir);
	if ((rv = cf_migrate_apply(svc->cmd_pg, o->schema, dir, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	/* A service with no tables of its own has no folder, or an empty
	 * one. */
	snprintf(dir, sizeof(dir), "%s/%s", o->migrations_dir, o->name);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !svc_has_sql(dir)) {
		return (CF_OK);
	}
	return (cf_migrate_apply(svc->cmd_pg, o->schema, dir, err, errlen));
}

int
cf_service_open(
    cf_service **out, const cf_service_opts *opts, char *err, size_t errlen)
{
	cf_service *svc;
	char        prefix[CF_PROTO_MAX_NAME + 16];
	const char *prefixes[1] = { prefix };
	const char *urls[1];
	int         rv, n;

	*out = NULL;
	if (opts->name == NULL || !cf_proto_name_valid(opts->name)
	    || cf_proto_tick_prefix(prefix, sizeof(prefix), opts->name) != 0) {
		snprintf(err, errlen, "invalid service name");
		return (CF_EINVAL);
	}
	if (opts->schema == NULL || !svc_schema_valid(opts->schema)) {
		snprintf(err, errlen,
		    "schema '%s' is not a lower-case SQL name "
		    "([a-z_][a-z0-9_]*, "
		    "at most 63, not pg_*)",
		    opts->schema != NULL ? opts->schema : "");
		return (CF_EINVAL);
	}
	if ((svc = calloc(1, sizeof(*svc))) == NULL
	    || (svc->queue = calloc(SVC_QUEUE_MAX, sizeof(cf_tick *)))
	        == NULL) {
		free(svc);
		return (CF_ENOMEM);
	}
	svc->opts       = opts;
	svc->started_at = cf__svc_now_ms();
	pthread_mutex_init(&svc->mu, NULL);
	pthread_cond_init(&svc->cv, NULL);
	pthread_cond_init(&svc->reg_cv, NULL);
	pthread_cond_init(&svc->idle_cv, NULL);
	pthread_mutex_init(&svc->cmd_mu, NULL);

	/*
	 * Before any thread exists (nng starts its own with the first
	 * socket): every thread inherits the mask, so the signals reach only
	 * sigwait in cf_service_run().
	 */
	sigemptyset(&svc->sigs);
	sigaddset(&svc->sigs, SIGTERM);
	sigaddset(&svc->sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &svc->sigs, NULL);
	cf_log_init(opts->name, opts->log_level);

	if ((rv = cf_pg_open(&svc->cmd_pg, opts->database_url, err, errlen))
	        != CF_OK
	    || (rv = svc_migrate(svc, err, errlen)) != CF_OK) {
		goto fail;
	}
	n = (int) (opts->workers > 0 ? opts->workers : 1);
	if ((svc->workers = calloc((size_t) n, sizeof(cf__worker))) == NULL) {
		rv = CF_ENOMEM;
		goto fail;
	}
	svc->nworkers = n;
	for (int i = 0; i < svc->nworkers; i++) {
		svc->workers[i].svc = svc;
		if (pthread_create(&svc->workers[i].thr, NULL, svc_worker_main,
		        &svc->workers[i])
		    != 0) {
			snprintf(err, errlen, "cannot start job workers");
			rv = CF_ESYSTEM;
			goto fail;
		}
		svc->workers[i].started = 1;
	}
	if ((rv = cf_pub_open(&svc->pub, opts->pub_url, err, errlen)) != CF_OK
	    || (rv = cf_req_open(
	            &svc->clock_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_req_open(
	            &svc->reg_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_rep_open(&svc->rep, opts->rep_url, CF__SVC_REP_WORKERS,
	            CF_PROTO_MAX_MSG, cf__svc_handle, svc, err, errlen))
	        != CF_OK) {
		goto fail;
	}
	urls[0] = opts->clock_pub_url;
	if ((rv = cf_sub_open(&svc->sub, urls, 1, prefixes, 1,
	         CF_PROTO_MAX_MSG, svc_on_tick, svc, err, errlen))
	    != CF_OK) {
		goto fail;
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "service started", "rep",
	    opts->rep_url, "pub", opts->pub_url, "clock", opts->clock_rep_url,
	    "ticks", opts->clock_pub_url, "schema", opts->schema, NULL);
	*out = svc;
	return (CF_OK);
fail:
	cf_service_close(svc);
	return (rv);
}

int
cf_service_register(cf_service *svc, const cf_job_def *defs, size_t n,
    char *err, size_t errlen)
{
	cf__svc_job *jobs;

	if (svc->jobs != NULL) {
		snprintf(err, errlen, "jobs are already registered");
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		const cf_job_def *d = &defs[i];
		if (!cf_proto_name_valid(d->name) || d->schedule == NULL
		    || d->schedule[0] == '\0' || d->fn == NULL) {
			snprintf(err, errlen,
			    "job %zu ('%s'): needs a name of [A-Za-z0-9_-], a "
			    "schedule and a function",
			    i, d->name != NULL ? d->name : "");
			return (CF_EINVAL);
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(defs[k].name, d->name) == 0) {
				snprintf(err, errlen,
				    "job '%s' declared twice", d->name);
				return (CF_EINVAL);
			}
		}
	}
	if ((jobs = calloc(n > 0 ? n : 1, sizeof(*jobs))) == NULL) {
		return (CF_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i].def = &defs[i];
	}
	pthread_mutex_lock(&svc->mu);
	svc->jobs  = jobs;
	svc->njobs = n;
	pthread_mutex_unlock(&svc->mu);
	if (pthread_create(&svc->reg_thr, NULL, svc_register_main, svc) != 0) {
		snprintf(err, errlen, "cannot start the registration thread");
		return (CF_ESYSTEM);
	}
	svc->reg_started = 1;
	return (CF_OK);
}

int
cf_service_run(cf_service *svc, char *err, size_t errlen)
{
	int sig = 0;

	if (sigwait(&svc->sigs, &sig) != 0) {
		snprintf(err, errlen, "sigwait failed");
		return (CF_ESYSTEM);
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "stopping", "signal",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	return (CF_OK);
}

void
cf_service_close(cf_service *svc)
{
	if (svc == NULL) {
		return;
	}
	/* No more ticks: the SUB thread is the only producer. */
	cf_sub_close(svc->sub);
	pthread_mutex_lock(&svc->mu);
	svc->stop = 1;
	pthread_cond_broadcast(&svc->cv);
	pthread_cond_broadcast(&svc->reg_cv);
	pthread_mutex_unlock(&svc->mu);
	if (svc->reg_started) {
		pthread_join(svc->reg_thr, NULL);
	}
	/*
	 * Running jobs get the grace period to finish and be recorded; then
	 * those still running are recorded as interrupted and the process
	 * ends here (their threads cannot be joined, nor their state freed).
	 */
	pthread_mutex_lock(&svc->mu);
	if (svc->busy > 0) {
		int64_t         end = cf__svc_now_ms() + svc->opts->grace_ms;
		struct timespec ts  = { (time_t) (end / 1000),
                        (long) (end % 1000) * 1000000L };
		while (svc->busy > 0 &&
		    pthread_cond_timedwait(&svc->idle_cv, &svc->mu, &ts) == 0) {
		}
		if (svc->busy > 0) {
			svc_interrupt_running(svc);
			pthread_mutex_unlock(&svc->mu);
			cf_log_kv(CF_LOG_WARN, NULL, NULL,
			    "stopped with runs interrupted", NULL);
			_exit(0);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	/* Queued ticks that no worker started are dropped. */
	for (int i = 0; i < svc->nworkers; i++) {
		if (svc->workers[i].started) {
			pthread_join(svc->workers[i].thr, NULL);
		}
		cf_pg_close(svc->workers[i].pg);
		cf_redis_close(svc->workers[i].redis);
	}
	while (svc->qlen > 0) {
		cf_tick *t = svc->queue[svc->qhead];
		cf_log_kv(CF_LOG_WARN, t->job, NULL,
		    "tick not run: stopping (the clock's ledger keeps the "
		    "fire)",
		    "fire_id", t->fire_id, NULL);
		cf_tick_free(t);
		svc->qhead = (svc->qhead + 1) % SVC_QUEUE_MAX;
		svc->qlen--;
	}
	cf_rep_close(svc->rep);
	cf_req_close(svc->reg_req);
	cf_req_close(svc->clock_req);
	cf_pub_close(svc->pub);
	cf_pg_close(svc->cmd_pg);
	pthread_cond_destroy(&svc->cv);
	pthread_cond_destroy(&svc->reg_cv);
	pthread_cond_destroy(&svc->idle_cv);
	pthread_mutex_destroy(&svc->mu);
	pthread_mutex_destroy(&svc->cmd_mu);
	free(svc->workers);
	free(svc->jobs);
	free(svc->queue);
	free(svc);
}
