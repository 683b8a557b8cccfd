/*
 * test_proto_bad.c - bad input to every decoder of proto/: random and
 * mutated bytes, truncation at every length, trailing bytes, hostile
 * length headers, deep nesting, wrong types, over-long strings, missing
 * and repeated fields. Each must give CF_EPROTO (or CF_ETOOBIG) with a
 * message naming the problem, never a crash, a leak or a hang.
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

enum { M_TICK, M_EVENT, M_REQUEST, M_REPLY, M_COUNT };

static const char *const tick_topic  = "tick.ingest.energy-sync ";
static const char *const event_topic = "event.ingest.energy-sync.failed ";

/* Runs the decoder of kind m; frees any result. Returns its code. */
static int
decode(int m, const void *buf, size_t len, char *err, size_t errlen)
{
	int rv = -1, text;
	err[0] = '\0';
	switch (m) {
	case M_TICK: {
		cf_tick *t = (cf_tick *) 1;
		rv         = cf_proto_tick_decode(buf, len, &t, err, errlen);
		assert_true(rv == 0 ? t != NULL : t == NULL);
		cf_tick_free(t);
		break;
	}
	case M_EVENT: {
		cf_event *e = (cf_event *) 1;
		rv          = cf_proto_event_decode(buf, len, &e, err, errlen);
		assert_true(rv == 0 ? e != NULL : e == NULL);
		cf_event_free(e);
		break;
	}
	case M_REQUEST: {
		cf_command *c = (cf_command *) 1;
		rv = cf_proto_request_decode(buf, len, &c, &text, err, errlen);
		assert_true(rv == 0 ? c != NULL : c == NULL);
		cf_command_free(c);
		break;
	}
	default: {
		cf_reply *r = (cf_reply *) 1;
		rv          = cf_proto_reply_decode(buf, len, &r, err, errlen);
		assert_true(rv == 0 ? r != NULL : r == NULL);
		cf_reply_free(r);
		break;
	}
	}
	assert_true(rv == 0 || rv == CF_EPROTO || rv == CF_ETOOBIG);
	if (rv != 0) {
		assert_true(strlen(err) > 0);
	}
	return (rv);
}

