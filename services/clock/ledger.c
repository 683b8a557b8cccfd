/*
 * ledger.c - the clock's statements against its own schema.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cf_err.h"
#include "cf_time.h"
#include "ledger.h"

/* One clock per process: the schema is set once at start. */
static char store_schema[64] = "clock";

int
store_init(cf_pg *pg, const char *schema, char *err, size_t errlen)
{
	(void) pg;
	if (schema == NULL || schema[0] == '\0' ||
	    strlen(schema) >= sizeof(store_schema)) {
		snprintf(err, errlen, "schema name is empty or too long");
		return (CF_EINVAL);
	}
	for (const char *p = schema; *p != '\0'; p++) {
		/* Spliced into SQL as an identifier: letters, digits, '_'. */
		if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) ||
		        *p == '_')) {
			snprintf(err, errlen,
			    "schema '%s': use lower-case letters, digits and _",
			    schema);
			return (CF_EINVAL);
		}
	}
	snprintf(store_schema, sizeof(store_schema), "%s", schema);
	return (CF_OK);
}

/* Prefixes every "%s." in sql with the schema. */
#define SQL(buf, fmt) snprintf(buf, sizeof(buf), fmt, store_schema)

int
ledger_record(cf_pg *pg, const char *job, const char *service, int64_t at,
    const char *fire_id, cf_trigger trigger, uint64_t epoch, char *err,
    size_t errlen)
{
	char        sql[512], when[40], ep[24];
	const char *p[6];
	PGresult *  res = NULL;
	int         rv;

	cf_rfc3339_format(when, sizeof(when), at, 0, 1);
	snprintf(ep, sizeof(ep), "%llu", (unsigned long long) epoch);
	p[0] = job;
	p[1] = service;
	p[2] = when;
	p[3] = fire_id;
	p[4] = cf_trigger_name(trigger);
	p[5] = ep;
	SQL(sql,
	    "INSERT INTO %s.fires (job, service, scheduled_for, fire_id, "
	    "trigger, epoch) VALUES ($1, $2, $3, $4, $5, $6) "
	    "ON CONFLICT DO NOTHING RETURNING fire_id");
	if ((rv = cf_pg_exec(pg, sql, 6, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	rv = PQntuples(res) == 1 ? CF_OK : CF_EEXIST;
	PQclear(res);
	return (rv);
}

int
store_schedule(cf_pg *pg, const char *job, const char *service,
    const char *expr, const char *tz, int paused, int overridden,
    const char *by, char *err, size_t errlen)
{
	char        sql[768];
	const char *p[7];

	p[0] = job;
	p[1] = service;
	p[2] = expr;
	p[3] = tz;
	p[4] = paused ? "true" : "false";
	p[5] = overridden < 0 ? NULL : overridden ? "true" : "false";
	p[6] = by;
	SQL(sql,
	    "INSERT INTO %s.schedules AS s (job, service, expr, tz, paused, "
	    "overridden, changed_by, changed_at) "
	    "VALUES ($1, $2, $3, $4, $5, coalesce($6::boolean, false), $7, "
	    "now()) "
	    "ON CONFLICT (job) DO UPDATE SET service = EXCLUDED.service, "
	    "expr = EXCLUDED.expr, tz = EXCLUDED.tz, paused = EXCLUDED.paused, "
	    "overridden = coalesce($6::boolean, s.overridden), "
	    "changed_by = EXCLUDED.changed_by, changed_at = now()");
	return (cf_pg_exec(pg, sql, 7, p, NULL, err, errlen));
}

static void
row_to_job(PGresult *res, int r, stored_job *j)
{
	snprintf(j->job, sizeof(j->job), "%s", PQgetvalue(res, r, 0));
	snprintf(j->service, sizeof(j->service), "%s", PQgetvalue(res, r, 1));
	snprintf(j->expr, sizeof(j->expr), "%s", PQgetvalue(res, r, 2));
	snprintf(j->tz, sizeof(j->tz), "%s", PQgetvalue(res, r, 3));
	j->paused     = PQgetvalue(res, r, 4)[0] == 't';
	j->overridden = PQgetvalue(res, r, 5)[0] == 't';
}

int
store_load_one(cf_pg *pg, const char *job, stored_job *out, int *found,
    char *err, size_t errlen)
{
	char        sql[256];
	const char *p[1] = { job };
	PGresult *  res  = NULL;
	int         rv;

	SQL(sql,
	    "SELECT job, service, expr, tz, paused, overridden "
	    "FROM %s.schedules WHERE job = $1");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*found = PQntuples(res) == 1;
	if (*found) {
		row_to_job(res, 0, out);
	}
	PQclear(res);
	return (CF_OK);
}

int
store_load_all(cf_pg *pg, stored_job **out, int *n, char *err, size_t errlen)
{
	char      sql[256];
	PGresult *res = NULL;
	int       rv;

	SQL(sql,
	    "SELECT job, service, expr, tz, paused, overridden "
	    "FROM %s.schedules ORDER BY job");
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*n   = PQntuples(res);
	*out = calloc((size_t) (*n > 0 ? *n : 1), sizeof(stored_job));
	if (*out == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int r = 0; r < *n; r++) {
		row_to_job(res, r, &(*out)[r]);
	}
	PQclear(res);
	return (CF_OK);
}

int
store_setting(
    cf_pg *pg, const char *key, const char *value, char *err, size_t errlen)
{
	char        sql[256];
	const char *p[2] = { key, value };
	SQL(sql,
	    "INSERT INTO %s.settings (key, value) VALUES ($1, $2) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
	    "changed_at = now()");
	return (cf_pg_exec(pg, sql, 2, p, NULL, err, errlen));
}

int
store_get_setting(cf_pg *pg, const char *key, char *buf, size_t len,
    char *err, size_t errlen)
{
	char        sql[128];
	const char *p[1] = { key };
	PGresult *  res  = NULL;
	int         rv;

	SQL(sql, "SELECT value FROM %s.settings WHERE key = $1");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(buf, len, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return (CF_OK);
}
