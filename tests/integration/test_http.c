/*
 * integration.http - lib/cf_http against the real vendor simulator
 * (cronfleet-vendor-sim), started here on a loopback port in 10500-10999
 * chosen from the pid. Faults are armed through the simulator's /_sim
 * API, and its stats count what actually reached it, so retries are
 * asserted by count, not by timing; where timing matters (Retry-After,
 * the in-flight limit) only lower bounds that the simulator enforces are
 * asserted, plus generous upper bounds where a bug would mean waiting far
 * longer.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "cf_err.h"
#include "cf_http.h"
#include "cf_log.h"
#include "itest.h"

extern char **environ;

static pid_t sim_pid = -1;
static int   sim_port;
static char  sim_base[64]; /* http://127.0.0.1:<port> */

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* --- the simulator's admin API, over plain libcurl --- */

typedef struct buf {
	char  *p;
	size_t n;
} buf;

static size_t
buf_write(char *d, size_t s, size_t n, void *arg)
{
	buf  *b = arg;
	char *p = realloc(b->p, b->n + s * n + 1);
	if (p == NULL) {
		return (0);
	}
	memcpy(p + b->n, d, s * n);
	b->p = p;
	b->n += s * n;
	b->p[b->n] = '\0';
	return (s * n);
}

/* method path [body]: the status (0: no answer); *out the body if asked. */
static long
sim_call(const char *method, const char *path, const char *body, char **out)
{
	CURL *c = curl_easy_init();
	buf   b = { 0 };
	char  url[256];
	long  st = 0;

	snprintf(url, sizeof(url), "%s%s", sim_base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	}
	curl_easy_cleanup(c);
	if (out != NULL) {
		*out = b.p;
	} else {
		free(b.p);
	}
	return (st);
}

static void
sim_fault(const char *vendor, const char *json)
{
	char path[128];
	snprintf(path, sizeof(path), "/_sim/faults/%s", vendor);
	assert_int_equal(sim_call("PUT", path, json, NULL), 200);
}

/* A vendor's counter from GET /_sim/stats ("requests", "faults_fired"). */
static int
sim_stat(const char *vendor, const char *counter)
{
	char  *body = NULL;
	cJSON *d, *v;
	int    n;

	assert_int_equal(sim_call("GET", "/_sim/stats", NULL, &body), 200);
	d = cJSON_Parse(body);
	free(body);
	assert_non_null(d);
	v = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "vendors"), vendor);
	v = cJSON_GetObjectItem(v, counter);
	assert_true(cJSON_IsNumber(v));
	n = v->valueint;
	cJSON_Delete(d);
	return (n);
}

/* A port in 10500-10999 from the pid, free right now. */
static int
pick_port(void)
{
	for (int k = 0; k < 500; k++) {
		int                port = 10500 + (int) ((getpid() + k) % 500);
		struct sockaddr_in a    = { .sin_family = AF_INET };
		int                fd   = socket(AF_INET, SOCK_STREAM, 0);
		int                ok;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port        = htons((uint16_t) port);
		ok = bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
		close(fd);
		if (ok) {
			return (port);
		}
	}
	return (-1);
}

