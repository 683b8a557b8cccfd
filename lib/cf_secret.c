/*
 * cf_secret.c - AES-256-GCM sealing of stored credentials, the keyring
 * that rotation needs, and the expiry of vendor tokens.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cf_err.h"
#include "cf_secret.h"

/* Mixed into the digest that names a key, so the id is not a plain hash. */
#define SECRET_ID_LABEL "cronfleet secret key id v1"

/* version (1) + key id (4): the header the tag also covers. */
#define SECRET_HDR_LEN 5

/* Base64 text of n bytes, padded: 4 characters per 3 bytes. */
#define SECRET_B64_LEN(n) (((n) + 2) / 3 * 4)

/* The longest sealed text cf_secret_open() looks at. */
#define SECRET_MAX_SEALED                                                     \
	SECRET_B64_LEN(CF_SECRET_MAX_PLAIN + CF_SECRET_OVERHEAD)

/* Which base64 alphabets a decoder accepts. */
#define SECRET_B64_STD 0x1
#define SECRET_B64_URL 0x2

typedef struct secret_key {
	uint32_t id;
	uint8_t  key[CF_SECRET_KEY_LEN];
} secret_key;

struct cf_secret_keyring {
	size_t     n; /* keys[0] is the current key */
	secret_key keys[CF_SECRET_MAX_KEYS];
};

/* ---- base64 and hex ----------------------------------------------------- */

static int
secret_b64_value(int c, int alpha)
{
	if (c >= 'A' && c <= 'Z') {
		return (c - 'A');
	}
	if (c >= 'a' && c <= 'z') {
		return (c - 'a' + 26);
	}
	if (c >= '0' && c <= '9') {
		return (c - '0' + 52);
	}
	if ((alpha & SECRET_B64_STD) && (c == '+' || c == '/')) {
		return (c == '+' ? 62 : 63);
	}
	if ((alpha & SECRET_B64_URL) && (c == '-' || c == '_')) {
		return (c == '-' ? 62 : 63);
	}
	return (-1);
}

/*
 * Decodes n characters of base64 into out (room for cap bytes). Padding
 * is optional, but when present the length must be a multiple of 4. Bits
 * left over in the last character must be zero, so that every byte string
 * has exactly one text: a changed character is always a changed value.
 * Returns 0 with *outlen set, or -1 (bad character, length, or over cap).
 */
static int
secret_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
    size_t *outlen, int alpha)
{
	size_t   full, rem, need, o = 0;
	uint32_t acc;
	int      v[4];

	if (n > 0 && in[n - 1] == '=') {
		if (n % 4 != 0) {
			return (-1);
		}
		n--;
		if (n > 0 && in[n - 1] == '=') {
			n--;
		}
	}
	full = n / 4;
	rem  = n % 4;
	if (rem == 1) {
		return (-1);
	}
	need = full * 3 + (rem == 0 ? 0 : rem - 1);
	if (need > cap) {
		return (-1);
	}
	for (size_t i = 0; i < full; i++) {
		for (int k = 0; k < 4; k++) {
			v[k] = secret_b64_value(
			    (unsigned char) in[4 * i + (size_t) k], alpha);
			if (v[k] < 0) {
				return (-1);
			}
		}
		acc = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12
		    | (uint32_t) v[2] << 6 | (uint32_t) v[3];
		out[o++] = (uint8_t) (acc >> 16);
		out[o++] = (uint8_t) (acc >> 8);
		out[o++] = (uint8_t) acc;
	}
	if (rem > 0) {
		acc = 0;
		for (size_t k = 0; k < rem; k++) {
			int x = secret_b64_value(
			    (unsigned char) in[4 * full + k], alpha);
			if (x < 0) {
				return (-1);
			}
			acc |= (uint32_t) x << (18 - 6 * k);
		}
		out[o++] = (uint8_t) (acc >> 16);
		if (rem == 3) {
			out[o++] = (uint8_t) (acc >> 8);
		}
		/* The bits past the last whole byte. */
		if ((rem == 2 && (acc & 0xffff) != 0)
		    || (rem == 3 && (acc & 0xff) != 0)) {
			OPENSSL_cleanse(out, o);
			return (-1);
		}
	}
	*outlen = o;
	return (0);
}

