/*
 * http.c - the gateway's HTTP server, over libmicrohttpd.
 *
 * One thread per connection: a request blocks for as long as its
 * upstream calls take (up to CRONFLEET_GATEWAY_TIMEOUT), and a thread
 * pool of a few threads would let one slow service stall unrelated
 * connections sharing its thread. The connection limits below bound the
 * threads instead.
 *
 * libmicrohttpd calls the handler several times per request: once with
 * the headers (where auth, routing and size limits are decided, before
 * any body is read), once per piece of body, and once at the end (where
 * the route runs). A response can be queued only at the first or the
 * last call, which is why an over-long body is drained, not cut.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_proto.h"
#include "gateway.h"

/* Limits: threads, sockets and memory one client or many can take. */
#define HTTP_MAX_CONNECTIONS 256
#define HTTP_MAX_PER_IP 64
#define HTTP_IDLE_TIMEOUT_S 30
#define HTTP_CONN_MEMORY (32 * 1024)
/* Past this much drained body the connection is simply closed. */
#define HTTP_MAX_DRAIN (1024 * 1024)

struct gw_http {
	struct MHD_Daemon *d;
	gw_app            *app;
};

/* One request's state, kept between the handler's calls. */
typedef struct http_req {
	int64_t         t0;
	const gw_route *route;
	char            param[CF_PROTO_MAX_NAME + 2];
	char           *body;
	size_t          len;
	size_t          drained; /* bytes dropped once over GW_MAX_BODY */
	int             too_big;
	char            remote[64];
	char            actor[64]; /* the token's name, "-" without one */
	int             role;      /* the token's role (PUBLIC: none) */
} http_req;

/* A streamed body: the route's reader, called by libmicrohttpd. */
typedef struct http_stream {
	void *cls;
	long (*read)(void *cls, uint64_t pos, char *buf, size_t max);
	void (*free)(void *cls);
} http_stream;

static ssize_t
http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	http_stream *st = cls;
	long         n  = st->read(st->cls, pos, buf, max);

	return (n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t) n);
}

static void
http_stream_free(void *cls)
{
	http_stream *st = cls;

	if (st->free != NULL) {
		st->free(st->cls);
	}
	free(st);
}

/* The dashboard's page may load only its own files and call only us. */
static const char html_csp[] = "default-src 'self'; script-src 'self'; "
			       "style-src 'self'; img-src 'self' data:; "
			       "connect-src 'self'; frame-ancestors 'none'; "
			       "base-uri 'none'; form-action 'none'";

static const char oom_body[]
    = "{\"success\":false,\"error\":\"out of memory\"}";

static void
http_remote(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	socklen_t                       sl;

	snprintf(buf, len, "-");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL) {
		return;
	}
	sl = ci->client_addr->sa_family == AF_INET6
	    ? sizeof(struct sockaddr_in6)
	    : sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, sl, buf, (socklen_t) len, NULL, 0,
	        NI_NUMERICHOST)
	    != 0) {
		snprintf(buf, len, "-");
	}
}

/* The response for out's body or stream; NULL on failure. */
static struct MHD_Response *
http_response(gw_reply *out)
{
	struct MHD_Response *resp;
	http_stream         *st;

	if (out->stream_read != NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL) {
			if (out->stream_free != NULL) {
				out->stream_free(out->stream);
			}
			return (NULL);
		}
		st->cls  = out->stream;
		st->read = out->stream_read;
		st->free = out->stream_free;
		resp     = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		        4096, http_stream_read, st, http_stream_free);
		if (resp == NULL) {
			http_stream_free(st);
		}
		return (resp);
	}
	if (out->body == NULL) {
		out->status  = 500;
		out->content_type = NULL;
		return (MHD_create_response_from_buffer(sizeof(oom_body) - 1,
		    (void *) oom_body, MHD_RESPMEM_PERSISTENT));
	}
	resp = MHD_create_response_from_buffer(
	    out->body_len > 0 ? out->body_len : strlen(out->body), out->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(out->body);
	}
	out->body = NULL;
	return (resp);
}

/*
 * Queues out as the response, logs the request and, for a manual action,
 * records it in the audit; frees out->body.
 */
