/*
 * shipping_sync.c - shipping-sync: the carrier's status of our open
 * orders, from Maystro (seed 002, at 00:00, 06:00, 12:00 and 18:00).
 *
 *  1. Load the open orders (shipping_status NULL or not final: not
 *     DELIVERED, RETURNED or CANCELLED), sorted by reference for lookups.
 *     None open: the carrier is not asked.
 *  2. Page 1 of the carrier's list tells how many pages there are; the
 *     others are fetched by CRONFLEET_SHIPPING_SYNC_CONCURRENCY threads
 *     (10) at once, each taking the next page number, within the HTTP
 *     client's in-flight limit. The list is newest first: once a page's
 *     parcels are all older than the oldest open order (a day of
 *     margin), later pages cannot concern an open order and are not
 *     fetched.
 *  3. Each parcel is matched to an open order by the reference the
 *     carrier carries (external_order_id = orders.reference; see
 *     adapters/shop.h), its status mapped (LIVRÉ gives DELIVERED;
 *     unknown texts are kept as shipping_vendor_status, counted, and
 *     leave shipping_status as it was), and compared with what is
 *     stored: only a difference becomes an update.
 *  4. Updates go in batches of 100, one UPDATE ... FROM (VALUES ...)
 *     each, which also checks IS DISTINCT FROM, so a re-run (or a race)
 *     changes nothing.
 *
 * A page that fails (after the client's retries) is an error in the
 * result; the other pages still count, and the orders it held are looked
 * at again next run. The run fails when MAYSTRO_API_KEY is unset
 * (permanently), when page 1 or every page failed, or when the database
 * is unreachable.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_log.h"
#include "cf_time.h"
#include "ingest.h"
#include "shop.h"

#define SS_BATCH 100
#define SS_MAX_ERRORS 20
/* How much older than the oldest open order a parcel may look and still
 * be read (lists sorted by creation need not be strictly by time). */
#define SS_MARGIN_MS (24LL * 3600 * 1000)

typedef struct ss_open {
	int64_t    id;
	char       ref[SHOP_REF_MAX + 1];
	char      *status;
	char      *vstatus;
	char      *tracking;
	int64_t    upd_ms;
	atomic_int seen; /* matched once already (the list may shift) */
} ss_open;

typedef struct ss_change {
	int64_t     id;
	const char *status; /* NULL: keep (unknown vendor status) */
	char        vstatus[64];
	char        tracking[64]; /* "": keep */
	int64_t     upd_ms;       /* 0: keep */
} ss_change;

/* What one thread saw; merged at the end. */
typedef struct ss_acc {
	int64_t    seen, matched, dups, skipped, pages_ok, pages_failed;
	cJSON     *by_status; /* ours -> matched orders */
	cJSON     *unknown;   /* vendor text -> parcels */
	cJSON     *errors;    /* strings */
	ss_change *ch;
	size_t     nch, cap;
	int        nomem;
} ss_acc;

typedef struct ss_shared {
	cf_run      *run;
	ingest_call  call; /* copied by each thread */
	ss_open     *open;
	size_t       nopen;
	int          size;
	int64_t      cutoff_ms; /* 0: read every page */
	atomic_llong next;
	atomic_llong stop_at;
	atomic_llong fetched;
} ss_shared;

typedef struct ss_worker {
	pthread_t  t;
	ss_shared *sh;
	ss_acc     acc;
} ss_worker;

/* ---- helpers ------------------------------------------------------------ */

static void
ss_count(cJSON *obj, const char *key, int64_t by)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (it == NULL) {
		cJSON_AddNumberToObject(obj, key, (double) by);
	} else {
		cJSON_SetNumberValue(it, it->valuedouble + (double) by);
	}
}

static void
ss_merge(cJSON *into, const cJSON *from)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, from)
	{
		ss_count(into, it->string, (int64_t) it->valuedouble);
	}
}

static int
ss_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return (a == b);
	}
	return (strcmp(a, b) == 0);
}

