/*
 * ecomanager.c - EcoManager, a store's paged orders API (order-sync).
 *
 * Documentation: EcoManager's API is not public (its reference is given
 * to store owners), so this adapter follows what the vendor simulator
 * serves, tools/vendor-sim/ecomanager.c (docs/vendor-sim.md,
 * "EcoManager"), which follows the seeds (002: hourly sync of every
 * active store, a binary search for the first unseen order, batches of
 * 25) and the conventions of the Laravel back end the product runs on:
 *
 *	GET <store base>/api/shop/v2/orders?page=&per_page=
 *	Authorization: Bearer <the store's API token>
 *	200 {data: [{id, reference, status, customer: {full_name, phone},
 *	     shipping: {wilaya, commune, address}, items: [...], total,
 *	     created_at, ...}], links: {...}, meta: {current_page, from, to,
 *	     last_page, per_page, total}}
 *	401 {"message": "Unauthenticated."}, 404 {"message": "Not Found"},
 *	422 {"message", "errors": {field: [...]}}
 *
 * Orders are listed oldest first and ids increase with time, so a full
 * page never changes and new orders only add pages: what makes the
 * binary search of jobs/order_sync.c sound. A page that carries fewer
 * orders than its counts say (a partial page) would make that search,
 * and the cursor after it, skip orders: it is asked for once more, and
 * refused if still partial.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "shop.h"

void
shop_order_page_free(shop_order_page *p)
{
	if (p == NULL) {
		return;
	}
	free(p->orders);
	cJSON_Delete(p->doc);
	memset(p, 0, sizeof(*p));
}

/* A refusal in words; never the body (it is the vendor's to word). */
static int
em_refused(int64_t page, const cf_http_response *rs, const char *why,
    char *err, size_t errlen)
{
	switch (rs->status) {
	case 401:
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": the store's token was "
		    "refused (HTTP 401: revoked, expired or wrong)",
		    page);
		break;
	case 403:
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": the store's token may not "
		    "list orders (HTTP 403)",
		    page);
		break;
	case 404:
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": no such store at the "
		    "vendor (HTTP 404: check the store's base URL)",
		    page);
		break;
	case 422:
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": the vendor refused the "
		    "paging parameters (HTTP 422)",
		    page);
		break;
	default:
		/* cf_http's line: what was called and how it failed. */
		cf_errf(err, errlen, "%s", why);
		break;
	}
	return (CF_EPROTO);
}

static int
em_cmp(const void *a, const void *b)
{
	const shop_order *x = a, *y = b;

	return (x->id < y->id ? -1 : x->id > y->id);
}

static void
em_add_str(cJSON *row, const char *name, const cJSON *from, const char *key)
{
	const char *v = ingest_json_str(from, key);

	if (v != NULL) {
		cJSON_AddStringToObject(row, name, v);
	} else {
		cJSON_AddNullToObject(row, name);
	}
}

/*
 * One vendor order into o (its row added to rows). Returns CF_OK or
 * CF_EPROTO naming what is missing.
 */
static int
em_order(const cJSON *it, size_t i, int64_t page, cJSON *rows, shop_order *o,
    char *err, size_t errlen)
{
	const cJSON *cust  = cJSON_GetObjectItemCaseSensitive(it, "customer");
	const cJSON *ship  = cJSON_GetObjectItemCaseSensitive(it, "shipping");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(it, "items");
	const char  *at    = ingest_json_str(it, "created_at");
	double       total = ingest_json_num(it, "total", -1);
	int64_t      ms;
	char         ts[40];
	cJSON       *row;

	o->id = ingest_json_int(it, "id", 0);
	if (!cJSON_IsObject(it) || o->id <= 0) {
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": order %zu has no id", page,
		    i + 1);
		return (CF_EPROTO);
	}
	if (shop_ref_normalise(o->reference, sizeof(o->reference),
	        ingest_json_str(it, "reference"))
	    != 0) {
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": order %" PRId64
		    " has no usable reference",
		    page, o->id);
		return (CF_EPROTO);
	}
	if ((row = cJSON_CreateObject()) == NULL) {
		return (CF_ENOMEM);
	}
	cJSON_AddItemToArray(rows, row);
	o->row = row;
	cJSON_AddNumberToObject(row, "external_id", (double) o->id);
	cJSON_AddStringToObject(row, "reference", o->reference);
	em_add_str(row, "vendor_status", it, "status");
	em_add_str(row, "customer_name", cust, "full_name");
	em_add_str(row, "customer_phone", cust, "phone");
	em_add_str(row, "wilaya", ship, "wilaya");
	em_add_str(row, "commune", ship, "commune");
	em_add_str(row, "address", ship, "address");
	cJSON_AddItemToObject(row, "items",
	    cJSON_IsArray(items) ? cJSON_Duplicate(items, 1)
	                         : cJSON_CreateArray());
	if (total >= 0) {
		cJSON_AddNumberToObject(row, "total", total);
	} else {
		cJSON_AddNullToObject(row, "total");
	}
	if (at != NULL && ingest_time_parse(at, &ms) == CF_OK) {
		ingest_time_format(ts, sizeof(ts), ms);
		cJSON_AddStringToObject(row, "ordered_at", ts);
	} else {
		cJSON_AddNullToObject(row, "ordered_at");
	}
	return (CF_OK);
}

