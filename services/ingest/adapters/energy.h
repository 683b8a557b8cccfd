/*
 * energy.h - the energy adapters (Enphase, SolarEdge, Tesla, UtilityAPI):
 * the one call energy-sync makes per source.
 *
 * An adapter fetches the measurements of one site between since_ms and
 * until_ms and hands each one to f->emit as (metric, interval start,
 * value). Both bounds are on the 15-minute grid (ENERGY_BUCKET_MS); only
 * intervals that start at or after since_ms and have ended by until_ms
 * are emitted, each at most once per (metric, start). Metric names are
 * those of db/ingest/101_ingest.sql: production_wh, consumption_wh,
 * grid_import_wh, grid_export_wh, battery_charge_wh,
 * battery_discharge_wh, self_consumption_wh, power_w. Each adapter's
 * header comment says how the vendor's fields map onto them.
 *
 * Requests are cut to the vendor's limits (one day, one month, pages),
 * in time order, so that what was emitted before an error is a prefix of
 * the range: the job stores it and moves its cursor, and the next run
 * goes on from there.
 *
 * Short answers (a page or series with fewer intervals than its range
 * holds, the simulator's partial_page): each adapter checks what it got
 * against what it asked for, asks once more, and if the answer is still
 * short, emits what came and stops there (f->short_answers counts both),
 * so the job's cursor never passes intervals that did not arrive.
 *
 * Adapters never touch PostgreSQL; a token (Enphase, Tesla) is the job's
 * (f->call->token, loaded and stored back by the job when changed).
 */
#ifndef INGEST_ENERGY_H
#define INGEST_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#include "adapter.h"

/* The grid measurements live on. */
#define ENERGY_BUCKET_MS (15 * 60 * 1000LL)

/*
 * One row. Returns 0 to go on, non-zero (a cf_err code) to stop the
 * fetch, which then returns that code.
 */
typedef int (*energy_emit_fn)(
    void *arg, const char *metric, int64_t start_ms, double value);

typedef struct energy_fetch {
	ingest_call *call;       /* the source's account (vendor, base_url,
	                            creds, token, http) */
	const char    *site_id;  /* the vendor's system / site / meter id */
	int64_t        since_ms; /* first interval start (on the grid) */
	int64_t        until_ms; /* intervals end by this (on the grid) */
	energy_emit_fn emit;
	void          *arg;
	/* Polled between requests: non-zero stops the fetch (CF_ECLOSED).
	 * NULL: never. */
	int (*stopped)(void *arg);
	int requests;      /* out: data requests made (token calls not) */
	int short_answers; /* out: answers found short (asked again) */
	int truncated;     /* out: 1 if it stopped early on a short answer */
} energy_fetch;

typedef int (*energy_fetch_fn)(energy_fetch *f, char *err, size_t errlen);

/* The adapters (adapters/<vendor>.c). Return CF_OK, or a cf_err code
 * with one line in err that starts with the vendor's name and holds no
 * secret. */
int energy_enphase_fetch(energy_fetch *f, char *err, size_t errlen);
int energy_solaredge_fetch(energy_fetch *f, char *err, size_t errlen);
int energy_tesla_fetch(energy_fetch *f, char *err, size_t errlen);
int energy_utilityapi_fetch(energy_fetch *f, char *err, size_t errlen);

/* Whether the vendor uses stored OAuth tokens (Enphase, Tesla). */
int energy_vendor_uses_token(const char *vendor);

/* The adapter of a vendor ("enphase", ...), or NULL. */
energy_fetch_fn energy_adapter(const char *vendor);

/* floor(ms) on the 15-minute grid. */
int64_t energy_floor(int64_t ms);

/* 1 when f should stop (f->stopped says so, or the service stops). */
int energy_stopped(const energy_fetch *f);

/* ---- chunks: what the adapters share (energy.c) -------------------------
 *
 * An adapter cuts [since, until) into chunks of at most span_ms (its
 * vendor's limit) and gives energy_chunks() a function that fills one
 * chunk: the values of every metric per 15-minute bucket, from all the
 * requests that chunk needs. energy_chunks() checks the chunk against
 * its range (each metric in `required` must have every bucket), asks
 * once more when it is short, emits it, and goes on with the next.
 */
