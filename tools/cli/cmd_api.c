/*
 * cmd_api.c - the commands over the gateway's REST API: one request,
 * then a table for people or, with --json, the server's answer as it
 * came (one JSON document: the {"success":true,"data":...} envelope, so
 * history's and audit's "page" cursor is not lost).
 *
 * Arguments are checked before anything is sent: a usage error never
 * reaches the gateway (and is never an action taken by mistake).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf_time.h"
#include "cli.h"
#include "cli_http.h"

#define API_MAX_POS 3
#define API_MAX_OPTS 8

/* trigger --wait: seconds to wait for the run, unless --timeout says. */
#define TRIGGER_WAIT_DEFAULT 600

/* What a command was given: its positional words and --name values. */
typedef struct api_args {
	int         json;
	const char *pos[API_MAX_POS];
	size_t      npos;
	const char *opt_name[API_MAX_OPTS]; /* into the command's list */
	size_t      opt_len[API_MAX_OPTS];
	const char *opt_val[API_MAX_OPTS]; /* into argv */
	size_t      nopts;
} api_args;

typedef struct api_cmd {
	const char *name;
	size_t      minpos, maxpos;
	const char *opts; /* its --options: "--name" takes a value,
	                   * "--name!" is a flag */
	const char *usage;
	int (*run)(const cli_gateway *gw, const api_args *a);
} api_cmd;

/* The value of option name, or NULL (the last one given wins). */
static const char *
api_opt(const api_args *a, const char *name)
{
	const char *v = NULL;
	size_t      n = strlen(name);

	for (size_t i = 0; i < a->nopts; i++) {
		if (a->opt_len[i] == n
		    && strncmp(a->opt_name[i], name, n) == 0) {
			v = a->opt_val[i];
		}
	}
	return (v);
}

/*
 * Where the space-separated list has the option w (n bytes), or NULL;
 * *flag is set when the list marks it "--name!" (it takes no value).
 */
static const char *
api_listed(const char *list, const char *w, size_t n, int *flag)
{
	const char *p = list;

	while ((p = strstr(p, "--")) != NULL) {
		size_t len = strcspn(p, " ");
		int    f   = p[len - 1] == '!';
		if (len - (size_t) f == n && strncmp(p, w, n) == 0) {
			*flag = f;
			return (p);
		}
		p += len;
	}
	return (NULL);
}

