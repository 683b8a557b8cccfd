/*
 * test_service_maintenance.c - the job runtime (lib/cf_service) through
 * the real cronfleet-maintenance binary, on the real PostgreSQL and
 * Redis (DATABASE_URL, REDIS_URL from scripts/test), with a fake clock:
 * a REP socket answering register, trigger and ping, and a PUB socket
 * publishing ticks built with cf_proto_tick_encode.
 *
 * Ports come from the pid and the service's schema is unique to the run
 * (CRONFLEET_MAINTENANCE_SCHEMA), dropped at the end. With
 * CF_TEST_VALGRIND=1 every child runs under valgrind and must exit 0
 * with no leak and no error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cf_nng.h"
#include "cf_pg.h"
#include "cf_proto.h"

#ifndef CF_MAINTENANCE_BIN
#error "CF_MAINTENANCE_BIN must name the cronfleet-maintenance binary"
#endif

extern char **environ;

/* ---- helpers ------------------------------------------------------------ */

static int  port_base;
static char schema[64];
static char err[1024];
static int  slow = 1; /* timeouts multiplied under valgrind */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
url(char *buf, size_t len, int k)
{
	snprintf(buf, len, "tcp://127.0.0.1:%d", port_base + k);
}

static int
closed_port(void)
{
	struct sockaddr_in a   = { .sin_family = AF_INET };
	socklen_t          len = sizeof(a);
	int                fd  = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return (port);
}

/* ---- the fake clock ----------------------------------------------------- */

typedef struct {
	cf_rep         *rep;
	cf_pub         *pub;
	char            rep_url[64];
	char            pub_url[64];
	pthread_mutex_t mu;
	int             nreg;
	char            reg[256]; /* "<job> <service> <expr>" of the last */
} fake_clock;

static void
fake_publish(fake_clock *fc, const char *job, const char *fire_id, int64_t at,
    cf_trigger trigger)
{
	cf_tick         t = { 0 };
	msgpack_sbuffer sb;

	t.service       = "maintenance";
	t.job           = (char *) job;
	t.fire_id       = (char *) fire_id;
	t.scheduled_for = at;
	t.trigger       = trigger;
	t.attempt       = 1;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_tick_encode(&sb, &t), 0);
	assert_int_equal(cf_pub_send_msg(fc->pub, sb.data, sb.size), 0);
	msgpack_sbuffer_destroy(&sb);
}

static void
fake_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len)
{
	fake_clock     *fc  = arg;
	cf_command     *cmd = NULL;
	cf_reply        r   = { 0 };
	msgpack_sbuffer sb;
	char            data[512], fire[CF_FIRE_ID_LEN];
	int             is_text = 0;

	r.error = "fake clock: unexpected request";
	if (cf_proto_request_decode(req, len, &cmd, &is_text, NULL, 0) == 0) {
		if (strcmp(cmd->cmd, "register") == 0 && cmd->nargs >= 2) {
			pthread_mutex_lock(&fc->mu);
			fc->nreg++;
			snprintf(fc->reg, sizeof(fc->reg), "%s %s %s",
			    cmd->job, cmd->args[0], cmd->args[1]);
			pthread_mutex_unlock(&fc->mu);
			snprintf(
			    data, sizeof(data), "{\"job\":\"%s\"}", cmd->job);
			r.ok = 1;
		} else if (strcmp(cmd->cmd, "trigger") == 0 && cmd->job) {
			int64_t at = now_ms();
			cf_fire_id(fire, sizeof(fire), cmd->job, at);
			snprintf(data, sizeof(data),
			    "{\"job\":\"%s\",\"service\":\"maintenance\","
			    "\"fire_id\":\"%s\",\"trigger\":\"manual\"}",
			    cmd->job, fire);
			fake_publish(
			    fc, cmd->job, fire, at, CF_TRIGGER_MANUAL);
			r.ok = 1;
		} else if (strcmp(cmd->cmd, "ping") == 0) {
			snprintf(data, sizeof(data), "{\"pong\":true}");
			r.ok = 1;
		}
	}
	if (r.ok) {
		r.error = NULL;
		r.data  = data;
	}
	msgpack_sbuffer_init(&sb);
	cf_proto_reply_send_form(&sb, &r, is_text);
	*reply     = (uint8_t *) sb.data;
	*reply_len = sb.size;
	cf_command_free(cmd);
}

