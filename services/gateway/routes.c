/*
 * routes.c - the REST routes: what each asks of which service, and the
 * JSON it answers, shaped as the seeds' responses are:
 *	{"success":true,"data":...} or {"success":false,"error":"..."}.
 *
 * Every route under /api/v1/scheduler is also served under the seeds'
 * older prefix /api/scheduler, so their scripts keep working.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_cron.h"
#include "cf_proto.h"
#include "cf_time.h"
#include "gateway.h"

/* next-sync-times: fires per job when none is asked, and the most. */
#define NEXT_DEFAULT 5
#define NEXT_MAX 100

typedef void (*route_fn)(gw_app *app, const gw_request *rq, gw_reply *out);

struct gw_route {
	const char *method;
	/* After a scheduler prefix when scoped, else the whole path; a
	 * "{job}" segment matches one non-empty segment, the route's param. */
	const char *path;
	int         scoped; /* under a scheduler prefix */
	int         body;   /* reads an optional JSON body */
	int         role;   /* enum gw_role: who may call it */
	const char *action; /* a manual action, audited under this name */
	const char *allow;
	route_fn    fn;
};

static const char *const prefixes[] = {
	"/api/v1/scheduler",
	"/api/scheduler",
};

/* ---- replies ------------------------------------------------------ */

/* Answers {"success":true,"data":data}; takes data. */
void
gw_reply_data(gw_reply *out, cJSON *data)
{
	cJSON *o = cJSON_CreateObject();

	out->status = 200;
	out->body   = NULL;
	if (o == NULL || data == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(data);
		out->status = 500;
		return;
	}
	cJSON_AddItemToObject(o, "success", cJSON_CreateTrue());
	cJSON_AddItemToObject(o, "data", data);
	out->body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out->body == NULL) {
		out->status = 500;
	}
}

void
gw_reply_json(gw_reply *out, int status, cJSON *o)
{
	out->status = status;
	out->body   = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (out->body == NULL) {
		out->status = 500;
	}
}

void
gw_reply_error(gw_reply *out, int status, const char *fmt, ...)
{
	char    msg[1024];
	va_list ap;
	cJSON  *o;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out->status = status;
	out->body   = NULL;
	if ((o = cJSON_CreateObject()) == NULL) {
		return;
	}
	cJSON_AddItemToObject(o, "success", cJSON_CreateFalse());
	cJSON_AddStringToObject(o, "error", msg);
	/* The audit's detail of a failed action is its error. */
	if (out->detail[0] == '\0') {
		snprintf(out->detail, sizeof(out->detail), "%.200s", msg);
	}
	out->body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
}

void
gw_reply_result(gw_reply *out, gw_result *res)
{
	gw_reply_error(out, res->status, "%s", res->error);
}

/*
 * Copies a value a client sent into dst for an error message: at most
 * 64 bytes, printable ASCII only, since cJSON does not check UTF-8.
 */
const char *
gw_echo_safe(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < len && i < 64; i++) {
		unsigned char ch = (unsigned char) src[i];
		dst[i]           = ch >= 0x20 && ch < 0x7f ? (char) ch : '?';
	}
	dst[i] = '\0';
	return (dst);
}

/*
 * Reads the query argument name as an integer in [1, max]. Returns 0 with
 * *out set (def when absent), or 400 with out filled in.
 */
int
gw_query_int(const gw_request *rq, const char *name, int def, int max, int *value,
    gw_reply *out)
{
	const char *s = rq->query(rq->conn, name);
	char       *end;
	char        safe[80];
	long        v;

	if (s == NULL) {
		*value = def;
		return (0);
	}
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || v < 1 || v > max) {
		gw_reply_error(out, 400,
		    "query '%s': '%s' is not an integer from 1 to %d", name,
		    gw_echo_safe(safe, sizeof(safe), s), max);
		return (400);
	}
	*value = (int) v;
	return (0);
}

/* 1 if job is a valid name; otherwise answers 400 and returns 0. */
int
gw_job_valid(const char *job, gw_reply *out)
{
	char safe[80];

	if (job[0] != '\0' && cf_proto_name_valid(job)) {
		return (1);
	}
	gw_reply_error(out, 400,
	    "invalid job name '%s': expected 1 to %d characters of "
	    "A-Z a-z 0-9 _ -",
	    gw_echo_safe(safe, sizeof(safe), job), CF_PROTO_MAX_NAME);
	return (0);
}

/*
 * The schedule in words ("At 02:30 every day"; the zone is the job's
 * "tz"), or null for a job without a schedule of its own or one the
 * gateway cannot read. Compiling a schedule builds its tables (dates
 * over two centuries), far more than a request should pay for each job
 * each time, and schedules change rarely: the last DESCRIBE_CACHE
 * answers are kept.
 */
#define DESCRIBE_CACHE 64

static struct {
	pthread_mutex_t mu;
	unsigned        next;
	struct {
		char *key; /* tz "\n" expr */
		char *text; /* NULL: no description */
	} e[DESCRIBE_CACHE];
} describe_cache = { PTHREAD_MUTEX_INITIALIZER, 0, { { NULL, NULL } } };

