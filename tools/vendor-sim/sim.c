/*
 * sim.c - the simulator's core: dispatch with the fault table applied,
 * virtual time, signed tokens, deterministic data and statistics.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "cf_log.h"
#include "cf_time.h"
#include "sim.h"

/* M_PI is not ISO C. */
#define VS_PI 3.14159265358979323846

const vs_vendor *const vs_vendors[VS_NVENDORS] = {
	[VS_ENPHASE]         = &vs_enphase,
	[VS_SOLAREDGE]       = &vs_solaredge,
	[VS_TESLA]           = &vs_tesla,
	[VS_UTILITYAPI]      = &vs_utilityapi,
	[VS_WATTTIME]        = &vs_watttime,
	[VS_ELECTRICITYMAPS] = &vs_electricitymaps,
	[VS_SOLARMAN]        = &vs_solarman,
	[VS_SUNGROW]         = &vs_sungrow,
	[VS_ECOMANAGER]      = &vs_ecomanager,
	[VS_MAYSTRO]         = &vs_maystro,
};

static const char *const fault_names[VS_NFAULTS] = {
	[VS_FAULT_NONE]      = "none",
	[VS_FAULT_429]       = "429",
	[VS_FAULT_500]       = "500",
	[VS_FAULT_SLOW]      = "slow",
	[VS_FAULT_MALFORMED] = "malformed",
	[VS_FAULT_EXPIRED]   = "expired_token",
	[VS_FAULT_REVOKED]   = "revoked_token",
	[VS_FAULT_PARTIAL]   = "partial_page",
};

const char *
vs_fault_name(int mode)
{
	return (mode >= 0 && mode < VS_NFAULTS ? fault_names[mode] : NULL);
}

int
vs_fault_find(const char *name)
{
	for (int i = 1; i < VS_NFAULTS; i++) {
		if (strcmp(name, fault_names[i]) == 0) {
			return (i);
		}
	}
	return (-1);
}

int
vs_vendor_find(const char *name, size_t len)
{
	for (int i = 0; i < VS_NVENDORS; i++) {
		if (strlen(vs_vendors[i]->name) == len
		    && memcmp(vs_vendors[i]->name, name, len) == 0) {
			return (i);
		}
	}
	return (-1);
}

void
vs_sim_init(vs_sim *sim, const vs_config *cfg)
{
	static const char label[] = "cronfleet-vendor-sim token key";
	unsigned char     seed[8];
	unsigned int      n = sizeof(sim->key);

	memset(sim, 0, sizeof(*sim));
	sim->cfg     = cfg;
	sim->clock_s = -1;
	pthread_mutex_init(&sim->mu, NULL);
	/*
	 * The signing key comes from the seed, so that a restarted
	 * simulator with the same seed still accepts the tokens it issued
	 * before (an adapter's stored token survives a simulator restart,
	 * as it would survive nothing happening at the vendor).
	 */
	for (int i = 0; i < 8; i++) {
		seed[i] = (unsigned char) ((uint64_t) cfg->seed >> (8 * i));
	}
	HMAC(EVP_sha256(), seed, sizeof(seed), (const unsigned char *) label,
	    sizeof(label) - 1, sim->key, &n);
}

void
vs_sim_fini(vs_sim *sim)
{
	pthread_mutex_destroy(&sim->mu);
	OPENSSL_cleanse(sim->key, sizeof(sim->key));
}

/* --- Time ------------------------------------------------------------ */

int64_t
vs_now(vs_sim *sim, const char *header_now)
{
	int64_t t;

	if (header_now != NULL) {
		return (vs_time_parse(header_now, &t) == 0 ? t : -1);
	}
	pthread_mutex_lock(&sim->mu);
	t = sim->clock_s;
	pthread_mutex_unlock(&sim->mu);
	if (t >= 0) {
		return (t);
	}
	if (sim->cfg->now_s >= 0) {
		return (sim->cfg->now_s);
	}
	return ((int64_t) time(NULL));
}

char *
vs_rfc3339(char *buf, size_t len, int64_t s)
{
	if (cf_rfc3339_format(buf, len, s * 1000, 0, 1) < 0 && len > 0) {
		buf[0] = '\0';
	}
	return (buf);
}

char *
vs_datetime(char *buf, size_t len, int64_t s)
{
	cf_civil c;

	cf_civil_from_ms(s * 1000, &c);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month,
	    c.day, c.hour, c.minute, c.second);
	return (buf);
}

