/*
 * cf_http.h - the HTTP client the ingest adapters call: one request with
 * retries, backoff, Retry-After, deadlines and a shared limit on requests
 * in flight, over libcurl.
 *
 *	cf_http_config cfg;
 *	cf_http       *http;
 *	cf_http_config_defaults(&cfg);
 *	cfg.max_in_flight = 5;
 *	if (cf_http_open(&http, &cfg) != 0) ...
 *
 *	const char *hdrs[] = { "Accept: application/json", NULL };
 *	cf_http_request  rq = { .name = "enphase", .method = "GET",
 *	    .url = url, .headers = hdrs, .timeout_ms = 10000 };
 *	cf_http_response rs;
 *	cJSON           *doc;
 *	char             err[256];
 *	if (cf_http_do(http, &rq, &rs, err, sizeof(err)) != 0 ||
 *	    cf_http_json(&rs, &doc, err, sizeof(err)) != 0) {
 *		... err is one line: "enphase: GET /api/v4/systems: HTTP 429
 *		    (retry after 30 s exceeds the deadline)"; rs.status says
 *		    what the vendor answered (0: no answer) ...
 *	}
 *	cf_http_response_free(&rs);
 *
 * What is retried: connection failures, timeouts, and HTTP 429, 500, 502,
 * 503 and 504, up to max_attempts, with full-jitter exponential backoff
 * (a wait drawn uniformly from [0, min(cap, base * 2^(n-1))] before retry
 * n), or exactly the server's Retry-After when it sends one (one longer
 * than max_retry_after_ms ends the call at once, saying so). Never
 * retried: any other status (a 400 or 401 will not change by asking
 * again; an adapter refreshes its token and calls again), a body over
 * the size limit, bad input. Every attempt and wait fits in the request's
 * deadline: a wait that would pass it is not started and the call fails
 * at once saying so.
 *
 * Secrets: nothing this module logs or writes into an error message holds
 * a request header's value, a body, a URL's user information or the
 * value of a query parameter whose name looks secret (see
 * cf_http_redact_url). Error messages name only the URL's path.
 *
 * Logging (cf_log): each attempt at debug ("http attempt": target,
 * method, redacted url, status, attempt, ms, error), each retry at info
 * ("http retry": reason, wait_ms). A call's final error is not logged
 * here: the caller has the line in err and logs it with its job and run.
 *
 * Limiter: a call holds one of the client's max_in_flight slots only
 * while an attempt is on the wire, not while it waits to retry; a call
 * that finds none free waits for one within its deadline. Open one
 * client per process and share it, so the limit holds across vendors.
 *
 * Thread-safety: a cf_http is shared by any number of threads; each
 * request is independent. Idle easy handles are pooled, so connections
 * are kept alive between calls. Redirects are not followed unless asked;
 * no signals are used (CURLOPT_NOSIGNAL), so timeouts are safe in threads.
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct cf_http cf_http;

/* The client's defaults; a request's non-zero fields override them. */
typedef struct cf_http_config {
	int    max_in_flight; /* requests in flight at once, all threads (5) */
	int    connect_timeout_ms; /* per attempt, to connect (5000) */
	int    timeout_ms;      /* per attempt, the whole exchange (30000) */
	int    deadline_ms;     /* all attempts and waits of a call (120000) */
	int    max_attempts;    /* tries of one call, first included (4) */
	int    backoff_base_ms; /* first backoff bound (500) */
	int    backoff_cap_ms;  /* largest backoff bound (30000) */
	int    max_retry_after_ms; /* longest Retry-After honoured (300000) */
	size_t max_body;           /* largest response body (16 MiB) */
	const char *user_agent;    /* copied; NULL: "cronfleet" */
} cf_http_config;

/* Fills cfg with the defaults above. */
void cf_http_config_defaults(cf_http_config *cfg);

/*
 * Opens a client (initialising libcurl once per process). Values <= 0 in
 * cfg take the defaults. Returns CF_OK, CF_ENOMEM or CF_ESYSTEM; on
 * success *out is the caller's, freed with cf_http_close.
 */
int cf_http_open(cf_http **out, const cf_http_config *cfg);

/* Frees a client (NULL is fine). No request may be in flight on it. */
void cf_http_close(cf_http *http);

/* One call. Only method and url are required. Nothing is retained. */
typedef struct cf_http_request {
	const char *name;   /* who is called, for errors and logs: "enphase" */
	const char *method; /* "GET", "POST", "PUT", "DELETE", ... */
	const char *url;    /* absolute; may hold secret query parameters */
	/* "Name: value" lines ended by NULL; values are never logged. */
	const char *const *headers;
	const char        *body;         /* NULL: no body */
	size_t             body_len;     /* bytes of body */
	const char        *content_type; /* of body, e.g. "application/json",
	                                    "application/x-www-form-urlencoded" */
	int timeout_ms;                  /* per attempt; 0: the client's */
	int connect_timeout_ms;          /* per attempt; 0: the client's */
	int deadline_ms;                 /* whole call; 0: the client's */
	int max_attempts;                /* 0: the client's; 1: no retry */
	int follow_redirects;            /* 1: follow up to 5 (same rules) */
	/* When set and non-zero, the call stops at the next check (within
	 * 100 ms) and fails with CF_ECLOSED: for shutdown. */
	const atomic_int *cancel;
} cf_http_request;