static int
secret_hex_value(int c)
{
	if (c >= '0' && c <= '9') {
		return (c - '0');
	}
	if (c >= 'a' && c <= 'f') {
		return (c - 'a' + 10);
	}
	if (c >= 'A' && c <= 'F') {
		return (c - 'A' + 10);
	}
	return (-1);
}

/* ---- keys --------------------------------------------------------------- */

static int
secret_is_space(int c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/*
 * Parses the n characters at text as one key. The messages never quote
 * the text: it may be a real key with one character wrong.
 */
static int
secret_key_parse_n(uint8_t out[CF_SECRET_KEY_LEN], const char *text, size_t n,
    char *err, size_t errlen)
{
	uint8_t buf[48]; /* 64 base64 characters decode to at most 48 */
	size_t  got = 0, any = 0;
	int     hex = 1;

	while (n > 0 && secret_is_space((unsigned char) text[0])) {
		text++;
		n--;
	}
	while (n > 0 && secret_is_space((unsigned char) text[n - 1])) {
		n--;
	}
	if (n == 0) {
		cf_errf(err, errlen, "is empty");
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < n && hex; i++) {
		hex = secret_hex_value((unsigned char) text[i]) >= 0;
	}
	if (hex && n == 2 * CF_SECRET_KEY_LEN) {
		for (size_t i = 0; i < CF_SECRET_KEY_LEN; i++) {
			out[i] = (uint8_t) (secret_hex_value(
			                        (unsigned char) text[2 * i])
			        << 4
			    | secret_hex_value(
			        (unsigned char) text[2 * i + 1]));
		}
	} else if (n <= 64
	    && secret_b64_decode(text, n, buf, sizeof(buf), &got,
	           SECRET_B64_STD | SECRET_B64_URL)
	        == 0
	    && got == CF_SECRET_KEY_LEN) {
		memcpy(out, buf, CF_SECRET_KEY_LEN);
		OPENSSL_cleanse(buf, sizeof(buf));
	} else {
		OPENSSL_cleanse(buf, sizeof(buf));
		OPENSSL_cleanse(out, CF_SECRET_KEY_LEN);
		if (hex) {
			/* Hex of the wrong length: say so, not "bad base64".
			 */
			cf_errf(err, errlen,
			    "is %zu hex digits; expected 64 (32 bytes, e.g. "
			    "from 'openssl rand -hex 32')",
			    n);
		} else if (got > 0) {
			cf_errf(err, errlen,
			    "is neither 64 hex digits nor base64 of 32 bytes "
			    "(%zu characters, base64 of %zu bytes); generate "
			    "one with 'openssl rand -hex 32'",
			    n, got);
		} else {
			cf_errf(err, errlen,
			    "is neither 64 hex digits nor base64 of 32 bytes "
			    "(%zu characters); generate one with 'openssl "
			    "rand -hex 32'",
			    n);
		}
		return (CF_EINVAL);
	}
	for (size_t i = 0; i < CF_SECRET_KEY_LEN; i++) {
		any |= out[i];
	}
	if (any == 0) {
		cf_errf(
		    err, errlen, "is all zeros (a placeholder, not a key)");
		return (CF_EINVAL);
	}
	return (CF_OK);
}

int
cf_secret_key_parse(
    uint8_t out[CF_SECRET_KEY_LEN], const char *text, char *err, size_t errlen)
{
	if (text == NULL) {
		OPENSSL_cleanse(out, CF_SECRET_KEY_LEN);
		cf_errf(err, errlen, "is empty");
		return (CF_EINVAL);
	}
	return (secret_key_parse_n(out, text, strlen(text), err, errlen));
}

/* The id a key is known by: 4 bytes of SHA-256(label, key). */
static int
secret_key_id(uint32_t *id, const uint8_t key[CF_SECRET_KEY_LEN])
{
	uint8_t      in[sizeof(SECRET_ID_LABEL) + CF_SECRET_KEY_LEN];
	uint8_t      md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int          ok;

	memcpy(in, SECRET_ID_LABEL, sizeof(SECRET_ID_LABEL));
	memcpy(in + sizeof(SECRET_ID_LABEL), key, CF_SECRET_KEY_LEN);
	ok = EVP_Digest(in, sizeof(in), md, &mdlen, EVP_sha256(), NULL);
	OPENSSL_cleanse(in, sizeof(in));
	if (ok != 1 || mdlen < 4) {
		return (CF_ESYSTEM);
	}
	*id = (uint32_t) md[0] << 24 | (uint32_t) md[1] << 16
	    | (uint32_t) md[2] << 8 | (uint32_t) md[3];
	return (CF_OK);
}

/*
 * Adds the key in text[0..n) to kr. what names it in messages
 * ("CRONFLEET_SECRET_KEY", "CRONFLEET_SECRET_KEY_PREVIOUS item 2").
 * The same key given twice is kept once; two different keys with one id
 * (a 1 in 2^32 chance) would make values ambiguous, so that is an error.
 */
static int
secret_keyring_add(cf_secret_keyring *kr, const char *text, size_t n,
    const char *what, char *err, size_t errlen)
{
	secret_key k;
	char       why[160];
	int        rv;

	if ((rv = secret_key_parse_n(k.key, text, n, why, sizeof(why)))
	    != CF_OK) {
		cf_errf(err, errlen, "%s: %s", what, why);
		return (rv);
	}
	if ((rv = secret_key_id(&k.id, k.key)) != CF_OK) {
		OPENSSL_cleanse(&k, sizeof(k));
		cf_errf(err, errlen, "%s: cannot compute the key id", what);
		return (rv);
	}
	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keys[i].id != k.id) {
			continue;
		}
		rv = CRYPTO_memcmp(kr->keys[i].key, k.key, sizeof(k.key)) == 0
		    ? CF_OK
		    : CF_EINVAL;
		OPENSSL_cleanse(&k, sizeof(k));
		if (rv != CF_OK) {
			cf_errf(err, errlen,
			    "%s: has the same key id (%08x) as another key; "
			    "generate a new key",
			    what, (unsigned) kr->keys[i].id);
		}
		return (rv);
	}
	if (kr->n == CF_SECRET_MAX_KEYS) {
		OPENSSL_cleanse(&k, sizeof(k));
		cf_errf(err, errlen, "%s: more than %d keys in all", what,
		    CF_SECRET_MAX_KEYS);
		return (CF_EINVAL);
	}
	kr->keys[kr->n++] = k;
	OPENSSL_cleanse(&k, sizeof(k));
	return (CF_OK);
}

