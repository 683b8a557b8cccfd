/*
 * cf_proto.h - the wire messages of cronfleet and their codec.
 *
 * Four messages travel between the actors (see DESIGN.md, "Wire"):
 *
 *   tick     clock PUB:   "tick.<service>.<job>" SP msgpack-map
 *   event    service PUB: "event.<service>.<job>.<state>" SP msgpack-map
 *   command  REQ -> REP:  msgpack-map, or text for people (see below)
 *   reply    REP -> REQ:  msgpack-map, or JSON text for a text request
 *
 * proto does not depend on nng. Encoders append to a caller-owned
 * msgpack_sbuffer (msgpack_sbuffer_init / msgpack_sbuffer_destroy; clear
 * it with msgpack_sbuffer_clear to reuse it); the caller copies the bytes
 * into a message with nng_msg_append (never nng_msg_insert: it corrupts
 * the heap in nng 1.5.2). Nothing is NUL-terminated on the wire.
 *
 * Every decoder is bounded and checked: input over CF_PROTO_MAX_MSG is
 * CF_ETOOBIG; anything malformed (truncated, trailing bytes, wrong types,
 * over-long strings, too many elements, nesting deeper than
 * CF_PROTO_MAX_DEPTH, a container header claiming more elements than the
 * input has bytes, invalid UTF-8, msgpack's out-of-memory result) is
 * CF_EPROTO with a message naming the field in the caller's err buffer.
 * Unknown map keys are ignored; a repeated key is an error. A decoder
 * never allocates more than a small multiple of the input's size. On
 * success it returns an owned struct to be released with the matching
 * _free; on failure *out is NULL. Callers set NNG_OPT_RECVMAXSZ to
 * CF_PROTO_MAX_MSG so the transport enforces the same cap.
 *
 * Names (services and jobs) are 1..CF_PROTO_MAX_NAME bytes of
 * [A-Za-z0-9_-]: they are topic segments, so no dots and no spaces.
 * All strings are UTF-8 without NUL bytes.
 *
 * The functions are thread-safe: they keep no state between calls.
 */
#ifndef CF_PROTO_H
#define CF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <cjson/cJSON.h>

/* Hard cap on any message, in bytes (also NNG_OPT_RECVMAXSZ). */
#define CF_PROTO_MAX_MSG (1024 * 1024)
/* Service and job names. */
#define CF_PROTO_MAX_NAME 64
/* A command verb. */
#define CF_PROTO_MAX_CMD 32
/* run_id and fire_id. */
#define CF_PROTO_MAX_ID 128
/* Number of command arguments, and the length of each. */
#define CF_PROTO_MAX_ARGS 16
#define CF_PROTO_MAX_ARG 4096
/* A command's n (history length, number of next fires). */
#define CF_PROTO_MAX_N 100000
/* A text (or JSON object) request. */
#define CF_PROTO_MAX_TEXT 65536
/* Containers inside a msgpack message, and their total element count. */
#define CF_PROTO_MAX_DEPTH 16
#define CF_PROTO_MAX_ITEMS 65536
/* Buffer size that holds any fire id (see cf_fire_id). */
#define CF_FIRE_ID_LEN (CF_PROTO_MAX_NAME + 32)

/* Why a job fired. */
typedef enum cf_trigger {
	CF_TRIGGER_SCHEDULE   = 0,
	CF_TRIGGER_MANUAL     = 1,
	CF_TRIGGER_CATCHUP    = 2,
	CF_TRIGGER_DEPENDENCY = 3,
} cf_trigger;

/* The state a run event reports. */
typedef enum cf_run_state {
	CF_RUN_STARTED     = 0,
	CF_RUN_SUCCEEDED   = 1,
	CF_RUN_FAILED      = 2,
	CF_RUN_RETRYING    = 3,
	CF_RUN_SKIPPED     = 4,
	CF_RUN_TIMED_OUT   = 5,
	CF_RUN_INTERRUPTED = 6,
} cf_run_state;

