/*
 * cf_proto_text.c - the text form of commands, for people, and JSON
 * replies for text clients.
 *
 * A text request is one line of words: a verb, then the words its form
 * allows (see the table below). A word that starts with ' or " runs to
 * the matching quote, so a cron expression with spaces is one word;
 * there are no escapes. The same command can be written as a JSON
 * object, {"cmd":"history","job":"x","n":20}, which suits scripts.
 * Both are checked against the same forms so that a person gets a usage
 * line rather than a puzzling "no such job".
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_proto.h"
#include "cf_proto_int.h"

/* What a verb takes: a job ('r'equired, 'o'ptional or not at all), an
 * optional n, and the rest of the line as one expression ('e') or as
 * arguments ('a'). */
typedef struct text_form {
	const char *cmd;
	char        job;
	char        n;
	char        rest;
	const char *usage;
} text_form;

static const text_form text_forms[] = {
	{ "status", 'o', 0, 0, "status [job]" },
	{ "jobs", 0, 0, 0, "jobs" },
	{ "ping", 0, 0, 0, "ping" },
	{ "start", 0, 0, 0, "start" },
	{ "stop", 0, 0, 0, "stop" },
	{ "trigger", 'r', 'o', 0, "trigger <job> [n]" },
	{ "pause", 'r', 0, 0, "pause <job>" },
	{ "resume", 'r', 0, 0, "resume <job>" },
	{ "history", 'o', 'o', 'a', "history [job] [n] [key=value ...]" },
	{ "next", 'o', 'o', 0, "next [job] [n]" },
	{ "schedule", 'r', 0, 'e', "schedule <job> '<expr>'" },
	{ "register", 'r', 0, 'a', "register <job> [arg ...]" },
};

/* Any other verb: an optional job, then arguments. */
static const text_form text_unknown = { NULL, 'o', 0, 'a', NULL };

#define MAX_WORDS (2 + CF_PROTO_MAX_ARGS)

static const text_form *
text_form_find(const char *cmd)
{
	for (size_t i = 0; i < sizeof(text_forms) / sizeof(text_forms[0]);
	     i++) {
		if (strcmp(text_forms[i].cmd, cmd) == 0) {
			return (&text_forms[i]);
		}
	}
	return (&text_unknown);
}

static int
is_blank(char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* 1 if s is 1..6 decimal digits. */
static int
is_count(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 6) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return (0);
		}
	}
	return (1);
}

static int
usage(const text_form *f, const char *cmd, char *err, size_t errlen)
{
	if (f->usage != NULL) {
		cf__proto_errf(err, errlen, "usage: %s", f->usage);
	} else {
		cf__proto_errf(err, errlen, "usage: %s [job] [arg ...]", cmd);
	}
	return (CF_EPROTO);
}

/*
 * Checks a command built from text or JSON against its verb's form.
 * Unknown verbs pass: the receiver answers them.
 */
static int
form_check(const cf_command *c, char *err, size_t errlen)
{
	const text_form *f = text_form_find(c->cmd);

	if (f == &text_unknown) {
		return (CF_OK);
	}
	if ((f->job == 'r' && c->job == NULL)
	    || (f->job == 0 && c->job != NULL) || (f->n == 0 && c->n != 0)
	    || (f->rest == 'e' && c->nargs != 1)
	    || (f->rest == 0 && c->nargs != 0)) {
		return (usage(f, c->cmd, err, errlen));
	}
	if (f->rest == 'e' && c->args[0][0] == '\0') {
		cf__proto_errf(err, errlen, "%s: empty expression", c->cmd);
		return (CF_EPROTO);
	}
	return (CF_OK);
}

/*
 * Splits line (NUL-terminated, modified in place) into words: blank
 * separated, or quoted with ' or ", and a word after the verb that
 * starts with '{' or '[' (JSON) takes the rest of the line. Returns
 * the number of words, or -1 with err set.
 */
static int
text_split(char *line, char **words, char *err, size_t errlen)
{
	char *p = line;
	int   n = 0;

	for (;;) {
		char *w;
		while (is_blank(*p)) {
			p++;
		}
		if (*p == '\0') {
			return (n);
		}
		if (n == MAX_WORDS) {
			cf__proto_errf(
			    err, errlen, "more than %d words", MAX_WORDS);
			return (-1);
		}
		if (*p == '\'' || *p == '"') {
			char q = *p++;
			w      = p;
			while (*p != '\0' && *p != q) {
				p++;
			}
			if (*p != q) {
				cf__proto_errf(
				    err, errlen, "unterminated %c quote", q);
				return (-1);
			}
			*p++ = '\0';
			if (*p != '\0' && !is_blank(*p)) {
				cf__proto_errf(err, errlen,
				    "a closing quote must end a word");
				return (-1);
			}
		} else if (n > 0 && (*p == '{' || *p == '[')) {
			/* A JSON argument unquoted: the rest of the line,
			 * which may hold spaces and quotes of its own. */
			char *e = p + strlen(p);
			w       = p;
			while (e > p && is_blank(e[-1])) {
				e--;
			}
			*e = '\0';
			p  = e;
		} else {
			w = p;
			while (*p != '\0' && !is_blank(*p)) {
				p++;
			}
			if (*p != '\0') {
				*p++ = '\0';
			}
		}
		words[n++] = w;
	}
}

