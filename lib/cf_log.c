/*
 * cf_log.c - JSON-lines logging through cJSON, one write(2) per line.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"

/* Longest extra-field key, in bytes, before it is cut. */
#define LOG_KEY_MAX 128

const char *const cf_log_level_names[]
    = { "debug", "info", "warn", "error", NULL };

/*
 * The level is read on every macro call from any thread, without the lock;
 * the descriptor and service name change rarely and are read under it.
 */
static atomic_int      log_min         = CF_LOG_INFO;
static pthread_mutex_t log_lock        = PTHREAD_MUTEX_INITIALIZER;
static int             log_fd          = 2;
static char            log_service[64] = "cronfleet";

static const char log_oom_line[]
    = "{\"level\":\"error\",\"service\":\"cronfleet\","
      "\"msg\":\"log: out of memory\"}\n";

static int
log_clamp(int level)
{
	if (level < CF_LOG_DEBUG) {
		return (CF_LOG_DEBUG);
	}
	return (level > CF_LOG_ERROR ? CF_LOG_ERROR : level);
}

void
cf_log_init(const char *service, int level)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_service, sizeof(log_service), "%s",
	    service != NULL ? service : "cronfleet");
	pthread_mutex_unlock(&log_lock);
	atomic_store(&log_min, log_clamp(level));
}

void
cf_log_set_level(int level)
{
	atomic_store(&log_min, log_clamp(level));
}

int
cf_log_level(void)
{
	return (atomic_load(&log_min));
}

int
cf_log_enabled(int level)
{
	return (level >= atomic_load_explicit(&log_min, memory_order_relaxed));
}

int
cf_log_set_fd(int fd)
{
	int old;

	pthread_mutex_lock(&log_lock);
	old    = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	return (old);
}

int
cf_log_level_parse(const char *name, int *out)
{
	if (name == NULL) {
		return (CF_EINVAL);
	}
	for (int i = 0; cf_log_level_names[i] != NULL; i++) {
		if (strcasecmp(name, cf_log_level_names[i]) == 0) {
			*out = i;
			return (CF_OK);
		}
	}
	return (CF_EINVAL);
}

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. p is
 * NUL-terminated, and NUL is no continuation byte, so we never read past
 * it.
 */
static size_t
log_utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t   n;

	if (c < 0x80) {
		return (1);
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
	} else {
		return (0);
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return (0);
		}
	}
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)
	    || (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) {
		return (0);
	}
	return (n);
}

/*
 * Makes s fit for a JSON string: at most max bytes (cut before a whole
 * character; *cut set), every ill-formed byte replaced by U+FFFD. cJSON
 * escapes the rest. Returns s itself when it is already fine, else a
 * malloc'd copy left in *owned for the caller to free; NULL when out of
 * memory.
 */
static const char *
log_clean(const char *s, size_t max, char **owned, int *cut)
{
	size_t len = strlen(s), keep = len, i, n, o = 0;
	char  *out;

	*owned = NULL;
	if (len > max) {
		keep = max;
		while (keep > 0 && ((unsigned char) s[keep] & 0xc0) == 0x80) {
			keep--;
		}
		if (cut != NULL) {
			*cut = 1;
		}
	}
	for (i = 0; i < keep; i += n) {
		n = log_utf8_len((const unsigned char *) s + i);
		if (n == 0 || i + n > keep) {
			break;
		}
	}
	if (i == keep && keep == len) {
		return (s);
	}
	if ((out = malloc(keep * 3 + 1)) == NULL) {
		return (NULL);
	}
	for (i = 0; i < keep; i += n) {
		n = log_utf8_len((const unsigned char *) s + i);
		if (n == 0 || i + n > keep) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	*owned = out;
	return (out);
}

/*
 * Adds key: value (NULL value: null) to obj, cleaning both and prefixing
 * '_' to a key already present. Returns 0, or -1 when out of memory.
 */
static int
log_add(cJSON *obj, const char *key, const char *value, int *cut)
{
	char       *kown = NULL, *vown = NULL, *uniq = NULL;
	const char *k, *v = NULL;
	cJSON      *item;
	int         rv = -1;

	if ((k = log_clean(key, LOG_KEY_MAX, &kown, NULL)) == NULL) {
		return (-1);
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, k) != NULL) {
		size_t klen = strlen(k), pre = 1;

		if ((uniq = malloc(klen + LOG_KEY_MAX + 2)) == NULL) {
			goto out;
		}
		do {
			memset(uniq, '_', pre);
			memcpy(uniq + pre, k, klen + 1);
			pre++;
		} while (cJSON_GetObjectItemCaseSensitive(obj, uniq) != NULL
		    && pre <= LOG_KEY_MAX);
		k = uniq;
	}
	if (value != NULL
	    && (v = log_clean(value, CF_LOG_MSG_MAX, &vown, cut)) == NULL) {
		goto out;
	}
	item = v != NULL ? cJSON_CreateString(v) : cJSON_CreateNull();
	if (item != NULL) {
		if (cJSON_AddItemToObject(obj, k, item)) {
			rv = 0;
		} else {
			cJSON_Delete(item);
		}
	}
out:
	free(kown);
	free(vown);
	free(uniq);
	return (rv);
}