/*
 * A tick: the clock tells a service to run a job. service comes from the
 * topic; the map holds the rest. epoch is the leader's epoch, for fencing.
 */
typedef struct cf_tick {
	char      *service; /* a name */
	char      *job;     /* a name */
	char      *fire_id; /* 1..CF_PROTO_MAX_ID bytes, see cf_fire_id */
	int64_t    scheduled_for; /* unix ms */
	cf_trigger trigger;
	uint32_t   attempt; /* 1 for the first; absent on the wire: 1 */
	uint64_t   epoch;   /* absent on the wire: 0 */
} cf_tick;

/* A run event: what happened to one run of a job. */
typedef struct cf_event {
	char        *service; /* a name */
	char        *job;     /* a name */
	char        *run_id;  /* 1..CF_PROTO_MAX_ID bytes */
	char        *fire_id; /* 1..CF_PROTO_MAX_ID bytes */
	cf_run_state state;
	cf_trigger   trigger;
	int64_t      scheduled_for; /* unix ms */
	int64_t      started_at;    /* unix ms, 0 if none */
	int64_t      finished_at;   /* unix ms, 0 if none */
	uint32_t     attempt;
	char        *error;  /* NULL if none */
	char        *result; /* JSON text summarising the result, or NULL */
} cf_event;

/*
 * A command to a service's REP socket. cmd is a free verb (lower case
 * [a-z_-], 1..CF_PROTO_MAX_CMD bytes), validated by the receiver; known
 * says whether it is one of cf_proto_command_known's verbs, so a receiver
 * can answer "unknown command" without comparing strings itself.
 */
typedef struct cf_command {
	char  *cmd;
	char  *job;   /* a name, or NULL */
	char **args;  /* nargs strings, each at most CF_PROTO_MAX_ARG bytes */
	size_t nargs; /* 0..CF_PROTO_MAX_ARGS */
	int    n;     /* 0..CF_PROTO_MAX_N; 0 when absent ("the default") */
	int    known; /* 1 if cmd is a known verb */
} cf_command;

/*
 * A reply. data is JSON text so that the gateway can pass it through;
 * NULL stands for JSON null.
 */
typedef struct cf_reply {
	int   ok;
	char *error; /* NULL if none */
	char *data;  /* JSON text, or NULL */
} cf_reply;

/* Names of enum values ("schedule", "timed_out"); never NULL. */
const char *cf_trigger_name(cf_trigger t);
const char *cf_run_state_name(cf_run_state s);

/* Parses a name back into *out. Returns 0, or CF_EINVAL. */
int cf_trigger_parse(const char *s, cf_trigger *out);
int cf_run_state_parse(const char *s, cf_run_state *out);

/* 1 if s is a valid service or job name (see above), else 0. */
int cf_proto_name_valid(const char *s);

/* 1 if cmd is one of status, jobs, trigger, history, pause, resume, next,
 * schedule, register, ping, start, stop; else 0. */
int cf_proto_command_known(const char *cmd);

/*
 * Writes the fire id of (job, scheduled_ms) into buf: "<job>@<instant>",
 * the instant in RFC 3339 UTC with milliseconds only when not zero, e.g.
 * "energy-sync@2025-03-30T01:30:00Z". Readable in logs and tables, and
 * the same on every replica because it depends on nothing else. len
 * should be CF_FIRE_ID_LEN. Returns 0, CF_EINVAL (bad job name, short
 * buffer) or CF_ERANGE (an instant outside years 1..9999).
 */
int cf_fire_id(char *buf, size_t len, const char *job, int64_t scheduled_ms);

/*
 * Writes the subscription prefix of a service's ticks, "tick.<service>.",
 * into buf. Returns 0, or CF_EINVAL (bad name or short buffer).
 */
int cf_proto_tick_prefix(char *buf, size_t len, const char *service);

