/*
 * test_gateway.c - the real cronfleet-gateway binary, over real sockets.
 *
 * The test program plays the services: a fake clock and a fake
 * maintenance answer on REP sockets (cf_rep) with cf_proto replies as
 * proto/COMMANDS.md describes them, standing in for the real services.
 * The gateway runs as a child process with its environment pointing at
 * them, and libcurl drives every route. The ingest service is configured
 * but never started, to see a service that is down.
 *
 * The gateway's path comes from CF_GATEWAY_BIN (set by ctest) or argv[1];
 * CF_GATEWAY_WRAP (e.g. "/usr/bin/valgrind --error-exitcode=99
 * --leak-check=full") runs it under a tool, whose exit status the last
 * step checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cf_err.h"
#include "cf_nng.h"
#include "cf_proto.h"

extern char **environ;

#define TOKEN "test-token-0123456789abcdef"
/* The gateway's budget per request, and how long the slow fakes take. */
#define TIMEOUT_MS 700
#define SLOW_MS 1500

static const char *gw_bin;
static pid_t       gw_pid = -1;
static int         port_base;
static char        gw_base[64];
static char        clock_url[64], maint_url[64], ingest_url[64];
static cf_rep     *clock_rep, *maint_rep;

/* What the fakes saw and how they behave; set by the tests. */
static atomic_int clock_delay_ms;
static atomic_int clock_running = 1;
static atomic_int triggers;
static atomic_int last_next_n;
static atomic_int last_history_n;
static atomic_int clock_jobs_calls;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- the fake services ------------------------------------------ */

static const char *const fake_jobs
    = "[{\"job\":\"health-check\",\"service\":\"maintenance\","
      "\"schedule\":\"*/5 * * * *\",\"tz\":\"UTC\",\"enabled\":true,"
      "\"paused\":false,\"next_fire\":\"2026-01-01T00:05:00Z\"},"
      "{\"job\":\"slow-job\",\"service\":\"maintenance\","
      "\"schedule\":\"0 * * * *\",\"tz\":\"UTC\",\"enabled\":true,"
      "\"paused\":false,\"next_fire\":\"2026-01-01T01:00:00Z\"},"
      "{\"job\":\"energy-sync\",\"service\":\"ingest\","
      "\"schedule\":\"*/15 * * * *\",\"tz\":\"UTC\",\"enabled\":true,"
      "\"paused\":false,\"next_fire\":\"2026-01-01T00:15:00Z\"},"
      "{\"job\":\"daily-snapshot\",\"service\":\"analytics\","
      "\"schedule\":\"0 2 * * *\",\"tz\":\"Europe/Paris\",\"enabled\":true,"
      "\"paused\":false,\"next_fire\":\"2026-01-02T02:00:00+01:00\"}]";

static const char *const fake_run
    = "{\"run_id\":\"r%d\",\"job\":\"health-check\","
      "\"fire_id\":\"health-check@2026-01-01T00:0%d:00Z\","
      "\"trigger\":\"schedule\",\"attempt\":1,"
      "\"scheduled_for\":\"2026-01-01T00:0%d:00Z\","
      "\"started_at\":\"2026-01-01T00:0%d:00Z\","
      "\"finished_at\":\"2026-01-01T00:0%d:01Z\",\"status\":\"succeeded\","
      "\"error\":null,\"result\":{\"status\":\"ok\"}}";

/* Encodes a reply in the request's form into *out. */
static void
fake_reply(int is_text, int ok, const char *error, const char *data,
    uint8_t **out, size_t *len)
{
	msgpack_sbuffer sb;
	cf_reply        r = { ok, (char *) error, (char *) data };

	msgpack_sbuffer_init(&sb);
	if (cf_proto_reply_send_form(&sb, &r, is_text) == 0
	    && (*out = malloc(sb.size)) != NULL) {
		memcpy(*out, sb.data, sb.size);
		*len = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
}

static int
fake_known(const char *job)
{
	return (job != NULL
	    && (strcmp(job, "health-check") == 0
	        || strcmp(job, "slow-job") == 0
	        || strcmp(job, "energy-sync") == 0
	        || strcmp(job, "daily-snapshot") == 0));
}

/* One job's next fires, as the clock's `next` gives them. */
static void
fake_fires(cJSON *arr, const char *job, int n)
{
	cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "job", job);
	if (strcmp(job, "health-check") == 0) {
		cJSON_AddStringToObject(o, "service", "maintenance");
	}
	cJSON_AddStringToObject(o, "schedule", "30 2 * * *");
	cJSON_AddStringToObject(o, "tz", "Europe/Berlin");
	for (int i = 0; i < n; i++) {
		cJSON *fire = cJSON_CreateObject();
		char   at[32];
		snprintf(at, sizeof(at), "2026-01-01T%02d:00:00Z", i % 24);
		cJSON_AddStringToObject(fire, "at", at);
		cJSON_AddNullToObject(fire, "dst");
		cJSON_AddItemToArray(f, fire);
	}
	cJSON_AddItemToObject(o, "fires", f);
	cJSON_AddItemToArray(arr, o);
}

