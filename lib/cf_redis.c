/*
 * cf_redis.c - a Redis connection for one thread: URL, reconnects,
 * timeouts, error translation. The contract is in cf_redis.h.
 */
#include "cf_redis.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "cf_err.h"

struct cf_redis {
	redisContext *c; /* NULL after an error: connect before use */
	char         *host;
	int           port;
	int           db;
	char         *user; /* NULL: AUTH with the password only */
	char         *pass; /* NULL: no AUTH */
	int           connect_ms;
	int           cmd_ms;
};

static struct timeval
redis_tv(int ms)
{
	struct timeval tv
	    = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return (tv);
}

/* ---------------------------------------------------------------- */
/* SIGPIPE: see cf_redis.h. The same dance libpq does without
 * MSG_NOSIGNAL. */

static void
redis_sigpipe_block(sigset_t *old, int *pending)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
	*pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE);
}

static void
redis_sigpipe_reset(const sigset_t *old, int pending)
{
	sigset_t              set, pend;
	const struct timespec zero  = { 0, 0 };
	int                   saved = errno;

	if (!pending && sigpending(&pend) == 0
	    && sigismember(&pend, SIGPIPE)) {
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
	errno = saved;
}

/* ---------------------------------------------------------------- */
/* URL. */

static int
redis_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* A percent-decoded copy of s[0..n), or NULL (bad escape or memory). */
static char *
redis_decode(const char *s, size_t n)
{
	char  *out = malloc(n + 1);
	size_t o   = 0;

	if (out == NULL)
		return (NULL);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = -1, lo = -1;
			if (i + 2 < n) {
				hi = redis_hex((unsigned char) s[i + 1]);
				lo = redis_hex((unsigned char) s[i + 2]);
			}
			/* %00 would cut the string short: refused. */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return (NULL);
			}
			out[o++] = (char) (hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return (out);
}

/* Parses a number in s[0..n) into *v, within [lo, hi]. */
static int
redis_number(const char *s, size_t n, long lo, long hi, int *v)
{
	long x = 0;

	if (n == 0 || n > 9)
		return (-1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		x = x * 10 + (s[i] - '0');
	}
	if (x < lo || x > hi)
		return (-1);
	*v = (int) x;
	return (0);
}

/*
 * Fills r's host, port, db, user and pass from url. Messages never quote
 * the URL: it may hold the password.
 */
static int
redis_parse_url(cf_redis *r, const char *url, char *err, size_t errlen)
{
	const char *p, *auth_end, *at, *host, *host_end, *port = NULL;
	size_t      n;

	if (url == NULL || strncasecmp(url, "redis://", 8) != 0) {
		cf_errf(err, errlen,
		    "invalid Redis URL: expected redis://[[user]:password@]"
		    "host[:port][/db]");
		return (CF_EINVAL);
	}
	p        = url + 8;
	auth_end = p + strcspn(p, "/?#");
	if (*auth_end == '?' || *auth_end == '#') {
		cf_errf(err, errlen,
		    "invalid Redis URL: query parameters are not supported");
		return (CF_EINVAL);
	}

	/* The last '@' before the path ends the user information. */
	at = NULL;
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	host = p;
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t) (at - p));
		if (colon != NULL) {
			if (colon > p
			    && (r->user
			           = redis_decode(p, (size_t) (colon - p)))
			        == NULL)
				goto bad_userinfo;
			if ((r->pass = redis_decode(
			         colon + 1, (size_t) (at - colon - 1)))
			    == NULL)
				goto bad_userinfo;
			if (r->pass[0] == '\0') {
				free(r->pass);
				r->pass = NULL;
			}
		} else if (at > p
		    && (r->user = redis_decode(p, (size_t) (at - p)))
		        == NULL) {
			goto bad_userinfo;
		}
		host = at + 1;
	}

	if (*host == '[') {
		host_end = memchr(host, ']', (size_t) (auth_end - host));
		if (host_end == NULL) {
			cf_errf(err, errlen,
			    "invalid Redis URL: unterminated [IPv6] host");
			return (CF_EINVAL);
		}
		host++;
		if (host_end + 1 < auth_end) {
			if (host_end[1] != ':') {
				cf_errf(err, errlen,
				    "invalid Redis URL: junk after [host]");
				return (CF_EINVAL);
			}
			port = host_end + 2;
		}
	} else {
		host_end = memchr(host, ':', (size_t) (auth_end - host));
		if (host_end != NULL)
			port = host_end + 1;
		else
			host_end = auth_end;
	}
	n = (size_t) (host_end - host);
	if (n == 0) {
		cf_errf(err, errlen, "invalid Redis URL: no host");
		return (CF_EINVAL);
	}
	if ((r->host = malloc(n + 1)) == NULL) {
		cf_errf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	memcpy(r->host, host, n);
	r->host[n] = '\0';

	r->port = 6379;
	if (port != NULL
	    && redis_number(
	        port, (size_t) (auth_end - port), 1, 65535, &r->port)) {
		cf_errf(
		    err, errlen, "invalid Redis URL: port must be 1 to 65535");
		return (CF_EINVAL);
	}
	r->db = 0;
	if (*auth_end == '/' && auth_end[1] != '\0'
	    && redis_number(
	        auth_end + 1, strlen(auth_end + 1), 0, INT_MAX, &r->db)) {
		cf_errf(err, errlen,
		    "invalid Redis URL: the path must be a database number");
		return (CF_EINVAL);
	}
	return (CF_OK);

bad_userinfo:
	cf_errf(err, errlen,
	    "invalid Redis URL: bad percent-encoding in user or password");
	return (CF_EINVAL);
}

