/*
 * cf_nng.c - REP workers, REQ calls, PUB and SUB over nng 1.5.
 *
 * nng 1.5.2 has no synchronous context calls, so a REP worker runs the
 * asynchronous ones and waits on its own aio: blocking is fine on a worker
 * thread, and it keeps the handler free to block on a database. Shutdown
 * closes the socket first, which completes every pending operation with
 * NNG_ECLOSED; the workers see it and return, then we join them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "cf_nng.h"

/* How soon a dialler tries again after losing its peer. */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 2000
#define TOPIC_MAX 256
/*
 * Messages a PUB queues per subscriber, and a SUB holds unread. nng's
 * defaults (16 and 128) drop the oldest beyond that: of a burst of ticks
 * (one `trigger <job> 40`, or many jobs due at the same minute) about
 * half went to the catch-up sweep instead. Both are nng's maximum.
 */
#define PUBSUB_BUF 8192

static int
nng_fail(char *err, size_t errlen, const char *what, const char *url, int rv)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s %s: %s", what, url, nng_strerror(rv));
	}
	return (rv == NNG_ENOMEM ? CF_ENOMEM : CF_ECONN);
}

/* ---- REP ---------------------------------------------------------- */

typedef struct {
	cf_rep *  rep;
	pthread_t thr;
	nng_ctx   ctx;
	nng_aio * aio;
	int       started;
} rep_worker;

struct cf_rep {
	nng_socket  sock;
	cf_rep_fn   fn;
	void *      arg;
	int         nworkers;
	rep_worker *w;
	atomic_int  stopping;
};

static void *
rep_worker_run(void *arg)
{
	rep_worker *w   = arg;
	cf_rep *    rep = w->rep;

	for (;;) {
		nng_msg *in, *out;
		uint8_t *reply     = NULL;
		size_t   reply_len = 0;
		int      rv;

		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED || atomic_load(&rep->stopping)) {
				break;
			}
			continue;
		}
		in = nng_aio_get_msg(w->aio);
		rep->fn(rep->arg, nng_msg_body(in), nng_msg_len(in), &reply,
		    &reply_len);
		nng_msg_free(in);
		if (nng_msg_alloc(&out, 0) != 0) {
			free(reply);
			continue;
		}
		if (reply_len > 0 && nng_msg_append(out, reply, reply_len) != 0) {
			nng_msg_free(out);
			free(reply);
			continue;
		}
		free(reply);
		nng_aio_set_msg(w->aio, out);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if (nng_aio_result(w->aio) != 0) {
			/* A failed send leaves the message with us. */
			nng_msg_free(out);
		}
	}
	return (NULL);
}

int
cf_rep_open(cf_rep **out, const char *url, int nworkers, size_t max_msg,
    cf_rep_fn fn, void *arg, char *err, size_t errlen)
{
	cf_rep *rep;
	int     rv;

	if (nworkers < 1) {
		nworkers = 1;
	}
	if ((rep = calloc(1, sizeof(*rep))) == NULL ||
	    (rep->w = calloc((size_t) nworkers, sizeof(rep_worker))) == NULL) {
		free(rep);
		return (CF_ENOMEM);
	}
	rep->fn       = fn;
	rep->arg      = arg;
	rep->nworkers = nworkers;
	if ((rv = nng_rep0_open(&rep->sock)) != 0) {
		free(rep->w);
		free(rep);
		return (nng_fail(err, errlen, "rep socket for", url, rv));
	}
	if ((rv = nng_socket_set_size(rep->sock, NNG_OPT_RECVMAXSZ,
	         max_msg ? max_msg : CF_NNG_MAX_MSG)) != 0 ||
	    (rv = nng_listen(rep->sock, url, NULL, 0)) != 0) {
		nng_close(rep->sock);
		free(rep->w);
		free(rep);
		return (nng_fail(err, errlen, "listen on", url, rv));
	}
	for (int i = 0; i < nworkers; i++) {
		rep_worker *w = &rep->w[i];
		w->rep        = rep;
		if (nng_ctx_open(&w->ctx, rep->sock) != 0 ||
		    nng_aio_alloc(&w->aio, NULL, NULL) != 0 ||
		    pthread_create(&w->thr, NULL, rep_worker_run, w) != 0) {
			cf_rep_close(rep);
			snprintf(err, errlen, "rep %s: cannot start workers", url);
			return (CF_ESYSTEM);
		}
		w->started = 1;
	}
	*out = rep;
	return (CF_OK);
}

void
cf_rep_close(cf_rep *rep)
{
	if (rep == NULL) {
		return;
	}
	atomic_store(&rep->stopping, 1);
	nng_close(rep->sock);
	for (int i = 0; i < rep->nworkers; i++) {
		if (rep->w[i].started) {
			pthread_join(rep->w[i].thr, NULL);
		}
		if (rep->w[i].aio != NULL) {
			nng_aio_free(rep->w[i].aio);
		}
	}
	free(rep->w);
	free(rep);
}

