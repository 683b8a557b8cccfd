/*
 * energy.c - what the four energy adapters share: the vendor table, the
 * chunk loop (cut a range to the vendor's limit, check each answer
 * against the range it was asked for, ask once more when it is short,
 * emit in time order), the data request and the text of a vendor's
 * refusal, and the OAuth refresh-token grant of Enphase and Tesla.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "energy.h"

const char *const energy_metric_names[EM_N] = {
	[EM_PRODUCTION]        = "production_wh",
	[EM_CONSUMPTION]       = "consumption_wh",
	[EM_GRID_IMPORT]       = "grid_import_wh",
	[EM_GRID_EXPORT]       = "grid_export_wh",
	[EM_BATTERY_CHARGE]    = "battery_charge_wh",
	[EM_BATTERY_DISCHARGE] = "battery_discharge_wh",
	[EM_SELF_CONSUMPTION]  = "self_consumption_wh",
	[EM_POWER]             = "power_w",
};

int
energy_vendor_uses_token(const char *vendor)
{
	return (vendor != NULL
	    && (strcmp(vendor, "enphase") == 0
	        || strcmp(vendor, "tesla") == 0));
}

energy_fetch_fn
energy_adapter(const char *vendor)
{
	static const struct {
		const char     *name;
		energy_fetch_fn fn;
	} table[] = {
		{ "enphase", energy_enphase_fetch },
		{ "solaredge", energy_solaredge_fetch },
		{ "tesla", energy_tesla_fetch },
		{ "utilityapi", energy_utilityapi_fetch },
	};

	for (size_t i = 0;
	     vendor != NULL && i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(vendor, table[i].name) == 0) {
			return (table[i].fn);
		}
	}
	return (NULL);
}

int64_t
energy_floor(int64_t ms)
{
	int64_t r = ms % ENERGY_BUCKET_MS;

	return (ms - (r < 0 ? r + ENERGY_BUCKET_MS : r));
}

int
energy_stopped(const energy_fetch *f)
{
	return ((f->stopped != NULL && f->stopped(f->arg))
	    || (f->call->cancel != NULL && atomic_load(f->call->cancel)));
}

int
energy_id_ok(const char *s)
{
	size_t n = 0;

	for (; s != NULL && s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '_' || c == '-'
		        || c == '.')) {
			return (0);
		}
	}
	return (n > 0 && n <= 64);
}

const char *
energy_refusal(char *buf, size_t len, const cf_http_response *rs,
    const cJSON *doc, const char *const *names)
{
	size_t off;
	int    w;

	w   = snprintf(buf, len, "HTTP %ld", rs->status);
	off = w > 0 && (size_t) w < len ? (size_t) w : 0;
	for (int i = 0;
	     cJSON_IsObject(doc) && names != NULL && names[i] != NULL; i++) {
		const char *v = ingest_json_str(doc, names[i]);
		if (v == NULL || v[0] == '\0' || off + 8 >= len) {
			continue;
		}
		buf[off++] = ' ';
		/* A code or a sentence, never a body: short and printable. */
		for (size_t k = 0; v[k] != '\0' && k < 100 && off + 2 < len;
		     k++) {
			unsigned char c = (unsigned char) v[k];
			buf[off++] = c >= 0x20 && c < 0x7f ? (char) c : '?';
		}
		if (off + 1 < len) {
			buf[off++] = ';';
		}
		buf[off] = '\0';
	}
	if (off > 0 && buf[off - 1] == ';') {
		buf[off - 1] = '\0';
	}
	return (buf);
}

/* ---- chunks --------------------------------------------------------------
 */

static int
chunk_alloc(energy_chunk *ch, int64_t t0, int64_t t1)
{
	memset(ch, 0, sizeof(*ch));
	ch->t0  = t0;
	ch->t1  = t1;
	ch->nb  = (int) ((t1 - t0 + ENERGY_BUCKET_MS - 1) / ENERGY_BUCKET_MS);
	ch->sum = calloc((size_t) ch->nb * EM_N, sizeof(double));
	ch->n   = calloc((size_t) ch->nb * EM_N, sizeof(int));
	if (ch->sum == NULL || ch->n == NULL) {
		free(ch->sum);
		free(ch->n);
		ch->sum = NULL;
		ch->n   = NULL;
		return (CF_ENOMEM);
	}
	return (CF_OK);
}

static void
chunk_free(energy_chunk *ch)
{
	free(ch->sum);
	free(ch->n);
	ch->sum = NULL;
	ch->n   = NULL;
}