/* A valid message of kind m, appended to sb. */
static void
valid(int m, msgpack_sbuffer *sb)
{
	static char *args[] = { "0 * * * *", "UTC" };
	cf_tick      t
	    = { "ingest", "energy-sync", "energy-sync@2025-03-30T01:30:00Z",
		      1743298200000LL, CF_TRIGGER_MANUAL, 2, 9 };
	cf_event e = { "ingest", "energy-sync", "run-1", "f-1", CF_RUN_FAILED,
		CF_TRIGGER_SCHEDULE, 1, 2, 3, 1, "boom", "{\"a\":[1,2]}" };
	cf_command c = { "register", "energy-sync", args, 2, 5, 1 };
	cf_reply   r = { 1, NULL, "{\"x\":null}" };
	switch (m) {
	case M_TICK:
		assert_int_equal(cf_proto_tick_encode(sb, &t), 0);
		break;
	case M_EVENT:
		assert_int_equal(cf_proto_event_encode(sb, &e), 0);
		break;
	case M_REQUEST:
		assert_int_equal(cf_proto_command_encode(sb, &c), 0);
		break;
	default:
		assert_int_equal(cf_proto_reply_encode(sb, &r), 0);
		break;
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static void
random_bytes(void **state)
{
	uint8_t buf[600];
	char    err[256];
	(void) state;
	for (int i = 0; i < 20000; i++) {
		size_t len = next_rand() % 512;
		size_t off = 0;
		int    m   = i % M_COUNT;
		/* Half the time behind a valid topic, to reach the body. */
		if (i % 8 < 2 && m < M_REQUEST) {
			const char *tp
			    = m == M_TICK ? tick_topic : event_topic;
			off = strlen(tp);
			memcpy(buf, tp, off);
		}
		for (size_t k = 0; k < len; k++) {
			buf[off + k] = (uint8_t) next_rand();
		}
		/* Often a map header, to get past the first byte. */
		if (i % 3 == 0 && len > 0) {
			buf[off] = (uint8_t) (0x80 | (buf[off] & 0x0f));
		}
		(void) decode(m, buf, off + len, err, sizeof(err));
	}
}

/* Valid messages with random bytes changed: decoded or refused. */
static void
mutated_bytes(void **state)
{
	char err[256];
	(void) state;
	for (int m = 0; m < M_COUNT; m++) {
		msgpack_sbuffer sb;
		uint8_t        *b;
		msgpack_sbuffer_init(&sb);
		valid(m, &sb);
		b = malloc(sb.size);
		for (int i = 0; i < 5000; i++) {
			memcpy(b, sb.data, sb.size);
			for (int k = 0; k < 1 + i % 4; k++) {
				b[next_rand() % sb.size]
				    = (uint8_t) next_rand();
			}
			(void) decode(m, b, sb.size, err, sizeof(err));
		}
		free(b);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void
truncated_every_length(void **state)
{
	char err[256];
	(void) state;
	for (int m = 0; m < M_COUNT; m++) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		valid(m, &sb);
		assert_int_equal(
		    decode(m, sb.data, sb.size, err, sizeof(err)), 0);
		for (size_t len = 0; len < sb.size; len++) {
			/* A copy of exactly len bytes, so ASan sees any
			 * read past the end. */
			char *b = malloc(len ? len : 1);
			memcpy(b, sb.data, len);
			if (decode(m, b, len, err, sizeof(err)) != CF_EPROTO) {
				fail_msg(
				    "kind %d length %zu accepted", m, len);
			}
			free(b);
		}
		msgpack_sbuffer_destroy(&sb);
	}
}

static void
trailing_bytes(void **state)
{
	char err[256];
	(void) state;
	for (int m = 0; m < M_COUNT; m++) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		valid(m, &sb);
		msgpack_sbuffer_write(&sb, "\xc0", 1);
		assert_int_equal(
		    decode(m, sb.data, sb.size, err, sizeof(err)), CF_EPROTO);
		assert_non_null(strstr(err, "trailing"));
		sb.size--;
		/* Two whole messages back to back are not one. */
		valid(m == M_TICK || m == M_EVENT ? M_REPLY : m, &sb);
		assert_int_equal(
		    decode(m, sb.data, sb.size, err, sizeof(err)), CF_EPROTO);
		assert_non_null(strstr(err, "trailing"));
		msgpack_sbuffer_destroy(&sb);
	}
}

typedef struct {
	const char *bytes;
	size_t      len;
	const char *msg;
} raw_case;

#define RAW(s, m)                                                             \
	{                                                                     \
		s, sizeof(s) - 1, m                                           \
	}

/* Headers that claim far more than the input holds. */
static const raw_case hostile[] = {
	RAW("\xdd\xff\xff\xff\xff", "declares 4294967295 elements"),
	RAW("\xdd\xee\x6b\x28\x00\xc0\xc0", "declares 4000000000 elements"),
	RAW("\xdf\xff\xff\xff\xff", "declares 8589934590 elements"),
	RAW("\xde\xff\xff", "declares 131070 elements"),
	RAW("\xdc\x00\x10\xc0", "declares 16 elements"),
	RAW("\x81\xa3"
	    "cmd\xdb\xff\xff\xff\xff",
	    "declares 4294967295 bytes"),
	RAW("\x81\xa3"
	    "cmd\xda\x01\x00xx",
	    "declares 256 bytes"),
	RAW("\x81\xa3"
	    "cmd\xc6\xff\xff\xff\xf0",
	    "declares 4294967280 bytes"),
	RAW("\x81\xa3"
	    "cmd\xc9\xff\xff\xff\xf0\x01",
	    "declares 4294967281"),
	RAW("\x81\xa3"
	    "cmd\xd8\x01",
	    "declares 17 bytes"),
	RAW("\x81\xa4"
	    "args\xdd\xee\x6b\x28\x00",
	    "declares 4000000000"),
	RAW("\x81\xa3"
	    "cmd\xdb\xff\xff",
	    "length field"),
	RAW("\x81\xa3"
	    "cmd\xc1",
	    "byte 0xc1"),
	RAW("\x81\xa3"
	    "cmd",
	    "truncated"),
	RAW("", "empty"),
	RAW("\x92\xc0\xc0", "expected a msgpack map"),
	RAW("\x01", "expected a msgpack map"),
	RAW("\xc0", "expected a msgpack map"),
	RAW("\xcb\x00\x00\x00\x00\x00\x00\x00\x00", "expected a msgpack map"),
};

static void
hostile_headers(void **state)
{
	char err[256];
	(void) state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const raw_case *r = &hostile[i];
		for (int m = 0; m < M_COUNT; m++) {
			char  *b;
			size_t off = 0, tl;
			int    rv;
			if (m == M_TICK || m == M_EVENT) {
				const char *tp
				    = m == M_TICK ? tick_topic : event_topic;
				off = tl = strlen(tp);
				b        = malloc(tl + r->len + 1);
				memcpy(b, tp, tl);
			} else {
				b = malloc(r->len + 1);
			}
			memcpy(b + off, r->bytes, r->len);
			rv = decode(m, b, off + r->len, err, sizeof(err));
			if (rv != CF_EPROTO || strstr(err, r->msg) == NULL) {
				fail_msg("case %zu kind %d: rv %d '%s', "
				         "expected '%s'",
				    i, m, rv, err, r->msg);
			}
			free(b);
		}
	}
}

/* {"cmd":"jobs","x":<depth nested arrays>} */
static void
nested(msgpack_sbuffer *sb, int depth)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "cmd", 3);
	msgpack_pack_str_with_body(&pk, "jobs", 4);
	msgpack_pack_str_with_body(&pk, "x", 1);
	for (int i = 0; i < depth; i++) {
		msgpack_pack_array(&pk, 1);
	}
	msgpack_pack_nil(&pk);
}

