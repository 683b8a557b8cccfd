/*
 * cf_migrate.c - numbered SQL migrations applied in one transaction under
 * an advisory lock. The contract is in cf_migrate.h.
 */
#include "cf_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cf_err.h"

#define MIGRATE_MAX_FILE (16L * 1024 * 1024)
#define MIGRATE_MAX_VERSION 999999999L

typedef struct {
	long  version;
	char *name;
} migrate_file;

typedef struct {
	migrate_file *v;
	size_t        n, cap;
} migrate_list;

static void
migrate_list_free(migrate_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

/* A lowercase identifier that needs no quoting and is not reserved for
 * the system. */
static int
migrate_schema_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || strncmp(s, "pg_", 3) == 0)
		return (0);
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return (0);
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z')
		        || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return (0);
	return (1);
}

/* NNN_description.sql: returns the version, or -1. */
static long
migrate_parse_name(const char *name)
{
	const char *p      = name;
	long        v      = 0;
	size_t      digits = 0, desc = 0;

	while (*p >= '0' && *p <= '9') {
		if (++digits > 9)
			return (-1);
		v = v * 10 + (*p++ - '0');
	}
	if (digits == 0 || *p++ != '_')
		return (-1);
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
	    || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
		p++;
		desc++;
	}
	if (desc == 0 || strcmp(p, ".sql") != 0)
		return (-1);
	return (v);
}

static int
migrate_cmp(const void *a, const void *b)
{
	const migrate_file *x = a, *y = b;

	if (x->version != y->version)
		return (x->version < y->version ? -1 : 1);
	return (strcmp(x->name, y->name));
}

/* Lists dir's migrations, sorted, checked for names, gaps, duplicates. */
static int
migrate_scan(const char *dir, migrate_list *l, char *err, size_t errlen)
{
	DIR           *d;
	struct dirent *e;
	int            rc = CF_OK;

	if ((d = opendir(dir)) == NULL) {
		cf_errf(err, errlen, "migrations: cannot read %s: %s",
		    dir, strerror(errno));
		return (CF_ENOENT);
	}
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		size_t      n    = strlen(name);
		long        v;
		char        path[4096];
		struct stat st;

		if (name[0] == '.' || n < 4
		    || strcmp(name + n - 4, ".sql") != 0)
			continue;
		if ((v = migrate_parse_name(name)) < 0) {
			cf_errf(err, errlen,
			    "migrations: %s/%s: the name is not "
			    "NNN_description.sql",
			    dir, name);
			rc = CF_EINVAL;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			cf_errf(err, errlen,
			    "migrations: %s is not a regular file", path);
			rc = CF_EINVAL;
			break;
		}
		if (l->n == l->cap) {
			size_t        cap = l->cap ? l->cap * 2 : 16;
			migrate_file *nv  = realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL) {
				rc = CF_ENOMEM;
				break;
			}
			l->v   = nv;
			l->cap = cap;
		}
		if ((l->v[l->n].name = strdup(name)) == NULL) {
			rc = CF_ENOMEM;
			break;
		}
		l->v[l->n++].version = v;
	}
	closedir(d);
	if (rc == CF_ENOMEM)
		cf_errf(err, errlen, "out of memory");
	if (rc != CF_OK)
		return (rc);

	/*
	 * A folder may start above 1: a service's own migrations start at
	 * 101 because the job runtime's (db/runtime, 1-99) share its
	 * schema_migrations. Within a folder, numbers run without gaps.
	 */
	if (l->n > 1) {
		qsort(l->v, l->n, sizeof(l->v[0]), migrate_cmp);
	}
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0 && l->v[i].version == l->v[i - 1].version) {
			cf_errf(err, errlen,
			    "migrations: %s and %s in %s have the same number "
			    "%ld",
			    l->v[i - 1].name, l->v[i].name, dir,
			    l->v[i].version);
			return (CF_EINVAL);
		}
		if (i > 0 && l->v[i].version != l->v[i - 1].version + 1) {
			cf_errf(err, errlen,
			    "migrations: gap in %s between %s and %s (no %ld)",
			    dir, l->v[i - 1].name, l->v[i].name,
			    l->v[i - 1].version + 1);
			return (CF_EINVAL);
		}
	}
	return (CF_OK);
}