static int
sim_start(void **state)
{
	char  addr[64];
	char *envp[64];
	char *argv[] = { (char *) CF_VENDOR_SIM_BIN, NULL };
	int   k      = 0;

	(void) state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cf_log_init("test-http", CF_LOG_WARN);
	if ((sim_port = pick_port()) < 0) {
		fprintf(stderr, "no free port in 10500-10999\n");
		return (-1);
	}
	snprintf(sim_base, sizeof(sim_base), "http://127.0.0.1:%d", sim_port);
	snprintf(
	    addr, sizeof(addr), "CRONFLEET_SIM_ADDR=127.0.0.1:%d", sim_port);
	/* The environment minus the simulator's own settings. */
	for (int i = 0; environ[i] != NULL && k < 60; i++) {
		if (strncmp(environ[i], "CRONFLEET_", 10) != 0) {
			envp[k++] = environ[i];
		}
	}
	envp[k++] = addr;
	envp[k++] = "CRONFLEET_LOG_LEVEL=warn";
	envp[k]   = NULL;
	sim_pid   = fork();
	if (sim_pid == 0) {
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (sim_pid < 0) {
		return (-1);
	}
	for (int i = 0; i < 100; i++) {
		int st;
		if (sim_call("GET", "/_sim", NULL, NULL) == 200) {
			return (0);
		}
		if (waitpid(sim_pid, &st, WNOHANG) == sim_pid) {
			fprintf(stderr, "the simulator exited (%d)\n", st);
			sim_pid = -1;
			return (-1);
		}
		sleep_ms(100);
	}
	fprintf(stderr, "the simulator does not answer on %s\n", sim_base);
	return (-1);
}

static int
sim_stop(void **state)
{
	int st;

	(void) state;
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		for (int i = 0; i < 50; i++) {
			if (waitpid(sim_pid, &st, WNOHANG) == sim_pid) {
				sim_pid = -1;
				break;
			}
			sleep_ms(100);
		}
		if (sim_pid > 0) {
			kill(sim_pid, SIGKILL);
			waitpid(sim_pid, &st, 0);
		}
	}
	return (0);
}

/* Before each case: no fault, counters at zero, a fresh client. */
static int
case_setup(void **state)
{
	cf_http_config cfg;
	cf_http       *h;

	if (sim_call("DELETE", "/_sim/faults", NULL, NULL) != 200
	    || sim_call("DELETE", "/_sim/stats", NULL, NULL) != 200) {
		return (-1);
	}
	cf_http_config_defaults(&cfg);
	cfg.backoff_base_ms = 50;
	cfg.backoff_cap_ms  = 200;
	cfg.timeout_ms      = 5000;
	if (cf_http_open(&h, &cfg) != CF_OK) {
		return (-1);
	}
	*state = h;
	return (0);
}

static int
case_teardown(void **state)
{
	cf_http_close(*state);
	return (0);
}

/* The URL of a vendor route on the simulator. */
static const char *
url(const char *path)
{
	/* A few at once: a request may hold one while building another. */
	static _Thread_local char u[4][512];
	static _Thread_local int  i;
	i = (i + 1) % 4;
	snprintf(u[i], sizeof(u[i]), "%s%s", sim_base, path);
	return (u[i]);
}

/* SolarEdge: the API key is in the query, as the vendor wants it. */
#define SITES "/solaredge/sites/list?api_key=sim-solaredge-key"
#define WHAT "solaredge: GET /solaredge/sites/list"

static int
do_get(cf_http *h, const char *path, cf_http_response *rs, char *err,
    size_t errlen)
{
	cf_http_request rq
	    = { .name = "solaredge", .method = "GET", .url = url(path) };
	return (cf_http_do(h, &rq, rs, err, errlen));
}

/* --- cases --- */

static void
test_success(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	cJSON           *doc = NULL;
	cf_http_stats    st;
	char             err[256], ct[128];

	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_OK);
	assert_string_equal(err, "");
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 1);
	assert_int_equal(rs.retry_after_ms, -1);
	assert_string_equal(rs.what, WHAT);
	assert_true(
	    cf_http_response_header(&rs, "content-type", ct, sizeof(ct)));
	assert_non_null(strstr(ct, "application/json"));
	assert_int_equal(cf_http_json(&rs, &doc, err, sizeof(err)), CF_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
	                     cJSON_GetObjectItem(doc, "sites"), "site")),
	    3);
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 1);

	/* A second call reuses the pooled handle's kept-alive connection. */
	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_OK);
	cf_http_response_free(&rs);
	cf_http_stats_get(h, &st);
	assert_int_equal(st.attempts, 2);
	assert_int_equal(st.connections, 1);
	assert_int_equal(sim_stat("solaredge", "requests"), 2);
}

