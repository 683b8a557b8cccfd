/*
 * test_redis.c - lib/cf_redis against a real Redis (REDIS_URL), plus a
 * scripted fake server for the cases a real one will not produce on
 * demand (a connection lost after the command went out). Keys carry a
 * prefix unique to the run and are deleted at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cf_err.h"
#include "cf_redis.h"

static const char *redis_url;
static char        prefix[64];
static cf_redis   *r;
static cf_redis   *admin;
static char        err[1024];

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

static long long
client_id(cf_redis *h)
{
	redisReply *rep;
	long long   id;

	assert_int_equal(
	    cf_redis_cmd_idem(h, &rep, err, sizeof(err), "CLIENT ID"), CF_OK);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	id = rep->integer;
	freeReplyObject(rep);
	return (id);
}

/* ---------------------------------------------------------------- */

static void
set_get(void **state)
{
	redisReply *rep;
	char        key[128];
	const char  bin[] = { 'a', '\0', 'b', '\r', '\n' };
	(void) state;

	snprintf(key, sizeof(key), "%s:k1", prefix);
	assert_int_equal(cf_redis_cmd(r, NULL, err, sizeof(err), "SET %s %b",
	                     key, bin, sizeof(bin)),
	    CF_OK);
	assert_int_equal(
	    cf_redis_cmd_idem(r, &rep, err, sizeof(err), "GET %s", key),
	    CF_OK);
	assert_int_equal(rep->type, REDIS_REPLY_STRING);
	assert_int_equal(rep->len, sizeof(bin));
	assert_memory_equal(rep->str, bin, sizeof(bin));
	freeReplyObject(rep);

	snprintf(key, sizeof(key), "%s:missing", prefix);
	assert_int_equal(
	    cf_redis_cmd_idem(r, &rep, err, sizeof(err), "GET %s", key),
	    CF_OK);
	assert_int_equal(rep->type, REDIS_REPLY_NIL);
	freeReplyObject(rep);
	assert_int_equal(cf_redis_ping(r, err, sizeof(err)), CF_OK);
}

static void
error_reply(void **state)
{
	redisReply *rep = (redisReply *) 1;
	char        key[128];
	(void) state;

	snprintf(key, sizeof(key), "%s:str", prefix);
	assert_int_equal(
	    cf_redis_cmd(r, NULL, err, sizeof(err), "SET %s notanumber", key),
	    CF_OK);
	assert_int_equal(
	    cf_redis_cmd(r, &rep, err, sizeof(err), "INCR %s", key),
	    CF_EPROTO);
	assert_null(rep);
	assert_non_null(strstr(err, "not an integer"));
	assert_int_equal(
	    cf_redis_cmd(r, NULL, err, sizeof(err), "LPUSH %s x", key),
	    CF_EPROTO);
	assert_non_null(strstr(err, "WRONGTYPE"));
	assert_int_equal(
	    cf_redis_cmd(r, NULL, err, sizeof(err), "NOSUCHCOMMAND"),
	    CF_EPROTO);
	/* The connection survives error replies. */
	assert_int_equal(cf_redis_ping(r, err, sizeof(err)), CF_OK);
}

/* CLIENT KILL of our idle connection: the next command reconnects and is
 * sent once, even when not marked idempotent. */
static void
reconnect_after_kill(void **state)
{
	redisReply *rep;
	long long   id1, id2;
	char        key[128];
	(void) state;

	snprintf(key, sizeof(key), "%s:counter", prefix);
	id1 = client_id(r);
	assert_int_equal(cf_redis_cmd(admin, &rep, err, sizeof(err),
	                     "CLIENT KILL ID %lld", id1),
	    CF_OK);
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
	assert_int_equal(
	    cf_redis_cmd(r, &rep, err, sizeof(err), "INCR %s", key), CF_OK);
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
	id2 = client_id(r);
	assert_true(id2 != id1);

	/* Twice in a row, with the idempotent variant. */
	assert_int_equal(cf_redis_cmd(admin, NULL, err, sizeof(err),
	                     "CLIENT KILL ID %lld", id2),
	    CF_OK);
	assert_int_equal(
	    cf_redis_cmd_idem(r, &rep, err, sizeof(err), "GET %s", key),
	    CF_OK);
	assert_string_equal(rep->str, "1");
	freeReplyObject(rep);
}

/*
 * A fake server: for each accepted connection, the next action: 'c' reads
 * a request and closes without answering, 'a' reads one and answers
 * "+OK" then waits for the client to hang up, 'r' reads a little and
 * resets the connection (RST) while the client is still writing.
 */
