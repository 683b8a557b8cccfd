/*
 * jobs_util.c - what the sync jobs (jobs/) share: their units (sources,
 * vendors, regions) read into arrays, text columns copied, and the
 * JSON-array upserts that count what they created and what they changed,
 * and a small pool that syncs units side by side.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "ingest.h"

int
ingest_rows_load(cf_pg *pg, const char *sql, size_t size, ingest_row_fn take,
    void **out, size_t *n, char *err, size_t errlen)
{
	PGresult *res = NULL;
	char     *v;
	int       rv, rows;

	*out = NULL;
	*n   = 0;
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &res, err, errlen)) != CF_OK) {
		return (rv);
	}
	rows = PQntuples(res);
	/* One more than the rows: never NULL, even for none. */
	if ((v = calloc((size_t) rows + 1, size)) == NULL) {
		PQclear(res);
		return (CF_ENOMEM);
	}
	for (int i = 0; i < rows; i++) {
		int trv = take(res, i, v + (size_t) i * size);
		if (trv != CF_OK) {
			rv = trv;
		}
	}
	PQclear(res);
	if (rv != CF_OK) {
		cf_errf(err, errlen, "reading the rows: %s", cf_strerror(rv));
	}
	*out = v;
	*n   = (size_t) rows;
	return (rv);
}

char *
ingest_pg_dup(const PGresult *res, int row, int col)
{
	return (PQgetisnull(res, row, col)
	        ? NULL
	        : strdup(PQgetvalue(res, row, col)));
}

int
ingest_pg_dups(
    const PGresult *res, int row, int col, char **const *dst, int ncols)
{
	int rv = CF_OK;

	for (int k = 0; k < ncols; k++) {
		if ((*dst[k] = ingest_pg_dup(res, row, col + k)) == NULL
		    && !PQgetisnull(res, row, col + k)) {
			rv = CF_ENOMEM;
		}
	}
	return (rv);
}

int
ingest_upsert_counted(cf_pg *pg, const char *sql, int nparams,
    const char *const *params, int64_t *created, int64_t *updated, char *err,
    size_t errlen)
{
	PGresult *res = NULL;
	int       rv;

	if ((rv = cf_pg_exec_prepared(
	         pg, sql, nparams, params, &res, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetvalue(res, i, 0)[0] == 't') {
			(*created)++;
		} else {
			(*updated)++;
		}
	}
	PQclear(res);
	return (CF_OK);
}

/* ---- units side by side ------------------------------------------------- */

typedef struct par_job {
	cf_run        *run;
	const ingest  *in;
	size_t         n;
	atomic_size_t  next;
	ingest_unit_fn fn;
	void          *arg;
} par_job;

static void *
par_worker(void *arg)
{
	par_job *j        = arg;
	cf_pg   *pg       = NULL;
	char     err[512] = "";

	if (cf_pg_open(&pg, j->in->database_url, err, sizeof(err)) != CF_OK) {
		pg = NULL;
	}
	for (;;) {
		size_t i;

		if (cf_run_cancelled(j->run)) {
			break;
		}
		if ((i = atomic_fetch_add(&j->next, 1)) >= j->n) {
			break;
		}
		j->fn(j->arg, i, pg, err);
	}
	cf_pg_close(pg);
	return (NULL);
}

void
ingest_parallel(cf_run *run, const ingest *in, size_t n, int nthreads,
    ingest_unit_fn fn, void *arg)
{
	pthread_t th[32];
	size_t    started = 0, want;
	par_job   j = { .run = run, .in = in, .n = n, .fn = fn, .arg = arg };

	atomic_init(&j.next, 0);
	want = nthreads < 1 ? 1 : (size_t) nthreads;
	if (want > n) {
		want = n;
	}
	if (want > sizeof(th) / sizeof(th[0])) {
		want = sizeof(th) / sizeof(th[0]);
	}
	/* The first unit's thread is this one: one fewer to start. */
	for (; started + 1 < want; started++) {
		if (pthread_create(&th[started], NULL, par_worker, &j) != 0) {
			break;
		}
	}
	if (n > 0) {
		par_worker(&j);
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
	}
}