int
vs_int_parse(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char     *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
		return (-1);
	}
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi) {
		return (-1);
	}
	*out = v;
	return (0);
}

int
vs_time_parse(const char *s, int64_t *out)
{
	int64_t ms, v;
	int     y, mo, d, h = 0, mi = 0, se = 0, n = 0;

	if (s == NULL || *s == '\0') {
		return (-1);
	}
	/* Unix seconds (Enphase's start_at) are all digits. */
	if (vs_int_parse(s, 0, 253402300799LL, &v) == 0) {
		*out = v;
		return (0);
	}
	if (cf_rfc3339_parse(s, &ms) == 0) {
		*out = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
		return (0);
	}
	/* "YYYY-MM-DD hh:mm:ss" (no zone: UTC) or a bare date. */
	if (sscanf(
	        s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n)
	        == 6
	    && s[n] == '\0') {
		/* parsed */
	} else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3
	    && s[n] == '\0') {
		h = mi = se = 0;
	} else {
		return (-1);
	}
	if (mo < 1 || mo > 12 || d < 1 || d > cf_days_in_month(y, mo) || h > 23
	    || mi > 59 || se > 59 || h < 0 || mi < 0 || se < 0) {
		return (-1);
	}
	*out = cf_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return (0);
}

/* --- Replies --------------------------------------------------------- */

void
vs_reply_json(vs_resp *out, int status, cJSON *json)
{
	free(out->body);
	out->body   = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
	out->status = out->body != NULL ? status : 500;
	out->len    = out->body != NULL ? strlen(out->body) : 0;
	cJSON_Delete(json);
}

void
vs_reply_text(vs_resp *out, int status, const char *fmt, ...)
{
	va_list ap;
	char   *s = NULL;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && (s = malloc((size_t) n + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t) n + 1, fmt, ap);
		va_end(ap);
	}
	free(out->body);
	out->body   = s;
	out->len    = s != NULL ? (size_t) n : 0;
	out->status = s != NULL ? status : 500;
}

void
vs_reply_header(vs_resp *out, const char *name, const char *value)
{
	for (int i = 0; i < 2; i++) {
		if (out->hname[i][0] == '\0') {
			snprintf(
			    out->hname[i], sizeof(out->hname[i]), "%s", name);
			snprintf(
			    out->hval[i], sizeof(out->hval[i]), "%s", value);
			return;
		}
	}
}

cJSON *
vs_body_json(const vs_req *rq)
{
	cJSON *j;

	if (rq->body == NULL || rq->len == 0) {
		return (NULL);
	}
	j = cJSON_ParseWithLength(rq->body, rq->len);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return (j);
}

/* --- Deterministic data ------------------------------------------------ */

uint64_t
vs_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31));
}

uint64_t
vs_mix(const vs_sim *sim, int vendor, uint64_t entity, int64_t bucket,
    uint64_t salt)
{
	/* Chained, so that no two inputs commute into the same value. */
	uint64_t h = vs_splitmix((uint64_t) sim->cfg->seed);

	h = vs_splitmix(h ^ (uint64_t) vendor);
	h = vs_splitmix(h ^ entity);
	h = vs_splitmix(h ^ (uint64_t) bucket);
	return (vs_splitmix(h ^ salt));
}

double
vs_unit(const vs_sim *sim, int vendor, uint64_t entity, int64_t bucket,
    uint64_t salt)
{
	return ((double) (vs_mix(sim, vendor, entity, bucket, salt) >> 11)
	    * (1.0 / 9007199254740992.0));
}