static void
fake_clock(
    void *arg, const uint8_t *req, size_t len, uint8_t **out, size_t *outlen)
{
	cf_command *c = NULL;
	char        err[256], data[4096];
	int         is_text = 0, d;

	(void) arg;
	if ((d = atomic_load(&clock_delay_ms)) > 0) {
		sleep_ms(d);
	}
	if (cf_proto_request_decode(
	        req, len, &c, &is_text, err, sizeof(err))) {
		fake_reply(is_text, 0, err, NULL, out, outlen);
		return;
	}
	if (strcmp(c->cmd, "ping") == 0) {
		fake_reply(is_text, 1, NULL, "{\"pong\":true}", out, outlen);
	} else if (strcmp(c->cmd, "status") == 0
	    || strcmp(c->cmd, "overview") == 0) {
		int ov = strcmp(c->cmd, "overview") == 0;
		snprintf(data, sizeof(data),
		    "{\"service\":\"clock\",\"scheduler\":\"%s\","
		    "\"started_at\":\"2026-01-01T00:00:00Z\",\"jobs\":4,"
		    "\"role\":\"leader\",\"clock_id\":\"h1:42\","
		    "\"epoch\":7,\"lease\":\"redis\","
		    "\"leader_since\":\"2026-01-01T00:00:01Z\"%s%s%s",
		    atomic_load(&clock_running) ? "running" : "stopped",
		    ov ? ",\"job_list\":" : "", ov ? fake_jobs : "", "}");
		fake_reply(is_text, 1, NULL, data, out, outlen);
	} else if (strcmp(c->cmd, "jobs") == 0) {
		atomic_fetch_add(&clock_jobs_calls, 1);
		fake_reply(is_text, 1, NULL, fake_jobs, out, outlen);
	} else if (strcmp(c->cmd, "history") == 0) {
		/* The ledger: one skipped fire between r2 and r3, and a
		 * published one the gateway must leave to the owner. */
		fake_reply(is_text, 1, NULL,
		    "[{\"fire_id\":\"health-check@2026-01-01T00:02:30Z\","
		    "\"scheduled_for\":\"2026-01-01T00:02:30Z\","
		    "\"trigger\":\"schedule\",\"outcome\":\"skipped\","
		    "\"reason\":\"paused\","
		    "\"recorded_at\":\"2026-01-01T00:02:30.5Z\"},"
		    "{\"fire_id\":\"health-check@2026-01-01T00:02:00Z\","
		    "\"scheduled_for\":\"2026-01-01T00:02:00Z\","
		    "\"trigger\":\"schedule\",\"outcome\":\"published\","
		    "\"reason\":null,"
		    "\"recorded_at\":\"2026-01-01T00:02:00Z\"}]",
		    out, outlen);
	} else if (strcmp(c->cmd, "pause") == 0
	    || strcmp(c->cmd, "resume") == 0) {
		if (c->job == NULL || !fake_known(c->job)) {
			snprintf(err, sizeof(err), "unknown job '%s'",
			    c->job != NULL ? c->job : "");
			fake_reply(is_text, 0, err, NULL, out, outlen);
		} else {
			snprintf(data, sizeof(data),
			    "{\"job\":\"%s\",\"paused\":%s}", c->job,
			    strcmp(c->cmd, "pause") == 0 ? "true" : "false");
			fake_reply(is_text, 1, NULL, data, out, outlen);
		}
	} else if (strcmp(c->cmd, "next") == 0) {
		int    n   = c->n > 0 ? c->n : 5;
		cJSON *arr = cJSON_CreateArray();
		char  *s;

		atomic_store(&last_next_n, c->n);
		if (c->job != NULL && !fake_known(c->job)) {
			snprintf(err, sizeof(err), "unknown job '%s'", c->job);
			fake_reply(is_text, 0, err, NULL, out, outlen);
			cJSON_Delete(arr);
			cf_command_free(c);
			return;
		}
		if (c->job != NULL) {
			fake_fires(arr, c->job, n);
			s = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0));
		} else {
			fake_fires(arr, "health-check", n);
			fake_fires(arr, "slow-job", n);
			fake_fires(arr, "energy-sync", n);
			fake_fires(arr, "daily-snapshot", n);
			s = cJSON_PrintUnformatted(arr);
		}
		fake_reply(is_text, 1, NULL, s, out, outlen);
		free(s);
		cJSON_Delete(arr);
	} else if (strcmp(c->cmd, "trigger") == 0) {
		if (!fake_known(c->job)) {
			snprintf(err, sizeof(err), "unknown job '%s'",
			    c->job != NULL ? c->job : "");
			fake_reply(is_text, 0, err, NULL, out, outlen);
		} else {
			atomic_fetch_add(&triggers, 1);
			snprintf(data, sizeof(data),
			    "{\"job\":\"%s\",\"service\":\"maintenance\","
			    "\"fire_id\":\"%s@2026-01-01T00:00:00.123Z\","
			    "\"scheduled_for\":\"2026-01-01T00:00:00.123Z\","
			    "\"trigger\":\"manual\"}",
			    c->job, c->job);
			fake_reply(is_text, 1, NULL, data, out, outlen);
		}
	} else if (strcmp(c->cmd, "start") == 0
	    || strcmp(c->cmd, "stop") == 0) {
		int run = strcmp(c->cmd, "start") == 0;
		atomic_store(&clock_running, run);
		snprintf(data, sizeof(data), "{\"scheduler\":\"%s\"}",
		    run ? "running" : "stopped");
		fake_reply(is_text, 1, NULL, data, out, outlen);
	} else {
		fake_reply(is_text, 0, "unknown command", NULL, out, outlen);
	}
	cf_command_free(c);
}

static void
fake_maintenance(
    void *arg, const uint8_t *req, size_t len, uint8_t **out, size_t *outlen)
{
	cf_command *c = NULL;
	char        err[256], data[8192];
	int         is_text = 0;

	(void) arg;
	if (cf_proto_request_decode(
	        req, len, &c, &is_text, err, sizeof(err))) {
		fake_reply(is_text, 0, err, NULL, out, outlen);
		return;
	}
	if (strcmp(c->cmd, "ping") == 0) {
		fake_reply(is_text, 1, NULL, "{\"pong\":true}", out, outlen);
	} else if (strcmp(c->cmd, "status") == 0) {
		char run[1024];
		snprintf(run, sizeof(run), fake_run, 3, 3, 3, 3, 3);
		snprintf(data, sizeof(data),
		    "{\"service\":\"maintenance\","
		    "\"started_at\":\"2026-01-01T00:00:00Z\",\"jobs\":["
		    "{\"job\":\"health-check\",\"last_run\":%s},"
		    "{\"job\":\"slow-job\",\"last_run\":null}]}",
		    run);
		fake_reply(is_text, 1, NULL, data, out, outlen);
	} else if (strcmp(c->cmd, "history") == 0 && c->job != NULL
	    && strcmp(c->job, "slow-job") == 0) {
		sleep_ms(SLOW_MS);
		fake_reply(is_text, 1, NULL, "[]", out, outlen);
	} else if (strcmp(c->cmd, "history") == 0 && c->job != NULL
	    && strcmp(c->job, "health-check") == 0) {
		int    n   = c->n > 0 ? c->n : 20;
		size_t off = 0;

		atomic_store(&last_history_n, c->n);
		data[off++] = '[';
		for (int i = 3; i > 0 && 3 - i < n; i--) {
			if (i != 3) {
				data[off++] = ',';
			}
			off += (size_t) snprintf(data + off,
			    sizeof(data) - off, fake_run, i, i, i, i, i);
		}
		data[off++] = ']';
		data[off]   = '\0';
		fake_reply(is_text, 1, NULL, data, out, outlen);
	} else if (strcmp(c->cmd, "history") == 0 && c->job == NULL) {
		/* Every job's runs: none, here. */
		fake_reply(is_text, 1, NULL, "[]", out, outlen);
	} else if (strcmp(c->cmd, "history") == 0) {
		snprintf(err, sizeof(err), "unknown job '%s'",
		    c->job != NULL ? c->job : "");
		fake_reply(is_text, 0, err, NULL, out, outlen);
	} else {
		fake_reply(is_text, 0, "unknown command", NULL, out, outlen);
	}
	cf_command_free(c);
}

