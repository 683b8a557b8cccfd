/*
 * clock.c - the clock actor.
 *
 * One loop thread fires schedules; a few REP workers answer commands.
 * Both share the job table under one mutex; the loop sleeps on a
 * condition variable until the next fire or until a command changes the
 * table. Database writes happen outside that mutex: the loop has its own
 * connection, the command workers share another under its own lock.
 *
 * A fire is written to the ledger (clock.fires, unique on job and
 * instant) before its tick is published. If the write fails the tick is
 * not published: a fire that is not in the ledger did not happen. Every
 * due fire of every job goes into the ledger, published or skipped with
 * its reason (paused, scheduler stopped, DST gap, misfire policy): see
 * docs/guarantees.md and the loop below.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "cf_log.h"
#include "cf_migrate.h"
#include "cf_nng.h"
#include "cf_pg.h"
#include "cf_proto.h"
#include "cf_time.h"
#include "catchup.h"
#include "clock.h"
#include "lease.h"
#include "ledger.h"
#include "metrics.h"
#include "schedule.h"

/* REP workers: enough that manual triggers arriving together can share
 * one ledger commit (cmd_trigger); each is a cheap nng context. */
#define CLOCK_WORKERS 32
#define NEXT_DEFAULT 5
#define NEXT_MAX 100

struct clock_actor {
	const clock_cfg *cfg;
	pthread_mutex_t  mu; /* sched, running, stop */
	pthread_cond_t   cv;
	clock_sched      sched;
	bool             running;
	bool             stop;
	int64_t          started_at;
	int64_t          real_start; /* real ms when virtual time began */
	cf_pg *          pg_loop;
	pthread_mutex_t  pg_mu; /* pg_cmd, last_manual */
	int64_t          last_manual; /* the latest manual fire's instant */
	/* Manual fires waiting for the ledger (cmd_trigger's group commit). */
	pthread_mutex_t  trig_mu;
	pthread_cond_t   trig_cv;
	struct trig_wait *trig_head, *trig_tail;
	bool             trig_writing;
	cf_pg *          pg_cmd;
	cf_pub *         pub; /* under pub_mu; only while leading */
	pthread_mutex_t  pub_mu;
	cf_rep *         rep; /* only while leading; lease thread's */
	pthread_t        loop;
	bool             loop_started;
	/*
	 * Leadership (lease.h). epoch is the one this clock leads with, 0
	 * when it does not: fires are only recorded with it. leading lets
	 * the loop fire; it becomes true (under mu, with a signal) once the
	 * addresses are ours, and false (from any thread) at once when the
	 * lease is lost or the ledger refuses our epoch.
	 */
	lease *          lease;
	atomic_bool      leading;
	_Atomic uint64_t epoch;
	int64_t          leader_since; /* unix ms, under mu */
	clock_metrics *  metrics;      /* metrics.h, its own lock */
};

static int64_t
real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * The clock's notion of now. With CRONFLEET_CLOCK_START / _RATE it runs
 * from a given instant at a given speed (virtual time, for tests): every
 * fire, ledger entry and tick then carries virtual instants, and services
 * take the nominal time from the tick.
 */
static int64_t
now_ms(const clock_actor *c)
{
	if (c->cfg->virt_start < 0) {
		return (real_ms());
	}
	return (c->cfg->virt_start + (real_ms() - c->real_start) * c->cfg->rate);
}

/* The real instant at which now_ms(c) reaches at. */
static int64_t
real_at(const clock_actor *c, int64_t at)
{
	if (c->cfg->virt_start < 0) {
		return (at);
	}
	return (c->real_start +
	    (at - c->cfg->virt_start + c->cfg->rate - 1) / c->cfg->rate);
}

static void
fmt_time(char *buf, size_t len, int64_t ms)
{
	cf_rfc3339_format(buf, len, ms, 0, 1);
}

/* ---- leadership ----------------------------------------------------- */

/*
 * The ledger refused a fire written with epoch: another clock has begun a
 * newer one. Stop firing now; the lease thread then closes the addresses
 * and gives up the lease. Any thread, any lock held.
 */
static void
clock_superseded(clock_actor *c, uint64_t epoch, const char *why)
{
	atomic_store(&c->leading, false);
	cf_log_kv(CF_LOG_WARN, NULL, NULL, "epoch superseded, stepping down",
	    "error", why, NULL);
	lease_lost(c->lease, epoch, why);
}

/* ---- the loop ------------------------------------------------------ */

/*
 * Records and publishes one fire, with this clock's epoch. Called without
 * c->mu held. Returns CF_ECLOSED when this clock does not lead (any more):
 * then nothing was recorded or published, and if another clock has taken
 * over this one is stepping down (clock_superseded).
 */
static int clock_publish(clock_actor *c, const char *service,
    const char *job, int64_t at, cf_trigger trigger, const char *fire_id,
    uint64_t epoch);

static int
clock_emit(clock_actor *c, cf_pg *pg, const char *service, const char *job,
    int64_t at, cf_trigger trigger, char *fire_id, size_t idlen)
{
	char     err[512];
	uint64_t epoch = atomic_load(&c->epoch);
	int      rv;

	if ((rv = cf_fire_id(fire_id, idlen, job, at)) != CF_OK) {
		return (rv);
	}
	if (epoch == 0) {
		return (CF_ECLOSED);
	}
	rv = ledger_record(pg, job, service, at, fire_id, trigger, epoch, err,
	    sizeof(err));
	if (rv == CF_ECLOSED) {
		clock_superseded(c, epoch, err);
		return (rv);
	}
	if (rv == CF_EEXIST) {
		/* Another clock, or an earlier run of this one, fired it. */
		cf_log_kv(CF_LOG_DEBUG, job, NULL, "fire already in the ledger",
		    "fire_id", fire_id, NULL);
		return (rv);
	}
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, job, NULL,
		    "fire not recorded, tick not published", "fire_id",
		    fire_id, "error", err, NULL);
		return (rv);
	}
	return (clock_publish(c, service, job, at, trigger, fire_id, epoch));
}

/* Publishes the tick of a fire in the ledger (clock_emit's second half). */
static int
clock_publish(clock_actor *c, const char *service, const char *job,
    int64_t at, cf_trigger trigger, const char *fire_id, uint64_t epoch)
{
	cf_tick         t = { 0 };
	msgpack_sbuffer sb;
	int             rv;

	t.service       = (char *) service;
	t.job           = (char *) job;
	t.fire_id       = (char *) fire_id;
	t.scheduled_for = at;
	t.trigger       = trigger;
	t.attempt       = 1;
	t.epoch         = epoch;
	msgpack_sbuffer_init(&sb);
	/* The encoder writes the whole message, topic included. */
	if ((rv = cf_proto_tick_encode(&sb, &t)) == CF_OK) {
		/*
		 * Closed when the clock stepped down meanwhile: the fire is in
		 * the ledger, and services take it up from there.
		 */
		pthread_mutex_lock(&c->pub_mu);
		rv = c->pub != NULL ? cf_pub_send_msg(c->pub, sb.data, sb.size)
		                    : CF_ECLOSED;
		pthread_mutex_unlock(&c->pub_mu);
	}
	msgpack_sbuffer_destroy(&sb);
	cf_log_kv(CF_LOG_INFO, job, NULL, "tick published", "fire_id",
	    fire_id, "trigger", cf_trigger_name(trigger), NULL);
	if (rv == CF_OK) {
		/* Lateness in real ms: under virtual time at 3600x, virtual
		 * ms would make every wake-up look an hour late. */
		int64_t rate = c->cfg->virt_start < 0 || c->cfg->rate < 1
		    ? 1
		    : c->cfg->rate;
		int64_t late = (now_ms(c) - at) / rate;
		metrics_fire(c->metrics, job, trigger,
		    trigger == CF_TRIGGER_SCHEDULE ? (late > 0 ? late : 0) : -1);
	}
	return (rv);
}

/*
 * The loop works in passes. Under c->mu it takes every due fire of every
 * job (a whole backlog for a job reached late), decides each one
 * (catchup_decide) and moves the cursors past them; without the mutex it
 * writes the skipped ones in a few batched statements and records and
 * publishes the others one by one; then, for every job whose fires could
 * not all be written, it puts the cursor back, and waits LOOP_RETRY_MS
 * (real time) before trying again. Those fires are late by then and
 * meet the misfire policy, and anything already written stays as it is
 * (the ledger's keys make writing it again a no-op).
 */
