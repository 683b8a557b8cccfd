/*
 * auth.c - named bearer tokens with roles, and the slow-down of
 * addresses that keep presenting wrong ones.
 *
 * Tokens come from CRONFLEET_ADMIN_TOKENS and CRONFLEET_VIEWER_TOKENS
 * ("name:token,name:token"), CRONFLEET_ADMIN_TOKEN (one token, named
 * "admin") and CRON_SECRET (the external cron callers' token, named
 * "cron"). Only SHA-256 digests are kept. A presented token is hashed and
 * compared with every digest using CRYPTO_memcmp, all of them, whichever
 * matches: equal-length digests compared in constant time leak neither a
 * token's content nor its length, and going through the whole list leaks
 * not which entry matched.
 *
 * Slow-down: an address that fails AUTH_FAILS times within AUTH_WINDOW_S
 * is refused (429, Retry-After) for AUTH_LOCK_S seconds, doubling with
 * each further lock up to AUTH_LOCK_MAX_S; a success clears it. Refusing
 * without looking at the token, rather than delaying the answer, means a
 * guesser learns nothing while locked and holds no thread meanwhile.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cf_err.h"
#include "gateway.h"

#define AUTH_FAILS 10
#define AUTH_WINDOW_S 60
#define AUTH_LOCK_S 5
#define AUTH_LOCK_MAX_S 300
/* Addresses remembered; past this the least recently seen is forgotten. */
#define AUTH_SLOTS 1024
#define AUTH_NAME_MAX 64

typedef struct auth_token {
	char          name[AUTH_NAME_MAX];
	int           role;
	unsigned char digest[32];
} auth_token;

typedef struct auth_slot {
	char    addr[64]; /* "" when free */
	int     fails;    /* in the window starting at since */
	int64_t since;
	int64_t locked_until;
	int     locks; /* how many times locked in a row */
	int64_t seen;
} auth_slot;

struct gw_auth {
	auth_token     *tok;
	size_t          ntok;
	pthread_mutex_t mu;
	auth_slot       slot[AUTH_SLOTS];
};

const char *
gw_role_name(int role)
{
	switch (role) {
	case GW_ROLE_VIEWER:
		return ("viewer");
	case GW_ROLE_ADMIN:
		return ("admin");
	case GW_ROLE_CRON:
		return ("cron");
	default:
		return ("public");
	}
}

static int
auth_digest(const char *s, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		return (CF_ESYSTEM);
	}
	return (CF_OK);
}

static int
auth_add(gw_auth *a, const char *name, size_t namelen, const char *tok,
    size_t toklen, int role, const char *var, char *err, size_t errlen)
{
	auth_token *t;

	if (namelen == 0 || namelen >= AUTH_NAME_MAX) {
		snprintf(err, errlen,
		    "%s: each entry is name:token, the name 1 to %d "
		    "characters",
		    var, AUTH_NAME_MAX - 1);
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < namelen; i++) {
		unsigned char c = (unsigned char) name[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z')
		    && !(c >= '0' && c <= '9') && !strchr("_.@-", c)) {
			snprintf(err, errlen,
			    "%s: token names use A-Z a-z 0-9 _ . @ -", var);
			return (CF_EINVAL);
		}
	}
	if (toklen == 0) {
		snprintf(err, errlen, "%s: the token of '%.*s' is empty", var,
		    (int) namelen, name);
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < a->ntok; i++) {
		if (strlen(a->tok[i].name) == namelen
		    && memcmp(a->tok[i].name, name, namelen) == 0) {
			snprintf(err, errlen,
			    "%s: the name '%.*s' is given twice (names say who "
			    "acted in the audit)",
			    var, (int) namelen, name);
			return (CF_EINVAL);
		}
	}
	if ((t = realloc(a->tok, (a->ntok + 1) * sizeof(*t))) == NULL) {
		return (CF_ENOMEM);
	}
	a->tok = t;
	t      = &a->tok[a->ntok];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, namelen);
	t->role = role;
	if (auth_digest(tok, toklen, t->digest) != CF_OK) {
		snprintf(err, errlen, "%s: cannot hash the token", var);
		return (CF_ESYSTEM);
	}
	a->ntok++;
	return (CF_OK);
}

/* Adds every "name:token" of list (comma-separated) with role. */
static int
auth_add_list(gw_auth *a, const char *list, int role, const char *var,
    char *err, size_t errlen)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t      len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		int         rv;

		if (len == 0) {
			p++;
			continue;
		}
		if (colon == NULL) {
			snprintf(err, errlen,
			    "%s: expected name:token pairs separated by commas",
			    var);
			return (CF_EINVAL);
		}
		rv = auth_add(a, p, (size_t) (colon - p), colon + 1,
		    len - (size_t) (colon - p) - 1, role, var, err, errlen);
		if (rv != CF_OK) {
			return (rv);
		}
		p += len;
		p += *p == ',';
	}
	return (CF_OK);
}

