/*
 * cf_service_sweep.c - the catch-up sweep: every fire the clock published
 * for this service ends settled (docs/guarantees.md).
 *
 * At start, then every CRONFLEET_<SVC>_SWEEP, the sweep asks the clock
 * for the published fires of this service after its watermark ("fires
 * <service> <after_seq> <min_age_ms>", leaving out those younger than
 * one sweep period so that it does not race live ticks), looks up their
 * rows in job_runs, and takes up the unsettled ones: a fire with no row
 * (the service was down, or its tick was lost), an attempt interrupted
 * by a crash or shutdown, a failed attempt whose retry never ran. Runs
 * whose process stopped (heartbeat stale) are first marked interrupted.
 * The job's misfire policy then decides, against the clock's now (which
 * may be virtual time): run (trigger catchup, the next attempt number),
 * or record skipped with the reason. For "once", the latest unsettled
 * fire in the window runs and the others are recorded "coalesced into"
 * it; a fire older than one of the job's that already ran (live, or
 * caught up by an earlier sweep) is coalesced into that one instead, so
 * that one outage gives one catch-up run however the sweeps fall.
 * Catch-up runs of a job wait for each other (and for a run in
 * progress) rather than skip each other for overlap.
 *
 * The watermark (runtime_state 'sweep_after_seq') only moves past fires
 * that are settled, so a fire that is still running, waiting or failing
 * is looked at again by the next sweep, here or in another replica.
 * Whatever two replicas' sweeps decide at once, the unique key (job,
 * fire_id, attempt) lets one row per attempt in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_log.h"
#include "cf_service_int.h"
#include "cf_service_metrics.h"

/* Fires asked for per page (the clock's default and our bound). */
#define SWEEP_PAGE 1000
/* BACKLOG items the sweep keeps held per job; more wait for later. */
#define SWEEP_HELD_MAX 1000
#define SWEEP_TIMEOUT_MS 5000

/* A fire of the page, as the sweep sees it. */
typedef struct {
	int64_t    seq;
	long       job; /* index, or -1: a job this service no longer has */
	char       fire_id[CF_PROTO_MAX_ID + 1];
	int64_t    at;
	cf_trigger trigger;
	int        settled; /* after this pass */
} sweep_fire;

/* A fire coalesced into a job's "once" candidate. */
typedef struct {
	char       fire_id[CF_PROTO_MAX_ID + 1];
	int64_t    at;
	cf_trigger trigger;
	uint32_t   attempt;
} sweep_loser;

/*
 * A job's "once" candidate: its latest unsettled fire in the window, and
 * the others it covers, recorded skipped with its name once the whole
 * backlog has been seen.
 */
typedef struct {
	sweep_loser *losers;
	size_t       nlosers, cap;
	int          set;
	char         fire_id[CF_PROTO_MAX_ID + 1];
	int64_t      at;
	cf_trigger   trigger;
	uint32_t     attempt;
	uint32_t     failures;
} sweep_candidate;

/* The latest fire of a job that ran (a "once" backlog older than it is
 * coalesced into it: that run covers it). */
typedef struct {
	char    fire_id[CF_PROTO_MAX_ID + 1];
	int64_t at; /* INT64_MIN: none */
} sweep_latest;

/*
 * A running row seen with a stale heartbeat. It is taken for a stopped
 * process's only when it is still stale, with the same heartbeat, a
 * staleness period after this sweeper first saw it: after an outage of
 * PostgreSQL every row looks stale at first, and the processes that are
 * alive need a moment to beat again.
 */
typedef struct {
	char    run_id[40];
	int64_t beat;
	int64_t seen; /* monotonic ms */
	int     mark; /* seen by the current sweep */
} sweep_stale;

typedef struct {
	sweep_stale *v;
	size_t       n, cap;
} sweep_memory;

typedef struct {
	cf_service      *svc;
	sweep_memory    *mem;
	sweep_candidate *cand;   /* per job */
	sweep_latest    *latest; /* per job */
	cf__skip        *skips;  /* their strings point into the two below */
	char (*reasons)[CF_PROTO_MAX_ID + 32];
	char (*fids)[CF_PROTO_MAX_ID + 1];
	size_t nskip;
	size_t maxskip;
} sweep_pass;

static int
sweep_stopping(cf_service *svc)
{
	int s;
	pthread_mutex_lock(&svc->mu);
	s = svc->stop;
	pthread_mutex_unlock(&svc->mu);
	return (s);
}