cJSON *
gw_describe(const char *expr, const char *tz)
{
	cf_cron_opts o = { 0 };
	cf_cron     *c = NULL;
	char         err[CF_CRON_ERRLEN], text[512], key[768];
	int          found = 0, ok = 0;

	if (expr == NULL || strcmp(expr, "-") == 0) {
		return (cJSON_CreateNull());
	}
	snprintf(key, sizeof(key), "%s\n%s", tz != NULL ? tz : "", expr);
	pthread_mutex_lock(&describe_cache.mu);
	for (unsigned i = 0; i < DESCRIBE_CACHE && !found; i++) {
		if (describe_cache.e[i].key != NULL
		    && strcmp(describe_cache.e[i].key, key) == 0) {
			found = 1;
			ok    = describe_cache.e[i].text != NULL;
			if (ok) {
				snprintf(text, sizeof(text), "%s",
				    describe_cache.e[i].text);
			}
		}
	}
	pthread_mutex_unlock(&describe_cache.mu);
	if (!found) {
		o.tz = tz;
		ok   = cf_cron_parse(&c, expr, &o, err, sizeof(err)) == 0
		    && cf_cron_describe(c, text, sizeof(text)) > 0;
		cf_cron_free(c);
		pthread_mutex_lock(&describe_cache.mu);
		{
			unsigned k = describe_cache.next++ % DESCRIBE_CACHE;
			free(describe_cache.e[k].key);
			free(describe_cache.e[k].text);
			describe_cache.e[k].key  = strdup(key);
			describe_cache.e[k].text = ok ? strdup(text) : NULL;
			if (describe_cache.e[k].key == NULL) {
				free(describe_cache.e[k].text);
				describe_cache.e[k].text = NULL;
			}
		}
		pthread_mutex_unlock(&describe_cache.mu);
	}
	return (ok ? cJSON_CreateString(text) : cJSON_CreateNull());
}

/* Frees the cache (at exit, so that leak checkers see nothing left). */
void
gw_describe_fini(void)
{
	pthread_mutex_lock(&describe_cache.mu);
	for (unsigned i = 0; i < DESCRIBE_CACHE; i++) {
		free(describe_cache.e[i].key);
		free(describe_cache.e[i].text);
		describe_cache.e[i].key  = NULL;
		describe_cache.e[i].text = NULL;
	}
	pthread_mutex_unlock(&describe_cache.mu);
}


/* A clock command whose data is the answer. */
void
gw_route_clock(
    gw_app *app, const char *cmd, const char *job, int n, gw_reply *out)
{
	gw_result res;
	int64_t   deadline = gw_now_ms() + app->cfg->timeout_ms;

	if (gw_upstream_call(app->up, GW_CLOCK, cmd, job, n, deadline, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	gw_reply_data(out, res.data);
}

/* ---- routes ------------------------------------------------------- */

static void
route_healthz(gw_app *app, const gw_request *rq, gw_reply *out)
{
	cJSON *d = cJSON_CreateObject();

	(void) app;
	(void) rq;
	if (d != NULL) {
		cJSON_AddStringToObject(d, "status", "ok");
	}
	gw_reply_data(out, d);
}

/* The job named job in the clock's jobs array, or NULL. */
cJSON *
gw_jobs_find(cJSON *jobs, const char *job)
{
	cJSON *j;

	cJSON_ArrayForEach(j, jobs)
	{
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(j, "job"));
		if (name != NULL && strcmp(name, job) == 0) {
			return (j);
		}
	}
	return (NULL);
}

/*
 * Adds "last_run" to each job of jobs owned by svc, from that service's
 * status data ({"jobs":[{"job","last_run"}]}).
 */
static void
status_merge(cJSON *jobs, const char *svc, cJSON *st)
{
	cJSON *sj;

	cJSON_ArrayForEach(sj, cJSON_GetObjectItemCaseSensitive(st, "jobs"))
	{
		const char *name = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(sj, "job"));
		cJSON      *j, *run;
		const char *owner;

		if (name == NULL || (j = gw_jobs_find(jobs, name)) == NULL) {
			continue;
		}
		owner = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(j, "service"));
		if (owner == NULL || strcmp(owner, svc) != 0) {
			continue;
		}
		run = cJSON_GetObjectItemCaseSensitive(sj, "last_run");
		run = run != NULL ? cJSON_Duplicate(run, 1)
		                  : cJSON_CreateNull();
		if (run != NULL) {
			cJSON_ReplaceItemInObjectCaseSensitive(
			    j, "last_run", run);
		}
	}
}

/* 1 if some job of jobs belongs to the service named svc. */
static int
jobs_owned_by(cJSON *jobs, const char *svc)
{
	cJSON *j;

	cJSON_ArrayForEach(j, jobs)
	{
		const char *owner = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(j, "service"));
		if (owner != NULL && strcmp(owner, svc) == 0) {
			return (1);
		}
	}
	return (0);
}

/*
 * The leading clock as its status describes it (only the leader answers):
 * {"clock_id","epoch","lease","since"}, each null when the clock did not
 * say, so a dashboard can show who publishes the ticks and since when.
 */
static cJSON *
status_leader(cJSON *st)
{
	static const char *const from[] = { "clock_id", "epoch", "lease",
		"leader_since" };
	static const char *const to[]   = { "clock_id", "epoch", "lease",
                  "since" };
	cJSON *l = cJSON_CreateObject();

	if (l == NULL) {
		return (cJSON_CreateNull());
	}
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(st, from[i]);
		cJSON_AddItemToObject(l, to[i], v != NULL ? v : cJSON_CreateNull());
	}
	return (l);
}


static void *
ask_run(void *arg)
{
	gw_ask *a = arg;

	gw_upstream_call(
	    a->app->up, a->svc, a->cmd, NULL, 0, a->deadline, &a->res);
	return (NULL);
}

