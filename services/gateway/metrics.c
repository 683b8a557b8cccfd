/*
 * metrics.c - GET /metrics: the fleet's counters in the Prometheus text
 * exposition format, version 0.0.4.
 *
 * The gateway keeps no counters of its own: it asks every service it
 * queries for `metrics` (proto/COMMANDS.md), all at once, and renders
 * the answers. A service that does not answer within the deadline is
 * cronfleet_service_up 0 and contributes nothing else, so one service
 * down never hides the others' series.
 *
 * Families (HELP and TYPE once each, samples grouped under them):
 *   cronfleet_service_up{service}                          gauge
 *   cronfleet_runs_total{service,job,status}               counter
 *   cronfleet_run_retries_total{service,job}               counter
 *   cronfleet_runs_running{service,job}                    gauge
 *   cronfleet_run_duration_seconds{service,job}            histogram
 *   cronfleet_last_success_timestamp_seconds{service,job}  gauge
 *   cronfleet_next_fire_timestamp_seconds{service,job}     gauge
 *   cronfleet_job_paused{service,job}                      gauge
 *   cronfleet_fires_total{service,job,trigger}             counter
 *   cronfleet_catchup_fires_total{service,job}             counter
 *   cronfleet_skipped_fires_total{service,job,reason}      counter
 *   cronfleet_tick_lateness_seconds                        histogram
 *   cronfleet_scheduler_running                            gauge
 *   cronfleet_clock_epoch                                  gauge
 * In the clock's families, service is the job's owner.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "gateway.h"

/* Exposition format 0.0.4, as Prometheus asks for it. */
static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* The page: a growing buffer; a failed allocation sticks (oom). */
typedef struct page {
	char         *b;
	size_t        len, cap;
	int           oom;
	unsigned char started[16]; /* by family (F_*, below) */
} page;

static void page_add(page *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
page_add(page *p, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (p->oom) {
		return;
	}
	for (;;) {
		size_t room = p->cap - p->len;
		va_start(ap, fmt);
		n = vsnprintf(
		    p->b != NULL ? p->b + p->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->oom = 1;
			return;
		}
		if ((size_t) n < room) {
			p->len += (size_t) n;
			return;
		}
		{
			size_t cap = p->cap ? p->cap * 2 : 16384;
			char  *b;
			while (cap - p->len <= (size_t) n) {
				cap *= 2;
			}
			if ((b = realloc(p->b, cap)) == NULL) {
				p->oom = 1;
				return;
			}
			p->b   = b;
			p->cap = cap;
		}
	}
}

/* Milliseconds as seconds, exactly ("0.005", "2.5", "3600"). */
static void
page_seconds(page *p, int64_t ms)
{
	int64_t s = ms / 1000, f = ms % 1000;

	if (ms < 0) {
		page_add(p, "-");
		s = -s;
		f = -f;
	}
	if (f == 0) {
		page_add(p, "%lld", (long long) s);
	} else if (f % 100 == 0) {
		page_add(p, "%lld.%lld", (long long) s, (long long) (f / 100));
	} else if (f % 10 == 0) {
		page_add(
		    p, "%lld.%02lld", (long long) s, (long long) (f / 10));
	} else {
		page_add(p, "%lld.%03lld", (long long) s, (long long) f);
	}
}

/* ---- reading the answers -------------------------------------------- */

static const cJSON *
get(const cJSON *o, const char *k)
{
	return (o != NULL ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL);
}

/* A non-negative integer of o (counters, ms), or -1 when absent. */
static long long
get_num(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);
	return (
	    cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.2e18
	        ? (long long) v->valuedouble
	        : -1);
}

/* The name of a job object, or NULL (then the job is left out). */
static const char *
job_name(const cJSON *j)
{
	const char *n = cJSON_GetStringValue(get(j, "job"));
	return (n != NULL && n[0] != '\0' ? n : NULL);
}

/* The service that owns a clock job (its "service"), or "". */
static const char *
job_owner(const cJSON *j)
{
	const char *s = cJSON_GetStringValue(get(j, "service"));
	return (s != NULL ? s : "");
}

/* ---- samples ---------------------------------------------------------- */

/*
 * The families, in the page's order. HELP and TYPE go out once, before a
 * family's first sample (page.started), and a family with no sample is
 * left out.
 */
enum {
	F_UP,
	F_RUNS,
	F_RETRIES,
	F_RUNNING,
	F_DURATION,
	F_LAST_SUCCESS,
	F_NEXT_FIRE,
	F_PAUSED,
	F_FIRES,
	F_CATCHUP,
	F_SKIPPED,
	F_LATENESS,
	F_SCHEDULER,
	F_EPOCH,
	F_COUNT,
};
_Static_assert(F_COUNT <= sizeof(((page *) 0)->started), "page.started");