static int
api_parse(const api_cmd *c, int argc, char **argv, api_args *a)
{
	int rest = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *name;
		size_t      n;
		int         flag = 0;

		if (!rest && strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (!rest && strcmp(arg, "--") == 0) {
			/* Everything after is positional: an expression
			 * such as "--5 * * * *" is not an option. */
			rest = 1;
			continue;
		}
		if (rest || strncmp(arg, "--", 2) != 0) {
			if (a->npos == API_MAX_POS) {
				return (cli_usage_error(
				    "usage: cronfleet %s", c->usage));
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		eq = strchr(arg, '=');
		n  = eq != NULL ? (size_t) (eq - arg) : strlen(arg);
		if ((name = api_listed(c->opts, arg, n, &flag)) == NULL) {
			return (cli_usage_error("%s: unknown option '%.*s' "
			                        "(usage: cronfleet %s)",
			    c->name, (int) (n < 40 ? n : 40), arg, c->usage));
		}
		if (a->nopts == API_MAX_OPTS) {
			return (
			    cli_usage_error("%s: too many options", c->name));
		}
		a->opt_name[a->nopts] = name;
		a->opt_len[a->nopts]  = n;
		if (flag && eq != NULL) {
			return (cli_usage_error(
			    "%s: %.*s takes no value", c->name, (int) n, arg));
		} else if (flag) {
			a->opt_val[a->nopts] = "1";
		} else if (eq != NULL) {
			a->opt_val[a->nopts] = eq + 1;
		} else if (i + 1 < argc) {
			a->opt_val[a->nopts] = argv[++i];
		} else {
			return (cli_usage_error(
			    "%s: %.*s needs a value", c->name, (int) n, arg));
		}
		a->nopts++;
	}
	if (a->npos < c->minpos || a->npos > c->maxpos) {
		return (cli_usage_error("usage: cronfleet %s", c->usage));
	}
	return (CLI_OK);
}

/* A positive integer option (at most max), or CLI_USAGE. */
static int
api_count(
    const api_args *a, const char *cmd, const char *name, long max, long *out)
{
	const char *v = api_opt(a, name);
	char       *end;

	*out = 0;
	if (v == NULL) {
		return (CLI_OK);
	}
	errno = 0;
	*out  = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *out < 1 || *out > max) {
		return (cli_usage_error("%s: %s: '%.40s' is not a number from "
		                        "1 to %ld",
		    cmd, name, v, max));
	}
	return (CLI_OK);
}

/*
 * --since as the server takes it (RFC 3339): given so, it goes as it is
 * (the server judges it); "90m", "2h", "1d" (also s, w) mean that long
 * before now, for people. since is "" when the option is absent.
 */
static int
api_since(const api_args *a, const char *cmd, char *since, size_t len)
{
	const char     *v = api_opt(a, "--since");
	char           *end;
	long            n;
	int64_t         unit;
	struct timespec now;

	since[0] = '\0';
	if (v == NULL) {
		return (CLI_OK);
	}
	errno = 0;
	n     = strtol(v, &end, 10);
	if (end == v || errno != 0 || n < 0 || end[0] == '\0' || end[1] != '\0'
	    || strchr("smhdw", end[0]) == NULL) {
		/* Not a duration: the server's to judge (RFC 3339). */
		snprintf(since, len, "%s", v);
		return (CLI_OK);
	}
	unit = end[0] == 's' ? 1000
	    : end[0] == 'm'  ? 60000
	    : end[0] == 'h'  ? 3600000
	    : end[0] == 'd'  ? 86400000
	                     : 7 * 86400000LL;
	if (n > 100 * 366 * 86400000LL / unit) {
		return (cli_usage_error(
		    "%s: --since: '%s' is too long ago", cmd, v));
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (cf_rfc3339_format(since, len,
	        (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000
	            - (int64_t) n * unit,
	        0, 1)
	    < 0) {
		return (cli_usage_error("%s: --since: '%s'", cmd, v));
	}
	return (CLI_OK);
}

/* A path with a job's name escaped in: prefix + job + suffix. */
static int
api_job_path(
    cli_buf *b, const char *prefix, const char *job, const char *suffix)
{
	if (cli_buf_add(b, prefix, strlen(prefix)) != 0
	    || cli_escape_add(b, job) != 0
	    || cli_buf_add(b, suffix, strlen(suffix)) != 0) {
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

/* A path and query built from options; "" when nothing was added. */
static const char *
api_path(const cli_buf *b)
{
	return (b->p != NULL ? b->p : "");
}

static const char *
api_str(const cJSON *o, const char *name)
{
	return (
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name)));
}

/* ---- jobs, pause, resume, schedule: job rows ------------------------ */

static const char *const job_headers[] = { "JOB", "SERVICE", "SCHEDULE", "TZ",
	"STATE", "NEXT FIRE", "DESCRIPTION" };
#define JOB_COLS (sizeof(job_headers) / sizeof(job_headers[0]))

static const char *
job_state(const cJSON *job)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(job, "paused"))) {
		return ("paused");
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(job, "enabled"))) {
		return ("disabled");
	}
	return ("active");
}

static cli_table *
job_table(void)
{
	cli_table *t = cli_table_new(JOB_COLS, job_headers);
	cli_table_limit(t, 6, 60);
	return (t);
}

/*
 * A schedule changed with a zone carries it as a "CRON_TZ=<zone> "
 * prefix, which wins over the job's registered "tz": the table shows
 * the zone in force in its column and the expression alone (--json
 * keeps the server's fields as they are).
 */
