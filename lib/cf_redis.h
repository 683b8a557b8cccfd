/*
 * cf_redis.h - a Redis connection for one thread (hiredis 0.14).
 *
 * A cf_redis wraps one blocking redisContext. It is not shared between
 * threads: each worker thread opens its own.
 *
 * hiredis 0.14 cannot reuse a context once it has an error, so after an
 * I/O error, an end of file or a timeout the handle drops the context and
 * the next command connects afresh (AUTH and SELECT included). The rules:
 *
 *  - before sending, the handle checks whether the server closed the
 *    connection while it sat idle (CLIENT KILL, a restart, the server's
 *    idle timeout); if so it reconnects and sends: the command had not
 *    gone out, so this is safe for every command;
 *  - when the connection breaks after the command went out, it may have
 *    run. cf_redis_cmd() then fails with CF_ECONN; cf_redis_cmd_idem(),
 *    for commands the caller knows are idempotent (GET, SET without
 *    side effects on counters, DEL, EXPIRE, PING...), reconnects and sends
 *    it once more;
 *  - at most one reconnect per call;
 *  - a command timeout (the server does not answer in time) is
 *    CF_ETIMEDOUT and is not retried: a slow server would only make the
 *    caller wait twice.
 *
 * Errors: CF_ECONN (unreachable, connection lost), CF_ETIMEDOUT, CF_EPROTO
 * (the server answered with an error reply, e.g. WRONGTYPE, or spoke
 * garbage; the reply's text is in err), CF_EINVAL (bad URL or format),
 * CF_ENOMEM. The password in the URL never appears in err.
 *
 * hiredis writes with write(2), which raises SIGPIPE on a connection the
 * server has reset; every call here blocks SIGPIPE in the calling thread
 * while it talks to Redis and discards one it caused, so the process need
 * not ignore SIGPIPE.
 *
 * err/errlen: on failure a NUL-terminated message is written into err
 * (truncated to errlen); err may be NULL when errlen is 0.
 */
#ifndef CF_REDIS_H
#define CF_REDIS_H

#include <stddef.h>
#include <stdarg.h>

#include <hiredis/hiredis.h>

#define CF_REDIS_CONNECT_TIMEOUT_MS 2000
#define CF_REDIS_COMMAND_TIMEOUT_MS 5000

/* Flags for cf_redis_vcmd(). */
#define CF_REDIS_IDEMPOTENT 0x1 /* may be sent again after a lost reply */

typedef struct cf_redis cf_redis;

/*
 * Connects to url, "redis://[[user]:password@]host[:port][/db]" (port
 * 6379 and db 0 by default; user and password percent-decoded; an IPv6
 * host in brackets), sends AUTH and SELECT as needed. On success *out is
 * a new handle owned by the caller, freed with cf_redis_close(); on
 * failure *out is NULL (CF_EINVAL, CF_ECONN, CF_ETIMEDOUT, CF_EPROTO when
 * AUTH or SELECT is refused, CF_ENOMEM).
 */
int cf_redis_open(cf_redis **out, const char *url, char *err, size_t errlen);

/* Closes the connection and frees r; NULL is ignored. */
void cf_redis_close(cf_redis *r);

/*
 * Sets the command timeout (connect timeout unchanged), in milliseconds,
 * > 0. Applies at once and to later reconnects.
 */
int cf_redis_set_timeout(cf_redis *r, int ms);

/*
 * Sends one command, formatted as hiredis's redisCommand() does (%s a C
 * string, %b a pointer and a size_t length, %d %lld ... numbers), and
 * reads its reply. On success returns CF_OK and, if out is not NULL,
 * stores the reply in *out: the caller owns it and frees it with
 * freeReplyObject(). An error reply is a failure (CF_EPROTO with its
 * text). On failure *out is NULL and nothing is left to free.
 * cf_redis_cmd() never sends a command twice; cf_redis_cmd_idem() may
 * (see above).
 */
int cf_redis_cmd(cf_redis *r, redisReply **out, char *err, size_t errlen,
    const char *fmt, ...);
int cf_redis_cmd_idem(cf_redis *r, redisReply **out, char *err, size_t errlen,
    const char *fmt, ...);
int cf_redis_vcmd(cf_redis *r, int flags, redisReply **out, char *err,
    size_t errlen, const char *fmt, va_list ap);

/* PING, expecting PONG (idempotent), for health checks. */
int cf_redis_ping(cf_redis *r, char *err, size_t errlen);

#endif /* CF_REDIS_H */
