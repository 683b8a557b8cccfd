/*
 * gateway.h - the gateway's parts, shared between its files.
 *
 * The gateway owns no job state: each HTTP request becomes one or more
 * NNG requests to the services that own the answer (DESIGN.md, "Shape").
 *
 *   config.c    the configuration table and its checks
 *   auth.c      the admin bearer token, compared in constant time
 *   upstream.c  a small pool of REQ sockets per service, and the mapping
 *               of transport failures to HTTP statuses
 *   routes.c    the REST routes and the JSON they answer
 *   http.c      libmicrohttpd: limits, request bodies, responses
 */
#ifndef CF_GATEWAY_H
#define CF_GATEWAY_H

#include <pthread.h>
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
	char   *admin_token; /* secret */
	char   *clock_url;
	char   *ingest_url;
	char   *analytics_url;
	char   *maintenance_url;
	char   *services;   /* comma list, as given */
	int64_t timeout_ms; /* per HTTP request, for all its upstream calls */

	/* Derived by gw_config_load. */
	const char *url[GW_NSERVICES]; /* the four URLs above, by service */
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

typedef struct gw_auth {
	unsigned char digest[32]; /* SHA-256 of the admin token */
} gw_auth;

/* Keeps only the token's digest. Returns 0, or CF_ESYSTEM. */
int gw_auth_init(gw_auth *a, const char *token);

/*
 * Checks an Authorization header value (NULL when absent). Returns 200
 * when it carries the admin token, 401 when there is no bearer token,
 * 403 when the token is wrong.
 */
int gw_auth_check(const gw_auth *a, const char *header);

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
 *   404  the service answered "unknown job"
 *   502  the service refused the command or answered garbage
 *   503  the service is not reachable, or not queried (CRONFLEET_SERVICES)
 *   504  the service did not answer in time
 * with res->error naming the service.
 */
int gw_upstream_call(gw_upstreams *u, int svc, const char *cmd,
    const char *job, int n, int64_t deadline_ms, gw_result *res);

/* 1 if svc is queried by this gateway. */
int gw_upstream_enabled(const gw_upstreams *u, int svc);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t gw_now_ms(void);

/* ---- routes.c ----------------------------------------------------- */

typedef struct gw_app {
	const gw_config *cfg;
	gw_auth          auth;
	gw_upstreams    *up;
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

/* 1 if the route needs the admin token. */
int gw_route_needs_auth(const char *path);

/* 1 if the route reads a request body. */
int gw_route_takes_body(const gw_route *route);

/* 1 if the route changes something (logged as an audit line). */
int gw_route_is_action(const gw_route *route);

/* A request as the routes see it (no libmicrohttpd types). */
typedef struct gw_request {
	const char  *path;
	const char  *param; /* see gw_route_match */
	const cJSON *body;  /* parsed JSON body, or NULL */
	/* Query argument by name (unescaped), or NULL. */
	const char *(*query)(void *conn, const char *name);
	void *conn;
} gw_request;

/* What to answer: a status and a JSON body (malloc'd, caller frees). */
typedef struct gw_reply {
	int         status;
	char       *body;
	const char *allow;  /* Allow header, or NULL */
	int         bearer; /* 1: add WWW-Authenticate: Bearer */
} gw_reply;

/* Runs a matched route; always fills out (out->body may be NULL on
 * out of memory, answered as an empty 500). */
void gw_route_run(
    gw_app *app, const gw_route *route, const gw_request *rq, gw_reply *out);

/* {"success":false,"error":<msg>} with status; out->body malloc'd. */
void gw_reply_error(gw_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
