/*
 * test_proto_codec.c - round trips of every wire message (proto/), the
 * fire id, names, encoder checks and JSON replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_proto.h"

static const cf_tick tick_proto = {
	.service       = "ingest",
	.job           = "energy-sync",
	.fire_id       = "energy-sync@2025-03-30T01:30:00Z",
	.scheduled_for = 1743298200000LL,
	.trigger       = CF_TRIGGER_SCHEDULE,
	.attempt       = 1,
	.epoch         = 3,
};

static void
tick_roundtrip(void **state)
{
	static const int64_t  when[] = { 0, 1, -1, 1743298200000LL, INT64_MAX,
		 INT64_MIN, -62135596800000LL };
	static const uint64_t epochs[] = { 0, 1, UINT32_MAX, UINT64_MAX };
	(void) state;
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		for (int tr = 0; tr < 4; tr++) {
			msgpack_sbuffer sb;
			cf_tick         t = tick_proto, *d = NULL;
			char            err[128];
			t.scheduled_for = when[i];
			t.trigger       = (cf_trigger) tr;
			t.epoch         = epochs[(i + tr) % 4];
			t.attempt       = (uint32_t) (i * 1000003u + tr);
			msgpack_sbuffer_init(&sb);
			assert_int_equal(cf_proto_tick_encode(&sb, &t), 0);
			assert_true(sb.size > 24);
			assert_memory_equal(
			    sb.data, "tick.ingest.energy-sync ", 24);
			assert_int_equal(cf_proto_tick_decode(sb.data, sb.size,
			                     &d, err, sizeof(err)),
			    0);
			assert_string_equal(d->service, "ingest");
			assert_string_equal(d->job, "energy-sync");
			assert_string_equal(d->fire_id, t.fire_id);
			assert_true(d->scheduled_for == t.scheduled_for);
			assert_int_equal(d->trigger, t.trigger);
			assert_int_equal(d->attempt, t.attempt);
			assert_true(d->epoch == t.epoch);
			cf_tick_free(d);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

/* attempt and epoch may be left out: 1 and 0. */
static void
tick_defaults(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	cf_tick        *d = NULL;
	char            err[128];
	(void) state;
	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_write(&sb, "tick.a.b ", 9);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "trigger", 7);
	msgpack_pack_str_with_body(&pk, "catchup", 7);
	msgpack_pack_str_with_body(&pk, "job", 3);
	msgpack_pack_str_with_body(&pk, "b", 1);
	msgpack_pack_str_with_body(&pk, "fire_id", 7);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, "scheduled_for", 13);
	msgpack_pack_int(&pk, -5);
	assert_int_equal(
	    cf_proto_tick_decode(sb.data, sb.size, &d, err, sizeof(err)), 0);
	assert_int_equal(d->attempt, 1);
	assert_true(d->epoch == 0);
	assert_true(d->scheduled_for == -5);
	assert_int_equal(d->trigger, CF_TRIGGER_CATCHUP);
	cf_tick_free(d);
	msgpack_sbuffer_destroy(&sb);
}

