/*
 * test_log.c - JSON-lines logging (lib/cf_log): each line parsed back with
 * cJSON; level filtering without evaluating arguments; escaping of any
 * bytes; NULL strings; truncation; whole lines from concurrent writers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"

/*
 * Capture: lines go to a pipe that a reader thread drains, so a writer
 * never blocks on a full pipe however much a test logs.
 */
struct capture {
	int       rfd, wfd, oldfd;
	pthread_t reader;
	char     *buf;
	size_t    len, cap;
};

static void *
capture_read(void *arg)
{
	struct capture *c = arg;
	char            chunk[8192];
	ssize_t         n;

	while ((n = read(c->rfd, chunk, sizeof(chunk))) > 0) {
		if (c->len + (size_t) n + 1 > c->cap) {
			c->cap = (c->len + (size_t) n + 1) * 2;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL) {
				abort();
			}
		}
		memcpy(c->buf + c->len, chunk, (size_t) n);
		c->len += (size_t) n;
	}
	return (NULL);
}

static void
capture_begin(struct capture *c)
{
	int fds[2];

	memset(c, 0, sizeof(*c));
	assert_int_equal(pipe(fds), 0);
	c->rfd = fds[0];
	c->wfd = fds[1];
	c->cap = 4096;
	c->buf = malloc(c->cap);
	assert_non_null(c->buf);
	assert_int_equal(pthread_create(&c->reader, NULL, capture_read, c), 0);
	c->oldfd = cf_log_set_fd(c->wfd);
}

/* Stops capturing; returns the bytes written, NUL-terminated, owned by c
 * until capture_free(). */
static char *
capture_end(struct capture *c)
{
	assert_int_equal(cf_log_set_fd(c->oldfd), c->wfd);
	close(c->wfd);
	pthread_join(c->reader, NULL);
	close(c->rfd);
	c->buf[c->len] = '\0';
	return (c->buf);
}

static void
capture_free(struct capture *c)
{
	free(c->buf);
	c->buf = NULL;
}

/* Number of '\n' in s. */
static size_t
count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		n += *s == '\n';
	}
	return (n);
}

/* The only line captured, parsed; fails unless there is exactly one,
 * ending in '\n', with no raw control byte inside. */
static cJSON *
one_line(const char *out)
{
	size_t len = strlen(out);
	cJSON *o;

	if (count_lines(out) != 1 || len == 0 || out[len - 1] != '\n') {
		fail_msg("want one line, got: %s", out);
	}
	for (size_t i = 0; i + 1 < len; i++) {
		if ((unsigned char) out[i] < 0x20) {
			fail_msg("raw control byte 0x%02x at %zu", out[i], i);
		}
	}
	if ((o = cJSON_Parse(out)) == NULL || !cJSON_IsObject(o)) {
		fail_msg("not a JSON object: %s", out);
	}
	return (o);
}

static const char *
str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v)) {
		fail_msg("no string field %s", key);
	}
	return (v->valuestring);
}

static int
reset(void **state)
{
	(void) state;
	cf_log_init("test", CF_LOG_DEBUG);
	return (0);
}

/* Every key, in order, with the values given. */
static void
fields(void **state)
{
	static const char *const keys[]
	    = { "ts", "level", "service", "job", "run_id", "msg", NULL };
	struct capture  c;
	cJSON          *o, *it;
	struct timespec now;
	int64_t         ts, now_ms;
	const char     *t;
	size_t          i = 0;

	(void) state;
	cf_log_init("clock", CF_LOG_DEBUG);
	capture_begin(&c);
	cf_log_job(
	    CF_LOG_WARN, "energy-sync", "run-42", "retry %d of %d", 2, 3);
	o = one_line(capture_end(&c));
	for (it = o->child; it != NULL; it = it->next, i++) {
		assert_non_null(keys[i]);
		assert_string_equal(it->string, keys[i]);
	}
	assert_null(keys[i]);
	assert_string_equal(str_field(o, "level"), "warn");
	assert_string_equal(str_field(o, "service"), "clock");
	assert_string_equal(str_field(o, "job"), "energy-sync");
	assert_string_equal(str_field(o, "run_id"), "run-42");
	assert_string_equal(str_field(o, "msg"), "retry 2 of 3");

	/* ts: "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC, now. */
	t = str_field(o, "ts");
	assert_int_equal(strlen(t), 24);
	for (i = 0; i < 24; i++) {
		const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
		if (shape[i] == 'd') {
			assert_true(isdigit((unsigned char) t[i]));
		} else {
			assert_int_equal(t[i], shape[i]);
		}
	}
	assert_int_equal(cf_rfc3339_parse(t, &ts), CF_OK);
	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
	assert_true(ts <= now_ms && ts > now_ms - 10000);
	cJSON_Delete(o);
	capture_free(&c);
}