/*
 * The threads that ask services for a request that asks several at once.
 * They are started once and kept: a thread created and joined per ask
 * costs a stack's mmap and munmap and two scheduler trips, on every
 * status request. A task is an ask plus the request's countdown.
 */
#define ASK_THREADS 16

typedef struct ask_batch {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             left; /* asks not yet answered */
} ask_batch;

typedef struct ask_task {
	struct ask_task *next;
	gw_ask          *ask;
	ask_batch       *batch;
} ask_task;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	ask_task       *head, *tail;
	pthread_t       thr[ASK_THREADS];
	int             nthr;
	int             stopping;
} askers = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
	{ 0 }, 0, 0 };

static void *
asker_main(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&askers.mu);
	for (;;) {
		ask_task *t;

		while (askers.head == NULL && !askers.stopping) {
			pthread_cond_wait(&askers.cv, &askers.mu);
		}
		if ((t = askers.head) == NULL) {
			break; /* stopping, nothing left */
		}
		askers.head = t->next;
		if (askers.head == NULL) {
			askers.tail = NULL;
		}
		pthread_mutex_unlock(&askers.mu);
		ask_run(t->ask);
		pthread_mutex_lock(&t->batch->mu);
		if (--t->batch->left == 0) {
			pthread_cond_signal(&t->batch->cv);
		}
		pthread_mutex_unlock(&t->batch->mu);
		pthread_mutex_lock(&askers.mu);
	}
	pthread_mutex_unlock(&askers.mu);
	return (NULL);
}

int
gw_askers_start(void)
{
	pthread_mutex_lock(&askers.mu);
	askers.stopping = 0;
	while (askers.nthr < ASK_THREADS
	    && pthread_create(&askers.thr[askers.nthr], NULL, asker_main, NULL)
	        == 0) {
		askers.nthr++;
	}
	pthread_mutex_unlock(&askers.mu);
	return (askers.nthr > 0 ? 0 : -1);
}

void
gw_askers_stop(void)
{
	int n;

	pthread_mutex_lock(&askers.mu);
	askers.stopping = 1;
	pthread_cond_broadcast(&askers.cv);
	n = askers.nthr;
	pthread_mutex_unlock(&askers.mu);
	for (int i = 0; i < n; i++) {
		pthread_join(askers.thr[i], NULL);
	}
	pthread_mutex_lock(&askers.mu);
	askers.nthr = 0;
	pthread_mutex_unlock(&askers.mu);
}

/*
 * Sends every asked entry of ask[0..n) its own command (ask[i].svc,
 * ask[i].cmd), all at once, each within deadline, so one that is down or
 * slow does not eat the others' time; returns when all have answered or
 * given up. The last one is asked on the calling thread, the others by
 * the asker threads; without them (not started, or stopping) an entry
 * is asked inline: slower, still right.
 */
void
gw_ask_each(gw_app *app, gw_ask *ask, size_t n, int64_t deadline)
{
	ask_task  task[1 + GW_NSERVICES + 4];
	ask_batch b;
	int       last = -1, queued = 0;

	for (size_t i = 0; i < n; i++) {
		if (ask[i].asked) {
			last = (int) i;
		}
		ask[i].app      = app;
		ask[i].deadline = deadline;
	}
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	b.left = 0;
	pthread_mutex_lock(&askers.mu);
	for (size_t i = 0; i < n; i++) {
		if (!ask[i].asked || (int) i == last || askers.nthr == 0
		    || askers.stopping
		    || (size_t) queued >= sizeof(task) / sizeof(task[0])) {
			continue;
		}
		task[queued].next  = NULL;
		task[queued].ask   = &ask[i];
		task[queued].batch = &b;
		ask[i].threaded    = 1; /* taken by an asker */
		if (askers.tail != NULL) {
			askers.tail->next = &task[queued];
		} else {
			askers.head = &task[queued];
		}
		askers.tail = &task[queued];
		queued++;
	}
	b.left = queued;
	if (queued > 0) {
		pthread_cond_broadcast(&askers.cv);
	}
	pthread_mutex_unlock(&askers.mu);
	for (size_t i = 0; i < n; i++) {
		if (ask[i].asked && !ask[i].threaded) {
			ask_run(&ask[i]);
		}
	}
	pthread_mutex_lock(&b.mu);
	while (b.left > 0) {
		pthread_cond_wait(&b.cv, &b.mu);
	}
	pthread_mutex_unlock(&b.mu);
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&b.cv);
	for (size_t i = 0; i < n; i++) {
		ask[i].threaded = 0;
	}
}

/* cmd to every service whose ask[svc].asked is set (ask by service). */
void
gw_ask_all(gw_app *app, gw_ask *ask, const char *cmd, int64_t deadline)
{
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		ask[svc].cmd = cmd;
		ask[svc].svc = svc;
	}
	gw_ask_each(app, ask, GW_NSERVICES, deadline);
}

/* Adds "description" (the schedule in words) to each job of jobs. */
static void
jobs_describe(cJSON *jobs)
{
	cJSON *j;

	cJSON_ArrayForEach(j, jobs)
	{
		if (cJSON_IsObject(j) && !cJSON_HasObjectItem(j, "description")) {
			cJSON_AddItemToObject(j, "description",
			    gw_describe(cJSON_GetStringValue(
			                    cJSON_GetObjectItemCaseSensitive(
			                        j, "schedule")),
			        cJSON_GetStringValue(
			            cJSON_GetObjectItemCaseSensitive(j, "tz"))));
		}
	}
}

