/*
 * cf_service_metrics.c - the service's counters and histograms, answered
 * to `metrics` for the gateway's /metrics (proto/COMMANDS.md).
 *
 * Counters live in memory, one set per job, under their own mutex: the
 * runtime bumps them where it records an attempt's end (see
 * cf_service_metrics.h). The last success of each job is not kept here
 * but read from job_runs at each `metrics`, in one index-backed query, so
 * it is right after a restart and whichever replica ran the job.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_service_int.h"
#include "cf_service_metrics.h"
#include "cf_time.h"

/*
 * Upper bounds of the run duration buckets, in ms: jobs range from a few
 * milliseconds (a cache refresh) to an hour (a backup), so the buckets
 * cover that range roughly logarithmically. +Inf is the count.
 */
static const int64_t duration_le_ms[]
    = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	      120000, 300000, 600000, 1800000, 3600000 };
#define NBUCKETS (sizeof(duration_le_ms) / sizeof(duration_le_ms[0]))

/* The statuses an attempt ends with, as job_runs.status spells them. */
static const char *const end_status[]
    = { "succeeded", "failed", "timed_out", "skipped", "interrupted" };
#define NSTATUS (sizeof(end_status) / sizeof(end_status[0]))

typedef struct job_counters {
	uint64_t runs[NSTATUS];
	uint64_t retries;
	uint64_t buckets[NBUCKETS]; /* not cumulative: one per observation */
	uint64_t count;
	int64_t  sum_ms;
} job_counters;

struct cf__svc_metrics {
	pthread_mutex_t mu;
	job_counters   *jobs; /* svc->njobs, allocated at first use */
	size_t          njobs;
};

int
cf__svc_metrics_open(cf_service *svc)
{
	if ((svc->metrics = calloc(1, sizeof(*svc->metrics))) == NULL) {
		return (CF_ENOMEM);
	}
	pthread_mutex_init(&svc->metrics->mu, NULL);
	return (CF_OK);
}

void
cf__svc_metrics_close(cf_service *svc)
{
	if (svc->metrics == NULL) {
		return;
	}
	pthread_mutex_destroy(&svc->metrics->mu);
	free(svc->metrics->jobs);
	free(svc->metrics);
	svc->metrics = NULL;
}

/*
 * The counters of job index i, with m->mu held; NULL when out of memory.
 * The job table is fixed once registered, and an attempt can only end
 * after that, so its size is known at the first call.
 */
static job_counters *
metrics_job(cf__svc_metrics *m, const cf_service *svc, size_t i)
{
	if (m->jobs == NULL) {
		size_t n = svc->njobs;
		if ((m->jobs = calloc(n > 0 ? n : 1, sizeof(*m->jobs)))
		    == NULL) {
			return (NULL);
		}
		m->njobs = n;
	}
	return (i < m->njobs ? &m->jobs[i] : NULL);
}

void
cf__svc_metrics_end(cf_service *svc, const char *job, const char *status,
    int retry, int64_t started_at, int64_t finished_at)
{
	cf__svc_metrics *m = svc->metrics;
	job_counters    *c;
	long             idx;
	size_t           s;

	if (m == NULL || job == NULL || status == NULL
	    || (idx = cf__svc_find_index(svc, job)) < 0) {
		return;
	}
	for (s = 0; s < NSTATUS && strcmp(end_status[s], status) != 0; s++) { }
	if (s == NSTATUS) {
		return;
	}
	pthread_mutex_lock(&m->mu);
	if ((c = metrics_job(m, svc, (size_t) idx)) != NULL) {
		c->runs[s]++;
		c->retries += retry != 0;
		/* Skipped attempts never ran; interrupted ones were cut. */
		if (s <= 2 && started_at > 0 && finished_at >= started_at) {
			int64_t d = finished_at - started_at;
			size_t  b = 0;
			while (b < NBUCKETS && d > duration_le_ms[b]) {
				b++;
			}
			if (b < NBUCKETS) {
				c->buckets[b]++;
			}
			c->count++;
			c->sum_ms += d;
		}
	}
	pthread_mutex_unlock(&m->mu);
}

/*
 * The finish time (unix ms) of each job's newest successful run, into
 * last[i] (-1: none), in one query: for each job the index on (job,
 * started_at DESC) is walked from the newest row to the first success.
 * Returns CF_OK or fills error.
 */
