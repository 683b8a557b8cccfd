/*
 * cf_http.c - the vendors' HTTP client over libcurl (see cf_http.h).
 *
 * One call is a loop of attempts. Each attempt takes a slot from the
 * client's limiter (so at most max_in_flight requests are on the wire
 * across all threads), takes an easy handle from the client's pool (a
 * reused handle keeps its connection cache, so consecutive calls to a
 * vendor reuse the kept-alive connection), performs, and gives both back
 * before any wait: a call sleeping out a Retry-After holds no slot.
 */
#include "cf_http.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "cf_err.h"
#include "cf_log.h"

#define HTTP_HEADERS_MAX (64 * 1024) /* kept response header bytes */
#define HTTP_SLICE_MS 100            /* cancel checks while waiting */

struct cf_http {
	cf_http_config  cfg;
	char           *user_agent;
	pthread_mutex_t mu;
	pthread_cond_t  cv; /* a slot was freed */
	int             in_flight;
	int             peak;
	uint64_t        calls, attempts, retries, failures, connections;
	CURL          **pool; /* idle easy handles, at most max_in_flight */
	int             npool;
};

/* One attempt's buffers, filled by curl's callbacks. */
typedef struct http_xfer {
	char             *body;
	size_t            len, cap, max;
	int               too_big;
	char             *hdr;
	size_t            hlen, hcap;
	const atomic_int *cancel;
} http_xfer;

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode       http_global_rc;

static void
http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t
http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
cf_http_config_defaults(cf_http_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_in_flight      = 5;
	cfg->connect_timeout_ms = 5000;
	cfg->timeout_ms         = 30000;
	cfg->deadline_ms        = 120000;
	cfg->max_attempts       = 4;
	cfg->backoff_base_ms    = 500;
	cfg->backoff_cap_ms     = 30000;
	cfg->max_retry_after_ms = 300000;
	cfg->max_body           = 16u << 20;
	cfg->user_agent         = NULL;
}

int
cf_http_open(cf_http **out, const cf_http_config *cfg)
{
	cf_http_config     d;
	cf_http           *h;
	pthread_condattr_t ca;

	*out = NULL;
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK) {
		return (CF_ESYSTEM);
	}
	cf_http_config_defaults(&d);
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		return (CF_ENOMEM);
	}
	h->cfg = d;
	if (cfg != NULL) {
#define HTTP_TAKE(f)                                                          \
	if (cfg->f > 0)                                                       \
	h->cfg.f = cfg->f
		HTTP_TAKE(max_in_flight);
		HTTP_TAKE(connect_timeout_ms);
		HTTP_TAKE(timeout_ms);
		HTTP_TAKE(deadline_ms);
		HTTP_TAKE(max_attempts);
		HTTP_TAKE(backoff_base_ms);
		HTTP_TAKE(backoff_cap_ms);
		HTTP_TAKE(max_retry_after_ms);
		HTTP_TAKE(max_body);
#undef HTTP_TAKE
	}
	h->user_agent
	    = strdup(cfg != NULL && cfg->user_agent != NULL ? cfg->user_agent
	                                                    : "cronfleet");
	h->pool = calloc((size_t) h->cfg.max_in_flight, sizeof(CURL *));
	if (h->user_agent == NULL || h->pool == NULL) {
		free(h->user_agent);
		free(h->pool);
		free(h);
		return (CF_ENOMEM);
	}
	h->cfg.user_agent = h->user_agent;
	pthread_mutex_init(&h->mu, NULL);
	/* Waits for a slot are bounded by the call's deadline, which is on
	 * the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = h;
	return (CF_OK);
}

void
cf_http_close(cf_http *h)
{
	if (h == NULL) {
		return;
	}
	for (int i = 0; i < h->npool; i++) {
		curl_easy_cleanup(h->pool[i]);
	}
	free(h->pool);
	free(h->user_agent);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void
cf_http_stats_get(cf_http *h, cf_http_stats *out)
{
	pthread_mutex_lock(&h->mu);
	out->in_flight      = h->in_flight;
	out->peak_in_flight = h->peak;
	out->max_in_flight  = h->cfg.max_in_flight;
	out->calls          = h->calls;
	out->attempts       = h->attempts;
	out->retries        = h->retries;
	out->failures       = h->failures;
	out->connections    = h->connections;
	pthread_mutex_unlock(&h->mu);
}

void
cf_http_stats_reset_peak(cf_http *h)
{
	pthread_mutex_lock(&h->mu);
	h->peak = h->in_flight;
	pthread_mutex_unlock(&h->mu);
}

static int
http_cancelled(const atomic_int *cancel)
{
	return (cancel != NULL && atomic_load(cancel) != 0);
}

/*
 * Takes a slot, waiting until deadline (monotonic ms). Returns CF_OK,
 * CF_ETIMEDOUT or CF_ECLOSED.
 */