/*
 * The scheduler as a whole: the clock's state, and each job with its
 * next fire (the clock's) and its last run (its owner's). The clock is
 * needed; an owner that fails only leaves its jobs' last_run null and
 * says why under "services", so one service that is down does not hide
 * the rest of the fleet from the person looking for what is wrong. The
 * owners are asked at once, each within the request's deadline, so one
 * that is down or slow does not eat the others' time.
 */
static void
status_gather(gw_app *app, int64_t deadline, gw_reply *out)
{
	gw_result   st, jobs;
	gw_ask      q[1 + GW_NSERVICES], *ask = q + 1;
	cJSON      *d, *svcs, *j, *v;
	const char *sched;

	/*
	 * The clock's state and jobs (its "overview": one snapshot, one
	 * round trip) and every queried service's status, all at once: a
	 * service that owns none of the jobs is asked for nothing it would
	 * not be asked for anyway, and waiting for the clock's list first
	 * would add its round trip to every answer.
	 */
	memset(q, 0, sizeof(q));
	q[0].asked = 1;
	q[0].svc   = GW_CLOCK;
	q[0].cmd   = "overview";
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		ask[svc].svc   = svc;
		ask[svc].cmd   = "status";
		ask[svc].asked = svc != GW_CLOCK && gw_upstream_enabled(app->up, svc);
	}
	gw_ask_each(app, q, 1 + GW_NSERVICES, deadline);
	st = q[0].res;
	memset(&jobs, 0, sizeof(jobs));
	if (st.status == 0) {
		jobs.data = cJSON_DetachItemFromObjectCaseSensitive(
		    st.data, "job_list");
	}
	if (st.status != 0 || !cJSON_IsArray(jobs.data)) {
		if (st.status != 0) {
			gw_reply_result(out, &st);
		} else {
			gw_reply_error(out, 502,
			    "clock sent an overview without its jobs");
		}
		cJSON_Delete(st.data);
		cJSON_Delete(jobs.data);
		for (int svc = 0; svc < GW_NSERVICES; svc++) {
			cJSON_Delete(ask[svc].res.data);
		}
		return;
	}
	cJSON_ArrayForEach(j, jobs.data)
	{
		if (cJSON_IsObject(j) && !cJSON_HasObjectItem(j, "last_run")) {
			cJSON_AddNullToObject(j, "last_run");
		}
	}
	jobs_describe(jobs.data);

	d    = cJSON_CreateObject();
	svcs = cJSON_CreateObject();
	if (d != NULL && svcs != NULL) {
		cJSON_AddStringToObject(svcs, "clock", "ok");
	}
	for (int svc = GW_CLOCK + 1; svc < GW_NSERVICES; svc++) {
		const char *name = gw_service_name(svc);
		gw_ask    *a    = &ask[svc];

		if (a->asked && a->res.status == 0) {
			status_merge(jobs.data, name, a->res.data);
			cJSON_AddStringToObject(svcs, name, "ok");
		} else if (a->asked) {
			cJSON_AddStringToObject(svcs, name, a->res.error);
		} else if (jobs_owned_by(jobs.data, name)) {
			cJSON_AddStringToObject(svcs, name, "not queried");
		}
		cJSON_Delete(a->res.data);
	}
	if (d == NULL || svcs == NULL) {
		cJSON_Delete(d);
		cJSON_Delete(svcs);
		cJSON_Delete(st.data);
		cJSON_Delete(jobs.data);
		out->status = 500;
		out->body   = NULL;
		return;
	}

	sched = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(st.data, "scheduler"));
	if (sched == NULL) {
		sched = "unknown";
	}
	cJSON_AddStringToObject(d, "status", sched);
	cJSON_AddBoolToObject(d, "running", strcmp(sched, "running") == 0);
	v = cJSON_DetachItemFromObjectCaseSensitive(st.data, "started_at");
	cJSON_AddItemToObject(
	    d, "started_at", v != NULL ? v : cJSON_CreateNull());
	cJSON_AddItemToObject(d, "leader", status_leader(st.data));
	cJSON_AddItemToObject(d, "jobs", jobs.data);
	cJSON_AddItemToObject(d, "services", svcs);
	cJSON_Delete(st.data);
	gw_reply_data(out, d);
}

/*
 * When a wait of left ms (e.g. what is left of a monotonic deadline)
 * ends, on the wall clock that pthread_cond_timedwait reads.
 */
struct timespec
gw_wait_until(int64_t left)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t) (left / 1000);
	ts.tv_nsec += (long) (left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return (ts);
}

/*
 * Status requests that arrive together share one gathering. A request
 * is answered from a gathering that began after it arrived (never from
 * one already under way, nor from a kept answer), so it sees every
 * change made before it was sent, as if it had gathered alone; what is
 * shared is only the asking. Under load the status costs one gathering
 * per gathering's time instead of one per request. The first request
 * that finds none under way, or finds the one under way too old for it,
 * gathers on its own thread; the others wait, each within its own
 * deadline.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	uint64_t        begun; /* gatherings begun */
	uint64_t        done;  /* the number of the last one finished */
	int             running;
	gw_reply        last; /* its answer (status, body, detail) */
} status_share
    = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, { 0 } };

