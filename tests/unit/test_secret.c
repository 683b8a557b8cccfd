/*
 * test_secret.c - lib/cf_secret: sealing and opening stored credentials
 * (round trips, wrong keys, altered values, wrong associated data, key
 * rotation), parsing keys from the environment, and token expiry from a
 * stored time and a JWT's exp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cf_err.h"
#include "cf_secret.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Three fixed keys, as an operator would set them. */
#define KEY_A                                                                 \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B                                                                 \
	"f0e1d2c3b4a5968778695a4b3c2d1e0ffedcba98765432100123456789abcdef"
#define KEY_C                                                                 \
	"5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99"

static cf_secret_keyring *
keyring(const char *current, const char *previous)
{
	cf_secret_keyring *kr       = NULL;
	char               err[256] = "";
	int                rv;

	rv = cf_secret_keyring_alloc(&kr, current, previous, err, sizeof(err));
	if (rv != CF_OK) {
		fail_msg("keyring: %s", err);
	}
	return (kr);
}

/* The bytes of a sealed text (standard base64), for tampering. */
static size_t
unb64(const char *text, uint8_t *out)
{
	size_t n = strlen(text);
	int len  = EVP_DecodeBlock(out, (const unsigned char *) text, (int) n);

	assert_true(len >= 0);
	/* EVP_DecodeBlock counts the bytes padding stands for. */
	while (n > 0 && text[n - 1] == '=') {
		n--;
		len--;
	}
	return ((size_t) len);
}

static char *
b64(const uint8_t *in, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *) out, in, (int) n);
	return (out);
}

/* base64url without padding, as JWTs use. */
static char *
b64url(const char *s)
{
	char *t = b64((const uint8_t *) s, strlen(s));

	for (char *p = t; *p; p++) {
		if (*p == '+') {
			*p = '-';
		} else if (*p == '/') {
			*p = '_';
		} else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return (t);
}

/* A JWT with the given payload text and an HS256-looking header. */
static char *
jwt_of(const char *payload)
{
	char  *h = b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	char  *p = b64url(payload);
	size_t n = strlen(h) + strlen(p) + 64;
	char  *t = malloc(n);

	assert_non_null(t);
	snprintf(t, n, "%s.%s.c2lnbmF0dXJlLW5vdC1jaGVja2Vk", h, p);
	free(h);
	free(p);
	return (t);
}

/* ---- round trips -------------------------------------------------------- */

static void
seal_open_round_trip(void **state)
{
	static const struct {
		const char *name;
		const char *plain;
		size_t      len; /* 0: strlen(plain) */
		const char *ad;
	} cases[] = {
		{ "empty", "", 0, "ingest.vendors:password:1" },
		{ "short", "hunter2", 0, "ingest.vendors:password:1" },
		{ "no ad", "client-secret-xyz", 0, NULL },
		{ "empty ad", "client-secret-xyz", 0, "" },
		{ "embedded NUL", "ab\0cd\0", 6, "t:c:9" },
		{ "utf-8", "clé secrète ✓", 0,
		    "ingest.vendor_tokens:access:7" },
		{ "json", "{\"user\":\"a\",\"pass\":\"b\"}", 0, "x" },
	};
	cf_secret_keyring *kr = keyring(KEY_A, NULL);
	char               err[256];

	(void) state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t len
		    = cases[i].len ? cases[i].len : strlen(cases[i].plain);
		char   *s1 = NULL, *s2 = NULL, *out = NULL;
		size_t  outlen = 99;
		uint8_t raw[256];

		assert_int_equal(cf_secret_seal(&s1, kr, cases[i].plain, len,
		                     cases[i].ad, err, sizeof(err)),
		    CF_OK);
		assert_int_equal(cf_secret_seal(&s2, kr, cases[i].plain, len,
		                     cases[i].ad, err, sizeof(err)),
		    CF_OK);
		/* A fresh nonce each time: the same value seals differently.
		 */
		if (strcmp(s1, s2) == 0) {
			fail_msg("%s: two seals are equal", cases[i].name);
		}
		/* Plain ASCII base64, one line, of the documented layout. */
		assert_int_equal(
		    strspn(s1,
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
		        "rstuvwxyz0123456789+/="),
		    strlen(s1));
		assert_int_equal(unb64(s1, raw), CF_SECRET_OVERHEAD + len);
		assert_int_equal(raw[0], CF_SECRET_VERSION);
		assert_int_equal((uint32_t) raw[1] << 24
		        | (uint32_t) raw[2] << 16 | (uint32_t) raw[3] << 8
		        | raw[4],
		    cf_secret_keyring_current_id(kr));

		assert_int_equal(cf_secret_open(&out, &outlen, kr, s1,
		                     cases[i].ad, err, sizeof(err)),
		    CF_OK);
		assert_int_equal(outlen, len);
		assert_memory_equal(out, cases[i].plain, len);
		assert_int_equal(out[len], '\0');
		cf_secret_free(out, outlen + 1);
		free(s1);
		free(s2);
	}
	cf_secret_keyring_free(kr);
}

