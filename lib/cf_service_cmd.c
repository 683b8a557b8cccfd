/*
 * cf_service_cmd.c - the commands a domain service answers on its REP
 * socket (proto/COMMANDS.md, "Domain services").
 *
 * status, ping, jobs and history are answered here, from the service's
 * job table and its job_runs. trigger, pause, resume, next and schedule
 * belong to the clock, which owns schedules and the fire ledger: they are
 * checked (the job must be one of ours) and forwarded to it, and its
 * answer is passed back in the request's form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_log.h"
#include "cf_service_int.h"
#include "cf_time.h"

/* The clock answers from memory; a slow answer means it is in trouble. */
#define FORWARD_TIMEOUT_MS 5000

/* Replies are built as cJSON and sent in the request's own form. */
typedef struct {
	cJSON *data;
	char   error[1024];
} answer;

/* The job table, read under the lock: cf_service_register may race us. */
static const cf__svc_job *
cmd_jobs_snapshot(cf_service *svc, size_t *n)
{
	const cf__svc_job *j;
	pthread_mutex_lock(&svc->mu);
	j  = svc->jobs;
	*n = svc->njobs;
	pthread_mutex_unlock(&svc->mu);
	return (j);
}

static const cf__svc_job *
cmd_need_job(cf_service *svc, const cf_command *cmd, answer *a)
{
	const cf__svc_job *j;
	size_t             n;

	if (cmd->job == NULL) {
		snprintf(a->error, sizeof(a->error), "%s: missing job name",
		    cmd->cmd);
		return (NULL);
	}
	cmd_jobs_snapshot(svc, &n);
	if ((j = cf__svc_find(svc, cmd->job)) == NULL) {
		snprintf(
		    a->error, sizeof(a->error), "unknown job '%s'", cmd->job);
	}
	return (j);
}