double
vs_round(double v, int n)
{
	double p = pow(10.0, n);

	return (round(v * p) / p);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return ((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q);
}

double
vs_solar_w(const vs_sim *sim, int vendor, uint64_t entity, int64_t t)
{
	double  peak, cloud, noise, hour, curve;
	int64_t day = floor_div(t, 86400);

	if (t < sim->cfg->epoch_s) {
		return (0);
	}
	peak  = 2000.0 + 8000.0 * vs_unit(sim, vendor, entity, 0, 1);
	cloud = 0.35 + 0.65 * vs_unit(sim, vendor, entity, day, 2);
	noise = 0.9 + 0.2 * vs_unit(sim, vendor, entity, t / VS_BUCKET, 3);
	hour  = (double) (t - day * 86400 + VS_BUCKET / 2) / 3600.0;
	curve = hour > 6.0 && hour < 18.0 ? sin(VS_PI * (hour - 6.0) / 12.0)
	                                  : 0.0;
	return (round(peak * curve * cloud * noise));
}

double
vs_load_w(const vs_sim *sim, int vendor, uint64_t entity, int64_t t)
{
	double  base, hour, shape;
	int64_t day = floor_div(t, 86400);

	if (t < sim->cfg->epoch_s) {
		return (0);
	}
	base = 300.0 + 700.0 * vs_unit(sim, vendor, entity, 0, 4);
	hour = (double) (t - day * 86400) / 3600.0;
	/* Mornings and evenings use more. */
	shape = 1.0 + 0.8 * exp(-pow(hour - 7.5, 2) / 2.0)
	    + 1.5 * exp(-pow(hour - 19.0, 2) / 4.0);
	return (round(base * shape
	    * (0.8 + 0.4 * vs_unit(sim, vendor, entity, t / VS_BUCKET, 5))));
}

double
vs_energy_wh(const vs_sim *sim, int vendor, uint64_t entity, int64_t t0,
    int64_t t1, int64_t now, bool load)
{
	double sum = 0;

	t0 = floor_div(t0, VS_BUCKET) * VS_BUCKET;
	for (int64_t t = t0; t < t1 && t + VS_BUCKET <= now; t += VS_BUCKET) {
		sum += (load ? vs_load_w(sim, vendor, entity, t)
		             : vs_solar_w(sim, vendor, entity, t))
		    * VS_BUCKET / 3600.0;
	}
	return (sum);
}

double
vs_carbon_g(const vs_sim *sim, int vendor, const char *region, int64_t t)
{
	uint64_t rh  = 1469598103934665603ULL; /* FNV-1a of the region */
	int64_t  day = floor_div(t, 86400);
	double   level, hour, v;

	for (const char *p = region; *p != '\0'; p++) {
		rh = (rh ^ (unsigned char) *p) * 1099511628211ULL;
	}
	level = 150.0 + 550.0 * vs_unit(sim, vendor, rh, 0, 6);
	hour  = (double) (t - day * 86400) / 3600.0;
	v     = level
	    * (1.0 - 0.3 * exp(-pow(hour - 13.0, 2) / 8.0)
	        + 0.15 * exp(-pow(hour - 19.0, 2) / 3.0))
	    * (0.93 + 0.14 * vs_unit(sim, vendor, rh, t / 300, 7));
	return (vs_round(v, 1));
}

bool
vs_site_ok(const vs_sim *sim, int64_t id, int64_t base)
{
	return (id >= base && id < base + sim->cfg->sites);
}

/* --- Faults and stats -------------------------------------------------- */

/*
 * Takes one use of vendor's fault if it is armed with mode: 1 (and
 * *copy, when given, holds the fault) or 0.
 */
static int
fault_take(vs_sim *sim, int vendor, int mode, vs_fault *copy)
{
	vs_fault *f   = &sim->fault[vendor];
	int       hit = 0;

	pthread_mutex_lock(&sim->mu);
	if (f->mode == mode && mode != VS_FAULT_NONE) {
		hit = 1;
		if (copy != NULL) {
			*copy = *f;
		}
		f->fired++;
		sim->stats[vendor].faults_fired++;
		if (f->count > 0 && --f->count == 0) {
			f->mode = VS_FAULT_NONE;
		}
	}
	pthread_mutex_unlock(&sim->mu);
	return (hit);
}

static void
stats_count(vs_sim *sim, int vendor, const char *route, int status)
{
	vs_vstats *st = &sim->stats[vendor];
	int        i;

	pthread_mutex_lock(&sim->mu);
	st->requests++;
	for (i = 0; i < VS_MAX_ROUTES && st->route[i] != NULL; i++) {
		if (st->route[i] == route
		    || strcmp(st->route[i], route) == 0) {
			break;
		}
	}
	if (i < VS_MAX_ROUTES) {
		st->route[i] = route;
		st->route_n[i]++;
	}
	for (i = 0; i < VS_MAX_STATUS && st->status[i] != 0; i++) {
		if (st->status[i] == status) {
			break;
		}
	}
	if (i < VS_MAX_STATUS) {
		st->status[i] = status;
		st->status_n[i]++;
	}
	pthread_mutex_unlock(&sim->mu);
}

void
vs_auth_failed(vs_sim *sim, int vendor)
{
	pthread_mutex_lock(&sim->mu);
	sim->stats[vendor].auth_failures++;
	pthread_mutex_unlock(&sim->mu);
}

int
vs_partial(const vs_req *rq, vs_resp *out, int n)
{
	if (rq->fault != VS_FAULT_PARTIAL || n < 2) {
		return (n);
	}
	out->fault_used = 1;
	return (n / 2);
}

/* Sleeps ms in slices, ending early when the server stops. */
static void
slow_sleep(vs_sim *sim, int64_t ms)
{
	struct timespec ts;

	while (ms > 0 && !sim->stopping) {
		int64_t step = ms < 50 ? ms : 50;
		ts.tv_sec    = 0;
		ts.tv_nsec   = (long) step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static const char *const fault_routes[VS_NFAULTS] = {
	[VS_FAULT_429] = "(fault 429)",
	[VS_FAULT_500] = "(fault 500)",
};

void
vs_dispatch(vs_sim *sim, vs_req *rq, vs_resp *out, int remote_loopback)
{
	const char *p = rq->full + 1, *slash;
	vs_fault    f;
	int         v, mode;

	if (strncmp(rq->full, "/_sim/", 6) == 0
	    || strcmp(rq->full, "/_sim") == 0) {
		if (!remote_loopback) {
			vs_reply_text(out, 403,
			    "{\"error\":\"the /_sim API answers loopback "
			    "clients only\"}");
			return;
		}
		vs_admin(sim, rq, out);
		return;
	}
	slash = strchr(p, '/');
	v     = vs_vendor_find(
	        p, slash != NULL ? (size_t) (slash - p) : strlen(p));
	if (v < 0) {
		vs_reply_text(out, 404,
		    "{\"error\":\"no such vendor: the simulator serves "
		    "/<vendor>/..., see GET /_sim\"}");
		return;
	}
	rq->vendor = v;
	rq->path   = slash != NULL ? slash : "/";

	pthread_mutex_lock(&sim->mu);
	mode = sim->fault[v].mode;
	if (mode != VS_FAULT_NONE && sim->fault[v].skip > 0) {
		sim->fault[v].skip--; /* this one goes through unharmed */
		mode = VS_FAULT_NONE;
	}
	pthread_mutex_unlock(&sim->mu);
	rq->fault = mode;

	if ((mode == VS_FAULT_429 || mode == VS_FAULT_500)
	    && fault_take(sim, v, mode, &f)) {
		if (mode == VS_FAULT_429) {
			vs_vendors[v]->error(
			    rq, out, 429, "rate limit exceeded (simulated)");
			out->retry_after
			    = f.retry_after > 0 ? f.retry_after : 1;
		} else {
			vs_vendors[v]->error(
			    rq, out, 500, "internal server error (simulated)");
		}
		out->route = fault_routes[mode];
		goto done;
	}
	if (mode == VS_FAULT_SLOW && fault_take(sim, v, mode, &f)) {
		slow_sleep(sim, f.delay_ms > 0 ? f.delay_ms : 5000);
	}

	vs_vendors[v]->handle(sim, rq, out);
	if (out->body == NULL) {
		vs_vendors[v]->error(rq, out, 500, "out of memory");
	}

	/*
	 * A malformed body is a cut one: a proper prefix of a JSON object
	 * or array never parses, whatever the cut point.
	 */
	if (mode == VS_FAULT_MALFORMED && out->status >= 200
	    && out->status < 300 && out->len > 1
	    && fault_take(sim, v, mode, NULL)) {
		out->len            = out->len / 2;
		out->body[out->len] = '\0';
	}
	if (out->fault_used && mode == VS_FAULT_PARTIAL) {
		fault_take(sim, v, mode, NULL);
	}
done:
	stats_count(sim, v, out->route != NULL ? out->route : "(unrouted)",
	    out->status);
	if (out->status == 401 || out->status == 403) {
		vs_auth_failed(sim, v);
	}
}

/* --- Tokens ------------------------------------------------------------ */

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                         "qrstuvwxyz0123456789-_";
	size_t            o    = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t) in[i] << 16;
		if (i + 1 < n) {
			v |= (uint32_t) in[i + 1] << 8;
		}
		if (i + 2 < n) {
			v |= in[i + 2];
		}
		out[o++] = al[(v >> 18) & 63];
		out[o++] = al[(v >> 12) & 63];
		if (i + 1 < n) {
			out[o++] = al[(v >> 6) & 63];
		}
		if (i + 2 < n) {
			out[o++] = al[v & 63];
		}
	}
	out[o] = '\0';
}