static void
seal_str_and_sizes(void **state)
{
	cf_secret_keyring *kr  = keyring(KEY_A, NULL);
	size_t             big = CF_SECRET_MAX_PLAIN;
	char              *p   = malloc(big + 2);
	char              *s = NULL, *out = NULL, err[256];
	size_t             outlen;

	(void) state;
	assert_int_equal(
	    cf_secret_seal_str(&s, kr, "tok", "a", err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_secret_open(&out, NULL, kr, s, "a", err, sizeof(err)), CF_OK);
	assert_string_equal(out, "tok");
	cf_secret_free(out, 4);
	free(s);

	/* The largest value seals and opens; one byte more is refused. */
	assert_non_null(p);
	memset(p, 'x', big + 1);
	p[big + 1] = '\0';
	assert_int_equal(
	    cf_secret_seal(&s, kr, p, big, "a", err, sizeof(err)), CF_OK);
	assert_int_equal(
	    cf_secret_open(&out, &outlen, kr, s, "a", err, sizeof(err)),
	    CF_OK);
	assert_int_equal(outlen, big);
	cf_secret_free(out, outlen + 1);
	free(s);
	s = (char *) 1;
	assert_int_equal(
	    cf_secret_seal(&s, kr, p, big + 1, "a", err, sizeof(err)),
	    CF_ETOOBIG);
	assert_null(s);
	/* A text far longer than any sealed value is refused unread. */
	free(p);
	p = malloc(2 * big + 1);
	assert_non_null(p);
	memset(p, 'A', 2 * big);
	p[2 * big] = '\0';
	out        = (char *) 1;
	assert_int_equal(
	    cf_secret_open(&out, NULL, kr, p, "a", err, sizeof(err)),
	    CF_ETOOBIG);
	assert_null(out);
	free(p);
	cf_secret_keyring_free(kr);
}

/* ---- failures: wrong key, altered value, wrong ad ----------------------- */

static void
wrong_key_fails(void **state)
{
	cf_secret_keyring *a = keyring(KEY_A, NULL), *b = keyring(KEY_B, NULL);
	char              *s = NULL, *forged, *out = (char *) 1, err[256];
	uint8_t            raw[128];
	size_t             n;
	uint32_t           bid = cf_secret_keyring_current_id(b);

	(void) state;
	assert_int_not_equal(
	    cf_secret_keyring_current_id(a), cf_secret_keyring_current_id(b));
	assert_int_equal(
	    cf_secret_seal_str(&s, a, "pw", "t:c:1", err, sizeof(err)), CF_OK);
	/* Another key: its id is not in the keyring, and the message says
	 * which ids are involved. */
	assert_int_equal(
	    cf_secret_open(&out, NULL, b, s, "t:c:1", err, sizeof(err)),
	    CF_ENOENT);
	assert_null(out);
	assert_non_null(strstr(err, "CRONFLEET_SECRET_KEY"));
	/* The same value labelled with b's id: the tag must not match. */
	n      = unb64(s, raw);
	raw[1] = (uint8_t) (bid >> 24);
	raw[2] = (uint8_t) (bid >> 16);
	raw[3] = (uint8_t) (bid >> 8);
	raw[4] = (uint8_t) bid;
	forged = b64(raw, n);
	out    = (char *) 1;
	assert_int_equal(
	    cf_secret_open(&out, NULL, b, forged, "t:c:1", err, sizeof(err)),
	    CF_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err, "does not authenticate"));
	free(forged);
	free(s);
	cf_secret_keyring_free(a);
	cf_secret_keyring_free(b);
}