/* clang-format off: one family per entry reads better than aligned. */
static const struct {
	const char *name;
	const char *type;
	const char *help;
} families[F_COUNT] = {
	[F_UP]       = { "cronfleet_service_up", "gauge",
	          "1 if the service answered the gateway's metrics request in "
	                "time, else 0." },
	[F_RUNS]     = { "cronfleet_runs_total", "counter",
	        "Attempts of a job that ended, by status (succeeded, failed, "
	            "timed_out, skipped, interrupted), counted by the service "
	            "process that recorded them since it started." },
	[F_RETRIES]  = { "cronfleet_run_retries_total", "counter",
	     "Failed or timed-out attempts that were followed by a retry." },
	[F_RUNNING]  = { "cronfleet_runs_running", "gauge",
	     "Attempts of a job running in the answering service process." },
	[F_DURATION] = { "cronfleet_run_duration_seconds", "histogram",
	    "How long attempts ran (succeeded, failed and timed out ones)." },
	[F_LAST_SUCCESS]
	= { "cronfleet_last_success_timestamp_seconds", "gauge",
	    "When the newest successful run of a job finished (unix "
	    "seconds), from the service's job_runs." },
	[F_NEXT_FIRE] = { "cronfleet_next_fire_timestamp_seconds", "gauge",
	    "When a job fires next by its schedule (unix seconds); absent "
	    "while paused or without a schedule." },
	[F_PAUSED]
	= { "cronfleet_job_paused", "gauge", "1 while a job is paused." },
	[F_FIRES]     = { "cronfleet_fires_total", "counter",
	        "Fires the leading clock recorded and published, by trigger "
	            "(schedule, manual, catchup, dependency), since it started." },
	[F_CATCHUP]   = { "cronfleet_catchup_fires_total", "counter",
	      "Late fires the leading clock published as catch-up under the "
	        "job's misfire policy." },
	[F_SKIPPED]   = { "cronfleet_skipped_fires_total", "counter",
	      "Fires the leading clock recorded as skipped, by reason "
	        "(paused, scheduler_stopped, dst_gap, outside_window, "
	        "coalesced, misfire_skip, other)." },
	[F_LATENESS]  = { "cronfleet_tick_lateness_seconds", "histogram",
	     "How long after its scheduled instant a scheduled tick was "
	      "published." },
	[F_SCHEDULER] = { "cronfleet_scheduler_running", "gauge",
	    "1 while the scheduler is started, 0 while stopped." },
	[F_EPOCH]     = { "cronfleet_clock_epoch", "gauge",
	        "The leading clock's leadership epoch (it grows at each "
	            "takeover)." },
};
/* clang-format on */

static void
family_start(page *p, int f)
{
	if (!p->started[f]) {
		page_add(p, "# HELP %s %s\n# TYPE %s %s\n", families[f].name,
		    families[f].help, families[f].name, families[f].type);
		p->started[f] = 1;
	}
}

/*
 * Appends name="value" to a label list in buf, escaping the value as the
 * format requires (backslash, double quote, line feed). The names come
 * checked, but a service's answer is still input.
 */
static void
label_cat(char *buf, size_t len, const char *name, const char *v)
{
	size_t n = strlen(buf);
	int    k = snprintf(buf + n, len - n, "%s%s=\"", n ? "," : "", name);

	if (k < 0 || (size_t) k >= len - n) {
		buf[n] = '\0';
		return;
	}
	n += (size_t) k;
	for (; v != NULL && *v != '\0' && n + 4 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[n++] = '\\';
			buf[n++] = *v;
		} else if (*v == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *v;
		}
	}
	buf[n++] = '"';
	buf[n]   = '\0';
}

/* The labels {service, job} (job NULL: service only) into buf. */
static const char *
labels(char *buf, size_t len, const char *svc, const char *job)
{
	buf[0] = '\0';
	label_cat(buf, len, "service", svc);
	if (job != NULL) {
		label_cat(buf, len, "job", job);
	}
	return (buf);
}

static void
sample_head(page *p, int f, const char *suffix, const char *lbl)
{
	family_start(p, f);
	page_add(p, "%s%s", families[f].name, suffix);
	if (lbl[0] != '\0') {
		page_add(p, "{%s}", lbl);
	}
	page_add(p, " ");
}

static void
sample_int(page *p, int f, const char *lbl, long long v)
{
	sample_head(p, f, "", lbl);
	page_add(p, "%lld\n", v);
}