static void
cmd_add_time(cJSON *o, const char *key, const PGresult *res, int row, int col)
{
	char when[40];
	if (PQgetisnull(res, row, col)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	cf_rfc3339_format(when, sizeof(when),
	    strtoll(PQgetvalue(res, row, col), NULL, 10), 0, 1);
	cJSON_AddStringToObject(o, key, when);
}

cJSON *
cf__svc_run_json(const PGresult *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *result;

	cJSON_AddStringToObject(o, "run_id", PQgetvalue(res, row, 0));
	cJSON_AddStringToObject(o, "job", PQgetvalue(res, row, 1));
	cJSON_AddStringToObject(o, "fire_id", PQgetvalue(res, row, 2));
	cJSON_AddStringToObject(o, "trigger", PQgetvalue(res, row, 3));
	cJSON_AddNumberToObject(
	    o, "attempt", (double) strtol(PQgetvalue(res, row, 4), NULL, 10));
	cmd_add_time(o, "scheduled_for", res, row, 5);
	cmd_add_time(o, "started_at", res, row, 6);
	cmd_add_time(o, "finished_at", res, row, 7);
	cJSON_AddStringToObject(o, "status", PQgetvalue(res, row, 8));
	if (PQgetisnull(res, row, 9)) {
		cJSON_AddNullToObject(o, "error");
	} else {
		cJSON_AddStringToObject(o, "error", PQgetvalue(res, row, 9));
	}
	if (PQgetisnull(res, row, 10)
	    || (result = cJSON_Parse(PQgetvalue(res, row, 10))) == NULL) {
		cJSON_AddNullToObject(o, "result");
	} else {
		cJSON_AddItemToObject(o, "result", result);
	}
	/* final: no attempt follows; next_attempt_at: when the retry of a
	 * failed attempt is due. */
	cJSON_AddBoolToObject(o, "final", PQgetvalue(res, row, 11)[0] == 't');
	cmd_add_time(o, "next_attempt_at", res, row, 12);
	if (PQgetisnull(res, row, 13)) {
		cJSON_AddNullToObject(o, "owner");
	} else {
		cJSON_AddStringToObject(o, "owner", PQgetvalue(res, row, 13));
	}
	return (o);
}

PGresult *
cf__svc_cmd_query(cf_service *svc, const char *sql, int np,
    const char *const *p, char *error, size_t errlen)
{
	PGresult *res = NULL;
	char      err[512];
	int       rv  = CF_OK, slot = -1;

	/* A free connection of the pool (as many as REP workers: one each). */
	pthread_mutex_lock(&svc->pool_mu);
	for (;;) {
		for (int i = 0; i < CF__SVC_REP_WORKERS && slot < 0; i++) {
			if (!svc->pool_busy[i]) {
				slot = i;
			}
		}
		if (slot >= 0) {
			break;
		}
		pthread_cond_wait(&svc->pool_cv, &svc->pool_mu);
	}
	svc->pool_busy[slot] = 1;
	pthread_mutex_unlock(&svc->pool_mu);

	if (svc->pool[slot] == NULL) {
		rv = cf_pg_open(&svc->pool[slot], svc->opts->database_url, err,
		    sizeof(err));
	}
	if (rv == CF_OK) {
		rv = cf_pg_exec_prepared(
		    svc->pool[slot], sql, np, p, &res, err, sizeof(err));
	}

	pthread_mutex_lock(&svc->pool_mu);
	svc->pool_busy[slot] = 0;
	pthread_cond_signal(&svc->pool_cv);
	pthread_mutex_unlock(&svc->pool_mu);
	if (rv != CF_OK) {
		snprintf(error, errlen, "run history unavailable: %s", err);
		return (NULL);
	}
	return (res);
}

/* Runs a query on the command connection; NULL and a.error on failure. */
static PGresult *
cmd_query(
    cf_service *svc, const char *sql, int np, const char *const *p, answer *a)
{
	return (cf__svc_cmd_query(svc, sql, np, p, a->error, sizeof(a->error)));
}

/* The clock epoch this replica follows and its catch-up sweep. */
static void
cmd_add_runtime(cf_service *svc, cJSON *o)
{
	cJSON  *sw;
	int64_t last, after;
	int     off;
	char    when[40], error[256];

	pthread_mutex_lock(&svc->mu);
	cJSON_AddNumberToObject(o, "clock_epoch", (double) svc->epoch);
	last  = svc->sweep_last_at;
	after = svc->sweep_after;
	off   = svc->sweep_off;
	snprintf(error, sizeof(error), "%s", svc->sweep_error);
	pthread_mutex_unlock(&svc->mu);
	sw = cJSON_AddObjectToObject(o, "sweep");
	cJSON_AddNumberToObject(sw, "every_ms", (double) svc->opts->sweep_ms);
	cJSON_AddNumberToObject(sw, "after_seq", (double) after);
	if (last > 0) {
		cf_rfc3339_format(when, sizeof(when), last, 0, 1);
		cJSON_AddStringToObject(sw, "last_at", when);
	} else {
		cJSON_AddNullToObject(sw, "last_at");
	}
	cJSON_AddBoolToObject(sw, "available", !off);
	if (error[0] != '\0') {
		cJSON_AddStringToObject(sw, "error", error);
	} else {
		cJSON_AddNullToObject(sw, "error");
	}
}

/* A job's effective policies (its cf_job_def, then the environment). */
static cJSON *
cmd_policies(const cf__svc_job *j)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(
	    o, "misfire", cf__misfire_names[j->pol.misfire]);
	cJSON_AddNumberToObject(
	    o, "catchup_window_ms", (double) j->pol.window_ms);
	cJSON_AddStringToObject(
	    o, "overlap", cf__overlap_names[j->pol.overlap]);
	cJSON_AddNumberToObject(o, "timeout_ms", (double) j->pol.timeout_ms);
	cJSON_AddNumberToObject(o, "retries", j->pol.retries);
	cJSON_AddNumberToObject(
	    o, "retry_base_ms", (double) j->pol.retry_base_ms);
	cJSON_AddNumberToObject(
	    o, "retry_cap_ms", (double) CF__SVC_RETRY_CAP_MS);
	if (j->pol.after[0] != '\0') {
		cJSON_AddStringToObject(o, "after", j->pol.after);
	} else {
		cJSON_AddNullToObject(o, "after");
	}
	return (o);
}

/*
 * The jobs' names as a PostgreSQL array literal ({"a","b"}); names are
 * [A-Za-z0-9_-], so quoting each is enough. Freed by the caller.
 */
static char *
cmd_job_array(const cf__svc_job *jobs, size_t n)
{
	size_t len = 3, at = 0;
	char  *s;

	for (size_t i = 0; i < n; i++) {
		len += strlen(jobs[i].def->name) + 3;
	}
	if ((s = malloc(len)) == NULL) {
		return (NULL);
	}
	s[at++] = '{';
	for (size_t i = 0; i < n; i++) {
		at += (size_t) snprintf(s + at, len - at, "%s\"%s\"",
		    i > 0 ? "," : "", jobs[i].def->name);
	}
	s[at++] = '}';
	s[at]   = '\0';
	return (s);
}

