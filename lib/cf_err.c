#include "cf_err.h"

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
	}
	return ("unknown error");
}