static void
tampered_value_fails(void **state)
{
	/* Which byte of "version | id | nonce | ciphertext | tag" changes,
	 * and the answer. The plaintext is 10 bytes: ciphertext at 17-26,
	 * tag at 27-42. */
	static const struct {
		const char *name;
		size_t      at;
		int         rv;
	} cases[] = {
		{ "version", 0, CF_EPROTO },
		{ "key id", 3, CF_ENOENT },
		{ "nonce first", 5, CF_EINVAL },
		{ "nonce last", 16, CF_EINVAL },
		{ "ciphertext first", 17, CF_EINVAL },
		{ "ciphertext last", 26, CF_EINVAL },
		{ "tag first", 27, CF_EINVAL },
		{ "tag last", 42, CF_EINVAL },
	};
	cf_secret_keyring *kr = keyring(KEY_A, NULL);
	char              *s  = NULL, *t, *out, err[256];
	uint8_t            raw[64], copy[64];
	size_t             n;

	(void) state;
	assert_int_equal(cf_secret_seal_str(
	                     &s, kr, "0123456789", "t:c:1", err, sizeof(err)),
	    CF_OK);
	n = unb64(s, raw);
	assert_int_equal(n, CF_SECRET_OVERHEAD + 10);
	for (size_t i = 0; i < NELEM(cases); i++) {
		memcpy(copy, raw, n);
		copy[cases[i].at] ^= 0x01;
		t   = b64(copy, n);
		out = (char *) 1;
		if (cf_secret_open(
		        &out, NULL, kr, t, "t:c:1", err, sizeof(err))
		    != cases[i].rv) {
			fail_msg("%s: wrong answer (%s)", cases[i].name, err);
		}
		assert_null(out);
		free(t);
	}

	/* Every single bit flipped anywhere: never opens. */
	for (size_t bit = 0; bit < 8 * n; bit++) {
		memcpy(copy, raw, n);
		copy[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		t   = b64(copy, n);
		out = (char *) 1;
		assert_int_not_equal(cf_secret_open(&out, NULL, kr, t, "t:c:1",
		                         err, sizeof(err)),
		    CF_OK);
		assert_null(out);
		free(t);
	}

	/* Cut short (the tag loses a byte), or shorter than any value. */
	t = b64(raw, n - 1);
	assert_int_equal(
	    cf_secret_open(&out, NULL, kr, t, "t:c:1", err, sizeof(err)),
	    CF_EINVAL);
	free(t);
	t = b64(raw, CF_SECRET_OVERHEAD - 1);
	assert_int_equal(
	    cf_secret_open(&out, NULL, kr, t, "t:c:1", err, sizeof(err)),
	    CF_EPROTO);
	assert_non_null(strstr(err, "too short"));
	free(t);
	/* Not base64 at all, and the other malformed texts. */
	{
		static const char *bad[] = { "", "!!!!", "abc", "ab=c",
			"AQIDBA==AQID", "AQID BA==", "AQIDBA-_" };
		for (size_t i = 0; i < NELEM(bad); i++) {
			out = (char *) 1;
			assert_int_equal(cf_secret_open(&out, NULL, kr, bad[i],
			                     "t:c:1", err, sizeof(err)),
			    CF_EPROTO);
			assert_null(out);
		}
		assert_int_equal(cf_secret_open(&out, NULL, kr, NULL, "t:c:1",
		                     err, sizeof(err)),
		    CF_EPROTO);
	}
	/* Base64 whose last character carries stray low bits is refused,
	 * so no two texts name the same bytes. */
	{
		static const char alpha[]
		    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		      "klmnopqrstuvwxyz0123456789+/";
		size_t len = strlen(s);
		char  *c;

		/* 43 bytes: the text ends "Xy==", and y's low 4 bits are
		 * padding. Set the lowest. */
		assert_int_equal(n % 3, 1);
		assert_string_equal(s + len - 2, "==");
		t = strdup(s);
		c = strchr(alpha, t[len - 3]);
		assert_non_null(c);
		assert_int_equal((c - alpha) & 0xf, 0);
		t[len - 3] = alpha[(c - alpha) | 1];
	}
	out = (char *) 1;
	assert_int_equal(
	    cf_secret_open(&out, NULL, kr, t, "t:c:1", err, sizeof(err)),
	    CF_EPROTO);
	assert_non_null(strstr(err, "bad base64"));
	assert_null(out);
	free(t);
	free(s);
	cf_secret_keyring_free(kr);
}

static void
wrong_ad_fails(void **state)
{
	static const struct {
		const char *sealed_ad;
		const char *open_ad;
		int         rv;
	} cases[] = {
		{ "ingest.vendors:password:1", "ingest.vendors:password:1",
		    CF_OK },
		{ "ingest.vendors:password:1", "ingest.vendors:password:2",
		    CF_EINVAL },
		{ "ingest.vendors:password:1", "ingest.vendors:api_key:1",
		    CF_EINVAL },
		{ "ingest.vendors:password:1", "ingest.vendors:password:1 ",
		    CF_EINVAL },
		{ "ingest.vendors:password:1", NULL, CF_EINVAL },
		{ NULL, "x", CF_EINVAL },
		/* No ad and an empty ad are the same. */
		{ NULL, "", CF_OK },
		{ "", NULL, CF_OK },
	};
	cf_secret_keyring *kr = keyring(KEY_A, NULL);
	char               err[256];

	(void) state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = NULL, *out = (char *) 1;

		assert_int_equal(cf_secret_seal_str(&s, kr, "secret",
		                     cases[i].sealed_ad, err, sizeof(err)),
		    CF_OK);
		if (cf_secret_open(
		        &out, NULL, kr, s, cases[i].open_ad, err, sizeof(err))
		    != cases[i].rv) {
			fail_msg("case %zu: wrong answer", i);
		}
		if (cases[i].rv == CF_OK) {
			assert_string_equal(out, "secret");
			cf_secret_free(out, 7);
		} else {
			assert_null(out);
			/* The message never quotes the ad or the value. */
			assert_null(strstr(err, "secret\""));
			assert_null(strstr(err, "ingest."));
		}
		free(s);
	}
	cf_secret_keyring_free(kr);
}

