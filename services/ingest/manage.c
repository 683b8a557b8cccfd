/*
 * manage.c - the ingest service's own commands: organisations, energy
 * sources, plant vendors, stores and agents, listed, created or updated,
 * and deleted (proto/COMMANDS.md, "Ingest"). The gateway's
 * /api/v1/ingest/ routes and the CLI are built on them.
 *
 *	orgs                    sources [org=<id|name>]    ...
 *	source-put '<json>'     source-delete <id>         ...
 *
 * A put is an upsert: by "id" when given (then only the fields given
 * change), else by (organisation, name). Credentials are sealed before
 * they reach the database (secret.c) and never come back: a listing says
 * only whether they are set and which keys they hold. Each put or delete
 * is one transaction. A refusal starts with "invalid <field>: " (the
 * gateway answers 400) or "unknown <kind> " (404).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "ingest.h"

/* ---- the kinds and their fields ------------------------------------------
 */

typedef enum {
	F_TEXT,  /* 1..200 characters */
	F_OPT,   /* optional text, null clears it */
	F_URL,   /* http:// or https:// */
	F_ENUM,  /* one of values */
	F_BOOL,  /* true/false */
	F_CREDS, /* an object of strings, sealed */
} field_type;

typedef struct field {
	const char        *name; /* JSON and column */
	field_type         type;
	int                required; /* on create */
	const char *const *values;   /* F_ENUM */
} field;

typedef struct kind {
	const char  *one;   /* "source" */
	const char  *many;  /* "sources" */
	const char  *table; /* "sources" */
	int          has_org;
	const field *fields;
	size_t       nfields;
} kind;

static const char *const energy_vendors[]
    = { "enphase", "solaredge", "tesla", "utilityapi", NULL };
static const char *const plant_kinds[] = { "solarman", "sungrow", NULL };

static const field org_fields[] = {
	{ "name", F_TEXT, 1, NULL },
};
static const field source_fields[] = {
	{ "name", F_TEXT, 1, NULL },
	{ "vendor", F_ENUM, 1, energy_vendors },
	{ "base_url", F_URL, 1, NULL },
	{ "site_id", F_TEXT, 1, NULL },
	{ "credentials", F_CREDS, 0, NULL },
	{ "grid_region", F_OPT, 0, NULL },
	{ "grid_zone", F_OPT, 0, NULL },
	{ "active", F_BOOL, 0, NULL },
};
static const field vendor_fields[] = {
	{ "name", F_TEXT, 1, NULL },
	{ "kind", F_ENUM, 1, plant_kinds },
	{ "base_url", F_URL, 1, NULL },
	{ "credentials", F_CREDS, 0, NULL },
	{ "active", F_BOOL, 0, NULL },
};
static const field store_fields[] = {
	{ "name", F_TEXT, 1, NULL },
	{ "base_url", F_URL, 1, NULL },
	{ "credentials", F_CREDS, 0, NULL },
	{ "active", F_BOOL, 0, NULL },
};
static const field agent_fields[] = {
	{ "name", F_TEXT, 1, NULL },
	{ "email", F_OPT, 0, NULL },
	{ "available", F_BOOL, 0, NULL },
	{ "active", F_BOOL, 0, NULL },
};

#define NF(a) (sizeof(a) / sizeof(a[0]))

static const kind kinds[] = {
	{ "org", "orgs", "organizations", 0, org_fields, NF(org_fields) },
	{ "source", "sources", "sources", 1, source_fields,
	    NF(source_fields) },
	{ "vendor", "vendors", "vendors", 1, vendor_fields,
	    NF(vendor_fields) },
	{ "store", "stores", "stores", 1, store_fields, NF(store_fields) },
	{ "agent", "agents", "agents", 1, agent_fields, NF(agent_fields) },
};

/* Columns a listing shows beyond the fields (the sync's state). */
static const char *
kind_extra_columns(const kind *k)
{
	if (strcmp(k->one, "source") == 0) {
		return (", cursor_at, last_sync_at, last_error");
	}
	if (strcmp(k->one, "vendor") == 0) {
		return (", last_sync_at, last_error");
	}
	if (strcmp(k->one, "store") == 0) {
		return (", last_order_id, last_sync_at, last_error");
	}
	if (strcmp(k->one, "agent") == 0) {
		return (", assigned_total, last_assigned_at");
	}
	return ("");
}

/* ---- connections
 * ------------------------------------------------------------ */

/*
 * A few connections of their own: commands arrive on the runtime's REP
 * workers, several at once, and a put is a transaction.
 */
#define MANAGE_CONNS 4

static pthread_mutex_t manage_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  manage_cv = PTHREAD_COND_INITIALIZER;
static cf_pg          *manage_pg[MANAGE_CONNS];
static int             manage_busy[MANAGE_CONNS];

