/*
 * cf_proto.c - the msgpack codec of ticks, events, commands and replies.
 *
 * Decoding happens in two passes. mp_scan walks the bytes first without
 * allocating anything: it checks that the input is exactly one msgpack
 * object, that no string or container header declares more than what is
 * left of the input (each element takes at least one byte), that nesting
 * stays under CF_PROTO_MAX_DEPTH and that the total element count stays
 * under CF_PROTO_MAX_ITEMS. msgpack-c allocates what a header declares
 * before it has seen the elements (a 0xdd header claiming 4e9 elements
 * asks for 64 GB), so only input that passed the scan is handed to
 * msgpack_unpack_next, whose allocation is then bounded by the input's
 * size. Its out-of-memory result is still treated as bad input.
 *
 * The second pass reads the resulting map field by field with typed
 * getters that name the field in their error message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_proto.h"
#include "cf_proto_int.h"
#include "cf_time.h"

/* The longest topic: "event." name "." name "." "interrupted". */
#define TOPIC_MAX (6 + CF_PROTO_MAX_NAME + 1 + CF_PROTO_MAX_NAME + 1 + 11)

/* Flags of get_str. */
#define STR_NIL_OK 0x1 /* nil gives NULL */
#define STR_NAME 0x2   /* a service or job name */
#define STR_JSON 0x4   /* JSON text */
#define STR_NONEMPTY 0x8

static const char *const trigger_names[] = {
	"schedule",
	"manual",
	"catchup",
	"dependency",
};

static const char *const state_names[] = {
	"started",
	"succeeded",
	"failed",
	"retrying",
	"skipped",
	"timed_out",
	"interrupted",
};

static const char *const known_cmds[] = {
	"status",
	"jobs",
	"trigger",
	"history",
	"pause",
	"resume",
	"next",
	"schedule",
	"register",
	"ping",
	"start",
	"stop",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- shared helpers ------------------------------------------------ */

void
cf__proto_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void) vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/*
	 * A message may quote input, and vsnprintf or a precision may cut
	 * a character in two: keep the text UTF-8 so that it can go into
	 * a reply as it is.
	 */
	for (size_t i = 0; err[i] != '\0';) {
		size_t k = 1;
		if ((unsigned char) err[i] >= 0x80) {
			k = (unsigned char) err[i] >= 0xf0   ? 4
			    : (unsigned char) err[i] >= 0xe0 ? 3
			                                     : 2;
			if (strnlen(err + i, k) < k
			    || !cf__proto_utf8_valid(err + i, k)) {
				err[i] = '?';
				k      = 1;
			}
		}
		i += k;
	}
}

int
cf__proto_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t               i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t   n;
		uint32_t cp;

		if (c == 0) {
			return (0);
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n  = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n  = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n  = 3;
			cp = c & 0x07;
		} else {
			return (0);
		}
		if (len - i - 1 < n) {
			return (0);
		}
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				return (0);
			}
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
		    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
			return (0);
		}
		i += n + 1;
	}
	return (1);
}

int
cf__proto_json_valid(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON      *j;

	if (len == 0) {
		return (0);
	}
	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (j == NULL) {
		return (0);
	}
	cJSON_Delete(j);
	/* cJSON stops after the first value: the rest must be blank. */
	for (size_t i = (size_t) (end - s); i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n'
		    && s[i] != '\r') {
			return (0);
		}
	}
	return (1);
}

int
cf__proto_cmd_valid(const char *s, size_t len)
{
	if (len == 0 || len > CF_PROTO_MAX_CMD) {
		return (0);
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '_' || c == '-')) {
			return (0);
		}
	}
	return (1);
}

char *
cf__proto_strndup(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return (d);
}

static int
name_valid_len(const char *s, size_t len)
{
	if (len == 0 || len > CF_PROTO_MAX_NAME) {
		return (0);
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
			return (0);
		}
	}
	return (1);
}

int
cf_proto_name_valid(const char *s)
{
	return (s != NULL && name_valid_len(s, strnlen(s, 256)));
}

int
cf_proto_command_known(const char *cmd)
{
	if (cmd == NULL) {
		return (0);
	}
	for (size_t i = 0; i < NELEM(known_cmds); i++) {
		if (strcmp(cmd, known_cmds[i]) == 0) {
			return (1);
		}
	}
	return (0);
}

const char *
cf_trigger_name(cf_trigger t)
{
	if ((unsigned) t < NELEM(trigger_names)) {
		return (trigger_names[t]);
	}
	return ("unknown");
}

const char *
cf_run_state_name(cf_run_state s)
{
	if ((unsigned) s < NELEM(state_names)) {
		return (state_names[s]);
	}
	return ("unknown");
}

static int
enum_parse(const char *const *names, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
			return ((int) i);
		}
	}
	return (-1);
}

int
cf_trigger_parse(const char *s, cf_trigger *out)
{
	int i;

	if (s == NULL
	    || (i = enum_parse(
	            trigger_names, NELEM(trigger_names), s, strlen(s)))
	        < 0) {
		return (CF_EINVAL);
	}
	*out = (cf_trigger) i;
	return (CF_OK);
}

int
cf_run_state_parse(const char *s, cf_run_state *out)
{
	int i;

	if (s == NULL
	    || (i = enum_parse(state_names, NELEM(state_names), s, strlen(s)))
	        < 0) {
		return (CF_EINVAL);
	}
	*out = (cf_run_state) i;
	return (CF_OK);
}