/* ---- rotation ----------------------------------------------------------- */

static void
rotation(void **state)
{
	cf_secret_keyring *old  = keyring(KEY_A, NULL);
	cf_secret_keyring *both = keyring(KEY_B, KEY_A);
	cf_secret_keyring *nw   = keyring(KEY_B, NULL);
	cf_secret_keyring *many = keyring(KEY_C, " " KEY_B " ,, " KEY_A ",");
	char    *s_old = NULL, *s_new = NULL, *s2 = NULL, *out = NULL;
	char     err[256];
	uint32_t id;

	(void) state;
	assert_int_equal(cf_secret_seal_str(&s_old, old, "token-1", "t:c:5",
	                     err, sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_secret_sealed_key_id(&id, s_old), CF_OK);
	assert_int_equal(id, cf_secret_keyring_current_id(old));
	assert_false(cf_secret_needs_reseal(old, s_old));

	/* After the rotation both keys open, the old value wants a reseal. */
	assert_int_equal(cf_secret_keyring_current_id(both),
	    cf_secret_keyring_current_id(nw));
	assert_true(cf_secret_needs_reseal(both, s_old));
	assert_int_equal(
	    cf_secret_open(&out, NULL, both, s_old, "t:c:5", err, sizeof(err)),
	    CF_OK);
	assert_string_equal(out, "token-1");
	cf_secret_free(out, 8);
	/* Resealing checks the ad as opening does. */
	assert_int_equal(
	    cf_secret_reseal(&s_new, both, s_old, "t:c:6", err, sizeof(err)),
	    CF_EINVAL);
	assert_null(s_new);
	assert_int_equal(
	    cf_secret_reseal(&s_new, both, s_old, "t:c:5", err, sizeof(err)),
	    CF_OK);
	assert_int_equal(cf_secret_sealed_key_id(&id, s_new), CF_OK);
	assert_int_equal(id, cf_secret_keyring_current_id(nw));
	assert_false(cf_secret_needs_reseal(both, s_new));
	/* Malformed text is no reseal candidate. */
	assert_false(cf_secret_needs_reseal(both, "!!"));

	/* Once the old key is dropped, only the resealed value opens. */
	assert_int_equal(
	    cf_secret_open(&out, NULL, nw, s_new, "t:c:5", err, sizeof(err)),
	    CF_OK);
	assert_string_equal(out, "token-1");
	cf_secret_free(out, 8);
	assert_int_equal(
	    cf_secret_open(&out, NULL, nw, s_old, "t:c:5", err, sizeof(err)),
	    CF_ENOENT);
	assert_int_equal(
	    cf_secret_reseal(&s2, nw, s_old, "t:c:5", err, sizeof(err)),
	    CF_ENOENT);
	assert_null(s2);

	/* Three keys, spaces and empty items in the list: all open. */
	assert_int_equal(
	    cf_secret_open(&out, NULL, many, s_old, "t:c:5", err, sizeof(err)),
	    CF_OK);
	cf_secret_free(out, 8);
	assert_int_equal(
	    cf_secret_open(&out, NULL, many, s_new, "t:c:5", err, sizeof(err)),
	    CF_OK);
	cf_secret_free(out, 8);
	assert_true(cf_secret_needs_reseal(many, s_new));

	free(s_old);
	free(s_new);
	cf_secret_keyring_free(old);
	cf_secret_keyring_free(both);
	cf_secret_keyring_free(nw);
	cf_secret_keyring_free(many);
}

/* ---- keys --------------------------------------------------------------- */

static void
key_parse_table(void **state)
{
	/* KEY_A's bytes (00 01 .. 1f) in every accepted spelling. */
	static const struct {
		const char *text;
		int         rv;
		const char *why; /* part of the message, for errors */
	} cases[] = {
		{ KEY_A, CF_OK, NULL },
		{ "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1"
		  "D1E"
		  "1F",
		    CF_OK, NULL },
		{ "  " KEY_A "\n", CF_OK, NULL },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", CF_OK,
		    NULL },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", CF_OK, NULL },
		{ "\tAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n", CF_OK,
		    NULL },
		{ "", CF_EINVAL, "empty" },
		{ " \n ", CF_EINVAL, "empty" },
		{ "0001020304", CF_EINVAL, "10 hex digits" },
		{ KEY_A "0", CF_EINVAL, "65 hex digits" },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1"
		  "d1e"
		  "1g",
		    CF_EINVAL, "neither" },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", CF_EINVAL,
		    "base64 of 31 bytes" },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", CF_EINVAL,
		    "base64 of 33 bytes" },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", CF_EINVAL,
		    "neither" },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", CF_EINVAL,
		    "neither" }, /* stray low bits */
		{ "changeme", CF_EINVAL, "neither" },
		{ "00000000000000000000000000000000000000000000000000000000000"
		  "00"
		  "000",
		    CF_EINVAL, "all zeros" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CF_EINVAL,
		    "all zeros" },
	};
	uint8_t want[CF_SECRET_KEY_LEN], key[CF_SECRET_KEY_LEN];
	char    err[256];

	(void) state;
	for (size_t i = 0; i < sizeof(want); i++) {
		want[i] = (uint8_t) i;
	}
	for (size_t i = 0; i < NELEM(cases); i++) {
		int rv;

		err[0] = '\0';
		rv = cf_secret_key_parse(key, cases[i].text, err, sizeof(err));
		if (rv != cases[i].rv) {
			fail_msg("case %zu: rv %d (%s)", i, rv, err);
		}
		if (rv == CF_OK) {
			assert_memory_equal(key, want, sizeof(want));
		} else if (strstr(err, cases[i].why) == NULL) {
			fail_msg("case %zu: message '%s' lacks '%s'", i, err,
			    cases[i].why);
		} else if (strlen(cases[i].text) > 8
		    && strstr(err, cases[i].text) != NULL) {
			fail_msg("case %zu: message quotes the key", i);
		}
	}
	assert_int_equal(
	    cf_secret_key_parse(key, NULL, err, sizeof(err)), CF_EINVAL);
}