/* Reads a whole file as a C string (owned by the caller). */
static int
migrate_read(const char *path, char **out, char *err, size_t errlen)
{
	FILE  *f;
	char  *buf;
	long   size;
	size_t got;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		cf_errf(err, errlen, "migrations: cannot open %s: %s",
		    path, strerror(errno));
		return (CF_ENOENT);
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
	    || fseek(f, 0, SEEK_SET) != 0) {
		cf_errf(err, errlen, "migrations: cannot read %s: %s",
		    path, strerror(errno));
		fclose(f);
		return (CF_ESYSTEM);
	}
	if (size > MIGRATE_MAX_FILE) {
		cf_errf(err, errlen, "migrations: %s is over %ld bytes",
		    path, MIGRATE_MAX_FILE);
		fclose(f);
		return (CF_ETOOBIG);
	}
	if ((buf = malloc((size_t) size + 1)) == NULL) {
		cf_errf(err, errlen, "out of memory");
		fclose(f);
		return (CF_ENOMEM);
	}
	got = fread(buf, 1, (size_t) size, f);
	fclose(f);
	buf[got] = '\0';
	if (got != (size_t) size || strlen(buf) != got) {
		cf_errf(err, errlen,
		    "migrations: %s: short read or a NUL byte", path);
		free(buf);
		return (CF_EINVAL);
	}
	*out = buf;
	return (CF_OK);
}

/* The line of the 1-based character position pos (UTF-8) in sql. */
static int
migrate_line(const char *sql, int pos)
{
	int line = 1, chars = 0;

	for (const unsigned char *p = (const unsigned char *) sql; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		if (++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return (line);
}

/* Runs a statement built from the (already validated) schema name. */
static int
migrate_sql(
    cf_pg *pg, const char *schema, const char *fmt, char *err, size_t errlen)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, schema, schema);
	return (cf_pg_exec(pg, sql, 0, NULL, NULL, err, errlen));
}

