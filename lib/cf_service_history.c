/*
 * cf_service_history.c - the run history a domain service answers with
 * (`history`), and its run counts (`counts`), from its job_runs.
 *
 * history pages newest first by (started_at, run_id). started_at alone
 * is not a key: runs started by one statement, or in one microsecond,
 * share it, and a cursor on the time alone would either repeat them on
 * the next page or lose them. The pair is unique, and it is what the
 * index job_runs_by_time (db/runtime/003_history.sql) holds, so every
 * page is an index range scan however deep the client has paged.
 * run_id compares byte-wise (COLLATE "C") so that the gateway, merging
 * several services' pages, can order entries with strcmp and agree with
 * every service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_service_int.h"
#include "cf_time.h"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000
/* counts looks this far back. */
#define COUNTS_WINDOW_MS (24LL * 3600 * 1000)

/* job_runs.status, in COMMANDS.md's order. */
static const char *const run_statuses[] = { "running", "succeeded", "failed",
	"skipped", "timed_out", "interrupted" };
#define NSTATUSES (sizeof(run_statuses) / sizeof(run_statuses[0]))

/* What a history request asks for, once its arguments are checked. */
typedef struct hist_query {
	const char *status;     /* NULL: any */
	char        since[24];  /* unix ms, "" for none */
	char        before[24]; /* started_at in µs of the cursor, or "" */
	const char *before_id;  /* the cursor's run_id ("" sorts first) */
} hist_query;

/*
 * Reads the key=value arguments into q. An error starts with "invalid "
 * (the gateway answers those with 400, COMMANDS.md) and names the key.
 */
static int
hist_args(const cf_command *cmd, hist_query *q, char *error, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < cmd->nargs; i++) {
		const char *a  = cmd->args[i];
		const char *eq = strchr(a, '=');
		const char *v;
		size_t      klen;

		if (eq == NULL) {
			snprintf(error, errlen,
			    "invalid argument '%.40s': expected key=value "
			    "(status, since, before)",
			    a);
			return (-1);
		}
		klen = (size_t) (eq - a);
		v    = eq + 1;
		if (klen == 6 && strncmp(a, "status", 6) == 0) {
			q->status = NULL;
			for (size_t s = 0; s < NSTATUSES; s++) {
				if (strcmp(v, run_statuses[s]) == 0) {
					q->status = run_statuses[s];
				}
			}
			if (q->status == NULL) {
				snprintf(error, errlen,
				    "invalid status '%.40s': expected one of "
				    "running, succeeded, failed, skipped, "
				    "timed_out, interrupted",
				    v);
				return (-1);
			}
		} else if (klen == 5 && strncmp(a, "since", 5) == 0) {
			int64_t ms;
			/* Digits are unix ms (what programs hold); anything
			 * else must be RFC 3339 (what people write). */
			if (cf_digits(v, strlen(v))) {
				ms = strtoll(v, NULL, 10);
			} else if (cf_rfc3339_parse(v, &ms) != 0) {
				snprintf(error, errlen,
				    "invalid since '%.40s': expected an RFC "
				    "3339 time or unix milliseconds",
				    v);
				return (-1);
			}
			snprintf(q->since, sizeof(q->since), "%lld",
			    (long long) ms);
		} else if (klen == 6 && strncmp(a, "before", 6) == 0) {
			const char *colon = strchr(v, ':');
			if (colon == NULL
			    || !cf_digits(v, (size_t) (colon - v))
			    || strlen(colon + 1) > CF_PROTO_MAX_ID) {
				snprintf(error, errlen,
				    "invalid before '%.40s': expected "
				    "<unix microseconds>:<run_id>, a run's "
				    "\"cursor\"",
				    v);
				return (-1);
			}
			snprintf(q->before, sizeof(q->before), "%.*s",
			    (int) (colon - v), v);
			q->before_id = colon + 1;
		} else {
			snprintf(error, errlen,
			    "invalid argument '%.40s': the keys are status, "
			    "since and before",
			    a);
			return (-1);
		}
	}
	return (0);
}

/*
 * history [job] [n] [status=<s>] [since=<t>] [before=<cursor>]: the
 * newest n runs (of job, or of every job here) started before the
 * cursor, at or after since, with that status. Each run carries its
 * "cursor" ("<started_at µs>:<run_id>"); the last one's, given back as
 * before=, is the next page.
 */