static void
deep_nesting(void **state)
{
	static const int depths[] = { 15, 16, 31, 32, 33, 1000, 100000 };
	char             err[256];
	(void) state;
	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		msgpack_sbuffer sb;
		int             rv;
		msgpack_sbuffer_init(&sb);
		nested(&sb, depths[i]);
		rv = decode(M_REQUEST, sb.data, sb.size, err, sizeof(err));
		if (depths[i] < CF_PROTO_MAX_DEPTH) {
			assert_int_equal(rv, 0);
		} else {
			assert_int_equal(rv, CF_EPROTO);
			assert_non_null(strstr(err, "nesting deeper than 16"));
		}
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Many elements in an ignored field: bounded by CF_PROTO_MAX_ITEMS. */
static void
many_elements(void **state)
{
	char err[256];
	(void) state;
	for (int k = 0; k < 2; k++) {
		msgpack_sbuffer sb;
		msgpack_packer  pk;
		uint32_t        n = k ? CF_PROTO_MAX_ITEMS : 60000;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "ok", 2);
		msgpack_pack_true(&pk);
		msgpack_pack_str_with_body(&pk, "junk", 4);
		msgpack_pack_array(&pk, n);
		for (uint32_t i = 0; i < n; i++) {
			msgpack_pack_nil(&pk);
		}
		if (k == 0) {
			assert_int_equal(decode(M_REPLY, sb.data, sb.size, err,
			                     sizeof(err)),
			    0);
		} else {
			assert_int_equal(decode(M_REPLY, sb.data, sb.size, err,
			                     sizeof(err)),
			    CF_EPROTO);
			assert_non_null(
			    strstr(err, "more than 65536 elements"));
		}
		msgpack_sbuffer_destroy(&sb);
	}
}

static void
over_the_cap(void **state)
{
	size_t n = CF_PROTO_MAX_MSG + 1;
	char  *b = malloc(n);
	char   err[256];
	(void) state;
	memset(b, 'a', n);
	memcpy(b, tick_topic, strlen(tick_topic));
	assert_int_equal(decode(M_TICK, b, n, err, sizeof(err)), CF_ETOOBIG);
	memcpy(b, event_topic, strlen(event_topic));
	assert_int_equal(decode(M_EVENT, b, n, err, sizeof(err)), CF_ETOOBIG);
	b[0] = (char) 0x81;
	assert_int_equal(
	    decode(M_REQUEST, b, n, err, sizeof(err)), CF_ETOOBIG);
	assert_int_equal(decode(M_REPLY, b, n, err, sizeof(err)), CF_ETOOBIG);
	b[0] = 's';
	assert_int_equal(
	    decode(M_REQUEST, b, n, err, sizeof(err)), CF_ETOOBIG);
	free(b);
}

