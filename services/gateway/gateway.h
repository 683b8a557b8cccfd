/*
 * gateway.h - the gateway's parts, shared between its files.
 *
 * The gateway owns no job state: each HTTP request becomes one or more
 * NNG requests to the services that own the answer (DESIGN.md, "Shape").
 *
 *   config.c    the configuration table and its checks
 *   auth.c      named admin and viewer tokens, compared in constant time;
 *               the slow-down of addresses that keep failing
 *   audit.c     the audit table of manual actions (PostgreSQL)
 *   upstream.c  a small pool of REQ sockets per service, and the mapping
 *               of transport failures to HTTP statuses
 *   routes.c    the route table, matching, and the scheduler routes
 *   routes_*.c  the other REST routes, by subject
 *   events.c    the services' events (SUB) as server-sent events
 *   metrics.c   GET /metrics, Prometheus text
 *   web.c       the dashboard's files and the OpenAPI document
 *   http.c      libmicrohttpd: limits, request bodies, responses
 */
#ifndef CF_GATEWAY_H
#define CF_GATEWAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cf_nng.h"

/* The largest request body a POST route accepts. */
#define GW_MAX_BODY (64 * 1024)

/* ---- config.c ----------------------------------------------------- */

/* The services the gateway talks to, in CRONFLEET_SERVICES' words. */
enum gw_service {
	GW_CLOCK = 0,
	GW_INGEST,
	GW_ANALYTICS,
	GW_MAINTENANCE,
	GW_NSERVICES,
};

typedef struct gw_config {
	int     log_level;
	char   *addr;        /* host:port, checked by gw_config_load */
	char   *admin_token;   /* secret; the single-token form, named "admin" */
	char   *admin_tokens;  /* secret; "name:token,..." */
	char   *viewer_tokens; /* secret; "name:token,..." */
	char   *cron_secret;   /* secret; NULL: /api/cron takes admin tokens only */
	char   *database_url;  /* secret (may hold a password) */
	char   *schema;        /* the gateway's schema (audit) */
	char   *migrations;    /* the db/ directory */
	bool    metrics_auth;  /* /metrics needs a viewer token */
	int64_t cron_wait_ms;  /* GET /api/cron/{job}: longest wait for the run */
	char   *clock_url;
	char   *ingest_url;
	char   *analytics_url;
	char   *maintenance_url;
	char   *ingest_pub; /* event (PUB) sockets of the domain services */
	char   *analytics_pub;
	char   *maintenance_pub;
	char   *services;   /* comma list, as given */
	int64_t timeout_ms; /* per HTTP request, for all its upstream calls */

	/* Derived by gw_config_load. */
	const char *url[GW_NSERVICES]; /* the four URLs above, by service */
	const char *pub_url[GW_NSERVICES]; /* events; NULL for the clock */
	int         enabled[GW_NSERVICES]; /* queried; the clock always is */
} gw_config;

/* "clock", "ingest", "analytics", "maintenance"; NULL out of range. */
const char *gw_service_name(int svc);

/* The service named name, or -1. */
int gw_service_find(const char *name);

/*
 * Reads the table from the environment and checks what the table cannot
 * (host:port, the service list). An invalid value exits with status 2
 * and one line naming the variable. On return cfg owns its strings.
 */
void gw_config_load(gw_config *cfg);
void gw_config_fini(gw_config *cfg);

/*
 * Splits addr ("127.0.0.1:8080", "[::1]:8080", "localhost:8080") into a
 * socket address. Returns 0, or CF_EINVAL with err saying why.
 */
struct sockaddr_storage;
int gw_addr_parse(const char *addr, struct sockaddr_storage *out,
    size_t *outlen, char *err, size_t errlen);

/* ---- auth.c ------------------------------------------------------- */

/* Who may call a route. */
enum gw_role {
	GW_ROLE_PUBLIC = 0, /* no token */
	GW_ROLE_VIEWER,     /* any valid token: reads */
	GW_ROLE_ADMIN,      /* an admin token: actions */
	GW_ROLE_CRON,       /* CRON_SECRET or an admin token */
};

/* "public", "viewer", "admin", "cron". */
const char *gw_role_name(int role);

typedef struct gw_auth gw_auth;

/*
 * Reads the tokens of cfg (admin_token, admin_tokens, viewer_tokens,
 * cron_secret), keeping only their SHA-256 digests. Returns 0, or
 * CF_EINVAL with err naming the variable (a pair without a name, two
 * tokens with one name, no admin token at all), or CF_ENOMEM.
 */