static int
http_slot_take(cf_http *h, int64_t deadline, const atomic_int *cancel)
{
	int rc = CF_OK;

	pthread_mutex_lock(&h->mu);
	while (h->in_flight >= h->cfg.max_in_flight) {
		int64_t         now = http_now_ms(), until;
		struct timespec ts;

		if (http_cancelled(cancel)) {
			rc = CF_ECLOSED;
			break;
		}
		if (now >= deadline) {
			rc = CF_ETIMEDOUT;
			break;
		}
		until = deadline;
		if (cancel != NULL && until > now + HTTP_SLICE_MS) {
			until = now + HTTP_SLICE_MS;
		}
		ts.tv_sec  = until / 1000;
		ts.tv_nsec = (long) (until % 1000) * 1000000;
		pthread_cond_timedwait(&h->cv, &h->mu, &ts);
	}
	if (rc == CF_OK) {
		h->in_flight++;
		if (h->in_flight > h->peak) {
			h->peak = h->in_flight;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return (rc);
}

static void
http_slot_give(cf_http *h)
{
	pthread_mutex_lock(&h->mu);
	h->in_flight--;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* An idle handle from the pool, or a new one (NULL: out of memory). */
static CURL *
http_handle_take(cf_http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->npool > 0) {
		c = h->pool[--h->npool];
	}
	pthread_mutex_unlock(&h->mu);
	if (c == NULL) {
		c = curl_easy_init();
	} else {
		/* Options go, the connection and DNS caches stay. */
		curl_easy_reset(c);
	}
	return (c);
}

static void
http_handle_give(cf_http *h, CURL *c)
{
	pthread_mutex_lock(&h->mu);
	if (h->npool < h->cfg.max_in_flight) {
		h->pool[h->npool++] = c;
		c                   = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (c != NULL) {
		curl_easy_cleanup(c);
	}
}

static int
http_grow(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap == 0 ? 4096 : *cap;
	char  *p;

	if (need <= *cap) {
		return (0);
	}
	while (n < need) {
		n *= 2;
	}
	if ((p = realloc(*buf, n)) == NULL) {
		return (-1);
	}
	*buf = p;
	*cap = n;
	return (0);
}

static size_t
http_on_body(char *data, size_t size, size_t n, void *arg)
{
	http_xfer *x   = arg;
	size_t     len = size * n;

	if (x->len + len > x->max) {
		x->too_big = 1;
		return (0); /* curl stops with CURLE_WRITE_ERROR */
	}
	if (http_grow(&x->body, &x->cap, x->len + len + 1) != 0) {
		return (0);
	}
	memcpy(x->body + x->len, data, len);
	x->len += len;
	x->body[x->len] = '\0';
	return (len);
}

static size_t
http_on_header(char *data, size_t size, size_t n, void *arg)
{
	http_xfer *x   = arg;
	size_t     len = size * n;

	/* A new status line (after a 100 Continue or a followed redirect)
	 * starts a new response: keep only the last one's headers. */
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		x->hlen = 0;
	}
	if (x->hlen + len + 1 > HTTP_HEADERS_MAX
	    || http_grow(&x->hdr, &x->hcap, x->hlen + len + 1) != 0) {
		return (len); /* drop what does not fit; not an error */
	}
	memcpy(x->hdr + x->hlen, data, len);
	x->hlen += len;
	x->hdr[x->hlen] = '\0';
	return (len);
}

static int
http_on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	http_xfer *x = arg;

	(void) dt;
	(void) dn;
	(void) ut;
	(void) un;
	return (http_cancelled(x->cancel) ? 1 : 0);
}

/* "30 s", "1.5 s": a duration for messages. */
static const char *
http_secs(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 == 0) {
		snprintf(buf, len, "%" PRId64 " s", ms / 1000);
	} else {
		snprintf(buf, len, "%.1f s", (double) ms / 1000.0);
	}
	return (buf);
}

