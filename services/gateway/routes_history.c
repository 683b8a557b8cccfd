/*
 * routes_history.c - GET /api/v1/scheduler/history: runs from the
 * services that own them, merged with the fires the clock skipped (which
 * have no run), newest first, filtered (job, status, since) and paged.
 *
 * Paging over several sources. Every entry has one place in a single
 * order, by the key (t, source, id) descending: t is when the entry
 * began, in microseconds on the database's clock (a run's started_at, a
 * skipped fire's recorded_at), source is the name of the service that
 * answered ("clock" for skipped fires) and id the run_id (byte order)
 * or the ledger's seq. A page's next_before is the key of its last
 * entry. For the next page each source is asked for its entries after
 * that key, said in its own cursor ("<t>:<run_id>", "<t>:<seq>"; see
 * source_before), and answers in that same order, so the merged walk
 * meets every entry once, even when entries share a microsecond.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_proto.h"
#include "cf_time.h"
#include "gateway.h"

/* The history length when none is asked, and the most (COMMANDS.md). */
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

/* job_runs.status: what ?status= accepts. */
static const char *const run_statuses[] = { "running", "succeeded", "failed",
	"skipped", "timed_out", "interrupted" };

/* A place in the merged order (see the top of this file). */
typedef struct hist_key {
	int64_t t;   /* µs since the epoch */
	int     src; /* enum gw_service of the source */
	char    id[CF_PROTO_MAX_ID + 1];
} hist_key;

/* What a request asks for. */
typedef struct hist_filter {
	const char *job;    /* NULL: every job */
	const char *owner;  /* the job's service, when known; or NULL */
	const char *status; /* NULL: any */
	int64_t     since;  /* ms; INT64_MIN: none */
	int         has_before;
	hist_key    before;
	int         limit;
} hist_filter;

/* One source's request and answer, asked on its own thread. */
typedef struct hist_src {
	gw_app     *app;
	int         svc;
	const char *job;
	int         n;
	char        argv[3][CF_PROTO_MAX_ID + 48];
	const char *args[3];
	size_t      nargs;
	int64_t     deadline;
	int         asked;
	int         threaded;
	pthread_t   thr;
	gw_result   res;
} hist_src;

/* An entry of the merged page and its key. */
typedef struct hist_item {
	hist_key key;
	cJSON   *e;
} hist_item;

/*
 * Orders keys newest first. Within one source the id's order is that
 * source's own: byte order of run_ids (the services sort with COLLATE
 * "C"), numeric order of the clock's seq.
 */
static int
hist_key_cmp(const hist_key *a, const hist_key *b)
{
	int c;

	if (a->t != b->t) {
		return (a->t > b->t ? -1 : 1);
	}
	if ((c = strcmp(gw_service_name(a->src), gw_service_name(b->src)))
	    != 0) {
		return (c > 0 ? -1 : 1);
	}
	if (a->src == GW_CLOCK) {
		int64_t x = strtoll(a->id, NULL, 10);
		int64_t y = strtoll(b->id, NULL, 10);
		return (x > y ? -1 : x < y ? 1 : 0);
	}
	c = strcmp(a->id, b->id);
	return (c > 0 ? -1 : c < 0 ? 1 : 0);
}

static int
hist_item_cmp(const void *a, const void *b)
{
	return (hist_key_cmp(
	    &((const hist_item *) a)->key, &((const hist_item *) b)->key));
}

/* The page cursor a client gets: "<t>:<source>:<id>". */
static void
hist_key_format(const hist_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lld:%s:%s", (long long) k->t,
	    gw_service_name(k->src), k->id);
}

