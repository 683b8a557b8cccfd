/*
 * maystro.c - Maystro Delivery (an Algerian delivery company), the paged
 * shipping-status API of a store's orders, simulated.
 *
 * Documentation: Maystro's store API is not public (its reference is
 * given to merchants with their key). The shapes follow the seeds
 * (/work/shared/seeds, the LibertaPhonix scheduler guide:
 * MAYSTRO_API_KEY, MAYSTRO_BASE_URL, statuses such as "LIVRÉ" mapped to
 * DELIVERED, 10 pages fetched at once, batches of 100) and the
 * conventions of the Django REST Framework back end the service runs
 * on: `Authorization: Token <key>`, page-number pagination {count,
 * next, previous, results}, 401 {"detail": "Invalid token."}, 404
 * {"detail": "Invalid page."} past the last page.
 *
 * Routes (under /maystro):
 *	GET /api/stores/orders/?page=&page_size=
 * The store's parcels are the EcoManager orders of every store, handed
 * over an hour after they were placed, newest first. page_size is 1 to
 * 100 (default 50). A parcel's status moves with time through
 * "EN ATTENTE" (status_code 1), "EN PRÉPARATION" (2), "EXPÉDIÉ" (3),
 * "EN LIVRAISON" (4) to "LIVRÉ" (5), or ends "RETOURNÉ" (6) or
 * "ANNULÉ" (7); the codes are the simulator's. CRONFLEET_SIM_MAYSTRO_RENAME
 * (OLD=NEW) sends one of them under another text, as a carrier that
 * changes its words would. external_order_id is the EcoManager reference
 * ("EM-<store>-<n>").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char *const my_status[8] = { "", "EN ATTENTE", "EN PRÉPARATION",
	"EXPÉDIÉ", "EN LIVRAISON", "LIVRÉ", "RETOURNÉ", "ANNULÉ" };

static void
my_error(const vs_req *rq, vs_resp *out, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	(void) rq;
	cJSON_AddStringToObject(o, "detail", msg);
	vs_reply_json(out, status, o);
}

/* Parcels at t: each store's orders handed over by then, interleaved. */
static int64_t
my_count(const vs_sim *sim, int64_t t)
{
	int64_t m = -1;

	/*
	 * The shortest store's count times the stores: parcel j is order
	 * j / stores of store j % stores + 1, so the list is dense.
	 */
	for (int s = 1; s <= sim->cfg->stores; s++) {
		int64_t c = vs_order_count(sim, s, t - 3600);
		if (m < 0 || c < m) {
			m = c;
		}
	}
	return (m * sim->cfg->stores);
}

/*
 * The parcel's status at now and when it entered it: four stages of
 * per-parcel lengths, then an outcome.
 */
static int
my_state(const vs_sim *sim, int store, int64_t k, int64_t now, int64_t *since)
{
	uint64_t h = vs_mix(sim, VS_MAYSTRO, (uint64_t) store, k, 21);
	int64_t  t = vs_order_at(sim, store, k) + 3600;
	int64_t  d[4];
	int      outcome = (int) (h % 100);

	d[0] = 3600 + (int64_t) ((h >> 8) % (3 * 3600));
	d[1] = 2 * 3600 + (int64_t) ((h >> 16) % (6 * 3600));
	d[2] = 4 * 3600 + (int64_t) ((h >> 24) % (20 * 3600));
	d[3] = 4 * 3600 + (int64_t) ((h >> 32) % (20 * 3600));
	for (int st = 1; st <= 4; st++) {
		if (now < t + d[st - 1]) {
			*since = t;
			return (st);
		}
		t += d[st - 1];
		/* 8% are cancelled while being prepared. */
		if (st == 2 && outcome >= 92) {
			*since = t;
			return (7);
		}
	}
	*since = t;
	return (outcome < 80 ? 5 : 6);
}

/* The text of status st, as CRONFLEET_SIM_MAYSTRO_RENAME may have it. */
static const char *
my_status_text(const vs_sim *sim, int st)
{
	const char *r = sim->cfg->maystro_rename, *eq;
	size_t      n = strlen(my_status[st]);

	if (r == NULL || (eq = strchr(r, '=')) == NULL
	    || (size_t) (eq - r) != n || strncmp(r, my_status[st], n) != 0) {
		return (my_status[st]);
	}
	return (eq + 1);
}

