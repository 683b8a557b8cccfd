/*
 * http.c - the simulator's HTTP server, over libmicrohttpd.
 *
 * A thread per connection: the slow fault sleeps in the handler, and it
 * must hold up only the connection it answers. The handler is called with
 * the headers, then with each piece of body, then once more at the end,
 * where the request is dispatched; a body over VS_MAX_BODY is drained and
 * answered with 413.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cf_log.h"
#include "sim.h"

#define VS_MAX_BODY (64 * 1024)
#define VS_MAX_CONNECTIONS 256
#define VS_IDLE_TIMEOUT_S 60

struct vs_http {
	struct MHD_Daemon *d;
	vs_sim            *sim;
};

typedef struct http_req {
	char  *body;
	size_t len;
	int    too_big;
} http_req;

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

/* 1 if the client is on a loopback address. */
static int
http_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL) {
		return (0);
	}
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a
		    = (const struct sockaddr_in *) (const void *)
		          ci->client_addr;
		return ((ntohl(a->sin_addr.s_addr) >> 24) == 127);
	}
	if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a
		    = (const struct sockaddr_in6 *) (const void *)
		          ci->client_addr;
		static const unsigned char lo[16] = { [15] = 1 };
		return (memcmp(&a->sin6_addr, lo, 16) == 0);
	}
	return (0);
}

static enum MHD_Result
http_send(struct MHD_Connection *conn, vs_resp *out)
{
	struct MHD_Response *resp;
	enum MHD_Result      ret;
	char                 retry[16];

	resp = MHD_create_response_from_buffer(out->len,
	    out->body != NULL ? out->body : (void *) "",
	    out->body != NULL ? MHD_RESPMEM_MUST_FREE
	                      : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(out->body);
		return (MHD_NO);
	}
	out->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    out->content_type != NULL ? out->content_type
	                              : "application/json");
	if (out->retry_after > 0) {
		snprintf(retry, sizeof(retry), "%d", out->retry_after);
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (out->www_auth != NULL) {
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, out->www_auth);
	}
	for (int i = 0; i < 2; i++) {
		if (out->hname[i][0] != '\0') {
			MHD_add_response_header(
			    resp, out->hname[i], out->hval[i]);
		}
	}
	ret = MHD_queue_response(conn, (unsigned int) out->status, resp);
	MHD_destroy_response(resp);
	return (ret);
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	vs_http    *h  = cls;
	http_req   *hr = *con_cls;
	vs_req      rq;
	vs_resp     out;
	const char *host;
	char        base[320], status[8];
	int64_t     now;

	(void) version;
	if (hr == NULL) {
		if ((hr = calloc(1, sizeof(*hr))) == NULL) {
			return (MHD_NO);
		}
		*con_cls = hr;
		return (MHD_YES);
	}
	if (*upload_size > 0) {
		if (!hr->too_big && hr->len + *upload_size <= VS_MAX_BODY) {
			char *nb
			    = realloc(hr->body, hr->len + *upload_size + 1);
			if (nb == NULL) {
				return (MHD_NO);
			}
			hr->body = nb;
			memcpy(hr->body + hr->len, upload_data, *upload_size);
			hr->len += *upload_size;
			hr->body[hr->len] = '\0';
		} else {
			hr->too_big = 1;
		}
		*upload_size = 0;
		return (MHD_YES);
	}

	memset(&out, 0, sizeof(out));
	if (hr->too_big) {
		vs_reply_text(&out, 413,
		    "{\"error\":\"request body over %d bytes\"}", VS_MAX_BODY);
		return (http_send(conn, &out));
	}
	now = vs_now(h->sim, http_header(conn, "X-Sim-Now"));
	if (now < 0) {
		vs_reply_text(&out, 400,
		    "{\"error\":\"X-Sim-Now: expected an RFC 3339 instant or "
		    "unix seconds\"}");
		return (http_send(conn, &out));
	}
	host = http_header(conn, MHD_HTTP_HEADER_HOST);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.full   = url;
	rq.path   = url;
	rq.body   = hr->body != NULL ? hr->body : "";
	rq.len    = hr->len;
	rq.now    = now;
	rq.conn   = conn;
	rq.query  = http_query;
	rq.header = http_header;
	rq.vendor = -1;
	{
		const char *p = url[0] == '/' ? url + 1 : url;
		size_t      n = strcspn(p, "/");
		/* Only a known vendor's name goes into links we print. */
		if (vs_vendor_find(p, n) < 0) {
			n = 0;
		}
		snprintf(base, sizeof(base), "http://%s/%.*s",
		    host != NULL && strlen(host) < 200 ? host
		                                       : h->sim->cfg->addr,
		    (int) n, p);
	}
	rq.base = base;
	vs_dispatch(h->sim, &rq, &out, http_loopback(conn));

	snprintf(status, sizeof(status), "%d", out.status);
	cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "request", "method", method,
	    "path", url, "status", status, "route",
	    out.route != NULL ? out.route : "-", NULL);
	return (http_send(conn, &out));
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	http_req *hr = *con_cls;

	(void) cls;
	(void) conn;
	(void) toe;
	if (hr != NULL) {
		free(hr->body);
		free(hr);
		*con_cls = NULL;
	}
}

int
vs_http_start(vs_http **out, vs_sim *sim, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	struct addrinfo    hints, *res = NULL;
	const char        *addr = sim->cfg->addr, *colon = strrchr(addr, ':');
	char               host[256];
	vs_http           *h;
	size_t             hlen = (size_t) (colon - addr);

	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family   = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		snprintf(err, errlen, "cannot resolve %s", host);
		return (-1);
	}
	memcpy(&sa, res->ai_addr, sizeof(sa));
	freeaddrinfo(res);
	sa.sin_port = htons((uint16_t) atoi(colon + 1));

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	h->sim = sim;
	h->d   = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION
	          | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	      0, NULL, NULL, http_handler, h, MHD_OPTION_SOCK_ADDR,
	      (struct sockaddr *) &sa, MHD_OPTION_CONNECTION_LIMIT,
	      (unsigned int) VS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	      (unsigned int) VS_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
	      http_completed, h, MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "cannot listen on %s (in use?)", addr);
		free(h);
		return (-1);
	}
	*out = h;
	return (0);
}

void
vs_http_stop(vs_http *h)
{
	if (h == NULL) {
		return;
	}
	/* Slow responses notice this within 50 ms and finish. */
	h->sim->stopping = 1;
	MHD_stop_daemon(h->d);
	free(h);
}