/* Appends to a bounded buffer, always NUL-terminated. */
typedef struct http_out {
	char  *buf;
	size_t len, pos;
} http_out;

static void
out_put(http_out *o, const char *s, size_t n)
{
	if (o->len == 0) {
		return;
	}
	for (size_t i = 0; i < n && o->pos + 1 < o->len; i++) {
		o->buf[o->pos++] = s[i];
	}
	o->buf[o->pos] = '\0';
}

static int
http_secret_name(const char *name, size_t n)
{
	static const char *const parts[] = { "key", "token", "secret", "pass",
		"pwd", "auth", "sig", "session", "credential", NULL };
	char                     low[64];

	if (n >= sizeof(low)) {
		return (1); /* an odd name: safer hidden */
	}
	for (size_t i = 0; i < n; i++) {
		low[i] = (char) tolower((unsigned char) name[i]);
	}
	low[n] = '\0';
	if (strcmp(low, "code") == 0) {
		return (1);
	}
	for (int i = 0; parts[i] != NULL; i++) {
		if (strstr(low, parts[i]) != NULL) {
			return (1);
		}
	}
	return (0);
}

void
cf_http_redact_url(char *buf, size_t len, const char *url)
{
	http_out    o = { buf, len, 0 };
	const char *p = url, *s, *auth_end, *at = NULL;

	if (len == 0) {
		return;
	}
	buf[0] = '\0';
	if (url == NULL) {
		return;
	}
	if ((s = strstr(p, "://")) != NULL
	    && strcspn(p, "/?#") > (size_t) (s - p)) {
		out_put(&o, p, (size_t) (s - p) + 3);
		p        = s + 3;
		auth_end = p + strcspn(p, "/?#");
		for (const char *q = p; q < auth_end; q++) {
			if (*q == '@') {
				at = q;
			}
		}
		if (at != NULL) {
			out_put(&o, "***", 3);
			p = at;
		}
		out_put(&o, p, (size_t) (auth_end - p));
		p = auth_end;
	}
	s = p + strcspn(p, "?#");
	out_put(&o, p, (size_t) (s - p));
	p = s;
	if (*p == '?') {
		out_put(&o, "?", 1);
		p++;
		while (*p != '\0' && *p != '#') {
			size_t      plen = strcspn(p, "&#");
			const char *eq   = memchr(p, '=', plen);
			size_t nlen = eq != NULL ? (size_t) (eq - p) : plen;

			out_put(&o, p, nlen);
			if (eq != NULL) {
				if (http_secret_name(p, nlen)) {
					out_put(&o, "=***", 4);
				} else {
					out_put(&o, eq, plen - nlen);
				}
			}
			p += plen;
			if (*p == '&') {
				out_put(&o, "&", 1);
				p++;
			}
		}
	}
	/* A fragment is never sent, but OAuth's implicit flow puts tokens
	 * there: keep only that there was one. */
	if (*p == '#') {
		out_put(&o, "#***", 4);
	}
}

/* "name: METHOD /path" into rs->what. */
static void
http_what(cf_http_response *rs, const cf_http_request *rq)
{
	const char *p = rq->url != NULL ? rq->url : "", *s;
	int         n;

	if ((s = strstr(p, "://")) != NULL) {
		p = s + 3;
		p += strcspn(p, "/?#");
	}
	n = (int) strcspn(p, "?#");
	snprintf(rs->what, sizeof(rs->what), "%s: %s %s%.*s",
	    rq->name != NULL ? rq->name : "http",
	    rq->method != NULL ? rq->method : "?", n == 0 ? "/" : "", n, p);
}

int
cf_http_retry_after_parse(const char *value, int64_t now_s, int64_t *out_ms)
{
	const char *p    = value;
	int64_t     secs = 0;
	time_t      t;

	if (value == NULL) {
		return (CF_EINVAL);
	}
	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (isdigit((unsigned char) *p)) {
		const char *q = p;
		while (isdigit((unsigned char) *q)) {
			/* Clamp absurd values rather than overflow. */
			if (secs < 1000000000) {
				secs = secs * 10 + (*q - '0');
			}
			q++;
		}
		while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n') {
			q++;
		}
		if (*q == '\0') {
			*out_ms = secs * 1000;
			return (CF_OK);
		}
		/* Not a bare number: maybe a date starting with a digit. */
	}
	if ((t = curl_getdate(p, NULL)) == -1) {
		return (CF_EINVAL);
	}
	secs    = (int64_t) t - now_s;
	*out_ms = secs > 0 ? secs * 1000 : 0;
	return (CF_OK);
}

