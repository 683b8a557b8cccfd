/*
 * cf_service_run.c - what happens to a fire inside a service: the queues
 * it waits in, the claim that decides whether it runs, the run, the
 * record of its end, its retries and the chain to dependent jobs; and
 * the monitor thread that keeps running rows' heartbeats fresh and
 * cancels runs past their timeout. See docs/guarantees.md.
 *
 * A fire travels as a cf__item. Ticks go straight to the workers' ready
 * queue and obey the job's overlap policy when claimed. Everything else
 * (a retry, a fire the sweep catches up, a catch-up tick of the clock,
 * a queue_one tick that took the job's queue slot) is "backlog": it
 * waits in the job's held list until no run of the job is in progress
 * here, so that catching up a backlog never skips its own fires for
 * overlap; when the claim finds the job busy in another replica, it
 * waits again and the monitor retries it every second. A retry first
 * waits in the delayed list until its backoff has passed.
 *
 * The row in job_runs is the claim (the plpgsql claim_run of
 * db/runtime/002): it is inserted before the job runs, under a per-job
 * lock that also decides overlap, and an attempt whose row exists does
 * nothing at all. The end of an attempt is recorded by an UPDATE that
 * only touches a row still 'running': the worker (the job returned) and
 * the monitor (the job passed its timeout) may race to record it, and
 * exactly one wins; only the winner publishes, schedules the retry and
 * frees the job for its held fires.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cf_log.h"
#include "cf_service_int.h"
#include "cf_service_metrics.h"

/* Ticks waiting for a worker; beyond this they are dropped and logged
 * (the sweep takes them up). A burst of manual triggers of a busy job
 * queues a few hundred while one claim waits for more (ready_linger). */
#define RUN_TICKS_MAX 4096
/* Ticks of one 'skip' job claimed together (claim_runs), at most. */
#define RUN_CLAIM_BATCH 64
/* How long a claim of a busy 'skip' job waits for more of its ticks, in
 * steps of (ready_linger). */
#define RUN_SKIP_LINGER_MS 25
#define RUN_SKIP_LINGER_STEP_MS 5
/* How the monitor paces itself. */
#define RUN_MONITOR_STEP_MS 100
/* Chains waiting for the clock; beyond, they are dropped and logged. */
#define RUN_CHAINS_MAX 10000
#define RUN_CHAIN_TIMEOUT_MS 3000

static void
run_sleep_ms(int64_t ms)
{
	struct timespec ts
	    = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static uint64_t
run_random(void)
{
	uint64_t x = 0;
	if (getrandom(&x, sizeof(x), 0) != (ssize_t) sizeof(x)) {
		/* Jitter only spreads retries out; time will do. */
		x = (uint64_t) cf__svc_mono_ms() * 6364136223846793005ULL;
	}
	return (x);
}

/* ---- fires this process holds ------------------------------------------- */

static unsigned
pending_hash(const char *job, const char *fire_id)
{
	uint32_t h = 2166136261u;
	for (const char *p = job; *p; p++) {
		h = (h ^ (uint8_t) *p) * 16777619u;
	}
	h = (h ^ ' ') * 16777619u;
	for (const char *p = fire_id; *p; p++) {
		h = (h ^ (uint8_t) *p) * 16777619u;
	}
	return (h % CF__PENDING_BUCKETS);
}

static cf__pending **
pending_slot(cf_service *svc, const char *job, const char *fire_id)
{
	cf__pending **pp = &svc->pending[pending_hash(job, fire_id)];
	size_t        jl = strlen(job);

	for (; *pp != NULL; pp = &(*pp)->next) {
		const char *k = (*pp)->key;
		if (strncmp(k, job, jl) == 0 && k[jl] == ' '
		    && strcmp(k + jl + 1, fire_id) == 0) {
			break;
		}
	}
	return (pp);
}

static void
pending_add(cf_service *svc, const char *job, const char *fire_id)
{
	cf__pending **pp = pending_slot(svc, job, fire_id);
	cf__pending  *p;
	size_t        n;

	if (*pp != NULL) {
		(*pp)->refs++;
		return;
	}
	n = strlen(job) + strlen(fire_id) + 2;
	/* Without the entry the sweep may start the fire again; the claim
	 * then finds its row, so nothing worse than a wasted claim. */
	if ((p = malloc(sizeof(*p) + n)) == NULL) {
		return;
	}
	p->refs = 1;
	snprintf(p->key, n, "%s %s", job, fire_id);
	p->next = NULL;
	*pp     = p;
}

static void
pending_del(cf_service *svc, const char *job, const char *fire_id)
{
	cf__pending **pp = pending_slot(svc, job, fire_id);
	cf__pending  *p  = *pp;

	if (p != NULL && --p->refs == 0) {
		*pp = p->next;
		free(p);
	}
}

int
cf__svc_pending(cf_service *svc, const char *job, const char *fire_id)
{
	return (*pending_slot(svc, job, fire_id) != NULL);
}

/* ---- items and queues (svc->mu held) ------------------------------------ */

cf__item *
cf__item_new(cf_service *svc, size_t job, const char *fire_id,
    int64_t scheduled_for, cf_trigger trigger, uint32_t attempt,
    uint32_t failures, int kind)
{
	cf__item *it = calloc(1, sizeof(*it));
	if (it == NULL) {
		return (NULL);
	}
	it->job = job;
	snprintf(it->fire_id, sizeof(it->fire_id), "%s", fire_id);
	it->scheduled_for = scheduled_for;
	it->trigger       = trigger;
	it->attempt       = attempt > 0 ? attempt : 1;
	it->failures      = failures;
	it->kind          = kind;
	pending_add(svc, svc->jobs[job].def->name, it->fire_id);
	return (it);
}

void
cf__item_free(cf_service *svc, cf__item *it)
{
	if (it == NULL) {
		return;
	}
	pending_del(svc, svc->jobs[it->job].def->name, it->fire_id);
	free(it);
}

static int ready_batched(const cf_service *svc, const cf__item *it);

static void
ready_push(cf_service *svc, cf__item *it)
{
	it->next = NULL;
	if (svc->ready_tail != NULL) {
		svc->ready_tail->next = it;
	} else {
		svc->ready = it;
	}
	svc->ready_tail = it;
	if (it->kind == CF__ITEM_TICK) {
		svc->nticks++;
	}
	/* A tick of a job whose claim is under way is left for that claim's
	 * worker, which wakes one worker for them when it ends (run_batch):
	 * waking one now would find nothing it may take. */
	if (!ready_batched(svc, it) || !svc->jobs[it->job].claiming) {
		pthread_cond_signal(&svc->cv);
	}
}

int
cf__svc_enqueue_tick(cf_service *svc, cf__item *it)
{
	if (svc->stop || svc->nticks >= RUN_TICKS_MAX) {
		return (CF_ETOOBIG);
	}
	it->kind = CF__ITEM_TICK;
	ready_push(svc, it);
	return (CF_OK);
}

/* Older fires first; a fire's attempts in order. */
static void
held_insert(cf__svc_job *j, cf__item *it)
{
	cf__item **pp = &j->held;
	while (*pp != NULL
	    && ((*pp)->scheduled_for < it->scheduled_for
	        || ((*pp)->scheduled_for == it->scheduled_for
	            && (*pp)->attempt <= it->attempt))) {
		pp = &(*pp)->next;
	}
	it->next = *pp;
	*pp      = it;
	j->nheld++;
}

/* Starts the job's next held fire if nothing of it runs here. */
static void
job_kick(cf_service *svc, size_t idx)
{
	cf__svc_job *j = &svc->jobs[idx];
	cf__item    *it;

	if (svc->stop || j->held == NULL || j->running > 0
	    || j->launching > 0) {
		return;
	}
	it           = j->held;
	j->held      = it->next;
	it->launched = 1;
	j->nheld--;
	j->launching++;
	ready_push(svc, it);
}

void
cf__svc_kick_all(cf_service *svc)
{
	for (size_t i = 0; i < svc->njobs; i++) {
		job_kick(svc, i);
	}
}

void
cf__svc_enqueue_backlog(cf_service *svc, cf__item *it)
{
	cf__svc_job *j = &svc->jobs[it->job];

	it->kind = CF__ITEM_BACKLOG;
	if (svc->stop) {
		/* Its row (or its absence) tells the next sweep. */
		cf__item_free(svc, it);
		return;
	}
	if (it->due > cf__svc_mono_ms()) {
		cf__item **pp = &svc->delayed;
		while (*pp != NULL && (*pp)->due <= it->due) {
			pp = &(*pp)->next;
		}
		it->next = *pp;
		*pp      = it;
		return;
	}
	it->due = 0;
	if (j->pol.overlap == CF_OVERLAP_ALLOW) {
		ready_push(svc, it);
		return;
	}
	held_insert(j, it);
	job_kick(svc, it->job);
}

static void
list_free(cf_service *svc, cf__item **head)
{
	while (*head != NULL) {
		cf__item *it = *head;
		*head        = it->next;
		cf__item_free(svc, it);
	}
}

void
cf__svc_drop_queued(cf_service *svc)
{
	size_t n = 0;
	for (cf__item *it = svc->ready; it != NULL; it = it->next) {
		n++;
	}
	for (cf__item *it = svc->delayed; it != NULL; it = it->next) {
		n++;
	}
	for (size_t i = 0; i < svc->njobs; i++) {
		n += svc->jobs[i].nheld;
	}
	if (n > 0) {
		char k[24];
		snprintf(k, sizeof(k), "%zu", n);
		cf_log_kv(CF_LOG_WARN, NULL, NULL,
		    "fires not run: stopping (the clock's ledger keeps them "
		    "for the next sweep)",
		    "fires", k, NULL);
	}
	list_free(svc, &svc->ready);
	svc->ready_tail = NULL;
	svc->nticks     = 0;
	list_free(svc, &svc->delayed);
	for (size_t i = 0; i < svc->njobs; i++) {
		list_free(svc, &svc->jobs[i].held);
		svc->jobs[i].nheld = 0;
	}
}

/* ---- the database ------------------------------------------------------- */

static int
run_pg(cf_service *svc, cf_pg **pg, char *err, size_t errlen)
{
	if (*pg != NULL) {
		return (CF_OK);
	}
	return (cf_pg_open(pg, svc->opts->database_url, err, errlen));
}

/*
 * A text[] literal of n strings, every element double-quoted (fire ids
 * and reasons hold spaces, commas and colons). NULL when out of memory;
 * the caller frees it.
 */
char *
cf__svc_text_array(const char *const *v, size_t n)
{
	size_t len = 3, pos = 0;
	char  *buf;

	for (size_t i = 0; i < n; i++) {
		len += 2 * strlen(v[i]) + 3;
	}
	if ((buf = malloc(len)) == NULL) {
		return (NULL);
	}
	buf[pos++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			buf[pos++] = ',';
		}
		buf[pos++] = '"';
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\') {
				buf[pos++] = '\\';
			}
			buf[pos++] = *p;
		}
		buf[pos++] = '"';
	}
	buf[pos++] = '}';
	buf[pos]   = '\0';
	return (buf);
}