int  gw_auth_open(gw_auth **out, const gw_config *cfg, char *err, size_t errlen);
void gw_auth_close(gw_auth *a);

/*
 * Checks an Authorization header value (NULL when absent) against every
 * token, each compared in constant time (all are compared, whichever
 * matches). Returns 200 with *role (GW_ROLE_ADMIN or GW_ROLE_VIEWER, or
 * GW_ROLE_CRON for the cron secret) and name set, 401 when there is no
 * bearer token (*absent = 1) or it matches none (*absent = 0).
 */
int gw_auth_check(const gw_auth *a, const char *header, int *role,
    char *name, size_t namelen, int *absent);

/*
 * Slow-down of addresses that keep presenting bad tokens. gw_auth_throttled
 * returns the seconds an address must wait (0: not throttled); failures
 * and successes are reported with gw_auth_failed / gw_auth_succeeded.
 */
int  gw_auth_throttled(gw_auth *a, const char *remote);
void gw_auth_failed(gw_auth *a, const char *remote);
void gw_auth_succeeded(gw_auth *a, const char *remote);

/* ---- upstream.c --------------------------------------------------- */

typedef struct gw_upstream  gw_upstream;
typedef struct gw_upstreams gw_upstreams;

/*
 * One pool of REQ sockets per configured service, opened lazily (a
 * socket dials in the background, so a service may start later).
 * Returns 0 or CF_ENOMEM; *out is freed with gw_upstreams_close.
 */
int  gw_upstreams_open(gw_upstreams **out, const gw_config *cfg);
void gw_upstreams_close(gw_upstreams *u);

/* The outcome of one upstream call. */
typedef struct gw_result {
	int    status;     /* 0 on success, else the HTTP status to answer */
	char   error[512]; /* on failure: names the service */
	cJSON *data;       /* on success: the reply's data, owned */
} gw_result;

/*
 * Sends the command (cmd, job or NULL, n or 0) to service svc and waits
 * until deadline_ms (CLOCK_MONOTONIC milliseconds). Returns res->status:
 * 0 with res->data set (the caller frees it with cJSON_Delete), or
 *   400  the service answered "invalid ..." (the request's values)
 *   404  the service answered "unknown <what> ..." (a job, a source...)
 *   409  the service answered "conflict: ..."
 *   502  the service refused the command or answered garbage
 *   503  the service is not reachable, or not queried (CRONFLEET_SERVICES)
 *   504  the service did not answer in time
 * with res->error naming the service.
 */
int gw_upstream_call(gw_upstreams *u, int svc, const char *cmd,
    const char *job, int n, int64_t deadline_ms, gw_result *res);

/*
 * The same with arguments (nargs strings, e.g. schedule's expression and
 * zone, or history's key=value filters). A refusal (the service answered
 * ok=false) is 400 with the service's own message when it is about the
 * request's values, see upstream.c.
 */
int gw_upstream_call_args(gw_upstreams *u, int svc, const char *cmd,
    const char *job, int n, const char *const *args, size_t nargs,
    int64_t deadline_ms, gw_result *res);

/* 1 if svc is queried by this gateway. */
int gw_upstream_enabled(const gw_upstreams *u, int svc);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t gw_now_ms(void);
/* When a wait of ms from now ends, for pthread_cond_timedwait (routes.c). */
struct timespec gw_wait_until(int64_t ms);

/* ---- routes.c ----------------------------------------------------- */

typedef struct gw_events gw_events;
typedef struct gw_audit  gw_audit;

typedef struct gw_app {
	const gw_config *cfg;
	gw_auth         *auth;
	gw_upstreams    *up;
	gw_events       *events; /* events.c */
	gw_audit        *audit;  /* audit.c */
} gw_app;

/* What a route is, found from the method and path. */
typedef struct gw_route gw_route;

enum gw_match {
	GW_MATCH_FOUND,
	GW_MATCH_NOT_FOUND,
	GW_MATCH_BAD_METHOD, /* the path exists; allow says which methods */
};

/*
 * Finds the route of (method, path). On GW_MATCH_FOUND *route is set and
 * param holds the path's parameter (the job of /trigger/{job}), or "".
 * On GW_MATCH_BAD_METHOD *allow is the Allow header's value.
 */
int gw_route_match(const char *method, const char *path,
    const gw_route **route, char *param, size_t paramlen, const char **allow);

/* The role a route needs (enum gw_role). */
int gw_route_role(const gw_route *route);

