/*
 * test_config.c - the configuration table (lib/cf_config): every type's
 * good and bad values, bounds, defaults, the message shape, the dump, and
 * the exit-2 path through a real process.
 *
 * "test_unit_config probe" loads the test table from the real environment
 * and prints the dump (or exits 2): tests/cli/test_config_exit.sh uses it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cf_config.h"
#include "cf_err.h"
#include "cf_log.h"

struct tcfg {
	char   *str;
	int64_t num;
	bool    flag;
	int64_t dur;
	int     level;
	char   *url;
	char   *zone;
	char   *secret;
	int64_t any;
	char   *anyurl;
	int64_t anydur;
};

static const char *const pg_schemes[]    = { "postgres", "postgresql", NULL };
static const char *const redis_schemes[] = { "redis", NULL };

static const cf_config_item table[] = {
	CF_CFG_STRING("T_STR", "hello", 0, struct tcfg, str, "A string."),
	CF_CFG_INT("T_INT", 1, 64, "4", struct tcfg, num, "Workers."),
	CF_CFG_BOOL("T_BOOL", "false", struct tcfg, flag, "A switch."),
	CF_CFG_DURATION(
	    "T_DUR", 1000, 3600000, "5m", struct tcfg, dur, "Run timeout."),
	CF_CFG_ENUM("T_LEVEL", cf_log_level_names, "info", struct tcfg, level,
	    "Least level logged."),
	CF_CFG_URL("T_URL", pg_schemes, "postgres:///cronfleet", 0,
	    struct tcfg, url, "PostgreSQL URL."),
	CF_CFG_ZONE("T_ZONE", "UTC", struct tcfg, zone, "Default zone."),
	CF_CFG_STRING("T_SECRET", NULL, CF_CONFIG_SECRET, struct tcfg, secret,
	    "Admin token."),
	CF_CFG_INT("T_ANYINT", 0, 0, "0", struct tcfg, any, "Any integer."),
	CF_CFG_URL("T_ANYURL", NULL, NULL, 0, struct tcfg, anyurl, "Any URL."),
	CF_CFG_DURATION(
	    "T_ANYDUR", 0, 0, "0", struct tcfg, anydur, "Any duration."),
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static const char *const all_vars[] = { "T_STR", "T_INT", "T_BOOL", "T_DUR",
	"T_LEVEL", "T_URL", "T_ZONE", "T_SECRET", "T_ANYINT", "T_ANYURL",
	"T_ANYDUR", "T_REQURL", "T_REQSTR", "T_SURL", "T_BADDEF", NULL };

static int
clear_env(void **state)
{
	(void) state;
	for (size_t i = 0; all_vars[i] != NULL; i++) {
		unsetenv(all_vars[i]);
	}
	return (0);
}

static const cf_config_item *
find_item(const cf_config_item *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			return (&t[i]);
		}
	}
	fail_msg("no item %s", name);
	return (NULL);
}

/* A field as text: integers in decimal, bools 1/0, enums their index,
 * strings as they are, NULL as "(null)". */
static void
field_text(char *buf, size_t len, const cf_config_item *it, const void *cfg)
{
	const char *f = (const char *) cfg + it->offset;

	switch (it->type) {
	case CF_CONFIG_INT:
	case CF_CONFIG_DURATION:
		snprintf(buf, len, "%" PRId64, *(const int64_t *) f);
		break;
	case CF_CONFIG_BOOL:
		snprintf(buf, len, "%d", *(const bool *) f ? 1 : 0);
		break;
	case CF_CONFIG_ENUM:
		snprintf(buf, len, "%d", *(const int *) f);
		break;
	default:
		snprintf(buf, len, "%s",
		    *(char *const *) f ? *(char *const *) f : "(null)");
		break;
	}
}

/* value NULL: the variable stays unset. want: the field as field_text. */
struct good_case {
	const char *name;
	const char *var;
	const char *value;
	const char *want;
};