int
energy_chunk_put(
    energy_chunk *ch, int m, int64_t start_ms, int64_t end_ms, double v)
{
	int64_t b;

	if (m < 0 || m >= EM_N || start_ms < ch->t0 || end_ms > ch->t1
	    || end_ms <= start_ms || v != v) {
		return (0);
	}
	b = (start_ms - ch->t0) / ENERGY_BUCKET_MS;
	ch->sum[(size_t) m * (size_t) ch->nb + (size_t) b] += v;
	ch->n[(size_t) m * (size_t) ch->nb + (size_t) b]++;
	return (1);
}

/* Buckets of metric m with a value; *last the last one's index (-1). */
static int
chunk_count(const energy_chunk *ch, int m, int *last)
{
	int c = 0;

	*last = -1;
	for (int b = 0; b < ch->nb; b++) {
		if (ch->n[(size_t) m * (size_t) ch->nb + (size_t) b] > 0) {
			c++;
			*last = b;
		}
	}
	return (c);
}

/* 1 when a required metric misses a bucket. */
static int
chunk_short(const energy_chunk *ch, unsigned required, int *limit)
{
	int is_short = ch->cut, last, c;

	*limit = ch->nb - 1;
	for (int m = 0; m < EM_N; m++) {
		if (!(required & EM_BIT(m)) || ch->coarse) {
			continue;
		}
		/* None at all is a series this site does not have (no
		 * consumption meter), or not yet: not a cut answer. */
		c = chunk_count(ch, m, &last);
		if (c > 0 && c < ch->nb) {
			is_short = 1;
		}
		/* A series that came at all bounds what is emitted of a
		 * short chunk: nothing past its last bucket, so the cursor
		 * does not pass what it left out. */
		if (last >= 0 && last < *limit) {
			*limit = last;
		}
	}
	return (is_short);
}

static int
chunk_emit(energy_fetch *f, const energy_chunk *ch, int limit, char *err,
    size_t errlen)
{
	int rv;

	for (int b = 0; b <= limit && b < ch->nb; b++) {
		int64_t ts = ch->t0 + (int64_t) b * ENERGY_BUCKET_MS;
		for (int m = 0; m < EM_N; m++) {
			size_t i = (size_t) m * (size_t) ch->nb + (size_t) b;
			double v;
			if (ch->n[i] == 0) {
				continue;
			}
			/* Energy adds up; power is an average. */
			v = m == EM_POWER ? ch->sum[i] / ch->n[i] : ch->sum[i];
			if ((rv = f->emit(
			         f->arg, energy_metric_names[m], ts, v))
			    != 0) {
				cf_errf(err, errlen, "%s: storing rows: %s",
				    f->call->vendor, cf_strerror(rv));
				return (rv);
			}
		}
	}
	return (CF_OK);
}

int
energy_chunks(energy_fetch *f, int64_t span_ms, unsigned required,
    energy_chunk_fn fill, void *ctx, char *err, size_t errlen)
{
	energy_chunk ch = { 0 };
	int64_t      t, t1;
	int          rv, is_short = 0, limit = -1;

	for (t = f->since_ms; t < f->until_ms; t = t1) {
		t1 = t + span_ms < f->until_ms ? t + span_ms : f->until_ms;
		for (int again = 0; again < 2; again++) {
			if (energy_stopped(f)) {
				cf_errf(err, errlen,
				    "%s: stopped (the run was cancelled)",
				    f->call->vendor);
				return (CF_ECLOSED);
			}
			if ((rv = chunk_alloc(&ch, t, t1)) != CF_OK) {
				cf_errf(err, errlen, "%s: out of memory",
				    f->call->vendor);
				return (rv);
			}
			if ((rv = fill(f, ctx, &ch, err, errlen)) != CF_OK) {
				chunk_free(&ch);
				return (rv);
			}
			if (!(is_short = chunk_short(&ch, required, &limit))) {
				break;
			}
			f->short_answers++;
			cf_log_kv(CF_LOG_INFO, NULL, NULL,
			    "energy: short answer, asking again", "vendor",
			    f->call->vendor, "site", f->site_id, NULL);
			if (again == 0) {
				chunk_free(&ch);
			}
		}
		if (is_short) {
			/* Twice short: keep what came, stop; the next run
			 * goes on from the newest interval stored. */
			rv = chunk_emit(f, &ch, limit, err, errlen);
			chunk_free(&ch);
			f->truncated = 1;
			return (rv);
		}
		rv = chunk_emit(f, &ch, ch.nb - 1, err, errlen);
		chunk_free(&ch);
		if (rv != CF_OK) {
			return (rv);
		}
	}
	return (CF_OK);
}

