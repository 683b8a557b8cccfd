/*
 * cf_nng.h - the four socket roles the fleet uses, over nng 1.5.
 *
 *   cf_rep  a service's command socket: worker threads, each with its own
 *           context, receive a request, call the handler (which may block
 *           on PostgreSQL, Redis or HTTP) and send its reply.
 *   cf_req  one request, one reply, with a deadline (gateway, clock
 *           registration, tests).
 *   cf_pub  topic-prefixed messages out (ticks, events).
 *   cf_sub  topic-prefixed messages in, delivered to a callback from one
 *           receiving thread.
 *
 * Every socket that receives has NNG_OPT_RECVMAXSZ set before it listens
 * or dials: nng's default is unlimited. A message is a topic, then one
 * space, then the payload; messages are built by appending only
 * (nng_msg_insert corrupts the heap in nng 1.5.2).
 */
#ifndef CF_NNG_H
#define CF_NNG_H

#include <stddef.h>
#include <stdint.h>

#include "cf_err.h"

/* The largest message any socket accepts, unless told otherwise. */
#define CF_NNG_MAX_MSG (1024 * 1024)

typedef struct cf_rep cf_rep;
typedef struct cf_req cf_req;
typedef struct cf_pub cf_pub;
typedef struct cf_sub cf_sub;

/*
 * Handles one request. req/len is the request body (not NUL-terminated).
 * The handler sets *reply to a malloc'd buffer of *reply_len bytes, which
 * cf_rep frees after sending; leaving *reply NULL sends an empty reply. It
 * runs on a worker thread and may block; several run at once.
 */
typedef void (*cf_rep_fn)(void *arg, const uint8_t *req, size_t len,
    uint8_t **reply, size_t *reply_len);

/*
 * Listens on url with nworkers worker threads (at least 1), accepting
 * requests up to max_msg bytes (0 means CF_NNG_MAX_MSG). On success *out
 * owns the server; stop it with cf_rep_close(). err gets nng's message.
 */
int cf_rep_open(cf_rep **out, const char *url, int nworkers, size_t max_msg,
    cf_rep_fn fn, void *arg, char *err, size_t errlen);

/* Stops taking requests, lets running handlers finish, frees. */
void cf_rep_close(cf_rep *rep);

/*
 * A REQ socket dialling url (in the background: the peer may start
 * later). url may be a comma-separated list of addresses: the socket
 * dials each, and a request goes to one that is connected (as for the
 * clock's replicas, of which only the leader listens). Requests are not
 * resent by nng (a handler that is not idempotent must not run twice);
 * each waits at most its deadline.
 */
int cf_req_open(cf_req **out, const char *url, char *err, size_t errlen);
void cf_req_close(cf_req *req);

/*
 * Sends req/len and waits up to timeout_ms for the reply. On success
 * *reply is a malloc'd, NUL-terminated copy of the reply (*reply_len
 * excludes the NUL) the caller frees. Returns CF_ETIMEDOUT when no reply
 * came in time, CF_ECONN when the peer cannot be reached. One request at
 * a time per cf_req (it is locked); open one per thread for parallelism.
 */
int cf_req_call(cf_req *req, const void *msg, size_t len, int timeout_ms,
    uint8_t **reply, size_t *reply_len, char *err, size_t errlen);

/* A PUB socket listening on url. */
int cf_pub_open(cf_pub **out, const char *url, char *err, size_t errlen);
void cf_pub_close(cf_pub *pub);

/*
 * Publishes a message that holds its topic, a space, then the payload (as
 * the proto encoders for ticks and events produce it). Thread-safe.
 * Subscribers that are slow lose the oldest messages (nng drops them):
 * nothing published here may be the only record of anything.
 */
int cf_pub_send_msg(cf_pub *pub, const void *msg, size_t len);

/*
 * Called for each message received: topic is NUL-terminated (the part
 * before the first space); msg/len is the whole message, topic included,
 * as the proto decoders take it (the payload starts strlen(topic) + 1 in).
 * Runs on the receiving thread; the buffers are valid only during the
 * call.
 */
typedef void (*cf_sub_fn)(void *arg, const char *topic, const uint8_t *msg,
    size_t len);

/*
 * A SUB socket dialling each of the ndial urls, subscribed to each of
 * the nprefix topic prefixes, delivering to fn from one thread. Messages
 * over max_msg (0: CF_NNG_MAX_MSG) or without a space are dropped.
 */
int cf_sub_open(cf_sub **out, const char *const *urls, int ndial,
    const char *const *prefixes, int nprefix, size_t max_msg, cf_sub_fn fn,
    void *arg, char *err, size_t errlen);

/* Stops the receiving thread (waiting for a callback in progress). */
void cf_sub_close(cf_sub *sub);

#endif /* CF_NNG_H */
