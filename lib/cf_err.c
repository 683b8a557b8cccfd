#include <stdarg.h>
#include <stdio.h>

#include "cf_err.h"

void
cf_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
cf_strerror(int err)
{
	switch (err) {
	case CF_OK:
		return ("ok");
	case CF_EINVAL:
		return ("invalid argument");
	case CF_ENOENT:
		return ("not found");
	case CF_ENOMEM:
		return ("out of memory");
	case CF_ERANGE:
		return ("out of range");
	case CF_ETZ:
		return ("unknown time zone");
	case CF_ESYSTEM:
		return ("system error");
	case CF_ETIMEDOUT:
		return ("timed out");
	case CF_EPROTO:
		return ("malformed message");
	case CF_EDB:
		return ("database error");
	case CF_ECONN:
		return ("connection failed");
	case CF_ETOOBIG:
		return ("too big");
	case CF_EEXIST:
		return ("already exists");
	case CF_ECLOSED:
		return ("closed");
	}
	return ("unknown error");
}
