/*
 * cli_http.c - requests to the gateway over libcurl, and what a failure
 * looks like to the person or script that ran the command.
 *
 * Every failure ends as one line on stderr and an exit status (cli.h):
 * the server's own message when it sent one ({"success":false,
 * "error":...}), so "cronfleet trigger x" says what curl would show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_time.h"
#include "cli.h"
#include "cli_http.h"

int
cli_gateway_init(cli_gateway *gw)
{
	const char *url = getenv("CRONFLEET_URL");
	size_t      n;

	memset(gw, 0, sizeof(*gw));
	if (url == NULL || url[0] == '\0') {
		url = CLI_DEFAULT_URL;
	}
	if (strncmp(url, "http://", 7) != 0
	    && strncmp(url, "https://", 8) != 0) {
		return (cli_usage_error("CRONFLEET_URL: '%.100s' is not an "
		                        "http:// or https:// URL",
		    url));
	}
	n = strlen(url);
	if (n >= sizeof(gw->url)) {
		return (cli_usage_error("CRONFLEET_URL: longer than %zu "
		                        "characters",
		    sizeof(gw->url) - 1));
	}
	/* Paths are appended as "/api/...": one slash between. */
	while (n > 0 && url[n - 1] == '/') {
		n--;
	}
	memcpy(gw->url, url, n);
	gw->url[n] = '\0';
	gw->token  = getenv("CRONFLEET_TOKEN");
	if (gw->token != NULL && gw->token[0] == '\0') {
		gw->token = NULL;
	}
	return (CLI_OK);
}

int
cli_buf_add(cli_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char  *p;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL) {
			return (-1);
		}
		b->p   = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return (0);
}

void
cli_buf_fini(cli_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
cli_escape_add(cli_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;
		char          e[3];
		/* RFC 3986 unreserved characters go as they are. */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		    || (c >= '0' && c <= '9') || c == '-' || c == '_'
		    || c == '.' || c == '~') {
			if (cli_buf_add(b, s, 1) != 0) {
				return (-1);
			}
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		if (cli_buf_add(b, e, 3) != 0) {
			return (-1);
		}
	}
	return (0);
}

int
cli_query_add(cli_buf *b, const char *key, const char *value)
{
	const char *sep;

	if (value == NULL) {
		return (0);
	}
	sep = (b->p != NULL && strchr(b->p, '?') != NULL) ? "&" : "?";
	if (cli_buf_add(b, sep, 1) != 0 || cli_escape_add(b, key) != 0
	    || cli_buf_add(b, "=", 1) != 0 || cli_escape_add(b, value) != 0) {
		return (-1);
	}
	return (0);
}

CURL *
cli_http_handle(const cli_gateway *gw, const char *path,
    struct curl_slist **hdrs, const char *const *extra, size_t nextra)
{
	CURL   *h;
	cli_buf url  = { 0 };
	cli_buf auth = { 0 };
	int     bad  = 0;

	*hdrs = NULL;
	if ((h = curl_easy_init()) == NULL) {
		return (NULL);
	}
	if (cli_buf_add(&url, gw->url, strlen(gw->url)) != 0
	    || cli_buf_add(&url, path, strlen(path)) != 0) {
		bad = 1;
	}
	if (!bad && gw->token != NULL) {
		struct curl_slist *l;
		if (cli_buf_add(&auth, "Authorization: Bearer ", 22) != 0
		    || cli_buf_add(&auth, gw->token, strlen(gw->token)) != 0
		    || (l = curl_slist_append(*hdrs, auth.p)) == NULL) {
			bad = 1;
		} else {
			*hdrs = l;
		}
	}
	for (size_t i = 0; !bad && i < nextra; i++) {
		struct curl_slist *l = curl_slist_append(*hdrs, extra[i]);
		if (l == NULL) {
			bad = 1;
		} else {
			*hdrs = l;
		}
	}
	if (!bad) {
		/* CURLOPT_URL copies the string; the header list is kept. */
		curl_easy_setopt(h, CURLOPT_URL, url.p);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
		curl_easy_setopt(
		    h, CURLOPT_USERAGENT, "cronfleet/" CF_VERSION);
		curl_easy_setopt(
		    h, CURLOPT_CONNECTTIMEOUT, (long) CLI_CONNECT_TIMEOUT);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	}
	/* The token's copy is wiped: it is a secret. */
	if (auth.p != NULL) {
		memset(auth.p, 0, auth.len);
	}
	cli_buf_fini(&auth);
	cli_buf_fini(&url);
	if (bad) {
		curl_slist_free_all(*hdrs);
		*hdrs = NULL;
		curl_easy_cleanup(h);
		return (NULL);
	}
	return (h);
}

