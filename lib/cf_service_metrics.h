/*
 * cf_service_metrics.h - the job runtime's in-process counters, kept for
 * the `metrics` command (proto/COMMANDS.md) and so for the gateway's
 * /metrics. Internal to the runtime, like cf_service_int.h.
 *
 * The runtime calls cf__svc_metrics_end wherever it records the end of an
 * attempt in job_runs (the same places that publish the attempt's event),
 * so the counters follow the rows this process wrote. They start at zero
 * with the process, as Prometheus counters do; what must survive a restart
 * (the last success of each job) is read from job_runs when asked.
 */
#ifndef CF_SERVICE_METRICS_H
#define CF_SERVICE_METRICS_H

#include <stdint.h>

typedef struct cf_service      cf_service;
typedef struct cf__svc_metrics cf__svc_metrics;

/* Allocates svc->metrics. Returns CF_OK or CF_ENOMEM. */
int cf__svc_metrics_open(cf_service *svc);

/* Frees svc->metrics (NULL is fine). */
void cf__svc_metrics_close(cf_service *svc);

/*
 * One attempt of job ended with status (job_runs.status: succeeded,
 * failed, timed_out, skipped, interrupted). retry: another attempt will
 * follow. started_at / finished_at are unix ms; a duration is observed
 * for succeeded, failed and timed_out attempts when both are set. Any
 * thread, any runtime lock held (the counters have their own lock, taken
 * last). An unknown job or status is ignored.
 */
void cf__svc_metrics_end(cf_service *svc, const char *job, const char *status,
    int retry, int64_t started_at, int64_t finished_at);

#endif /* CF_SERVICE_METRICS_H */
