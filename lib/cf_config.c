/*
 * cf_config.c - the configuration table: read, validate, dump, free.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cf_config.h"
#include "cf_err.h"
#include "cf_tz.h"

#define CONFIG_REDACTED "<redacted>"

/* How much of a bad value a message quotes before "...". */
#define CONFIG_SHOW_MAX 80

static const char *const config_bool_true[]
    = { "true", "1", "yes", "on", NULL };
static const char *const config_bool_false[]
    = { "false", "0", "no", "off", NULL };

static void *
config_field(void *cfg, const cf_config_item *it)
{
	return ((char *) cfg + it->offset);
}

static const void *
config_cfield(const void *cfg, const cf_config_item *it)
{
	return ((const char *) cfg + it->offset);
}

static int
config_is_string(const cf_config_item *it)
{
	return (it->type == CF_CONFIG_STRING || it->type == CF_CONFIG_URL
	    || it->type == CF_CONFIG_ZONE);
}

/* Appends formatted text at *pos in buf, never past len; keeps the NUL. */
static void
config_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (*pos + 1 >= len) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0) {
		*pos += (size_t) n < len - *pos ? (size_t) n : len - *pos - 1;
	}
}

/*
 * Where the password of a URL with userinfo ("scheme://user:pw@host")
 * starts and ends, or 0 when there is none.
 */
static int
config_url_password(const char *v, size_t *start, size_t *end)
{
	const char *auth = strstr(v, "://");
	const char *at, *colon, *stop;

	if (auth == NULL) {
		return (0);
	}
	auth += 3;
	stop = auth + strcspn(auth, "/?#");
	at   = NULL;
	for (const char *p = auth; p < stop; p++) {
		if (*p == '@') {
			at = p; /* the last '@' ends the userinfo */
		}
	}
	if (at == NULL) {
		return (0);
	}
	colon = memchr(auth, ':', (size_t) (at - auth));
	if (colon == NULL) {
		return (0);
	}
	*start = (size_t) (colon + 1 - v);
	*end   = (size_t) (at - v);
	return (1);
}

/*
 * The text of a value as messages and the dump may show it: secrets
 * redacted, URL passwords masked. Returns a malloc'd string or NULL.
 */
static char *
config_public_value(const cf_config_item *it, const char *v)
{
	size_t s, e, n;
	char  *out;

	if (it->flags & CF_CONFIG_SECRET) {
		return (strdup(CONFIG_REDACTED));
	}
	if (it->type != CF_CONFIG_URL || !config_url_password(v, &s, &e)) {
		return (strdup(v));
	}
	n = strlen(v);
	if ((out = malloc(n - (e - s) + 4)) == NULL) {
		return (NULL);
	}
	memcpy(out, v, s);
	memcpy(out + s, "***", 3);
	memcpy(out + s + 3, v + e, n - e + 1);
	return (out);
}

/*
 * Quotes a value for a one-line message: printable ASCII as is, other
 * bytes as \xNN, cut at CONFIG_SHOW_MAX characters.
 */
static void
config_show(char *buf, size_t len, const cf_config_item *it, const char *v)
{
	char  *pub = config_public_value(it, v);
	size_t pos = 0, shown = 0;

	if (pub == NULL) {
		snprintf(buf, len, "...");
		return;
	}
	buf[0] = '\0';
	for (const unsigned char *p = (const unsigned char *) pub; *p; p++) {
		if (shown++ >= CONFIG_SHOW_MAX) {
			config_append(buf, len, &pos, "...");
			break;
		}
		if (*p >= 0x20 && *p < 0x7f) {
			config_append(buf, len, &pos, "%c", *p);
		} else {
			config_append(buf, len, &pos, "\\x%02x", *p);
		}
	}
	free(pub);
}

static int
config_unbounded(const cf_config_item *it)
{
	return (it->min == 0 && it->max == 0);
}

static int64_t
config_min(const cf_config_item *it)
{
	if (config_unbounded(it)) {
		return (it->type == CF_CONFIG_INT ? INT64_MIN : 0);
	}
	return (it->min);
}