/* ---- field by field ------------------------------------------------ */

enum {
	K_STR,
	K_INT,
	K_UINT,
	K_NIL,
	K_BOOL,
	K_FLOAT,
	K_ARR,
	K_BIN,
	K_MAP,
	K_DEL
};

typedef struct {
	const char *key;
	int         kind;
	const char *s; /* K_STR, K_BIN; K_ARR: each char is a string */
	int64_t     i; /* K_INT, K_BOOL; K_STR: repeat s to this length */
	uint64_t    u; /* K_UINT */
} field;

static void
pack_field(msgpack_packer *pk, const field *f)
{
	switch (f->kind) {
	case K_STR:
		if (f->i > 0) {
			char *s = malloc((size_t) f->i);
			memset(s, f->s[0], (size_t) f->i);
			msgpack_pack_str_with_body(pk, s, (size_t) f->i);
			free(s);
		} else {
			msgpack_pack_str_with_body(pk, f->s, strlen(f->s));
		}
		break;
	case K_INT:
		msgpack_pack_int64(pk, f->i);
		break;
	case K_UINT:
		msgpack_pack_uint64(pk, f->u);
		break;
	case K_NIL:
		msgpack_pack_nil(pk);
		break;
	case K_BOOL:
		f->i ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
		break;
	case K_FLOAT:
		msgpack_pack_double(pk, 1.5);
		break;
	case K_ARR:
		msgpack_pack_array(pk, strlen(f->s));
		for (const char *p = f->s; *p; p++) {
			if (*p == '#') {
				msgpack_pack_int(pk, 1);
			} else {
				msgpack_pack_str_with_body(pk, p, 1);
			}
		}
		break;
	case K_BIN:
		msgpack_pack_bin_with_body(pk, f->s, strlen(f->s));
		break;
	default:
		msgpack_pack_map(pk, 1);
		msgpack_pack_nil(pk);
		msgpack_pack_nil(pk);
		break;
	}
}

/* Packs base with over applied (replacing a key, adding or deleting). */
static void
pack_map(msgpack_sbuffer *sb, const char *topic, const field *base,
    size_t nbase, const field *over)
{
	msgpack_packer pk;
	size_t         n = 0, found = 0;
	for (size_t i = 0; i < nbase; i++) {
		if (over != NULL && strcmp(base[i].key, over->key) == 0) {
			found = 1;
			n += over->kind != K_DEL;
		} else {
			n++;
		}
	}
	if (over != NULL && !found && over->kind != K_DEL) {
		n++;
	}
	if (topic != NULL) {
		msgpack_sbuffer_write(sb, topic, strlen(topic));
	}
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < nbase; i++) {
		const field *f = &base[i];
		if (over != NULL && strcmp(f->key, over->key) == 0) {
			if (over->kind == K_DEL) {
				continue;
			}
			f = over;
		}
		msgpack_pack_str_with_body(&pk, f->key, strlen(f->key));
		pack_field(&pk, f);
	}
	if (over != NULL && !found && over->kind != K_DEL) {
		msgpack_pack_str_with_body(&pk, over->key, strlen(over->key));
		pack_field(&pk, over);
	}
}

static const field tick_base[] = {
	{ "job", K_STR, "energy-sync", 0, 0 },
	{ "fire_id", K_STR, "f1", 0, 0 },
	{ "scheduled_for", K_INT, NULL, 1743298200000LL, 0 },
	{ "trigger", K_STR, "schedule", 0, 0 },
	{ "attempt", K_UINT, NULL, 0, 1 },
	{ "epoch", K_UINT, NULL, 0, 4 },
};

static const field event_base[] = {
	{ "service", K_STR, "ingest", 0, 0 },
	{ "job", K_STR, "energy-sync", 0, 0 },
	{ "run_id", K_STR, "r1", 0, 0 },
	{ "fire_id", K_STR, "f1", 0, 0 },
	{ "state", K_STR, "failed", 0, 0 },
	{ "trigger", K_STR, "manual", 0, 0 },
	{ "scheduled_for", K_INT, NULL, 5, 0 },
	{ "started_at", K_INT, NULL, 6, 0 },
	{ "finished_at", K_INT, NULL, 0, 0 },
	{ "attempt", K_UINT, NULL, 0, 1 },
	{ "error", K_NIL, NULL, 0, 0 },
	{ "result", K_STR, "{}", 0, 0 },
};

