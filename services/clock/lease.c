/*
 * lease.c - the clock's leader lease: Redis first, a PostgreSQL advisory
 * lock when Redis cannot be reached. The contract is in lease.h.
 *
 * One thread does everything: it owns the Redis and PostgreSQL handles
 * (neither is shared) and the state below the "lease thread only" line.
 * Other threads only read the published lease_info and raise the "lost"
 * flag, both under mu.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_pg.h"
#include "cf_redis.h"
#include "lease.h"
#include "ledger.h"

/* How often a standby tries, and how long a bind is retried, in ms. */
#define LEASE_TRY_MIN 100
#define LEASE_TRY_MAX 500
#define LEASE_LISTEN_RETRY 100
#define LEASE_WARN_EVERY 10000
/* Redis command timeout: a fifth of the lease, within these bounds. */
#define LEASE_REDIS_TIMEOUT_MIN 100
#define LEASE_REDIS_TIMEOUT_MAX 1000

/*
 * Takes the key when free (SET NX PX), or refreshes it when it already
 * holds our id (our own lease survived, e.g. while we led on the lock or
 * after a reply lost on the way back). Returns {1, 0} when we hold it,
 * else {0, ms until the holder's lease runs out}, so a standby can try
 * again just as it expires.
 */
static const char lua_acquire[]
    = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
      "return {1, 0} end "
      "if redis.call('GET', KEYS[1]) == ARGV[1] then "
      "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {1, 0} end "
      "return {0, redis.call('PTTL', KEYS[1])}";

/* Compare-and-set: extend, or delete, only while the key is ours. */
static const char lua_renew[]
    = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
      "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
static const char lua_release[]
    = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
      "return redis.call('DEL', KEYS[1]) end return 0";

struct lease {
	lease_cfg       cfg;
	lease_cbs       cbs;
	void           *arg;
	char            key[128]; /* Redis key, also names the lock */
	int64_t         lock_key;
	int64_t         try_ms;   /* a standby's attempts */
	int64_t         renew_ms; /* a leader's renewals */
	pthread_mutex_t mu;       /* stop, lost*, info */
	pthread_cond_t  cv;       /* on CLOCK_MONOTONIC */
	bool            stop;
	bool            lost;
	uint64_t        lost_epoch;
	char            lost_reason[256];
	lease_info      info;
	pthread_t       thr;
	bool            started;

	/* ---- lease thread only ---- */
	cf_redis *r;
	cf_pg    *pg;
	lease_via held;
	uint64_t  epoch;
	bool      listening;
	int       listen_tries;
	int64_t   confirmed;   /* mono ms the lease was last known ours */
	int64_t   redis_down;  /* mono ms Redis first failed, or -1 */
	int64_t   other_since; /* on the lock: another holds the key, or -1 */
	int64_t   next_try;    /* next Redis attempt (standby or on lock) */
	int64_t   next_renew;  /* next renewal / lock check */
	int64_t   next_listen;
	int64_t   lead_began; /* mono ms this leadership began */
	bool      stop_asked; /* stepping down because of lease_close */
	int64_t   warned;     /* mono ms of the last lease_warn warning */
};

const char *
lease_via_name(lease_via via)
{
	switch (via) {
	case LEASE_REDIS:
		return ("redis");
	case LEASE_POSTGRES:
		return ("postgres");
	default:
		return ("none");
	}
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return (v < lo ? lo : v > hi ? hi : v);
}

static void
lease_publish(lease *l)
{
	pthread_mutex_lock(&l->mu);
	l->info.via   = l->held;
	l->info.epoch = l->epoch;
	pthread_mutex_unlock(&l->mu);
}

/* ---- Redis ------------------------------------------------------------ */

/*
 * Notes whether Redis answered: a change is logged once, not every
 * attempt, so an outage does not flood the log.
 */
static void
lease_redis_state(lease *l, int rv, const char *err)
{
	if (rv == CF_OK) {
		if (l->redis_down >= 0) {
			cf_log_kv(CF_LOG_INFO, NULL, NULL,
			    "lease: Redis answers again", NULL);
		}
		l->redis_down = -1;
		return;
	}
	if (l->redis_down < 0) {
		l->redis_down = mono_ms();
		cf_log_kv(CF_LOG_WARN, NULL, NULL, "lease: Redis unreachable",
		    "error", err, "lease", lease_via_name(l->held), NULL);
	}
}