static int
manage_take(const ingest *in, char *err, size_t errlen)
{
	int slot = -1, rv = CF_OK;

	pthread_mutex_lock(&manage_mu);
	for (;;) {
		for (int i = 0; i < MANAGE_CONNS && slot < 0; i++) {
			if (!manage_busy[i]) {
				slot = i;
			}
		}
		if (slot >= 0) {
			break;
		}
		pthread_cond_wait(&manage_cv, &manage_mu);
	}
	manage_busy[slot] = 1;
	pthread_mutex_unlock(&manage_mu);
	if (manage_pg[slot] == NULL) {
		rv = cf_pg_open(
		    &manage_pg[slot], in->database_url, err, errlen);
	}
	if (rv != CF_OK) {
		pthread_mutex_lock(&manage_mu);
		manage_busy[slot] = 0;
		pthread_cond_signal(&manage_cv);
		pthread_mutex_unlock(&manage_mu);
		return (-1);
	}
	return (slot);
}

static void
manage_give(int slot)
{
	pthread_mutex_lock(&manage_mu);
	manage_busy[slot] = 0;
	pthread_cond_signal(&manage_cv);
	pthread_mutex_unlock(&manage_mu);
}

cf_pg *
ingest_db_take(const ingest *in, int *slot, char *err, size_t errlen)
{
	if ((*slot = manage_take(in, err, errlen)) < 0) {
		return (NULL);
	}
	return (manage_pg[*slot]);
}

void
ingest_db_give(int slot)
{
	if (slot >= 0) {
		manage_give(slot);
	}
}

void
ingest_manage_close(void)
{
	pthread_mutex_lock(&manage_mu);
	for (int i = 0; i < MANAGE_CONNS; i++) {
		cf_pg_close(manage_pg[i]);
		manage_pg[i] = NULL;
	}
	pthread_mutex_unlock(&manage_mu);
}

/* ---- rows as JSON
 * ------------------------------------------------------------- */

/* The listing's SELECT list: the fields as JSON, credentials left out. */
static int
select_list(char *sql, size_t len, size_t *off, const kind *k)
{
	int rv = cf_pg_sqlcat(sql, len, off, "t.id");

	if (k->has_org) {
		rv |= cf_pg_sqlcat(sql, len, off, ", t.org_id, o.name AS org");
	}
	for (size_t i = 0; i < k->nfields; i++) {
		if (k->fields[i].type != F_CREDS) {
			rv |= cf_pg_sqlcat(
			    sql, len, off, ", t.%s", k->fields[i].name);
		}
	}
	for (const char *x = kind_extra_columns(k); *x != '\0';) {
		/* ", a, b" -> ", t.a, t.b" */
		const char *e = strchr(x + 2, ',');
		size_t n = e != NULL ? (size_t) (e - x - 2) : strlen(x + 2);
		rv |= cf_pg_sqlcat(sql, len, off, ", t.%.*s", (int) n, x + 2);
		x += 2 + n;
	}
	rv |= cf_pg_sqlcat(sql, len, off, ", t.created_at, t.updated_at");
	for (size_t i = 0; i < k->nfields; i++) {
		if (k->fields[i].type == F_CREDS) {
			rv |= cf_pg_sqlcat(sql, len, off, ", t.%s AS sealed",
			    k->fields[i].name);
		}
	}
	return (rv);
}

static int
is_bool_col(const char *name)
{
	return (strcmp(name, "active") == 0 || strcmp(name, "available") == 0);
}

static int
is_int_col(const char *name)
{
	return (strcmp(name, "id") == 0 || strcmp(name, "org_id") == 0
	    || strcmp(name, "last_order_id") == 0
	    || strcmp(name, "assigned_total") == 0);
}

/* Keys of sealed credentials, without their values. */
static cJSON *
creds_summary(
    const ingest *in, const kind *k, const char *id, const char *sealed)
{
	cJSON *o = cJSON_CreateObject(), *keys, *c = NULL;
	char   err[256];

	cJSON_AddBoolToObject(o, "set", sealed != NULL && sealed[0] != '\0');
	keys = cJSON_AddArrayToObject(o, "keys");
	if (sealed == NULL || sealed[0] == '\0') {
		return (o);
	}
	if (ingest_creds_open(in, k->table, id, sealed, &c, err, sizeof(err))
	    != CF_OK) {
		cJSON_AddStringToObject(o, "error", err);
		return (o);
	}
	for (cJSON *e = c->child; e != NULL; e = e->next) {
		cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
	}
	ingest_json_wipe(c);
	return (o);
}