static void
keyring_errors(void **state)
{
	static const struct {
		const char *current;
		const char *previous;
		int         rv;
		const char *why;
	} cases[] = {
		{ NULL, NULL, CF_EINVAL, "CRONFLEET_SECRET_KEY: not set" },
		{ "", KEY_A, CF_EINVAL, "CRONFLEET_SECRET_KEY: not set" },
		{ "0123", NULL, CF_EINVAL,
		    "CRONFLEET_SECRET_KEY: is 4 hex digits" },
		{ KEY_A, "nope", CF_EINVAL,
		    "CRONFLEET_SECRET_KEY_PREVIOUS item 1: is neither" },
		{ KEY_A, KEY_B ",abc", CF_EINVAL,
		    "CRONFLEET_SECRET_KEY_PREVIOUS item 2:" },
		{ KEY_A, KEY_B "," KEY_C "," KEY_A ",", CF_OK, NULL },
		{ KEY_A, "", CF_OK, NULL }, { KEY_A, ",", CF_OK, NULL },
		{ KEY_A, KEY_A, CF_OK,
		    NULL }, /* the same key again: kept once */
	};
	char err[256];

	(void) state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		cf_secret_keyring *kr = (cf_secret_keyring *) 1;
		int                rv;

		err[0] = '\0';
		rv     = cf_secret_keyring_alloc(&kr, cases[i].current,
		        cases[i].previous, err, sizeof(err));
		if (rv != cases[i].rv) {
			fail_msg("case %zu: rv %d (%s)", i, rv, err);
		}
		if (rv != CF_OK) {
			assert_null(kr);
			if (strstr(err, cases[i].why) == NULL) {
				fail_msg("case %zu: message '%s' lacks '%s'",
				    i, err, cases[i].why);
			}
		}
		cf_secret_keyring_free(kr);
	}

	/* More keys than a keyring holds. */
	{
		char               list[CF_SECRET_MAX_KEYS * 66 + 1] = "";
		cf_secret_keyring *kr;

		for (int i = 0; i < CF_SECRET_MAX_KEYS; i++) {
			char k[66];
			snprintf(k, sizeof(k), "%062x%02x,", 0, i + 1);
			strcat(list, k);
		}
		assert_int_equal(cf_secret_keyring_alloc(
		                     &kr, KEY_A, list, err, sizeof(err)),
		    CF_EINVAL);
		assert_non_null(strstr(err, "more than"));
	}
}

/* The key through the environment, and through a cf_config table. */
struct secret_cfg {
	char *secret_key;
	char *secret_key_previous;
};

static const cf_config_item secret_table[] = {
	CF_SECRET_CFG_ITEMS(
	    struct secret_cfg, secret_key, secret_key_previous),
};

