/*
 * main.c - cronfleet-maintenance: configuration, the jobs, run, shutdown.
 * Everything else is the job runtime's (lib/cf_service.h).
 */
#include <signal.h>
#include <stdio.h>

#include "cf_log.h"
#include "cf_service.h"
#include "maintenance.h"

/* Designated, so the policies cf_job_def adds after fn take their
 * defaults without -Wmissing-field-initializers. */
static const cf_job_def jobs[] = {
	{ .name          = "health-check",
	    .schedule    = "*/5 * * * *",
	    .description = "PostgreSQL and Redis round trips, free disk space "
	                   "and every service's liveness",
	    .priority    = "high",
	    .fn          = health_check_run },
};

int
main(void)
{
	cf_service_opts opts;
	maintenance     m   = { 0 };
	cf_service     *svc = NULL;
	char            err[1024];
	int             rv;

	/* A peer that goes away must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	cf_service_opts_load_or_exit(&opts, "maintenance",
	    "tcp://127.0.0.1:7131", "tcp://127.0.0.1:7132");
	health_check_config_load_or_exit(&m.health, &opts);
	opts.ctx = &m;

	if ((rv = cf_service_open(&svc, &opts, err, sizeof(err))) != CF_OK
	    || (rv = cf_service_register(svc, jobs,
	            sizeof(jobs) / sizeof(jobs[0]), err, sizeof(err)))
	        != CF_OK
	    || (rv = cf_service_run(svc, err, sizeof(err))) != CF_OK) {
		cf_log_kv(CF_LOG_ERROR, NULL, NULL, "maintenance failed",
		    "error", err, NULL);
	}
	cf_service_close(svc);
	health_check_config_free(&m.health);
	cf_service_opts_free(&opts);
	return (rv == CF_OK ? 0 : 1);
}