static const struct good_case good_cases[] = {
	/* Defaults, and the empty string counts as unset. */
	{ "default_string", "T_STR", NULL, "hello" },
	{ "default_int", "T_INT", NULL, "4" },
	{ "default_bool", "T_BOOL", NULL, "0" },
	{ "default_duration", "T_DUR", NULL, "300000" },
	{ "default_enum", "T_LEVEL", NULL, "1" },
	{ "default_url", "T_URL", NULL, "postgres:///cronfleet" },
	{ "default_zone", "T_ZONE", NULL, "UTC" },
	{ "no_default_string", "T_SECRET", NULL, "(null)" },
	{ "no_default_url", "T_ANYURL", NULL, "(null)" },
	{ "empty_is_default_int", "T_INT", "", "4" },
	{ "empty_is_default_str", "T_STR", "", "hello" },
	{ "empty_is_default_zone", "T_ZONE", "", "UTC" },
	/* Strings. */
	{ "string_spaces", "T_STR", "with spaces and 'quotes'",
	    "with spaces and 'quotes'" },
	{ "string_utf8", "T_STR", "gr\xc3\xbc\xc3\x9f", "gr\xc3\xbc\xc3\x9f" },
	{ "string_secret", "T_SECRET", "hunter2", "hunter2" },
	/* Integers and their bounds. */
	{ "int_min", "T_INT", "1", "1" },
	{ "int_max", "T_INT", "64", "64" },
	{ "int_plus", "T_INT", "+7", "7" },
	{ "int_leading_zero", "T_INT", "007", "7" },
	{ "int_any_negative", "T_ANYINT", "-42", "-42" },
	{ "int_any_int64_min", "T_ANYINT", "-9223372036854775808",
	    "-9223372036854775808" },
	{ "int_any_int64_max", "T_ANYINT", "9223372036854775807",
	    "9223372036854775807" },
	/* Booleans, any case. */
	{ "bool_true", "T_BOOL", "true", "1" },
	{ "bool_TRUE", "T_BOOL", "TRUE", "1" },
	{ "bool_1", "T_BOOL", "1", "1" },
	{ "bool_yes", "T_BOOL", "yes", "1" },
	{ "bool_On", "T_BOOL", "On", "1" },
	{ "bool_false", "T_BOOL", "False", "0" },
	{ "bool_0", "T_BOOL", "0", "0" },
	{ "bool_no", "T_BOOL", "NO", "0" },
	{ "bool_off", "T_BOOL", "off", "0" },
	/* Durations, in milliseconds, and their bounds. */
	{ "dur_min", "T_DUR", "1s", "1000" },
	{ "dur_ms", "T_DUR", "1500ms", "1500" },
	{ "dur_s", "T_DUR", "30s", "30000" },
	{ "dur_m", "T_DUR", "5m", "300000" },
	{ "dur_h_is_max", "T_DUR", "1h", "3600000" },
	{ "dur_compound", "T_DUR", "1m30s", "90000" },
	{ "dur_compound_max", "T_DUR", "59m60s", "3600000" },
	{ "dur_any_zero", "T_ANYDUR", "0", "0" },
	{ "dur_any_day", "T_ANYDUR", "2d", "172800000" },
	{ "dur_any_500ms", "T_ANYDUR", "500ms", "500" },
	/* Enums, any case; the field is the index. */
	{ "enum_debug", "T_LEVEL", "debug", "0" },
	{ "enum_WARN", "T_LEVEL", "WARN", "2" },
	{ "enum_error", "T_LEVEL", "error", "3" },
	/* URLs: the scheme is checked, any case; the rest is kept. */
	{ "url_postgresql", "T_URL", "postgresql://u:p@db:5432/cf",
	    "postgresql://u:p@db:5432/cf" },
	{ "url_scheme_case", "T_URL", "POSTGRES://db/cf", "POSTGRES://db/cf" },
	{ "url_any_tcp", "T_ANYURL", "tcp://127.0.0.1:7101",
	    "tcp://127.0.0.1:7101" },
	{ "url_any_redis", "T_ANYURL", "redis://localhost:6379/0",
	    "redis://localhost:6379/0" },
	/* Zones known to ICU. */
	{ "zone_berlin", "T_ZONE", "Europe/Berlin", "Europe/Berlin" },
	{ "zone_new_york", "T_ZONE", "America/New_York", "America/New_York" },
	{ "zone_kathmandu", "T_ZONE", "Asia/Kathmandu", "Asia/Kathmandu" },
};

