/*
 * routes_admin.c - the seeds' admin and external-cron endpoints, and
 * whoami:
 *
 *   GET  /api/admin/jobs          counts and the jobs there are
 *   POST /api/admin/jobs          {"jobName": ...}: a manual fire
 *   GET  /api/cron/{job}          for Vercel Cron, GitHub Actions or any
 *                                 HTTP cron (CRON_SECRET): fire, wait
 *                                 for the run, answer its summary
 *   POST /api/cron/{job}          the same for an admin
 *   GET  /api/v1/whoami           the caller's token name and role
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_time.h"
#include "gateway.h"

/* How often GET /api/cron/{job} asks the owner whether the run is done. */
#define CRON_POLL_MS 200

void
gw_route_whoami(gw_app *app, const gw_request *rq, gw_reply *out)
{
	cJSON *d = cJSON_CreateObject();

	(void) app;
	if (d != NULL) {
		cJSON_AddStringToObject(d, "name", rq->actor);
		cJSON_AddStringToObject(d, "role", gw_role_name(rq->role));
	}
	gw_reply_data(out, d);
}

/* Adds n to the member name of o (created at 0). */
static void
count_add(cJSON *o, const char *name, double n)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL) {
		cJSON_AddNumberToObject(o, name, n);
	} else if (cJSON_IsNumber(v)) {
		cJSON_SetNumberValue(v, v->valuedouble + n);
	}
}

/*
 * The seeds' job overview: {"success":true,"stats":{...},"availableJobs":
 * [...]}. stats counts the jobs (paused ones apart) and the runs of the
 * last 24 hours by status, summed over the services, with each service's
 * own counts (or why it did not answer) under "services".
 */
void
gw_route_admin_jobs(gw_app *app, const gw_request *rq, gw_reply *out)
{
	int64_t   deadline = gw_now_ms() + app->cfg->timeout_ms;
	gw_result jobs;
	gw_ask    ask[GW_NSERVICES];
	cJSON    *o, *stats, *runs, *svcs, *avail, *j;
	int       njobs = 0, paused = 0;

	(void) rq;
	if (gw_upstream_call(
	        app->up, GW_CLOCK, "jobs", NULL, 0, deadline, &jobs)) {
		gw_reply_result(out, &jobs);
		return;
	}
	memset(ask, 0, sizeof(ask));
	for (int svc = GW_CLOCK + 1; svc < GW_NSERVICES; svc++) {
		ask[svc].asked = gw_upstream_enabled(app->up, svc);
	}
	gw_ask_all(app, ask, "counts", deadline);

	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "success");
	stats = cJSON_AddObjectToObject(o, "stats");
	runs  = cJSON_CreateObject();
	svcs  = cJSON_CreateObject();
	avail = cJSON_CreateArray();
	cJSON_ArrayForEach(j, jobs.data)
	{
		cJSON      *a = cJSON_CreateObject();
		const char *expr, *tz;
		static const char *const copied[] = { "service", "schedule",
			"tz", "paused", "next_fire" };

		njobs++;
		paused += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "paused"));
		if (a == NULL) {
			continue;
		}
		cJSON_AddItemToObject(a, "name",
		    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(j, "job"), 1));
		for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(j, copied[i]);
			cJSON_AddItemToObject(a, copied[i],
			    v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
		}
		expr = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(j, "schedule"));
		tz = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "tz"));
		cJSON_AddItemToObject(a, "description", gw_describe(expr, tz));
		cJSON_AddItemToArray(avail, a);
	}
	for (int svc = GW_CLOCK + 1; svc < GW_NSERVICES; svc++) {
		gw_ask *a = &ask[svc];
		cJSON  *r, *c;

		if (!a->asked) {
			continue;
		}
		if (a->res.status != 0) {
			cJSON_AddStringToObject(
			    svcs, gw_service_name(svc), a->res.error);
			continue;
		}
		r = cJSON_GetObjectItemCaseSensitive(a->res.data, "runs_24h");
		cJSON_ArrayForEach(c, r)
		{
			if (cJSON_IsNumber(c) && c->string != NULL) {
				count_add(runs, c->string, c->valuedouble);
			}
		}
		cJSON_AddItemToObject(svcs, gw_service_name(svc), a->res.data);
		a->res.data = NULL;
	}
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		cJSON_Delete(ask[svc].res.data);
	}
	cJSON_Delete(jobs.data);
	if (o == NULL || stats == NULL || runs == NULL || svcs == NULL
	    || avail == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(runs);
		cJSON_Delete(svcs);
		cJSON_Delete(avail);
		gw_reply_error(out, 500, "out of memory");
		return;
	}
	cJSON_AddNumberToObject(stats, "jobs", njobs);
	cJSON_AddNumberToObject(stats, "paused", paused);
	cJSON_AddItemToObject(stats, "runs_24h", runs);
	cJSON_AddItemToObject(stats, "services", svcs);
	cJSON_AddItemToObject(o, "availableJobs", avail);
	gw_reply_json(out, 200, o);
}

/* POST /api/admin/jobs {"jobName": "<job>"}: a manual fire. */
void
gw_route_admin_trigger(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(rq->body, "jobName");
	gw_result    res;
	cJSON       *o;
	char         msg[160];
	const char  *id;

	if (rq->body == NULL || !cJSON_IsString(name)) {
		gw_reply_error(out, 400,
		    "jobName: expected {\"jobName\":\"<job>\"} (see GET "
		    "/api/admin/jobs for the names)");
		return;
	}
	if (!gw_job_valid(name->valuestring, out)) {
		return;
	}
	snprintf(out->job, sizeof(out->job), "%s", name->valuestring);
	if (gw_trigger(app, name->valuestring,
	        gw_now_ms() + app->cfg->timeout_ms, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(res.data, "fire_id"));
	snprintf(out->detail, sizeof(out->detail), "fire %.200s",
	    id != NULL ? id : "?");
	snprintf(msg, sizeof(msg), "Job '%s' triggered", name->valuestring);
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "success");
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddItemToObject(o, "data", res.data);
	gw_reply_json(out, 200, o);
}

