/*
 * cli_http.h - the CLI's side of the gateway's REST API: where the
 * gateway is, one request and its answer, tables for people.
 *
 *   cli_http.c   the gateway's address and token, requests over libcurl,
 *                errors turned into an exit status and one line
 *   cli_table.c  aligned columns sized to their content
 *   cmd_api.c    the request/answer commands (jobs, status, history...)
 *   cmd_watch.c  the event stream (server-sent events)
 */
#ifndef CF_CLI_HTTP_H
#define CF_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* The gateway's address when CRONFLEET_URL is unset. */
#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

/* Seconds: to connect, and for a whole request (not the event stream). */
#define CLI_CONNECT_TIMEOUT 5
#define CLI_REQUEST_TIMEOUT 30

/* Where the gateway is, from the environment. */
typedef struct cli_gateway {
	char        url[512]; /* CRONFLEET_URL without a trailing '/' */
	const char *token;    /* CRONFLEET_TOKEN, or NULL; never printed */
} cli_gateway;

/*
 * Reads CRONFLEET_URL (default CLI_DEFAULT_URL) and CRONFLEET_TOKEN.
 * Returns CLI_OK, or CLI_USAGE after a line naming the variable.
 */
int cli_gateway_init(cli_gateway *gw);

/* A growing byte buffer, always NUL-terminated once anything is added. */
typedef struct cli_buf {
	char  *p;
	size_t len, cap;
} cli_buf;

/* Appends n bytes; returns 0, or -1 when out of memory. */
int  cli_buf_add(cli_buf *b, const char *s, size_t n);
void cli_buf_fini(cli_buf *b);

/* Appends "key=value" to a query string being built in b ('?' or '&'
 * first), value percent-encoded. A NULL value appends nothing. */
int cli_query_add(cli_buf *b, const char *key, const char *value);

/* Appends s percent-encoded (a path segment such as a job's name). */
int cli_escape_add(cli_buf *b, const char *s);

/*
 * A curl handle for gw's url + path with the token (if any) and the
 * given extra header lines in *hdrs (the caller frees the handle with
 * curl_easy_cleanup and the list with curl_slist_free_all). Redirects
 * are not followed, so the token goes nowhere else. Returns NULL when
 * out of memory.
 */
CURL *cli_http_handle(const cli_gateway *gw, const char *path,
    struct curl_slist **hdrs, const char *const *extra, size_t nextra);

/* The answer to one request. */
typedef struct cli_answer {
	long         status; /* HTTP status */
	cli_buf      body;   /* as received */
	cJSON       *doc;    /* the parsed body (owned), or NULL */
	const cJSON *data;   /* doc's "data", or NULL */
} cli_answer;

void cli_answer_fini(cli_answer *a);

/* The answer's body on stdout as it came (--json), ending with a
 * newline; nothing when there was none. */
void cli_answer_print(const cli_answer *a);

/*
 * Sends method path (with its query) and a JSON body (or NULL) to the
 * gateway and waits for the answer (CLI_REQUEST_TIMEOUT). Returns
 *   CLI_OK           a 2xx answer with {"success":true,...}: a is filled
 *   CLI_FAIL         the gateway refused or failed the request, or its
 *                    answer was not the API's JSON
 *   CLI_UNREACHABLE  no answer (refused, timed out, connection lost)
 *   CLI_USAGE        CRONFLEET_URL is not a URL curl can use
 * After a failure a line "cronfleet: <why>" is on stderr (the server's
 * own message when it gave one); a is still to be finished.
 */
int cli_request(const cli_gateway *gw, const char *method, const char *path,
    const cJSON *body, cli_answer *a);

/*
 * The line on stderr for an HTTP failure: the server's "error" when its
 * body is the API's JSON, otherwise the status and the start of the body.
 * Adds a hint for 401 without a token, and Retry-After for 429.
 */
void cli_report_http(const cli_gateway *gw, long status, const char *body,
    size_t len, long retry_after);

/* The line on stderr for a transport failure; returns CLI_UNREACHABLE,
 * or CLI_USAGE when the URL itself is at fault. */
int cli_report_curl(const cli_gateway *gw, CURLcode rc, const char *errbuf);

/* ---- cmd_watch.c ---------------------------------------------------- */

/*
 * Streams GET /api/v1/events (filtered by job and service when not NULL)
 * to stdout: a line per event for people, or with json one JSON object
 * per line (the event's data, with "id" added). Stops after count events
 * (0: never). Returns an exit status (cli.h).
 */
int cli_watch(const cli_gateway *gw, int json, const char *job,
    const char *service, long count);

/* ---- cli_table.c ---------------------------------------------------- */

typedef struct cli_table cli_table;

/* A table with ncols columns (at most 16) and these headers. Cells
 * longer than max (per column; 0: no limit) are cut with "...". */
cli_table *cli_table_new(size_t ncols, const char *const *headers);
void       cli_table_limit(cli_table *t, size_t col, size_t max);

/* Adds a row of ncols cells (NULL prints "-"); copies them. Control
 * characters become spaces so a row stays one line. Returns 0 or -1. */
int cli_table_row(cli_table *t, const char *const *cells);

/* Prints the headers and rows, columns two spaces apart, then frees t. */
void cli_table_print(cli_table *t, FILE *f);
void cli_table_free(cli_table *t);

/* ---- helpers for cells ---------------------------------------------- */

/* o's member name as a string for a cell: strings as they are, numbers
 * and booleans as text, null/absent as NULL. Uses buf for non-strings. */
const char *cli_cell(const cJSON *o, const char *name, char *buf, size_t len);

/* A duration in ms as "350ms", "12.4s", "3m05s", "2h04m". */
const char *cli_duration(int64_t ms, char *buf, size_t len);

/* The run's duration from its started_at and finished_at (RFC 3339), or
 * NULL when either is missing. */
const char *cli_run_duration(const cJSON *run, char *buf, size_t len);

#endif /* CF_CLI_HTTP_H */