/* job and run_id are omitted when NULL or empty. */
static void
omitted(void **state)
{
	struct capture c;
	cJSON         *o;

	(void) state;
	capture_begin(&c);
	cf_log_info("hello");
	o = one_line(capture_end(&c));
	assert_null(cJSON_GetObjectItem(o, "job"));
	assert_null(cJSON_GetObjectItem(o, "run_id"));
	assert_string_equal(str_field(o, "msg"), "hello");
	assert_string_equal(str_field(o, "level"), "info");
	cJSON_Delete(o);
	capture_free(&c);

	capture_begin(&c);
	cf_log_job(CF_LOG_INFO, "", "", "x");
	o = one_line(capture_end(&c));
	assert_null(cJSON_GetObjectItem(o, "job"));
	assert_null(cJSON_GetObjectItem(o, "run_id"));
	cJSON_Delete(o);
	capture_free(&c);

	/* A job without a run yet. */
	capture_begin(&c);
	cf_log_job(CF_LOG_INFO, "cleanup", NULL, "x");
	o = one_line(capture_end(&c));
	assert_string_equal(str_field(o, "job"), "cleanup");
	assert_null(cJSON_GetObjectItem(o, "run_id"));
	cJSON_Delete(o);
	capture_free(&c);
}

/* Each least level against each line level, through each macro. */
static void
level_filter(void **state)
{
	(void) state;
	for (int min = CF_LOG_DEBUG; min <= CF_LOG_ERROR; min++) {
		for (int lvl = CF_LOG_DEBUG; lvl <= CF_LOG_ERROR; lvl++) {
			struct capture c;
			const char    *out;
			size_t         want = lvl >= min ? 1 : 0;

			cf_log_set_level(min);
			assert_int_equal(cf_log_level(), min);
			assert_int_equal(cf_log_enabled(lvl), lvl >= min);
			capture_begin(&c);
			switch (lvl) {
			case CF_LOG_DEBUG:
				cf_log_debug("m");
				break;
			case CF_LOG_INFO:
				cf_log_info("m");
				break;
			case CF_LOG_WARN:
				cf_log_warn("m");
				break;
			default:
				cf_log_error("m");
				break;
			}
			cf_log_job(lvl, "j", "r", "m");
			cf_log_kv(lvl, "j", "r", "m", NULL);
			out = capture_end(&c);
			if (count_lines(out) != 3 * want) {
				fail_msg("min %d lvl %d: %zu lines", min, lvl,
				    count_lines(out));
			}
			if (want) {
				cJSON *o = cJSON_Parse(out);
				assert_non_null(o);
				assert_string_equal(str_field(o, "level"),
				    cf_log_level_names[lvl]);
				cJSON_Delete(o);
			}
			capture_free(&c);
		}
	}
}

static int evaluated;

static const char *
touch(void)
{
	evaluated++;
	return ("x");
}

static int
level_once(void)
{
	evaluated++;
	return (CF_LOG_WARN);
}

/* Below the level, no argument is evaluated; the level is evaluated once. */
static void
arguments_not_evaluated(void **state)
{
	struct capture c;
	const char    *out;

	(void) state;
	evaluated = 0;
	cf_log_set_level(CF_LOG_ERROR);
	capture_begin(&c);
	cf_log_debug("%s", touch());
	cf_log_info("%s %s", touch(), touch());
	cf_log_warn("%s", touch());
	cf_log_job(CF_LOG_INFO, touch(), touch(), "%s", touch());
	cf_log_kv(CF_LOG_WARN, touch(), touch(), touch(), "k", touch(), NULL);
	assert_int_equal(evaluated, 0);
	cf_log_error("%s", touch());
	assert_int_equal(evaluated, 1);

	evaluated = 0;
	cf_log_set_level(CF_LOG_WARN);
	cf_log_job(level_once(), "j", NULL, "%s", "once");
	assert_int_equal(evaluated, 1);
	out = capture_end(&c);
	assert_int_equal(count_lines(out), 2);
	capture_free(&c);
}

struct esc_case {
	const char *name;
	const char *in;
	const char *want; /* msg after parsing the line back */
};

#define FFFD "\xef\xbf\xbd"