static void
fake_open(fake_clock *fc, int k)
{
	memset(fc, 0, sizeof(*fc));
	pthread_mutex_init(&fc->mu, NULL);
	url(fc->rep_url, sizeof(fc->rep_url), k);
	url(fc->pub_url, sizeof(fc->pub_url), k + 1);
	if (cf_pub_open(&fc->pub, fc->pub_url, err, sizeof(err)) != 0
	    || cf_rep_open(&fc->rep, fc->rep_url, 2, 0, fake_handle, fc, err,
	           sizeof(err))
	        != 0) {
		fail_msg("fake clock: %s", err);
	}
}

static void
fake_close(fake_clock *fc)
{
	cf_rep_close(fc->rep);
	cf_pub_close(fc->pub);
	pthread_mutex_destroy(&fc->mu);
}

static int
fake_wait_registered(fake_clock *fc, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		int n;
		pthread_mutex_lock(&fc->mu);
		n = fc->nreg;
		pthread_mutex_unlock(&fc->mu);
		if (n > 0) {
			return (1);
		}
		sleep_ms(50);
	}
	return (0);
}

/* ---- the child process -------------------------------------------------- */

typedef struct {
	pid_t pid;
	char  log[128];
	char  rep_url[64];
	char  pub_url[64];
} child;

/*
 * Starts cronfleet-maintenance with the test's environment plus the
 * NAME=value overrides in extra (NULL-terminated), stderr to a file. The
 * environment is built before fork: only execve runs in the child.
 */
static void
child_start(child *c, fake_clock *fc, int k, const char *const *extra)
{
	static char vars[16][512];
	char       *envp[256];
	char       *argv[8];
	int         n = 0, nv = 0, a = 0;

	url(c->rep_url, sizeof(c->rep_url), k);
	url(c->pub_url, sizeof(c->pub_url), k + 1);
	snprintf(c->log, sizeof(c->log), "/tmp/test_maintenance_%d_%d.log",
	    (int) getpid(), k);
	snprintf(vars[nv++], 512, "CRONFLEET_MAINTENANCE_REP=%s", c->rep_url);
	snprintf(vars[nv++], 512, "CRONFLEET_MAINTENANCE_PUB=%s", c->pub_url);
	snprintf(vars[nv++], 512, "CRONFLEET_MAINTENANCE_SCHEMA=%s", schema);
	snprintf(vars[nv++], 512, "CRONFLEET_CLOCK_REP=%s", fc->rep_url);
	snprintf(vars[nv++], 512, "CRONFLEET_CLOCK_PUB=%s", fc->pub_url);
	snprintf(vars[nv++], 512, "CRONFLEET_HEALTH_TIMEOUT=1s");
	snprintf(vars[nv++], 512, "CRONFLEET_LOG_LEVEL=debug");
	snprintf(vars[nv++], 512, "CRONFLEET_MAINTENANCE_WORKERS=3");
	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		snprintf(vars[nv++], 512, "%s", extra[i]);
	}
	/*
	 * Each name once (valgrind rebuilds the environment and would keep
	 * a later duplicate): extra overrides ours, ours the inherited.
	 */
	for (int i = 0; i < nv; i++) {
		size_t l   = strcspn(vars[i], "=") + 1;
		int    dup = 0;
		for (int k = i + 1; k < nv && !dup; k++) {
			dup = strncmp(vars[k], vars[i], l) == 0;
		}
		if (!dup) {
			envp[n++] = vars[i];
		}
	}
	for (char **e = environ; *e != NULL && n < 250; e++) {
		int dup = 0;
		for (int i = 0; i < nv && !dup; i++) {
			size_t l = strcspn(vars[i], "=") + 1;
			dup      = strncmp(*e, vars[i], l) == 0;
		}
		if (!dup) {
			envp[n++] = *e;
		}
	}
	envp[n] = NULL;
	if (slow > 1) {
		argv[a++] = "/usr/bin/valgrind";
		argv[a++] = "-q";
		argv[a++] = "--leak-check=full";
		argv[a++] = "--errors-for-leak-kinds=definite,indirect";
		argv[a++] = "--error-exitcode=99";
	}
	argv[a++] = CF_MAINTENANCE_BIN;
	argv[a]   = NULL;
	int fd    = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(fd, 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(fd);
}

