/*
 * test_nng.c - the socket roles of lib/cf_nng over real TCP on loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "cf_nng.h"

/* Ports per test process, so parallel ctest runs do not collide. */
static int port_base;

static void
url_for(char *buf, size_t len, int k)
{
	snprintf(buf, len, "tcp://127.0.0.1:%d", port_base + k);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static atomic_int handled;

/* Replies "echo:<request>"; "slow" sleeps first. */
static void
echo(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len)
{
	(void) arg;
	if (len == 4 && memcmp(req, "slow", 4) == 0) {
		sleep_ms(300);
	}
	*reply = malloc(len + 5);
	memcpy(*reply, "echo:", 5);
	memcpy(*reply + 5, req, len);
	*reply_len = len + 5;
	atomic_fetch_add(&handled, 1);
}

static void
rep_req_round_trip(void **state)
{
	char     url[64], err[128];
	cf_rep * rep;
	cf_req * req;
	uint8_t *reply;
	size_t   n;
	(void) state;

	url_for(url, sizeof(url), 1);
	assert_int_equal(cf_rep_open(&rep, url, 2, 0, echo, NULL, err,
	                     sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_req_open(&req, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_req_call(req, "status", 6, 2000, &reply, &n, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(n, 11);
	assert_string_equal((char *) reply, "echo:status");
	free(reply);
	cf_req_close(req);
	cf_rep_close(rep);
}

typedef struct {
	const char *url;
	int         ok;
} client;

static void *
client_run(void *arg)
{
	client *c = arg;
	cf_req *req;
	char    err[128];
	c->ok = 0;
	if (cf_req_open(&req, c->url, err, sizeof(err)) != CF_OK) {
		return (NULL);
	}
	for (int i = 0; i < 50; i++) {
		char     msg[32];
		uint8_t *reply;
		size_t   n;
		snprintf(msg, sizeof(msg), "m%d", i);
		if (cf_req_call(req, msg, strlen(msg), 5000, &reply, &n, err,
		        sizeof(err)) != CF_OK) {
			break;
		}
		if (strncmp((char *) reply, "echo:", 5) == 0 &&
		    strcmp((char *) reply + 5, msg) == 0) {
			c->ok++;
		}
		free(reply);
	}
	cf_req_close(req);
	return (NULL);
}

/* Four clients at once, each reply matched to its own request. */
static void
rep_parallel_clients(void **state)
{
	char      url[64], err[128];
	cf_rep *  rep;
	pthread_t th[4];
	client    c[4];
	(void) state;

	url_for(url, sizeof(url), 2);
	if (cf_rep_open(&rep, url, 3, 0, echo, NULL, err, sizeof(err)) != 0) {
		fail_msg("%s", err);
	}
	for (int i = 0; i < 4; i++) {
		c[i].url = url;
		pthread_create(&th[i], NULL, client_run, &c[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].ok, 50);
	}
	cf_rep_close(rep);
}

/*
 * A message over the limit is refused by nng (the connection is
 * dropped); the server keeps answering others.
 */
static void
rep_oversized_then_alive(void **state)
{
	char       url[64], err[128];
	cf_rep *   rep;
	cf_req *   req;
	nng_socket raw;
	uint8_t *  big, *reply;
	size_t     n;
	(void) state;

	url_for(url, sizeof(url), 3);
	assert_int_equal(cf_rep_open(&rep, url, 1, 1024, echo, NULL, err,
	                     sizeof(err)),
	    CF_OK);
	assert_int_equal(nng_req0_open(&raw), 0);
	assert_int_equal(nng_dial(raw, url, NULL, 0), 0);
	nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 500);
	big = calloc(1, 4096);
	assert_int_equal(nng_send(raw, big, 4096, 0), 0);
	{
		void * buf;
		size_t sz;
		assert_int_not_equal(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), 0);
	}
	nng_close(raw);
	free(big);

	assert_int_equal(cf_req_open(&req, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_req_call(req, "ping", 4, 2000, &reply, &n, err, sizeof(err)),
	    CF_OK);
	assert_string_equal((char *) reply, "echo:ping");
	free(reply);
	cf_req_close(req);
	cf_rep_close(rep);
}

static void
req_unreachable_and_timeout(void **state)
{
	char     url[64], err[128];
	cf_req * req;
	cf_rep * rep;
	uint8_t *reply = NULL;
	size_t   n;
	(void) state;

	/* Nobody listens: unreachable, quickly. */
	url_for(url, sizeof(url), 4);
	assert_int_equal(cf_req_open(&req, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_req_call(req, "x", 1, 2000, &reply, &n, err, sizeof(err)),
	    CF_ECONN);
	assert_non_null(strstr(err, "not reachable"));
	cf_req_close(req);

	/* A handler slower than the deadline: timed out. */
	url_for(url, sizeof(url), 5);
	assert_int_equal(cf_rep_open(&rep, url, 1, 0, echo, NULL, err,
	                     sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_req_open(&req, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_req_call(req, "slow", 4, 100, &reply, &n, err, sizeof(err)),
	    CF_ETIMEDOUT);
	cf_req_close(req);
	cf_rep_close(rep);
}

static void
rep_listen_conflict(void **state)
{
	char    url[64], err[128];
	cf_rep *a, *b = NULL;
	(void) state;
	url_for(url, sizeof(url), 6);
	assert_int_equal(
	    cf_rep_open(&a, url, 1, 0, echo, NULL, err, sizeof(err)), CF_OK);
	assert_int_not_equal(
	    cf_rep_open(&b, url, 1, 0, echo, NULL, err, sizeof(err)), CF_OK);
	assert_null(b);
	assert_non_null(strstr(err, url));
	cf_rep_close(a);
}

typedef struct {
	pthread_mutex_t mu;
	char            got[16][64];
	int             n;
} inbox;

static void
collect(void *arg, const char *topic, const uint8_t *msg, size_t len)
{
	inbox *in  = arg;
	size_t off = strlen(topic) + 1; /* the payload follows "topic " */
	pthread_mutex_lock(&in->mu);
	if (in->n < 16 && len >= off) {
		snprintf(in->got[in->n++], 64, "%s|%.*s", topic,
		    (int) (len - off), (const char *) msg + off);
	}
	pthread_mutex_unlock(&in->mu);
}

static int
publish(cf_pub *pub, const char *msg)
{
	return (cf_pub_send_msg(pub, msg, strlen(msg)));
}

/* Only subscribed prefixes arrive, topic and payload split at the space. */
static void
pub_sub_prefixes(void **state)
{
	char               url[64], err[128];
	const char *       urls[1];
	const char *const  pre[] = { "tick.ingest." };
	cf_pub *           pub;
	cf_sub *           sub;
	inbox              in = { PTHREAD_MUTEX_INITIALIZER, { { 0 } }, 0 };
	(void) state;

	url_for(url, sizeof(url), 7);
	urls[0] = url;
	assert_int_equal(cf_pub_open(&pub, url, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_sub_open(&sub, urls, 1, pre, 1, 0, collect, &in,
	                     err, sizeof(err)),
	    CF_OK);
	/* A subscriber that has just dialled may miss early messages. */
	for (int tries = 0; tries < 100; tries++) {
		int n;
		publish(pub, "tick.ingest.probe p");
		sleep_ms(20);
		pthread_mutex_lock(&in.mu);
		n = in.n;
		pthread_mutex_unlock(&in.mu);
		if (n > 0) {
			break;
		}
	}
	pthread_mutex_lock(&in.mu);
	in.n = 0;
	pthread_mutex_unlock(&in.mu);
	assert_int_equal(
	    publish(pub, "tick.analytics.x no"), CF_OK);
	assert_int_equal(
	    publish(pub, "tick.ingest.energy-sync a b"), CF_OK);
	sleep_ms(200);
	cf_sub_close(sub);
	cf_pub_close(pub);
	assert_int_equal(in.n, 1);
	assert_string_equal(in.got[0], "tick.ingest.energy-sync|a b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rep_req_round_trip),
		cmocka_unit_test(rep_parallel_clients),
		cmocka_unit_test(rep_oversized_then_alive),
		cmocka_unit_test(req_unreachable_and_timeout),
		cmocka_unit_test(rep_listen_conflict),
		cmocka_unit_test(pub_sub_prefixes),
	};
	int rv;
	port_base = 11000 + (int) (getpid() % 300) * 10;
	rv        = cmocka_run_group_tests(tests, NULL, NULL);
	/* nng's own threads would otherwise outlive main for valgrind. */
	nng_fini();
	return (rv);
}
