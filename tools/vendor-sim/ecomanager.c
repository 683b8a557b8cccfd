/*
 * ecomanager.c - EcoManager (an Algerian e-commerce back office), the
 * paged orders API of a store, simulated.
 *
 * Documentation: EcoManager's API is not public (its reference is given
 * to store owners). The shapes follow the seeds (/work/shared/seeds,
 * the LibertaPhonix scheduler guide: hourly order sync from every active
 * store, "binary search" for the first unseen order, batches of 25) and
 * the conventions of the Laravel back end the product is built on: a
 * store's API token as `Authorization: Bearer <token>`, length-aware
 * pagination {data, links, meta: {current_page, last_page, per_page,
 * total, from, to}}, 401 {"message": "Unauthenticated."}, 422
 * validation errors {"message", "errors": {field: [..]}}, 404
 * {"message": "Not Found"}.
 *
 * Routes (under /ecomanager):
 *	GET /{store}/api/shop/v2/orders?page=&per_page=
 * Orders are listed oldest first (ids increase with time), so a page's
 * content never changes once full and new orders only add pages: a
 * binary search over pages finds the first unseen order. per_page is 1
 * to 100 (default 15, Laravel's); a page past the last is empty. Stores
 * are store-1 ... store-N (CRONFLEET_SIM_STORES), one token for all
 * (CRONFLEET_SIM_ECOMANAGER_TOKEN).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char *const em_wilayas[]
    = { "Alger", "Oran", "Constantine", "Blida", "Sétif", "Annaba",
	      "Tizi Ouzou", "Béjaïa", "Batna", "Tlemcen" };
static const char *const em_first[] = { "Amine", "Yasmine", "Karim", "Sara",
	"Mehdi", "Lina", "Walid", "Nour", "Rachid", "Imane" };
static const char *const em_last[]  = { "Benali", "Haddad", "Boudiaf",
	 "Mansouri", "Belkacem", "Cherif", "Zerrouki", "Saadi" };
static const char *const em_products[]
    = { "Montre connectée", "Écouteurs sans fil", "Chargeur rapide",
	      "Coque de téléphone", "Lampe LED", "Sac à dos" };

int64_t
vs_order_at(const vs_sim *sim, int store, int64_t k)
{
	int64_t iv = sim->cfg->order_interval_ms / 1000;

	return (sim->cfg->epoch_s + k * iv
	    + (int64_t) (vs_unit(sim, VS_ECOMANAGER, (uint64_t) store, k, 11)
	        * (double) iv * 0.9));
}

int64_t
vs_order_count(const vs_sim *sim, int store, int64_t t)
{
	int64_t iv = sim->cfg->order_interval_ms / 1000, km;

	if (t < sim->cfg->epoch_s) {
		return (0);
	}
	km = (t - sim->cfg->epoch_s) / iv;
	return (km + (vs_order_at(sim, store, km) <= t ? 1 : 0));
}

void
vs_order_ref(int store, int64_t k, char *buf, size_t len)
{
	snprintf(buf, len, "EM-%d-%" PRId64, store, k + 1);
}

#define PICK(a, h) ((a)[(h) % (sizeof(a) / sizeof((a)[0]))])

void
vs_order_customer(
    const vs_sim *sim, int store, int64_t k, cJSON *o, bool maystro)
{
	uint64_t h = vs_mix(sim, VS_ECOMANAGER, (uint64_t) store, k, 12);
	char     name[64], phone[16];

	snprintf(name, sizeof(name), "%s %s", PICK(em_first, h),
	    PICK(em_last, h >> 8));
	snprintf(phone, sizeof(phone), "0%d%08u", 5 + (int) ((h >> 16) % 3),
	    (unsigned) ((h >> 20) % 100000000));
	if (maystro) {
		cJSON_AddStringToObject(o, "customer_name", name);
		cJSON_AddStringToObject(o, "customer_phone", phone);
		cJSON_AddStringToObject(
		    o, "wilaya", PICK(em_wilayas, h >> 40));
		cJSON_AddNumberToObject(
		    o, "wilaya_id", (double) ((h >> 40) % 10 + 1));
		return;
	}
	{
		cJSON *c = cJSON_AddObjectToObject(o, "customer");
		cJSON *s = cJSON_AddObjectToObject(o, "shipping");
		cJSON_AddStringToObject(c, "full_name", name);
		cJSON_AddStringToObject(c, "phone", phone);
		cJSON_AddStringToObject(
		    s, "wilaya", PICK(em_wilayas, h >> 40));
		cJSON_AddStringToObject(
		    s, "commune", PICK(em_wilayas, h >> 44));
		cJSON_AddStringToObject(
		    s, "address", "Cité des 100 logements");
	}
}

static void
em_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "message", msg);
	vs_reply_json(out, status, o);
}

static void
em_invalid(vs_resp *out, const char *field, const char *msg)
{
	cJSON *o = cJSON_CreateObject(), *e, *a;

	cJSON_AddStringToObject(o, "message", msg);
	e = cJSON_AddObjectToObject(o, "errors");
	a = cJSON_AddArrayToObject(e, field);
	cJSON_AddItemToArray(a, cJSON_CreateString(msg));
	vs_reply_json(out, 422, o);
}

static cJSON *
em_order(const vs_sim *sim, int store, int64_t k)
{
	cJSON   *o      = cJSON_CreateObject(), *items;
	uint64_t h      = vs_mix(sim, VS_ECOMANAGER, (uint64_t) store, k, 13);
	int64_t  at     = vs_order_at(sim, store, k);
	int      nitems = 1 + (int) (h % 3);
	double   total  = 0;
	char     s[40];

	cJSON_AddNumberToObject(
	    o, "id", (double) (store * 10000000LL + k + 1));
	vs_order_ref(store, k, s, sizeof(s));
	cJSON_AddStringToObject(o, "reference", s);
	cJSON_AddStringToObject(o, "status", "new");
	vs_order_customer(sim, store, k, o, false);
	items = cJSON_AddArrayToObject(o, "items");
	for (int i = 0; i < nitems; i++) {
		cJSON   *it    = cJSON_CreateObject();
		uint64_t hi    = vs_splitmix(h + (uint64_t) i);
		int      q     = 1 + (int) (hi % 3);
		double   price = (double) (900 + (hi >> 8) % 90 * 100);
		snprintf(s, sizeof(s), "SKU-%03d", (int) ((hi >> 4) % 6) + 1);
		cJSON_AddStringToObject(it, "sku", s);
		cJSON_AddStringToObject(
		    it, "name", PICK(em_products, hi >> 4));
		cJSON_AddNumberToObject(it, "quantity", q);
		cJSON_AddNumberToObject(it, "unit_price", price);
		total += q * price;
		cJSON_AddItemToArray(items, it);
	}
	cJSON_AddNumberToObject(
	    o, "delivery_price", (double) (400 + (h >> 32) % 6 * 100));
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddStringToObject(o, "created_at", vs_rfc3339(s, sizeof(s), at));
	cJSON_AddStringToObject(o, "updated_at", s);
	return (o);
}

static void
em_orders(vs_sim *sim, const vs_req *rq, vs_resp *out, int store)
{
	const char *pg   = rq->query(rq->conn, "page");
	const char *pp   = rq->query(rq->conn, "per_page");
	int64_t     page = 1, per = 15, total, last, from;
	cJSON      *o, *d, *links, *meta;
	char        link[512];
	int         n;

	if (pg != NULL && vs_int_parse(pg, 1, 1000000000, &page) != 0) {
		em_invalid(
		    out, "page", "The page must be an integer of at least 1.");
		return;
	}
	if (pp != NULL && vs_int_parse(pp, 1, 100, &per) != 0) {
		em_invalid(out, "per_page",
		    "The per page must be an integer between 1 and 100.");
		return;
	}
	total = vs_order_count(sim, store, rq->now);
	last  = total > 0 ? (total + per - 1) / per : 1;
	from  = (page - 1) * per;
	n = from < total ? (int) (total - from < per ? total - from : per) : 0;
	o = cJSON_CreateObject();
	d = cJSON_AddArrayToObject(o, "data");
	/* A partial page says it holds per_page but carries fewer. */
	for (int i = 0, m = vs_partial(rq, out, n); i < m; i++) {
		cJSON_AddItemToArray(d, em_order(sim, store, from + i));
	}
	links = cJSON_AddObjectToObject(o, "links");
	snprintf(link, sizeof(link), "%s/store-%d/api/shop/v2/orders?page=1",
	    rq->base, store);
	cJSON_AddStringToObject(links, "first", link);
	snprintf(link, sizeof(link),
	    "%s/store-%d/api/shop/v2/orders?page=%" PRId64, rq->base, store,
	    last);
	cJSON_AddStringToObject(links, "last", link);
	if (page > 1) {
		snprintf(link, sizeof(link),
		    "%s/store-%d/api/shop/v2/orders?page=%" PRId64, rq->base,
		    store, page - 1);
		cJSON_AddStringToObject(links, "prev", link);
	} else {
		cJSON_AddNullToObject(links, "prev");
	}
	if (page < last) {
		snprintf(link, sizeof(link),
		    "%s/store-%d/api/shop/v2/orders?page=%" PRId64, rq->base,
		    store, page + 1);
		cJSON_AddStringToObject(links, "next", link);
	} else {
		cJSON_AddNullToObject(links, "next");
	}
	meta = cJSON_AddObjectToObject(o, "meta");
	cJSON_AddNumberToObject(meta, "current_page", (double) page);
	if (n > 0) {
		cJSON_AddNumberToObject(meta, "from", (double) (from + 1));
		cJSON_AddNumberToObject(meta, "to", (double) (from + n));
	} else {
		cJSON_AddNullToObject(meta, "from");
		cJSON_AddNullToObject(meta, "to");
	}
	cJSON_AddNumberToObject(meta, "last_page", (double) last);
	cJSON_AddNumberToObject(meta, "per_page", (double) per);
	cJSON_AddNumberToObject(meta, "total", (double) total);
	vs_reply_json(out, 200, o);
}

static void
em_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char    caps[1][64];
	int64_t store;
	int     rv;

	if (!vs_match(rq->path, "/{}/api/shop/v2/orders", caps, 1)) {
		out->route = "(unrouted)";
		em_error(rq, out, 404, "Not Found");
		return;
	}
	out->route = "GET /{store}/api/shop/v2/orders";
	if (strcmp(rq->method, "GET") != 0) {
		em_error(rq, out, 405,
		    "The method is not supported for this route.");
		return;
	}
	if (strncmp(caps[0], "store-", 6) != 0
	    || vs_int_parse(caps[0] + 6, 1, sim->cfg->stores, &store) != 0) {
		em_error(rq, out, 404, "Not Found");
		return;
	}
	rv = vs_key_check(sim, rq, out, vs_auth_param(rq, "Bearer"),
	    sim->cfg->ecomanager_token);
	if (rv != VS_AUTH_OK) {
		em_error(rq, out, 401, "Unauthenticated.");
		return;
	}
	em_orders(sim, rq, out, (int) store);
}

const vs_vendor vs_ecomanager = {
	.name   = "ecomanager",
	.handle = em_handle,
	.error  = em_error,
};