enum energy_metric {
	EM_PRODUCTION,
	EM_CONSUMPTION,
	EM_GRID_IMPORT,
	EM_GRID_EXPORT,
	EM_BATTERY_CHARGE,
	EM_BATTERY_DISCHARGE,
	EM_SELF_CONSUMPTION,
	EM_POWER,
	EM_N
};
#define EM_BIT(m) (1u << (m))

/* "production_wh", ... */
extern const char *const energy_metric_names[EM_N];

typedef struct energy_chunk {
	int64_t t0, t1; /* [t0, t1) on the grid */
	int     nb;     /* buckets */
	double *sum;    /* [EM_N * nb]: sum of the values given */
	int    *n;      /* [EM_N * nb]: how many values (0: none) */
	int     cut;    /* set by a fill that saw a cut answer itself (a
	                   gap between pages): the chunk is short */
	int coarse;     /* set by a fill whose intervals are longer than
	                   the grid (hourly meters): no bucket check */
} energy_chunk;

/*
 * Adds a value of metric m for the interval [start_ms, end_ms) to the
 * bucket it falls in (intervals shorter than 15 minutes add up: Wh are
 * summed, power_w averaged). An interval outside the chunk, or one that
 * had not ended by the chunk's end, is ignored. Returns 1 if taken.
 */
int energy_chunk_put(
    energy_chunk *ch, int m, int64_t start_ms, int64_t end_ms, double v);

/* Fills ch for [ch->t0, ch->t1); err names the vendor on failure. */
typedef int (*energy_chunk_fn)(
    energy_fetch *f, void *ctx, energy_chunk *ch, char *err, size_t errlen);

int energy_chunks(energy_fetch *f, int64_t span_ms, unsigned required,
    energy_chunk_fn fill, void *ctx, char *err, size_t errlen);

/* ---- helpers for requests ------------------------------------------------
 */

/* 1 when s is a plain id ([A-Za-z0-9_.-], 1..64): safe in a URL path. */
int energy_id_ok(const char *s);

/*
 * Text of a vendor's refusal for an error line: the HTTP status and, when
 * the body is JSON, a short code or message from the names given (e.g.
 * "error", "error_description", "message"), cut and made printable. Never
 * a whole body. Writes into buf and returns it.
 */
const char *energy_refusal(char *buf, size_t len, const cf_http_response *rs,
    const cJSON *doc, const char *const *names);

/*
 * GET url (ingest_get_json) with `Authorization: Bearer <bearer>` when
 * bearer is not NULL. A refusal (HTTP >= 400) rewrites err as "<what>:
 * <energy_refusal of fields>". Fits an ingest_send_fn whose arg is the
 * URL.
 */
int energy_get(ingest_call *c, const char *url, const char *bearer,
    const char *const *fields, cf_http_response *rs, cJSON **doc, char *err,
    size_t errlen);

/* ---- OAuth 2.0 refresh tokens (Enphase, Tesla) ---------------------------
 *
 * energy_oauth_refresh: one refresh grant. POSTs the form pairs to url
 * with header (one more header line, e.g. HTTP Basic; NULL: none); the
 * answer's access_token, refresh_token (when given: the vendor rotated
 * it) and expires_in (seconds) go into c->token (ingest_token_set). A
 * refusal is "<what>: refused: <error; error_description>".
 *
 * energy_refresh_login (an ingest_login_fn's body): grant with the
 * stored refresh token (c->token->refresh), else the credentials'
 * refresh_token; when the stored one is refused and the credentials
 * hold another (the account was authorised again since), that one.
 */
int energy_oauth_refresh(ingest_call *c, const char *url, const char *header,
    const char *const *pairs, char *err, size_t errlen);

typedef int (*energy_grant_fn)(
    ingest_call *c, const char *refresh_token, char *err, size_t errlen);

int energy_refresh_login(
    ingest_call *c, energy_grant_fn grant, char *err, size_t errlen);

#endif /* INGEST_ENERGY_H */
