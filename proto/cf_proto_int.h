/*
 * cf_proto_int.h - helpers shared by the msgpack codec (cf_proto.c) and
 * the text form (cf_proto_text.c). Not part of the public interface.
 */
#ifndef CF_PROTO_INT_H
#define CF_PROTO_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "cf_proto.h"

#if defined(__GNUC__)
#define CF__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CF__PRINTF(a, b)
#endif

/* Writes a message into err (if errlen > 0); always NUL-terminated. */
void cf__proto_errf(char *err, size_t errlen, const char *fmt, ...)
    CF__PRINTF(3, 4);

/* 1 if s[0..len) is well-formed UTF-8 without NUL bytes, else 0. */
int cf__proto_utf8_valid(const char *s, size_t len);

/* 1 if s[0..len) is one JSON value (surrounding white space allowed). */
int cf__proto_json_valid(const char *s, size_t len);

/* 1 if s[0..len) is a valid command verb ([a-z0-9_-], 1..MAX_CMD). */
int cf__proto_cmd_valid(const char *s, size_t len);

/* A copy of s[0..len) with a NUL appended, or NULL (out of memory). */
char *cf__proto_strndup(const char *s, size_t len);

/*
 * Checks every field of c against the limits of cf_proto.h (not
 * c->known). Returns 0 or code (CF_EINVAL for encoders, CF_EPROTO for
 * decoders) with err saying which field.
 */
int cf__proto_command_check(
    const cf_command *c, int code, char *err, size_t errlen);

/* Decodes a text or JSON object request (see cf_proto_request_decode). */
int cf__proto_command_decode_text(
    const char *buf, size_t len, cf_command **out, char *err, size_t errlen);

#endif /* CF_PROTO_INT_H */
