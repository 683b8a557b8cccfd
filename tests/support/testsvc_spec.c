/*
 * testsvc_spec.c - parses CF_TESTSVC_JOBS for cronfleet-testsvc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_config.h"
#include "testsvc_spec.h"

/* A duration as a number of milliseconds, or as cf_config writes them
 * ("90m", "1h30m", "500ms"). */
static int
spec_ms(const char *v, int64_t *out)
{
	char     *end;
	long long n;

	if (*v >= '0' && *v <= '9') {
		errno = 0;
		n     = strtoll(v, &end, 10);
		if (*end == '\0' && errno == 0) {
			*out = n;
			return (0);
		}
	}
	return (cf_config_parse_duration(v, out) == CF_OK ? 0 : -1);
}

static int
spec_word(const char *v, const char *const *names, int *out)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return (0);
		}
	}
	return (-1);
}

static int
spec_uint(const char *v, long max, long *out)
{
	char *end;
	long  n;

	errno = 0;
	n     = strtol(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n > max) {
		return (-1);
	}
	*out = n;
	return (0);
}

/* One key=value of a job. */
static int
spec_option(
    tsv_job *j, const char *key, const char *v, char *err, size_t errlen)
{
	static const char *const misfire[] = { "once", "all", "skip", NULL };
	static const char *const overlap[]
	    = { "skip", "queue_one", "allow", NULL };
	int64_t ms;
	long    n;
	int     w;

	if (strcmp(key, "misfire") == 0 && spec_word(v, misfire, &w) == 0) {
		j->def.misfire = (cf_misfire) w;
	} else if (strcmp(key, "overlap") == 0
	    && spec_word(v, overlap, &w) == 0) {
		j->def.overlap = (cf_overlap) w;
	} else if (strcmp(key, "window") == 0 && spec_ms(v, &ms) == 0
	    && ms > 0) {
		j->def.catchup_window_ms = ms;
	} else if (strcmp(key, "timeout") == 0 && spec_ms(v, &ms) == 0
	    && ms > 0) {
		j->def.timeout_ms = ms;
	} else if (strcmp(key, "retry_base") == 0 && spec_ms(v, &ms) == 0
	    && ms > 0) {
		j->def.retry_base_ms = ms;
	} else if (strcmp(key, "work") == 0 && spec_ms(v, &ms) == 0) {
		j->work_ms = ms;
	} else if (strcmp(key, "retries") == 0
	    && spec_uint(v, CF_RETRIES_MAX, &n) == 0) {
		/* As in the environment: 0 is none. */
		j->def.retries = n == 0 ? CF_RETRIES_NONE : (int) n;
	} else if (strcmp(key, "fail") == 0
	    && spec_uint(v, 1000000, &n) == 0) {
		j->fail = (uint32_t) n;
	} else if (strcmp(key, "permanent") == 0 && spec_uint(v, 1, &n) == 0) {
		j->permanent = (int) n;
	} else if (strcmp(key, "hang") == 0 && spec_uint(v, 1, &n) == 0) {
		j->hang = (int) n;
	} else if (strcmp(key, "failp") == 0) {
		char  *end;
		double p = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || !(p >= 0.0 && p <= 1.0)) {
			goto bad;
		}
		j->failp = p;
	} else if (strcmp(key, "priority") == 0 && strlen(v) < 16) {
		snprintf(j->priority, sizeof(j->priority), "%s", v);
		j->def.priority = j->priority;
	} else if (strcmp(key, "after") == 0 && cf_proto_name_valid(v)) {
		snprintf(j->after, sizeof(j->after), "%s", v);
		j->def.after = j->after;
	} else if (strcmp(key, "tz") == 0 && *v != '\0' && strlen(v) < 64) {
		snprintf(j->tz, sizeof(j->tz), "%s", v);
		j->def.tz = j->tz;
	} else {
		goto bad;
	}
	return (0);
bad:
	snprintf(err, errlen,
	    "job '%s': bad option %s=%s (keys: misfire, window, overlap, "
	    "timeout, priority, retries, retry_base, after, tz, work, fail, "
	    "failp, permanent, hang)",
	    j->name, key, v);
	return (-1);
}

/* One "name|schedule|options" into j. */
static int
spec_job(tsv_job *j, char *text, char *err, size_t errlen)
{
	char *name = text, *sched, *opts, *save = NULL, *kv;

	memset(j, 0, sizeof(*j));
	if ((sched = strchr(name, '|')) == NULL) {
		snprintf(err, errlen,
		    "'%.60s': expected name|schedule[|options]", text);
		return (-1);
	}
	*sched++ = '\0';
	if ((opts = strchr(sched, '|')) != NULL) {
		*opts++ = '\0';
	}
	if (!cf_proto_name_valid(name) || *sched == '\0'
	    || strlen(sched) >= sizeof(j->schedule)) {
		snprintf(err, errlen,
		    "'%.60s': needs a job name ([A-Za-z0-9_-]) and a schedule "
		    "(or -)",
		    name);
		return (-1);
	}
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->schedule, sizeof(j->schedule), "%s", sched);
	j->def.name        = j->name;
	j->def.schedule    = j->schedule;
	j->def.description = "a job of cronfleet-testsvc";
	for (kv = opts != NULL ? strtok_r(opts, ",", &save) : NULL; kv != NULL;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL) {
			snprintf(err, errlen,
			    "job '%s': '%.40s' is not key=value", j->name, kv);
			return (-1);
		}
		*eq = '\0';
		if (spec_option(j, kv, eq + 1, err, errlen) != 0) {
			return (-1);
		}
	}
	return (0);
}

int
tsv_parse(const char *spec, tsv_job **out, size_t *n, char *err, size_t errlen)
{
	char    *copy, *save = NULL, *one;
	tsv_job *jobs;
	size_t   cap = 1, k = 0;

	*out = NULL;
	*n   = 0;
	if (spec == NULL || *spec == '\0') {
		snprintf(
		    err, errlen, "no jobs (name|schedule|key=val,...;...)");
		return (-1);
	}
	for (const char *p = spec; *p; p++) {
		cap += *p == ';';
	}
	if ((copy = strdup(spec)) == NULL
	    || (jobs = calloc(cap, sizeof(*jobs))) == NULL) {
		free(copy);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (one = strtok_r(copy, ";", &save); one != NULL;
	     one = strtok_r(NULL, ";", &save)) {
		if (spec_job(&jobs[k], one, err, errlen) != 0) {
			free(copy);
			free(jobs);
			return (-1);
		}
		k++;
	}
	free(copy);
	if (k == 0) {
		free(jobs);
		snprintf(
		    err, errlen, "no jobs (name|schedule|key=val,...;...)");
		return (-1);
	}
	/* def points into each element: fix the pointers now the array
	 * stays where it is. */
	for (size_t i = 0; i < k; i++) {
		tsv_job *j      = &jobs[i];
		j->def.name     = j->name;
		j->def.schedule = j->schedule;
		j->def.tz       = j->tz[0] ? j->tz : NULL;
		j->def.priority = j->priority[0] ? j->priority : NULL;
		j->def.after    = j->after[0] ? j->after : NULL;
	}
	*out = jobs;
	*n   = k;
	return (0);
}