/* Reads a client's cursor; 0, or -1 when it is not one. */
static int
hist_key_parse(const char *s, hist_key *k)
{
	const char *c1 = strchr(s, ':');
	const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	char        name[16];

	if (c2 == NULL || !cf_digits(s, (size_t) (c1 - s))
	    || (size_t) (c2 - c1 - 1) >= sizeof(name)
	    || strlen(c2 + 1) > CF_PROTO_MAX_ID) {
		return (-1);
	}
	snprintf(name, sizeof(name), "%.*s", (int) (c2 - c1 - 1), c1 + 1);
	if ((k->src = gw_service_find(name)) < 0) {
		return (-1);
	}
	if (k->src == GW_CLOCK ? !cf_digits(c2 + 1, strlen(c2 + 1))
	                       : c2[1] == '\0') {
		return (-1);
	}
	k->t = strtoll(s, NULL, 10);
	snprintf(k->id, sizeof(k->id), "%s", c2 + 1);
	return (0);
}

/*
 * The key of an entry from source src: its "cursor" ("<t>:<id>") as the
 * source gave it, or, from a source that gives none, its time (ms) and
 * run_id or seq. 0, or -1 when the entry has neither.
 */
static int
hist_key_of(const cJSON *e, int src, hist_key *k)
{
	const char *cur = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(e, "cursor"));
	const char  *colon, *at, *id;
	const cJSON *seq;
	int64_t      ms;

	memset(k, 0, sizeof(*k));
	k->src = src;
	if (cur != NULL && (colon = strchr(cur, ':')) != NULL
	    && cf_digits(cur, (size_t) (colon - cur))) {
		k->t = strtoll(cur, NULL, 10);
		snprintf(k->id, sizeof(k->id), "%s", colon + 1);
		return (0);
	}
	at = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    e, src == GW_CLOCK ? "recorded_at" : "started_at"));
	if (at == NULL || cf_rfc3339_parse(at, &ms) != 0) {
		return (-1);
	}
	k->t = ms * 1000;
	if (src == GW_CLOCK) {
		seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
		snprintf(k->id, sizeof(k->id), "%lld",
		    cJSON_IsNumber(seq) ? (long long) seq->valuedouble : 0LL);
	} else {
		id = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "run_id"));
		snprintf(k->id, sizeof(k->id), "%s", id != NULL ? id : "");
	}
	return (0);
}

/*
 * Source svc's own cursor for "after key k" in the merged order. Its
 * entries at k's microsecond come before k when its name sorts after
 * k's source (none of them is wanted: "<t>:" means strictly before t),
 * after k when its name sorts before (all are wanted: strictly before
 * t + 1), and by id when it is k's source.
 */
static void
source_before(int svc, const hist_key *k, char *buf, size_t len)
{
	int         c = strcmp(gw_service_name(svc), gw_service_name(k->src));
	const char *none = svc == GW_CLOCK ? "0" : "";

	if (c == 0) {
		snprintf(buf, len, "before=%lld:%s", (long long) k->t, k->id);
	} else {
		snprintf(buf, len, "before=%lld:%s",
		    (long long) (c < 0 ? k->t + 1 : k->t), none);
	}
}

static void *
source_run(void *arg)
{
	hist_src *s = arg;

	gw_upstream_call_args(s->app->up, s->svc, "history", s->job, s->n,
	    s->args, s->nargs, s->deadline, &s->res);
	return (NULL);
}

/* Fills source s for f: its arguments; the clock's only skipped fires. */
static void
source_prepare(
    hist_src *s, gw_app *app, int svc, const hist_filter *f, int64_t deadline)
{
	memset(s, 0, sizeof(*s));
	s->app      = app;
	s->svc      = svc;
	s->job      = f->job;
	s->n        = f->limit;
	s->deadline = deadline;
	s->asked    = 1;
	if (svc == GW_CLOCK) {
		snprintf(s->argv[s->nargs++], sizeof(s->argv[0]),
		    "outcome=skipped");
	} else if (f->status != NULL) {
		snprintf(s->argv[s->nargs++], sizeof(s->argv[0]), "status=%s",
		    f->status);
	}
	if (f->since != INT64_MIN) {
		snprintf(s->argv[s->nargs++], sizeof(s->argv[0]), "since=%lld",
		    (long long) f->since);
	}
	if (f->has_before) {
		source_before(
		    svc, &f->before, s->argv[s->nargs++], sizeof(s->argv[0]));
	}
	for (size_t i = 0; i < s->nargs; i++) {
		s->args[i] = s->argv[i];
	}
}