/* The newest attempt of fire_id in a history array (newest first). */
static cJSON *
cron_run_of(cJSON *runs, const char *fire_id)
{
	cJSON *r;

	cJSON_ArrayForEach(r, runs)
	{
		const char *f = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(r, "fire_id"));
		if (f != NULL && strcmp(f, fire_id) == 0) {
			return (r);
		}
	}
	return (NULL);
}

static void
cron_sleep(int64_t ms)
{
	struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * GET /api/cron/{job}: what an external cron calls. The fire goes through
 * the clock like any other (ledger, tick, one run however many replicas);
 * then the owner's history is read until that fire's last attempt is
 * final or CRONFLEET_CRON_WAIT is over:
 *   200 {"success":true,"message","job","fire_id","summary":result,"run"}
 *       when it succeeded, or was skipped (the message says why)
 *   500 the same with success false and "error", when the run failed
 *   202 still running (the caller's HTTP timeout is usually short)
 */
void
gw_route_cron(gw_app *app, const gw_request *rq, gw_reply *out)
{
	int64_t     until = gw_now_ms() + app->cfg->cron_wait_ms;
	gw_result   fire, hist;
	cJSON      *o, *run = NULL;
	const char *fire_id, *owner, *status = NULL;
	char        msg[256], fid[64];
	int         svc, code = 202;

	if (!gw_job_valid(rq->param, out)) {
		return;
	}
	if (gw_trigger(app, rq->param, gw_now_ms() + app->cfg->timeout_ms,
	        &fire)) {
		gw_reply_result(out, &fire);
		return;
	}
	fire_id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(fire.data, "fire_id"));
	owner = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(fire.data, "service"));
	if (fire_id == NULL || owner == NULL
	    || (svc = gw_service_find(owner)) <= GW_CLOCK) {
		cJSON_Delete(fire.data);
		gw_reply_error(out, 502, "clock answered a trigger without its "
		                         "fire or its service");
		return;
	}
	snprintf(fid, sizeof(fid), "%s", fire_id);
	cJSON_Delete(fire.data);

	while (gw_now_ms() < until) {
		cJSON *r;

		cron_sleep(CRON_POLL_MS);
		if (gw_upstream_call(app->up, svc, "history", rq->param, 10,
		        gw_now_ms() + app->cfg->timeout_ms, &hist)) {
			continue; /* the owner may come back within the wait */
		}
		r = cron_run_of(hist.data, fid);
		if (r != NULL && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "final"))) {
			cJSON_Delete(run);
			run = cJSON_Duplicate(r, 1);
			cJSON_Delete(hist.data);
			status = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(run, "status"));
			/*
			 * A skipped run (another still going, under the overlap
			 * policy skip) is the policy working, not a failure: an
			 * HTTP cron that alerts on non-2xx must not page anyone.
			 */
			code = status != NULL
			        && (strcmp(status, "succeeded") == 0
			            || strcmp(status, "skipped") == 0)
			    ? 200
			    : 500;
			break;
		}
		if (r != NULL) {
			cJSON_Delete(run);
			run = cJSON_Duplicate(r, 1);
		}
		cJSON_Delete(hist.data);
	}

	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "success", code != 500);
	if (code == 200 && strcmp(status, "skipped") == 0) {
		const char *why = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(run, "error"));
		snprintf(msg, sizeof(msg), "Job '%s' skipped: %.180s", rq->param,
		    why != NULL ? why : "no reason recorded");
		cJSON_AddStringToObject(o, "message", msg);
	} else if (code == 200) {
		snprintf(msg, sizeof(msg), "Job '%s' succeeded", rq->param);
		cJSON_AddStringToObject(o, "message", msg);
	} else if (code == 500) {
		const char *err = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(run, "error"));
		snprintf(msg, sizeof(msg), "Job '%s' %s: %.180s", rq->param,
		    status != NULL ? status : "failed",
		    err != NULL ? err : "no error recorded");
		cJSON_AddStringToObject(o, "error", msg);
	} else {
		snprintf(msg, sizeof(msg),
		    "Job '%s' is still running; see "
		    "/api/v1/scheduler/history?job=%s",
		    rq->param, rq->param);
		cJSON_AddStringToObject(o, "message", msg);
	}
	cJSON_AddStringToObject(o, "job", rq->param);
	cJSON_AddStringToObject(o, "fire_id", fid);
	cJSON_AddItemToObject(o, "summary",
	    run != NULL ? cJSON_Duplicate(
	                      cJSON_GetObjectItemCaseSensitive(run, "result"), 1)
	                : cJSON_CreateNull());
	if (cJSON_GetObjectItemCaseSensitive(o, "summary") == NULL) {
		cJSON_AddNullToObject(o, "summary");
	}
	cJSON_AddItemToObject(o, "run", run != NULL ? run : cJSON_CreateNull());
	snprintf(out->detail, sizeof(out->detail), "fire %s: %s", fid,
	    code == 202 ? "still running" : status != NULL ? status : "?");
	gw_reply_json(out, code, o);
}