static int
set_job(cf_command *c, const char *w, char *err, size_t errlen)
{
	if (!cf_proto_name_valid(w)) {
		cf__proto_errf(err, errlen,
		    "'%.40s' is not a valid job name (1 to %d characters of "
		    "[A-Za-z0-9_-])",
		    w, CF_PROTO_MAX_NAME);
		return (CF_EPROTO);
	}
	if ((c->job = strdup(w)) == NULL) {
		return (CF_ENOMEM);
	}
	return (CF_OK);
}

static int
set_n(cf_command *c, const char *w, char *err, size_t errlen)
{
	long v;

	if (!is_count(w) || (v = strtol(w, NULL, 10)) > CF_PROTO_MAX_N) {
		cf__proto_errf(err, errlen,
		    "%s: n must be a number from 0 to %d", c->cmd,
		    CF_PROTO_MAX_N);
		return (CF_EPROTO);
	}
	c->n = (int) v;
	return (CF_OK);
}

static int
add_arg(cf_command *c, const char *s, size_t len)
{
	char **a;

	if (len > CF_PROTO_MAX_ARG || c->nargs >= CF_PROTO_MAX_ARGS) {
		return (CF_EPROTO);
	}
	if ((a = realloc(c->args, (c->nargs + 1) * sizeof(char *))) == NULL) {
		return (CF_ENOMEM);
	}
	c->args = a;
	if ((a[c->nargs] = cf__proto_strndup(s, len)) == NULL) {
		return (CF_ENOMEM);
	}
	c->nargs++;
	return (CF_OK);
}

static int
text_words(char *line, cf_command *c, char *err, size_t errlen)
{
	char            *w[MAX_WORDS];
	const text_form *f;
	int              nw, i = 1, rv;

	if ((nw = text_split(line, w, err, errlen)) < 0) {
		return (CF_EPROTO);
	}
	if (nw == 0) {
		cf__proto_errf(err, errlen, "empty request");
		return (CF_EPROTO);
	}
	for (char *p = w[0]; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char) (*p - 'A' + 'a');
		}
	}
	if (!cf__proto_cmd_valid(w[0], strlen(w[0]))) {
		cf__proto_errf(err, errlen,
		    "'%.40s' is not a command (1 to %d characters of "
		    "[a-z0-9_-])",
		    w[0], CF_PROTO_MAX_CMD);
		return (CF_EPROTO);
	}
	if ((c->cmd = strdup(w[0])) == NULL) {
		return (CF_ENOMEM);
	}
	f = text_form_find(c->cmd);
	if (f->job == 'r' && i >= nw) {
		return (usage(f, c->cmd, err, errlen));
	}
	/*
	 * With an optional job and an optional n, digits are n; a word
	 * holding '=' is an argument (history's filters), never either.
	 */
	/* Another verb's JSON argument ('{...}', '[...]') is never a job. */
	if (f->job != 0 && i < nw
	    && !(f == &text_unknown && (w[i][0] == '{' || w[i][0] == '['))
	    && (f->job == 'r'
	        || (strchr(w[i], '=') == NULL
	            && (f->n == 0 || !is_count(w[i])
	                || (i + 1 < nw && is_count(w[i + 1])))))) {
		if ((rv = set_job(c, w[i++], err, errlen)) != 0) {
			return (rv);
		}
	}
	if (f->n != 0 && i < nw && strchr(w[i], '=') == NULL) {
		if ((rv = set_n(c, w[i++], err, errlen)) != 0) {
			return (rv);
		}
	}
	if (f->rest == 'e' && i < nw) {
		/* Unquoted, the rest of the line is the expression. */
		size_t len = 0;
		char  *e;
		for (int k = i; k < nw; k++) {
			len += strlen(w[k]) + 1;
		}
		if (len - 1 > CF_PROTO_MAX_ARG) {
			cf__proto_errf(err, errlen,
			    "%s: expression longer than %d bytes", c->cmd,
			    CF_PROTO_MAX_ARG);
			return (CF_EPROTO);
		}
		if ((e = malloc(len)) == NULL) {
			return (CF_ENOMEM);
		}
		e[0] = '\0';
		for (int k = i; k < nw; k++) {
			strcat(e, w[k]);
			if (k + 1 < nw) {
				strcat(e, " ");
			}
		}
		rv = add_arg(c, e, len - 1);
		free(e);
		if (rv != 0) {
			return (rv);
		}
		i = nw;
	} else if (f->rest == 'a') {
		for (; i < nw; i++) {
			if ((rv = add_arg(c, w[i], strlen(w[i]))) != 0) {
				if (rv == CF_EPROTO) {
					cf__proto_errf(err, errlen,
					    "%s: an argument is longer than "
					    "%d bytes",
					    c->cmd, CF_PROTO_MAX_ARG);
				}
				return (rv);
			}
		}
	}
	if (i < nw) {
		return (usage(f, c->cmd, err, errlen));
	}
	return (CF_OK);
}