#define LOOP_PASS_MAX 100000 /* fires taken in one pass, all jobs */
#define LOOP_RETRY_MS 1000   /* real ms before retrying the ledger */
#define LOOP_REASON_LEN (CF_FIRE_ID_LEN + 32)

typedef struct pass_job {
	char    job[CLOCK_NAME_MAX];
	char    service[CLOCK_NAME_MAX];
	int64_t first; /* the cursor before the pass */
	int64_t next;  /* the cursor the pass set */
	size_t  lo, hi; /* its fires: pass.f[lo .. hi) */
	int     late;
	int     done; /* every fire written */
} pass_job;

typedef struct pass {
	catchup_fire *f;
	size_t        nf, capf;
	pass_job *    j;
	size_t        nj, capj;
	/* One chunk of skipped fires, with their texts. */
	ledger_skip *skip;
	char (*ids)[CF_FIRE_ID_LEN];
	char (*reasons)[LOOP_REASON_LEN];
	size_t nskip;
} pass;

static int
pass_init(pass *p)
{
	memset(p, 0, sizeof(*p));
	p->skip    = calloc(LEDGER_SKIP_CHUNK, sizeof(*p->skip));
	p->ids     = calloc(LEDGER_SKIP_CHUNK, sizeof(*p->ids));
	p->reasons = calloc(LEDGER_SKIP_CHUNK, sizeof(*p->reasons));
	return (p->skip && p->ids && p->reasons ? CF_OK : CF_ENOMEM);
}

static void
pass_fini(pass *p)
{
	free(p->f);
	free(p->j);
	free(p->skip);
	free(p->ids);
	free(p->reasons);
}

/* Room for one more fire; 0, or CF_ENOMEM (the pass is then cut). */
static int
pass_room_fire(pass *p)
{
	if (p->nf == p->capf) {
		size_t        cap = p->capf ? p->capf * 2 : 256;
		catchup_fire *f   = realloc(p->f, cap * sizeof(*f));
		if (f == NULL) {
			return (CF_ENOMEM);
		}
		p->f    = f;
		p->capf = cap;
	}
	return (CF_OK);
}

/* Room for one more job and its first fire; 0, or CF_ENOMEM. */
static int
pass_room_job(pass *p)
{
	if (p->nj == p->capj) {
		size_t    cap = p->capj ? p->capj * 2 : 32;
		pass_job *j   = realloc(p->j, cap * sizeof(*j));
		if (j == NULL) {
			return (CF_ENOMEM);
		}
		p->j    = j;
		p->capj = cap;
	}
	return (pass_room_fire(p));
}

/* The loop may fire only while this clock leads (lease.h). */
static bool
clock_may_fire(clock_actor *c)
{
	return (atomic_load(&c->leading));
}

/*
 * Takes one job's due fires from its cursor up to now into the pass and
 * decides them; moves the cursor past them. With c->mu held.
 */
static void
pass_take_job(
    clock_actor *c, pass *p, int slot, int64_t now, int64_t late_ms)
{
	clock_job *j  = &c->sched.jobs[slot];
	pass_job * pj = &p->j[p->nj];
	catchup_in in = { 0 };
	int64_t    at = j->next, next = -1;
	int        gap, cut = 0;

	snprintf(pj->job, sizeof(pj->job), "%s", j->name);
	snprintf(pj->service, sizeof(pj->service), "%s", j->service);
	pj->first = at;
	pj->lo    = p->nf;
	pj->late  = now - at > late_ms;
	pj->done  = 0;
	/* The first fire's gap flag: the walk is deterministic. */
	if (clock_sched_walk_next(&c->sched, slot, at - 1, &at, &gap) !=
	    CF_OK) {
		clock_sched_set_cursor(&c->sched, slot, -1);
		return;
	}
	for (;;) {
		p->f[p->nf].at  = at;
		p->f[p->nf].gap = gap;
		p->nf++;
		if (clock_sched_walk_next(&c->sched, slot, at, &next, &gap) !=
		    CF_OK) {
			next = -1;
			break;
		}
		if (next > now) {
			break;
		}
		if (p->nf >= LOOP_PASS_MAX || pass_room_fire(p) != CF_OK) {
			cut = 1;
			break;
		}
		at = next;
	}
	pj->hi       = p->nf;
	pj->next     = next;
	in.now_ms    = now;
	in.late      = pj->late;
	in.stopped   = !c->running;
	in.paused    = j->paused;
	in.misfire   = j->pol.misfire;
	in.window_ms = j->pol.window_ms;
	in.latest    = -1;
	if (cut) {
		/*
		 * once coalesces the fires of this part into the latest fire
		 * of the whole backlog, which a later pass publishes (a later
		 * one still, should time move on meanwhile).
		 */
		int64_t latest;
		char    k[24];
		if (pj->late && j->pol.misfire == CLOCK_MISFIRE_ONCE &&
		    cf_cron_prev(j->cron, now, &latest, NULL) == CF_OK) {
			in.latest = latest;
		}
		snprintf(k, sizeof(k), "%zu", pj->hi - pj->lo);
		cf_log_kv(CF_LOG_WARN, j->name, NULL,
		    "backlog cut: the rest is handled in the next pass",
		    "fires", k, NULL);
	}
	catchup_decide(&p->f[pj->lo], pj->hi - pj->lo, &in);
	clock_sched_set_cursor(&c->sched, slot, next);
	p->nj++;
}

/* Collects the due fires of every job. With c->mu held. */
static void
pass_collect(clock_actor *c, pass *p, int64_t now)
{
	int64_t late_ms = catchup_late_ms(
	    c->cfg->virt_start < 0 ? 1 : c->cfg->rate);
	int64_t at;
	int     slot;

	p->nf = p->nj = 0;
	while (p->nf < LOOP_PASS_MAX &&
	    (slot = clock_sched_peek(&c->sched, &at)) >= 0 && at <= now) {
		if (pass_room_job(p) != CF_OK) {
			break;
		}
		pass_take_job(c, p, slot, now, late_ms);
	}
}

/* Writes the chunk of skipped fires gathered so far. */
static int
pass_flush_skips(clock_actor *c, pass *p, uint64_t epoch)
{
	char err[512];
	int  rv;

	if (p->nskip == 0) {
		return (CF_OK);
	}
	rv = ledger_skip_batch(
	    c->pg_loop, p->skip, p->nskip, epoch, err, sizeof(err));
	if (rv == CF_ECLOSED) {
		clock_superseded(c, epoch, err);
	} else if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL,
		    "skipped fires not recorded; retrying", "error", err, NULL);
	} else {
		char k[24];
		for (size_t i = 0; i < p->nskip; i++) {
			metrics_skip(c->metrics, p->skip[i].job, p->skip[i].reason);
		}
		snprintf(k, sizeof(k), "%zu", p->nskip);
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "skipped fires recorded",
		    "fires", k, NULL);
	}
	p->nskip = 0;
	return (rv);
}

/* A failure after which the rest of the pass is not tried. */
static int
pass_fatal(int rv)
{
	return (rv == CF_ECONN || rv == CF_ECLOSED || rv == CF_ETIMEDOUT);
}

/*
 * Writes the pass, each job's fires in time order: skipped ones gather
 * in a batch (across jobs) that is written before the job's next
 * published fire is recorded and published, and at the end. So the
 * ledger never holds a fire of a job whose earlier fires are missing,
 * even when the clock dies mid-pass: a new leader resumes after each
 * job's latest entry (catchup_cursors) and leaves no hole. A refused
 * statement for one job's fire (CF_EDB) leaves that job for later and
 * the others go on; a failed batch, a lost connection or leadership, or
 * a database that does not answer in time ends the pass. Marks the jobs
 * whose fires are all written. Without c->mu.
 */