static cJSON *
row_json(const ingest *in, const kind *k, const PGresult *res, int r)
{
	cJSON *o  = cJSON_CreateObject();
	int    nf = PQnfields(res);

	for (int c = 0; c < nf; c++) {
		const char *name = PQfname(res, c);
		const char *v    = PQgetvalue(res, r, c);

		if (strcmp(name, "sealed") == 0) {
			cJSON_AddItemToObject(o, "credentials",
			    creds_summary(in, k, PQgetvalue(res, r, 0),
			        PQgetisnull(res, r, c) ? NULL : v));
		} else if (PQgetisnull(res, r, c)) {
			cJSON_AddNullToObject(o, name);
		} else if (is_bool_col(name)) {
			cJSON_AddBoolToObject(o, name, v[0] == 't');
		} else if (is_int_col(name)) {
			cJSON_AddNumberToObject(o, name, strtod(v, NULL));
		} else if (PQftype(res, c) == 1184 /* timestamptz */) {
			/* "2026-01-01 10:00:00.123+00" -> RFC 3339. */
			char   buf[64];
			size_t n = 0;
			for (; v[n] != '\0' && n + 4 < sizeof(buf); n++) {
				buf[n] = v[n] == ' ' ? 'T' : v[n];
			}
			buf[n] = '\0';
			if (n >= 3 && strcmp(buf + n - 3, "+00") == 0) {
				strcpy(buf + n - 3, "Z");
			}
			/* Milliseconds, as everywhere else: ".123456Z" to
			 * ".123Z". */
			{
				char *dot = strchr(buf, '.');
				char *z   = strchr(buf, 'Z');
				if (dot != NULL && z != NULL && z - dot > 4) {
					memmove(dot + 4, z, strlen(z) + 1);
				}
			}
			cJSON_AddStringToObject(o, name, buf);
		} else {
			cJSON_AddStringToObject(o, name, v);
		}
	}
	return (o);
}

/* ---- arguments
 * --------------------------------------------------------------- */

/* The command's words after the verb joined by spaces: a JSON text may
 * arrive cut at its spaces when sent unquoted. */
static char *
args_joined(const cf_command *cmd)
{
	size_t len = 1;
	char  *s;

	if (cmd->job != NULL) {
		len += strlen(cmd->job) + 1;
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		len += strlen(cmd->args[i]) + 1;
	}
	if ((s = malloc(len)) == NULL) {
		return (NULL);
	}
	s[0] = '\0';
	if (cmd->job != NULL) {
		strcat(s, cmd->job);
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		if (s[0] != '\0') {
			strcat(s, " ");
		}
		strcat(s, cmd->args[i]);
	}
	return (s);
}

/* An id: 1..18 digits. */
static int
id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 18) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char) s[i])) {
			return (0);
		}
	}
	return (1);
}

static int
text_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
			return (0);
		}
	}
	return (1);
}

/* Checks one field's JSON value. */
static int
field_check(const field *f, const cJSON *v, char *err, size_t errlen)
{
	switch (f->type) {
	case F_TEXT:
		if (!cJSON_IsString(v) || !text_valid(v->valuestring, 200)) {
			cf_errf(err, errlen,
			    "invalid %s: a text of 1 to 200 "
			    "characters, no control characters",
			    f->name);
			return (CF_EINVAL);
		}
		return (CF_OK);
	case F_OPT:
		if (!cJSON_IsNull(v)
		    && (!cJSON_IsString(v)
		        || !text_valid(v->valuestring, 200))) {
			cf_errf(err, errlen,
			    "invalid %s: a text of 1 to 200 "
			    "characters, or null",
			    f->name);
			return (CF_EINVAL);
		}
		return (CF_OK);
	case F_URL:
		if (!cJSON_IsString(v) || !text_valid(v->valuestring, 1000)
		    || (strncmp(v->valuestring, "http://", 7) != 0
		        && strncmp(v->valuestring, "https://", 8) != 0)
		    || strchr(v->valuestring, ' ') != NULL) {
			cf_errf(err, errlen,
			    "invalid %s: an http:// or https:// URL", f->name);
			return (CF_EINVAL);
		}
		return (CF_OK);
	case F_ENUM:
		if (cJSON_IsString(v)) {
			for (const char *const *e = f->values; *e != NULL;
			     e++) {
				if (strcmp(*e, v->valuestring) == 0) {
					return (CF_OK);
				}
			}
		}
		{
			char   list[200] = "";
			size_t off       = 0;
			for (const char *const *e = f->values; *e != NULL;
			     e++) {
				off += (size_t) snprintf(list + off,
				    sizeof(list) - off, "%s%s",
				    e == f->values ? "" : ", ", *e);
				if (off >= sizeof(list)) {
					break;
				}
			}
			cf_errf(err, errlen, "invalid %s: one of %s", f->name,
			    list);
		}
		return (CF_EINVAL);
	case F_BOOL:
		if (!cJSON_IsBool(v)) {
			cf_errf(
			    err, errlen, "invalid %s: true or false", f->name);
			return (CF_EINVAL);
		}
		return (CF_OK);
	case F_CREDS:
		if (!cJSON_IsObject(v)) {
			cf_errf(err, errlen,
			    "invalid %s: an object of strings", f->name);
			return (CF_EINVAL);
		}
		for (const cJSON *e = v->child; e != NULL; e = e->next) {
			if (!cJSON_IsString(e)
			    || strlen(e->valuestring) > 2000) {
				cf_errf(err, errlen,
				    "invalid %s: '%.40s' must be a text of at "
				    "most 2000 characters",
				    f->name, e->string);
				return (CF_EINVAL);
			}
		}
		return (CF_OK);
	}
	return (CF_EINVAL);
}

static const field *
kind_field(const kind *k, const char *name)
{
	for (size_t i = 0; i < k->nfields; i++) {
		if (strcmp(k->fields[i].name, name) == 0) {
			return (&k->fields[i]);
		}
	}
	return (NULL);
}