int
energy_get(ingest_call *c, const char *url, const char *bearer,
    const char *const *fields, cf_http_response *rs, cJSON **doc, char *err,
    size_t errlen)
{
	char *auth = NULL;
	char  why[256];
	int   rv;

	if (bearer != NULL
	    && (auth = ingest_header("Authorization: Bearer ", bearer))
	        == NULL) {
		memset(rs, 0, sizeof(*rs));
		*doc = NULL;
		cf_errf(err, errlen, "%s: out of memory", c->vendor);
		return (CF_ENOMEM);
	}
	rv = ingest_get_json(c, url, auth, rs, doc, err, errlen);
	ingest_secret_free(auth);
	if (rv == CF_EPROTO && rs->status >= 400) {
		cf_errf(err, errlen, "%s: %s", rs->what,
		    energy_refusal(why, sizeof(why), rs, *doc, fields));
	}
	return (rv);
}

/* ---- OAuth 2.0 refresh tokens --------------------------------------------
 */

static const char *const oauth_fields[]
    = { "error", "error_description", NULL };

/* Wipes the body (it holds tokens), then cf_http_response_free. */
static void
response_wipe(cf_http_response *rs)
{
	if (rs->body != NULL) {
		memset(rs->body, 0, rs->body_len);
	}
	cf_http_response_free(rs);
}

int
energy_oauth_refresh(ingest_call *c, const char *url, const char *header,
    const char *const *pairs, char *err, size_t errlen)
{
	const char *hdrs[3] = { "Accept: application/json", header, NULL };
	char       *body    = NULL;
	char        why[256];
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const char      *at, *nrt;
	int64_t          exp_s;
	int              rv;

	if ((rv = cf_http_form(&body, pairs)) != CF_OK) {
		cf_errf(err, errlen, "%s: out of memory", c->vendor);
		return (rv);
	}
	{
		cf_http_request rq = { .method = "POST",
			.url                   = url,
			.headers               = hdrs,
			.body                  = body,
			.body_len              = strlen(body),
			.content_type = "application/x-www-form-urlencoded" };
		rv = ingest_http_json(c, &rq, &rs, &doc, err, errlen);
	}
	if (rv == CF_EPROTO && rs.status >= 400) {
		cf_errf(err, errlen, "%s: refused: %s", rs.what,
		    energy_refusal(why, sizeof(why), &rs, doc, oauth_fields));
		goto out;
	}
	if (rv != CF_OK) {
		goto out;
	}
	at    = ingest_json_str(doc, "access_token");
	nrt   = ingest_json_str(doc, "refresh_token");
	exp_s = ingest_json_int(doc, "expires_in", 0);
	if (at == NULL || at[0] == '\0') {
		cf_errf(err, errlen, "%s: the answer has no access_token",
		    rs.what);
		rv = CF_EPROTO;
		goto out;
	}
	rv = ingest_token_set(c->token, at,
	    nrt != NULL && nrt[0] != '\0' ? nrt : NULL,
	    exp_s > 0 ? cf_time_now_ms() + exp_s * 1000 : 0);
	if (rv != CF_OK) {
		cf_errf(err, errlen, "%s: out of memory", c->vendor);
	}
out:
	ingest_json_wipe(doc);
	response_wipe(&rs);
	ingest_secret_free(body);
	return (rv);
}

int
energy_refresh_login(
    ingest_call *c, energy_grant_fn grant, char *err, size_t errlen)
{
	const char *first  = ingest_cred(c, "refresh_token");
	const char *stored = c->token->refresh;
	int         rv;

	if (stored == NULL && first == NULL) {
		cf_errf(err, errlen,
		    "%s: no refresh token (credentials: refresh_token)",
		    c->vendor);
		return (CF_EINVAL);
	}
	rv = grant(c, stored != NULL ? stored : first, err, errlen);
	/* The credentials were given a new first token (authorised again)
	 * after the stored one died: that one is worth a try. */
	if (rv == CF_EPROTO && stored != NULL && first != NULL
	    && strcmp(stored, first) != 0) {
		rv = grant(c, first, err, errlen);
	}
	return (rv);
}