static int
json_str(const cJSON *o, const char *field, int nil_ok, const char **out,
    char *err, size_t errlen)
{
	*out = NULL;
	if (cJSON_IsString(o) && o->valuestring != NULL) {
		*out = o->valuestring;
		return (CF_OK);
	}
	if (nil_ok && cJSON_IsNull(o)) {
		return (CF_OK);
	}
	cf__proto_errf(err, errlen, "field '%s': expected a string%s", field,
	    nil_ok ? " or null" : "");
	return (CF_EPROTO);
}

static int
json_fields(const cJSON *obj, cf_command *c, char *err, size_t errlen)
{
	const cJSON *v;
	const char  *s;
	int          rv;

	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "cmd")) == NULL) {
		cf__proto_errf(err, errlen, "missing field 'cmd'");
		return (CF_EPROTO);
	}
	if ((rv = json_str(v, "cmd", 0, &s, err, errlen)) != 0) {
		return (rv);
	}
	if (!cf__proto_cmd_valid(s, strlen(s))) {
		cf__proto_errf(err, errlen,
		    "field 'cmd': expected 1 to %d characters of [a-z0-9_-]",
		    CF_PROTO_MAX_CMD);
		return (CF_EPROTO);
	}
	if ((c->cmd = strdup(s)) == NULL) {
		return (CF_ENOMEM);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "job")) != NULL) {
		if ((rv = json_str(v, "job", 1, &s, err, errlen)) != 0) {
			return (rv);
		}
		if (s != NULL && (rv = set_job(c, s, err, errlen)) != 0) {
			return (rv);
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "n")) != NULL
	    && !cJSON_IsNull(v)) {
		double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
		if (!(d >= 0 && d <= CF_PROTO_MAX_N)
		    || d != (double) (int) d) {
			cf__proto_errf(err, errlen,
			    "field 'n': expected an integer from 0 to %d",
			    CF_PROTO_MAX_N);
			return (CF_EPROTO);
		}
		c->n = (int) d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "args")) != NULL
	    && !cJSON_IsNull(v)) {
		const cJSON *a;
		if (!cJSON_IsArray(v)) {
			cf__proto_errf(err, errlen,
			    "field 'args': expected an array of strings");
			return (CF_EPROTO);
		}
		cJSON_ArrayForEach(a, v)
		{
			if ((rv = json_str(a, "args", 0, &s, err, errlen))
			    != 0) {
				return (rv);
			}
			if ((rv = add_arg(c, s, strlen(s))) != 0) {
				if (rv == CF_EPROTO) {
					cf__proto_errf(err, errlen,
					    "field 'args': more than %d "
					    "elements or one longer than %d "
					    "bytes",
					    CF_PROTO_MAX_ARGS,
					    CF_PROTO_MAX_ARG);
				}
				return (rv);
			}
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "expr")) != NULL
	    && !cJSON_IsNull(v)) {
		if ((rv = json_str(v, "expr", 0, &s, err, errlen)) != 0) {
			return (rv);
		}
		if (c->nargs != 0) {
			cf__proto_errf(err, errlen,
			    "give either 'expr' or 'args', not both");
			return (CF_EPROTO);
		}
		if ((rv = add_arg(c, s, strlen(s))) != 0) {
			if (rv == CF_EPROTO) {
				cf__proto_errf(err, errlen,
				    "field 'expr': longer than %d bytes",
				    CF_PROTO_MAX_ARG);
			}
			return (rv);
		}
	}
	return (CF_OK);
}

static int
text_json(const char *s, size_t len, cf_command *c, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON      *obj;
	int         rv;

	obj = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (obj == NULL) {
		cf__proto_errf(err, errlen, "malformed JSON");
		return (CF_EPROTO);
	}
	for (size_t i = (size_t) (end - s); i < len; i++) {
		if (!is_blank(s[i])) {
			cJSON_Delete(obj);
			cf__proto_errf(err, errlen,
			    "trailing bytes after the JSON object");
			return (CF_EPROTO);
		}
	}
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		cf__proto_errf(err, errlen, "expected a JSON object");
		return (CF_EPROTO);
	}
	rv = json_fields(obj, c, err, errlen);
	cJSON_Delete(obj);
	return (rv);
}

