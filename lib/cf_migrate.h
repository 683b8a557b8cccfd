/*
 * cf_migrate.h - numbered SQL migrations for one service's schema.
 *
 * A service keeps its migrations in db/<service>/ as files named
 * NNN_description.sql: NNN a decimal number (leading zeros allowed),
 * description letters, digits, '_' or '-'. Numbers must run 1, 2, 3 ...
 * without gaps or duplicates; any other *.sql name is an error, as is a
 * gap or a duplicate (the message names the files). Files not ending in
 * .sql, and hidden files, are ignored.
 *
 * cf_migrate_apply() brings the schema up to date, at start, in ONE
 * transaction:
 *
 *   BEGIN (read committed); pg_advisory_xact_lock(<hash of the schema>);
 *   CREATE SCHEMA IF NOT EXISTS <schema>;
 *   CREATE TABLE IF NOT EXISTS <schema>.schema_migrations
 *       (version int primary key, name text, applied_at timestamptz);
 *   for each file whose version is not recorded, in order:
 *       SET LOCAL search_path TO <schema>; <the file>; record it;
 *   COMMIT.
 *
 * The lock comes first, so replicas starting together queue behind each
 * other and each later one sees what the first recorded: a file is
 * applied once. Any error rolls back everything this call did, and err
 * names the file (and line) with PostgreSQL's message. A file must not
 * contain BEGIN/COMMIT; one that ends the transaction is reported as an
 * error. Versions recorded but absent from dir (a newer release migrated
 * this database) are left alone; a recorded version whose file now has
 * another name is an error. The transaction's statement_timeout is
 * CF_MIGRATE_STATEMENT_TIMEOUT, longer than the connection's default.
 */
#ifndef CF_MIGRATE_H
#define CF_MIGRATE_H

#include <stddef.h>

#include "cf_pg.h"

#define CF_MIGRATE_STATEMENT_TIMEOUT "10min"

/*
 * Applies the pending migrations in dir to schema (a lowercase SQL
 * identifier: [a-z_][a-z0-9_]*, at most 63 characters, not pg_*), on pg,
 * which must not be inside a transaction. Returns CF_OK, CF_EINVAL (bad
 * schema name, file names, numbering), CF_ENOENT (dir cannot be read),
 * CF_EDB or CF_EEXIST (a statement failed), CF_ECONN, CF_ETIMEDOUT,
 * CF_ETOOBIG (a file over 16 MiB), CF_ENOMEM. pg stays owned by the
 * caller and usable afterwards.
 */
int cf_migrate_apply(
    cf_pg *pg, const char *schema, const char *dir, char *err, size_t errlen);

/* The same; *applied (not NULL) is how many files this call applied. */
int cf_migrate_apply_n(cf_pg *pg, const char *schema, const char *dir,
    int *applied, char *err, size_t errlen);

#endif /* CF_MIGRATE_H */