int
cf_http_response_header(
    const cf_http_response *rs, const char *name, char *buf, size_t len)
{
	size_t      nlen = strlen(name);
	const char *p    = rs->headers;

	if (len > 0) {
		buf[0] = '\0';
	}
	while (p != NULL && *p != '\0') {
		const char *eol  = p + strcspn(p, "\r\n");
		const char *next = eol + strspn(eol, "\r\n");

		if ((size_t) (eol - p) > nlen && p[nlen] == ':'
		    && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			const char *e = eol;
			size_t      n;

			while (v < e && (*v == ' ' || *v == '\t')) {
				v++;
			}
			while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
				e--;
			}
			if (len > 0) {
				n = (size_t) (e - v) < len - 1
				    ? (size_t) (e - v)
				    : len - 1;
				memcpy(buf, v, n);
				buf[n] = '\0';
			}
			return (1);
		}
		p = next;
	}
	return (0);
}

void
cf_http_response_free(cf_http_response *rs)
{
	if (rs == NULL) {
		return;
	}
	free(rs->body);
	free(rs->headers);
	memset(rs, 0, sizeof(*rs));
}

int
cf_http_json(const cf_http_response *rs, cJSON **out, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON      *doc;

	*out = NULL;
	if (rs->body == NULL || rs->body_len == 0) {
		cf_errf(err, errlen, "%s: response is empty (expected JSON)",
		    rs->what);
		return (CF_EPROTO);
	}
	/* The error position comes back through end, not through cJSON's
	 * global error pointer, which other threads may overwrite. Trailing
	 * bytes are checked here: cJSON's own check stops at a NUL, and a
	 * body may hold one. */
	doc = cJSON_ParseWithLengthOpts(rs->body, rs->body_len, &end, 0);
	if (doc != NULL) {
		while (end < rs->body + rs->body_len
		    && (*end == ' ' || *end == '\t' || *end == '\r'
		        || *end == '\n')) {
			end++;
		}
		if (end < rs->body + rs->body_len) {
			cJSON_Delete(doc);
			doc = NULL;
		}
	}
	if (doc == NULL) {
		size_t at = end != NULL && end >= rs->body
		    ? (size_t) (end - rs->body)
		    : 0;
		cf_errf(err, errlen, "%s: response is not JSON at byte %zu",
		    rs->what, at);
		return (CF_EPROTO);
	}
	*out = doc;
	return (CF_OK);
}

int
cf_http_form(char **out, const char *const *pairs)
{
	char  *buf = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	if (http_grow(&buf, &cap, 1) != 0) {
		return (CF_ENOMEM);
	}
	buf[0] = '\0';
	for (int i = 0; pairs != NULL && pairs[i] != NULL; i++) {
		char  *e = curl_easy_escape(NULL, pairs[i], 0);
		size_t n;

		if (e == NULL) {
			free(buf);
			return (CF_ENOMEM);
		}
		n = strlen(e);
		if (http_grow(&buf, &cap, len + n + 2) != 0) {
			curl_free(e);
			free(buf);
			return (CF_ENOMEM);
		}
		if (i > 0) {
			buf[len++] = i % 2 == 1 ? '=' : '&';
		}
		memcpy(buf + len, e, n);
		len += n;
		buf[len] = '\0';
		curl_free(e);
		/* A name without a value still gets its '='. */
		if (i % 2 == 0 && pairs[i + 1] == NULL) {
			buf[len++] = '=';
			buf[len]   = '\0';
			break;
		}
	}
	*out = buf;
	return (CF_OK);
}