static int
fake_open(cf_rep **rep, const char *url, cf_rep_fn fn, int tries)
{
	char err[256];

	/* A port just closed may take a moment to be free again. */
	for (int i = 0; i < tries; i++) {
		if (cf_rep_open(rep, url, 4, 0, fn, NULL, err, sizeof(err))
		    == CF_OK) {
			return (0);
		}
		sleep_ms(100);
	}
	fprintf(stderr, "fake on %s: %s\n", url, err);
	return (-1);
}

/* ---- HTTP client -------------------------------------------------- */

typedef struct {
	long   status;
	char  *body;
	size_t len;
	char   allow[128];
	char   www[128];
	cJSON *json;
} http_res;

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	http_res *r = arg;
	char     *b = realloc(r->body, r->len + size * n + 1);

	if (b == NULL) {
		return (0);
	}
	r->body = b;
	memcpy(r->body + r->len, p, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return (size * n);
}

static void
header_value(char *dst, size_t len, const char *line, size_t n)
{
	size_t k = 0;

	while (k < n && line[k] != ':') {
		k++;
	}
	k++;
	while (k < n && line[k] == ' ') {
		k++;
	}
	while (n > k && (line[n - 1] == '\r' || line[n - 1] == '\n')) {
		n--;
	}
	snprintf(dst, len, "%.*s", (int) (n - k), line + k);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	http_res *r   = arg;
	size_t    len = size * n;

	if (len > 6 && strncasecmp(p, "Allow:", 6) == 0) {
		header_value(r->allow, sizeof(r->allow), p, len);
	} else if (len > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0) {
		header_value(r->www, sizeof(r->www), p, len);
	}
	return (len);
}

/* Chunked uploads: a body of *left bytes of 'x', from a read callback. */
static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	size_t *left = arg;
	size_t  k    = size * n < *left ? size * n : *left;

	memset(p, 'x', k);
	*left -= k;
	return (k);
}

/*
 * One request. token NULL sends no Authorization; auth is then the raw
 * header (or NULL). body NULL sends none; chunked sends chunked bytes.
 */
static void
http_do(http_res *r, const char *method, const char *path, const char *auth,
    const char *body, size_t chunked)
{
	CURL              *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char               url[512];
	size_t             left = chunked;

	memset(r, 0, sizeof(*r));
	assert_non_null(c);
	snprintf(url, sizeof(url), "%s%s", gw_base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if (auth != NULL) {
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Expect:");
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
		h = curl_slist_append(h, "Content-Type: application/json");
	} else if (chunked > 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &left);
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r->body != NULL) {
		r->json = cJSON_Parse(r->body);
	}
}

static void
http_free(http_res *r)
{
	cJSON_Delete(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

#define AUTH "Authorization: Bearer " TOKEN

/* An authorised request, checked for status and the seeds' shape. */
static void
api(http_res *r, const char *method, const char *path, const char *body,
    long want)
{
	http_do(r, method, path, AUTH, body, 0);
	if (r->status != want) {
		fprintf(stderr, "%s %s: want %ld, got %ld: %s\n", method, path,
		    want, r->status, r->body != NULL ? r->body : "(no body)");
	}
	assert_int_equal(r->status, want);
	assert_non_null(r->json);
	assert_true(cJSON_IsBool(cJSON_GetObjectItem(r->json, "success")));
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "success")),
	    want == 200);
	if (want != 200) {
		assert_non_null(cJSON_GetStringValue(
		    cJSON_GetObjectItem(r->json, "error")));
	}
}

static cJSON *
data_of(http_res *r)
{
	return (cJSON_GetObjectItem(r->json, "data"));
}

static const char *
error_of(http_res *r)
{
	return (cJSON_GetStringValue(cJSON_GetObjectItem(r->json, "error")));
}

static const char *
str_at(cJSON *o, const char *key)
{
	return (cJSON_GetStringValue(cJSON_GetObjectItem(o, key)));
}

/* ---- the gateway process ------------------------------------------ */

