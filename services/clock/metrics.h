/*
 * metrics.h - the clock's counters for the `metrics` command
 * (proto/COMMANDS.md), which the gateway turns into Prometheus text:
 * fires published per job and trigger (catch-up fires are those with
 * trigger catchup), fires skipped per job and reason, and how late
 * scheduled ticks were published (a histogram).
 *
 * The counters are this process's: they start at zero when the clock
 * starts, and only the leader fires, so after a takeover the new leader
 * counts from zero (Prometheus sees a counter reset). Thread-safe.
 */
#ifndef CLOCK_METRICS_H
#define CLOCK_METRICS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "cf_proto.h"

typedef struct clock_metrics clock_metrics;

/* Returns CF_OK or CF_ENOMEM; free with metrics_close. */
int  metrics_open(clock_metrics **out);
void metrics_close(clock_metrics *m);

/*
 * A tick of job was published with trigger. late_ms: how long after its
 * instant it went out (real ms), observed in the lateness histogram; -1
 * for fires that are not on time by design (manual, catch-up,
 * dependency). Out of memory loses the count, never the fire.
 */
void metrics_fire(
    clock_metrics *m, const char *job, cf_trigger trigger, int64_t late_ms);

/*
 * A fire of job was recorded skipped with the ledger's reason text
 * ("paused", "coalesced into <fire_id>", ...), counted under a short
 * reason label (metrics_reason_label).
 */
void metrics_skip(clock_metrics *m, const char *job, const char *reason);

/*
 * The label for a ledger reason: paused, scheduler_stopped, dst_gap,
 * outside_window, coalesced, misfire_skip, or other. The texts carry
 * fire ids, which must not become label values (one series per fire).
 */
const char *metrics_reason_label(const char *reason);

/* Adds job's counters to o: "fires":{trigger:n}, "skipped":{reason:n}. */
void metrics_job_json(clock_metrics *m, const char *job, cJSON *o);

/*
 * Adds the clock-wide part to o: "lateness_le_ms":[bounds],
 * "lateness":{"counts":[cumulative],"count","sum_ms"}.
 */
void metrics_json(clock_metrics *m, cJSON *o);

#endif /* CLOCK_METRICS_H */
