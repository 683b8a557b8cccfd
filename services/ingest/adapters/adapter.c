/*
 * adapter.c - what the vendor adapters share: URLs and headers, one JSON
 * call (GET or POST), the token dance, and lenient readers for the
 * codes, counts, numbers and times vendors send.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "adapter.h"
#include "cf_err.h"
#include "cf_secret.h"
#include "cf_time.h"

const char *
ingest_cred(const ingest_call *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->creds, name);

	return (cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring
	                                                       : NULL);
}

int
ingest_url(char *buf, size_t len, const char *base_url, const char *path)
{
	size_t n = strlen(base_url);
	int    w;

	while (n > 0 && base_url[n - 1] == '/') {
		n--;
	}
	w = snprintf(buf, len, "%.*s%s", (int) n, base_url, path);
	return (w < 0 || (size_t) w >= len ? CF_ETOOBIG : CF_OK);
}

int
ingest_url_query(char *buf, size_t len, const char *base_url, const char *path,
    const char *const *pairs)
{
	char *q = NULL;
	int   rv;

	if ((rv = cf_http_form(&q, pairs)) != CF_OK) {
		return (rv);
	}
	if ((rv = ingest_url(buf, len, base_url, path)) == CF_OK
	    && strlen(buf) + strlen(q) + 2 > len) {
		rv = CF_ETOOBIG;
	}
	if (rv == CF_OK) {
		strcat(buf, "?");
		strcat(buf, q);
	}
	ingest_secret_free(q);
	return (rv);
}

char *
ingest_header(const char *prefix, const char *value)
{
	size_t n = strlen(prefix) + strlen(value) + 1;
	char  *h = malloc(n);

	if (h != NULL) {
		snprintf(h, n, "%s%s", prefix, value);
	}
	return (h);
}

char *
ingest_basic_header(const char *user, const char *password)
{
	size_t n    = strlen(user) + strlen(password) + 2;
	char  *pair = malloc(n);
	char  *b64  = malloc(4 * ((n + 2) / 3) + 1);
	char  *h    = NULL;

	if (pair == NULL || b64 == NULL) {
		/* Nothing was written into either yet. */
		free(pair);
		free(b64);
		return (NULL);
	}
	snprintf(pair, n, "%s:%s", user, password);
	EVP_EncodeBlock(
	    (unsigned char *) b64, (const unsigned char *) pair, (int) n - 1);
	h = ingest_header("Authorization: Basic ", b64);
	ingest_secret_free(pair);
	ingest_secret_free(b64);
	return (h);
}

void
ingest_secret_free(char *s)
{
	if (s != NULL) {
		cf_secret_free(s, strlen(s));
	}
}

int
ingest_http_json(ingest_call *c, cf_http_request *rq, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen)
{
	int rv;

	*doc = NULL;
	if (rq->name == NULL) {
		rq->name = c->vendor;
	}
	if (rq->timeout_ms == 0) {
		rq->timeout_ms = c->timeout_ms;
	}
	if (rq->deadline_ms == 0) {
		rq->deadline_ms = c->deadline_ms;
	}
	if (rq->max_attempts == 0) {
		rq->max_attempts = c->max_attempts;
	}
	if (rq->cancel == NULL) {
		rq->cancel = c->cancel;
	}
	rv = cf_http_do(c->http, rq, rs, err, errlen);
	if (rv == CF_OK) {
		return (cf_http_json(rs, doc, err, errlen));
	}
	if (rv == CF_EPROTO && rs->body != NULL && rs->body_len > 0) {
		/* The vendor's error object, when it sent one. */
		*doc = cJSON_ParseWithLength(rs->body, rs->body_len);
	}
	return (rv);
}

int
ingest_get_json(ingest_call *c, const char *url, const char *header,
    cf_http_response *rs, cJSON **doc, char *err, size_t errlen)
{
	const char     *hdrs[3] = { "Accept: application/json", header, NULL };
	cf_http_request rq = { .method = "GET", .url = url, .headers = hdrs };

	return (ingest_http_json(c, &rq, rs, doc, err, errlen));
}

int
ingest_post_json(ingest_call *c, const char *path, const char *header,
    const cJSON *body, cf_http_response *rs, cJSON **doc, char *err,
    size_t errlen)
{
	const char     *hdrs[3] = { "Accept: application/json", header, NULL };
	cf_http_request rq      = { .method = "POST",
		     .headers               = hdrs,
		     .content_type          = "application/json" };
	char            url[1024];
	char           *text;
	int             rv;

	memset(rs, 0, sizeof(*rs));
	*doc = NULL;
	if (ingest_url(url, sizeof(url), c->base_url, path) != CF_OK) {
		cf_errf(err, errlen, "%s: URL too long", c->vendor);
		return (CF_ETOOBIG);
	}
	if ((text = cJSON_PrintUnformatted(body)) == NULL) {
		return (CF_ENOMEM);
	}
	rq.url      = url;
	rq.body     = text;
	rq.body_len = strlen(text);
	rv          = ingest_http_json(c, &rq, rs, doc, err, errlen);
	ingest_secret_free(text);
	return (rv);
}