static void
pass_write(clock_actor *c, pass *p)
{
	uint64_t epoch = atomic_load(&c->epoch);
	int      rv    = epoch != 0 ? CF_OK : CF_ECLOSED;
	int      lost  = 0; /* a batch of skipped fires was not written */

	for (size_t k = 0; k < p->nj && !pass_fatal(rv) && !lost; k++) {
		pass_job *pj        = &p->j[k];
		size_t    published = 0;
		char      fire_id[CF_FIRE_ID_LEN];

		rv = CF_OK;
		for (size_t i = pj->lo; i < pj->hi && rv == CF_OK && !lost;
		     i++) {
			catchup_fire *f = &p->f[i];
			ledger_skip * s = &p->skip[p->nskip];

			if (f->why == CATCHUP_PUBLISH) {
				if (pass_flush_skips(c, p, epoch) != CF_OK) {
					lost = 1;
					break;
				}
				rv = clock_emit(c, c->pg_loop, pj->service, pj->job,
				    f->at, f->trigger, fire_id, sizeof(fire_id));
				if (rv == CF_EEXIST) {
					rv = CF_OK; /* in the ledger already: handled */
				}
				published += rv == CF_OK;
				continue;
			}
			if (cf_fire_id(p->ids[p->nskip], CF_FIRE_ID_LEN, pj->job,
			        f->at) != CF_OK) {
				continue; /* cannot be: names are checked */
			}
			catchup_reason_text(p->reasons[p->nskip], LOOP_REASON_LEN,
			    f->why, pj->job, f->into);
			s->job     = pj->job;
			s->service = pj->service;
			s->fire_id = p->ids[p->nskip];
			s->reason  = p->reasons[p->nskip];
			s->at      = f->at;
			s->trigger = f->trigger;
			if (++p->nskip == LEDGER_SKIP_CHUNK &&
			    pass_flush_skips(c, p, epoch) != CF_OK) {
				lost = 1;
			}
		}
		pj->done = rv == CF_OK && !lost;
		if (pj->done && pj->late) {
			char n[24], pub[24], first[40];
			snprintf(n, sizeof(n), "%zu", pj->hi - pj->lo);
			snprintf(pub, sizeof(pub), "%zu", published);
			fmt_time(first, sizeof(first), p->f[pj->lo].at);
			cf_log_kv(CF_LOG_INFO, pj->job, NULL,
			    "late fires handled by the misfire policy", "fires", n,
			    "published", pub, "since", first, NULL);
		}
	}
	if (!lost && pass_flush_skips(c, p, epoch) != CF_OK) {
		lost = 1;
	}
	if (lost) {
		/*
		 * The batch may have held skipped fires of any job taken so
		 * far: none counts as done (writing them again is harmless).
		 */
		p->nskip = 0;
		for (size_t i = 0; i < p->nj; i++) {
			p->j[i].done = 0;
		}
	}
}

/*
 * Puts back the cursors of the jobs not done, latest pass entry first
 * (a job cut into several entries returns to its first). A cursor that a
 * command has moved meanwhile is left alone. With c->mu held. Returns
 * the number of jobs put back.
 */
static size_t
pass_undo(clock_actor *c, pass *p)
{
	size_t undone = 0;
	for (size_t k = p->nj; k-- > 0;) {
		pass_job *pj = &p->j[k];
		int       slot;
		if (pj->done) {
			continue;
		}
		undone++;
		if ((slot = clock_sched_find(&c->sched, pj->job)) >= 0 &&
		    c->sched.jobs[slot].next == pj->next) {
			clock_sched_set_cursor(&c->sched, slot, pj->first);
		}
	}
	return (undone);
}

/* Waits until the real instant r (ms) or a signal. With c->mu held. */
static void
loop_wait_until(clock_actor *c, int64_t r)
{
	/* The condition variable waits on CLOCK_REALTIME. */
	struct timespec ts = { (time_t) (r / 1000),
		(long) (r % 1000) * 1000000L };
	pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void *
clock_loop(void *arg)
{
	clock_actor *c        = arg;
	int64_t      retry_at = 0; /* real ms: no pass before it */
	pass         p;

	if (pass_init(&p) != CF_OK) {
		/* Without it the clock cannot fire: say so and stop firing. */
		cf_log_kv(CF_LOG_ERROR, NULL, NULL,
		    "out of memory: the clock loop cannot start", NULL);
		pass_fini(&p);
		return (NULL);
	}
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		int64_t at, now;

		if (!clock_may_fire(c) ||
		    clock_sched_peek(&c->sched, &at) < 0) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		if (real_ms() < retry_at) {
			loop_wait_until(c, retry_at);
			continue;
		}
		if (at > (now = now_ms(c))) {
			loop_wait_until(c, real_at(c, at));
			continue;
		}
		pass_collect(c, &p, now);
		pthread_mutex_unlock(&c->mu);
		pass_write(c, &p);
		pthread_mutex_lock(&c->mu);
		if (pass_undo(c, &p) > 0 || p.nj == 0) {
			/* Not written (or out of memory): wait, never spin. */
			retry_at = real_ms() + LOOP_RETRY_MS;
		}
	}
	pthread_mutex_unlock(&c->mu);
	pass_fini(&p);
	return (NULL);
}

/* ---- commands -------------------------------------------------------- */

/* Replies are built as cJSON and sent in the request's own form. */
typedef struct {
	cJSON *data;
	char   error[1024];
} answer;

static cJSON *
job_json(const clock_job *j, const clock_sched *s)
{
	cJSON * o = cJSON_CreateObject();
	char    when[40] = "";
	int64_t at;

	cJSON_AddStringToObject(o, "job", j->name);
	cJSON_AddStringToObject(o, "service", j->service);
	cJSON_AddStringToObject(o, "schedule", j->expr);
	/* A schedule that names its zone (CRON_TZ=Zone expr) runs in it. */
	if (strncmp(j->expr, "CRON_TZ=", 8) == 0
	    || strncmp(j->expr, "TZ=", 3) == 0) {
		const char *z = strchr(j->expr, '=') + 1;
		snprintf(when, sizeof(when), "%.*s", (int) strcspn(z, " \t"), z);
		cJSON_AddStringToObject(o, "tz", when);
		when[0] = '\0';
	} else {
		cJSON_AddStringToObject(o, "tz",
		    j->tz[0] ? j->tz
		             : (s->default_tz[0] ? s->default_tz : "UTC"));
	}
	cJSON_AddBoolToObject(o, "enabled", j->enabled);
	cJSON_AddBoolToObject(o, "paused", j->paused);
	/*
	 * The next fire that will run: none while paused; the cursor's
	 * walk may hold a fire that a DST gap swallows, which is not one.
	 */
	if (j->next >= 0 && !j->paused && j->cron != NULL &&
	    cf_cron_next(j->cron, j->next - 1, &at, NULL) == CF_OK) {
		cf_rfc3339_format(
		    when, sizeof(when), at, cf_cron_utc_offset(j->cron, at), 0);
		cJSON_AddStringToObject(o, "next_fire", when);
	} else {
		cJSON_AddNullToObject(o, "next_fire");
	}
	cJSON_AddStringToObject(
	    o, "misfire", clock_misfire_name(j->pol.misfire));
	cJSON_AddNumberToObject(
	    o, "catchup_window_ms", (double) j->pol.window_ms);
	cJSON_AddStringToObject(
	    o, "overlap", clock_overlap_name(j->pol.overlap));
	cJSON_AddNumberToObject(o, "timeout_ms", (double) j->pol.timeout_ms);
	cJSON_AddStringToObject(o, "priority", j->pol.priority);
	cJSON_AddNumberToObject(o, "retries", clock_policy_retries(&j->pol));
	if (j->pol.after[0] != '\0') {
		cJSON_AddStringToObject(o, "after", j->pol.after);
	} else {
		cJSON_AddNullToObject(o, "after");
	}
	cJSON_AddStringToObject(o, "dst_gap", clock_gap_name(j->pol.gap));
	cJSON_AddStringToObject(
	    o, "dst_repeat", clock_repeat_name(j->pol.repeat));
	return (o);
}

/* The fires of one job, with their DST marks. */
static cJSON *
next_json(const clock_sched *s, int slot, int64_t from, int n)
{
	int64_t  at[NEXT_MAX];
	unsigned fl[NEXT_MAX];
	int      k = clock_sched_upcoming(s, slot, from, at, fl, n);
	cJSON *  o = job_json(&s->jobs[slot], s);
	cJSON *  a = cJSON_AddArrayToObject(o, "fires");
	for (int i = 0; i < k; i++) {
		char   when[40];
		cJSON *f = cJSON_CreateObject();
		cf_rfc3339_format(when, sizeof(when), at[i],
		    cf_cron_utc_offset(s->jobs[slot].cron, at[i]), 0);
		cJSON_AddStringToObject(f, "at", when);
		if (fl[i] & CF_FIRE_DST_SHIFTED) {
			cJSON_AddStringToObject(f, "dst", "shifted");
		} else if (fl[i] & CF_FIRE_DST_AT_TRANSITION) {
			cJSON_AddStringToObject(f, "dst", "at-transition");
		} else if (fl[i] & CF_FIRE_DST_DOUBLED) {
			cJSON_AddStringToObject(f, "dst", "repeated-hour");
		} else if (fl[i] & CF_FIRE_DST_REPEATED) {
			cJSON_AddStringToObject(f, "dst", "repeated-hour-once");
		}
		cJSON_AddItemToArray(a, f);
	}
	return (o);
}

