/*
 * clock.c - the clock actor.
 *
 * One loop thread fires schedules; a few REP workers answer commands.
 * Both share the job table under one mutex; the loop sleeps on a
 * condition variable until the next fire or until a command changes the
 * table. Database writes happen outside that mutex: the loop has its own
 * connection, the command workers share another under its own lock.
 *
 * A fire is written to the ledger (clock.fires, unique on job and
 * instant) before its tick is published. If the write fails the tick is
 * not published: a fire that is not in the ledger did not happen.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "cf_log.h"
#include "cf_migrate.h"
#include "cf_nng.h"
#include "cf_pg.h"
#include "cf_proto.h"
#include "cf_time.h"
#include "clock.h"
#include "ledger.h"
#include "schedule.h"

#define CLOCK_WORKERS 2
#define NEXT_DEFAULT 5
#define NEXT_MAX 100

struct clock_actor {
	const clock_cfg *cfg;
	pthread_mutex_t  mu; /* sched, running, stop */
	pthread_cond_t   cv;
	clock_sched      sched;
	bool             running;
	bool             stop;
	int64_t          started_at;
	int64_t          real_start; /* real ms when virtual time began */
	cf_pg *          pg_loop;
	pthread_mutex_t  pg_mu; /* pg_cmd */
	cf_pg *          pg_cmd;
	cf_pub *         pub;
	cf_rep *         rep;
	pthread_t        loop;
	bool             loop_started;
};

static int64_t
real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * The clock's notion of now. With CRONFLEET_CLOCK_START / _RATE it runs
 * from a given instant at a given speed (virtual time, for tests): every
 * fire, ledger entry and tick then carries virtual instants, and services
 * take the nominal time from the tick.
 */
static int64_t
now_ms(const clock_actor *c)
{
	if (c->cfg->virt_start < 0) {
		return (real_ms());
	}
	return (c->cfg->virt_start + (real_ms() - c->real_start) * c->cfg->rate);
}

/* The real instant at which now_ms(c) reaches at. */
static int64_t
real_at(const clock_actor *c, int64_t at)
{
	if (c->cfg->virt_start < 0) {
		return (at);
	}
	return (c->real_start +
	    (at - c->cfg->virt_start + c->cfg->rate - 1) / c->cfg->rate);
}

static void
fmt_time(char *buf, size_t len, int64_t ms)
{
	cf_rfc3339_format(buf, len, ms, 0, 1);
}

/* ---- the loop ------------------------------------------------------ */

/* Records and publishes one fire. Called without c->mu held. */
static int
clock_emit(clock_actor *c, cf_pg *pg, const char *service, const char *job,
    int64_t at, cf_trigger trigger, char *fire_id, size_t idlen)
{
	char            err[512];
	cf_tick         t = { 0 };
	msgpack_sbuffer sb;
	int             rv;

	if ((rv = cf_fire_id(fire_id, idlen, job, at)) != CF_OK) {
		return (rv);
	}
	rv = ledger_record(pg, job, service, at, fire_id, trigger, 0, err,
	    sizeof(err));
	if (rv == CF_EEXIST) {
		/* Another clock, or an earlier run of this one, fired it. */
		cf_log_kv(CF_LOG_DEBUG, job, NULL, "fire already in the ledger",
		    "fire_id", fire_id, NULL);
		return (rv);
	}
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, job, NULL,
		    "fire not recorded, tick not published", "fire_id",
		    fire_id, "error", err, NULL);
		return (rv);
	}
	t.service       = (char *) service;
	t.job           = (char *) job;
	t.fire_id       = fire_id;
	t.scheduled_for = at;
	t.trigger       = trigger;
	t.attempt       = 1;
	msgpack_sbuffer_init(&sb);
	/* The encoder writes the whole message, topic included. */
	if ((rv = cf_proto_tick_encode(&sb, &t)) == CF_OK) {
		rv = cf_pub_send_msg(c->pub, sb.data, sb.size);
	}
	msgpack_sbuffer_destroy(&sb);
	cf_log_kv(CF_LOG_INFO, job, NULL, "tick published", "fire_id",
	    fire_id, "trigger", cf_trigger_name(trigger), NULL);
	return (rv);
}