static int64_t
config_max(const cf_config_item *it)
{
	return (config_unbounded(it) ? INT64_MAX : it->max);
}

/* Writes a list of words as "a, b, c". */
static void
config_words(char *buf, size_t len, size_t *pos, const char *const *w,
    const char *before, const char *after, const char *last_sep)
{
	for (size_t i = 0; w[i] != NULL; i++) {
		const char *sep
		    = i == 0 ? "" : (w[i + 1] == NULL ? last_sep : ", ");
		config_append(
		    buf, len, pos, "%s%s%s%s", sep, before, w[i], after);
	}
}

/*
 * What an item accepts, as the phrase that follows "is not " in a message:
 * "an integer from 1 to 64", "one of debug, info, warn, error".
 */
static void
config_accepted(char *buf, size_t len, const cf_config_item *it)
{
	size_t  pos = 0;
	int64_t lo = config_min(it), hi = config_max(it);
	char    a[32], b[32];

	buf[0] = '\0';
	switch (it->type) {
	case CF_CONFIG_STRING:
		config_append(buf, len, &pos, "a non-empty string");
		break;
	case CF_CONFIG_INT:
		config_append(buf, len, &pos, "an integer");
		if (lo != INT64_MIN && hi != INT64_MAX) {
			config_append(buf, len, &pos,
			    " from %" PRId64 " to %" PRId64, lo, hi);
		} else if (lo != INT64_MIN) {
			config_append(
			    buf, len, &pos, " of at least %" PRId64, lo);
		} else if (hi != INT64_MAX) {
			config_append(
			    buf, len, &pos, " of at most %" PRId64, hi);
		}
		break;
	case CF_CONFIG_BOOL:
		config_append(buf, len, &pos,
		    "a boolean (true/false, yes/no, on/off, 1/0)");
		break;
	case CF_CONFIG_DURATION:
		cf_config_format_duration(a, sizeof(a), lo);
		cf_config_format_duration(b, sizeof(b), hi);
		config_append(buf, len, &pos, "a duration");
		if (lo != 0 && hi != INT64_MAX) {
			config_append(buf, len, &pos, " from %s to %s", a, b);
		} else if (lo != 0) {
			config_append(buf, len, &pos, " of at least %s", a);
		} else if (hi != INT64_MAX) {
			config_append(buf, len, &pos, " of at most %s", b);
		}
		config_append(buf, len, &pos, " (e.g. 500ms, 30s, 5m, 1h)");
		break;
	case CF_CONFIG_ENUM:
		config_append(buf, len, &pos, "one of ");
		if (it->values != NULL) {
			config_words(buf, len, &pos, it->values, "", "", ", ");
		}
		break;
	case CF_CONFIG_URL:
		if (it->values == NULL || it->values[0] == NULL) {
			config_append(buf, len, &pos, "a URL (scheme://...)");
			break;
		}
		config_append(buf, len, &pos, "a ");
		config_words(buf, len, &pos, it->values, "", "://", " or ");
		config_append(buf, len, &pos, " URL");
		if (it->flags & CF_CONFIG_LIST) {
			config_append(buf, len, &pos,
			    ", or a comma-separated list of them");
		}
		break;
	case CF_CONFIG_ZONE:
		config_append(buf, len, &pos,
		    "a known IANA time zone (e.g. UTC, Europe/Berlin)");
		break;
	}
}

int
cf_config_format_duration(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t     ms;
		const char *unit;
	} units[] = {
		{ 86400000, "d" },
		{ 3600000, "h" },
		{ 60000, "m" },
		{ 1000, "s" },
	};
	int n = -1;

	if (ms == 0) {
		n = snprintf(buf, len, "0s");
	} else {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (ms % units[i].ms == 0) {
				n = snprintf(buf, len, "%" PRId64 "%s",
				    ms / units[i].ms, units[i].unit);
				break;
			}
		}
		if (n < 0) {
			n = snprintf(buf, len, "%" PRId64 "ms", ms);
		}
	}
	return (n < 0 || (size_t) n >= len ? -1 : n);
}