static void
job_row(cli_table *t, const cJSON *job)
{
	const char *sched = api_str(job, "schedule");
	const char *tz    = api_str(job, "tz");
	char        zone[128];

	if (sched != NULL
	    && (strncmp(sched, "CRON_TZ=", 8) == 0
	        || strncmp(sched, "TZ=", 3) == 0)) {
		const char *z  = strchr(sched, '=') + 1;
		size_t      zn = strcspn(z, " \t");
		if (z[zn] != '\0' && zn < sizeof(zone)) {
			memcpy(zone, z, zn);
			zone[zn] = '\0';
			tz       = zone;
			sched    = z + zn + strspn(z + zn, " \t");
		}
	}
	{
		const char *cells[JOB_COLS] = {
			api_str(job, "job"),
			api_str(job, "service"),
			sched,
			tz,
			job_state(job),
			api_str(job, "next_fire"),
			api_str(job, "description"),
		};
		cli_table_row(t, cells);
	}
}

static int
run_jobs(const cli_gateway *gw, const api_args *a)
{
	cli_answer   ans;
	const cJSON *job;
	cli_table   *t;
	int          rv;

	if ((rv = cli_request(gw, "GET", "/api/v1/jobs", NULL, &ans))
	    != CLI_OK) {
		cli_answer_fini(&ans);
		return (rv);
	}
	if (a->json) {
		cli_answer_print(&ans);
	} else {
		t = job_table();
		cJSON_ArrayForEach(job, ans.data) { job_row(t, job); }
		cli_table_print(t, stdout);
	}
	cli_answer_fini(&ans);
	return (CLI_OK);
}

/* pause, resume, schedule: an action whose answer is the job. */
static int
job_action(const cli_gateway *gw, const api_args *a, const char *method,
    const char *path, const cJSON *body, const char *done)
{
	cli_answer ans;
	cli_table *t;
	int        rv = cli_request(gw, method, path, body, &ans);

	if (rv == CLI_OK) {
		if (a->json) {
			cli_answer_print(&ans);
		} else {
			printf("%s %s\n", done, a->pos[0]);
			t = job_table();
			job_row(t, ans.data);
			cli_table_print(t, stdout);
		}
	}
	cli_answer_fini(&ans);
	return (rv);
}

static int
run_pause_resume(const cli_gateway *gw, const api_args *a, const char *verb,
    const char *done)
{
	cli_buf path = { 0 };
	char    suffix[16];
	int     rv;

	snprintf(suffix, sizeof(suffix), "/%s", verb);
	if ((rv = api_job_path(&path, "/api/v1/jobs/", a->pos[0], suffix))
	    == CLI_OK) {
		rv = job_action(gw, a, "POST", path.p, NULL, done);
	}
	cli_buf_fini(&path);
	return (rv);
}

static int
run_pause(const cli_gateway *gw, const api_args *a)
{
	return (run_pause_resume(gw, a, "pause", "paused"));
}

static int
run_resume(const cli_gateway *gw, const api_args *a)
{
	return (run_pause_resume(gw, a, "resume", "resumed"));
}