/* A value in seconds, given in ms (times and durations). */
static void
sample_sec(page *p, int f, const char *lbl, int64_t ms)
{
	sample_head(p, f, "", lbl);
	page_seconds(p, ms);
	page_add(p, "\n");
}

/*
 * A histogram's samples (_bucket with cumulative le, +Inf, _sum,
 * _count) from le_ms (upper bounds in ms) and h {"counts":[cumulative
 * per bound],"count","sum_ms"}. Nothing when the answer does not hold
 * together: a wrong histogram is worse than none.
 */
static void
sample_histogram(
    page *p, int f, const char *lbl, const cJSON *le_ms, const cJSON *h)
{
	const cJSON *counts = get(h, "counts");
	long long    count  = get_num(h, "count");
	long long    sum    = get_num(h, "sum_ms");
	long long    prev   = 0;
	int          n      = cJSON_GetArraySize(le_ms);
	const char  *sep    = lbl[0] != '\0' ? "," : "";

	if (!cJSON_IsArray(le_ms) || !cJSON_IsArray(counts)
	    || cJSON_GetArraySize(counts) != n || count < 0 || sum < 0) {
		return;
	}
	for (int i = 0; i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(counts, i);
		const cJSON *b = cJSON_GetArrayItem(le_ms, i);
		if (!cJSON_IsNumber(c) || !cJSON_IsNumber(b)
		    || (long long) c->valuedouble < prev
		    || (long long) c->valuedouble > count
		    || (i > 0
		        && b->valuedouble <= cJSON_GetArrayItem(le_ms, i - 1)
		                                 ->valuedouble)) {
			return;
		}
		prev = (long long) c->valuedouble;
	}
	family_start(p, f);
	for (int i = 0; i < n; i++) {
		page_add(p, "%s_bucket{%s%sle=\"", families[f].name, lbl, sep);
		page_seconds(
		    p, (int64_t) cJSON_GetArrayItem(le_ms, i)->valuedouble);
		page_add(p, "\"} %lld\n",
		    (long long) cJSON_GetArrayItem(counts, i)->valuedouble);
	}
	page_add(p, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", families[f].name, lbl,
	    sep, count);
	sample_head(p, f, "_sum", lbl);
	page_seconds(p, sum);
	page_add(p, "\n");
	sample_head(p, f, "_count", lbl);
	page_add(p, "%lld\n", count);
}

/* ---- the page ---------------------------------------------------------- */

/* The domain services' families, from their `metrics` answers. */
static void
render_runs(page *p, cJSON *const *data)
{
	char lbl[512], lbl2[600];

	/* One family at a time: Prometheus wants each family's samples
	 * together. */
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		const cJSON *j;
		cJSON_ArrayForEach(j, get(data[svc], "jobs"))
		{
			const cJSON *st;
			if (job_name(j) == NULL) {
				continue;
			}
			labels(lbl, sizeof(lbl), gw_service_name(svc),
			    job_name(j));
			cJSON_ArrayForEach(st, get(j, "runs"))
			{
				if (!cJSON_IsNumber(st)
				    || st->string == NULL) {
					continue;
				}
				snprintf(lbl2, sizeof(lbl2), "%s", lbl);
				label_cat(
				    lbl2, sizeof(lbl2), "status", st->string);
				sample_int(p, F_RUNS, lbl2,
				    (long long) st->valuedouble);
			}
		}
	}
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		const cJSON *j;
		cJSON_ArrayForEach(j, get(data[svc], "jobs"))
		{
			if (job_name(j) != NULL
			    && get_num(j, "retries") >= 0) {
				sample_int(p, F_RETRIES,
				    labels(lbl, sizeof(lbl),
				        gw_service_name(svc), job_name(j)),
				    get_num(j, "retries"));
			}
		}
	}
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		const cJSON *j;
		cJSON_ArrayForEach(j, get(data[svc], "jobs"))
		{
			if (job_name(j) != NULL
			    && get_num(j, "running") >= 0) {
				sample_int(p, F_RUNNING,
				    labels(lbl, sizeof(lbl),
				        gw_service_name(svc), job_name(j)),
				    get_num(j, "running"));
			}
		}
	}
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		const cJSON *j;
		cJSON_ArrayForEach(j, get(data[svc], "jobs"))
		{
			if (job_name(j) != NULL) {
				sample_histogram(p, F_DURATION,
				    labels(lbl, sizeof(lbl),
				        gw_service_name(svc), job_name(j)),
				    get(data[svc], "duration_le_ms"),
				    get(j, "duration"));
			}
		}
	}
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		const cJSON *j;
		cJSON_ArrayForEach(j, get(data[svc], "jobs"))
		{
			if (job_name(j) != NULL
			    && get_num(j, "last_success_ms") > 0) {
				sample_sec(p, F_LAST_SUCCESS,
				    labels(lbl, sizeof(lbl),
				        gw_service_name(svc), job_name(j)),
				    get_num(j, "last_success_ms"));
			}
		}
	}
}