static enum MHD_Result
http_send(struct MHD_Connection *conn, http_req *rq, const char *method,
    const char *url, gw_reply *out, gw_app *app)
{
	struct MHD_Response *resp;
	enum MHD_Result      ret;
	const char          *ctype;
	char                 status[8], ms[24], retry[16];

	if ((resp = http_response(out)) == NULL) {
		return (MHD_NO);
	}
	ctype = out->content_type != NULL ? out->content_type
	                                  : "application/json";
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    out->cache != NULL ? out->cache : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (strncmp(ctype, "text/html", 9) == 0) {
		MHD_add_response_header(
		    resp, "Content-Security-Policy", html_csp);
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	}
	if (strncmp(ctype, "text/event-stream", 17) == 0) {
		/* A proxy (nginx) must pass events on as they come. */
		MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	}
	if (out->allow != NULL) {
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_ALLOW, out->allow);
	}
	if (out->bearer) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    out->bearer == 2
		        ? "Bearer realm=\"cronfleet\", error=\"invalid_token\""
		        : "Bearer realm=\"cronfleet\"");
	}
	if (out->retry_after > 0) {
		snprintf(retry, sizeof(retry), "%d", out->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	ret = MHD_queue_response(conn, (unsigned int) out->status, resp);
	MHD_destroy_response(resp);

	snprintf(status, sizeof(status), "%d", out->status);
	snprintf(ms, sizeof(ms), "%lld", (long long) (gw_now_ms() - rq->t0));
	cf_log_kv(out->status >= 500 ? CF_LOG_WARN : CF_LOG_INFO, NULL, NULL,
	    "request", "method", method, "path", url, "status", status, "ms",
	    ms, "remote", rq->remote, "actor", rq->actor, NULL);
	/*
	 * Manual actions, refused ones included, go to the audit: who asked
	 * for what from where, and the outcome.
	 */
	if (rq->route != NULL && gw_route_action(rq->route) != NULL
	    && strcmp(method, "HEAD") != 0) {
		gw_request req;

		memset(&req, 0, sizeof(req));
		req.path   = url;
		req.actor  = rq->actor;
		req.role   = rq->role;
		req.remote = rq->remote;
		cf_log_kv(CF_LOG_INFO, rq->param[0] ? rq->param : NULL, NULL,
		    "manual action", "action", gw_route_action(rq->route),
		    "path", url, "status", status, "remote", rq->remote,
		    "actor", rq->actor, "detail", out->detail, NULL);
		gw_audit_record(app->audit, &req, method,
		    gw_route_action(rq->route),
		    out->job[0] != '\0' ? out->job : rq->param, out->status,
		    out->detail);
	}
	return (ret);
}

static const char *
http_query(void *conn, const char *name)
{
	return (MHD_lookup_connection_value(
	    (struct MHD_Connection *) conn, MHD_GET_ARGUMENT_KIND, name));
}

static const char *
http_header(void *conn, const char *name)
{
	return (MHD_lookup_connection_value(
	    (struct MHD_Connection *) conn, MHD_HEADER_KIND, name));
}

/*
 * Who may call what: the role a request needs. An /api path that matches
 * no route needs a token too, so that only a caller who has one learns
 * which routes exist.
 */
static int
http_needed_role(const gw_app *app, const gw_route *route, const char *url)
{
	if (route == NULL) {
		return (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0
		        ? GW_ROLE_VIEWER
		        : GW_ROLE_PUBLIC);
	}
	if (gw_route_role(route) == GW_ROLE_PUBLIC
	    && strcmp(url, "/metrics") == 0 && app->cfg->metrics_auth) {
		return (GW_ROLE_VIEWER);
	}
	return (gw_route_role(route));
}

/* 1 if a token of role `have` may call a route needing `need`. */
static int
http_role_ok(int need, int have)
{
	switch (need) {
	case GW_ROLE_PUBLIC:
		return (1);
	case GW_ROLE_VIEWER:
		return (have == GW_ROLE_VIEWER || have == GW_ROLE_ADMIN);
	case GW_ROLE_ADMIN:
		return (have == GW_ROLE_ADMIN);
	case GW_ROLE_CRON:
		return (have == GW_ROLE_CRON || have == GW_ROLE_ADMIN);
	default:
		return (0);
	}
}

/*
 * Checks the caller's token against the role needed. Returns 0 when the
 * request may go on (rq->actor and rq->role set), else the status of the
 * answer put in out: 401 (none, or not one of ours), 403 (a token whose
 * role may not do this), 429 (this address failed too often lately).
 */
static int
http_authorize(gw_app *app, struct MHD_Connection *conn, http_req *rq,
    int need, gw_reply *out)
{
	int role = GW_ROLE_PUBLIC, absent = 0, wait;

	if (need == GW_ROLE_PUBLIC) {
		return (0);
	}
	if ((wait = gw_auth_throttled(app->auth, rq->remote)) > 0) {
		gw_reply_error(out, 429,
		    "too many failed authentications from %s: try again in "
		    "%d s",
		    rq->remote, wait);
		out->retry_after = wait;
		return (429);
	}
	if (gw_auth_check(app->auth,
	        MHD_lookup_connection_value(
	            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
	        &role, rq->actor, sizeof(rq->actor), &absent)
	    != 200) {
		if (absent) {
			gw_reply_error(out, 401,
			    "missing bearer token: send Authorization: Bearer "
			    "<token> (CRONFLEET_ADMIN_TOKENS, "
			    "CRONFLEET_VIEWER_TOKENS%s)",
			    need == GW_ROLE_CRON ? ", CRON_SECRET" : "");
			out->bearer = 1;
		} else {
			gw_auth_failed(app->auth, rq->remote);
			gw_reply_error(out, 401, "invalid token");
			out->bearer = 2;
		}
		return (401);
	}
	gw_auth_succeeded(app->auth, rq->remote);
	rq->role = role;
	if (!http_role_ok(need, role)) {
		gw_reply_error(out, 403,
		    "%s role required: token '%s' is a %s token",
		    need == GW_ROLE_CRON ? "cron or admin"
		    : need == GW_ROLE_ADMIN ? "admin"
		                            : "viewer or admin",
		    rq->actor, gw_role_name(role));
		return (403);
	}
	return (0);
}

/*
 * The first call, with the headers only: decides everything that does
 * not need the body, so an unauthenticated or misrouted client cannot
 * make us read (or hold) a body at all.
 */
static enum MHD_Result
http_begin(gw_http *h, struct MHD_Connection *conn, const char *url,
    const char *method, http_req *rq)
{
	gw_reply    out;
	const char *allow = NULL;
	const char *cl;
	int         m;

	memset(&out, 0, sizeof(out));
	http_remote(conn, rq->remote, sizeof(rq->remote));
	snprintf(rq->actor, sizeof(rq->actor), "-");
	m = gw_route_match(
	    method, url, &rq->route, rq->param, sizeof(rq->param), &allow);
	if (m != GW_MATCH_FOUND) {
		rq->route = NULL;
	}
	/* Authentication comes first: without a token, no route is told. */
	if (http_authorize(h->app, conn, rq,
	        http_needed_role(h->app, rq->route, url), &out)
	    != 0) {
		/*
		 * A wrong token or a viewer's attempt at an action is
		 * audited; a request without a token, or refused unread
		 * while its address is slowed down, is only logged.
		 */
		if (out.status == 429 || out.bearer == 1) {
			rq->route = NULL;
		}
		return (http_send(conn, rq, method, url, &out, h->app));
	}
	if (m == GW_MATCH_NOT_FOUND) {
		gw_reply_error(&out, 404, "no such route");
		return (http_send(conn, rq, method, url, &out, h->app));
	}
	if (m == GW_MATCH_BAD_METHOD) {
		gw_reply_error(
		    &out, 405, "method not allowed; allowed: %s", allow);
		out.allow = allow;
		return (http_send(conn, rq, method, url, &out, h->app));
	}

	cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && gw_route_takes_body(rq->route)) {
		char              *end;
		unsigned long long n = strtoull(cl, &end, 10);
		if (*end == '\0' && n > GW_MAX_BODY) {
			gw_reply_error(&out, 413, "request body over %d bytes",
			    GW_MAX_BODY);
			return (http_send(conn, rq, method, url, &out, h->app));
		}
	}
	/* Wait for the body (or its absence) before answering. */
	return (MHD_YES);
}

/* A piece of body. */
static enum MHD_Result
http_body(http_req *rq, const char *data, size_t n)
{
	char *p;

	if (!gw_route_takes_body(rq->route)) {
		/* A body on a GET: ignored, but no more than a big one. */
		rq->drained += n;
		return (rq->drained > HTTP_MAX_DRAIN ? MHD_NO : MHD_YES);
	}
	if (rq->too_big || rq->len + n > GW_MAX_BODY) {
		/* Chunked, so not refused up front: drain, then answer 413. */
		free(rq->body);
		rq->body    = NULL;
		rq->too_big = 1;
		rq->drained += n;
		return (rq->drained > HTTP_MAX_DRAIN ? MHD_NO : MHD_YES);
	}
	if ((p = realloc(rq->body, rq->len + n + 1)) == NULL) {
		return (MHD_NO);
	}
	rq->body = p;
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return (MHD_YES);
}

/* The last call: the body is complete; run the route. */
static enum MHD_Result
http_finish(gw_http *h, struct MHD_Connection *conn, const char *url,
    const char *method, http_req *rq)
{
	gw_reply   out;
	gw_request req;
	cJSON     *body = NULL;
	size_t     ws;

	memset(&out, 0, sizeof(out));
	if (rq->too_big) {
		gw_reply_error(
		    &out, 413, "request body over %d bytes", GW_MAX_BODY);
		return (http_send(conn, rq, method, url, &out, h->app));
	}
	ws = rq->body != NULL ? strspn(rq->body, " \t\r\n") : 0;
	if (rq->body != NULL && ws < rq->len) {
		const char *end = NULL;

		/*
		 * Parsed without cJSON's NUL check, which would accept a NUL
		 * byte and anything after it; trailing bytes are ours to
		 * refuse, whitespace excepted.
		 */
		body = cJSON_ParseWithLengthOpts(rq->body, rq->len, &end, 0);
		if (body != NULL) {
			size_t at = (size_t) (end - rq->body);
			while (at < rq->len && strchr(" \t\r\n", rq->body[at])
			    && rq->body[at] != '\0') {
				at++;
			}
			if (at < rq->len) {
				cJSON_Delete(body);
				body = NULL;
				end  = rq->body + at;
			}
		}
		if (body == NULL) {
			size_t at = end != NULL && end >= rq->body
			    ? (size_t) (end - rq->body)
			    : 0;
			gw_reply_error(&out, 400,
			    "malformed JSON in request body at byte %zu", at);
			return (http_send(conn, rq, method, url, &out, h->app));
		}
		if (!cJSON_IsObject(body)) {
			cJSON_Delete(body);
			gw_reply_error(
			    &out, 400, "request body must be a JSON object");
			return (http_send(conn, rq, method, url, &out, h->app));
		}
	}

	memset(&req, 0, sizeof(req));
	req.path  = url;
	req.param = rq->param;
	req.body  = body;
	req.query  = http_query;
	req.header = http_header;
	req.conn   = conn;
	req.actor  = rq->actor;
	req.role   = rq->role;
	req.remote = rq->remote;
	gw_route_run(h->app, rq->route, &req, &out);
	cJSON_Delete(body);
	return (http_send(conn, rq, method, url, &out, h->app));
}

static enum MHD_Result
http_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	gw_http  *h  = cls;
	http_req *rq = *con_cls;

	(void) version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL) {
			return (MHD_NO);
		}
		rq->t0   = gw_now_ms();
		*con_cls = rq;
		return (http_begin(h, conn, url, method, rq));
	}
	if (*upload_data_size > 0) {
		size_t n          = *upload_data_size;
		*upload_data_size = 0;
		return (http_body(rq, upload_data, n));
	}
	return (http_finish(h, conn, url, method, rq));
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	http_req *rq = *con_cls;

	(void) cls;
	(void) conn;
	(void) toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's own complaints, as our log lines. */
static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char   buf[512];
	size_t n;

	(void) cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
		buf[--n] = '\0';
	}
	cf_log_warn("libmicrohttpd: %s", buf);
}

int
gw_http_start(gw_http **out, gw_app *app, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	size_t                  sslen;
	unsigned int            flags;
	gw_http                *h;
	int                     rv;

	rv = gw_addr_parse(app->cfg->addr, &ss, &sslen, err, errlen);
	if (rv != CF_OK) {
		return (rv);
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		return (CF_ENOMEM);
	}
	h->app = app;
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
	    | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
	}
	/* The logger goes first so that every complaint takes it. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *) &ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int) HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) HTTP_MAX_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) HTTP_IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_END);
	if (h->d == NULL) {
		free(h);
		snprintf(err, errlen, "cannot listen on %s (in use?)",
		    app->cfg->addr);
		return (CF_ESYSTEM);
	}
	*out = h;
	return (CF_OK);
}

void
gw_http_stop(gw_http *h)
{
	if (h == NULL) {
		return;
	}
	/* Waits for every connection thread, so no handler outlives us. */
	MHD_stop_daemon(h->d);
	free(h);
}
