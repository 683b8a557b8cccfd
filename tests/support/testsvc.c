/*
 * testsvc.c - cronfleet-testsvc: a domain service on the real job
 * runtime whose jobs are described by the environment, for the
 * integration and fault tests.
 *
 *	CF_TESTSVC_NAME   the service's name (default "testsvc"); its
 *	                  sockets, schema, workers... come from the usual
 *	                  CRONFLEET_<SVC>_* variables (cf_service.h)
 *	CF_TESTSVC_JOBS   jobs separated by ';', each
 *	                  name|schedule|key=val,key=val...
 *	                  schedule "-": none (run after another job, or by
 *	                  hand). keys: misfire, window, overlap, timeout,
 *	                  priority, retries (0: none), retry_base, after,
 *	                  tz (the runtime's policies, durations as ms or
 *	                  30d/90m/5s/500ms), and what a run does:
 *	                  work    ms of work, in 10 ms sleeps; returns
 *	                          early when cf_run_cancelled()
 *	                  fail    the first N attempts of every fire fail
 *	                  failp   probability 0..1 that an attempt fails
 *	                  permanent  1: failures are permanent
 *	                  hang    1: ignores cancellation
 *
 * An attempt that did its work inserts (run_id, job, fire_id, attempt)
 * into <schema>.effects before it returns success, so a test can check
 * that every succeeded run really did its work, once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cf_log.h"
#include "cf_service.h"
#include "testsvc_spec.h"

typedef struct {
	const cf_service_opts *opts;
	tsv_job               *jobs;
	size_t                 njobs;
} testsvc;

static const tsv_job *
testsvc_job(const testsvc *ts, const char *name)
{
	for (size_t i = 0; i < ts->njobs; i++) {
		if (strcmp(ts->jobs[i].name, name) == 0) {
			return (&ts->jobs[i]);
		}
	}
	return (NULL);
}

static double
testsvc_uniform(void)
{
	uint32_t x = 0;
	if (getrandom(&x, sizeof(x), 0) != (ssize_t) sizeof(x)) {
		x = (uint32_t) time(NULL) * 2654435761u;
	}
	return ((double) x / 4294967296.0);
}

static int
testsvc_run(cf_run *run, cf_job_result *res)
{
	const testsvc *ts = run->ctx;
	const tsv_job *j  = testsvc_job(ts, run->job);
	cf_pg         *pg;
	char           sql[256], err[512], attempt[16];
	const char    *p[4];
	int64_t        done = 0;
	int            rv;

	if (j == NULL) {
		cf_result_fail(res, "testsvc: no such job '%s'", run->job);
		return (CF_OK);
	}
	while (done < j->work_ms) {
		struct timespec ts10 = { 0, 10 * 1000000L };
		if (!j->hang && cf_run_cancelled(run)) {
			cf_result_fail(res, "cancelled after %lld ms of work",
			    (long long) done);
			return (CF_OK);
		}
		nanosleep(&ts10, NULL);
		done += 10;
	}
	if (run->attempt <= j->fail
	    || (j->failp > 0 && testsvc_uniform() < j->failp)) {
		cf_result_fail(res, "testsvc: planned failure of attempt %u",
		    run->attempt);
		if (j->permanent) {
			cf_result_permanent(res);
		}
		return (CF_OK);
	}
	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK) {
		cf_result_fail(res, "effect not recorded: %s", err);
		return (CF_OK);
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO \"%s\".effects (run_id, job, fire_id, attempt) "
	    "VALUES ($1, $2, $3, $4::int)",
	    ts->opts->schema);
	snprintf(attempt, sizeof(attempt), "%u", run->attempt);
	p[0] = run->run_id;
	p[1] = run->job;
	p[2] = run->fire_id;
	p[3] = attempt;
	if ((rv = cf_pg_exec(pg, sql, 4, p, NULL, err, sizeof(err)))
	    != CF_OK) {
		cf_result_fail(res, "effect not recorded: %s", err);
		return (CF_OK);
	}
	{
		char json[96];
		snprintf(json, sizeof(json), "{\"work_ms\":%lld}",
		    (long long) done);
		cf_result_text(res, json);
	}
	return (CF_OK);
}

/* The effects table, once, whichever replica starts first. */
static int
testsvc_effects(const cf_service_opts *opts, char *err, size_t errlen)
{
	cf_pg      *pg = NULL;
	char        sql[512];
	const char *p[1] = { opts->schema };
	int         rv;

	if ((rv = cf_pg_open(&pg, opts->database_url, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE IF NOT EXISTS \"%s\".effects ("
	    "run_id text PRIMARY KEY, job text NOT NULL, "
	    "fire_id text NOT NULL, attempt integer NOT NULL, "
	    "done_at timestamptz NOT NULL DEFAULT now())",
	    opts->schema);
	/* CREATE ... IF NOT EXISTS still races in the catalog: a lock. */
	if ((rv = cf_pg_begin(pg, err, errlen)) == CF_OK
	    && (rv = cf_pg_exec(pg,
	            "SELECT pg_advisory_xact_lock(hashtext($1::text || "
	            "'.effects'))",
	            1, p, NULL, err, errlen))
	        == CF_OK
	    && (rv = cf_pg_exec(pg, sql, 0, NULL, NULL, err, errlen))
	        == CF_OK) {
		rv = cf_pg_commit(pg, err, errlen);
	}
	if (rv != CF_OK) {
		cf_pg_rollback(pg, NULL, 0);
	}
	cf_pg_close(pg);
	return (rv);
}

int
main(void)
{
	cf_service_opts opts;
	testsvc         ts   = { 0 };
	cf_service     *svc  = NULL;
	const char     *name = getenv("CF_TESTSVC_NAME");
	char            err[1024];
	int             rv;

	signal(SIGPIPE, SIG_IGN);
	if (name == NULL || *name == '\0') {
		name = "testsvc";
	}
	if (!cf_proto_name_valid(name)) {
		fprintf(stderr,
		    "CF_TESTSVC_NAME: '%.80s' is not a service name "
		    "([A-Za-z0-9_-], 1..%d)\n",
		    name, CF_PROTO_MAX_NAME);
		return (2);
	}
	if (tsv_parse(getenv("CF_TESTSVC_JOBS"), &ts.jobs, &ts.njobs, err,
	        sizeof(err))
	    != 0) {
		fprintf(stderr, "CF_TESTSVC_JOBS: %s\n", err);
		return (2);
	}
	for (size_t i = 0; i < ts.njobs; i++) {
		ts.jobs[i].def.fn = testsvc_run;
	}
	cf_service_opts_load_or_exit(
	    &opts, name, "tcp://127.0.0.1:7141", "tcp://127.0.0.1:7142");
	ts.opts  = &opts;
	opts.ctx = &ts;

	rv = cf_service_open(&svc, &opts, err, sizeof(err));
	if (rv == CF_OK) {
		rv = testsvc_effects(&opts, err, sizeof(err));
	}
	if (rv == CF_OK) {
		cf_job_def *defs = calloc(ts.njobs, sizeof(*defs));
		if (defs == NULL) {
			rv = CF_ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
		} else {
			for (size_t i = 0; i < ts.njobs; i++) {
				defs[i] = ts.jobs[i].def;
			}
			rv = cf_service_register(
			    svc, defs, ts.njobs, err, sizeof(err));
			if (rv == CF_OK) {
				rv = cf_service_run(svc, err, sizeof(err));
			}
			cf_service_close(svc);
			svc = NULL;
			free(defs);
		}
	}
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL, "testsvc failed", "error",
		    err, NULL);
	}
	cf_service_close(svc);
	cf_service_opts_free(&opts);
	free(ts.jobs);
	return (rv == CF_OK ? 0 : 1);
}