static int
ss_acc_init(ss_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->by_status = cJSON_CreateObject();
	a->unknown   = cJSON_CreateObject();
	a->errors    = cJSON_CreateArray();
	return (a->by_status && a->unknown && a->errors ? CF_OK : CF_ENOMEM);
}

static void
ss_acc_fini(ss_acc *a)
{
	cJSON_Delete(a->by_status);
	cJSON_Delete(a->unknown);
	cJSON_Delete(a->errors);
	free(a->ch);
	memset(a, 0, sizeof(*a));
}

static void
ss_error(ss_acc *a, const char *msg)
{
	cJSON_AddItemToArray(a->errors, cJSON_CreateString(msg));
}

static int
ss_cmp_open(const void *a, const void *b)
{
	return (
	    strcmp(((const ss_open *) a)->ref, ((const ss_open *) b)->ref));
}

static int
ss_cmp_key(const void *key, const void *elem)
{
	return (strcmp((const char *) key, ((const ss_open *) elem)->ref));
}

static int
ss_cmp_change(const void *a, const void *b)
{
	int64_t x = ((const ss_change *) a)->id,
	        y = ((const ss_change *) b)->id;

	return (x < y ? -1 : x > y);
}

/* ---- matching ------------------------------------------------------------
 */

/*
 * Matches a page's parcels to the open orders and notes what changed.
 * Returns the oldest creation time on the page (INT64_MAX: none known).
 */
static int64_t
ss_page(ss_shared *sh, ss_acc *a, const shop_parcel_page *pg)
{
	int64_t oldest = INT64_MAX;

	a->skipped += (int64_t) pg->skipped;
	for (size_t i = 0; i < pg->n; i++) {
		const shop_parcel *p = &pg->parcels[i];
		ss_open           *o;
		const char        *st, *vs, *trk;
		int64_t            upd;

		a->seen++;
		if (p->created_ms > 0 && p->created_ms < oldest) {
			oldest = p->created_ms;
		}
		if (p->status == NULL) {
			ss_count(a->unknown,
			    p->vendor_status[0] ? p->vendor_status : "(empty)",
			    1);
		}
		o = bsearch(
		    p->reference, sh->open, sh->nopen, sizeof(*o), ss_cmp_key);
		if (o == NULL) {
			continue;
		}
		if (atomic_exchange(&o->seen, 1) != 0) {
			a->dups++;
			continue;
		}
		a->matched++;
		if (p->status != NULL) {
			ss_count(a->by_status, p->status, 1);
		}
		st  = p->status != NULL ? p->status : o->status;
		vs  = p->vendor_status[0] ? p->vendor_status : o->vstatus;
		trk = p->tracking[0] ? p->tracking : o->tracking;
		upd = p->updated_ms > 0 ? p->updated_ms : o->upd_ms;
		if (ss_streq(st, o->status) && ss_streq(vs, o->vstatus)
		    && ss_streq(trk, o->tracking) && upd == o->upd_ms) {
			continue;
		}
		if (a->nch == a->cap) {
			size_t     nc = a->cap ? a->cap * 2 : 256;
			ss_change *n  = realloc(a->ch, nc * sizeof(*n));
			if (n == NULL) {
				a->nomem = 1;
				continue;
			}
			a->ch  = n;
			a->cap = nc;
		}
		{
			ss_change *c = &a->ch[a->nch++];
			memset(c, 0, sizeof(*c));
			c->id     = o->id;
			c->status = p->status;
			snprintf(c->vstatus, sizeof(c->vstatus), "%s",
			    p->vendor_status);
			snprintf(c->tracking, sizeof(c->tracking), "%s",
			    p->tracking);
			c->upd_ms = p->updated_ms;
		}
	}
	return (oldest);
}

static void
ss_lower(atomic_llong *v, int64_t to)
{
	long long cur = atomic_load(v);

	while (to < cur && !atomic_compare_exchange_weak(v, &cur, to)) { }
}