int
cf_secret_keyring_alloc(cf_secret_keyring **out, const char *current,
    const char *previous, char *err, size_t errlen)
{
	cf_secret_keyring *kr;
	int                rv;
	size_t             item = 0;

	*out = NULL;
	if (current == NULL || current[0] == '\0') {
		cf_errf(err, errlen,
		    "%s: not set; it must hold 32 bytes as 64 hex digits or "
		    "base64 (e.g. 'openssl rand -hex 32')",
		    CF_SECRET_KEY_ENV);
		return (CF_EINVAL);
	}
	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		cf_errf(err, errlen, "%s", cf_strerror(CF_ENOMEM));
		return (CF_ENOMEM);
	}
	rv = secret_keyring_add(
	    kr, current, strlen(current), CF_SECRET_KEY_ENV, err, errlen);
	for (const char *p = previous; rv == CF_OK && p != NULL && *p;) {
		size_t len = strcspn(p, ",");
		size_t sp  = 0;
		char   what[80];

		item++;
		while (sp < len && secret_is_space((unsigned char) p[sp])) {
			sp++;
		}
		/* Empty items ("a,,b", a trailing comma) are skipped. */
		if (sp < len) {
			snprintf(what, sizeof(what), "%s item %zu",
			    CF_SECRET_KEY_PREVIOUS_ENV, item);
			rv = secret_keyring_add(kr, p, len, what, err, errlen);
		}
		p += len;
		if (*p == ',') {
			p++;
		}
	}
	if (rv != CF_OK) {
		cf_secret_keyring_free(kr);
		return (rv);
	}
	*out = kr;
	return (CF_OK);
}

int
cf_secret_keyring_from_env(cf_secret_keyring **out, char *err, size_t errlen)
{
	return (cf_secret_keyring_alloc(out, getenv(CF_SECRET_KEY_ENV),
	    getenv(CF_SECRET_KEY_PREVIOUS_ENV), err, errlen));
}

