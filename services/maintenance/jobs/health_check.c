/*
 * health_check.c - the health of the whole fleet, every five minutes.
 *
 * Each check is timed and independent: one that fails is recorded with
 * its error and the others still run, so a single run shows everything
 * that is wrong. The overall status is the worst of them: failed when
 * PostgreSQL (the system of record) is down, degraded when Redis (which
 * holds only what can be lost), a service or a disk is in trouble.
 *
 * The run itself succeeds whenever the checks could be made: "Redis is
 * down" is the check's finding, not the job's failure. The finding is the
 * run's result, which "status" and "history" show.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "cf_config.h"
#include "cf_log.h"
#include "cf_nng.h"
#include "maintenance.h"

#define DISK_WARNING_PCT 10.0
#define DISK_CRITICAL_PCT 5.0

enum { HEALTH_OK = 0, HEALTH_DEGRADED = 1, HEALTH_FAILED = 2 };

static const char *const health_status_names[]
    = { "ok", "degraded", "failed" };

/* ---- configuration ------------------------------------------------------ */

#define HEALTH_NITEMS 3

static void
health_table(cf_config_item *t, const char *dirs_def)
{
	cf_config_item items[HEALTH_NITEMS] = {
		CF_CFG_STRING("CRONFLEET_DATA_DIRS", dirs_def, 0,
		    health_check_cfg, data_dirs,
		    "Directories whose free space health-check watches "
		    "(comma list)."),
		CF_CFG_STRING("CRONFLEET_HEALTH_SERVICES", NULL, 0,
		    health_check_cfg, services,
		    "Services health-check pings besides the clock "
		    "(name=url, comma list)."),
		CF_CFG_DURATION("CRONFLEET_HEALTH_TIMEOUT", 1, 60000, "2s",
		    health_check_cfg, timeout_ms,
		    "Deadline of each health-check ping."),
	};
	memcpy(t, items, sizeof(items));
}

static void
health_die(const char *var, const char *value, const char *why)
{
	fprintf(
	    stderr, "cronfleet-maintenance: %s: '%s' %s\n", var, value, why);
	exit(2);
}

static int
health_url_ok(const char *u)
{
	return (strncmp(u, "tcp://", 6) == 0 || strncmp(u, "ipc://", 6) == 0
	    || strncmp(u, "inproc://", 9) == 0);
}

static void
health_add_peer(
    health_check_cfg *cfg, const char *name, const char *url, const char *all)
{
	for (int i = 0; i < cfg->npeers; i++) {
		if (strcmp(cfg->peers[i].name, name) == 0) {
			/* The list's own address for the clock wins. */
			snprintf(cfg->peers[i].url, sizeof(cfg->peers[i].url),
			    "%s", url);
			return;
		}
	}
	if (cfg->npeers == HEALTH_MAX_PEERS) {
		health_die("CRONFLEET_HEALTH_SERVICES", all,
		    "names too many services (at most 32)");
	}
	snprintf(cfg->peers[cfg->npeers].name,
	    sizeof(cfg->peers[cfg->npeers].name), "%s", name);
	snprintf(cfg->peers[cfg->npeers].url,
	    sizeof(cfg->peers[cfg->npeers].url), "%s", url);
	cfg->npeers++;
}