static void
good_values(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]);
	     i++) {
		const struct good_case *c = &good_cases[i];
		struct tcfg             cfg;
		char                    err[256], got[256];
		int                     rv;

		clear_env(NULL);
		if (c->value != NULL) {
			setenv(c->var, c->value, 1);
		}
		memset(&cfg, 0xa5, sizeof(cfg));
		rv = cf_config_load(
		    table, NTABLE, &cfg, NULL, err, sizeof(err));
		if (rv != CF_OK) {
			fail_msg("%s: rv %d: %s", c->name, rv, err);
		}
		assert_string_equal(err, "");
		field_text(
		    got, sizeof(got), find_item(table, NTABLE, c->var), &cfg);
		if (strcmp(got, c->want) != 0) {
			fail_msg(
			    "%s: got '%s', want '%s'", c->name, got, c->want);
		}
		cf_config_free(table, NTABLE, &cfg);
	}
}

/* The whole message, as cf_config_load() gives it with no prefix. */
struct bad_case {
	const char *name;
	const char *var;
	const char *value;
	const char *want;
};

#define INT_1_64 "is not an integer from 1 to 64"
#define DUR_1S_1H "is not a duration from 1s to 1h (e.g. 500ms, 30s, 5m, 1h)"
#define BOOL_WORDS "is not a boolean (true/false, yes/no, on/off, 1/0)"
#define PG_URL "is not a postgres:// or postgresql:// URL"
#define ZONE_WORDS "is not a known IANA time zone (e.g. UTC, Europe/Berlin)"

static const struct bad_case bad_cases[] = {
	{ "int_below", "T_INT", "0", "T_INT: '0' " INT_1_64 },
	{ "int_above", "T_INT", "65", "T_INT: '65' " INT_1_64 },
	{ "int_negative", "T_INT", "-1", "T_INT: '-1' " INT_1_64 },
	{ "int_word", "T_INT", "four", "T_INT: 'four' " INT_1_64 },
	{ "int_suffix", "T_INT", "4x", "T_INT: '4x' " INT_1_64 },
	{ "int_space", "T_INT", " 4", "T_INT: ' 4' " INT_1_64 },
	{ "int_hex", "T_INT", "0x10", "T_INT: '0x10' " INT_1_64 },
	{ "int_sign_only", "T_INT", "-", "T_INT: '-' " INT_1_64 },
	{ "int_newline", "T_INT", "4\n", "T_INT: '4\\x0a' " INT_1_64 },
	{ "int_overflow", "T_ANYINT", "9223372036854775808",
	    "T_ANYINT: '9223372036854775808' is not an integer" },
	{ "int_any_fraction", "T_ANYINT", "1.5",
	    "T_ANYINT: '1.5' is not an integer" },
	{ "bool_maybe", "T_BOOL", "maybe", "T_BOOL: 'maybe' " BOOL_WORDS },
	{ "bool_2", "T_BOOL", "2", "T_BOOL: '2' " BOOL_WORDS },
	{ "bool_prefix", "T_BOOL", "tru", "T_BOOL: 'tru' " BOOL_WORDS },
	{ "dur_no_unit", "T_DUR", "5", "T_DUR: '5' " DUR_1S_1H },
	{ "dur_below", "T_DUR", "999ms", "T_DUR: '999ms' " DUR_1S_1H },
	{ "dur_above", "T_DUR", "61m", "T_DUR: '61m' " DUR_1S_1H },
	{ "dur_negative", "T_DUR", "-5m", "T_DUR: '-5m' " DUR_1S_1H },
	{ "dur_space", "T_DUR", "5 m", "T_DUR: '5 m' " DUR_1S_1H },
	{ "dur_fraction", "T_DUR", "1.5h", "T_DUR: '1.5h' " DUR_1S_1H },
	{ "dur_upper_unit", "T_DUR", "5M", "T_DUR: '5M' " DUR_1S_1H },
	{ "dur_unit_only", "T_DUR", "ms", "T_DUR: 'ms' " DUR_1S_1H },
	{ "dur_zero_below", "T_DUR", "0", "T_DUR: '0' " DUR_1S_1H },
	{ "dur_overflow", "T_ANYDUR", "99999999999999999d",
	    "T_ANYDUR: '99999999999999999d' is not a duration "
	    "(e.g. 500ms, 30s, 5m, 1h)" },
	{ "enum_loud", "T_LEVEL", "loud",
	    "T_LEVEL: 'loud' is not one of debug, info, warn, error" },
	{ "enum_prefix", "T_LEVEL", "warning",
	    "T_LEVEL: 'warning' is not one of debug, info, warn, error" },
	{ "url_scheme", "T_URL", "mysql://db/cf",
	    "T_URL: 'mysql://db/cf' " PG_URL },
	{ "url_password_masked", "T_URL", "mysql://u:hunter2@db/cf",
	    "T_URL: 'mysql://u:***@db/cf' " PG_URL },
	{ "url_no_scheme", "T_URL", "localhost:5432",
	    "T_URL: 'localhost:5432' " PG_URL },
	{ "url_nothing_after", "T_URL", "postgres://",
	    "T_URL: 'postgres://' " PG_URL },
	{ "url_space", "T_URL", "postgres://db /cf",
	    "T_URL: 'postgres://db /cf' " PG_URL },
	{ "url_scheme_prefix", "T_URL", "postgresq://db",
	    "T_URL: 'postgresq://db' " PG_URL },
	{ "url_any_words", "T_ANYURL", "not a url",
	    "T_ANYURL: 'not a url' is not a URL (scheme://...)" },
	{ "url_any_empty_scheme", "T_ANYURL", "://host",
	    "T_ANYURL: '://host' is not a URL (scheme://...)" },
	{ "zone_unknown", "T_ZONE", "Mars/Olympus_Mons",
	    "T_ZONE: 'Mars/Olympus_Mons' " ZONE_WORDS },
	{ "zone_typo", "T_ZONE", "Europe/Berln",
	    "T_ZONE: 'Europe/Berln' " ZONE_WORDS },
	{ "zone_offset_text", "T_ZONE", "Berlin",
	    "T_ZONE: 'Berlin' " ZONE_WORDS },
	{ "value_cut_at_80", "T_INT",
	    "1111111111111111111111111111111111111111"
	    "1111111111111111111111111111111111111111"
	    "1111111111",
	    "T_INT: '1111111111111111111111111111111111111111"
	    "1111111111111111111111111111111111111111...' " INT_1_64 },
	{ "value_bytes_escaped", "T_LEVEL", "\x01\xff\"",
	    "T_LEVEL: '\\x01\\xff\"' is not one of debug, info, warn, "
	    "error" },
};