static void *
clock_loop(void *arg)
{
	clock_actor *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		int64_t at, now;
		int     slot;
		char    job[CLOCK_NAME_MAX], service[CLOCK_NAME_MAX];
		char    fire_id[CF_FIRE_ID_LEN];

		if (!c->running || (slot = clock_sched_peek(&c->sched, &at)) < 0) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		if (at > (now = now_ms(c))) {
			/* The condition variable waits on CLOCK_REALTIME. */
			int64_t         r  = real_at(c, at);
			struct timespec ts = { (time_t) (r / 1000),
				(long) (r % 1000) * 1000000L };
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
			continue;
		}
		snprintf(job, sizeof(job), "%s", c->sched.jobs[slot].name);
		snprintf(service, sizeof(service), "%s",
		    c->sched.jobs[slot].service);
		pthread_mutex_unlock(&c->mu);
		clock_emit(c, c->pg_loop, service, job, at, CF_TRIGGER_SCHEDULE,
		    fire_id, sizeof(fire_id));
		pthread_mutex_lock(&c->mu);
		/* A command may have moved the job meanwhile. */
		if ((slot = clock_sched_find(&c->sched, job)) >= 0 &&
		    c->sched.jobs[slot].next == at) {
			clock_sched_advance(&c->sched, slot, at);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return (NULL);
}

/* ---- commands -------------------------------------------------------- */

/* Replies are built as cJSON and sent in the request's own form. */
typedef struct {
	cJSON *data;
	char   error[1024];
} answer;

static cJSON *
job_json(const clock_job *j, const clock_sched *s)
{
	cJSON *o = cJSON_CreateObject();
	char   when[40] = "";
	cJSON_AddStringToObject(o, "job", j->name);
	cJSON_AddStringToObject(o, "service", j->service);
	cJSON_AddStringToObject(o, "schedule", j->expr);
	cJSON_AddStringToObject(
	    o, "tz", j->tz[0] ? j->tz : (s->default_tz[0] ? s->default_tz : "UTC"));
	cJSON_AddBoolToObject(o, "enabled", j->enabled);
	cJSON_AddBoolToObject(o, "paused", j->paused);
	if (j->next >= 0) {
		cf_rfc3339_format(when, sizeof(when), j->next,
		    cf_cron_utc_offset(j->cron, j->next), 0);
		cJSON_AddStringToObject(o, "next_fire", when);
	} else {
		cJSON_AddNullToObject(o, "next_fire");
	}
	return (o);
}

/* The fires of one job, with their DST marks. */
static cJSON *
next_json(const clock_sched *s, int slot, int64_t from, int n)
{
	int64_t  at[NEXT_MAX];
	unsigned fl[NEXT_MAX];
	int      k = clock_sched_upcoming(s, slot, from, at, fl, n);
	cJSON *  o = job_json(&s->jobs[slot], s);
	cJSON *  a = cJSON_AddArrayToObject(o, "fires");
	for (int i = 0; i < k; i++) {
		char   when[40];
		cJSON *f = cJSON_CreateObject();
		cf_rfc3339_format(when, sizeof(when), at[i],
		    cf_cron_utc_offset(s->jobs[slot].cron, at[i]), 0);
		cJSON_AddStringToObject(f, "at", when);
		if (fl[i] & CF_FIRE_DST_SHIFTED) {
			cJSON_AddStringToObject(f, "dst", "shifted");
		} else if (fl[i] & CF_FIRE_DST_AT_TRANSITION) {
			cJSON_AddStringToObject(f, "dst", "at-transition");
		} else if (fl[i] & CF_FIRE_DST_DOUBLED) {
			cJSON_AddStringToObject(f, "dst", "repeated-hour");
		} else if (fl[i] & CF_FIRE_DST_REPEATED) {
			cJSON_AddStringToObject(f, "dst", "repeated-hour-once");
		}
		cJSON_AddItemToArray(a, f);
	}
	return (o);
}

static int
cmd_need_job(const clock_actor *c, const cf_command *cmd, answer *a)
{
	int slot;
	if (cmd->job == NULL) {
		snprintf(a->error, sizeof(a->error), "%s: missing job name",
		    cmd->cmd);
		return (-1);
	}
	if ((slot = clock_sched_find(&c->sched, cmd->job)) < 0) {
		snprintf(a->error, sizeof(a->error), "unknown job '%s'",
		    cmd->job);
	}
	return (slot);
}

static void
cmd_status(clock_actor *c, answer *a)
{
	char when[40];
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "service", "clock");
	cJSON_AddStringToObject(
	    a->data, "scheduler", c->running ? "running" : "stopped");
	fmt_time(when, sizeof(when), c->started_at);
	cJSON_AddStringToObject(a->data, "started_at", when);
	cJSON_AddNumberToObject(a->data, "jobs", c->sched.n);
}

