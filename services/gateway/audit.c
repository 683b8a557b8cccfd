/*
 * audit.c - the audit of manual actions, in the gateway's schema.
 *
 * A request thread never waits for the database: gw_audit_record puts the
 * row on a queue and one writer thread inserts what is queued, many rows
 * per statement, waiting up to AUDIT_LINGER_MS after the first for more
 * to come (a burst of triggers then costs one commit per batch, not one
 * per row). GET /api/v1/audit first waits until every row queued before
 * it is written, so an action is listed by the next read (unless the
 * database is away: then it answers with what is there after
 * AUDIT_FLUSH_MS). When PostgreSQL is down the rows wait (the queue is
 * bounded; past AUDIT_QUEUE_MAX a row is dropped with a warning) and are
 * written once it is back; every action is also a JSON log line (http.c),
 * so a dropped row is still on record somewhere. GET /api/v1/audit reads
 * through its own connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_migrate.h"
#include "cf_pg.h"
#include "cf_time.h"
#include "gateway.h"

#define AUDIT_QUEUE_MAX 100000
#define AUDIT_BATCH 100 /* rows per INSERT */
#define AUDIT_NCOLS 11
#define AUDIT_RETRY_MS 1000
#define AUDIT_LINGER_MS 5
#define AUDIT_FLUSH_MS 1000
#define AUDIT_DEFAULT 50
#define AUDIT_MAX 1000

typedef struct audit_row {
	struct audit_row *next;
	char             *col[AUDIT_NCOLS]; /* text, NULL = SQL NULL */
} audit_row;

struct gw_audit {
	const gw_config *cfg;
	pthread_t        thr;
	pthread_mutex_t  mu;
	pthread_cond_t   cv;
	audit_row       *head, *tail;
	size_t           queued;
	uint64_t         enqueued; /* rows ever queued */
	uint64_t         written;  /* of those, rows inserted (in order) */
	int              flushers; /* readers waiting for written */
	pthread_cond_t   done_cv;  /* written moved */
	int              stopping;
	pthread_mutex_t  read_mu; /* the reader's connection */
	cf_pg           *read_pg;
};

static const char *const audit_cols[AUDIT_NCOLS] = { "at", "actor", "role",
	"action", "job", "method", "path", "remote", "status", "outcome",
	"detail" };

static void
row_free(audit_row *r)
{
	for (int i = 0; i < AUDIT_NCOLS; i++) {
		free(r->col[i]);
	}
	free(r);
}

/* Connects and migrates; NULL with err on failure. */
static cf_pg *
audit_connect(const gw_config *cfg, char *err, size_t errlen)
{
	cf_pg *pg = NULL;
	char   dir[1024];

	if (cf_pg_open(&pg, cfg->database_url, err, errlen) != CF_OK) {
		return (NULL);
	}
	snprintf(dir, sizeof(dir), "%s/gateway", cfg->migrations);
	if (cf_migrate_apply(pg, cfg->schema, dir, err, errlen) != CF_OK) {
		cf_pg_close(pg);
		return (NULL);
	}
	return (pg);
}

/* Inserts rows[0..n) in one statement. */
static int
audit_insert(const gw_config *cfg, cf_pg *pg, audit_row **rows, int n,
    char *err, size_t errlen)
{
	const char *params[AUDIT_BATCH * AUDIT_NCOLS];
	char       *sql;
	size_t      cap = 256 + (size_t) n * AUDIT_NCOLS * 24, len;
	int         rv;

	if ((sql = malloc(cap)) == NULL) {
		return (CF_ENOMEM);
	}
	len = (size_t) snprintf(sql, cap,
	    "INSERT INTO \"%s\".audit (at, actor, role, action, job, method, "
	    "path, remote, status, outcome, detail) VALUES ",
	    cfg->schema);
	for (int r = 0; r < n; r++) {
		for (int c = 0; c < AUDIT_NCOLS; c++) {
			int k = r * AUDIT_NCOLS + c + 1;
			params[k - 1] = rows[r]->col[c];
			len += (size_t) snprintf(sql + len, cap - len, "%s$%d%s%s",
			    c == 0 ? (r > 0 ? ",(" : "(") : "", k,
			    c == 0 ? "::timestamptz" : c == 8 ? "::int" : "",
			    c == AUDIT_NCOLS - 1 ? ")" : ",");
		}
	}
	rv = cf_pg_exec_prepared(
	    pg, sql, n * AUDIT_NCOLS, params, NULL, err, errlen);
	free(sql);
	return (rv);
}

