/*
 * routes_jobs.c - /api/v1/jobs/{job}: one job as a person wants to see it,
 * and the actions on it (pause, resume, a new schedule).
 */
#include <stdio.h>
#include <string.h>

#include "cf_cron.h"
#include "cf_proto.h"
#include "gateway.h"

/* GET /api/v1/jobs/{job}: its next fires and last runs. */
#define JOB_FIRES 10
#define JOB_RUNS 10

/*
 * One job as a person wants to see it: the clock's view (schedule, zone,
 * policies, next JOB_FIRES fires with DST marks), the schedule in words,
 * and its last runs (as in history).
 */
void
gw_route_job(gw_app *app, const gw_request *rq, gw_reply *out)
{
	int64_t     deadline = gw_now_ms() + app->cfg->timeout_ms;
	gw_result   next;
	cJSON      *runs;
	const char *expr, *tz;

	if (!gw_job_valid(rq->param, out)) {
		return;
	}
	if (gw_upstream_call(app->up, GW_CLOCK, "next", rq->param, JOB_FIRES,
	        deadline, &next)) {
		gw_reply_result(out, &next);
		return;
	}
	/* The clock's job object names its owner: no "jobs" round trip. */
	if ((runs = gw_history_fetch(app, rq->param,
	         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	             next.data, "service")),
	         JOB_RUNS, deadline, out))
	    == NULL) {
		cJSON_Delete(next.data);
		return;
	}
	expr = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(next.data, "schedule"));
	tz = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(next.data, "tz"));
	cJSON_AddItemToObject(next.data, "description", gw_describe(expr, tz));
	cJSON_AddItemToObject(next.data, "last_runs", runs);
	gw_reply_data(out, next.data);
}

/* pause / resume: the clock's job, with its schedule in words. */
static void
job_change(gw_app *app, const char *cmd, const gw_request *rq, gw_reply *out)
{
	gw_result res;

	if (!gw_job_valid(rq->param, out)) {
		return;
	}
	if (gw_upstream_call(app->up, GW_CLOCK, cmd, rq->param, 0,
	        gw_now_ms() + app->cfg->timeout_ms, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	cJSON_AddItemToObject(res.data, "description",
	    gw_describe(cJSON_GetStringValue(
	                    cJSON_GetObjectItemCaseSensitive(res.data, "schedule")),
	        cJSON_GetStringValue(
	            cJSON_GetObjectItemCaseSensitive(res.data, "tz"))));
	gw_reply_data(out, res.data);
}

void
gw_route_pause(gw_app *app, const gw_request *rq, gw_reply *out)
{
	job_change(app, "pause", rq, out);
}

void
gw_route_resume(gw_app *app, const gw_request *rq, gw_reply *out)
{
	job_change(app, "resume", rq, out);
}

/* A string member of the body, NULL when absent; -1 when not a string. */
static int
body_string(const cJSON *body, const char *name, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		return (0);
	}
	if (!cJSON_IsString(v)) {
		return (-1);
	}
	*out = v->valuestring;
	return (0);
}

/*
 * PUT /api/v1/jobs/{job}/schedule {"schedule":"<expr>","timezone":"<zone>"}:
 * checked here first, so that a refusal names the body's field and the
 * expression's (the cron engine's words: "minute: 61 is out of range
 * 0-59"); the zone travels as the expression's CRON_TZ= prefix, which
 * the clock keeps with the schedule.
 */
void
gw_route_schedule(gw_app *app, const gw_request *rq, gw_reply *out)
{
	cf_cron_opts o = { 0 };
	cf_cron     *c = NULL;
	const char  *expr, *tz, *args[1];
	char         why[CF_CRON_ERRLEN], full[CF_PROTO_MAX_ARG];
	gw_result    res;

	if (!gw_job_valid(rq->param, out)) {
		return;
	}
	if (rq->body == NULL) {
		gw_reply_error(out, 400,
		    "request body required: {\"schedule\":\"<cron "
		    "expression>\",\"timezone\":\"<IANA zone>\"}");
		return;
	}
	if (body_string(rq->body, "schedule", &expr) != 0 || expr == NULL) {
		gw_reply_error(out, 400,
		    "schedule: expected a cron expression as a string");
		return;
	}
	if (body_string(rq->body, "timezone", &tz) != 0) {
		gw_reply_error(
		    out, 400, "timezone: expected an IANA zone name as a string");
		return;
	}
	if (strlen(expr) > 512) {
		gw_reply_error(out, 400, "schedule: longer than 512 bytes");
		return;
	}
	if (tz != NULL) {
		char safe[80];

		o.tz = tz;
		if (strncmp(expr, "CRON_TZ=", 8) == 0
		    || strncmp(expr, "TZ=", 3) == 0) {
			gw_reply_error(out, 400,
			    "timezone: the schedule names its zone already "
			    "(CRON_TZ=); give it once");
			return;
		}
		if (cf_cron_parse(&c, "* * * * *", &o, why, sizeof(why)) != 0) {
			gw_reply_error(out, 400,
			    "timezone: '%s' is not a known IANA zone",
			    gw_echo_safe(safe, sizeof(safe), tz));
			return;
		}
		cf_cron_free(c);
		c = NULL;
	}
	if (cf_cron_parse(&c, expr, &o, why, sizeof(why)) != 0) {
		gw_reply_error(out, 400, "schedule: %s", why);
		return;
	}
	cf_cron_free(c);
	if (tz != NULL) {
		snprintf(full, sizeof(full), "CRON_TZ=%s %s", tz, expr);
	} else {
		snprintf(full, sizeof(full), "%s", expr);
	}
	args[0] = full;
	if (gw_upstream_call_args(app->up, GW_CLOCK, "schedule", rq->param, 0,
	        args, 1, gw_now_ms() + app->cfg->timeout_ms, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	snprintf(out->detail, sizeof(out->detail), "schedule '%.200s'", full);
	cJSON_AddItemToObject(res.data, "description", gw_describe(full, NULL));
	gw_reply_data(out, res.data);
}
