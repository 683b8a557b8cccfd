/*
 * sim.h - the vendor simulator's core: configuration, routing, virtual
 * time, tokens, deterministic data, the fault table and statistics.
 *
 * One HTTP server (libmicrohttpd, http.c) serves every vendor under its
 * own path prefix ("/enphase/...", "/solaredge/...", ...), so an adapter
 * talks to the simulator by swapping only its base URL. Each vendor is one
 * file (enphase.c, solaredge.c, ...) exporting a vs_vendor: it routes the
 * rest of the path, checks credentials the vendor's way and answers in the
 * vendor's documented shapes, errors included. The core applies the
 * faults set at runtime through /_sim/faults (admin.c) before and after a
 * vendor's handler, so every vendor gets every fault mode the same way.
 *
 * Nothing here is random: a value is a function of the seed, the vendor,
 * an entity id and a time bucket (vs_mix), so the same seed and the same
 * (virtual) time give the same bytes, and a later time only adds data.
 */
#ifndef VS_SIM_H
#define VS_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Vendors, in the order of vs_vendors[] (also their index in stats). */
enum vs_vendor_id {
	VS_ENPHASE,
	VS_SOLAREDGE,
	VS_TESLA,
	VS_UTILITYAPI,
	VS_WATTTIME,
	VS_ELECTRICITYMAPS,
	VS_SOLARMAN,
	VS_SUNGROW,
	VS_ECOMANAGER,
	VS_MAYSTRO,
	VS_NVENDORS
};

/* Fault modes; VS_FAULT_NONE is an empty slot. */
enum vs_fault_mode {
	VS_FAULT_NONE,
	VS_FAULT_429,
	VS_FAULT_500,
	VS_FAULT_SLOW,
	VS_FAULT_MALFORMED,
	VS_FAULT_EXPIRED,
	VS_FAULT_REVOKED,
	VS_FAULT_PARTIAL,
	VS_NFAULTS
};

/* What an authentication check found (vs_token_check, vs_key_check). */
enum vs_auth {
	VS_AUTH_OK,
	VS_AUTH_MISSING, /* no credential sent */
	VS_AUTH_INVALID, /* not one of ours, bad signature, wrong vendor */
	VS_AUTH_EXPIRED, /* past its exp, or expired by the fault */
	VS_AUTH_REVOKED, /* revoked by the fault: refresh refused too */
};

/* Token kinds, carried in the token ("use" claim). */
enum vs_token_kind { VS_TOKEN_ACCESS, VS_TOKEN_REFRESH };

/* The configuration, from the environment once (config.c). */
typedef struct vs_config {
	int     log_level;
	char   *addr;  /* host:port to listen on */
	int64_t seed;  /* everything derives from it */
	char   *now;   /* frozen virtual time (RFC 3339), or NULL */
	char   *epoch; /* nothing exists before it (RFC 3339) */
	int64_t token_ttl_ms;
	int64_t sites;  /* entities per energy vendor */
	int64_t plants; /* plants per plant vendor account */
	int64_t plant_interval_ms;
	int64_t stores; /* EcoManager stores */
	int64_t order_interval_ms;
	int64_t watttime_rate_limit; /* requests per 5 minutes */
	char   *admin_token;         /* optional bearer for /_sim */
	/* Credentials the simulator accepts (test defaults). */
	char *enphase_api_key, *enphase_client_id, *enphase_client_secret,
	    *enphase_refresh_token;
	char *solaredge_api_key;
	char *tesla_client_id, *tesla_refresh_token;
	char *utilityapi_token;
	char *watttime_user, *watttime_password;
	char *electricitymaps_token;
	char *solarman_app_id, *solarman_app_secret, *solarman_email,
	    *solarman_password;
	char *sungrow_appkey, *sungrow_access_key, *sungrow_user,
	    *sungrow_password;
	char *ecomanager_token;
	char *maystro_api_key;
	char *maystro_rename; /* "OLD=NEW": a status sent under a new text */
	/* Parsed forms of now and epoch (seconds since 1970). */
	int64_t now_s; /* -1: follow the real clock */
	int64_t epoch_s;
} vs_config;

