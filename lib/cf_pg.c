/*
 * cf_pg.c - a PostgreSQL connection for one thread: reconnects, error
 * translation, advisory locks. The contract is in cf_pg.h.
 */
#include "cf_pg.h"

#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cf_err.h"

#define PG_MAX_SECRETS 4
#define PG_MSG_MAX 1024

/* Prepared statements kept per connection; past these, statements run
 * unprepared (a caller building many distinct texts fills no server). */
#define PG_MAX_STMTS 32

struct cf_pg {
	PGconn *conn;
	int     in_txn;   /* a transaction was open after the last result */
	int     txn_lost; /* it was lost with its connection: await ROLLBACK */
	int     locks;    /* session advisory locks taken through cf_pg_lock */
	int     fatal;    /* the server announced it is closing the session */
	char    sqlstate[6];
	/* Passwords as they may appear in libpq's messages, to redact. */
	char *secrets[PG_MAX_SECRETS];
	int   nsecrets;
	/* Statements prepared in this session (cf_pg_exec_prepared), by a
	 * hash of their text; forgotten when the session is re-established. */
	uint64_t stmts[PG_MAX_STMTS];
	int      nstmts;
};

/* ---------------------------------------------------------------- */
/* Messages: one line, secrets redacted. */

static void
pg_redact(char *out, size_t outlen, const char *msg, char *const *secrets,
    int nsecrets)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	while (*msg != '\0' && o + 1 < outlen) {
		int hit = 0;
		for (int i = 0; i < nsecrets; i++) {
			size_t n = strlen(secrets[i]);
			if (n > 0 && strncmp(msg, secrets[i], n) == 0) {
				for (const char *s = "***";
				     *s && o + 1 < outlen; s++)
					out[o++] = *s;
				msg += n;
				hit = 1;
				break;
			}
		}
		if (hit)
			continue;
		/* Newlines and tabs become single spaces. */
		if (*msg == '\n' || *msg == '\t' || *msg == '\r') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			msg++;
			continue;
		}
		out[o++] = *msg++;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static void
pg_seterr_s(char *const *secrets, int nsecrets, char *err, size_t errlen,
    const char *fmt, ...)
{
	char    buf[PG_MSG_MAX];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pg_redact(err, errlen, buf, secrets, nsecrets);
}

#define pg_seterr(pg, err, errlen, ...)                                       \
	pg_seterr_s((pg)->secrets, (pg)->nsecrets, err, errlen, __VA_ARGS__)

/* ---------------------------------------------------------------- */
/* Secrets in a URL or key=value string. */

static void
pg_secret_add(cf_pg *pg, const char *s, size_t n)
{
	char *copy;

	if (n == 0 || pg->nsecrets == PG_MAX_SECRETS)
		return;
	for (int i = 0; i < pg->nsecrets; i++)
		if (strlen(pg->secrets[i]) == n
		    && memcmp(pg->secrets[i], s, n) == 0)
			return;
	if ((copy = malloc(n + 1)) == NULL)
		return;
	memcpy(copy, s, n);
	copy[n] = '\0';
	/* Longest first, so a password that contains another is redacted
	 * whole. */
	int i = pg->nsecrets++;
	while (i > 0 && strlen(pg->secrets[i - 1]) < n) {
		pg->secrets[i] = pg->secrets[i - 1];
		i--;
	}
	pg->secrets[i] = copy;
}

/*
 * Collects the password as written in the URL (the userinfo of
 * postgresql://user:password@host, and any password=... parameter) and as
 * libpq decodes it, so that neither form reaches a message, even when
 * libpq cannot parse the URL and quotes part of it.
 */
