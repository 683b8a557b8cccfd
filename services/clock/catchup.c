/*
 * catchup.c - where each job's schedule resumes when a clock starts
 * leading, and the misfire decision over the fires it finds due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "ledger.h"

int64_t
catchup_late_ms(int64_t rate)
{
	int64_t real = CATCHUP_LATE_REAL_MS * (rate > 1 ? rate : 1);
	return (real > CATCHUP_LATE_MS ? real : CATCHUP_LATE_MS);
}

int
catchup_reason_text(
    char *buf, size_t len, catchup_reason why, const char *job, int64_t into)
{
	char id[CF_FIRE_ID_LEN];

	switch (why) {
	case CATCHUP_STOPPED:
		return (snprintf(buf, len, "scheduler stopped"));
	case CATCHUP_PAUSED:
		return (snprintf(buf, len, "paused"));
	case CATCHUP_DST_GAP:
		return (snprintf(buf, len, "dst gap (policy skip)"));
	case CATCHUP_OUTSIDE_WINDOW:
		return (
		    snprintf(buf, len, "missed: outside the catch-up window"));
	case CATCHUP_COALESCED:
		if (cf_fire_id(id, sizeof(id), job, into) != CF_OK) {
			snprintf(id, sizeof(id), "%s@?", job);
		}
		return (snprintf(buf, len, "coalesced into %s", id));
	case CATCHUP_POLICY_SKIP:
		return (snprintf(buf, len, "missed (misfire policy skip)"));
	case CATCHUP_PUBLISH:
	default:
		return (snprintf(buf, len, "%s", ""));
	}
}

void
catchup_decide(catchup_fire *f, size_t n, const catchup_in *in)
{
	int64_t oldest = in->now_ms - in->window_ms;
	int64_t latest = -1;

	/*
	 * once: the latest fire in the window that could run. When the
	 * backlog was cut, it lies beyond these fires, and all of them that
	 * are in the window are coalesced into it.
	 */
	if (in->late && in->misfire == CLOCK_MISFIRE_ONCE) {
		if (in->latest >= 0) {
			latest = in->latest >= oldest ? in->latest : -1;
		} else {
			for (size_t i = n; i-- > 0;) {
				if (!f[i].gap && f[i].at >= oldest) {
					latest = f[i].at;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		f[i].trigger
		    = in->late ? CF_TRIGGER_CATCHUP : CF_TRIGGER_SCHEDULE;
		f[i].into = -1;
		if (in->stopped) {
			f[i].why = CATCHUP_STOPPED;
		} else if (in->paused) {
			f[i].why = CATCHUP_PAUSED;
		} else if (f[i].gap) {
			f[i].why = CATCHUP_DST_GAP;
		} else if (!in->late) {
			f[i].why = CATCHUP_PUBLISH;
		} else if (f[i].at < oldest) {
			f[i].why = CATCHUP_OUTSIDE_WINDOW;
		} else if (in->misfire == CLOCK_MISFIRE_SKIP) {
			f[i].why = CATCHUP_POLICY_SKIP;
		} else if (in->misfire == CLOCK_MISFIRE_ALL
		    || f[i].at == latest) {
			f[i].why = CATCHUP_PUBLISH;
		} else {
			f[i].why  = CATCHUP_COALESCED;
			f[i].into = latest;
		}
	}
}

int
catchup_cursors(
    clock_sched *s, cf_pg *pg, int64_t now_ms, char *err, size_t errlen)
{
	ledger_last *last = NULL;
	int          n, rv;

	if ((rv = ledger_last_scheduled(pg, &last, &n, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	for (int slot = 0; slot < s->n; slot++) {
		const clock_job *j    = &s->jobs[slot];
		int64_t          from = now_ms, at;
		int              gap;

		if (!j->enabled || j->walk == NULL) {
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (strcmp(last[i].job, j->name) == 0) {
				from = last[i].at;
				break;
			}
		}
		if (clock_sched_walk_next(s, slot, from, &at, &gap) != CF_OK) {
			at = -1;
		}
		clock_sched_set_cursor(s, slot, at);
		if (from < now_ms && at >= 0 && at <= now_ms) {
			char when[40];
			cf_rfc3339_format(when, sizeof(when), at, 0, 1);
			cf_log_kv(CF_LOG_INFO, j->name, NULL,
			    "resuming from the ledger: fires are due since",
			    "since", when, NULL);
		}
	}
	free(last);
	return (CF_OK);
}
