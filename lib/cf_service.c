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
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cf_config.h"
#include "cf_log.h"
#include "cf_migrate.h"
#include "cf_service_int.h"
#include "cf_service_metrics.h"

#ifndef CF_SVC_DB_DIR
#define CF_SVC_DB_DIR "db"
#endif

/* How often an unregistered job is offered to the clock again. */
#define SVC_REGISTER_EVERY_MS 1000
#define SVC_REGISTER_TIMEOUT_MS 2000
/* Clock replicas a service listens to (CRONFLEET_CLOCK_PUB list). */
#define SVC_CLOCKS_MAX 8
/* Catch-up ticks a job may have waiting; beyond, the sweep takes them. */
#define SVC_HELD_MAX 10000

int64_t
cf__svc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
cf__svc_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

long
cf__svc_find_index(const cf_service *svc, const char *name)
{
	if (name == NULL) {
		return (-1);
	}
	for (size_t i = 0; i < svc->njobs; i++) {
		if (strcmp(svc->jobs[i].def->name, name) == 0) {
			return ((long) i);
		}
	}
	return (-1);
}

const cf__svc_job *
cf__svc_find(const cf_service *svc, const char *name)
{
	long i = cf__svc_find_index(svc, name);
	return (i < 0 ? NULL : &svc->jobs[i]);
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
	char sweep[96];
	char schema_def[CF_PROTO_MAX_NAME + 1];
} svc_names;

#define SVC_NITEMS 12

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
	snprintf(nm->sweep, sizeof(nm->sweep), "CRONFLEET_%s_SWEEP", up);

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
		CF_CFG_DURATION(nm->sweep, 100, 3600000, "10s",
		    cf_service_opts, sweep_ms,
		    "How often missed fires are caught up (and how old a "
		    "fire must be to count as missed)."),
		CF_CFG_URL("CRONFLEET_CLOCK_REP", svc_nng_schemes,
		    "tcp://127.0.0.1:7101", CF_CONFIG_LIST, cf_service_opts,
		    clock_rep_url,
		    "The clock's commands (REP); several clocks: a list."),
		CF_CFG_URL("CRONFLEET_CLOCK_PUB", svc_nng_schemes,
		    "tcp://127.0.0.1:7100", CF_CONFIG_LIST, cf_service_opts,
		    clock_pub_url,
		    "The clock's ticks (PUB); several clocks: a list."),
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

/* ---- runs and events --------------------------------------------------- */

void
cf__svc_run_id(char *buf, size_t len)
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

void
cf__svc_publish(cf_service *svc, const char *job, const char *fire_id,
    cf_trigger trigger, int64_t scheduled_for, uint32_t attempt,
    const char *run_id, cf_run_state state, int64_t started_at,
    int64_t finished_at, const char *error, const char *result)
{
	char            topic[CF_PROTO_MAX_NAME * 2 + 32];
	cf_event        e = { 0 };
	msgpack_sbuffer sb;
	int             rv;

	e.service       = (char *) svc->opts->name;
	e.job           = (char *) job;
	e.run_id        = (char *) run_id;
	e.fire_id       = (char *) fire_id;
	e.state         = state;
	e.trigger       = trigger;
	e.scheduled_for = scheduled_for;
	e.started_at    = started_at;
	e.finished_at   = finished_at;
	e.attempt       = attempt;
	e.error         = (char *) error;
	e.result        = (char *) result;
	snprintf(topic, sizeof(topic), "event.%s.%s.%s", svc->opts->name, job,
	    cf_run_state_name(state));
	msgpack_sbuffer_init(&sb);
	/* The encoder writes the whole message, topic included. */
	if ((rv = cf_proto_event_encode(&sb, &e)) == CF_OK) {
		rv = cf_pub_send_msg(svc->pub, sb.data, sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_WARN, job, run_id, "event not published",
		    "topic", topic, "error", cf_strerror(rv), NULL);
	}
}

/*
 * The SUB thread: decode, check, queue. Never blocks on a job or on
 * PostgreSQL: the claim is the worker's.
 */