static const struct esc_case esc_cases[] = {
	{ "plain", "hello world", "hello world" },
	{ "empty", "", "" },
	{ "quote", "say \"hi\"", "say \"hi\"" },
	{ "backslash", "C:\\dir\\", "C:\\dir\\" },
	{ "newline", "line1\nline2\n", "line1\nline2\n" },
	{ "crlf", "a\r\nb", "a\r\nb" },
	{ "tab", "a\tb", "a\tb" },
	{ "bell_esc", "\a\x1b[31m", "\a\x1b[31m" },
	{ "control_01", "\x01", "\x01" },
	{ "control_1f", "\x1f", "\x1f" },
	{ "del", "\x7f", "\x7f" },
	{ "json_injection", "\"}\n{\"level\":\"error\"",
	    "\"}\n{\"level\":\"error\"" },
	{ "utf8_2", "gr\xc3\xbc\xc3\x9f", "gr\xc3\xbc\xc3\x9f" },
	{ "utf8_3", "\xe2\x82\xac 5", "\xe2\x82\xac 5" },
	{ "utf8_4", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
	{ "u2028",
	    "a\xe2\x80\xa8"
	    "b",
	    "a\xe2\x80\xa8"
	    "b" },
	{ "bad_ff",
	    "a\xff"
	    "b",
	    "a" FFFD "b" },
	{ "bad_lone_continuation", "\x80", FFFD },
	{ "bad_overlong_slash", "\xc0\xaf", FFFD FFFD },
	{ "bad_overlong_3", "\xe0\x80\xaf", FFFD FFFD FFFD },
	{ "bad_surrogate", "\xed\xa0\x80", FFFD FFFD FFFD },
	{ "bad_above_10ffff", "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
	{ "bad_truncated_at_end", "a\xe2\x82", "a" FFFD FFFD },
	{ "bad_truncated_inside",
	    "\xe2\x82"
	    "a",
	    FFFD FFFD "a" },
};

static void
escaping(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *e = &esc_cases[i];
		struct capture         c;
		cJSON                 *o;

		capture_begin(&c);
		cf_log_info("%s", e->in);
		/* The same bytes in job, run_id and a field. */
		cf_log_kv(
		    CF_LOG_INFO, e->in, e->in, e->in, e->in, e->in, NULL);
		capture_end(&c);
		/* Two lines: check each. */
		{
			char *nl = strchr(c.buf, '\n');
			char  second[4096];
			assert_non_null(nl);
			snprintf(second, sizeof(second), "%s", nl + 1);
			nl[1] = '\0';
			o     = one_line(c.buf);
			if (strcmp(str_field(o, "msg"), e->want) != 0) {
				fail_msg("%s: msg differs", e->name);
			}
			cJSON_Delete(o);
			o = one_line(second);
			assert_string_equal(str_field(o, "msg"), e->want);
			if (e->in[0] != '\0') {
				assert_string_equal(
				    str_field(o, "job"), e->want);
				assert_string_equal(
				    str_field(o, "run_id"), e->want);
				/* The key too is cleaned and escaped. */
				assert_string_equal(
				    str_field(o, e->want), e->want);
			}
			cJSON_Delete(o);
		}
		capture_free(&c);
	}
}

/* Extra fields: in order, NULL values as null, clashing keys prefixed. */
static void
kv_fields(void **state)
{
	static const char *const keys[]
	    = { "ts", "level", "service", "job", "run_id", "msg", "state",
		      "rows", "note", "_msg", "_state", "__state", NULL };
	struct capture c;
	cJSON         *o, *it;
	size_t         i = 0;

	(void) state;
	capture_begin(&c);
	cf_log_kv(CF_LOG_INFO, "energy-sync", "7", "run finished", "state",
	    "succeeded", "rows", "17", "note", NULL, "msg", "dup", "state",
	    "again", "state", "thrice", NULL);
	o = one_line(capture_end(&c));
	for (it = o->child; it != NULL; it = it->next, i++) {
		assert_non_null(keys[i]);
		assert_string_equal(it->string, keys[i]);
	}
	assert_null(keys[i]);
	assert_string_equal(str_field(o, "msg"), "run finished");
	assert_string_equal(str_field(o, "state"), "succeeded");
	assert_string_equal(str_field(o, "rows"), "17");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "note")));
	assert_string_equal(str_field(o, "_msg"), "dup");
	assert_string_equal(str_field(o, "_state"), "again");
	assert_string_equal(str_field(o, "__state"), "thrice");
	cJSON_Delete(o);
	capture_free(&c);
}