/*
 * A skipped fire from the clock's ledger as a run: status "skipped", the
 * reason as its error, "source":"clock", no run_id; "service" the job's
 * owner. NULL if it is not a skipped fire (or out of memory).
 */
static cJSON *
skipped_as_run(const cJSON *f, const char *job)
{
	static const char *const copied[]
	    = { "fire_id", "trigger", "scheduled_for", "recorded_at" };
	static const char *const nulls[] = { "run_id", "attempt", "started_at",
		"finished_at", "result", "next_attempt_at", "owner" };
	const char              *outcome = cJSON_GetStringValue(
	                 cJSON_GetObjectItemCaseSensitive(f, "outcome"));
	const char *fjob
	    = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "job"));
	const cJSON *v;
	cJSON       *e;

	if (outcome == NULL || strcmp(outcome, "skipped") != 0
	    || (job != NULL && fjob != NULL && strcmp(job, fjob) != 0)
	    || (fjob == NULL && job == NULL)
	    || (e = cJSON_CreateObject()) == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		cJSON_AddNullToObject(e, nulls[i]);
	}
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(f, copied[i]);
		cJSON_AddItemToObject(e, copied[i],
		    v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	}
	cJSON_AddStringToObject(e, "job", fjob != NULL ? fjob : job);
	cJSON_AddStringToObject(e, "status", "skipped");
	v = cJSON_GetObjectItemCaseSensitive(f, "reason");
	cJSON_AddItemToObject(e, "error",
	    v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	cJSON_AddTrueToObject(e, "final");
	v = cJSON_GetObjectItemCaseSensitive(f, "service");
	cJSON_AddItemToObject(e, "service",
	    cJSON_IsString(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
	cJSON_AddStringToObject(e, "source", "clock");
	return (e);
}

/*
 * Takes the entries of every source that answered into one array,
 * newest first, keeping f->limit; *more is set when entries are left
 * after them (a source had as many as asked, or some were cut), and
 * *last is the key of the last one kept. Returns the array, or NULL
 * when out of memory.
 */
static cJSON *
history_merge(
    hist_src *src, int nsrc, const hist_filter *f, int *more, hist_key *last)
{
	hist_item *items;
	cJSON     *page, *e;
	size_t     n = 0, cap = 0;

	*more = 0;
	for (int i = 0; i < nsrc; i++) {
		if (src[i].asked && src[i].res.status == 0) {
			int k = cJSON_GetArraySize(src[i].res.data);
			cap += (size_t) k;
			*more |= k >= f->limit;
		}
	}
	if ((items = calloc(cap > 0 ? cap : 1, sizeof(*items))) == NULL) {
		return (NULL);
	}
	for (int i = 0; i < nsrc; i++) {
		if (!src[i].asked || src[i].res.status != 0
		    || !cJSON_IsArray(src[i].res.data)) {
			continue;
		}
		cJSON_ArrayForEach(e, src[i].res.data)
		{
			hist_item *it = &items[n];
			cJSON     *run;

			if (n == cap || hist_key_of(e, src[i].svc, &it->key)) {
				continue;
			}
			if (src[i].svc == GW_CLOCK) {
				run = skipped_as_run(e, f->job);
			} else {
				run = cJSON_Duplicate(e, 1);
				if (run != NULL) {
					cJSON_DeleteItemFromObjectCaseSensitive(
					    run, "cursor");
					cJSON_AddStringToObject(run, "service",
					    gw_service_name(src[i].svc));
				}
			}
			if (run != NULL) {
				it->e = run;
				n++;
			}
		}
	}
	qsort(items, n, sizeof(*items), hist_item_cmp);
	page = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		if (page != NULL && i < (size_t) f->limit) {
			cJSON_AddItemToArray(page, items[i].e);
			*last = items[i].key;
		} else {
			cJSON_Delete(items[i].e);
		}
	}
	*more |= n > (size_t) f->limit;
	free(items);
	return (page);
}

/*
 * One page of f: asks the sources at once (the job's owner, or every
 * queried service; and the clock for skipped fires unless the status
 * rules them out) and merges them. Returns the page with *more, *last
 * and *incomplete ({source: why} for the sources that did not answer,
 * or NULL); or NULL with out filled in: the clock's jobs or the job's
 * owner failing (with a job), or every service failing (without).
 */
static cJSON *
history_page(gw_app *app, const hist_filter *f, int64_t deadline, int *more,
    hist_key *last, cJSON **incomplete, gw_reply *out)
{
	hist_src    src[GW_NSERVICES];
	gw_result   jobs  = { 0 };
	const char *owner = f->owner;
	cJSON      *page;
	int         owner_svc = -1, answered = 0, first_failed = -1;

	*incomplete = NULL;
	memset(src, 0, sizeof(src));
	if (f->job != NULL && owner == NULL) {
		/* The clock's jobs say who owns the job: the gateway
		 * needs no table of its own. */
		if (gw_upstream_call(
		        app->up, GW_CLOCK, "jobs", NULL, 0, deadline, &jobs)) {
			gw_reply_result(out, &jobs);
			return (NULL);
		}
		owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    gw_jobs_find(jobs.data, f->job), "service"));
		if (owner == NULL) {
			cJSON_Delete(jobs.data);
			gw_reply_error(out, 404, "unknown job '%s'", f->job);
			return (NULL);
		}
	}
	if (owner != NULL
	    && (owner_svc = gw_service_find(owner)) <= GW_CLOCK) {
		char safe[80];
		gw_reply_error(out, 502,
		    "job '%s' belongs to '%s', which the gateway does not "
		    "know",
		    f->job, gw_echo_safe(safe, sizeof(safe), owner));
		cJSON_Delete(jobs.data);
		return (NULL);
	}
	cJSON_Delete(jobs.data);

	for (int svc = GW_CLOCK + 1; svc < GW_NSERVICES; svc++) {
		if (owner_svc >= 0 ? svc == owner_svc
		                   : gw_upstream_enabled(app->up, svc)) {
			source_prepare(&src[svc], app, svc, f, deadline);
		}
	}
	/*
	 * Fires the clock did not publish (paused, stopped, missed, DST gap)
	 * have no run at the owner; the clock's ledger has them with their
	 * reason. Without them the history would just show a hole.
	 */
	if (f->status == NULL || strcmp(f->status, "skipped") == 0) {
		source_prepare(&src[GW_CLOCK], app, GW_CLOCK, f, deadline);
	}
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		if (src[svc].asked) {
			src[svc].threaded = pthread_create(&src[svc].thr, NULL,
			                        source_run, &src[svc])
			    == 0;
			if (!src[svc].threaded) {
				source_run(&src[svc]);
			}
		}
	}
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		if (src[svc].threaded) {
			pthread_join(src[svc].thr, NULL);
		}
	}

	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		if (!src[svc].asked) {
			continue;
		}
		if (src[svc].res.status == 0) {
			answered += svc != GW_CLOCK;
			continue;
		}
		if (svc != GW_CLOCK && first_failed < 0) {
			first_failed = svc;
		}
		if (*incomplete == NULL) {
			*incomplete = cJSON_CreateObject();
		}
		cJSON_AddStringToObject(
		    *incomplete, gw_service_name(svc), src[svc].res.error);
	}
	/* With a job its owner must answer; without, one service at
	 * least (the others are named in "incomplete"). */
	if (first_failed >= 0 && (owner_svc >= 0 || answered == 0)) {
		gw_reply_result(out, &src[first_failed].res);
		page = NULL;
	} else if ((page = history_merge(src, GW_NSERVICES, f, more, last))
	    == NULL) {
		gw_reply_error(out, 500, "out of memory");
	}
	if (page == NULL) {
		cJSON_Delete(*incomplete);
		*incomplete = NULL;
	}
	for (int svc = 0; svc < GW_NSERVICES; svc++) {
		cJSON_Delete(src[svc].res.data);
	}
	return (page);
}