static int
cmd_need_job(const clock_actor *c, const cf_command *cmd, answer *a)
{
	int slot;
	if (cmd->job == NULL) {
		snprintf(a->error, sizeof(a->error), "%s: missing job name",
		    cmd->cmd);
		return (-1);
	}
	if ((slot = clock_sched_find(&c->sched, cmd->job)) < 0) {
		snprintf(a->error, sizeof(a->error), "unknown job '%s'",
		    cmd->job);
	}
	return (slot);
}

/* With c->mu held. Only the leader listens, so only it answers. */
static void
cmd_status(clock_actor *c, answer *a)
{
	char       when[40];
	uint64_t   epoch = atomic_load(&c->epoch);
	lease_info li;

	lease_info_get(c->lease, &li);
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "service", "clock");
	cJSON_AddStringToObject(
	    a->data, "scheduler", c->running ? "running" : "stopped");
	fmt_time(when, sizeof(when), c->started_at);
	cJSON_AddStringToObject(a->data, "started_at", when);
	cJSON_AddNumberToObject(a->data, "jobs", c->sched.n);
	cJSON_AddStringToObject(
	    a->data, "role", epoch != 0 ? "leader" : "standby");
	cJSON_AddStringToObject(a->data, "clock_id", c->cfg->clock_id);
	cJSON_AddNumberToObject(a->data, "epoch", (double) epoch);
	cJSON_AddStringToObject(a->data, "lease", lease_via_name(li.via));
	/* The database's time of the takeover: real time, not virtual. */
	fmt_time(when, sizeof(when), c->leader_since);
	cJSON_AddStringToObject(a->data, "leader_since", when);
}

static void
cmd_jobs(clock_actor *c, answer *a)
{
	a->data = cJSON_CreateArray();
	for (int i = 0; i < c->sched.n; i++) {
		cJSON_AddItemToArray(a->data, job_json(&c->sched.jobs[i], &c->sched));
	}
}

static void
cmd_next(clock_actor *c, const cf_command *cmd, answer *a)
{
	int     n   = cmd->n > 0 ? (cmd->n > NEXT_MAX ? NEXT_MAX : cmd->n)
	                         : NEXT_DEFAULT;
	int64_t now = now_ms(c);
	int     slot;

	if (cmd->job != NULL) {
		if ((slot = cmd_need_job(c, cmd, a)) >= 0) {
			a->data = next_json(&c->sched, slot, now, n);
		}
		return;
	}
	a->data = cJSON_CreateArray();
	for (int i = 0; i < c->sched.n; i++) {
		cJSON_AddItemToArray(a->data, next_json(&c->sched, i, now, n));
	}
}

/*
 * Writes a job's row; with c->pg_mu held by the caller. Runtime changes
 * (expr from "schedule", pause) are what must survive a restart; the
 * policies are written when pol is not NULL (registration).
 */
static int
store_job(clock_actor *c, const clock_job *j, int overridden,
    const clock_policy *pol, const char *by, char *err, size_t errlen)
{
	return (store_schedule(c->pg_cmd, j->name, j->service, j->expr, j->tz,
	    j->paused, overridden, pol, by, err, errlen));
}

/*
 * register <job> <service> <expr> [tz] [key=value ...]: a tz never holds
 * '=', so the first option may follow expr directly.
 */
static void
cmd_register(clock_actor *c, const cf_command *cmd, answer *a)
{
	char         err[512];
	stored_job   st;
	clock_policy pol;
	const char * service, *expr, *tz = "";
	size_t       first_opt = 2;
	int          slot, found, rv = CF_OK;

	if (cmd->job == NULL || cmd->nargs < 2) {
		snprintf(a->error, sizeof(a->error),
		    "register: expected <job> <service> <expr> [tz] "
		    "[key=value ...]");
		return;
	}
	service = cmd->args[0];
	expr    = cmd->args[1];
	if (!cf_proto_name_valid(service)) {
		snprintf(a->error, sizeof(a->error),
		    "register %s: '%.40s' is not a service name (1 to %d "
		    "characters of [A-Za-z0-9_-])",
		    cmd->job, service, CLOCK_NAME_MAX - 1);
		return;
	}
	if (expr[0] == '\0') {
		snprintf(a->error, sizeof(a->error),
		    "register %s: empty schedule (use - for none)", cmd->job);
		return;
	}
	if (cmd->nargs > 2 && strchr(cmd->args[2], '=') == NULL) {
		tz        = cmd->args[2];
		first_opt = 3;
	}
	clock_policy_init(&pol);
	if (clock_policy_parse(&pol,
	        (const char *const *) cmd->args + first_opt,
	        cmd->nargs - first_opt, err, sizeof(err)) != CF_OK) {
		snprintf(a->error, sizeof(a->error), "register %s: %.400s",
		    cmd->job, err);
		return;
	}
	pthread_mutex_lock(&c->pg_mu);
	rv = store_load_one(c->pg_cmd, cmd->job, &st, &found, err, sizeof(err));
	if (rv != CF_OK) {
		pthread_mutex_unlock(&c->pg_mu);
		snprintf(a->error, sizeof(a->error), "register %s: %.400s", cmd->job,
		    err);
		return;
	}
	pthread_mutex_lock(&c->mu);
	slot = clock_sched_add(&c->sched, service, cmd->job,
	    found && st.overridden ? st.expr : expr, tz, &pol, now_ms(c),
	    found && st.overridden, a->error, sizeof(a->error));
	if (slot >= 0) {
		if (found && st.paused) {
			clock_sched_pause(&c->sched, slot, 1);
		}
		a->data = job_json(&c->sched.jobs[slot], &c->sched);
		/*
		 * Stored every time, so that the policies are known to a
		 * clock that starts before the services register again.
		 */
		rv = store_job(c, &c->sched.jobs[slot], -1, &pol, "register",
		    err, sizeof(err));
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->pg_mu);
	if (slot >= 0 && rv != CF_OK) {
		cf_log_kv(CF_LOG_WARN, cmd->job, NULL, "schedule not stored",
		    "error", err, NULL);
	}
}

/* pause, resume and schedule: change, store, then answer. */
static void
cmd_change(clock_actor *c, const cf_command *cmd, answer *a)
{
	char err[512];
	int  slot, rv = CF_OK;

	pthread_mutex_lock(&c->pg_mu);
	pthread_mutex_lock(&c->mu);
	if ((slot = cmd_need_job(c, cmd, a)) < 0) {
		goto out;
	}
	if (strcmp(cmd->cmd, "schedule") == 0) {
		if (cmd->nargs < 1) {
			snprintf(a->error, sizeof(a->error),
			    "schedule: expected <job> '<expr>'");
			goto out;
		}
		if (clock_sched_set_expr(&c->sched, slot, cmd->args[0], now_ms(c),
		        a->error, sizeof(a->error)) != CF_OK) {
			goto out;
		}
	} else {
		clock_sched_pause(
		    &c->sched, slot, strcmp(cmd->cmd, "pause") == 0);
	}
	rv = store_job(c, &c->sched.jobs[slot],
	    strcmp(cmd->cmd, "schedule") == 0 ? 1 : -1, NULL, cmd->cmd, err,
	    sizeof(err));
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s %s: applied, but not stored (lost on restart): %.400s",
		    cmd->cmd, cmd->job, err);
	}
	a->data = job_json(&c->sched.jobs[slot], &c->sched);
	pthread_cond_signal(&c->cv);
out:
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->pg_mu);
}

static void
cmd_start_stop(clock_actor *c, const cf_command *cmd, answer *a)
{
	char err[512];
	bool run = strcmp(cmd->cmd, "start") == 0;
	int  rv;

	pthread_mutex_lock(&c->pg_mu);
	rv = store_setting(c->pg_cmd, "scheduler", run ? "running" : "stopped",
	    err, sizeof(err));
	pthread_mutex_unlock(&c->pg_mu);
	pthread_mutex_lock(&c->mu);
	c->running = run;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error),
		    "%s: applied, but not stored (lost on restart): %.400s",
		    cmd->cmd, err);
		return;
	}
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "scheduler", run ? "running" : "stopped");
}