int
cf_config_parse_duration(const char *s, int64_t *out_ms)
{
	int64_t total = 0;

	if (s == NULL || *s == '\0') {
		return (CF_EINVAL);
	}
	if (strcmp(s, "0") == 0) {
		*out_ms = 0;
		return (CF_OK);
	}
	while (*s != '\0') {
		int64_t v = 0, unit;

		if (!isdigit((unsigned char) *s)) {
			return (CF_EINVAL);
		}
		while (isdigit((unsigned char) *s)) {
			int d = *s++ - '0';
			if (v > (INT64_MAX - d) / 10) {
				return (CF_EINVAL);
			}
			v = v * 10 + d;
		}
		if (strncmp(s, "ms", 2) == 0) {
			unit = 1;
			s += 2;
		} else if (*s == 's') {
			unit = 1000;
			s++;
		} else if (*s == 'm') {
			unit = 60000;
			s++;
		} else if (*s == 'h') {
			unit = 3600000;
			s++;
		} else if (*s == 'd') {
			unit = 86400000;
			s++;
		} else {
			return (CF_EINVAL);
		}
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit) {
			return (CF_EINVAL);
		}
		total += v * unit;
	}
	*out_ms = total;
	return (CF_OK);
}

static int
config_parse_int(const char *s, int64_t *out)
{
	char   *end;
	int64_t v;

	/* strtoll skips leading space and accepts "0x" with base 0: we
	 * want plain decimal only. */
	if (!isdigit((unsigned char) s[0]) && s[0] != '-' && s[0] != '+') {
		return (CF_EINVAL);
	}
	errno = 0;
	v     = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0'
	    || !isdigit((unsigned char) end[-1])) {
		return (CF_EINVAL);
	}
	*out = v;
	return (CF_OK);
}

static int
config_word_index(const char *const *words, const char *s)
{
	if (words == NULL) {
		return (-1);
	}
	for (int i = 0; words[i] != NULL; i++) {
		if (strcasecmp(words[i], s) == 0) {
			return (i);
		}
	}
	return (-1);
}

static int
config_check_url(const cf_config_item *it, const char *s)
{
	const char *sep = strstr(s, "://");
	size_t      slen;

	if (sep == NULL || sep == s || sep[3] == '\0') {
		return (CF_EINVAL);
	}
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f) {
			return (CF_EINVAL);
		}
	}
	slen = (size_t) (sep - s);
	if (!isalpha((unsigned char) s[0])) {
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char) s[i];
		if (!isalnum(c) && c != '+' && c != '-' && c != '.') {
			return (CF_EINVAL);
		}
	}
	if (it->values == NULL || it->values[0] == NULL) {
		return (CF_OK);
	}
	for (size_t i = 0; it->values[i] != NULL; i++) {
		if (strlen(it->values[i]) == slen
		    && strncasecmp(it->values[i], s, slen) == 0) {
			return (CF_OK);
		}
	}
	return (CF_EINVAL);
}

/* One URL, or with CF_CONFIG_LIST a comma-separated list of them. */
static int
config_check_urls(const cf_config_item *it, const char *s)
{
	char   one[1024];
	size_t n;

	if (!(it->flags & CF_CONFIG_LIST)) {
		return (config_check_url(it, s));
	}
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(one)) {
			return (CF_EINVAL); /* empty element, or absurd */
		}
		memcpy(one, s, n);
		one[n] = '\0';
		if (config_check_url(it, one) != CF_OK) {
			return (CF_EINVAL);
		}
		if (s[n] == '\0') {
			return (CF_OK);
		}
		s += n + 1;
	}
}

static int
config_check_zone(const char *s)
{
	cf_tz *tz;
	char   err[128];

	if (cf_tz_open(&tz, s, err, sizeof(err)) != CF_OK) {
		return (CF_EINVAL);
	}
	cf_tz_close(tz);
	return (CF_OK);
}

/* Parses v for it and stores it in its field. Returns CF_OK, CF_EINVAL or
 * CF_ENOMEM; leaves the field alone on failure. */