/* ---------------------------------------------------------------- */
/* Connection. */

static void
redis_drop(cf_redis *r)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
}

/*
 * Translates a context error (a failed redisGetReply, redisCommand ...)
 * into a code; errnum is errno as it was right after the failing call.
 */
static int
redis_ctx_err(cf_redis *r, int errnum, char *err, size_t errlen)
{
	redisContext *c = r->c;

	switch (c->err) {
	case REDIS_ERR_IO:
		if (errnum == EAGAIN || errnum == EWOULDBLOCK) {
			cf_errf(err, errlen,
			    "Redis %s:%d: no answer within %d ms", r->host,
			    r->port, r->cmd_ms);
			return (CF_ETIMEDOUT);
		}
		cf_errf(err, errlen, "Redis %s:%d: %s", r->host, r->port,
		    c->errstr);
		return (CF_ECONN);
	case REDIS_ERR_EOF:
		cf_errf(err, errlen,
		    "Redis %s:%d: the server closed the connection", r->host,
		    r->port);
		return (CF_ECONN);
	case REDIS_ERR_PROTOCOL:
		cf_errf(err, errlen, "Redis %s:%d: protocol error: %s",
		    r->host, r->port, c->errstr);
		return (CF_EPROTO);
	case REDIS_ERR_OOM:
		cf_errf(err, errlen, "Redis: out of memory");
		return (CF_ENOMEM);
	default:
		cf_errf(err, errlen, "Redis %s:%d: %s", r->host, r->port,
		    c->errstr[0] != '\0' ? c->errstr : "connection failed");
		return (CF_ECONN);
	}
}

/*
 * Takes a reply: an error reply becomes CF_EPROTO with its text; anything
 * else goes to *out (or is freed).
 */
static int
redis_take(redisReply *reply, redisReply **out, char *err, size_t errlen)
{
	if (reply->type == REDIS_REPLY_ERROR) {
		cf_errf(err, errlen, "Redis: %.*s",
		    reply->len > 512 ? 512 : (int) reply->len, reply->str);
		freeReplyObject(reply);
		return (CF_EPROTO);
	}
	if (out != NULL)
		*out = reply;
	else
		freeReplyObject(reply);
	return (CF_OK);
}