static void *
ss_worker_main(void *arg)
{
	ss_worker *w  = arg;
	ss_shared *sh = w->sh;

	for (;;) {
		shop_parcel_page pg;
		ingest_call      call = sh->call;
		char             err[768];
		int64_t          p, oldest;
		int              rv;

		if (cf_run_cancelled(sh->run)) {
			break;
		}
		p = atomic_fetch_add(&sh->next, 1);
		if (p > atomic_load(&sh->stop_at)) {
			break;
		}
		rv = maystro_parcels_page(
		    &call, p, sh->size, &pg, err, sizeof(err));
		atomic_fetch_add(&sh->fetched, 1);
		if (rv == CF_ENOENT) {
			/* The list shrank under us: nothing past here. */
			ss_lower(&sh->stop_at, p - 1);
			break;
		}
		if (rv != CF_OK) {
			w->acc.pages_failed++;
			ss_error(&w->acc, err);
			continue;
		}
		w->acc.pages_ok++;
		oldest = ss_page(sh, &w->acc, &pg);
		if (sh->cutoff_ms > 0 && oldest < sh->cutoff_ms) {
			ss_lower(&sh->stop_at, p);
		}
		shop_parcel_page_free(&pg);
	}
	return (NULL);
}

/* ---- the database ----------------------------------------------------------
 */

static void
ss_open_free(ss_open *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].status);
		free(o[i].vstatus);
		free(o[i].tracking);
	}
	free(o);
}

/* The open orders, sorted by reference; *oldest_ms their oldest order
 * time (0 when one has none). */
static int
ss_load(const ingest *in, cf_pg *pg, ss_open **out, size_t *n,
    int64_t *oldest_ms, char *err, size_t errlen)
{
	char      sql[768];
	PGresult *r;
	ss_open  *o;
	size_t    k = 0;
	int       rv, rows;

	*out       = NULL;
	*n         = 0;
	*oldest_ms = INT64_MAX;
	snprintf(sql, sizeof(sql),
	    "SELECT id, reference, shipping_status, shipping_vendor_status, "
	    "tracking_id, COALESCE(round(extract(epoch FROM "
	    "shipping_updated_at) * 1000)::bigint, 0), "
	    "COALESCE(round(extract(epoch FROM ordered_at) * 1000)::bigint, "
	    "0) FROM %s.orders WHERE shipping_status IS NULL OR "
	    "shipping_status NOT IN ('DELIVERED', 'RETURNED', 'CANCELLED')",
	    in->schema);
	if ((rv = cf_pg_exec(pg, sql, 0, NULL, &r, err, errlen)) != CF_OK) {
		return (rv);
	}
	rows = PQntuples(r);
	if (rows == 0) {
		PQclear(r);
		*oldest_ms = 0;
		return (CF_OK);
	}
	if ((o = calloc((size_t) rows, sizeof(*o))) == NULL) {
		PQclear(r);
		return (CF_ENOMEM);
	}
	for (int i = 0; i < rows; i++) {
		ss_open *e = &o[k];
		int64_t  at;
		if (shop_ref_normalise(
		        e->ref, sizeof(e->ref), PQgetvalue(r, i, 1))
		    != 0) {
			continue;
		}
		e->id       = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		e->status   = ingest_pg_dup(r, i, 2);
		e->vstatus  = ingest_pg_dup(r, i, 3);
		e->tracking = ingest_pg_dup(r, i, 4);
		e->upd_ms   = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		atomic_init(&e->seen, 0);
		at = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		if (at <= 0) {
			*oldest_ms = 0;
		} else if (*oldest_ms > 0 && at < *oldest_ms) {
			*oldest_ms = at;
		}
		k++;
	}
	PQclear(r);
	qsort(o, k, sizeof(*o), ss_cmp_open);
	*out = o;
	*n   = k;
	return (CF_OK);
}

/*
 * One batch: one UPDATE ... FROM (VALUES ...) that also checks each row
 * is open and different. *changed counts the rows it changed, by status.
 */