static void
audit_sleep_ms(struct gw_audit *a, int64_t ms)
{
	struct timespec ts = gw_wait_until(ms);

	pthread_mutex_lock(&a->mu);
	if (!a->stopping) {
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
}

static void *
audit_main(void *arg)
{
	struct gw_audit *a  = arg;
	cf_pg           *pg = NULL;
	char             err[512], last[512] = "";

	for (;;) {
		audit_row *rows[AUDIT_BATCH];
		int        n = 0, stopping;

		pthread_mutex_lock(&a->mu);
		while (a->head == NULL && !a->stopping) {
			pthread_cond_wait(&a->cv, &a->mu);
		}
		if (a->queued < AUDIT_BATCH && !a->stopping
		    && a->flushers == 0) {
			struct timespec until = gw_wait_until(AUDIT_LINGER_MS);
			while (a->queued < AUDIT_BATCH && !a->stopping
			    && a->flushers == 0
			    && pthread_cond_timedwait(&a->cv, &a->mu, &until)
			        == 0) { }
		}
		stopping = a->stopping;
		for (audit_row *r = a->head; r != NULL && n < AUDIT_BATCH;
		    r = r->next) {
			rows[n++] = r;
		}
		pthread_mutex_unlock(&a->mu);
		if (n == 0) {
			break; /* stopping, nothing left */
		}
		if (pg == NULL) {
			pg = audit_connect(a->cfg, err, sizeof(err));
		}
		if (pg == NULL
		    || audit_insert(a->cfg, pg, rows, n, err, sizeof(err))
		        != CF_OK) {
			/* Said once per distinct error, not once a second. */
			if (strcmp(err, last) != 0) {
				cf_log_warn("audit: %zu row(s) waiting: %s",
				    (size_t) n, err);
				snprintf(last, sizeof(last), "%s", err);
			}
			if (stopping) {
				break; /* the rows stay logged as JSON lines */
			}
			if (pg != NULL && cf_pg_ping(pg, err, sizeof(err)) != CF_OK) {
				cf_pg_close(pg);
				pg = NULL;
			}
			audit_sleep_ms(a, AUDIT_RETRY_MS);
			continue;
		}
		if (last[0] != '\0') {
			cf_log_info("audit: writing again");
			last[0] = '\0';
		}
		pthread_mutex_lock(&a->mu);
		for (int i = 0; i < n; i++) {
			audit_row *r = a->head;
			a->head      = r->next;
			row_free(r);
			a->queued--;
		}
		if (a->head == NULL) {
			a->tail = NULL;
		}
		a->written += (uint64_t) n;
		pthread_cond_broadcast(&a->done_cv);
		pthread_mutex_unlock(&a->mu);
	}
	cf_pg_close(pg);
	return (NULL);
}

int
gw_audit_open(gw_audit **out, const gw_config *cfg, char *err, size_t errlen)
{
	struct gw_audit *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	a->cfg = cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->read_mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	pthread_cond_init(&a->done_cv, NULL);
	if (pthread_create(&a->thr, NULL, audit_main, a) != 0) {
		snprintf(err, errlen, "cannot start the audit thread");
		pthread_mutex_destroy(&a->mu);
		pthread_mutex_destroy(&a->read_mu);
		pthread_cond_destroy(&a->cv);
		pthread_cond_destroy(&a->done_cv);
		free(a);
		return (CF_ESYSTEM);
	}
	*out = a;
	return (CF_OK);
}

void
gw_audit_close(gw_audit *a)
{
	audit_row *r;

	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->mu);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thr, NULL);
	while ((r = a->head) != NULL) {
		a->head = r->next;
		row_free(r);
	}
	cf_pg_close(a->read_pg);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->read_mu);
	pthread_cond_destroy(&a->cv);
	pthread_cond_destroy(&a->done_cv);
	free(a);
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? strdup(s) : NULL);
}

