/*
 * cf_pg.h - a PostgreSQL connection for one thread (libpq).
 *
 * A cf_pg wraps one PGconn. It is not shared between threads: an actor's
 * worker threads each open their own. Every statement goes through
 * cf_pg_exec() (parameters only, never text pasted into SQL), which:
 *
 *  - checks the connection before sending: when libpq already knows it
 *    is broken, or the server has closed it or announced that it is
 *    closing it (a FATAL message, e.g. after pg_terminate_backend or a
 *    restart) while the handle sat idle, the handle reconnects (PQreset)
 *    and then sends the statement. This is the one retry: the statement
 *    had not gone out, so it cannot run twice;
 *  - never resends a statement that went out: when the connection breaks
 *    while a statement is in flight, the statement may or may not have
 *    run, so the call fails with CF_ECONN and the next call reconnects;
 *  - when the connection is lost while a transaction (or a session
 *    advisory lock taken with cf_pg_lock) was open, the server has
 *    rolled it back (released it). The call that notices fails with
 *    CF_ECONN, and every later statement on the handle fails with CF_ECONN
 *    until the caller runs ROLLBACK (cf_pg_rollback), so that statements
 *    meant for the lost transaction never run on their own;
 *  - translates libpq's errors once, here: CF_ECONN (the server is
 *    unreachable or the connection broke), CF_EDB (the server refused the
 *    statement; cf_pg_sqlstate() gives the SQLSTATE), CF_EEXIST (SQLSTATE
 *    23505 unique_violation), CF_ETIMEDOUT (SQLSTATE 57014, normally
 *    statement_timeout). The text, from libpq or the server, is put in the
 *    caller's err buffer on one line; passwords from the URL are replaced
 *    by "***" and never logged.
 *
 * Timeouts, so that a dead server never hangs a worker: connect_timeout
 * defaults to CF_PG_CONNECT_TIMEOUT_S, statement_timeout (sent as a
 * startup option, so it survives reconnects) to CF_PG_STATEMENT_TIMEOUT_MS,
 * and TCP keepalives notice a vanished host during a long wait. Settings
 * in the URL win over these defaults, e.g. (one line)
 *   postgresql://u@h/db?connect_timeout=2
 *       &options=-c%20statement_timeout%3D5000
 *
 * Notices and warnings from the server (e.g. "relation already exists,
 * skipping") are discarded rather than printed on stderr.
 *
 * err/errlen: every function that can fail writes a NUL-terminated
 * message into err (truncated to errlen) on failure; err may be NULL when
 * errlen is 0.
 */
#ifndef CF_PG_H
#define CF_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define CF_PG_CONNECT_TIMEOUT_S 5
#define CF_PG_STATEMENT_TIMEOUT_MS 30000

typedef struct cf_pg cf_pg;

/*
 * Connects to url (a libpq URL or key=value string). On success *out is a
 * new handle owned by the caller, freed with cf_pg_close(). On failure
 * *out is NULL: CF_EINVAL for an unparseable URL, CF_ECONN when the
 * server cannot be reached or refuses the login, CF_ENOMEM.
 */
int cf_pg_open(cf_pg **out, const char *url, char *err, size_t errlen);

/* Closes the connection and frees pg; NULL is ignored. */
void cf_pg_close(cf_pg *pg);

/*
 * Runs one SQL statement with nparams text parameters ($1, $2, ...;
 * params[i] NULL is SQL NULL; params may be NULL when nparams is 0).
 * On success returns CF_OK and, if res_out is not NULL, stores the result
 * in *res_out: the caller owns it and frees it with PQclear(). On failure
 * *res_out is NULL and nothing is left to free. Errors as described at
 * the top of this file.
 */
int cf_pg_exec(cf_pg *pg, const char *sql, int nparams,
    const char *const *params, PGresult **res_out, char *err, size_t errlen);

/*
 * cf_pg_exec for a statement run often: prepared in this session the
 * first time (planned once, not on every call) and executed by name
 * afterwards; the same rules otherwise. For statements only (SELECT,
 * INSERT, UPDATE, DELETE, WITH), not DDL; a connection keeps up to 32
 * of them, beyond which texts run unprepared.
 */
int cf_pg_exec_prepared(cf_pg *pg, const char *sql, int nparams,
    const char *const *params, PGresult **res_out, char *err, size_t errlen);