void
cf__svc_cmd_history(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen)
{
	char        sql[1536], limit[16];
	const char *p[6];
	PGresult   *res;
	hist_query  q;
	size_t      off = 0;
	int         np  = 0, fit;
	int         n   = cmd->n > 0 ? cmd->n : HISTORY_DEFAULT;

	if (cmd->job != NULL) {
		/* The table is fixed once registered; read it under mu. */
		pthread_mutex_lock(&svc->mu);
		fit = cf__svc_find(svc, cmd->job) != NULL;
		pthread_mutex_unlock(&svc->mu);
		if (!fit) {
			snprintf(error, errlen, "unknown job '%s'", cmd->job);
			return;
		}
	}
	if (hist_args(cmd, &q, error, errlen) != 0) {
		return;
	}
	snprintf(
	    limit, sizeof(limit), "%d", n > HISTORY_MAX ? HISTORY_MAX : n);
	fit = cf_pg_sqlcat(sql, sizeof(sql), &off,
	    "SELECT " CF__RUN_COLUMNS ", "
	    "(extract(epoch FROM started_at) * 1000000)::bigint "
	    "FROM \"%s\".job_runs WHERE true",
	    svc->opts->schema);
	if (cmd->job != NULL) {
		p[np++] = cmd->job;
		fit |= cf_pg_sqlcat(sql, sizeof(sql), &off, " AND job = $%d", np);
	}
	if (q.status != NULL) {
		p[np++] = q.status;
		fit |= cf_pg_sqlcat(
		    sql, sizeof(sql), &off, " AND status = $%d", np);
	}
	if (q.since[0] != '\0') {
		p[np++] = q.since;
		fit |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " AND started_at >= timestamptz 'epoch' + $%d::bigint "
		    "* interval '1 millisecond'",
		    np);
	}
	if (q.before[0] != '\0') {
		/* A row comparison, so that the index range starts right
		 * at the cursor. */
		p[np++] = q.before;
		p[np++] = q.before_id;
		fit |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " AND (started_at, run_id COLLATE \"C\") < "
		    "(timestamptz 'epoch' + $%d::bigint "
		    "* interval '1 microsecond', $%d::text COLLATE \"C\")",
		    np - 1, np);
	}
	p[np++] = limit;
	fit |= cf_pg_sqlcat(sql, sizeof(sql), &off,
	    " ORDER BY started_at DESC, run_id COLLATE \"C\" DESC "
	    "LIMIT $%d::int",
	    np);
	if (fit != 0) {
		/* The pieces are constants and a schema name of bounded
		 * length: a programming error. */
		abort();
	}
	if ((res = cf__svc_cmd_query(svc, sql, np, p, error, errlen))
	    == NULL) {
		return;
	}
	*data = cJSON_CreateArray();
	for (int r = 0; r < PQntuples(res); r++) {
		cJSON *o = cf__svc_run_json(res, r);
		char   cursor[32 + CF_PROTO_MAX_ID];

		snprintf(cursor, sizeof(cursor), "%s:%s",
		    PQgetvalue(res, r, 14), PQgetvalue(res, r, 0));
		cJSON_AddStringToObject(o, "cursor", cursor);
		cJSON_AddItemToArray(*data, o);
	}
	PQclear(res);
}

/* A {"running":0,...} object with every status. */
static cJSON *
counts_zero(void)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t s = 0; s < NSTATUSES; s++) {
		cJSON_AddNumberToObject(o, run_statuses[s], 0);
	}
	return (o);
}

/* Adds k to o[status] (a status the table's CHECK allows). */
static void
counts_add(cJSON *o, const char *status, double k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, status);
	if (v != NULL) {
		cJSON_SetNumberValue(v, v->valuedouble + k);
	}
}

/*
 * counts: runs started in the last 24 hours by status, in total and per
 * job: {"since":T,"window_ms":N,"runs_24h":{status:n},"jobs":{job:
 * {"last_24h":{status:n}}}}. Every job of this service is listed, with
 * zeros when it did not run. One GROUP BY over the time index's last
 * day, so it stays cheap however long the table grows.
 */
void
cf__svc_cmd_counts(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen)
{
	char               sql[512], since[24], when[40];
	const char        *p[1] = { since };
	const cf__svc_job *jobs;
	size_t             njobs;
	PGresult          *res;
	cJSON             *total, *per;
	int64_t            from = cf__svc_now_ms() - COUNTS_WINDOW_MS;

	if (cmd->job != NULL || cmd->nargs != 0 || cmd->n != 0) {
		snprintf(error, errlen,
		    "invalid counts: it takes no job, n "
		    "or arguments");
		return;
	}
	snprintf(since, sizeof(since), "%lld", (long long) from);
	snprintf(sql, sizeof(sql),
	    "SELECT job, status, count(*) FROM \"%s\".job_runs "
	    "WHERE started_at >= timestamptz 'epoch' + $1::bigint "
	    "* interval '1 millisecond' GROUP BY job, status",
	    svc->opts->schema);
	if ((res = cf__svc_cmd_query(svc, sql, 1, p, error, errlen)) == NULL) {
		return;
	}
	*data = cJSON_CreateObject();
	cf_rfc3339_format(when, sizeof(when), from, 0, 1);
	cJSON_AddStringToObject(*data, "since", when);
	cJSON_AddNumberToObject(*data, "window_ms", (double) COUNTS_WINDOW_MS);
	total = counts_zero();
	cJSON_AddItemToObject(*data, "runs_24h", total);
	per = cJSON_AddObjectToObject(*data, "jobs");
	pthread_mutex_lock(&svc->mu);
	jobs  = svc->jobs;
	njobs = svc->njobs;
	pthread_mutex_unlock(&svc->mu);
	for (size_t i = 0; i < njobs; i++) {
		cJSON *j = cJSON_AddObjectToObject(per, jobs[i].def->name);
		cJSON_AddItemToObject(j, "last_24h", counts_zero());
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *job    = PQgetvalue(res, r, 0);
		const char *status = PQgetvalue(res, r, 1);
		double      k      = strtod(PQgetvalue(res, r, 2), NULL);
		cJSON      *j = cJSON_GetObjectItemCaseSensitive(per, job);

		counts_add(total, status, k);
		/* Rows of a job no longer defined here still count in the
		 * total, and get their own entry. */
		if (j == NULL) {
			j = cJSON_AddObjectToObject(per, job);
			cJSON_AddItemToObject(j, "last_24h", counts_zero());
		}
		counts_add(cJSON_GetObjectItemCaseSensitive(j, "last_24h"),
		    status, k);
	}
	PQclear(res);
}