static void
bad_values(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct tcfg            cfg;
		char                   err[512];
		int                    rv;

		clear_env(NULL);
		/* A string set before the bad item must be freed. */
		setenv("T_STR", "set before the failure", 1);
		setenv(c->var, c->value, 1);
		memset(&cfg, 0xa5, sizeof(cfg));
		rv = cf_config_load(
		    table, NTABLE, &cfg, NULL, err, sizeof(err));
		if (rv != CF_EINVAL) {
			fail_msg("%s: rv %d, want CF_EINVAL", c->name, rv);
		}
		if (strcmp(err, c->want) != 0) {
			fail_msg(
			    "%s:\n got  %s\n want %s", c->name, err, c->want);
		}
		assert_null(strchr(err, '\n'));
		/* On failure no string is left to free. */
		assert_null(cfg.str);
		assert_null(cfg.url);
		assert_null(cfg.zone);
		assert_null(cfg.secret);
		assert_null(cfg.anyurl);
		cf_config_free(table, NTABLE, &cfg);
	}
}

/* The prefix names the program before the variable. */
static void
message_prefix(void **state)
{
	struct tcfg cfg;
	char        err[256];

	(void) state;
	setenv("T_LEVEL", "loud", 1);
	assert_int_equal(cf_config_load(table, NTABLE, &cfg, "cronfleet-clock",
	                     err, sizeof(err)),
	    CF_EINVAL);
	assert_string_equal(err,
	    "cronfleet-clock: T_LEVEL: 'loud' is not one of debug, info, "
	    "warn, error");
}

/* The first bad variable in table order is the one reported. */
static void
message_first_error(void **state)
{
	struct tcfg cfg;
	char        err[256];

	(void) state;
	setenv("T_ZONE", "Nowhere/Town", 1);
	setenv("T_INT", "100", 1);
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, NULL, err, sizeof(err)),
	    CF_EINVAL);
	assert_string_equal(err, "T_INT: '100' " INT_1_64);
}

/* A short error buffer is cut, still terminated; a NULL one is allowed. */
static void
message_short_buffer(void **state)
{
	struct tcfg cfg;
	char        err[12];

	(void) state;
	setenv("T_LEVEL", "loud", 1);
	memset(err, 'x', sizeof(err));
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, "prog", err, sizeof(err)),
	    CF_EINVAL);
	assert_string_equal(err, "prog: T_LEV");
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, NULL, NULL, 0), CF_EINVAL);
}

