/*
 * cmd_watch.c - "cronfleet watch": the gateway's run events, live.
 *
 * GET /api/v1/events is a server-sent event stream (text/event-stream):
 * lines "id: ...", "event: <state>", "data: <json>", a blank line ending
 * each event, and ": keepalive" comments at least every 15 s. libcurl
 * hands us the bytes as they come; we split them into lines ourselves,
 * since a chunk may end in the middle of one.
 *
 * A dead gateway is found by silence (no byte, not even a keepalive, for
 * WATCH_SILENCE seconds) or by the connection closing. The stream is then
 * opened again with Last-Event-ID, so the gateway resends what we missed
 * from its recent history; after WATCH_RETRIES failed attempts in a row
 * we give up with CLI_UNREACHABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_http.h"

#define WATCH_SILENCE 45    /* s: three keepalives missed */
#define WATCH_RETRIES 6     /* failed reconnections in a row */
#define WATCH_RETRY_MS 1000 /* first delay, unless the server says */
#define WATCH_MAX_DELAY_MS 30000
#define WATCH_MAX_LINE (1024 * 1024)

typedef struct watch {
	const cli_gateway *gw;
	int                json;
	long               count; /* stop after this many; 0: never */
	long               seen;
	int                done;   /* count reached: the abort is ours */
	int                header; /* the people's header is printed */

	/* Per connection. */
	CURL   *h;
	int     checked;   /* the status and type were looked at */
	int     streaming; /* 200 and text/event-stream */
	long    status;
	int     got;     /* a byte of the stream came */
	cli_buf err;     /* the body of a refusal */
	cli_buf line;    /* the line being received */
	int     cr;      /* the last byte was '\r' */
	int     toolong; /* the current line is past WATCH_MAX_LINE */

	/* The event being received (SSE's buffers). */
	cli_buf data;
	char    event[64];

	char last_id[256]; /* SSE's last event ID: resumes the stream */
	long retry_ms;     /* from "retry:" */
} watch;

/* One event line for people: time, job, state, attempt, duration, error. */
static void
watch_print_human(watch *w, const char *type, const char *data)
{
	cJSON      *d = cJSON_Parse(data);
	const char *at, *svc, *job, *state, *err;
	char        who[160], num[32], dur[32], snip[121];
	size_t      j = 0;

	if (!w->header) {
		printf("%-24s  %-32s  %-11s  %-7s  %8s  %s\n", "TIME", "JOB",
		    "STATE", "ATTEMPT", "DURATION", "ERROR");
		w->header = 1;
	}
	if (!cJSON_IsObject(d)) {
		/* Not ours to judge: show it as it came. */
		printf("%-24s  %-32s  %-11s  %s\n", "-", "-",
		    type[0] ? type : "message", data);
		cJSON_Delete(d);
		return;
	}
	at = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(d, "finished_at"));
	if (at == NULL) {
		at = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(d, "started_at"));
	}
	if (at == NULL) {
		at = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(d, "scheduled_for"));
	}
	svc = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(d, "service"));
	job = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "job"));
	state = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(d, "state"));
	err = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(d, "error"));
	snprintf(who, sizeof(who), "%s%s%s", svc ? svc : "", svc ? "/" : "",
	    job ? job : "-");
	if (err != NULL) {
		/* One line per event: an error's newlines become spaces. */
		for (; err[j] != '\0' && j + 1 < sizeof(snip); j++) {
			unsigned char c = (unsigned char) err[j];
			snip[j] = (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
		}
		if (err[j] != '\0' && j >= 3) {
			memcpy(snip + j - 3, "...", 3);
		}
	}
	snip[j] = '\0';
	{
		const char *attempt = cli_cell(d, "attempt", num, sizeof(num));
		const char *du      = cli_run_duration(d, dur, sizeof(dur));
		char        att[40];
		snprintf(att, sizeof(att), "#%s", attempt ? attempt : "-");
		printf("%-24s  %-32s  %-11s  %-7s  %8s  %s\n", at ? at : "-",
		    who, state ? state : (type[0] ? type : "-"), att,
		    du ? du : "-", err ? snip : "-");
	}
	cJSON_Delete(d);
}

/* One JSON object per line: the event's data, with its stream id. */
static void
watch_print_json(watch *w, const char *type, const char *data)
{
	cJSON *d = cJSON_Parse(data);
	char  *text;

	if (!cJSON_IsObject(d)) {
		/* Still one object per line, whatever the data was. */
		cJSON_Delete(d);
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(
		    d, "event", type[0] ? type : "message");
		cJSON_AddStringToObject(d, "data", data);
	}
	if (w->last_id[0] != '\0' && !cJSON_HasObjectItem(d, "id")) {
		cJSON_AddStringToObject(d, "id", w->last_id);
	}
	if ((text = cJSON_PrintUnformatted(d)) != NULL) {
		puts(text);
		free(text);
	}
	cJSON_Delete(d);
}