/* Sends one formatted command on r->c and reads its reply. A context
 * error drops the context. */
static int
redis_roundtrip(cf_redis *r, const char *cmd, size_t len, redisReply **out,
    char *err, size_t errlen)
{
	void *reply = NULL;
	int   rc, e;

	errno = 0;
	if (redisAppendFormattedCommand(r->c, cmd, len) != REDIS_OK
	    || redisGetReply(r->c, &reply) != REDIS_OK) {
		e  = errno;
		rc = redis_ctx_err(r, e, err, errlen);
		redis_drop(r);
		return (rc);
	}
	if (reply == NULL) {
		cf_errf(err, errlen, "Redis: no reply");
		redis_drop(r);
		return (CF_EPROTO);
	}
	return (redis_take(reply, out, err, errlen));
}

/* One command during connection set-up (AUTH, SELECT). */
static int
redis_setup_cmd(cf_redis *r, const char *what, char *err, size_t errlen,
    const char *fmt, ...)
{
	char   *cmd = NULL;
	int     len, rc;
	va_list ap;
	char    buf[256];

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		cf_errf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	rc = redis_roundtrip(r, cmd, (size_t) len, NULL, buf, sizeof(buf));
	redisFreeCommand(cmd);
	if (rc != CF_OK)
		cf_errf(err, errlen, "%s failed: %s", what, buf);
	return (rc);
}

static int
redis_connect(cf_redis *r, char *err, size_t errlen)
{
	redisContext *c;
	int           rc;

	redis_drop(r);
	c = redisConnectWithTimeout(r->host, r->port, redis_tv(r->connect_ms));
	if (c == NULL) {
		cf_errf(err, errlen, "Redis: out of memory");
		return (CF_ENOMEM);
	}
	if (c->err) {
		cf_errf(err, errlen, "Redis %s:%d: %s", r->host, r->port,
		    c->errstr);
		rc = c->err == REDIS_ERR_OOM ? CF_ENOMEM : CF_ECONN;
		redisFree(c);
		return (rc);
	}
	if (redisSetTimeout(c, redis_tv(r->cmd_ms)) != REDIS_OK) {
		cf_errf(err, errlen, "Redis: cannot set the timeout: %s",
		    c->errstr);
		redisFree(c);
		return (CF_ESYSTEM);
	}
	r->c = c;
	if (r->pass != NULL) {
		if (r->user != NULL)
			rc = redis_setup_cmd(r, "Redis AUTH", err, errlen,
			    "AUTH %s %s", r->user, r->pass);
		else
			rc = redis_setup_cmd(
			    r, "Redis AUTH", err, errlen, "AUTH %s", r->pass);
		if (rc != CF_OK) {
			redis_drop(r);
			return (rc);
		}
	}
	if (r->db != 0
	    && (rc = redis_setup_cmd(
	            r, "Redis SELECT", err, errlen, "SELECT %d", r->db))
	        != 0) {
		redis_drop(r);
		return (rc);
	}
	return (CF_OK);
}

/*
 * Whether the idle connection is still there, without sending anything:
 * an end of file, an error, or bytes nobody asked for (the server closed
 * it, or the protocol is out of step) mean it is not.
 */