static int
run_schedule(const cli_gateway *gw, const api_args *a)
{
	cli_buf     path = { 0 };
	cJSON      *body = cJSON_CreateObject();
	const char *tz   = api_opt(a, "--tz");
	int         rv;

	if (body == NULL
	    || cJSON_AddStringToObject(body, "schedule", a->pos[1]) == NULL
	    || (tz != NULL
	        && cJSON_AddStringToObject(body, "timezone", tz) == NULL)) {
		cJSON_Delete(body);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	if ((rv = api_job_path(&path, "/api/v1/jobs/", a->pos[0], "/schedule"))
	    == CLI_OK) {
		rv = job_action(gw, a, "PUT", path.p, body, "rescheduled");
	}
	cJSON_Delete(body);
	cli_buf_fini(&path);
	return (rv);
}

/* ---- status ------------------------------------------------------- */

/* "key=value key=value" of an object's scalar members, for one line. */
static void
status_members(const cJSON *o, char *buf, size_t len)
{
	const cJSON *m;
	size_t       used = 0;
	char         num[32];

	buf[0] = '\0';
	cJSON_ArrayForEach(m, o)
	{
		const char *v = cli_cell(o, m->string, num, sizeof(num));
		int         n;
		if (v == NULL || m->string == NULL) {
			continue;
		}
		n = snprintf(buf + used, len - used, "%s%s=%s",
		    used ? " " : "", m->string, v);
		if (n < 0 || (size_t) n >= len - used) {
			break;
		}
		used += (size_t) n;
	}
}

static int
run_status(const cli_gateway *gw, const api_args *a)
{
	static const char *const hdr[] = { "JOB", "SERVICE", "STATE",
		"NEXT FIRE", "LAST RUN", "STATUS", "DURATION", "ERROR" };
	cli_answer               ans;
	const cJSON             *d, *m, *job;
	cli_table               *t;
	char                     line[512], num[32];
	int                      rv;

	if ((rv = cli_request(
	         gw, "GET", "/api/v1/scheduler/status", NULL, &ans))
	    != CLI_OK) {
		cli_answer_fini(&ans);
		return (rv);
	}
	if (a->json) {
		cli_answer_print(&ans);
		cli_answer_fini(&ans);
		return (CLI_OK);
	}
	d = ans.data;
	/* "status" is the scheduler's word for itself; "running" the
	 * same as a boolean, for older gateways. */
	if (api_str(d, "status") != NULL) {
		printf("scheduler  %s", api_str(d, "status"));
	} else {
		printf("scheduler  %s",
		    cJSON_IsTrue(
		        cJSON_GetObjectItemCaseSensitive(d, "running"))
		        ? "running"
		        : "stopped");
	}
	if (api_str(d, "started_at") != NULL) {
		printf(" (started %s)", api_str(d, "started_at"));
	}
	putchar('\n');
	m = cJSON_GetObjectItemCaseSensitive(d, "leader");
	if (cJSON_IsObject(m)) {
		status_members(m, line, sizeof(line));
		printf("leader     %s\n", line[0] ? line : "-");
	}
	m = cJSON_GetObjectItemCaseSensitive(d, "services");
	if (cJSON_IsObject(m)) {
		const cJSON *s;
		fputs("services  ", stdout);
		cJSON_ArrayForEach(s, m)
		{
			const char *v = cJSON_GetStringValue(s);
			/* "ok", or what went wrong with the service. */
			if (v != NULL && strcmp(v, "ok") == 0) {
				printf(" %s ok", s->string);
			} else {
				printf(" %s: %.200s", s->string,
				    v != NULL ? v : "?");
			}
			if (s->next != NULL) {
				putchar(',');
			}
		}
		putchar('\n');
	}
	putchar('\n');
	t = cli_table_new(sizeof(hdr) / sizeof(hdr[0]), hdr);
	cli_table_limit(t, 7, 60);
	cJSON_ArrayForEach(job, cJSON_GetObjectItemCaseSensitive(d, "jobs"))
	{
		const cJSON *run
		    = cJSON_GetObjectItemCaseSensitive(job, "last_run");
		const char *cells[8] = {
			api_str(job, "job"),
			api_str(job, "service"),
			job_state(job),
			api_str(job, "next_fire"),
			api_str(run, "started_at"),
			api_str(run, "status"),
			cli_run_duration(run, num, sizeof(num)),
			api_str(run, "error"),
		};
		cli_table_row(t, cells);
	}
	cli_table_print(t, stdout);
	cli_answer_fini(&ans);
	return (CLI_OK);
}

/* ---- next ----------------------------------------------------------- */

static void
next_rows(cli_table *t, const cJSON *job)
{
	const cJSON *fires = cJSON_GetObjectItemCaseSensitive(job, "fires");
	const cJSON *f;

	if (cJSON_GetArraySize(fires) == 0) {
		const char *cells[3] = { api_str(job, "job"), NULL,
			strcmp(job_state(job), "active") == 0
			    ? "(no upcoming fire)"
			    : job_state(job) };
		cli_table_row(t, cells);
		return;
	}
	cJSON_ArrayForEach(f, fires)
	{
		const char *cells[3] = { api_str(job, "job"), api_str(f, "at"),
			api_str(f, "dst") };
		cli_table_row(t, cells);
	}
}

static int
run_next(const cli_gateway *gw, const api_args *a)
{
	static const char *const hdr[] = { "JOB", "AT", "DST" };
	cli_buf                  path  = { 0 };
	cli_answer               ans;
	const cJSON             *job;
	cli_table               *t;
	long                     n;
	char                     num[24];
	int                      rv;

	if ((rv = api_count(a, "next", "--count", 100, &n)) != CLI_OK) {
		return (rv);
	}
	snprintf(num, sizeof(num), "%ld", n);
	if (cli_buf_add(&path, "/api/v1/scheduler/next-sync-times", 33) != 0
	    || cli_query_add(&path, "job", a->npos > 0 ? a->pos[0] : NULL) != 0
	    || cli_query_add(&path, "n", n > 0 ? num : NULL) != 0) {
		cli_buf_fini(&path);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	rv = cli_request(gw, "GET", api_path(&path), NULL, &ans);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK) {
		t = cli_table_new(3, hdr);
		/* One job's object, or an array of every job. */
		if (cJSON_IsArray(ans.data)) {
			cJSON_ArrayForEach(job, ans.data)
			{
				next_rows(t, job);
			}
		} else {
			next_rows(t, ans.data);
		}
		cli_table_print(t, stdout);
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* ---- trigger, whoami ------------------------------------------------ */

/* --wait: the fire's final run, from the job's history; NULL until the
 * service has settled it (a run with "final": true). */
static const cJSON *
wait_find(const cJSON *runs, const char *fire)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, runs)
	{
		const char *f = api_str(r, "fire_id");
		if (f != NULL && strcmp(f, fire) == 0
		    && cJSON_IsTrue(
		        cJSON_GetObjectItemCaseSensitive(r, "final"))) {
			return (r);
		}
	}
	return (NULL);
}

static void
wait_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) { }
}

