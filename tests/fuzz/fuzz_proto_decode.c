/*
 * fuzz_proto_decode.c - libFuzzer target for every decoder of proto/.
 *
 * The first byte chooses the decoder; the rest is the message:
 *   0 tick, 1 event, 2 request (msgpack or text), 3 reply,
 *   4 tick body behind a fixed topic, 5 event body behind a fixed topic.
 * Whatever the input, a decoder must return without crashing, leaking or
 * reading out of bounds. When it accepts the input, encoding the decoded
 * message must succeed and decoding that must give the same message.
 *
 * Built with -DCF_PROTO_FUZZ_SEEDS the file is instead a program that
 * writes a seed corpus of valid messages and a libFuzzer dictionary:
 *   fuzz_proto_seeds <seed dir> <dict file>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_proto.h"

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n",          \
			    __FILE__, __LINE__, #c);                          \
			abort();                                              \
		}                                                             \
	} while (0)

static int
streq(const char *a, const char *b)
{
	return ((a == NULL && b == NULL)
	    || (a != NULL && b != NULL && strcmp(a, b) == 0));
}

static void
tick_same(const cf_tick *a, const cf_tick *b)
{
	CHECK(streq(a->service, b->service));
	CHECK(streq(a->job, b->job));
	CHECK(streq(a->fire_id, b->fire_id));
	CHECK(a->scheduled_for == b->scheduled_for);
	CHECK(a->trigger == b->trigger);
	CHECK(a->attempt == b->attempt);
	CHECK(a->epoch == b->epoch);
}

static void
event_same(const cf_event *a, const cf_event *b)
{
	CHECK(streq(a->service, b->service));
	CHECK(streq(a->job, b->job));
	CHECK(streq(a->run_id, b->run_id));
	CHECK(streq(a->fire_id, b->fire_id));
	CHECK(a->state == b->state);
	CHECK(a->trigger == b->trigger);
	CHECK(a->scheduled_for == b->scheduled_for);
	CHECK(a->started_at == b->started_at);
	CHECK(a->finished_at == b->finished_at);
	CHECK(a->attempt == b->attempt);
	CHECK(streq(a->error, b->error));
	CHECK(streq(a->result, b->result));
}

static void
command_same(const cf_command *a, const cf_command *b)
{
	CHECK(streq(a->cmd, b->cmd));
	CHECK(streq(a->job, b->job));
	CHECK(a->n == b->n);
	CHECK(a->known == b->known);
	CHECK(a->nargs == b->nargs);
	for (size_t i = 0; i < a->nargs; i++) {
		CHECK(streq(a->args[i], b->args[i]));
	}
}

static void
reply_same(const cf_reply *a, const cf_reply *b)
{
	CHECK(a->ok == b->ok);
	CHECK(streq(a->error, b->error));
	CHECK(streq(a->data, b->data));
}

static void
fuzz_tick(const uint8_t *d, size_t n)
{
	cf_tick        *t = NULL, *t2 = NULL;
	msgpack_sbuffer sb;
	char            err[256];

	if (cf_proto_tick_decode(d, n, &t, err, sizeof(err)) != 0) {
		CHECK(t == NULL);
		return;
	}
	msgpack_sbuffer_init(&sb);
	CHECK(cf_proto_tick_encode(&sb, t) == 0);
	CHECK(cf_proto_tick_decode(sb.data, sb.size, &t2, err, sizeof(err))
	    == 0);
	tick_same(t, t2);
	cf_tick_free(t2);
	cf_tick_free(t);
	msgpack_sbuffer_destroy(&sb);
}

static void
fuzz_event(const uint8_t *d, size_t n)
{
	cf_event       *e = NULL, *e2 = NULL;
	msgpack_sbuffer sb;
	char            err[256];

	if (cf_proto_event_decode(d, n, &e, err, sizeof(err)) != 0) {
		CHECK(e == NULL);
		return;
	}
	msgpack_sbuffer_init(&sb);
	CHECK(cf_proto_event_encode(&sb, e) == 0);
	CHECK(cf_proto_event_decode(sb.data, sb.size, &e2, err, sizeof(err))
	    == 0);
	event_same(e, e2);
	cf_event_free(e2);
	cf_event_free(e);
	msgpack_sbuffer_destroy(&sb);
}

static void
fuzz_request(const uint8_t *d, size_t n)
{
	cf_command     *c = NULL, *c2 = NULL;
	msgpack_sbuffer sb;
	char            err[256];
	int             text = -1, text2 = -1;
	cf_reply        r = { 0, err, NULL };

	if (cf_proto_request_decode(d, n, &c, &text, err, sizeof(err)) != 0) {
		CHECK(c == NULL);
		CHECK(text == 0 || text == 1);
		/* The error reply must always be producible. */
		msgpack_sbuffer_init(&sb);
		CHECK(cf_proto_reply_send_form(&sb, &r, text) == 0);
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	msgpack_sbuffer_init(&sb);
	CHECK(cf_proto_command_encode(&sb, c) == 0);
	CHECK(cf_proto_request_decode(
	          sb.data, sb.size, &c2, &text2, err, sizeof(err))
	    == 0);
	CHECK(text2 == 0);
	command_same(c, c2);
	cf_command_free(c2);
	cf_command_free(c);
	msgpack_sbuffer_destroy(&sb);
}