static int
lease_redis(
    lease *l, redisReply **rep, const char *script, char *err, size_t errlen)
{
	int rv;

	*rep = NULL;
	if (l->r == NULL) {
		if ((rv = cf_redis_open(&l->r, l->cfg.redis_url, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		cf_redis_set_timeout(l->r,
		    (int) clamp64(l->cfg.lease_ms / 5, LEASE_REDIS_TIMEOUT_MIN,
		        LEASE_REDIS_TIMEOUT_MAX));
	}
	/* Each script is safe to run twice (see above). */
	return (
	    cf_redis_cmd_idem(l->r, rep, err, errlen, "EVAL %s 1 %s %s %lld",
	        script, l->key, l->cfg.id, (long long) l->cfg.lease_ms));
}

/*
 * Tries to take (or keep) the Redis key. Returns CF_OK with *got, and
 * when not got *wait_ms until the holder's lease runs out (-1: unknown);
 * or the error that says Redis cannot be used now.
 */
static int
lease_redis_acquire(lease *l, int *got, int64_t *wait_ms)
{
	char        err[256];
	redisReply *rep;
	int         rv;

	*got     = 0;
	*wait_ms = -1;
	if ((rv = lease_redis(l, &rep, lua_acquire, err, sizeof(err)))
	    == CF_OK) {
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
		    || rep->element[0]->type != REDIS_REPLY_INTEGER
		    || rep->element[1]->type != REDIS_REPLY_INTEGER) {
			snprintf(err, sizeof(err),
			    "Redis: unexpected reply to the lease script");
			rv = CF_EPROTO;
		} else {
			*got     = rep->element[0]->integer == 1;
			*wait_ms = rep->element[1]->integer;
		}
		freeReplyObject(rep);
	}
	lease_redis_state(l, rv, err);
	return (rv);
}

/* The compare-and-set renewal: *ours 1 extended, 0 not our key. */
static int
lease_redis_renew(lease *l, int *ours)
{
	char        err[256];
	redisReply *rep;
	int         rv;

	*ours = 0;
	if ((rv = lease_redis(l, &rep, lua_renew, err, sizeof(err)))
	    == CF_OK) {
		*ours = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
	}
	lease_redis_state(l, rv, err);
	return (rv);
}

/* Deletes the key if it is still ours; a failure only costs a lease. */
static void
lease_redis_release(lease *l)
{
	char        err[256];
	redisReply *rep;

	if (lease_redis(l, &rep, lua_release, err, sizeof(err)) == CF_OK) {
		freeReplyObject(rep);
	} else {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL,
		    "lease: Redis key not deleted (it expires)", "error", err,
		    NULL);
	}
}

/* ---- PostgreSQL ------------------------------------------------------- */

static int
lease_pg(lease *l, char *err, size_t errlen)
{
	if (l->pg != NULL) {
		return (CF_OK);
	}
	return (cf_pg_open(&l->pg, l->cfg.database_url, err, errlen));
}

static int
lease_pg_trylock(lease *l, int *got, char *err, size_t errlen)
{
	int rv;

	*got = 0;
	if ((rv = lease_pg(l, err, errlen)) != CF_OK) {
		return (rv);
	}
	return (cf_pg_trylock(l->pg, l->lock_key, got, err, errlen));
}

static void
lease_pg_unlock(lease *l)
{
	char err[256];

	/* A lost connection has released it already. */
	if (l->pg != NULL
	    && cf_pg_unlock(l->pg, l->lock_key, err, sizeof(err)) != CF_OK) {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL,
		    "lease: PostgreSQL lock not released explicitly", "error",
		    err, NULL);
	}
}

/* ---- leadership ------------------------------------------------------- */

/*
 * A failed attempt to take over, e.g. while PostgreSQL is down: a warning
 * at most every LEASE_WARN_EVERY ms, debug lines in between, so that an
 * outage does not flood the log with one line per attempt.
 */
static void
lease_warn(lease *l, const char *msg, const char *err)
{
	int64_t now = mono_ms();
	int     lvl = CF_LOG_DEBUG;

	if (l->warned == 0 || now - l->warned >= LEASE_WARN_EVERY) {
		l->warned = now;
		lvl       = CF_LOG_WARN;
	}
	cf_log_kv(lvl, NULL, NULL, msg, "error", err, NULL);
}

