/*
 * maystro.c - Maystro Delivery, the carrier's paged list of a merchant's
 * parcels and their status (shipping-sync).
 *
 * Documentation: Maystro's store API is not public (its reference is
 * given to merchants with their key), so this adapter follows what the
 * vendor simulator serves, tools/vendor-sim/maystro.c
 * (docs/vendor-sim.md, "Maystro"), which follows the seeds (002:
 * MAYSTRO_BASE_URL and MAYSTRO_API_KEY, "LIVRÉ" mapped to DELIVERED, 10
 * pages at once, batches of 100) and the conventions of the Django REST
 * Framework back end the service runs on:
 *
 *	GET <MAYSTRO_BASE_URL>/api/stores/orders/?page=&page_size=
 *	Authorization: Token <MAYSTRO_API_KEY>
 *	200 {count, next, previous, results: [{id, display_id,
 *	     external_order_id, status, status_code, customer_name, ...,
 *	     created_at, updated_at}]}, newest first
 *	401 {"detail": "Invalid token."}, 404 {"detail": "Invalid page."}
 *
 * external_order_id is the EcoManager order's reference ("EM-<store>-<n>",
 * orders.reference): both are normalised by shop_ref_normalise so they
 * match whatever the case or surrounding blanks. status_code is the
 * simulator's own numbering, so the text is what is mapped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "shop.h"

/* The carrier's statuses and ours (orders.shipping_status). */
static const struct {
	const char *vendor;
	const char *ours;
} my_statuses[] = {
	{ "EN ATTENTE", "PENDING" },
	{ "EN PRÉPARATION", "PREPARING" },
	{ "EXPÉDIÉ", "SHIPPED" },
	{ "EN LIVRAISON", "OUT_FOR_DELIVERY" },
	{ "LIVRÉ", "DELIVERED" },
	{ "RETOURNÉ", "RETURNED" },
	{ "ANNULÉ", "CANCELLED" },
};

const char *
maystro_status_map(const char *vendor_status)
{
	if (vendor_status == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < sizeof(my_statuses) / sizeof(my_statuses[0]);
	     i++) {
		if (strcmp(vendor_status, my_statuses[i].vendor) == 0) {
			return (my_statuses[i].ours);
		}
	}
	return (NULL);
}

void
shop_parcel_page_free(shop_parcel_page *p)
{
	if (p != NULL) {
		free(p->parcels);
		memset(p, 0, sizeof(*p));
	}
}

/* Copies s into buf (len), cut at a UTF-8 character boundary. */
static void
my_copy(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80) {
			n--;
		}
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int64_t
my_time(const cJSON *it, const char *name)
{
	int64_t ms;

	return (ingest_time_parse(ingest_json_str(it, name), &ms) == CF_OK
	        ? ms
	        : 0);
}

/* One result item into p. Returns 0, or -1 when it has no reference. */
static int
my_parcel(const cJSON *it, shop_parcel *p)
{
	const char *st = ingest_json_str(it, "status");
	const char *d  = ingest_json_str(it, "display_id");

	if (!cJSON_IsObject(it)
	    || shop_ref_normalise(p->reference, sizeof(p->reference),
	           ingest_json_str(it, "external_order_id"))
	        != 0) {
		return (-1);
	}
	my_copy(
	    p->vendor_status, sizeof(p->vendor_status), st != NULL ? st : "");
	p->status = maystro_status_map(p->vendor_status);
	if (d != NULL && d[0] != '\0') {
		my_copy(p->tracking, sizeof(p->tracking), d);
	} else if (ingest_json_int(it, "id", 0) > 0) {
		snprintf(p->tracking, sizeof(p->tracking), "%" PRId64,
		    ingest_json_int(it, "id", 0));
	}
	p->created_ms = my_time(it, "created_at");
	p->updated_ms = my_time(it, "updated_at");
	return (0);
}

/* CF_OK, CF_EPROTO (not the shape) or CF_ERANGE (a partial page). */
static int
my_parse(const cJSON *doc, int64_t page, int size, void *page_out, char *err,
    size_t errlen)
{
	shop_parcel_page *out = page_out;
	const cJSON *res   = cJSON_GetObjectItemCaseSensitive(doc, "results");
	int64_t      count = ingest_json_int(doc, "count", -1), from, expect;
	size_t       n;
	const cJSON *it;

	if (!cJSON_IsArray(res) || count < 0) {
		cf_errf(err, errlen,
		    "maystro: page %" PRId64 ": unexpected answer (no results "
		    "array or count)",
		    page);
		return (CF_EPROTO);
	}
	n      = (size_t) cJSON_GetArraySize(res);
	from   = (page - 1) * size;
	expect = ingest_page_expect(count, from, size);
	if ((int64_t) n != expect) {
		cf_errf(err, errlen,
		    "maystro: page %" PRId64 ": partial page (%zu parcels "
		    "where count %" PRId64 " and page_size %d say %" PRId64
		    ")",
		    page, n, count, size, expect);
		return (CF_ERANGE);
	}
	out->page  = page;
	out->count = count;
	if (n > 0
	    && (out->parcels = calloc(n, sizeof(*out->parcels))) == NULL) {
		return (CF_ENOMEM);
	}
	cJSON_ArrayForEach(it, res)
	{
		if (my_parcel(it, &out->parcels[out->n]) == 0) {
			out->n++;
		} else {
			out->skipped++;
		}
	}
	return (CF_OK);
}

/* A refusal in words; a 404 past the first page is the list's end. */
static int
my_refused(int64_t page, const cf_http_response *rs, const char *why,
    char *err, size_t errlen)
{
	if (rs->status == 404 && page > 1) {
		cf_errf(err, errlen,
		    "maystro: page %" PRId64 ": past the last page", page);
		return (CF_ENOENT);
	}
	if (rs->status == 401) {
		cf_errf(err, errlen,
		    "maystro: page %" PRId64 ": the API key was "
		    "refused (HTTP 401: MAYSTRO_API_KEY wrong or "
		    "revoked)",
		    page);
	} else if (rs->status == 403) {
		cf_errf(err, errlen,
		    "maystro: page %" PRId64 ": the API key may not "
		    "list orders (HTTP 403)",
		    page);
	} else {
		cf_errf(err, errlen, "%s", why);
	}
	return (CF_EPROTO);
}

static void
my_reset(void *out)
{
	shop_parcel_page_free(out);
}

static const shop_pager my_pager = {
	.path        = "/api/stores/orders/",
	.size_name   = "page_size",
	.cred        = "api_key",
	.no_cred     = "no API key (MAYSTRO_API_KEY)",
	.scheme      = "Token",
	.secret_name = "key",
	.refused     = my_refused,
	.parse       = my_parse,
	.reset       = my_reset,
};

int
maystro_parcels_page(ingest_call *c, int64_t page, int page_size,
    shop_parcel_page *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return (
	    shop_get_page(c, &my_pager, page, page_size, out, err, errlen));
}