static void
fuzz_reply(const uint8_t *d, size_t n)
{
	cf_reply       *r = NULL, *r2 = NULL;
	msgpack_sbuffer sb;
	char            err[256];
	cJSON          *j;

	if (cf_proto_reply_decode(d, n, &r, err, sizeof(err)) != 0) {
		CHECK(r == NULL);
		return;
	}
	msgpack_sbuffer_init(&sb);
	CHECK(cf_proto_reply_encode(&sb, r) == 0);
	CHECK(cf_proto_reply_decode(sb.data, sb.size, &r2, err, sizeof(err))
	    == 0);
	reply_same(r, r2);
	/* The JSON rendering of any accepted reply is JSON. */
	msgpack_sbuffer_clear(&sb);
	CHECK(cf_proto_reply_json(&sb, r) == 0);
	j = cJSON_ParseWithLength(sb.data, sb.size);
	CHECK(j != NULL);
	cJSON_Delete(j);
	cf_reply_free(r2);
	cf_reply_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* Decodes a body behind a fixed topic. */
static void
fuzz_behind(const char *topic, const uint8_t *d, size_t n, int event)
{
	size_t   tl = strlen(topic);
	uint8_t *m  = malloc(tl + n + 1);

	CHECK(m != NULL);
	memcpy(m, topic, tl);
	if (n > 0) {
		memcpy(m + tl, d, n);
	}
	if (event) {
		fuzz_event(m, tl + n);
	} else {
		fuzz_tick(m, tl + n);
	}
	free(m);
}

static void
fuzz_one(const uint8_t *data, size_t size)
{
	const uint8_t *d;
	size_t         n;

	if (size == 0) {
		return;
	}
	d = data + 1;
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		fuzz_tick(d, n);
		break;
	case 1:
		fuzz_event(d, n);
		break;
	case 2:
		fuzz_request(d, n);
		break;
	case 3:
		fuzz_reply(d, n);
		break;
	case 4:
		fuzz_behind("tick.ingest.energy-sync ", d, n, 0);
		break;
	default:
		fuzz_behind("event.ingest.energy-sync.failed ", d, n, 1);
		break;
	}
}

#ifndef CF_PROTO_FUZZ_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size);
	return (0);
}

#else /* CF_PROTO_FUZZ_SEEDS */

#include <errno.h>
#include <sys/stat.h>

static const char *seed_dir;
static int         seed_no;

/* Writes sel, then the skip bytes after buf's first (for topic modes). */
static void
seed(int sel, const void *buf, size_t len, size_t skip)
{
	char  path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed%03d", seed_dir, seed_no++);
	CHECK((f = fopen(path, "wb")) != NULL);
	CHECK(fputc(sel, f) != EOF);
	CHECK(
	    fwrite((const char *) buf + skip, 1, len - skip, f) == len - skip);
	CHECK(fclose(f) == 0);
	/* Every seed must be accepted by the checks above. */
	{
		uint8_t *m = malloc(len - skip + 1);
		CHECK(m != NULL);
		m[0] = (uint8_t) sel;
		memcpy(m + 1, (const char *) buf + skip, len - skip);
		fuzz_one(m, len - skip + 1);
		free(m);
	}
}