/* ---- commands
 * ------------------------------------------------------------------ */

/* The organisation named or numbered by v (a name or an id). */
static int
org_resolve(const ingest *in, cf_pg *pg, const char *v, char *id, size_t idlen,
    char *err, size_t errlen)
{
	char        sql[256];
	const char *p[1] = { v };
	PGresult   *res;
	int         rv;

	snprintf(sql, sizeof(sql),
	    "SELECT id FROM %s.organizations WHERE %s = $1", in->schema,
	    id_valid(v) ? "id" : "name");
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		cf_errf(err, errlen, "unknown org '%.80s'", v);
		return (CF_ENOENT);
	}
	snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return (CF_OK);
}

static int
cmd_list(const ingest *in, cf_pg *pg, const kind *k, const cf_command *cmd,
    cJSON **data, char *err, size_t errlen)
{
	char        sql[2048], org[32] = "";
	size_t      off = 0;
	const char *p[1];
	PGresult   *res;
	int         rv, np = 0;

	for (size_t i = 0; i < cmd->nargs; i++) {
		if (k->has_org && strncmp(cmd->args[i], "org=", 4) == 0) {
			if ((rv = org_resolve(in, pg, cmd->args[i] + 4, org,
			         sizeof(org), err, errlen))
			    != CF_OK) {
				return (rv);
			}
		} else {
			cf_errf(err, errlen, "invalid argument '%.60s' (%s%s)",
			    cmd->args[i], k->many,
			    k->has_org ? " [org=<id|name>]" : "");
			return (CF_EINVAL);
		}
	}
	if (cmd->job != NULL) {
		cf_errf(err, errlen, "invalid argument '%.60s' (%s%s)",
		    cmd->job, k->many, k->has_org ? " [org=<id|name>]" : "");
		return (CF_EINVAL);
	}
	rv = cf_pg_sqlcat(sql, sizeof(sql), &off, "SELECT ");
	rv |= select_list(sql, sizeof(sql), &off, k);
	rv |= cf_pg_sqlcat(
	    sql, sizeof(sql), &off, " FROM %s.%s t", in->schema, k->table);
	if (k->has_org) {
		rv |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " JOIN %s.organizations o ON o.id = t.org_id", in->schema);
	}
	if (org[0] != '\0') {
		p[np++] = org;
		rv |= cf_pg_sqlcat(
		    sql, sizeof(sql), &off, " WHERE t.org_id = $1");
	}
	rv |= cf_pg_sqlcat(
	    sql, sizeof(sql), &off, " ORDER BY t.id LIMIT 10000");
	if (rv != 0) {
		cf_errf(err, errlen, "%s: statement too long", k->many);
		return (CF_ETOOBIG);
	}
	if ((rv = cf_pg_exec(pg, sql, np, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	*data = cJSON_CreateArray();
	for (int r = 0; r < PQntuples(res); r++) {
		cJSON_AddItemToArray(*data, row_json(in, k, res, r));
	}
	PQclear(res);
	return (CF_OK);
}

static int
row_fetch(const ingest *in, cf_pg *pg, const kind *k, const char *id,
    cJSON **out, char *err, size_t errlen)
{
	char        sql[2048];
	size_t      off  = 0;
	const char *p[1] = { id };
	PGresult   *res;
	int         rv;

	rv = cf_pg_sqlcat(sql, sizeof(sql), &off, "SELECT ");
	rv |= select_list(sql, sizeof(sql), &off, k);
	rv |= cf_pg_sqlcat(
	    sql, sizeof(sql), &off, " FROM %s.%s t", in->schema, k->table);
	if (k->has_org) {
		rv |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    " JOIN %s.organizations o ON o.id = t.org_id", in->schema);
	}
	rv |= cf_pg_sqlcat(sql, sizeof(sql), &off, " WHERE t.id = $1");
	if (rv != 0) {
		return (CF_ETOOBIG);
	}
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		cf_errf(err, errlen, "unknown %s %s", k->one, id);
		return (CF_ENOENT);
	}
	*out = row_json(in, k, res, 0);
	PQclear(res);
	return (CF_OK);
}

static int
cmd_get(const ingest *in, cf_pg *pg, const kind *k, const cf_command *cmd,
    cJSON **data, char *err, size_t errlen)
{
	const char *id = cmd->job != NULL ? cmd->job
	    : cmd->nargs > 0              ? cmd->args[0]
	                                  : NULL;

	if (id == NULL || !id_valid(id) || cmd->nargs > (cmd->job ? 0 : 1)) {
		cf_errf(err, errlen, "invalid id: %s-get <id>", k->one);
		return (CF_EINVAL);
	}
	return (row_fetch(in, pg, k, id, data, err, errlen));
}

/*
 * The put, inside a transaction: find the row (by id, or by org and
 * name), insert or update the fields given, seal credentials with the
 * row's id, and answer the row.
 */