/* One vendor's armed fault. count 0: until cleared. */
typedef struct vs_fault {
	int     mode;
	int64_t count;       /* requests still to affect (0: unlimited) */
	int64_t skip;        /* requests still to let through first */
	int     retry_after; /* seconds, for 429 */
	int64_t delay_ms;    /* for slow */
	int64_t fired;       /* requests affected since it was set */
} vs_fault;

/* Per-route request counts: routes are static strings ("GET /x/{id}"). */
#define VS_MAX_ROUTES 24
#define VS_MAX_STATUS 16

typedef struct vs_vstats {
	int64_t     requests;
	const char *route[VS_MAX_ROUTES];
	int64_t     route_n[VS_MAX_ROUTES];
	int         status[VS_MAX_STATUS];
	int64_t     status_n[VS_MAX_STATUS];
	int64_t     tokens_issued;    /* by credentials (login, code) */
	int64_t     tokens_refreshed; /* by a refresh token */
	int64_t     auth_failures;
	int64_t     faults_fired;
} vs_vstats;

typedef struct vs_sim {
	const vs_config *cfg;
	unsigned char    key[32]; /* token signing key, from the seed */
	pthread_mutex_t  mu;      /* guards everything below */
	vs_fault         fault[VS_NVENDORS];
	vs_vstats        stats[VS_NVENDORS];
	/*
	 * Token generations. Revoking bumps gen: every token of the vendor
	 * (access and refresh) dies. Expiring bumps agen: access tokens die
	 * as "expired", refresh tokens and credentials still work.
	 */
	uint32_t gen[VS_NVENDORS];
	uint32_t agen[VS_NVENDORS];
	uint64_t issued;  /* token serial, for jti */
	int64_t  clock_s; /* PUT /_sim/clock: -1 none */
	/* WattTime's rate window (virtual 5-minute buckets). */
	int64_t      rl_bucket;
	int64_t      rl_count;
	volatile int stopping; /* slow responses end early at shutdown */
} vs_sim;

/* A request as the vendors see it (http.c fills it). */
typedef struct vs_req {
	const char *method;
	const char *path; /* after the vendor prefix, e.g. "/api/v4/systems" */
	const char *full; /* the whole path */
	const char *body; /* NUL-terminated (may hold NULs before len) */
	size_t      len;
	int64_t     now;  /* virtual time, seconds */
	const char *base; /* "http://host:port/<vendor>", for next links */
	int         vendor;
	int         fault; /* the armed fault mode for this request */
	void       *conn;
	const char *(*query)(void *conn, const char *name);
	const char *(*header)(void *conn, const char *name);
} vs_req;

/* A response (the body is owned, freed by http.c). */
typedef struct vs_resp {
	int         status;
	char       *body;
	size_t      len;
	const char *content_type; /* NULL: application/json */
	const char *route;        /* static route label, for stats */
	int         retry_after;  /* > 0: Retry-After header */
	const char *www_auth;     /* WWW-Authenticate, static */
	char        hname[2][40]; /* up to two extra headers */
	char        hval[2][64];
	int         fault_used; /* the handler applied rq->fault */
} vs_resp;

/*
 * A vendor: its path prefix, the request handler and the error writer
 * the faults use. handle() routes rq->path; it must always set a status
 * and a body. error() writes the vendor's error shape for status.
 */
typedef struct vs_vendor {
	const char *name;
	void (*handle)(vs_sim *sim, const vs_req *rq, vs_resp *out);
	void (*error)(
	    const vs_req *rq, vs_resp *out, int status, const char *msg);
} vs_vendor;

extern const vs_vendor vs_enphase, vs_solaredge, vs_tesla, vs_utilityapi,
    vs_watttime, vs_electricitymaps, vs_solarman, vs_sungrow, vs_ecomanager,
    vs_maystro;
extern const vs_vendor *const vs_vendors[VS_NVENDORS];

/* "429", "500", "slow", ... ; NULL for an unknown mode. */
const char *vs_fault_name(int mode);
int         vs_fault_find(const char *name);
int         vs_vendor_find(const char *name, size_t len);

/* config.c: reads the environment or exits 2 naming the variable. */
void vs_config_load(vs_config *cfg);
void vs_config_fini(vs_config *cfg);

/* sim.c */
void vs_sim_init(vs_sim *sim, const vs_config *cfg);
void vs_sim_fini(vs_sim *sim);

/*
 * Serves one request: /_sim/... to admin.c, /<vendor>/... to the vendor
 * with the faults applied. out is filled; the caller sends and frees it.
 * remote_loopback: the client is on a loopback address.
 */