void
health_check_config_load_or_exit(
    health_check_cfg *cfg, const cf_service_opts *opts)
{
	cf_config_item t[HEALTH_NITEMS];
	char           dirs_def[1024], *copy, *tok, *save = NULL;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(dirs_def, sizeof(dirs_def), "%s,/tmp", opts->migrations_dir);
	health_table(t, dirs_def);
	cf_config_load_or_exit(t, HEALTH_NITEMS, cfg, "cronfleet-maintenance");

	if ((copy = strdup(cfg->data_dirs)) == NULL) {
		health_die("CRONFLEET_DATA_DIRS", "", "cannot be copied");
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*tok == '\0') {
			continue;
		}
		if (cfg->ndirs == HEALTH_MAX_DIRS || strlen(tok) >= 512) {
			health_die("CRONFLEET_DATA_DIRS", cfg->data_dirs,
			    "has too many or too long paths (at most 32, each "
			    "under 512 bytes)");
		}
		snprintf(cfg->dirs[cfg->ndirs++], 512, "%s", tok);
	}
	free(copy);

	health_add_peer(cfg, "clock", opts->clock_rep_url, "");
	if (cfg->services == NULL) {
		return;
	}
	if ((copy = strdup(cfg->services)) == NULL) {
		health_die(
		    "CRONFLEET_HEALTH_SERVICES", "", "cannot be copied");
	}
	save = NULL;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			free(copy);
			health_die("CRONFLEET_HEALTH_SERVICES", cfg->services,
			    "is not a comma list of name=url (e.g. "
			    "ingest=tcp://127.0.0.1:7111)");
		}
		*eq = '\0';
		if (!cf_proto_name_valid(tok) || !health_url_ok(eq + 1)
		    || strlen(eq + 1) >= 256) {
			free(copy);
			health_die("CRONFLEET_HEALTH_SERVICES", cfg->services,
			    "is not a comma list of name=url, each name of "
			    "[A-Za-z0-9_-] and each url tcp://, ipc:// or "
			    "inproc://");
		}
		health_add_peer(cfg, tok, eq + 1, cfg->services);
	}
	free(copy);
}

void
health_check_config_free(health_check_cfg *cfg)
{
	cf_config_item t[HEALTH_NITEMS];
	health_table(t, NULL);
	cf_config_free(t, HEALTH_NITEMS, cfg);
}

/* ---- the checks --------------------------------------------------------- */

static double
health_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6);
}

/* Milliseconds since t0, to a tenth. */
static double
health_ms(double t0)
{
	double ms = health_now() - t0;
	return ((double) (long long) (ms * 10.0 + 0.5) / 10.0);
}

typedef struct {
	int    status;
	cJSON *reasons;
} health_state;

static void health_flag(health_state *st, int level, const char *fmt, ...)
    CF__PRINTF(3, 4);

static void
health_flag(health_state *st, int level, const char *fmt, ...)
{
	char    buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(st->reasons, cJSON_CreateString(buf));
	if (level > st->status) {
		st->status = level;
	}
}

static cJSON *
health_postgres(cf_run *run, health_state *st)
{
	cJSON *o = cJSON_CreateObject();
	char   err[512];
	cf_pg *pg;
	double t0 = health_now();
	int    rv;

	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) == CF_OK) {
		rv = cf_pg_ping(pg, err, sizeof(err));
	}
	cJSON_AddBoolToObject(o, "ok", rv == CF_OK);
	cJSON_AddNumberToObject(o, "ms", health_ms(t0));
	if (rv != CF_OK) {
		cJSON_AddStringToObject(o, "error", err);
		health_flag(st, HEALTH_FAILED, "postgres: %s", err);
	}
	return (o);
}

static cJSON *
health_redis(cf_run *run, health_state *st)
{
	cJSON    *o = cJSON_CreateObject();
	char      err[512];
	cf_redis *r;
	double    t0 = health_now();
	int       rv;

	if ((rv = cf_run_redis(run, &r, err, sizeof(err))) == CF_OK) {
		rv = cf_redis_ping(r, err, sizeof(err));
	}
	cJSON_AddBoolToObject(o, "ok", rv == CF_OK);
	cJSON_AddNumberToObject(o, "ms", health_ms(t0));
	if (rv != CF_OK) {
		cJSON_AddStringToObject(o, "error", err);
		health_flag(st, HEALTH_DEGRADED, "redis: %s", err);
	}
	return (o);
}