static int
put_txn(const ingest *in, cf_pg *pg, const kind *k, const cJSON *obj,
    cJSON **data, char *err, size_t errlen)
{
	char         id[32] = "", org[32] = "", sql[4096];
	const char  *p[16];
	size_t       off = 0;
	int          np  = 0, rv, creating;
	const cJSON *v;
	PGresult    *res    = NULL;
	char        *sealed = NULL;

	/* The row: by id, or by (org, name). */
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "id")) != NULL) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1
		    || v->valuedouble > 1e15) {
			cf_errf(err, errlen, "invalid id: a positive integer");
			return (CF_EINVAL);
		}
		snprintf(id, sizeof(id), "%.0f", v->valuedouble);
	}
	if (k->has_org) {
		v = cJSON_GetObjectItemCaseSensitive(obj, "org");
		if (v != NULL) {
			char ov[64];
			if (cJSON_IsNumber(v)) {
				snprintf(
				    ov, sizeof(ov), "%.0f", v->valuedouble);
			} else if (cJSON_IsString(v)
			    && text_valid(v->valuestring, 200)) {
				snprintf(
				    ov, sizeof(ov), "%.63s", v->valuestring);
				if (strlen(v->valuestring) > 63) {
					/* Names are matched whole. */
					cf_errf(err, errlen,
					    "unknown org '%.60s...'",
					    v->valuestring);
					return (CF_ENOENT);
				}
			} else {
				cf_errf(err, errlen,
				    "invalid org: an organisation's name or "
				    "id");
				return (CF_EINVAL);
			}
			if ((rv = org_resolve(
			         in, pg, ov, org, sizeof(org), err, errlen))
			    != CF_OK) {
				return (rv);
			}
		} else if (id[0] == '\0') {
			cf_errf(err, errlen,
			    "invalid org: required (an organisation's name or "
			    "id)");
			return (CF_EINVAL);
		}
	}
	if (id[0] == '\0') {
		v = cJSON_GetObjectItemCaseSensitive(obj, "name");
		if (!cJSON_IsString(v) || !text_valid(v->valuestring, 200)) {
			cf_errf(err, errlen,
			    "invalid name: required, a text of 1 "
			    "to 200 characters");
			return (CF_EINVAL);
		}
		off  = 0;
		p[0] = v->valuestring;
		np   = 1;
		cf_pg_sqlcat(sql, sizeof(sql), &off,
		    "SELECT id FROM %s.%s WHERE name = $1", in->schema,
		    k->table);
		if (k->has_org) {
			p[np++] = org;
			cf_pg_sqlcat(
			    sql, sizeof(sql), &off, " AND org_id = $2");
		}
		cf_pg_sqlcat(sql, sizeof(sql), &off, " FOR UPDATE");
		if ((rv = cf_pg_exec(pg, sql, np, p, &res, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		if (PQntuples(res) > 0) {
			snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		}
		PQclear(res);
		res      = NULL;
		creating = id[0] == '\0';
	} else {
		p[0] = id;
		snprintf(sql, sizeof(sql),
		    "SELECT id FROM %s.%s WHERE id = $1 FOR UPDATE",
		    in->schema, k->table);
		if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		rv = PQntuples(res);
		PQclear(res);
		res = NULL;
		if (rv == 0) {
			cf_errf(err, errlen, "unknown %s %s", k->one, id);
			return (CF_ENOENT);
		}
		creating = 0;
	}
	if (creating) {
		for (size_t i = 0; i < k->nfields; i++) {
			if (k->fields[i].required
			    && cJSON_GetObjectItemCaseSensitive(
			           obj, k->fields[i].name)
			        == NULL) {
				cf_errf(err, errlen,
				    "invalid %s: required for a "
				    "new %s",
				    k->fields[i].name, k->one);
				return (CF_EINVAL);
			}
		}
		p[0] = NULL;
		snprintf(sql, sizeof(sql),
		    "SELECT nextval(pg_get_serial_sequence("
		    "'%s.%s', 'id'))",
		    in->schema, k->table);
		if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen))
		    != CF_OK) {
			return (rv);
		}
		snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}

	/* The statement: INSERT with every field given, or UPDATE them. */
	np      = 0;
	off     = 0;
	p[np++] = id;
	if (creating) {
		char   cols[1024], vals[512];
		size_t co = 0, vo = 0;
		cf_pg_sqlcat(cols, sizeof(cols), &co, "id");
		cf_pg_sqlcat(vals, sizeof(vals), &vo, "$1");
		if (k->has_org) {
			p[np++] = org;
			cf_pg_sqlcat(cols, sizeof(cols), &co, ", org_id");
			cf_pg_sqlcat(vals, sizeof(vals), &vo, ", $%d", np);
		}
		for (v = obj->child; v != NULL; v = v->next) {
			const field *f = kind_field(k, v->string);
			if (f == NULL) {
				continue;
			}
			cf_pg_sqlcat(cols, sizeof(cols), &co, ", %s", f->name);
			cf_pg_sqlcat(vals, sizeof(vals), &vo, ", $%d", np + 1);
			if (f->type == F_CREDS) {
				if ((rv = ingest_creds_seal(in, k->table, id,
				         v, &sealed, err, errlen))
				    != CF_OK) {
					return (rv);
				}
				p[np++] = sealed;
			} else if (f->type == F_BOOL) {
				p[np++] = cJSON_IsTrue(v) ? "true" : "false";
			} else {
				p[np++]
				    = cJSON_IsNull(v) ? NULL : v->valuestring;
			}
		}
		cf_pg_sqlcat(sql, sizeof(sql), &off,
		    "INSERT INTO %s.%s (%s) VALUES (%s)", in->schema, k->table,
		    cols, vals);
	} else {
		cf_pg_sqlcat(sql, sizeof(sql), &off,
		    "UPDATE %s.%s SET updated_at = now()", in->schema,
		    k->table);
		if (k->has_org && org[0] != '\0') {
			p[np++] = org;
			cf_pg_sqlcat(
			    sql, sizeof(sql), &off, ", org_id = $%d", np);
		}
		for (v = obj->child; v != NULL; v = v->next) {
			const field *f = kind_field(k, v->string);
			if (f == NULL) {
				continue;
			}
			cf_pg_sqlcat(sql, sizeof(sql), &off, ", %s = $%d",
			    f->name, np + 1);
			if (f->type == F_CREDS) {
				if ((rv = ingest_creds_seal(in, k->table, id,
				         v, &sealed, err, errlen))
				    != CF_OK) {
					return (rv);
				}
				p[np++] = sealed;
			} else if (f->type == F_BOOL) {
				p[np++] = cJSON_IsTrue(v) ? "true" : "false";
			} else {
				p[np++]
				    = cJSON_IsNull(v) ? NULL : v->valuestring;
			}
		}
		cf_pg_sqlcat(sql, sizeof(sql), &off, " WHERE id = $1");
	}
	rv = cf_pg_exec(pg, sql, np, p, NULL, err, errlen);
	free(sealed);
	if (rv == CF_EEXIST) {
		cf_errf(err, errlen,
		    "conflict: another %s of this organisation "
		    "has that name",
		    k->one);
		return (rv);
	}
	if (rv == CF_EDB && strcmp(cf_pg_sqlstate(pg), "23514") == 0) {
		cf_errf(err, errlen, "invalid %s: a value is out of range",
		    k->one);
		return (CF_EINVAL);
	}
	if (rv != CF_OK) {
		return (rv);
	}
	if ((rv = row_fetch(in, pg, k, id, data, err, errlen)) == CF_OK) {
		cJSON_AddBoolToObject(*data, "created", creating);
	}
	return (rv);
}