int
gw_auth_open(gw_auth **out, const gw_config *cfg, char *err, size_t errlen)
{
	gw_auth *a;
	int      rv = CF_OK, admins = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		return (CF_ENOMEM);
	}
	pthread_mutex_init(&a->mu, NULL);
	if (cfg->admin_token != NULL && cfg->admin_token[0] != '\0') {
		rv = auth_add(a, "admin", 5, cfg->admin_token,
		    strlen(cfg->admin_token), GW_ROLE_ADMIN,
		    "CRONFLEET_ADMIN_TOKEN", err, errlen);
	}
	if (rv == CF_OK) {
		rv = auth_add_list(a, cfg->admin_tokens, GW_ROLE_ADMIN,
		    "CRONFLEET_ADMIN_TOKENS", err, errlen);
	}
	admins = (int) a->ntok;
	if (rv == CF_OK) {
		rv = auth_add_list(a, cfg->viewer_tokens, GW_ROLE_VIEWER,
		    "CRONFLEET_VIEWER_TOKENS", err, errlen);
	}
	if (rv == CF_OK && cfg->cron_secret != NULL
	    && cfg->cron_secret[0] != '\0') {
		rv = auth_add(a, "cron", 4, cfg->cron_secret,
		    strlen(cfg->cron_secret), GW_ROLE_CRON, "CRON_SECRET", err,
		    errlen);
	}
	if (rv == CF_OK && admins == 0) {
		snprintf(err, errlen,
		    "CRONFLEET_ADMIN_TOKEN: not set (nor "
		    "CRONFLEET_ADMIN_TOKENS): at least one admin token is "
		    "required");
		rv = CF_EINVAL;
	}
	if (rv != CF_OK) {
		gw_auth_close(a);
		return (rv);
	}
	*out = a;
	return (CF_OK);
}

void
gw_auth_close(gw_auth *a)
{
	if (a == NULL) {
		return;
	}
	OPENSSL_cleanse(a->tok, a->ntok * sizeof(*a->tok));
	free(a->tok);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int
gw_auth_check(const gw_auth *a, const char *header, int *role, char *name,
    size_t namelen, int *absent)
{
	unsigned char d[32];
	const char   *p;
	size_t        found = (size_t) -1;

	*absent = 0;
	/* RFC 6750: the scheme is case-insensitive, then one or more spaces.
	 */
	if (header == NULL || strlen(header) < 7
	    || strncasecmp(header, "Bearer ", 7) != 0) {
		*absent = 1;
		return (401);
	}
	p = header + 7;
	while (*p == ' ') {
		p++;
	}
	if (*p == '\0') {
		*absent = 1;
		return (401);
	}
	if (auth_digest(p, strlen(p), d) != CF_OK) {
		return (401);
	}
	for (size_t i = 0; i < a->ntok; i++) {
		/* No early exit: every digest is compared. */
		size_t eq = (size_t) (CRYPTO_memcmp(d, a->tok[i].digest, 32) == 0);
		found     = eq ? i : found;
	}
	OPENSSL_cleanse(d, sizeof(d));
	if (found == (size_t) -1) {
		return (401);
	}
	*role = a->tok[found].role;
	snprintf(name, namelen, "%s", a->tok[found].name);
	return (200);
}

static int64_t
auth_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec);
}

/* The slot of addr, or a fresh one (the least recently seen reused). */
static auth_slot *
auth_slot_of(gw_auth *a, const char *addr, int create)
{
	auth_slot *oldest = &a->slot[0];

	for (size_t i = 0; i < AUTH_SLOTS; i++) {
		auth_slot *s = &a->slot[i];
		if (s->addr[0] != '\0' && strcmp(s->addr, addr) == 0) {
			return (s);
		}
		if (s->seen < oldest->seen) {
			oldest = s;
		}
	}
	if (!create) {
		return (NULL);
	}
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	return (oldest);
}

int
gw_auth_throttled(gw_auth *a, const char *remote)
{
	auth_slot *s;
	int64_t    now = auth_now();
	int        wait = 0;

	pthread_mutex_lock(&a->mu);
	if ((s = auth_slot_of(a, remote, 0)) != NULL && s->locked_until > now) {
		wait = (int) (s->locked_until - now);
	}
	pthread_mutex_unlock(&a->mu);
	return (wait);
}

void
gw_auth_failed(gw_auth *a, const char *remote)
{
	auth_slot *s;
	int64_t    now = auth_now();

	pthread_mutex_lock(&a->mu);
	s       = auth_slot_of(a, remote, 1);
	s->seen = now;
	if (now - s->since >= AUTH_WINDOW_S) {
		s->since = now;
		s->fails = 0;
	}
	if (++s->fails >= AUTH_FAILS) {
		int64_t lock = AUTH_LOCK_S;
		for (int i = 0; i < s->locks && lock < AUTH_LOCK_MAX_S; i++) {
			lock *= 2;
		}
		s->locked_until = now + (lock < AUTH_LOCK_MAX_S ? lock : AUTH_LOCK_MAX_S);
		s->locks++;
		s->fails = 0;
		s->since = now;
	}
	pthread_mutex_unlock(&a->mu);
}

void
gw_auth_succeeded(gw_auth *a, const char *remote)
{
	auth_slot *s;

	pthread_mutex_lock(&a->mu);
	/* A success is only seen when not locked: start afresh. */
	if ((s = auth_slot_of(a, remote, 0)) != NULL) {
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&a->mu);
}
