/*
 * main.c - cronfleet-ingest: configuration, the HTTP client and keyring
 * its jobs share, the jobs, run, shutdown. Everything else is the job
 * runtime's (lib/cf_service.h), the jobs' (jobs/) and the adapters'
 * (adapters/).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cf_log.h"
#include "cf_service.h"
#include "ingest.h"

/*
 * The seeds' schedules (000: energy every 15 minutes, carbon hourly; 002:
 * orders hourly 08:00-20:00, shipping at 00, 06, 12, 18; 004: plants every
 * 15 minutes). Each is overridable at runtime (PUT .../schedule) and its
 * policies by CRONFLEET_JOB_<NAME>_*; plant-sync's schedule also by
 * PLANT_SYNC_CRON_SCHEDULE, and ENABLE_PLANT_SYNC_CRON=false leaves it to
 * manual and external-cron fires. Sync jobs overlap-skip: a slow vendor
 * must not pile runs up.
 */
static cf_job_def jobs[] = {
	{ .name           = "energy-sync",
	    .schedule     = "*/15 * * * *",
	    .description  = "Measurements from every active energy source "
	                    "(Enphase, SolarEdge, Tesla, UtilityAPI), from "
	                    "each source's cursor",
	    .priority     = "high",
	    .fn           = energy_sync_run,
	    .overlap      = CF_OVERLAP_SKIP,
	    .timeout_ms   = 10 * 60 * 1000,
	    .run_on_start = 1 },
	{ .name           = "carbon-sync",
	    .schedule     = "0 * * * *",
	    .description  = "Grid carbon intensity forecasts per site region "
	                    "from WattTime, falling back to Electricity Maps",
	    .priority     = "medium",
	    .fn           = carbon_sync_run,
	    .overlap      = CF_OVERLAP_SKIP,
	    .run_on_start = 1 },
	{ .name           = "plant-sync",
	    .schedule     = "*/15 * * * *",
	    .description  = "Plants of every active vendor of every "
	                    "organisation (Solarman, Sungrow), tokens "
	                    "refreshed as needed",
	    .priority     = "high",
	    .fn           = plant_sync_run,
	    .overlap      = CF_OVERLAP_SKIP,
	    .timeout_ms   = 10 * 60 * 1000,
	    .run_on_start = 1 },
	{ .name           = "order-sync",
	    .schedule     = "0 8-20 * * *",
	    .description  = "New orders from every active EcoManager store, "
	                    "assigned round-robin to available agents",
	    .priority     = "high",
	    .fn           = order_sync_run,
	    .overlap      = CF_OVERLAP_SKIP,
	    .timeout_ms   = 10 * 60 * 1000,
	    .run_on_start = 1 },
	{ .name          = "shipping-sync",
	    .schedule    = "0 0,6,12,18 * * *",
	    .description = "Shipping status of open orders from Maystro; only "
	                   "changed orders are updated",
	    .priority    = "medium",
	    .fn          = shipping_sync_run,
	    .overlap     = CF_OVERLAP_SKIP,
	    .timeout_ms  = 10 * 60 * 1000,
	    .run_on_start = 1 },
};

#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

static void
ingest_plant_schedule(const ingest_cfg *cfg)
{
	for (size_t i = 0; i < NJOBS; i++) {
		if (strcmp(jobs[i].name, "plant-sync") != 0) {
			continue;
		}
		if (!cfg->plant_sync_enabled) {
			jobs[i].schedule = "-";
		} else if (cfg->plant_sync_schedule != NULL) {
			jobs[i].schedule = cfg->plant_sync_schedule;
		}
	}
}

int
main(void)
{
	cf_service_opts opts;
	ingest_cfg      cfg = { 0 };
	ingest          in  = { 0 };
	cf_service     *svc = NULL;
	cf_http_config  hc;
	char            err[1024];
	int             rv;

	/* A peer that goes away must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	cf_service_opts_load_or_exit(
	    &opts, "ingest", "tcp://127.0.0.1:7111", "tcp://127.0.0.1:7112");
	ingest_config_load_or_exit(&cfg);
	rv = cf_secret_keyring_alloc(&in.keys, cfg.secret_key,
	    cfg.secret_key_previous, err, sizeof(err));
	cf_config_die_on_error(rv, err);
	cf_secret_wipe_str(cfg.secret_key);
	cf_secret_wipe_str(cfg.secret_key_previous);

	cf_http_config_defaults(&hc);
	hc.max_in_flight   = (int) cfg.max_in_flight;
	hc.timeout_ms      = (int) cfg.http_timeout_ms;
	hc.deadline_ms     = (int) cfg.http_deadline_ms;
	hc.max_attempts    = (int) cfg.http_attempts;
	hc.backoff_base_ms = (int) cfg.backoff_base_ms;
	hc.user_agent      = "cronfleet-ingest";
	if ((rv = cf_http_open(&in.http, &hc)) != CF_OK) {
		fprintf(stderr, "cronfleet-ingest: HTTP client: %s\n",
		    cf_strerror(rv));
		return (1);
	}
	in.cfg          = &cfg;
	in.schema       = opts.schema;
	in.database_url = opts.database_url;
	ingest_plant_schedule(&cfg);

	opts.ctx           = &in;
	opts.commands      = ingest_command;
	opts.commands_help = INGEST_COMMANDS_HELP;

	if ((rv = cf_service_open(&svc, &opts, err, sizeof(err))) != CF_OK
	    || (rv = cf_service_register(svc, jobs, NJOBS, err, sizeof(err)))
	        != CF_OK
	    || (rv = cf_service_run(svc, err, sizeof(err))) != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL, "ingest failed", "error",
		    err, NULL);
	}
	/* Calls in flight end within 100 ms; jobs get the grace period. */
	atomic_store(&in.stopping, 1);
	cf_service_close(svc);
	ingest_manage_close();
	cf_http_close(in.http);
	cf_secret_keyring_free(in.keys);
	ingest_config_free(&cfg);
	cf_service_opts_free(&opts);
	return (rv == CF_OK ? 0 : 1);
}
