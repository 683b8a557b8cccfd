/*
 * cf_config.h - a service's configuration, as one table read from the
 * environment once at start.
 *
 * Each service declares a struct of settings and a table that says, for
 * every environment variable, its type, what it accepts, its default and
 * where in the struct it lands (as Redis's config.c does). cf_config_load()
 * reads and validates the whole table; the service then passes the struct
 * around as const. An invalid value stops the process: see
 * cf_config_load_or_exit().
 *
 *	struct clock_config {
 *		int      log_level;
 *		char *   database_url;
 *		char *   zone;
 *		int64_t  workers;
 *		int64_t  run_timeout_ms;
 *		bool     enabled;
 *	};
 *	static const char *const pg_schemes[] = { "postgres", "postgresql",
 *		NULL };
 *	static const cf_config_item clock_table[] = {
 *		CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names,
 *		    "info", struct clock_config, log_level,
 *		    "Least level logged."),
 *		CF_CFG_URL("DATABASE_URL", pg_schemes, NULL,
 *		    CF_CONFIG_REQUIRED, struct clock_config, database_url,
 *		    "PostgreSQL connection URL."),
 *		...
 *	};
 *
 * The field types are fixed per item type, and the CF_CFG_* macros check
 * them at compile time:
 *
 *	string, url, zone   char *    (owned by the struct; NULL when unset)
 *	int, duration       int64_t   (a duration is in milliseconds)
 *	bool                bool
 *	enum                int       (index into the item's values; -1 when
 *	                               unset without a default)
 *
 * A variable set to the empty string counts as unset, as docker-compose
 * writes "NAME=" for a variable it passes through without a value.
 */
#ifndef CF_CONFIG_H
#define CF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cf_config_type {
	CF_CONFIG_STRING,   /* any non-empty text */
	CF_CONFIG_INT,      /* decimal integer within [min, max] */
	CF_CONFIG_BOOL,     /* true/false, 1/0, yes/no, on/off, any case */
	CF_CONFIG_DURATION, /* "500ms", "30s", "5m", "1h", "2d", "1h30m" */
	CF_CONFIG_ENUM,     /* one of values, any case */
	CF_CONFIG_URL,      /* "scheme://rest", scheme one of values */
	CF_CONFIG_ZONE,     /* an IANA time zone known to ICU */
} cf_config_type;

/* Item flags. */
#define CF_CONFIG_SECRET 0x1u   /* never shown: dump and messages redact it */
#define CF_CONFIG_REQUIRED 0x2u /* unset (and no default) is an error */
/* A URL item holding a comma-separated list of URLs, each checked
 * (several clocks' addresses); the value is kept as given. */
#define CF_CONFIG_LIST 0x4u

typedef struct cf_config_item {
	const char    *name; /* the environment variable */
	cf_config_type type;
	unsigned       flags; /* CF_CONFIG_SECRET | _REQUIRED | _LIST */
	/*
	 * Bounds, inclusive. For an int, min == max == 0 means any int64_t;
	 * for a duration (milliseconds), any non-negative value.
	 */
	int64_t min;
	int64_t max;
	/*
	 * NULL-terminated: the accepted words of an enum (lower case; the
	 * field gets the index), or the accepted schemes of a URL (NULL
	 * means any scheme).
	 */
	const char *const *values;
	const char        *def; /* default text, parsed as a value; or NULL */
	size_t             offset; /* of the field in the caller's struct */
	const char        *help;   /* one sentence, for usage and the README */
} cf_config_item;

/*
 * Table rows with the field's type checked at compile time: a field of the
 * wrong type is a compile error (no _Generic association matches).
 */
#define CF__CFG_OFF(st, field, ctype)                                         \
	(offsetof(st, field)                                                  \
	    + 0 * sizeof(_Generic(((st *) 0)->field, ctype : 1)))

#define CF_CFG_STRING(name_, def_, flags_, st, field, help_)                  \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_STRING, .flags = (flags_), \
		.def = (def_), .offset = CF__CFG_OFF(st, field, char *),      \
		.help = (help_)                                               \
	}
#define CF_CFG_INT(name_, min_, max_, def_, st, field, help_)                 \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_INT, .min = (min_),        \
		.max = (max_), .def = (def_),                                 \
		.offset = CF__CFG_OFF(st, field, int64_t), .help = (help_)    \
	}
