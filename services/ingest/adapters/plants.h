/*
 * plants.h - the solar plant adapters (plant-sync): Solarman
 * (solarman.c) and Sungrow iSolarCloud (sungrow.c).
 *
 * Each lists every plant of one vendor account, page after page (the
 * walk they share is plants.c), into a plant_list of rows shaped like
 * the plants table. Each logs in with the
 * account's credentials when its token is stale or refused (the token
 * dance of adapter.h); the job stores a changed token back. Neither
 * touches PostgreSQL (adapter.h).
 */
#ifndef INGEST_PLANTS_H
#define INGEST_PLANTS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

/* Plants asked for per page (both vendors' largest). */
#define PLANT_PAGE_SIZE 100

/* One plant as the plants table holds it. A double that the vendor did
 * not give is NAN (NULL in SQL); a time 0 is NULL too. */
typedef struct plant_row {
	char    external_id[64];
	char   *name;
	double  latitude;
	double  longitude;
	char    timezone[64];
	double  capacity_kw;
	char    status[32];
	double  current_power_w;
	double  today_energy_kwh;
	double  total_energy_kwh;
	int64_t installed_ms;
	int64_t vendor_updated_ms;
} plant_row;

/* Every plant of an account. Owned: free with plant_list_free. */
typedef struct plant_list {
	plant_row *v;
	size_t     n, cap;
	int64_t    total;       /* what the vendor said it has */
	int        pages;       /* pages fetched */
	int        short_pages; /* pages that came short and were asked
	                           again (partial answers) */
} plant_list;

/* A new row at the end of l (zeroed, doubles NAN). NULL: no memory. */
static inline plant_row *
plant_list_add(plant_list *l)
{
	plant_row *r;

	if (l->n == l->cap) {
		size_t     cap = l->cap ? l->cap * 2 : 64;
		plant_row *v   = realloc(l->v, cap * sizeof(*v));

		if (v == NULL) {
			return (NULL);
		}
		l->v   = v;
		l->cap = cap;
	}
	r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->latitude = r->longitude = r->capacity_kw = NAN;
	r->current_power_w = r->today_energy_kwh = r->total_energy_kwh = NAN;
	return (r);
}

/* A new row (plant_list_add) for the vendor's plant id (a whole number,
 * its external_id) and name (copied). NULL: no memory. */
static inline plant_row *
plant_list_take(plant_list *l, double id, const char *name)
{
	plant_row *r = plant_list_add(l);

	if (r == NULL || (r->name = strdup(name)) == NULL) {
		return (NULL);
	}
	snprintf(r->external_id, sizeof(r->external_id), "%.0f", id);
	return (r);
}

static inline void
plant_list_free(plant_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- the page walk both adapters share: plants.c --------------------------
 *
 * How a vendor pages its plant list. A page is fetched through the
 * token dance (ingest_authed with login, send and auth_failed; send's
 * arg points to the page number, an int64_t from 1); its answer (or its
 * member `data`, when not NULL) holds the vendor's count of plants in
 * member `total` and the page's items in array `list`; item takes one
 * item into the list. The other names word the errors: "page 2 of the
 * <list_name> has 40 <items> where <total_name> (250) promises 100",
 * "more than 1000 pages of <pages_of>".
 */
typedef struct plant_pager {
	ingest_login_fn       login;
	ingest_send_fn        send;
	ingest_auth_failed_fn auth_failed;
	const char           *data;  /* NULL: the answer itself */
	const char           *total; /* "total" */
	const char           *list;  /* "stationList" */
	int (*item)(
	    const cJSON *item, plant_list *out, char *err, size_t errlen);
	const char *what;       /* "POST /station/v1.0/list" */
	const char *list_name;  /* "station list" */
	const char *items;      /* "stations" */
	const char *total_name; /* "the total" */
	const char *pages_of;   /* "stations" */
} plant_pager;

/*
 * Walks every page of c's plant list as p says into *out (zeroed first;
 * the caller's: plant_list_free, also on error), PLANT_PAGE_SIZE plants
 * a page, until a page is empty or the total is reached, at most 1000
 * pages. A page with fewer plants than the total promises is asked once
 * more (out->short_pages counts it); short again, the walk fails
 * (CF_EPROTO, "partial answer").
 */
int plant_walk(ingest_call *c, const plant_pager *p, plant_list *out,
    char *err, size_t errlen);

/*
 * Lists every plant of the account c into *out (the caller's:
 * plant_list_free, also on error). c->token is the account's token,
 * refreshed as needed (c->token->changed then says to store it). A page
 * that holds fewer plants than the total promises is asked once more;
 * when it comes short again the call fails (nothing is half-listed).
 */
typedef int (*plant_list_fn)(
    ingest_call *c, plant_list *out, char *err, size_t errlen);

int solarman_plants(ingest_call *c, plant_list *out, char *err, size_t errlen);
int sungrow_plants(ingest_call *c, plant_list *out, char *err, size_t errlen);

#endif /* INGEST_PLANTS_H */