static void
cmd_jobs(clock_actor *c, answer *a)
{
	a->data = cJSON_CreateArray();
	for (int i = 0; i < c->sched.n; i++) {
		cJSON_AddItemToArray(a->data, job_json(&c->sched.jobs[i], &c->sched));
	}
}

static void
cmd_next(clock_actor *c, const cf_command *cmd, answer *a)
{
	int     n   = cmd->n > 0 ? (cmd->n > NEXT_MAX ? NEXT_MAX : cmd->n)
	                         : NEXT_DEFAULT;
	int64_t now = now_ms(c);
	int     slot;

	if (cmd->job != NULL) {
		if ((slot = cmd_need_job(c, cmd, a)) >= 0) {
			a->data = next_json(&c->sched, slot, now, n);
		}
		return;
	}
	a->data = cJSON_CreateArray();
	for (int i = 0; i < c->sched.n; i++) {
		cJSON_AddItemToArray(a->data, next_json(&c->sched, i, now, n));
	}
}

/*
 * Writes a job's row; with c->pg_mu held by the caller. Runtime changes
 * (expr from "schedule", pause) are what must survive a restart.
 */
static int
store_job(clock_actor *c, const clock_job *j, int overridden, const char *by,
    char *err, size_t errlen)
{
	return (store_schedule(c->pg_cmd, j->name, j->service, j->expr, j->tz,
	    j->paused, overridden, by, err, errlen));
}

static void
cmd_register(clock_actor *c, const cf_command *cmd, answer *a)
{
	char        err[512];
	stored_job  st;
	const char *service, *expr, *tz;
	int         slot, found, rv;

	if (cmd->job == NULL || cmd->nargs < 2) {
		snprintf(a->error, sizeof(a->error),
		    "register: expected <job> <service> <expr> [tz]");
		return;
	}
	service = cmd->args[0];
	expr    = cmd->args[1];
	tz      = cmd->nargs > 2 ? cmd->args[2] : "";
	pthread_mutex_lock(&c->pg_mu);
	rv = store_load_one(c->pg_cmd, cmd->job, &st, &found, err, sizeof(err));
	if (rv != CF_OK) {
		pthread_mutex_unlock(&c->pg_mu);
		snprintf(a->error, sizeof(a->error), "register %s: %.400s", cmd->job,
		    err);
		return;
	}
	pthread_mutex_lock(&c->mu);
	slot = clock_sched_add(&c->sched, service, cmd->job,
	    found && st.overridden ? st.expr : expr, tz, now_ms(c),
	    found && st.overridden, a->error, sizeof(a->error));
	if (slot >= 0) {
		if (found && st.paused) {
			clock_sched_pause(&c->sched, slot, 1, now_ms(c));
		}
		a->data = job_json(&c->sched.jobs[slot], &c->sched);
		if (!found) {
			rv = store_job(c, &c->sched.jobs[slot], 0, "register", err,
			    sizeof(err));
		}
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->pg_mu);
	if (slot >= 0 && rv != CF_OK) {
		cf_log_kv(CF_LOG_WARN, cmd->job, NULL, "schedule not stored",
		    "error", err, NULL);
	}
}

