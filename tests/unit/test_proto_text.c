/*
 * test_proto_text.c - the text form of commands for people (proto/):
 * every command, quoting, the JSON object form, usage errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_proto.h"

typedef struct {
	const char *in;
	const char *cmd;
	const char *job; /* NULL: none */
	int         n;
	const char *arg0; /* NULL: no arguments */
	const char *arg1;
	int         known;
} text_case;

static const text_case good[] = {
	{ "status", "status", NULL, 0, NULL, NULL, 1 },
	{ "status health-check", "status", "health-check", 0, NULL, NULL, 1 },
	{ "jobs", "jobs", NULL, 0, NULL, NULL, 1 },
	{ "ping", "ping", NULL, 0, NULL, NULL, 1 },
	{ "start", "start", NULL, 0, NULL, NULL, 1 },
	{ "stop", "stop", NULL, 0, NULL, NULL, 1 },
	{ "trigger energy-sync", "trigger", "energy-sync", 0, NULL, NULL, 1 },
	{ "trigger energy-sync 3", "trigger", "energy-sync", 3, NULL, NULL,
	    1 },
	{ "pause daily-snapshot", "pause", "daily-snapshot", 0, NULL, NULL,
	    1 },
	{ "resume daily-snapshot", "resume", "daily-snapshot", 0, NULL, NULL,
	    1 },
	{ "history energy-sync", "history", "energy-sync", 0, NULL, NULL, 1 },
	{ "history energy-sync 20", "history", "energy-sync", 20, NULL, NULL,
	    1 },
	{ "history 42 7", "history", "42", 7, NULL, NULL, 1 },
	/* history's job is optional; key=value words are its filters. */
	{ "history", "history", NULL, 0, NULL, NULL, 1 },
	{ "history 7", "history", NULL, 7, NULL, NULL, 1 },
	{ "history status=failed", "history", NULL, 0, "status=failed", NULL,
	    1 },
	{ "history a 5 status=failed since=2026-01-01T00:00:00Z", "history",
	    "a", 5, "status=failed", "since=2026-01-01T00:00:00Z", 1 },
	{ "history 50 before=x", "history", NULL, 50, "before=x", NULL, 1 },
	{ "next", "next", NULL, 0, NULL, NULL, 1 },
	{ "next 5", "next", NULL, 5, NULL, NULL, 1 },
	{ "next energy-sync", "next", "energy-sync", 0, NULL, NULL, 1 },
	{ "next energy-sync 3", "next", "energy-sync", 3, NULL, NULL, 1 },
	{ "next x 100000", "next", "x", 100000, NULL, NULL, 1 },
	{ "schedule energy-sync '*/5 * * * *'", "schedule", "energy-sync", 0,
	    "*/5 * * * *", NULL, 1 },
	{ "schedule energy-sync \"0 3 * * 1-5\"", "schedule", "energy-sync", 0,
	    "0 3 * * 1-5", NULL, 1 },
	{ "schedule x \"it's\"", "schedule", "x", 0, "it's", NULL, 1 },
	{ "schedule x */5  *   * * *", "schedule", "x", 0, "*/5 * * * *", NULL,
	    1 },
	{ "schedule x @daily", "schedule", "x", 0, "@daily", NULL, 1 },
	{ "register x '0 * * * *' Europe/Berlin", "register", "x", 0,
	    "0 * * * *", "Europe/Berlin", 1 },
	/* White space, case, a trailing newline or NUL. */
	{ "STATUS  \t\r\n", NULL, NULL, 0, NULL, NULL, 1 },
	{ "Trigger energy-sync\n", "trigger", "energy-sync", 0, NULL, NULL,
	    1 },
	/* Unknown verbs are decoded and flagged. */
	{ "frobnicate", "frobnicate", NULL, 0, NULL, NULL, 0 },
	{ "frobnicate x a 'b c'", "frobnicate", "x", 0, "a", "b c", 0 },
	{ "wipe 12", "wipe", "12", 0, NULL, NULL, 0 },
	/* A JSON argument, unquoted, takes the rest of the line; quoted,
	 * it is one word; either way it is never a job. */
	{ "thing-put {\"name\": \"a b\", \"x\": [1, 2]}  \n", "thing-put",
	    NULL, 0, "{\"name\": \"a b\", \"x\": [1, 2]}", NULL, 0 },
	{ "thing-put '{\"name\":\"a b\"}'", "thing-put", NULL, 0,
	    "{\"name\":\"a b\"}", NULL, 0 },
	{ "thing-put x [1, \"2\"]", "thing-put", "x", 0, "[1, \"2\"]", NULL,
	    0 },
	/* The JSON object form. */
	{ "{\"cmd\":\"trigger\",\"job\":\"energy-sync\"}", "trigger",
	    "energy-sync", 0, NULL, NULL, 1 },
	{ "{\"cmd\":\"status\"}", "status", NULL, 0, NULL, NULL, 1 },
	{ "{ \"cmd\" : \"history\", \"job\": \"a\", \"n\": 20 }\n", "history",
	    "a", 20, NULL, NULL, 1 },
	{ "{\"cmd\":\"next\",\"job\":null,\"n\":null,\"args\":null}", "next",
	    NULL, 0, NULL, NULL, 1 },
	{ "{\"cmd\":\"schedule\",\"job\":\"x\",\"expr\":\"0 0 * * *\"}",
	    "schedule", "x", 0, "0 0 * * *", NULL, 1 },
	{ "{\"cmd\":\"schedule\",\"job\":\"x\",\"args\":[\"@hourly\"]}",
	    "schedule", "x", 0, "@hourly", NULL, 1 },
	{ "{\"cmd\":\"jobs\",\"extra\":{\"deep\":[1,2,{}]},\"z\":1}", "jobs",
	    NULL, 0, NULL, NULL, 1 },
	{ "{\"cmd\":\"mystery\",\"job\":\"j\",\"args\":[\"a\",\"b\"],\"n\":2}",
	    "mystery", "j", 2, "a", "b", 0 },
};