struct rcfg {
	char *url;
	char *token;
	char *surl;
};

static const cf_config_item req_table[] = {
	CF_CFG_URL("T_REQURL", redis_schemes, NULL, CF_CONFIG_REQUIRED,
	    struct rcfg, url, "Redis URL."),
	CF_CFG_STRING("T_REQSTR", NULL, CF_CONFIG_REQUIRED | CF_CONFIG_SECRET,
	    struct rcfg, token, "Admin token."),
	CF_CFG_URL("T_SURL", redis_schemes, NULL, CF_CONFIG_SECRET,
	    struct rcfg, surl, "A secret URL."),
};
#define NREQ (sizeof(req_table) / sizeof(req_table[0]))

struct req_case {
	const char *name;
	const char *url, *token, *surl; /* NULL: unset */
	int         rv;
	const char *want;
};

static const struct req_case req_cases[] = {
	{ "url_missing", NULL, "t", NULL, CF_EINVAL,
	    "T_REQURL: not set; expected a redis:// URL" },
	{ "url_empty", "", "t", NULL, CF_EINVAL,
	    "T_REQURL: not set; expected a redis:// URL" },
	{ "string_missing", "redis://r", NULL, NULL, CF_EINVAL,
	    "T_REQSTR: not set; expected a non-empty string" },
	/* A secret's bad value is never shown. */
	{ "secret_bad_value", "redis://r", "t", "http://u:pw@h", CF_EINVAL,
	    "T_SURL: '<redacted>' is not a redis:// URL" },
	{ "all_set", "redis://r", "t", "redis://s", CF_OK, "" },
};

static void
required_and_secret(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		struct rcfg            cfg;
		char                   err[256];

		clear_env(NULL);
		if (c->url != NULL) {
			setenv("T_REQURL", c->url, 1);
		}
		if (c->token != NULL) {
			setenv("T_REQSTR", c->token, 1);
		}
		if (c->surl != NULL) {
			setenv("T_SURL", c->surl, 1);
		}
		if (cf_config_load(
		        req_table, NREQ, &cfg, NULL, err, sizeof(err))
		        != c->rv
		    || strcmp(err, c->want) != 0) {
			fail_msg(
			    "%s: got '%s', want '%s'", c->name, err, c->want);
		}
		cf_config_free(req_table, NREQ, &cfg);
	}
}

/* CF_CONFIG_LIST: a URL item that holds several, each checked. */
static const char *const nng_schemes[] = { "tcp", "ipc", NULL };

struct lcfg {
	char *urls;
};

static const cf_config_item list_table[] = {
	CF_CFG_URL("T_LIST", nng_schemes, NULL, CF_CONFIG_LIST, struct lcfg,
	    urls, "Addresses."),
};

static const struct list_case {
	const char *name, *value;
	int         rv;
} list_cases[] = {
	{ "one", "tcp://127.0.0.1:7101", CF_OK },
	{ "two", "tcp://127.0.0.1:7101,ipc:///tmp/c2", CF_OK },
	{ "second_bad_scheme", "tcp://127.0.0.1:7101,http://h", CF_EINVAL },
	{ "trailing_comma", "tcp://127.0.0.1:7101,", CF_EINVAL },
	{ "empty_element", "tcp://a:1,,tcp://b:2", CF_EINVAL },
	{ "leading_comma", ",tcp://a:1", CF_EINVAL },
	{ "space_inside", "tcp://a:1, tcp://b:2", CF_EINVAL },
};

static void
url_lists(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]);
	     i++) {
		const struct list_case *c = &list_cases[i];
		struct lcfg             cfg;
		char                    err[256];
		int                     rv;

		setenv("T_LIST", c->value, 1);
		rv = cf_config_load(list_table, 1, &cfg, NULL, err, sizeof(err));
		if (rv != c->rv) {
			fail_msg("%s: '%s' gave %d (%s), want %d", c->name,
			    c->value, rv, err, c->rv);
		}
		if (rv == CF_OK) {
			assert_string_equal(cfg.urls, c->value);
		} else {
			assert_non_null(
			    strstr(err, "or a comma-separated list of them"));
		}
		cf_config_free(list_table, 1, &cfg);
	}
	unsetenv("T_LIST");
}

