/*
 * events.c - GET /api/v1/events: the services' run events as
 * server-sent events.
 *
 * One SUB socket dials the event (PUB) socket of every domain service
 * the gateway queries and hands each event to a callback on nng's
 * receiving thread. The callback decodes it (bounded, cf_proto.h),
 * renders its JSON once, and puts it in a ring of the last EV_KEEP
 * events, each with a gateway id "<boot>-<seq>": boot is the gateway's
 * start time (ms, hex), seq counts from 1. A stream is a cursor into the
 * ring: its reader (called by libmicrohttpd on the connection's own
 * thread) sleeps on the ring's condition variable until an event it
 * wants arrives, 15 s pass (it then sends a comment, which also tells a
 * dead client from a live one), or the gateway stops.
 *
 * Last-Event-ID (the header a browser's EventSource sends when it
 * reconnects, or ?last_event_id=) resumes after that event if the ring
 * still has what followed it; otherwise the stream starts with what is
 * kept and says so in a comment line: the id is older than the ring, or
 * from before this gateway started (another boot), or not ours.
 *
 * The ring is memory only: a gateway restart loses it, and nng drops
 * events for a slow subscriber. The runs themselves are in each
 * service's job_runs (history), which is what a client reads after a
 * gap.
 *
 * Lifetime: gw_events_stop stops the SUB and wakes the streams, whose
 * readers then end; gw_events_free comes after the HTTP server has
 * stopped. The ring is still counted in refs (the gateway's one, one per
 * stream), so that a stream libmicrohttpd frees late never reads freed
 * memory: the last of them frees the ring.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_nng.h"
#include "cf_proto.h"
#include "cf_time.h"
#include "gateway.h"

#define EV_KEEP 1000      /* events kept for Last-Event-ID */
#define EV_STREAMS_MAX 64 /* streams open at once */
#define EV_DRAIN_S 2       /* at stop, longest wait for streams to end */
#define EV_KEEPALIVE_MS 15000
#define EV_RETRY_MS 3000    /* the client's reconnection delay */
#define EV_ERROR_MAX 2048   /* bytes of a run's error kept in an event */
#define EV_RESULT_MAX 16384 /* a larger result is left out */
#define EV_BATCH 65536      /* bytes of events rendered per wake-up */

typedef struct ev_entry {
	uint64_t seq;
	int      svc; /* enum gw_service */
	char     job[CF_PROTO_MAX_NAME + 1];
	char     state[16];
	char    *json; /* the data line's JSON, malloc'd */
} ev_entry;

struct gw_events {
	pthread_mutex_t mu;
	pthread_cond_t  cv; /* a new event, or stop; CLOCK_MONOTONIC */
	ev_entry        ring[EV_KEEP]; /* seq s at ring[s % EV_KEEP] */
	uint64_t        next;          /* the seq the next event gets */
	uint64_t        boot;          /* start time, unix ms */
	int             stop;
	int             refs;     /* the gateway's one, plus one per stream */
	int             nstreams; /* open streams */
	cf_sub         *sub;
};

/* A stream's state. Text waiting to be sent is in out[pos .. len). */
typedef struct ev_stream {
	gw_events *ev;
	uint64_t   cursor;                     /* the next seq to look at */
	int        svc;                        /* filter; -1: any */
	char       job[CF_PROTO_MAX_NAME + 1]; /* filter; "": any */
	char      *out;
	size_t     len, cap, pos;
	int        oom;
} ev_stream;

/* The oldest seq the ring holds (== next when it is empty). */
static uint64_t
ev_oldest(const gw_events *ev)
{
	return (ev->next > EV_KEEP + 1 ? ev->next - EV_KEEP : 1);
}

static void
ev_unref(gw_events *ev)
{
	int last;

	pthread_mutex_lock(&ev->mu);
	last = --ev->refs == 0;
	pthread_mutex_unlock(&ev->mu);
	if (!last) {
		return;
	}
	for (size_t i = 0; i < EV_KEEP; i++) {
		free(ev->ring[i].json);
	}
	pthread_cond_destroy(&ev->cv);
	pthread_mutex_destroy(&ev->mu);
	free(ev);
}

/* ---- events in ------------------------------------------------------ */

static void
ev_add_time(cJSON *o, const char *key, int64_t ms)
{
	char when[40];

	if (ms > 0 && cf_rfc3339_format(when, sizeof(when), ms, 0, 1) > 0) {
		cJSON_AddStringToObject(o, key, when);
	} else {
		cJSON_AddNullToObject(o, key);
	}
}

/*
 * The event as the stream's data: {"service","job","state","run_id",
 * "fire_id","trigger","attempt","scheduled_for","started_at",
 * "finished_at","duration_ms","error","result"}. A long error is cut (at
 * a character boundary) and a large result left out ("result":null,
 * "result_truncated":true): a stream is for watching, history has the
 * whole run. NULL when out of memory.
 */