static void
pg_secrets_collect(cf_pg *pg, const char *url)
{
	const char *p, *q;

	if ((p = strstr(url, "://")) != NULL) {
		const char *auth = p + 3;
		const char *end  = auth + strcspn(auth, "/?");
		const char *at   = memchr(auth, '@', (size_t) (end - auth));
		const char *colon;
		if (at != NULL
		    && (colon = memchr(auth, ':', (size_t) (at - auth)))
		        != NULL)
			pg_secret_add(
			    pg, colon + 1, (size_t) (at - colon - 1));
	}
	for (p = url; (p = strstr(p, "password=")) != NULL; p = q) {
		p += strlen("password=");
		if (*p == '\'') {
			p++;
			q = p + strcspn(p, "'");
		} else {
			q = p + strcspn(p, "& \t");
		}
		pg_secret_add(pg, p, (size_t) (q - p));
	}

	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	if (opts != NULL) {
		for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
			if (strcmp(o->keyword, "password") == 0
			    && o->val != NULL)
				pg_secret_add(pg, o->val, strlen(o->val));
		PQconninfoFree(opts);
	}
}

/* ---------------------------------------------------------------- */
/* Connection. */

/*
 * Notices (and errors the server sends while no statement runs) arrive
 * here instead of stderr. A FATAL one means the server is about to close
 * the session: remember it so the next statement reconnects first.
 */
static void
pg_notice(void *arg, const PGresult *res)
{
	cf_pg      *pg = arg;
	const char *sev
	    = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (sev != NULL
	    && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		pg->fatal = 1;
}

int
cf_pg_open(cf_pg **out, const char *url, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"connect_timeout",
		"options",
		"fallback_application_name",
		"keepalives",
		"keepalives_idle",
		"keepalives_interval",
		"keepalives_count",
		"dbname", /* last: what the URL says wins */
		NULL,
	};
	char        timeout[16], options[64];
	const char *vals[sizeof(keys) / sizeof(keys[0])];
	cf_pg      *pg;
	char       *perr = NULL;

	*out = NULL;
	if (url == NULL || *url == '\0') {
		pg_seterr_s(NULL, 0, err, errlen, "empty PostgreSQL URL");
		return (CF_EINVAL);
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		pg_seterr_s(NULL, 0, err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	pg_secrets_collect(pg, url);

	/* Check the URL first: a parse error is the caller's, not the
	 * network's. */
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		pg_seterr(pg, err, errlen, "invalid PostgreSQL URL: %s",
		    perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		cf_pg_close(pg);
		return (perr != NULL ? CF_EINVAL : CF_ENOMEM);
	}
	PQconninfoFree(opts);

	snprintf(timeout, sizeof(timeout), "%d", CF_PG_CONNECT_TIMEOUT_S);
	snprintf(options, sizeof(options), "-c statement_timeout=%d",
	    CF_PG_STATEMENT_TIMEOUT_MS);
	vals[0] = timeout;
	vals[1] = options;
	vals[2] = "cronfleet";
	vals[3] = "1";
	vals[4] = "15";
	vals[5] = "5";
	vals[6] = "3";
	vals[7] = url;
	vals[8] = NULL;

	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL) {
		pg_seterr(pg, err, errlen, "out of memory");
		cf_pg_close(pg);
		return (CF_ENOMEM);
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_seterr(pg, err, errlen, "PostgreSQL: %s",
		    PQerrorMessage(pg->conn));
		cf_pg_close(pg);
		return (CF_ECONN);
	}
	PQsetNoticeReceiver(pg->conn, pg_notice, pg);
	*out = pg;
	return (CF_OK);
}

void
cf_pg_close(cf_pg *pg)
{
	if (pg == NULL)
		return;
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	for (int i = 0; i < pg->nsecrets; i++) {
		/* Do not leave passwords behind in freed memory. */
		volatile char *s = pg->secrets[i];
		while (*s != '\0')
			*s++ = '\0';
		free(pg->secrets[i]);
	}
	free(pg);
}

/*
 * Whether the connection is still usable, without sending anything. Reads
 * what the server sent while the handle was idle: an end of file, or the
 * FATAL message a terminated backend sends before it exits, means it is
 * not. Notifications are dropped (nothing here LISTENs).
 */
static int
pg_alive(cf_pg *pg)
{
	if (PQstatus(pg->conn) != CONNECTION_OK || pg->fatal)
		return (0);
	for (int i = 0; i < 8; i++) {
		struct pollfd p
		    = { .fd = PQsocket(pg->conn), .events = POLLIN };
		PGnotify *n;

		if (p.fd < 0)
			return (0);
		if (poll(&p, 1, 0) <= 0)
			break;
		if (!PQconsumeInput(pg->conn))
			return (0);
		(void) PQisBusy(pg->conn); /* parses; notices land in pg */
		while ((n = PQnotifies(pg->conn)) != NULL)
			PQfreemem(n);
		if (PQstatus(pg->conn) != CONNECTION_OK || pg->fatal)
			return (0);
	}
	return (1);
}

static int
pg_reconnect(cf_pg *pg, char *err, size_t errlen)
{
	pg->fatal  = 0;
	pg->nstmts = 0; /* a new session has none */
	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_seterr(pg, err, errlen, "PostgreSQL: reconnect failed: %s",
		    PQerrorMessage(pg->conn));
		return (CF_ECONN);
	}
	return (CF_OK);
}