static const field command_base[] = {
	{ "cmd", K_STR, "history", 0, 0 },
	{ "job", K_STR, "energy-sync", 0, 0 },
	{ "args", K_ARR, "ab", 0, 0 },
	{ "n", K_UINT, NULL, 0, 20 },
};

static const field reply_base[] = {
	{ "ok", K_BOOL, NULL, 1, 0 },
	{ "error", K_NIL, NULL, 0, 0 },
	{ "data", K_STR, "[1]", 0, 0 },
};

typedef struct {
	int         m;
	field       over;
	const char *msg; /* NULL: accepted */
} field_case;

static const field_case field_cases[] = {
	/* tick */
	{ M_TICK, { "job", K_INT, NULL, 1, 0 },
	    "field 'job': expected a string" },
	{ M_TICK, { "job", K_NIL, NULL, 0, 0 }, "field 'job'" },
	{ M_TICK, { "job", K_BIN, "energy-sync", 0, 0 }, "field 'job'" },
	{ M_TICK, { "job", K_STR, "other", 0, 0 }, "differs from the topic" },
	{ M_TICK, { "job", K_DEL, NULL, 0, 0 }, "missing field 'job'" },
	{ M_TICK, { "fire_id", K_STR, "", 0, 0 }, "field 'fire_id': empty" },
	{ M_TICK, { "fire_id", K_STR, "f", 129, 0 },
	    "field 'fire_id': longer than 128" },
	{ M_TICK, { "fire_id", K_STR, "f", 128, 0 }, NULL },
	{ M_TICK, { "fire_id", K_STR, "a\xff", 0, 0 },
	    "field 'fire_id': not UTF-8" },
	{ M_TICK, { "fire_id", K_ARR, "a", 0, 0 }, "field 'fire_id'" },
	{ M_TICK, { "fire_id", K_DEL, NULL, 0, 0 },
	    "missing field 'fire_id'" },
	{ M_TICK, { "scheduled_for", K_STR, "2025", 0, 0 },
	    "field 'scheduled_for'" },
	{ M_TICK, { "scheduled_for", K_FLOAT, NULL, 0, 0 },
	    "field 'scheduled_for'" },
	{ M_TICK, { "scheduled_for", K_UINT, NULL, 0, UINT64_MAX },
	    "field 'scheduled_for'" },
	{ M_TICK, { "scheduled_for", K_INT, NULL, INT64_MIN, 0 }, NULL },
	{ M_TICK, { "scheduled_for", K_DEL, NULL, 0, 0 },
	    "missing field 'scheduled_for'" },
	{ M_TICK, { "trigger", K_STR, "Schedule", 0, 0 },
	    "field 'trigger': expected one of" },
	{ M_TICK, { "trigger", K_INT, NULL, 0, 0 }, "field 'trigger'" },
	{ M_TICK, { "trigger", K_DEL, NULL, 0, 0 },
	    "missing field 'trigger'" },
	{ M_TICK, { "attempt", K_INT, NULL, -1, 0 }, "field 'attempt'" },
	{ M_TICK, { "attempt", K_UINT, NULL, 0, 1ULL << 32 },
	    "field 'attempt'" },
	{ M_TICK, { "attempt", K_DEL, NULL, 0, 0 }, NULL },
	{ M_TICK, { "epoch", K_STR, "1", 0, 0 }, "field 'epoch'" },
	{ M_TICK, { "epoch", K_UINT, NULL, 0, UINT64_MAX }, NULL },
	{ M_TICK, { "epoch", K_DEL, NULL, 0, 0 }, NULL },
	{ M_TICK, { "whatever", K_MAP, NULL, 0, 0 }, NULL },
	{ M_TICK, { "service", K_STR, "other", 0, 0 }, NULL },
	/* event */
	{ M_EVENT, { "service", K_STR, "analytics", 0, 0 },
	    "differ from the topic" },
	{ M_EVENT, { "service", K_STR, "a.b", 0, 0 },
	    "field 'service': expected a name" },
	{ M_EVENT, { "service", K_DEL, NULL, 0, 0 },
	    "missing field 'service'" },
	{ M_EVENT, { "job", K_STR, "j", 65, 0 },
	    "field 'job': longer than 64" },
	{ M_EVENT, { "state", K_STR, "succeeded", 0, 0 },
	    "differ from the topic" },
	{ M_EVENT, { "state", K_STR, "done", 0, 0 }, "field 'state'" },
	{ M_EVENT, { "state", K_DEL, NULL, 0, 0 }, "missing field 'state'" },
	{ M_EVENT, { "run_id", K_NIL, NULL, 0, 0 }, "field 'run_id'" },
	{ M_EVENT, { "run_id", K_STR, "r", 129, 0 },
	    "field 'run_id': longer" },
	{ M_EVENT, { "run_id", K_DEL, NULL, 0, 0 }, "missing field 'run_id'" },
	{ M_EVENT, { "started_at", K_BOOL, NULL, 1, 0 },
	    "field 'started_at'" },
	{ M_EVENT, { "started_at", K_DEL, NULL, 0, 0 }, NULL },
	{ M_EVENT, { "finished_at", K_STR, "", 0, 0 }, "field 'finished_at'" },
	{ M_EVENT, { "attempt", K_DEL, NULL, 0, 0 },
	    "missing field 'attempt'" },
	{ M_EVENT, { "error", K_INT, NULL, 3, 0 },
	    "field 'error': expected a string or nil" },
	{ M_EVENT, { "error", K_STR, "bad \xc3\xa9", 0, 0 }, NULL },
	{ M_EVENT, { "error", K_STR, "e", 100000, 0 }, NULL },
	{ M_EVENT, { "result", K_STR, "{oops}", 0, 0 },
	    "field 'result': not JSON" },
	{ M_EVENT, { "result", K_STR, "", 0, 0 }, "field 'result': not JSON" },
	{ M_EVENT, { "result", K_MAP, NULL, 0, 0 }, "field 'result'" },
	{ M_EVENT, { "result", K_NIL, NULL, 0, 0 }, NULL },
	/* command */
	{ M_REQUEST, { "cmd", K_DEL, NULL, 0, 0 }, "missing field 'cmd'" },
	{ M_REQUEST, { "cmd", K_NIL, NULL, 0, 0 },
	    "field 'cmd': expected a string" },
	{ M_REQUEST, { "cmd", K_STR, "", 0, 0 }, "field 'cmd': empty" },
	{ M_REQUEST, { "cmd", K_STR, "c", 33, 0 },
	    "field 'cmd': longer than 32" },
	{ M_REQUEST, { "cmd", K_STR, "c", 32, 0 }, NULL },
	{ M_REQUEST, { "cmd", K_STR, "His tory", 0, 0 }, "field 'cmd'" },
	{ M_REQUEST, { "job", K_NIL, NULL, 0, 0 }, NULL },
	{ M_REQUEST, { "job", K_DEL, NULL, 0, 0 }, NULL },
	{ M_REQUEST, { "job", K_STR, "", 0, 0 }, "field 'job'" },
	{ M_REQUEST, { "job", K_ARR, "a", 0, 0 },
	    "field 'job': expected a string or nil" },
	{ M_REQUEST, { "args", K_STR, "a", 0, 0 },
	    "field 'args': expected an array" },
	{ M_REQUEST, { "args", K_ARR, "a#", 0, 0 },
	    "field 'args': expected a string" },
	{ M_REQUEST, { "args", K_ARR, "abcdefghijklmnopq", 0, 0 },
	    "field 'args': more than 16" },
	{ M_REQUEST, { "args", K_ARR, "abcdefghijklmnop", 0, 0 }, NULL },
	{ M_REQUEST, { "args", K_ARR, "", 0, 0 }, NULL },
	{ M_REQUEST, { "args", K_NIL, NULL, 0, 0 }, NULL },
	{ M_REQUEST, { "n", K_INT, NULL, -1, 0 }, "field 'n'" },
	{ M_REQUEST, { "n", K_UINT, NULL, 0, 100001 }, "field 'n'" },
	{ M_REQUEST, { "n", K_STR, "5", 0, 0 }, "field 'n'" },
	{ M_REQUEST, { "n", K_NIL, NULL, 0, 0 }, NULL },
	{ M_REQUEST, { "extra", K_ARR, "xyz", 0, 0 }, NULL },
	/* reply */
	{ M_REPLY, { "ok", K_INT, NULL, 1, 0 },
	    "field 'ok': expected a boolean" },
	{ M_REPLY, { "ok", K_DEL, NULL, 0, 0 }, "missing field 'ok'" },
	{ M_REPLY, { "error", K_BOOL, NULL, 0, 0 }, "field 'error'" },
	{ M_REPLY, { "data", K_STR, "[1", 0, 0 }, "field 'data': not JSON" },
	{ M_REPLY, { "data", K_STR, "1 2", 0, 0 }, "field 'data': not JSON" },
	{ M_REPLY, { "data", K_STR, "\"\xc3(\"", 0, 0 },
	    "field 'data': not UTF-8" },
	{ M_REPLY, { "data", K_INT, NULL, 1, 0 }, "field 'data'" },
	{ M_REPLY, { "data", K_DEL, NULL, 0, 0 }, NULL },
	{ M_REPLY, { "data", K_STR, "[", 10000, 0 },
	    "field 'data': not JSON" },
};