static int
gateway_spawn(void)
{
	char  *argv[32];
	char **envp;
	char   e_addr[64], e_clock[96], e_ingest[96], e_maint[96],
	    e_analytics[96];
	char *wrap  = getenv("CF_GATEWAY_WRAP");
	char *wcopy = NULL;
	int   argc = 0, n = 0, k = 0;

	snprintf(e_addr, sizeof(e_addr), "CRONFLEET_GATEWAY_ADDR=127.0.0.1:%d",
	    port_base);
	snprintf(
	    e_clock, sizeof(e_clock), "CRONFLEET_CLOCK_REP=%s", clock_url);
	snprintf(e_maint, sizeof(e_maint), "CRONFLEET_MAINTENANCE_REP=%s",
	    maint_url);
	snprintf(
	    e_ingest, sizeof(e_ingest), "CRONFLEET_INGEST_REP=%s", ingest_url);
	snprintf(e_analytics, sizeof(e_analytics),
	    "CRONFLEET_ANALYTICS_REP=tcp://127.0.0.1:%d", port_base + 4);

	/* The caller's environment, minus anything of ours. */
	while (environ[n] != NULL) {
		n++;
	}
	envp = calloc((size_t) n + 16, sizeof(*envp));
	for (int i = 0; i < n; i++) {
		if (strncmp(environ[i], "CRONFLEET_", 10) != 0) {
			envp[k++] = environ[i];
		}
	}
	envp[k++] = e_addr;
	envp[k++] = e_clock;
	envp[k++] = e_maint;
	envp[k++] = e_ingest;
	envp[k++] = e_analytics;
	envp[k++] = "CRONFLEET_ADMIN_TOKEN=" TOKEN;
	envp[k++] = "CRONFLEET_SERVICES=maintenance, ingest";
	envp[k++] = "CRONFLEET_GATEWAY_TIMEOUT=700ms";
	envp[k++] = "CRONFLEET_LOG_LEVEL=info";
	envp[k]   = NULL;

	if (wrap != NULL && wrap[0] != '\0') {
		char *save = NULL;
		wcopy      = strdup(wrap);
		for (char *t                   = strtok_r(wcopy, " ", &save);
		     t != NULL && argc < 30; t = strtok_r(NULL, " ", &save)) {
			argv[argc++] = t;
		}
	}
	argv[argc++] = (char *) gw_bin;
	argv[argc]   = NULL;

	gw_pid = fork();
	if (gw_pid == 0) {
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(wcopy);
	free(envp);
	return (gw_pid > 0 ? 0 : -1);
}

/* 1 while the gateway process has not exited. */
static int
gateway_alive(void)
{
	int st;
	return (gw_pid > 0 && waitpid(gw_pid, &st, WNOHANG) == 0);
}

static int
gateway_wait_ready(void)
{
	/* Generous: under valgrind the start takes seconds. */
	for (int i = 0; i < 600; i++) {
		http_res r;
		long     status;
		if (!gateway_alive()) {
			return (-1);
		}
		http_do(&r, "GET", "/healthz", NULL, NULL, 0);
		status = r.status;
		http_free(&r);
		if (status != 200) {
			sleep_ms(50);
			continue;
		}
		return (0);
	}
	return (-1);
}

/*
 * Ports come from the pid, below Linux's ephemeral range (32768 up) so
 * that no outgoing connection of a parallel test holds one; if a port is
 * taken all the same, the next set is tried.
 */
static int
setup(void **state)
{
	(void) state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int attempt = 0; attempt < 5; attempt++) {
		port_base
		    = 17000 + (int) ((getpid() + attempt * 397) % 300) * 10;
		snprintf(gw_base, sizeof(gw_base), "http://127.0.0.1:%d",
		    port_base);
		snprintf(clock_url, sizeof(clock_url), "tcp://127.0.0.1:%d",
		    port_base + 1);
		snprintf(maint_url, sizeof(maint_url), "tcp://127.0.0.1:%d",
		    port_base + 2);
		/* Nothing listens here: the ingest service is down. */
		snprintf(ingest_url, sizeof(ingest_url), "tcp://127.0.0.1:%d",
		    port_base + 3);
		if (fake_open(&clock_rep, clock_url, fake_clock, 1) == 0
		    && fake_open(&maint_rep, maint_url, fake_maintenance, 1)
		        == 0
		    && gateway_spawn() == 0 && gateway_wait_ready() == 0) {
			return (0);
		}
		if (gw_pid > 0) {
			kill(gw_pid, SIGKILL);
			waitpid(gw_pid, NULL, 0);
			gw_pid = -1;
		}
		cf_rep_close(clock_rep);
		cf_rep_close(maint_rep);
		clock_rep = maint_rep = NULL;
	}
	fprintf(stderr, "gateway did not start (%s)\n", gw_bin);
	return (-1);
}

/* Only cleans up: how the gateway stops is a case of its own below. */
static int
teardown(void **state)
{
	(void) state;
	if (gw_pid > 0) {
		kill(gw_pid, SIGKILL);
		waitpid(gw_pid, NULL, 0);
		gw_pid = -1;
	}
	cf_rep_close(clock_rep);
	cf_rep_close(maint_rep);
	curl_global_cleanup();
	return (0);
}

/* ---- cases -------------------------------------------------------- */

static void
healthz_without_auth(void **state)
{
	http_res r;
	(void) state;

	http_do(&r, "GET", "/healthz", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body,
	    "{\"success\":true,\"data\":"
	    "{\"status\":\"ok\"}}");
	http_free(&r);
	http_do(&r, "HEAD", "/healthz", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	http_free(&r);
}

static void
auth_missing_is_401(void **state)
{
	static const char *const paths[] = {
		"/api/v1/scheduler/status",
		"/api/scheduler/tasks",
		"/api/v1/nothing-here",
	};
	http_res r;
	(void) state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		http_do(&r, "GET", paths[i], NULL, NULL, 0);
		assert_int_equal(r.status, 401);
		assert_non_null(strstr(r.www, "Bearer"));
		assert_false(
		    cJSON_IsTrue(cJSON_GetObjectItem(r.json, "success")));
		http_free(&r);
	}
	/* Another scheme, or a bearer without a token, is no token. */
	http_do(&r, "GET", "/api/v1/scheduler/tasks",
	    "Authorization: Basic dXNlcjpwYXNz", NULL, 0);
	assert_int_equal(r.status, 401);
	http_free(&r);
	http_do(&r, "GET", "/api/v1/scheduler/tasks", "Authorization: Bearer ",
	    NULL, 0);
	assert_int_equal(r.status, 401);
	http_free(&r);
	/* No body is read before auth: a POST is refused up front. */
	http_do(&r, "POST", "/api/v1/scheduler/trigger/health-check", NULL,
	    "{}", 0);
	assert_int_equal(r.status, 401);
	assert_int_equal(atomic_load(&triggers), 0);
	http_free(&r);
}