static void
route_status(gw_app *app, const gw_request *rq, gw_reply *out)
{
	int64_t  deadline = gw_now_ms() + app->cfg->timeout_ms;
	uint64_t want;

	(void) rq;
	pthread_mutex_lock(&status_share.mu);
	want = status_share.begun + 1; /* one that begins from now on */
	while (status_share.done < want) {
		struct timespec ts;

		if (!status_share.running) {
			gw_reply r;
			uint64_t me = ++status_share.begun;

			status_share.running = 1;
			pthread_mutex_unlock(&status_share.mu);
			memset(&r, 0, sizeof(r));
			status_gather(app, deadline, &r);
			pthread_mutex_lock(&status_share.mu);
			free(status_share.last.body);
			status_share.last    = r;
			status_share.done    = me;
			status_share.running = 0;
			pthread_cond_broadcast(&status_share.cv);
			continue;
		}
		if (gw_now_ms() >= deadline) {
			pthread_mutex_unlock(&status_share.mu);
			gw_reply_error(out, 504,
			    "status: no answer from the services within %lld "
			    "ms",
			    (long long) app->cfg->timeout_ms);
			return;
		}
		ts = gw_wait_until(deadline - gw_now_ms());
		pthread_cond_timedwait(
		    &status_share.cv, &status_share.mu, &ts);
	}
	out->status      = status_share.last.status;
	out->retry_after = status_share.last.retry_after;
	memcpy(out->detail, status_share.last.detail, sizeof(out->detail));
	out->body = NULL;
	if (status_share.last.body != NULL) {
		size_t n = status_share.last.body_len != 0
		    ? status_share.last.body_len
		    : strlen(status_share.last.body);
		if ((out->body = malloc(n + 1)) != NULL) {
			memcpy(out->body, status_share.last.body, n);
			out->body[n]  = '\0';
			out->body_len = n;
		} else {
			out->status = 500;
		}
	}
	pthread_mutex_unlock(&status_share.mu);
}

void
gw_status_share_free(void)
{
	pthread_mutex_lock(&status_share.mu);
	free(status_share.last.body);
	status_share.last.body = NULL;
	status_share.done      = status_share.begun;
	pthread_mutex_unlock(&status_share.mu);
}

static void
route_tasks(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_result res;

	(void) rq;
	if (gw_upstream_call(app->up, GW_CLOCK, "jobs", NULL, 0,
	        gw_now_ms() + app->cfg->timeout_ms, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	jobs_describe(res.data);
	gw_reply_data(out, res.data);
}

static void
route_next(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const char *job = rq->query(rq->conn, "job");
	int         n;

	if (gw_query_int(rq, "n", NEXT_DEFAULT, NEXT_MAX, &n, out) != 0) {
		return;
	}
	if (job != NULL && !gw_job_valid(job, out)) {
		return;
	}
	gw_route_clock(app, "next", job, n, out);
}

/*
 * Triggers of one job that arrive together share one call to the clock:
 * "trigger <job> <n>" asks for n fires, which the clock writes in one
 * ledger statement and publishes (COMMANDS.md), and each request gets
 * one of them. Every trigger is its own fire, as before; what is shared
 * is the round trip. One call per job is under way at a time; the
 * requests that arrive meanwhile wait, and the first to find none under
 * way makes the next call, for up to TRIG_SHARE_MAX of them in order of
 * arrival. Each request waits within its own deadline (504 past it;
 * a fire already asked for is still made, as when a lone call times
 * out).
 */
#define TRIG_SHARE_MAX 64

typedef struct trig_waiter {
	struct trig_waiter *next;
	char                job[CF_PROTO_MAX_NAME + 1];
	gw_result           res;
	int                 taken;     /* in a call under way */
	int                 done;      /* res is set */
	int                 abandoned; /* its request gave up: freed by the
	                                  caller */
} trig_waiter;

/* A call under way, for its job. */
typedef struct trig_call {
	struct trig_call *next;
	const char       *job;
} trig_call;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	trig_waiter    *head; /* waiting, in order of arrival */
	trig_call      *calls;
} trig_share
    = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL };

static int
trig_calling(const char *job)
{
	for (trig_call *c = trig_share.calls; c != NULL; c = c->next) {
		if (strcmp(c->job, job) == 0) {
			return (1);
		}
	}
	return (0);
}

/*
 * The i-th fire of a shared call's answer, as a lone trigger's answer. A
 * clock from before "n" answers one fire, without "fires".
 */
static cJSON *
trig_fire(const cJSON *data, int i)
{
	const cJSON *fires = cJSON_GetObjectItemCaseSensitive(data, "fires");
	const cJSON *f     = cJSON_GetArrayItem(fires, i);
	cJSON       *o;

	if (fires == NULL && i == 0
	    && cJSON_GetObjectItemCaseSensitive(data, "fire_id") != NULL) {
		return (cJSON_Duplicate(data, 1));
	}
	if (f == NULL || (o = cJSON_CreateObject()) == NULL) {
		return (NULL);
	}
	cJSON_AddItemToObject(o, "job",
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(data, "job"), 1));
	cJSON_AddItemToObject(o, "service",
	    cJSON_Duplicate(
	        cJSON_GetObjectItemCaseSensitive(data, "service"), 1));
	cJSON_AddItemToObject(o, "fire_id",
	    cJSON_Duplicate(
	        cJSON_GetObjectItemCaseSensitive(f, "fire_id"), 1));
	cJSON_AddItemToObject(o, "scheduled_for",
	    cJSON_Duplicate(
	        cJSON_GetObjectItemCaseSensitive(f, "scheduled_for"), 1));
	cJSON_AddStringToObject(o, "trigger", "manual");
	return (o);
}