/* A blank line: the event is complete (SSE's "dispatch"). */
static void
watch_dispatch(watch *w)
{
	if (w->data.len == 0) {
		/* No data: nothing to show (the spec's rule too). */
		w->event[0] = '\0';
		return;
	}
	/* Data lines were joined with '\n'; the last one is dropped. */
	w->data.p[--w->data.len] = '\0';
	if (w->json) {
		watch_print_json(w, w->event, w->data.p);
	} else {
		watch_print_human(w, w->event, w->data.p);
	}
	/* A pipe reader (or a test) sees each event as it happens. */
	fflush(stdout);
	w->data.len  = 0;
	w->data.p[0] = '\0';
	w->event[0]  = '\0';
	w->seen++;
	if (w->count > 0 && w->seen >= w->count) {
		w->done = 1;
	}
}

static void
watch_line(watch *w, const char *s, size_t n)
{
	const char *colon;
	size_t      fn;
	const char *v;
	size_t      vn;

	if (n == 0) {
		watch_dispatch(w);
		return;
	}
	if (s[0] == ':') {
		/* A comment: keepalives are noise, anything else (such as
		 * "events were lost before this") is for the person. */
		v  = s + 1;
		vn = n - 1;
		while (vn > 0 && *v == ' ') {
			v++;
			vn--;
		}
		if (vn > 0 && strncmp(v, "keepalive", vn < 9 ? vn : 9) != 0
		    && !w->json) {
			fprintf(stderr, "cronfleet: gateway: %.*s\n",
			    (int) (vn < 200 ? vn : 200), v);
		}
		return;
	}
	colon = memchr(s, ':', n);
	fn    = colon != NULL ? (size_t) (colon - s) : n;
	v     = colon != NULL ? colon + 1 : s + n;
	vn    = colon != NULL ? n - fn - 1 : 0;
	if (vn > 0 && *v == ' ') {
		v++;
		vn--;
	}
	if (fn == 4 && strncmp(s, "data", 4) == 0) {
		if (cli_buf_add(&w->data, v, vn) != 0
		    || cli_buf_add(&w->data, "\n", 1) != 0) {
			w->data.len = 0;
		}
	} else if (fn == 5 && strncmp(s, "event", 5) == 0) {
		snprintf(w->event, sizeof(w->event), "%.*s", (int) vn, v);
	} else if (fn == 2 && strncmp(s, "id", 2) == 0) {
		/* An id too long to keep would resume from the wrong
		 * place: keep the last one that fits instead. */
		if (vn < sizeof(w->last_id) && memchr(v, '\0', vn) == NULL) {
			memcpy(w->last_id, v, vn);
			w->last_id[vn] = '\0';
		}
	} else if (fn == 5 && strncmp(s, "retry", 5) == 0) {
		long ms = 0;
		for (size_t i = 0; i < vn; i++) {
			if (v[i] < '0' || v[i] > '9' || ms > 3600000) {
				return;
			}
			ms = ms * 10 + (v[i] - '0');
		}
		if (vn > 0) {
			w->retry_ms = ms;
		}
	}
	/* Other fields are ignored, as the spec says. */
}

/* The first bytes: is this the event stream, or a refusal? */
static void
watch_check(watch *w)
{
	const char *type = NULL;

	w->checked = 1;
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	curl_easy_getinfo(w->h, CURLINFO_CONTENT_TYPE, &type);
	w->streaming = w->status == 200 && type != NULL
	    && strncmp(type, "text/event-stream", 17) == 0;
}

static size_t
watch_write(char *ptr, size_t size, size_t nmemb, void *cls)
{
	watch *w = cls;
	size_t n = size * nmemb;

	if (!w->checked) {
		watch_check(w);
	}
	if (!w->streaming) {
		/* Kept for the message; a refusal is small. */
		if (w->err.len < 64 * 1024) {
			cli_buf_add(&w->err, ptr, n);
		}
		return (n);
	}
	w->got = 1;
	for (size_t i = 0; i < n && !w->done; i++) {
		char c = ptr[i];
		if (c == '\n' && w->cr) {
			/* The '\n' of "\r\n": the line is already done. */
			w->cr = 0;
			continue;
		}
		w->cr = c == '\r';
		if (c == '\r' || c == '\n') {
			watch_line(w, w->line.p ? w->line.p : "", w->line.len);
			w->line.len = 0;
			w->toolong  = 0;
			continue;
		}
		if (w->line.len >= WATCH_MAX_LINE) {
			w->toolong = 1;
			continue;
		}
		if (cli_buf_add(&w->line, &c, 1) != 0) {
			w->toolong = 1;
		}
	}
	/* Returning less than n makes curl stop: we have our count. */
	return (w->done ? 0 : n);
}