/* Reads the request's filters; 0, or 400 with out filled in. */
static int
history_filter(const gw_request *rq, hist_filter *f, gw_reply *out)
{
	const char *status = rq->query(rq->conn, "status");
	const char *since  = rq->query(rq->conn, "since");
	const char *before = rq->query(rq->conn, "before");
	char        safe[80];

	memset(f, 0, sizeof(*f));
	f->since = INT64_MIN;
	f->job   = rq->query(rq->conn, "job");
	if (f->job != NULL && !gw_job_valid(f->job, out)) {
		return (400);
	}
	if (status != NULL) {
		for (size_t i = 0;
		     i < sizeof(run_statuses) / sizeof(run_statuses[0]); i++) {
			if (strcmp(status, run_statuses[i]) == 0) {
				f->status = run_statuses[i];
			}
		}
		if (f->status == NULL) {
			gw_reply_error(out, 400,
			    "query 'status': '%s' is not one of running, "
			    "succeeded, failed, skipped, timed_out, "
			    "interrupted",
			    gw_echo_safe(safe, sizeof(safe), status));
			return (400);
		}
	}
	if (since != NULL && cf_rfc3339_parse(since, &f->since) != 0) {
		gw_reply_error(out, 400,
		    "query 'since': '%s' is not an RFC 3339 time (such as "
		    "2026-01-31T08:00:00Z)",
		    gw_echo_safe(safe, sizeof(safe), since));
		return (400);
	}
	if (before != NULL) {
		if (hist_key_parse(before, &f->before) != 0) {
			gw_reply_error(out, 400,
			    "query 'before': '%s' is not a cursor (give "
			    "page.next_before of the previous page)",
			    gw_echo_safe(safe, sizeof(safe), before));
			return (400);
		}
		f->has_before = 1;
	}
	return (gw_query_int(
	    rq, "limit", HISTORY_DEFAULT, HISTORY_MAX, &f->limit, out));
}