/* Makes one shared call for job and hands its fires out. Under mu. */
static void
trig_call_once(gw_app *app, const char *job, int64_t deadline)
{
	trig_waiter *took[TRIG_SHARE_MAX];
	trig_call    call = { trig_share.calls, job };
	gw_result    r;
	int          k = 0;

	for (trig_waiter **pp = &trig_share.head;
	     *pp != NULL && k < TRIG_SHARE_MAX;) {
		trig_waiter *w = *pp;
		if (strcmp(w->job, job) == 0) {
			*pp       = w->next;
			w->next   = NULL;
			w->taken  = 1;
			took[k++] = w;
		} else {
			pp = &w->next;
		}
	}
	trig_share.calls = &call;
	pthread_mutex_unlock(&trig_share.mu);
	gw_upstream_call(app->up, GW_CLOCK, "trigger", job, k, deadline, &r);
	pthread_mutex_lock(&trig_share.mu);
	for (trig_call **pp = &trig_share.calls; *pp != NULL;
	     pp             = &(*pp)->next) {
		if (*pp == &call) {
			*pp = call.next;
			break;
		}
	}
	for (int i = 0; i < k; i++) {
		trig_waiter *w = took[i];

		memset(&w->res, 0, sizeof(w->res));
		if (r.status != 0) {
			w->res.status = r.status;
			memcpy(w->res.error, r.error, sizeof(w->res.error));
		} else if ((w->res.data = trig_fire(r.data, i)) == NULL) {
			w->res.status = 502;
			snprintf(w->res.error, sizeof(w->res.error),
			    "clock: its answer to trigger %s lists fewer than "
			    "%d fires",
			    job, k);
		}
		if (w->abandoned) {
			cJSON_Delete(w->res.data);
			free(w);
		} else {
			w->done = 1;
		}
	}
	cJSON_Delete(r.data);
	pthread_cond_broadcast(&trig_share.cv);
}

/*
 * Asks the clock for a manual fire of job: the fire is in the ledger and
 * its tick published before the clock answers (COMMANDS.md).
 */
int
gw_trigger(gw_app *app, const char *job, int64_t deadline, gw_result *res)
{
	trig_waiter *w;

	memset(res, 0, sizeof(*res));
	if (strlen(job) > CF_PROTO_MAX_NAME) {
		/* The clock refuses it as it refuses any name it lacks. */
		return (gw_upstream_call(
		    app->up, GW_CLOCK, "trigger", job, 0, deadline, res));
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		res->status = 500;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return (res->status);
	}
	snprintf(w->job, sizeof(w->job), "%s", job);
	pthread_mutex_lock(&trig_share.mu);
	{
		trig_waiter **pp = &trig_share.head;
		while (*pp != NULL) {
			pp = &(*pp)->next;
		}
		*pp = w;
	}
	while (!w->done) {
		struct timespec ts;
		int64_t         left;

		if (!w->taken && !trig_calling(job)) {
			trig_call_once(app, job, deadline);
			continue;
		}
		if ((left = deadline - gw_now_ms()) <= 0) {
			if (w->taken) {
				w->abandoned = 1; /* the caller frees it */
			} else {
				trig_waiter **pp = &trig_share.head;
				while (*pp != w) {
					pp = &(*pp)->next;
				}
				*pp = w->next;
				free(w);
			}
			pthread_mutex_unlock(&trig_share.mu);
			res->status = 504;
			snprintf(res->error, sizeof(res->error),
			    "clock did not answer in time (%lld ms): trigger "
			    "%s",
			    (long long) app->cfg->timeout_ms, job);
			return (res->status);
		}
		ts = gw_wait_until(left);
		pthread_cond_timedwait(&trig_share.cv, &trig_share.mu, &ts);
	}
	pthread_mutex_unlock(&trig_share.mu);
	*res = w->res;
	free(w);
	return (res->status);
}

/* The fire's id as the audit's detail. */
static void
trigger_detail(gw_reply *out, const cJSON *fire)
{
	const char *id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(fire, "fire_id"));

	if (id != NULL) {
		snprintf(out->detail, sizeof(out->detail), "fire %s", id);
	}
}

void
gw_route_trigger(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_result res;

	if (!gw_job_valid(rq->param, out)) {
		return;
	}
	if (gw_trigger(app, rq->param, gw_now_ms() + app->cfg->timeout_ms,
	        &res)) {
		gw_reply_result(out, &res);
		return;
	}
	trigger_detail(out, res.data);
	gw_reply_data(out, res.data);
}

static void
route_start(gw_app *app, const gw_request *rq, gw_reply *out)
{
	(void) rq;
	gw_route_clock(app, "start", NULL, 0, out);
}

static void
route_stop(gw_app *app, const gw_request *rq, gw_reply *out)
{
	(void) rq;
	gw_route_clock(app, "stop", NULL, 0, out);
}

/*
 * Ready when every service this gateway queries answers a ping within
 * the deadline: 200, else 503 with each service's state, so a load
 * balancer or an orchestrator can hold traffic back.
 */