static int
sweep_pg(cf_service *svc, char *err, size_t errlen)
{
	if (svc->sweep_pg != NULL) {
		return (CF_OK);
	}
	return (
	    cf_pg_open(&svc->sweep_pg, svc->opts->database_url, err, errlen));
}

static int
sweep_load_watermark(cf_service *svc, int64_t *after, char *err, size_t errlen)
{
	char      sql[256];
	PGresult *res = NULL;
	int       rv;

	snprintf(sql, sizeof(sql),
	    "SELECT value FROM \"%s\".runtime_state "
	    "WHERE key = 'sweep_after_seq'",
	    svc->opts->schema);
	if ((rv = sweep_pg(svc, err, errlen)) != CF_OK
	    || (rv = cf_pg_exec(
	            svc->sweep_pg, sql, 0, NULL, &res, err, errlen))
	        != CF_OK) {
		return (rv);
	}
	*after = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
	                             : 0;
	PQclear(res);
	return (CF_OK);
}

static int
sweep_store_watermark(cf_service *svc, int64_t after, char *err, size_t errlen)
{
	char        sql[384], v[24];
	const char *p[1] = { v };

	snprintf(v, sizeof(v), "%lld", (long long) after);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO \"%s\".runtime_state (key, value) "
	    "VALUES ('sweep_after_seq', $1::bigint) ON CONFLICT (key) DO "
	    "UPDATE SET value = greatest(runtime_state.value, "
	    "excluded.value), updated_at = now()",
	    svc->opts->schema);
	return (cf_pg_exec(svc->sweep_pg, sql, 1, p, NULL, err, errlen));
}

/*
 * One page of the clock's fires. Returns CF_OK with *fires (owned),
 * *n, *more and the clock's *now; CF_ENOENT when the clock does not know
 * "fires" (from before issue 4); else the call's error.
 */
static int
sweep_ask(cf_service *svc, int64_t after, sweep_fire **fires, size_t *n,
    int *more, int64_t *now, char *err, size_t errlen)
{
	char        a0[24], a1[24];
	char       *args[2] = { a0, a1 };
	cf_command  c       = { 0 };
	cf_reply   *r       = NULL;
	cJSON      *j, *list, *it;
	sweep_fire *out;
	size_t      k = 0;
	int         rv;

	*fires = NULL;
	*n     = 0;
	snprintf(a0, sizeof(a0), "%lld", (long long) after);
	snprintf(a1, sizeof(a1), "%lld", (long long) svc->opts->sweep_ms);
	c.cmd   = "fires";
	c.job   = (char *) svc->opts->name;
	c.args  = args;
	c.nargs = 2;
	c.n     = SWEEP_PAGE;
	rv      = cf_service_call(
	         svc->sweep_req, &c, SWEEP_TIMEOUT_MS, &r, err, errlen);
	if (rv == CF_EPROTO && strstr(err, "unknown command") != NULL) {
		return (CF_ENOENT);
	}
	if (rv != CF_OK) {
		return (rv);
	}
	j = r->data != NULL ? cJSON_Parse(r->data) : NULL;
	cf_reply_free(r);
	list = cJSON_GetObjectItemCaseSensitive(j, "fires");
	if (!cJSON_IsArray(list)
	    || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "now"))) {
		cJSON_Delete(j);
		cf_errf(
		    err, errlen, "fires: the clock's reply has no fires/now");
		return (CF_EPROTO);
	}
	*now = (int64_t) cJSON_GetObjectItemCaseSensitive(j, "now")
	           ->valuedouble;
	*more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "more"));
	{
		cJSON   *ep = cJSON_GetObjectItemCaseSensitive(j, "epoch");
		uint64_t e  = cJSON_IsNumber(ep) && ep->valuedouble > 0
		     ? (uint64_t) ep->valuedouble
		     : 0;
		uint64_t newest;
		pthread_mutex_lock(&svc->mu);
		if (e > svc->epoch) {
			svc->epoch = e;
		}
		newest = svc->epoch;
		pthread_mutex_unlock(&svc->mu);
		if (e < newest) {
			/* Fencing, as for ticks: a deposed clock's word. */
			cJSON_Delete(j);
			cf_errf(err, errlen,
			    "fires: answered by clock epoch %llu, older than "
			    "%llu",
			    (unsigned long long) e,
			    (unsigned long long) newest);
			return (CF_EPROTO);
		}
	}
	out = calloc((size_t) cJSON_GetArraySize(list) + 1, sizeof(*out));
	if (out == NULL) {
		cJSON_Delete(j);
		return (CF_ENOMEM);
	}
	cJSON_ArrayForEach(it, list)
	{
		cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "seq");
		cJSON *job = cJSON_GetObjectItemCaseSensitive(it, "job");
		cJSON *fid = cJSON_GetObjectItemCaseSensitive(it, "fire_id");
		cJSON *at
		    = cJSON_GetObjectItemCaseSensitive(it, "scheduled_for");
		cJSON *tr = cJSON_GetObjectItemCaseSensitive(it, "trigger");
		if (!cJSON_IsNumber(seq) || !cJSON_IsString(job)
		    || !cJSON_IsString(fid) || !cJSON_IsNumber(at)
		    || strlen(fid->valuestring) > CF_PROTO_MAX_ID) {
			continue;
		}
		out[k].seq = (int64_t) seq->valuedouble;
		out[k].job = cf__svc_find_index(svc, job->valuestring);
		snprintf(out[k].fire_id, sizeof(out[k].fire_id), "%s",
		    fid->valuestring);
		out[k].at      = (int64_t) at->valuedouble;
		out[k].trigger = CF_TRIGGER_SCHEDULE;
		if (cJSON_IsString(tr)) {
			cf_trigger_parse(tr->valuestring, &out[k].trigger);
		}
		k++;
	}
	cJSON_Delete(j);
	*fires = out;
	*n     = k;
	return (CF_OK);
}

