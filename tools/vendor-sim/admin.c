/*
 * admin.c - the /_sim API: faults, statistics and the virtual clock.
 *
 * Loopback clients only (sim.c checks), and a bearer token when
 * CRONFLEET_SIM_ADMIN_TOKEN is set. Answers are plain JSON objects;
 * errors are {"error": "..."} naming the field at fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_log.h"
#include "sim.h"

static cJSON *
fault_json(const vs_fault *f)
{
	cJSON *o;

	if (f->mode == VS_FAULT_NONE) {
		return (cJSON_CreateNull());
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "mode", vs_fault_name(f->mode));
	cJSON_AddNumberToObject(o, "count", (double) f->count);
	cJSON_AddNumberToObject(o, "skip", (double) f->skip);
	cJSON_AddNumberToObject(o, "retry_after", f->retry_after);
	cJSON_AddNumberToObject(o, "delay_ms", (double) f->delay_ms);
	cJSON_AddNumberToObject(o, "fired", (double) f->fired);
	return (o);
}

static void
admin_faults_get(vs_sim *sim, vs_resp *out)
{
	cJSON *o  = cJSON_CreateObject(),
	      *fs = cJSON_AddObjectToObject(o, "faults");

	pthread_mutex_lock(&sim->mu);
	for (int v = 0; v < VS_NVENDORS; v++) {
		cJSON_AddItemToObject(
		    fs, vs_vendors[v]->name, fault_json(&sim->fault[v]));
	}
	pthread_mutex_unlock(&sim->mu);
	vs_reply_json(out, 200, o);
}

/* Reads an optional non-negative integer member; -1 if it is bad. */
static int
admin_num(
    cJSON *body, const char *name, int64_t def, int64_t max, int64_t *out)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(body, name);

	if (it == NULL || cJSON_IsNull(it)) {
		*out = def;
		return (0);
	}
	if (!cJSON_IsNumber(it) || it->valuedouble < 0
	    || it->valuedouble > (double) max
	    || it->valuedouble != (double) (int64_t) it->valuedouble) {
		return (-1);
	}
	*out = (int64_t) it->valuedouble;
	return (0);
}

static void
admin_fault_put(vs_sim *sim, const vs_req *rq, vs_resp *out, int v)
{
	cJSON      *body = vs_body_json(rq);
	const char *mode;
	vs_fault    f;
	int64_t     ra, n;

	if (body == NULL) {
		vs_reply_text(out, 400,
		    "{\"error\":\"expected a JSON object: "
		    "{\\\"mode\\\":\\\"429|"
		    "500|slow|malformed|expired_token|revoked_token|"
		    "partial_page\\\",\\\"count\\\":N,\\\"skip\\\":K,"
		    "\\\"retry_after\\\":S,\\\"delay_ms\\\":M}\"}");
		return;
	}
	memset(&f, 0, sizeof(f));
	mode = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(body, "mode"));
	if (mode == NULL || (f.mode = vs_fault_find(mode)) < 0) {
		vs_reply_text(out, 400,
		    "{\"error\":\"mode: expected one of 429, 500, slow, "
		    "malformed, expired_token, revoked_token, "
		    "partial_page\"}");
		cJSON_Delete(body);
		return;
	}
	if (admin_num(body, "count", 1, 1000000000, &f.count) != 0) {
		vs_reply_text(out, 400,
		    "{\"error\":\"count: expected an integer >= 0 (0: until "
		    "cleared)\"}");
	} else if (admin_num(body, "skip", 0, 1000000000, &f.skip) != 0) {
		vs_reply_text(out, 400,
		    "{\"error\":\"skip: expected an integer >= 0 (requests "
		    "let through before the fault starts)\"}");
	} else if (admin_num(body, "retry_after", 1, 86400, &ra) != 0) {
		vs_reply_text(out, 400,
		    "{\"error\":\"retry_after: expected seconds, 0 to "
		    "86400\"}");
	} else if (admin_num(body, "delay_ms", 5000, 600000, &n) != 0) {
		vs_reply_text(out, 400,
		    "{\"error\":\"delay_ms: expected milliseconds, 0 to "
		    "600000\"}");
	} else {
		f.retry_after = (int) ra;
		f.delay_ms    = n;
		pthread_mutex_lock(&sim->mu);
		sim->fault[v] = f;
		pthread_mutex_unlock(&sim->mu);
		cf_log_kv(CF_LOG_INFO, NULL, NULL, "fault set", "vendor",
		    vs_vendors[v]->name, "mode", vs_fault_name(f.mode), NULL);
		vs_reply_json(out, 200, fault_json(&f));
	}
	cJSON_Delete(body);
}