static int
cmd_put(const ingest *in, cf_pg *pg, const kind *k, const cf_command *cmd,
    cJSON **data, char *err, size_t errlen)
{
	char       *text = args_joined(cmd);
	cJSON      *obj;
	const char *end = NULL;
	int         rv;

	if (text == NULL) {
		return (CF_ENOMEM);
	}
	obj = cJSON_ParseWithOpts(text, &end, 1);
	if (obj == NULL || !cJSON_IsObject(obj)) {
		size_t at = obj == NULL && cJSON_GetErrorPtr() != NULL
		    ? (size_t) (cJSON_GetErrorPtr() - text)
		    : 0;
		cJSON_Delete(obj);
		cf_secret_wipe_str(text);
		free(text);
		if (at > 0) {
			cf_errf(err, errlen,
			    "invalid body: not a JSON object (at byte %zu)",
			    at);
		} else {
			cf_errf(err, errlen,
			    "invalid body: %s-put '<JSON object>'", k->one);
		}
		return (CF_EINVAL);
	}
	cf_secret_wipe_str(text);
	free(text);
	/* Every field is checked before anything is written. */
	for (const cJSON *v = obj->child; v != NULL; v = v->next) {
		const field *f = kind_field(k, v->string);
		if (f != NULL) {
			if ((rv = field_check(f, v, err, errlen)) != CF_OK) {
				ingest_json_wipe(obj);
				return (rv);
			}
		} else if (strcmp(v->string, "id") != 0
		    && !(k->has_org && strcmp(v->string, "org") == 0)) {
			cf_errf(err, errlen,
			    "invalid %.40s: not a field of a %s", v->string,
			    k->one);
			ingest_json_wipe(obj);
			return (CF_EINVAL);
		}
	}
	if ((rv = cf_pg_begin(pg, err, errlen)) != CF_OK) {
		ingest_json_wipe(obj);
		return (rv);
	}
	rv = put_txn(in, pg, k, obj, data, err, errlen);
	ingest_json_wipe(obj);
	if (rv == CF_OK) {
		rv = cf_pg_commit(pg, err, errlen);
	} else {
		(void) cf_pg_rollback(pg, NULL, 0);
	}
	if (rv != CF_OK) {
		cJSON_Delete(*data);
		*data = NULL;
	}
	return (rv);
}

