/*
 * tokens.c - the token store: access and refresh tokens of sources,
 * plant vendors and provider accounts, sealed in <schema>.tokens.
 *
 * Each sealed column is bound to its row ("tokens:access_token:vendor:7"),
 * so a token copied into another owner's row does not open. A token that
 * does not open (the key was rotated away, the row was tampered with) is
 * reported, and the caller logs in again: credentials are the source of
 * truth, tokens only a cache of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_time.h"
#include "ingest.h"

static int
token_open(const ingest *in, const char *sealed, const char *column,
    const char *owner, const char *key, char **out, char *err, size_t errlen)
{
	char   ad[256], id[160], why[256];
	size_t n;
	int    rv;

	*out = NULL;
	if (sealed == NULL || sealed[0] == '\0') {
		return (CF_OK);
	}
	snprintf(id, sizeof(id), "%s:%s", owner, key);
	ingest_ad(ad, sizeof(ad), "tokens", column, id);
	if ((rv = cf_secret_open(
	         out, &n, in->keys, sealed, ad, why, sizeof(why)))
	    != CF_OK) {
		cf_errf(err, errlen, "stored %s of %s %s does not open: %s",
		    column, owner, key, why);
	}
	return (rv);
}

int
ingest_token_load(const ingest *in, cf_pg *pg, const char *owner,
    const char *key, ingest_token *out, char *err, size_t errlen)
{
	char        sql[512];
	const char *p[2] = { owner, key };
	PGresult   *res  = NULL;
	int         rv;

	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql),
	    "SELECT access_token, refresh_token, "
	    "(extract(epoch FROM expires_at) * 1000)::bigint, metadata::text "
	    "FROM %s.tokens WHERE owner = $1 AND owner_key = $2",
	    in->schema);
	if ((rv = cf_pg_exec_prepared(pg, sql, 2, p, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		out->metadata = cJSON_CreateObject();
		return (out->metadata != NULL ? CF_OK : CF_ENOMEM);
	}
	if (!PQgetisnull(res, 0, 2)) {
		out->expires_ms = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	}
	out->metadata = cJSON_Parse(PQgetvalue(res, 0, 3));
	if (out->metadata == NULL || !cJSON_IsObject(out->metadata)) {
		cJSON_Delete(out->metadata);
		out->metadata = cJSON_CreateObject();
	}
	if ((rv = token_open(in, PQgetvalue(res, 0, 0), "access_token", owner,
	         key, &out->access, err, errlen))
	        != CF_OK
	    || (rv = token_open(in, PQgetvalue(res, 0, 1), "refresh_token",
	            owner, key, &out->refresh, err, errlen))
	        != CF_OK) {
		PQclear(res);
		/* Keep the metadata; drop what did not open. */
		cJSON *meta   = out->metadata;
		out->metadata = NULL;
		ingest_token_free(out);
		out->metadata = meta;
		return (CF_EINVAL);
	}
	PQclear(res);
	return (out->metadata != NULL ? CF_OK : CF_ENOMEM);
}

static int
token_seal(const ingest *in, const char *plain, const char *column,
    const char *owner, const char *key, char **out, char *err, size_t errlen)
{
	char ad[256], id[160];

	*out = NULL;
	if (plain == NULL) {
		return (CF_OK);
	}
	snprintf(id, sizeof(id), "%s:%s", owner, key);
	ingest_ad(ad, sizeof(ad), "tokens", column, id);
	return (cf_secret_seal_str(out, in->keys, plain, ad, err, errlen));
}

int
ingest_token_store(const ingest *in, cf_pg *pg, const char *owner,
    const char *key, ingest_token *t, char *err, size_t errlen)
{
	char        sql[768], exp[32];
	char       *acc = NULL, *ref = NULL, *meta = NULL;
	const char *p[6];
	int         rv;

	if ((rv = token_seal(
	         in, t->access, "access_token", owner, key, &acc, err, errlen))
	        != CF_OK
	    || (rv = token_seal(in, t->refresh, "refresh_token", owner, key,
	            &ref, err, errlen))
	        != CF_OK) {
		goto out;
	}
	if ((meta = cJSON_PrintUnformatted(t->metadata)) == NULL
	    && t->metadata != NULL) {
		rv = CF_ENOMEM;
		goto out;
	}
	snprintf(exp, sizeof(exp), "%lld", (long long) t->expires_ms);
	p[0] = owner;
	p[1] = key;
	p[2] = acc;
	p[3] = ref;
	p[4] = t->expires_ms > 0 ? exp : NULL;
	p[5] = meta != NULL ? meta : "{}";
	snprintf(sql, sizeof(sql),
	    "INSERT INTO %s.tokens AS t (owner, owner_key, access_token, "
	    "refresh_token, expires_at, metadata, refreshed_at, refreshes) "
	    "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0), "
	    "$6::jsonb, now(), 1) "
	    "ON CONFLICT (owner, owner_key) DO UPDATE SET "
	    "access_token = EXCLUDED.access_token, "
	    "refresh_token = COALESCE(EXCLUDED.refresh_token, "
	    "t.refresh_token), expires_at = EXCLUDED.expires_at, "
	    "metadata = EXCLUDED.metadata, refreshed_at = now(), "
	    "refreshes = t.refreshes + 1",
	    in->schema);
	if ((rv = cf_pg_exec_prepared(pg, sql, 6, p, NULL, err, errlen))
	    == CF_OK) {
		t->changed = 0;
	}
out:
	free(acc);
	free(ref);
	free(meta);
	return (rv);
}

int
ingest_token_stale(const ingest_token *t, int64_t now_ms)
{
	return (t->access == NULL || t->access[0] == '\0'
	    || cf_token_expired(t->expires_ms, t->access, now_ms));
}

static void
token_str_free(char **s)
{
	if (*s != NULL) {
		cf_secret_free(*s, strlen(*s));
		*s = NULL;
	}
}

int
ingest_token_set(ingest_token *t, const char *access, const char *refresh,
    int64_t expires_ms)
{
	char *a = NULL, *r = NULL;

	if ((access != NULL && (a = strdup(access)) == NULL)
	    || (refresh != NULL && (r = strdup(refresh)) == NULL)) {
		free(a);
		return (CF_ENOMEM);
	}
	token_str_free(&t->access);
	t->access = a;
	if (refresh != NULL) {
		token_str_free(&t->refresh);
		t->refresh = r;
	}
	t->expires_ms = expires_ms;
	t->changed    = 1;
	if (t->metadata == NULL
	    && (t->metadata = cJSON_CreateObject()) == NULL) {
		return (CF_ENOMEM);
	}
	return (CF_OK);
}

void
ingest_token_free(ingest_token *t)
{
	if (t == NULL) {
		return;
	}
	token_str_free(&t->access);
	token_str_free(&t->refresh);
	cJSON_Delete(t->metadata);
	memset(t, 0, sizeof(*t));
}