void
cli_answer_fini(cli_answer *a)
{
	cli_buf_fini(&a->body);
	cJSON_Delete(a->doc);
	memset(a, 0, sizeof(*a));
}

static size_t
http_collect(char *ptr, size_t size, size_t n, void *cls)
{
	cli_buf *b = cls;

	/* An answer larger than this is not the API's: stop reading. */
	if (b->len + size * n > 64 * 1024 * 1024) {
		return (0);
	}
	return (cli_buf_add(b, ptr, size * n) == 0 ? size * n : 0);
}

/* Copies up to max characters of s into dst, control characters made
 * spaces, for a message that must stay on one line. */
static void
http_snippet(char *dst, size_t len, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < len; i++) {
		unsigned char c = (unsigned char) s[i];
		dst[j++]        = (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
	}
	while (j > 0 && dst[j - 1] == ' ') {
		j--;
	}
	dst[j] = '\0';
}

void
cli_report_http(const cli_gateway *gw, long status, const char *body,
    size_t len, long retry_after)
{
	cJSON      *doc = NULL;
	const char *msg = NULL;
	char        snip[201];

	if (body != NULL && len > 0) {
		doc = cJSON_ParseWithLength(body, len);
		msg = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(doc, "error"));
	}
	if (msg != NULL) {
		/* The server's own words, on one line. */
		http_snippet(snip, sizeof(snip), msg, strlen(msg));
		fprintf(stderr, "cronfleet: %s", snip);
	} else if (body != NULL && len > 0) {
		http_snippet(snip, sizeof(snip), body, len);
		fprintf(stderr, "cronfleet: HTTP %ld from %s: %s", status,
		    gw->url, snip);
	} else {
		fprintf(
		    stderr, "cronfleet: HTTP %ld from %s", status, gw->url);
	}
	if (status == 401 && gw->token == NULL) {
		fputs(" (CRONFLEET_TOKEN is not set)", stderr);
	}
	if (status == 429 && retry_after > 0) {
		fprintf(stderr, " (retry after %ld s)", retry_after);
	}
	fputc('\n', stderr);
	cJSON_Delete(doc);
}

int
cli_report_curl(const cli_gateway *gw, CURLcode rc, const char *errbuf)
{
	const char *why = (errbuf != NULL && errbuf[0] != '\0')
	    ? errbuf
	    : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		fprintf(stderr, "cronfleet: CRONFLEET_URL: %s\n", why);
		return (CLI_USAGE);
	case CURLE_OUT_OF_MEMORY:
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	default:
		fprintf(stderr,
		    "cronfleet: cannot reach the gateway at %s: %s\n", gw->url,
		    why);
		return (CLI_UNREACHABLE);
	}
}