/* The audited action a route is ("trigger", "pause", ...), or NULL. */
const char *gw_route_action(const gw_route *route);

/*
 * Every (method, path, role) served, a scoped route once per prefix, for
 * the OpenAPI check. Returns how many there are (fills at most max).
 */
typedef struct gw_route_info {
	const char *method;
	char        path[96]; /* with "{job}" as written */
	int         role;
} gw_route_info;
size_t gw_routes_list(gw_route_info *out, size_t max);

/* 1 if the route reads a request body. */
int gw_route_takes_body(const gw_route *route);


/* A request as the routes see it (no libmicrohttpd types). */
typedef struct gw_request {
	const char  *path;
	const char  *param; /* see gw_route_match */
	const cJSON *body;  /* parsed JSON body, or NULL */
	/* Query argument by name (unescaped), or NULL. */
	const char *(*query)(void *conn, const char *name);
	/* Request header by name (case-insensitive), or NULL. */
	const char *(*header)(void *conn, const char *name);
	void       *conn;
	const char *actor;  /* the token's name, or "-" */
	int         role;   /* enum gw_role of the token (PUBLIC: none) */
	const char *remote; /* the client's address */
} gw_request;

/* What to answer: a status and a JSON body (malloc'd, caller frees). */
typedef struct gw_reply {
	int         status;
	char       *body;         /* malloc'd; or NULL when streamed */
	size_t      body_len;     /* 0: strlen(body) */
	const char *content_type; /* NULL: application/json */
	const char *allow;        /* Allow header, or NULL */
	int         bearer;       /* 1: add WWW-Authenticate: Bearer */
	int         retry_after;  /* > 0: add Retry-After (seconds) */
	const char *cache;        /* Cache-Control; NULL: no-store */
	/*
	 * A streamed body (server-sent events) instead of body: http.c calls
	 * stream_read(stream, pos, buf, max) on the connection's own thread
	 * until it returns -1 (end); it may block, but must return (with at
	 * least one byte) within ~15 s and soon after shutdown starts.
	 * stream_free(stream) is called once the response is done.
	 */
	void *stream;
	long (*stream_read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *cls);
	/* For the audit: what the action did ("fire 9f..."), or "". */
	char detail[256];
	/* For the audit: the job acted on when not in the path, or "". */
	char job[72];
} gw_reply;

/* Runs a matched route; always fills out (out->body may be NULL on
 * out of memory, answered as an empty 500). */
void gw_route_run(
    gw_app *app, const gw_route *route, const gw_request *rq, gw_reply *out);