static int
ss_update(const ingest *in, cf_pg *pg, const ss_change *c, size_t n,
    int64_t *changed, cJSON *by_status, char *err, size_t errlen)
{
	char        sql[24576], ids[SS_BATCH][24], upd[SS_BATCH][40];
	const char *p[SS_BATCH * 5];
	size_t      off = 0;
	PGresult   *r   = NULL;
	int         rv, bad = 0;

	bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
	    "UPDATE %s.orders o SET shipping_status = COALESCE(v.st, "
	    "o.shipping_status), shipping_vendor_status = COALESCE(v.vst, "
	    "o.shipping_vendor_status), tracking_id = COALESCE(v.trk, "
	    "o.tracking_id), shipping_updated_at = COALESCE(v.upd, "
	    "o.shipping_updated_at), updated_at = now() FROM (VALUES ",
	    in->schema);
	for (size_t i = 0; i < n; i++) {
		int b = (int) i * 5;
		bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
		    "%s($%d::bigint, $%d::text, $%d::text, $%d::text, "
		    "$%d::timestamptz)",
		    i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5);
		snprintf(ids[i], sizeof(ids[i]), "%" PRId64, c[i].id);
		upd[i][0] = '\0';
		if (c[i].upd_ms > 0) {
			ingest_time_format(
			    upd[i], sizeof(upd[i]), c[i].upd_ms);
		}
		p[b]     = ids[i];
		p[b + 1] = c[i].status;
		p[b + 2] = c[i].vstatus[0] ? c[i].vstatus : NULL;
		p[b + 3] = c[i].tracking[0] ? c[i].tracking : NULL;
		p[b + 4] = upd[i][0] ? upd[i] : NULL;
	}
	bad |= cf_pg_sqlcat(sql, sizeof(sql), &off,
	    ") AS v(id, st, vst, trk, upd) WHERE o.id = v.id AND "
	    "(o.shipping_status IS NULL OR o.shipping_status NOT IN "
	    "('DELIVERED', 'RETURNED', 'CANCELLED')) AND ("
	    "COALESCE(v.st, o.shipping_status) IS DISTINCT FROM "
	    "o.shipping_status OR COALESCE(v.vst, o.shipping_vendor_status) "
	    "IS DISTINCT FROM o.shipping_vendor_status OR COALESCE(v.trk, "
	    "o.tracking_id) IS DISTINCT FROM o.tracking_id OR "
	    "COALESCE(v.upd, o.shipping_updated_at) IS DISTINCT FROM "
	    "o.shipping_updated_at) RETURNING o.shipping_status");
	if (bad) {
		cf_errf(err, errlen, "update statement too long");
		return (CF_ETOOBIG);
	}
	if ((rv = cf_pg_exec(pg, sql, (int) n * 5, p, &r, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	*changed += PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++) {
		ss_count(by_status,
		    PQgetisnull(r, i, 0) ? "(none)" : PQgetvalue(r, i, 0), 1);
	}
	PQclear(r);
	return (CF_OK);
}

/* ---- the run
 * ---------------------------------------------------------------- */

int
shipping_sync_run(cf_run *run, cf_job_result *res)
{
	ingest           *in  = run->ctx;
	const ingest_cfg *cfg = in->cfg;
	ss_shared         sh;
	ss_acc            tot;
	ss_worker        *w = NULL;
	shop_parcel_page  p1;
	cf_pg            *pg;
	cJSON            *creds = NULL, *out;
	ss_open          *open  = NULL;
	size_t            nopen = 0;
	int64_t           oldest, pages_total = 0, changed = 0, batches = 0;
	int64_t           batches_failed = 0, t0 = cf_time_now_ms();
	cJSON            *changed_by = NULL;
	char              err[1024];
	int               nw = 0, rv, db_down = 0, fail_all = 0;

	if (cfg->maystro_key == NULL || cfg->maystro_key[0] == '\0') {
		cf_result_fail(res,
		    "maystro: MAYSTRO_API_KEY is not set: "
		    "shipping-sync cannot ask the carrier");
		cf_result_permanent(res);
		return (CF_EINVAL);
	}
	if ((rv = cf_run_pg(run, &pg, err, sizeof(err))) != CF_OK
	    || (rv = ss_load(in, pg, &open, &nopen, &oldest, err, sizeof(err)))
	        != CF_OK) {
		cf_result_fail(res, "database: %s", err);
		return (rv);
	}
	if (ss_acc_init(&tot) != CF_OK) {
		ss_open_free(open, nopen);
		ss_acc_fini(&tot);
		return (CF_ENOMEM);
	}
	out        = cJSON_CreateObject();
	changed_by = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "open_orders", (double) nopen);
	if (nopen == 0) {
		cJSON_AddStringToObject(
		    out, "note", "no open orders: the carrier was not asked");
		goto result;
	}

	/* The key rides in an object like any vendor's credentials. */
	creds = cJSON_CreateObject();
	cJSON_AddStringToObject(creds, "api_key", cfg->maystro_key);
	memset(&sh, 0, sizeof(sh));
	sh.run           = run;
	sh.call.http     = in->http;
	sh.call.vendor   = "maystro";
	sh.call.base_url = cfg->maystro_url;
	sh.call.creds    = creds;
	sh.call.cancel   = &in->stopping;
	sh.open          = open;
	sh.nopen         = nopen;
	sh.size          = (int) cfg->shipping_page_size;
	sh.cutoff_ms     = oldest > SS_MARGIN_MS ? oldest - SS_MARGIN_MS : 0;

	rv = maystro_parcels_page(&sh.call, 1, sh.size, &p1, err, sizeof(err));
	if (rv != CF_OK) {
		ss_error(&tot, err);
		tot.pages_failed++;
		fail_all = 1;
		goto result;
	}
	tot.pages_ok++;
	pages_total = p1.count > 0 ? (p1.count + sh.size - 1) / sh.size : 1;
	oldest      = ss_page(&sh, &tot, &p1);
	shop_parcel_page_free(&p1);
	atomic_init(&sh.next, 2);
	atomic_init(&sh.fetched, 1);
	atomic_init(&sh.stop_at,
	    sh.cutoff_ms > 0 && oldest < sh.cutoff_ms ? 1 : pages_total);
	if (atomic_load(&sh.stop_at) > 1) {
		ss_worker one[1];
		int64_t   want    = atomic_load(&sh.stop_at) - 1;
		int       started = 0, inl = 0;
		nw = (int) (want < cfg->shipping_concurrency
		        ? want
		        : cfg->shipping_concurrency);
		if ((w = calloc((size_t) nw, sizeof(*w))) == NULL) {
			memset(one, 0, sizeof(one));
			w  = one;
			nw = 1;
		}
		for (int i = 0; i < nw; i++) {
			w[i].sh = &sh;
			if (ss_acc_init(&w[i].acc) != CF_OK
			    || pthread_create(
			           &w[i].t, NULL, ss_worker_main, &w[i])
			        != 0) {
				ss_acc_fini(&w[i].acc);
				break;
			}
			started++;
		}
		if (started == 0 && ss_acc_init(&w[0].acc) == CF_OK) {
			/* No thread to be had: this one reads the pages. */
			ss_worker_main(&w[0]);
			started = 1;
			inl     = 1;
		}
		for (int i = 0; i < started; i++) {
			ss_acc *a = &w[i].acc;
			if (!inl) {
				pthread_join(w[i].t, NULL);
			}
			tot.pages_ok += a->pages_ok;
			tot.seen += a->seen;
			tot.matched += a->matched;
			tot.dups += a->dups;
			tot.skipped += a->skipped;
			tot.pages_failed += a->pages_failed;
			tot.nomem |= a->nomem;
			ss_merge(tot.by_status, a->by_status);
			ss_merge(tot.unknown, a->unknown);
			for (int e = 0; e < cJSON_GetArraySize(a->errors);
			     e++) {
				ss_error(&tot,
				    cJSON_GetArrayItem(a->errors, e)
				        ->valuestring);
			}
			if (a->nch > 0) {
				ss_change *n = realloc(
				    tot.ch, (tot.nch + a->nch) * sizeof(*n));
				if (n == NULL) {
					tot.nomem = 1;
				} else {
					tot.ch = n;
					memcpy(tot.ch + tot.nch, a->ch,
					    a->nch * sizeof(*n));
					tot.nch += a->nch;
				}
			}
			ss_acc_fini(a);
		}
		if (w != one) {
			free(w);
		}
		w = NULL;
	}
	if (tot.nomem) {
		ss_error(&tot, "out of memory: some changes were not kept");
	}

	/* Updates, in id order (the same lock order every run). */
	if (tot.nch > 0) {
		qsort(tot.ch, tot.nch, sizeof(*tot.ch), ss_cmp_change);
	}
	for (size_t i = 0; i < tot.nch && !db_down; i += SS_BATCH) {
		size_t n = tot.nch - i < SS_BATCH ? tot.nch - i : SS_BATCH;
		char   why[768];
		batches++;
		rv = ss_update(in, pg, tot.ch + i, n, &changed, changed_by,
		    why, sizeof(why));
		if (rv != CF_OK) {
			batches_failed++;
			snprintf(err, sizeof(err),
			    "database: batch of %zu updates: %s", n, why);
			ss_error(&tot, err);
			db_down = rv == CF_ECONN;
		}
	}
	if (tot.pages_ok == 0) {
		fail_all = 1;
	}
	cJSON_AddNumberToObject(out, "pages_total", (double) pages_total);
	cJSON_AddNumberToObject(
	    out, "pages_fetched", (double) (tot.pages_ok + tot.pages_failed));
	cJSON_AddNumberToObject(
	    out, "pages_failed", (double) tot.pages_failed);
	if (pages_total > 0 && atomic_load(&sh.stop_at) < pages_total) {
		cJSON_AddNumberToObject(out, "stopped_after_page",
		    (double) atomic_load(&sh.stop_at));
	}
result:
	cJSON_AddNumberToObject(out, "carrier_orders_seen", (double) tot.seen);
	cJSON_AddNumberToObject(out, "matched", (double) tot.matched);
	cJSON_AddNumberToObject(out, "changed", (double) changed);
	cJSON_AddItemToObject(out, "by_status", tot.by_status);
	cJSON_AddItemToObject(out, "changed_by_status", changed_by);
	cJSON_AddItemToObject(out, "unknown_statuses", tot.unknown);
	tot.by_status = tot.unknown = NULL;
	cJSON_AddNumberToObject(out, "skipped_items", (double) tot.skipped);
	cJSON_AddNumberToObject(out, "duplicates", (double) tot.dups);
	cJSON_AddNumberToObject(out, "batches", (double) batches);
	while (cJSON_GetArraySize(tot.errors) > SS_MAX_ERRORS) {
		cJSON_DeleteItemFromArray(tot.errors, SS_MAX_ERRORS);
	}
	cJSON_AddItemToObject(out, "errors", tot.errors);
	tot.errors = NULL;
	cJSON_AddNumberToObject(
	    out, "duration_ms", (double) (cf_time_now_ms() - t0));
	cf_result_json(res, out);
	{
		char c[96];
		snprintf(c, sizeof(c),
		    "%" PRId64 " changed of %" PRId64 " matched", changed,
		    tot.matched);
		cf_log_kv(CF_LOG_INFO, run->job, run->run_id,
		    "shipping synced", "result", c, NULL);
	}
	ss_acc_fini(&tot);
	ss_open_free(open, nopen);
	ingest_json_wipe(creds);
	if (db_down) {
		cf_result_fail(res, "database unreachable during the updates");
		return (CF_ECONN);
	}
	if (fail_all) {
		cf_result_fail(res, "%s", err);
		return (CF_EPROTO);
	}
	if (batches > 0 && batches_failed == batches) {
		cf_result_fail(res, "every update batch failed: %s", err);
		return (CF_EDB);
	}
	return (CF_OK);
}