/* A POST with a form body through the handle pool: Tesla's token route. */
static void
test_post_form(void **state)
{
	cf_http          *h = *state;
	cf_http_response  rs;
	cJSON            *doc  = NULL;
	char             *form = NULL, err[256];
	const char *const pairs[]
	    = { "grant_type", "refresh_token", "client_id", "sim-tesla-client",
		      "refresh_token", "sim-tesla-refresh", NULL };
	const char *const odd[] = { "a b", "x&y=z", "empty", NULL };
	cf_http_request   rq    = { .name = "tesla",
		     .method              = "POST",
		     .url                 = url("/tesla/oauth2/v3/token"),
		     .content_type        = "application/x-www-form-urlencoded" };

	assert_int_equal(cf_http_form(&form, odd), CF_OK);
	assert_string_equal(form, "a%20b=x%26y%3Dz&empty=");
	free(form);
	assert_int_equal(cf_http_form(&form, pairs), CF_OK);
	rq.body     = form;
	rq.body_len = strlen(form);
	assert_int_equal(cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_OK);
	assert_int_equal(rs.status, 200);
	assert_int_equal(cf_http_json(&rs, &doc, err, sizeof(err)), CF_OK);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(doc, "access_token")));
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	free(form);
	/* One request; it minted tokens (access, refresh, id) from the
	 * refresh token, so the form arrived whole. */
	assert_int_equal(sim_stat("tesla", "requests"), 1);
	assert_true(sim_stat("tesla", "tokens_refreshed") >= 1);
}

static void
test_retry_after_honoured(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	int64_t          t0;

	sim_fault(
	    "solaredge", "{\"mode\":\"429\",\"count\":1,\"retry_after\":1}");
	t0 = now_ms();
	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_OK);
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 2);
	assert_int_equal(rs.retry_after_ms, 1000);
	/* Waited the header's second (not a 50-200 ms backoff). */
	assert_true(rs.waited_ms >= 1000);
	assert_true(now_ms() - t0 >= 1000);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 2);
	assert_int_equal(sim_stat("solaredge", "faults_fired"), 1);
}

static void
test_500_retried(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	cf_http_stats    st;
	char             err[256];

	sim_fault("solaredge", "{\"mode\":\"500\",\"count\":2}");
	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_OK);
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 3);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 3);
	cf_http_stats_get(h, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.failures, 0);
}

static void
test_500_exhausted(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	cf_http_request  rq = { .name = "solaredge",
		 .method              = "GET",
		 .url                 = url(SITES),
		 .max_attempts        = 3 };

	sim_fault("solaredge", "{\"mode\":\"500\",\"count\":0}");
	assert_int_equal(cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_EPROTO);
	assert_string_equal(err, WHAT ": HTTP 500 (after 3 attempts)");
	assert_int_equal(rs.status, 500);
	assert_int_equal(rs.attempts, 3);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 3);
}

static void
test_4xx_not_retried(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	cf_http_request  rq = { .name = "solaredge",
		 .method              = "GET",
		 .url = url("/solaredge/site/2001/energyDetails"
		             "?api_key=sim-solaredge-key&startTime=yesterday"
		             "&endTime=today&timeUnit=DAY") };

	cf_http_request e401 = { .name = "enphase",
		.method                = "GET",
		.url = url("/enphase/api/v4/systems?key=sim-enphase-key") };

	/* 401: Enphase without its access token. */
	assert_int_equal(
	    cf_http_do(h, &e401, &rs, err, sizeof(err)), CF_EPROTO);
	assert_string_equal(
	    err, "enphase: GET /enphase/api/v4/systems: HTTP 401");
	assert_int_equal(rs.status, 401);
	assert_int_equal(rs.attempts, 1);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("enphase", "requests"), 1);

	/* 403: a wrong SolarEdge key. */
	assert_int_equal(do_get(h, "/solaredge/sites/list?api_key=wrong", &rs,
	                     err, sizeof(err)),
	    CF_EPROTO);
	assert_string_equal(err, WHAT ": HTTP 403");
	assert_int_equal(rs.status, 403);
	assert_int_equal(rs.attempts, 1);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 1);

	/* 400: bad times. */
	assert_int_equal(cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_EPROTO);
	assert_string_equal(err,
	    "solaredge: GET /solaredge/site/2001/energyDetails: HTTP 400");
	assert_int_equal(rs.status, 400);
	assert_int_equal(rs.attempts, 1);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 2);
}