static void
pack_case(msgpack_sbuffer *sb, int m, const field *over)
{
	switch (m) {
	case M_TICK:
		pack_map(sb, tick_topic, tick_base,
		    sizeof(tick_base) / sizeof(field), over);
		break;
	case M_EVENT:
		pack_map(sb, event_topic, event_base,
		    sizeof(event_base) / sizeof(field), over);
		break;
	case M_REQUEST:
		pack_map(sb, NULL, command_base,
		    sizeof(command_base) / sizeof(field), over);
		break;
	default:
		pack_map(sb, NULL, reply_base,
		    sizeof(reply_base) / sizeof(field), over);
		break;
	}
}

static void
fields_checked(void **state)
{
	char err[256];
	(void) state;
	/* The bases themselves are accepted. */
	for (int m = 0; m < M_COUNT; m++) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		pack_case(&sb, m, NULL);
		assert_int_equal(
		    decode(m, sb.data, sb.size, err, sizeof(err)), 0);
		msgpack_sbuffer_destroy(&sb);
	}
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]);
	     i++) {
		const field_case *c = &field_cases[i];
		msgpack_sbuffer   sb;
		int               rv;
		msgpack_sbuffer_init(&sb);
		pack_case(&sb, c->m, &c->over);
		rv = decode(c->m, sb.data, sb.size, err, sizeof(err));
		if (c->msg == NULL
		        ? rv != 0
		        : rv != CF_EPROTO || strstr(err, c->msg) == NULL) {
			fail_msg("case %zu (%s): rv %d '%s', expected '%s'", i,
			    c->over.key, rv, err, c->msg ? c->msg : "ok");
		}
		msgpack_sbuffer_destroy(&sb);
	}
}