static void
keyring_from_environment(void **state)
{
	cf_secret_keyring *kr = NULL;
	struct secret_cfg  cfg;
	char               err[256], *dump = NULL;

	(void) state;
	unsetenv(CF_SECRET_KEY_ENV);
	unsetenv(CF_SECRET_KEY_PREVIOUS_ENV);
	assert_int_equal(
	    cf_secret_keyring_from_env(&kr, err, sizeof(err)), CF_EINVAL);
	assert_non_null(strstr(err, "CRONFLEET_SECRET_KEY: not set"));

	setenv(CF_SECRET_KEY_ENV, "tooshort", 1);
	assert_int_equal(
	    cf_secret_keyring_from_env(&kr, err, sizeof(err)), CF_EINVAL);
	assert_non_null(strstr(err, "CRONFLEET_SECRET_KEY:"));
	assert_null(strstr(err, "tooshort"));

	setenv(CF_SECRET_KEY_ENV, KEY_B, 1);
	setenv(CF_SECRET_KEY_PREVIOUS_ENV, KEY_A, 1);
	assert_int_equal(
	    cf_secret_keyring_from_env(&kr, err, sizeof(err)), CF_OK);
	{
		cf_secret_keyring *b = keyring(KEY_B, NULL);
		assert_int_equal(cf_secret_keyring_current_id(kr),
		    cf_secret_keyring_current_id(b));
		cf_secret_keyring_free(b);
	}
	cf_secret_keyring_free(kr);

	/* The config table: required, secret (redacted in the dump). */
	assert_int_equal(cf_config_load(secret_table, NELEM(secret_table),
	                     &cfg, NULL, err, sizeof(err)),
	    CF_OK);
	assert_int_equal(
	    cf_config_dump(secret_table, NELEM(secret_table), &cfg, &dump),
	    CF_OK);
	assert_null(strstr(dump, KEY_B));
	assert_null(strstr(dump, KEY_A));
	assert_non_null(strstr(dump, "<redacted>"));
	free(dump);
	assert_int_equal(cf_secret_keyring_alloc(&kr, cfg.secret_key,
	                     cfg.secret_key_previous, err, sizeof(err)),
	    CF_OK);
	cf_secret_wipe_str(cfg.secret_key);
	cf_secret_wipe_str(cfg.secret_key_previous);
	assert_int_equal(cfg.secret_key[0], '\0');
	cf_config_free(secret_table, NELEM(secret_table), &cfg);
	cf_secret_keyring_free(kr);

	unsetenv(CF_SECRET_KEY_ENV);
	assert_int_equal(cf_config_load(secret_table, NELEM(secret_table),
	                     &cfg, NULL, err, sizeof(err)),
	    CF_EINVAL);
	assert_non_null(strstr(err, "CRONFLEET_SECRET_KEY"));
	unsetenv(CF_SECRET_KEY_PREVIOUS_ENV);
}

/* ---- JWT exp ------------------------------------------------------------ */