/* ROLLBACK or ABORT, optionally WORK or TRANSACTION, nothing else. */
static int
pg_is_rollback(const char *sql)
{
	static const char *const words[] = { "rollback", "abort" };
	static const char *const tails[] = { "", "work", "transaction" };
	const char              *p       = sql + strspn(sql, " \t\r\n");
	size_t                   n;

	for (size_t i = 0; i < 2; i++) {
		n = strlen(words[i]);
		if (strncasecmp(p, words[i], n) != 0)
			continue;
		p += n;
		p += strspn(p, " \t\r\n");
		for (size_t j = 0; j < 3; j++) {
			const char *q = p;
			n             = strlen(tails[j]);
			if (strncasecmp(q, tails[j], n) != 0)
				continue;
			q += n;
			q += strspn(q, " \t\r\n;");
			if (*q == '\0')
				return (1);
		}
		return (0);
	}
	return (0);
}

/* One line from a failed result: message, SQLSTATE, detail. */
static void
pg_result_err(cf_pg *pg, const PGresult *res, char *err, size_t errlen)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *det = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

	if (msg == NULL)
		msg = PQresultErrorMessage(res);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(pg->conn);
	if (pg->sqlstate[0] != '\0')
		pg_seterr(pg, err, errlen, "PostgreSQL: %s (SQLSTATE %s)%s%s",
		    msg, pg->sqlstate, det != NULL ? ": " : "",
		    det != NULL ? det : "");
	else
		pg_seterr(pg, err, errlen, "PostgreSQL: %s", msg);
}

/*
 * A statement the server refused: its SQLSTATE kept, err set, res freed,
 * and the code (CF_EEXIST for a unique violation, CF_ETIMEDOUT for a
 * cancelled statement, else CF_EDB).
 */
static int
pg_refused(cf_pg *pg, PGresult *res, char *err, size_t errlen)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(
	    pg->sqlstate, sizeof(pg->sqlstate), "%s", st != NULL ? st : "");
	pg_result_err(pg, res, err, errlen);
	PQclear(res);
	if (strcmp(pg->sqlstate, "23505") == 0)
		return (CF_EEXIST);
	if (strcmp(pg->sqlstate, "57014") == 0)
		return (CF_ETIMEDOUT);
	return (CF_EDB);
}

enum { PG_RUN_PARAMS = 0, PG_RUN_SCRIPT = 1, PG_RUN_PREPARED = 2 };

/* FNV-1a of a statement's text: its prepared name. */
static uint64_t
pg_stmt_hash(const char *sql)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *) sql; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return (h);
}