static int64_t
wait_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * trigger --wait: polls the job's history until the fire's final run
 * is there (retries included), at most timeout_s. The exit status is the
 * run's: 0 when it succeeded, 1 otherwise (its error on stderr).
 */
static int
trigger_wait(const cli_gateway *gw, const api_args *a, const cJSON *fired,
    long timeout_s)
{
	const char  *job  = api_str(fired, "job");
	const char  *fire = api_str(fired, "fire_id");
	const cJSON *run  = NULL;
	cli_buf      path = { 0 };
	cli_answer   ans;
	int64_t      end = wait_now_ms() + (int64_t) timeout_s * 1000;
	long         ms  = 200;
	int64_t      since_ms;
	char         since[40] = "";
	const char  *at;
	int          rv;

	memset(&ans, 0, sizeof(ans));
	if (job == NULL || fire == NULL) {
		fputs(
		    "cronfleet: the gateway's answer has no job or fire_id\n",
		    stderr);
		return (CLI_FAIL);
	}
	/* Only runs since the fire (a minute early, for hosts whose clocks
	 * differ a little): a busy job's newer runs cannot push ours off
	 * the page. */
	at = api_str(fired, "scheduled_for");
	if (at != NULL && cf_rfc3339_parse(at, &since_ms) == 0
	    && cf_rfc3339_format(since, sizeof(since), since_ms - 60000, 0, 1)
	        < 0) {
		since[0] = '\0';
	}
	if (cli_buf_add(&path, "/api/v1/scheduler/history", 25) != 0
	    || cli_query_add(&path, "job", job) != 0
	    || cli_query_add(&path, "since", since[0] ? since : NULL) != 0
	    || cli_query_add(&path, "limit", "100") != 0) {
		cli_buf_fini(&path);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	for (;;) {
		cli_answer_fini(&ans);
		if ((rv = cli_request(gw, "GET", path.p, NULL, &ans))
		    != CLI_OK) {
			cli_buf_fini(&path);
			cli_answer_fini(&ans);
			return (rv);
		}
		if ((run = wait_find(ans.data, fire)) != NULL
		    || wait_now_ms() >= end) {
			break;
		}
		wait_sleep(ms);
		/* Quick for a short job, gentle with a long one. */
		ms = ms < 2000 ? ms * 2 : 2000;
	}
	cli_buf_fini(&path);
	if (run == NULL) {
		fprintf(stderr,
		    "cronfleet: %s: fire %s not finished after "
		    "%ld s\n",
		    job, fire, timeout_s);
		cli_answer_fini(&ans);
		return (CLI_FAIL);
	}
	{
		const char *status = api_str(run, "status");
		const char *err    = api_str(run, "error");
		int  ok = status != NULL && strcmp(status, "succeeded") == 0;
		char num[32], dur[32];

		if (a->json) {
			/* One document: what was fired and how it ended. */
			cJSON *o = cJSON_CreateObject(), *d;
			char  *text;
			cJSON_AddBoolToObject(o, "success", ok);
			d = cJSON_AddObjectToObject(o, "data");
			cJSON_AddItemToObject(
			    d, "trigger", cJSON_Duplicate(fired, 1));
			cJSON_AddItemToObject(
			    d, "run", cJSON_Duplicate(run, 1));
			if (!ok) {
				cJSON_AddStringToObject(o, "error",
				    err != NULL ? err
				                : "the run did not succeed");
			}
			if ((text = cJSON_PrintUnformatted(o)) != NULL) {
				puts(text);
				free(text);
			}
			cJSON_Delete(o);
		} else {
			const char *att
			    = cli_cell(run, "attempt", num, sizeof(num));
			printf("%s: %s (attempt %s, %s)\n", job,
			    status ? status : "?", att ? att : "?",
			    cli_run_duration(run, dur, sizeof(dur)) ? dur
			                                            : "-");
		}
		if (!ok) {
			fprintf(stderr, "cronfleet: %s %s: %.300s\n", job,
			    status ? status : "did not succeed",
			    err != NULL ? err : "no error given");
		}
		cli_answer_fini(&ans);
		return (ok ? CLI_OK : CLI_FAIL);
	}
}

static int
run_trigger(const cli_gateway *gw, const api_args *a)
{
	cli_buf    path = { 0 };
	cli_answer ans;
	long       timeout = 0;
	int        wait    = api_opt(a, "--wait") != NULL;
	int        rv;

	memset(&ans, 0, sizeof(ans));
	if ((rv = api_count(a, "trigger", "--timeout", 86400, &timeout))
	    != CLI_OK) {
		return (rv);
	}
	if (timeout > 0 && !wait) {
		return (
		    cli_usage_error("trigger: --timeout goes with --wait"));
	}
	if ((rv = api_job_path(
	         &path, "/api/v1/scheduler/trigger/", a->pos[0], ""))
	    == CLI_OK) {
		rv = cli_request(gw, "POST", path.p, NULL, &ans);
	}
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json && !wait) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK && !a->json) {
		const char *svc = api_str(ans.data, "service");
		const char *at  = api_str(ans.data, "scheduled_for");
		printf("triggered %s%s%s: fire %s",
		    api_str(ans.data, "job") ? api_str(ans.data, "job")
		                             : a->pos[0],
		    svc ? " on " : "", svc ? svc : "",
		    api_str(ans.data, "fire_id") ? api_str(ans.data, "fire_id")
		                                 : "?");
		if (at != NULL) {
			printf(" for %s", at);
		}
		putchar('\n');
	}
	if (rv == CLI_OK && wait) {
		fflush(stdout);
		rv = trigger_wait(gw, a, ans.data,
		    timeout > 0 ? timeout : TRIGGER_WAIT_DEFAULT);
	}
	cli_answer_fini(&ans);
	return (rv);
}