/* A manual fire: into the ledger and out as a tick, now. */
/* One manual fire waiting for the ledger. */
typedef struct trig_wait {
	struct trig_wait *next;
	const char       *job;
	char              service[CLOCK_NAME_MAX];
	int64_t           at;
	char              fire_id[CF_FIRE_ID_LEN];
	int               rv;
	char              err[256]; /* why, when rv is not CF_OK */
	bool              done;
} trig_wait;

/*
 * Writes the fires of batch (n of them) to the ledger in one statement
 * and publishes their ticks in that order, under pg_mu; sets each one's
 * rv. Each takes an instant of its own: two people pressing "trigger"
 * in the same millisecond mean two fires, so a fire comes a millisecond
 * after the last manual one if need be; one that lands on a fire already
 * in the ledger (a scheduled fire of the same job at that instant) moves
 * on a millisecond at a time, alone.
 */
static void
trig_write(clock_actor *c, trig_wait **batch, size_t n)
{
	ledger_new_fire f[LEDGER_MANY_MAX];
	uint64_t    epoch = atomic_load(&c->epoch);
	char        err[512] = "";
	int         rv    = CF_OK;
	int64_t     now   = now_ms(c);

	pthread_mutex_lock(&c->pg_mu);
	for (size_t i = 0; i < n; i++) {
		trig_wait *w = batch[i];

		w->at = now > c->last_manual ? now : c->last_manual + 1;
		c->last_manual = w->at;
		if (rv == CF_OK) {
			rv = cf_fire_id(w->fire_id, sizeof(w->fire_id), w->job,
			    w->at);
		}
		f[i].job      = w->job;
		f[i].service  = w->service;
		f[i].fire_id  = w->fire_id;
		f[i].at       = w->at;
		f[i].inserted = 0;
	}
	if (rv == CF_OK && epoch == 0) {
		rv = CF_ECLOSED;
	}
	if (rv == CF_OK) {
		rv = ledger_record_many(c->pg_cmd, f, n, CF_TRIGGER_MANUAL,
		    epoch, err, sizeof(err));
		if (rv == CF_ECLOSED) {
			clock_superseded(c, epoch, err);
		} else if (rv != CF_OK) {
			cf_log_kv(CF_LOG_ERROR, NULL, NULL,
			    "manual fires not recorded, ticks not published",
			    "fires", n > 1 ? "several" : "one", "error", err,
			    NULL);
		}
	}
	for (size_t i = 0; i < n; i++) {
		trig_wait *w = batch[i];

		w->rv = rv;
		if (rv != CF_OK) {
			snprintf(w->err, sizeof(w->err), "%.200s",
			    rv == CF_ECLOSED ? "this clock no longer leads"
			                     : err);
			continue;
		}
		if (f[i].inserted) {
			w->rv = clock_publish(c, w->service, w->job, w->at,
			    CF_TRIGGER_MANUAL, w->fire_id, epoch);
			continue;
		}
		w->rv = CF_EEXIST;
		for (int tries = 0; tries < 5 && w->rv == CF_EEXIST; tries++) {
			w->at          = ++c->last_manual;
			w->rv          = clock_emit(c, c->pg_cmd, w->service, w->job,
			             w->at, CF_TRIGGER_MANUAL, w->fire_id,
			             sizeof(w->fire_id));
		}
	}
	pthread_mutex_unlock(&c->pg_mu);
}

/*
 * Manual fires: into the ledger and out as ticks, now. Triggers that
 * arrive while one is being written wait and are then written together,
 * in one statement and one commit (group commit): the ledger's fence
 * makes its writes one at a time, so without this a burst of triggers
 * would pay one commit each, in a row. n (1..LEDGER_MANY_MAX) asks for n
 * fires of the job at once (the gateway's triggers that arrive together,
 * proto/COMMANDS.md): they queue together, so they share a commit too,
 * and the answer lists them; without n the answer is the one fire.
 */
static void
cmd_trigger(clock_actor *c, const cf_command *cmd, answer *a)
{
	trig_wait one = { 0 }, *w = &one;
	char      service[CLOCK_NAME_MAX], when[40];
	int       slot, n = cmd->n > 0 ? cmd->n : 1;

	if (n > LEDGER_MANY_MAX) {
		snprintf(a->error, sizeof(a->error),
		    "invalid n: %d fires at once; at most %d", n,
		    LEDGER_MANY_MAX);
		return;
	}
	pthread_mutex_lock(&c->mu);
	if ((slot = cmd_need_job(c, cmd, a)) < 0) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	snprintf(service, sizeof(service), "%s", c->sched.jobs[slot].service);
	pthread_mutex_unlock(&c->mu);
	if (n > 1 && (w = calloc((size_t) n, sizeof(*w))) == NULL) {
		snprintf(a->error, sizeof(a->error), "trigger %s: %s",
		    cmd->job, cf_strerror(CF_ENOMEM));
		return;
	}

	pthread_mutex_lock(&c->trig_mu);
	for (int i = 0; i < n; i++) {
		w[i].job = cmd->job;
		snprintf(w[i].service, sizeof(w[i].service), "%s", service);
		if (c->trig_tail != NULL) {
			c->trig_tail->next = &w[i];
		} else {
			c->trig_head = &w[i];
		}
		c->trig_tail = &w[i];
	}
	/* Written in queue order: the last one done means all are. */
	while (!w[n - 1].done) {
		trig_wait *batch[LEDGER_MANY_MAX];
		size_t     k = 0;

		if (c->trig_writing) {
			pthread_cond_wait(&c->trig_cv, &c->trig_mu);
			continue;
		}
		/* This thread writes what is queued, its own fires first or
		 * among the first. */
		c->trig_writing = true;
		while (c->trig_head != NULL && k < LEDGER_MANY_MAX) {
			batch[k++]   = c->trig_head;
			c->trig_head = c->trig_head->next;
		}
		if (c->trig_head == NULL) {
			c->trig_tail = NULL;
		}
		pthread_mutex_unlock(&c->trig_mu);
		trig_write(c, batch, k);
		pthread_mutex_lock(&c->trig_mu);
		for (size_t i = 0; i < k; i++) {
			batch[i]->done = true;
		}
		c->trig_writing = false;
		pthread_cond_broadcast(&c->trig_cv);
	}
	pthread_mutex_unlock(&c->trig_mu);

	for (int i = 0; i < n; i++) {
		if (w[i].rv != CF_OK) {
			snprintf(a->error, sizeof(a->error),
			    "trigger %s: the fire could not be recorded "
			    "(%s)%s%s",
			    cmd->job, cf_strerror(w[i].rv),
			    w[i].err[0] ? ": " : "", w[i].err);
			goto out;
		}
	}
	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "job", cmd->job);
	cJSON_AddStringToObject(a->data, "service", service);
	if (cmd->n == 0) {
		cJSON_AddStringToObject(a->data, "fire_id", w[0].fire_id);
		fmt_time(when, sizeof(when), w[0].at);
		cJSON_AddStringToObject(a->data, "scheduled_for", when);
	}
	cJSON_AddStringToObject(a->data, "trigger", "manual");
	if (cmd->n > 0) {
		cJSON *fires = cJSON_AddArrayToObject(a->data, "fires");
		for (int i = 0; i < n && fires != NULL; i++) {
			cJSON *f = cJSON_CreateObject();
			fmt_time(when, sizeof(when), w[i].at);
			cJSON_AddStringToObject(f, "fire_id", w[i].fire_id);
			cJSON_AddStringToObject(f, "scheduled_for", when);
			cJSON_AddItemToArray(fires, f);
		}
	}
out:
	if (w != &one) {
		free(w);
	}
}

/* A whole decimal number in [min, max]; 0, or -1 when it is not. */
static int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *    end;
	long long v;

	if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9'))) {
		return (-1);
	}
	errno = 0;
	v     = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max) {
		return (-1);
	}
	*out = v;
	return (0);
}

/*
 * fires <service> <after_seq> [min_age_ms], n the limit: the published
 * fires of the service's jobs, for services catching up. The service may
 * also come as the first argument (JSON form without "job").
 */
#define FIRES_DEFAULT 1000
#define FIRES_MAX 5000