/* What came back. Owned by the caller: cf_http_response_free. */
typedef struct cf_http_response {
	/* The last HTTP status; 0 if no whole answer came (a body over
	 * max_body keeps its status). */
	long status;
	/* NUL-terminated (may hold NULs); never NULL after cf_http_do. */
	char   *body;
	size_t  body_len;
	char   *headers;        /* the last response's header lines, raw */
	int     attempts;       /* tries made */
	int64_t waited_ms;      /* time spent waiting between tries */
	int64_t retry_after_ms; /* the last Retry-After, in ms; -1: none */
	char    what[160]; /* "enphase: GET /api/v4/systems", for errors */
} cf_http_response;

/*
 * Sends rq, retrying as described above, and fills *rs (always: free it
 * with cf_http_response_free whatever is returned). Returns:
 *	CF_OK        a 2xx answer;
 *	CF_EPROTO    a final answer that is not 2xx (rs->status, rs->body
 *	             tell which: a 401 asks for a token refresh);
 *	CF_ETIMEDOUT the last try timed out, or a wait would pass the
 *	             deadline (a 429 whose Retry-After is too long included);
 *	CF_ECONN     the server could not be reached;
 *	CF_ETOOBIG   the body is over max_body;
 *	CF_ECLOSED   rq->cancel was set;
 *	CF_EINVAL    bad input; CF_ENOMEM; CF_ESYSTEM (another curl error).
 * On error, err gets one line that starts with rs->what.
 */
int cf_http_do(cf_http *http, const cf_http_request *rq, cf_http_response *rs,
    char *err, size_t errlen);

/* Frees what *rs holds and zeroes it (NULL or zeroed is fine). */
void cf_http_response_free(cf_http_response *rs);

/*
 * The value of the first response header called name (any case) in
 * rs->headers, trimmed, copied into buf (cut to len). Returns 1 if found,
 * else 0 (buf = "").
 */
int cf_http_response_header(
    const cf_http_response *rs, const char *name, char *buf, size_t len);

/*
 * Parses rs->body as one JSON value (nothing after it but white space).
 * Returns CF_OK with *out the caller's (cJSON_Delete), or CF_EPROTO with
 * err = "<rs->what>: response is not JSON at byte N" (N counts from 0:
 * the first byte the parser could not take; the body itself is never
 * quoted, it may hold secrets).
 */
int cf_http_json(
    const cf_http_response *rs, cJSON **out, char *err, size_t errlen);

/*
 * Encodes name/value pairs (pairs[0] = name, pairs[1] = value, ...,
 * ended by NULL) as application/x-www-form-urlencoded, which is also a
 * URL's query. Returns CF_OK with *out the caller's (free), or CF_ENOMEM.
 */
int cf_http_form(char **out, const char *const *pairs);

/*
 * Copies url into buf (cut to len, NUL-terminated) with secrets replaced
 * by "***": the user information of the host part ("u:p" in
 * "https://u:p@host/") and the value of each query parameter whose name,
 * in any case, is or contains key, token, secret, pass, pwd, auth, sig,
 * session, credential, or is "code"; a fragment becomes "#***". Used for every
 * URL this module logs.
 */
void cf_http_redact_url(char *buf, size_t len, const char *url);

/*
 * Parses a Retry-After value: delta seconds ("30") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"), against now_s (unix seconds).
 * Returns CF_OK with *out_ms >= 0 (a date in the past gives 0), or
 * CF_EINVAL.
 */
int cf_http_retry_after_parse(
    const char *value, int64_t now_s, int64_t *out_ms);

/* Counters of a client, for metrics and tests. */
typedef struct cf_http_stats {
	int      in_flight;      /* requests holding a slot now */
	int      peak_in_flight; /* most ever held at once */
	int      max_in_flight;  /* the limit */
	uint64_t calls;          /* cf_http_do calls */
	uint64_t attempts;       /* tries, all calls */
	uint64_t retries;        /* tries after a first */
	uint64_t failures;       /* calls that returned an error */
	uint64_t connections;    /* connections opened: fewer than attempts
	                            when kept-alive ones are reused */
} cf_http_stats;

/* Copies the client's counters into *out. */
void cf_http_stats_get(cf_http *http, cf_http_stats *out);

/* Sets peak_in_flight back to in_flight (tests measure one phase). */
void cf_http_stats_reset_peak(cf_http *http);

#endif /* CF_HTTP_H */