/* NULL service, job, run_id, msg, fmt and values never crash. */
static void
null_strings(void **state)
{
	struct capture c;
	cJSON         *o;
	char          *out, *nl;
	char           second[512];
	const char    *nullfmt = NULL;

	(void) state;
	cf_log_init(NULL, CF_LOG_DEBUG);
	capture_begin(&c);
	cf_log_kv(CF_LOG_ERROR, NULL, NULL, NULL, NULL);
	/* A NULL format is what we test here, on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	cf__log(CF_LOG_ERROR, NULL, NULL, nullfmt);
#pragma GCC diagnostic pop
	out = capture_end(&c);
	assert_int_equal(count_lines(out), 2);
	nl = strchr(out, '\n');
	snprintf(second, sizeof(second), "%s", nl + 1);
	nl[1] = '\0';
	o     = one_line(out);
	assert_string_equal(str_field(o, "service"), "cronfleet");
	assert_string_equal(str_field(o, "msg"), "");
	assert_null(cJSON_GetObjectItem(o, "job"));
	cJSON_Delete(o);
	o = one_line(second);
	assert_string_equal(str_field(o, "msg"), "");
	cJSON_Delete(o);
	capture_free(&c);
}

/* Levels outside the range are clamped, for the threshold and the line. */
static void
level_clamp(void **state)
{
	struct capture c;
	cJSON         *o;

	(void) state;
	cf_log_set_level(-7);
	assert_int_equal(cf_log_level(), CF_LOG_DEBUG);
	cf_log_set_level(99);
	assert_int_equal(cf_log_level(), CF_LOG_ERROR);
	cf_log_init("svc", 42);
	assert_int_equal(cf_log_level(), CF_LOG_ERROR);
	capture_begin(&c);
	cf_log_job(1000, NULL, NULL, "very bad");
	o = one_line(capture_end(&c));
	assert_string_equal(str_field(o, "level"), "error");
	assert_string_equal(str_field(o, "service"), "svc");
	cJSON_Delete(o);
	capture_free(&c);
}

/* A long service name is cut at 63 bytes. */
static void
service_cut(void **state)
{
	char           name[200];
	struct capture c;
	cJSON         *o;

	(void) state;
	memset(name, 's', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cf_log_init(name, CF_LOG_INFO);
	capture_begin(&c);
	cf_log_info("x");
	o = one_line(capture_end(&c));
	assert_int_equal(strlen(str_field(o, "service")), 63);
	cJSON_Delete(o);
	capture_free(&c);
}

/* A message over CF_LOG_MSG_MAX is cut at a character boundary. */
static void
truncation(void **state)
{
	static char    big[20000];
	struct capture c;
	cJSON         *o;
	const char    *msg;

	(void) state;
	memset(big, 'a', sizeof(big) - 1);
	capture_begin(&c);
	cf_log_info("%s", big);
	o = one_line(capture_end(&c));
	assert_int_equal(strlen(str_field(o, "msg")), CF_LOG_MSG_MAX);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "truncated")));
	cJSON_Delete(o);
	capture_free(&c);

	/* 4000 euro signs, 3 bytes each: 2730 whole ones fit in 8192. */
	for (size_t i = 0; i < 4000; i++) {
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);
	}
	big[12000] = '\0';
	capture_begin(&c);
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "short", "body", big, NULL);
	o   = one_line(capture_end(&c));
	msg = str_field(o, "body");
	assert_int_equal(strlen(msg), 2730 * 3);
	assert_null(strstr(msg, FFFD));
	assert_string_equal(str_field(o, "msg"), "short");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "truncated")));
	cJSON_Delete(o);
	capture_free(&c);

	/* Just under the limit: whole, not marked. */
	memset(big, 'b', CF_LOG_MSG_MAX);
	big[CF_LOG_MSG_MAX] = '\0';
	capture_begin(&c);
	cf_log_info("%s", big);
	o = one_line(capture_end(&c));
	assert_int_equal(strlen(str_field(o, "msg")), CF_LOG_MSG_MAX);
	assert_null(cJSON_GetObjectItem(o, "truncated"));
	cJSON_Delete(o);
	capture_free(&c);
}

/* Logging leaves errno as it was, so "log, then look at errno" works. */
static void
errno_kept(void **state)
{
	struct capture c;

	(void) state;
	capture_begin(&c);
	errno = ERANGE;
	cf_log_info("x %d", 1);
	assert_int_equal(errno, ERANGE);
	errno = EAGAIN;
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "y", "k", "v", NULL);
	assert_int_equal(errno, EAGAIN);
	capture_end(&c);
	capture_free(&c);
}

/* Writing to a closed descriptor fails quietly. */
static void
bad_fd(void **state)
{
	int old;

	(void) state;
	old = cf_log_set_fd(-1);
	cf_log_info("nowhere");
	assert_int_equal(cf_log_set_fd(old), -1);
}