void
gw_audit_record(gw_audit *a, const gw_request *rq, const char *method,
    const char *action, const char *job, int status, const char *detail)
{
	audit_row      *r;
	struct timespec now;
	char            at[40], st[16];
	const char *outcome = status < 400 ? "ok"
	    : status < 500                 ? "refused"
	                                   : "failed";

	if (a == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	cf_rfc3339_format(at, sizeof(at),
	    (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000, 0, 1);
	snprintf(st, sizeof(st), "%d", status);
	r->col[0]  = strdup(at);
	r->col[1]  = strdup(rq->actor != NULL ? rq->actor : "-");
	r->col[2]  = strdup(gw_role_name(rq->role));
	r->col[3]  = strdup(action);
	r->col[4]  = dup_or_null(job != NULL && job[0] != '\0' ? job : NULL);
	r->col[5]  = strdup(method);
	r->col[6]  = strdup(rq->path);
	r->col[7]  = strdup(rq->remote != NULL ? rq->remote : "-");
	r->col[8]  = strdup(st);
	r->col[9]  = strdup(outcome);
	r->col[10] = dup_or_null(detail != NULL && detail[0] != '\0' ? detail : NULL);
	for (int i = 0; i < AUDIT_NCOLS; i++) {
		if (r->col[i] == NULL && i != 4 && i != 10) {
			row_free(r);
			return;
		}
	}
	pthread_mutex_lock(&a->mu);
	if (a->queued >= AUDIT_QUEUE_MAX) {
		pthread_mutex_unlock(&a->mu);
		cf_log_warn("audit: queue full (%d rows): row dropped (%s %s)",
		    AUDIT_QUEUE_MAX, action, job != NULL ? job : "");
		row_free(r);
		return;
	}
	if (a->tail != NULL) {
		a->tail->next = r;
	} else {
		a->head = r;
	}
	a->tail = r;
	a->queued++;
	a->enqueued++;
	/* The writer wakes for the first row and for a full batch; in
	 * between it lingers (AUDIT_LINGER_MS) without being woken. */
	if (a->queued == 1 || a->queued == AUDIT_BATCH) {
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
}

/*
 * Waits (at most AUDIT_FLUSH_MS) until the rows queued before this call
 * are written, the writer not lingering meanwhile.
 */
static void
audit_flush(struct gw_audit *a)
{
	struct timespec until = gw_wait_until(AUDIT_FLUSH_MS);
	uint64_t        target;

	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->mu);
	target = a->enqueued;
	if (a->written < target) {
		a->flushers++;
		pthread_cond_signal(&a->cv);
		while (a->written < target && !a->stopping
		    && pthread_cond_timedwait(&a->done_cv, &a->mu, &until)
		        == 0) { }
		a->flushers--;
	}
	pthread_mutex_unlock(&a->mu);
}

/*
 * GET /api/v1/audit?limit=&before=&actor=&action=&job=: newest first;
 * "page":{"limit","next_before"} gives the id to pass as before for the
 * next page (null on the last).
 */
void
gw_route_audit(gw_app *app, const gw_request *rq, gw_reply *out)
{
	struct gw_audit *a = app->audit;
	const char      *before = rq->query(rq->conn, "before");
	const char      *p[5];
	char             sql[1024], lim[16], err[512], safe[80];
	PGresult        *res = NULL;
	cJSON           *o, *data, *page;
	int              limit, rv;

	if (gw_query_int(rq, "limit", AUDIT_DEFAULT, AUDIT_MAX, &limit, out)) {
		return;
	}
	audit_flush(a);
	if (before != NULL && !cf_digits(before, strlen(before))) {
		gw_reply_error(out, 400,
		    "query 'before': '%s' is not an audit id (take "
		    "page.next_before)",
		    gw_echo_safe(safe, sizeof(safe), before));
		return;
	}
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[0] = lim;
	p[1] = before;
	p[2] = rq->query(rq->conn, "actor");
	p[3] = rq->query(rq->conn, "action");
	p[4] = rq->query(rq->conn, "job");
	snprintf(sql, sizeof(sql),
	    "SELECT id, (extract(epoch FROM at) * 1000)::bigint, actor, role, "
	    "action, job, method, path, remote, status, outcome, detail "
	    "FROM \"%s\".audit WHERE ($2::bigint IS NULL OR id < $2::bigint) "
	    "AND ($3::text IS NULL OR actor = $3) "
	    "AND ($4::text IS NULL OR action = $4) "
	    "AND ($5::text IS NULL OR job = $5) "
	    "ORDER BY id DESC LIMIT $1::int",
	    app->cfg->schema);

	pthread_mutex_lock(&a->read_mu);
	if (a->read_pg == NULL) {
		a->read_pg = audit_connect(app->cfg, err, sizeof(err));
	}
	rv = a->read_pg == NULL
	    ? CF_ECONN
	    : cf_pg_exec(a->read_pg, sql, 5, p, &res, err, sizeof(err));
	pthread_mutex_unlock(&a->read_mu);
	if (rv != CF_OK) {
		gw_reply_error(out, 503, "audit: PostgreSQL: %s", err);
		return;
	}

	o    = cJSON_CreateObject();
	data = cJSON_CreateArray();
	for (int r = 0; r < PQntuples(res) && r < limit; r++) {
		cJSON *e = cJSON_CreateObject();
		char   at[40];

		cJSON_AddNumberToObject(
		    e, "id", (double) strtoll(PQgetvalue(res, r, 0), NULL, 10));
		cf_rfc3339_format(at, sizeof(at),
		    strtoll(PQgetvalue(res, r, 1), NULL, 10), 0, 1);
		cJSON_AddStringToObject(e, "at", at);
		for (int c = 2; c < 12; c++) {
			const char *name = audit_cols[c - 1];
			if (c == 9) {
				cJSON_AddNumberToObject(e, "status",
				    (double) strtol(PQgetvalue(res, r, c), NULL, 10));
			} else if (PQgetisnull(res, r, c)) {
				cJSON_AddNullToObject(e, name);
			} else {
				cJSON_AddStringToObject(
				    e, name, PQgetvalue(res, r, c));
			}
		}
		cJSON_AddItemToArray(data, e);
	}
	cJSON_AddTrueToObject(o, "success");
	cJSON_AddItemToObject(o, "data", data);
	page = cJSON_AddObjectToObject(o, "page");
	cJSON_AddNumberToObject(page, "limit", limit);
	if (PQntuples(res) > limit) {
		cJSON_AddNumberToObject(page, "next_before",
		    (double) strtoll(PQgetvalue(res, limit - 1, 0), NULL, 10));
	} else {
		cJSON_AddNullToObject(page, "next_before");
	}
	PQclear(res);
	gw_reply_json(out, 200, o);
}