int
cf_fire_id(char *buf, size_t len, const char *job, int64_t scheduled_ms)
{
	/* 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z */
	const int64_t lo = -62135596800000LL;
	const int64_t hi = 253402300799999LL;
	char          ts[40];
	int           n;

	if (buf == NULL || !cf_proto_name_valid(job)) {
		return (CF_EINVAL);
	}
	if (scheduled_ms < lo || scheduled_ms > hi) {
		return (CF_ERANGE);
	}
	if (cf_rfc3339_format(ts, sizeof(ts), scheduled_ms, 0, 1) < 0) {
		return (CF_ERANGE);
	}
	n = snprintf(buf, len, "%s@%s", job, ts);
	if (n < 0 || (size_t) n >= len) {
		return (CF_EINVAL);
	}
	return (CF_OK);
}

int
cf_proto_tick_prefix(char *buf, size_t len, const char *service)
{
	int n;

	if (buf == NULL || !cf_proto_name_valid(service)) {
		return (CF_EINVAL);
	}
	n = snprintf(buf, len, "tick.%s.", service);
	if (n < 0 || (size_t) n >= len) {
		return (CF_EINVAL);
	}
	return (CF_OK);
}

int
cf__proto_command_check(
    const cf_command *c, int code, char *err, size_t errlen)
{
	if (c->cmd == NULL || !cf__proto_cmd_valid(c->cmd, strlen(c->cmd))) {
		cf__proto_errf(err, errlen,
		    "field 'cmd': expected 1 to %d characters of "
		    "[a-z0-9_-]",
		    CF_PROTO_MAX_CMD);
		return (code);
	}
	if (c->job != NULL && !cf_proto_name_valid(c->job)) {
		cf__proto_errf(err, errlen,
		    "field 'job': expected a name of 1 to %d characters "
		    "of [A-Za-z0-9_-]",
		    CF_PROTO_MAX_NAME);
		return (code);
	}
	if (c->nargs > CF_PROTO_MAX_ARGS
	    || (c->nargs > 0 && c->args == NULL)) {
		cf__proto_errf(err, errlen,
		    "field 'args': more than %d elements", CF_PROTO_MAX_ARGS);
		return (code);
	}
	for (size_t i = 0; i < c->nargs; i++) {
		size_t l;
		if (c->args[i] == NULL) {
			cf__proto_errf(err, errlen,
			    "field 'args': element %zu is missing", i);
			return (code);
		}
		l = strnlen(c->args[i], CF_PROTO_MAX_ARG + 1);
		if (l > CF_PROTO_MAX_ARG) {
			cf__proto_errf(err, errlen,
			    "field 'args': element %zu is longer than %d "
			    "bytes",
			    i, CF_PROTO_MAX_ARG);
			return (code);
		}
		if (!cf__proto_utf8_valid(c->args[i], l)) {
			cf__proto_errf(err, errlen,
			    "field 'args': element %zu is not UTF-8", i);
			return (code);
		}
	}
	if (c->n < 0 || c->n > CF_PROTO_MAX_N) {
		cf__proto_errf(err, errlen,
		    "field 'n': expected an integer from 0 to %d",
		    CF_PROTO_MAX_N);
		return (code);
	}
	return (CF_OK);
}

/* ---- freeing ------------------------------------------------------- */

void
cf_tick_free(cf_tick *t)
{
	if (t == NULL) {
		return;
	}
	free(t->service);
	free(t->job);
	free(t->fire_id);
	free(t);
}

void
cf_event_free(cf_event *e)
{
	if (e == NULL) {
		return;
	}
	free(e->service);
	free(e->job);
	free(e->run_id);
	free(e->fire_id);
	free(e->error);
	free(e->result);
	free(e);
}

void
cf_command_free(cf_command *c)
{
	if (c == NULL) {
		return;
	}
	free(c->cmd);
	free(c->job);
	if (c->args != NULL) {
		for (size_t i = 0; i < c->nargs; i++) {
			free(c->args[i]);
		}
		free(c->args);
	}
	free(c);
}

void
cf_reply_free(cf_reply *r)
{
	if (r == NULL) {
		return;
	}
	free(r->error);
	free(r->data);
	free(r);
}

/* ---- the bounded pre-scan ------------------------------------------ */

/* Reads a big-endian unsigned of k bytes at p[*off], if there. */
static int
mp_read_be(const uint8_t *p, size_t len, size_t *off, int k, uint64_t *v)
{
	if (len - *off < (size_t) k) {
		return (-1);
	}
	*v = 0;
	for (int i = 0; i < k; i++) {
		*v = (*v << 8) | p[*off + i];
	}
	*off += (size_t) k;
	return (0);
}

/*
 * Checks that p[0..len) holds one msgpack object whose every declared
 * length fits in the bytes that follow, and stores its size in *used.
 * Allocates nothing and runs in time linear in len.
 */