static void
test_timeout(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	int64_t          t0, dt;
	cf_http_request  rq = { .name = "solaredge",
		 .method              = "GET",
		 .url                 = url(SITES),
		 .timeout_ms          = 1000,
		 .max_attempts        = 2 };

	sim_fault(
	    "solaredge", "{\"mode\":\"slow\",\"count\":0,\"delay_ms\":4000}");
	t0 = now_ms();
	assert_int_equal(
	    cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_ETIMEDOUT);
	dt = now_ms() - t0;
	assert_string_equal(
	    err, WHAT ": timed out after 1 s (after 2 attempts)");
	assert_int_equal(rs.status, 0);
	assert_int_equal(rs.attempts, 2);
	/* Two 1 s tries and a backoff of at most 200 ms: well under the
	 * simulator's 4 s. */
	assert_true(dt >= 1900 && dt < 3500);
	cf_http_response_free(&rs);
	/* The simulator counts a request when it answers, and these two are
	 * still asleep there; it counts a fault when it takes one. */
	assert_int_equal(sim_stat("solaredge", "faults_fired"), 2);
}

static void
test_malformed_json(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs, fake = { 0 };
	cJSON           *doc = NULL;
	char             err[256], want[256];
	unsigned long    at = 0;
	static const struct {
		const char *body;
		const char *msg;
	} cases[] = {
		{ "{\"a\": 1, \"b\": x}",
		    "t: GET /: response is not JSON at byte 14" },
		{ "[1, 2] junk", "t: GET /: response is not JSON at byte 7" },
		{ "", "t: GET /: response is empty (expected JSON)" },
		{ "{\"ok\": true}  \n", NULL },
	};

	/* The parser alone, on known bodies. */
	snprintf(fake.what, sizeof(fake.what), "t: GET /");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake.body     = (char *) cases[i].body;
		fake.body_len = strlen(cases[i].body);
		err[0]        = '\0';
		if (cases[i].msg == NULL) {
			assert_int_equal(
			    cf_http_json(&fake, &doc, err, sizeof(err)),
			    CF_OK);
			cJSON_Delete(doc);
		} else {
			assert_int_equal(
			    cf_http_json(&fake, &doc, err, sizeof(err)),
			    CF_EPROTO);
			assert_null(doc);
			assert_string_equal(err, cases[i].msg);
		}
	}

	/* The simulator's answer cut in half. */
	sim_fault("solaredge", "{\"mode\":\"malformed\",\"count\":1}");
	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_OK);
	assert_int_equal(rs.status, 200);
	assert_true(rs.body_len > 0);
	assert_int_equal(cf_http_json(&rs, &doc, err, sizeof(err)), CF_EPROTO);
	assert_null(doc);
	assert_int_equal(
	    sscanf(err, WHAT ": response is not JSON at byte %lu", &at), 1);
	assert_true(at > 0 && at <= rs.body_len);
	snprintf(
	    want, sizeof(want), WHAT ": response is not JSON at byte %lu", at);
	assert_string_equal(err, want);
	cf_http_response_free(&rs);
}

static void
test_retry_after_beyond_deadline(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	int64_t          t0;
	cf_http_request  rq = { .name = "solaredge",
		 .method              = "GET",
		 .url                 = url(SITES),
		 .deadline_ms         = 5000 };

	sim_fault(
	    "solaredge", "{\"mode\":\"429\",\"count\":1,\"retry_after\":30}");
	t0 = now_ms();
	assert_int_equal(
	    cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_ETIMEDOUT);
	assert_true(now_ms() - t0 < 1000);
	assert_string_equal(
	    err, WHAT ": HTTP 429 (retry after 30 s exceeds the deadline)");
	assert_int_equal(rs.status, 429);
	assert_int_equal(rs.attempts, 1);
	assert_int_equal(rs.retry_after_ms, 30000);
	cf_http_response_free(&rs);
	assert_int_equal(sim_stat("solaredge", "requests"), 1);
}