/*
 * The SQLSTATE of the last cf_pg_* call that failed with an error from the
 * server (e.g. "23505"), or "" when the last call succeeded or failed
 * without one. Points into pg: valid until the next call on pg.
 */
const char *cf_pg_sqlstate(const cf_pg *pg);

/* A round trip (SELECT 1), for health checks. */
int cf_pg_ping(cf_pg *pg, char *err, size_t errlen);

/*
 * COPY ... FROM STDIN, for bulk loads. cf_pg_copy_begin() sends the COPY
 * statement, cf_pg_copy_put() streams data in the statement's format
 * (libpq buffers it; a full buffer waits for the server), cf_pg_copy_end()
 * finishes (or, with abort_reason not NULL, cancels: the statement then
 * fails with that text) and reads the outcome, *rows being what the
 * server loaded (rows may be NULL). Inside a transaction the caller
 * opened (cf_pg_begin), the rows become visible at its commit; outside
 * one, the COPY is a transaction of its own: all its rows at the end, or
 * none (a failed or cancelled COPY, or a connection lost on the way,
 * loads nothing). A dead connection is re-established before the
 * statement, as for cf_pg_exec, but never during the COPY. Errors as for
 * cf_pg_exec; after any error inside a transaction it is aborted: roll
 * it back.
 */
int cf_pg_copy_begin(cf_pg *pg, const char *sql, char *err, size_t errlen);
int cf_pg_copy_put(
    cf_pg *pg, const char *buf, size_t len, char *err, size_t errlen);
int cf_pg_copy_end(cf_pg *pg, const char *abort_reason, int64_t *rows,
    char *err, size_t errlen);

/*
 * Transactions: BEGIN, COMMIT, ROLLBACK. cf_pg_commit() fails with CF_EDB
 * when the server rolled back instead (an earlier statement had failed).
 * cf_pg_rollback() also acknowledges a transaction lost with its
 * connection (see above) and then succeeds.
 */
int cf_pg_begin(cf_pg *pg, char *err, size_t errlen);
int cf_pg_commit(cf_pg *pg, char *err, size_t errlen);
int cf_pg_rollback(cf_pg *pg, char *err, size_t errlen);

/*
 * Appends fmt's text to the statement being built in sql (len bytes) at
 * *off, moving *off on. Returns 0, or -1 when it does not fit (sql then
 * holds a cut statement that must not be run).
 */
int cf_pg_sqlcat(char *sql, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Advisory locks. cf_pg_lock_key() turns a name into a 64-bit key
 * (FNV-1a; the same on every host and version).
 *
 * Session locks (cf_pg_lock, cf_pg_trylock, cf_pg_unlock) are held until
 * unlocked or until the connection ends; losing the connection loses
 * them, and the next call on pg fails with CF_ECONN to say so.
 * cf_pg_lock() waits, at most statement_timeout (then CF_ETIMEDOUT).
 * cf_pg_trylock() sets *got to 1 when it took the lock, 0 when another
 * session holds it. cf_pg_unlock() fails with CF_ENOENT when this session
 * did not hold the lock.
 *
 * Transaction locks (cf_pg_xact_lock, cf_pg_xact_trylock) are released
 * at COMMIT or ROLLBACK; outside a transaction they fail with CF_EINVAL.
 */
int64_t cf_pg_lock_key(const char *name);
int     cf_pg_lock(cf_pg *pg, int64_t key, char *err, size_t errlen);
int cf_pg_trylock(cf_pg *pg, int64_t key, int *got, char *err, size_t errlen);
int cf_pg_unlock(cf_pg *pg, int64_t key, char *err, size_t errlen);
int cf_pg_xact_lock(cf_pg *pg, int64_t key, char *err, size_t errlen);
int cf_pg_xact_trylock(
    cf_pg *pg, int64_t key, int *got, char *err, size_t errlen);

/*
 * Internal, for cf_migrate only: runs a script of several statements with
 * no parameters (simple query protocol), the same connection handling as
 * cf_pg_exec. Never give it text that did not come from the program's own
 * files. On a statement error, *errpos (if not NULL) is the 1-based
 * character position in sql the server reported, or 0.
 */
int cf__pg_exec_script(
    cf_pg *pg, const char *sql, int *errpos, char *err, size_t errlen);

/* Internal: 1 when pg has a transaction open (or failed and not ended). */
int cf__pg_in_txn(const cf_pg *pg);

#endif /* CF_PG_H */