/*
 * Runs sql as a statement prepared in this session, preparing it the
 * first time (planning then happens once per session, not per call).
 * When the table of prepared statements is full, runs it unprepared. A
 * failed PREPARE's result is returned as the statement's, to be reported
 * like any error.
 */
static PGresult *
pg_exec_prepared(
    cf_pg *pg, const char *sql, int nparams, const char *const *params)
{
	uint64_t  h = pg_stmt_hash(sql);
	char      name[24];
	int       known = 0;
	PGresult *res;

	for (int i = 0; i < pg->nstmts && !known; i++) {
		known = pg->stmts[i] == h;
	}
	snprintf(name, sizeof(name), "cf_%016llx", (unsigned long long) h);
	if (!known) {
		if (pg->nstmts >= PG_MAX_STMTS) {
			return (PQexecParams(pg->conn, sql, nparams, NULL, params,
			    NULL, NULL, 0));
		}
		res = PQprepare(pg->conn, name, sql, nparams, NULL);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
			return (res);
		}
		PQclear(res);
		pg->stmts[pg->nstmts++] = h;
	}
	return (PQexecPrepared(
	    pg->conn, name, nparams, params, NULL, NULL, 0));
}

/* What pg_before() answers when sql is a ROLLBACK that has nothing left
 * to roll back: the call is done. */
#define PG_DONE (-1)

/*
 * Before a statement goes out: refuses anything but ROLLBACK after a
 * transaction was lost with its connection, and reconnects a dead
 * connection (CF_ECONN when that loses a transaction or advisory locks).
 * CF_OK: send sql.
 */
static int
pg_before(cf_pg *pg, const char *sql, char *err, size_t errlen)
{
	int rc;

	if (pg->txn_lost) {
		if (pg_is_rollback(sql)) {
			pg->txn_lost = 0;
			return (PG_DONE);
		}
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: the connection was lost inside a "
		    "transaction, which the server rolled back; run ROLLBACK "
		    "before anything else");
		return (CF_ECONN);
	}

	if (!pg_alive(pg)) {
		int had_txn   = pg->in_txn;
		int had_locks = pg->locks > 0;

		if ((rc = pg_reconnect(pg, err, errlen)) != CF_OK) {
			if (had_txn)
				pg->txn_lost = !pg_is_rollback(sql);
			pg->in_txn = 0;
			pg->locks  = 0;
			return (rc);
		}
		pg->in_txn = 0;
		pg->locks  = 0;
		if (had_txn && pg_is_rollback(sql))
			return (PG_DONE);
		if (had_txn || had_locks) {
			pg->txn_lost = had_txn;
			pg_seterr(pg, err, errlen,
			    "PostgreSQL: the connection was lost and "
			    "re-established; the server rolled back the open "
			    "transaction and released this session's advisory "
			    "locks");
			return (CF_ECONN);
		}
	}

	return (CF_OK);
}

/*
 * Runs sql (with parameters, as a script, or prepared) once the
 * connection has been checked, and translates the outcome. See cf_pg.h
 * for the retry rules.
 */