/* ---- REQ ---------------------------------------------------------- */

struct cf_req {
	nng_socket      sock;
	pthread_mutex_t lock;
	atomic_int      npipes;
	int64_t         opened; /* CLOCK_MONOTONIC ms */
	char            url[256];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
req_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	cf_req *req = arg;
	(void) p;
	/*
	 * nng 1.5 sends REM_POST for every pipe that got ADD_PRE, even one
	 * closed before ADD_POST: count from ADD_PRE so the two pair up.
	 */
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		atomic_fetch_add(&req->npipes, 1);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&req->npipes, 1);
	}
}

int
cf_req_open(cf_req **out, const char *url, char *err, size_t errlen)
{
	cf_req *req;
	int     rv;

	if ((req = calloc(1, sizeof(*req))) == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(req->url, sizeof(req->url), "%s", url);
	req->opened = mono_ms();
	pthread_mutex_init(&req->lock, NULL);
	if ((rv = nng_req0_open(&req->sock)) != 0) {
		pthread_mutex_destroy(&req->lock);
		free(req);
		return (nng_fail(err, errlen, "req socket for", url, rv));
	}
	nng_pipe_notify(req->sock, NNG_PIPE_EV_ADD_PRE, req_pipe_event, req);
	nng_pipe_notify(req->sock, NNG_PIPE_EV_REM_POST, req_pipe_event, req);
	if ((rv = nng_socket_set_ms(req->sock, NNG_OPT_REQ_RESENDTIME,
	         NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_size(
	         req->sock, NNG_OPT_RECVMAXSZ, CF_NNG_MAX_MSG)) != 0 ||
	    (rv = nng_socket_set_ms(
	         req->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(
	         req->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS)) != 0) {
		nng_close(req->sock);
		pthread_mutex_destroy(&req->lock);
		free(req);
		return (nng_fail(err, errlen, "req socket for", url, rv));
	}
	/*
	 * A comma-separated list: one dialer each (the clock's replicas,
	 * of which only the leader listens; a request goes to a peer that
	 * is connected).
	 */
	for (const char *p = url; rv == 0;) {
		size_t n = strcspn(p, ",");
		char   one[256];
		if (n == 0 || n >= sizeof(one)) {
			rv = NNG_EADDRINVAL;
			break;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if ((rv = nng_dial(req->sock, one, NULL, NNG_FLAG_NONBLOCK))
		    != 0) {
			break;
		}
		if (p[n] == '\0') {
			break;
		}
		p += n + 1;
	}
	if (rv != 0) {
		nng_close(req->sock);
		pthread_mutex_destroy(&req->lock);
		free(req);
		return (nng_fail(err, errlen, "dial", url, rv));
	}
	*out = req;
	return (CF_OK);
}

void
cf_req_close(cf_req *req)
{
	if (req == NULL) {
		return;
	}
	nng_close(req->sock);
	pthread_mutex_destroy(&req->lock);
	free(req);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int
cf_req_call(cf_req *req, const void *msg, size_t len, int timeout_ms,
    uint8_t **reply, size_t *reply_len, char *err, size_t errlen)
{
	void * buf = NULL;
	size_t sz  = 0;
	int    rv, waited = 0;

	pthread_mutex_lock(&req->lock);
	/*
	 * A request to a peer that is not connected would only time out;
	 * give a fresh dial a moment (a socket opened within the last
	 * second), then call it unreachable.
	 */
	while (atomic_load(&req->npipes) <= 0 && waited < timeout_ms &&
	    waited < 500 && mono_ms() - req->opened < 1000) {
		sleep_ms(10);
		waited += 10;
	}
	if (atomic_load(&req->npipes) <= 0) {
		pthread_mutex_unlock(&req->lock);
		snprintf(err, errlen, "%s is not reachable", req->url);
		return (CF_ECONN);
	}
	nng_socket_set_ms(req->sock, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_ms(req->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	if ((rv = nng_send(req->sock, (void *) msg, len, 0)) != 0 ||
	    (rv = nng_recv(req->sock, &buf, &sz, NNG_FLAG_ALLOC)) != 0) {
		pthread_mutex_unlock(&req->lock);
		snprintf(err, errlen, "%s: %s", req->url, nng_strerror(rv));
		return (rv == NNG_ETIMEDOUT ? CF_ETIMEDOUT : CF_ECONN);
	}
	pthread_mutex_unlock(&req->lock);
	if ((*reply = malloc(sz + 1)) == NULL) {
		nng_free(buf, sz);
		return (CF_ENOMEM);
	}
	memcpy(*reply, buf, sz);
	(*reply)[sz] = '\0';
	*reply_len   = sz;
	nng_free(buf, sz);
	return (CF_OK);
}

/* ---- PUB ---------------------------------------------------------- */

struct cf_pub {
	nng_socket sock;
};

int
cf_pub_open(cf_pub **out, const char *url, char *err, size_t errlen)
{
	cf_pub *pub;
	int     rv;

	if ((pub = calloc(1, sizeof(*pub))) == NULL) {
		return (CF_ENOMEM);
	}
	if ((rv = nng_pub0_open(&pub->sock)) != 0) {
		free(pub);
		return (nng_fail(err, errlen, "pub socket for", url, rv));
	}
	if ((rv = nng_socket_set_int(pub->sock, NNG_OPT_SENDBUF, PUBSUB_BUF))
	        != 0
	    || (rv = nng_listen(pub->sock, url, NULL, 0)) != 0) {
		nng_close(pub->sock);
		free(pub);
		return (nng_fail(err, errlen, "listen on", url, rv));
	}
	*out = pub;
	return (CF_OK);
}

void
cf_pub_close(cf_pub *pub)
{
	if (pub != NULL) {
		nng_close(pub->sock);
		free(pub);
	}
}

int
cf_pub_send_msg(cf_pub *pub, const void *msg, size_t len)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, 0) != 0) {
		return (CF_ENOMEM);
	}
	if (nng_msg_append(m, msg, len) != 0) {
		nng_msg_free(m);
		return (CF_ENOMEM);
	}
	if (nng_sendmsg(pub->sock, m, 0) != 0) {
		nng_msg_free(m);
		return (CF_ECLOSED);
	}
	return (CF_OK);
}

/* ---- SUB ---------------------------------------------------------- */

struct cf_sub {
	nng_socket sock;
	pthread_t  thr;
	cf_sub_fn  fn;
	void *     arg;
};

/*
 * Blocking receives on the socket, not receive timeouts on a context:
 * those can crash nng 1.5 (fixed in 1.6). Closing the socket ends it.
 */
static void *
sub_run(void *arg)
{
	cf_sub *sub = arg;
	for (;;) {
		nng_msg *m;
		char     topic[TOPIC_MAX];
		uint8_t *body;
		size_t   len, k;
		int      rv;

		if ((rv = nng_recvmsg(sub->sock, &m, 0)) != 0) {
			if (rv == NNG_ECLOSED) {
				break;
			}
			continue;
		}
		body = nng_msg_body(m);
		len  = nng_msg_len(m);
		for (k = 0; k < len && k < TOPIC_MAX - 1 && body[k] != ' '; k++) {
		}
		if (k < len && body[k] == ' ') {
			memcpy(topic, body, k);
			topic[k] = '\0';
			sub->fn(sub->arg, topic, body, len);
		}
		nng_msg_free(m);
	}
	return (NULL);
}

int
cf_sub_open(cf_sub **out, const char *const *urls, int ndial,
    const char *const *prefixes, int nprefix, size_t max_msg, cf_sub_fn fn,
    void *arg, char *err, size_t errlen)
{
	cf_sub *sub;
	int     rv;

	if ((sub = calloc(1, sizeof(*sub))) == NULL) {
		return (CF_ENOMEM);
	}
	sub->fn  = fn;
	sub->arg = arg;
	if ((rv = nng_sub0_open(&sub->sock)) != 0) {
		free(sub);
		return (nng_fail(err, errlen, "sub socket for", urls[0], rv));
	}
	rv = nng_socket_set_size(
	    sub->sock, NNG_OPT_RECVMAXSZ, max_msg ? max_msg : CF_NNG_MAX_MSG);
	if (rv == 0) {
		rv = nng_socket_set_ms(
		    sub->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS);
	}
	if (rv == 0) {
		rv = nng_socket_set_ms(
		    sub->sock, NNG_OPT_RECONNMAXT, RECONNECT_MAX_MS);
	}
	if (rv == 0) {
		rv = nng_socket_set_int(
		    sub->sock, NNG_OPT_RECVBUF, PUBSUB_BUF);
	}
	for (int i = 0; rv == 0 && i < nprefix; i++) {
		rv = nng_socket_set(sub->sock, NNG_OPT_SUB_SUBSCRIBE, prefixes[i],
		    strlen(prefixes[i]));
	}
	for (int i = 0; rv == 0 && i < ndial; i++) {
		if ((rv = nng_dial(sub->sock, urls[i], NULL,
		         NNG_FLAG_NONBLOCK)) != 0) {
			nng_close(sub->sock);
			free(sub);
			return (nng_fail(err, errlen, "dial", urls[i], rv));
		}
	}
	if (rv != 0) {
		nng_close(sub->sock);
		free(sub);
		return (nng_fail(err, errlen, "sub options for", urls[0], rv));
	}
	if (pthread_create(&sub->thr, NULL, sub_run, sub) != 0) {
		nng_close(sub->sock);
		free(sub);
		snprintf(err, errlen, "sub: cannot start its thread");
		return (CF_ESYSTEM);
	}
	*out = sub;
	return (CF_OK);
}

void
cf_sub_close(cf_sub *sub)
{
	if (sub == NULL) {
		return;
	}
	nng_close(sub->sock);
	pthread_join(sub->thr, NULL);
	free(sub);
}
