/*
 * adapter.c - what the vendor adapters share: URLs, one JSON call, the
 * token dance, and lenient readers for the numbers and times vendors send.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "cf_err.h"
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
