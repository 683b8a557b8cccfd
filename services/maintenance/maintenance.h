/*
 * maintenance.h - the maintenance service's jobs and their settings.
 *
 * The service's context (cf_service_opts.ctx, cf_run.ctx in a job) is a
 * struct maintenance: one member per job that has settings of its own.
 */
#ifndef MAINTENANCE_H
#define MAINTENANCE_H

#include <stdint.h>

#include "cf_service.h"

#define HEALTH_MAX_PEERS 32
#define HEALTH_MAX_DIRS 32

/* A service whose REP socket health-check pings. */
typedef struct health_peer {
	char name[CF_PROTO_MAX_NAME + 1];
	char url[256];
} health_peer;

typedef struct health_check_cfg {
	/* From the environment (see health_check_config_load_or_exit). */
	char   *data_dirs;  /* CRONFLEET_DATA_DIRS */
	char   *services;   /* CRONFLEET_HEALTH_SERVICES */
	int64_t timeout_ms; /* CRONFLEET_HEALTH_TIMEOUT */
	/* Parsed from the above. */
	char        dirs[HEALTH_MAX_DIRS][512];
	int         ndirs;
	health_peer peers[HEALTH_MAX_PEERS]; /* the clock first */
	int         npeers;
} health_check_cfg;

typedef struct maintenance {
	health_check_cfg health;
} maintenance;

/*
 * Reads health-check's settings; an invalid value exits with status 2
 * naming the variable. opts gives the defaults: the migrations folder
 * (a data directory) and the clock's address (always pinged). Release
 * with health_check_config_free().
 *
 *	CRONFLEET_DATA_DIRS        comma list (default: migrations dir,/tmp)
 *	CRONFLEET_HEALTH_SERVICES  name=url comma list (default: none
 *	                           beyond the clock)
 *	CRONFLEET_HEALTH_TIMEOUT   deadline of each ping (default 2s)
 */
void health_check_config_load_or_exit(
    health_check_cfg *cfg, const cf_service_opts *opts);
void health_check_config_free(health_check_cfg *cfg);

/*
 * health-check: PostgreSQL and Redis round trips, free space of the data
 * directories, and a ping to every service. Its result is
 * {"status":"ok"|"degraded"|"failed","checks":{...},"reasons":[...]};
 * the run succeeds whenever the checks could be made.
 */
int health_check_run(cf_run *run, cf_job_result *res);

#endif /* MAINTENANCE_H */
