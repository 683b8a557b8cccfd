/*
 * cf_secret.h - secrets at rest (AES-256-GCM) and token expiry.
 *
 * Ingest keeps vendor credentials and access tokens in PostgreSQL. They are
 * stored encrypted with a key that lives only in the environment
 * (CRONFLEET_SECRET_KEY), so a dump of the database alone reveals nothing.
 *
 * The stored form ("sealed text") is standard base64 (RFC 4648, padded,
 * one line) of
 *
 *	version (1 byte, 1) | key id (4 bytes, big endian) | nonce (12 bytes)
 *	| ciphertext (as long as the plaintext) | tag (16 bytes)
 *
 * It is plain ASCII, safe for a text column (or a bytea through
 * decode(x, 'base64')). Each encryption takes a fresh random nonce, so
 * sealing the same value twice gives different texts. The tag covers the
 * version, the key id and the caller's associated data ("ad"): bind a
 * value to where it is stored, e.g. "ingest.vendor_tokens:access_token:42",
 * and a ciphertext copied into another row or column fails to open.
 *
 * Key ids are derived from the key (the first 4 bytes of SHA-256 over a
 * fixed label and the key), so they need no configuration and cannot be
 * mixed up. Rotation: set the new key in CRONFLEET_SECRET_KEY and the old
 * one in CRONFLEET_SECRET_KEY_PREVIOUS; values sealed with either open,
 * new values are sealed with the new key, and cf_secret_reseal() moves an
 * old value to the new key (cf_secret_needs_reseal() says which do).
 *
 * A keyring is immutable once built: any number of threads may seal and
 * open with it at once. Nothing here logs, and no error message quotes a
 * key, a plaintext or a ciphertext.
 */
#ifndef CF_SECRET_H
#define CF_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cf_config.h"

#define CF_SECRET_KEY_LEN 32   /* AES-256 */
#define CF_SECRET_NONCE_LEN 12 /* 96-bit GCM nonce */
#define CF_SECRET_TAG_LEN 16   /* 128-bit GCM tag */
#define CF_SECRET_VERSION 1    /* the first byte of a sealed value */
/* version + key id + nonce + tag: the bytes a sealed value adds. */
#define CF_SECRET_OVERHEAD (1 + 4 + CF_SECRET_NONCE_LEN + CF_SECRET_TAG_LEN)
/* Largest plaintext sealed or opened (credentials are small). */
#define CF_SECRET_MAX_PLAIN (1024 * 1024)
/* Most keys a keyring holds: the current one and previous ones. */
#define CF_SECRET_MAX_KEYS 8

/* The environment variables cf_secret_keyring_from_env() reads. */
#define CF_SECRET_KEY_ENV "CRONFLEET_SECRET_KEY"
#define CF_SECRET_KEY_PREVIOUS_ENV "CRONFLEET_SECRET_KEY_PREVIOUS"

typedef struct cf_secret_keyring cf_secret_keyring;

/*
 * Two rows for a service's configuration table (see cf_config.h): the key
 * (required, secret) and the previous keys (optional, secret), landing in
 * the char * fields key_field and prev_field of st. Then:
 *
 *	rv = cf_secret_keyring_alloc(&kr, cfg.secret_key,
 *	    cfg.secret_key_previous, err, sizeof(err));
 *	cf_config_die_on_error(rv, err);
 *
 * cf_config checks only that the key is set; the keyring checks its form.
 */
#define CF_SECRET_CFG_ITEMS(st, key_field, prev_field)                        \
	CF_CFG_STRING(CF_SECRET_KEY_ENV, NULL,                                \
	    CF_CONFIG_SECRET | CF_CONFIG_REQUIRED, st, key_field,             \
	    "Key that encrypts stored credentials: 32 bytes as 64 hex "       \
	    "digits or base64 (openssl rand -hex 32)."),                      \
	    CF_CFG_STRING(CF_SECRET_KEY_PREVIOUS_ENV, NULL, CF_CONFIG_SECRET, \
	        st, prev_field,                                               \
	        "Earlier keys, comma-separated, still accepted for reading "  \
	        "while values are re-encrypted with the current key.")

/*
 * Parses one key: 64 hex digits (any case) or base64 (standard or URL
 * alphabet, padding optional) of exactly 32 bytes. Spaces, tabs and line
 * ends around the text are ignored. An all-zero key is refused (it is a
 * placeholder, not a key).
 *
 * Returns CF_OK with out filled, or CF_EINVAL with err saying what is
 * wrong (never quoting the text). On failure out is wiped.
 */
int cf_secret_key_parse(uint8_t out[CF_SECRET_KEY_LEN], const char *text,
    char *err, size_t errlen);

/*
 * Builds a keyring from the current key's text and, optionally, previous
 * keys' texts (NULL or "" for none; otherwise comma-separated). Values are
 * sealed with the current key; all open.
 *
 * Returns CF_OK with *out owned by the caller (cf_secret_keyring_free()),
 * CF_EINVAL with err naming the variable (CRONFLEET_SECRET_KEY, or
 * CRONFLEET_SECRET_KEY_PREVIOUS and which item) and the problem: missing,
 * malformed, too many keys, or two keys with the same id. CF_ENOMEM.
 * On failure *out is NULL.
 *
 * The texts are not kept; the caller may wipe them afterwards
 * (cf_secret_wipe_str()).
 */
int cf_secret_keyring_alloc(cf_secret_keyring **out, const char *current,
    const char *previous, char *err, size_t errlen);