int
cli_request(const cli_gateway *gw, const char *method, const char *path,
    const cJSON *body, cli_answer *a)
{
	static const char *const json_hdr[] = {
		"Accept: application/json",
		"Content-Type: application/json",
	};
	struct curl_slist *hdrs                    = NULL;
	char               errbuf[CURL_ERROR_SIZE] = "";
	char              *text                    = NULL;
	CURL              *h;
	CURLcode           rc;
	const cJSON       *ok;
	long               retry_after = 0;

	memset(a, 0, sizeof(*a));
	h = cli_http_handle(gw, path, &hdrs, json_hdr, body != NULL ? 2 : 1);
	if (h == NULL) {
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	if (body != NULL) {
		if ((text = cJSON_PrintUnformatted(body)) == NULL) {
			curl_slist_free_all(hdrs);
			curl_easy_cleanup(h);
			fputs("cronfleet: out of memory\n", stderr);
			return (CLI_FAIL);
		}
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long) CLI_REQUEST_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(method, "POST") == 0 && body == NULL) {
		/* A POST without a body still says so (Content-Length: 0). */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(text);
	if (rc != CURLE_OK) {
		return (cli_report_curl(gw, rc, errbuf));
	}
	if (a->status < 200 || a->status > 299) {
		cli_report_http(
		    gw, a->status, a->body.p, a->body.len, retry_after);
		return (CLI_FAIL);
	}
	if (a->body.p != NULL) {
		a->doc = cJSON_ParseWithLength(a->body.p, a->body.len);
	}
	ok = cJSON_GetObjectItemCaseSensitive(a->doc, "success");
	if (!cJSON_IsBool(ok)) {
		/* Something answers there, but not a cronfleet gateway. */
		char snip[121];
		http_snippet(snip, sizeof(snip), a->body.p ? a->body.p : "",
		    a->body.len);
		fprintf(stderr,
		    "cronfleet: %s did not answer with the API's "
		    "JSON (HTTP %ld): %s\n",
		    gw->url, a->status, snip);
		return (CLI_FAIL);
	}
	if (!cJSON_IsTrue(ok)) {
		cli_report_http(gw, a->status, a->body.p, a->body.len, 0);
		return (CLI_FAIL);
	}
	a->data = cJSON_GetObjectItemCaseSensitive(a->doc, "data");
	return (CLI_OK);
}

void
cli_answer_print(const cli_answer *a)
{
	if (a->body.p == NULL) {
		return;
	}
	fwrite(a->body.p, 1, a->body.len, stdout);
	if (a->body.len == 0 || a->body.p[a->body.len - 1] != '\n') {
		putchar('\n');
	}
}

const char *
cli_cell(const cJSON *o, const char *name, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v)) {
		return (v->valuestring);
	}
	if (cJSON_IsBool(v)) {
		return (cJSON_IsTrue(v) ? "true" : "false");
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == (double) (int64_t) d) {
			snprintf(buf, len, "%lld", (long long) (int64_t) d);
		} else {
			snprintf(buf, len, "%g", d);
		}
		return (buf);
	}
	return (NULL);
}

const char *
cli_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 0) {
		ms = 0;
	}
	if (ms < 1000) {
		snprintf(buf, len, "%lldms", (long long) ms);
	} else if (ms < 60 * 1000) {
		snprintf(buf, len, "%.1fs", (double) ms / 1000.0);
	} else if (ms < 3600 * 1000) {
		snprintf(buf, len, "%lldm%02llds", (long long) (ms / 60000),
		    (long long) (ms / 1000 % 60));
	} else {
		snprintf(buf, len, "%lldh%02lldm", (long long) (ms / 3600000),
		    (long long) (ms / 60000 % 60));
	}
	return (buf);
}

const char *
cli_run_duration(const cJSON *run, char *buf, size_t len)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(run, "duration_ms");
	const char  *s, *f;
	int64_t      a, b;

	if (cJSON_IsNumber(d)) {
		return (cli_duration((int64_t) d->valuedouble, buf, len));
	}
	s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(run, "started_at"));
	f = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(run, "finished_at"));
	if (s == NULL || f == NULL || cf_rfc3339_parse(s, &a) != 0
	    || cf_rfc3339_parse(f, &b) != 0) {
		return (NULL);
	}
	return (cli_duration(b - a, buf, len));
}