static void
event_roundtrip(void **state)
{
	static const char *errors[]
	    = { NULL, "", "boom: \"quoted\" \xc3\xa9" };
	static const char *results[] = { NULL, "{\"rows\":12,\"ok\":true}",
		"null", " [1, 2.5, \"x\"] " };
	(void) state;
	for (int st = 0; st <= CF_RUN_INTERRUPTED; st++) {
		for (int k = 0; k < 4; k++) {
			msgpack_sbuffer sb;
			char            err[128], topic[128];
			cf_event       *d = NULL;
			cf_event        e;
			e.service       = "maintenance";
			e.job           = "health-check";
			e.run_id        = "0f8a-1";
			e.fire_id       = "health-check@2025-01-01T00:05:00Z";
			e.state         = (cf_run_state) st;
			e.trigger       = (cf_trigger) k;
			e.scheduled_for = 1735689900000LL;
			e.started_at    = k ? 1735689900001LL : 0;
			e.finished_at   = k > 1 ? 1735689901000LL : 0;
			e.attempt       = (uint32_t) k;
			e.error         = (char *) errors[k % 3];
			e.result        = (char *) results[k];
			msgpack_sbuffer_init(&sb);
			assert_int_equal(cf_proto_event_encode(&sb, &e), 0);
			snprintf(topic, sizeof(topic),
			    "event.maintenance.health-check.%s ",
			    cf_run_state_name(e.state));
			assert_memory_equal(sb.data, topic, strlen(topic));
			assert_int_equal(cf_proto_event_decode(sb.data,
			                     sb.size, &d, err, sizeof(err)),
			    0);
			assert_string_equal(d->service, e.service);
			assert_string_equal(d->job, e.job);
			assert_string_equal(d->run_id, e.run_id);
			assert_string_equal(d->fire_id, e.fire_id);
			assert_int_equal(d->state, e.state);
			assert_int_equal(d->trigger, e.trigger);
			assert_true(d->scheduled_for == e.scheduled_for);
			assert_true(d->started_at == e.started_at);
			assert_true(d->finished_at == e.finished_at);
			assert_int_equal(d->attempt, e.attempt);
			if (e.error == NULL) {
				assert_null(d->error);
			} else {
				assert_string_equal(d->error, e.error);
			}
			if (e.result == NULL) {
				assert_null(d->result);
			} else {
				assert_string_equal(d->result, e.result);
			}
			cf_event_free(d);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

static void
command_roundtrip(void **state)
{
	char *args[CF_PROTO_MAX_ARGS];
	char  big[CF_PROTO_MAX_ARG + 1];
	(void) state;
	memset(big, 'x', CF_PROTO_MAX_ARG);
	big[CF_PROTO_MAX_ARG] = '\0';
	for (int i = 0; i < CF_PROTO_MAX_ARGS; i++) {
		args[i] = i == 3 ? big : i == 4 ? "" : "0 */5 * * * *";
	}
	for (size_t na = 0; na <= CF_PROTO_MAX_ARGS; na += 4) {
		static const char *cmds[]
		    = { "status", "history", "register", "frobnicate", "x" };
		for (size_t ci = 0; ci < 5; ci++) {
			msgpack_sbuffer sb;
			char            err[128];
			int             text = -1;
			cf_command     *d    = NULL;
			cf_command      c;
			c.cmd   = (char *) cmds[ci];
			c.job   = ci % 2 ? "energy-sync" : NULL;
			c.args  = na ? args : NULL;
			c.nargs = na;
			c.n     = ci == 1 ? CF_PROTO_MAX_N : (int) ci;
			c.known = 0;
			msgpack_sbuffer_init(&sb);
			assert_int_equal(cf_proto_command_encode(&sb, &c), 0);
			assert_int_equal(
			    cf_proto_request_decode(
			        sb.data, sb.size, &d, &text, err, sizeof(err)),
			    0);
			assert_int_equal(text, 0);
			assert_string_equal(d->cmd, c.cmd);
			if (c.job == NULL) {
				assert_null(d->job);
			} else {
				assert_string_equal(d->job, c.job);
			}
			assert_int_equal(d->n, c.n);
			assert_int_equal(d->nargs, na);
			for (size_t k = 0; k < na; k++) {
				assert_string_equal(d->args[k], args[k]);
			}
			assert_int_equal(d->known, ci < 3);
			cf_command_free(d);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

static void
reply_roundtrip(void **state)
{
	static const cf_reply rs[] = {
		{ 1, NULL, "{\"jobs\":[]}" },
		{ 1, NULL, NULL },
		{ 0, "no such job: x", NULL },
		{ 0, NULL, NULL },
		{ 1, "", "\"text\"" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		msgpack_sbuffer sb;
		char            err[128];
		cf_reply       *d = NULL;
		msgpack_sbuffer_init(&sb);
		assert_int_equal(cf_proto_reply_encode(&sb, &rs[i]), 0);
		assert_int_equal(cf_proto_reply_decode(
		                     sb.data, sb.size, &d, err, sizeof(err)),
		    0);
		assert_int_equal(d->ok, rs[i].ok);
		if (rs[i].error) {
			assert_string_equal(d->error, rs[i].error);
		} else {
			assert_null(d->error);
		}
		if (rs[i].data) {
			assert_string_equal(d->data, rs[i].data);
		} else {
			assert_null(d->data);
		}
		cf_reply_free(d);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Encoders append: two messages in one buffer, in order. */
static void
encode_appends(void **state)
{
	msgpack_sbuffer sb;
	cf_reply        r = { 1, NULL, "1" }, *d = NULL;
	size_t          first;
	char            err[128];
	(void) state;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_reply_encode(&sb, &r), 0);
	first = sb.size;
	assert_int_equal(cf_proto_reply_encode(&sb, &r), 0);
	assert_int_equal(sb.size, 2 * first);
	assert_int_equal(cf_proto_reply_decode(
	                     sb.data + first, first, &d, err, sizeof(err)),
	    0);
	cf_reply_free(d);
	msgpack_sbuffer_destroy(&sb);
}

/* Invalid fields are CF_EINVAL and leave the buffer as it was. */
static void
encode_rejects(void **state)
{
	msgpack_sbuffer sb;
	cf_tick         t;
	cf_event e = { "a", "b", "r", "f", CF_RUN_FAILED, CF_TRIGGER_MANUAL, 0,
		0, 0, 1, NULL, NULL };
	cf_command c = { "status", NULL, NULL, 0, 0, 0 };
	cf_reply   r = { 1, NULL, NULL };
	char       longname[CF_PROTO_MAX_NAME + 2];
	char      *big;
	(void) state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_write(&sb, "keep", 4);

	t         = tick_proto;
	t.service = "in.gest";
	assert_int_equal(cf_proto_tick_encode(&sb, &t), CF_EINVAL);
	t.service = longname;
	assert_int_equal(cf_proto_tick_encode(&sb, &t), CF_EINVAL);
	t     = tick_proto;
	t.job = "a b";
	assert_int_equal(cf_proto_tick_encode(&sb, &t), CF_EINVAL);
	t         = tick_proto;
	t.fire_id = "";
	assert_int_equal(cf_proto_tick_encode(&sb, &t), CF_EINVAL);
	t         = tick_proto;
	t.trigger = (cf_trigger) 9;
	assert_int_equal(cf_proto_tick_encode(&sb, &t), CF_EINVAL);
	assert_int_equal(cf_proto_tick_encode(&sb, NULL), CF_EINVAL);

	e.result = "{not json";
	assert_int_equal(cf_proto_event_encode(&sb, &e), CF_EINVAL);
	e.result = NULL;
	e.error  = "\xff";
	assert_int_equal(cf_proto_event_encode(&sb, &e), CF_EINVAL);
	e.error = NULL;
	e.state = (cf_run_state) 7;
	assert_int_equal(cf_proto_event_encode(&sb, &e), CF_EINVAL);

	c.cmd = "Status";
	assert_int_equal(cf_proto_command_encode(&sb, &c), CF_EINVAL);
	c.cmd = "status";
	c.n   = -1;
	assert_int_equal(cf_proto_command_encode(&sb, &c), CF_EINVAL);
	c.n     = 0;
	c.nargs = CF_PROTO_MAX_ARGS + 1;
	assert_int_equal(cf_proto_command_encode(&sb, &c), CF_EINVAL);
	c.nargs = 0;
	c.job   = "";
	assert_int_equal(cf_proto_command_encode(&sb, &c), CF_EINVAL);

	r.data = "";
	assert_int_equal(cf_proto_reply_encode(&sb, &r), CF_EINVAL);
	r.data = "[1,]";
	assert_int_equal(cf_proto_reply_encode(&sb, &r), CF_EINVAL);
	r.data = "1 2";
	assert_int_equal(cf_proto_reply_encode(&sb, &r), CF_EINVAL);
	assert_int_equal(cf_proto_reply_json(&sb, &r), CF_EINVAL);

	/* A reply over the cap: its peer would refuse it. */
	big = malloc(CF_PROTO_MAX_MSG);
	assert_non_null(big);
	memset(big, 'e', CF_PROTO_MAX_MSG - 1);
	big[CF_PROTO_MAX_MSG - 1] = '\0';
	r.ok                      = 0;
	r.data                    = NULL;
	r.error                   = big;
	assert_int_equal(cf_proto_reply_encode(&sb, &r), CF_ETOOBIG);
	big[CF_PROTO_MAX_MSG - 100] = '\0';
	assert_int_equal(cf_proto_reply_encode(&sb, &r), 0);
	free(big);

	assert_true(sb.size > 4);
	sb.size = 4;
	assert_memory_equal(sb.data, "keep", 4);
	msgpack_sbuffer_destroy(&sb);
}

static void
fire_ids(void **state)
{
	char buf[CF_FIRE_ID_LEN];
	char small[12];
	char longest[CF_PROTO_MAX_NAME + 1];
	(void) state;
	assert_int_equal(
	    cf_fire_id(buf, sizeof(buf), "energy-sync", 1743298200000LL), 0);
	assert_string_equal(buf, "energy-sync@2025-03-30T01:30:00Z");
	assert_int_equal(
	    cf_fire_id(buf, sizeof(buf), "a", 1743298200250LL), 0);
	assert_string_equal(buf, "a@2025-03-30T01:30:00.250Z");
	assert_int_equal(cf_fire_id(buf, sizeof(buf), "a", 0), 0);
	assert_string_equal(buf, "a@1970-01-01T00:00:00Z");
	assert_int_equal(cf_fire_id(buf, sizeof(buf), "a", -1), 0);
	assert_string_equal(buf, "a@1969-12-31T23:59:59.999Z");
	/* The longest fits. */
	memset(longest, 'j', CF_PROTO_MAX_NAME);
	longest[CF_PROTO_MAX_NAME] = '\0';
	assert_int_equal(
	    cf_fire_id(buf, sizeof(buf), longest, 253402300799999LL), 0);
	assert_true(strlen(buf) < CF_FIRE_ID_LEN);
	assert_true(strlen(buf) <= CF_PROTO_MAX_ID);
	assert_int_equal(
	    cf_fire_id(buf, sizeof(buf), "a", 253402300800000LL), CF_ERANGE);
	assert_int_equal(
	    cf_fire_id(buf, sizeof(buf), "a", INT64_MIN), CF_ERANGE);
	assert_int_equal(cf_fire_id(buf, sizeof(buf), "a.b", 0), CF_EINVAL);
	assert_int_equal(cf_fire_id(buf, sizeof(buf), NULL, 0), CF_EINVAL);
	assert_int_equal(
	    cf_fire_id(small, sizeof(small), "abc", 0), CF_EINVAL);
}

static void
names_and_enums(void **state)
{
	char         buf[80];
	cf_trigger   t;
	cf_run_state s;
	(void) state;
	assert_true(cf_proto_name_valid("health-check"));
	assert_true(cf_proto_name_valid("A_b-9"));
	assert_false(cf_proto_name_valid(""));
	assert_false(cf_proto_name_valid("a.b"));
	assert_false(cf_proto_name_valid("a b"));
	assert_false(cf_proto_name_valid("\xc3\xa9"));
	assert_false(cf_proto_name_valid(NULL));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
		    cf_trigger_parse(cf_trigger_name((cf_trigger) i), &t), 0);
		assert_int_equal(t, i);
	}
	for (int i = 0; i < 7; i++) {
		assert_int_equal(cf_run_state_parse(
		                     cf_run_state_name((cf_run_state) i), &s),
		    0);
		assert_int_equal(s, i);
	}
	assert_string_equal(cf_run_state_name(CF_RUN_TIMED_OUT), "timed_out");
	assert_string_equal(cf_trigger_name((cf_trigger) 42), "unknown");
	assert_int_equal(cf_trigger_parse("Manual", &t), CF_EINVAL);
	assert_int_equal(cf_run_state_parse("done", &s), CF_EINVAL);
	assert_true(cf_proto_command_known("schedule"));
	assert_false(cf_proto_command_known("schedules"));
	assert_int_equal(cf_proto_tick_prefix(buf, sizeof(buf), "ingest"), 0);
	assert_string_equal(buf, "tick.ingest.");
	assert_int_equal(
	    cf_proto_tick_prefix(buf, sizeof(buf), "in gest"), CF_EINVAL);
	assert_int_equal(cf_proto_tick_prefix(buf, 5, "ingest"), CF_EINVAL);
}

static char *
render(const cf_reply *r, int *rv)
{
	msgpack_sbuffer sb;
	char           *s;
	msgpack_sbuffer_init(&sb);
	*rv = cf_proto_reply_json(&sb, r);
	s   = malloc(sb.size + 1);
	memcpy(s, sb.data != NULL ? sb.data : "", sb.size);
	s[sb.size] = '\0';
	msgpack_sbuffer_destroy(&sb);
	return (s);
}

static void
reply_json(void **state)
{
	static const struct {
		cf_reply    r;
		const char *json;
	} v[] = {
		{ { 1, NULL, "{\"a\":1}" },
		    "{\"success\":true,\"data\":{\"a\":1}}" },
		{ { 1, "ignored", NULL }, "{\"success\":true,\"data\":null}" },
		{ { 0, "no such job", "[1]" },
		    "{\"success\":false,\"error\":\"no such job\"}" },
		{ { 0, NULL, NULL },
		    "{\"success\":false,\"error\":\"failed\"}" },
		{ { 0, "a\"b\\c\n\x01\xc3\xa9", NULL },
		    "{\"success\":false,\"error\":"
		    "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"}" },
		/* Invalid UTF-8 becomes U+FFFD, byte by byte. */
		{ { 0, "x\xff\xc3(\xe2\x82", NULL },
		    "{\"success\":false,\"error\":"
		    "\"x\\ufffd\\ufffd(\\ufffd\\ufffd\"}" },
	};
	(void) state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int    rv;
		char  *s = render(&v[i].r, &rv);
		cJSON *j;
		assert_int_equal(rv, 0);
		assert_string_equal(s, v[i].json);
		j = cJSON_Parse(s);
		assert_non_null(j);
		cJSON_Delete(j);
		free(s);
	}
}

static void
reply_send_form(void **state)
{
	msgpack_sbuffer sb;
	cf_reply        r = { 1, NULL, "[]" }, *d = NULL;
	char            err[64];
	(void) state;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(cf_proto_reply_send_form(&sb, &r, 1), 0);
	assert_int_equal(sb.size, strlen("{\"success\":true,\"data\":[]}"));
	msgpack_sbuffer_clear(&sb);
	assert_int_equal(cf_proto_reply_send_form(&sb, &r, 0), 0);
	assert_int_equal(
	    cf_proto_reply_decode(sb.data, sb.size, &d, err, sizeof(err)), 0);
	assert_string_equal(d->data, "[]");
	cf_reply_free(d);
	msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tick_roundtrip),
		cmocka_unit_test(tick_defaults),
		cmocka_unit_test(event_roundtrip),
		cmocka_unit_test(command_roundtrip),
		cmocka_unit_test(reply_roundtrip),
		cmocka_unit_test(encode_appends),
		cmocka_unit_test(encode_rejects),
		cmocka_unit_test(fire_ids),
		cmocka_unit_test(names_and_enums),
		cmocka_unit_test(reply_json),
		cmocka_unit_test(reply_send_form),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
