/*
 * ingest.h - the ingest service: vendor data in (energy, carbon, plants,
 * orders, shipping), its settings, and the helpers its jobs share.
 *
 * The service's context (cf_service_opts.ctx, cf_run.ctx in a job) is a
 * struct ingest, built once in main.c and read-only afterwards: any
 * number of job workers use it at once.
 *
 * Tables (db/ingest/101_ingest.sql) live in the service's schema
 * (in->schema, "ingest" by default); SQL names them qualified with it.
 */
#ifndef INGEST_H
#define INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cf_http.h"
#include "cf_pg.h"
#include "cf_secret.h"
#include "cf_service.h"

/* From the environment (config.c, ingest_config_load_or_exit). */
typedef struct ingest_cfg {
	int64_t max_in_flight;      /* CRONFLEET_INGEST_MAX_IN_FLIGHT (5) */
	int64_t http_timeout_ms;    /* CRONFLEET_INGEST_HTTP_TIMEOUT (30s) */
	int64_t http_deadline_ms;   /* CRONFLEET_INGEST_HTTP_DEADLINE (2m) */
	int64_t http_attempts;      /* CRONFLEET_INGEST_HTTP_ATTEMPTS (4) */
	int64_t backoff_base_ms;    /* CRONFLEET_INGEST_BACKOFF_BASE (500ms) */
	int64_t energy_lookback_ms; /* CRONFLEET_INGEST_ENERGY_LOOKBACK (1d):
	                               first sync of a source reaches back */
	/* Carbon providers (account-wide, as in the seeds' .env). */
	char   *watttime_url;           /* WATTTIME_BASE_URL */
	char   *watttime_user;          /* WATTTIME_USERNAME */
	char   *watttime_password;      /* WATTTIME_PASSWORD (secret) */
	int64_t watttime_min_remaining; /* CRONFLEET_WATTTIME_MIN_REMAINING:
	                               below this many requests left in the
	                               window, use Electricity Maps (50) */
	char *emaps_url;                /* ELECTRICITYMAPS_BASE_URL */
	char *emaps_token;              /* ELECTRICITYMAPS_TOKEN (secret) */
	/* Carrier (seed 002's .env). */
	char   *maystro_url;        /* MAYSTRO_BASE_URL */
	char   *maystro_key;        /* MAYSTRO_API_KEY (secret) */
	int64_t order_page_size;    /* CRONFLEET_ECOMANAGER_PAGE_SIZE (100) */
	int64_t shipping_page_size; /* CRONFLEET_MAYSTRO_PAGE_SIZE (100) */
	int64_t shipping_concurrency; /* CRONFLEET_SHIPPING_SYNC_CONCURRENCY
	                               (10 pages at once) */
	/* plant-sync (seed 004). */
	bool    plant_sync_enabled;  /* ENABLE_PLANT_SYNC_CRON (true) */
	char   *plant_sync_schedule; /* PLANT_SYNC_CRON_SCHEDULE (* / 15) */
	int64_t plant_concurrency;   /* CRONFLEET_PLANT_SYNC_CONCURRENCY (5) */
	int64_t energy_concurrency; /* CRONFLEET_ENERGY_SYNC_CONCURRENCY (5) */
	/* Keys sealing credentials and tokens (CF_SECRET_CFG_ITEMS). */
	char *secret_key;
	char *secret_key_previous;
} ingest_cfg;

typedef struct ingest {
	const ingest_cfg  *cfg;
	const char        *schema; /* quoted nowhere: a checked identifier */
	cf_http           *http;   /* shared: the in-flight limit holds */
	cf_secret_keyring *keys;
	const char        *database_url;
	atomic_int stopping; /* set at SIGTERM: cf_http_request.cancel */
} ingest;

/*
 * Reads the settings; an invalid value exits with status 2 naming the
 * variable. Release with ingest_config_free().
 */
void ingest_config_load_or_exit(ingest_cfg *cfg);
void ingest_config_free(ingest_cfg *cfg);

/* ---- sealed values (credentials, tokens): secret.c --------------------- */

/*
 * The associated data binding a sealed column to its row:
 * "<table>:<column>:<id>" into buf. Returns buf.
 */
const char *ingest_ad(char *buf, size_t len, const char *table,
    const char *column, const char *id);

