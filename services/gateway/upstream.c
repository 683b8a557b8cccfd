/*
 * upstream.c - the gateway's REQ sockets to the services.
 *
 * A cf_req carries one request at a time, and an HTTP request blocks on
 * its upstream call, so each service gets a small pool: a request takes
 * a free socket (waiting, within its deadline, when all are busy) and
 * gives it back. Sockets are opened on first use and kept while they
 * work: they dial in the background and reconnect by themselves, so a
 * service that starts after the gateway, or restarts, is found again
 * without our help. One that failed a call is replaced (see below).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_proto.h"
#include "gateway.h"

/* Sockets per service. Enough that a burst of requests reaches the
 * service together rather than queueing here for a socket: the clock
 * writes the manual fires that wait together in one commit, so eight
 * sockets held its batches to eight (bench/README.md). */
#define POOL_SIZE 32

struct gw_upstream {
	int             svc;
	const char     *name;
	const char     *url;
	int             enabled;
	pthread_mutex_t mu;
	pthread_cond_t  cv; /* a socket was given back */
	cf_req         *req[POOL_SIZE];
	int             busy[POOL_SIZE];
};

struct gw_upstreams {
	gw_upstream svc[GW_NSERVICES];
	int64_t     timeout_ms;
};

int64_t
gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
gw_upstreams_open(gw_upstreams **out, const gw_config *cfg)
{
	gw_upstreams *u;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		return (CF_ENOMEM);
	}
	u->timeout_ms = cfg->timeout_ms;
	for (int i = 0; i < GW_NSERVICES; i++) {
		gw_upstream       *s = &u->svc[i];
		pthread_condattr_t ca;

		s->svc     = i;
		s->name    = gw_service_name(i);
		s->url     = cfg->url[i];
		s->enabled = cfg->enabled[i];
		pthread_mutex_init(&s->mu, NULL);
		/* Waits are bounded by monotonic deadlines. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	*out = u;
	return (CF_OK);
}

void
gw_upstreams_close(gw_upstreams *u)
{
	if (u == NULL) {
		return;
	}
	for (int i = 0; i < GW_NSERVICES; i++) {
		gw_upstream *s = &u->svc[i];
		for (int k = 0; k < POOL_SIZE; k++) {
			cf_req_close(s->req[k]);
		}
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	free(u);
}

int
gw_upstream_enabled(const gw_upstreams *u, int svc)
{
	return (svc >= 0 && svc < GW_NSERVICES && u->svc[svc].enabled);
}

/*
 * Takes a socket of s, opening it if needed. Returns its slot, or -1
 * with res filled in (no free socket before the deadline, or the socket
 * could not be made).
 */
static int
upstream_take(gw_upstream *s, int64_t deadline_ms, gw_result *res)
{
	int slot = -1;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (int k = 0; k < POOL_SIZE; k++) {
			if (!s->busy[k]) {
				slot = k;
				break;
			}
		}
		if (slot >= 0) {
			break;
		}
		struct timespec ts = { (time_t) (deadline_ms / 1000),
			(long) (deadline_ms % 1000) * 1000000L };
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
			pthread_mutex_unlock(&s->mu);
			res->status = 504;
			snprintf(res->error, sizeof(res->error),
			    "%s did not answer in time: all %d connections "
			    "to %s are busy",
			    s->name, POOL_SIZE, s->url);
			return (-1);
		}
	}
	s->busy[slot] = 1;
	pthread_mutex_unlock(&s->mu);

	/* Opening only starts a background dial: it does not block. */
	if (s->req[slot] == NULL) {
		char err[256];
		int  rv = cf_req_open(&s->req[slot], s->url, err, sizeof(err));
		if (rv != CF_OK) {
			s->req[slot] = NULL;
			pthread_mutex_lock(&s->mu);
			s->busy[slot] = 0;
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
			cf_log_error("%s", err);
			res->status = 503;
			snprintf(res->error, sizeof(res->error),
			    "%s is not reachable at %s", s->name, s->url);
			return (-1);
		}
	}
	return (slot);
}