/* A Retry-After longer than the client's longest wait ends the call too. */
static void
test_retry_after_beyond_max_wait(void **state)
{
	cf_http_config   cfg;
	cf_http         *h;
	cf_http_response rs;
	char             err[256];

	(void) state;
	cf_http_config_defaults(&cfg);
	cfg.max_retry_after_ms = 2000;
	assert_int_equal(cf_http_open(&h, &cfg), CF_OK);
	sim_fault(
	    "solaredge", "{\"mode\":\"429\",\"count\":1,\"retry_after\":3}");
	assert_int_equal(
	    do_get(h, SITES, &rs, err, sizeof(err)), CF_ETIMEDOUT);
	assert_string_equal(err,
	    WHAT ": HTTP 429 (retry after 3 s exceeds the longest wait, 2 s)");
	assert_int_equal(rs.attempts, 1);
	cf_http_response_free(&rs);
	cf_http_close(h);
}

typedef struct limiter_arg {
	cf_http *h;
	int      rc;
} limiter_arg;

static void *
limiter_thread(void *p)
{
	limiter_arg     *a = p;
	cf_http_response rs;
	char             err[256];

	a->rc = do_get(a->h, SITES, &rs, err, sizeof(err));
	cf_http_response_free(&rs);
	return (NULL);
}

/* 6 threads through one client; returns the elapsed ms. */
static int64_t
limiter_run(cf_http *h)
{
	pthread_t   th[6];
	limiter_arg a[6];
	int64_t     t0 = now_ms();

	for (int i = 0; i < 6; i++) {
		a[i].h  = h;
		a[i].rc = -1;
		assert_int_equal(
		    pthread_create(&th[i], NULL, limiter_thread, &a[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, CF_OK);
	}
	return (now_ms() - t0);
}

static void
test_limiter(void **state)
{
	cf_http_config cfg;
	cf_http       *h2, *h6;
	cf_http_stats  st;
	int64_t        dt;

	(void) state;
	sim_fault(
	    "solaredge", "{\"mode\":\"slow\",\"count\":0,\"delay_ms\":400}");

	/* Limit 2: never more than 2 in flight, so three waves of 400 ms. */
	cf_http_config_defaults(&cfg);
	cfg.max_in_flight = 2;
	assert_int_equal(cf_http_open(&h2, &cfg), CF_OK);
	dt = limiter_run(h2);
	cf_http_stats_get(h2, &st);
	assert_int_equal(st.max_in_flight, 2);
	assert_int_equal(st.peak_in_flight, 2);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.calls, 6);
	assert_true(dt >= 1200);
	assert_int_equal(sim_stat("solaredge", "requests"), 6);
	cf_http_close(h2);

	/* The same with room for all: the instrument sees more than 2, and
	 * the run takes about one wave. */
	cfg.max_in_flight = 6;
	assert_int_equal(cf_http_open(&h6, &cfg), CF_OK);
	dt = limiter_run(h6);
	cf_http_stats_get(h6, &st);
	assert_true(st.peak_in_flight > 2);
	assert_true(dt < 1200);
	cf_http_stats_reset_peak(h6);
	cf_http_stats_get(h6, &st);
	assert_int_equal(st.peak_in_flight, 0);
	cf_http_close(h6);
}

static void
test_connect_refused(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256], u[128];
	cf_http_request  rq
	    = { .name = "nobody", .method = "GET", .max_attempts = 3 };

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x?token=abc",
	    itest_closed_port());
	rq.url = u;
	assert_int_equal(cf_http_do(h, &rq, &rs, err, sizeof(err)), CF_ECONN);
	assert_int_equal(rs.status, 0);
	assert_int_equal(rs.attempts, 3);
	assert_true(strncmp(err, "nobody: GET /x: ", 16) == 0);
	assert_non_null(strstr(err, "(after 3 attempts)"));
	cf_http_response_free(&rs);
}