static void
cmd_status(cf_service *svc, answer *a)
{
	const cf__svc_job *jobs;
	size_t             n;
	char               sql[1024], when[40], *names;
	const char        *p[1];
	PGresult          *res;
	cJSON             *arr;

	jobs = cmd_jobs_snapshot(svc, &n);
	/*
	 * The newest run of each job: one probe of the (job, started_at)
	 * index per job, whatever the length of the history (a DISTINCT ON
	 * over job_runs read every run ever recorded).
	 */
	if ((names = cmd_job_array(jobs, n)) == NULL) {
		snprintf(a->error, sizeof(a->error), "out of memory");
		return;
	}
	snprintf(sql, sizeof(sql),
	    "SELECT r.* FROM unnest($1::text[]) AS j(name) CROSS JOIN LATERAL "
	    "(SELECT " CF__RUN_COLUMNS " FROM \"%s\".job_runs "
	    "WHERE job = j.name ORDER BY started_at DESC, attempt DESC "
	    "LIMIT 1) r",
	    svc->opts->schema);
	p[0] = names;
	res  = cmd_query(svc, sql, 1, p, a);
	free(names);
	if (res == NULL) {
		return;
	}
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "service", svc->opts->name);
	cf_rfc3339_format(when, sizeof(when), svc->started_at, 0, 1);
	cJSON_AddStringToObject(a->data, "started_at", when);
	cJSON_AddStringToObject(a->data, "owner", svc->owner);
	cmd_add_runtime(svc, a->data);
	arr = cJSON_AddArrayToObject(a->data, "jobs");
	for (size_t i = 0; i < n; i++) {
		cJSON *o    = cJSON_CreateObject();
		cJSON *last = NULL;
		int    running, held;
		cJSON_AddStringToObject(o, "job", jobs[i].def->name);
		pthread_mutex_lock(&svc->mu);
		running = jobs[i].running;
		held    = (int) jobs[i].nheld;
		pthread_mutex_unlock(&svc->mu);
		/* Here, in this replica: runs in progress, fires waiting for
		 * the job to be free (queue_one, retries due, catch-up). */
		cJSON_AddNumberToObject(o, "running", running);
		cJSON_AddNumberToObject(o, "waiting", held);
		for (int r = 0; r < PQntuples(res); r++) {
			if (strcmp(PQgetvalue(res, r, 1), jobs[i].def->name)
			    == 0) {
				last = cf__svc_run_json(res, r);
				break;
			}
		}
		cJSON_AddItemToObject(
		    o, "last_run", last != NULL ? last : cJSON_CreateNull());
		cJSON_AddItemToArray(arr, o);
	}
	PQclear(res);
}

static void
cmd_jobs(cf_service *svc, answer *a)
{
	const cf__svc_job *jobs;
	size_t             n;

	jobs    = cmd_jobs_snapshot(svc, &n);
	a->data = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		const cf_job_def *d = jobs[i].def;
		cJSON            *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "job", d->name);
		cJSON_AddStringToObject(
		    o, "description", d->description ? d->description : "");
		cJSON_AddStringToObject(
		    o, "schedule", d->schedule != NULL ? d->schedule : "-");
		if (d->tz != NULL) {
			cJSON_AddStringToObject(o, "tz", d->tz);
		}
		cJSON_AddStringToObject(
		    o, "priority", d->priority ? d->priority : "medium");
		cJSON_AddItemToObject(o, "policies", cmd_policies(&jobs[i]));
		cJSON_AddItemToArray(a->data, o);
	}
}

/* Keeps only the elements of a "next" array that are this service's. */
static void
cmd_keep_ours(cf_service *svc, cJSON *arr)
{
	cJSON *it = arr->child;
	while (it != NULL) {
		cJSON *next = it->next;
		cJSON *s    = cJSON_GetObjectItemCaseSensitive(it, "service");
		if (!cJSON_IsString(s)
		    || strcmp(s->valuestring, svc->opts->name)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, it));
		}
		it = next;
	}
}