static void
cmd_fires(clock_actor *c, const cf_command *cmd, answer *a)
{
	char *const *args    = cmd->args;
	size_t       nargs   = cmd->nargs;
	const char * service = cmd->job;
	int64_t      after, age = 0;
	int          limit = cmd->n <= 0 ? FIRES_DEFAULT
	             : cmd->n > FIRES_MAX ? FIRES_MAX
	                                  : cmd->n;
	ledger_fire *rows = NULL;
	int          n, more, rv;
	char         err[512];
	cJSON *      list;

	if (service == NULL && nargs > 0) {
		service = args[0];
		args++;
		nargs--;
	}
	if (service == NULL || !cf_proto_name_valid(service) || nargs < 1 ||
	    nargs > 2) {
		snprintf(a->error, sizeof(a->error),
		    "fires: expected <service> <after_seq> [min_age_ms] (n: at "
		    "most %d fires, default %d)",
		    FIRES_MAX, FIRES_DEFAULT);
		return;
	}
	if (parse_i64(args[0], 0, INT64_MAX, &after) != 0) {
		snprintf(a->error, sizeof(a->error),
		    "fires: after_seq '%.40s' is not a number from 0", args[0]);
		return;
	}
	if (nargs > 1 &&
	    parse_i64(args[1], 0, 366LL * 86400 * 1000, &age) != 0) {
		snprintf(a->error, sizeof(a->error),
		    "fires: min_age_ms '%.40s' is not a number of milliseconds "
		    "from 0 to a year",
		    args[1]);
		return;
	}
	pthread_mutex_lock(&c->pg_mu);
	rv = ledger_fires_page(c->pg_cmd, service, after, age, limit, &rows,
	    &n, &more, err, sizeof(err));
	pthread_mutex_unlock(&c->pg_mu);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error), "fires: %.400s", err);
		free(rows);
		return;
	}
	a->data = cJSON_CreateObject();
	cJSON_AddNumberToObject(a->data, "now", (double) now_ms(c));
	cJSON_AddNumberToObject(
	    a->data, "epoch", (double) atomic_load(&c->epoch));
	list = cJSON_AddArrayToObject(a->data, "fires");
	for (int i = 0; i < n; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddNumberToObject(f, "seq", (double) rows[i].seq);
		cJSON_AddStringToObject(f, "job", rows[i].job);
		cJSON_AddStringToObject(f, "fire_id", rows[i].fire_id);
		cJSON_AddNumberToObject(
		    f, "scheduled_for", (double) rows[i].at);
		cJSON_AddStringToObject(f, "trigger", rows[i].trigger);
		cJSON_AddItemToArray(list, f);
	}
	cJSON_AddBoolToObject(a->data, "more", more);
	free(rows);
}

/*
 * history [job] [n] [outcome=published|skipped] [since=<t>]
 * [before=<cursor>]: fires in the ledger (of job, or of every job),
 * newest first by when they were recorded; n default 20, at most 1000.
 * Each entry's "cursor" ("<recorded_at µs>:<seq>"), given back as
 * before=, is the next page. An error about the arguments starts with
 * "invalid " (the gateway answers it with 400).
 */
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

/* Reads history's key=value arguments into q; -1 with a->error set. */
static int
history_args(const cf_command *cmd, ledger_query *q, answer *a)
{
	for (size_t i = 0; i < cmd->nargs; i++) {
		const char *arg = cmd->args[i];
		const char *v   = strchr(arg, '=');
		size_t      k   = v != NULL ? (size_t) (v - arg) : 0;

		if (v == NULL) {
			snprintf(a->error, sizeof(a->error),
			    "invalid argument '%.40s': expected key=value "
			    "(outcome, since, before)",
			    arg);
			return (-1);
		}
		v++;
		if (k == 7 && strncmp(arg, "outcome", 7) == 0) {
			if (strcmp(v, "published") == 0) {
				q->outcome = 1;
			} else if (strcmp(v, "skipped") == 0) {
				q->outcome = 0;
			} else {
				snprintf(a->error, sizeof(a->error),
				    "invalid outcome '%.40s': expected "
				    "published or skipped",
				    v);
				return (-1);
			}
		} else if (k == 5 && strncmp(arg, "since", 5) == 0) {
			/* Digits are unix ms, else RFC 3339. */
			if (cf_digits(v, strlen(v))) {
				q->since = strtoll(v, NULL, 10);
			} else if (cf_rfc3339_parse(v, &q->since) != 0) {
				snprintf(a->error, sizeof(a->error),
				    "invalid since '%.40s': expected an RFC "
				    "3339 time or unix milliseconds",
				    v);
				return (-1);
			}
		} else if (k == 6 && strncmp(arg, "before", 6) == 0) {
			const char *colon = strchr(v, ':');
			if (colon == NULL
			    || !cf_digits(v, (size_t) (colon - v))
			    || !cf_digits(colon + 1, strlen(colon + 1))) {
				snprintf(a->error, sizeof(a->error),
				    "invalid before '%.40s': expected "
				    "<unix microseconds>:<seq>, an entry's "
				    "\"cursor\"",
				    v);
				return (-1);
			}
			q->before_us  = strtoll(v, NULL, 10);
			q->before_seq = strtoll(colon + 1, NULL, 10);
		} else {
			snprintf(a->error, sizeof(a->error),
			    "invalid argument '%.40s': the keys are outcome, "
			    "since and before",
			    arg);
			return (-1);
		}
	}
	return (0);
}

static void
cmd_history(clock_actor *c, const cf_command *cmd, answer *a)
{
	ledger_query  q;
	ledger_entry *rows = NULL;
	int           k, rv = 0;
	char          err[512];

	memset(&q, 0, sizeof(q));
	q.job       = cmd->job;
	q.outcome   = -1;
	q.since     = INT64_MIN;
	q.before_us = -1;
	q.n         = cmd->n <= 0 ? HISTORY_DEFAULT
	            : cmd->n > HISTORY_MAX ? HISTORY_MAX
	                                   : cmd->n;
	if (cmd->job != NULL) {
		pthread_mutex_lock(&c->mu);
		rv = cmd_need_job(c, cmd, a);
		pthread_mutex_unlock(&c->mu);
	}
	if (rv < 0 || history_args(cmd, &q, a) != 0) {
		return;
	}
	pthread_mutex_lock(&c->pg_mu);
	rv = ledger_history(c->pg_cmd, &q, &rows, &k, err, sizeof(err));
	pthread_mutex_unlock(&c->pg_mu);
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error), "history %s: %.400s",
		    cmd->job != NULL ? cmd->job : "(all jobs)", err);
		free(rows);
		return;
	}
	a->data = cJSON_CreateArray();
	for (int i = 0; i < k; i++) {
		cJSON *o = cJSON_CreateObject();
		char   when[40];
		cJSON_AddStringToObject(o, "job", rows[i].job);
		cJSON_AddStringToObject(o, "service", rows[i].service);
		cJSON_AddStringToObject(o, "fire_id", rows[i].fire_id);
		fmt_time(when, sizeof(when), rows[i].at);
		cJSON_AddStringToObject(o, "scheduled_for", when);
		cJSON_AddStringToObject(o, "trigger", rows[i].trigger);
		cJSON_AddStringToObject(
		    o, "outcome", rows[i].published ? "published" : "skipped");
		if (rows[i].published) {
			cJSON_AddNullToObject(o, "reason");
		} else {
			cJSON_AddStringToObject(o, "reason", rows[i].reason);
		}
		fmt_time(when, sizeof(when), rows[i].published_at);
		cJSON_AddStringToObject(o, "recorded_at", when);
		cJSON_AddNumberToObject(o, "epoch", (double) rows[i].epoch);
		cJSON_AddNumberToObject(o, "seq", (double) rows[i].seq);
		snprintf(err, sizeof(err), "%lld:%lld",
		    (long long) rows[i].published_us, (long long) rows[i].seq);
		cJSON_AddStringToObject(o, "cursor", err);
		cJSON_AddItemToArray(a->data, o);
	}
	free(rows);
}

/* A job "after" the parent, as chain finds it under c->mu. */
typedef struct chain_child {
	char job[CLOCK_NAME_MAX];
	char service[CLOCK_NAME_MAX];
	int  paused;
} chain_child;

#define CHAIN_MAX 64 /* children handled per call */

