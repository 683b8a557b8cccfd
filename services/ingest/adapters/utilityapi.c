/*
 * utilityapi.c - UtilityAPI v2: a meter's interval data as measurements
 * (energy-sync).
 *
 * Documentation: https://utilityapi.com/docs/api/intervals (GET
 * /api/v2/intervals?meters=&start=&end=&limit=, the Interval object and
 * its readings, the `next` link that pages through them) and
 * https://utilityapi.com/docs/api (authentication: `Authorization:
 * Bearer <API token>`).
 *
 * Auth: a static API token (nothing to refresh: a refused token is an
 * error of the source, saying so).
 *
 * Credentials: {token}.
 *
 * Requests: chunks of 7 days, 1000 readings a page, following `next`
 * until it is null. A `next` link is followed only when it points under
 * the source's base_url (the token goes with it). A page that ends
 * before the next one starts (readings missing between them) is a cut
 * answer: what came before the gap is kept and the chunk is asked again.
 *
 * Mapping (a utility meter sees the grid side only; kWh -> Wh):
 *	datapoints type kwh, direction forward (or none) -> grid_import_wh
 *	datapoints type kwh, direction reverse           -> grid_export_wh
 *	a reading without datapoints: its kwh            -> grid_import_wh
 * Net datapoints are skipped (import and export are stored apart).
 * Readings longer than 15 minutes (hourly meters) are stored at their
 * start.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "energy.h"

#define UA_SPAN_MS (7 * 24 * 3600 * 1000LL)
#define UA_LIMIT "1000"
#define UA_MAX_PAGES 200

static const char *const ua_fields[] = { "error", "message", NULL };

static int
ua_get(energy_fetch *f, const char *url, cf_http_response *rs, cJSON **doc,
    char *err, size_t errlen)
{
	const char *token = ingest_cred(f->call, "token");

	if (token == NULL) {
		cf_errf(err, errlen, "utilityapi: the credentials lack token");
		return (CF_EINVAL);
	}
	f->requests++;
	return (
	    energy_get(f->call, url, token, ua_fields, rs, doc, err, errlen));
}

/* Puts one reading; returns its end (ms), or -1 if it is not one. */
static int64_t
ua_reading(energy_chunk *ch, const cJSON *r)
{
	int64_t      s, e;
	const cJSON *dps = cJSON_GetObjectItemCaseSensitive(r, "datapoints");
	const cJSON *dp;
	int          any = 0;

	if (ingest_time_parse(ingest_json_str(r, "start"), &s) != CF_OK
	    || ingest_time_parse(ingest_json_str(r, "end"), &e) != CF_OK
	    || e <= s) {
		return (-1);
	}
	if (e - s > ENERGY_BUCKET_MS) {
		ch->coarse = 1;
		/* Stored at its start: the bucket the reading begins in. */
		if (e > ch->t1) {
			return (e);
		}
		e = s + ENERGY_BUCKET_MS;
	}
	cJSON_ArrayForEach(dp, dps)
	{
		const char *type = ingest_json_str(dp, "type");
		const char *dir  = ingest_json_str(dp, "direction");
		double      v    = ingest_json_num(dp, "value", NAN);
		if (type == NULL || strcmp(type, "kwh") != 0 || isnan(v)) {
			continue;
		}
		any = 1;
		if (dir == NULL || strcmp(dir, "forward") == 0) {
			energy_chunk_put(ch, EM_GRID_IMPORT, s, e, v * 1000.0);
		} else if (strcmp(dir, "reverse") == 0) {
			energy_chunk_put(ch, EM_GRID_EXPORT, s, e, v * 1000.0);
		}
	}
	if (!any) {
		double v = ingest_json_num(r, "kwh", NAN);
		if (!isnan(v)) {
			energy_chunk_put(ch, EM_GRID_IMPORT, s, e, v * 1000.0);
		}
	}
	return (e);
}