/*
 * Reads one answer into out. Returns CF_OK, CF_EPROTO (not the
 * documented shape), or CF_ERANGE for a partial page (err says so).
 */
static int
em_parse(const cJSON *doc, int64_t page, int per_page, void *page_out,
    char *err, size_t errlen)
{
	shop_order_page *out  = page_out;
	const cJSON     *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	const cJSON     *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
	int64_t          total, per, last, from, expect;
	size_t           n, i = 0;
	const cJSON     *it;
	int              rv;

	if (!cJSON_IsArray(data) || !cJSON_IsObject(meta)
	    || (total = ingest_json_int(meta, "total", -1)) < 0) {
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": unexpected answer (no "
		    "data array or meta.total)",
		    page);
		return (CF_EPROTO);
	}
	per  = ingest_json_int(meta, "per_page", per_page);
	last = ingest_json_int(meta, "last_page", 0);
	if (per < 1 || per > 1000) {
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64
		    ": unexpected per_page %" PRId64,
		    page, per);
		return (CF_EPROTO);
	}
	if (last < 1) {
		last = total > 0 ? (total + per - 1) / per : 1;
	}
	n      = (size_t) cJSON_GetArraySize(data);
	from   = (page - 1) * per;
	expect = ingest_page_expect(total, from, per);
	if ((int64_t) n != expect) {
		cf_errf(err, errlen,
		    "ecomanager: page %" PRId64 ": partial page (%zu orders "
		    "where meta.total %" PRId64 " and per_page %" PRId64
		    " say %" PRId64 ")",
		    page, n, total, per, expect);
		return (CF_ERANGE);
	}
	out->page      = page;
	out->last_page = last;
	out->per_page  = per;
	out->total     = total;
	if ((out->doc = cJSON_CreateArray()) == NULL
	    || (n > 0
	        && (out->orders = calloc(n, sizeof(*out->orders))) == NULL)) {
		return (CF_ENOMEM);
	}
	cJSON_ArrayForEach(it, data)
	{
		if ((rv = em_order(
		         it, i, page, out->doc, &out->orders[i], err, errlen))
		    != CF_OK) {
			return (rv);
		}
		i++;
	}
	out->n = n;
	/* Oldest first is the API's promise; sorting costs nothing. */
	if (n > 1) {
		qsort(out->orders, n, sizeof(*out->orders), em_cmp);
	}
	return (CF_OK);
}

static void
em_reset(void *out)
{
	shop_order_page_free(out);
}

static const shop_pager em_pager = {
	.path        = "/api/shop/v2/orders",
	.size_name   = "per_page",
	.cred        = "token",
	.no_cred     = "the store's credentials hold no \"token\"",
	.scheme      = "Bearer",
	.secret_name = "token",
	.refused     = em_refused,
	.parse       = em_parse,
	.reset       = em_reset,
};

int
ecomanager_orders_page(ingest_call *c, int64_t page, int per_page,
    shop_order_page *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return (shop_get_page(c, &em_pager, page, per_page, out, err, errlen));
}