/* pause, resume and schedule: change, store, then answer. */
static void
cmd_change(clock_actor *c, const cf_command *cmd, answer *a)
{
	char err[512];
	int  slot, rv = CF_OK;

	pthread_mutex_lock(&c->pg_mu);
	pthread_mutex_lock(&c->mu);
	if ((slot = cmd_need_job(c, cmd, a)) < 0) {
		goto out;
	}
	if (strcmp(cmd->cmd, "schedule") == 0) {
		if (cmd->nargs < 1) {
			snprintf(a->error, sizeof(a->error),
			    "schedule: expected <job> '<expr>'");
			goto out;
		}
		if (clock_sched_set_expr(&c->sched, slot, cmd->args[0], now_ms(c),
		        a->error, sizeof(a->error)) != CF_OK) {
			goto out;
		}
	} else {
		clock_sched_pause(&c->sched, slot,
		    strcmp(cmd->cmd, "pause") == 0, now_ms(c));
	}
	rv = store_job(c, &c->sched.jobs[slot],
	    strcmp(cmd->cmd, "schedule") == 0 ? 1 : -1, cmd->cmd, err,
	    sizeof(err));
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s %s: applied, but not stored (lost on restart): %.400s",
		    cmd->cmd, cmd->job, err);
	}
	a->data = job_json(&c->sched.jobs[slot], &c->sched);
	pthread_cond_signal(&c->cv);
out:
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->pg_mu);
}

static void
cmd_start_stop(clock_actor *c, const cf_command *cmd, answer *a)
{
	char err[512];
	bool run = strcmp(cmd->cmd, "start") == 0;
	int  rv;

	pthread_mutex_lock(&c->pg_mu);
	rv = store_setting(c->pg_cmd, "scheduler", run ? "running" : "stopped",
	    err, sizeof(err));
	pthread_mutex_unlock(&c->pg_mu);
	pthread_mutex_lock(&c->mu);
	c->running = run;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s: applied, but not stored (lost on restart): %.400s",
		    cmd->cmd, err);
		return;
	}
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "scheduler", run ? "running" : "stopped");
}

/* A manual fire: into the ledger and out as a tick, now. */
static void
cmd_trigger(clock_actor *c, const cf_command *cmd, answer *a)
{
	char    service[CLOCK_NAME_MAX], fire_id[CF_FIRE_ID_LEN], when[40];
	int64_t at = now_ms(c);
	int     slot, rv;

	pthread_mutex_lock(&c->mu);
	if ((slot = cmd_need_job(c, cmd, a)) < 0) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	snprintf(service, sizeof(service), "%s", c->sched.jobs[slot].service);
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_lock(&c->pg_mu);
	rv = clock_emit(c, c->pg_cmd, service, cmd->job, at, CF_TRIGGER_MANUAL,
	    fire_id, sizeof(fire_id));
	pthread_mutex_unlock(&c->pg_mu);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "trigger %s: the fire could not be recorded (%s)", cmd->job,
		    cf_strerror(rv));
		return;
	}
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "job", cmd->job);
	cJSON_AddStringToObject(a->data, "service", service);
	cJSON_AddStringToObject(a->data, "fire_id", fire_id);
	fmt_time(when, sizeof(when), at);
	cJSON_AddStringToObject(a->data, "scheduled_for", when);
	cJSON_AddStringToObject(a->data, "trigger", "manual");
}

static void
clock_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len)
{
	clock_actor *         c   = arg;
	cf_command *    cmd = NULL;
	answer          a   = { NULL, "" };
	int             is_text = 0;

	if (cf_proto_request_decode(req, len, &cmd, &is_text, a.error,
	        sizeof(a.error)) != CF_OK) {
		/* Undecodable: is_text still says which form to answer in. */
	} else if (strcmp(cmd->cmd, "status") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_status(c, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "ping") == 0) {
		a.data = cJSON_CreateObject();
		cJSON_AddBoolToObject(a.data, "pong", 1);
	} else if (strcmp(cmd->cmd, "jobs") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_jobs(c, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "next") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_next(c, cmd, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "register") == 0) {
		cmd_register(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "pause") == 0 ||
	    strcmp(cmd->cmd, "resume") == 0 ||
	    strcmp(cmd->cmd, "schedule") == 0) {
		cmd_change(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "start") == 0 ||
	    strcmp(cmd->cmd, "stop") == 0) {
		cmd_start_stop(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "trigger") == 0) {
		cmd_trigger(c, cmd, &a);
	} else {
		snprintf(a.error, sizeof(a.error),
		    "unknown command '%.40s' (the clock answers: status, jobs, "
		    "next, trigger, pause, resume, schedule, start, stop, "
		    "register, ping)",
		    cmd->cmd);
	}
	cf_proto_answer(a.data, a.error, is_text, reply, reply_len);
	cJSON_Delete(a.data);
	cf_command_free(cmd);
}