/* Waits up to ms for the child to exit; its status, or -1 (still up). */
static int
child_wait(child *c, int ms)
{
	int st;
	for (int waited = 0; waited <= ms; waited += 20) {
		pid_t p = waitpid(c->pid, &st, WNOHANG);
		if (p == c->pid) {
			c->pid = 0;
			return (WIFEXITED(st) ? WEXITSTATUS(st)
			                      : 128 + WTERMSIG(st));
		}
		sleep_ms(20);
	}
	return (-1);
}

static int
child_alive(child *c)
{
	return (c->pid > 0 && waitpid(c->pid, NULL, WNOHANG) == 0);
}

static void
child_dump(const child *c)
{
	char  line[1024];
	FILE *f = fopen(c->log, "r");
	if (f == NULL) {
		return;
	}
	fprintf(stderr, "--- %s\n", c->log);
	while (fgets(line, sizeof(line), f) != NULL) {
		fputs(line, stderr);
	}
	fclose(f);
}

static int
log_contains(const child *c, const char *s)
{
	char   buf[65536];
	FILE  *f = fopen(c->log, "r");
	size_t n;
	if (f == NULL) {
		return (0);
	}
	n      = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (strstr(buf, s) != NULL);
}

/* ---- state shared by the cases ------------------------------------------ */

static fake_clock      clk;
static child           svc;
static cf_pg          *pg;
static cf_req         *req;
static cf_sub         *events;
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char            ev_seen[8192]; /* "topic fire_id\n" lines */
static char            fire1[CF_FIRE_ID_LEN];
static int64_t         fire1_at;

static void
on_event(void *arg, const char *topic, const uint8_t *msg, size_t len)
{
	cf_event *e;

	(void) arg;
	if (cf_proto_event_decode(msg, len, &e, NULL, 0) != 0) {
		return;
	}
	pthread_mutex_lock(&ev_mu);
	if (strlen(ev_seen) + strlen(topic) + strlen(e->fire_id) + 3
	    < sizeof(ev_seen)) {
		strcat(ev_seen, topic);
		strcat(ev_seen, " ");
		strcat(ev_seen, e->fire_id);
		strcat(ev_seen, "\n");
	}
	pthread_mutex_unlock(&ev_mu);
	cf_event_free(e);
}

static int
event_seen(const char *state, const char *fire_id)
{
	char line[512];
	int  hit;
	snprintf(line, sizeof(line), "event.maintenance.health-check.%s %s\n",
	    state, fire_id);
	pthread_mutex_lock(&ev_mu);
	hit = strstr(ev_seen, line) != NULL;
	pthread_mutex_unlock(&ev_mu);
	return (hit);
}

/* One value from PostgreSQL, as text ("" for NULL or no row). */
static void
sql1(char *out, size_t len, const char *fmt, const char *param)
{
	char        sql[1024];
	PGresult   *res  = NULL;
	const char *p[1] = { param };

	snprintf(sql, sizeof(sql), fmt, schema);
	assert_int_equal(cf_pg_exec(pg, sql, param ? 1 : 0, param ? p : NULL,
	                     &res, err, sizeof(err)),
	    0);
	snprintf(out, len, "%s",
	    PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
	        ? PQgetvalue(res, 0, 0)
	        : "");
	PQclear(res);
}

static int
runs_for(const char *fire_id)
{
	char v[32];
	sql1(v, sizeof(v),
	    "SELECT count(*) FROM %s.job_runs WHERE fire_id = $1", fire_id);
	return (atoi(v));
}

/* Waits until the fire's run is over; its status ("" if none). */
static void
wait_finished(char *status, size_t len, const char *fire_id, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		sql1(status, len,
		    "SELECT status FROM %s.job_runs WHERE fire_id = $1",
		    fire_id);
		if (status[0] != '\0' && strcmp(status, "running") != 0) {
			return;
		}
		sleep_ms(50);
	}
}

/* A text request; the reply parsed as JSON (caller frees). */
static cJSON *
ask_text(const char *text)
{
	uint8_t *reply = NULL;
	size_t   rlen  = 0;
	cJSON   *j;
	assert_int_equal(cf_req_call(req, text, strlen(text), 5000 * slow,
	                     &reply, &rlen, err, sizeof(err)),
	    0);
	j = cJSON_Parse((char *) reply);
	if (j == NULL) {
		fprintf(stderr, "not JSON: %s\n", reply);
	}
	free(reply);
	assert_non_null(j);
	return (j);
}