/* A row of the page's fires. */
typedef struct {
	char         job[CF_PROTO_MAX_NAME + 1];
	char         fire_id[CF_PROTO_MAX_ID + 1];
	char         run_id[40];
	int64_t      beat; /* its heartbeat (or start), unix microseconds */
	cf__fire_row r;
} sweep_row;

/* The rows of the page's fires, ordered by fire. */
static int
sweep_rows(cf_service *svc, const sweep_fire *f, size_t n, sweep_row **rows,
    size_t *nrows, char *err, size_t errlen)
{
	char         sql[768], stale[16], slack[16];
	char        *arr;
	const char **ids;
	const char  *p[3];
	PGresult    *res = NULL;
	int          rv;

	*rows  = NULL;
	*nrows = 0;
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		return (CF_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = f[i].fire_id;
	}
	arr = cf__svc_text_array(ids, n);
	free(ids);
	if (arr == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(stale, sizeof(stale), "%d", CF__SVC_STALE_MS);
	snprintf(slack, sizeof(slack), "%d", CF__SVC_STALE_MS);
	snprintf(sql, sizeof(sql),
	    "SELECT job, fire_id, run_id, attempt, status, final, "
	    "status = 'running' AND coalesce(heartbeat_at, started_at) > "
	    "now() - $2::int * interval '1 millisecond', "
	    "next_attempt_at IS NOT NULL AND next_attempt_at > "
	    "now() - $3::int * interval '1 millisecond', "
	    "(extract(epoch FROM coalesce(heartbeat_at, started_at)) * "
	    "1000000)::bigint "
	    "FROM \"%s\".job_runs WHERE fire_id = ANY($1::text[]) "
	    "ORDER BY job, fire_id, attempt",
	    svc->opts->schema);
	p[0] = arr;
	p[1] = stale;
	p[2] = slack;
	rv   = cf_pg_exec(svc->sweep_pg, sql, 3, p, &res, err, errlen);
	free(arr);
	if (rv != CF_OK) {
		return (rv);
	}
	*rows = calloc((size_t) PQntuples(res) + 1, sizeof(**rows));
	if (*rows == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		sweep_row *r = &(*rows)[i];
		snprintf(r->job, sizeof(r->job), "%s", PQgetvalue(res, i, 0));
		snprintf(r->fire_id, sizeof(r->fire_id), "%s",
		    PQgetvalue(res, i, 1));
		snprintf(
		    r->run_id, sizeof(r->run_id), "%s", PQgetvalue(res, i, 2));
		r->r.attempt
		    = (uint32_t) strtoul(PQgetvalue(res, i, 3), NULL, 10);
		r->r.status = cf__row_status_parse(PQgetvalue(res, i, 4));
		r->r.final  = PQgetvalue(res, i, 5)[0] == 't';
		r->r.fresh  = PQgetvalue(res, i, 6)[0] == 't';
		r->r.retry_pending = PQgetvalue(res, i, 7)[0] == 't';
		r->beat            = strtoll(PQgetvalue(res, i, 8), NULL, 10);
	}
	*nrows = (size_t) PQntuples(res);
	PQclear(res);
	return (CF_OK);
}

/*
 * 1 when every stale running row of a fire has stayed stale, unchanged,
 * for a staleness period since this sweeper first saw it; remembers the
 * rows seen for the first time.
 */
static int
sweep_stale_confirmed(sweep_memory *m, const sweep_row *rows, size_t n)
{
	int64_t now = cf__svc_mono_ms();
	int     all = 1;

	for (size_t i = 0; i < n; i++) {
		sweep_stale *e = NULL;
		if (rows[i].r.status != CF__ROW_RUNNING || rows[i].r.fresh) {
			continue;
		}
		for (size_t k = 0; k < m->n && e == NULL; k++) {
			if (strcmp(m->v[k].run_id, rows[i].run_id) == 0) {
				e = &m->v[k];
			}
		}
		if (e == NULL) {
			if (m->n == m->cap) {
				size_t       c = m->cap > 0 ? m->cap * 2 : 16;
				sweep_stale *v = realloc(m->v, c * sizeof(*v));
				if (v == NULL) {
					all = 0;
					continue;
				}
				m->v   = v;
				m->cap = c;
			}
			e = &m->v[m->n++];
			snprintf(e->run_id, sizeof(e->run_id), "%s",
			    rows[i].run_id);
			e->beat = rows[i].beat;
			e->seen = now;
		} else if (e->beat != rows[i].beat) {
			e->beat = rows[i].beat;
			e->seen = now;
		}
		e->mark = 1;
		if (now - e->seen < CF__SVC_STALE_MS) {
			all = 0;
		}
	}
	return (all);
}

/* Forgets the rows the last sweep did not see stale. */
static void
sweep_stale_prune(sweep_memory *m)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].mark) {
			m->v[i].mark = 0;
			m->v[k++]    = m->v[i];
		}
	}
	m->n = k;
}