static void
test_body_limit(void **state)
{
	cf_http_config   cfg;
	cf_http         *h;
	cf_http_response rs;
	char             err[256];

	(void) state;
	cf_http_config_defaults(&cfg);
	cfg.max_body = 100;
	assert_int_equal(cf_http_open(&h, &cfg), CF_OK);
	assert_int_equal(do_get(h, SITES, &rs, err, sizeof(err)), CF_ETOOBIG);
	assert_string_equal(err, WHAT ": response body exceeds 100 bytes");
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.attempts, 1);
	cf_http_response_free(&rs);
	cf_http_close(h);
}

typedef struct cancel_arg {
	atomic_int flag;
} cancel_arg;

static void *
cancel_thread(void *p)
{
	cancel_arg *a = p;
	sleep_ms(300);
	atomic_store(&a->flag, 1);
	return (NULL);
}

static void
test_cancel(void **state)
{
	cf_http         *h = *state;
	cf_http_response rs;
	char             err[256];
	cancel_arg       a = { 0 };
	pthread_t        th;
	int64_t          t0;
	int              rc;
	cf_http_request  rq = { .name = "solaredge",
		 .method              = "GET",
		 .url                 = url(SITES),
		 .cancel              = &a.flag };

	sim_fault(
	    "solaredge", "{\"mode\":\"429\",\"count\":1,\"retry_after\":10}");
	t0 = now_ms();
	assert_int_equal(pthread_create(&th, NULL, cancel_thread, &a), 0);
	rc = cf_http_do(h, &rq, &rs, err, sizeof(err));
	pthread_join(th, NULL); /* before any assert: a is on this stack */
	assert_int_equal(rc, CF_ECLOSED);
	assert_true(now_ms() - t0 < 2000);
	assert_string_equal(err, WHAT ": cancelled");
	cf_http_response_free(&rs);
}

/* A file's whole text (the caller frees). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long  n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t) n + 1);
	assert_int_equal(fread(s, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	return (s);
}

static void
test_secrets_not_logged(void **state)
{
	cf_http          *h = *state;
	cf_http_response  rs;
	char              err[4][256], path[] = "/tmp/cf-http-log-XXXXXX";
	char             *log;
	int               fd     = mkstemp(path), old;
	const char *const hdrs[] = { "Authorization: Bearer SECRET-BEARER-123",
		"Cookie: session=SECRET-COOKIE-456",
		"X-Api-Key: SECRET-XAPI-789", NULL };
	const char *const secrets[] = { "sim-solaredge-key",
		"SECRET-BEARER-123", "SECRET-COOKIE-456", "SECRET-XAPI-789",
		"WRONG-SECRET-KEY", "SECRET-TOKEN-Q", "SECRET-PW", NULL };
	cf_http_request   rq
	    = { .name = "solaredge", .method = "GET", .headers = hdrs };

	assert_true(fd >= 0);
	old = cf_log_set_fd(fd);
	cf_log_set_level(CF_LOG_DEBUG);

	/* Success, with secret headers and a key in the query. */
	rq.url = url(SITES "&access_token=SECRET-TOKEN-Q&page=1");
	assert_int_equal(cf_http_do(h, &rq, &rs, err[0], 256), CF_OK);
	cf_http_response_free(&rs);
	/* A retry (logged at info with its URL), then success. */
	sim_fault("solaredge", "{\"mode\":\"500\",\"count\":1}");
	assert_int_equal(cf_http_do(h, &rq, &rs, err[1], 256), CF_OK);
	assert_int_equal(rs.attempts, 2);
	cf_http_response_free(&rs);
	/* A refusal: the error message must not carry the wrong key. */
	rq.url = url("/solaredge/sites/list?api_key=WRONG-SECRET-KEY");
	assert_int_equal(cf_http_do(h, &rq, &rs, err[2], 256), CF_EPROTO);
	cf_http_response_free(&rs);
	/* Unreachable, with user information in the URL. */
	{
		char u[128];
		snprintf(u, sizeof(u),
		    "http://user:SECRET-PW@127.0.0.1:%d/x?password=SECRET-PW",
		    itest_closed_port());
		rq.url          = u;
		rq.max_attempts = 2;
		assert_int_equal(
		    cf_http_do(h, &rq, &rs, err[3], 256), CF_ECONN);
		cf_http_response_free(&rs);
	}

	cf_log_set_level(CF_LOG_WARN);
	cf_log_set_fd(old);
	close(fd);
	log = slurp(path);
	unlink(path);

	/* Logged at all, and redacted, not silent. */
	assert_non_null(strstr(log, "\"msg\":\"http attempt\""));
	assert_non_null(strstr(log, "\"msg\":\"http retry\""));
	assert_non_null(strstr(log, "?api_key=***&access_token=***&page=1"));
	assert_non_null(strstr(log, "http://***@127.0.0.1:"));
	for (int i = 0; secrets[i] != NULL; i++) {
		if (strstr(log, secrets[i]) != NULL) {
			fail_msg("the log holds %s:\n%s", secrets[i], log);
		}
		for (int k = 0; k < 4; k++) {
			if (strstr(err[k], secrets[i]) != NULL) {
				fail_msg("error %d holds %s: %s", k,
				    secrets[i], err[k]);
			}
		}
	}
	assert_string_equal(err[2], WHAT ": HTTP 403");
	free(log);
}