static int
config_store(const cf_config_item *it, const char *v, void *cfg)
{
	void   *f = config_field(cfg, it);
	int64_t i;
	int     k;
	char   *dup;

	switch (it->type) {
	case CF_CONFIG_INT:
		if (config_parse_int(v, &i) != CF_OK || i < config_min(it)
		    || i > config_max(it)) {
			return (CF_EINVAL);
		}
		*(int64_t *) f = i;
		return (CF_OK);
	case CF_CONFIG_DURATION:
		if (cf_config_parse_duration(v, &i) != CF_OK
		    || i < config_min(it) || i > config_max(it)) {
			return (CF_EINVAL);
		}
		*(int64_t *) f = i;
		return (CF_OK);
	case CF_CONFIG_BOOL:
		if (config_word_index(config_bool_true, v) >= 0) {
			*(bool *) f = true;
		} else if (config_word_index(config_bool_false, v) >= 0) {
			*(bool *) f = false;
		} else {
			return (CF_EINVAL);
		}
		return (CF_OK);
	case CF_CONFIG_ENUM:
		if ((k = config_word_index(it->values, v)) < 0) {
			return (CF_EINVAL);
		}
		*(int *) f = k;
		return (CF_OK);
	case CF_CONFIG_URL:
		if (config_check_urls(it, v) != CF_OK) {
			return (CF_EINVAL);
		}
		break;
	case CF_CONFIG_ZONE:
		if (config_check_zone(v) != CF_OK) {
			return (CF_EINVAL);
		}
		break;
	case CF_CONFIG_STRING:
		break;
	}
	if ((dup = strdup(v)) == NULL) {
		return (CF_ENOMEM);
	}
	*(char **) f = dup;
	return (CF_OK);
}

/* The zero value of a field for an item that is unset without default. */
static void
config_store_unset(const cf_config_item *it, void *cfg)
{
	void *f = config_field(cfg, it);

	switch (it->type) {
	case CF_CONFIG_INT:
	case CF_CONFIG_DURATION:
		*(int64_t *) f = 0;
		break;
	case CF_CONFIG_BOOL:
		*(bool *) f = false;
		break;
	case CF_CONFIG_ENUM:
		*(int *) f = -1;
		break;
	default:
		*(char **) f = NULL;
		break;
	}
}

static void
config_error(char *err, size_t errlen, const char *prefix,
    const cf_config_item *it, const char *fmt, ...)
{
	va_list ap;
	size_t  pos = 0;

	if (err == NULL || errlen == 0) {
		return;
	}
	err[0] = '\0';
	if (prefix != NULL) {
		config_append(err, errlen, &pos, "%s: ", prefix);
	}
	config_append(err, errlen, &pos, "%s: ", it->name);
	if (pos + 1 < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + pos, errlen - pos, fmt, ap);
		va_end(ap);
	}
}

int
cf_config_load(const cf_config_item *table, size_t n, void *out,
    const char *prefix, char *err, size_t errlen)
{
	char accepted[256], shown[4 * CONFIG_SHOW_MAX + 8];

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	/* Every string field starts NULL, so a failure can free them all. */
	for (size_t i = 0; i < n; i++) {
		if (config_is_string(&table[i])) {
			*(char **) config_field(out, &table[i]) = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const cf_config_item *it  = &table[i];
		const char           *v   = getenv(it->name);
		int                   env = v != NULL && v[0] != '\0';
		int                   rv;

		if (!env) {
			v = it->def;
		}
		config_accepted(accepted, sizeof(accepted), it);
		if (v == NULL || v[0] == '\0') {
			if (it->flags & CF_CONFIG_REQUIRED) {
				config_error(err, errlen, prefix, it,
				    "not set; expected %s", accepted);
				cf_config_free(table, n, out);
				return (CF_EINVAL);
			}
			config_store_unset(it, out);
			continue;
		}
		if ((rv = config_store(it, v, out)) == CF_OK) {
			continue;
		}
		if (rv == CF_ENOMEM) {
			config_error(err, errlen, prefix, it, "out of memory");
		} else {
			config_show(shown, sizeof(shown), it, v);
			config_error(err, errlen, prefix, it,
			    "%s'%s' is not %s", env ? "" : "default ", shown,
			    accepted);
		}
		cf_config_free(table, n, out);
		return (rv);
	}
	return (CF_OK);
}

void
cf_config_die_on_error(int rv, const char *err)
{
	if (rv == CF_OK) {
		return;
	}
	if (err == NULL || err[0] == '\0') {
		err = cf_strerror(rv);
	}
	fprintf(stderr, "%s\n", err);
	fflush(stderr);
	exit(2);
}

void
cf_config_load_or_exit(
    const cf_config_item *table, size_t n, void *out, const char *prefix)
{
	char err[512];
	int  rv = cf_config_load(table, n, out, prefix, err, sizeof(err));

	cf_config_die_on_error(rv, err);
}

void
cf_config_free(const cf_config_item *table, size_t n, void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		if (config_is_string(&table[i])) {
			char **f = config_field(cfg, &table[i]);
			free(*f);
			*f = NULL;
		}
	}
}

