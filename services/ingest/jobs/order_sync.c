/*
 * order_sync.c - order-sync: new orders from every active EcoManager
 * store of every organisation, assigned round-robin to the available
 * agents of the store's organisation (seed 002, hourly 08:00-20:00).
 *
 * Per store:
 *  1. Find the first page holding an order not yet taken in (an id above
 *     stores.last_order_id). EcoManager lists orders oldest first and a
 *     full page never changes, so "the page's last id is above the
 *     cursor" is false then true along the pages: a binary search finds
 *     the boundary in log2(pages) requests (page 1 and the last page are
 *     looked at first: the common cases, nothing new or everything new).
 *  2. Fetch from that page to the last and take the orders above the
 *     cursor in batches of 25, each one transaction: insert (ON CONFLICT
 *     (store_id, external_id) DO NOTHING), assign each order actually
 *     inserted to the organisation's available, active agents in turn
 *     (the one assigned longest ago first), count the agents'
 *     assignments, and move the cursor to the batch's last id. A batch
 *     that fails rolls back whole: its orders are taken next time.
 *  3. A store that fails (refused token, unknown store, timeouts,
 *     malformed or partial pages) keeps what its earlier batches
 *     committed, records its error in stores.last_error and in the
 *     result; the other stores still sync.
 *
 * The run fails when every store failed, or the database is unreachable.
 * A re-run finds nothing above the cursors: nothing is written to orders
 * or agents.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "ingest.h"
#include "shop.h"

#define OS_BATCH 25

/* One active store, as loaded. */
typedef struct os_store {
	int64_t id;
	int64_t last_order_id;
	char   *org_id;
	char   *org;
	char   *name;
	char   *base_url;
	char   *sealed;
} os_store;

/* What one store's sync did. */
typedef struct os_stat {
	int64_t pages_total;
	int64_t pages_fetched;
	int64_t first_new_page; /* 0: nothing new */
	int64_t seen;           /* orders above the cursor */
	int64_t new_orders;     /* inserted */
	int64_t assigned;
	int64_t unassigned;
	int64_t batches;
} os_stat;

/* A batch being filled: rows for jsonb_to_recordset, the last id. */
typedef struct os_batch {
	cJSON  *rows;
	int     n;
	int64_t max_id;
} os_batch;

typedef struct os_ctx {
	cf_run         *run;
	const ingest   *in;
	cf_pg          *pg;
	const os_store *st;
	os_stat        *stat;
	ingest_call     call;
	int             per_page;
	int64_t         cursor; /* the last id taken in (committed) */
	int             db_down;
	/* Pages read by the search, kept for the fetch that follows. */
	shop_order_page cache[72];
	int             ncache;
} os_ctx;

/* ---- SQL ---------------------------------------------------------------- */

static int
os_sql(char *buf, size_t len, const char *fmt, const char *schema)
{
	int n = snprintf(buf, len, fmt, schema, schema, schema);

	return (n < 0 || (size_t) n >= len ? CF_ETOOBIG : CF_OK);
}

/*
 * Round-robin among the agents in the order the query gives (the one
 * assigned longest ago first). last_assigned_at gets, for each agent,
 * the batch's time plus the position of its last order in the batch in
 * microseconds: within one transaction now() is one instant, and equal
 * times would make the next batch start again with the same agent (by
 * id), so each agent would not get its turn. The base is also past every
 * stored time, so the order holds across batches that follow closely.
 */
