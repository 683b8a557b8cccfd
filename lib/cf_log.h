/*
 * cf_log.h - JSON-lines logging: one object per line on stderr.
 *
 *	{"ts":"2025-03-30T01:30:00.250Z","level":"info","service":"clock",
 *	 "job":"energy-sync","run_id":"42","msg":"run finished","rows":"17"}
 *
 * Keys, in this order: ts (RFC 3339 UTC with milliseconds), level,
 * service, job and run_id (each omitted when NULL or empty), msg, then
 * the extra fields of cf_log_kv(). Text is made valid UTF-8 (a bad byte
 * becomes U+FFFD) and escaped by cJSON, so every line parses as JSON
 * whatever bytes a message holds. A message longer than CF_LOG_MSG_MAX
 * bytes is cut and the line gets "truncated":true.
 *
 * The macros test the level before they evaluate their arguments: a
 * cf_log_debug() whose arguments call functions costs one comparison when
 * debug is off. Logging is thread-safe: each line goes out in one write(2)
 * under a lock, so lines from several threads never interleave. It keeps
 * errno as it was.
 *
 * The level comes from CRONFLEET_LOG_LEVEL through the service's config
 * table, whose enum index is the level:
 *	CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names, "info",
 *	    struct clock_config, log_level, "Least level logged."),
 *	...
 *	cf_log_init("clock", cfg.log_level);
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include <stddef.h>

enum cf_log_level {
	CF_LOG_DEBUG = 0,
	CF_LOG_INFO  = 1,
	CF_LOG_WARN  = 2,
	CF_LOG_ERROR = 3,
};

/* Longest message, in bytes, before it is cut. */
#define CF_LOG_MSG_MAX 8192

/* "debug", "info", "warn", "error", NULL: indexed by enum cf_log_level. */
extern const char *const cf_log_level_names[];

#if defined(__GNUC__) || defined(__clang__)
#define CF__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CF__SENTINEL __attribute__((sentinel))
#else
#define CF__PRINTF(f, a)
#define CF__SENTINEL
#endif

/*
 * Sets the service name written on every line (copied; NULL means
 * "cronfleet"; cut at 63 bytes) and the least level written (clamped to
 * CF_LOG_DEBUG..CF_LOG_ERROR). Before any call, the service is
 * "cronfleet" and the level CF_LOG_INFO. Call it before starting threads.
 */
void cf_log_init(const char *service, int level);

/* Changes the least level written; safe from any thread. */
void cf_log_set_level(int level);

/* The least level written. */
int cf_log_level(void);

/* 1 if a line at level would be written. */
int cf_log_enabled(int level);

/*
 * Sends lines to fd instead of stderr (2), e.g. a pipe in tests, and
 * returns the previous descriptor. The caller keeps ownership of both:
 * logging never closes a descriptor. Safe from any thread.
 */
int cf_log_set_fd(int fd);

/*
 * Parses a level name ("debug", "info", "warn", "error"; any case) into
 * *out. Returns CF_OK, or CF_EINVAL (NULL or unknown; *out untouched).
 */
int cf_log_level_parse(const char *name, int *out);

/*
 * The functions behind the macros; call the macros instead. Every string
 * may be NULL: job and run_id are then omitted, fmt and msg print as
 * empty, a NULL field value as JSON null. Nothing passed is retained.
 */
void cf__log(int level, const char *job, const char *run_id, const char *fmt,
    ...) CF__PRINTF(4, 5);
void cf__log_kv(int level, const char *job, const char *run_id,
    const char *msg, ...) CF__SENTINEL;

/* A printf-style line without job: cf_log_info("listening on %s", url). */
#define cf_log_debug(...) cf_log_job(CF_LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define cf_log_info(...) cf_log_job(CF_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define cf_log_warn(...) cf_log_job(CF_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define cf_log_error(...) cf_log_job(CF_LOG_ERROR, NULL, NULL, __VA_ARGS__)

/*
 * A printf-style line about a job's run:
 *	cf_log_job(CF_LOG_WARN, "energy-sync", run_id, "retry %d", n);
 * job and run_id are evaluated only when the level is enabled.
 */
#define cf_log_job(level, job, run_id, ...)                                   \
	do {                                                                  \
		int cf__lvl = (level);                                        \
		if (cf_log_enabled(cf__lvl)) {                                \
			cf__log(cf__lvl, (job), (run_id), __VA_ARGS__);       \
		}                                                             \
	} while (0)

/*
 * A line with a fixed message and extra string fields, as key/value pairs
 * ended by NULL:
 *	cf_log_kv(CF_LOG_INFO, job, run_id, "run finished",
 *	    "state", "succeeded", "rows", rows_text, NULL);
 * A key already on the line (ts, level, ..., msg, or an earlier field)
 * gets '_' prepended until it is unique ("_msg"): nothing is replaced.
 */
#define cf_log_kv(level, job, run_id, ...)                                    \
	do {                                                                  \
		int cf__lvl = (level);                                        \
		if (cf_log_enabled(cf__lvl)) {                                \
			cf__log_kv(cf__lvl, (job), (run_id), __VA_ARGS__);    \
		}                                                             \
	} while (0)

#endif /* CF_LOG_H */
