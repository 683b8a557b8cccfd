/*
 * lease.h - which of the clocks sharing a schema leads.
 *
 * A lease runs one thread that tries to become leader and, once leader,
 * keeps the lease alive; see docs/guarantees.md ("Clock leadership").
 *
 *  - Redis first: SET <key> <id> NX PX <lease>, tried every lease/10
 *    (100..500 ms; sooner when the holder's lease is about to run out),
 *    then renewed every lease/3 by a compare-and-set script (PEXPIRE only
 *    while the key still holds this clock's id). <key> is
 *    "cronfleet:clock:leader" for the schema "clock", else
 *    "cronfleet:clock:leader:<schema>", so clocks of different schemas on
 *    one Redis (tests, several fleets) do not compete.
 *  - PostgreSQL as the fallback: a session advisory lock (on the same
 *    name) on the lease's own connection, held while that connection
 *    lives, so a leader that dies releases it at once. A leader whose
 *    Redis stops answering moves to the lock at once and keeps leading; a
 *    standby tries the lock only once Redis has been unreachable for a
 *    whole lease (by then a Redis leader it could not see has stepped
 *    down). A clock that wins the Redis key while another holds the lock
 *    gives the key back: the lock holder leads, and moves back to Redis
 *    (taking the key, then releasing the lock) when Redis answers again.
 *  - Stepping down: at once when the renewal finds the key no longer
 *    ours, when the lock's connection is lost, when another clock has held
 *    the Redis key for a third of a lease while we lead on the lock, when
 *    the lease could not be renewed for a whole lease, or when the clock
 *    reports that its epoch was superseded (lease_lost).
 *  - Each time this clock becomes leader it starts a new epoch in the
 *    schema's leadership table (leadership_begin); if that fails the lease
 *    is given back and tried again later.
 *
 * The clock is told through callbacks, all called on the lease thread,
 * never with the lease's own lock held (they may block, and may call
 * lease_info):
 *   lead(arg, info)     the lease is held and a new epoch begun: load
 *                       state for it. Returns CF_OK, or an error: the
 *                       lease is then given back.
 *   listen(arg)         called after lead, then every 100 ms until it
 *                       returns CF_OK: open what only the leader opens (a
 *                       deposed leader on the same host may still hold
 *                       the addresses for a moment). The lease keeps
 *                       renewing meanwhile.
 *   down(arg, reason)   leadership is lost or given up: stop acting as
 *                       leader at once. Called before the lease is
 *                       released, so that whatever the clock closes is
 *                       free when a standby takes over.
 */
#ifndef CLOCK_LEASE_H
#define CLOCK_LEASE_H

#include <stddef.h>
#include <stdint.h>

typedef enum lease_via {
	LEASE_NONE     = 0, /* not leading */
	LEASE_REDIS    = 1,
	LEASE_POSTGRES = 2,
} lease_via;

/* "redis", "postgres", or "none". */
const char *lease_via_name(lease_via via);

typedef struct lease_cfg {
	const char *redis_url;    /* REDIS_URL */
	const char *database_url; /* DATABASE_URL */
	const char *schema;       /* the clock's schema (store_init done) */
	const char *id;           /* this clock, unique among its peers */
	int64_t     lease_ms;     /* >= 500 */
} lease_cfg;

/* What a leader knows about its leadership. */
typedef struct lease_info {
	lease_via via;      /* LEASE_NONE when not leading */
	uint64_t  epoch;    /* the current or last epoch this clock began */
	int64_t   since_ms; /* when it began (unix ms, database time) */
} lease_info;

typedef struct lease_cbs {
	int (*lead)(void *arg, const lease_info *info);
	int (*listen)(void *arg);
	void (*down)(void *arg, const char *reason);
} lease_cbs;

typedef struct lease lease;

/*
 * Starts the lease thread. cfg's strings and cbs must outlive the lease.
 * The thread starts as a standby; Redis or PostgreSQL being unreachable
 * is not an error here (it keeps trying). Returns CF_OK with *out owned
 * by the caller (lease_close), CF_EINVAL for a bad cfg, CF_ENOMEM or
 * CF_ESYSTEM.
 */
int lease_open(lease **out, const lease_cfg *cfg, const lease_cbs *cbs,
    void *arg, char *err, size_t errlen);

/*
 * Stops the thread; a leader first steps down (down, reason "shutting
 * down"), then deletes its Redis key (compare-and-set: only if it is still
 * ours) and releases the PostgreSQL lock, so that a standby takes over at
 * once. Then frees. NULL is ignored.
 */
void lease_close(lease *l);

/*
 * Tells the lease that the leader of epoch has been superseded (the
 * ledger refused a fire written with it): the lease thread steps down at
 * once (down is called with reason). Ignored when this clock no longer
 * leads with that epoch. Never blocks; callable from any thread.
 */
void lease_lost(lease *l, uint64_t epoch, const char *reason);

/* A snapshot of the leadership; callable from any thread. */
void lease_info_get(lease *l, lease_info *out);

#endif /* CLOCK_LEASE_H */
