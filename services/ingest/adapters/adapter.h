/*
 * adapter.h - what every vendor adapter shares: one call's context, its
 * URLs, headers and JSON requests, the token dance (refresh when stale,
 * refresh once more on a 401), and lenient readers of what vendors send.
 *
 * An adapter is one file per vendor (adapters/<vendor>.c) that turns the
 * vendor's API into rows; its header comment cites the documentation page
 * it follows. Families of adapters declare their entry points in their
 * own header (energy.h, carbon.h, plants.h, shop.h). Adapters never touch
 * PostgreSQL: a job loads the row, its credentials and token, calls the
 * adapter, and stores the rows and a changed token.
 *
 * Errors: an adapter returns a cf_err code and one line in err that
 * starts with the vendor's name and never holds a credential, a token or
 * a body (cf_http's own messages already follow that rule).
 */
#ifndef INGEST_ADAPTER_H
#define INGEST_ADAPTER_H

#include <stdatomic.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cf_http.h"
#include "ingest.h"

/* One vendor account, as an adapter sees it for one job's run. */
typedef struct ingest_call {
	cf_http          *http;
	const char       *vendor;   /* "enphase": for errors and logs */
	const char       *base_url; /* the account's, no trailing '/' needed */
	const cJSON      *creds;    /* opened credentials (an object) */
	ingest_token     *token;    /* NULL for key-only vendors */
	const atomic_int *cancel;   /* the service stopping */
	int               timeout_ms;   /* per attempt; 0: the client's */
	int               deadline_ms;  /* per call; 0: the client's */
	int               max_attempts; /* 0: the client's */
	int               refreshes;    /* logins/refreshes made (out) */
} ingest_call;

/* A string member of c->creds, or NULL. */
const char *ingest_cred(const ingest_call *c, const char *name);

/*
 * Joins base_url and path (path starts with '/') into buf; a trailing
 * '/' of the base is dropped. Returns CF_OK or CF_ETOOBIG.
 */
int ingest_url(char *buf, size_t len, const char *base_url, const char *path);

/*
 * ingest_url, then "?" and the form-encoded pairs (cf_http_form: name,
 * value, ..., NULL) as the query. Returns CF_OK, CF_ENOMEM or
 * CF_ETOOBIG. The query's own copy is wiped (it may hold a key); buf is
 * the caller's to wipe when it does.
 */
int ingest_url_query(char *buf, size_t len, const char *base_url,
    const char *path, const char *const *pairs);

/*
 * A header line "<prefix><value>" (e.g. "Authorization: Bearer ",
 * token), malloc'd: free it with ingest_secret_free. NULL: no memory.
 */
char *ingest_header(const char *prefix, const char *value);

/* "Authorization: Basic <base64 of user:password>" (RFC 7617), as
 * ingest_header. */
char *ingest_basic_header(const char *user, const char *password);

/* Wipes and frees a string that held a secret (NULL is fine). */
void ingest_secret_free(char *s);

/*
 * One request of c with its retries (cf_http_do), then the body as JSON.
 * rq's timeouts default to c's; rq->cancel to c->cancel. On CF_OK *doc is
 * the caller's (cJSON_Delete). rs is filled whatever happens (free it).
 * A non-2xx answer is CF_EPROTO with rs->status set and, when the body is
 * JSON, *doc still given (so an adapter can read the vendor's error).
 */
int ingest_http_json(ingest_call *c, cf_http_request *rq, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen);

/*
 * The two requests most adapters make, through ingest_http_json (same
 * contract), with `Accept: application/json` and header (one more
 * header line, or NULL):
 *
 * ingest_get_json GETs url (whole: ingest_url or ingest_url_query).
 *
 * ingest_post_json POSTs body as JSON to path under c->base_url; the
 * body's text is wiped once sent (it may hold credentials). A URL too
 * long is CF_ETOOBIG ("<vendor>: URL too long").
 */
int ingest_get_json(ingest_call *c, const char *url, const char *header,
    cf_http_response *rs, cJSON **doc, char *err, size_t errlen);
int ingest_post_json(ingest_call *c, const char *path, const char *header,
    const cJSON *body, cf_http_response *rs, cJSON **doc, char *err,
    size_t errlen);

/*
 * The token dance for vendors with access tokens.
 *
 * login obtains a fresh token into c->token (by refresh token, or by
 * logging in with the credentials) and sets it with ingest_token_set (so
 * c->token->changed tells the job to store it). send makes the data
 * request with c->token->access; auth_failed says whether an answer means
 * "this token is no good" (a 401, or a vendor's 200 with an error code).
 *
 * ingest_authed: logs in first when the token is stale
 * (ingest_token_stale), sends, and when the answer is an auth failure,
 * logs in once more and sends again. Returns send's result (or login's
 * error, prefixed "<vendor>: token refresh failed: ").
 */
typedef int (*ingest_login_fn)(ingest_call *c, char *err, size_t errlen);
typedef int (*ingest_send_fn)(ingest_call *c, void *arg, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen);
typedef int (*ingest_auth_failed_fn)(
    int rv, const cf_http_response *rs, const cJSON *doc);

int ingest_authed(ingest_call *c, ingest_login_fn login, ingest_send_fn send,
    ingest_auth_failed_fn auth_failed, void *arg, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen);

/* The common auth_failed: HTTP 401. */
int ingest_auth_failed_401(
    int rv, const cf_http_response *rs, const cJSON *doc);

/* JSON readers that accept what vendors send: a number, or a number in a
 * string ("3600", "12.5"). Return def when missing or not a number. */
double  ingest_json_num(const cJSON *o, const char *name, double def);
int64_t ingest_json_int(const cJSON *o, const char *name, int64_t def);
/* A string member, or NULL. */
const char *ingest_json_str(const cJSON *o, const char *name);

/*
 * A vendor's error code into buf when it is a short code: letters and
 * digits only (cut to len - 1), never free text that could echo input
 * into a log. "" when s is NULL or holds anything else. Returns buf.
 */
const char *ingest_safe_code(char *buf, size_t len, const char *s);

/* A vendor's code and what it means; a table of them ends with { NULL }. */
typedef struct ingest_code_text {
	const char *code, *text;
} ingest_code_text;

/* The text of code in table, or def when the table does not have it. */
const char *ingest_code_lookup(
    const ingest_code_text *table, const char *code, const char *def);

/*
 * How many items a full page starting at item `from` (0-based) holds
 * when the list has total items and pages of per: min(total - from,
 * per), never below 0. A page with fewer is a partial answer.
 */
int64_t ingest_page_expect(int64_t total, int64_t from, int64_t per);

/* Parses "2024-01-01T00:00:00Z" / "+01:00" / ".123" fractions, and
 * "YYYY-MM-DD hh:mm:ss" (UTC unless tz_offset_s says otherwise) into unix
 * ms. Returns CF_OK or CF_EINVAL. */
int ingest_time_parse(const char *s, int64_t *out_ms);

/* Formats unix ms as RFC 3339 UTC ("2024-01-01T00:00:00Z"). */
void ingest_time_format(char *buf, size_t len, int64_t ms);

#endif /* INGEST_ADAPTER_H */