/* A msgpack request; the decoded reply (caller frees). */
static cf_reply *
ask_msgpack(const char *cmd, const char *job, int n)
{
	cf_command      c = { 0 };
	msgpack_sbuffer sb;
	uint8_t        *reply = NULL;
	size_t          rlen  = 0;
	cf_reply       *r     = NULL;

	c.cmd = (char *) cmd;
	c.job = (char *) job;
	c.n   = n;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_command_encode(&sb, &c), 0);
	assert_int_equal(cf_req_call(req, sb.data, sb.size, 5000 * slow,
	                     &reply, &rlen, err, sizeof(err)),
	    0);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(
	    cf_proto_reply_decode(reply, rlen, &r, err, sizeof(err)), 0);
	free(reply);
	return (r);
}

static int
json_true(const cJSON *o, const char *key)
{
	return (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)));
}

/* ---- setup -------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char *db          = getenv("DATABASE_URL");
	const char *rd          = getenv("REDIS_URL");
	const char *prefixes[1] = { "event.maintenance." };
	const char *urls[1];

	(void) state;
	if (db == NULL || *db == '\0' || rd == NULL || *rd == '\0') {
		fprintf(stderr,
		    "DATABASE_URL and REDIS_URL must be set: run through "
		    "scripts/test\n");
		return (-1);
	}
	if (getenv("CF_TEST_VALGRIND") != NULL
	    && strcmp(getenv("CF_TEST_VALGRIND"), "1") == 0) {
		slow = 10;
	}
	/* Below the ephemeral range (32768-), where a TIME_WAIT left by a
	 * client connection can hold a port; apart from unit.nng's. */
	port_base = 14000 + (int) (getpid() % 150) * 20;
	snprintf(schema, sizeof(schema), "svc_test_%d", (int) getpid());
	if (cf_pg_open(&pg, db, err, sizeof(err)) != 0) {
		fprintf(stderr, "PostgreSQL: %s\n", err);
		return (-1);
	}
	fake_open(&clk, 0);
	child_start(&svc, &clk, 2, NULL);
	if (cf_req_open(&req, svc.rep_url, err, sizeof(err)) != 0) {
		return (-1);
	}
	/*
	 * The commands' tests need the REP socket connected: a service slow
	 * to start (sanitizers, a loaded machine) is waited for here, up to
	 * 30 s, rather than seen as unreachable by the first of them.
	 */
	for (int waited = 0;; waited += 100) {
		uint8_t *reply = NULL;
		size_t   rlen  = 0;

		if (cf_req_call(req, "ping", 4, 1000, &reply, &rlen, err,
		        sizeof(err))
		    == 0) {
			free(reply);
			break;
		}
		if (waited >= 30000 * slow) {
			fprintf(stderr, "the service never answered ping: %s\n",
			    err);
			return (-1);
		}
		sleep_ms(100);
	}
	urls[0] = svc.pub_url;
	if (cf_sub_open(&events, urls, 1, prefixes, 1, 0, on_event, NULL, err,
	        sizeof(err))
	    != 0) {
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	char sql[256];
	(void) state;
	if (svc.pid > 0) {
		kill(svc.pid, SIGKILL);
		child_wait(&svc, 5000);
	}
	cf_sub_close(events);
	cf_req_close(req);
	fake_close(&clk);
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	cf_pg_exec(pg, sql, 0, NULL, NULL, err, sizeof(err));
	cf_pg_close(pg);
	unlink(svc.log);
	return (0);
}

/* ---- cases -------------------------------------------------------------- */

static void
registers_with_clock(void **state)
{
	(void) state;
	if (!fake_wait_registered(&clk, 20000 * slow)) {
		child_dump(&svc);
		fail_msg("the job never registered with the clock");
	}
	assert_string_equal(clk.reg, "health-check maintenance */5 * * * *");
}