static void
admin_stats(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *vs;
	char   t[40];

	cJSON_AddStringToObject(o, "now", vs_rfc3339(t, sizeof(t), rq->now));
	vs = cJSON_AddObjectToObject(o, "vendors");
	pthread_mutex_lock(&sim->mu);
	for (int v = 0; v < VS_NVENDORS; v++) {
		const vs_vstats *st = &sim->stats[v];
		cJSON *e = cJSON_AddObjectToObject(vs, vs_vendors[v]->name);
		cJSON *r = NULL, *s = NULL;
		char   code[8];

		cJSON_AddNumberToObject(e, "requests", (double) st->requests);
		r = cJSON_AddObjectToObject(e, "routes");
		for (int i = 0; i < VS_MAX_ROUTES && st->route[i] != NULL;
		     i++) {
			cJSON_AddNumberToObject(
			    r, st->route[i], (double) st->route_n[i]);
		}
		s = cJSON_AddObjectToObject(e, "status");
		for (int i = 0; i < VS_MAX_STATUS && st->status[i] != 0; i++) {
			snprintf(code, sizeof(code), "%d", st->status[i]);
			cJSON_AddNumberToObject(
			    s, code, (double) st->status_n[i]);
		}
		cJSON_AddNumberToObject(
		    e, "tokens_issued", (double) st->tokens_issued);
		cJSON_AddNumberToObject(
		    e, "tokens_refreshed", (double) st->tokens_refreshed);
		cJSON_AddNumberToObject(
		    e, "auth_failures", (double) st->auth_failures);
		cJSON_AddNumberToObject(
		    e, "faults_fired", (double) st->faults_fired);
	}
	pthread_mutex_unlock(&sim->mu);
	vs_reply_json(out, 200, o);
}