static void
svc_on_tick(void *arg, const char *topic, const uint8_t *msg, size_t len)
{
	cf_service *svc = arg;
	cf_tick    *t   = NULL;
	cf__item   *it;
	char        err[512];
	long        idx;
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
	/*
	 * Fencing: a clock that lost its lease may still publish for a
	 * moment; its epoch is older than the leader's.
	 */
	if (t->epoch < svc->epoch) {
		char seen[24], got[24];
		pthread_mutex_unlock(&svc->mu);
		snprintf(seen, sizeof(seen), "%llu",
		    (unsigned long long) svc->epoch);
		snprintf(
		    got, sizeof(got), "%llu", (unsigned long long) t->epoch);
		cf_log_kv(CF_LOG_WARN, t->job, NULL,
		    "tick from an older clock epoch ignored (fencing)",
		    "fire_id", t->fire_id, "epoch", got, "newest", seen, NULL);
		cf_tick_free(t);
		return;
	}
	svc->epoch = t->epoch;
	if ((idx = cf__svc_find_index(svc, t->job)) < 0) {
		pthread_mutex_unlock(&svc->mu);
		cf_log_kv(CF_LOG_WARN, t->job, NULL,
		    "tick for an unknown job ignored", "fire_id", t->fire_id,
		    NULL);
		cf_tick_free(t);
		return;
	}
	if (cf__svc_pending(svc, t->job, t->fire_id)) {
		/* Queued, waiting or running here already. */
		pthread_mutex_unlock(&svc->mu);
		cf_log_kv(CF_LOG_DEBUG, t->job, NULL,
		    "duplicate tick ignored (the fire is in hand)", "fire_id",
		    t->fire_id, NULL);
		cf_tick_free(t);
		return;
	}
	it = cf__item_new(svc, (size_t) idx, t->fire_id, t->scheduled_for,
	    t->trigger, t->attempt, 0, CF__ITEM_TICK);
	if (it != NULL && t->trigger == CF_TRIGGER_CATCHUP && !svc->stop
	    && svc->jobs[idx].nheld < SVC_HELD_MAX) {
		/*
		 * The clock catching up a backlog (misfire all) publishes its
		 * fires at once: they run one after the other, in order,
		 * rather than skip each other for overlap.
		 */
		cf__svc_enqueue_backlog(svc, it);
		pthread_mutex_unlock(&svc->mu);
		cf_tick_free(t);
		return;
	}
	if (it == NULL || cf__svc_enqueue_tick(svc, it) != CF_OK) {
		cf__item_free(svc, it);
		pthread_mutex_unlock(&svc->mu);
		cf_log_kv(CF_LOG_ERROR, t->job, NULL,
		    "tick dropped: stopping or too many waiting (the clock's "
		    "ledger keeps the fire for the catch-up sweep)",
		    "fire_id", t->fire_id, NULL);
		cf_tick_free(t);
		return;
	}
	pthread_mutex_unlock(&svc->mu);
	cf_tick_free(t);
}

/* ---- registration with the clock ---------------------------------------- */

/*
 * Offers one job to the clock, with its effective policies as key=value
 * options (proto/COMMANDS.md, register). Returns CF_OK once the clock
 * took it.
 */