/*
 * Opens a row's sealed credentials (JSON object text). sealed NULL or ""
 * gives an empty object. Returns CF_OK with *out the caller's
 * (cJSON_Delete; use ingest_json_wipe first to clear secrets), or an error
 * with err naming the table and row, never a value.
 */
int ingest_creds_open(const ingest *in, const char *table, const char *id,
    const char *sealed, cJSON **out, char *err, size_t errlen);

/* Seals creds (a JSON object) for table/id. *out is free()'s. */
int ingest_creds_seal(const ingest *in, const char *table, const char *id,
    const cJSON *creds, char **out, char *err, size_t errlen);

/* Overwrites every string in j with zeros, then cJSON_Delete. */
void ingest_json_wipe(cJSON *j);

/* ---- tokens: tokens.c --------------------------------------------------- */

/* An access token and what goes with it. Strings are owned (wiped on
 * ingest_token_free). */
typedef struct ingest_token {
	char   *access;     /* NULL: none yet */
	char   *refresh;    /* NULL: none */
	int64_t expires_ms; /* 0: unknown */
	cJSON  *metadata;   /* object, never NULL after load; the adapter's */
	int     changed;    /* set by whoever refreshed it: store it back */
} ingest_token;

/*
 * Loads the token of (owner, key) (owner: "source", "vendor", "store",
 * "provider"). No row gives an empty token (access NULL) and CF_OK.
 * A value that does not open (wrong key, moved row) is CF_EINVAL with err
 * saying so; the caller treats it as "no token" and logs in again.
 */
int ingest_token_load(const ingest *in, cf_pg *pg, const char *owner,
    const char *key, ingest_token *out, char *err, size_t errlen);

/* Stores t for (owner, key) (upsert), sealing both tokens; counts a
 * refresh. Clears t->changed on success. */
int ingest_token_store(const ingest *in, cf_pg *pg, const char *owner,
    const char *key, ingest_token *t, char *err, size_t errlen);

/* True when t must be refreshed before use: no access token, or expired
 * by cf_token_expired (5 minutes before the stored expiry or JWT exp). */
int ingest_token_stale(const ingest_token *t, int64_t now_ms);

/* Replaces t's access token (and refresh token when refresh is not
 * NULL) with copies, expires_ms as given, marks it changed. */
int ingest_token_set(ingest_token *t, const char *access, const char *refresh,
    int64_t expires_ms);

void ingest_token_free(ingest_token *t);

/* ---- bulk measurement writes: bulk.c ------------------------------------ */

typedef struct ingest_bulk ingest_bulk;

/*
 * Starts a bulk write of measurements on pg, in one transaction the
 * writer opens (pg must have none open; run nothing else on pg until
 * end or abort). Rows are sent with COPY (binary): straight into
 * measurements when every key is new, else into a temporary staging
 * table merged with one INSERT ... ON CONFLICT DO UPDATE that changes
 * only rows whose value differs (a re-run changes nothing; a key
 * repeated in the batch keeps its last value). bulk.c has the details.
 */
int ingest_bulk_begin(ingest_bulk **out, cf_pg *pg, const char *schema,
    char *err, size_t errlen);

/* One row. metric is one of the names in 101_ingest.sql. A bad row
 * (metric not [a-z0-9_]{1,40}, NaN, time outside years 1-9999) is
 * refused with CF_EINVAL and the batch goes on without it. */
int ingest_bulk_add(ingest_bulk *b, int64_t source_id, const char *metric,
    int64_t ts_ms, double value, char *err, size_t errlen);

/*
 * Ends the COPY, merges and commits. *inserted and *updated (either may
 * be NULL) count rows new and changed. On any error everything is rolled
 * back. b is freed whatever happens.
 */
int ingest_bulk_end(ingest_bulk *b, int64_t *inserted, int64_t *updated,
    char *err, size_t errlen);

/* Rolls back and frees (NULL is fine). */
void ingest_bulk_abort(ingest_bulk *b);

/* Internal, for tests and the benchmark: b skips the direct COPY and
 * always merges through the staging table (bulk.c explains both). */
void ingest__bulk_force_staging(ingest_bulk *b);

/* ---- management commands: manage.c -------------------------------------- */