/* "2025-03-30T01:30:00.250Z": the current time, always with milliseconds. */
static void
log_ts(char *buf, size_t len)
{
	struct timespec t;
	int64_t         ms;
	int             n;

	clock_gettime(CLOCK_REALTIME, &t);
	ms = (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
	/* cf_rfc3339_format omits a zero fraction; we want a fixed width,
	 * so we format the whole second and put the fraction before 'Z'. */
	n = cf_rfc3339_format(buf, len, ms - ms % 1000, 0, 1);
	if (n > 0) {
		snprintf(buf + n - 1, len - (size_t) (n - 1), ".%03dZ",
		    (int) (ms % 1000));
	}
}

static void
log_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (errno == EINTR) {
				continue;
			}
			/*
			 * A parent may have made the shared pipe non-blocking
			 * (node does): wait a little for room rather than
			 * leave half a line, but never hang on a stuck reader.
			 */
			if ((errno == EAGAIN || errno == EWOULDBLOCK)
			    && poll(&pfd, 1, 1000) > 0) {
				continue;
			}
			return; /* nowhere to report it */
		}
		buf += w;
		len -= (size_t) w;
	}
}

/* Builds one line and writes it; kv, when not NULL, holds the fields. */
static void
log_emit(int level, const char *job, const char *run_id, const char *msg,
    int cut, va_list *kv)
{
	cJSON *obj;
	char   ts[48], stack[2048];
	char  *heap = NULL, *line = stack;
	size_t len;
	int    ok;

	level = log_clamp(level);
	log_ts(ts, sizeof(ts));
	/*
	 * The lock covers building as well as writing: it keeps the service
	 * name and the descriptor stable, and logging is not a hot path.
	 */
	pthread_mutex_lock(&log_lock);
	ok = (obj = cJSON_CreateObject()) != NULL
	    && log_add(obj, "ts", ts, NULL) == 0
	    && log_add(obj, "level", cf_log_level_names[level], NULL) == 0
	    && log_add(obj, "service", log_service, NULL) == 0
	    && (job == NULL || job[0] == '\0'
	        || log_add(obj, "job", job, NULL) == 0)
	    && (run_id == NULL || run_id[0] == '\0'
	        || log_add(obj, "run_id", run_id, NULL) == 0)
	    && log_add(obj, "msg", msg != NULL ? msg : "", &cut) == 0;
	while (ok && kv != NULL) {
		const char *k = va_arg(*kv, const char *);
		const char *v;
		if (k == NULL) {
			break;
		}
		v  = va_arg(*kv, const char *);
		ok = log_add(obj, k, v, &cut) == 0;
	}
	if (ok && cut) {
		ok = cJSON_AddBoolToObject(obj, "truncated", 1) != NULL;
	}
	/* Print into the stack when the line fits, else let cJSON allocate;
	 * either way with room for the newline, so one write(2) suffices. */
	if (ok && !cJSON_PrintPreallocated(obj, stack, sizeof(stack) - 1, 0)) {
		char *p;
		if ((heap = cJSON_PrintUnformatted(obj)) == NULL
		    || (p = realloc(heap, strlen(heap) + 2)) == NULL) {
			ok = 0;
		} else {
			line = heap = p;
		}
	}
	if (ok) {
		len         = strlen(line);
		line[len++] = '\n';
		log_write(log_fd, line, len);
	} else {
		log_write(log_fd, log_oom_line, sizeof(log_oom_line) - 1);
	}
	pthread_mutex_unlock(&log_lock);
	free(heap);
	cJSON_Delete(obj);
}

void
cf__log(int level, const char *job, const char *run_id, const char *fmt, ...)
{
	int         saved = errno, n = 0, cut = 0;
	char        stack[512];
	char       *heap = NULL;
	const char *msg  = "";
	va_list     ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(stack, sizeof(stack), fmt, ap);
		va_end(ap);
		msg = n >= 0 ? stack : "";
	}
	if (n >= (int) sizeof(stack)) {
		/* One byte past the limit, so log_clean sees the cut and
		 * drops a partial character. */
		size_t want = (size_t) n > CF_LOG_MSG_MAX ? CF_LOG_MSG_MAX + 1
		                                          : (size_t) n;
		if ((heap = malloc(want + 1)) != NULL) {
			va_start(ap, fmt);
			vsnprintf(heap, want + 1, fmt, ap);
			va_end(ap);
			msg = heap;
		} else {
			cut = 1; /* the first bytes are better than none */
		}
	}
	log_emit(level, job, run_id, msg, cut, NULL);
	free(heap);
	errno = saved;
}

void
cf__log_kv(
    int level, const char *job, const char *run_id, const char *msg, ...)
{
	int     saved = errno;
	va_list ap;

	va_start(ap, msg);
	log_emit(level, job, run_id, msg, 0, &ap);
	va_end(ap);
	errno = saved;
}