static cJSON *
health_disks(const health_check_cfg *cfg, health_state *st)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; i < cfg->ndirs; i++) {
		const char    *dir = cfg->dirs[i];
		cJSON         *o   = cJSON_CreateObject();
		struct statvfs vfs;
		double         pct, total, avail;
		const char    *level = "ok";

		cJSON_AddStringToObject(o, "path", dir);
		if (statvfs(dir, &vfs) != 0 || vfs.f_blocks == 0) {
			cJSON_AddBoolToObject(o, "ok", 0);
			cJSON_AddStringToObject(o, "error", "cannot stat");
			health_flag(st, HEALTH_DEGRADED,
			    "disk %s: cannot be examined", dir);
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		/* What an unprivileged writer (PostgreSQL, us) can use. */
		total = (double) vfs.f_blocks * (double) vfs.f_frsize;
		avail = (double) vfs.f_bavail * (double) vfs.f_frsize;
		pct   = 100.0 * avail / total;
		if (pct < DISK_CRITICAL_PCT) {
			level = "critical";
		} else if (pct < DISK_WARNING_PCT) {
			level = "warning";
		}
		cJSON_AddBoolToObject(o, "ok", strcmp(level, "ok") == 0);
		cJSON_AddStringToObject(o, "level", level);
		cJSON_AddNumberToObject(o, "free_pct",
		    (double) (long long) (pct * 10.0 + 0.5) / 10.0);
		cJSON_AddNumberToObject(
		    o, "free_mb", (double) (long long) (avail / 1048576.0));
		cJSON_AddNumberToObject(
		    o, "total_mb", (double) (long long) (total / 1048576.0));
		if (strcmp(level, "ok") != 0) {
			health_flag(st, HEALTH_DEGRADED,
			    "disk %s: %.1f%% free (%s under %.0f%%)", dir, pct,
			    level,
			    strcmp(level, "critical") == 0 ? DISK_CRITICAL_PCT
			                                   : DISK_WARNING_PCT);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return (arr);
}

/* One ping; CF_OK when the service answered in time. */
static int
health_ping(cf_req *req, int timeout_ms, char *err, size_t errlen)
{
	cf_command ping = { 0 };
	ping.cmd        = "ping";
	return (cf_service_call(req, &ping, timeout_ms, NULL, err, errlen));
}

static cJSON *
health_services(const health_check_cfg *cfg, health_state *st)
{
	cJSON  *obj                   = cJSON_CreateObject();
	cf_req *req[HEALTH_MAX_PEERS] = { NULL };
	char    err[512];
	int     open_rv[HEALTH_MAX_PEERS];
	char    open_err[HEALTH_MAX_PEERS][256];

	/* Dial them all first: the connections come up side by side. */
	for (int i = 0; i < cfg->npeers; i++) {
		open_rv[i] = cf_req_open(&req[i], cfg->peers[i].url,
		    open_err[i], sizeof(open_err[i]));
	}
	for (int i = 0; i < cfg->npeers; i++) {
		const health_peer *p  = &cfg->peers[i];
		cJSON             *o  = cJSON_CreateObject();
		double             t0 = health_now();
		int                rv = open_rv[i];

		if (rv == CF_OK) {
			rv = health_ping(
			    req[i], (int) cfg->timeout_ms, err, sizeof(err));
		} else {
			snprintf(err, sizeof(err), "%s", open_err[i]);
		}
		cJSON_AddStringToObject(o, "url", p->url);
		cJSON_AddBoolToObject(o, "ok", rv == CF_OK);
		cJSON_AddNumberToObject(o, "ms", health_ms(t0));
		if (rv != CF_OK) {
			cJSON_AddStringToObject(o, "error", err);
			health_flag(st, HEALTH_DEGRADED, "service %s: %s",
			    p->name, err);
		}
		cJSON_AddItemToObject(obj, p->name, o);
		cf_req_close(req[i]);
	}
	return (obj);
}

int
health_check_run(cf_run *run, cf_job_result *res)
{
	const maintenance *m      = run->ctx;
	health_state       st     = { HEALTH_OK, cJSON_CreateArray() };
	cJSON             *out    = cJSON_CreateObject();
	cJSON             *checks = cJSON_CreateObject();

	cJSON_AddItemToObject(checks, "postgres", health_postgres(run, &st));
	cJSON_AddItemToObject(checks, "redis", health_redis(run, &st));
	cJSON_AddItemToObject(checks, "disk", health_disks(&m->health, &st));
	cJSON_AddItemToObject(
	    checks, "services", health_services(&m->health, &st));
	cJSON_AddStringToObject(out, "status", health_status_names[st.status]);
	cJSON_AddItemToObject(out, "checks", checks);
	cJSON_AddItemToObject(out, "reasons", st.reasons);
	if (st.status != HEALTH_OK) {
		char *why = cJSON_PrintUnformatted(st.reasons);
		cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
		    "fleet not healthy", "status",
		    health_status_names[st.status], "reasons", why, NULL);
		free(why);
	}
	return (cf_result_json(res, out));
}