/* Gives up the lease: the clock first, then the key or the lock. */
static void
lease_step_down(lease *l, const char *reason)
{
	char ep[24];

	if (l->held == LEASE_NONE) {
		return;
	}
	l->cbs.down(l->arg, reason);
	if (l->held == LEASE_REDIS) {
		lease_redis_release(l);
	} else {
		lease_pg_unlock(l);
	}
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) l->epoch);
	cf_log_kv(l->stop_asked ? CF_LOG_INFO : CF_LOG_WARN, NULL, NULL,
	    l->stop_asked ? "leadership given up" : "leadership lost", "epoch",
	    ep, "via", lease_via_name(l->held), "reason", reason, NULL);
	l->held      = LEASE_NONE;
	l->listening = false;
	l->next_try  = mono_ms() + l->try_ms;
	lease_publish(l);
}

/*
 * The key or the lock is ours (via): begin an epoch and hand over to the
 * clock. Through Redis, first make sure no clock leads on the lock: one
 * that moved there during an outage keeps leading until it takes the key
 * back itself, so the key goes back.
 */
static void
lease_become(lease *l, lease_via via)
{
	char       err[512], ep[24];
	int        got = 1, rv;
	int64_t    since;
	lease_info info;

	if (via == LEASE_REDIS
	    && (rv = lease_pg_trylock(l, &got, err, sizeof(err))) != CF_OK) {
		lease_warn(l,
		    "lease: cannot check the PostgreSQL lock, key given back",
		    err);
		lease_redis_release(l);
		return;
	}
	if (!got) {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL,
		    "lease: another clock leads on the PostgreSQL lock, key "
		    "given back",
		    NULL);
		lease_redis_release(l);
		return;
	}
	rv = leadership_begin(l->pg, l->cfg.id, lease_via_name(via), &l->epoch,
	    &since, err, sizeof(err));
	if (via == LEASE_REDIS || rv != CF_OK) {
		lease_pg_unlock(l);
	}
	if (rv != CF_OK) {
		lease_warn(
		    l, "lease: cannot begin an epoch, lease given back", err);
		if (via == LEASE_REDIS) {
			lease_redis_release(l);
		}
		return;
	}
	l->held         = via;
	l->confirmed    = mono_ms();
	l->next_renew   = l->confirmed + l->renew_ms;
	l->next_try     = l->confirmed + l->try_ms;
	l->next_listen  = l->confirmed;
	l->lead_began   = l->confirmed;
	l->other_since  = -1;
	l->listening    = false;
	l->listen_tries = 0;
	pthread_mutex_lock(&l->mu);
	l->info.via      = via;
	l->info.epoch    = l->epoch;
	l->info.since_ms = since;
	l->lost          = false;
	pthread_mutex_unlock(&l->mu);
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) l->epoch);
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "leadership acquired", "epoch", ep,
	    "via", lease_via_name(via), "clock_id", l->cfg.id, NULL);
	lease_info_get(l, &info);
	if ((rv = l->cbs.lead(l->arg, &info)) != CF_OK) {
		snprintf(err, sizeof(err), "could not take over: %s",
		    cf_strerror(rv));
		lease_step_down(l, err);
	}
}

/* Moves a leader between the key and the lock; the epoch stays. */
static void
lease_move(lease *l, lease_via to)
{
	char err[256];

	if (to == LEASE_REDIS) {
		lease_pg_unlock(l);
	}
	l->held        = to;
	l->confirmed   = mono_ms();
	l->next_renew  = l->confirmed + l->renew_ms;
	l->next_try    = l->confirmed + l->try_ms;
	l->other_since = -1;
	lease_publish(l);
	if (leadership_set_via(
	        l->pg, l->epoch, lease_via_name(to), err, sizeof(err))
	    != CF_OK) {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL,
		    "lease: leadership.via not updated", "error", err, NULL);
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "lease moved", "via",
	    lease_via_name(to), NULL);
}

