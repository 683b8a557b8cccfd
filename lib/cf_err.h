/*
 * cf_err.h - error codes shared by the cronfleet runtime.
 *
 * Functions that can fail return int: 0 on success or one of the codes
 * below. cf_strerror() gives a short, static English text for a code.
 */
#ifndef CF_ERR_H
#define CF_ERR_H

#include <stddef.h>

enum cf_err {
	CF_OK      = 0,
	CF_EINVAL  = 1, /* bad input: the caller's error buffer says why */
	CF_ENOENT  = 2, /* nothing found (no fire in the supported range) */
	CF_ENOMEM  = 3, /* out of memory */
	CF_ERANGE  = 4, /* an instant outside the supported range */
	CF_ETZ     = 5, /* unknown or unusable time zone */
	CF_ESYSTEM = 6, /* a library or system call failed */
	CF_ETIMEDOUT = 7, /* no answer in time */
	CF_EPROTO  = 8, /* a malformed or unexpected message */
	CF_EDB     = 9, /* PostgreSQL refused or failed a statement */
	CF_ECONN   = 10, /* a peer (database, Redis, socket) is unreachable */
	CF_ETOOBIG = 11, /* over a size limit */
	CF_EEXIST  = 12, /* already there (e.g. a run for this fire) */
	CF_ECLOSED = 13, /* shut down */
};

/* Returns a static string for err; never NULL. */
const char *cf_strerror(int err);

/*
 * Formats a message into a caller's error buffer (err may be NULL or
 * errlen 0: then nothing is written). Truncates, always NUL-terminates.
 */
void cf_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* CF_ERR_H */