static void
seed_text(const char *s)
{
	seed(2, s, strlen(s), 0);
}

int
main(int argc, char **argv)
{
	static const char *dict[] = { "job", "fire_id", "scheduled_for",
		"trigger", "attempt", "epoch", "service", "run_id", "state",
		"started_at", "finished_at", "error", "result", "cmd", "args",
		"n", "ok", "data", "schedule", "manual", "catchup",
		"dependency", "started", "succeeded", "failed", "retrying",
		"skipped", "timed_out", "interrupted", "status", "jobs",
		"history", "pause", "resume", "next", "register", "ping",
		"tick.", "event.", "expr", "null", "true" };
	msgpack_sbuffer    sb;
	FILE              *f;
	char              *args[] = { "0 */5 * * * *", "Europe/Berlin" };
	cf_tick            t
	    = { "ingest", "energy-sync", "energy-sync@2025-03-30T01:30:00Z",
		      1743298200000LL, CF_TRIGGER_SCHEDULE, 1, 7 };
	cf_event   e  = { "ingest", "energy-sync", "r-0001",
		   "energy-sync@2025-03-30T01:30:00Z", CF_RUN_FAILED,
		   CF_TRIGGER_MANUAL, 1743298200000LL, 1743298200100LL,
		   1743298201100LL, 2, "timeout talking to SolarEdge",
		   "{\"rows\":12}" };
	cf_command c  = { "register", "energy-sync", args, 2, 20, 1 };
	cf_reply   r  = { 1, NULL, "{\"jobs\":[\"a\",\"b\"],\"n\":1.5}" };
	cf_reply   r2 = { 0, "no such job", NULL };

	if (argc != 3) {
		fprintf(stderr, "usage: %s <seed dir> <dict file>\n", argv[0]);
		return (2);
	}
	seed_dir = argv[1];
	if (mkdir(seed_dir, 0777) != 0 && errno != EEXIST) {
		perror(seed_dir);
		return (1);
	}
	msgpack_sbuffer_init(&sb);
	CHECK(cf_proto_tick_encode(&sb, &t) == 0);
	seed(0, sb.data, sb.size, 0);
	seed(4, sb.data, sb.size, strlen("tick.ingest.energy-sync "));
	msgpack_sbuffer_clear(&sb);
	CHECK(cf_proto_event_encode(&sb, &e) == 0);
	seed(1, sb.data, sb.size, 0);
	seed(5, sb.data, sb.size, strlen("event.ingest.energy-sync.failed "));
	msgpack_sbuffer_clear(&sb);
	CHECK(cf_proto_command_encode(&sb, &c) == 0);
	seed(2, sb.data, sb.size, 0);
	msgpack_sbuffer_clear(&sb);
	CHECK(cf_proto_reply_encode(&sb, &r) == 0);
	seed(3, sb.data, sb.size, 0);
	msgpack_sbuffer_clear(&sb);
	CHECK(cf_proto_reply_encode(&sb, &r2) == 0);
	seed(3, sb.data, sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	seed_text("status");
	seed_text("history energy-sync 20");
	seed_text("next 5");
	seed_text("schedule energy-sync '*/5 * * * *'");
	seed_text("{\"cmd\":\"trigger\",\"job\":\"energy-sync\"}");
	seed_text("{\"cmd\":\"schedule\",\"job\":\"x\",\"expr\":\"@daily\","
	          "\"n\":3}");

	CHECK((f = fopen(argv[2], "w")) != NULL);
	for (size_t i = 0; i < sizeof(dict) / sizeof(dict[0]); i++) {
		/* msgpack fixstr form: a length byte, then the text. */
		fprintf(f, "\"%s\"\n", dict[i]);
		fprintf(f, "\"\\x%02x%s\"\n",
		    0xa0 | (unsigned) strlen(dict[i]), dict[i]);
	}
	CHECK(fclose(f) == 0);
	printf("%d seeds in %s, dictionary %s\n", seed_no, seed_dir, argv[2]);
	return (0);
}

#endif /* CF_PROTO_FUZZ_SEEDS */