static void
auth_wrong_is_401(void **state)
{
	static const char *const bad[] = {
		"Authorization: Bearer wrong",
		"Authorization: Bearer " TOKEN "x",
		"Authorization: Bearer test-token-0123456789abcdeF",
	};
	http_res r;
	(void) state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_do(&r, "GET", "/api/v1/scheduler/tasks", bad[i], NULL, 0);
		assert_int_equal(r.status, 401);
		assert_string_equal(error_of(&r), "invalid token");
		http_free(&r);
	}
	http_do(&r, "POST", "/api/v1/scheduler/stop", bad[0], NULL, 0);
	assert_int_equal(r.status, 401);
	assert_int_equal(atomic_load(&clock_running), 1);
	http_free(&r);
	/* The scheme is case-insensitive (RFC 6750). */
	http_do(&r, "GET", "/api/v1/scheduler/tasks",
	    "Authorization: bearer " TOKEN, NULL, 0);
	assert_int_equal(r.status, 200);
	http_free(&r);
}

static void
status_merges_clock_and_owners(void **state)
{
	http_res r;
	cJSON   *d, *jobs, *j, *svcs;
	(void) state;

	api(&r, "GET", "/api/v1/scheduler/status", NULL, 200);
	d = data_of(&r);
	assert_string_equal(str_at(d, "status"), "running");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "running")));
	assert_string_equal(str_at(d, "started_at"), "2026-01-01T00:00:00Z");
	/* Who publishes the ticks, from the leading clock's status. */
	j = cJSON_GetObjectItem(d, "leader");
	assert_string_equal(str_at(j, "clock_id"), "h1:42");
	assert_int_equal(
	    (int) cJSON_GetNumberValue(cJSON_GetObjectItem(j, "epoch")), 7);
	assert_string_equal(str_at(j, "lease"), "redis");
	assert_string_equal(str_at(j, "since"), "2026-01-01T00:00:01Z");
	jobs = cJSON_GetObjectItem(d, "jobs");
	assert_int_equal(cJSON_GetArraySize(jobs), 4);

	j = cJSON_GetArrayItem(jobs, 0);
	assert_string_equal(str_at(j, "job"), "health-check");
	assert_string_equal(str_at(j, "next_fire"), "2026-01-01T00:05:00Z");
	assert_string_equal(
	    str_at(cJSON_GetObjectItem(j, "last_run"), "run_id"), "r3");
	assert_string_equal(
	    str_at(cJSON_GetObjectItem(j, "last_run"), "status"), "succeeded");
	/* Owned by services that are down or not asked: no last run. */
	for (int i = 1; i < 4; i++) {
		j = cJSON_GetArrayItem(jobs, i);
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_run")));
		assert_non_null(str_at(j, "next_fire"));
	}
	svcs = cJSON_GetObjectItem(d, "services");
	assert_string_equal(str_at(svcs, "clock"), "ok");
	assert_string_equal(str_at(svcs, "maintenance"), "ok");
	assert_non_null(strstr(str_at(svcs, "ingest"),
	    "ingest is not reachable at tcp://127.0.0.1:"));
	assert_string_equal(str_at(svcs, "analytics"), "not queried");
	http_free(&r);
}

static void
tasks_are_the_clocks_jobs(void **state)
{
	static const char *const paths[] = {
		"/api/v1/scheduler/tasks",
		"/api/scheduler/tasks",
	};
	http_res r;
	cJSON   *want = cJSON_Parse(fake_jobs);
	(void) state;

	for (size_t i = 0; i < 2; i++) {
		cJSON *j, *d;

		api(&r, "GET", paths[i], NULL, 200);
		/* The gateway adds the schedule in words to each job. */
		d = data_of(&r);
		cJSON_ArrayForEach(j, d)
		{
			assert_non_null(cJSON_GetObjectItem(j, "description"));
			cJSON_DeleteItemFromObject(j, "description");
		}
		assert_true(cJSON_Compare(d, want, 1));
		http_free(&r);
	}
	cJSON_Delete(want);
}

static void
next_sync_times(void **state)
{
	http_res r;
	cJSON   *d;
	(void) state;

	api(&r, "GET", "/api/v1/scheduler/next-sync-times", NULL, 200);
	d = data_of(&r);
	assert_int_equal(cJSON_GetArraySize(d), 4);
	assert_int_equal(atomic_load(&last_next_n), 5);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	                     cJSON_GetArrayItem(d, 0), "fires")),
	    5);
	http_free(&r);

	api(&r, "GET", "/api/scheduler/next-sync-times?n=3", NULL, 200);
	assert_int_equal(atomic_load(&last_next_n), 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	                     cJSON_GetArrayItem(data_of(&r), 3), "fires")),
	    3);
	http_free(&r);

	api(&r, "GET",
	    "/api/v1/scheduler/next-sync-times?job=health-check&n=2", NULL,
	    200);
	assert_string_equal(str_at(data_of(&r), "job"), "health-check");
	http_free(&r);

	api(&r, "GET", "/api/v1/scheduler/next-sync-times?job=nope", NULL,
	    404);
	http_free(&r);
	static const char *const bad[]
	    = { "n=0", "n=101", "n=abc", "n=-1", "n=", "n=5x", "job=a.b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path),
		    "/api/v1/scheduler/next-sync-times?%s", bad[i]);
		api(&r, "GET", path, NULL, 400);
		http_free(&r);
	}
}

static void
trigger_known_and_unknown(void **state)
{
	http_res r;
	int      before = atomic_load(&triggers);
	(void) state;

	api(&r, "POST", "/api/v1/scheduler/trigger/health-check", NULL, 200);
	assert_string_equal(str_at(data_of(&r), "trigger"), "manual");
	assert_string_equal(str_at(data_of(&r), "fire_id"),
	    "health-check@2026-01-01T00:00:00.123Z");
	assert_int_equal(atomic_load(&triggers), before + 1);
	http_free(&r);

	api(&r, "POST", "/api/scheduler/trigger/health-check",
	    "{\"reason\":\"testing\"}", 200);
	http_free(&r);
	api(&r, "POST", "/api/scheduler/trigger/health-check", " \r\n", 200);
	http_free(&r);
	assert_int_equal(atomic_load(&triggers), before + 3);

	api(&r, "POST", "/api/v1/scheduler/trigger/no-such-job", NULL, 404);
	assert_string_equal(error_of(&r), "unknown job 'no-such-job'");
	http_free(&r);
	api(&r, "POST", "/api/v1/scheduler/trigger/bad.name", NULL, 400);
	http_free(&r);
	api(&r, "POST", "/api/v1/scheduler/trigger/%ff%fe", NULL, 400);
	http_free(&r);
	assert_int_equal(atomic_load(&triggers), before + 3);
}