static void
admin_clock(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o;
	char   t[40];

	if (strcmp(rq->method, "PUT") == 0) {
		cJSON  *body = vs_body_json(rq), *it;
		int64_t s    = -1;

		it = body != NULL
		    ? cJSON_GetObjectItemCaseSensitive(body, "now")
		    : NULL;
		if (body == NULL || it == NULL
		    || (!cJSON_IsNull(it)
		        && (!cJSON_IsString(it)
		            || vs_time_parse(it->valuestring, &s) != 0))) {
			cJSON_Delete(body);
			vs_reply_text(out, 400,
			    "{\"error\":\"now: expected an RFC 3339 instant, "
			    "or null for the configured clock\"}");
			return;
		}
		cJSON_Delete(body);
		pthread_mutex_lock(&sim->mu);
		sim->clock_s = s;
		pthread_mutex_unlock(&sim->mu);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(
	    o, "now", vs_rfc3339(t, sizeof(t), vs_now(sim, NULL)));
	pthread_mutex_lock(&sim->mu);
	cJSON_AddStringToObject(o, "source",
	    sim->clock_s >= 0          ? "clock"
	        : sim->cfg->now_s >= 0 ? "CRONFLEET_SIM_NOW"
	                               : "real");
	pthread_mutex_unlock(&sim->mu);
	vs_reply_json(out, 200, o);
}

static void
admin_index(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char   t[40];

	cJSON_AddStringToObject(o, "simulator", "cronfleet-vendor-sim");
	cJSON_AddNumberToObject(o, "seed", (double) sim->cfg->seed);
	cJSON_AddStringToObject(o, "now", vs_rfc3339(t, sizeof(t), rq->now));
	a = cJSON_AddArrayToObject(o, "vendors");
	for (int v = 0; v < VS_NVENDORS; v++) {
		cJSON_AddItemToArray(
		    a, cJSON_CreateString(vs_vendors[v]->name));
	}
	a = cJSON_AddArrayToObject(o, "fault_modes");
	for (int m = 1; m < VS_NFAULTS; m++) {
		cJSON_AddItemToArray(a, cJSON_CreateString(vs_fault_name(m)));
	}
	vs_reply_json(out, 200, o);
}

void
vs_admin(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *p = rq->full + 5; /* after "/_sim" */
	const char *m = rq->method;
	int         v;

	out->route = "(admin)";
	if (sim->cfg->admin_token != NULL) {
		const char *tok = vs_auth_param(rq, "Bearer");
		if (tok == NULL || !vs_secret_eq(tok, sim->cfg->admin_token)) {
			out->www_auth = "Bearer realm=\"vendor-sim\"";
			vs_reply_text(out, 401,
			    "{\"error\":\"the /_sim API needs Authorization: "
			    "Bearer <CRONFLEET_SIM_ADMIN_TOKEN>\"}");
			return;
		}
	}
	if ((strcmp(p, "") == 0 || strcmp(p, "/") == 0)
	    && strcmp(m, "GET") == 0) {
		admin_index(sim, rq, out);
	} else if (strcmp(p, "/faults") == 0 && strcmp(m, "GET") == 0) {
		admin_faults_get(sim, out);
	} else if (strcmp(p, "/faults") == 0 && strcmp(m, "DELETE") == 0) {
		pthread_mutex_lock(&sim->mu);
		memset(sim->fault, 0, sizeof(sim->fault));
		pthread_mutex_unlock(&sim->mu);
		admin_faults_get(sim, out);
	} else if (strncmp(p, "/faults/", 8) == 0) {
		if ((v = vs_vendor_find(p + 8, strlen(p + 8))) < 0) {
			vs_reply_text(out, 404,
			    "{\"error\":\"no such vendor: %.64s\"}", p + 8);
		} else if (strcmp(m, "PUT") == 0) {
			admin_fault_put(sim, rq, out, v);
		} else if (strcmp(m, "DELETE") == 0) {
			pthread_mutex_lock(&sim->mu);
			memset(&sim->fault[v], 0, sizeof(sim->fault[v]));
			pthread_mutex_unlock(&sim->mu);
			vs_reply_json(out, 200, cJSON_CreateNull());
		} else if (strcmp(m, "GET") == 0) {
			vs_fault f;
			pthread_mutex_lock(&sim->mu);
			f = sim->fault[v];
			pthread_mutex_unlock(&sim->mu);
			vs_reply_json(out, 200, fault_json(&f));
		} else {
			out->hname[0][0] = '\0';
			vs_reply_header(out, "Allow", "GET, PUT, DELETE");
			vs_reply_text(
			    out, 405, "{\"error\":\"method not allowed\"}");
		}
	} else if (strcmp(p, "/stats") == 0 && strcmp(m, "GET") == 0) {
		admin_stats(sim, rq, out);
	} else if (strcmp(p, "/stats") == 0 && strcmp(m, "DELETE") == 0) {
		pthread_mutex_lock(&sim->mu);
		memset(sim->stats, 0, sizeof(sim->stats));
		pthread_mutex_unlock(&sim->mu);
		admin_stats(sim, rq, out);
	} else if (strcmp(p, "/clock") == 0
	    && (strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0)) {
		admin_clock(sim, rq, out);
	} else {
		vs_reply_text(out, 404,
		    "{\"error\":\"no such route: /_sim has faults, "
		    "faults/<vendor>, stats, clock\"}");
	}
}