static int
pg_run(cf_pg *pg, int script, const char *sql, int nparams,
    const char *const *params, PGresult **res_out, int *errpos, char *err,
    size_t errlen)
{
	PGresult *res;
	int       rc;

	if (res_out != NULL)
		*res_out = NULL;
	if (errpos != NULL)
		*errpos = 0;
	pg->sqlstate[0] = '\0';
	if (sql == NULL || nparams < 0 || (nparams > 0 && params == NULL)) {
		pg_seterr(pg, err, errlen, "invalid statement arguments");
		return (CF_EINVAL);
	}

	if ((rc = pg_before(pg, sql, err, errlen)) != CF_OK)
		return (rc == PG_DONE ? CF_OK : rc);

	if (script == PG_RUN_SCRIPT)
		res = PQexec(pg->conn, sql);
	else if (script == PG_RUN_PREPARED)
		res = pg_exec_prepared(pg, sql, nparams, params);
	else
		res = PQexecParams(
		    pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQstatus(pg->conn) != CONNECTION_OK) {
		/*
		 * The statement may have gone out before the connection
		 * broke: it may have run, so it is not sent again. The next
		 * call reconnects.
		 */
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: connection lost during the statement: %s",
		    res != NULL && *PQresultErrorMessage(res) != '\0'
		        ? PQresultErrorMessage(res)
		        : PQerrorMessage(pg->conn));
		PQclear(res);
		if (pg->in_txn)
			pg->txn_lost = !pg_is_rollback(sql);
		pg->in_txn = 0;
		pg->locks  = 0;
		return (CF_ECONN);
	}
	if (res == NULL) {
		pg_seterr(pg, err, errlen, "PostgreSQL: %s",
		    PQerrorMessage(pg->conn));
		return (CF_ENOMEM);
	}
	{
		PGTransactionStatusType ts = PQtransactionStatus(pg->conn);
		pg->in_txn = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
	}

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		if (res_out != NULL)
			*res_out = res;
		else
			PQclear(res);
		return (CF_OK);
	case PGRES_FATAL_ERROR:
	case PGRES_NONFATAL_ERROR: {
		const char *pos
		    = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		if (errpos != NULL && pos != NULL)
			*errpos = atoi(pos);
		return (pg_refused(pg, res, err, errlen));
	}
	default:
		/* COPY and other protocol states are not supported here. */
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: unexpected result status %s",
		    PQresStatus(PQresultStatus(res)));
		PQclear(res);
		/* A COPY in progress would block the connection: drop it. */
		if (PQtransactionStatus(pg->conn) == PQTRANS_ACTIVE)
			pg->fatal = 1;
		return (CF_EPROTO);
	}
}

int
cf_pg_exec(cf_pg *pg, const char *sql, int nparams, const char *const *params,
    PGresult **res_out, char *err, size_t errlen)
{
	return (pg_run(pg, PG_RUN_PARAMS, sql, nparams, params, res_out, NULL,
	    err, errlen));
}

int
cf_pg_exec_prepared(cf_pg *pg, const char *sql, int nparams,
    const char *const *params, PGresult **res_out, char *err, size_t errlen)
{
	return (pg_run(pg, PG_RUN_PREPARED, sql, nparams, params, res_out,
	    NULL, err, errlen));
}

int
cf__pg_exec_script(
    cf_pg *pg, const char *sql, int *errpos, char *err, size_t errlen)
{
	return (pg_run(pg, PG_RUN_SCRIPT, sql, 0, NULL, NULL, errpos, err,
	    errlen));
}

int
cf__pg_in_txn(const cf_pg *pg)
{
	return (pg->in_txn);
}

const char *
cf_pg_sqlstate(const cf_pg *pg)
{
	return (pg->sqlstate);
}

int
cf_pg_ping(cf_pg *pg, char *err, size_t errlen)
{
	return (cf_pg_exec(pg, "SELECT 1", 0, NULL, NULL, err, errlen));
}

int
cf_pg_begin(cf_pg *pg, char *err, size_t errlen)
{
	return (cf_pg_exec(pg, "BEGIN", 0, NULL, NULL, err, errlen));
}

int
cf_pg_commit(cf_pg *pg, char *err, size_t errlen)
{
	PGresult *res;
	int       rc;

	if ((rc = cf_pg_exec(pg, "COMMIT", 0, NULL, &res, err, errlen)) != 0)
		return (rc);
	/* COMMIT of a failed transaction "succeeds" as a ROLLBACK. */
	rc = strcmp(PQcmdStatus(res), "ROLLBACK") == 0 ? CF_EDB : CF_OK;
	PQclear(res);
	if (rc != CF_OK)
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: the transaction was rolled back because a "
		    "statement in it failed");
	return (rc);
}