static int
metrics_last_success(cf_service *svc, const cf__svc_job *jobs, size_t n,
    int64_t *last, char *error, size_t errlen)
{
	const char **names;
	char        *arr, sql[512];
	const char  *p[1];
	PGresult    *res;

	for (size_t i = 0; i < n; i++) {
		last[i] = -1;
	}
	if ((names = calloc(n > 0 ? n : 1, sizeof(*names))) == NULL) {
		snprintf(error, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		names[i] = jobs[i].def->name;
	}
	arr = cf__svc_text_array(names, n);
	free(names);
	if (arr == NULL) {
		snprintf(error, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	snprintf(sql, sizeof(sql),
	    "SELECT u.ord - 1, (SELECT (extract(epoch FROM r.finished_at) "
	    "* 1000)::bigint FROM \"%s\".job_runs r WHERE r.job = u.job AND "
	    "r.status = 'succeeded' ORDER BY r.started_at DESC LIMIT 1) "
	    "FROM unnest($1::text[]) WITH ORDINALITY AS u(job, ord)",
	    svc->opts->schema);
	p[0] = arr;
	res  = cf__svc_cmd_query(svc, sql, 1, p, error, errlen);
	free(arr);
	if (res == NULL) {
		return (CF_EDB);
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (i >= 0 && (size_t) i < n && !PQgetisnull(res, r, 1)) {
			last[i] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		}
	}
	PQclear(res);
	return (CF_OK);
}

/* One job's counters as JSON (c NULL: all zero). */
static cJSON *
metrics_job_json(
    const char *name, const job_counters *c, int running, int64_t last)
{
	static const job_counters zero;
	cJSON                    *o = cJSON_CreateObject();
	cJSON                    *runs, *d, *counts;
	uint64_t                  cum = 0;

	if (c == NULL) {
		c = &zero;
	}
	cJSON_AddStringToObject(o, "job", name);
	runs = cJSON_AddObjectToObject(o, "runs");
	for (size_t s = 0; s < NSTATUS; s++) {
		cJSON_AddNumberToObject(
		    runs, end_status[s], (double) c->runs[s]);
	}
	cJSON_AddNumberToObject(o, "retries", (double) c->retries);
	cJSON_AddNumberToObject(o, "running", running);
	d      = cJSON_AddObjectToObject(o, "duration");
	counts = cJSON_AddArrayToObject(d, "counts");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += c->buckets[b];
		cJSON_AddItemToArray(counts, cJSON_CreateNumber((double) cum));
	}
	cJSON_AddNumberToObject(d, "count", (double) c->count);
	cJSON_AddNumberToObject(d, "sum_ms", (double) c->sum_ms);
	if (last >= 0) {
		cJSON_AddNumberToObject(o, "last_success_ms", (double) last);
	} else {
		cJSON_AddNullToObject(o, "last_success_ms");
	}
	return (o);
}

void
cf__svc_cmd_metrics(cf_service *svc, const cf_command *cmd, cJSON **data,
    char *error, size_t errlen)
{
	cf__svc_metrics   *m = svc->metrics;
	const cf__svc_job *jobs;
	job_counters      *snap = NULL;
	int64_t           *last;
	int               *running;
	size_t             n, have             = 0;
	char               when[40], qerr[512] = "";
	cJSON             *o, *le, *arr;

	(void) cmd;
	pthread_mutex_lock(&svc->mu);
	jobs = svc->jobs;
	n    = svc->njobs;
	pthread_mutex_unlock(&svc->mu);
	last    = calloc(n > 0 ? n : 1, sizeof(*last));
	running = calloc(n > 0 ? n : 1, sizeof(*running));
	if (last == NULL || running == NULL) {
		free(last);
		free(running);
		snprintf(error, errlen, "metrics: out of memory");
		return;
	}
	/* The database may be down: the counters are still worth having. */
	metrics_last_success(svc, jobs, n, last, qerr, sizeof(qerr));
	pthread_mutex_lock(&svc->mu);
	for (size_t i = 0; i < n; i++) {
		running[i] = jobs[i].running;
	}
	pthread_mutex_unlock(&svc->mu);
	/* A copy, so that no lock is held while the JSON is built. */
	if (m != NULL) {
		pthread_mutex_lock(&m->mu);
		if (m->jobs != NULL
		    && (snap = malloc(m->njobs * sizeof(*snap))) != NULL) {
			memcpy(snap, m->jobs, m->njobs * sizeof(*snap));
			have = m->njobs;
		}
		pthread_mutex_unlock(&m->mu);
	}

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "service", svc->opts->name);
	cJSON_AddStringToObject(o, "owner", svc->owner);
	cf_rfc3339_format(when, sizeof(when), svc->started_at, 0, 1);
	cJSON_AddStringToObject(o, "started_at", when);
	le = cJSON_AddArrayToObject(o, "duration_le_ms");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cJSON_AddItemToArray(
		    le, cJSON_CreateNumber((double) duration_le_ms[b]));
	}
	if (qerr[0] != '\0') {
		cJSON_AddStringToObject(o, "last_success_error", qerr);
	}
	arr = cJSON_AddArrayToObject(o, "jobs");
	for (size_t i = 0; i < n; i++) {
		cJSON_AddItemToArray(arr,
		    metrics_job_json(jobs[i].def->name,
		        i < have ? &snap[i] : NULL, running[i], last[i]));
	}
	free(snap);
	free(last);
	free(running);
	*data = o;
}