/* Decodes base64url (no padding) into out; returns length or -1. */
static long
b64url_dec(const char *in, size_t n, unsigned char *out, size_t cap)
{
	uint32_t acc  = 0;
	int      bits = 0;
	size_t   o    = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char) in[i], d;
		if (c >= 'A' && c <= 'Z') {
			d = c - 'A';
		} else if (c >= 'a' && c <= 'z') {
			d = c - 'a' + 26;
		} else if (c >= '0' && c <= '9') {
			d = c - '0' + 52;
		} else if (c == '-') {
			d = 62;
		} else if (c == '_') {
			d = 63;
		} else {
			return (-1);
		}
		acc = (acc << 6) | (uint32_t) d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap) {
				return (-1);
			}
			out[o++] = (unsigned char) (acc >> bits);
		}
	}
	return ((long) o);
}

static void
sign(const vs_sim *sim, const void *data, size_t n, unsigned char mac[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), sim->key, sizeof(sim->key), data, n, mac, &len);
}

/* The signed fields of a token. */
typedef struct tok {
	int      vendor;
	int      kind;
	int64_t  iat, exp;
	uint32_t gen, agen;
	uint64_t jti;
} tok;

char *
vs_token_issue(vs_sim *sim, const vs_req *rq, int kind, bool jwt,
    const char *sub, bool refreshed, int64_t *exp)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char       *vname = vs_vendors[rq->vendor]->name;
	unsigned char     mac[32];
	char              payload[512], *out;
	tok               t;
	size_t            n;

	pthread_mutex_lock(&sim->mu);
	t.gen  = sim->gen[rq->vendor];
	t.agen = sim->agen[rq->vendor];
	t.jti  = vs_splitmix((uint64_t) sim->cfg->seed ^ ++sim->issued);
	if (refreshed) {
		sim->stats[rq->vendor].tokens_refreshed++;
	} else {
		sim->stats[rq->vendor].tokens_issued++;
	}
	pthread_mutex_unlock(&sim->mu);
	t.vendor = rq->vendor;
	t.kind   = kind;
	t.iat    = rq->now;
	/* Refresh tokens live ten times longer, as vendors' usually do. */
	t.exp = rq->now
	    + sim->cfg->token_ttl_ms / 1000
	        * (kind == VS_TOKEN_REFRESH ? 10 : 1);
	*exp = t.exp;

	if (jwt) {
		char h64[64], *p64, s64[48], *signing;
		n = (size_t) snprintf(payload, sizeof(payload),
		    "{\"iss\":\"sim-%s\",\"sub\":\"%s\",\"use\":\"%s\","
		    "\"iat\":%lld,\"exp\":%lld,\"jti\":\"%016llx\","
		    "\"gen\":%u,\"agen\":%u}",
		    vname, sub,
		    kind == VS_TOKEN_REFRESH ? "refresh" : "access",
		    (long long) t.iat, (long long) t.exp,
		    (unsigned long long) t.jti, t.gen, t.agen);
		if (n >= sizeof(payload)) {
			return (NULL);
		}
		b64url((const unsigned char *) hdr, sizeof(hdr) - 1, h64);
		if ((p64 = malloc(n * 4 / 3 + 4)) == NULL) {
			return (NULL);
		}
		b64url((const unsigned char *) payload, n, p64);
		n = strlen(h64) + 1 + strlen(p64);
		if ((signing = malloc(n + 1 + 48)) == NULL) {
			free(p64);
			return (NULL);
		}
		snprintf(signing, n + 1, "%s.%s", h64, p64);
		sign(sim, signing, n, mac);
		b64url(mac, sizeof(mac), s64);
		strcat(signing, ".");
		strcat(signing, s64);
		free(p64);
		return (signing);
	}
	/*
	 * Opaque: "<sub>_" and the hex of the packed fields and a MAC, so
	 * that no state is kept for tokens either.
	 */
	{
		unsigned char bin[64];
		size_t        b = 0;
		bin[b++]        = (unsigned char) t.vendor;
		bin[b++]        = (unsigned char) t.kind;
		for (int i = 0; i < 8; i++) {
			bin[b++]
			    = (unsigned char) ((uint64_t) t.exp >> (8 * i));
		}
		for (int i = 0; i < 4; i++) {
			bin[b++] = (unsigned char) (t.gen >> (8 * i));
		}
		for (int i = 0; i < 4; i++) {
			bin[b++] = (unsigned char) (t.agen >> (8 * i));
		}
		for (int i = 0; i < 8; i++) {
			bin[b++] = (unsigned char) (t.jti >> (8 * i));
		}
		sign(sim, bin, b, mac);
		memcpy(bin + b, mac, 16);
		b += 16;
		n = strlen(sub) + 1 + 2 * b + 1;
		if ((out = malloc(n)) == NULL) {
			return (NULL);
		}
		n = (size_t) sprintf(out, "%s_", sub);
		for (size_t i = 0; i < b; i++) {
			n += (size_t) sprintf(out + n, "%02x", bin[i]);
		}
		return (out);
	}
}