static void
test_redact_url(void **state)
{
	static const char *const cases[][2] = {
		{ "https://api.example.com/v4/systems?key=abc&page=2",
		    "https://api.example.com/v4/systems?key=***&page=2" },
		{ "https://u:p@host:8443/p?api_key=1&ApiKey=2&x=3",
		    "https://***@host:8443/p?api_key=***&ApiKey=***&x=3" },
		{ "http://h/p?access_token=t&refresh_token=r&client_secret=s",
		    "http://h/"
		    "p?access_token=***&refresh_token=***&client_secret=***" },
		{ "http://h/p?password=x&code=c&zone=DE&flag",
		    "http://h/p?password=***&code=***&zone=DE&flag" },
		{ "http://h/cb#access_token=t", "http://h/cb#***" },
		{ "http://h/plain", "http://h/plain" },
		{ "/relative?token=1", "/relative?token=***" },
	};
	char buf[256], tiny[12];

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cf_http_redact_url(buf, sizeof(buf), cases[i][0]);
		assert_string_equal(buf, cases[i][1]);
	}
	/* Cut, never overrun, never a partial secret. */
	cf_http_redact_url(tiny, sizeof(tiny), "http://h/p?key=SECRET");
	assert_string_equal(tiny, "http://h/p?");
}

static void
test_retry_after_parse(void **state)
{
	/* 2015-10-21T07:28:00Z */
	const int64_t t = 1445412480;
	int64_t       ms;

	(void) state;
	assert_int_equal(cf_http_retry_after_parse("30", t, &ms), CF_OK);
	assert_int_equal(ms, 30000);
	assert_int_equal(cf_http_retry_after_parse(" 0 ", t, &ms), CF_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(cf_http_retry_after_parse(
	                     "Wed, 21 Oct 2015 07:28:00 GMT", t - 10, &ms),
	    CF_OK);
	assert_int_equal(ms, 10000);
	assert_int_equal(cf_http_retry_after_parse(
	                     "Wed, 21 Oct 2015 07:28:00 GMT", t + 60, &ms),
	    CF_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(cf_http_retry_after_parse("soon", t, &ms), CF_EINVAL);
	assert_int_equal(cf_http_retry_after_parse("", t, &ms), CF_EINVAL);
	assert_int_equal(cf_http_retry_after_parse(NULL, t, &ms), CF_EINVAL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, case_setup, case_teardown)
	const struct CMUnitTest tests[] = {
		T(test_success),
		T(test_post_form),
		T(test_retry_after_honoured),
		T(test_500_retried),
		T(test_500_exhausted),
		T(test_4xx_not_retried),
		T(test_timeout),
		T(test_malformed_json),
		T(test_retry_after_beyond_deadline),
		T(test_retry_after_beyond_max_wait),
		T(test_limiter),
		T(test_connect_refused),
		T(test_body_limit),
		T(test_cancel),
		T(test_secrets_not_logged),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_retry_after_parse),
	};
#undef T
	return (cmocka_run_group_tests_name(
	    "integration.http", tests, sim_start, sim_stop));
}