static int
cmd_delete(const ingest *in, cf_pg *pg, const kind *k, const cf_command *cmd,
    cJSON **data, char *err, size_t errlen)
{
	const char *id = cmd->job != NULL ? cmd->job
	    : cmd->nargs > 0              ? cmd->args[0]
	                                  : NULL;
	const char *p[1];
	char        sql[1024];
	PGresult   *res;
	int         rv;

	if (id == NULL || !id_valid(id) || cmd->nargs > (cmd->job ? 0 : 1)) {
		cf_errf(err, errlen, "invalid id: %s-delete <id>", k->one);
		return (CF_EINVAL);
	}
	p[0] = id;
	if ((rv = cf_pg_begin(pg, err, errlen)) != CF_OK) {
		return (rv);
	}
	snprintf(sql, sizeof(sql),
	    "DELETE FROM %s.%s WHERE id = $1 RETURNING id", in->schema,
	    k->table);
	if ((rv = cf_pg_exec(pg, sql, 1, p, &res, err, errlen)) != CF_OK) {
		goto fail;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		cf_errf(err, errlen, "unknown %s %s", k->one, id);
		rv = CF_ENOENT;
		goto fail;
	}
	PQclear(res);
	/* What has no foreign key: measurements (COPY speed), tokens. */
	if (strcmp(k->one, "source") == 0) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM %s.measurements WHERE source_id = $1",
		    in->schema);
		rv = cf_pg_exec(pg, sql, 1, p, NULL, err, errlen);
	} else if (strcmp(k->one, "org") == 0) {
		snprintf(sql, sizeof(sql),
		    "DELETE FROM %s.measurements m WHERE NOT EXISTS (SELECT 1 "
		    "FROM %s.sources s WHERE s.id = m.source_id)",
		    in->schema, in->schema);
		rv = cf_pg_exec(pg, sql, 0, NULL, NULL, err, errlen);
		if (rv == CF_OK) {
			/* Tokens of the sources, vendors and stores that went.
			 */
			snprintf(sql, sizeof(sql),
			    "DELETE FROM %s.tokens t WHERE t.owner IN "
			    "('source', "
			    "'vendor', 'store') AND NOT EXISTS (SELECT 1 FROM "
			    "%s.sources s WHERE t.owner = 'source' AND "
			    "s.id::text "
			    "= t.owner_key UNION ALL SELECT 1 FROM %s.vendors "
			    "v "
			    "WHERE t.owner = 'vendor' AND v.id::text = "
			    "t.owner_key "
			    "UNION ALL SELECT 1 FROM %s.stores x WHERE "
			    "t.owner = "
			    "'store' AND x.id::text = t.owner_key)",
			    in->schema, in->schema, in->schema, in->schema);
			rv = cf_pg_exec(pg, sql, 0, NULL, NULL, err, errlen);
		}
	}
	if (rv == CF_OK && strcmp(k->one, "org") != 0) {
		const char *tp[2] = { k->one, id };
		snprintf(sql, sizeof(sql),
		    "DELETE FROM %s.tokens WHERE owner = $1 AND owner_key = "
		    "$2",
		    in->schema);
		rv = cf_pg_exec(pg, sql, 2, tp, NULL, err, errlen);
	}
	if (rv != CF_OK || (rv = cf_pg_commit(pg, err, errlen)) != CF_OK) {
		goto fail;
	}
	*data = cJSON_CreateObject();
	cJSON_AddStringToObject(*data, "kind", k->one);
	cJSON_AddNumberToObject(*data, "id", strtod(id, NULL));
	cJSON_AddBoolToObject(*data, "deleted", 1);
	return (CF_OK);
fail:
	(void) cf_pg_rollback(pg, NULL, 0);
	return (rv);
}

/* ---- reseal: after a key rotation ---------------------------------- */

/*
 * Re-seals with the current key every sealed value that names another
 * key: credentials of each kind, then both tokens of every owner. One
 * transaction; a value that does not open with any configured key is
 * counted and left as it is (its owner must enter it again).
 */
static int
reseal_column(const ingest *in, cf_pg *pg, const char *table,
    const char *column, const char *key_sql, const char *ad_table,
    int64_t *done, int64_t *failed, char *err, size_t errlen)
{
	char      sql[512], ad[256];
	PGresult *res;
	int       rv;

	snprintf(sql, sizeof(sql),
	    "SELECT %s, %s FROM %s.%s WHERE %s IS NOT NULL FOR UPDATE",
	    key_sql, column, in->schema, table, column);
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	for (int r = 0; r < PQntuples(res) && rv == CF_OK; r++) {
		const char *id = PQgetvalue(res, r, 0);
		const char *v  = PQgetvalue(res, r, 1);
		char       *nv = NULL, why[256];
		const char *p[2];

		if (!cf_secret_needs_reseal(in->keys, v)) {
			continue;
		}
		ingest_ad(ad, sizeof(ad), ad_table, column, id);
		if (cf_secret_reseal(&nv, in->keys, v, ad, why, sizeof(why))
		    != CF_OK) {
			(*failed)++;
			continue;
		}
		p[0] = nv;
		p[1] = id;
		snprintf(sql, sizeof(sql),
		    "UPDATE %s.%s SET %s = $1 WHERE %s = $2", in->schema,
		    table, column, key_sql);
		rv = cf_pg_exec(pg, sql, 2, p, NULL, err, errlen);
		free(nv);
		(*done)++;
	}
	PQclear(res);
	return (rv);
}