/* A standby's attempt: the key, or the lock after a lease without Redis. */
static void
lease_standby(lease *l, int64_t now)
{
	int     got, rv;
	int64_t wait;
	char    err[256];

	l->next_try = now + l->try_ms;
	if ((rv = lease_redis_acquire(l, &got, &wait)) == CF_OK) {
		if (got) {
			lease_become(l, LEASE_REDIS);
		} else if (wait >= 0 && wait + 2 < l->try_ms) {
			/* Be there when the holder's lease runs out. */
			l->next_try = now + wait + 2;
		}
		return;
	}
	if (now - l->redis_down < l->cfg.lease_ms) {
		return;
	}
	if (lease_pg_trylock(l, &got, err, sizeof(err)) != CF_OK) {
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL,
		    "lease: PostgreSQL lock not tried", "error", err, NULL);
		return;
	}
	if (got) {
		lease_become(l, LEASE_POSTGRES);
	}
}

/* A leader on the key: the compare-and-set renewal. */
static void
lease_renew_redis(lease *l, int64_t now)
{
	char err[256];
	int  ours, got, rv;

	if ((rv = lease_redis_renew(l, &ours)) == CF_OK) {
		if (!ours) {
			lease_step_down(l,
			    "the Redis lease is no longer ours (expired or "
			    "taken)");
			return;
		}
		l->confirmed  = now;
		l->next_renew = now + l->renew_ms;
		return;
	}
	/* Redis is unreachable: keep leading on the lock if we can. */
	if (lease_pg_trylock(l, &got, err, sizeof(err)) == CF_OK && got) {
		lease_move(l, LEASE_POSTGRES);
		return;
	}
	if (now - l->confirmed >= l->cfg.lease_ms) {
		lease_step_down(
		    l, "the lease could not be renewed for a whole lease");
		return;
	}
	l->next_renew = now + l->try_ms;
}

/* A leader on the lock: is its connection alive; is Redis back? */
static void
lease_renew_pg(lease *l, int64_t now)
{
	char    err[256];
	int     got, rv;
	int64_t wait;

	if (now >= l->next_renew) {
		if ((rv = cf_pg_ping(l->pg, err, sizeof(err))) == CF_OK) {
			l->confirmed  = now;
			l->next_renew = now + l->renew_ms;
		} else if (rv == CF_ECONN
		    || now - l->confirmed >= l->cfg.lease_ms) {
			/* A lost connection has taken the lock with it. */
			char why[384];
			snprintf(why, sizeof(why),
			    "the PostgreSQL lock is lost: %s", err);
			lease_step_down(l, why);
			return;
		} else {
			l->next_renew = now + l->try_ms;
		}
	}
	if (now < l->next_try) {
		return;
	}
	l->next_try = now + l->try_ms;
	if (lease_redis_acquire(l, &got, &wait) != CF_OK) {
		l->other_since = -1;
		return;
	}
	if (got) {
		lease_move(l, LEASE_REDIS);
		return;
	}
	/*
	 * Another clock holds the key. A standby that wins it gives it back
	 * at once when it sees our lock, so a holder that stays is a leader.
	 */
	if (l->other_since < 0) {
		l->other_since = now;
	} else if (now - l->other_since >= l->renew_ms) {
		lease_step_down(l, "another clock holds the Redis lease");
	}
}

static void
lease_listen(lease *l, int64_t now)
{
	if (l->cbs.listen(l->arg) == CF_OK) {
		l->listening = true;
		return;
	}
	/*
	 * A deposed leader on this host frees the addresses within moments.
	 * Still busy after a whole lease, something else holds them: give
	 * the lease to a clock that can listen, and stay out for a lease.
	 */
	if (now - l->lead_began >= l->cfg.lease_ms) {
		lease_step_down(
		    l, "the REP/PUB addresses stayed busy for a whole lease");
		l->next_try = now + l->cfg.lease_ms;
		return;
	}
	/* The clock logs why at debug level; say so now and then. */
	if (++l->listen_tries % 50 == 1) {
		cf_log_kv(CF_LOG_INFO, NULL, NULL,
		    "leader: addresses busy, retrying every 100 ms", NULL);
	}
	l->next_listen = now + LEASE_LISTEN_RETRY;
}