static void
bad_bodies(void **state)
{
	static const char *const bad[]
	    = { "{", "{\"a\":}", "[1,2]", "42", "{} {}", "nul", "{\"a\":1,}" };
	http_res r;
	char    *big;
	int      before = atomic_load(&triggers);
	(void) state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api(&r, "POST", "/api/v1/scheduler/trigger/health-check",
		    bad[i], 400);
		http_free(&r);
	}
	api(&r, "POST", "/api/v1/scheduler/trigger/health-check",
	    "{\"a\":", 400);
	assert_non_null(strstr(error_of(&r), "malformed JSON"));
	http_free(&r);

	/* Declared too long: refused before it is read. */
	big = malloc(70001);
	memset(big, ' ', 70000);
	big[0]     = '{';
	big[69999] = '}';
	big[70000] = '\0';
	api(&r, "POST", "/api/v1/scheduler/start", big, 413);
	http_free(&r);
	/* Exactly the limit is fine. */
	big[65535] = '}';
	big[65536] = '\0';
	api(&r, "POST", "/api/v1/scheduler/start", big, 200);
	http_free(&r);
	free(big);

	/* Chunked, so only found too long while reading. */
	http_do(&r, "POST", "/api/v1/scheduler/trigger/health-check", AUTH,
	    NULL, 70000);
	assert_int_equal(r.status, 413);
	http_free(&r);
	assert_int_equal(atomic_load(&triggers), before);
}

static void
start_and_stop(void **state)
{
	http_res r;
	(void) state;

	api(&r, "POST", "/api/v1/scheduler/stop", NULL, 200);
	assert_string_equal(str_at(data_of(&r), "scheduler"), "stopped");
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/status", NULL, 200);
	assert_string_equal(str_at(data_of(&r), "status"), "stopped");
	assert_true(
	    cJSON_IsFalse(cJSON_GetObjectItem(data_of(&r), "running")));
	http_free(&r);
	api(&r, "POST", "/api/scheduler/start", "{}", 200);
	assert_string_equal(str_at(data_of(&r), "scheduler"), "running");
	http_free(&r);
	assert_int_equal(atomic_load(&clock_running), 1);
}

static void
history_from_the_owner(void **state)
{
	http_res r;
	(void) state;

	api(&r, "GET", "/api/v1/scheduler/history?job=health-check", NULL,
	    200);
	assert_int_equal(atomic_load(&last_history_n), 20);
	/* The owner's three runs and the clock's skipped fire, newest
	 * first; the published fire is the owner's r2, not repeated. */
	assert_int_equal(cJSON_GetArraySize(data_of(&r)), 4);
	assert_string_equal(
	    str_at(cJSON_GetArrayItem(data_of(&r), 0), "run_id"), "r3");
	{
		cJSON *sk = cJSON_GetArrayItem(data_of(&r), 1);
		assert_string_equal(str_at(sk, "status"), "skipped");
		assert_string_equal(str_at(sk, "error"), "paused");
		assert_string_equal(str_at(sk, "source"), "clock");
		assert_string_equal(str_at(sk, "job"), "health-check");
		assert_string_equal(str_at(sk, "fire_id"),
		    "health-check@2026-01-01T00:02:30Z");
		assert_true(cJSON_IsNull(cJSON_GetObjectItem(sk, "run_id")));
	}
	assert_string_equal(
	    str_at(cJSON_GetArrayItem(data_of(&r), 2), "run_id"), "r2");
	http_free(&r);

	api(&r, "GET", "/api/scheduler/history?job=health-check&limit=2", NULL,
	    200);
	assert_int_equal(atomic_load(&last_history_n), 2);
	assert_int_equal(cJSON_GetArraySize(data_of(&r)), 2);
	assert_string_equal(
	    str_at(cJSON_GetArrayItem(data_of(&r), 1), "status"), "skipped");
	http_free(&r);

	/*
	 * Without a job: every queried service's runs; ingest (down here)
	 * is named under page.incomplete, the others still answer.
	 */
	api(&r, "GET", "/api/v1/scheduler/history", NULL, 200);
	assert_non_null(strstr(r.body, "\"incomplete\""));
	assert_non_null(strstr(r.body, "ingest"));
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/history?job=", NULL, 400);
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/history?job=health-check&limit=0",
	    NULL, 400);
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/history?job=health-check&limit=1001",
	    NULL, 400);
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/history?job=nope", NULL, 404);
	assert_string_equal(error_of(&r), "unknown job 'nope'");
	http_free(&r);

	/* Owned by ingest, which is configured but not running. */
	api(&r, "GET", "/api/v1/scheduler/history?job=energy-sync", NULL, 503);
	assert_non_null(strstr(error_of(&r),
	    "ingest is not reachable at "
	    "tcp://127.0.0.1:"));
	http_free(&r);
	/* Owned by analytics, which this gateway does not ask. */
	api(&r, "GET", "/api/v1/scheduler/history?job=daily-snapshot", NULL,
	    503);
	assert_non_null(strstr(error_of(&r), "analytics"));
	http_free(&r);
}