void vs_dispatch(vs_sim *sim, vs_req *rq, vs_resp *out, int remote_loopback);

/* The virtual time in seconds: header, runtime clock, config, or real. */
int64_t vs_now(vs_sim *sim, const char *header_now);

/*
 * http.c: the server (libmicrohttpd, a thread per connection, so that a
 * slow response holds only its own connection). Returns 0, or -1 with
 * err set. vs_http_stop() sets sim->stopping, closes and joins.
 */
typedef struct vs_http vs_http;
int  vs_http_start(vs_http **out, vs_sim *sim, char *err, size_t errlen);
void vs_http_stop(vs_http *h);

/* admin.c: the /_sim API. */
void vs_admin(vs_sim *sim, const vs_req *rq, vs_resp *out);

/* --- Replies -------------------------------------------------------- */

/* Prints json into out with status (and frees json). */
void vs_reply_json(vs_resp *out, int status, cJSON *json);
/* A printf-formatted body. */
void vs_reply_text(vs_resp *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets an extra response header (up to two). */
void vs_reply_header(vs_resp *out, const char *name, const char *value);

/* --- Deterministic data ---------------------------------------------- */

/* splitmix64's finaliser: a good 64-bit mix. */
uint64_t vs_splitmix(uint64_t x);
/* A hash of (seed, vendor, entity, bucket) and of a salt. */
uint64_t vs_mix(const vs_sim *sim, int vendor, uint64_t entity, int64_t bucket,
    uint64_t salt);
/* The same as a double in [0, 1). */
double vs_unit(const vs_sim *sim, int vendor, uint64_t entity, int64_t bucket,
    uint64_t salt);
/*
 * Energy data lives in 15-minute buckets (VS_BUCKET seconds). The average
 * solar power in watts of entity over the bucket starting at t (aligned):
 * a peak power per entity, a daylight curve (UTC), a cloud factor per day
 * and a little noise per bucket; whole watts. 0 before the epoch.
 */
#define VS_BUCKET 900
double vs_solar_w(const vs_sim *sim, int vendor, uint64_t entity, int64_t t);
/* Household consumption in whole watts over the bucket starting at t. */
double vs_load_w(const vs_sim *sim, int vendor, uint64_t entity, int64_t t);
/*
 * Energy in Wh over [t0, t1) (bucket-aligned), summed bucket by bucket
 * so that any aggregation of the same range agrees: solar (load false)
 * or consumption (load true). Only buckets that end by `now` count.
 */
double vs_energy_wh(const vs_sim *sim, int vendor, uint64_t entity, int64_t t0,
    int64_t t1, int64_t now, bool load);
/*
 * Grid carbon intensity in gCO2eq/kWh for region (any string) at t:
 * a level per region, a midday solar dip, an evening peak and noise.
 */
double vs_carbon_g(
    const vs_sim *sim, int vendor, const char *region, int64_t t);
/* Rounds to n decimals (so the printed bytes stay short and stable). */
double vs_round(double v, int n);

/* --- Time text -------------------------------------------------------- */

/* "2025-03-30T01:30:00Z" (buf >= 32). */
char *vs_rfc3339(char *buf, size_t len, int64_t s);
/* "2025-03-30 01:30:00" (SolarEdge, Sungrow). */
char *vs_datetime(char *buf, size_t len, int64_t s);
/*
 * Parses RFC 3339, "YYYY-MM-DD hh:mm:ss", "YYYY-MM-DD" or unix seconds.
 * Returns 0 with *out set, or -1.
 */
int vs_time_parse(const char *s, int64_t *out);
/* Parses a decimal int64 in [lo, hi]; 0 or -1. */
int vs_int_parse(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* --- Credentials and tokens -------------------------------------------- */

/*
 * Issues a token of kind for vendor, valid from rq->now for the
 * configured lifetime; counts it as issued or refreshed. jwt: a
 * JWT-shaped HS256 token with iss, sub, use, iat, exp, jti (and the
 * generations); else an opaque "<sub>_<hex>" token carrying the same
 * signed fields. Returns a malloc'd string (NULL on out of memory) and
 * the expiry in *exp.
 */
char *vs_token_issue(vs_sim *sim, const vs_req *rq, int kind, bool jwt,
    const char *sub, bool refreshed, int64_t *exp);

/*
 * Checks a token the vendor issued: VS_AUTH_OK, or why not. Applies an
 * armed expired_token/revoked_token fault to an access token (first
 * expiring or revoking every token of the vendor). token may be NULL.
 */
int vs_token_check(
    vs_sim *sim, const vs_req *rq, vs_resp *out, const char *token, int kind);

/*
 * Before issuing a token from credentials or a refresh token: while a
 * revoked_token fault is armed the vendor refuses (VS_AUTH_REVOKED).
 */
int vs_grant_check(vs_sim *sim, const vs_req *rq, vs_resp *out);

/*
 * Checks a static key (API-key vendors): missing, wrong, or refused by
 * an armed expired/revoked fault (there is nothing to refresh).
 */
int vs_key_check(vs_sim *sim, const vs_req *rq, vs_resp *out,
    const char *given, const char *want);

/* Counts an authentication failure in the stats. */
void vs_auth_failed(vs_sim *sim, int vendor);

/* Bearer token from "Authorization: <scheme> <tok>"; NULL if none. */
const char *vs_auth_param(const vs_req *rq, const char *scheme);

/*
 * Decodes HTTP Basic credentials into user/pass (NUL-terminated).
 * Returns 0, or -1 if absent or malformed.
 */
int vs_basic(
    const vs_req *rq, char *user, size_t ulen, char *pass, size_t plen);

/* Constant-time string comparison (credentials). */
bool vs_secret_eq(const char *a, const char *b);

/* Lowercase hex SHA-256 of s (Solarman sends its password so). */
void vs_sha256_hex(const char *s, char hex[65]);

/* A request id, deterministic from the request and the time. */
void vs_request_id(const vs_req *rq, char *buf, size_t len);

/* The partial_page fault: how many of n items to send. */
int vs_partial(const vs_req *rq, vs_resp *out, int n);

/*
 * Matches path against pat, where each "{}" takes one path segment
 * (copied into caps[i], at most 63 bytes); a trailing slash on either
 * side is ignored. 1 on a match.
 */
int vs_match(const char *path, const char *pat, char caps[][64], int ncap);

/*
 * A parameter from the query string, else from an
 * application/x-www-form-urlencoded body (decoded into buf). NULL if
 * absent or longer than len - 1.
 */
const char *vs_param(
    const vs_req *rq, const char *name, char *buf, size_t len);

/*
 * A refresh grant: the configured initial refresh token (valid until the
 * vendor's tokens are first revoked) or one the vendor issued; refused
 * while a revoked_token fault is armed.
 */
int vs_refresh_check(vs_sim *sim, const vs_req *rq, vs_resp *out,
    const char *token, const char *initial);

/* Parses the body as a JSON object; NULL if it is not one. */
cJSON *vs_body_json(const vs_req *rq);

/* Entity ids of the energy vendors: base + k for k < cfg->sites. */
bool vs_site_ok(const vs_sim *sim, int64_t id, int64_t base);

/*
 * Orders (ecomanager.c; Maystro ships them). Store s (1-based) receives
 * order k (0-based) at vs_order_at(): one per CRONFLEET_SIM_ORDER_
 * INTERVAL after the epoch, jittered within the interval, so that the
 * times increase with k and the count at any instant is O(1).
 */
int64_t vs_order_at(const vs_sim *sim, int store, int64_t k);
/* Orders store s holds at t. */
int64_t vs_order_count(const vs_sim *sim, int store, int64_t t);
/* "EM-<store>-<k+1>", the reference Maystro carries as external id. */
void vs_order_ref(int store, int64_t k, char *buf, size_t len);
/* Adds the customer's and the shipping address's fields to o. */
void vs_order_customer(
    const vs_sim *sim, int store, int64_t k, cJSON *o, bool maystro);

/* Plants (Solarman stations, Sungrow plants) that exist at now: one
 * more each plant_interval_ms from epoch_s, up to plants. */
int64_t vs_plants_at(const vs_sim *sim, int64_t now);

/* An OAuth 2.0 error body {"error","error_description"} (RFC 6749 5.2),
 * as Enphase's and Tesla's token endpoints answer. */
void vs_oauth_error(vs_resp *out, int status, const char *err,
    const char *desc);

#endif /* VS_SIM_H */