/*
 * chain <parent> <fire_id> <scheduled_for_ms>: the parent succeeded for
 * that fire; every enabled job after it fires at the parent's instant
 * (trigger dependency), or is recorded skipped when paused or when the
 * scheduler is stopped. The ledger's keys make a repeated call publish
 * nothing new.
 */
static void
cmd_chain(clock_actor *c, const cf_command *cmd, answer *a)
{
	chain_child kids[CHAIN_MAX];
	int         nkids = 0, found, published, running, rv = CF_OK;
	int64_t     at, ledger_at;
	char        err[512], owner[CLOCK_NAME_MAX];
	cJSON *     fired, *skipped;

	if (cmd->job == NULL || cmd->nargs != 2 ||
	    parse_i64(cmd->args[1], 0, INT64_MAX, &at) != 0) {
		snprintf(a->error, sizeof(a->error),
		    "chain: expected <parent> <fire_id> <scheduled_for_ms>");
		return;
	}
	pthread_mutex_lock(&c->mu);
	if (cmd_need_job(c, cmd, a) < 0) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	running = c->running;
	for (int i = 0; i < c->sched.n && nkids < CHAIN_MAX; i++) {
		const clock_job *j = &c->sched.jobs[i];
		if (j->enabled && strcmp(j->pol.after, cmd->job) == 0) {
			snprintf(kids[nkids].job, sizeof(kids[nkids].job), "%s",
			    j->name);
			snprintf(kids[nkids].service, sizeof(kids[nkids].service),
			    "%s", j->service);
			kids[nkids].paused = j->paused;
			nkids++;
		}
	}
	pthread_mutex_unlock(&c->mu);

	pthread_mutex_lock(&c->pg_mu);
	/* Only a fire the clock published can have succeeded. */
	rv = ledger_find_fire(c->pg_cmd, cmd->args[0], &found, &published,
	    owner, sizeof(owner), &ledger_at, err, sizeof(err));
	if (rv != CF_OK) {
		snprintf(a->error, sizeof(a->error), "chain %s: %.400s", cmd->job,
		    err);
		goto out;
	}
	if (!found || !published || strcmp(owner, cmd->job) != 0 ||
	    ledger_at != at) {
		snprintf(a->error, sizeof(a->error),
		    "chain %s: fire '%.100s' at %lld is not a published fire of "
		    "%s in the ledger",
		    cmd->job, cmd->args[0], (long long) at, cmd->job);
		goto out;
	}
	a->data = cJSON_CreateObject();
	fired   = cJSON_AddArrayToObject(a->data, "fired");
	skipped = cJSON_AddArrayToObject(a->data, "skipped");
	for (int k = 0; k < nkids && rv == CF_OK; k++) {
		char fire_id[CF_FIRE_ID_LEN];
		if (!running || kids[k].paused) {
			uint64_t    epoch  = atomic_load(&c->epoch);
			const char *reason = !running ? "scheduler stopped"
			                              : "paused";
			ledger_skip sk;
			if ((rv = cf_fire_id(fire_id, sizeof(fire_id), kids[k].job,
			         at)) != CF_OK) {
				break;
			}
			sk.job     = kids[k].job;
			sk.service = kids[k].service;
			sk.fire_id = fire_id;
			sk.reason  = reason;
			sk.at      = at;
			sk.trigger = CF_TRIGGER_DEPENDENCY;
			rv = epoch == 0 ? CF_ECLOSED
			                : ledger_skip_batch(c->pg_cmd, &sk, 1, epoch,
			                      err, sizeof(err));
			if (rv == CF_ECLOSED && epoch != 0) {
				clock_superseded(c, epoch, err);
			}
			if (rv == CF_OK) {
				cJSON *o = cJSON_CreateObject();
				metrics_skip(c->metrics, kids[k].job, reason);
				cJSON_AddStringToObject(o, "job", kids[k].job);
				cJSON_AddStringToObject(o, "fire_id", fire_id);
				cJSON_AddStringToObject(o, "reason", reason);
				cJSON_AddItemToArray(skipped, o);
			}
			continue;
		}
		rv = clock_emit(c, c->pg_cmd, kids[k].service, kids[k].job, at,
		    CF_TRIGGER_DEPENDENCY, fire_id, sizeof(fire_id));
		if (rv == CF_OK) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "job", kids[k].job);
			cJSON_AddStringToObject(o, "fire_id", fire_id);
			cJSON_AddItemToArray(fired, o);
		} else if (rv == CF_EEXIST) {
			rv = CF_OK; /* fired before: nothing new */
		}
	}
	if (rv != CF_OK) {
		/* The caller asks again; what was written stays written. */
		cJSON_Delete(a->data);
		a->data = NULL;
		snprintf(a->error, sizeof(a->error),
		    "chain %s: the dependent fires could not all be recorded "
		    "(%s); ask again",
		    cmd->job, cf_strerror(rv));
	}
out:
	pthread_mutex_unlock(&c->pg_mu);
}

/*
 * metrics: this clock's counters (metrics.h) and, per job, its next fire
 * (unix ms, null while paused or without a schedule), for /metrics.
 */
static void
cmd_metrics(clock_actor *c, answer *a)
{
	cJSON *jobs;

	a->data = cJSON_CreateObject();
	cJSON_AddStringToObject(a->data, "service", "clock");
	cJSON_AddNumberToObject(
	    a->data, "epoch", (double) atomic_load(&c->epoch));
	metrics_json(c->metrics, a->data);
	jobs = cJSON_AddArrayToObject(a->data, "jobs");
	pthread_mutex_lock(&c->mu);
	cJSON_AddBoolToObject(a->data, "running", c->running);
	for (int i = 0; i < c->sched.n; i++) {
		const clock_job *j = &c->sched.jobs[i];
		cJSON           *o = cJSON_CreateObject();
		int64_t          at;

		cJSON_AddStringToObject(o, "job", j->name);
		cJSON_AddStringToObject(o, "service", j->service);
		cJSON_AddBoolToObject(o, "paused", j->paused);
		/* As job_json's next_fire: the cursor's walk, gap-checked. */
		if (j->next >= 0 && !j->paused && j->cron != NULL &&
		    cf_cron_next(j->cron, j->next - 1, &at, NULL) == CF_OK) {
			cJSON_AddNumberToObject(o, "next_fire_ms", (double) at);
		} else {
			cJSON_AddNullToObject(o, "next_fire_ms");
		}
		metrics_job_json(c->metrics, j->name, o);
		cJSON_AddItemToArray(jobs, o);
	}
	pthread_mutex_unlock(&c->mu);
}

static void
clock_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len)
{
	clock_actor *         c   = arg;
	cf_command *    cmd = NULL;
	answer          a   = { NULL, "" };
	int             is_text = 0;

	if (cf_proto_request_decode(req, len, &cmd, &is_text, a.error,
	        sizeof(a.error)) != CF_OK) {
		/* Undecodable: is_text still says which form to answer in. */
	} else if (strcmp(cmd->cmd, "status") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_status(c, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "ping") == 0) {
		a.data = cJSON_CreateObject();
		cJSON_AddBoolToObject(a.data, "pong", 1);
	} else if (strcmp(cmd->cmd, "jobs") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_jobs(c, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "overview") == 0) {
		/* status and jobs in one answer, from one snapshot: the
		 * gateway's status route needs both (one round trip less). */
		answer jobs = { NULL, "" };

		pthread_mutex_lock(&c->mu);
		cmd_status(c, &a);
		cmd_jobs(c, &jobs);
		pthread_mutex_unlock(&c->mu);
		cJSON_AddItemToObject(a.data, "job_list", jobs.data);
	} else if (strcmp(cmd->cmd, "next") == 0) {
		pthread_mutex_lock(&c->mu);
		cmd_next(c, cmd, &a);
		pthread_mutex_unlock(&c->mu);
	} else if (strcmp(cmd->cmd, "register") == 0) {
		cmd_register(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "pause") == 0 ||
	    strcmp(cmd->cmd, "resume") == 0 ||
	    strcmp(cmd->cmd, "schedule") == 0) {
		cmd_change(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "start") == 0 ||
	    strcmp(cmd->cmd, "stop") == 0) {
		cmd_start_stop(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "trigger") == 0) {
		cmd_trigger(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "fires") == 0) {
		cmd_fires(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "chain") == 0) {
		cmd_chain(c, cmd, &a);
	} else if (strcmp(cmd->cmd, "metrics") == 0) {
		cmd_metrics(c, &a);
	} else if (strcmp(cmd->cmd, "history") == 0) {
		cmd_history(c, cmd, &a);
	} else {
		snprintf(a.error, sizeof(a.error),
		    "unknown command '%.40s' (the clock answers: status, jobs, "
		    "overview, next, trigger, pause, resume, schedule, start, stop, "
		    "register, fires, chain, history, metrics, ping)",
		    cmd->cmd);
	}
	cf_proto_answer(a.data, a.error, is_text, reply, reply_len);
	cJSON_Delete(a.data);
	cf_command_free(cmd);
}