static void
jobs_routes(void **state)
{
	http_res r;
	cJSON   *d, *runs;
	int      jobs_calls;
	(void) state;

	api(&r, "GET", "/api/v1/jobs", NULL, 200);
	assert_int_equal(cJSON_GetArraySize(data_of(&r)), 4);
	http_free(&r);

	/* The clock's view, the schedule in words, the owner's last runs
	 * merged with the clock's skipped fires. */
	jobs_calls = atomic_load(&clock_jobs_calls);
	api(&r, "GET", "/api/v1/jobs/health-check", NULL, 200);
	/* The owner came with the clock's answer to "next". */
	assert_int_equal(atomic_load(&clock_jobs_calls), jobs_calls);
	d = data_of(&r);
	assert_int_equal(atomic_load(&last_next_n), 10);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "fires")),
	    10);
	assert_non_null(str_at(d, "description"));
	assert_non_null(strstr(str_at(d, "description"), "02:30"));
	runs = cJSON_GetObjectItem(d, "last_runs");
	assert_int_equal(atomic_load(&last_history_n), 10);
	assert_int_equal(cJSON_GetArraySize(runs), 4);
	assert_string_equal(str_at(cJSON_GetArrayItem(runs, 1), "error"),
	    "paused");
	http_free(&r);

	api(&r, "GET", "/api/v1/jobs/no-such-job", NULL, 404);
	http_free(&r);
	api(&r, "GET", "/api/v1/jobs/bad.name", NULL, 400);
	http_free(&r);

	api(&r, "POST", "/api/v1/jobs/health-check/pause", NULL, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(data_of(&r), "paused")));
	http_free(&r);
	api(&r, "POST", "/api/v1/jobs/health-check/resume", NULL, 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(data_of(&r), "paused")));
	http_free(&r);
	api(&r, "POST", "/api/v1/jobs/no-such-job/pause", NULL, 404);
	http_free(&r);
	api(&r, "GET", "/api/v1/jobs/health-check/pause", NULL, 405);
	assert_string_equal(r.allow, "POST");
	http_free(&r);
	api(&r, "POST", "/api/v1/jobs/health-check/stop", NULL, 404);
	http_free(&r);
	/* Actions need the token like every /api route. */
	http_do(&r, "POST", "/api/v1/jobs/health-check/pause", NULL, NULL, 0);
	assert_int_equal(r.status, 401);
	http_free(&r);
}

static void
readyz_names_what_is_down(void **state)
{
	http_res r;
	(void) state;

	/* No token needed; ingest is configured but not running. */
	http_do(&r, "GET", "/readyz", NULL, NULL, 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(error_of(&r), "\"ingest\":\"unreachable\""));
	assert_non_null(strstr(error_of(&r), "\"clock\":\"ok\""));
	assert_non_null(strstr(error_of(&r), "\"maintenance\":\"ok\""));
	/* No addresses for callers without a token. */
	assert_null(strstr(error_of(&r), "tcp://"));
	http_free(&r);
}

static void
unknown_routes_and_methods(void **state)
{
	static const char *const missing[] = {
		"/api/v1/scheduler/nope",
		"/api/v1/scheduler/trigger/",
		"/api/v1/scheduler/trigger/a/b",
		"/api/v1/scheduler/status/",
		"/api/v2/scheduler/status",
		"/api",
	};
	http_res r;
	(void) state;

	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		api(&r, "GET", missing[i], NULL, 404);
		http_free(&r);
	}
	http_do(&r, "GET", "/", NULL, NULL, 0);
	assert_int_equal(r.status, 404);
	http_free(&r);

	api(&r, "GET", "/api/v1/scheduler/trigger/health-check", NULL, 405);
	assert_string_equal(r.allow, "POST");
	http_free(&r);
	api(&r, "POST", "/api/v1/scheduler/tasks", NULL, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	http_free(&r);
	api(&r, "DELETE", "/api/scheduler/start", NULL, 405);
	assert_string_equal(r.allow, "POST");
	http_free(&r);
	http_do(&r, "POST", "/healthz", NULL, NULL, 0);
	assert_int_equal(r.status, 405);
	http_free(&r);
}

static void
slow_service_is_504(void **state)
{
	http_res r;
	int64_t  t0;
	(void) state;

	api(&r, "GET", "/api/v1/scheduler/history?job=slow-job", NULL, 504);
	assert_non_null(strstr(error_of(&r), "maintenance did not answer"));
	http_free(&r);

	atomic_store(&clock_delay_ms, SLOW_MS);
	t0 = (int64_t) time(NULL);
	api(&r, "GET", "/api/v1/scheduler/tasks", NULL, 504);
	assert_non_null(strstr(error_of(&r), "clock did not answer"));
	assert_true((int64_t) time(NULL) - t0 <= 2);
	http_free(&r);
	api(&r, "POST", "/api/v1/scheduler/trigger/health-check", NULL, 504);
	http_free(&r);
	atomic_store(&clock_delay_ms, 0);

	/* Once the fakes' slow handlers are done, all is well again. */
	sleep_ms(SLOW_MS);
	api(&r, "GET", "/api/v1/scheduler/tasks", NULL, 200);
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/history?job=health-check", NULL,
	    200);
	http_free(&r);
}

static void
service_down_is_503(void **state)
{
	http_res r;
	char     want[128];
	int      ok = 0;
	(void) state;

	cf_rep_close(maint_rep);
	maint_rep = NULL;
	/* Let the gateway see the connection go before asking. */
	sleep_ms(300);
	snprintf(want, sizeof(want), "maintenance is not reachable at %s",
	    maint_url);
	api(&r, "GET", "/api/v1/scheduler/history?job=health-check", NULL,
	    503);
	assert_string_equal(error_of(&r), want);
	http_free(&r);
	/* The status still answers, and says what is missing. */
	api(&r, "GET", "/api/v1/scheduler/status", NULL, 200);
	assert_string_equal(
	    str_at(
	        cJSON_GetObjectItem(data_of(&r), "services"), "maintenance"),
	    want);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(data_of(&r), "jobs"), 0),
	    "last_run")));
	http_free(&r);

	/* Back again: the gateway's sockets find it by themselves. */
	assert_int_equal(
	    fake_open(&maint_rep, maint_url, fake_maintenance, 50), 0);
	for (int i = 0; i < 40 && !ok; i++) {
		http_do(&r, "GET",
		    "/api/v1/scheduler/history?job=health-check", AUTH, NULL,
		    0);
		ok = r.status == 200;
		http_free(&r);
		if (!ok) {
			sleep_ms(100);
		}
	}
	assert_true(ok);

	cf_rep_close(clock_rep);
	clock_rep = NULL;
	/* Let the gateway see the connection go before asking. */
	sleep_ms(300);
	api(&r, "GET", "/api/v1/scheduler/status", NULL, 503);
	assert_non_null(strstr(error_of(&r), "clock is not reachable at"));
	http_free(&r);
	api(&r, "POST", "/api/v1/scheduler/trigger/health-check", NULL, 503);
	http_free(&r);
	assert_int_equal(fake_open(&clock_rep, clock_url, fake_clock, 50), 0);
	ok = 0;
	for (int i = 0; i < 40 && !ok; i++) {
		http_do(&r, "GET", "/api/v1/scheduler/tasks", AUTH, NULL, 0);
		ok = r.status == 200;
		http_free(&r);
		if (!ok) {
			sleep_ms(100);
		}
	}
	assert_true(ok);
}