static void
route_readyz(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_ask ask[GW_NSERVICES];
	cJSON  *d, *svcs;
	int     ready = 1;

	(void) rq;
	memset(ask, 0, sizeof(ask));
	for (int svc = GW_CLOCK; svc < GW_NSERVICES; svc++) {
		ask[svc].asked = gw_upstream_enabled(app->up, svc);
	}
	gw_ask_all(app, ask, "ping", gw_now_ms() + app->cfg->timeout_ms);
	d    = cJSON_CreateObject();
	svcs = cJSON_CreateObject();
	for (int svc = GW_CLOCK; svc < GW_NSERVICES; svc++) {
		gw_ask *a = &ask[svc];
		if (!a->asked) {
			continue;
		}
		ready = ready && a->res.status == 0;
		/* No token here: states only, not addresses or errors. */
		cJSON_AddStringToObject(svcs, gw_service_name(svc),
		    a->res.status == 0         ? "ok"
		        : a->res.status == 504 ? "timeout"
		        : a->res.status == 503 ? "unreachable"
		                               : "error");
		cJSON_Delete(a->res.data);
	}
	if (d == NULL || svcs == NULL) {
		cJSON_Delete(d);
		cJSON_Delete(svcs);
		gw_reply_error(out, 500, "out of memory");
		return;
	}
	if (!ready) {
		char *text;
		cJSON_Delete(d);
		text = cJSON_PrintUnformatted(svcs);
		gw_reply_error(out, 503, "not ready: %s",
		    text != NULL ? text : "a service does not answer");
		free(text);
		cJSON_Delete(svcs);
		return;
	}
	cJSON_AddBoolToObject(d, "ready", 1);
	cJSON_AddItemToObject(d, "services", svcs);
	gw_reply_data(out, d);
}

/* ---- matching ----------------------------------------------------- */

#define PUB GW_ROLE_PUBLIC
#define VIEW GW_ROLE_VIEWER
#define ADM GW_ROLE_ADMIN
#define CRON GW_ROLE_CRON
#define GETS "GET, HEAD"

/* The five routes of one kind of ingest item (audited as "<one>.put",
 * "<one>.delete"). */
#define INGEST_ITEMS "GET, HEAD, PUT, DELETE"
/* clang-format off */
#define INGEST_KIND(kind, one)                                               \
	{ "GET", "/api/v1/ingest/" kind, 0, 0, VIEW, NULL, "GET, HEAD, POST", \
	    gw_route_ingest_list },                                          \
	{ "POST", "/api/v1/ingest/" kind, 0, 1, ADM, one ".put",              \
	    "GET, HEAD, POST", gw_route_ingest_create },                     \
	{ "GET", "/api/v1/ingest/" kind "/{id}", 0, 0, VIEW, NULL,            \
	    INGEST_ITEMS, gw_route_ingest_get },                             \
	{ "PUT", "/api/v1/ingest/" kind "/{id}", 0, 1, ADM, one ".put",       \
	    INGEST_ITEMS, gw_route_ingest_update },                          \
	{ "DELETE", "/api/v1/ingest/" kind "/{id}", 0, 0, ADM, one ".delete", \
	    INGEST_ITEMS, gw_route_ingest_delete }
/* clang-format on */

static const gw_route routes[] = {
	/* For probes, scrapers and browsers: no token. */
	{ "GET", "/healthz", 0, 0, PUB, NULL, GETS, route_healthz },
	{ "GET", "/readyz", 0, 0, PUB, NULL, GETS, route_readyz },
	{ "GET", "/metrics", 0, 0, PUB, NULL, GETS, gw_route_metrics },
	{ "GET", "/admin/scheduler", 0, 0, PUB, NULL, GETS, gw_route_web },
	{ "GET", "/admin/scheduler/", 0, 0, PUB, NULL, GETS, gw_route_web },
	{ "GET", "/admin/scheduler/{asset}", 0, 0, PUB, NULL, GETS,
	    gw_route_web },
	{ "GET", "/api/v1/openapi.json", 0, 0, PUB, NULL, GETS,
	    gw_route_openapi },

	/* The scheduler, under both prefixes (the seeds' scripts). */
	{ "GET", "/status", 1, 0, VIEW, NULL, GETS, route_status },
	{ "GET", "/tasks", 1, 0, VIEW, NULL, GETS, route_tasks },
	{ "GET", "/next-sync-times", 1, 0, VIEW, NULL, GETS, route_next },
	{ "GET", "/history", 1, 0, VIEW, NULL, GETS, gw_route_history },
	{ "POST", "/trigger/{job}", 1, 1, ADM, "trigger", "POST",
	    gw_route_trigger },
	{ "POST", "/start", 1, 1, ADM, "start", "POST", route_start },
	{ "POST", "/stop", 1, 1, ADM, "stop", "POST", route_stop },

	/* Jobs. */
	{ "GET", "/api/v1/jobs", 0, 0, VIEW, NULL, GETS, route_tasks },
	{ "GET", "/api/v1/jobs/{job}", 0, 0, VIEW, NULL, GETS, gw_route_job },
	{ "POST", "/api/v1/jobs/{job}/trigger", 0, 1, ADM, "trigger", "POST",
	    gw_route_trigger },
	{ "POST", "/api/v1/jobs/{job}/pause", 0, 1, ADM, "pause", "POST",
	    gw_route_pause },
	{ "POST", "/api/v1/jobs/{job}/resume", 0, 1, ADM, "resume", "POST",
	    gw_route_resume },
	{ "PUT", "/api/v1/jobs/{job}/schedule", 0, 1, ADM, "schedule", "PUT",
	    gw_route_schedule },

	/* The seeds' admin and external cron endpoints. */
	{ "GET", "/api/admin/jobs", 0, 0, VIEW, NULL, "GET, HEAD, POST",
	    gw_route_admin_jobs },
	{ "POST", "/api/admin/jobs", 0, 1, ADM, "trigger", "GET, HEAD, POST",
	    gw_route_admin_trigger_alias },
	{ "GET", "/api/v1/admin/jobs", 0, 0, VIEW, NULL, "GET, HEAD, POST",
	    gw_route_admin_jobs },
	{ "POST", "/api/v1/admin/jobs", 0, 1, ADM, "trigger",
	    "GET, HEAD, POST", gw_route_admin_trigger_alias },
	{ "GET", "/api/cron/{job}", 0, 0, CRON, "cron", "GET, HEAD, POST",
	    gw_route_cron },
	{ "POST", "/api/cron/{job}", 0, 1, ADM, "cron", "GET, HEAD, POST",
	    gw_route_cron },
	{ "GET", "/api/v1/cron/{job}", 0, 0, CRON, "cron", "GET, HEAD, POST",
	    gw_route_cron },
	{ "POST", "/api/v1/cron/{job}", 0, 1, ADM, "cron", "GET, HEAD, POST",
	    gw_route_cron },

	/* Who am I, what happened, what is happening. */
	{ "GET", "/api/v1/whoami", 0, 0, VIEW, NULL, GETS, gw_route_whoami },
	{ "GET", "/api/v1/audit", 0, 0, VIEW, NULL, GETS, gw_route_audit },
	{ "GET", "/api/v1/events", 0, 0, VIEW, NULL, GETS, gw_route_events },

	/* What ingest syncs from (routes_ingest.c): list, create or
	 * update by (org, name), one by id, partial update, delete. */
	INGEST_KIND("organizations", "org"),
	INGEST_KIND("sources", "source"),
	INGEST_KIND("vendors", "vendor"),
	INGEST_KIND("stores", "store"),
	INGEST_KIND("agents", "agent"),
	/* What ingest has synced: read-only views. */
	{ "GET", "/api/v1/ingest/summary", 0, 0, VIEW, NULL, GETS,
	    gw_route_ingest_view },
	{ "GET", "/api/v1/ingest/measurements", 0, 0, VIEW, NULL, GETS,
	    gw_route_ingest_view },
	{ "GET", "/api/v1/ingest/plants", 0, 0, VIEW, NULL, GETS,
	    gw_route_ingest_view },
	{ "GET", "/api/v1/ingest/orders", 0, 0, VIEW, NULL, GETS,
	    gw_route_ingest_view },
	{ "GET", "/api/v1/ingest/carbon", 0, 0, VIEW, NULL, GETS,
	    gw_route_ingest_view },
	/* After a key rotation (CRONFLEET_SECRET_KEY_PREVIOUS). */
	{ "POST", "/api/v1/ingest/reseal", 0, 1, ADM, "ingest.reseal", "POST",
	    gw_route_ingest_reseal },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The path after a scheduler prefix, or NULL. */
static const char *
route_scope(const char *path)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(path, prefixes[i], n) == 0 && path[n] == '/') {
			return (path + n);
		}
	}
	return (NULL);
}