/*
 * Encoders. Each appends one whole message to buf (the caller owns buf
 * and t/e/c/r, which are not kept). Returns 0; CF_EINVAL if a field is
 * invalid (bad name, enum out of range, string too long, data or result
 * not JSON); CF_ETOOBIG if the message would exceed CF_PROTO_MAX_MSG;
 * CF_ENOMEM. On failure buf keeps its earlier contents.
 */
int cf_proto_tick_encode(msgpack_sbuffer *buf, const cf_tick *t);
int cf_proto_event_encode(msgpack_sbuffer *buf, const cf_event *e);
int cf_proto_command_encode(msgpack_sbuffer *buf, const cf_command *c);
int cf_proto_reply_encode(msgpack_sbuffer *buf, const cf_reply *r);

/*
 * Renders r as JSON text for a text client and appends it to buf:
 * {"success":true,"data":<data or null>} or
 * {"success":false,"error":"<error>"}. Invalid UTF-8 in error becomes
 * U+FFFD. Returns 0, CF_EINVAL (data is not JSON), CF_ETOOBIG or
 * CF_ENOMEM; on failure buf keeps its earlier contents.
 */
int cf_proto_reply_json(msgpack_sbuffer *buf, const cf_reply *r);

/*
 * Appends r to buf as the answer to a request decoded with is_text set
 * (JSON text) or not (msgpack). Same results as the two above.
 */
int cf_proto_reply_send_form(
    msgpack_sbuffer *buf, const cf_reply *r, int is_text);

/*
 * The bytes answering a request, for a REP handler: success with data
 * (JSON; not consumed) when error is NULL or "", else the error; in the
 * request's form (is_text from cf_proto_request_decode). A reply that
 * would be too large becomes an error reply saying so. On success *out is
 * malloc'd (*len bytes) and the caller frees it. Returns 0 or CF_ENOMEM.
 */
int cf_proto_answer(const cJSON *data, const char *error, int is_text,
    uint8_t **out, size_t *len);

/*
 * Decoders. Each reads len bytes at buf (not kept) and on success stores
 * a new struct in *out, owned by the caller, to be released with the
 * matching _free. Returns 0, CF_ETOOBIG, CF_EPROTO (err says why;
 * err may be NULL when errlen is 0) or CF_ENOMEM.
 */
int cf_proto_tick_decode(
    const void *buf, size_t len, cf_tick **out, char *err, size_t errlen);
int cf_proto_event_decode(
    const void *buf, size_t len, cf_event **out, char *err, size_t errlen);
int cf_proto_reply_decode(
    const void *buf, size_t len, cf_reply **out, char *err, size_t errlen);

/*
 * Decodes a request in any form. If the first byte is an ASCII letter or
 * '{' the request is text, for people:
 *
 *   status [job]            jobs              ping
 *   trigger <job>           pause <job>       resume <job>
 *   history <job> [n]       next [job] [n]    start / stop
 *   schedule <job> '<expr>' (quoted with ' or ", or the rest of the line)
 *   register <job> [arg...] or any other verb: job, then arguments
 *
 * or the same as a JSON object: {"cmd":"history","job":"x","n":20},
 * with optional "args" (array of strings) and "expr" (for schedule).
 * Known verbs are checked against the forms above; an unknown verb is
 * decoded with known = 0. Otherwise the request is a msgpack map
 * {cmd, job, args, n}; its verb and job are checked for syntax only.
 *
 * *is_text is set (when is_text is not NULL) even when decoding fails, so
 * the caller can answer an error in the right form (see
 * cf_proto_reply_send_form). On success *out is a new command owned by
 * the caller (cf_command_free). Returns 0, CF_ETOOBIG, CF_EPROTO or
 * CF_ENOMEM.
 */
int cf_proto_request_decode(const void *buf, size_t len, cf_command **out,
    int *is_text, char *err, size_t errlen);

/* Release a decoded struct and everything it points to; NULL is fine. */
void cf_tick_free(cf_tick *t);
void cf_event_free(cf_event *e);
void cf_command_free(cf_command *c);
void cf_reply_free(cf_reply *r);

#endif /* CF_PROTO_H */