static int
mp_scan(const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen)
{
	uint64_t left[CF_PROTO_MAX_DEPTH + 1]; /* objects left per level */
	int      depth = 0;
	size_t   off   = 0;
	uint64_t items = 0;

	left[0] = 1;
	while (depth >= 0) {
		uint8_t  b;
		uint64_t skip  = 0; /* payload bytes */
		uint64_t count = 0; /* contained objects */
		int      cont  = 0;
		int      lenk  = 0; /* size of a length field */

		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (off >= len) {
			cf__proto_errf(err, errlen,
			    "truncated msgpack: ends at byte %zu inside an "
			    "object",
			    off);
			return (CF_EPROTO);
		}
		b = p[off++];
		if (b <= 0x7f || b >= 0xe0) {
			/* fixint */
		} else if (b <= 0x8f) {
			count = 2 * (uint64_t) (b & 0x0f);
			cont  = 1;
		} else if (b <= 0x9f) {
			count = b & 0x0f;
			cont  = 1;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc0: /* nil */
			case 0xc2: /* false */
			case 0xc3: /* true */
				break;
			case 0xc4: /* bin 8 */
			case 0xd9: /* str 8 */
				lenk = 1;
				break;
			case 0xc5:
			case 0xda:
				lenk = 2;
				break;
			case 0xc6:
			case 0xdb:
				lenk = 4;
				break;
			case 0xc7: /* ext 8/16/32: length, then a type byte */
				lenk = 1;
				skip = 1;
				break;
			case 0xc8:
				lenk = 2;
				skip = 1;
				break;
			case 0xc9:
				lenk = 4;
				skip = 1;
				break;
			case 0xcc:
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xca:
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb:
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4: /* fixext: type byte + 1, 2, 4, 8, 16 */
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xdc:
			case 0xde:
				lenk = 2;
				cont = 1;
				break;
			case 0xdd:
			case 0xdf:
				lenk = 4;
				cont = 1;
				break;
			default: /* 0xc1 is never used */
				cf__proto_errf(err, errlen,
				    "malformed msgpack: byte 0x%02x at offset "
				    "%zu",
				    b, off - 1);
				return (CF_EPROTO);
			}
		}
		if (lenk > 0) {
			uint64_t n;
			if (mp_read_be(p, len, &off, lenk, &n) != 0) {
				cf__proto_errf(err, errlen,
				    "truncated msgpack: length field at "
				    "offset %zu",
				    off);
				return (CF_EPROTO);
			}
			if (cont) {
				count = (b == 0xde || b == 0xdf) ? 2 * n : n;
			} else {
				skip += n;
			}
		}
		if (skip > len - off) {
			cf__proto_errf(err, errlen,
			    "truncated msgpack: an object at offset %zu "
			    "declares %" PRIu64 " bytes, %zu remain",
			    off, skip, len - off);
			return (CF_EPROTO);
		}
		off += (size_t) skip;
		if (!cont || count == 0) {
			continue;
		}
		if (count > len - off) {
			cf__proto_errf(err, errlen,
			    "malformed msgpack: a container at offset %zu "
			    "declares %" PRIu64 " elements, %zu bytes remain",
			    off, count, len - off);
			return (CF_EPROTO);
		}
		items += count;
		if (items > CF_PROTO_MAX_ITEMS) {
			cf__proto_errf(err, errlen,
			    "msgpack message has more than %d elements",
			    CF_PROTO_MAX_ITEMS);
			return (CF_EPROTO);
		}
		if (depth + 1 > CF_PROTO_MAX_DEPTH) {
			cf__proto_errf(err, errlen,
			    "msgpack nesting deeper than %d",
			    CF_PROTO_MAX_DEPTH);
			return (CF_EPROTO);
		}
		left[++depth] = count;
	}
	*used = off;
	return (CF_OK);
}

/*
 * Unpacks buf[0..len) into u, which must be a map. On success the caller
 * destroys u; on failure u is already destroyed.
 */