/*
 * 1 if path matches the pattern pat, a "{name}" segment standing for one
 * non-empty segment, copied into param when it fits (a longer one is
 * left empty: no name is that long, and the route refuses it). An
 * "{id}" segment is digits only, so /sources/summary is not an id.
 */
static int
route_path_match(
    const char *pat, const char *path, char *param, size_t paramlen)
{
	while (*pat != '\0') {
		if (*pat == '{') {
			size_t n = strcspn(path, "/");
			if (n == 0
			    || (strncmp(pat, "{id}", 4) == 0
			        && strspn(path, "0123456789") != n)) {
				return (0);
			}
			if (n < paramlen) {
				memcpy(param, path, n);
				param[n] = '\0';
			}
			pat += strcspn(pat, "}");
			pat += *pat == '}';
			path += n;
			continue;
		}
		if (*pat++ != *path++) {
			return (0);
		}
	}
	return (*path == '\0');
}

int
gw_route_match(const char *method, const char *path, const gw_route **route,
    char *param, size_t paramlen, const char **allow)
{
	const char *rest = route_scope(path);
	const char *m    = strcmp(method, "HEAD") == 0 ? "GET" : method;
	int         seen = 0;

	param[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		const gw_route *r = &routes[i];
		const char     *p = r->scoped ? rest : path;

		param[0] = '\0';
		if (p == NULL || !route_path_match(r->path, p, param, paramlen)) {
			continue;
		}
		if (strcmp(m, r->method) != 0) {
			*allow = r->allow;
			seen   = 1;
			continue;
		}
		*route = r;
		/* The seeds' names of our jobs (gw_job_alias). */
		if (strstr(r->path, "{job}") != NULL && param[0] != '\0') {
			const char *job = gw_job_alias(param);
			if (job != param && strlen(job) < paramlen) {
				memcpy(param, job, strlen(job) + 1);
			}
		}
		return (GW_MATCH_FOUND);
	}
	return (seen ? GW_MATCH_BAD_METHOD : GW_MATCH_NOT_FOUND);
}

int
gw_route_role(const gw_route *route)
{
	return (route->role);
}

const char *
gw_route_action(const gw_route *route)
{
	return (route->action);
}

int
gw_route_takes_body(const gw_route *route)
{
	return (route->body);
}

size_t
gw_routes_list(gw_route_info *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < NROUTES; i++) {
		size_t np = routes[i].scoped
		    ? sizeof(prefixes) / sizeof(prefixes[0])
		    : 1;
		for (size_t k = 0; k < np; k++, n++) {
			if (n >= max) {
				continue;
			}
			out[n].method = routes[i].method;
			out[n].role   = routes[i].role;
			snprintf(out[n].path, sizeof(out[n].path), "%s%s",
			    routes[i].scoped ? prefixes[k] : "", routes[i].path);
		}
	}
	return (n);
}

void
gw_route_run(
    gw_app *app, const gw_route *route, const gw_request *rq, gw_reply *out)
{
	memset(out, 0, sizeof(*out));
	route->fn(app, rq, out);
}