int
cf__svc_skip(cf_service *svc, cf_pg **pg, const cf__skip *s, size_t n,
    char *err, size_t errlen)
{
	const char **col[7];
	char(*ids)[40] = NULL, (*att)[16] = NULL, (*at)[24] = NULL;
	char     *arr[7] = { NULL };
	char      sql[1024];
	PGresult *res = NULL;
	int       rv  = CF_ENOMEM;

	if (n == 0) {
		return (CF_OK);
	}
	for (int c = 0; c < 7; c++) {
		col[c] = calloc(n, sizeof(char *));
	}
	ids = calloc(n, sizeof(*ids));
	att = calloc(n, sizeof(*att));
	at  = calloc(n, sizeof(*at));
	for (int c = 0; c < 7; c++) {
		if (col[c] == NULL) {
			goto out;
		}
	}
	if (ids == NULL || att == NULL || at == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cf__svc_run_id(ids[i], sizeof(ids[i]));
		snprintf(att[i], sizeof(att[i]), "%u", s[i].attempt);
		snprintf(at[i], sizeof(at[i]), "%lld",
		    (long long) s[i].scheduled_for);
		col[0][i] = ids[i];
		col[1][i] = svc->jobs[s[i].job].def->name;
		col[2][i] = s[i].fire_id;
		col[3][i] = cf_trigger_name(s[i].trigger);
		col[4][i] = att[i];
		col[5][i] = at[i];
		col[6][i] = s[i].reason;
	}
	for (int c = 0; c < 7; c++) {
		if ((arr[c] = cf__svc_text_array(col[c], n)) == NULL) {
			goto out;
		}
	}
	snprintf(sql, sizeof(sql),
	    "INSERT INTO \"%s\".job_runs (run_id, job, fire_id, trigger, "
	    "attempt, scheduled_for, finished_at, status, error, owner, "
	    "final) "
	    "SELECT r, j, f, t, a, timestamptz 'epoch' + s * interval "
	    "'1 millisecond', now(), 'skipped', e, $8, true "
	    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
	    "$5::int[], $6::bigint[], $7::text[]) AS u(r, j, f, t, a, s, e) "
	    "ON CONFLICT DO NOTHING RETURNING run_id, job, fire_id, trigger, "
	    "attempt, (extract(epoch FROM scheduled_for) * 1000)::bigint, "
	    "(extract(epoch FROM finished_at) * 1000)::bigint, error",
	    svc->opts->schema);
	{
		const char *p[8] = { arr[0], arr[1], arr[2], arr[3], arr[4],
			arr[5], arr[6], svc->owner };
		if ((rv = run_pg(svc, pg, err, errlen)) != CF_OK
		    || (rv = cf_pg_exec(*pg, sql, 8, p, &res, err, errlen))
		        != CF_OK) {
			goto out;
		}
	}
	for (int r = 0; r < PQntuples(res); r++) {
		cf_trigger trig = CF_TRIGGER_SCHEDULE;
		int64_t    fin  = strtoll(PQgetvalue(res, r, 6), NULL, 10);
		cf_trigger_parse(PQgetvalue(res, r, 3), &trig);
		cf__svc_metrics_end(
		    svc, PQgetvalue(res, r, 1), "skipped", 0, 0, 0);
		cf__svc_publish(svc, PQgetvalue(res, r, 1),
		    PQgetvalue(res, r, 2), trig,
		    strtoll(PQgetvalue(res, r, 5), NULL, 10),
		    (uint32_t) strtoul(PQgetvalue(res, r, 4), NULL, 10),
		    PQgetvalue(res, r, 0), CF_RUN_SKIPPED, fin, fin,
		    PQgetvalue(res, r, 7), NULL);
		cf_log_kv(CF_LOG_INFO, PQgetvalue(res, r, 1),
		    PQgetvalue(res, r, 0), "fire skipped", "fire_id",
		    PQgetvalue(res, r, 2), "reason", PQgetvalue(res, r, 7),
		    NULL);
	}
	PQclear(res);
out:
	for (int c = 0; c < 7; c++) {
		free(col[c]);
		free(arr[c]);
	}
	free(ids);
	free(att);
	free(at);
	return (rv);
}