static void
upstream_give(gw_upstream *s, int slot)
{
	pthread_mutex_lock(&s->mu);
	s->busy[slot] = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Turns a decoded reply into res. */
static int
upstream_reply(gw_upstream *s, const cf_reply *r, gw_result *res)
{
	if (!r->ok) {
		const char *e = r->error != NULL ? r->error : "failed";
		/*
		 * COMMANDS.md: "unknown job '<name>'" (or any other thing
		 * the request names: "unknown source 12") is 404; a refusal
		 * of the request's own values starts with "invalid " (the
		 * client's mistake, said in the service's words), one that
		 * contradicts what is stored with "conflict: " (409). An
		 * "unknown command" is the service's lack, not the client's.
		 */
		res->status = strncmp(e, "unknown command", 15) == 0 ? 502
		    : strncmp(e, "unknown ", 8) == 0                 ? 404
		    : strncmp(e, "invalid ", 8) == 0                 ? 400
		    : strncmp(e, "conflict: ", 10) == 0              ? 409
		                                                     : 502;
		if (res->status != 502) {
			snprintf(res->error, sizeof(res->error), "%s", e);
		} else {
			snprintf(res->error, sizeof(res->error), "%s: %s",
			    s->name, e);
		}
		return (res->status);
	}
	if (r->data == NULL) {
		res->data = cJSON_CreateNull();
	} else {
		res->data = cJSON_Parse(r->data);
	}
	if (res->data == NULL) {
		res->status = 502;
		snprintf(res->error, sizeof(res->error),
		    "%s sent a reply whose data is not JSON", s->name);
		return (res->status);
	}
	return (0);
}

int
gw_upstream_call(gw_upstreams *u, int svc, const char *cmd, const char *job,
    int n, int64_t deadline_ms, gw_result *res)
{
	return (gw_upstream_call_args(
	    u, svc, cmd, job, n, NULL, 0, deadline_ms, res));
}

int
gw_upstream_call_args(gw_upstreams *u, int svc, const char *cmd,
    const char *job, int n, const char *const *args, size_t nargs,
    int64_t deadline_ms, gw_result *res)
{
	gw_upstream    *s = &u->svc[svc];
	msgpack_sbuffer sb;
	cf_command      c;
	cf_reply       *r         = NULL;
	uint8_t        *reply     = NULL;
	size_t          reply_len = 0;
	char            err[256];
	int64_t         left;
	int             slot, rv;

	memset(res, 0, sizeof(*res));
	if (!s->enabled) {
		res->status = 503;
		snprintf(res->error, sizeof(res->error),
		    "%s is not queried by this gateway (CRONFLEET_SERVICES)",
		    s->name);
		return (res->status);
	}

	memset(&c, 0, sizeof(c));
	c.cmd = (char *) cmd;
	c.job = (char *) job;
	c.n     = n;
	c.args  = (char **) args;
	c.nargs = nargs;
	msgpack_sbuffer_init(&sb);
	if ((rv = cf_proto_command_encode(&sb, &c)) != CF_OK) {
		msgpack_sbuffer_destroy(&sb);
		res->status = rv == CF_EINVAL ? 400 : 500;
		snprintf(res->error, sizeof(res->error),
		    "cannot encode '%s' for %s: %s", cmd, s->name,
		    cf_strerror(rv));
		return (res->status);
	}

	if ((slot = upstream_take(s, deadline_ms, res)) < 0) {
		msgpack_sbuffer_destroy(&sb);
		return (res->status);
	}
	left = deadline_ms - gw_now_ms();
	if (left < 1) {
		left = 1;
	}
	rv = cf_req_call(s->req[slot], sb.data, sb.size, (int) left, &reply,
	    &reply_len, err, sizeof(err));
	/*
	 * A socket that failed is replaced, not reused: its connection may
	 * be half dead (a peer host gone without a FIN), and cf_req's count
	 * of live pipes can stay at zero after a pipe that nng closed
	 * between its ADD_PRE and ADD_POST events (it then reports REM_POST
	 * without ADD_POST), which would make the socket say "unreachable"
	 * for ever. A fresh socket costs one dial.
	 */
	if (rv == CF_ECONN || rv == CF_ETIMEDOUT) {
		cf_req_close(s->req[slot]);
		s->req[slot] = NULL;
	}
	upstream_give(s, slot);
	msgpack_sbuffer_destroy(&sb);

	switch (rv) {
	case CF_OK:
		break;
	case CF_ETIMEDOUT:
		cf_log_warn("%s '%s': %s", s->name, cmd, err);
		res->status = 504;
		snprintf(res->error, sizeof(res->error),
		    "%s did not answer in time (%lld ms) at %s", s->name,
		    (long long) u->timeout_ms, s->url);
		return (res->status);
	case CF_ENOMEM:
		res->status = 500;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return (res->status);
	default:
		cf_log_warn("%s '%s': %s", s->name, cmd, err);
		res->status = 503;
		snprintf(res->error, sizeof(res->error),
		    "%s is not reachable at %s", s->name, s->url);
		return (res->status);
	}

	rv = cf_proto_reply_decode(reply, reply_len, &r, err, sizeof(err));
	free(reply);
	if (rv != CF_OK) {
		cf_log_warn("%s '%s': bad reply: %s", s->name, cmd, err);
		res->status = rv == CF_ENOMEM ? 500 : 502;
		snprintf(res->error, sizeof(res->error),
		    "%s sent a malformed reply: %s", s->name, err);
		return (res->status);
	}
	rv = upstream_reply(s, r, res);
	cf_reply_free(r);
	return (rv);
}