static int
mp_unpack_map(
    const void *buf, size_t len, msgpack_unpacked *u, char *err, size_t errlen)
{
	size_t used = 0;
	size_t off  = 0;
	int    rv;

	if (len == 0) {
		cf__proto_errf(err, errlen, "empty message");
		return (CF_EPROTO);
	}
	if ((rv = mp_scan(buf, len, &used, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (used != len) {
		cf__proto_errf(err, errlen,
		    "%zu trailing bytes after the msgpack message",
		    len - used);
		return (CF_EPROTO);
	}
	msgpack_unpacked_init(u);
	switch (msgpack_unpack_next(u, buf, len, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
	case MSGPACK_UNPACK_EXTRA_BYTES:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		/* A hostile header; mp_scan should have caught it. */
		msgpack_unpacked_destroy(u);
		cf__proto_errf(
		    err, errlen, "msgpack message too large to unpack");
		return (CF_EPROTO);
	default:
		msgpack_unpacked_destroy(u);
		cf__proto_errf(err, errlen, "malformed msgpack");
		return (CF_EPROTO);
	}
	if (off != len) {
		msgpack_unpacked_destroy(u);
		cf__proto_errf(err, errlen,
		    "%zu trailing bytes after the msgpack message", len - off);
		return (CF_EPROTO);
	}
	if (u->data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(u);
		cf__proto_errf(err, errlen, "expected a msgpack map");
		return (CF_EPROTO);
	}
	return (CF_OK);
}

/* ---- typed field getters ------------------------------------------- */

/*
 * Finds the index of a map key among names; -1 for a key that is unknown
 * or not a string (both ignored). Sets *dup if it was seen before.
 */
static int
mp_key(const msgpack_object *k, const char *const *names, int n,
    uint32_t *seen, int *dup)
{
	int i;

	*dup = 0;
	if (k->type != MSGPACK_OBJECT_STR) {
		return (-1);
	}
	i = enum_parse(names, (size_t) n, k->via.str.ptr, k->via.str.size);
	if (i >= 0) {
		*dup = (*seen >> i) & 1;
		*seen |= UINT32_C(1) << i;
	}
	return (i);
}

static int
get_str(const msgpack_object *o, const char *field, size_t max, int flags,
    char **out, char *err, size_t errlen)
{
	const char *s;
	size_t      n;

	free(*out); /* never set twice: keys are unique; be safe anyway */
	*out = NULL;
	if (o->type == MSGPACK_OBJECT_NIL && (flags & STR_NIL_OK)) {
		return (CF_OK);
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		cf__proto_errf(err, errlen, "field '%s': expected a string%s",
		    field, (flags & STR_NIL_OK) ? " or nil" : "");
		return (CF_EPROTO);
	}
	s = o->via.str.ptr;
	n = o->via.str.size;
	if (n > max) {
		cf__proto_errf(err, errlen,
		    "field '%s': longer than %zu bytes", field, max);
		return (CF_EPROTO);
	}
	if ((flags & STR_NONEMPTY) && n == 0) {
		cf__proto_errf(err, errlen, "field '%s': empty", field);
		return (CF_EPROTO);
	}
	if ((flags & STR_NAME) && !name_valid_len(s, n)) {
		cf__proto_errf(err, errlen,
		    "field '%s': expected a name of 1 to %d characters of "
		    "[A-Za-z0-9_-]",
		    field, CF_PROTO_MAX_NAME);
		return (CF_EPROTO);
	}
	if (!cf__proto_utf8_valid(s, n)) {
		cf__proto_errf(err, errlen,
		    "field '%s': not UTF-8 (or holds a NUL byte)", field);
		return (CF_EPROTO);
	}
	if ((flags & STR_JSON) && !cf__proto_json_valid(s, n)) {
		cf__proto_errf(
		    err, errlen, "field '%s': not JSON text", field);
		return (CF_EPROTO);
	}
	if ((*out = cf__proto_strndup(s, n)) == NULL) {
		return (CF_ENOMEM);
	}
	return (CF_OK);
}

static int
get_i64(const msgpack_object *o, const char *field, int64_t *out, char *err,
    size_t errlen)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
	    && o->via.u64 <= (uint64_t) INT64_MAX) {
		*out = (int64_t) o->via.u64;
		return (CF_OK);
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return (CF_OK);
	}
	cf__proto_errf(
	    err, errlen, "field '%s': expected a 64-bit integer", field);
	return (CF_EPROTO);
}

static int
get_u64(const msgpack_object *o, const char *field, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= max) {
		*out = o->via.u64;
		return (CF_OK);
	}
	cf__proto_errf(err, errlen,
	    "field '%s': expected an integer from 0 to %" PRIu64, field, max);
	return (CF_EPROTO);
}

static int
get_enum(const msgpack_object *o, const char *field, const char *const *names,
    size_t n, int *out, char *err, size_t errlen)
{
	int i = -1;

	if (o->type == MSGPACK_OBJECT_STR) {
		i = enum_parse(names, n, o->via.str.ptr, o->via.str.size);
	}
	if (i < 0) {
		cf__proto_errf(err, errlen,
		    "field '%s': expected one of %s, %s, ...", field, names[0],
		    names[1]);
		return (CF_EPROTO);
	}
	*out = i;
	return (CF_OK);
}

static int
missing(uint32_t seen, uint32_t required, const char *const *names, char *err,
    size_t errlen)
{
	uint32_t lack = required & ~seen;

	for (int i = 0; lack != 0; i++, lack >>= 1) {
		if (lack & 1) {
			cf__proto_errf(
			    err, errlen, "missing field '%s'", names[i]);
			return (CF_EPROTO);
		}
	}
	return (CF_OK);
}

static int
dup_key(const char *field, char *err, size_t errlen)
{
	cf__proto_errf(err, errlen, "field '%s' given twice", field);
	return (CF_EPROTO);
}

/* ---- packing ------------------------------------------------------- */

static int
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	if (msgpack_pack_str(pk, n) != 0
	    || msgpack_pack_str_body(pk, s, n) != 0) {
		return (-1);
	}
	return (0);
}

static int
pack_str_or_nil(msgpack_packer *pk, const char *s)
{
	return (s == NULL ? msgpack_pack_nil(pk) : pack_str(pk, s));
}

/* Ends an encoder: keeps what was appended or restores buf. */
static int
pack_finish(msgpack_sbuffer *buf, size_t start, int failed)
{
	if (failed) {
		buf->size = start;
		return (CF_ENOMEM);
	}
	if (buf->size - start > CF_PROTO_MAX_MSG) {
		buf->size = start;
		return (CF_ETOOBIG);
	}
	return (CF_OK);
}

static int
id_valid(const char *s)
{
	size_t n;

	if (s == NULL) {
		return (0);
	}
	n = strnlen(s, CF_PROTO_MAX_ID + 1);
	return (n > 0 && n <= CF_PROTO_MAX_ID && cf__proto_utf8_valid(s, n));
}

static int
text_valid(const char *s, int json)
{
	size_t n;

	if (s == NULL) {
		return (1);
	}
	n = strnlen(s, CF_PROTO_MAX_MSG + 1);
	if (n > CF_PROTO_MAX_MSG || !cf__proto_utf8_valid(s, n)) {
		return (0);
	}
	return (!json || cf__proto_json_valid(s, n));
}

/* Appends "<topic> " to buf. */
static int
put_topic(msgpack_sbuffer *buf, const char *topic)
{
	return (msgpack_sbuffer_write(buf, topic, strlen(topic)) != 0
	    || msgpack_sbuffer_write(buf, " ", 1) != 0);
}

/* ---- tick ---------------------------------------------------------- */

enum {
	TK_JOB,
	TK_FIRE_ID,
	TK_SCHEDULED_FOR,
	TK_TRIGGER,
	TK_ATTEMPT,
	TK_EPOCH,
	TK_NFIELDS
};
static const char *const tick_fields[] = {
	"job",
	"fire_id",
	"scheduled_for",
	"trigger",
	"attempt",
	"epoch",
};
#define TICK_REQUIRED                                                         \
	((1u << TK_JOB) | (1u << TK_FIRE_ID) | (1u << TK_SCHEDULED_FOR)       \
	    | (1u << TK_TRIGGER))