/* "error" with an embedded NUL must be refused, not cut short. */
static void
nul_in_string(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            err[256];
	(void) state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	msgpack_pack_false(&pk);
	msgpack_pack_str_with_body(&pk, "error", 5);
	msgpack_pack_str_with_body(&pk, "a\0b", 3);
	assert_int_equal(
	    decode(M_REPLY, sb.data, sb.size, err, sizeof(err)), CF_EPROTO);
	assert_non_null(strstr(err, "field 'error': not UTF-8"));
	msgpack_sbuffer_destroy(&sb);
}

static void
repeated_and_odd_keys(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	char            err[256];
	cf_command     *c = NULL;
	int             text;
	(void) state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "cmd", 3);
	msgpack_pack_str_with_body(&pk, "jobs", 4);
	msgpack_pack_str_with_body(&pk, "cmd", 3);
	msgpack_pack_str_with_body(&pk, "stop", 4);
	assert_int_equal(
	    decode(M_REQUEST, sb.data, sb.size, err, sizeof(err)), CF_EPROTO);
	assert_non_null(strstr(err, "field 'cmd' given twice"));

	/* Keys that are not strings are ignored like unknown ones. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_int(&pk, 7);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_nil(&pk);
	msgpack_pack_nil(&pk);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_str_with_body(&pk, "cmd", 3);
	msgpack_pack_str_with_body(&pk, "zap", 3);
	assert_int_equal(cf_proto_request_decode(
	                     sb.data, sb.size, &c, &text, err, sizeof(err)),
	    0);
	/* An unknown verb is decoded and flagged for the receiver. */
	assert_string_equal(c->cmd, "zap");
	assert_int_equal(c->known, 0);
	assert_int_equal(text, 0);
	cf_command_free(c);
	msgpack_sbuffer_destroy(&sb);
}