/* One connection: returns curl's code; w says what happened. */
static CURLcode
watch_connect(watch *w, const char *path, char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	const char        *extra[2];
	char               last[300];
	size_t             nextra = 0;
	CURLcode           rc;

	w->checked = w->streaming = w->got = w->cr = w->toolong = 0;
	w->status                                               = 0;
	w->err.len = w->line.len = w->data.len = 0;
	w->event[0]                            = '\0';
	extra[nextra++]                        = "Accept: text/event-stream";
	if (w->last_id[0] != '\0') {
		snprintf(last, sizeof(last), "Last-Event-ID: %s", w->last_id);
		extra[nextra++] = last;
	}
	if ((w->h = cli_http_handle(w->gw, path, &hdrs, extra, nextra))
	    == NULL) {
		return (CURLE_OUT_OF_MEMORY);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, errbuf);
	/* No overall timeout: a stream lasts. Silence is what says the
	 * gateway is gone (it sends a keepalive every 15 s). */
	curl_easy_setopt(w->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->h, CURLOPT_LOW_SPEED_TIME, (long) WATCH_SILENCE);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPIDLE, 15L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPINTVL, 5L);
	rc = curl_easy_perform(w->h);
	if (!w->checked) {
		/* Headers only, or nothing at all. */
		watch_check(w);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(w->h);
	w->h = NULL;
	return (rc);
}

static void
watch_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) { }
}

int
cli_watch(const cli_gateway *gw, int json, const char *job,
    const char *service, long count)
{
	char     errbuf[CURL_ERROR_SIZE];
	cli_buf  path = { 0 };
	watch    w;
	int      failures = 0, rv;
	int      opened   = 0; /* the stream was open at least once */
	long     delay;
	CURLcode rc;

	memset(&w, 0, sizeof(w));
	w.gw       = gw;
	w.json     = json;
	w.count    = count;
	w.retry_ms = WATCH_RETRY_MS;
	if (cli_buf_add(&path, "/api/v1/events", 14) != 0
	    || cli_query_add(&path, "job", job) != 0
	    || cli_query_add(&path, "service", service) != 0) {
		cli_buf_fini(&path);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	for (;;) {
		rc = watch_connect(&w, path.p, errbuf);
		if (w.done) {
			rv = CLI_OK;
			break;
		}
		if (rc == CURLE_OUT_OF_MEMORY) {
			fputs("cronfleet: out of memory\n", stderr);
			rv = CLI_FAIL;
			break;
		}
		if (w.status != 0 && !w.streaming
		    && !(opened && w.status >= 500)) {
			/* Refused (no token, viewer-only, no such route)
			 * or not an event stream: retrying will not help.
			 * A 5xx after the stream was open is a gateway
			 * restarting, and is retried below. */
			if (w.status == 200) {
				fprintf(stderr,
				    "cronfleet: %s/api/v1/events "
				    "is not an event stream\n",
				    gw->url);
			} else {
				cli_report_http(
				    gw, w.status, w.err.p, w.err.len, 0);
			}
			rv = CLI_FAIL;
			break;
		}
		if (!opened && !w.streaming) {
			/* Never reached: say so now rather than retry. */
			rv = cli_report_curl(gw, rc, errbuf);
			break;
		}
		if (w.streaming) {
			opened = 1;
		}
		if (w.got) {
			/* It was working: the count starts again. */
			failures = 0;
		}
		if (++failures > WATCH_RETRIES) {
			fprintf(stderr,
			    "cronfleet: lost the event stream of "
			    "%s (%d attempts to reconnect failed)\n",
			    gw->url, WATCH_RETRIES);
			rv = CLI_UNREACHABLE;
			break;
		}
		delay = w.retry_ms;
		for (int i = 1; i < failures && delay < WATCH_MAX_DELAY_MS;
		     i++) {
			delay *= 2;
		}
		if (delay > WATCH_MAX_DELAY_MS) {
			delay = WATCH_MAX_DELAY_MS;
		}
		fprintf(stderr,
		    "cronfleet: event stream %s (%s); "
		    "reconnecting in %.1f s\n",
		    rc == CURLE_OK ? "closed" : "lost",
		    rc == CURLE_OK
		        ? "by the gateway"
		        : (errbuf[0] ? errbuf : curl_easy_strerror(rc)),
		    (double) delay / 1000.0);
		watch_sleep(delay);
	}
	cli_buf_fini(&path);
	cli_buf_fini(&w.err);
	cli_buf_fini(&w.line);
	cli_buf_fini(&w.data);
	return (rv);
}