void
cf_secret_keyring_free(cf_secret_keyring *kr)
{
	if (kr == NULL) {
		return;
	}
	OPENSSL_cleanse(kr, sizeof(*kr));
	free(kr);
}

uint32_t
cf_secret_keyring_current_id(const cf_secret_keyring *kr)
{
	return (kr->keys[0].id);
}

static const secret_key *
secret_keyring_find(const cf_secret_keyring *kr, uint32_t id)
{
	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keys[i].id == id) {
			return (&kr->keys[i]);
		}
	}
	return (NULL);
}

void
cf_secret_free(void *p, size_t len)
{
	if (p == NULL) {
		return;
	}
	OPENSSL_cleanse(p, len);
	free(p);
}

void
cf_secret_wipe_str(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
	}
}

/* ---- sealing ------------------------------------------------------------ */

static void
secret_put_header(uint8_t *hdr, uint32_t id)
{
	hdr[0] = CF_SECRET_VERSION;
	hdr[1] = (uint8_t) (id >> 24);
	hdr[2] = (uint8_t) (id >> 16);
	hdr[3] = (uint8_t) (id >> 8);
	hdr[4] = (uint8_t) id;
}

/*
 * The associated data the tag covers: the header (so the version and key
 * id cannot be swapped) and then the caller's text.
 */
static int
secret_add_ad(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *hdr, const char *ad,
    size_t adlen)
{
	int outl = 0;
	int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *,
	    const unsigned char *, int)
	    = enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;

	if (update(ctx, NULL, &outl, hdr, SECRET_HDR_LEN) != 1) {
		return (-1);
	}
	if (adlen > 0
	    && update(
	           ctx, NULL, &outl, (const unsigned char *) ad, (int) adlen)
	        != 1) {
		return (-1);
	}
	return (0);
}

int
cf_secret_seal(char **out, const cf_secret_keyring *kr, const void *plain,
    size_t len, const char *ad, char *err, size_t errlen)
{
	const secret_key *k    = &kr->keys[0];
	EVP_CIPHER_CTX   *ctx  = NULL;
	uint8_t          *blob = NULL, *nonce, *ct, *tag;
	size_t            bloblen, adlen = ad != NULL ? strlen(ad) : 0;
	char             *text = NULL;
	int               outl = 0, rv = CF_ESYSTEM;

	*out = NULL;
	if (len > CF_SECRET_MAX_PLAIN || adlen > CF_SECRET_MAX_PLAIN) {
		cf_errf(err, errlen,
		    "secret: value or associated data over %d bytes",
		    CF_SECRET_MAX_PLAIN);
		return (CF_ETOOBIG);
	}
	bloblen = CF_SECRET_OVERHEAD + len;
	if ((blob = malloc(bloblen)) == NULL
	    || (text = malloc(SECRET_B64_LEN(bloblen) + 1)) == NULL) {
		free(blob);
		cf_errf(err, errlen, "secret: %s", cf_strerror(CF_ENOMEM));
		return (CF_ENOMEM);
	}
	nonce = blob + SECRET_HDR_LEN;
	ct    = nonce + CF_SECRET_NONCE_LEN;
	tag   = ct + len;
	secret_put_header(blob, k->id);
	/*
	 * A fresh random nonce each time. With random 96-bit nonces one key
	 * stays safe for about 2^32 encryptions, far beyond what credentials
	 * and tokens need; rotation resets the count.
	 */
	if (RAND_bytes(nonce, CF_SECRET_NONCE_LEN) != 1) {
		cf_errf(err, errlen, "secret: no random bytes for the nonce");
		goto done;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL
	    || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL)
	        != 1
	    || EVP_CIPHER_CTX_ctrl(
	           ctx, EVP_CTRL_GCM_SET_IVLEN, CF_SECRET_NONCE_LEN, NULL)
	        != 1
	    || EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1
	    || secret_add_ad(ctx, 1, blob, ad, adlen) != 0
	    || (len > 0
	        && EVP_EncryptUpdate(ctx, ct, &outl, plain, (int) len) != 1)
	    || EVP_EncryptFinal_ex(ctx, ct + outl, &outl) != 1
	    || EVP_CIPHER_CTX_ctrl(
	           ctx, EVP_CTRL_GCM_GET_TAG, CF_SECRET_TAG_LEN, tag)
	        != 1) {
		cf_errf(err, errlen, "secret: AES-256-GCM encryption failed");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *) text, blob, (int) bloblen);
	*out = text;
	text = NULL;
	rv   = CF_OK;