/*
 * Marks the stale running rows of a fire interrupted (their process
 * stopped) and announces them. Returns CF_OK or the database's error.
 */
static int
sweep_interrupt(cf_service *svc, const sweep_fire *f, const sweep_row *rows,
    size_t n, char *err, size_t errlen)
{
	const char *job = svc->jobs[f->job].def->name;
	char        sql[768], stale[16], beat[24];
	const char *p[3];
	PGresult   *res = NULL;
	int         rv;

	snprintf(stale, sizeof(stale), "%d", CF__SVC_STALE_MS);
	snprintf(sql, sizeof(sql),
	    "UPDATE \"%s\".job_runs SET status = 'interrupted', final = "
	    "false, "
	    "finished_at = now(), error = 'interrupted: the process running "
	    "it stopped (no heartbeat since ' || "
	    "to_char(coalesce(heartbeat_at, started_at) AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ', owner ' || "
	    "coalesce(owner, 'unknown') || ')' "
	    "WHERE run_id = $1 AND status = 'running' AND "
	    "coalesce(heartbeat_at, started_at) < now() - $2::int * interval "
	    "'1 millisecond' AND (extract(epoch FROM coalesce(heartbeat_at, "
	    "started_at)) * 1000000)::bigint = $3::bigint RETURNING attempt, "
	    "(extract(epoch FROM started_at) * 1000)::bigint, "
	    "(extract(epoch FROM finished_at) * 1000)::bigint, error",
	    svc->opts->schema);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].r.status != CF__ROW_RUNNING || rows[i].r.fresh) {
			continue;
		}
		snprintf(beat, sizeof(beat), "%lld", (long long) rows[i].beat);
		p[0] = rows[i].run_id;
		p[1] = stale;
		p[2] = beat;
		if ((rv = cf_pg_exec(
		         svc->sweep_pg, sql, 3, p, &res, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		if (PQntuples(res) == 1) {
			cf__svc_metrics_end(svc, job, "interrupted", 0,
			    strtoll(PQgetvalue(res, 0, 1), NULL, 10),
			    strtoll(PQgetvalue(res, 0, 2), NULL, 10));
			cf__svc_publish(svc, job, f->fire_id, f->trigger,
			    f->at,
			    (uint32_t) strtoul(
			        PQgetvalue(res, 0, 0), NULL, 10),
			    rows[i].run_id, CF_RUN_INTERRUPTED,
			    strtoll(PQgetvalue(res, 0, 1), NULL, 10),
			    strtoll(PQgetvalue(res, 0, 2), NULL, 10),
			    PQgetvalue(res, 0, 3), NULL);
			cf_log_kv(CF_LOG_WARN, job, rows[i].run_id,
			    "run of a stopped process marked interrupted",
			    "fire_id", f->fire_id, "error",
			    PQgetvalue(res, 0, 3), NULL);
		}
		PQclear(res);
	}
	return (CF_OK);
}

static void
sweep_add_skip(sweep_pass *ps, long job, const char *fire_id, int64_t at,
    cf_trigger trigger, uint32_t attempt, const char *reason)
{
	cf__skip *s = &ps->skips[ps->nskip];

	if (ps->nskip == ps->maxskip) {
		return; /* not expected: sized for the page */
	}
	snprintf(ps->reasons[ps->nskip], sizeof(ps->reasons[0]), "%s", reason);
	snprintf(ps->fids[ps->nskip], sizeof(ps->fids[0]), "%s", fire_id);
	s->job           = (size_t) job;
	s->fire_id       = ps->fids[ps->nskip];
	s->scheduled_for = at;
	s->trigger       = trigger;
	s->attempt       = attempt;
	s->reason        = ps->reasons[ps->nskip];
	ps->nskip++;
}

/*
 * The latest fire that ran of each "once" job: an attempt that started
 * (running, succeeded, failed, timed_out), not one skipped or
 * interrupted.
 */
static int
sweep_latest_runs(sweep_pass *ps, size_t nj, char *err, size_t errlen)
{
	cf_service *svc = ps->svc;
	char        sql[512];
	int         rv;

	snprintf(sql, sizeof(sql),
	    "SELECT fire_id, (extract(epoch FROM scheduled_for) * "
	    "1000)::bigint "
	    "FROM \"%s\".job_runs WHERE job = $1 AND status IN ('running', "
	    "'succeeded', 'failed', 'timed_out') "
	    "ORDER BY scheduled_for DESC LIMIT 1",
	    svc->opts->schema);
	for (size_t j = 0; j < nj; j++) {
		const char *p[1] = { svc->jobs[j].def->name };
		PGresult   *res  = NULL;

		ps->latest[j].at = INT64_MIN;
		if (svc->jobs[j].pol.misfire != CF_MISFIRE_ONCE) {
			continue;
		}
		if ((rv = cf_pg_exec(
		         svc->sweep_pg, sql, 1, p, &res, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		if (PQntuples(res) == 1) {
			snprintf(ps->latest[j].fire_id,
			    sizeof(ps->latest[j].fire_id), "%s",
			    PQgetvalue(res, 0, 0));
			ps->latest[j].at
			    = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		}
		PQclear(res);
	}
	return (CF_OK);
}

/* Adds a fire to those coalesced into c (out of memory: it stays
 * unsettled, and the next sweep coalesces it into c's run). */
static void
sweep_lose(sweep_candidate *c, const char *fire_id, int64_t at,
    cf_trigger trigger, uint32_t attempt)
{
	sweep_loser *l;

	if (c->nlosers == c->cap) {
		size_t       n = c->cap > 0 ? c->cap * 2 : 16;
		sweep_loser *a = realloc(c->losers, n * sizeof(*a));
		if (a == NULL) {
			return;
		}
		c->losers = a;
		c->cap    = n;
	}
	l = &c->losers[c->nlosers++];
	snprintf(l->fire_id, sizeof(l->fire_id), "%s", fire_id);
	l->at      = at;
	l->trigger = trigger;
	l->attempt = attempt;
}

/* Records a candidate's losers skipped, "coalesced into <winner>". */
static int
sweep_coalesce(cf_service *svc, size_t job, const sweep_candidate *c,
    char *err, size_t errlen)
{
	cf__skip *sk;
	char      reason[CF_PROTO_MAX_ID + 32];
	int       rv;

	if (c->nlosers == 0) {
		return (CF_OK);
	}
	if ((sk = calloc(c->nlosers, sizeof(*sk))) == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(reason, sizeof(reason), "coalesced into %s", c->fire_id);
	for (size_t i = 0; i < c->nlosers; i++) {
		sk[i].job           = job;
		sk[i].fire_id       = c->losers[i].fire_id;
		sk[i].scheduled_for = c->losers[i].at;
		sk[i].trigger       = c->losers[i].trigger;
		sk[i].attempt       = c->losers[i].attempt;
		sk[i].reason        = reason;
	}
	rv = cf__svc_skip(svc, &svc->sweep_pg, sk, c->nlosers, err, errlen);
	free(sk);
	return (rv);
}

/* Hands a fire over to run (trigger catchup). 0, or -1 if not now. */
static int
sweep_run(cf_service *svc, long job, const char *fire_id, int64_t at,
    uint32_t attempt, uint32_t failures)
{
	cf__item *it;
	int       rv = -1;

	pthread_mutex_lock(&svc->mu);
	if (!svc->stop && svc->jobs[job].nheld < SWEEP_HELD_MAX
	    && !cf__svc_pending(svc, svc->jobs[job].def->name, fire_id)) {
		it = cf__item_new(svc, (size_t) job, fire_id, at,
		    CF_TRIGGER_CATCHUP, attempt, failures, CF__ITEM_BACKLOG);
		if (it != NULL) {
			cf__svc_enqueue_backlog(svc, it);
			rv = 0;
		}
	}
	pthread_mutex_unlock(&svc->mu);
	if (rv == 0) {
		cf_log_kv(CF_LOG_INFO, svc->jobs[job].def->name, NULL,
		    "missed fire caught up", "fire_id", fire_id, NULL);
	}
	return (rv);
}

/*
 * One page: classify each fire, apply the misfire policies, record the
 * skips. Sets each fire's settled flag for the watermark. Returns CF_OK
 * or the database's error.
 */
static int
sweep_page(sweep_pass *ps, sweep_fire *f, size_t n, int64_t now, char *err,
    size_t errlen)
{
	cf_service   *svc   = ps->svc;
	sweep_row    *rows  = NULL;
	cf__fire_row *fr    = NULL;
	size_t        nrows = 0, r = 0;
	int           rv;

	if (n > ps->maxskip) {
		/* A page longer than asked for: room for a skip per fire. */
		free(ps->skips);
		free(ps->reasons);
		free(ps->fids);
		ps->skips   = calloc(n, sizeof(*ps->skips));
		ps->reasons = calloc(n, sizeof(*ps->reasons));
		ps->fids    = calloc(n, sizeof(*ps->fids));
		ps->maxskip = n;
		if (ps->skips == NULL || ps->reasons == NULL
		    || ps->fids == NULL) {
			ps->maxskip = 0;
			return (CF_ENOMEM);
		}
	}
	if ((rv = sweep_rows(svc, f, n, &rows, &nrows, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	ps->nskip = 0;
	if ((fr = calloc(nrows + 1, sizeof(*fr))) == NULL) {
		free(rows);
		return (CF_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		size_t          nfr = 0, first;
		uint32_t        next, failures;
		int             pending;
		cf__fire_class  cls;
		cf__misfire_act act;
		const char     *job;

		f[i].settled = 0;
		if (f[i].job < 0) {
			/* A job this service no longer declares. */
			f[i].settled = 1;
			continue;
		}
		job = svc->jobs[f[i].job].def->name;
		/* rows is ordered by (job, fire_id); the page is not. */
		for (r = 0; r < nrows; r++) {
			if (strcmp(rows[r].fire_id, f[i].fire_id) == 0
			    && strcmp(rows[r].job, job) == 0) {
				break;
			}
		}
		first = r;
		for (; r < nrows && strcmp(rows[r].fire_id, f[i].fire_id) == 0
		     && strcmp(rows[r].job, job) == 0;
		     r++) {
			fr[nfr++] = rows[r].r;
		}
		pthread_mutex_lock(&svc->mu);
		pending = cf__svc_pending(svc, job, f[i].fire_id);
		pthread_mutex_unlock(&svc->mu);
		cls = cf__fire_classify(fr, nfr, pending, &next, &failures);
		if (cls == CF__FIRE_SETTLED) {
			f[i].settled = 1;
			continue;
		}
		if (cls == CF__FIRE_BUSY) {
			continue;
		}
		if (cls == CF__FIRE_STALE
		    && !sweep_stale_confirmed(ps->mem, &rows[first], nfr)) {
			continue; /* the next sweep looks again */
		}
		if (cls == CF__FIRE_STALE
		    && (rv = sweep_interrupt(
		            svc, &f[i], &rows[first], nfr, err, errlen))
		        != CF_OK) {
			break;
		}
		act = cf__misfire_decide(
		    &svc->jobs[f[i].job].pol, now, f[i].at);
		switch (act) {
		case CF__MISFIRE_SKIP_WINDOW:
			sweep_add_skip(ps, f[i].job, f[i].fire_id, f[i].at,
			    f[i].trigger, next,
			    "missed: outside the catch-up window");
			f[i].settled = 1;
			break;
		case CF__MISFIRE_SKIP_POLICY:
			sweep_add_skip(ps, f[i].job, f[i].fire_id, f[i].at,
			    f[i].trigger, next,
			    "missed (misfire policy skip)");
			f[i].settled = 1;
			break;
		case CF__MISFIRE_RUN:
			sweep_run(svc, f[i].job, f[i].fire_id, f[i].at, next,
			    failures);
			break;
		case CF__MISFIRE_CANDIDATE: {
			/* misfire once: the latest fire wins, the others are
			 * coalesced into it. */
			sweep_candidate *c = &ps->cand[f[i].job];
			sweep_latest    *l = &ps->latest[f[i].job];
			char             reason[CF_PROTO_MAX_ID + 32];
			if (f[i].at < l->at) {
				/* A later fire ran since: it covers this one.
				 */
				snprintf(reason, sizeof(reason),
				    "coalesced into %s", l->fire_id);
				sweep_add_skip(ps, f[i].job, f[i].fire_id,
				    f[i].at, f[i].trigger, next, reason);
				f[i].settled = 1;
				break;
			}
			if (c->set && f[i].at < c->at) {
				sweep_lose(c, f[i].fire_id, f[i].at,
				    f[i].trigger, next);
				break;
			}
			if (c->set) {
				sweep_lose(c, c->fire_id, c->at, c->trigger,
				    c->attempt);
			}
			c->set = 1;
			snprintf(c->fire_id, sizeof(c->fire_id), "%s",
			    f[i].fire_id);
			c->at       = f[i].at;
			c->trigger  = f[i].trigger;
			c->attempt  = next;
			c->failures = failures;
			break;
		}
		}
	}
	free(rows);
	free(fr);
	if (rv == CF_OK && ps->nskip > 0) {
		rv = cf__svc_skip(
		    svc, &svc->sweep_pg, ps->skips, ps->nskip, err, errlen);
	}
	if (rv != CF_OK) {
		for (size_t i = 0; i < n; i++) {
			f[i].settled = f[i].job < 0;
		}
	}
	return (rv);
}

/*
 * Successes the clock was not told of (chained false) a sweep period
 * after they ended: the process that ran them died first, or the clock
 * asked to be asked again. Queued for the chain thread.
 */
static int
sweep_unchained(cf_service *svc, char *err, size_t errlen)
{
	char        sql[512], age[24];
	const char *p[1] = { age };
	PGresult   *res  = NULL;
	int         rv, n = 0;

	snprintf(age, sizeof(age), "%lld", (long long) svc->opts->sweep_ms);
	snprintf(sql, sizeof(sql),
	    "SELECT job, fire_id, "
	    "(extract(epoch FROM scheduled_for) * 1000)::bigint "
	    "FROM \"%s\".job_runs WHERE status = 'succeeded' AND NOT chained "
	    "AND finished_at < now() - $1::bigint * interval '1 millisecond' "
	    "ORDER BY finished_at LIMIT 1000",
	    svc->opts->schema);
	if ((rv = cf_pg_exec(svc->sweep_pg, sql, 1, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	pthread_mutex_lock(&svc->mu);
	for (int i = 0; i < PQntuples(res); i++) {
		long j = cf__svc_find_index(svc, PQgetvalue(res, i, 0));
		if (j >= 0
		    && cf__svc_chain_enqueue(svc, (size_t) j,
		           PQgetvalue(res, i, 1),
		           strtoll(PQgetvalue(res, i, 2), NULL, 10))
		        == CF_OK) {
			n++;
		}
	}
	pthread_mutex_unlock(&svc->mu);
	if (n > 0) {
		char k[16];
		snprintf(k, sizeof(k), "%d", n);
		cf_log_kv(CF_LOG_INFO, NULL, NULL,
		    "successes not yet told to the clock: chains sent again",
		    "runs", k, NULL);
	}
	PQclear(res);
	return (CF_OK);
}

/* One whole sweep. Returns CF_OK, CF_ENOENT (no "fires") or an error. */
static int
sweep_once(cf_service *svc, sweep_memory *mem, char *err, size_t errlen)
{
	sweep_pass ps    = { 0 };
	int64_t    after = 0, mark, now = 0;
	int        more = 1, blocked = 0, rv;
	size_t     nj;

	pthread_mutex_lock(&svc->mu);
	nj = svc->njobs;
	pthread_mutex_unlock(&svc->mu);
	ps.mem    = mem;
	ps.svc    = svc;
	ps.cand   = calloc(nj + 1, sizeof(*ps.cand));
	ps.latest = calloc(nj + 1, sizeof(*ps.latest));
	/* A skip per fire of a page at most. */
	ps.maxskip = SWEEP_PAGE;
	ps.skips   = calloc(ps.maxskip, sizeof(*ps.skips));
	ps.reasons = calloc(ps.maxskip, sizeof(*ps.reasons));
	ps.fids    = calloc(ps.maxskip, sizeof(*ps.fids));
	if (ps.cand == NULL || ps.latest == NULL || ps.skips == NULL
	    || ps.reasons == NULL || ps.fids == NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	if ((rv = sweep_load_watermark(svc, &after, err, errlen)) != CF_OK
	    || (rv = sweep_unchained(svc, err, errlen)) != CF_OK
	    || (rv = sweep_latest_runs(&ps, nj, err, errlen)) != CF_OK) {
		goto out;
	}
	mark = after;
	while (more && !sweep_stopping(svc)) {
		sweep_fire *f = NULL;
		size_t      n = 0;

		rv = sweep_ask(svc, after, &f, &n, &more, &now, err, errlen);
		if (rv != CF_OK) {
			goto out;
		}
		if (n == 0) {
			free(f);
			break;
		}
		rv = sweep_page(&ps, f, n, now, err, errlen);
		for (size_t i = 0; i < n && !blocked; i++) {
			if (f[i].settled) {
				mark = f[i].seq;
			} else {
				blocked = 1;
			}
		}
		after = f[n - 1].seq;
		free(f);
		if (rv != CF_OK) {
			goto out;
		}
	}
	/* The latest unsettled fire in the window of each "once" job runs;
	 * the others are recorded coalesced into it. */
	for (size_t j = 0; j < nj; j++) {
		if (ps.cand[j].set) {
			if ((rv = sweep_coalesce(
			         svc, j, &ps.cand[j], err, errlen))
			    != CF_OK) {
				goto out;
			}
			sweep_run(svc, (long) j, ps.cand[j].fire_id,
			    ps.cand[j].at, ps.cand[j].attempt,
			    ps.cand[j].failures);
		}
	}
	pthread_mutex_lock(&svc->mu);
	/* A held fire whose job was busy in another replica: try again. */
	cf__svc_kick_all(svc);
	pthread_mutex_unlock(&svc->mu);
	sweep_stale_prune(mem);
	if (mark > 0) {
		rv = sweep_store_watermark(svc, mark, err, errlen);
	}
	pthread_mutex_lock(&svc->mu);
	if (mark > svc->sweep_after) {
		svc->sweep_after = mark;
	}
	pthread_mutex_unlock(&svc->mu);
out:
	for (size_t j = 0; ps.cand != NULL && j < nj; j++) {
		free(ps.cand[j].losers);
	}
	free(ps.cand);
	free(ps.latest);
	free(ps.skips);
	free(ps.reasons);
	free(ps.fids);
	return (rv);
}

void *
cf__svc_sweep_main(void *arg)
{
	cf_service  *svc      = arg;
	unsigned     failures = 0;
	sweep_memory mem      = { 0 };

	pthread_mutex_lock(&svc->mu);
	while (!svc->stop) {
		char            err[512] = "";
		int64_t         until;
		struct timespec ts;
		int             rv;

		pthread_mutex_unlock(&svc->mu);
		rv = sweep_once(svc, &mem, err, sizeof(err));
		pthread_mutex_lock(&svc->mu);
		if (rv == CF_OK) {
			svc->sweep_last_at  = cf__svc_now_ms();
			svc->sweep_error[0] = '\0';
			svc->sweep_off      = 0;
			failures            = 0;
		} else if (rv == CF_ENOENT) {
			if (!svc->sweep_off) {
				cf_log_kv(CF_LOG_WARN, NULL, NULL,
				    "the clock does not answer 'fires': "
				    "missed "
				    "fires are not caught up",
				    "error", err, NULL);
			}
			svc->sweep_off = 1;
		} else {
			snprintf(svc->sweep_error, sizeof(svc->sweep_error),
			    "%.200s", err);
			/* Said once, then now and then. */
			if (failures++ % 30 == 0) {
				cf_log_kv(CF_LOG_WARN, NULL, NULL,
				    "catch-up sweep failed; trying again",
				    "error", err, NULL);
			}
		}
		until      = cf__svc_now_ms() + svc->opts->sweep_ms;
		ts.tv_sec  = (time_t) (until / 1000);
		ts.tv_nsec = (long) (until % 1000) * 1000000L;
		while (!svc->stop && cf__svc_now_ms() < until) {
			pthread_cond_timedwait(&svc->reg_cv, &svc->mu, &ts);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	free(mem.v);
	return (NULL);
}