/* Everything between BEGIN and COMMIT. */
static int
migrate_run(cf_pg *pg, const char *schema, const char *dir,
    const migrate_list *files, int *applied, char *err, size_t errlen)
{
	char      key[128], sql[256], msg[1024];
	PGresult *res;
	int       rc;

	snprintf(key, sizeof(key), "cronfleet.migrate.%s", schema);
	if ((rc = migrate_sql(pg, schema,
	         "SET LOCAL statement_timeout = "
	         "'" CF_MIGRATE_STATEMENT_TIMEOUT "'",
	         err, errlen))
	        != 0
	    || (rc = cf_pg_xact_lock(pg, cf_pg_lock_key(key), err, errlen))
	        != 0
	    || (rc = migrate_sql(pg, schema,
	            "CREATE SCHEMA IF NOT EXISTS \"%s\"", err, errlen))
	        != 0
	    || (rc = migrate_sql(pg, schema,
	            "CREATE TABLE IF NOT EXISTS \"%s\".schema_migrations ("
	            "version integer PRIMARY KEY, "
	            "name text NOT NULL, "
	            "applied_at timestamptz NOT NULL DEFAULT now())",
	            err, errlen))
	        != 0)
		return (rc);

	/* Under the lock, and read committed: this sees what a replica that
	 * held the lock before us committed. */
	snprintf(sql, sizeof(sql),
	    "SELECT version, name FROM \"%s\".schema_migrations", schema);
	if ((rc = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != 0)
		return (rc);

	for (size_t i = 0; i < files->n; i++) {
		const migrate_file *f    = &files->v[i];
		int                 done = 0;
		char                path[4096], ver[16], *text;
		const char         *params[2];
		int                 pos;

		for (int row = 0; row < PQntuples(res); row++) {
			if (atol(PQgetvalue(res, row, 0)) != f->version)
				continue;
			if (strcmp(PQgetvalue(res, row, 1), f->name) != 0) {
				cf_errf(err, errlen,
				    "migrations: schema %s recorded version "
				    "%ld "
				    "as %s, but %s now has %s",
				    schema, f->version,
				    PQgetvalue(res, row, 1), dir, f->name);
				PQclear(res);
				return (CF_EINVAL);
			}
			done = 1;
		}
		if (done)
			continue;

		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		if ((rc = migrate_read(path, &text, err, errlen)) != 0) {
			PQclear(res);
			return (rc);
		}
		rc = migrate_sql(pg, schema, "SET LOCAL search_path TO \"%s\"",
		    err, errlen);
		if (rc == CF_OK) {
			rc = cf__pg_exec_script(
			    pg, text, &pos, msg, sizeof(msg));
			if (rc != CF_OK && pos > 0)
				cf_errf(err, errlen,
				    "migration %s line %d: %s", path,
				    migrate_line(text, pos), msg);
			else if (rc != CF_OK)
				cf_errf(err, errlen, "migration %s: %s",
				    path, msg);
		}
		free(text);
		if (rc == CF_OK && !cf__pg_in_txn(pg)) {
			cf_errf(err, errlen,
			    "migration %s ended the transaction: remove "
			    "BEGIN/COMMIT/ROLLBACK from it",
			    path);
			rc = CF_EINVAL;
		}
		if (rc != CF_OK) {
			PQclear(res);
			return (rc);
		}

		snprintf(sql, sizeof(sql),
		    "INSERT INTO \"%s\".schema_migrations (version, name) "
		    "VALUES ($1, $2)",
		    schema);
		snprintf(ver, sizeof(ver), "%ld", f->version);
		params[0] = ver;
		params[1] = f->name;
		if ((rc = cf_pg_exec(pg, sql, 2, params, NULL, err, errlen))
		    != 0) {
			PQclear(res);
			return (rc);
		}
		(*applied)++;
	}
	PQclear(res);
	return (CF_OK);
}

int
cf_migrate_apply_n(cf_pg *pg, const char *schema, const char *dir,
    int *applied, char *err, size_t errlen)
{
	migrate_list files = { 0 };
	int          rc;
	char         ignored[256];

	*applied = 0;
	if (schema == NULL || !migrate_schema_ok(schema)) {
		cf_errf(err, errlen,
		    "migrations: schema name must match [a-z_][a-z0-9_]* (at "
		    "most 63 characters, not pg_*)");
		return (CF_EINVAL);
	}
	if (dir == NULL) {
		cf_errf(err, errlen, "migrations: no directory");
		return (CF_EINVAL);
	}
	if (cf__pg_in_txn(pg)) {
		cf_errf(err, errlen,
		    "migrations: the connection is inside a transaction");
		return (CF_EINVAL);
	}
	/* Names and numbering first: a bad directory touches nothing. */
	if ((rc = migrate_scan(dir, &files, err, errlen)) != CF_OK) {
		migrate_list_free(&files);
		return (rc);
	}
	rc = cf_pg_exec(pg, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL,
	    NULL, err, errlen);
	if (rc == CF_OK)
		rc = migrate_run(
		    pg, schema, dir, &files, applied, err, errlen);
	if (rc == CF_OK) {
		rc = cf_pg_commit(pg, err, errlen);
	} else {
		/* Whatever the failure, leave the handle outside any
		 * transaction; the error to report is the first one. */
		(void) cf_pg_rollback(pg, ignored, sizeof(ignored));
	}
	if (rc != CF_OK)
		*applied = 0;
	migrate_list_free(&files);
	return (rc);
}

int
cf_migrate_apply(
    cf_pg *pg, const char *schema, const char *dir, char *err, size_t errlen)
{
	int applied;

	return (cf_migrate_apply_n(pg, schema, dir, &applied, err, errlen));
}