static void *
lease_run(void *arg)
{
	lease *l = arg;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		int64_t         now, wake;
		struct timespec ts;

		if (l->lost) {
			char reason[256];
			bool mine = l->held != LEASE_NONE
			    && l->lost_epoch == l->epoch;
			snprintf(reason, sizeof(reason), "%s", l->lost_reason);
			l->lost = false;
			pthread_mutex_unlock(&l->mu);
			if (mine) {
				lease_step_down(l, reason);
			}
			pthread_mutex_lock(&l->mu);
			continue;
		}
		pthread_mutex_unlock(&l->mu);
		now = mono_ms();
		if (l->held == LEASE_NONE) {
			if (now >= l->next_try) {
				lease_standby(l, now);
			}
		} else if (l->held == LEASE_REDIS) {
			if (now >= l->next_renew) {
				lease_renew_redis(l, now);
			}
		} else if (now >= l->next_renew || now >= l->next_try) {
			lease_renew_pg(l, now);
		}
		if (l->held != LEASE_NONE && !l->listening
		    && now >= l->next_listen) {
			lease_listen(l, now);
		}

		wake = l->next_try;
		if (l->held == LEASE_REDIS) {
			wake = l->next_renew;
		} else if (l->held == LEASE_POSTGRES && l->next_renew < wake) {
			wake = l->next_renew;
		}
		if (l->held != LEASE_NONE && !l->listening
		    && l->next_listen < wake) {
			wake = l->next_listen;
		}
		pthread_mutex_lock(&l->mu);
		if (l->stop || l->lost || wake <= mono_ms()) {
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		wake -= mono_ms();
		ts.tv_sec += (time_t) (wake / 1000);
		ts.tv_nsec += (long) (wake % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	pthread_mutex_unlock(&l->mu);
	l->stop_asked = true;
	lease_step_down(l, "shutting down");
	return (NULL);
}

/* ---- open / close ----------------------------------------------------- */

int
lease_open(lease **out, const lease_cfg *cfg, const lease_cbs *cbs, void *arg,
    char *err, size_t errlen)
{
	lease             *l;
	pthread_condattr_t ca;

	*out = NULL;
	if (cfg->redis_url == NULL || cfg->database_url == NULL
	    || cfg->schema == NULL || cfg->id == NULL || cfg->id[0] == '\0'
	    || cfg->lease_ms < 500 || cbs->lead == NULL || cbs->listen == NULL
	    || cbs->down == NULL) {
		snprintf(err, errlen, "lease: incomplete configuration");
		return (CF_EINVAL);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		return (CF_ENOMEM);
	}
	l->cfg = *cfg;
	l->cbs = *cbs;
	l->arg = arg;
	/* The default schema keeps the documented key. */
	if (strcmp(cfg->schema, "clock") == 0) {
		snprintf(l->key, sizeof(l->key), "cronfleet:clock:leader");
	} else {
		snprintf(l->key, sizeof(l->key), "cronfleet:clock:leader:%s",
		    cfg->schema);
	}
	l->lock_key = cf_pg_lock_key(l->key);
	l->try_ms = clamp64(cfg->lease_ms / 10, LEASE_TRY_MIN, LEASE_TRY_MAX);
	l->renew_ms    = cfg->lease_ms / 3;
	l->redis_down  = -1;
	l->other_since = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	/*
	 * Set before the thread starts: its callbacks may reach code that
	 * reads the caller's copy (e.g. lease_info_get from a command).
	 */
	*out = l;
	if (pthread_create(&l->thr, NULL, lease_run, l) != 0) {
		*out = NULL;
		snprintf(err, errlen, "lease: cannot start its thread");
		lease_close(l);
		return (CF_ESYSTEM);
	}
	l->started = true;
	return (CF_OK);
}

void
lease_close(lease *l)
{
	if (l == NULL) {
		return;
	}
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->started) {
		pthread_join(l->thr, NULL);
	}
	cf_redis_close(l->r);
	cf_pg_close(l->pg);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void
lease_lost(lease *l, uint64_t epoch, const char *reason)
{
	pthread_mutex_lock(&l->mu);
	if (l->info.via != LEASE_NONE && l->info.epoch == epoch && !l->lost) {
		l->lost       = true;
		l->lost_epoch = epoch;
		snprintf(l->lost_reason, sizeof(l->lost_reason), "%s", reason);
		pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
}

void
lease_info_get(lease *l, lease_info *out)
{
	pthread_mutex_lock(&l->mu);
	*out = l->info;
	pthread_mutex_unlock(&l->mu);
}