int
ingest_auth_failed_401(int rv, const cf_http_response *rs, const cJSON *doc)
{
	(void) doc;
	return (rv == CF_EPROTO && rs->status == 401);
}

int
ingest_authed(ingest_call *c, ingest_login_fn login, ingest_send_fn send,
    ingest_auth_failed_fn auth_failed, void *arg, cf_http_response *rs,
    cJSON **doc, char *err, size_t errlen)
{
	char why[512];
	int  rv;

	*doc = NULL;
	if (ingest_token_stale(c->token, cf_time_now_ms())) {
		c->refreshes++;
		if ((rv = login(c, why, sizeof(why))) != CF_OK) {
			cf_errf(err, errlen, "%s: token refresh failed: %s",
			    c->vendor, why);
			return (rv);
		}
	}
	rv = send(c, arg, rs, doc, err, errlen);
	if (!auth_failed(rv, rs, *doc)) {
		return (rv);
	}
	/* Expired early, or revoked: one fresh token, one more try. */
	cJSON_Delete(*doc);
	*doc = NULL;
	cf_http_response_free(rs);
	c->refreshes++;
	if ((rv = login(c, why, sizeof(why))) != CF_OK) {
		cf_errf(err, errlen, "%s: token refresh failed: %s", c->vendor,
		    why);
		return (rv);
	}
	rv = send(c, arg, rs, doc, err, errlen);
	if (auth_failed(rv, rs, *doc) && rv == CF_OK) {
		/* A 200 that still says "bad token" is an error. */
		cf_errf(err, errlen, "%s: the vendor refused a fresh token",
		    c->vendor);
		rv = CF_EPROTO;
	}
	return (rv);
}

double
ingest_json_num(const cJSON *o, const char *name, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char        *end;
	double       d;

	if (cJSON_IsNumber(v)) {
		return (v->valuedouble);
	}
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		d = strtod(v->valuestring, &end);
		if (*end == '\0' && isfinite(d)) {
			return (d);
		}
	}
	return (def);
}

int64_t
ingest_json_int(const cJSON *o, const char *name, int64_t def)
{
	double d = ingest_json_num(o, name, NAN);

	if (isnan(d) || d < -9.2e18 || d > 9.2e18) {
		return (def);
	}
	return ((int64_t) d);
}

const char *
ingest_json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

const char *
ingest_safe_code(char *buf, size_t len, const char *s)
{
	size_t i;

	buf[0] = '\0';
	if (s == NULL) {
		return (buf);
	}
	for (i = 0; s[i] != '\0' && i + 1 < len; i++) {
		char ch = s[i];
		if (!(ch >= '0' && ch <= '9') && !(ch >= 'A' && ch <= 'Z')
		    && !(ch >= 'a' && ch <= 'z')) {
			buf[0] = '\0';
			return (buf);
		}
		buf[i] = ch;
	}
	buf[i] = '\0';
	return (buf);
}

const char *
ingest_code_lookup(
    const ingest_code_text *table, const char *code, const char *def)
{
	for (size_t i = 0; table[i].code != NULL; i++) {
		if (strcmp(table[i].code, code) == 0) {
			return (table[i].text);
		}
	}
	return (def);
}

int64_t
ingest_page_expect(int64_t total, int64_t from, int64_t per)
{
	int64_t left = total - from;

	return (left <= 0 ? 0 : left < per ? left : per);
}

int
ingest_time_parse(const char *s, int64_t *out_ms)
{
	char buf[64];

	if (s == NULL || strlen(s) >= sizeof(buf) - 2) {
		return (CF_EINVAL);
	}
	/* "YYYY-MM-DD hh:mm:ss" without a zone: UTC. */
	if (strlen(s) == 19 && s[10] == ' ') {
		snprintf(buf, sizeof(buf), "%sZ", s);
		return (cf_rfc3339_parse(buf, out_ms));
	}
	return (cf_rfc3339_parse(s, out_ms));
}

void
ingest_time_format(char *buf, size_t len, int64_t ms)
{
	if (cf_rfc3339_format(buf, len, ms, 0, 1) < 0 && len > 0) {
		buf[0] = '\0';
	}
}