int
cf_proto_tick_encode(msgpack_sbuffer *buf, const cf_tick *t)
{
	msgpack_packer pk;
	char           topic[TOPIC_MAX + 1];
	size_t         start;
	int            f = 0;

	if (buf == NULL || t == NULL || !cf_proto_name_valid(t->service)
	    || !cf_proto_name_valid(t->job) || !id_valid(t->fire_id)
	    || (unsigned) t->trigger >= NELEM(trigger_names)) {
		return (CF_EINVAL);
	}
	(void) snprintf(
	    topic, sizeof(topic), "tick.%s.%s", t->service, t->job);
	start = buf->size;
	msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
	f |= put_topic(buf, topic);
	f |= msgpack_pack_map(&pk, TK_NFIELDS);
	f |= pack_str(&pk, "job") || pack_str(&pk, t->job);
	f |= pack_str(&pk, "fire_id") || pack_str(&pk, t->fire_id);
	f |= pack_str(&pk, "scheduled_for")
	    || msgpack_pack_int64(&pk, t->scheduled_for);
	f |= pack_str(&pk, "trigger")
	    || pack_str(&pk, trigger_names[t->trigger]);
	f |= pack_str(&pk, "attempt") || msgpack_pack_uint32(&pk, t->attempt);
	f |= pack_str(&pk, "epoch") || msgpack_pack_uint64(&pk, t->epoch);
	return (pack_finish(buf, start, f));
}

/*
 * Splits "<prefix><seg>.<seg>[.<seg>] <body>": finds the space, checks
 * the prefix and stores the topic's length in *tlen.
 */
static int
topic_split(const char *p, size_t len, const char *prefix, size_t *tlen,
    char *err, size_t errlen)
{
	size_t plen = strlen(prefix);
	size_t lim  = len < TOPIC_MAX + 1 ? len : TOPIC_MAX + 1;
	char  *sp;

	if (len > CF_PROTO_MAX_MSG) {
		cf__proto_errf(
		    err, errlen, "message over %d bytes", CF_PROTO_MAX_MSG);
		return (CF_ETOOBIG);
	}
	if (len < plen || memcmp(p, prefix, plen) != 0) {
		cf__proto_errf(
		    err, errlen, "topic does not start with '%s'", prefix);
		return (CF_EPROTO);
	}
	if ((sp = memchr(p, ' ', lim)) == NULL) {
		cf__proto_errf(err, errlen,
		    "no space after the topic in the first %zu bytes", lim);
		return (CF_EPROTO);
	}
	*tlen = (size_t) (sp - p);
	return (CF_OK);
}

/* Takes the next '.'-separated name from topic[*pos..tlen). */
static int
topic_name(const char *topic, size_t tlen, size_t *pos, int last,
    const char **s, size_t *n)
{
	const char *start = topic + *pos;
	const char *dot   = memchr(start, '.', tlen - *pos);
	size_t      l     = dot == NULL ? tlen - *pos : (size_t) (dot - start);

	if ((dot == NULL) != (last != 0)) {
		return (-1);
	}
	*s = start;
	*n = l;
	*pos += l + (dot != NULL);
	return (0);
}

static int
topic_match(const char *want, size_t wlen, const char *have)
{
	return (strlen(have) == wlen && memcmp(want, have, wlen) == 0);
}