#define CF_CFG_BOOL(name_, def_, st, field, help_)                            \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_BOOL, .def = (def_),       \
		.offset = CF__CFG_OFF(st, field, bool), .help = (help_)       \
	}
#define CF_CFG_DURATION(name_, min_, max_, def_, st, field, help_)            \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_DURATION, .min = (min_),   \
		.max = (max_), .def = (def_),                                 \
		.offset = CF__CFG_OFF(st, field, int64_t), .help = (help_)    \
	}
#define CF_CFG_ENUM(name_, values_, def_, st, field, help_)                   \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_ENUM, .values = (values_), \
		.def = (def_), .offset = CF__CFG_OFF(st, field, int),         \
		.help = (help_)                                               \
	}
#define CF_CFG_URL(name_, schemes_, def_, flags_, st, field, help_)           \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_URL, .flags = (flags_),    \
		.values = (schemes_), .def = (def_),                          \
		.offset = CF__CFG_OFF(st, field, char *), .help = (help_)     \
	}
#define CF_CFG_ZONE(name_, def_, st, field, help_)                            \
	{                                                                     \
		.name = (name_), .type = CF_CONFIG_ZONE, .def = (def_),       \
		.offset = CF__CFG_OFF(st, field, char *), .help = (help_)     \
	}

/*
 * Reads every item of table (n rows) from the environment with getenv(),
 * once each; an unset or empty variable takes the item's default. Each
 * value is validated and written into out at the item's offset.
 *
 * Returns CF_OK, CF_EINVAL for an invalid or missing value, or CF_ENOMEM.
 * On failure err holds one line (no newline) that names the variable, the
 * value and what is accepted, prefixed by "<prefix>: " when prefix is not
 * NULL:
 *	"CRONFLEET_LOG_LEVEL: 'loud' is not one of debug, info, warn, error"
 * Values of secret items are shown as '<redacted>', URL passwords as ***.
 *
 * Ownership: on success the string fields of out hold strings owned by
 * out, released with cf_config_free(). On failure every string field of
 * the table is NULL (nothing to free). Call it before starting threads:
 * getenv() races with setenv().
 */
int cf_config_load(const cf_config_item *table, size_t n, void *out,
    const char *prefix, char *err, size_t errlen);

/*
 * If rv is not CF_OK: writes err (with a newline) to stderr as one line
 * and exits with status 2. Otherwise returns.
 */
void cf_config_die_on_error(int rv, const char *err);

/*
 * cf_config_load(), then cf_config_die_on_error(): what a service's
 * main() calls. Returns only on success; out then owns its strings.
 */
void cf_config_load_or_exit(
    const cf_config_item *table, size_t n, void *out, const char *prefix);

/*
 * Frees the string fields of cfg that table describes and sets them to
 * NULL; other fields are left as they are. Safe to call twice.
 */
void cf_config_free(const cf_config_item *table, size_t n, void *cfg);

/*
 * The effective configuration as one JSON object, keyed by variable name,
 * in table order: ints as numbers, bools as true/false, durations as text
 * ("5m"), enums as their word, unset strings as null. Secret items that
 * are set show "<redacted>"; URL passwords show "***".
 *
 * Returns CF_OK with *out_json a NUL-terminated string the caller frees
 * with free(), or CF_ENOMEM.
 */
int cf_config_dump(
    const cf_config_item *table, size_t n, const void *cfg, char **out_json);

/*
 * Writes the table in .env form to fp, one commented block per variable:
 *	# Least level logged. (one of debug, info, warn, error)
 *	CRONFLEET_LOG_LEVEL=info
 * A variable without a default is written commented out ("#NAME=").
 */
void cf_config_usage(const cf_config_item *table, size_t n, FILE *fp);

/*
 * Formats a duration in milliseconds with the largest unit that divides it
 * ("5m", "1500ms", "0s") into buf. Returns the length, or -1 if len is
 * short (24 bytes always suffice).
 */
int cf_config_format_duration(char *buf, size_t len, int64_t ms);

/*
 * Parses a duration as CF_CONFIG_DURATION accepts it: one or more
 * <digits><unit> with unit ms, s, m, h or d ("1h30m"), or "0". Returns
 * CF_OK with *out_ms set, or CF_EINVAL (also on overflow).
 */
int cf_config_parse_duration(const char *s, int64_t *out_ms);

#endif /* CF_CONFIG_H */