static void
tick_runs_once(void **state)
{
	char    status[32], v[256];
	int64_t at = now_ms() - 1000;

	(void) state;
	fire1_at = at;
	assert_int_equal(
	    cf_fire_id(fire1, sizeof(fire1), "health-check", at), 0);
	/*
	 * A SUB socket may not be connected yet when the first tick goes
	 * out (nng drops it): publish the same tick until its run appears.
	 * Every extra copy is a duplicate the runtime must ignore.
	 */
	for (int i = 0; i < 100 * slow && runs_for(fire1) == 0; i++) {
		fake_publish(
		    &clk, "health-check", fire1, at, CF_TRIGGER_SCHEDULE);
		sleep_ms(100);
	}
	wait_finished(status, sizeof(status), fire1, 10000 * slow);
	if (strcmp(status, "succeeded") != 0) {
		child_dump(&svc);
	}
	assert_string_equal(status, "succeeded");
	assert_int_equal(runs_for(fire1), 1);
	sql1(v, sizeof(v),
	    "SELECT result->>'status' FROM %s.job_runs WHERE fire_id = $1",
	    fire1);
	assert_string_equal(v, "ok");
	sql1(v, sizeof(v),
	    "SELECT trigger || ' ' || attempt || ' ' || "
	    "(extract(epoch FROM scheduled_for) * 1000)::bigint "
	    "FROM %s.job_runs WHERE fire_id = $1",
	    fire1);
	{
		char want[64];
		snprintf(
		    want, sizeof(want), "schedule 1 %lld", (long long) at);
		assert_string_equal(v, want);
	}
	sql1(v, sizeof(v),
	    "SELECT (result->'checks'->'postgres'->>'ok') || "
	    "(result->'checks'->'redis'->>'ok') || "
	    "(result->'checks'->'services'->'clock'->>'ok') || "
	    "jsonb_array_length(result->'checks'->'disk') "
	    "FROM %s.job_runs WHERE fire_id = $1",
	    fire1);
	assert_string_equal(v, "truetruetrue2");
}

static void
duplicate_tick_ignored(void **state)
{
	int64_t at = fire1_at;
	(void) state;
	for (int i = 0; i < 3; i++) {
		fake_publish(
		    &clk, "health-check", fire1, at, CF_TRIGGER_SCHEDULE);
	}
	sleep_ms(1500 * slow);
	assert_int_equal(runs_for(fire1), 1);
}

static void
commands_msgpack(void **state)
{
	cf_reply *r;
	cJSON    *j, *last;

	(void) state;
	r = ask_msgpack("ping", NULL, 0);
	assert_true(r->ok);
	cf_reply_free(r);

	r = ask_msgpack("history", "health-check", 5);
	assert_true(r->ok);
	j = cJSON_Parse(r->data);
	assert_true(cJSON_IsArray(j) && cJSON_GetArraySize(j) >= 1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "fire_id")
	        ->valuestring,
	    fire1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "status")
	        ->valuestring,
	    "succeeded");
	cJSON_Delete(j);
	cf_reply_free(r);

	r = ask_msgpack("status", NULL, 0);
	assert_true(r->ok);
	j = cJSON_Parse(r->data);
	assert_string_equal(
	    cJSON_GetObjectItem(j, "service")->valuestring, "maintenance");
	last = cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(j, "jobs"), 0), "last_run");
	assert_true(cJSON_IsObject(last));
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(last, "result"), "status")
	        ->valuestring,
	    "ok");
	cJSON_Delete(j);
	cf_reply_free(r);

	r = ask_msgpack("jobs", NULL, 0);
	assert_true(r->ok);
	j = cJSON_Parse(r->data);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "job")->valuestring,
	    "health-check");
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "schedule")
	        ->valuestring,
	    "*/5 * * * *");
	cJSON_Delete(j);
	cf_reply_free(r);

	r = ask_msgpack("history", "no-such-job", 0);
	assert_false(r->ok);
	assert_non_null(strstr(r->error, "unknown job 'no-such-job'"));
	cf_reply_free(r);
}