static int
cmd_reseal(const ingest *in, cf_pg *pg, const kind *k, const cf_command *cmd,
    cJSON **data, char *err, size_t errlen)
{
	static const char *const creds_tables[]
	    = { "sources", "vendors", "stores" };
	int64_t done = 0, failed = 0;
	int     rv;

	(void) k;
	if (cmd->job != NULL || cmd->nargs > 0) {
		cf_errf(err, errlen, "invalid argument: reseal takes none");
		return (CF_EINVAL);
	}
	if ((rv = cf_pg_begin(pg, err, errlen)) != CF_OK) {
		return (rv);
	}
	for (size_t i = 0; i < 3 && rv == CF_OK; i++) {
		rv = reseal_column(in, pg, creds_tables[i], "credentials",
		    "id::text", creds_tables[i], &done, &failed, err, errlen);
	}
	if (rv == CF_OK) {
		rv = reseal_column(in, pg, "tokens", "access_token",
		    "owner || ':' || owner_key", "tokens", &done, &failed, err,
		    errlen);
	}
	if (rv == CF_OK) {
		rv = reseal_column(in, pg, "tokens", "refresh_token",
		    "owner || ':' || owner_key", "tokens", &done, &failed, err,
		    errlen);
	}
	if (rv != CF_OK || (rv = cf_pg_commit(pg, err, errlen)) != CF_OK) {
		(void) cf_pg_rollback(pg, NULL, 0);
		return (rv);
	}
	*data = cJSON_CreateObject();
	cJSON_AddNumberToObject(*data, "resealed", (double) done);
	cJSON_AddNumberToObject(*data, "unreadable", (double) failed);
	cJSON_AddNumberToObject(
	    *data, "key_id", (double) cf_secret_keyring_current_id(in->keys));
	return (CF_OK);
}

/* ---- dispatch
 * -------------------------------------------------------------------- */

typedef int (*kind_cmd)(const ingest *, cf_pg *, const kind *,
    const cf_command *, cJSON **, char *, size_t);

static int
manage_find(const char *verb, const kind **k, kind_cmd *fn)
{
	char want[48];

	if (strcmp(verb, "reseal") == 0) {
		*k  = &kinds[0];
		*fn = cmd_reseal;
		return (1);
	}
	for (size_t i = 0; i < NF(kinds); i++) {
		*k = &kinds[i];
		if (strcmp(verb, kinds[i].many) == 0) {
			*fn = cmd_list;
			return (1);
		}
		snprintf(want, sizeof(want), "%s-put", kinds[i].one);
		if (strcmp(verb, want) == 0) {
			*fn = cmd_put;
			return (1);
		}
		snprintf(want, sizeof(want), "%s-get", kinds[i].one);
		if (strcmp(verb, want) == 0) {
			*fn = cmd_get;
			return (1);
		}
		snprintf(want, sizeof(want), "%s-delete", kinds[i].one);
		if (strcmp(verb, want) == 0) {
			*fn = cmd_delete;
			return (1);
		}
	}
	return (0);
}

int
ingest_command(
    void *ctx, const cf_command *cmd, cJSON **data, char *err, size_t errlen)
{
	const ingest *in = ctx;
	const kind   *k  = NULL;
	kind_cmd      fn = NULL;
	char          why[512];
	int           slot, rv;

	if (!manage_find(cmd->cmd, &k, &fn)) {
		return (ingest_views_command(ctx, cmd, data, err, errlen));
	}
	*data = NULL;
	if ((slot = manage_take(in, why, sizeof(why))) < 0) {
		cf_errf(err, errlen, "%s: database unavailable: %s", cmd->cmd,
		    why);
		return (1);
	}
	why[0] = '\0';
	rv     = fn(in, manage_pg[slot], k, cmd, data, why, sizeof(why));
	manage_give(slot);
	if (rv != CF_OK) {
		cJSON_Delete(*data);
		*data = NULL;
		if (rv == CF_EINVAL || rv == CF_ENOENT || rv == CF_EEXIST
		    || strncmp(why, "invalid ", 8) == 0
		    || strncmp(why, "unknown ", 8) == 0) {
			cf_errf(err, errlen, "%s", why);
		} else {
			cf_errf(err, errlen, "%s failed: %s", cmd->cmd,
			    why[0] != '\0' ? why : cf_strerror(rv));
		}
		if (err[0] == '\0') {
			cf_errf(err, errlen, "%s failed: %s", cmd->cmd,
			    cf_strerror(rv));
		}
	} else if (strstr(cmd->cmd, "-put") != NULL
	    || strstr(cmd->cmd, "-delete") != NULL
	    || strcmp(cmd->cmd, "reseal") == 0) {
		cf_log_kv(CF_LOG_INFO, NULL, NULL, "managed", "command",
		    cmd->cmd, NULL);
	}
	return (1);
}