/* ---- open / close ---------------------------------------------------- */

static int
clock_load(clock_actor *c, char *err, size_t errlen)
{
	stored_job *rows = NULL;
	int         n, rv;
	char        running[32] = "";

	if ((rv = store_load_all(c->pg_cmd, &rows, &n, err, errlen)) != CF_OK) {
		return (rv);
	}
	for (int i = 0; i < n; i++) {
		char why[512];
		int  slot = clock_sched_add(&c->sched, rows[i].service,
                    rows[i].job, rows[i].expr, rows[i].tz, now_ms(c),
                    rows[i].overridden, why, sizeof(why));
		if (slot < 0) {
			cf_log_kv(CF_LOG_WARN, rows[i].job, NULL,
			    "stored schedule ignored", "error", why, NULL);
			continue;
		}
		if (rows[i].paused) {
			clock_sched_pause(&c->sched, slot, 1, now_ms(c));
		}
	}
	free(rows);
	if (store_get_setting(c->pg_cmd, "scheduler", running, sizeof(running),
	        err, errlen) == CF_OK &&
	    running[0] != '\0') {
		c->running = strcmp(running, "running") == 0;
	}
	return (CF_OK);
}

int
clock_open(clock_actor **out, const clock_cfg *cfg, char *err, size_t errlen)
{
	clock_actor *c;
	char   dir[1024];
	int    rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return (CF_ENOMEM);
	}
	c->cfg        = cfg;
	c->running    = cfg->enabled;
	c->real_start = real_ms();
	c->started_at = now_ms(c);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->pg_mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((rv = clock_sched_init(&c->sched, (int) cfg->max_jobs,
	         cfg->default_tz)) != CF_OK) {
		goto fail;
	}
	if ((rv = cf_pg_open(&c->pg_cmd, cfg->database_url, err, errlen)) !=
	        CF_OK ||
	    (rv = cf_pg_open(&c->pg_loop, cfg->database_url, err, errlen)) !=
	        CF_OK) {
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s/clock", cfg->migrations);
	if ((rv = cf_migrate_apply(c->pg_cmd, cfg->schema, dir, err, errlen)) !=
	    CF_OK) {
		goto fail;
	}
	if ((rv = store_init(c->pg_cmd, cfg->schema, err, errlen)) != CF_OK ||
	    (rv = store_init(c->pg_loop, cfg->schema, err, errlen)) != CF_OK ||
	    (rv = clock_load(c, err, errlen)) != CF_OK) {
		goto fail;
	}
	if ((rv = cf_pub_open(&c->pub, cfg->pub_url, err, errlen)) != CF_OK ||
	    (rv = cf_rep_open(&c->rep, cfg->rep_url, CLOCK_WORKERS, 0,
	         clock_handle, c, err, errlen)) != CF_OK) {
		goto fail;
	}
	if (pthread_create(&c->loop, NULL, clock_loop, c) != 0) {
		snprintf(err, errlen, "cannot start the clock loop");
		rv = CF_ESYSTEM;
		goto fail;
	}
	c->loop_started = true;
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "clock started", "rep",
	    cfg->rep_url, "pub", cfg->pub_url, "scheduler",
	    c->running ? "running" : "stopped", NULL);
	*out = c;
	return (CF_OK);
fail:
	clock_close(c);
	return (rv);
}

void
clock_close(clock_actor *c)
{
	if (c == NULL) {
		return;
	}
	/* Commands first, so none touches what the loop is releasing. */
	cf_rep_close(c->rep);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->loop_started) {
		pthread_join(c->loop, NULL);
	}
	cf_pub_close(c->pub);
	cf_pg_close(c->pg_loop);
	cf_pg_close(c->pg_cmd);
	clock_sched_fini(&c->sched);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->pg_mu);
	free(c);
}