/* The claim (db/runtime/002, claim_run); outcome is one of its words. */
static int
run_claim(cf__worker *w, const cf__item *it, const char *run_id,
    const char *mode, char *outcome, size_t olen, int64_t *started_at,
    char *other, size_t otherlen, char *err, size_t errlen)
{
	cf_service *svc = w->svc;
	char        sql[512], attempt[16], sched[32], stale[16];
	const char *p[9];
	PGresult   *res = NULL;
	int         rv;

	if ((rv = run_pg(svc, &w->pg, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(sql, sizeof(sql),
	    "SELECT outcome, started_ms, other FROM \"%s\".claim_run($1, $2, "
	    "$3, $4, $5::int, $6::bigint, $7, $8, $9::int)",
	    svc->opts->schema);
	snprintf(attempt, sizeof(attempt), "%u", it->attempt);
	snprintf(sched, sizeof(sched), "%lld", (long long) it->scheduled_for);
	snprintf(stale, sizeof(stale), "%d", CF__SVC_STALE_MS);
	p[0] = run_id;
	p[1] = svc->jobs[it->job].def->name;
	p[2] = it->fire_id;
	p[3] = cf_trigger_name(it->trigger);
	p[4] = attempt;
	p[5] = sched;
	p[6] = svc->owner;
	p[7] = mode;
	p[8] = stale;
	if ((rv = cf_pg_exec_prepared(w->pg, sql, 9, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) != 1) {
		cf_errf(
		    err, errlen, "claim_run returned %d rows", PQntuples(res));
		PQclear(res);
		return (CF_EDB);
	}
	snprintf(outcome, olen, "%s", PQgetvalue(res, 0, 0));
	*started_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(other, otherlen, "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return (CF_OK);
}

/* ---- the end of an attempt ---------------------------------------------- */

/* The end of an attempt, as one of its recorders sees it. */
typedef struct {
	cf__item    it; /* a copy: the worker may free its own meanwhile */
	const char *run_id;
	int64_t     started_at;
	const char *status; /* succeeded, failed, timed_out, interrupted */
	const char *error;
	const char *result;
	int         permanent;
} run_end;

/*
 * Records the end of an attempt if its row is still 'running'. Sets
 * *won when this call recorded it; then publishes, schedules the retry
 * and lets the job's held fires go. Returns CF_OK or the database's
 * error (nothing done: the caller tries again).
 */
static int
run_settle(cf_service *svc, cf_pg **pg, const run_end *e, int *won, char *err,
    size_t errlen)
{
	cf__svc_job *j = &svc->jobs[e->it.job];
	int          failed, retry, stopping;
	int64_t      delay = -1, finished_at;
	char         sql[640], delay_s[24];
	const char  *p[6];
	PGresult    *res = NULL;
	int          rv;

	*won = 0;
	pthread_mutex_lock(&svc->mu);
	stopping = svc->stop;
	pthread_mutex_unlock(&svc->mu);
	failed = strcmp(e->status, "failed") == 0
	    || strcmp(e->status, "timed_out") == 0;
	/* An interrupted attempt uses no retry: the sweep runs it again. */
	retry = failed && !e->permanent
	    && e->it.failures + 1 <= (uint32_t) j->pol.retries;
	if (retry) {
		delay = cf__backoff_delay(j->pol.retry_base_ms,
		    CF__SVC_RETRY_CAP_MS, e->it.failures + 1, run_random());
		snprintf(delay_s, sizeof(delay_s), "%lld", (long long) delay);
	}
	if ((rv = run_pg(svc, pg, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE \"%s\".job_runs SET status = $2, finished_at = now(), "
	    "error = $3, result = $4::jsonb, final = $5::boolean, "
	    "next_attempt_at = now() + $6::bigint * interval '1 millisecond' "
	    "WHERE run_id = $1 AND status = 'running' "
	    "RETURNING (extract(epoch FROM finished_at) * 1000)::bigint",
	    svc->opts->schema);
	p[0] = e->run_id;
	p[1] = e->status;
	p[2] = e->error;
	p[3] = e->result;
	p[4] = (retry || strcmp(e->status, "interrupted") == 0) ? "false"
	                                                        : "true";
	p[5] = retry ? delay_s : NULL;
	if ((rv = cf_pg_exec_prepared(*pg, sql, 6, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		return (CF_OK);
	}
	*won        = 1;
	finished_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	{
		const char  *job = j->def->name;
		cf_run_state st  = CF_RUN_SUCCEEDED;
		if (strcmp(e->status, "timed_out") == 0) {
			st = CF_RUN_TIMED_OUT;
		} else if (strcmp(e->status, "interrupted") == 0) {
			st = CF_RUN_INTERRUPTED;
		} else if (failed) {
			st = retry ? CF_RUN_RETRYING : CF_RUN_FAILED;
		}
		cf__svc_metrics_end(svc, job, e->status, retry, e->started_at,
		    finished_at);
		cf__svc_publish(svc, job, e->it.fire_id, e->it.trigger,
		    e->it.scheduled_for, e->it.attempt, e->run_id, st,
		    e->started_at, finished_at, e->error, e->result);
		if (st == CF_RUN_TIMED_OUT && retry) {
			cf__svc_publish(svc, job, e->it.fire_id, e->it.trigger,
			    e->it.scheduled_for, e->it.attempt, e->run_id,
			    CF_RUN_RETRYING, e->started_at, finished_at,
			    e->error, e->result);
		}
		if (retry) {
			char ms[24], next[16];
			snprintf(ms, sizeof(ms), "%lld", (long long) delay);
			snprintf(next, sizeof(next), "%u", e->it.attempt + 1);
			cf_log_kv(CF_LOG_INFO, job, e->run_id,
			    stopping
			        ? "retry left to the next sweep (stopping)"
			        : "retry scheduled",
			    "fire_id", e->it.fire_id, "attempt", next,
			    "delay_ms", ms, NULL);
		}
	}

	pthread_mutex_lock(&svc->mu);
	j->running--;
	if (retry && !svc->stop) {
		cf__item *n = cf__item_new(svc, e->it.job, e->it.fire_id,
		    e->it.scheduled_for, e->it.trigger, e->it.attempt + 1,
		    e->it.failures + 1, CF__ITEM_BACKLOG);
		if (n != NULL) {
			n->due = cf__svc_mono_ms() + delay;
			cf__svc_enqueue_backlog(svc, n);
		}
	}
	job_kick(svc, e->it.job);
	pthread_mutex_unlock(&svc->mu);
	return (CF_OK);
}

/*
 * Chaining: when a job succeeds for a fire, the clock is told ("chain
 * <job> <fire_id> <scheduled_for_ms>", proto/COMMANDS.md) so that the
 * jobs "after" it run. It is told after every success: only the clock
 * knows every service's jobs, and it answers an empty list when nothing
 * depends on this one. The worker only queues the chain; the chain
 * thread sends it, again and again while the clock cannot be reached (a
 * failover takes seconds), since "chain" is idempotent on the clock's
 * side, then sets the row's "chained". A success whose chain never got
 * through (the process died, or the clock refused "ask again") keeps
 * chained false, and the sweep queues it again.
 */
int
cf__svc_chain_enqueue(
    cf_service *svc, size_t job, const char *fire_id, int64_t scheduled_for)
{
	cf__chain *c;

	if (svc->chain_off || svc->hard_stop) {
		return (CF_ECLOSED);
	}
	for (c = svc->chains; c != NULL; c = c->next) {
		if (c->job == job && strcmp(c->fire_id, fire_id) == 0) {
			return (CF_OK); /* queued already */
		}
	}
	if (svc->nchains >= RUN_CHAINS_MAX
	    || (c = calloc(1, sizeof(*c))) == NULL) {
		return (CF_ETOOBIG);
	}
	c->job = job;
	snprintf(c->fire_id, sizeof(c->fire_id), "%s", fire_id);
	c->scheduled_for = scheduled_for;
	if (svc->chain_tail != NULL) {
		svc->chain_tail->next = c;
	} else {
		svc->chains = c;
	}
	svc->chain_tail = c;
	svc->nchains++;
	pthread_cond_signal(&svc->chain_cv);
	return (CF_OK);
}

static void
run_chain(cf_service *svc, const cf__item *it)
{
	int rv;

	pthread_mutex_lock(&svc->mu);
	rv = cf__svc_chain_enqueue(
	    svc, it->job, it->fire_id, it->scheduled_for);
	pthread_mutex_unlock(&svc->mu);
	if (rv == CF_ETOOBIG) {
		cf_log_kv(CF_LOG_WARN, svc->jobs[it->job].def->name, NULL,
		    "chain not queued (too many waiting): the sweep sends it "
		    "later",
		    "fire_id", it->fire_id, NULL);
	}
}

/* Sends one chain. CF_OK, or the call's error (CF_ECONN, CF_ETIMEDOUT:
 * try again). */
static int
chain_send(cf_service *svc, const cf__chain *ch, char *err, size_t errlen)
{
	const char *job = svc->jobs[ch->job].def->name;
	char        sched[24];
	char       *args[2] = { (char *) ch->fire_id, sched };
	cf_command  c       = { 0 };
	cf_reply   *r       = NULL;
	int         rv;

	snprintf(sched, sizeof(sched), "%lld", (long long) ch->scheduled_for);
	c.cmd   = "chain";
	c.job   = (char *) job;
	c.args  = args;
	c.nargs = 2;
	rv      = cf_service_call(
	         svc->chain_req, &c, RUN_CHAIN_TIMEOUT_MS, &r, err, errlen);
	if (rv == CF_OK) {
		if (r->data != NULL && strstr(r->data, "\"job\"") != NULL) {
			cf_log_kv(CF_LOG_INFO, job, NULL, "dependents started",
			    "fire_id", ch->fire_id, "fired", r->data, NULL);
		}
		cf_reply_free(r);
	}
	return (rv);
}

/* The success is told: its row says so, for the sweep. */
static void
chain_done(cf_service *svc, cf_pg **pg, const cf__chain *ch)
{
	char        sql[256], err[512];
	const char *p[2] = { svc->jobs[ch->job].def->name, ch->fire_id };

	snprintf(sql, sizeof(sql),
	    "UPDATE \"%s\".job_runs SET chained = true WHERE job = $1 AND "
	    "fire_id = $2 AND status = 'succeeded'",
	    svc->opts->schema);
	if (run_pg(svc, pg, err, sizeof(err)) != CF_OK
	    || cf_pg_exec(*pg, sql, 2, p, NULL, err, sizeof(err)) != CF_OK) {
		/* The sweep will tell the clock again: it is idempotent. */
		cf_log_kv(CF_LOG_DEBUG, p[0], NULL, "chained not recorded",
		    "fire_id", ch->fire_id, "error", err, NULL);
	}
}

void *
cf__svc_chain_main(void *arg)
{
	cf_service *svc      = arg;
	cf_pg      *pg       = NULL;
	unsigned    failures = 0;

	pthread_mutex_lock(&svc->mu);
	while (!svc->hard_stop) {
		cf__chain *ch;
		char       err[512];
		int        rv, told;

		if (svc->chains == NULL) {
			pthread_cond_wait(&svc->chain_cv, &svc->mu);
			continue;
		}
		ch = svc->chains;
		pthread_mutex_unlock(&svc->mu);
		rv = chain_send(svc, ch, err, sizeof(err));
		pthread_mutex_lock(&svc->mu);
		if (rv == CF_ECONN || rv == CF_ETIMEDOUT) {
			/* The clock is away (failing over?): the same chain
			 * again in a second. */
			struct timespec ts;
			int64_t         until = cf__svc_now_ms() + 1000;
			if (failures++ % 30 == 0) {
				cf_log_kv(CF_LOG_WARN,
				    svc->jobs[ch->job].def->name, NULL,
				    "chain not sent yet; retrying every "
				    "second",
				    "fire_id", ch->fire_id, "error", err,
				    NULL);
			}
			ts.tv_sec  = (time_t) (until / 1000);
			ts.tv_nsec = (long) (until % 1000) * 1000000L;
			if (!svc->hard_stop) {
				pthread_cond_timedwait(
				    &svc->chain_cv, &svc->mu, &ts);
			}
			continue;
		}
		failures    = 0;
		svc->chains = ch->next;
		if (svc->chains == NULL) {
			svc->chain_tail = NULL;
		}
		svc->nchains--;
		told = rv == CF_OK;
		if (rv == CF_EPROTO
		    && strstr(err, "unknown command") != NULL) {
			/* A clock from before chaining: say it once. */
			svc->chain_off = 1;
			cf_log_kv(CF_LOG_INFO, NULL, NULL,
			    "the clock does not take 'chain': dependent jobs "
			    "are not started",
			    "error", err, NULL);
		} else if (rv == CF_EPROTO
		    && strstr(err, "ask again") != NULL) {
			/* The clock could not record it all: the sweep asks
			 * again. */
			cf_log_kv(CF_LOG_WARN, svc->jobs[ch->job].def->name,
			    NULL,
			    "chain not taken yet; the sweep sends it again",
			    "fire_id", ch->fire_id, "error", err, NULL);
		} else if (rv != CF_OK) {
			cf_log_kv(CF_LOG_ERROR, svc->jobs[ch->job].def->name,
			    NULL,
			    "chain refused: jobs after this one do not run "
			    "for this fire",
			    "fire_id", ch->fire_id, "error", err, NULL);
			told = 1; /* asking again would change nothing */
		}
		if (told) {
			pthread_mutex_unlock(&svc->mu);
			chain_done(svc, &pg, ch);
			pthread_mutex_lock(&svc->mu);
		}
		free(ch);
	}
	if (svc->nchains > 0) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", svc->nchains);
		cf_log_kv(CF_LOG_WARN, NULL, NULL,
		    "chains not sent at exit: the next sweep (here or in "
		    "another replica) sends them",
		    "chains", n, NULL);
	}
	while (svc->chains != NULL) {
		cf__chain *ch = svc->chains;
		svc->chains   = ch->next;
		free(ch);
	}
	svc->chain_tail = NULL;
	svc->nchains    = 0;
	pthread_mutex_unlock(&svc->mu);
	cf_pg_close(pg);
	return (NULL);
}

/* ---- running one item --------------------------------------------------- */

static const char *
run_mode(const cf__svc_job *j, const cf__item *it)
{
	if (j->pol.overlap == CF_OVERLAP_ALLOW) {
		return ("allow");
	}
	if (it->kind == CF__ITEM_BACKLOG) {
		return ("wait");
	}
	return (j->pol.overlap == CF_OVERLAP_QUEUE_ONE ? "queue_one" : "skip");
}

/* The claim said run: the job runs on this worker, then is recorded. */
static void
run_execute(
    cf__worker *w, cf__item *it, const char *run_id, int64_t started_at)
{
	cf_service        *svc = w->svc;
	const cf__svc_job *j   = &svc->jobs[it->job];
	const char        *job = j->def->name;
	cf_job_result      res = { 0 };
	cf_run             run = { 0 };
	run_end            e;
	char               err[1024], msg[1200];
	int64_t            t0;
	int                rv, timed, settled, won = 0;

	cf_log_kv(CF_LOG_INFO, job, run_id, "run started", "fire_id",
	    it->fire_id, "trigger", cf_trigger_name(it->trigger), NULL);
	cf__svc_publish(svc, job, it->fire_id, it->trigger, it->scheduled_for,
	    it->attempt, run_id, CF_RUN_STARTED, started_at, 0, NULL, NULL);

	run.service       = svc->opts->name;
	run.job           = job;
	run.fire_id       = it->fire_id;
	run.run_id        = run_id;
	run.trigger       = it->trigger;
	run.scheduled_for = it->scheduled_for;
	run.attempt       = it->attempt;
	run.ctx           = svc->opts->ctx;
	run.worker        = w;
	t0                = cf__svc_mono_ms();
	rv                = j->def->fn(&run, &res);
	if (rv != CF_OK && !res.failed) {
		cf_result_fail(&res, "%s", cf_strerror(rv));
	}

	pthread_mutex_lock(&svc->mu);
	w->cur_returned = 1;
	timed           = w->cur_timed_out;
	settled         = w->cur_settled;
	pthread_mutex_unlock(&svc->mu);

	e.it         = *it;
	e.run_id     = run_id;
	e.started_at = started_at;
	e.result     = res.json;
	e.permanent  = res.permanent;
	if (timed) {
		snprintf(msg, sizeof(msg), "timed out after %lld ms",
		    (long long) j->pol.timeout_ms);
		e.status = "timed_out";
		e.error  = msg;
	} else if (res.failed && cf_run_stopping(&run)) {
		snprintf(msg, sizeof(msg),
		    "interrupted: the service stopped during the run (%s)",
		    res.error);
		e.status = "interrupted";
		e.error  = msg;
	} else {
		e.status = res.failed ? "failed" : "succeeded";
		e.error  = res.failed ? res.error : NULL;
	}
	if (settled) {
		cf_log_kv(CF_LOG_WARN, job, run_id,
		    "run returned after its timeout; its outcome is ignored",
		    "fire_id", it->fire_id, "status", e.status, NULL);
	} else {
		/*
		 * A database that is away keeps the worker here: the job did
		 * its work, and recording it is what makes that count. The
		 * row stays 'running' meanwhile, its heartbeat kept fresh.
		 */
		for (int i = 0;; i++) {
			int hard;
			if (run_settle(svc, &w->pg, &e, &won, err, sizeof(err))
			    == CF_OK) {
				break;
			}
			if (i % 30 == 0) {
				cf_log_kv(CF_LOG_ERROR, job, run_id,
				    "run finished but its end is not recorded "
				    "yet; retrying every second",
				    "fire_id", it->fire_id, "error", err,
				    NULL);
			}
			pthread_mutex_lock(&svc->mu);
			hard = svc->hard_stop;
			pthread_mutex_unlock(&svc->mu);
			if (hard) {
				break;
			}
			run_sleep_ms(1000);
		}
		if (won) {
			char ms[32];
			snprintf(ms, sizeof(ms), "%lld",
			    (long long) (cf__svc_mono_ms() - t0));
			cf_log_kv(strcmp(e.status, "succeeded") == 0
			        ? CF_LOG_INFO
			        : CF_LOG_WARN,
			    job, run_id, "run finished", "fire_id",
			    it->fire_id, "status", e.status, "ms", ms, "error",
			    e.error, "permanent",
			    res.failed ? (res.permanent ? "true" : "false")
			               : NULL,
			    NULL);
		} else if (!timed) {
			cf_log_kv(CF_LOG_WARN, job, run_id,
			    "run finished but its row was no longer running "
			    "(timed out, or taken for a stopped process's)",
			    "fire_id", it->fire_id, "status", e.status, NULL);
		}
		if (won && strcmp(e.status, "succeeded") == 0) {
			run_chain(svc, it);
		}
	}
	free(res.json);
}

/*
 * What follows a claim (rv: the claim's own success; outcome, started_at
 * and other: its answer): holding the fire back, recording a skip, or
 * running the job through to its end.
 */
static void
run_claimed(cf__worker *w, cf__item *it, const char *run_id, int rv,
    const char *outcome, int64_t started_at, const char *other,
    const char *err)
{
	cf_service  *svc = w->svc;
	cf__svc_job *j   = &svc->jobs[it->job];
	const char  *job = j->def->name;

	pthread_mutex_lock(&svc->mu);
	if (it->launched) {
		j->launching--;
		it->launched = 0;
	}
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, job, NULL,
		    "run not started: it cannot be recorded (the clock's "
		    "ledger keeps the fire for the catch-up sweep)",
		    "fire_id", it->fire_id, "error", err, NULL);
		cf__item_free(svc, it);
		job_kick(svc, (size_t) (j - svc->jobs));
		pthread_mutex_unlock(&svc->mu);
		return;
	}
	if (strcmp(outcome, "busy") == 0) {
		/*
		 * A queue_one tick that took the job's queue slot, or backlog:
		 * it waits for the job to be free (a run of it ending here,
		 * or the monitor trying again every second).
		 */
		if (it->kind == CF__ITEM_TICK) {
			it->kind = CF__ITEM_BACKLOG;
			cf_log_kv(CF_LOG_INFO, job, NULL,
			    "fire queued: a run is in progress", "fire_id",
			    it->fire_id, "run", other, NULL);
		}
		if (svc->stop) {
			cf__item_free(svc, it);
		} else {
			held_insert(j, it);
		}
		pthread_mutex_unlock(&svc->mu);
		return;
	}
	if (strcmp(outcome, "run") != 0) {
		int skipped = strcmp(outcome, "skipped") == 0;
		job_kick(svc, (size_t) (j - svc->jobs));
		pthread_mutex_unlock(&svc->mu);
		if (skipped) {
			int64_t now = cf__svc_now_ms();
			cf__svc_metrics_end(svc, job, "skipped", 0, 0, 0);
			cf__svc_publish(svc, job, it->fire_id, it->trigger,
			    it->scheduled_for, it->attempt, run_id,
			    CF_RUN_SKIPPED, now, now, other, NULL);
			cf_log_kv(CF_LOG_INFO, job, run_id, "fire skipped",
			    "fire_id", it->fire_id, "reason", other, NULL);
		} else {
			cf_log_kv(CF_LOG_DEBUG, job, NULL,
			    "fire already claimed (duplicate tick, another "
			    "replica, or already settled)",
			    "fire_id", it->fire_id, NULL);
		}
		pthread_mutex_lock(&svc->mu);
		cf__item_free(svc, it);
		pthread_mutex_unlock(&svc->mu);
		return;
	}
	j->running++;
	svc->busy++;
	w->cur = it;
	snprintf(w->cur_run_id, sizeof(w->cur_run_id), "%s", run_id);
	w->cur_started   = started_at;
	w->cur_deadline  = cf__svc_mono_ms() + j->pol.timeout_ms;
	w->cur_timed_out = 0;
	w->cur_returned  = 0;
	w->cur_settled   = 0;
	w->cur_retry_at  = 0;
	pthread_mutex_unlock(&svc->mu);

	run_execute(w, it, run_id, started_at);

	pthread_mutex_lock(&svc->mu);
	w->cur = NULL;
	svc->busy--;
	cf__item_free(svc, it);
	pthread_cond_broadcast(&svc->idle_cv);
	pthread_mutex_unlock(&svc->mu);
}

/* Takes one item off the ready queue through to its end. */
static void
run_item(cf__worker *w, cf__item *it)
{
	cf__svc_job *j = &w->svc->jobs[it->job];
	char         run_id[40], outcome[16], other[128], err[1024];
	int64_t      started_at = 0;
	int          rv;

	cf__svc_run_id(run_id, sizeof(run_id));
	rv = run_claim(w, it, run_id, run_mode(j, it), outcome,
	    sizeof(outcome), &started_at, other, sizeof(other), err,
	    sizeof(err));
	run_claimed(w, it, run_id, rv, outcome, started_at, other, err);
}

/*
 * Several ticks of one 'skip' job, taken from the ready queue together:
 * one claim_runs (db/runtime/004) decides them all as claim_run would one
 * after another. The skipped and the duplicates are settled first; the
 * one that may run (at most one: the others find it running) runs last,
 * on this worker.
 */
static void
run_batch(cf__worker *w, cf__item **items, size_t n)
{
	cf_service  *svc    = w->svc;
	cf__svc_job *j      = &svc->jobs[items[0]->job];
	char(*ids)[40]      = calloc(n, sizeof(*ids));
	char(*att)[16]      = calloc(n, sizeof(*att));
	char(*at)[24]       = calloc(n, sizeof(*at));
	const char **cid    = calloc(n, sizeof(char *));
	const char **cfi    = calloc(n, sizeof(char *));
	const char **ctr    = calloc(n, sizeof(char *));
	const char **cat    = calloc(n, sizeof(char *));
	const char **csc    = calloc(n, sizeof(char *));
	char        *arr[5] = { NULL };
	char         sql[512], stale[16], err[1024] = "";
	PGresult    *res       = NULL;
	size_t       run       = n; /* the item that runs, if any */
	int64_t      run_start = 0;
	int          rv        = CF_ENOMEM;

	if (ids == NULL || att == NULL || at == NULL || cid == NULL
	    || cfi == NULL || ctr == NULL || cat == NULL || csc == NULL) {
		cf_errf(err, sizeof(err), "out of memory");
		goto settle;
	}
	for (size_t i = 0; i < n; i++) {
		cf__svc_run_id(ids[i], sizeof(ids[i]));
		snprintf(att[i], sizeof(att[i]), "%u", items[i]->attempt);
		snprintf(at[i], sizeof(at[i]), "%lld",
		    (long long) items[i]->scheduled_for);
		cid[i] = ids[i];
		cfi[i] = items[i]->fire_id;
		ctr[i] = cf_trigger_name(items[i]->trigger);
		cat[i] = att[i];
		csc[i] = at[i];
	}
	if ((arr[0] = cf__svc_text_array(cid, n)) == NULL
	    || (arr[1] = cf__svc_text_array(cfi, n)) == NULL
	    || (arr[2] = cf__svc_text_array(ctr, n)) == NULL
	    || (arr[3] = cf__svc_text_array(cat, n)) == NULL
	    || (arr[4] = cf__svc_text_array(csc, n)) == NULL) {
		cf_errf(err, sizeof(err), "out of memory");
		goto settle;
	}
	snprintf(sql, sizeof(sql),
	    "SELECT i, outcome, started_ms, other FROM \"%s\".claim_runs("
	    "$1::text[], $2, $3::text[], $4::text[], $5::int[], "
	    "$6::bigint[], $7, $8, $9::int)",
	    svc->opts->schema);
	snprintf(stale, sizeof(stale), "%d", CF__SVC_STALE_MS);
	{
		const char *p[9] = { arr[0], j->def->name, arr[1], arr[2],
			arr[3], arr[4], svc->owner, "skip", stale };
		if ((rv = run_pg(svc, &w->pg, err, sizeof(err))) == CF_OK) {
			rv = cf_pg_exec_prepared(
			    w->pg, sql, 9, p, &res, err, sizeof(err));
		}
	}
	if (rv == CF_OK && (size_t) PQntuples(res) != n) {
		cf_errf(err, sizeof(err),
		    "claim_runs returned %d rows for %zu", PQntuples(res), n);
		rv = CF_EDB;
	}

settle:
	pthread_mutex_lock(&svc->mu);
	j->claiming = 0;
	pthread_cond_signal(&svc->cv); /* its waiting ticks may go */
	pthread_mutex_unlock(&svc->mu);
	for (size_t r = 0; r < n; r++) {
		size_t      i   = r;
		const char *out = "";
		int64_t     st  = 0;
		const char *oth = "";

		if (rv == CF_OK) {
			i = (size_t) strtoul(
			        PQgetvalue(res, (int) r, 0), NULL, 10)
			    - 1;
			out = PQgetvalue(res, (int) r, 1);
			st  = strtoll(PQgetvalue(res, (int) r, 2), NULL, 10);
			oth = PQgetvalue(res, (int) r, 3);
			if (i >= n || items[i] == NULL) {
				continue; /* not from claim_runs; cannot be */
			}
			if (strcmp(out, "run") == 0 && run == n) {
				run       = i; /* after the others */
				run_start = st;
				continue;
			}
		}
		run_claimed(w, items[i], ids != NULL ? ids[i] : "", rv, out,
		    st, oth, err);
		items[i] = NULL;
	}
	PQclear(res);
	res = NULL;
	if (run < n) {
		run_claimed(
		    w, items[run], ids[run], CF_OK, "run", run_start, "", err);
		items[run] = NULL;
	}
	/* Anything claim_runs did not name (it cannot happen) is let go:
	 * the sweep finds its fire unsettled. */
	pthread_mutex_lock(&svc->mu);
	for (size_t i = 0; i < n; i++) {
		if (items[i] != NULL) {
			cf__item_free(svc, items[i]);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	PQclear(res);
	for (int c = 0; c < 5; c++) {
		free(arr[c]);
	}
	free(ids);
	free(att);
	free(at);
	free(cid);
	free(cfi);
	free(ctr);
	free(cat);
	free(csc);
}

/* A tick of a 'skip' job: claimed in batches (run_batch). */
static int
ready_batched(const cf_service *svc, const cf__item *it)
{
	return (it->kind == CF__ITEM_TICK
	    && strcmp(run_mode(&svc->jobs[it->job], it), "skip") == 0);
}

/*
 * Takes *pp (prev: the item before it, NULL at the head) off the ready
 * queue and returns it. Under svc->mu.
 */
static cf__item *
ready_unlink(cf_service *svc, cf__item **pp, cf__item *prev)
{
	cf__item *c = *pp;

	*pp = c->next;
	if (svc->ready_tail == c) {
		svc->ready_tail = prev;
	}
	if (c->kind == CF__ITEM_TICK) {
		svc->nticks--;
	}
	c->next = NULL;
	return (c);
}

/*
 * The first ready item a worker may take, off the queue; NULL when none.
 * A batched tick of a job whose claim is under way waits: that claim
 * holds the job's lock until it commits, so a second one would only wait
 * for it, while left here the ticks join the next batch. Under svc->mu.
 */
static cf__item *
ready_take(cf_service *svc)
{
	cf__item **pp   = &svc->ready;
	cf__item  *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (!ready_batched(svc, *pp)
		    || !svc->jobs[(*pp)->job].claiming) {
			return (ready_unlink(svc, pp, prev));
		}
	}
	return (NULL);
}

/*
 * Takes the ticks of job that wait in the ready queue, up to max, into
 * out; returns how many. Under svc->mu.
 */
static size_t
ready_take_job(cf_service *svc, size_t job, cf__item **out, size_t max)
{
	cf__item **pp   = &svc->ready;
	cf__item  *prev = NULL;
	size_t     n    = 0;

	while (*pp != NULL && n < max) {
		if ((*pp)->kind == CF__ITEM_TICK && (*pp)->job == job) {
			out[n++] = ready_unlink(svc, pp, prev);
		} else {
			prev = *pp;
			pp   = &(*pp)->next;
		}
	}
	return (n);
}

/*
 * While a run of job is in progress here, ticks of it (a 'skip' job)
 * can only be skipped: the worker holding its claim waits a little
 * (RUN_SKIP_LINGER_MS at most) for more of them before claiming, so a
 * burst of triggers is recorded in a few statements rather than one per
 * handful of fires. Takes what arrived, up to max, into out; returns how
 * many. Under svc->mu (let go while waiting).
 */
static size_t
ready_linger(cf_service *svc, size_t job, cf__item **out, size_t max)
{
	size_t n = 0;

	for (int waited = 0; waited < RUN_SKIP_LINGER_MS && n < max
	     && svc->jobs[job].running > 0 && !svc->stop;
	     waited += RUN_SKIP_LINGER_STEP_MS) {
		pthread_mutex_unlock(&svc->mu);
		run_sleep_ms(RUN_SKIP_LINGER_STEP_MS);
		pthread_mutex_lock(&svc->mu);
		n += ready_take_job(svc, job, out + n, max - n);
	}
	return (n);
}

void *
cf__svc_worker_main(void *arg)
{
	cf__worker *w   = arg;
	cf_service *svc = w->svc;

	pthread_mutex_lock(&svc->mu);
	for (;;) {
		cf__item *it = NULL;
		while (!svc->stop && (it = ready_take(svc)) == NULL) {
			pthread_cond_wait(&svc->cv, &svc->mu);
		}
		if (it == NULL) {
			break; /* stopping */
		}
		if (ready_batched(svc, it)) {
			cf__item *batch[RUN_CLAIM_BATCH];
			size_t    n = 1;

			batch[0]                    = it;
			svc->jobs[it->job].claiming = 1;
			n += ready_take_job(
			    svc, it->job, batch + 1, RUN_CLAIM_BATCH - 1);
			n += ready_linger(
			    svc, it->job, batch + n, RUN_CLAIM_BATCH - n);
			pthread_mutex_unlock(&svc->mu);
			run_batch(w, batch, n);
		} else {
			pthread_mutex_unlock(&svc->mu);
			run_item(w, it);
		}
		pthread_mutex_lock(&svc->mu);
	}
	pthread_mutex_unlock(&svc->mu);
	return (NULL);
}

/* ---- cancellation ------------------------------------------------------- */

int
cf_run_stopping(const cf_run *run)
{
	cf_service *svc = run->worker->svc;
	int         stop;
	pthread_mutex_lock(&svc->mu);
	stop = svc->stop;
	pthread_mutex_unlock(&svc->mu);
	return (stop);
}

int
cf_run_cancelled(const cf_run *run)
{
	cf__worker *w   = run->worker;
	cf_service *svc = w->svc;
	int         c;
	pthread_mutex_lock(&svc->mu);
	c = svc->stop || w->cur_timed_out;
	pthread_mutex_unlock(&svc->mu);
	return (c);
}

/* ---- the monitor -------------------------------------------------------- */

/* A run past its deadline, copied out from under the lock. */
typedef struct {
	int      worker;
	cf__item it;
	char     run_id[40];
	int64_t  started_at;
} mon_timeout;

/* Records a timed-out run (the monitor's side of the race). */
static void
monitor_timeout(cf_service *svc, const mon_timeout *t)
{
	cf__svc_job *j = &svc->jobs[t->it.job];
	run_end      e;
	char         msg[128], err[512];
	int          won = 0;

	snprintf(msg, sizeof(msg), "timed out after %lld ms",
	    (long long) j->pol.timeout_ms);
	e.it         = t->it;
	e.run_id     = t->run_id;
	e.started_at = t->started_at;
	e.status     = "timed_out";
	e.error      = msg;
	e.result     = NULL;
	e.permanent  = 0;
	if (run_settle(svc, &svc->mon_pg, &e, &won, err, sizeof(err))
	    != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, j->def->name, t->run_id,
		    "timed-out run not recorded yet", "error", err, NULL);
		return;
	}
	pthread_mutex_lock(&svc->mu);
	{
		cf__worker *w = &svc->workers[t->worker];
		if (w->cur != NULL && strcmp(w->cur_run_id, t->run_id) == 0) {
			w->cur_settled = 1;
		}
	}
	pthread_mutex_unlock(&svc->mu);
	if (won) {
		cf_log_kv(CF_LOG_WARN, j->def->name, t->run_id,
		    "run timed out: cancelled and recorded", "fire_id",
		    t->it.fire_id, "error", msg, NULL);
	}
}

/* Renews the heartbeat of every row this process is running. */
static void
monitor_heartbeat(cf_service *svc, const char *const *ids, size_t n)
{
	char        sql[256], err[512];
	char       *arr;
	const char *p[1];

	if (n == 0) {
		return;
	}
	if ((arr = cf__svc_text_array(ids, n)) == NULL) {
		return;
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE \"%s\".job_runs SET heartbeat_at = now() "
	    "WHERE run_id = ANY($1::text[]) AND status = 'running'",
	    svc->opts->schema);
	p[0] = arr;
	if (run_pg(svc, &svc->mon_pg, err, sizeof(err)) != CF_OK
	    || cf_pg_exec(svc->mon_pg, sql, 1, p, NULL, err, sizeof(err))
	        != CF_OK) {
		cf_log_kv(CF_LOG_WARN, NULL, NULL, "heartbeat not recorded",
		    "error", err, NULL);
	}
	free(arr);
}

void *
cf__svc_monitor_main(void *arg)
{
	cf_service  *svc     = arg;
	int          n       = svc->nworkers;
	mon_timeout *tos     = calloc((size_t) n, sizeof(*tos));
	char(*ids)[40]       = calloc((size_t) n, sizeof(*ids));
	const char **idp     = calloc((size_t) n, sizeof(*idp));
	int64_t      next_hb = 0;

	if (tos == NULL || ids == NULL || idp == NULL) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL,
		    "monitor not started (out of memory): no heartbeats, no "
		    "timeouts",
		    NULL);
		free(tos);
		free(ids);
		free(idp);
		return (NULL);
	}
	pthread_mutex_lock(&svc->mu);
	while (!svc->hard_stop) {
		int64_t         now = cf__svc_mono_ms(), wake;
		int             nto = 0, hb = 0;
		size_t          nid = 0;
		struct timespec ts;

		for (int i = 0; i < n; i++) {
			cf__worker *w = &svc->workers[i];
			if (w->cur == NULL || w->cur_returned || w->cur_settled
			    || now < w->cur_deadline
			    || now < w->cur_retry_at) {
				continue;
			}
			if (!w->cur_timed_out) {
				/* cf_run_cancelled() says so from now on. */
				w->cur_timed_out = 1;
			}
			w->cur_retry_at = now + 1000;
			tos[nto].worker = i;
			tos[nto].it     = *w->cur;
			snprintf(tos[nto].run_id, sizeof(tos[nto].run_id),
			    "%s", w->cur_run_id);
			tos[nto].started_at = w->cur_started;
			nto++;
		}
		while (svc->delayed != NULL && svc->delayed->due <= now) {
			cf__item *it = svc->delayed;
			svc->delayed = it->next;
			it->due      = 0;
			cf__svc_enqueue_backlog(svc, it);
		}
		if (now >= next_hb) {
			hb      = 1;
			next_hb = now + CF__SVC_HEARTBEAT_MS;
			/* A held fire whose job was busy elsewhere: again. */
			cf__svc_kick_all(svc);
			for (int i = 0; i < n; i++) {
				cf__worker *w = &svc->workers[i];
				if (w->cur != NULL && !w->cur_settled) {
					snprintf(ids[nid], sizeof(ids[nid]),
					    "%s", w->cur_run_id);
					idp[nid] = ids[nid];
					nid++;
				}
			}
		}
		pthread_mutex_unlock(&svc->mu);
		for (int i = 0; i < nto; i++) {
			monitor_timeout(svc, &tos[i]);
		}
		if (hb) {
			monitor_heartbeat(svc, idp, nid);
		}
		pthread_mutex_lock(&svc->mu);
		wake       = cf__svc_now_ms() + RUN_MONITOR_STEP_MS;
		ts.tv_sec  = (time_t) (wake / 1000);
		ts.tv_nsec = (long) (wake % 1000) * 1000000L;
		if (!svc->hard_stop) {
			pthread_cond_timedwait(&svc->mon_cv, &svc->mu, &ts);
		}
	}
	pthread_mutex_unlock(&svc->mu);
	free(tos);
	free(ids);
	free(idp);
	return (NULL);
}

/* ---- shutdown ----------------------------------------------------------- */

void
cf__svc_interrupt_running(cf_service *svc)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
	    "interrupted: still running when the %lld ms shutdown grace "
	    "period ended",
	    (long long) svc->opts->grace_ms);
	pthread_mutex_lock(&svc->cmd_mu);
	for (int i = 0; i < svc->nworkers; i++) {
		cf__worker *w = &svc->workers[i];
		char        sql[256], err[512];
		const char *p[2] = { w->cur_run_id, msg };
		PGresult   *res  = NULL;
		int         n    = 0;

		if (w->cur == NULL || w->cur_settled) {
			continue;
		}
		snprintf(sql, sizeof(sql),
		    "UPDATE \"%s\".job_runs SET status = 'interrupted', "
		    "finished_at = now(), error = $2, final = false "
		    "WHERE run_id = $1 AND status = 'running'",
		    svc->opts->schema);
		if (svc->cmd_pg == NULL
		    || cf_pg_exec(
		           svc->cmd_pg, sql, 2, p, &res, err, sizeof(err))
		        != CF_OK) {
			cf_log_kv(CF_LOG_ERROR,
			    svc->jobs[w->cur->job].def->name, w->cur_run_id,
			    "interrupted run not recorded", "error",
			    svc->cmd_pg ? err : "no connection", NULL);
		} else {
			n = atoi(PQcmdTuples(res));
			PQclear(res);
		}
		if (n == 1) {
			const cf__item *it = w->cur;
			cf__svc_metrics_end(svc, svc->jobs[it->job].def->name,
			    "interrupted", 0, w->cur_started, cf__svc_now_ms());
			cf__svc_publish(svc, svc->jobs[it->job].def->name,
			    it->fire_id, it->trigger, it->scheduled_for,
			    it->attempt, w->cur_run_id, CF_RUN_INTERRUPTED,
			    w->cur_started, cf__svc_now_ms(), msg, NULL);
			cf_log_kv(CF_LOG_WARN, svc->jobs[it->job].def->name,
			    w->cur_run_id, "run interrupted at shutdown",
			    "fire_id", it->fire_id, NULL);
		}
	}
	pthread_mutex_unlock(&svc->cmd_mu);
}