done:
	EVP_CIPHER_CTX_free(ctx);
	free(blob); /* ciphertext only: nothing secret in it */
	free(text);
	return (rv);
}

int
cf_secret_seal_str(char **out, const cf_secret_keyring *kr, const char *plain,
    const char *ad, char *err, size_t errlen)
{
	return (cf_secret_seal(out, kr, plain,
	    plain != NULL ? strlen(plain) : 0, ad, err, errlen));
}

/*
 * Decodes a sealed text into a malloc'd blob and checks its outer form.
 * Returns CF_OK, CF_EPROTO, CF_ETOOBIG or CF_ENOMEM.
 */
static int
secret_unpack(uint8_t **out, size_t *outlen, const char *sealed, char *err,
    size_t errlen)
{
	size_t   n, cap;
	uint8_t *blob;

	*out = NULL;
	if (sealed == NULL) {
		cf_errf(err, errlen, "secret: no sealed value");
		return (CF_EPROTO);
	}
	n = strnlen(sealed, SECRET_MAX_SEALED + 1);
	if (n > SECRET_MAX_SEALED) {
		cf_errf(err, errlen, "secret: sealed value too long");
		return (CF_ETOOBIG);
	}
	cap = n / 4 * 3 + 2;
	if ((blob = malloc(cap)) == NULL) {
		cf_errf(err, errlen, "secret: %s", cf_strerror(CF_ENOMEM));
		return (CF_ENOMEM);
	}
	if (secret_b64_decode(sealed, n, blob, cap, outlen, SECRET_B64_STD)
	    != 0) {
		free(blob);
		cf_errf(
		    err, errlen, "secret: not a sealed value (bad base64)");
		return (CF_EPROTO);
	}
	if (*outlen < CF_SECRET_OVERHEAD) {
		free(blob);
		cf_errf(err, errlen, "secret: not a sealed value (too short)");
		return (CF_EPROTO);
	}
	if (blob[0] != CF_SECRET_VERSION) {
		cf_errf(err, errlen,
		    "secret: sealed with format version %u; this build "
		    "reads version %d",
		    blob[0], CF_SECRET_VERSION);
		free(blob);
		return (CF_EPROTO);
	}
	*out = blob;
	return (CF_OK);
}

static uint32_t
secret_blob_id(const uint8_t *blob)
{
	return ((uint32_t) blob[1] << 24 | (uint32_t) blob[2] << 16
	    | (uint32_t) blob[3] << 8 | (uint32_t) blob[4]);
}

int
cf_secret_sealed_key_id(uint32_t *out_id, const char *sealed)
{
	uint8_t *blob;
	size_t   n;
	int      rv;

	if ((rv = secret_unpack(&blob, &n, sealed, NULL, 0)) != CF_OK) {
		return (rv);
	}
	*out_id = secret_blob_id(blob);
	free(blob);
	return (CF_OK);
}

bool
cf_secret_needs_reseal(const cf_secret_keyring *kr, const char *sealed)
{
	uint32_t id;

	return (cf_secret_sealed_key_id(&id, sealed) == CF_OK
	    && id != cf_secret_keyring_current_id(kr));
}