/*
 * The service's own commands on its REP socket (organizations, sources,
 * vendors, stores, agents; see proto/COMMANDS.md, "Ingest"). Returns 1
 * when cmd is one of them (then *data or err is the answer), 0 when not.
 */
int ingest_command(
    void *ctx, const cf_command *cmd, cJSON **data, char *err, size_t errlen);
/* Closes the management commands' connections (at exit). */
void ingest_manage_close(void);

/*
 * One of the commands' connections (a few, shared by the REP workers),
 * for a command's statements: NULL with err set when PostgreSQL cannot
 * be reached. Give it back with ingest_db_give(*slot), with no
 * transaction left open.
 */
cf_pg *ingest_db_take(const ingest *in, int *slot, char *err, size_t errlen);
void   ingest_db_give(int slot);

/*
 * Read-only views of the data (views.c), called by ingest_command for the
 * verbs it does not know; the same contract.
 */
int ingest_views_command(
    void *ctx, const cf_command *cmd, cJSON **data, char *err, size_t errlen);

/* The verbs ingest_command answers, for the unknown-command error. */
#define INGEST_COMMANDS_HELP                                                  \
	"orgs, sources, vendors, stores, agents, <kind>-get <id>, "           \
	"<kind>-put '<json>', <kind>-delete <id> (kind: org, source, "        \
	"vendor, store, agent), reseal, data <summary|measurements|plants|"   \
	"orders|carbon> [key=value ...]"

/* ---- what the jobs share: jobs_util.c ------------------------------------
 */

/* Fills elem (zeroed) from row i of res: CF_OK, or an error (CF_ENOMEM). */
typedef int (*ingest_row_fn)(const PGresult *res, int i, void *elem);

/*
 * Runs sql (no parameters) on pg and hands every row to take, with an
 * array of elements of size bytes, zeroed, one more than the rows. On
 * CF_OK, or when a take failed (its code returned, err saying so), *out
 * (free()'s) and *n are the array and its rows, for the caller's own
 * free of what the takes copied; on a failed query *out is NULL and *n 0.
 */
int ingest_rows_load(cf_pg *pg, const char *sql, size_t size,
    ingest_row_fn take, void **out, size_t *n, char *err, size_t errlen);

/* A copy of a column's text (free); NULL for SQL NULL, or no memory. */
char *ingest_pg_dup(const PGresult *res, int row, int col);

/* Columns col..col+ncols-1 of row into *dst[0..] (ingest_pg_dup): CF_OK,
 * or CF_ENOMEM when a copy failed (the others are made all the same). */
int ingest_pg_dups(
    const PGresult *res, int row, int col, char **const *dst, int ncols);

/*
 * Runs an upsert (cf_pg_exec_prepared) that ends in RETURNING (xmax = 0),
 * and counts its rows: a true one was inserted (adds to *created), a
 * false one updated (adds to *updated). A row that its WHERE ... IS
 * DISTINCT FROM left alone returns nothing and counts in neither.
 */
int ingest_upsert_counted(cf_pg *pg, const char *sql, int nparams,
    const char *const *params, int64_t *created, int64_t *updated, char *err,
    size_t errlen);

/*
 * Runs fn(arg, i, pg, pg_err) for each unit i in 0..n-1 on up to
 * nthreads threads (at least one; never more than n), each with a
 * PostgreSQL connection of its own (pg NULL and pg_err saying why when
 * it could not be opened: fn records that as the unit's failure). A
 * thread takes the next unit only while the run is not cancelled; units
 * never taken get no call (the caller finds them unmarked). Returns when
 * every thread has ended.
 */
typedef void (*ingest_unit_fn)(
    void *arg, size_t i, cf_pg *pg, const char *pg_err);
void ingest_parallel(cf_run *run, const ingest *in, size_t n, int nthreads,
    ingest_unit_fn fn, void *arg);

/* ---- jobs: jobs/<name>.c --------------------------------------------------
 */

int energy_sync_run(cf_run *run, cf_job_result *res);
int carbon_sync_run(cf_run *run, cf_job_result *res);
int plant_sync_run(cf_run *run, cf_job_result *res);
int order_sync_run(cf_run *run, cf_job_result *res);
int shipping_sync_run(cf_run *run, cf_job_result *res);

#endif /* INGEST_H */