static void
commands_text(void **state)
{
	cJSON *j, *d;

	(void) state;
	j = ask_text("history health-check 3");
	assert_true(json_true(j, "success"));
	d = cJSON_GetObjectItem(j, "data");
	assert_true(cJSON_GetArraySize(d) >= 1 && cJSON_GetArraySize(d) <= 3);
	cJSON_Delete(j);

	j = ask_text("{\"cmd\":\"history\",\"job\":\"health-check\",\"n\":1}");
	assert_true(json_true(j, "success"));
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 1);
	cJSON_Delete(j);

	j = ask_text("status");
	assert_true(json_true(j, "success"));
	d = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "jobs");
	assert_true(cJSON_IsObject(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "last_run")));
	cJSON_Delete(j);

	j = ask_text("jobs");
	assert_true(json_true(j, "success"));
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 1);
	cJSON_Delete(j);

	j = ask_text("frobnicate");
	assert_false(json_true(j, "success"));
	assert_non_null(cJSON_GetObjectItem(j, "error"));
	cJSON_Delete(j);

	j = ask_text("pause no-such-job");
	assert_false(json_true(j, "success"));
	cJSON_Delete(j);
}

static void
trigger_forwarded(void **state)
{
	cJSON      *j;
	const char *fid;
	char        fire[CF_FIRE_ID_LEN], status[32], v[32];

	(void) state;
	j = ask_text("trigger health-check");
	assert_true(json_true(j, "success"));
	fid = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "fire_id")
	          ->valuestring;
	snprintf(fire, sizeof(fire), "%s", fid);
	cJSON_Delete(j);
	wait_finished(status, sizeof(status), fire, 10000 * slow);
	assert_string_equal(status, "succeeded");
	sql1(v, sizeof(v),
	    "SELECT trigger FROM %s.job_runs WHERE fire_id = $1", fire);
	assert_string_equal(v, "manual");
	for (int i = 0; i < 40 && !event_seen("succeeded", fire); i++) {
		sleep_ms(50);
	}
	assert_true(event_seen("started", fire));
	assert_true(event_seen("succeeded", fire));
}

static void
garbage_gets_errors(void **state)
{
	uint8_t         buf[512];
	msgpack_sbuffer sb;
	cf_command c    = { .cmd = "history", .job = "health-check", .n = 5 };
	unsigned   seed = (unsigned) getpid();

	(void) state;
	for (int i = 0; i < 200; i++) {
		size_t    n     = 1 + (size_t) (rand_r(&seed) % sizeof(buf));
		uint8_t  *reply = NULL;
		size_t    rlen  = 0;
		cf_reply *r     = NULL;
		for (size_t k = 0; k < n; k++) {
			buf[k] = (uint8_t) rand_r(&seed);
		}
		assert_int_equal(cf_req_call(req, buf, n, 5000 * slow, &reply,
		                     &rlen, err, sizeof(err)),
		    0);
		assert_true(rlen > 0);
		if (cf_proto_reply_decode(reply, rlen, &r, NULL, 0) == 0) {
			assert_false(r->ok);
			cf_reply_free(r);
		} else {
			/* A text reply: JSON with success false. */
			cJSON *j = cJSON_Parse((char *) reply);
			assert_non_null(j);
			assert_false(json_true(j, "success"));
			cJSON_Delete(j);
		}
		free(reply);
	}
	/* Every proper prefix of a valid msgpack request. */
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_command_encode(&sb, &c), 0);
	for (size_t n = 1; n < sb.size; n++) {
		uint8_t  *reply = NULL;
		size_t    rlen  = 0;
		cf_reply *r     = NULL;
		assert_int_equal(cf_req_call(req, sb.data, n, 5000 * slow,
		                     &reply, &rlen, err, sizeof(err)),
		    0);
		assert_int_equal(
		    cf_proto_reply_decode(reply, rlen, &r, NULL, 0), 0);
		assert_false(r->ok);
		cf_reply_free(r);
		free(reply);
	}
	msgpack_sbuffer_destroy(&sb);
	assert_true(child_alive(&svc));
	cf_reply_free(ask_msgpack("ping", NULL, 0));
}