/* An invalid default is reported as such, naming the default. */
static void
bad_default(void **state)
{
	static const cf_config_item t[] = {
		CF_CFG_INT("T_BADDEF", 1, 64, "zero", struct tcfg, num, "x"),
	};
	struct tcfg cfg;
	char        err[256];

	(void) state;
	assert_int_equal(
	    cf_config_load(t, 1, &cfg, NULL, err, sizeof(err)), CF_EINVAL);
	assert_string_equal(err, "T_BADDEF: default 'zero' " INT_1_64);
	/* Set in the environment, a good value wins over the bad default. */
	setenv("T_BADDEF", "3", 1);
	assert_int_equal(
	    cf_config_load(t, 1, &cfg, NULL, err, sizeof(err)), CF_OK);
	assert_int_equal(cfg.num, 3);
}

/* cf_config_free() clears what it frees, so a second call is harmless. */
static void
free_twice(void **state)
{
	struct tcfg cfg;
	char        err[256];

	(void) state;
	setenv("T_SECRET", "s", 1);
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, NULL, err, sizeof(err)),
	    CF_OK);
	assert_non_null(cfg.secret);
	cf_config_free(table, NTABLE, &cfg);
	assert_null(cfg.str);
	assert_null(cfg.secret);
	cf_config_free(table, NTABLE, &cfg);
}

static void
dump(void **state)
{
	struct tcfg cfg;
	char        err[256];
	char       *json;
	cJSON      *o;

	(void) state;
	setenv("T_URL", "postgresql://cf:hunter2@db:5432/cf", 1);
	setenv("T_SECRET", "token-123", 1);
	setenv("T_BOOL", "yes", 1);
	setenv("T_DUR", "90s", 1);
	setenv("T_ANYINT", "-9223372036854775808", 1);
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_config_dump(table, NTABLE, &cfg, &json), CF_OK);
	assert_null(strstr(json, "hunter2"));
	assert_null(strstr(json, "token-123"));
	assert_non_null(o = cJSON_Parse(json));
	assert_int_equal(cJSON_GetArraySize(o), NTABLE);
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_STR")->valuestring, "hello");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "T_INT")));
	assert_int_equal(cJSON_GetObjectItem(o, "T_INT")->valueint, 4);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "T_BOOL")));
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_DUR")->valuestring, "90s");
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_LEVEL")->valuestring, "info");
	assert_string_equal(cJSON_GetObjectItem(o, "T_URL")->valuestring,
	    "postgresql://cf:***@db:5432/cf");
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_ZONE")->valuestring, "UTC");
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_SECRET")->valuestring, "<redacted>");
	/* Beyond 2^53 an integer is kept exact as text. */
	assert_string_equal(cJSON_GetObjectItem(o, "T_ANYINT")->valuestring,
	    "-9223372036854775808");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "T_ANYURL")));
	assert_string_equal(
	    cJSON_GetObjectItem(o, "T_ANYDUR")->valuestring, "0s");
	cJSON_Delete(o);
	free(json);
	cf_config_free(table, NTABLE, &cfg);
}

/* An unset secret dumps as null, not as "<redacted>". */
static void
dump_unset_secret(void **state)
{
	struct tcfg cfg;
	char        err[256];
	char       *json;

	(void) state;
	assert_int_equal(
	    cf_config_load(table, NTABLE, &cfg, NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_config_dump(table, NTABLE, &cfg, &json), CF_OK);
	assert_non_null(strstr(json, "\"T_SECRET\":null"));
	free(json);
	cf_config_free(table, NTABLE, &cfg);
}

struct dur_case {
	const char *text;
	int64_t     ms;
	const char *canonical;
};

static const struct dur_case dur_cases[] = {
	{ "0", 0, "0s" },
	{ "0s", 0, "0s" },
	{ "1ms", 1, "1ms" },
	{ "1500ms", 1500, "1500ms" },
	{ "1000ms", 1000, "1s" },
	{ "90s", 90000, "90s" },
	{ "60s", 60000, "1m" },
	{ "1h30m", 5400000, "90m" },
	{ "24h", 86400000, "1d" },
	{ "1d1ms", 86400001, "86400001ms" },
	{ "106751991167d", 106751991167LL * 86400000, "106751991167d" },
};

static void
durations(void **state)
{
	static const char *const bad[] = { "", "m", "1", "1x", "1 s", "1s ",
		"-1s", "1.0s", "1S", "106751991168d", "9223372036854775808ms",
		"1h-1m", NULL };
	char                     buf[32];

	(void) state;
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		int64_t ms = -1;
		assert_int_equal(
		    cf_config_parse_duration(dur_cases[i].text, &ms), CF_OK);
		assert_int_equal(ms, dur_cases[i].ms);
		assert_true(
		    cf_config_format_duration(buf, sizeof(buf), ms) > 0);
		assert_string_equal(buf, dur_cases[i].canonical);
	}
	for (size_t i = 0; bad[i] != NULL; i++) {
		int64_t ms = -1;
		if (cf_config_parse_duration(bad[i], &ms) != CF_EINVAL) {
			fail_msg("'%s' parsed as %" PRId64, bad[i], ms);
		}
	}
	assert_int_equal(
	    cf_config_parse_duration(NULL, &(int64_t) { 0 }), CF_EINVAL);
	assert_int_equal(cf_config_format_duration(buf, 3, 1500), -1);
}