/* Adds one item's value to obj. Returns 0, or -1 when out of memory. */
static int
config_dump_item(cJSON *obj, const cf_config_item *it, const void *cfg)
{
	const void *f = config_cfield(cfg, it);
	cJSON      *v = NULL;
	char        buf[32];
	char       *pub;

	switch (it->type) {
	case CF_CONFIG_INT:
		/* A double holds integers exactly up to 2^53; beyond that,
		 * text keeps the value intact. */
		if (*(const int64_t *) f > -(INT64_C(1) << 53)
		    && *(const int64_t *) f < (INT64_C(1) << 53)) {
			v = cJSON_CreateNumber((double) *(const int64_t *) f);
		} else {
			snprintf(buf, sizeof(buf), "%" PRId64,
			    *(const int64_t *) f);
			v = cJSON_CreateString(buf);
		}
		break;
	case CF_CONFIG_DURATION:
		cf_config_format_duration(
		    buf, sizeof(buf), *(const int64_t *) f);
		v = cJSON_CreateString(buf);
		break;
	case CF_CONFIG_BOOL:
		v = cJSON_CreateBool(*(const bool *) f);
		break;
	case CF_CONFIG_ENUM: {
		int k = *(const int *) f;
		v     = k >= 0 && it->values != NULL
		        ? cJSON_CreateString(it->values[k])
		        : cJSON_CreateNull();
		break;
	}
	default:
		if (*(char *const *) f == NULL) {
			v = cJSON_CreateNull();
			break;
		}
		if ((pub = config_public_value(it, *(char *const *) f))
		    == NULL) {
			return (-1);
		}
		v = cJSON_CreateString(pub);
		free(pub);
		break;
	}
	if (v == NULL) {
		return (-1);
	}
	if (!cJSON_AddItemToObject(obj, it->name, v)) {
		cJSON_Delete(v);
		return (-1);
	}
	return (0);
}

int
cf_config_dump(
    const cf_config_item *table, size_t n, const void *cfg, char **out_json)
{
	cJSON *obj = cJSON_CreateObject();
	char  *s;

	if (obj == NULL) {
		return (CF_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		if (config_dump_item(obj, &table[i], cfg) != 0) {
			cJSON_Delete(obj);
			return (CF_ENOMEM);
		}
	}
	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (s == NULL) {
		return (CF_ENOMEM);
	}
	*out_json = s;
	return (CF_OK);
}

void
cf_config_usage(const cf_config_item *table, size_t n, FILE *fp)
{
	char accepted[256];

	for (size_t i = 0; i < n; i++) {
		const cf_config_item *it = &table[i];

		config_accepted(accepted, sizeof(accepted), it);
		fprintf(fp, "# %s (%s%s%s)\n", it->help ? it->help : it->name,
		    accepted,
		    it->flags & CF_CONFIG_REQUIRED ? "; required" : "",
		    it->flags & CF_CONFIG_SECRET ? "; secret" : "");
		if (it->def != NULL && !(it->flags & CF_CONFIG_SECRET)) {
			fprintf(fp, "%s=%s\n", it->name, it->def);
		} else {
			fprintf(fp, "#%s=\n", it->name);
		}
	}
}