static void
my_orders(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	const char *pg   = rq->query(rq->conn, "page");
	const char *ps   = rq->query(rq->conn, "page_size");
	int64_t     page = 1, size = 50, total = my_count(sim, rq->now), from;
	int64_t     S = sim->cfg->stores;
	cJSON      *o, *a;
	char        link[512], s[40];
	int         n;

	if (pg != NULL && vs_int_parse(pg, 1, 1000000000, &page) != 0) {
		my_error(rq, out, 404, "Invalid page.");
		return;
	}
	if (ps != NULL && vs_int_parse(ps, 1, 100, &size) != 0) {
		my_error(rq, out, 400, "page_size: expected 1 to 100.");
		return;
	}
	from = (page - 1) * size;
	if (from >= total && page > 1) {
		my_error(rq, out, 404, "Invalid page.");
		return;
	}
	n = (int) (total - from < size ? total - from : size);
	if (n < 0) {
		n = 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", (double) total);
	if (from + size < total) {
		snprintf(link, sizeof(link),
		    "%s/api/stores/orders/?page=%" PRId64
		    "&page_size=%" PRId64,
		    rq->base, page + 1, size);
		cJSON_AddStringToObject(o, "next", link);
	} else {
		cJSON_AddNullToObject(o, "next");
	}
	if (page > 1) {
		snprintf(link, sizeof(link),
		    "%s/api/stores/orders/?page=%" PRId64
		    "&page_size=%" PRId64,
		    rq->base, page - 1, size);
		cJSON_AddStringToObject(o, "previous", link);
	} else {
		cJSON_AddNullToObject(o, "previous");
	}
	a = cJSON_AddArrayToObject(o, "results");
	for (int i = 0, m = vs_partial(rq, out, n); i < m; i++) {
		int64_t j = total - 1 - (from + i), k = j / S, since;
		int     store = (int) (j % S) + 1;
		int     st    = my_state(sim, store, k, rq->now, &since);
		cJSON  *p     = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "id", (double) (7000000 + j));
		snprintf(s, sizeof(s), "MY%07" PRId64, j + 1);
		cJSON_AddStringToObject(p, "display_id", s);
		vs_order_ref(store, k, s, sizeof(s));
		cJSON_AddStringToObject(p, "external_order_id", s);
		cJSON_AddStringToObject(p, "status", my_status_text(sim, st));
		cJSON_AddNumberToObject(p, "status_code", st);
		vs_order_customer(sim, store, k, p, true);
		cJSON_AddStringToObject(p, "created_at",
		    vs_rfc3339(
		        s, sizeof(s), vs_order_at(sim, store, k) + 3600));
		cJSON_AddStringToObject(
		    p, "updated_at", vs_rfc3339(s, sizeof(s), since));
		cJSON_AddItemToArray(a, p);
	}
	vs_reply_json(out, 200, o);
}

static void
my_handle(vs_sim *sim, const vs_req *rq, vs_resp *out)
{
	char caps[1][64];
	int  rv;

	if (!vs_match(rq->path, "/api/stores/orders/", caps, 0)) {
		out->route = "(unrouted)";
		my_error(rq, out, 404, "Not found.");
		return;
	}
	out->route = "GET /api/stores/orders/";
	if (strcmp(rq->method, "GET") != 0) {
		my_error(rq, out, 405, "Method not allowed.");
		return;
	}
	rv = vs_key_check(sim, rq, out, vs_auth_param(rq, "Token"),
	    sim->cfg->maystro_api_key);
	if (rv != VS_AUTH_OK) {
		out->www_auth = "Token";
		my_error(rq, out, 401,
		    rv == VS_AUTH_MISSING
		        ? "Authentication credentials were not provided."
		        : "Invalid token.");
		return;
	}
	my_orders(sim, rq, out);
}

const vs_vendor vs_maystro = {
	.name   = "maystro",
	.handle = my_handle,
	.error  = my_error,
};