static void
jwt_exp_table(void **state)
{
	/* payload: JSON made into a JWT; raw: the token as given. */
	static const struct {
		const char *name;
		const char *payload;
		const char *raw;
		int         rv;
		int64_t     ms;
	} cases[] = {
		{ "exp", "{\"sub\":\"x\",\"exp\":1700000000}", NULL, CF_OK,
		    1700000000000 },
		{ "fractional exp", "{\"exp\":1700000000.9999}", NULL, CF_OK,
		    1700000000999 },
		{ "exp 0", "{\"exp\":0}", NULL, CF_OK, 0 },
		{ "no exp", "{\"sub\":\"x\",\"iat\":1700000000}", NULL,
		    CF_ENOENT, 0 },
		{ "nested exp only", "{\"x\":{\"exp\":1}}", NULL, CF_ENOENT,
		    0 },
		{ "exp string", "{\"exp\":\"1700000000\"}", NULL, CF_EPROTO,
		    0 },
		{ "exp word", "{\"exp\":\"soon\"}", NULL, CF_EPROTO, 0 },
		{ "exp null", "{\"exp\":null}", NULL, CF_EPROTO, 0 },
		{ "exp true", "{\"exp\":true}", NULL, CF_EPROTO, 0 },
		{ "exp object", "{\"exp\":{}}", NULL, CF_EPROTO, 0 },
		{ "exp negative", "{\"exp\":-1}", NULL, CF_EPROTO, 0 },
		{ "exp huge", "{\"exp\":1e300}", NULL, CF_EPROTO, 0 },
		{ "exp year 10000", "{\"exp\":253402300800}", NULL, CF_EPROTO,
		    0 },
		{ "payload array", "[1,2]", NULL, CF_EPROTO, 0 },
		{ "payload not json", "not json", NULL, CF_EPROTO, 0 },
		{ "payload truncated", "{\"exp\":17", NULL, CF_EPROTO, 0 },
		{ "no signature", NULL, "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.",
		    CF_OK, 1000 },
		{ "bad base64 payload", NULL, "eyJhbGciOiJub25lIn0.@@@@.sig",
		    CF_EPROTO, 0 },
		{ "standard alphabet", NULL, "eyJhbGciOiJub25lIn0.ab+/.sig",
		    CF_EPROTO, 0 },
		{ "impossible length", NULL, "eyJhbGciOiJub25lIn0.eyJle.sig",
		    CF_EPROTO, 0 },
		{ "short payload", NULL,
		    "eyJhbGciOiJub25lIn0.eyJleHAiOjEwfQ.s", CF_OK, 10000 },
		{ "padded payload", NULL,
		    "eyJhbGciOiJub25lIn0.eyJleHAiOjEwfQ==.s", CF_OK, 10000 },
		{ "stray bits", NULL, "eyJhbGciOiJub25lIn0.eyJleHAiOjEwfR.s",
		    CF_EPROTO, 0 },
		{ "junk after json", NULL,
		    "eyJhbGciOiJub25lIn0.eyJleHAiOjF9eA.s", CF_EPROTO, 0 },
		{ "bad header", NULL, "e!J.eyJleHAiOjF9.sig", CF_EPROTO, 0 },
		{ "bad signature", NULL,
		    "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.s g", CF_EPROTO, 0 },
		{ "two parts", NULL, "eyJhbGciOiJub25lIn0.eyJleHAiOjF9",
		    CF_EPROTO, 0 },
		{ "four parts", NULL, "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.a.b",
		    CF_EPROTO, 0 },
		{ "one part", NULL, "opaque-token-not-a-jwt", CF_EPROTO, 0 },
		{ "empty", NULL, "", CF_EPROTO, 0 },
		{ "dots only", NULL, "..", CF_EPROTO, 0 },
		{ "empty payload", NULL, "eyJhbGciOiJub25lIn0..sig", CF_EPROTO,
		    0 },
		{ "empty header", NULL, ".eyJleHAiOjF9.sig", CF_EPROTO, 0 },
	};
	char    err[256];
	int64_t ms;

	(void) state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *t = cases[i].raw != NULL ? strdup(cases[i].raw)
		                               : jwt_of(cases[i].payload);
		int   rv;

		ms     = -7;
		err[0] = '\0';
		rv     = cf_jwt_exp_ms(&ms, t, err, sizeof(err));
		if (rv != cases[i].rv) {
			fail_msg("%s: rv %d (%s)", cases[i].name, rv, err);
		}
		if (rv == CF_OK && ms != cases[i].ms) {
			fail_msg(
			    "%s: exp %lld", cases[i].name, (long long) ms);
		}
		if (rv != CF_OK && strncmp(err, "jwt: ", 5) != 0) {
			fail_msg("%s: no message", cases[i].name);
		}
		free(t);
	}
	assert_int_equal(
	    cf_jwt_exp_ms(&ms, NULL, err, sizeof(err)), CF_EPROTO);
}

static void
jwt_huge_and_hostile(void **state)
{
	size_t  n = 4 * CF_JWT_MAX_LEN;
	char   *t = malloc(n + 1), *payload, *j;
	char    err[256];
	int64_t ms;

	(void) state;
	/* Far over the limit: refused without reading it all. */
	assert_non_null(t);
	memset(t, 'A', n);
	t[10]     = '.';
	t[n - 10] = '.';
	t[n]      = '\0';
	assert_int_equal(cf_jwt_exp_ms(&ms, t, err, sizeof(err)), CF_ETOOBIG);
	/* Just over the limit, and just under it. */
	t[CF_JWT_MAX_LEN + 1] = '\0';
	t[CF_JWT_MAX_LEN - 5] = '.';
	assert_int_equal(cf_jwt_exp_ms(&ms, t, err, sizeof(err)), CF_ETOOBIG);
	t[CF_JWT_MAX_LEN] = '\0';
	assert_int_not_equal(
	    cf_jwt_exp_ms(&ms, t, err, sizeof(err)), CF_ETOOBIG);
	free(t);

	/* Deep nesting within the limit: an error, not a crash. */
	payload = malloc(8001);
	assert_non_null(payload);
	for (int i = 0; i < 4000; i++) {
		payload[i]        = '[';
		payload[7999 - i] = ']';
	}
	payload[8000] = '\0';
	j             = jwt_of(payload);
	assert_true(strlen(j) < CF_JWT_MAX_LEN);
	assert_int_equal(cf_jwt_exp_ms(&ms, j, err, sizeof(err)), CF_EPROTO);
	free(j);
	free(payload);

	/* A large but valid payload. */
	payload = malloc(11000);
	assert_non_null(payload);
	strcpy(payload, "{\"pad\":\"");
	memset(payload + 8, 'p', 10000);
	strcpy(payload + 10008, "\",\"exp\":1800000000}");
	j = jwt_of(payload);
	assert_int_equal(cf_jwt_exp_ms(&ms, j, err, sizeof(err)), CF_OK);
	assert_int_equal(ms, 1800000000000);
	free(j);
	free(payload);

	/* Embedded NUL in the payload: JSON ends there, the rest is junk. */
	assert_int_equal(cf_jwt_exp_ms(&ms, "eyJhbGciOiJub25lIn0.e30AeA.s",
	                     err, sizeof(err)),
	    CF_EPROTO);
}