static int
redis_alive(cf_redis *r)
{
	struct pollfd p = { .fd = r->c->fd, .events = POLLIN };
	char          b;
	ssize_t       n;

	if (r->c->err)
		return (0);
	if (poll(&p, 1, 0) <= 0)
		return (1);
	n = recv(r->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0
	    && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return (1);
	return (0);
}

void
cf_redis_close(cf_redis *r)
{
	if (r == NULL)
		return;
	redis_drop(r);
	free(r->host);
	free(r->user);
	if (r->pass != NULL) {
		volatile char *s = r->pass;
		while (*s != '\0')
			*s++ = '\0';
		free(r->pass);
	}
	free(r);
}

int
cf_redis_open(cf_redis **out, const char *url, char *err, size_t errlen)
{
	cf_redis *r;
	sigset_t  old;
	int       pending, rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		cf_errf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	r->connect_ms = CF_REDIS_CONNECT_TIMEOUT_MS;
	r->cmd_ms     = CF_REDIS_COMMAND_TIMEOUT_MS;
	if ((rc = redis_parse_url(r, url, err, errlen)) != CF_OK) {
		cf_redis_close(r);
		return (rc);
	}
	redis_sigpipe_block(&old, &pending);
	rc = redis_connect(r, err, errlen);
	redis_sigpipe_reset(&old, pending);
	if (rc != CF_OK) {
		cf_redis_close(r);
		return (rc);
	}
	*out = r;
	return (CF_OK);
}

int
cf_redis_set_timeout(cf_redis *r, int ms)
{
	if (ms <= 0)
		return (CF_EINVAL);
	r->cmd_ms = ms;
	if (r->c != NULL && redisSetTimeout(r->c, redis_tv(ms)) != REDIS_OK)
		redis_drop(r); /* reconnect, with the new timeout, next time */
	return (CF_OK);
}

int
cf_redis_vcmd(cf_redis *r, int flags, redisReply **out, char *err,
    size_t errlen, const char *fmt, va_list ap)
{
	char    *cmd = NULL;
	int      len, rc, pending, reconnected = 0;
	sigset_t old;

	if (out != NULL)
		*out = NULL;
	if (fmt == NULL || (len = redisvFormatCommand(&cmd, fmt, ap)) < 0) {
		cf_errf(err, errlen, "Redis: cannot format the command");
		return (CF_EINVAL);
	}
	redis_sigpipe_block(&old, &pending);

	/* Reconnecting before the command goes out is always safe. */
	if (r->c != NULL && !redis_alive(r))
		redis_drop(r);
	if (r->c == NULL) {
		if ((rc = redis_connect(r, err, errlen)) != CF_OK)
			goto done;
		reconnected = 1;
	}
	for (;;) {
		rc = redis_roundtrip(r, cmd, (size_t) len, out, err, errlen);
		/* After it went out, only an idempotent command goes again,
		 * once, and never after a timeout. */
		if (rc != CF_ECONN || reconnected
		    || !(flags & CF_REDIS_IDEMPOTENT))
			break;
		if ((rc = redis_connect(r, err, errlen)) != CF_OK)
			break;
		reconnected = 1;
	}
done:
	redis_sigpipe_reset(&old, pending);
	redisFreeCommand(cmd);
	return (rc);
}

int
cf_redis_cmd(cf_redis *r, redisReply **out, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;
	int     rc;

	va_start(ap, fmt);
	rc = cf_redis_vcmd(r, 0, out, err, errlen, fmt, ap);
	va_end(ap);
	return (rc);
}

int
cf_redis_cmd_idem(cf_redis *r, redisReply **out, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;
	int     rc;

	va_start(ap, fmt);
	rc = cf_redis_vcmd(r, CF_REDIS_IDEMPOTENT, out, err, errlen, fmt, ap);
	va_end(ap);
	return (rc);
}

int
cf_redis_ping(cf_redis *r, char *err, size_t errlen)
{
	redisReply *reply;
	int         rc;

	if ((rc = cf_redis_cmd_idem(r, &reply, err, errlen, "PING")) != 0)
		return (rc);
	rc = reply->type == REDIS_REPLY_STATUS && reply->str != NULL
	        && strcmp(reply->str, "PONG") == 0
	    ? CF_OK
	    : CF_EPROTO;
	if (rc != CF_OK)
		cf_errf(err, errlen, "Redis: unexpected answer to PING");
	freeReplyObject(reply);
	return (rc);
}