static int
os_assign(os_ctx *x, PGresult *ins, char *err, size_t errlen)
{
	const char *schema = x->in->schema;
	char sql[1024], *ids = NULL, *ags = NULL, *aid = NULL, *acnt = NULL,
	                *aus = NULL;
	const char *p[3];
	PGresult   *ag  = NULL;
	int64_t    *oid = NULL, *ext = NULL, base, now_us;
	int         rows = PQntuples(ins), nag, rv = CF_OK;
	size_t      cap;

	if (rows == 0) {
		return (CF_OK);
	}
	if (os_sql(sql, sizeof(sql),
	        "SELECT id, COALESCE((extract(epoch FROM last_assigned_at)"
	        " * 1000000)::bigint, 0), (extract(epoch FROM now())"
	        " * 1000000)::bigint FROM %s.agents WHERE org_id = $1 AND "
	        "active AND available ORDER BY last_assigned_at NULLS FIRST, "
	        "id FOR UPDATE",
	        schema)
	    != CF_OK) {
		return (CF_ETOOBIG);
	}
	p[0] = x->st->org_id;
	if ((rv = cf_pg_exec_prepared(x->pg, sql, 1, p, &ag, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	nag = PQntuples(ag);
	if (nag == 0) {
		x->stat->unassigned += rows;
		PQclear(ag);
		return (CF_OK);
	}
	/* The inserted orders, oldest (smallest vendor id) first. */
	oid  = calloc((size_t) rows, sizeof(*oid));
	ext  = calloc((size_t) rows, sizeof(*ext));
	cap  = (size_t) rows * 48 + (size_t) nag * 72 + 16;
	ids  = malloc(cap);
	ags  = malloc(cap);
	aid  = malloc(cap);
	acnt = malloc(cap);
	aus  = malloc(cap);
	if (oid == NULL || ext == NULL || ids == NULL || ags == NULL
	    || aid == NULL || acnt == NULL || aus == NULL) {
		rv = CF_ENOMEM;
		goto done;
	}
	for (int i = 0; i < rows; i++) {
		oid[i] = strtoll(PQgetvalue(ins, i, 0), NULL, 10);
		ext[i] = strtoll(PQgetvalue(ins, i, 1), NULL, 10);
	}
	/* RETURNING's order is not promised: sort by vendor id. */
	for (int i = 1; i < rows; i++) {
		for (int j = i; j > 0 && ext[j - 1] > ext[j]; j--) {
			int64_t t  = ext[j];
			ext[j]     = ext[j - 1];
			ext[j - 1] = t;
			t          = oid[j];
			oid[j]     = oid[j - 1];
			oid[j - 1] = t;
		}
	}
	now_us = strtoll(PQgetvalue(ag, 0, 2), NULL, 10);
	base   = now_us;
	for (int a = 0; a < nag; a++) {
		int64_t last = strtoll(PQgetvalue(ag, a, 1), NULL, 10);
		if (last >= base) {
			base = last + 1;
		}
	}
	{
		size_t o1 = 0, o2 = 0, o3 = 0, o4 = 0, o5 = 0;
		cf_pg_sqlcat(ids, cap, &o1, "{");
		cf_pg_sqlcat(ags, cap, &o2, "{");
		for (int i = 0; i < rows; i++) {
			cf_pg_sqlcat(
			    ids, cap, &o1, "%s%" PRId64, i ? "," : "", oid[i]);
			cf_pg_sqlcat(ags, cap, &o2, "%s%s", i ? "," : "",
			    PQgetvalue(ag, i % nag, 0));
		}
		cf_pg_sqlcat(ids, cap, &o1, "}");
		cf_pg_sqlcat(ags, cap, &o2, "}");
		cf_pg_sqlcat(aid, cap, &o3, "{");
		cf_pg_sqlcat(acnt, cap, &o4, "{");
		cf_pg_sqlcat(aus, cap, &o5, "{");
		for (int a = 0; a < nag && a < rows; a++) {
			/* Agent a took orders a, a + nag, ...: its count
			 * and the position of its last one. */
			int64_t cnt  = (rows - a + nag - 1) / nag;
			int64_t last = a + (cnt - 1) * nag;
			cf_pg_sqlcat(aid, cap, &o3, "%s%s", a ? "," : "",
			    PQgetvalue(ag, a, 0));
			cf_pg_sqlcat(
			    acnt, cap, &o4, "%s%" PRId64, a ? "," : "", cnt);
			cf_pg_sqlcat(aus, cap, &o5, "%s%" PRId64, a ? "," : "",
			    base + last);
		}
		cf_pg_sqlcat(aid, cap, &o3, "}");
		cf_pg_sqlcat(acnt, cap, &o4, "}");
		cf_pg_sqlcat(aus, cap, &o5, "}");
	}
	if (os_sql(sql, sizeof(sql),
	        "UPDATE %s.orders o SET agent_id = v.agent, assigned_at = "
	        "now(), updated_at = now() FROM unnest($1::bigint[], "
	        "$2::bigint[]) AS v(id, agent) WHERE o.id = v.id",
	        schema)
	    != CF_OK) {
		rv = CF_ETOOBIG;
		goto done;
	}
	p[0] = ids;
	p[1] = ags;
	if ((rv = cf_pg_exec_prepared(x->pg, sql, 2, p, NULL, err, errlen))
	    != CF_OK) {
		goto done;
	}
	if (os_sql(sql, sizeof(sql),
	        "UPDATE %s.agents a SET assigned_total = a.assigned_total + "
	        "v.n, last_assigned_at = timestamptz 'epoch' + v.us * "
	        "interval '1 microsecond' FROM unnest($1::bigint[], "
	        "$2::bigint[], $3::bigint[]) AS v(id, n, us) WHERE a.id = "
	        "v.id",
	        schema)
	    != CF_OK) {
		rv = CF_ETOOBIG;
		goto done;
	}
	p[0] = aid;
	p[1] = acnt;
	p[2] = aus;
	if ((rv = cf_pg_exec_prepared(x->pg, sql, 3, p, NULL, err, errlen))
	    != CF_OK) {
		goto done;
	}
	x->stat->assigned += rows;
done:
	PQclear(ag);
	free(oid);
	free(ext);
	free(ids);
	free(ags);
	free(aid);
	free(acnt);
	free(aus);
	return (rv);
}

/* One batch, one transaction. Counts only once it committed. */
static int
os_commit(os_ctx *x, os_batch *b, char *err, size_t errlen)
{
	const char *schema = x->in->schema;
	char        sql[1536], sid[24], smax[24], *json = NULL;
	const char *p[2];
	PGresult   *ins      = NULL;
	os_stat     before   = *x->stat;
	int         inserted = 0, rv;

	if (b->n == 0) {
		return (CF_OK);
	}
	if (errlen > 0) {
		err[0] = '\0';
	}
	if ((json = cJSON_PrintUnformatted(b->rows)) == NULL) {
		return (CF_ENOMEM);
	}
	snprintf(sid, sizeof(sid), "%" PRId64, x->st->id);
	snprintf(smax, sizeof(smax), "%" PRId64, b->max_id);
	if ((rv = cf_pg_begin(x->pg, err, errlen)) != CF_OK) {
		goto out;
	}
	if (os_sql(sql, sizeof(sql),
	        "INSERT INTO %s.orders (store_id, external_id, reference, "
	        "vendor_status, customer_name, customer_phone, wilaya, "
	        "commune, address, items, total, ordered_at) SELECT "
	        "$1::bigint, r.external_id, r.reference, r.vendor_status, "
	        "r.customer_name, r.customer_phone, r.wilaya, r.commune, "
	        "r.address, COALESCE(r.items, '[]'::jsonb), r.total, "
	        "r.ordered_at FROM jsonb_to_recordset($2::jsonb) AS "
	        "r(external_id bigint, reference text, vendor_status text, "
	        "customer_name text, customer_phone text, wilaya text, "
	        "commune text, address text, items jsonb, total numeric, "
	        "ordered_at timestamptz) ORDER BY r.external_id "
	        "ON CONFLICT (store_id, external_id) DO NOTHING "
	        "RETURNING id, external_id",
	        schema)
	    != CF_OK) {
		rv = CF_ETOOBIG;
		goto fail;
	}
	p[0] = sid;
	p[1] = json;
	if ((rv = cf_pg_exec_prepared(x->pg, sql, 2, p, &ins, err, errlen))
	    != CF_OK) {
		goto fail;
	}
	inserted = PQntuples(ins);
	if ((rv = os_assign(x, ins, err, errlen)) != CF_OK) {
		goto fail;
	}
	if (os_sql(sql, sizeof(sql),
	        "UPDATE %s.stores SET last_order_id = $2::bigint WHERE id = "
	        "$1::bigint AND last_order_id < $2::bigint",
	        schema)
	    != CF_OK) {
		rv = CF_ETOOBIG;
		goto fail;
	}
	p[1] = smax;
	if ((rv = cf_pg_exec_prepared(x->pg, sql, 2, p, NULL, err, errlen))
	    != CF_OK) {
		goto fail;
	}
	if ((rv = cf_pg_commit(x->pg, err, errlen)) != CF_OK) {
		goto fail;
	}
	x->stat->new_orders += inserted;
	x->stat->batches++;
	x->cursor = b->max_id;
	goto out;
fail:
	(void) cf_pg_rollback(x->pg, NULL, 0);
	{
		char why[768];
		snprintf(why, sizeof(why), "%s", err);
		cf_errf(err, errlen,
		    "database: batch of %d orders (ids up to %" PRId64
		    ") rolled back: %s",
		    b->n, b->max_id, why);
	}
	/* Nothing of the batch stays: neither do its counts. */
	x->stat->assigned   = before.assigned;
	x->stat->unassigned = before.unassigned;
	if (rv == CF_ECONN) {
		x->db_down = 1;
	}
out:
	PQclear(ins);
	free(json);
	cJSON_Delete(b->rows);
	b->rows = NULL;
	b->n    = 0;
	return (rv);
}

/* ---- pages and the search ------------------------------------------------
 */

/* Page p, from the search's cache or the vendor (counted). */
static int
os_page(os_ctx *x, int64_t p, shop_order_page **out, char *err, size_t errlen)
{
	shop_order_page *pg;
	int              rv;

	for (int i = 0; i < x->ncache; i++) {
		if (x->cache[i].page == p) {
			*out = &x->cache[i];
			return (CF_OK);
		}
	}
	if (cf_run_cancelled(x->run)) {
		cf_errf(err, errlen, "cancelled (timeout or shutdown)");
		return (CF_ECLOSED);
	}
	if (x->ncache == (int) (sizeof(x->cache) / sizeof(x->cache[0]))) {
		/* Never reached: the search reads ~log2(pages) + 2 pages. */
		cf_errf(err, errlen, "ecomanager: too many pages searched");
		return (CF_ETOOBIG);
	}
	pg = &x->cache[x->ncache];
	x->stat->pages_fetched++;
	if ((rv = ecomanager_orders_page(
	         &x->call, p, x->per_page, pg, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	x->ncache++;
	*out = pg;
	return (CF_OK);
}

static int64_t
os_last_id(const shop_order_page *p)
{
	return (p->n > 0 ? p->orders[p->n - 1].id : 0);
}

/*
 * The first page whose last order is above the cursor, or 0 when there
 * is none. Page 1 tells how many pages there are.
 */
static int
os_search(os_ctx *x, int64_t *first, char *err, size_t errlen)
{
	shop_order_page *p1, *pl, *pm;
	int64_t          lo, hi, last;
	int              rv;

	*first = 0;
	if ((rv = os_page(x, 1, &p1, err, errlen)) != CF_OK) {
		return (rv);
	}
	last                 = p1->last_page;
	x->stat->pages_total = last;
	if (p1->n == 0) {
		return (CF_OK);
	}
	if (os_last_id(p1) > x->cursor) {
		*first = 1;
		return (CF_OK);
	}
	if (last <= 1) {
		return (CF_OK);
	}
	if ((rv = os_page(x, last, &pl, err, errlen)) != CF_OK) {
		return (rv);
	}
	if (os_last_id(pl) <= x->cursor) {
		return (CF_OK);
	}
	/* Invariant: page lo - 1 is all taken in, page hi is not. */
	lo = 2;
	hi = last;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if ((rv = os_page(x, mid, &pm, err, errlen)) != CF_OK) {
			return (rv);
		}
		if (pm->n > 0 && os_last_id(pm) > x->cursor) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	*first = lo;
	return (CF_OK);
}

/* Takes the orders of p above the cursor into batches. */
static int
os_take(os_ctx *x, const shop_order_page *p, os_batch *b, int64_t *seen_max,
    char *err, size_t errlen)
{
	int rv;

	for (size_t i = 0; i < p->n; i++) {
		const shop_order *o = &p->orders[i];
		if (o->id <= *seen_max) {
			continue;
		}
		*seen_max = o->id;
		x->stat->seen++;
		if (b->rows == NULL
		    && (b->rows = cJSON_CreateArray()) == NULL) {
			return (CF_ENOMEM);
		}
		cJSON_AddItemToArray(b->rows, cJSON_Duplicate(o->row, 1));
		b->n++;
		b->max_id = o->id;
		if (b->n == OS_BATCH
		    && (rv = os_commit(x, b, err, errlen)) != CF_OK) {
			return (rv);
		}
	}
	return (CF_OK);
}

static int
os_sync(os_ctx *x, char *err, size_t errlen)
{
	os_batch b = { 0 };
	int64_t  first, seen_max = x->cursor, p;
	int      rv;
	char     why[512];

	if ((rv = os_search(x, &first, err, errlen)) != CF_OK || first == 0) {
		return (rv);
	}
	x->stat->first_new_page = first;
	/*
	 * From the first new page to the last, following each page's own
	 * last_page: orders placed during the run only add pages.
	 */
	for (p = first;; p++) {
		shop_order_page *pg;
		int64_t          last;
		int              cached = x->ncache;
		if ((rv = os_page(x, p, &pg, err, errlen)) != CF_OK) {
			break;
		}
		last = pg->last_page;
		rv   = os_take(x, pg, &b, &seen_max, err, errlen);
		if (x->ncache > cached) {
			/* Read for this loop, not the search: drop it. */
			shop_order_page_free(&x->cache[--x->ncache]);
		}
		if (rv != CF_OK || p >= last) {
			break;
		}
	}
	/* What was read whole before an error is kept. */
	if (b.n > 0) {
		int rv2 = os_commit(x, &b, rv == CF_OK ? err : why,
		    rv == CF_OK ? errlen : sizeof(why));
		if (rv == CF_OK) {
			rv = rv2;
		}
	}
	cJSON_Delete(b.rows);
	return (rv);
}

/* ---- stores ----------------------------------------------------------------
 */

static void
os_store_free(os_store *s)
{
	free(s->org_id);
	free(s->org);
	free(s->name);
	free(s->base_url);
	if (s->sealed != NULL) {
		free(s->sealed);
	}
}

static int
os_read_row(const PGresult *r, int i, void *elem)
{
	os_store *s = elem;
	char    **f[]
	    = { &s->org_id, &s->org, &s->name, &s->base_url, &s->sealed };

	s->id            = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	s->last_order_id = strtoll(PQgetvalue(r, i, 6), NULL, 10);
	return (ingest_pg_dups(r, i, 1, f, 5));
}

static int
os_load(const ingest *in, cf_pg *pg, os_store **out, int *n, char *err,
    size_t errlen)
{
	char   sql[512];
	void  *s;
	size_t rows;
	int    rv;

	snprintf(sql, sizeof(sql),
	    "SELECT s.id, s.org_id, o.name, s.name, s.base_url, "
	    "s.credentials, s.last_order_id FROM %s.stores s JOIN "
	    "%s.organizations o ON o.id = s.org_id WHERE s.active ORDER BY "
	    "s.id",
	    in->schema, in->schema);
	rv = ingest_rows_load(
	    pg, sql, sizeof(os_store), os_read_row, &s, &rows, err, errlen);
	*out = s;
	*n   = (int) rows;
	return (rv);
}

/* Records the store's outcome on its row (only what changed). */
static int
os_mark(const ingest *in, cf_pg *pg, int64_t id, const char *error)
{
	char        sql[512], sid[24];
	const char *p[2] = { sid, error };

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	if (error == NULL) {
		snprintf(sql, sizeof(sql),
		    "UPDATE %s.stores SET last_sync_at = now(), last_error = "
		    "NULL WHERE id = $1::bigint",
		    in->schema);
		return (cf_pg_exec_prepared(pg, sql, 1, p, NULL, NULL, 0));
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE %s.stores SET last_error = $2 WHERE id = $1::bigint AND "
	    "last_error IS DISTINCT FROM $2",
	    in->schema);
	return (cf_pg_exec_prepared(pg, sql, 2, p, NULL, NULL, 0));
}

static cJSON *
os_store_json(const os_store *s, const os_stat *st, const char *error)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "store", s->name);
	cJSON_AddNumberToObject(o, "store_id", (double) s->id);
	cJSON_AddStringToObject(o, "org", s->org != NULL ? s->org : "");
	cJSON_AddNumberToObject(o, "pages_total", (double) st->pages_total);
	cJSON_AddNumberToObject(
	    o, "pages_fetched", (double) st->pages_fetched);
	if (st->first_new_page > 0) {
		cJSON_AddNumberToObject(
		    o, "first_new_page", (double) st->first_new_page);
	} else {
		cJSON_AddNullToObject(o, "first_new_page");
	}
	cJSON_AddNumberToObject(o, "new_orders", (double) st->new_orders);
	cJSON_AddNumberToObject(o, "assigned", (double) st->assigned);
	cJSON_AddNumberToObject(o, "unassigned", (double) st->unassigned);
	cJSON_AddNumberToObject(o, "batches", (double) st->batches);
	if (error != NULL) {
		cJSON_AddStringToObject(o, "error", error);
	} else {
		cJSON_AddNullToObject(o, "error");
	}
	return (o);
}

/* One store, start to end; err set when it failed. */
static int
os_store_sync(cf_run *run, const ingest *in, cf_pg *pg, const os_store *s,
    os_stat *st, int *db_down, char *err, size_t errlen)
{
	os_ctx *x;
	cJSON  *creds = NULL;
	char    sid[24], why[768];
	int     rv;

	snprintf(sid, sizeof(sid), "%" PRId64, s->id);
	if ((rv = ingest_creds_open(
	         in, "stores", sid, s->sealed, &creds, why, sizeof(why)))
	    != CF_OK) {
		cf_errf(err, errlen, "%s", why);
		return (rv);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		ingest_json_wipe(creds);
		return (CF_ENOMEM);
	}
	x->run           = run;
	x->in            = in;
	x->pg            = pg;
	x->st            = s;
	x->stat          = st;
	x->per_page      = (int) in->cfg->order_page_size;
	x->cursor        = s->last_order_id;
	x->call.http     = in->http;
	x->call.vendor   = "ecomanager";
	x->call.base_url = s->base_url;
	x->call.creds    = creds;
	x->call.cancel   = &in->stopping;
	rv               = os_sync(x, why, sizeof(why));
	if (rv != CF_OK) {
		cf_errf(err, errlen, "%s", why);
	}
	*db_down = x->db_down;
	for (int i = 0; i < x->ncache; i++) {
		shop_order_page_free(&x->cache[i]);
	}
	free(x);
	ingest_json_wipe(creds);
	return (rv);
}

int
order_sync_run(cf_run *run, cf_job_result *res)
{
	ingest   *in = run->ctx;
	cf_pg    *pg;
	os_store *stores = NULL;
	os_stat   tot    = { 0 };
	cJSON    *out, *arr, *t;
	char      err[1024];
	int       n = 0, failed = 0, db_down = 0, rv;
	int64_t   t0 = cf_time_now_ms();

	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK
	    || (rv = os_load(in, pg, &stores, &n, err, sizeof(err)))
	        != CF_OK) {
		cf_result_fail(res, "database: %s", err);
		for (int i = 0; i < n; i++) {
			os_store_free(&stores[i]);
		}
		free(stores);
		return (rv);
	}
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "stores");
	for (int i = 0; i < n; i++) {
		os_stat st   = { 0 };
		int     down = 0;
		char    line[1280];
		if (cf_run_cancelled(run)) {
			cf_errf(
			    err, sizeof(err), "cancelled before this store");
			rv = CF_ECLOSED;
		} else {
			rv = os_store_sync(run, in, pg, &stores[i], &st, &down,
			    err, sizeof(err));
		}
		if (rv != CF_OK) {
			failed++;
			snprintf(line, sizeof(line), "store %s (org %s): %s",
			    stores[i].name, stores[i].org, err);
			cf_log_kv(CF_LOG_WARN, run->job, run->run_id,
			    "store failed", "store", stores[i].name, "error",
			    line, NULL);
		} else {
			char c[24];
			snprintf(c, sizeof(c), "%" PRId64, st.new_orders);
			cf_log_kv(CF_LOG_INFO, run->job, run->run_id,
			    "store synced", "store", stores[i].name,
			    "new_orders", c, NULL);
		}
		cJSON_AddItemToArray(arr,
		    os_store_json(&stores[i], &st, rv != CF_OK ? line : NULL));
		if (!down) {
			(void) os_mark(
			    in, pg, stores[i].id, rv != CF_OK ? line : NULL);
		}
		tot.pages_fetched += st.pages_fetched;
		tot.new_orders += st.new_orders;
		tot.assigned += st.assigned;
		tot.unassigned += st.unassigned;
		tot.seen += st.seen;
		if (down) {
			db_down = 1;
			break;
		}
	}
	t = cJSON_AddObjectToObject(out, "totals");
	cJSON_AddNumberToObject(t, "stores", n);
	cJSON_AddNumberToObject(t, "succeeded", n - failed);
	cJSON_AddNumberToObject(t, "failed", failed);
	cJSON_AddNumberToObject(
	    t, "pages_fetched", (double) tot.pages_fetched);
	cJSON_AddNumberToObject(t, "new_orders", (double) tot.new_orders);
	cJSON_AddNumberToObject(t, "assigned", (double) tot.assigned);
	cJSON_AddNumberToObject(t, "unassigned", (double) tot.unassigned);
	cJSON_AddNumberToObject(
	    out, "duration_ms", (double) (cf_time_now_ms() - t0));
	cf_result_json(res, out);
	for (int i = 0; i < n; i++) {
		os_store_free(&stores[i]);
	}
	free(stores);
	if (db_down) {
		cf_result_fail(res, "database unreachable during the sync");
		return (CF_ECONN);
	}
	if (n > 0 && failed == n) {
		cf_result_fail(
		    res, "every store failed (%d); see the result", n);
		return (CF_EPROTO);
	}
	return (CF_OK);
}