/* Reads a token's signed fields; 0, or -1 if it is not a valid one. */
static int
token_parse(const vs_sim *sim, const char *s, tok *t)
{
	unsigned char mac[32], bin[96];
	const char   *d1, *d2, *u;

	memset(t, 0, sizeof(*t));
	if ((d1 = strchr(s, '.')) != NULL) {
		unsigned char pl[600];
		char          pstr[601];
		long          n;
		cJSON        *j, *it;
		const char   *iss, *use;

		if ((d2 = strchr(d1 + 1, '.')) == NULL
		    || strchr(d2 + 1, '.')) {
			return (-1);
		}
		sign(sim, s, (size_t) (d2 - s), mac);
		n = b64url_dec(d2 + 1, strlen(d2 + 1), bin, sizeof(bin));
		if (n != 32 || CRYPTO_memcmp(bin, mac, 32) != 0) {
			return (-1);
		}
		n = b64url_dec(d1 + 1, (size_t) (d2 - d1 - 1), pl, sizeof(pl));
		if (n <= 0) {
			return (-1);
		}
		memcpy(pstr, pl, (size_t) n);
		pstr[n] = '\0';
		if ((j = cJSON_Parse(pstr)) == NULL) {
			return (-1);
		}
		iss = cJSON_GetStringValue(cJSON_GetObjectItem(j, "iss"));
		use = cJSON_GetStringValue(cJSON_GetObjectItem(j, "use"));
		t->vendor = iss != NULL && strncmp(iss, "sim-", 4) == 0
		    ? vs_vendor_find(iss + 4, strlen(iss + 4))
		    : -1;
		t->kind   = use != NULL && strcmp(use, "refresh") == 0
		      ? VS_TOKEN_REFRESH
		      : VS_TOKEN_ACCESS;
		if ((it = cJSON_GetObjectItem(j, "exp")) != NULL) {
			t->exp = (int64_t) it->valuedouble;
		}
		if ((it = cJSON_GetObjectItem(j, "gen")) != NULL) {
			t->gen = (uint32_t) it->valuedouble;
		}
		if ((it = cJSON_GetObjectItem(j, "agen")) != NULL) {
			t->agen = (uint32_t) it->valuedouble;
		}
		cJSON_Delete(j);
		return (t->vendor >= 0 ? 0 : -1);
	}
	/* Opaque: "<sub>_<hex>". */
	if ((u = strrchr(s, '_')) == NULL || strlen(u + 1) != 2 * 42) {
		return (-1);
	}
	for (int i = 0; i < 42; i++) {
		unsigned int x;
		if (sscanf(u + 1 + 2 * i, "%2x", &x) != 1) {
			return (-1);
		}
		bin[i] = (unsigned char) x;
	}
	sign(sim, bin, 26, mac);
	if (CRYPTO_memcmp(bin + 26, mac, 16) != 0) {
		return (-1);
	}
	t->vendor = bin[0];
	t->kind   = bin[1];
	for (int i = 0; i < 8; i++) {
		t->exp |= (int64_t) ((uint64_t) bin[2 + i] << (8 * i));
	}
	for (int i = 0; i < 4; i++) {
		t->gen |= (uint32_t) bin[10 + i] << (8 * i);
		t->agen |= (uint32_t) bin[14 + i] << (8 * i);
	}
	return (t->vendor < VS_NVENDORS ? 0 : -1);
}