/* The clock's families, from its `metrics` answer (NULL: none). */
static void
render_clock(page *p, const cJSON *clock)
{
	const cJSON *jobs = get(clock, "jobs"), *j, *v;
	char         lbl[512], lbl2[600];

	if (clock == NULL) {
		return;
	}
	cJSON_ArrayForEach(j, jobs)
	{
		if (job_name(j) != NULL && get_num(j, "next_fire_ms") >= 0) {
			sample_sec(p, F_NEXT_FIRE,
			    labels(
			        lbl, sizeof(lbl), job_owner(j), job_name(j)),
			    get_num(j, "next_fire_ms"));
		}
	}
	cJSON_ArrayForEach(j, jobs)
	{
		if (job_name(j) != NULL && cJSON_IsBool(get(j, "paused"))) {
			sample_int(p, F_PAUSED,
			    labels(
			        lbl, sizeof(lbl), job_owner(j), job_name(j)),
			    cJSON_IsTrue(get(j, "paused")));
		}
	}
	cJSON_ArrayForEach(j, jobs)
	{
		if (job_name(j) == NULL) {
			continue;
		}
		labels(lbl, sizeof(lbl), job_owner(j), job_name(j));
		cJSON_ArrayForEach(v, get(j, "fires"))
		{
			if (cJSON_IsNumber(v) && v->string != NULL) {
				snprintf(lbl2, sizeof(lbl2), "%s", lbl);
				label_cat(
				    lbl2, sizeof(lbl2), "trigger", v->string);
				sample_int(p, F_FIRES, lbl2,
				    (long long) v->valuedouble);
			}
		}
	}
	cJSON_ArrayForEach(j, jobs)
	{
		if (job_name(j) != NULL
		    && cJSON_IsNumber(v = get(get(j, "fires"), "catchup"))) {
			sample_int(p, F_CATCHUP,
			    labels(
			        lbl, sizeof(lbl), job_owner(j), job_name(j)),
			    (long long) v->valuedouble);
		}
	}
	cJSON_ArrayForEach(j, jobs)
	{
		if (job_name(j) == NULL) {
			continue;
		}
		labels(lbl, sizeof(lbl), job_owner(j), job_name(j));
		cJSON_ArrayForEach(v, get(j, "skipped"))
		{
			if (cJSON_IsNumber(v) && v->string != NULL) {
				snprintf(lbl2, sizeof(lbl2), "%s", lbl);
				label_cat(
				    lbl2, sizeof(lbl2), "reason", v->string);
				sample_int(p, F_SKIPPED, lbl2,
				    (long long) v->valuedouble);
			}
		}
	}
	sample_histogram(p, F_LATENESS, "", get(clock, "lateness_le_ms"),
	    get(clock, "lateness"));
	if (cJSON_IsBool(get(clock, "running"))) {
		sample_int(
		    p, F_SCHEDULER, "", cJSON_IsTrue(get(clock, "running")));
	}
	if (get_num(clock, "epoch") >= 0) {
		sample_int(p, F_EPOCH, "", get_num(clock, "epoch"));
	}
}

void
gw_route_metrics(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_ask ask[GW_NSERVICES];
	cJSON *data[GW_NSERVICES] = { NULL };
	page   p                  = { 0 };
	char   lbl[128];

	(void) rq;
	memset(ask, 0, sizeof(ask));
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		ask[svc].asked = gw_upstream_enabled(app->up, svc);
	}
	/* All at once: a service that is down costs one deadline, not one
	 * each. */
	gw_ask_all(app, ask, "metrics", gw_now_ms() + app->cfg->timeout_ms);
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		if (ask[svc].asked && ask[svc].res.status == 0
		    && cJSON_IsObject(ask[svc].res.data)) {
			data[svc] = ask[svc].res.data;
		}
	}
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		if (ask[svc].asked) {
			sample_int(&p, F_UP,
			    labels(
			        lbl, sizeof(lbl), gw_service_name(svc), NULL),
			    data[svc] != NULL);
		}
	}
	render_runs(&p, data);
	render_clock(&p, data[GW_CLOCK]);
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		cJSON_Delete(ask[svc].res.data);
	}
	if (p.oom || p.b == NULL) {
		free(p.b);
		gw_reply_error(out, 500, "metrics: out of memory");
		return;
	}
	out->status       = 200;
	out->body         = p.b;
	out->body_len     = p.len;
	out->content_type = metrics_type;
}
