/*
 * shop.c - what the order-management adapters (ecomanager.c,
 * maystro.c) share: an order reference normalised the same way on both
 * sides, and one page's request (the key in its header, a partial page
 * asked for once more, then refused).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cf_err.h"
#include "cf_secret.h"
#include "shop.h"

int
shop_ref_normalise(char *buf, size_t len, const char *s)
{
	size_t a, b, n;

	if (s == NULL || len == 0) {
		return (-1);
	}
	for (a = 0; s[a] != '\0' && isspace((unsigned char) s[a]); a++) { }
	for (b = strlen(s); b > a && isspace((unsigned char) s[b - 1]); b--) {
	}
	n = b - a;
	if (n == 0 || n > SHOP_REF_MAX || n >= len) {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) s[a + i];
		buf[i]           = (char) (ch < 0x80 ? toupper(ch) : ch);
	}
	buf[n] = '\0';
	return (0);
}

int
shop_get_page(ingest_call *c, const shop_pager *p, int64_t page, int size,
    void *out, char *err, size_t errlen)
{
	const char *secret = ingest_cred(c, p->cred);
	char        url[2048], path[160], auth[1024] = "";
	const char *hdrs[] = { auth, "Accept: application/json", NULL };
	int         rv     = CF_OK;

	if (secret == NULL) {
		cf_errf(err, errlen, "%s: %s", c->vendor, p->no_cred);
		return (CF_EINVAL);
	}
	if (page < 1 || size < 1 || size > 100) {
		cf_errf(err, errlen, "%s: bad page %" PRId64 " or %s %d",
		    c->vendor, page, p->size_name, size);
		return (CF_EINVAL);
	}
	snprintf(path, sizeof(path), "%s?page=%" PRId64 "&%s=%d", p->path,
	    page, p->size_name, size);
	if (ingest_url(url, sizeof(url), c->base_url, path) != CF_OK
	    || snprintf(auth, sizeof(auth), "Authorization: %s %s", p->scheme,
	           secret)
	        >= (int) sizeof(auth)) {
		cf_secret_wipe_str(auth);
		cf_errf(err, errlen, "%s: base URL or %s too long", c->vendor,
		    p->secret_name);
		return (CF_EINVAL);
	}
	/* A partial page is asked for once more (the first try may have
	 * met a hiccup); twice partial, it is an error. */
	for (int attempt = 0; attempt < 2; attempt++) {
		cf_http_request rq
		    = { .method = "GET", .url = url, .headers = hdrs };
		cf_http_response rs;
		cJSON           *doc = NULL;
		char             why[512];

		rv = ingest_http_json(c, &rq, &rs, &doc, why, sizeof(why));
		if (rv != CF_OK) {
			/* The client's message names the path, not the query
			 * (which may carry a key): say which page it was. */
			size_t n = strlen(why);
			snprintf(why + n, sizeof(why) - n, " (page %" PRId64 ")",
			    page);
		}
		if (rv == CF_EPROTO && rs.status >= 400) {
			rv = p->refused(page, &rs, why, err, errlen);
		} else if (rv != CF_OK) {
			cf_errf(err, errlen, "%s", why);
		} else {
			rv = p->parse(doc, page, size, out, err, errlen);
		}
		cJSON_Delete(doc);
		cf_http_response_free(&rs);
		if (rv != CF_ERANGE) {
			break;
		}
		p->reset(out);
	}
	cf_secret_wipe_str(auth);
	if (rv == CF_ERANGE) {
		rv = CF_EPROTO;
	}
	if (rv != CF_OK) {
		p->reset(out);
	}
	return (rv);
}