int
vs_token_check(
    vs_sim *sim, const vs_req *rq, vs_resp *out, const char *token, int kind)
{
	tok      t;
	uint32_t gen, agen;

	if (token == NULL || *token == '\0') {
		return (VS_AUTH_MISSING);
	}
	if (token_parse(sim, token, &t) != 0 || t.vendor != rq->vendor
	    || t.kind != kind) {
		return (VS_AUTH_INVALID);
	}
	/*
	 * The token faults act on a valid access token: expiring bumps the
	 * vendor's access generation (every access token issued so far is
	 * now expired, a refresh still works), revoking bumps the whole
	 * generation (refresh tokens die too).
	 */
	if (kind == VS_TOKEN_ACCESS
	    && (rq->fault == VS_FAULT_EXPIRED || rq->fault == VS_FAULT_REVOKED)
	    && fault_take(sim, rq->vendor, rq->fault, NULL)) {
		pthread_mutex_lock(&sim->mu);
		if (rq->fault == VS_FAULT_EXPIRED) {
			sim->agen[rq->vendor]++;
		} else {
			sim->gen[rq->vendor]++;
		}
		pthread_mutex_unlock(&sim->mu);
		out->fault_used = 1;
		return (rq->fault == VS_FAULT_EXPIRED ? VS_AUTH_EXPIRED
		                                      : VS_AUTH_REVOKED);
	}
	pthread_mutex_lock(&sim->mu);
	gen  = sim->gen[rq->vendor];
	agen = sim->agen[rq->vendor];
	pthread_mutex_unlock(&sim->mu);
	if (t.gen != gen) {
		return (VS_AUTH_REVOKED);
	}
	if ((kind == VS_TOKEN_ACCESS && t.agen != agen) || t.exp <= rq->now) {
		return (VS_AUTH_EXPIRED);
	}
	return (VS_AUTH_OK);
}