typedef struct {
	int         m;
	const char *in;
	const char *msg;
} topic_case;

static const topic_case topics[] = {
	{ M_TICK, "tick.ingest.energy-sync", "no space after the topic" },
	{ M_TICK, "tock.ingest.energy-sync \x80", "does not start with" },
	{ M_TICK, "tick.ingest \x80", "expected tick.<service>.<job>" },
	{ M_TICK, "tick.ingest.energy.sync \x80", "expected tick.<service>" },
	{ M_TICK, "tick..energy-sync \x80", "expected tick.<service>" },
	{ M_TICK, "tick.ingest. \x80", "expected tick.<service>" },
	{ M_TICK, "tick.ingest.energy-sync \x80", "missing field 'job'" },
	{ M_TICK, "tick.ingest.energy-sync ", "empty message" },
	{ M_TICK, "tick.", "no space" },
	{ M_TICK, "", "does not start with" },
	{ M_EVENT, "event.ingest.energy-sync \x80", "expected event." },
	{ M_EVENT, "event.ingest.energy-sync.done \x80", "expected event." },
	{ M_EVENT, "event.ingest.energy-sync.failed.x \x80",
	    "expected event." },
	{ M_EVENT, "event.ingest.energy-sync.failed \x80", "missing field" },
	{ M_EVENT, "tick.ingest.energy-sync \x80", "does not start with" },
};

static void
topics_checked(void **state)
{
	char  err[256];
	char *b = malloc(300);
	(void) state;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		size_t n = strlen(topics[i].in);
		int    rv;
		memcpy(b, topics[i].in, n);
		rv = decode(topics[i].m, b, n, err, sizeof(err));
		if (rv != CF_EPROTO || strstr(err, topics[i].msg) == NULL) {
			fail_msg("'%s': rv %d '%s', expected '%s'",
			    topics[i].in, rv, err, topics[i].msg);
		}
	}
	/* A topic too long to be one: the space is looked for in a
	 * bounded prefix only. */
	memset(b, 'a', 300);
	memcpy(b, "tick.", 5);
	b[299] = ' ';
	assert_int_equal(decode(M_TICK, b, 300, err, sizeof(err)), CF_EPROTO);
	assert_non_null(strstr(err, "no space after the topic"));
	free(b);
}

/* The first byte decides the form; the error reply follows it. */
static void
form_detection(void **state)
{
	static const struct {
		const char *in;
		size_t      len;
		int         text;
	} v[] = {
		{ "status", 6, 1 },
		{ "Zap", 3, 1 },
		{ "{}", 2, 1 },
		{ "\x80", 1, 0 },
		{ "", 0, 0 },
		{ " status", 7, 0 },
		{ "[\"status\"]", 10, 0 },
		{ "1", 1, 0 },
	};
	char err[256];
	(void) state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cf_command *c    = NULL;
		int         text = -1;
		(void) cf_proto_request_decode(
		    v[i].in, v[i].len, &c, &text, err, sizeof(err));
		assert_int_equal(text, v[i].text);
		cf_command_free(c);
	}
	/* err may be absent. */
	{
		cf_command *c = NULL;
		assert_int_equal(
		    cf_proto_request_decode("\xc1", 1, &c, NULL, NULL, 0),
		    CF_EPROTO);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_bytes),
		cmocka_unit_test(mutated_bytes),
		cmocka_unit_test(truncated_every_length),
		cmocka_unit_test(trailing_bytes),
		cmocka_unit_test(hostile_headers),
		cmocka_unit_test(deep_nesting),
		cmocka_unit_test(many_elements),
		cmocka_unit_test(over_the_cap),
		cmocka_unit_test(fields_checked),
		cmocka_unit_test(nul_in_string),
		cmocka_unit_test(repeated_and_odd_keys),
		cmocka_unit_test(topics_checked),
		cmocka_unit_test(form_detection),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
