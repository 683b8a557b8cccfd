/*
 * auth.c - the admin bearer token.
 *
 * Both the configured token and the presented one are hashed with SHA-256
 * and the digests compared with CRYPTO_memcmp: comparing equal-length
 * digests in constant time leaks neither the token's content nor its
 * length through timing.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cf_err.h"
#include "gateway.h"

static int
auth_digest(const char *s, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		return (CF_ESYSTEM);
	}
	return (CF_OK);
}

int
gw_auth_init(gw_auth *a, const char *token)
{
	return (auth_digest(token, strlen(token), a->digest));
}

int
gw_auth_check(const gw_auth *a, const char *header)
{
	unsigned char d[32];
	const char   *p;

	/* RFC 6750: the scheme is case-insensitive, then one or more spaces.
	 */
	if (header == NULL || strlen(header) < 7
	    || strncasecmp(header, "Bearer ", 7) != 0) {
		return (401);
	}
	p = header + 7;
	while (*p == ' ') {
		p++;
	}
	if (*p == '\0') {
		return (401);
	}
	if (auth_digest(p, strlen(p), d) != CF_OK) {
		return (403);
	}
	return (CRYPTO_memcmp(d, a->digest, sizeof(d)) == 0 ? 200 : 403);
}