/* ---- open / close ---------------------------------------------------- */

/*
 * Loads the stored schedules and switches into a fresh table: run each
 * time this clock becomes leader, since the leader before it may have
 * changed them. With c->pg_mu and c->mu held.
 */
static int
clock_load(clock_actor *c, char *err, size_t errlen)
{
	stored_job *rows = NULL;
	int         n, rv;
	char        running[32] = "";

	if ((rv = store_load_all(c->pg_cmd, &rows, &n, err, errlen)) != CF_OK) {
		return (rv);
	}
	clock_sched_fini(&c->sched);
	if ((rv = clock_sched_init(&c->sched, (int) c->cfg->max_jobs,
	         c->cfg->default_tz)) != CF_OK) {
		/* Left empty, so that clock_close frees nothing twice. */
		memset(&c->sched, 0, sizeof(c->sched));
		free(rows);
		snprintf(err, errlen, "out of memory for the job table");
		return (rv);
	}
	c->running = c->cfg->enabled;
	for (int i = 0; i < n; i++) {
		char why[512];
		int  slot = clock_sched_add(&c->sched, rows[i].service,
                    rows[i].job, rows[i].expr, rows[i].tz, &rows[i].pol,
                    now_ms(c), rows[i].overridden, why, sizeof(why));
		if (slot < 0) {
			cf_log_kv(CF_LOG_WARN, rows[i].job, NULL,
			    "stored schedule ignored", "error", why, NULL);
			continue;
		}
		if (rows[i].paused) {
			clock_sched_pause(&c->sched, slot, 1);
		}
	}
	free(rows);
	if (store_get_setting(c->pg_cmd, "scheduler", running, sizeof(running),
	        err, errlen) == CF_OK &&
	    running[0] != '\0') {
		c->running = strcmp(running, "running") == 0;
	}
	return (CF_OK);
}

/*
 * Lease callbacks (lease.h), on the lease thread. Becoming leader: the
 * state the previous leader left in the database, the cursors from the
 * ledger, then the addresses; the loop fires once both are open.
 */
static int
clock_lead(void *arg, const lease_info *info)
{
	clock_actor *c = arg;
	char         err[512];
	int          rv;

	pthread_mutex_lock(&c->pg_mu);
	pthread_mutex_lock(&c->mu);
	if ((rv = clock_load(c, err, sizeof(err))) == CF_OK) {
		rv = catchup_cursors(
		    &c->sched, c->pg_cmd, now_ms(c), err, sizeof(err));
	}
	if (rv == CF_OK) {
		c->leader_since = info->since_ms;
		atomic_store(&c->epoch, info->epoch);
	}
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->pg_mu);
	if (rv != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL,
		    "cannot take over: state not loaded", "error", err, NULL);
	}
	return (rv);
}

static int
clock_listen(void *arg)
{
	clock_actor *c = arg;
	char         err[512], ep[24];
	cf_pub *     pub;
	int          rv;

	if (c->pub == NULL) {
		if ((rv = cf_pub_open(&pub, c->cfg->pub_url, err, sizeof(err))) !=
		    CF_OK) {
			cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "cannot listen yet",
			    "error", err, NULL);
			return (rv);
		}
		pthread_mutex_lock(&c->pub_mu);
		c->pub = pub;
		pthread_mutex_unlock(&c->pub_mu);
	}
	if (c->rep == NULL &&
	    (rv = cf_rep_open(&c->rep, c->cfg->rep_url, CLOCK_WORKERS, 0,
	         clock_handle, c, err, sizeof(err))) != CF_OK) {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "cannot listen yet", "error",
		    err, NULL);
		return (rv);
	}
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->leading, true);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	snprintf(ep, sizeof(ep), "%llu",
	    (unsigned long long) atomic_load(&c->epoch));
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "leading: listening and firing",
	    "rep", c->cfg->rep_url, "pub", c->cfg->pub_url, "epoch", ep,
	    "scheduler", c->running ? "running" : "stopped", NULL);
	return (CF_OK);
}

/* Stepping down: no fire from now on, then the addresses are freed. */
static void
clock_step_down(void *arg, const char *reason)
{
	clock_actor *c = arg;

	(void) reason; /* the lease logs it */
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->leading, false);
	atomic_store(&c->epoch, 0);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	/* Handlers finish first: a trigger may be publishing. */
	cf_rep_close(c->rep);
	c->rep = NULL;
	pthread_mutex_lock(&c->pub_mu);
	cf_pub_close(c->pub);
	c->pub = NULL;
	pthread_mutex_unlock(&c->pub_mu);
}

int
clock_open(clock_actor **out, const clock_cfg *cfg, char *err, size_t errlen)
{
	static const lease_cbs cbs = { clock_lead, clock_listen,
		clock_step_down };
	clock_actor *c;
	lease_cfg    lc;
	char         dir[1024];
	int          rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return (CF_ENOMEM);
	}
	c->cfg     = cfg;
	c->running = cfg->enabled;
	/* Clocks given the same anchor share one virtual timeline. */
	c->real_start = cfg->anchor >= 0 ? cfg->anchor : real_ms();
	c->started_at = now_ms(c);
	atomic_init(&c->leading, false);
	atomic_init(&c->epoch, 0);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->pg_mu, NULL);
	pthread_mutex_init(&c->trig_mu, NULL);
	pthread_cond_init(&c->trig_cv, NULL);
	pthread_mutex_init(&c->pub_mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((rv = metrics_open(&c->metrics)) != CF_OK ||
	    (rv = clock_sched_init(&c->sched, (int) cfg->max_jobs,
	         cfg->default_tz)) != CF_OK) {
		goto fail;
	}
	if ((rv = cf_pg_open(&c->pg_cmd, cfg->database_url, err, errlen)) !=
	        CF_OK ||
	    (rv = cf_pg_open(&c->pg_loop, cfg->database_url, err, errlen)) !=
	        CF_OK) {
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s/clock", cfg->migrations);
	if ((rv = cf_migrate_apply(c->pg_cmd, cfg->schema, dir, err, errlen)) !=
	    CF_OK) {
		goto fail;
	}
	if ((rv = store_init(c->pg_cmd, cfg->schema, err, errlen)) != CF_OK ||
	    (rv = store_init(c->pg_loop, cfg->schema, err, errlen)) != CF_OK) {
		goto fail;
	}
	if (pthread_create(&c->loop, NULL, clock_loop, c) != 0) {
		snprintf(err, errlen, "cannot start the clock loop");
		rv = CF_ESYSTEM;
		goto fail;
	}
	c->loop_started = true;
	lc.redis_url    = cfg->redis_url;
	lc.database_url = cfg->database_url;
	lc.schema       = cfg->schema;
	lc.id           = cfg->clock_id;
	lc.lease_ms     = cfg->lease_ms;
	if ((rv = lease_open(&c->lease, &lc, &cbs, c, err, errlen)) != CF_OK) {
		goto fail;
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "clock started, standby",
	    "clock_id", cfg->clock_id, "rep", cfg->rep_url, "pub",
	    cfg->pub_url, NULL);
	*out = c;
	return (CF_OK);
fail:
	clock_close(c);
	return (rv);
}

void
clock_close(clock_actor *c)
{
	if (c == NULL) {
		return;
	}
	/*
	 * The lease first: a leader steps down (no more fires, addresses
	 * closed) and then frees the key and the lock for a standby.
	 */
	lease_close(c->lease);
	cf_rep_close(c->rep);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->loop_started) {
		pthread_join(c->loop, NULL);
	}
	cf_pub_close(c->pub);
	cf_pg_close(c->pg_loop);
	cf_pg_close(c->pg_cmd);
	clock_sched_fini(&c->sched);
	metrics_close(c->metrics);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->pg_mu);
	pthread_mutex_destroy(&c->trig_mu);
	pthread_cond_destroy(&c->trig_cv);
	pthread_mutex_destroy(&c->pub_mu);
	free(c);
}