static atomic_int parallel_ok;

static void *
parallel_client(void *arg)
{
	(void) arg;
	/* Clock, then clock and maintenance: both pools are shared. */
	for (int i = 0; i < 10; i++) {
		http_res r;
		int      tries = 0;

		/*
		 * What is checked is that no request waits on another's
		 * socket for ever; under valgrind a call may miss the 700 ms
		 * budget (504), and the socket it used is then replaced by
		 * one whose dial may not be done when the next call comes
		 * (503): both are retried, not counted.
		 */
		do {
			http_do(&r, "GET",
			    i % 2 ? "/api/v1/scheduler/tasks"
			          : "/api/v1/scheduler/history?job=health-check",
			    AUTH, NULL, 0);
			if ((r.status == 504 || r.status == 503) && ++tries < 5) {
				http_free(&r);
				sleep_ms(200);
				continue;
			}
			break;
		} while (1);
		if (r.status == 200) {
			atomic_fetch_add(&parallel_ok, 1);
		} else {
			fprintf(stderr, "parallel: %ld %s\n", (long) r.status,
			    r.body != NULL ? r.body : "");
		}
		http_free(&r);
	}
	return (NULL);
}

/* More clients than each service's socket pool holds, all served. */
static void
parallel_requests(void **state)
{
	pthread_t thr[16];
	(void) state;

	for (int i = 0; i < 16; i++) {
		assert_int_equal(
		    pthread_create(&thr[i], NULL, parallel_client, NULL), 0);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(thr[i], NULL);
	}
	assert_int_equal(atomic_load(&parallel_ok), 160);
}

/* Raw bytes that are not HTTP, or HTTP with a huge header. */
static void
garbage_on_the_socket(void **state)
{
	static const char *const junk[] = {
		"GARBAGE\r\n\r\n",
		"\x00\x01\x02\xff\xfe\r\n\r\n",
		"GET /healthz HTTP/9.9\r\n\r\n",
		("POST /api/v1/scheduler/start HTTP/1.1\r\nHost: x\r\n"
		 "Content-Length: -5\r\n\r\n"),
	};
	struct sockaddr_in sa;
	char              *huge;
	(void) state;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family      = AF_INET;
	sa.sin_port        = htons((uint16_t) port_base);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	huge               = malloc(100000);
	memset(huge, 'a', 100000);
	memcpy(huge, "GET /healthz HTTP/1.1\r\nX: ", 26);
	for (size_t i = 0; i < 5; i++) {
		int         fd = socket(AF_INET, SOCK_STREAM, 0);
		const char *p  = i < 4 ? junk[i] : huge;
		size_t      n  = i < 4 ? strlen(p) + (i == 1 ? 8 : 0) : 100000;
		char        buf[512];
		struct timeval tv = { 5, 0 };

		assert_true(fd >= 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		assert_int_equal(
		    connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
		(void) !send(fd, p, n, MSG_NOSIGNAL);
		(void) !recv(fd, buf, sizeof(buf), 0);
		close(fd);
	}
	free(huge);
	assert_true(gateway_alive());
}

static void
still_up_after_all_of_it(void **state)
{
	http_res r;
	(void) state;

	assert_true(gateway_alive());
	http_do(&r, "GET", "/healthz", NULL, NULL, 0);
	assert_int_equal(r.status, 200);
	http_free(&r);
	api(&r, "GET", "/api/v1/scheduler/status", NULL, 200);
	http_free(&r);
}

/*
 * SIGTERM: the gateway stops in order and exits 0 (under a tool such as
 * valgrind, the tool's status: its errors fail this case).
 */
static void
sigterm_exits_zero(void **state)
{
	int st = 0, done = 0;
	(void) state;

	assert_int_equal(kill(gw_pid, SIGTERM), 0);
	for (int i = 0; i < 300 && !done; i++) {
		done = waitpid(gw_pid, &st, WNOHANG) == gw_pid;
		if (!done) {
			sleep_ms(50);
		}
	}
	assert_true(done);
	gw_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthz_without_auth),
		cmocka_unit_test(auth_missing_is_401),
		cmocka_unit_test(auth_wrong_is_401),
		cmocka_unit_test(status_merges_clock_and_owners),
		cmocka_unit_test(tasks_are_the_clocks_jobs),
		cmocka_unit_test(next_sync_times),
		cmocka_unit_test(trigger_known_and_unknown),
		cmocka_unit_test(bad_bodies),
		cmocka_unit_test(start_and_stop),
		cmocka_unit_test(history_from_the_owner),
		cmocka_unit_test(jobs_routes),
		cmocka_unit_test(readyz_names_what_is_down),
		cmocka_unit_test(unknown_routes_and_methods),
		cmocka_unit_test(slow_service_is_504),
		cmocka_unit_test(service_down_is_503),
		cmocka_unit_test(parallel_requests),
		cmocka_unit_test(garbage_on_the_socket),
		cmocka_unit_test(still_up_after_all_of_it),
		cmocka_unit_test(sigterm_exits_zero),
	};

	gw_bin = getenv("CF_GATEWAY_BIN");
	if (argc > 1) {
		gw_bin = argv[1];
	}
	if (gw_bin == NULL) {
		fprintf(
		    stderr, "usage: %s path/to/cronfleet-gateway\n", argv[0]);
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
