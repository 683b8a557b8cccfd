/*
 * plants.h - the solar plant adapters (plant-sync): Solarman
 * (solarman.c) and Sungrow iSolarCloud (sungrow.c).
 *
 * Each lists every plant of one vendor account, page after page, into a
 * plant_list of rows shaped like the plants table. Each logs in with the
 * account's credentials when its token is stale or refused (the token
 * dance of adapter.h); the job stores a changed token back. Neither
 * touches PostgreSQL (adapter.h).
 */
#ifndef INGEST_PLANTS_H
#define INGEST_PLANTS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
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

static inline void
plant_list_free(plant_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

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
