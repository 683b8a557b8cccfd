/*
 * secret.c - credentials at rest: a row's JSON credentials sealed with
 * the service's keyring (lib/cf_secret.h), bound to the row and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "ingest.h"

const char *
ingest_ad(char *buf, size_t len, const char *table, const char *column,
    const char *id)
{
	snprintf(buf, len, "%s:%s:%s", table, column, id);
	return (buf);
}

static void
json_wipe_strings(cJSON *j)
{
	for (cJSON *c = j; c != NULL; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring != NULL) {
			cf_secret_wipe_str(c->valuestring);
		}
		if (c->child != NULL) {
			json_wipe_strings(c->child);
		}
	}
}

void
ingest_json_wipe(cJSON *j)
{
	if (j != NULL) {
		if (j->child != NULL) {
			json_wipe_strings(j->child);
		}
		if (cJSON_IsString(j) && j->valuestring != NULL) {
			cf_secret_wipe_str(j->valuestring);
		}
		cJSON_Delete(j);
	}
}

int
ingest_creds_open(const ingest *in, const char *table, const char *id,
    const char *sealed, cJSON **out, char *err, size_t errlen)
{
	char   ad[256], why[256];
	char  *plain = NULL;
	size_t plen  = 0;
	cJSON *j;
	int    rv;

	*out = NULL;
	if (sealed == NULL || sealed[0] == '\0') {
		if ((*out = cJSON_CreateObject()) == NULL) {
			return (CF_ENOMEM);
		}
		return (CF_OK);
	}
	ingest_ad(ad, sizeof(ad), table, "credentials", id);
	if ((rv = cf_secret_open(
	         &plain, &plen, in->keys, sealed, ad, why, sizeof(why)))
	    != CF_OK) {
		cf_errf(err, errlen,
		    "%s %s: stored credentials do not open: %s", table, id,
		    why);
		return (rv);
	}
	j = cJSON_ParseWithLength(plain, plen);
	cf_secret_free(plain, plen);
	if (j == NULL || !cJSON_IsObject(j)) {
		ingest_json_wipe(j);
		cf_errf(err, errlen,
		    "%s %s: stored credentials are not a JSON "
		    "object",
		    table, id);
		return (CF_EPROTO);
	}
	*out = j;
	return (CF_OK);
}

int
ingest_creds_seal(const ingest *in, const char *table, const char *id,
    const cJSON *creds, char **out, char *err, size_t errlen)
{
	char  ad[256];
	char *text;
	int   rv;

	*out = NULL;
	if ((text = cJSON_PrintUnformatted(creds)) == NULL) {
		return (CF_ENOMEM);
	}
	ingest_ad(ad, sizeof(ad), table, "credentials", id);
	rv = cf_secret_seal_str(out, in->keys, text, ad, err, errlen);
	cf_secret_wipe_str(text);
	free(text);
	return (rv);
}