/* Sends cmd to the clock and takes its answer as ours. */
static void
cmd_forward(cf_service *svc, const cf_command *cmd, answer *a)
{
	msgpack_sbuffer sb;
	uint8_t        *reply = NULL;
	size_t          rlen  = 0;
	cf_reply       *r     = NULL;
	char            err[512];
	int             rv;

	msgpack_sbuffer_init(&sb);
	if ((rv = cf_proto_command_encode(&sb, cmd)) != CF_OK) {
		msgpack_sbuffer_destroy(&sb);
		snprintf(a->error, sizeof(a->error), "%s: %s", cmd->cmd,
		    cf_strerror(rv));
		return;
	}
	rv = cf_req_call(svc->clock_req, sb.data, sb.size, FORWARD_TIMEOUT_MS,
	    &reply, &rlen, err, sizeof(err));
	msgpack_sbuffer_destroy(&sb);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s: the clock did not answer (%s)", cmd->cmd, err);
		return;
	}
	rv = cf_proto_reply_decode(reply, rlen, &r, err, sizeof(err));
	free(reply);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s: bad reply from the clock (%s)", cmd->cmd, err);
		return;
	}
	if (!r->ok) {
		snprintf(a->error, sizeof(a->error), "%s",
		    r->error != NULL ? r->error : "the clock refused");
	} else if (r->data == NULL) {
		a->data = cJSON_CreateNull();
	} else if ((a->data = cJSON_Parse(r->data)) == NULL) {
		snprintf(a->error, sizeof(a->error),
		    "%s: bad reply from the clock (data is not JSON)",
		    cmd->cmd);
	}
	cf_reply_free(r);
}

void
cf__svc_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len)
{
	cf_service *svc     = arg;
	cf_command *cmd     = NULL;
	answer      a       = { NULL, "" };
	int         is_text = 0;

	if (cf_proto_request_decode(
	        req, len, &cmd, &is_text, a.error, sizeof(a.error))
	    != CF_OK) {
		/* Undecodable: is_text still says which form to answer in. */
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "bad request", "error",
		    a.error, NULL);
	} else if (strcmp(cmd->cmd, "ping") == 0) {
		a.data = cJSON_CreateObject();
		cJSON_AddBoolToObject(a.data, "pong", 1);
	} else if (strcmp(cmd->cmd, "status") == 0) {
		cmd_status(svc, &a);
	} else if (strcmp(cmd->cmd, "jobs") == 0) {
		cmd_jobs(svc, &a);
	} else if (strcmp(cmd->cmd, "history") == 0) {
		cf__svc_cmd_history(svc, cmd, &a.data, a.error, sizeof(a.error));
	} else if (strcmp(cmd->cmd, "counts") == 0) {
		cf__svc_cmd_counts(svc, cmd, &a.data, a.error, sizeof(a.error));
	} else if (strcmp(cmd->cmd, "metrics") == 0) {
		cf__svc_cmd_metrics(svc, cmd, &a.data, a.error, sizeof(a.error));
	} else if (strcmp(cmd->cmd, "trigger") == 0
	    || strcmp(cmd->cmd, "pause") == 0
	    || strcmp(cmd->cmd, "resume") == 0
	    || strcmp(cmd->cmd, "schedule") == 0) {
		if (cmd_need_job(svc, cmd, &a) != NULL) {
			cmd_forward(svc, cmd, &a);
		}
	} else if (strcmp(cmd->cmd, "next") == 0) {
		if (cmd->job == NULL || cmd_need_job(svc, cmd, &a) != NULL) {
			cmd_forward(svc, cmd, &a);
			if (cmd->job == NULL && cJSON_IsArray(a.data)) {
				cmd_keep_ours(svc, a.data);
			}
		}
	} else if (svc->opts->commands == NULL
	    || svc->opts->commands(
	           svc->opts->ctx, cmd, &a.data, a.error, sizeof(a.error))
	        == 0) {
		snprintf(a.error, sizeof(a.error),
		    "unknown command '%.40s' (%s answers: status, ping, jobs, "
		    "history, counts, metrics, trigger, pause, resume, next, "
		    "schedule%s%.300s)",
		    cmd->cmd, svc->opts->name,
		    svc->opts->commands_help != NULL ? ", " : "",
		    svc->opts->commands_help != NULL ? svc->opts->commands_help
		                                     : "");
	} else if (a.error[0] != '\0') {
		/* A refusal: no data goes with it. */
		cJSON_Delete(a.data);
		a.data = NULL;
	}
	/* Too big (a long history of large results) becomes an error. */
	cf_proto_answer(a.data, a.error, is_text, reply, reply_len);
	cJSON_Delete(a.data);
	cf_command_free(cmd);
}