struct fake {
	int         fd;
	const char *script;
	int         requests;
};

static void *
fake_run(void *arg)
{
	struct fake *f = arg;

	for (const char *s = f->script; *s; s++) {
		char buf[512];
		int  c = accept(f->fd, NULL, NULL);
		if (c < 0)
			break;
		if (read(c, buf, sizeof(buf)) > 0)
			f->requests++;
		if (*s == 'r') {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		if (*s == 'a') {
			if (write(c, "+OK\r\n", 5) != 5)
				break;
			while (read(c, buf, sizeof(buf)) > 0)
				f->requests++;
		}
		close(c);
	}
	return (NULL);
}

static void
lost_after_send(void **state)
{
	struct fake f = { .script = "cca" };
	pthread_t   t;
	cf_redis   *h;
	char        url[128];
	int         port;
	(void) state;

	f.fd = itest_listener(&port);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	assert_int_equal(pthread_create(&t, NULL, fake_run, &f), 0);

	/* Not idempotent: the reply is lost, the command is not resent. */
	assert_int_equal(cf_redis_open(&h, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_redis_cmd(h, NULL, err, sizeof(err), "INCR x"), CF_ECONN);
	assert_non_null(strstr(err, "closed"));
	cf_redis_close(h);

	/* Idempotent: sent once more on a new connection. */
	assert_int_equal(cf_redis_open(&h, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_redis_cmd_idem(h, NULL, err, sizeof(err), "SET x 1"), CF_OK);
	cf_redis_close(h);

	pthread_join(t, NULL);
	close(f.fd);
	assert_int_equal(f.requests, 3);
}

/*
 * A big command to a server that resets the connection while it is still
 * being written: CF_ECONN, and the process survives (SIGPIPE keeps its
 * default action here). Linux reports the first failed write as
 * ECONNRESET without a signal, so this does not prove that cf_redis's
 * SIGPIPE guard works, only that this case needs none.
 */
static void
reset_while_writing(void **state)
{
	struct fake f = { .script = "r" };
	pthread_t   t;
	cf_redis   *h;
	char        url[128];
	size_t      big = 8u << 20;
	char       *v   = malloc(big);
	int         port, rc;
	(void) state;

	assert_non_null(v);
	memset(v, 'x', big);
	assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	f.fd = itest_listener(&port);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	assert_int_equal(pthread_create(&t, NULL, fake_run, &f), 0);
	assert_int_equal(cf_redis_open(&h, url, err, sizeof(err)), CF_OK);
	rc = cf_redis_cmd(h, NULL, err, sizeof(err), "SET k %b", v, big);
	assert_int_equal(rc, CF_ECONN);
	cf_redis_close(h);
	pthread_join(t, NULL);
	close(f.fd);
	free(v);
}

static void
closed_port_fails_fast(void **state)
{
	cf_redis *h = (cf_redis *) 1;
	char      url[128];
	double    t0;
	(void) state;

	snprintf(url, sizeof(url), "redis://:Sup3rSecretPw@127.0.0.1:%d/0",
	    itest_closed_port());
	t0 = now_s();
	assert_int_equal(cf_redis_open(&h, url, err, sizeof(err)), CF_ECONN);
	assert_true(now_s() - t0 < 3.0);
	assert_null(h);
	assert_non_null(strstr(err, "refused"));
	assert_null(strstr(err, "Sup3rSecretPw"));
}

/* The server is there but does not answer in time. */
static void
command_timeout(void **state)
{
	redisReply *rep;
	char        key[128];
	double      t0;
	(void) state;

	snprintf(key, sizeof(key), "%s:empty-list", prefix);
	assert_int_equal(cf_redis_set_timeout(r, 300), CF_OK);
	t0 = now_s();
	/* Blocks server-side for 5 s: the client gives up at 300 ms, and
	 * does not send it again even though the variant allows it. */
	assert_int_equal(
	    cf_redis_cmd_idem(r, &rep, err, sizeof(err), "BLPOP %s 5", key),
	    CF_ETIMEDOUT);
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(cf_redis_set_timeout(r, 5000), CF_OK);
	assert_int_equal(cf_redis_ping(r, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_redis_set_timeout(r, 0), CF_EINVAL);
}

/* A listener that never accepts nor answers. */
static void
mute_server_timeout(void **state)
{
	cf_redis *h;
	char      url[128];
	int       port, fd = itest_listener(&port);
	double    t0;
	(void) state;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
	assert_int_equal(cf_redis_open(&h, url, err, sizeof(err)), CF_OK);
	assert_int_equal(cf_redis_set_timeout(h, 300), CF_OK);
	t0 = now_s();
	assert_int_equal(cf_redis_ping(h, err, sizeof(err)), CF_ETIMEDOUT);
	assert_true(now_s() - t0 < 2.0);
	cf_redis_close(h);

	/* With a database to SELECT, open itself times out. */
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/3", port);
	t0 = now_s();
	h  = (cf_redis *) 1;
	assert_int_equal(
	    cf_redis_open(&h, url, err, sizeof(err)), CF_ETIMEDOUT);
	assert_null(h);
	assert_true(now_s() - t0 < 10.0);
	close(fd);
}

static void
bad_urls(void **state)
{
	static const char *const bad[] = {
		"http://127.0.0.1:6379",
		"redis://",
		"redis://127.0.0.1:0",
		"redis://127.0.0.1:70000",
		"redis://127.0.0.1:6379/x",
		"redis://127.0.0.1:6379/0?timeout=1",
		"redis://[::1",
		"redis://:Sup3r%zzSecret@127.0.0.1",
		NULL,
	};
	cf_redis *h = NULL;
	(void) state;

	for (int i = 0; bad[i] != NULL; i++) {
		int rc = cf_redis_open(&h, bad[i], err, sizeof(err));
		if (rc != CF_EINVAL)
			fail_msg("%s: %s", bad[i], cf_strerror(rc));
		assert_null(h);
		assert_null(strstr(err, "Sup3r"));
	}
}

/* /db selects the database, on every reconnect too. */
static void
select_db(void **state)
{
	cf_redis   *h1;
	redisReply *rep;
	char        url[512], key[128];
	const char *slash = strrchr(redis_url, '/');
	(void) state;

	assert_non_null(slash);
	snprintf(
	    url, sizeof(url), "%.*s/5", (int) (slash - redis_url), redis_url);
	snprintf(key, sizeof(key), "%s:db5", prefix);
	assert_int_equal(cf_redis_open(&h1, url, err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_redis_cmd(h1, NULL, err, sizeof(err), "SET %s v", key), CF_OK);
	assert_int_equal(cf_redis_cmd(admin, NULL, err, sizeof(err),
	                     "CLIENT KILL ID %lld", client_id(h1)),
	    CF_OK);
	assert_int_equal(
	    cf_redis_cmd(h1, &rep, err, sizeof(err), "EXISTS %s", key), CF_OK);
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
	assert_int_equal(
	    cf_redis_cmd(h1, NULL, err, sizeof(err), "DEL %s", key), CF_OK);
	cf_redis_close(h1);

	assert_int_equal(
	    cf_redis_cmd(r, &rep, err, sizeof(err), "EXISTS %s", key), CF_OK);
	assert_int_equal(rep->integer, 0);
	freeReplyObject(rep);
}

/* ---------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void) state;
	snprintf(prefix, sizeof(prefix), "cft:redis:%ld:%ld", (long) getpid(),
	    (long) time(NULL));
	if (cf_redis_open(&r, redis_url, err, sizeof(err)) != CF_OK
	    || cf_redis_open(&admin, redis_url, err, sizeof(err)) != CF_OK) {
		fprintf(stderr, "cannot connect to REDIS_URL: %s\n", err);
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	const char *suffix[] = { "k1", "str", "counter", "empty-list" };
	(void) state;

	for (size_t i = 0; admin != NULL && i < 4; i++)
		(void) cf_redis_cmd(admin, NULL, err, sizeof(err), "DEL %s:%s",
		    prefix, suffix[i]);
	cf_redis_close(r);
	cf_redis_close(admin);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_get),
		cmocka_unit_test(error_reply),
		cmocka_unit_test(reconnect_after_kill),
		cmocka_unit_test(lost_after_send),
		cmocka_unit_test(reset_while_writing),
		cmocka_unit_test(closed_port_fails_fast),
		cmocka_unit_test(command_timeout),
		cmocka_unit_test(mute_server_timeout),
		cmocka_unit_test(bad_urls),
		cmocka_unit_test(select_db),
	};

	if ((redis_url = getenv("REDIS_URL")) == NULL || *redis_url == '\0') {
		fprintf(stderr,
		    "FAIL: REDIS_URL is not set. These integration tests need "
		    "a real Redis: run scripts/test, or start one "
		    "(scripts/lib/common.sh cf_start_redis) and export "
		    "REDIS_URL.\n");
		return (1);
	}
	return (cmocka_run_group_tests_name(
	    "integration.db.redis", tests, group_setup, group_teardown));
}
