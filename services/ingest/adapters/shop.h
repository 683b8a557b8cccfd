/*
 * shop.h - the order-management family of adapters: EcoManager (a
 * store's orders, order-sync) and Maystro (the carrier's parcels,
 * shipping-sync).
 *
 * Neither vendor publishes its API: EcoManager gives its reference to
 * store owners, Maystro to merchants with their key. Both adapters follow
 * what the vendor simulator serves (tools/vendor-sim/ecomanager.c and
 * tools/vendor-sim/maystro.c, docs/vendor-sim.md), which follows the
 * seeds (002, the LibertaPhonix scheduler guide) and the conventions of
 * the frameworks the products run on (Laravel, Django REST Framework).
 *
 * The link between the two: an order's EcoManager "reference"
 * ("EM-<store>-<n>") is what the carrier carries as
 * "external_order_id". Both adapters hand it over as
 * shop_order.reference and shop_parcel.reference, normalised the same
 * way (shop_ref_normalise), and order-sync stores it in orders.reference.
 *
 * Pages: both adapters check each page against the counts it carries
 * (a "partial page": fewer items than the counts say). Such a page is
 * asked for once more (shop_get_page, shop.c); still partial, it is an
 * error (CF_EPROTO, "partial page" in err) and none of its items are
 * returned, so a caller never moves a cursor past orders it did not see.
 */
#ifndef INGEST_SHOP_H
#define INGEST_SHOP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "adapter.h"

/* The longest order reference kept (longer ones are refused). */
#define SHOP_REF_MAX 96

/*
 * Trims white space around s and upper-cases ASCII letters into buf
 * (shop.c). Returns 0, or -1 when s is NULL, empty or longer than
 * SHOP_REF_MAX.
 */
int shop_ref_normalise(char *buf, size_t len, const char *s);

/* ---- one page's request: shop.c ------------------------------------------
 *
 * How an adapter reads one page, for shop_get_page: the list's path and
 * the name of its page-size parameter; the credential holding the secret
 * (and the error when it is missing), the header's scheme
 * ("Authorization: <scheme> <secret>") and the secret's name for errors
 * ("token"); refused turns an HTTP error (>= 400; why is cf_http's line)
 * into err and a code; parse reads a 200's document into out, the
 * adapter's page (CF_ERANGE for a partial page, err saying so); reset
 * frees what parse left in out.
 */
typedef struct shop_pager {
	const char *path;        /* "/api/shop/v2/orders" */
	const char *size_name;   /* "per_page" */
	const char *cred;        /* "token": in c->creds */
	const char *no_cred;     /* "the store's credentials hold no ..." */
	const char *scheme;      /* "Bearer" */
	const char *secret_name; /* "token" */
	int (*refused)(int64_t page, const cf_http_response *rs,
	    const char *why, char *err, size_t errlen);
	int (*parse)(const cJSON *doc, int64_t page, int size, void *out,
	    char *err, size_t errlen);
	void (*reset)(void *out);
} shop_pager;

/*
 * GETs page (1-based) of size items (1-100) of the list under
 * c->base_url into out (zeroed by the caller), the secret in the header,
 * as p says. A partial page is asked for once more; partial again, it is
 * CF_EPROTO (its err kept). On any error p->reset(out) has run, so
 * nothing of the page is returned. A missing credential, a bad page or size, a
 * URL or header too long ("<vendor>: base URL or <secret_name> too long") are
 * CF_EINVAL.
 */
int shop_get_page(ingest_call *c, const shop_pager *p, int64_t page, int size,
    void *out, char *err, size_t errlen);

/* ---- EcoManager: adapters/ecomanager.c ---------------------------------- */

/* One order. */
typedef struct shop_order {
	int64_t id; /* EcoManager's order id: increases with time */
	char    reference[SHOP_REF_MAX + 1];
	/*
	 * The order as the columns of orders (101_ingest.sql) name them:
	 * {external_id, reference, vendor_status, customer_name,
	 * customer_phone, wilaya, commune, address, items (array), total,
	 * ordered_at (RFC 3339)}; owned by the page.
	 */
	cJSON *row;
} shop_order;

/* One page of a store's orders, oldest first. */
typedef struct shop_order_page {
	int64_t     page;      /* the page asked for (1-based) */
	int64_t     last_page; /* the API's last page (1 when empty) */
	int64_t     per_page;
	int64_t     total;  /* orders in the store */
	size_t      n;      /* orders on this page */
	shop_order *orders; /* ordered by id */
	cJSON      *doc;    /* holds the rows */
} shop_order_page;

/*
 * Fetches page (1-based) of the store at c->base_url (e.g.
 * "http://host/ecomanager/store-1") with per_page orders a page (1-100),
 * authenticated with the store's credentials {"token"} (c->creds).
 * Returns CF_OK with *out filled (free with shop_order_page_free), or:
 * CF_EINVAL (no token in the credentials), CF_EPROTO (refused: 401 token,
 * 404 unknown store, 422; a body that is not the documented shape; a
 * partial page twice), or cf_http's codes (timeouts, unreachable). err
 * starts with "ecomanager" and names the page, never the token.
 */
int ecomanager_orders_page(ingest_call *c, int64_t page, int per_page,
    shop_order_page *out, char *err, size_t errlen);

/* Frees what p holds and zeroes it (zeroed is fine). */
void shop_order_page_free(shop_order_page *p);

/* ---- Maystro: adapters/maystro.c ---------------------------------------- */

/* One parcel: an order as the carrier sees it. */
typedef struct shop_parcel {
	char        reference[SHOP_REF_MAX + 1]; /* our orders.reference */
	char        tracking[64]; /* the carrier's display id ("" if none) */
	char        vendor_status[64]; /* the carrier's text: "LIVRÉ" */
	const char *status;            /* ours ("DELIVERED"); NULL: unknown */
	int64_t     created_ms;        /* handed to the carrier; 0: unknown */
	int64_t     updated_ms;        /* entered its status; 0: unknown */
} shop_parcel;

/* One page of the carrier's parcels, newest first. */
typedef struct shop_parcel_page {
	int64_t      page;
	int64_t      count; /* parcels in the whole list */
	size_t       n;
	shop_parcel *parcels;
	size_t       skipped; /* items without a usable reference */
} shop_parcel_page;

/*
 * Our shipping status for the carrier's status text ("LIVRÉ" gives
 * "DELIVERED"), or NULL when the text is unknown (the caller keeps the
 * text and does not map it). Static strings.
 */
const char *maystro_status_map(const char *vendor_status);

/*
 * Fetches page (1-based) of the parcels with page_size a page (1-100)
 * from c->base_url (MAYSTRO_BASE_URL) with the key in c->creds
 * {"api_key"}. Returns CF_OK with *out filled (free with
 * shop_parcel_page_free), CF_ENOENT past the last page (404 "Invalid
 * page."), or the errors of ecomanager_orders_page (err starts with
 * "maystro").
 */
int maystro_parcels_page(ingest_call *c, int64_t page, int page_size,
    shop_parcel_page *out, char *err, size_t errlen);

/* Frees what p holds and zeroes it (zeroed is fine). */
void shop_parcel_page_free(shop_parcel_page *p);

#endif /* INGEST_SHOP_H */