/*
 * GET /api/v1/scheduler/history?job=&status=&since=&before=&limit=:
 * {"success":true,"data":[run + "service"],"page":{"limit",
 * "next_before":cursor|null}} and, when a source did not answer,
 * "page"."incomplete":{source: why}.
 */
void
gw_route_history(gw_app *app, const gw_request *rq, gw_reply *out)
{
	hist_filter f;
	hist_key    last;
	cJSON      *page, *o, *p, *incomplete;
	char        cursor[64 + CF_PROTO_MAX_ID];
	int         more = 0;

	if (history_filter(rq, &f, out) != 0) {
		return;
	}
	page = history_page(app, &f, gw_now_ms() + app->cfg->timeout_ms, &more,
	    &last, &incomplete, out);
	if (page == NULL) {
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "success");
	more = more && cJSON_GetArraySize(page) > 0;
	cJSON_AddItemToObject(o, "data", page);
	p = cJSON_AddObjectToObject(o, "page");
	cJSON_AddNumberToObject(p, "limit", f.limit);
	if (more) {
		hist_key_format(&last, cursor, sizeof(cursor));
		cJSON_AddStringToObject(p, "next_before", cursor);
	} else {
		cJSON_AddNullToObject(p, "next_before");
	}
	if (incomplete != NULL) {
		cJSON_AddItemToObject(p, "incomplete", incomplete);
	}
	gw_reply_json(out, 200, o);
}

cJSON *
gw_history_fetch(gw_app *app, const char *job, const char *owner, int limit,
    int64_t deadline, gw_reply *out)
{
	hist_filter f;
	hist_key    last;
	cJSON      *page, *incomplete;
	int         more;

	memset(&f, 0, sizeof(f));
	f.job   = job;
	f.owner = owner;
	f.since = INT64_MIN;
	f.limit = limit;
	page = history_page(app, &f, deadline, &more, &last, &incomplete, out);
	cJSON_Delete(incomplete);
	return (page);
}