int
vs_grant_check(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	if (rq->fault == VS_FAULT_REVOKED
	    && fault_take(sim, rq->vendor, VS_FAULT_REVOKED, NULL)) {
		pthread_mutex_lock(&sim->mu);
		sim->gen[rq->vendor]++;
		pthread_mutex_unlock(&sim->mu);
		out->fault_used = 1;
		return (VS_AUTH_REVOKED);
	}
	return (VS_AUTH_OK);
}

int
vs_key_check(vs_sim *sim, const vs_req *rq, vs_resp *out, const char *given,
    const char *want)
{
	if (given == NULL || *given == '\0') {
		return (VS_AUTH_MISSING);
	}
	if (!vs_secret_eq(given, want)) {
		return (VS_AUTH_INVALID);
	}
	if ((rq->fault == VS_FAULT_EXPIRED || rq->fault == VS_FAULT_REVOKED)
	    && fault_take(sim, rq->vendor, rq->fault, NULL)) {
		out->fault_used = 1;
		return (rq->fault == VS_FAULT_EXPIRED ? VS_AUTH_EXPIRED
		                                      : VS_AUTH_REVOKED);
	}
	return (VS_AUTH_OK);
}

bool
vs_secret_eq(const char *a, const char *b)
{
	unsigned char ha[32], hb[32];

	if (a == NULL || b == NULL) {
		return (false);
	}
	/* Hash first: compares in constant time whatever the lengths. */
	SHA256((const unsigned char *) a, strlen(a), ha);
	SHA256((const unsigned char *) b, strlen(b), hb);
	return (CRYPTO_memcmp(ha, hb, 32) == 0);
}

void
vs_sha256_hex(const char *s, char hex[65])
{
	unsigned char h[32];

	SHA256((const unsigned char *) s, strlen(s), h);
	for (int i = 0; i < 32; i++) {
		sprintf(hex + 2 * i, "%02x", h[i]);
	}
}

const char *
vs_auth_param(const vs_req *rq, const char *scheme)
{
	const char *h = rq->header(rq->conn, "Authorization");
	size_t      n = strlen(scheme);

	if (h == NULL || strncasecmp(h, scheme, n) != 0 || h[n] != ' ') {
		return (NULL);
	}
	h += n;
	while (*h == ' ') {
		h++;
	}
	return (*h != '\0' ? h : NULL);
}

int
vs_basic(const vs_req *rq, char *user, size_t ulen, char *pass, size_t plen)
{
	const char   *b = vs_auth_param(rq, "Basic");
	unsigned char dec[512];
	char         *colon;
	int           n;

	if (b == NULL || strlen(b) > 640) {
		return (-1);
	}
	n = EVP_DecodeBlock(dec, (const unsigned char *) b, (int) strlen(b));
	if (n < 0) {
		return (-1);
	}
	/* EVP_DecodeBlock counts the padding's zero bytes. */
	for (const char *p = b + strlen(b); p > b && p[-1] == '='; p--) {
		n--;
	}
	if (n < 0) {
		return (-1);
	}
	dec[n] = '\0';
	if ((colon = strchr((char *) dec, ':')) == NULL
	    || (size_t) (colon - (char *) dec) >= ulen
	    || strlen(colon + 1) >= plen) {
		return (-1);
	}
	*colon = '\0';
	strcpy(user, (char *) dec);
	strcpy(pass, colon + 1);
	return (0);
}

