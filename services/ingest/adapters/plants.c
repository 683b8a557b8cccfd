/*
 * plants.c - the page walk of the plant adapters (solarman.c,
 * sungrow.c): page after page through the token dance, each page checked
 * against the count of plants the vendor promises, a short page asked
 * once more, every item handed to the vendor's own reader.
 */
#include <inttypes.h>

#include "cf_err.h"
#include "plants.h"

/* Pages asked at most (100 000 plants): a vendor whose total never
 * ends must not keep the job forever. */
#define PLANT_MAX_PAGES 1000

int
plant_walk(ingest_call *c, const plant_pager *p, plant_list *out, char *err,
    size_t errlen)
{
	cf_http_response rs  = { 0 };
	cJSON           *doc = NULL;
	const cJSON     *d, *list, *s;
	int64_t          page  = 1;
	int              again = 0, rv = CF_OK;

	memset(out, 0, sizeof(*out));
	for (; page <= PLANT_MAX_PAGES; page++) {
		int64_t total, from = (page - 1) * PLANT_PAGE_SIZE, n, want;

		rv = ingest_authed(c, p->login, p->send, p->auth_failed, &page,
		    &rs, &doc, err, errlen);
		if (rv != CF_OK) {
			break;
		}
		out->pages++;
		d     = p->data != NULL
		        ? cJSON_GetObjectItemCaseSensitive(doc, p->data)
		        : doc;
		total = ingest_json_int(d, p->total, -1);
		list  = cJSON_GetObjectItemCaseSensitive(d, p->list);
		if (total < 0 || (list != NULL && !cJSON_IsArray(list))) {
			cf_errf(err, errlen,
			    "%s: %s: the answer has no %s or no %s array",
			    c->vendor, p->what, p->total, p->list);
			rv = CF_EPROTO;
			break;
		}
		n    = cJSON_GetArraySize(list);
		want = ingest_page_expect(total, from, PLANT_PAGE_SIZE);
		if (n < want) {
			/* A page shorter than the total promises: ask once
			 * more before calling the list broken. */
			if (!again) {
				again = 1;
				out->short_pages++;
				page--;
				cJSON_Delete(doc);
				doc = NULL;
				cf_http_response_free(&rs);
				continue;
			}
			cf_errf(err, errlen,
			    "%s: page %" PRId64 " of the %s has %" PRId64
			    " %s where %s (%" PRId64 ") promises %" PRId64
			    ", twice (partial answer)",
			    c->vendor, page, p->list_name, n, p->items,
			    p->total_name, total, want);
			rv = CF_EPROTO;
			break;
		}
		again      = 0;
		out->total = total;
		cJSON_ArrayForEach(s, list)
		{
			if ((rv = p->item(s, out, err, errlen)) != CF_OK) {
				break;
			}
		}
		cJSON_Delete(doc);
		doc = NULL;
		cf_http_response_free(&rs);
		if (rv != CF_OK || n == 0 || from + n >= total) {
			break;
		}
	}
	if (rv == CF_OK && page > PLANT_MAX_PAGES) {
		cf_errf(err, errlen, "%s: more than %d pages of %s", c->vendor,
		    PLANT_MAX_PAGES, p->pages_of);
		rv = CF_ETOOBIG;
	}
	cJSON_Delete(doc);
	cf_http_response_free(&rs);
	return (rv);
}