/* Runs cf_config_load_or_exit() in a child with stderr on a pipe. */
static int
run_child(const char *var, const char *value, char *out, size_t outlen)
{
	int    fds[2], status;
	pid_t  pid;
	size_t got = 0;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tcfg cfg;
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv(var, value, 1);
		cf_config_load_or_exit(table, NTABLE, &cfg, "cronfleet-test");
		cf_config_free(table, NTABLE, &cfg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + got, outlen - 1 - got);
		if (n <= 0) {
			break;
		}
		got += (size_t) n;
	}
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

static void
exit_status_2(void **state)
{
	char out[1024];

	(void) state;
	assert_int_equal(run_child("T_LEVEL", "loud", out, sizeof(out)), 2);
	assert_string_equal(out,
	    "cronfleet-test: T_LEVEL: 'loud' is not one of debug, info, "
	    "warn, error\n");
	assert_int_equal(
	    run_child("T_ZONE", "Mars/Olympus_Mons", out, sizeof(out)), 2);
	assert_string_equal(out,
	    "cronfleet-test: T_ZONE: 'Mars/Olympus_Mons' " ZONE_WORDS "\n");
	/* A good value: load_or_exit returns and nothing is printed. */
	assert_int_equal(run_child("T_LEVEL", "debug", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
usage(void **state)
{
	char   buf[4096];
	size_t n;
	FILE  *fp = tmpfile();

	(void) state;
	assert_non_null(fp);
	cf_config_usage(table, NTABLE, fp);
	rewind(fp);
	n      = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf,
	    "# Least level logged. (one of debug, info, warn, error)\n"
	    "T_LEVEL=info\n"));
	assert_non_null(strstr(buf,
	    "# Workers. (an integer from 1 to 64)\n"
	    "T_INT=4\n"));
	assert_non_null(strstr(buf, "; secret)\n#T_SECRET=\n"));
}

/* "probe": load from the real environment, print the dump, exit 0 (or 2
 * through cf_config_load_or_exit). */
static int
probe(void)
{
	struct tcfg cfg;
	char       *json;

	cf_config_load_or_exit(table, NTABLE, &cfg, "probe");
	if (cf_config_dump(table, NTABLE, &cfg, &json) != CF_OK) {
		return (1);
	}
	printf("%s\n", json);
	free(json);
	cf_config_free(table, NTABLE, &cfg);
	return (0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(good_values, clear_env),
		cmocka_unit_test_setup(bad_values, clear_env),
		cmocka_unit_test_setup(message_prefix, clear_env),
		cmocka_unit_test_setup(message_first_error, clear_env),
		cmocka_unit_test_setup(message_short_buffer, clear_env),
		cmocka_unit_test_setup(required_and_secret, clear_env),
		cmocka_unit_test_setup(url_lists, clear_env),
		cmocka_unit_test_setup(bad_default, clear_env),
		cmocka_unit_test_setup(free_twice, clear_env),
		cmocka_unit_test_setup(dump, clear_env),
		cmocka_unit_test_setup(dump_unset_secret, clear_env),
		cmocka_unit_test(durations),
		cmocka_unit_test_setup(exit_status_2, clear_env),
		cmocka_unit_test(usage),
	};

	if (argc > 1 && strcmp(argv[1], "probe") == 0) {
		return (probe());
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