int
cf_secret_open(char **out, size_t *out_len, const cf_secret_keyring *kr,
    const char *sealed, const char *ad, char *err, size_t errlen)
{
	const secret_key *k;
	EVP_CIPHER_CTX   *ctx = NULL;
	uint8_t          *blob, *nonce, *ct, *tag, *plain = NULL;
	size_t            bloblen, ctlen, adlen = ad != NULL ? strlen(ad) : 0;
	int               outl = 0, rv;

	*out = NULL;
	if (out_len != NULL) {
		*out_len = 0;
	}
	if (adlen > CF_SECRET_MAX_PLAIN) {
		cf_errf(err, errlen, "secret: associated data over %d bytes",
		    CF_SECRET_MAX_PLAIN);
		return (CF_ETOOBIG);
	}
	if ((rv = secret_unpack(&blob, &bloblen, sealed, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if ((k = secret_keyring_find(kr, secret_blob_id(blob))) == NULL) {
		cf_errf(err, errlen,
		    "secret: sealed with key %08x, which is neither %s (%08x) "
		    "nor in %s",
		    (unsigned) secret_blob_id(blob), CF_SECRET_KEY_ENV,
		    (unsigned) cf_secret_keyring_current_id(kr),
		    CF_SECRET_KEY_PREVIOUS_ENV);
		free(blob);
		return (CF_ENOENT);
	}
	nonce = blob + SECRET_HDR_LEN;
	ct    = nonce + CF_SECRET_NONCE_LEN;
	ctlen = bloblen - CF_SECRET_OVERHEAD;
	tag   = ct + ctlen;
	if ((plain = malloc(ctlen + 1)) == NULL) {
		free(blob);
		cf_errf(err, errlen, "secret: %s", cf_strerror(CF_ENOMEM));
		return (CF_ENOMEM);
	}
	rv = CF_ESYSTEM;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL
	    || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL)
	        != 1
	    || EVP_CIPHER_CTX_ctrl(
	           ctx, EVP_CTRL_GCM_SET_IVLEN, CF_SECRET_NONCE_LEN, NULL)
	        != 1
	    || EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1
	    || secret_add_ad(ctx, 0, blob, ad, adlen) != 0
	    || (ctlen > 0
	        && EVP_DecryptUpdate(ctx, plain, &outl, ct, (int) ctlen) != 1)
	    || EVP_CIPHER_CTX_ctrl(
	           ctx, EVP_CTRL_GCM_SET_TAG, CF_SECRET_TAG_LEN, tag)
	        != 1) {
		cf_errf(err, errlen, "secret: AES-256-GCM decryption failed");
		goto done;
	}
	/*
	 * GCM hands out plaintext before it has checked the tag: the bytes
	 * in plain are only trusted if the final step agrees, and wiped
	 * otherwise.
	 */
	if (EVP_DecryptFinal_ex(ctx, plain + outl, &outl) != 1) {
		rv = CF_EINVAL;
		cf_errf(err, errlen,
		    "secret: sealed value does not authenticate (wrong key, "
		    "wrong associated data, or altered)");
		goto done;
	}
	plain[ctlen] = '\0';
	*out         = (char *) plain;
	if (out_len != NULL) {
		*out_len = ctlen;
	}
	plain = NULL;
	rv    = CF_OK;
done:
	EVP_CIPHER_CTX_free(ctx);
	free(blob);
	cf_secret_free(plain, ctlen + 1);
	return (rv);
}

int
cf_secret_reseal(char **out, const cf_secret_keyring *kr, const char *sealed,
    const char *ad, char *err, size_t errlen)
{
	char  *plain;
	size_t len;
	int    rv;

	*out = NULL;
	if ((rv = cf_secret_open(&plain, &len, kr, sealed, ad, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	rv = cf_secret_seal(out, kr, plain, len, ad, err, errlen);
	cf_secret_free(plain, len + 1);
	return (rv);
}

/* ---- token expiry ------------------------------------------------------- */

/* 9999-12-31T23:59:59Z: later than any real expiry, and no overflow. */
#define SECRET_EXP_MAX 253402300799.0

int
cf_jwt_exp_ms(int64_t *out_ms, const char *jwt, char *err, size_t errlen)
{
	const char *dot1, *dot2, *sig;
	uint8_t    *payload;
	size_t      n, plen, got;
	cJSON      *root, *exp;
	double      d;
	int         rv = CF_EPROTO;

	if (jwt == NULL) {
		cf_errf(err, errlen, "jwt: no token");
		return (CF_EPROTO);
	}
	n = strnlen(jwt, CF_JWT_MAX_LEN + 1);
	if (n > CF_JWT_MAX_LEN) {
		cf_errf(
		    err, errlen, "jwt: longer than %d bytes", CF_JWT_MAX_LEN);
		return (CF_ETOOBIG);
	}
	dot1 = memchr(jwt, '.', n);
	dot2 = dot1 != NULL
	    ? memchr(dot1 + 1, '.', n - (size_t) (dot1 + 1 - jwt))
	    : NULL;
	if (dot2 == NULL
	    || memchr(dot2 + 1, '.', n - (size_t) (dot2 + 1 - jwt)) != NULL) {
		cf_errf(err, errlen, "jwt: not three dot-separated parts");
		return (CF_EPROTO);
	}
	sig  = dot2 + 1;
	plen = (size_t) (dot2 - dot1 - 1);
	if (dot1 == jwt || plen == 0) {
		cf_errf(err, errlen, "jwt: empty header or payload");
		return (CF_EPROTO);
	}
	/* The header and signature only have to look like base64url. */
	for (const char *p = jwt; p < dot1; p++) {
		if (secret_b64_value((unsigned char) *p, SECRET_B64_URL) < 0
		    && *p != '=') {
			cf_errf(err, errlen, "jwt: header is not base64url");
			return (CF_EPROTO);
		}
	}
	for (const char *p = sig; *p; p++) {
		if (secret_b64_value((unsigned char) *p, SECRET_B64_URL) < 0
		    && *p != '=') {
			cf_errf(
			    err, errlen, "jwt: signature is not base64url");
			return (CF_EPROTO);
		}
	}
	if ((payload = malloc(plen / 4 * 3 + 3)) == NULL) {
		cf_errf(err, errlen, "jwt: %s", cf_strerror(CF_ENOMEM));
		return (CF_ENOMEM);
	}
	if (secret_b64_decode(dot1 + 1, plen, payload, plen / 4 * 3 + 2, &got,
	        SECRET_B64_URL)
	    != 0) {
		free(payload);
		cf_errf(err, errlen, "jwt: payload is not base64url");
		return (CF_EPROTO);
	}
	/*
	 * The whole payload must be one JSON value: no NUL inside it and
	 * nothing after it (cJSON would otherwise stop at the first value).
	 */
	payload[got] = '\0';
	root         = memchr(payload, '\0', got) != NULL
	            ? NULL
	            : cJSON_ParseWithLengthOpts(
	                (const char *) payload, got + 1, NULL, 1);
	free(payload);
	if (root == NULL) {
		/* cJSON returns NULL for bad JSON and for no memory alike. */
		cf_errf(err, errlen, "jwt: payload is not JSON");
		return (CF_EPROTO);
	}
	if (!cJSON_IsObject(root)) {
		cf_errf(err, errlen, "jwt: payload is not a JSON object");
		goto done;
	}
	exp = cJSON_GetObjectItemCaseSensitive(root, "exp");
	if (exp == NULL) {
		cf_errf(err, errlen, "jwt: payload has no exp");
		rv = CF_ENOENT;
		goto done;
	}
	if (!cJSON_IsNumber(exp)) {
		cf_errf(err, errlen, "jwt: exp is not a number");
		goto done;
	}
	d = exp->valuedouble;
	if (!isfinite(d) || d < 0 || d > SECRET_EXP_MAX) {
		cf_errf(err, errlen, "jwt: exp is out of range");
		goto done;
	}
	/* Fractional seconds are allowed; round down (earlier is safer). */
	*out_ms = (int64_t) floor(d * 1000.0);
	rv      = CF_OK;
done:
	cJSON_Delete(root);
	return (rv);
}

int64_t
cf_token_expiry_ms(int64_t stored_expiry_ms, const char *jwt)
{
	int64_t e = stored_expiry_ms > 0 ? stored_expiry_ms : INT64_MAX;
	int64_t j;

	if (jwt != NULL && cf_jwt_exp_ms(&j, jwt, NULL, 0) == CF_OK && j < e) {
		e = j;
	}
	return (e);
}

bool
cf_token_expired(int64_t stored_expiry_ms, const char *jwt, int64_t now_ms)
{
	int64_t e = cf_token_expiry_ms(stored_expiry_ms, jwt);

	if (e == INT64_MAX) {
		return (false);
	}
	/* e > 0 or a JWT exp >= 0 here: e - skew cannot overflow. */
	return (now_ms >= e - CF_TOKEN_SKEW_MS);
}