int
cf_pg_rollback(cf_pg *pg, char *err, size_t errlen)
{
	return (cf_pg_exec(pg, "ROLLBACK", 0, NULL, NULL, err, errlen));
}

/* ---------------------------------------------------------------- */
/* Advisory locks. */

int64_t
cf_pg_lock_key(const char *name)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
		h ^= *p;
		h *= UINT64_C(1099511628211);
	}
	/* Two's complement reinterpretation, without implementation-defined
	 * conversion. */
	if (h <= INT64_MAX)
		return ((int64_t) h);
	return (-(int64_t) (UINT64_MAX - h) - 1);
}

/* Runs a one-row, one-column boolean lock query; *got = the boolean. */
static int
pg_lock_query(cf_pg *pg, const char *sql, int64_t key, int *got, char *err,
    size_t errlen)
{
	char        k[24];
	const char *params[1] = { k };
	PGresult   *res;
	int         rc;

	snprintf(k, sizeof(k), "%" PRId64, key);
	if ((rc = cf_pg_exec(pg, sql, 1, params, &res, err, errlen)) != 0)
		return (rc);
	if (got != NULL)
		*got = PQntuples(res) == 1 && PQnfields(res) == 1
		    && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return (CF_OK);
}

int
cf_pg_lock(cf_pg *pg, int64_t key, char *err, size_t errlen)
{
	int rc = pg_lock_query(
	    pg, "SELECT pg_advisory_lock($1::bigint)", key, NULL, err, errlen);
	if (rc == CF_OK)
		pg->locks++;
	return (rc);
}

int
cf_pg_trylock(cf_pg *pg, int64_t key, int *got, char *err, size_t errlen)
{
	int rc = pg_lock_query(pg, "SELECT pg_try_advisory_lock($1::bigint)",
	    key, got, err, errlen);
	if (rc == CF_OK && *got)
		pg->locks++;
	return (rc);
}

int
cf_pg_unlock(cf_pg *pg, int64_t key, char *err, size_t errlen)
{
	int got = 0;
	int rc  = pg_lock_query(pg, "SELECT pg_advisory_unlock($1::bigint)",
	     key, &got, err, errlen);
	if (rc != CF_OK)
		return (rc);
	if (!got) {
		pg_seterr(pg, err, errlen,
		    "advisory lock %" PRId64 " is not held by this session",
		    key);
		return (CF_ENOENT);
	}
	if (pg->locks > 0)
		pg->locks--;
	return (CF_OK);
}

int
cf_pg_xact_lock(cf_pg *pg, int64_t key, char *err, size_t errlen)
{
	if (!pg->in_txn) {
		pg_seterr(pg, err, errlen,
		    "a transaction advisory lock needs an open transaction");
		return (CF_EINVAL);
	}
	return (pg_lock_query(pg, "SELECT pg_advisory_xact_lock($1::bigint)",
	    key, NULL, err, errlen));
}

int
cf_pg_xact_trylock(cf_pg *pg, int64_t key, int *got, char *err, size_t errlen)
{
	*got = 0;
	if (!pg->in_txn) {
		pg_seterr(pg, err, errlen,
		    "a transaction advisory lock needs an open transaction");
		return (CF_EINVAL);
	}
	return (
	    pg_lock_query(pg, "SELECT pg_try_advisory_xact_lock($1::bigint)",
	        key, got, err, errlen));
}

int
cf_pg_sqlcat(char *sql, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int     k;

	va_start(ap, fmt);
	k = vsnprintf(sql + *off, len - *off, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t) k >= len - *off) {
		return (-1);
	}
	*off += (size_t) k;
	return (0);
}

/* ---------------------------------------------------------------- */
/* COPY FROM STDIN. */