static int
svc_register_one(cf_service *svc, cf__svc_job *j, char *err, size_t errlen)
{
	const cf_job_def *d = j->def;
	char              opts[8][CF__OPT_LEN];
	char             *args[3 + 8];
	size_t            nopt, n = 0;
	cf_command        c = { 0 };

	nopt      = cf__policy_options(&j->pol, d->priority, opts, 8);
	args[n++] = (char *) svc->opts->name;
	args[n++] = (char *) (d->schedule != NULL ? d->schedule : "-");
	args[n++] = (char *) (d->tz != NULL ? d->tz : "");
	for (size_t i = 0; i < nopt; i++) {
		args[n++] = opts[i];
	}
	c.cmd   = "register";
	c.job   = (char *) d->name;
	c.args  = args;
	c.nargs = n;
	return (cf_service_call(
	    svc->reg_req, &c, SVC_REGISTER_TIMEOUT_MS, NULL, err, errlen));
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
	rv = cf_req_call(
	    req, sb.data, sb.size, timeout_ms, &reply, &rlen, err, errlen);
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

/*
 * A job declared run_on_start, just taken by the clock: fire it by hand
 * unless CRONFLEET_JOB_<NAME>_RUN_ON_START says no or a run of it started
 * in the last minute (a restart, or a replica that came up first).
 * Best effort: a failure is logged, the schedule still runs the job.
 */
static void
svc_run_on_start(cf_service *svc, const cf__svc_job *j)
{
	char        var[CF_PROTO_MAX_NAME + 48], err[512], sql[256];
	const char *v, *p[1] = { j->def->name };
	PGresult   *res;
	cf_command  c = { 0 };
	size_t      k = 0;

	k = (size_t) snprintf(var, sizeof(var), "CRONFLEET_JOB_");
	for (const char *s = j->def->name; *s != '\0' && k + 1 < sizeof(var);
	     s++) {
		var[k++]
		    = *s == '-' ? '_' : (char) toupper((unsigned char) *s);
	}
	snprintf(var + k, sizeof(var) - k, "_RUN_ON_START");
	if ((v = getenv(var)) != NULL
	    && (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0
	        || strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0)) {
		return;
	}
	snprintf(sql, sizeof(sql),
	    "SELECT 1 FROM %s.job_runs WHERE job = $1 AND started_at > now() "
	    "- interval '1 minute' LIMIT 1",
	    svc->opts->schema);
	if ((res = cf__svc_cmd_query(svc, sql, 1, p, err, sizeof(err)))
	    == NULL) {
		cf_log_kv(CF_LOG_WARN, j->def->name, NULL,
		    "run on start skipped", "error", err, NULL);
		return;
	}
	k = (size_t) PQntuples(res);
	PQclear(res);
	if (k > 0) {
		cf_log_kv(CF_LOG_INFO, j->def->name, NULL,
		    "run on start not needed: a run started in the last "
		    "minute",
		    NULL);
		return;
	}
	c.cmd = "trigger";
	c.job = (char *) j->def->name;
	if (cf_service_call(svc->reg_req, &c, SVC_REGISTER_TIMEOUT_MS, NULL,
	        err, sizeof(err))
	    != CF_OK) {
		cf_log_kv(CF_LOG_WARN, j->def->name, NULL,
		    "run on start: the clock refused the fire", "error", err,
		    NULL);
		return;
	}
	cf_log_kv(
	    CF_LOG_INFO, j->def->name, NULL, "run on start: fired", NULL);
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
				    j->def->schedule != NULL ? j->def->schedule
				                             : "-",
				    "after",
				    j->pol.after[0] != '\0' ? j->pol.after
				                            : NULL,
				    NULL);
				if (j->def->run_on_start) {
					pthread_mutex_unlock(&svc->mu);
					svc_run_on_start(svc, j);
					pthread_mutex_lock(&svc->mu);
				}
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

/* "<host>:<pid>:<random>": whose rows these are, in job_runs.owner. */
static void
svc_owner(cf_service *svc)
{
	char host[64] = "";
	char rnd[40];

	if (gethostname(host, sizeof(host)) != 0) {
		snprintf(host, sizeof(host), "host");
	}
	host[sizeof(host) - 1] = '\0';
	cf__svc_run_id(rnd, sizeof(rnd));
	snprintf(svc->owner, sizeof(svc->owner), "%s:%ld:%.8s", host,
	    (long) getpid(), rnd);
}

int
cf_service_open(
    cf_service **out, const cf_service_opts *opts, char *err, size_t errlen)
{
	cf_service *svc;
	char        prefix[CF_PROTO_MAX_NAME + 16];
	const char *prefixes[1] = { prefix };
	const char *urls[SVC_CLOCKS_MAX];
	char        pub[SVC_CLOCKS_MAX][256];
	int         rv, n, nurl = 0;

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
	if ((svc = calloc(1, sizeof(*svc))) == NULL) {
		return (CF_ENOMEM);
	}
	svc->opts       = opts;
	svc->started_at = cf__svc_now_ms();
	pthread_mutex_init(&svc->mu, NULL);
	pthread_cond_init(&svc->cv, NULL);
	pthread_cond_init(&svc->reg_cv, NULL);
	pthread_cond_init(&svc->idle_cv, NULL);
	pthread_cond_init(&svc->mon_cv, NULL);
	pthread_cond_init(&svc->chain_cv, NULL);
	pthread_mutex_init(&svc->cmd_mu, NULL);
	pthread_mutex_init(&svc->pool_mu, NULL);
	pthread_cond_init(&svc->pool_cv, NULL);
	svc_owner(svc);

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

	if ((rv = cf__svc_metrics_open(svc)) != CF_OK) {
		goto fail;
	}
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
		if (pthread_create(&svc->workers[i].thr, NULL,
		        cf__svc_worker_main, &svc->workers[i])
		    != 0) {
			snprintf(err, errlen, "cannot start job workers");
			rv = CF_ESYSTEM;
			goto fail;
		}
		svc->workers[i].started = 1;
	}
	if (pthread_create(&svc->mon_thr, NULL, cf__svc_monitor_main, svc)
	    != 0) {
		snprintf(err, errlen, "cannot start the monitor thread");
		rv = CF_ESYSTEM;
		goto fail;
	}
	svc->mon_started = 1;
	if (pthread_create(&svc->chain_thr, NULL, cf__svc_chain_main, svc)
	    != 0) {
		snprintf(err, errlen, "cannot start the chain thread");
		rv = CF_ESYSTEM;
		goto fail;
	}
	svc->chain_started = 1;
	if ((rv = cf_pub_open(&svc->pub, opts->pub_url, err, errlen)) != CF_OK
	    || (rv = cf_req_open(
	            &svc->clock_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_req_open(
	            &svc->reg_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_req_open(
	            &svc->sweep_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_req_open(
	            &svc->chain_req, opts->clock_rep_url, err, errlen))
	        != CF_OK
	    || (rv = cf_rep_open(&svc->rep, opts->rep_url, CF__SVC_REP_WORKERS,
	            CF_PROTO_MAX_MSG, cf__svc_handle, svc, err, errlen))
	        != CF_OK) {
		goto fail;
	}
	/* Every clock replica's PUB: only the leader's publishes. */
	for (const char *p = opts->clock_pub_url; nurl < SVC_CLOCKS_MAX;) {
		size_t l = strcspn(p, ",");
		snprintf(pub[nurl], sizeof(pub[nurl]), "%.*s", (int) l, p);
		urls[nurl] = pub[nurl];
		nurl++;
		if (p[l] == '\0') {
			break;
		}
		p += l + 1;
	}
	if ((rv = cf_sub_open(&svc->sub, urls, nurl, prefixes, 1,
	         CF_PROTO_MAX_MSG, svc_on_tick, svc, err, errlen))
	    != CF_OK) {
		goto fail;
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "service started", "rep",
	    opts->rep_url, "pub", opts->pub_url, "clock", opts->clock_rep_url,
	    "ticks", opts->clock_pub_url, "schema", opts->schema, "owner",
	    svc->owner, NULL);
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
	char         prefix[CF_PROTO_MAX_NAME + 16];

	if (svc->jobs != NULL) {
		snprintf(err, errlen, "jobs are already registered");
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < n; i++) {
		const cf_job_def *d = &defs[i];
		if (!cf_proto_name_valid(d->name) || d->fn == NULL
		    || (d->schedule != NULL && d->schedule[0] == '\0')) {
			snprintf(err, errlen,
			    "job %zu ('%s'): needs a name of [A-Za-z0-9_-], a "
			    "schedule (or \"-\") and a function",
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
	snprintf(prefix, sizeof(prefix), "cronfleet-%s", svc->opts->name);
	for (size_t i = 0; i < n; i++) {
		int from_env = 0, rv;
		jobs[i].def  = &defs[i];
		rv           = cf__policy_resolve(
		              &jobs[i].pol, &from_env, &defs[i], prefix, err, errlen);
		if (rv != CF_OK && from_env) {
			/*
			 * The configuration convention: one line naming the
			 * variable, status 2. _exit, as threads are running
			 * already and nothing here needs flushing.
			 */
			fprintf(stderr, "%s\n", err);
			fflush(stderr);
			_exit(2);
		}
		if (rv != CF_OK) {
			free(jobs);
			return (rv);
		}
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
	if (pthread_create(&svc->sweep_thr, NULL, cf__svc_sweep_main, svc)
	    != 0) {
		snprintf(err, errlen, "cannot start the sweep thread");
		return (CF_ESYSTEM);
	}
	svc->sweep_started = 1;
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
	/* No more ticks: the SUB thread is the only producer of them. */
	cf_sub_close(svc->sub);
	pthread_mutex_lock(&svc->mu);
	svc->stop = 1;
	pthread_cond_broadcast(&svc->cv);
	pthread_cond_broadcast(&svc->reg_cv);
	pthread_mutex_unlock(&svc->mu);
	if (svc->reg_started) {
		pthread_join(svc->reg_thr, NULL);
	}
	if (svc->sweep_started) {
		pthread_join(svc->sweep_thr, NULL);
	}
	/*
	 * Running jobs get the grace period to finish and be recorded (the
	 * monitor still renews their heartbeats and applies timeouts); then
	 * those still running are recorded as interrupted and the process
	 * ends here (their threads cannot be joined, nor their state freed).
	 */
	pthread_mutex_lock(&svc->mu);
	if (svc->busy > 0) {
		int64_t         end = cf__svc_now_ms() + svc->opts->grace_ms;
		struct timespec ts  = { (time_t) (end / 1000),
			 (long) (end % 1000) * 1000000L };
		while (svc->busy > 0
		    && pthread_cond_timedwait(&svc->idle_cv, &svc->mu, &ts)
		        == 0) { }
		if (svc->busy > 0) {
			cf__svc_interrupt_running(svc);
			pthread_mutex_unlock(&svc->mu);
			cf_log_kv(CF_LOG_WARN, NULL, NULL,
			    "stopped with runs interrupted", NULL);
			_exit(0);
		}
	}
	/* The last successes' chains, if the clock takes them quickly. */
	for (int i = 0; i < 60 && svc->nchains > 0 && !svc->chain_off; i++) {
		struct timespec ts = { 0, 50 * 1000000L };
		pthread_mutex_unlock(&svc->mu);
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&svc->mu);
	}
	svc->hard_stop = 1;
	pthread_cond_broadcast(&svc->mon_cv);
	pthread_cond_broadcast(&svc->chain_cv);
	pthread_mutex_unlock(&svc->mu);
	if (svc->mon_started) {
		pthread_join(svc->mon_thr, NULL);
	}
	if (svc->chain_started) {
		pthread_join(svc->chain_thr, NULL);
	}
	for (int i = 0; i < svc->nworkers; i++) {
		if (svc->workers[i].started) {
			pthread_join(svc->workers[i].thr, NULL);
		}
		cf_pg_close(svc->workers[i].pg);
		cf_redis_close(svc->workers[i].redis);
	}
	/* Fires queued, held or waiting for a retry are dropped: the next
	 * sweep (here or in another replica) takes them up. */
	pthread_mutex_lock(&svc->mu);
	cf__svc_drop_queued(svc);
	for (size_t b = 0; b < CF__PENDING_BUCKETS; b++) {
		while (svc->pending[b] != NULL) {
			cf__pending *p  = svc->pending[b];
			svc->pending[b] = p->next;
			free(p);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	cf_rep_close(svc->rep);
	cf_req_close(svc->reg_req);
	cf_req_close(svc->sweep_req);
	cf_req_close(svc->chain_req);
	cf_req_close(svc->clock_req);
	cf_pub_close(svc->pub);
	cf_pg_close(svc->cmd_pg);
	for (int i = 0; i < CF__SVC_REP_WORKERS; i++) {
		cf_pg_close(svc->pool[i]);
	}
	cf_pg_close(svc->mon_pg);
	cf_pg_close(svc->sweep_pg);
	pthread_cond_destroy(&svc->cv);
	pthread_cond_destroy(&svc->reg_cv);
	pthread_cond_destroy(&svc->idle_cv);
	pthread_cond_destroy(&svc->mon_cv);
	pthread_cond_destroy(&svc->chain_cv);
	pthread_mutex_destroy(&svc->mu);
	pthread_mutex_destroy(&svc->cmd_mu);
	pthread_mutex_destroy(&svc->pool_mu);
	pthread_cond_destroy(&svc->pool_cv);
	cf__svc_metrics_close(svc);
	free(svc->workers);
	free(svc->jobs);
	free(svc);
}