static void
level_parse(void **state)
{
	static const struct {
		const char *name;
		int         rv, level;
	} cases[] = {
		{ "debug", CF_OK, CF_LOG_DEBUG },
		{ "INFO", CF_OK, CF_LOG_INFO },
		{ "Warn", CF_OK, CF_LOG_WARN },
		{ "error", CF_OK, CF_LOG_ERROR },
		{ "warning", CF_EINVAL, -1 },
		{ "err", CF_EINVAL, -1 },
		{ "", CF_EINVAL, -1 },
		{ NULL, CF_EINVAL, -1 },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int level = -1;
		assert_int_equal(
		    cf_log_level_parse(cases[i].name, &level), cases[i].rv);
		assert_int_equal(level, cases[i].level);
	}
}

#define NTHREADS 8
#define NLINES 400

/* Every other line is longer than PIPE_BUF, so the kernel may split its
 * write: only the lock keeps lines whole. */
static void *
writer(void *arg)
{
	int  id = (int) (intptr_t) arg;
	char tid[16], seq[16];
	char big[6001];

	memset(big, 'a' + id, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(tid, sizeof(tid), "%d", id);
	for (int i = 0; i < NLINES; i++) {
		snprintf(seq, sizeof(seq), "%d", i);
		if (i % 2 == 0) {
			cf_log_kv(CF_LOG_INFO, "job", tid, "small", "t", tid,
			    "seq", seq, NULL);
		} else {
			cf_log_kv(CF_LOG_INFO, "job", tid, big, "t", tid,
			    "seq", seq, NULL);
		}
	}
	return (NULL);
}

static void
concurrent_run(int nonblocking)
{
	pthread_t      th[NTHREADS];
	int            next[NTHREADS] = { 0 };
	struct capture c;
	char          *out, *line, *save = NULL;
	size_t         total = 0;

	cf_log_set_level(CF_LOG_INFO);
	capture_begin(&c);
	if (nonblocking) {
		fcntl(c.wfd, F_SETFL, fcntl(c.wfd, F_GETFL) | O_NONBLOCK);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, writer,
		                     (void *) (intptr_t) i),
		    0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
	}
	out = capture_end(&c);
	assert_int_equal(count_lines(out), NTHREADS * NLINES);
	assert_int_equal(out[strlen(out) - 1], '\n');
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), total++) {
		cJSON      *o = cJSON_Parse(line);
		int         t, s;
		const char *msg;

		if (o == NULL) {
			fail_msg("line %zu is not JSON: %.80s", total, line);
		}
		t   = atoi(str_field(o, "t"));
		s   = atoi(str_field(o, "seq"));
		msg = str_field(o, "msg");
		assert_true(t >= 0 && t < NTHREADS);
		/* Each thread's lines arrive whole and in its order. */
		assert_int_equal(s, next[t]);
		next[t]++;
		if (s % 2 == 1) {
			assert_int_equal(strlen(msg), 6000);
			assert_int_equal(msg[0], 'a' + t);
			assert_int_equal(msg[5999], 'a' + t);
		} else {
			assert_string_equal(msg, "small");
		}
		assert_string_equal(str_field(o, "run_id"), str_field(o, "t"));
		cJSON_Delete(o);
	}
	assert_int_equal(total, NTHREADS * NLINES);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(next[i], NLINES);
	}
	capture_free(&c);
}

static void
concurrent_writers(void **state)
{
	(void) state;
	concurrent_run(0);
}

/* A non-blocking descriptor (a parent's pipe may be one) still gets whole
 * lines: a full pipe is waited for, not written half. */
static void
concurrent_writers_nonblocking(void **state)
{
	(void) state;
	concurrent_run(1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(fields, reset),
		cmocka_unit_test_setup(omitted, reset),
		cmocka_unit_test_setup(level_filter, reset),
		cmocka_unit_test_setup(arguments_not_evaluated, reset),
		cmocka_unit_test_setup(escaping, reset),
		cmocka_unit_test_setup(kv_fields, reset),
		cmocka_unit_test_setup(null_strings, reset),
		cmocka_unit_test_setup(level_clamp, reset),
		cmocka_unit_test_setup(service_cut, reset),
		cmocka_unit_test_setup(truncation, reset),
		cmocka_unit_test_setup(errno_kept, reset),
		cmocka_unit_test_setup(bad_fd, reset),
		cmocka_unit_test(level_parse),
		cmocka_unit_test_setup(concurrent_writers, reset),
		cmocka_unit_test_setup(concurrent_writers_nonblocking, reset),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