/* A failed COPY result (or a broken connection) into a code. */
static int
pg_copy_fail(cf_pg *pg, PGresult *res, char *err, size_t errlen)
{
	if (PQstatus(pg->conn) != CONNECTION_OK || res == NULL) {
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: connection lost during "
		    "COPY: %s",
		    PQerrorMessage(pg->conn));
		PQclear(res);
		pg->txn_lost = pg->in_txn;
		pg->in_txn   = 0;
		pg->locks    = 0;
		return (CF_ECONN);
	}
	return (pg_refused(pg, res, err, errlen));
}

int
cf_pg_copy_begin(cf_pg *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res;
	int       rv;

	pg->sqlstate[0] = '\0';
	if (sql == NULL) {
		pg_seterr(pg, err, errlen, "invalid statement arguments");
		return (CF_EINVAL);
	}
	if ((rv = pg_before(pg, sql, err, errlen)) != CF_OK)
		return (rv == PG_DONE ? CF_EINVAL : rv);
	res = PQexec(pg->conn, sql);
	if (res != NULL && PQresultStatus(res) == PGRES_COPY_IN) {
		PQclear(res);
		return (CF_OK);
	}
	if (res != NULL && PQresultStatus(res) != PGRES_FATAL_ERROR
	    && PQresultStatus(res) != PGRES_NONFATAL_ERROR
	    && PQstatus(pg->conn) == CONNECTION_OK) {
		pg_seterr(pg, err, errlen,
		    "PostgreSQL: not a COPY FROM STDIN statement (%s)",
		    PQresStatus(PQresultStatus(res)));
		PQclear(res);
		return (CF_EINVAL);
	}
	return (pg_copy_fail(pg, res, err, errlen));
}

int
cf_pg_copy_put(
    cf_pg *pg, const char *buf, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		int n = len > (size_t) INT_MAX ? INT_MAX : (int) len;

		if (PQputCopyData(pg->conn, buf, n) != 1) {
			pg_seterr(pg, err, errlen,
			    "PostgreSQL: COPY data not "
			    "sent: %s",
			    PQerrorMessage(pg->conn));
			if (PQstatus(pg->conn) != CONNECTION_OK) {
				pg->txn_lost = pg->in_txn;
				pg->in_txn   = 0;
				pg->locks    = 0;
			}
			return (CF_ECONN);
		}
		buf += n;
		len -= (size_t) n;
	}
	return (CF_OK);
}

int
cf_pg_copy_end(cf_pg *pg, const char *abort_reason, int64_t *rows, char *err,
    size_t errlen)
{
	PGresult *res;
	int       rv = CF_OK;

	if (rows != NULL)
		*rows = 0;
	if (PQputCopyEnd(pg->conn, abort_reason) != 1) {
		pg_seterr(pg, err, errlen, "PostgreSQL: COPY not ended: %s",
		    PQerrorMessage(pg->conn));
		rv = CF_ECONN;
	}
	/* Read every result, so the connection is ready for what follows. */
	while ((res = PQgetResult(pg->conn)) != NULL) {
		if (rv != CF_OK) {
			PQclear(res);
			continue;
		}
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			if (rows != NULL)
				*rows = strtoll(PQcmdTuples(res), NULL, 10);
			PQclear(res);
		} else if (PQresultStatus(res) == PGRES_COPY_IN) {
			/* Cannot happen after PQputCopyEnd; be safe. */
			PQclear(res);
			break;
		} else {
			rv = pg_copy_fail(pg, res, err, errlen);
		}
	}
	if (rv == CF_ECONN && PQstatus(pg->conn) != CONNECTION_OK) {
		pg->txn_lost = pg->in_txn;
		pg->in_txn   = 0;
		pg->locks    = 0;
		return (rv);
	}
	{
		PGTransactionStatusType ts = PQtransactionStatus(pg->conn);
		pg->in_txn = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
	}
	if (rv == CF_OK && abort_reason != NULL)
		rv = CF_ECLOSED;
	return (rv);
}