int
cf__proto_command_decode_text(
    const char *buf, size_t len, cf_command **out, char *err, size_t errlen)
{
	cf_command *c;
	char       *line;
	int         rv;

	*out = NULL;
	if (len > CF_PROTO_MAX_TEXT) {
		cf__proto_errf(err, errlen, "text request over %d bytes",
		    CF_PROTO_MAX_TEXT);
		return (CF_ETOOBIG);
	}
	/* Some clients send a C string: one final NUL is allowed. */
	if (len > 0 && buf[len - 1] == '\0') {
		len--;
	}
	if (!cf__proto_utf8_valid(buf, len)) {
		cf__proto_errf(err, errlen,
		    "text request is not UTF-8 (or holds a NUL byte)");
		return (CF_EPROTO);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char) buf[i];
		if ((b < 0x20 && !is_blank((char) b)) || b == 0x7f) {
			cf__proto_errf(err, errlen,
			    "control character 0x%02x at offset %zu", b, i);
			return (CF_EPROTO);
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		return (CF_ENOMEM);
	}
	if (len > 0 && buf[0] == '{') {
		rv = text_json(buf, len, c, err, errlen);
	} else if ((line = cf__proto_strndup(buf, len)) == NULL) {
		rv = CF_ENOMEM;
	} else {
		rv = text_words(line, c, err, errlen);
		free(line);
	}
	if (rv == 0) {
		rv = form_check(c, err, errlen);
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

/* ---- JSON replies ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (of n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t k;

	if (p[0] < 0x80) {
		return (1);
	}
	k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (k > n || !cf__proto_utf8_valid((const char *) p, k)) {
		return (0);
	}
	return (k);
}

/* Appends s as a JSON string literal. Returns nonzero on failure. */
static int
json_quote(msgpack_sbuffer *buf, const char *s)
{
	static const char    hex[] = "0123456789abcdef";
	const unsigned char *p     = (const unsigned char *) s;
	size_t               n     = strlen(s);
	size_t               run   = 0; /* bytes before p[i] not written */
	int                  f     = 0;

	f |= msgpack_sbuffer_write(buf, "\"", 1);
	for (size_t i = 0; i < n;) {
		char   esc[8];
		size_t elen = 0;
		size_t k    = utf8_seq(p + i, n - i);

		if (k == 0) {
			memcpy(esc, "\\ufffd", 6);
			elen = 6;
			k    = 1;
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char) p[i];
			elen   = 2;
		} else if (p[i] < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			elen   = 6;
		}
		if (elen == 0) {
			run += k;
			i += k;
			continue;
		}
		f |= msgpack_sbuffer_write(
		    buf, (const char *) p + i - run, run);
		f |= msgpack_sbuffer_write(buf, esc, elen);
		run = 0;
		i += k;
	}
	f |= msgpack_sbuffer_write(buf, (const char *) p + n - run, run);
	f |= msgpack_sbuffer_write(buf, "\"", 1);
	return (f);
}

int
cf_proto_reply_json(msgpack_sbuffer *buf, const cf_reply *r)
{
	size_t start;
	int    f = 0;

	if (buf == NULL || r == NULL) {
		return (CF_EINVAL);
	}
	if (r->ok && r->data != NULL) {
		size_t n = strnlen(r->data, CF_PROTO_MAX_MSG + 1);
		if (n > CF_PROTO_MAX_MSG) {
			return (CF_ETOOBIG);
		}
		if (!cf__proto_utf8_valid(r->data, n)
		    || !cf__proto_json_valid(r->data, n)) {
			return (CF_EINVAL);
		}
	}
	start = buf->size;
	if (r->ok) {
		const char *d = r->data != NULL ? r->data : "null";
		f |= msgpack_sbuffer_write(
		    buf, "{\"success\":true,\"data\":", 23);
		f |= msgpack_sbuffer_write(buf, d, strlen(d));
		f |= msgpack_sbuffer_write(buf, "}", 1);
	} else {
		f |= msgpack_sbuffer_write(
		    buf, "{\"success\":false,\"error\":", 25);
		f |= json_quote(buf, r->error != NULL ? r->error : "failed");
		f |= msgpack_sbuffer_write(buf, "}", 1);
	}
	if (f != 0) {
		buf->size = start;
		return (CF_ENOMEM);
	}
	if (buf->size - start > CF_PROTO_MAX_MSG) {
		buf->size = start;
		return (CF_ETOOBIG);
	}
	return (CF_OK);
}

int
cf_proto_reply_send_form(msgpack_sbuffer *buf, const cf_reply *r, int is_text)
{
	return (is_text ? cf_proto_reply_json(buf, r)
	                : cf_proto_reply_encode(buf, r));
}
