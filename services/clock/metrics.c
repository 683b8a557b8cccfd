/*
 * metrics.c - the clock's counters (metrics.h).
 *
 * Per-job counters sit in a small hash table keyed by job name, so that a
 * catch-up pass of many thousands of fires costs a hash and a compare
 * per fire, not a walk of every job. Jobs are never removed from the
 * clock, so neither are their counters.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "metrics.h"

#define METRICS_BUCKETS 256

/*
 * Upper bounds of the lateness buckets, in ms. A healthy clock publishes
 * within a few milliseconds of the instant; seconds mean a stalled loop
 * or a slow ledger.
 */
static const int64_t late_le_ms[] = { 1, 5, 10, 25, 50, 100, 250, 500, 1000,
	2500, 5000, 10000, 30000, 60000 };
#define NLATE (sizeof(late_le_ms) / sizeof(late_le_ms[0]))

/* Reason labels, in metrics_reason_label's order; "other" last. */
static const char *const reason_label[] = { "paused", "scheduler_stopped",
	"dst_gap", "outside_window", "coalesced", "misfire_skip", "other" };
#define NREASON (sizeof(reason_label) / sizeof(reason_label[0]))

/* Triggers, by cf_trigger value. */
#define NTRIGGER 4

typedef struct job_node {
	struct job_node *next;
	uint64_t         fires[NTRIGGER];
	uint64_t         skipped[NREASON];
	char             name[CF_PROTO_MAX_NAME + 1];
} job_node;

struct clock_metrics {
	pthread_mutex_t mu;
	job_node       *b[METRICS_BUCKETS];
	uint64_t        late[NLATE]; /* one per observation, not cumulative */
	uint64_t        late_count;
	int64_t         late_sum_ms;
};

int
metrics_open(clock_metrics **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		return (CF_ENOMEM);
	}
	pthread_mutex_init(&(*out)->mu, NULL);
	return (CF_OK);
}

void
metrics_close(clock_metrics *m)
{
	if (m == NULL) {
		return;
	}
	for (size_t i = 0; i < METRICS_BUCKETS; i++) {
		while (m->b[i] != NULL) {
			job_node *n = m->b[i];
			m->b[i]     = n->next;
			free(n);
		}
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* FNV-1a: job names are short and chosen by people, not attackers. */
static size_t
metrics_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++) {
		h = (h ^ (unsigned char) *s) * 16777619u;
	}
	return (h % METRICS_BUCKETS);
}

/* The node of job, created when add; NULL if none. With m->mu held. */
static job_node *
metrics_find(clock_metrics *m, const char *job, int add)
{
	size_t    h = metrics_hash(job);
	job_node *n;

	for (n = m->b[h]; n != NULL; n = n->next) {
		if (strcmp(n->name, job) == 0) {
			return (n);
		}
	}
	if (!add || strlen(job) > CF_PROTO_MAX_NAME
	    || (n = calloc(1, sizeof(*n))) == NULL) {
		return (NULL);
	}
	snprintf(n->name, sizeof(n->name), "%s", job);
	n->next = m->b[h];
	m->b[h] = n;
	return (n);
}

void
metrics_fire(
    clock_metrics *m, const char *job, cf_trigger trigger, int64_t late_ms)
{
	job_node *n;

	if (m == NULL || job == NULL) {
		return;
	}
	pthread_mutex_lock(&m->mu);
	if ((n = metrics_find(m, job, 1)) != NULL && (int) trigger >= 0
	    && (int) trigger < NTRIGGER) {
		n->fires[trigger]++;
	}
	if (late_ms >= 0) {
		size_t b = 0;
		while (b < NLATE && late_ms > late_le_ms[b]) {
			b++;
		}
		if (b < NLATE) {
			m->late[b]++;
		}
		m->late_count++;
		m->late_sum_ms += late_ms;
	}
	pthread_mutex_unlock(&m->mu);
}

const char *
metrics_reason_label(const char *reason)
{
	/* The texts are catchup_reason_text's and cmd_chain's. */
	static const struct {
		const char *prefix;
		size_t      label;
	} map[] = {
		{ "paused", 0 },
		{ "scheduler stopped", 1 },
		{ "dst gap", 2 },
		{ "missed: outside the catch-up window", 3 },
		{ "coalesced", 4 },
		{ "missed (misfire policy skip)", 5 },
	};

	for (size_t i = 0; reason != NULL && i < sizeof(map) / sizeof(map[0]);
	     i++) {
		if (strncmp(reason, map[i].prefix, strlen(map[i].prefix))
		    == 0) {
			return (reason_label[map[i].label]);
		}
	}
	return (reason_label[NREASON - 1]);
}

void
metrics_skip(clock_metrics *m, const char *job, const char *reason)
{
	const char *label = metrics_reason_label(reason);
	job_node   *n;

	if (m == NULL || job == NULL) {
		return;
	}
	pthread_mutex_lock(&m->mu);
	if ((n = metrics_find(m, job, 1)) != NULL) {
		for (size_t i = 0; i < NREASON; i++) {
			if (reason_label[i] == label) {
				n->skipped[i]++;
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
}

void
metrics_job_json(clock_metrics *m, const char *job, cJSON *o)
{
	job_node copy = { 0 }, *n;
	cJSON   *f, *s;

	if (m != NULL) {
		pthread_mutex_lock(&m->mu);
		if ((n = metrics_find(m, job, 0)) != NULL) {
			copy = *n;
		}
		pthread_mutex_unlock(&m->mu);
	}
	f = cJSON_AddObjectToObject(o, "fires");
	for (int t = 0; t < NTRIGGER; t++) {
		cJSON_AddNumberToObject(f, cf_trigger_name((cf_trigger) t),
		    (double) copy.fires[t]);
	}
	s = cJSON_AddObjectToObject(o, "skipped");
	for (size_t i = 0; i < NREASON; i++) {
		cJSON_AddNumberToObject(
		    s, reason_label[i], (double) copy.skipped[i]);
	}
}

void
metrics_json(clock_metrics *m, cJSON *o)
{
	uint64_t late[NLATE] = { 0 }, count = 0, cum = 0;
	int64_t  sum = 0;
	cJSON   *le, *h, *counts;

	if (m != NULL) {
		pthread_mutex_lock(&m->mu);
		memcpy(late, m->late, sizeof(late));
		count = m->late_count;
		sum   = m->late_sum_ms;
		pthread_mutex_unlock(&m->mu);
	}
	le = cJSON_AddArrayToObject(o, "lateness_le_ms");
	for (size_t b = 0; b < NLATE; b++) {
		cJSON_AddItemToArray(
		    le, cJSON_CreateNumber((double) late_le_ms[b]));
	}
	h      = cJSON_AddObjectToObject(o, "lateness");
	counts = cJSON_AddArrayToObject(h, "counts");
	for (size_t b = 0; b < NLATE; b++) {
		cum += late[b];
		cJSON_AddItemToArray(counts, cJSON_CreateNumber((double) cum));
	}
	cJSON_AddNumberToObject(h, "count", (double) count);
	cJSON_AddNumberToObject(h, "sum_ms", (double) sum);
}