void
vs_request_id(const vs_req *rq, char *buf, size_t len)
{
	/*
	 * From the request itself (time, path, body), not a counter: the
	 * same request at the same virtual time gets the same bytes back.
	 */
	uint64_t h = vs_splitmix((uint64_t) rq->now);

	for (const char *p = rq->full; *p != '\0'; p++) {
		h = vs_splitmix(h ^ (unsigned char) *p);
	}
	for (size_t i = 0; i < rq->len; i++) {
		h = vs_splitmix(h ^ (unsigned char) rq->body[i]);
	}
	snprintf(buf, len, "%016llx%016llx", (unsigned long long) h,
	    (unsigned long long) vs_splitmix(h));
}

int
vs_match(const char *path, const char *pat, char caps[][64], int ncap)
{
	int k = 0;

	while (*pat != '\0') {
		if (pat[0] == '{' && pat[1] == '}') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= 64 || k >= ncap) {
				return (0);
			}
			memcpy(caps[k], path, n);
			caps[k++][n] = '\0';
			path += n;
			pat += 2;
		} else if (*pat == *path) {
			pat++;
			path++;
		} else {
			break;
		}
	}
	if (*pat == '/' && pat[1] == '\0') {
		pat++;
	}
	if (*path == '/' && path[1] == '\0') {
		path++;
	}
	return (*pat == '\0' && *path == '\0');
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return (c - '0');
	}
	if (c >= 'a' && c <= 'f') {
		return (c - 'a' + 10);
	}
	if (c >= 'A' && c <= 'F') {
		return (c - 'A' + 10);
	}
	return (-1);
}

const char *
vs_param(const vs_req *rq, const char *name, char *buf, size_t len)
{
	const char *q  = rq->query(rq->conn, name), *p, *ct;
	size_t      nl = strlen(name);

	if (q != NULL) {
		return (strlen(q) < len ? q : NULL);
	}
	ct = rq->header(rq->conn, "Content-Type");
	if (ct == NULL
	    || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		return (NULL);
	}
	for (p = rq->body; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&');
		const char *end = amp != NULL ? amp : p + strlen(p);
		if ((size_t) (end - p) > nl && strncmp(p, name, nl) == 0
		    && p[nl] == '=') {
			size_t o = 0;
			for (const char *c = p + nl + 1; c < end; c++) {
				int ch = *c;
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%' && end - c > 2
				    && hexval(c[1]) >= 0
				    && hexval(c[2]) >= 0) {
					ch = hexval(c[1]) * 16 + hexval(c[2]);
					c += 2;
				}
				if (o + 1 >= len) {
					return (NULL);
				}
				buf[o++] = (char) ch;
			}
			buf[o] = '\0';
			return (buf);
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return (NULL);
}

int
vs_refresh_check(vs_sim *sim, const vs_req *rq, vs_resp *out,
    const char *token, const char *initial)
{
	uint32_t gen;

	if (vs_grant_check(sim, rq, out) != VS_AUTH_OK) {
		return (VS_AUTH_REVOKED);
	}
	if (token == NULL || *token == '\0') {
		return (VS_AUTH_MISSING);
	}
	if (initial != NULL && vs_secret_eq(token, initial)) {
		pthread_mutex_lock(&sim->mu);
		gen = sim->gen[rq->vendor];
		pthread_mutex_unlock(&sim->mu);
		return (gen == 0 ? VS_AUTH_OK : VS_AUTH_REVOKED);
	}
	return (vs_token_check(sim, rq, out, token, VS_TOKEN_REFRESH));
}

int64_t
vs_plants_at(const vs_sim *sim, int64_t now)
{
	int64_t n;

	if (now < sim->cfg->epoch_s) {
		return (0);
	}
	n = (now - sim->cfg->epoch_s) / (sim->cfg->plant_interval_ms / 1000)
	    + 1;
	return (n < sim->cfg->plants ? n : sim->cfg->plants);
}

void
vs_oauth_error(vs_resp *out, int status, const char *err, const char *desc)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", err);
	cJSON_AddStringToObject(o, "error_description", desc);
	vs_reply_json(out, status, o);
}