static int
run_whoami(const cli_gateway *gw, const api_args *a)
{
	cli_answer ans;
	int        rv = cli_request(gw, "GET", "/api/v1/whoami", NULL, &ans);

	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK) {
		printf("%s (%s)\n",
		    api_str(ans.data, "name") ? api_str(ans.data, "name")
		                              : "?",
		    api_str(ans.data, "role") ? api_str(ans.data, "role")
		                              : "?");
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* ---- history, audit: paged lists ------------------------------------ */

/* For people: how to ask for the next page, when there is one. */
static void
page_hint(const cli_answer *ans, const char *cmd)
{
	const cJSON *page = cJSON_GetObjectItemCaseSensitive(ans->doc, "page");
	const char  *next = api_str(page, "next_before");

	if (next != NULL && cJSON_GetArraySize(ans->data) > 0) {
		fprintf(stderr, "(more: cronfleet %s ... --before '%s')\n",
		    cmd, next);
	}
}

static int
run_history(const cli_gateway *gw, const api_args *a)
{
	static const char *const hdr[] = { "STARTED", "JOB", "SERVICE",
		"TRIGGER", "ATTEMPT", "STATUS", "DURATION", "ERROR" };
	cli_buf                  path  = { 0 };
	cli_answer               ans;
	const cJSON             *run;
	cli_table               *t;
	long                     n;
	char                     since[64];
	int                      rv;

	if ((rv = api_count(a, "history", "--limit", 1000000, &n)) != CLI_OK
	    || (rv = api_since(a, "history", since, sizeof(since)))
	        != CLI_OK) {
		return (rv);
	}
	if (cli_buf_add(&path, "/api/v1/scheduler/history", 25) != 0
	    || cli_query_add(&path, "job", a->npos > 0 ? a->pos[0] : NULL) != 0
	    || cli_query_add(&path, "status", api_opt(a, "--status")) != 0
	    || cli_query_add(&path, "since", since[0] ? since : NULL) != 0
	    || cli_query_add(&path, "before", api_opt(a, "--before")) != 0
	    || cli_query_add(&path, "limit", api_opt(a, "--limit")) != 0) {
		cli_buf_fini(&path);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	rv = cli_request(gw, "GET", api_path(&path), NULL, &ans);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK) {
		t = cli_table_new(sizeof(hdr) / sizeof(hdr[0]), hdr);
		cli_table_limit(t, 7, 60);
		cJSON_ArrayForEach(run, ans.data)
		{
			char        num[32], dur[32];
			const char *at = api_str(run, "started_at");
			/* A fire the clock skipped never started. */
			const char *cells[8] = {
				at != NULL ? at
				           : api_str(run, "scheduled_for"),
				api_str(run, "job"),
				api_str(run, "service"),
				api_str(run, "trigger"),
				cli_cell(run, "attempt", num, sizeof(num)),
				api_str(run, "status"),
				cli_run_duration(run, dur, sizeof(dur)),
				api_str(run, "error"),
			};
			cli_table_row(t, cells);
		}
		cli_table_print(t, stdout);
		page_hint(&ans, "history");
	}
	cli_answer_fini(&ans);
	return (rv);
}

static int
run_audit(const cli_gateway *gw, const api_args *a)
{
	static const char *const hdr[] = { "AT", "ACTOR", "ROLE", "ACTION",
		"JOB", "STATUS", "OUTCOME", "REMOTE", "DETAIL" };
	cli_buf                  path  = { 0 };
	cli_answer               ans;
	const cJSON             *e;
	cli_table               *t;
	long                     n;
	int                      rv;

	if ((rv = api_count(a, "audit", "--limit", 1000000, &n)) != CLI_OK) {
		return (rv);
	}
	if (cli_buf_add(&path, "/api/v1/audit", 13) != 0
	    || cli_query_add(&path, "limit", api_opt(a, "--limit")) != 0
	    || cli_query_add(&path, "before", api_opt(a, "--before")) != 0
	    || cli_query_add(&path, "actor", api_opt(a, "--actor")) != 0
	    || cli_query_add(&path, "action", api_opt(a, "--action")) != 0
	    || cli_query_add(&path, "job", api_opt(a, "--job")) != 0) {
		cli_buf_fini(&path);
		fputs("cronfleet: out of memory\n", stderr);
		return (CLI_FAIL);
	}
	rv = cli_request(gw, "GET", api_path(&path), NULL, &ans);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK) {
		t = cli_table_new(sizeof(hdr) / sizeof(hdr[0]), hdr);
		cli_table_limit(t, 8, 60);
		cJSON_ArrayForEach(e, ans.data)
		{
			char        num[32];
			const char *cells[9] = {
				api_str(e, "at"),
				api_str(e, "actor"),
				api_str(e, "role"),
				api_str(e, "action"),
				api_str(e, "job"),
				cli_cell(e, "status", num, sizeof(num)),
				api_str(e, "outcome"),
				api_str(e, "remote"),
				api_str(e, "detail"),
			};
			cli_table_row(t, cells);
		}
		cli_table_print(t, stdout);
		page_hint(&ans, "audit");
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* ---- the table of commands ------------------------------------------ */

static int
run_watch(const cli_gateway *gw, const api_args *a)
{
	long count;
	int  rv;

	if ((rv = api_count(a, "watch", "--count", 1000000000L, &count))
	    != CLI_OK) {
		return (rv);
	}
	return (cli_watch(
	    gw, a->json, api_opt(a, "--job"), api_opt(a, "--service"), count));
}

static const api_cmd api_cmds[] = {
	{ "jobs", 0, 0, "", "jobs [--json]", run_jobs },
	{ "status", 0, 0, "", "status [--json]", run_status },
	{ "next", 0, 1, "--count", "next [job] [--count N] [--json]",
	    run_next },
	{ "trigger", 1, 1, "--wait! --timeout",
	    "trigger <job> [--wait [--timeout S]] [--json]", run_trigger },
	{ "pause", 1, 1, "", "pause <job> [--json]", run_pause },
	{ "resume", 1, 1, "", "resume <job> [--json]", run_resume },
	{ "schedule", 2, 2, "--tz",
	    "schedule <job> '<expr>' [--tz ZONE] [--json]", run_schedule },
	{ "history", 0, 1, "--status --since --before --limit",
	    "history [job] [--status S] [--since T|90m|2h|1d] [--limit N] "
	    "[--before CURSOR] [--json]",
	    run_history },
	{ "audit", 0, 0, "--limit --before --actor --action --job",
	    "audit [--limit N] [--actor A] [--action A] [--job J] "
	    "[--before CURSOR] [--json]",
	    run_audit },
	{ "watch", 0, 0, "--job --service --count",
	    "watch [--job J] [--service S] [--count N] [--json]", run_watch },
	{ "whoami", 0, 0, "", "whoami [--json]", run_whoami },
};

int
cli_api_has(const char *name)
{
	for (size_t i = 0; i < sizeof(api_cmds) / sizeof(api_cmds[0]); i++) {
		if (strcmp(api_cmds[i].name, name) == 0) {
			return (1);
		}
	}
	return (0);
}

int
cli_api(int argc, char **argv)
{
	const api_cmd *c = NULL;
	cli_gateway    gw;
	api_args       a;
	int            rv;

	for (size_t i = 0; i < sizeof(api_cmds) / sizeof(api_cmds[0]); i++) {
		if (strcmp(api_cmds[i].name, argv[0]) == 0) {
			c = &api_cmds[i];
		}
	}
	if (c == NULL) {
		return (cli_usage_error("unknown command '%s'", argv[0]));
	}
	if ((rv = api_parse(c, argc, argv, &a)) != CLI_OK
	    || (rv = cli_gateway_init(&gw)) != CLI_OK) {
		return (rv);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("cronfleet: cannot initialise libcurl\n", stderr);
		return (CLI_FAIL);
	}
	rv = c->run(&gw, &a);
	curl_global_cleanup();
	/* A reader that went away (| head) is not an error of ours. */
	if (fflush(stdout) != 0 && errno != EPIPE) {
		perror("cronfleet: stdout");
		return (CLI_FAIL);
	}
	return (rv);
}