/* {"success":false,"error":<msg>} with status; out->body malloc'd. */
void gw_reply_error(gw_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* {"success":true,"data":data} with 200; takes data. */
void gw_reply_data(gw_reply *out, cJSON *data);

/* The whole object o as the body, with status; takes o. */
void gw_reply_json(gw_reply *out, int status, cJSON *o);

/* 1 if job is a valid job name; otherwise answers 400 and returns 0. */
int gw_job_valid(const char *job, gw_reply *out);

/* Copies a client's value into dst for a message: printable, at most 64. */
const char *gw_echo_safe(char *dst, size_t len, const char *src);

/* Answers res's failure (status and message naming the service). */
void gw_reply_result(gw_reply *out, gw_result *res);

/*
 * Reads the query argument name as an integer in [1, max]. Returns 0 with
 * *value set (def when absent), or 400 with out filled in.
 */
int gw_query_int(const gw_request *rq, const char *name, int def, int max,
    int *value, gw_reply *out);

/* The schedule in words, or JSON null (no schedule, or unreadable);
 * cached. gw_describe_fini frees the cache. */
cJSON *gw_describe(const char *expr, const char *tz);
void   gw_describe_fini(void);

/* Answers the clock's data for one command (cmd, job, n). */
void gw_route_clock(
    gw_app *app, const char *cmd, const char *job, int n, gw_reply *out);

/* The job named job in the clock's jobs array, or NULL. */
cJSON *gw_jobs_find(cJSON *jobs, const char *job);

/* One service's answer to a command, asked on its own thread. */
typedef struct gw_ask {
	gw_app     *app;
	const char *cmd;
	int         svc;
	int64_t     deadline;
	int         asked; /* set by the caller: ask this one */
	int         threaded; /* gw_ask_each's: taken by an asker thread */
	gw_result   res;   /* the caller frees res.data */
} gw_ask;

/* Sends each asked entry of ask[0..n) its own (svc, cmd), all at once
 * (n at most 1 + GW_NSERVICES + 4), through the asker threads. */
void gw_ask_each(gw_app *app, gw_ask *ask, size_t n, int64_t deadline);

/* The asker threads: started before the HTTP server, stopped after it. */
int  gw_askers_start(void);
void gw_askers_stop(void);

/* Frees the last shared status answer (routes.c), at exit. */
void gw_status_share_free(void);

/* Sends cmd to every service whose ask[svc].asked is set, all at once. */
void gw_ask_all(gw_app *app, gw_ask *ask, const char *cmd, int64_t deadline);

/* routes_history.c */
void gw_route_history(gw_app *app, const gw_request *rq, gw_reply *out);

/*
 * The limit newest runs of job from its owner (the clock's jobs say which
 * when owner is NULL), merged with the clock's skipped fires; or NULL with
 * out filled in (404, 502, 503, 504).
 */
cJSON *gw_history_fetch(gw_app *app, const char *job, const char *owner,
    int limit, int64_t deadline, gw_reply *out);

/* routes_jobs.c */
void gw_route_job(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_pause(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_resume(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_schedule(gw_app *app, const gw_request *rq, gw_reply *out);

/* routes_admin.c */
void gw_route_whoami(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_admin_jobs(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_admin_trigger(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_cron(gw_app *app, const gw_request *rq, gw_reply *out);

/*
 * routes_ingest.c: /api/v1/ingest/<kind>[/{id}] (organizations, sources,
 * vendors, stores, agents) over ingest's management commands, and the
 * data views /api/v1/ingest/{summary,measurements,plants,orders,carbon}.
 */
void gw_route_ingest_list(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_create(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_get(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_update(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_delete(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_view(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_ingest_reseal(gw_app *app, const gw_request *rq, gw_reply *out);

/*
 * Our name for a job the seeds call otherwise (sync-energy is
 * energy-sync, ecomanager is order-sync, ...), or job itself. The
 * matcher applies it to every {job} of a path.
 */
const char *gw_job_alias(const char *job);

/* POST /api/admin/jobs, with the alias of "jobName" resolved. */
void gw_route_admin_trigger_alias(
    gw_app *app, const gw_request *rq, gw_reply *out);

/* routes.c: trigger job at the clock (shared by the trigger routes). */
void gw_route_trigger(gw_app *app, const gw_request *rq, gw_reply *out);
int  gw_trigger(gw_app *app, const char *job, int64_t deadline,
     gw_result *res);

/* ---- the other route files (one function per route) ----------------- */

/* events.c: GET /api/v1/events, server-sent events. */
int  gw_events_start(gw_events **out, const gw_config *cfg);
/* Stops subscribing and wakes every stream, which then ends; the memory
 * stays until gw_events_free, called once the HTTP server has stopped
 * (it waits for the streams' threads). NULL is ignored by both. */
void gw_events_stop(gw_events *ev);
void gw_events_free(gw_events *ev);
void gw_route_events(gw_app *app, const gw_request *rq, gw_reply *out);

/* metrics.c: GET /metrics. */
void gw_route_metrics(gw_app *app, const gw_request *rq, gw_reply *out);

/* web.c: GET /admin/scheduler[/<asset>] and GET /api/v1/openapi.json. */
void gw_route_web(gw_app *app, const gw_request *rq, gw_reply *out);
void gw_route_openapi(gw_app *app, const gw_request *rq, gw_reply *out);

/* ---- audit.c ------------------------------------------------------ */

/*
 * Opens the audit table (migrating the gateway's schema); a database that
 * is down is retried in the background, rows meanwhile kept in memory.
 */
int  gw_audit_open(gw_audit **out, const gw_config *cfg, char *err, size_t errlen);
void gw_audit_close(gw_audit *a);

/* Records one manual action (never blocks on the database). */
void gw_audit_record(gw_audit *a, const gw_request *rq, const char *method,
    const char *action, const char *job, int status, const char *detail);

/* GET /api/v1/audit. */
void gw_route_audit(gw_app *app, const gw_request *rq, gw_reply *out);

/* ---- http.c ------------------------------------------------------- */

typedef struct gw_http gw_http;

/*
 * Starts the HTTP server on cfg->addr with its own threads (one per
 * connection, since a request blocks on upstream calls). Returns 0, or
 * CF_ESYSTEM / CF_EINVAL with err saying why.
 */
int  gw_http_start(gw_http **out, gw_app *app, char *err, size_t errlen);
void gw_http_stop(gw_http *h);

#endif /* CF_GATEWAY_H */