/*
 * cf_secret_keyring_alloc() from CRONFLEET_SECRET_KEY and
 * CRONFLEET_SECRET_KEY_PREVIOUS, read with getenv() (empty counts as
 * unset, as in cf_config). Call it before starting threads.
 */
int cf_secret_keyring_from_env(
    cf_secret_keyring **out, char *err, size_t errlen);

/* Wipes every key (OPENSSL_cleanse) and frees kr. NULL is fine. */
void cf_secret_keyring_free(cf_secret_keyring *kr);

/* The id of the key new values are sealed with. */
uint32_t cf_secret_keyring_current_id(const cf_secret_keyring *kr);

/*
 * Encrypts len bytes at plain with the keyring's current key, binding ad
 * (NUL-terminated, NULL for none) into the tag.
 *
 * Returns CF_OK with *out a NUL-terminated sealed text the caller frees
 * with free(); CF_ETOOBIG if len > CF_SECRET_MAX_PLAIN; CF_ESYSTEM if
 * OpenSSL (random bytes, cipher) fails; CF_ENOMEM. On failure *out is NULL
 * and err says why.
 */
int cf_secret_seal(char **out, const cf_secret_keyring *kr, const void *plain,
    size_t len, const char *ad, char *err, size_t errlen);

/* cf_secret_seal() of a NUL-terminated string (without its NUL). */
int cf_secret_seal_str(char **out, const cf_secret_keyring *kr,
    const char *plain, const char *ad, char *err, size_t errlen);

/*
 * Decrypts a sealed text with the key its id names, checking the tag over
 * the ciphertext, the header and ad (which must be what was given to
 * cf_secret_seal()).
 *
 * Returns CF_OK with *out a buffer of *out_len bytes plus a NUL (so a
 * sealed string opens as a string); free it with cf_secret_free(*out,
 * *out_len), which wipes it. out_len may be NULL. Errors, with *out NULL
 * and nothing of the plaintext left in memory:
 *	CF_EPROTO  not a sealed value: bad base64, too short, unknown version
 *	CF_ENOENT  sealed with a key the keyring does not hold (err gives its
 *	           id: the key was rotated away, or another key is set)
 *	CF_EINVAL  the tag does not match: wrong key, wrong ad, or the value
 *	           was altered
 *	CF_ETOOBIG over CF_SECRET_MAX_PLAIN; CF_ESYSTEM, CF_ENOMEM
 */
int cf_secret_open(char **out, size_t *out_len, const cf_secret_keyring *kr,
    const char *sealed, const char *ad, char *err, size_t errlen);

/*
 * The key id a sealed text names, without decrypting. Returns CF_OK, or
 * CF_EPROTO when sealed is not a sealed value.
 */
int cf_secret_sealed_key_id(uint32_t *out_id, const char *sealed);

/*
 * True when sealed is a well-formed sealed value whose key is not the
 * keyring's current key: a candidate for cf_secret_reseal().
 */
bool cf_secret_needs_reseal(const cf_secret_keyring *kr, const char *sealed);

/*
 * Opens sealed (with any key of the keyring) and seals the plaintext again
 * with the current key and the same ad. Returns what cf_secret_open() or
 * cf_secret_seal() return; on CF_OK *out is a new sealed text (free()).
 * The plaintext is wiped before returning.
 */
int cf_secret_reseal(char **out, const cf_secret_keyring *kr,
    const char *sealed, const char *ad, char *err, size_t errlen);

/* Wipes len bytes at p, then frees p. NULL is fine. */
void cf_secret_free(void *p, size_t len);

/* Wipes a NUL-terminated string in place (e.g. a key text from config). */
void cf_secret_wipe_str(char *s);

/* ---- token expiry ------------------------------------------------------ */

/*
 * A token counts as expired this long before it really expires, so that a
 * request started just before the deadline does not arrive with a dead
 * token, and clocks that differ by a little do not matter.
 */
#define CF_TOKEN_SKEW_MS (5 * 60 * 1000)

/* Longest JWT cf_jwt_exp_ms() looks at; longer is CF_ETOOBIG. */
#define CF_JWT_MAX_LEN (16 * 1024)

/*
 * Reads the "exp" claim (seconds since the epoch, RFC 7519 NumericDate) of
 * a JWT's payload, without checking its signature (the vendor does that).
 * The token must be three base64url parts separated by dots (the last may
 * be empty), the payload a JSON object.
 *
 * Returns CF_OK with *out_ms the expiry in milliseconds; CF_ENOENT when
 * the payload has no "exp"; CF_EPROTO when the token is not a JWT, the
 * payload is not JSON, or "exp" is not a number from 0 to year 9999;
 * CF_ETOOBIG over CF_JWT_MAX_LEN; CF_ENOMEM. err says which.
 */
int cf_jwt_exp_ms(int64_t *out_ms, const char *jwt, char *err, size_t errlen);

/*
 * The earlier of stored_expiry_ms (<= 0: none stored) and the JWT's exp
 * (jwt NULL, not a JWT or without exp: none); INT64_MAX when neither says.
 */
int64_t cf_token_expiry_ms(int64_t stored_expiry_ms, const char *jwt);

/*
 * True when the token must be refreshed before use: now_ms >=
 * cf_token_expiry_ms(stored_expiry_ms, jwt) - CF_TOKEN_SKEW_MS. A token
 * with no known expiry is never expired here (a 401 still refreshes it).
 */
bool cf_token_expired(
    int64_t stored_expiry_ms, const char *jwt, int64_t now_ms);

#endif /* CF_SECRET_H */