/* splitmix64 over a shared counter: jitter needs spread, not secrecy. */
static uint64_t
http_rand(void)
{
	static atomic_uint_fast64_t state;
	uint64_t                    z;

	z = atomic_fetch_add(&state, 0x9e3779b97f4a7c15ULL)
	    + (uint64_t) http_now_ms() * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Full jitter: uniform in [0, min(cap, base * 2^(retry-1))]. */
static int64_t
http_backoff(const cf_http_config *c, int retry)
{
	int64_t bound = c->backoff_base_ms;

	for (int i = 1; i < retry && bound < c->backoff_cap_ms; i++) {
		bound *= 2;
	}
	if (bound > c->backoff_cap_ms) {
		bound = c->backoff_cap_ms;
	}
	return ((int64_t) (http_rand() % (uint64_t) (bound + 1)));
}

/* Sleeps ms in slices, returning CF_ECLOSED early if cancelled. */
static int
http_sleep(int64_t ms, const atomic_int *cancel)
{
	int64_t until = http_now_ms() + ms, now;

	while ((now = http_now_ms()) < until) {
		int64_t         d = until - now;
		struct timespec ts;

		if (http_cancelled(cancel)) {
			return (CF_ECLOSED);
		}
		if (d > HTTP_SLICE_MS) {
			d = HTTP_SLICE_MS;
		}
		ts.tv_sec  = d / 1000;
		ts.tv_nsec = (long) (d % 1000) * 1000000;
		nanosleep(&ts, NULL);
	}
	return (http_cancelled(cancel) ? CF_ECLOSED : CF_OK);
}

static int
http_retryable_status(long st)
{
	return (st == 429 || st == 500 || st == 502 || st == 503 || st == 504);
}

/* What one attempt ended with. */
typedef struct http_try {
	int  rc;        /* CF_OK: an answer in rs->status */
	int  retryable; /* the error or status may pass */
	char why[256];  /* the error, after rs->what */
} http_try;

static void
http_attempt(cf_http *h, const cf_http_request *rq, struct curl_slist *hl,
    int64_t timeout, int64_t conn_timeout, cf_http_response *rs, http_try *t)
{
	http_xfer x = { .max = h->cfg.max_body, .cancel = rq->cancel };
	char      ebuf[CURL_ERROR_SIZE] = "";
	char      s[32];
	CURL     *c;
	CURLcode  cc;
	long      nconn = 0;

	t->rc        = CF_OK;
	t->retryable = 0;
	t->why[0]    = '\0';
	if ((c = http_handle_take(h)) == NULL) {
		t->rc = CF_ENOMEM;
		snprintf(t->why, sizeof(t->why), "out of memory");
		return;
	}
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(
	    c, CURLOPT_FOLLOWLOCATION, rq->follow_redirects ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) conn_timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	if (rq->cancel != NULL) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(
		    c, CURLOPT_XFERINFOFUNCTION, http_on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	}
	if (strcmp(rq->method, "GET") == 0 && rq->body == NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		if (rq->body != NULL || strcmp(rq->method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t) (rq->body != NULL ? rq->body_len
			                                   : 0));
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    rq->body != NULL ? rq->body : "");
		}
		if (strcmp(rq->method, "POST") != 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
		}
	}

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK
	    && nconn > 0) {
		pthread_mutex_lock(&h->mu);
		h->connections += (uint64_t) nconn;
		pthread_mutex_unlock(&h->mu);
	}
	http_handle_give(h, c);

	free(rs->body);
	free(rs->headers);
	rs->body     = x.body != NULL ? x.body : calloc(1, 1);
	rs->body_len = x.len;
	rs->headers  = x.hdr;
	if (rs->body == NULL) {
		t->rc = CF_ENOMEM;
		snprintf(t->why, sizeof(t->why), "out of memory");
		return;
	}

	if (cc == CURLE_OK) {
		t->retryable = http_retryable_status(rs->status);
		return;
	}
	if (x.too_big) {
		t->rc = CF_ETOOBIG;
		if (x.max % (1u << 20) == 0) {
			snprintf(t->why, sizeof(t->why),
			    "response body exceeds %zu MiB", x.max >> 20);
		} else {
			snprintf(t->why, sizeof(t->why),
			    "response body exceeds %zu bytes", x.max);
		}
		return;
	}
	rs->status = 0; /* a partial answer is no answer */
	if (http_cancelled(rq->cancel)) {
		t->rc = CF_ECLOSED;
		snprintf(t->why, sizeof(t->why), "cancelled");
		return;
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		t->rc        = CF_ETIMEDOUT;
		t->retryable = 1;
		/* curl says which phase ran out: connecting or the rest. */
		if (strncmp(ebuf, "Connection timed out", 20) == 0
		    || strncmp(ebuf, "Connection timeout", 18) == 0) {
			snprintf(t->why, sizeof(t->why),
			    "connect timed out after %s",
			    http_secs(s, sizeof(s), conn_timeout));
		} else {
			snprintf(t->why, sizeof(t->why), "timed out after %s",
			    http_secs(s, sizeof(s), timeout));
		}
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		t->rc        = CF_ECONN;
		t->retryable = 1;
		snprintf(t->why, sizeof(t->why), "%s",
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
		break;
	case CURLE_OUT_OF_MEMORY:
		t->rc = CF_ENOMEM;
		snprintf(t->why, sizeof(t->why), "out of memory");
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		t->rc = CF_EINVAL;
		snprintf(t->why, sizeof(t->why), "%s", curl_easy_strerror(cc));
		break;
	default:
		t->rc = CF_ESYSTEM;
		snprintf(t->why, sizeof(t->why), "%s",
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
		break;
	}
}

/* The request's headers plus the body's type; "Expect:" keeps curl from
 * waiting a second for a 100 Continue some servers never send. */
static int
http_headers(const cf_http_request *rq, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n;
	char               ct[256];

	*out = NULL;
	for (int i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if ((n = curl_slist_append(l, rq->headers[i])) == NULL) {
			goto oom;
		}
		l = n;
	}
	if (rq->body != NULL && rq->content_type != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", rq->content_type);
		if ((n = curl_slist_append(l, ct)) == NULL) {
			goto oom;
		}
		l = n;
	}
	if ((n = curl_slist_append(l, "Expect:")) == NULL) {
		goto oom;
	}
	*out = n;
	return (CF_OK);
oom:
	curl_slist_free_all(l);
	return (CF_ENOMEM);
}

static int
http_pick(int v, int dflt)
{
	return (v > 0 ? v : dflt);
}

int
cf_http_do(cf_http *h, const cf_http_request *rq, cf_http_response *rs,
    char *err, size_t errlen)
{
	int64_t            start = http_now_ms(), deadline;
	int                max_attempts, rc = CF_OK;
	int64_t            timeout, conn_timeout, deadline_ms;
	struct curl_slist *hl = NULL;
	char               url[512], s1[32], s2[32], st[16];
	http_try           t = { 0 };

	memset(rs, 0, sizeof(*rs));
	rs->retry_after_ms = -1;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if ((rs->body = calloc(1, 1)) == NULL) {
		return (CF_ENOMEM);
	}
	if (rq == NULL || rq->url == NULL || rq->method == NULL) {
		cf_errf(
		    err, errlen, "http: a request needs a method and a URL");
		return (CF_EINVAL);
	}
	http_what(rs, rq);
	max_attempts = http_pick(rq->max_attempts, h->cfg.max_attempts);
	timeout      = http_pick(rq->timeout_ms, h->cfg.timeout_ms);
	conn_timeout
	    = http_pick(rq->connect_timeout_ms, h->cfg.connect_timeout_ms);
	deadline_ms = http_pick(rq->deadline_ms, h->cfg.deadline_ms);
	deadline    = start + deadline_ms;
	url[0]      = '\0';
	if (cf_log_enabled(CF_LOG_INFO)) {
		cf_http_redact_url(url, sizeof(url), rq->url);
	}
	if ((rc = http_headers(rq, &hl)) != CF_OK) {
		cf_errf(err, errlen, "%s: out of memory", rs->what);
		goto done;
	}

	for (int attempt = 1;; attempt++) {
		int64_t now = http_now_ms(), left = deadline - now, wait;
		int64_t t0;
		int     limited;

		if (left <= 0) {
			rc = CF_ETIMEDOUT;
			cf_errf(err, errlen, "%s: %s (deadline of %s passed)",
			    rs->what, t.why[0] ? t.why : "no answer",
			    http_secs(s1, sizeof(s1), deadline_ms));
			break;
		}
		if ((rc = http_slot_take(h, deadline, rq->cancel)) != CF_OK) {
			cf_errf(err, errlen,
			    rc == CF_ECLOSED ? "%s: cancelled"
			                     : "%s: no free request slot "
			                       "within the deadline "
			                       "of %s",
			    rs->what, http_secs(s1, sizeof(s1), deadline_ms));
			break;
		}
		/* The slot may have taken a while: the attempt gets what is
		 * left of the deadline, at most its own timeout. */
		left    = deadline - http_now_ms();
		limited = left < timeout;
		t0      = http_now_ms();
		http_attempt(h, rq, hl,
		    limited ? (left > 0 ? left : 1) : timeout,
		    conn_timeout < left ? conn_timeout : (left > 0 ? left : 1),
		    rs, &t);
		http_slot_give(h);
		rs->attempts = attempt;
		pthread_mutex_lock(&h->mu);
		h->attempts++;
		h->retries += attempt > 1;
		pthread_mutex_unlock(&h->mu);

		snprintf(st, sizeof(st), "%ld", rs->status);
		snprintf(s1, sizeof(s1), "%d", attempt);
		snprintf(s2, sizeof(s2), "%" PRId64, http_now_ms() - t0);
		cf_log_kv(CF_LOG_DEBUG, NULL, NULL, "http attempt", "target",
		    rq->name, "method", rq->method, "url", url, "status", st,
		    "attempt", s1, "ms", s2, "error",
		    t.rc != CF_OK ? t.why : NULL, NULL);

		if (t.rc == CF_OK && !t.retryable) {
			if (rs->status < 200 || rs->status > 299) {
				rc = CF_EPROTO;
				cf_errf(err, errlen, "%s: HTTP %ld", rs->what,
				    rs->status);
			}
			break;
		}
		if (t.rc == CF_OK) {
			snprintf(t.why, sizeof(t.why), "HTTP %ld", rs->status);
		}
		if (!t.retryable) {
			rc = t.rc;
			cf_errf(err, errlen, "%s: %s", rs->what, t.why);
			break;
		}
		rc = t.rc != CF_OK ? t.rc : CF_EPROTO;

		/* A retryable failure: how long to wait before the next. */
		{
			char    ra[64];
			int64_t ra_ms;

			rs->retry_after_ms = -1;
			if (t.rc == CF_OK
			    && cf_http_response_header(
			        rs, "Retry-After", ra, sizeof(ra))
			    && cf_http_retry_after_parse(
			           ra, (int64_t) time(NULL), &ra_ms)
			        == CF_OK) {
				rs->retry_after_ms = ra_ms;
			}
		}
		if (attempt >= max_attempts) {
			if (attempt > 1) {
				cf_errf(err, errlen,
				    "%s: %s (after %d attempts)", rs->what,
				    t.why, attempt);
			} else {
				cf_errf(
				    err, errlen, "%s: %s", rs->what, t.why);
			}
			break;
		}
		if (rs->retry_after_ms >= 0) {
			/* The server said when: waiting less would only earn
			 * another refusal, so a wait we cannot afford ends the
			 * call now rather than after a useless try. */
			wait = rs->retry_after_ms;
			if (wait > h->cfg.max_retry_after_ms) {
				rc = CF_ETIMEDOUT;
				cf_errf(err, errlen,
				    "%s: %s (retry after %s exceeds the "
				    "longest "
				    "wait, %s)",
				    rs->what, t.why,
				    http_secs(s1, sizeof(s1), wait),
				    http_secs(s2, sizeof(s2),
				        h->cfg.max_retry_after_ms));
				break;
			}
			if (http_now_ms() + wait >= deadline) {
				rc = CF_ETIMEDOUT;
				cf_errf(err, errlen,
				    "%s: %s (retry after %s exceeds the "
				    "deadline)",
				    rs->what, t.why,
				    http_secs(s1, sizeof(s1), wait));
				break;
			}
		} else {
			wait = http_backoff(&h->cfg, attempt);
		}
		if (http_now_ms() + wait >= deadline) {
			cf_errf(err, errlen,
			    "%s: %s (after %d attempt%s; the deadline of %s "
			    "leaves no time to retry)",
			    rs->what, t.why, attempt, attempt > 1 ? "s" : "",
			    http_secs(s1, sizeof(s1), deadline_ms));
			if (rc == CF_EPROTO) {
				rc = CF_ETIMEDOUT;
			}
			break;
		}
		snprintf(s1, sizeof(s1), "%" PRId64, wait);
		snprintf(s2, sizeof(s2), "%d", attempt + 1);
		cf_log_kv(CF_LOG_INFO, NULL, NULL, "http retry", "target",
		    rq->name, "method", rq->method, "url", url, "reason",
		    t.why, "wait_ms", s1, "attempt", s2, NULL);
		t0 = http_now_ms();
		if (http_sleep(wait, rq->cancel) != CF_OK) {
			rc = CF_ECLOSED;
			cf_errf(err, errlen, "%s: cancelled", rs->what);
			break;
		}
		rs->waited_ms += http_now_ms() - t0;
	}

done:
	curl_slist_free_all(hl);
	pthread_mutex_lock(&h->mu);
	h->calls++;
	h->failures += rc != CF_OK;
	pthread_mutex_unlock(&h->mu);
	return (rc);
}