static void
bad_ticks_ignored(void **state)
{
	char              fire[CF_FIRE_ID_LEN], v[32];
	int64_t           at = now_ms();
	static const char junk[]
	    = "tick.maintenance.health-check \xc1\xff\x00zz";

	(void) state;
	/* Bad bytes after a good topic, and a well-formed tick for a job
	 * this service does not have. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(
		    cf_pub_send_msg(clk.pub, junk, sizeof(junk) - 1), 0);
	}
	cf_fire_id(fire, sizeof(fire), "no-such-job", at);
	fake_publish(&clk, "no-such-job", fire, at, CF_TRIGGER_SCHEDULE);
	sleep_ms(500 * slow);
	assert_true(child_alive(&svc));
	cf_reply_free(ask_msgpack("ping", NULL, 0));
	sql1(v, sizeof(v), "SELECT count(*) FROM %s.job_runs WHERE job = $1",
	    "no-such-job");
	assert_string_equal(v, "0");
	assert_true(log_contains(&svc, "bad tick ignored"));
	assert_true(log_contains(&svc, "tick for an unknown job ignored"));
}

static void
bad_env_exits_2(void **state)
{
	static const char *const bad[][2] = {
		{ "CRONFLEET_MAINTENANCE_REP=bogus",
		    "CRONFLEET_MAINTENANCE_REP" },
		{ "CRONFLEET_HEALTH_SERVICES=ingest",
		    "CRONFLEET_HEALTH_SERVICES" },
		{ "CRONFLEET_HEALTH_TIMEOUT=soon",
		    "CRONFLEET_HEALTH_TIMEOUT" },
		{ "CRONFLEET_MAINTENANCE_WORKERS=0",
		    "CRONFLEET_MAINTENANCE_WORKERS" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *extra[] = { bad[i][0], NULL };
		child       c;
		int         rc;
		child_start(&c, &clk, 6, extra);
		rc = child_wait(&c, 10000 * slow);
		if (rc != 2 || !log_contains(&c, bad[i][1])) {
			child_dump(&c);
			if (rc < 0) {
				kill(c.pid, SIGKILL);
				child_wait(&c, 5000);
			}
		}
		assert_int_equal(rc, 2);
		assert_true(log_contains(&c, bad[i][1]));
		unlink(c.log);
	}
}

static void
redis_down_is_degraded(void **state)
{
	fake_clock  fc;
	child       c;
	char        redis[64], fire[CF_FIRE_ID_LEN], status[32], v[512];
	int64_t     at      = now_ms();
	const char *extra[] = { redis, NULL };

	(void) state;
	snprintf(redis, sizeof(redis), "REDIS_URL=redis://127.0.0.1:%d/0",
	    closed_port());
	fake_open(&fc, 10);
	child_start(&c, &fc, 12, extra);
	if (!fake_wait_registered(&fc, 20000 * slow)) {
		child_dump(&c);
		fail_msg("the second service never registered");
	}
	cf_fire_id(fire, sizeof(fire), "health-check", at);
	for (int i = 0; i < 100 * slow && runs_for(fire) == 0; i++) {
		fake_publish(
		    &fc, "health-check", fire, at, CF_TRIGGER_SCHEDULE);
		sleep_ms(100);
	}
	wait_finished(status, sizeof(status), fire, 10000 * slow);
	assert_string_equal(status, "succeeded");
	sql1(v, sizeof(v),
	    "SELECT (result->>'status') || ' ' || "
	    "(result->'checks'->'redis'->>'ok') || ' ' || "
	    "(result->'reasons')::text FROM %s.job_runs WHERE fire_id = $1",
	    fire);
	if (strncmp(v, "degraded false ", 15) != 0 || !strstr(v, "redis:")) {
		child_dump(&c);
		fail_msg("result: %s", v);
	}
	kill(c.pid, SIGTERM);
	assert_int_equal(child_wait(&c, 20000 * slow), 0);
	fake_close(&fc);
	unlink(c.log);
}

static void
sigterm_exits_0(void **state)
{
	int rc;
	(void) state;
	kill(svc.pid, SIGTERM);
	rc = child_wait(&svc, 20000 * slow);
	if (rc != 0) {
		child_dump(&svc);
	}
	assert_int_equal(rc, 0);
	assert_true(log_contains(&svc, "\"msg\":\"stopping\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registers_with_clock),
		cmocka_unit_test(tick_runs_once),
		cmocka_unit_test(duplicate_tick_ignored),
		cmocka_unit_test(commands_msgpack),
		cmocka_unit_test(commands_text),
		cmocka_unit_test(trigger_forwarded),
		cmocka_unit_test(garbage_gets_errors),
		cmocka_unit_test(bad_ticks_ignored),
		cmocka_unit_test(bad_env_exits_2),
		cmocka_unit_test(redis_down_is_degraded),
		cmocka_unit_test(sigterm_exits_0),
	};
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests_name("integration.service.maintenance",
	    tests, group_setup, group_teardown));
}