static int
ua_chunk(
    energy_fetch *f, void *ctx, energy_chunk *ch, char *err, size_t errlen)
{
	ingest_call *c = f->call;
	char         st[40], en[40], url[2048];
	const char  *pairs[] = { "meters", f->site_id, "start", st, "end", en,
		 "limit", UA_LIMIT, NULL };
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	int64_t          prev_end = -1;
	int              rv, pages = 0;
	size_t           blen = strlen(c->base_url);

	(void) ctx;
	while (blen > 0 && c->base_url[blen - 1] == '/') {
		blen--;
	}
	ingest_time_format(st, sizeof(st), ch->t0);
	ingest_time_format(en, sizeof(en), ch->t1);
	if ((rv = ingest_url_query(
	         url, sizeof(url), c->base_url, "/api/v2/intervals", pairs))
	    != CF_OK) {
		cf_errf(err, errlen, "utilityapi: request too long");
		return (rv);
	}
	for (;;) {
		const cJSON *blocks, *b, *r, *next;
		if ((rv = ua_get(f, url, &rs, &doc, err, errlen)) != CF_OK) {
			break;
		}
		blocks = cJSON_GetObjectItemCaseSensitive(doc, "intervals");
		if (!cJSON_IsArray(blocks)) {
			cf_errf(err, errlen,
			    "%s: the answer has no intervals list", rs.what);
			rv = CF_EPROTO;
			break;
		}
		cJSON_ArrayForEach(b, blocks)
		{
			const char *mu = ingest_json_str(b, "meter_uid");
			if (mu != NULL && strcmp(mu, f->site_id) != 0) {
				continue; /* not ours (asked for one meter) */
			}
			cJSON_ArrayForEach(
			    r, cJSON_GetObjectItemCaseSensitive(b, "readings"))
			{
				int64_t s;
				if (ingest_time_parse(
				        ingest_json_str(r, "start"), &s)
				        == CF_OK
				    && prev_end >= 0 && s > prev_end) {
					/* Readings missing before this
					 * one: keep what came before. */
					ch->cut = 1;
					goto done;
				}
				int64_t e = ua_reading(ch, r);
				if (e < 0) {
					cf_errf(err, errlen,
					    "%s: a reading without valid "
					    "start and end",
					    rs.what);
					rv = CF_EPROTO;
					goto done;
				}
				if (e > prev_end) {
					prev_end = e;
				}
			}
		}
		next = cJSON_GetObjectItemCaseSensitive(doc, "next");
		if (!cJSON_IsString(next) || next->valuestring[0] == '\0') {
			break;
		}
		/* The token goes with the next request: only to the
		 * source's own host and path. */
		if (strncmp(next->valuestring, c->base_url, blen) != 0
		    || (next->valuestring[blen] != '/'
		        && next->valuestring[blen] != '?')) {
			cf_errf(err, errlen,
			    "%s: a next link outside the base URL, not "
			    "followed",
			    rs.what);
			rv = CF_EPROTO;
			break;
		}
		if (strlen(next->valuestring) >= sizeof(url)
		    || ++pages >= UA_MAX_PAGES) {
			cf_errf(err, errlen,
			    "%s: next link too long, or over %d pages",
			    rs.what, UA_MAX_PAGES);
			rv = CF_EPROTO;
			break;
		}
		snprintf(url, sizeof(url), "%s", next->valuestring);
		cJSON_Delete(doc);
		doc = NULL;
		cf_http_response_free(&rs);
		if (energy_stopped(f)) {
			cf_errf(err, errlen, "utilityapi: stopped");
			rv = CF_ECLOSED;
			break;
		}
	}
done:
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}

int
energy_utilityapi_fetch(energy_fetch *f, char *err, size_t errlen)
{
	if (!energy_id_ok(f->site_id)) {
		cf_errf(
		    err, errlen, "utilityapi: invalid site_id (a meter uid)");
		return (CF_EINVAL);
	}
	return (energy_chunks(f, UA_SPAN_MS, EM_BIT(EM_GRID_IMPORT), ua_chunk,
	    NULL, err, errlen));
}