int
cf_proto_tick_decode(
    const void *buf, size_t len, cf_tick **out, char *err, size_t errlen)
{
	const char      *p = buf;
	msgpack_unpacked u;
	cf_tick         *t;
	size_t           tlen, pos = 5, jlen, slen;
	const char      *svc, *job;
	uint32_t         seen = 0;
	int              rv;

	*out = NULL;
	if ((rv = topic_split(p, len, "tick.", &tlen, err, errlen)) != 0) {
		return (rv);
	}
	if (topic_name(p, tlen, &pos, 0, &svc, &slen) != 0
	    || topic_name(p, tlen, &pos, 1, &job, &jlen) != 0
	    || !name_valid_len(svc, slen) || !name_valid_len(job, jlen)) {
		cf__proto_errf(err, errlen,
		    "topic: expected tick.<service>.<job> with valid names");
		return (CF_EPROTO);
	}
	rv = mp_unpack_map(p + tlen + 1, len - tlen - 1, &u, err, errlen);
	if (rv != 0) {
		return (rv);
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		msgpack_unpacked_destroy(&u);
		return (CF_ENOMEM);
	}
	t->attempt = 1;
	for (uint32_t i = 0; rv == 0 && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		const msgpack_object    *v  = &kv->val;
		uint64_t                 x  = 0;
		int                      e  = 0, dup;
		int                      k;

		k = mp_key(&kv->key, tick_fields, TK_NFIELDS, &seen, &dup);
		if (k >= 0 && dup) {
			rv = dup_key(tick_fields[k], err, errlen);
			break;
		}
		switch (k) {
		case TK_JOB:
			rv = get_str(v, "job", CF_PROTO_MAX_NAME, STR_NAME,
			    &t->job, err, errlen);
			break;
		case TK_FIRE_ID:
			rv = get_str(v, "fire_id", CF_PROTO_MAX_ID,
			    STR_NONEMPTY, &t->fire_id, err, errlen);
			break;
		case TK_SCHEDULED_FOR:
			rv = get_i64(v, "scheduled_for", &t->scheduled_for,
			    err, errlen);
			break;
		case TK_TRIGGER:
			rv         = get_enum(v, "trigger", trigger_names,
			            NELEM(trigger_names), &e, err, errlen);
			t->trigger = (cf_trigger) e;
			break;
		case TK_ATTEMPT:
			rv = get_u64(
			    v, "attempt", UINT32_MAX, &x, err, errlen);
			t->attempt = (uint32_t) x;
			break;
		case TK_EPOCH:
			rv = get_u64(
			    v, "epoch", UINT64_MAX, &t->epoch, err, errlen);
			break;
		default:
			break;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rv == 0) {
		rv = missing(seen, TICK_REQUIRED, tick_fields, err, errlen);
	}
	if (rv == 0 && !topic_match(job, jlen, t->job)) {
		cf__proto_errf(
		    err, errlen, "field 'job': differs from the topic's job");
		rv = CF_EPROTO;
	}
	if (rv == 0 && (t->service = cf__proto_strndup(svc, slen)) == NULL) {
		rv = CF_ENOMEM;
	}
	if (rv != 0) {
		cf_tick_free(t);
		return (rv);
	}
	*out = t;
	return (CF_OK);
}

/* ---- event --------------------------------------------------------- */

enum {
	EV_SERVICE,
	EV_JOB,
	EV_RUN_ID,
	EV_FIRE_ID,
	EV_STATE,
	EV_TRIGGER,
	EV_SCHEDULED_FOR,
	EV_STARTED_AT,
	EV_FINISHED_AT,
	EV_ATTEMPT,
	EV_ERROR,
	EV_RESULT,
	EV_NFIELDS
};
static const char *const event_fields[] = {
	"service",
	"job",
	"run_id",
	"fire_id",
	"state",
	"trigger",
	"scheduled_for",
	"started_at",
	"finished_at",
	"attempt",
	"error",
	"result",
};
#define EVENT_REQUIRED                                                        \
	((1u << EV_SERVICE) | (1u << EV_JOB) | (1u << EV_RUN_ID)              \
	    | (1u << EV_FIRE_ID) | (1u << EV_STATE) | (1u << EV_TRIGGER)      \
	    | (1u << EV_SCHEDULED_FOR) | (1u << EV_ATTEMPT))

int
cf_proto_event_encode(msgpack_sbuffer *buf, const cf_event *e)
{
	msgpack_packer pk;
	char           topic[TOPIC_MAX + 1];
	size_t         start;
	int            f = 0;

	if (buf == NULL || e == NULL || !cf_proto_name_valid(e->service)
	    || !cf_proto_name_valid(e->job) || !id_valid(e->run_id)
	    || !id_valid(e->fire_id)
	    || (unsigned) e->state >= NELEM(state_names)
	    || (unsigned) e->trigger >= NELEM(trigger_names)
	    || !text_valid(e->error, 0) || !text_valid(e->result, 1)) {
		return (CF_EINVAL);
	}
	(void) snprintf(topic, sizeof(topic), "event.%s.%s.%s", e->service,
	    e->job, state_names[e->state]);
	start = buf->size;
	msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
	f |= put_topic(buf, topic);
	f |= msgpack_pack_map(&pk, EV_NFIELDS);
	f |= pack_str(&pk, "service") || pack_str(&pk, e->service);
	f |= pack_str(&pk, "job") || pack_str(&pk, e->job);
	f |= pack_str(&pk, "run_id") || pack_str(&pk, e->run_id);
	f |= pack_str(&pk, "fire_id") || pack_str(&pk, e->fire_id);
	f |= pack_str(&pk, "state") || pack_str(&pk, state_names[e->state]);
	f |= pack_str(&pk, "trigger")
	    || pack_str(&pk, trigger_names[e->trigger]);
	f |= pack_str(&pk, "scheduled_for")
	    || msgpack_pack_int64(&pk, e->scheduled_for);
	f |= pack_str(&pk, "started_at")
	    || msgpack_pack_int64(&pk, e->started_at);
	f |= pack_str(&pk, "finished_at")
	    || msgpack_pack_int64(&pk, e->finished_at);
	f |= pack_str(&pk, "attempt") || msgpack_pack_uint32(&pk, e->attempt);
	f |= pack_str(&pk, "error") || pack_str_or_nil(&pk, e->error);
	f |= pack_str(&pk, "result") || pack_str_or_nil(&pk, e->result);
	return (pack_finish(buf, start, f));
}

int
cf_proto_event_decode(
    const void *buf, size_t len, cf_event **out, char *err, size_t errlen)
{
	const char      *p = buf;
	msgpack_unpacked u;
	cf_event        *e;
	size_t           tlen, pos = 6, slen, jlen, stlen;
	const char      *svc, *job, *st;
	uint32_t         seen = 0;
	int              rv, sti;

	*out = NULL;
	if ((rv = topic_split(p, len, "event.", &tlen, err, errlen)) != 0) {
		return (rv);
	}
	if (topic_name(p, tlen, &pos, 0, &svc, &slen) != 0
	    || topic_name(p, tlen, &pos, 0, &job, &jlen) != 0
	    || topic_name(p, tlen, &pos, 1, &st, &stlen) != 0
	    || !name_valid_len(svc, slen) || !name_valid_len(job, jlen)
	    || (sti = enum_parse(state_names, NELEM(state_names), st, stlen))
	        < 0) {
		cf__proto_errf(err, errlen,
		    "topic: expected event.<service>.<job>.<state>");
		return (CF_EPROTO);
	}
	rv = mp_unpack_map(p + tlen + 1, len - tlen - 1, &u, err, errlen);
	if (rv != 0) {
		return (rv);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		msgpack_unpacked_destroy(&u);
		return (CF_ENOMEM);
	}
	for (uint32_t i = 0; rv == 0 && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		const msgpack_object    *v  = &kv->val;
		uint64_t                 x  = 0;
		int                      n  = 0, dup;
		int                      k;

		k = mp_key(&kv->key, event_fields, EV_NFIELDS, &seen, &dup);
		if (k >= 0 && dup) {
			rv = dup_key(event_fields[k], err, errlen);
			break;
		}
		switch (k) {
		case EV_SERVICE:
			rv = get_str(v, "service", CF_PROTO_MAX_NAME, STR_NAME,
			    &e->service, err, errlen);
			break;
		case EV_JOB:
			rv = get_str(v, "job", CF_PROTO_MAX_NAME, STR_NAME,
			    &e->job, err, errlen);
			break;
		case EV_RUN_ID:
			rv = get_str(v, "run_id", CF_PROTO_MAX_ID,
			    STR_NONEMPTY, &e->run_id, err, errlen);
			break;
		case EV_FIRE_ID:
			rv = get_str(v, "fire_id", CF_PROTO_MAX_ID,
			    STR_NONEMPTY, &e->fire_id, err, errlen);
			break;
		case EV_STATE:
			rv       = get_enum(v, "state", state_names,
			          NELEM(state_names), &n, err, errlen);
			e->state = (cf_run_state) n;
			break;
		case EV_TRIGGER:
			rv         = get_enum(v, "trigger", trigger_names,
			            NELEM(trigger_names), &n, err, errlen);
			e->trigger = (cf_trigger) n;
			break;
		case EV_SCHEDULED_FOR:
			rv = get_i64(v, "scheduled_for", &e->scheduled_for,
			    err, errlen);
			break;
		case EV_STARTED_AT:
			rv = get_i64(
			    v, "started_at", &e->started_at, err, errlen);
			break;
		case EV_FINISHED_AT:
			rv = get_i64(
			    v, "finished_at", &e->finished_at, err, errlen);
			break;
		case EV_ATTEMPT:
			rv = get_u64(
			    v, "attempt", UINT32_MAX, &x, err, errlen);
			e->attempt = (uint32_t) x;
			break;
		case EV_ERROR:
			rv = get_str(v, "error", CF_PROTO_MAX_MSG, STR_NIL_OK,
			    &e->error, err, errlen);
			break;
		case EV_RESULT:
			rv = get_str(v, "result", CF_PROTO_MAX_MSG,
			    STR_NIL_OK | STR_JSON, &e->result, err, errlen);
			break;
		default:
			break;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rv == 0) {
		rv = missing(seen, EVENT_REQUIRED, event_fields, err, errlen);
	}
	if (rv == 0
	    && (!topic_match(svc, slen, e->service)
	        || !topic_match(job, jlen, e->job) || (int) e->state != sti)) {
		cf__proto_errf(err, errlen,
		    "fields 'service', 'job' and 'state' differ from the "
		    "topic");
		rv = CF_EPROTO;
	}
	if (rv != 0) {
		cf_event_free(e);
		return (rv);
	}
	*out = e;
	return (CF_OK);
}

/* ---- command ------------------------------------------------------- */

enum { CM_CMD, CM_JOB, CM_ARGS, CM_N, CM_NFIELDS };
static const char *const command_fields[] = {
	"cmd",
	"job",
	"args",
	"n",
};

int
cf_proto_command_encode(msgpack_sbuffer *buf, const cf_command *c)
{
	msgpack_packer pk;
	size_t         start;
	int            f = 0;

	if (buf == NULL || c == NULL
	    || cf__proto_command_check(c, CF_EINVAL, NULL, 0) != 0) {
		return (CF_EINVAL);
	}
	start = buf->size;
	msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
	f |= msgpack_pack_map(&pk, CM_NFIELDS);
	f |= pack_str(&pk, "cmd") || pack_str(&pk, c->cmd);
	f |= pack_str(&pk, "job") || pack_str_or_nil(&pk, c->job);
	f |= pack_str(&pk, "args") || msgpack_pack_array(&pk, c->nargs);
	for (size_t i = 0; i < c->nargs; i++) {
		f |= pack_str(&pk, c->args[i]);
	}
	f |= pack_str(&pk, "n") || msgpack_pack_int(&pk, c->n);
	return (pack_finish(buf, start, f));
}

static int
command_args(const msgpack_object *v, cf_command *c, char *err, size_t errlen)
{
	const msgpack_object_array *a = &v->via.array;
	int                         rv;

	if (v->type == MSGPACK_OBJECT_NIL) {
		return (CF_OK);
	}
	if (v->type != MSGPACK_OBJECT_ARRAY) {
		cf__proto_errf(
		    err, errlen, "field 'args': expected an array of strings");
		return (CF_EPROTO);
	}
	if (a->size > CF_PROTO_MAX_ARGS) {
		cf__proto_errf(err, errlen,
		    "field 'args': more than %d elements", CF_PROTO_MAX_ARGS);
		return (CF_EPROTO);
	}
	if (a->size == 0) {
		return (CF_OK);
	}
	if ((c->args = calloc(a->size, sizeof(char *))) == NULL) {
		return (CF_ENOMEM);
	}
	c->nargs = a->size;
	for (uint32_t i = 0; i < a->size; i++) {
		rv = get_str(&a->ptr[i], "args", CF_PROTO_MAX_ARG, 0,
		    &c->args[i], err, errlen);
		if (rv != 0) {
			return (rv);
		}
	}
	return (CF_OK);
}

static int
command_decode_mp(
    const void *buf, size_t len, cf_command **out, char *err, size_t errlen)
{
	msgpack_unpacked u;
	cf_command      *c;
	uint32_t         seen = 0;
	int              rv;

	*out = NULL;
	if ((rv = mp_unpack_map(buf, len, &u, err, errlen)) != 0) {
		return (rv);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		msgpack_unpacked_destroy(&u);
		return (CF_ENOMEM);
	}
	for (uint32_t i = 0; rv == 0 && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		const msgpack_object    *v  = &kv->val;
		uint64_t                 x  = 0;
		int                      dup;
		int                      k;

		k = mp_key(&kv->key, command_fields, CM_NFIELDS, &seen, &dup);
		if (k >= 0 && dup) {
			rv = dup_key(command_fields[k], err, errlen);
			break;
		}
		switch (k) {
		case CM_CMD:
			rv = get_str(v, "cmd", CF_PROTO_MAX_CMD, STR_NONEMPTY,
			    &c->cmd, err, errlen);
			break;
		case CM_JOB:
			rv = get_str(v, "job", CF_PROTO_MAX_NAME,
			    STR_NIL_OK | STR_NAME, &c->job, err, errlen);
			break;
		case CM_ARGS:
			rv = command_args(v, c, err, errlen);
			break;
		case CM_N:
			if (v->type == MSGPACK_OBJECT_NIL) {
				break;
			}
			rv = get_u64(v, "n", CF_PROTO_MAX_N, &x, err, errlen);
			c->n = (int) x;
			break;
		default:
			break;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rv == 0) {
		rv = missing(seen, 1u << CM_CMD, command_fields, err, errlen);
	}
	if (rv == 0) {
		rv = cf__proto_command_check(c, CF_EPROTO, err, errlen);
	}
	if (rv != 0) {
		cf_command_free(c);
		return (rv);
	}
	c->known = cf_proto_command_known(c->cmd);
	*out     = c;
	return (CF_OK);
}

int
cf_proto_request_decode(const void *buf, size_t len, cf_command **out,
    int *is_text, char *err, size_t errlen)
{
	const unsigned char *p    = buf;
	int                  text = 0;

	*out = NULL;
	if (len > 0
	    && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')
	        || p[0] == '{')) {
		text = 1;
	}
	if (is_text != NULL) {
		*is_text = text;
	}
	if (len > CF_PROTO_MAX_MSG) {
		cf__proto_errf(
		    err, errlen, "message over %d bytes", CF_PROTO_MAX_MSG);
		return (CF_ETOOBIG);
	}
	if (text) {
		return (
		    cf__proto_command_decode_text(buf, len, out, err, errlen));
	}
	return (command_decode_mp(buf, len, out, err, errlen));
}

/* ---- reply --------------------------------------------------------- */

enum { RP_OK, RP_ERROR, RP_DATA, RP_NFIELDS };
static const char *const reply_fields[] = {
	"ok",
	"error",
	"data",
};

int
cf_proto_reply_encode(msgpack_sbuffer *buf, const cf_reply *r)
{
	msgpack_packer pk;
	size_t         start;
	int            f = 0;

	if (buf == NULL || r == NULL || !text_valid(r->error, 0)
	    || !text_valid(r->data, 1)) {
		return (CF_EINVAL);
	}
	start = buf->size;
	msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
	f |= msgpack_pack_map(&pk, RP_NFIELDS);
	f |= pack_str(&pk, "ok")
	    || (r->ok ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
	f |= pack_str(&pk, "error") || pack_str_or_nil(&pk, r->error);
	f |= pack_str(&pk, "data") || pack_str_or_nil(&pk, r->data);
	return (pack_finish(buf, start, f));
}

int
cf_proto_reply_decode(
    const void *buf, size_t len, cf_reply **out, char *err, size_t errlen)
{
	msgpack_unpacked u;
	cf_reply        *r;
	uint32_t         seen = 0;
	int              rv;

	*out = NULL;
	if (len > CF_PROTO_MAX_MSG) {
		cf__proto_errf(
		    err, errlen, "message over %d bytes", CF_PROTO_MAX_MSG);
		return (CF_ETOOBIG);
	}
	if ((rv = mp_unpack_map(buf, len, &u, err, errlen)) != 0) {
		return (rv);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		msgpack_unpacked_destroy(&u);
		return (CF_ENOMEM);
	}
	for (uint32_t i = 0; rv == 0 && i < u.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		const msgpack_object    *v  = &kv->val;
		int                      dup;
		int                      k;

		k = mp_key(&kv->key, reply_fields, RP_NFIELDS, &seen, &dup);
		if (k >= 0 && dup) {
			rv = dup_key(reply_fields[k], err, errlen);
			break;
		}
		switch (k) {
		case RP_OK:
			if (v->type != MSGPACK_OBJECT_BOOLEAN) {
				cf__proto_errf(err, errlen,
				    "field 'ok': expected a boolean");
				rv = CF_EPROTO;
				break;
			}
			r->ok = v->via.boolean ? 1 : 0;
			break;
		case RP_ERROR:
			rv = get_str(v, "error", CF_PROTO_MAX_MSG, STR_NIL_OK,
			    &r->error, err, errlen);
			break;
		case RP_DATA:
			rv = get_str(v, "data", CF_PROTO_MAX_MSG,
			    STR_NIL_OK | STR_JSON, &r->data, err, errlen);
			break;
		default:
			break;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rv == 0) {
		rv = missing(seen, 1u << RP_OK, reply_fields, err, errlen);
	}
	if (rv != 0) {
		cf_reply_free(r);
		return (rv);
	}
	*out = r;
	return (CF_OK);
}

int
cf_proto_answer(const cJSON *data, const char *error, int is_text,
    uint8_t **out, size_t *len)
{
	cf_reply        r = { 0 };
	msgpack_sbuffer sb;
	int             rv;

	if ((error == NULL || error[0] == '\0') && data != NULL) {
		r.ok = 1;
		if ((r.data = cJSON_PrintUnformatted(data)) == NULL) {
			return (CF_ENOMEM);
		}
	} else {
		r.error = (char *) (error != NULL && error[0] ? error
		                                              : "internal error");
	}
	msgpack_sbuffer_init(&sb);
	if ((rv = cf_proto_reply_send_form(&sb, &r, is_text)) == CF_ETOOBIG) {
		r.ok    = 0;
		r.error = "reply too large: ask for less";
		msgpack_sbuffer_clear(&sb);
		rv = cf_proto_reply_send_form(&sb, &r, is_text);
	}
	free(r.data);
	if (rv != CF_OK) {
		msgpack_sbuffer_destroy(&sb);
		return (rv);
	}
	*out = (uint8_t *) sb.data;
	*len = sb.size;
	return (CF_OK);
}