static char *
ev_render(const cf_event *e)
{
	cJSON *o = cJSON_CreateObject(), *res;
	char  *text;

	if (o == NULL) {
		return (NULL);
	}
	cJSON_AddStringToObject(o, "service", e->service);
	cJSON_AddStringToObject(o, "job", e->job);
	cJSON_AddStringToObject(o, "state", cf_run_state_name(e->state));
	cJSON_AddStringToObject(o, "run_id", e->run_id);
	cJSON_AddStringToObject(o, "fire_id", e->fire_id);
	cJSON_AddStringToObject(o, "trigger", cf_trigger_name(e->trigger));
	cJSON_AddNumberToObject(o, "attempt", e->attempt);
	ev_add_time(o, "scheduled_for", e->scheduled_for);
	ev_add_time(o, "started_at", e->started_at);
	ev_add_time(o, "finished_at", e->finished_at);
	if (e->started_at > 0 && e->finished_at >= e->started_at) {
		cJSON_AddNumberToObject(o, "duration_ms",
		    (double) (e->finished_at - e->started_at));
	} else {
		cJSON_AddNullToObject(o, "duration_ms");
	}
	if (e->error == NULL) {
		cJSON_AddNullToObject(o, "error");
	} else if (strlen(e->error) <= EV_ERROR_MAX) {
		cJSON_AddStringToObject(o, "error", e->error);
	} else {
		char   cut[EV_ERROR_MAX + 4];
		size_t n = EV_ERROR_MAX;
		/* Not inside a UTF-8 sequence (the decoder checked it). */
		while (n > 0 && ((unsigned char) e->error[n] & 0xC0) == 0x80) {
			n--;
		}
		memcpy(cut, e->error, n);
		memcpy(cut + n, "...", 4);
		cJSON_AddStringToObject(o, "error", cut);
	}
	if (e->result == NULL) {
		cJSON_AddNullToObject(o, "result");
	} else if (strlen(e->result) > EV_RESULT_MAX
	    || (res = cJSON_Parse(e->result)) == NULL) {
		cJSON_AddNullToObject(o, "result");
		cJSON_AddTrueToObject(o, "result_truncated");
	} else {
		cJSON_AddItemToObject(o, "result", res);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return (text);
}

/* The SUB thread: decode, render, keep, wake the streams. */
static void
ev_on_event(void *arg, const char *topic, const uint8_t *msg, size_t len)
{
	gw_events *ev = arg;
	cf_event  *e  = NULL;
	ev_entry  *slot;
	char       err[256], *json;
	int        svc;

	if (cf_proto_event_decode(msg, len, &e, err, sizeof(err)) != CF_OK) {
		cf_log_kv(CF_LOG_WARN, NULL, NULL, "bad event ignored",
		    "topic", topic, "error", err, NULL);
		return;
	}
	if ((svc = gw_service_find(e->service)) <= GW_CLOCK) {
		cf_log_kv(CF_LOG_DEBUG, e->job, e->run_id,
		    "event of an unknown service ignored", "service",
		    e->service, NULL);
		cf_event_free(e);
		return;
	}
	if ((json = ev_render(e)) == NULL) {
		cf_log_kv(CF_LOG_WARN, e->job, e->run_id,
		    "event dropped: out of memory", NULL);
		cf_event_free(e);
		return;
	}
	pthread_mutex_lock(&ev->mu);
	slot = &ev->ring[ev->next % EV_KEEP];
	free(slot->json);
	slot->seq  = ev->next++;
	slot->svc  = svc;
	slot->json = json;
	snprintf(slot->job, sizeof(slot->job), "%s", e->job);
	snprintf(slot->state, sizeof(slot->state), "%s",
	    cf_run_state_name(e->state));
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
	cf_event_free(e);
}

int
gw_events_start(gw_events **out, const gw_config *cfg)
{
	gw_events         *ev;
	pthread_condattr_t ca;
	const char        *urls[GW_NSERVICES];
	const char        *prefixes[1] = { "event." };
	char               err[512];
	int                n = 0, rv;
	struct timespec    ts;

	*out = NULL;
	if ((ev = calloc(1, sizeof(*ev))) == NULL) {
		return (CF_ENOMEM);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->boot
	    = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
	ev->next = 1;
	ev->refs = 1;
	pthread_mutex_init(&ev->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (int svc = GW_INGEST; svc < GW_NSERVICES; svc++) {
		if (cfg->enabled[svc] && cfg->pub_url[svc] != NULL
		    && cfg->pub_url[svc][0] != '\0') {
			urls[n++] = cfg->pub_url[svc];
		}
	}
	/* The services may start later: the SUB dials in the background. */
	if (n > 0
	    && (rv = cf_sub_open(&ev->sub, urls, n, prefixes, 1,
	            CF_PROTO_MAX_MSG, ev_on_event, ev, err, sizeof(err)))
	        != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL,
		    "cannot subscribe to the services' events", "error", err,
		    NULL);
		ev_unref(ev);
		return (rv);
	}
	*out = ev;
	return (CF_OK);
}

void
gw_events_stop(gw_events *ev)
{
	if (ev == NULL) {
		return;
	}
	pthread_mutex_lock(&ev->mu);
	ev->stop = 1;
	pthread_cond_broadcast(&ev->cv);
	/*
	 * Let the streams end properly (their last chunk sent, so a browser
	 * sees a finished response rather than a cut one) before the HTTP
	 * server closes the connections: a bounded wait for their st_free.
	 */
	{
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += EV_DRAIN_S;
		while (ev->nstreams > 0
		    && pthread_cond_timedwait(&ev->cv, &ev->mu, &until) == 0) {
		}
	}
	pthread_mutex_unlock(&ev->mu);
	/* Waits for a callback in progress; none comes after. */
	cf_sub_close(ev->sub);
	ev->sub = NULL;
}

void
gw_events_free(gw_events *ev)
{
	if (ev != NULL) {
		ev_unref(ev);
	}
}

/* ---- streams out ---------------------------------------------------- */

static void st_add(ev_stream *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
st_add(ev_stream *st, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (st->oom) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		st->oom = 1;
		return;
	}
	if (st->len + (size_t) n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char  *b;
		while (cap < st->len + (size_t) n + 1) {
			cap *= 2;
		}
		if ((b = realloc(st->out, cap)) == NULL) {
			st->oom = 1;
			return;
		}
		st->out = b;
		st->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(st->out + st->len, st->cap - st->len, fmt, ap);
	va_end(ap);
	st->len += (size_t) n;
}

static int
st_wants(const ev_stream *st, const ev_entry *e)
{
	return ((st->svc < 0 || st->svc == e->svc)
	    && (st->job[0] == '\0' || strcmp(st->job, e->job) == 0));
}

/*
 * Renders the events after the cursor that the stream wants, up to
 * EV_BATCH bytes; a cursor the ring has moved past (a client too slow
 * for the event rate) first gets a comment saying how many were lost.
 * With ev->mu held.
 */
static void
st_collect(ev_stream *st)
{
	gw_events *ev     = st->ev;
	uint64_t   oldest = ev_oldest(ev);

	if (st->cursor < oldest) {
		st_add(st,
		    ": %llu events were dropped before this client read them "
		    "(the gateway keeps the last %d)\n\n",
		    (unsigned long long) (oldest - st->cursor), EV_KEEP);
		st->cursor = oldest;
	}
	for (; st->cursor < ev->next && st->len < EV_BATCH; st->cursor++) {
		const ev_entry *e = &ev->ring[st->cursor % EV_KEEP];
		if (st_wants(st, e)) {
			st_add(st, "id: %llx-%llu\nevent: %s\ndata: %s\n\n",
			    (unsigned long long) ev->boot,
			    (unsigned long long) e->seq, e->state, e->json);
		}
	}
}

/*
 * libmicrohttpd's reader: sends what is pending, else waits for events
 * (at most EV_KEEPALIVE_MS, then a comment). -1 ends the response: the
 * gateway is stopping, or memory ran out.
 */
static long
st_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ev_stream *st = cls;
	gw_events *ev = st->ev;
	size_t     n;

	(void) pos;
	if (st->pos == st->len) {
		struct timespec until;

		st->pos = st->len = 0;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += EV_KEEPALIVE_MS / 1000;
		pthread_mutex_lock(&ev->mu);
		for (;;) {
			if (ev->stop) {
				pthread_mutex_unlock(&ev->mu);
				return (-1);
			}
			st_collect(st);
			if (st->len > 0 || st->oom) {
				break;
			}
			if (pthread_cond_timedwait(&ev->cv, &ev->mu, &until)
			    != 0) {
				st_add(st, ": keepalive\n\n");
				break;
			}
		}
		pthread_mutex_unlock(&ev->mu);
		if (st->oom) {
			return (-1);
		}
	}
	n = st->len - st->pos < max ? st->len - st->pos : max;
	memcpy(buf, st->out + st->pos, n);
	st->pos += n;
	return ((long) n);
}

static void
st_free(void *cls)
{
	ev_stream *st = cls;
	gw_events *ev = st->ev;

	pthread_mutex_lock(&ev->mu);
	ev->nstreams--;
	pthread_cond_broadcast(&ev->cv); /* gw_events_stop may wait for it */
	pthread_mutex_unlock(&ev->mu);
	free(st->out);
	free(st);
	ev_unref(ev);
}

/*
 * Where a stream starts: after the event last_id names when the ring
 * still holds what followed it, else at the oldest kept event with a
 * comment saying why; without last_id, at the next event. With ev->mu
 * held.
 */
static void
st_resume(ev_stream *st, const char *last_id)
{
	gw_events         *ev     = st->ev;
	uint64_t           oldest = ev_oldest(ev);
	unsigned long long boot = 0, seq = 0;
	char               safe[80];
	int                used = 0;

	if (last_id == NULL || last_id[0] == '\0') {
		st->cursor = ev->next;
		return;
	}
	gw_echo_safe(safe, sizeof(safe), last_id);
	if (sscanf(last_id, "%llx-%llu%n", &boot, &seq, &used) != 2
	    || last_id[used] != '\0') {
		st_add(st,
		    ": Last-Event-ID '%s' is not an id of this gateway; "
		    "sending the %llu events kept\n\n",
		    safe, (unsigned long long) (ev->next - oldest));
		st->cursor = oldest;
	} else if (boot != ev->boot) {
		st_add(st,
		    ": Last-Event-ID '%s' is from before this gateway "
		    "started; "
		    "events in between are not kept (see history); sending "
		    "the "
		    "%llu events kept\n\n",
		    safe, (unsigned long long) (ev->next - oldest));
		st->cursor = oldest;
	} else if (seq >= ev->next) {
		st_add(st,
		    ": Last-Event-ID '%s' has not happened yet; sending new "
		    "events\n\n",
		    safe);
		st->cursor = ev->next;
	} else if (seq + 1 < oldest) {
		st_add(st,
		    ": Last-Event-ID '%s' is older than the %d events kept; "
		    "%llu events in between are lost (see history); sending "
		    "the %llu kept\n\n",
		    safe, EV_KEEP, (unsigned long long) (oldest - seq - 1),
		    (unsigned long long) (ev->next - oldest));
		st->cursor = oldest;
	} else {
		st->cursor = seq + 1;
	}
}

void
gw_route_events(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_events  *ev      = app->events;
	const char *job     = rq->query(rq->conn, "job");
	const char *service = rq->query(rq->conn, "service");
	const char *last_id = rq->header != NULL
	    ? rq->header(rq->conn, "Last-Event-ID")
	    : NULL;
	ev_stream  *st;
	char        safe[80];

	if (job != NULL && job[0] != '\0' && !gw_job_valid(job, out)) {
		return;
	}
	if (service != NULL && service[0] != '\0'
	    && (gw_service_find(service) <= GW_CLOCK
	        || !app->cfg->enabled[gw_service_find(service)])) {
		gw_reply_error(out, 400,
		    "query 'service': '%s' is not a service this gateway "
		    "follows (ingest, analytics, maintenance, as "
		    "CRONFLEET_SERVICES says)",
		    gw_echo_safe(safe, sizeof(safe), service));
		return;
	}
	/* EventSource cannot set headers on its first request. */
	if (last_id == NULL) {
		last_id = rq->query(rq->conn, "last_event_id");
	}
	if (ev == NULL || (st = calloc(1, sizeof(*st))) == NULL) {
		gw_reply_error(out, 503, "events: the gateway is stopping");
		return;
	}
	st->ev  = ev;
	st->svc = service != NULL && service[0] != '\0'
	    ? gw_service_find(service)
	    : -1;
	snprintf(st->job, sizeof(st->job), "%s", job != NULL ? job : "");
	st_add(st, "retry: %d\n\n", EV_RETRY_MS);
	pthread_mutex_lock(&ev->mu);
	if (ev->stop || ev->nstreams >= EV_STREAMS_MAX) {
		int stopping = ev->stop;
		pthread_mutex_unlock(&ev->mu);
		free(st->out);
		free(st);
		out->retry_after = 5;
		if (stopping) {
			gw_reply_error(
			    out, 503, "events: the gateway is stopping");
		} else {
			gw_reply_error(out, 503,
			    "events: too many streams open (at most %d); try "
			    "again later",
			    EV_STREAMS_MAX);
		}
		return;
	}
	ev->nstreams++;
	ev->refs++;
	st_resume(st, last_id);
	pthread_mutex_unlock(&ev->mu);
	if (st->oom) {
		st_free(st);
		gw_reply_error(out, 500, "events: out of memory");
		return;
	}
	out->status       = 200;
	out->content_type = "text/event-stream; charset=utf-8";
	out->cache        = "no-cache";
	out->stream       = st;
	out->stream_read  = st_read;
	out->stream_free  = st_free;
}