/* ---- token expiry ------------------------------------------------------- */

static void
token_expiry_table(void **state)
{
	/* E: the expiry under test. JWTs carry exp in seconds. */
#define E 1700000000000LL
	static const struct {
		const char *name;
		int64_t     stored;
		const char *payload; /* NULL: no JWT; "!": not a JWT */
		int64_t     now;
		bool        expired;
	} cases[] = {
		{ "stored, 5 min before", E, NULL, E - CF_TOKEN_SKEW_MS,
		    true },
		{ "stored, 5 min + 1 ms before", E, NULL,
		    E - CF_TOKEN_SKEW_MS - 1, false },
		{ "stored, long before", E, NULL, E - 3600000, false },
		{ "stored, at expiry", E, NULL, E, true },
		{ "stored, after", E, NULL, E + 1, true },
		{ "jwt, 5 min before", 0, "{\"exp\":1700000000}",
		    E - CF_TOKEN_SKEW_MS, true },
		{ "jwt, 5 min + 1 ms before", 0, "{\"exp\":1700000000}",
		    E - CF_TOKEN_SKEW_MS - 1, false },
		/* The earlier of the two decides. */
		{ "jwt earlier than stored", E + 3600000,
		    "{\"exp\":1700000000}", E - CF_TOKEN_SKEW_MS, true },
		{ "jwt earlier, 1 ms short", E + 3600000,
		    "{\"exp\":1700000000}", E - CF_TOKEN_SKEW_MS - 1, false },
		{ "stored earlier than jwt", E, "{\"exp\":1700003600}",
		    E - CF_TOKEN_SKEW_MS, true },
		{ "stored earlier, 1 ms short", E, "{\"exp\":1700003600}",
		    E - CF_TOKEN_SKEW_MS - 1, false },
		/* A JWT without a usable exp adds nothing. */
		{ "jwt without exp", E, "{\"sub\":\"a\"}",
		    E - CF_TOKEN_SKEW_MS, true },
		{ "jwt without exp, early", E, "{\"sub\":\"a\"}",
		    E - CF_TOKEN_SKEW_MS - 1, false },
		{ "not a jwt", E, "!", E - CF_TOKEN_SKEW_MS - 1, false },
		{ "bad exp", E, "{\"exp\":\"x\"}", E - CF_TOKEN_SKEW_MS - 1,
		    false },
		/* Nothing known: never expired here (a 401 refreshes). */
		{ "nothing known", 0, NULL, INT64_MAX, false },
		{ "negative stored", -5, NULL, E, false },
		{ "nothing known, opaque", 0, "!", E, false },
		{ "jwt exp 0", 0, "{\"exp\":0}", INT64_MIN, false },
		{ "jwt exp 0, now 0", 0, "{\"exp\":0}", 0, true },
		{ "stored 1, far past", 1, NULL, INT64_MIN, false },
		{ "stored max", INT64_MAX - 1, NULL, INT64_MAX, true },
	};

	(void) state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *jwt = NULL;
		bool  got;

		if (cases[i].payload != NULL) {
			jwt = strcmp(cases[i].payload, "!") == 0
			    ? strdup("opaque.token")
			    : jwt_of(cases[i].payload);
		}
		got = cf_token_expired(cases[i].stored, jwt, cases[i].now);
		if (got != cases[i].expired) {
			fail_msg("%s: expired %d", cases[i].name, got);
		}
		free(jwt);
	}
	assert_int_equal(CF_TOKEN_SKEW_MS, 300000);
	assert_int_equal(cf_token_expiry_ms(0, NULL), INT64_MAX);
	assert_int_equal(cf_token_expiry_ms(E, NULL), E);
	{
		char *j = jwt_of("{\"exp\":1690000000}");
		assert_int_equal(cf_token_expiry_ms(E, j), 1690000000000LL);
		assert_int_equal(cf_token_expiry_ms(0, j), 1690000000000LL);
		assert_int_equal(cf_token_expiry_ms(1, j), 1);
		free(j);
	}
#undef E
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seal_open_round_trip),
		cmocka_unit_test(seal_str_and_sizes),
		cmocka_unit_test(wrong_key_fails),
		cmocka_unit_test(tampered_value_fails),
		cmocka_unit_test(wrong_ad_fails),
		cmocka_unit_test(rotation),
		cmocka_unit_test(key_parse_table),
		cmocka_unit_test(keyring_errors),
		cmocka_unit_test(keyring_from_environment),
		cmocka_unit_test(jwt_exp_table),
		cmocka_unit_test(jwt_huge_and_hostile),
		cmocka_unit_test(token_expiry_table),
	};
	return (cmocka_run_group_tests_name("unit.secret", tests, NULL, NULL));
}