static void
text_good(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const text_case *t        = &good[i];
		cf_command      *c        = NULL;
		char             err[160] = "";
		int              text     = -1;
		size_t           len      = strlen(t->in);
		const char      *cmd      = t->cmd ? t->cmd : "status";
		int              rv;

		rv = cf_proto_request_decode(
		    t->in, len, &c, &text, err, sizeof(err));
		if (rv != 0) {
			fail_msg("%s: %s", t->in, err);
		}
		assert_int_equal(text, 1);
		assert_string_equal(c->cmd, cmd);
		if (t->job == NULL) {
			assert_null(c->job);
		} else {
			assert_string_equal(c->job, t->job);
		}
		assert_int_equal(c->n, t->n);
		assert_int_equal(
		    c->nargs, (t->arg0 != NULL) + (t->arg1 != NULL));
		if (t->arg0) {
			assert_string_equal(c->args[0], t->arg0);
		}
		if (t->arg1) {
			assert_string_equal(c->args[1], t->arg1);
		}
		assert_int_equal(c->known, t->known);
		cf_command_free(c);
	}
}

/* nngcat --data sends the text without a NUL; some clients add one. */
static void
text_nul(void **state)
{
	cf_command *c = NULL;
	char        err[128];
	int         text;
	(void) state;
	assert_int_equal(
	    cf_proto_request_decode("jobs\0", 5, &c, &text, err, sizeof(err)),
	    0);
	assert_string_equal(c->cmd, "jobs");
	cf_command_free(c);
	assert_int_equal(cf_proto_request_decode(
	                     "jobs\0\0", 6, &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	assert_int_equal(
	    cf_proto_request_decode("jo\0bs", 5, &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	assert_null(c);
}

typedef struct {
	const char *in;
	const char *msg; /* a part of the error message */
} bad_case;

static const bad_case bad[] = {
	{ "trigger", "usage: trigger <job> [n]" },
	{ "pause", "usage: pause <job>" },
	{ "resume", "usage: resume <job>" },
	{ "jobs x", "usage: jobs" },
	{ "status a b", "usage: status [job]" },
	{ "ping now", "usage: ping" },
	{ "trigger a b", "trigger: n must be a number" },
	{ "trigger a 2 3", "usage: trigger <job> [n]" },
	{ "history a b", "n must be a number" },
	{ "history a -1", "n must be a number" },
	{ "history a 100001", "n must be a number" },
	{ "history a 1234567", "n must be a number" },
	{ "next a 5 6", "usage: next [job] [n]" },
	{ "schedule x", "usage: schedule <job> '<expr>'" },
	{ "schedule x ''", "empty expression" },
	{ "schedule x '*/5 * *", "unterminated ' quote" },
	{ "schedule x \"*/5 * *'", "unterminated \" quote" },
	{ "schedule x '* *'z", "closing quote must end a word" },
	{ "trigger a.b", "not a valid job name" },
	{ "trigger 'a b'", "not a valid job name" },
	{ "trigger \xc3\xa9t\xc3\xa9", "not a valid job name" },
	{ "st@tus", "is not a command" },
	{ "verylongcommandnamethatgoesonandonforever", "is not a command" },
	{ "status\x01", "control character 0x01" },
	{ "status \x7f", "control character 0x7f" },
	{ "status \xff", "not UTF-8" },
	{ "status \xc0\xaf", "not UTF-8" },
	{ "a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18",
	    "more than 18 words" },
	{ "{", "malformed JSON" },
	{ "{\"cmd\":\"status\"} x", "trailing bytes" },
	{ "{\"cmd\":\"status\"}{}", "trailing bytes" },
	{ "{}", "missing field 'cmd'" },
	{ "{\"cmd\":1}", "field 'cmd': expected a string" },
	{ "{\"cmd\":\"Status\"}", "field 'cmd'" },
	{ "{\"cmd\":\"trigger\",\"job\":7}",
	    "field 'job': expected a string" },
	{ "{\"cmd\":\"trigger\",\"job\":\"a b\"}", "not a valid job name" },
	{ "{\"cmd\":\"trigger\"}", "usage: trigger <job> [n]" },
	{ "{\"cmd\":\"history\",\"job\":\"a\",\"n\":\"20\"}", "field 'n'" },
	{ "{\"cmd\":\"history\",\"job\":\"a\",\"n\":2.5}", "field 'n'" },
	{ "{\"cmd\":\"history\",\"job\":\"a\",\"n\":-1}", "field 'n'" },
	{ "{\"cmd\":\"history\",\"job\":\"a\",\"n\":1e300}", "field 'n'" },
	{ "{\"cmd\":\"jobs\",\"n\":3}", "usage: jobs" },
	{ "{\"cmd\":\"x\",\"args\":\"a\"}",
	    "field 'args': expected an array" },
	{ "{\"cmd\":\"x\",\"args\":[1]}", "field 'args': expected a string" },
	{ "{\"cmd\":\"schedule\",\"job\":\"x\",\"expr\":\"a\",\"args\":[\"b\"]"
	  "}",
	    "either 'expr' or 'args'" },
	{ "{\"cmd\":\"schedule\",\"job\":\"x\",\"expr\":5}", "field 'expr'" },
	{ "{\"cmd\":\"schedule\",\"job\":\"x\"}", "usage: schedule" },
};

static void
text_bad(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cf_command *c        = NULL;
		char        err[160] = "";
		int         text     = -1;
		int         rv;

		rv = cf_proto_request_decode(
		    bad[i].in, strlen(bad[i].in), &c, &text, err, sizeof(err));
		if (rv != CF_EPROTO || strstr(err, bad[i].msg) == NULL) {
			fail_msg("'%s': rv %d, error '%s', expected '%s'",
			    bad[i].in, rv, err, bad[i].msg);
		}
		assert_null(c);
		assert_int_equal(text, 1);
	}
}

/* Limits of words and arguments, exactly at and one past. */
static void
text_limits(void **state)
{
	char       *s = malloc(CF_PROTO_MAX_TEXT + 16);
	char        err[160];
	cf_command *c = NULL;
	int         text;
	size_t      n;
	(void) state;
	/* An expression of exactly CF_PROTO_MAX_ARG bytes, then one more. */
	n = (size_t) sprintf(s, "schedule x '");
	memset(s + n, '*', CF_PROTO_MAX_ARG);
	strcpy(s + n + CF_PROTO_MAX_ARG, "'");
	assert_int_equal(
	    cf_proto_request_decode(s, strlen(s), &c, &text, err, sizeof(err)),
	    0);
	assert_int_equal(strlen(c->args[0]), CF_PROTO_MAX_ARG);
	cf_command_free(c);
	memset(s + n, '*', CF_PROTO_MAX_ARG + 1);
	strcpy(s + n + CF_PROTO_MAX_ARG + 1, "'");
	assert_int_equal(
	    cf_proto_request_decode(s, strlen(s), &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	assert_non_null(strstr(err, "longer than"));
	/* The same unquoted, joined from 16 words of 300 bytes. */
	n = (size_t) sprintf(s, "schedule x");
	for (int w = 0; w < 16; w++) {
		s[n++] = ' ';
		memset(s + n, '*', 300);
		n += 300;
	}
	s[n] = '\0';
	assert_int_equal(
	    cf_proto_request_decode(s, strlen(s), &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	assert_non_null(strstr(err, "expression longer than"));
	/* register with 16 arguments is fine, 17 are not. */
	strcpy(s, "register x");
	for (int i = 0; i < CF_PROTO_MAX_ARGS; i++) {
		strcat(s, " a");
	}
	assert_int_equal(
	    cf_proto_request_decode(s, strlen(s), &c, &text, err, sizeof(err)),
	    0);
	assert_int_equal(c->nargs, CF_PROTO_MAX_ARGS);
	cf_command_free(c);
	strcat(s, " a");
	assert_int_equal(
	    cf_proto_request_decode(s, strlen(s), &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	/* A text request over CF_PROTO_MAX_TEXT. */
	memset(s, ' ', CF_PROTO_MAX_TEXT + 1);
	memcpy(s, "status", 6);
	assert_int_equal(cf_proto_request_decode(s, CF_PROTO_MAX_TEXT + 1, &c,
	                     &text, err, sizeof(err)),
	    CF_ETOOBIG);
	assert_int_equal(cf_proto_request_decode(s, CF_PROTO_MAX_TEXT, &c,
	                     &text, err, sizeof(err)),
	    0);
	cf_command_free(c);
	/* JSON nested past cJSON's limit fails cleanly. */
	memset(s, '[', CF_PROTO_MAX_TEXT);
	memcpy(s, "{\"a\":", 5);
	assert_int_equal(cf_proto_request_decode(s, CF_PROTO_MAX_TEXT, &c,
	                     &text, err, sizeof(err)),
	    CF_EPROTO);
	free(s);
}

/* Whatever the form, the same command struct comes out. */
static void
text_same_as_msgpack(void **state)
{
	static const char *forms[] = {
		"history energy-sync 20",
		"{\"cmd\":\"history\",\"job\":\"energy-sync\",\"n\":20}",
	};
	(void) state;
	for (size_t i = 0; i < 2; i++) {
		cf_command     *a = NULL, *b = NULL;
		msgpack_sbuffer sb;
		char            err[128];
		int             text;
		assert_int_equal(
		    cf_proto_request_decode(forms[i], strlen(forms[i]), &a,
		        &text, err, sizeof(err)),
		    0);
		assert_int_equal(text, 1);
		msgpack_sbuffer_init(&sb);
		assert_int_equal(cf_proto_command_encode(&sb, a), 0);
		assert_int_equal(cf_proto_request_decode(sb.data, sb.size, &b,
		                     &text, err, sizeof(err)),
		    0);
		assert_int_equal(text, 0);
		assert_string_equal(b->cmd, "history");
		assert_string_equal(b->job, "energy-sync");
		assert_int_equal(b->n, 20);
		assert_int_equal(b->nargs, 0);
		assert_int_equal(b->known, 1);
		cf_command_free(a);
		cf_command_free(b);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* The error message for a text request goes back as JSON. */
static void
text_error_reply(void **state)
{
	cf_command     *c = NULL;
	char            err[160];
	int             text = 0;
	msgpack_sbuffer sb;
	cf_reply        r = { 0, err, NULL };
	const char     *want
	    = "{\"success\":false,\"error\":\"usage: trigger <job> [n]\"}";
	(void) state;
	assert_int_equal(
	    cf_proto_request_decode("trigger", 7, &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	assert_int_equal(text, 1);
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_reply_send_form(&sb, &r, text), 0);
	assert_int_equal(sb.size, strlen(want));
	assert_memory_equal(sb.data, want, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* A quoted job name cut by the error's precision stays UTF-8. */
static void
text_error_utf8(void **state)
{
	cf_command *c = NULL;
	char        in[128], err[160];
	int         text;
	(void) state;
	/* 39 ASCII bytes, then a 2-byte character cut by "%.40s". */
	strcpy(in, "trigger ");
	memset(in + 8, 'a', 39);
	strcpy(in + 47, "\xc3\xa9xyz");
	assert_int_equal(cf_proto_request_decode(
	                     in, strlen(in), &c, &text, err, sizeof(err)),
	    CF_EPROTO);
	for (size_t i = 0; err[i] != '\0'; i++) {
		assert_true((unsigned char) err[i] < 0x80);
	}
	/* A short buffer cuts the message but never a character. */
	assert_int_equal(
	    cf_proto_request_decode(in, strlen(in), &c, &text, err, 49),
	    CF_EPROTO);
	assert_true(strlen(err) <= 48);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_good),
		cmocka_unit_test(text_nul),
		cmocka_unit_test(text_bad),
		cmocka_unit_test(text_limits),
		cmocka_unit_test(text_same_as_msgpack),
		cmocka_unit_test(text_error_reply),
		cmocka_unit_test(text_error_utf8),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
