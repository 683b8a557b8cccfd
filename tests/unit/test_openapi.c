/*
 * test_openapi.c - services/gateway/openapi.json against the route table
 * the gateway serves (gw_routes_list), both ways: every served (method,
 * path, role) is documented with that method and role, and every
 * documented operation is served. Also the document's own soundness:
 * every $ref resolves, every operation has responses, an operationId of
 * its own, a role, a security that agrees with the role, and declares
 * its path parameters; and the gateway serves this very file at
 * /api/v1/openapi.json.
 *
 * The check is one function over a parsed document and a route list, so
 * the last cases feed it broken copies and see each flaw reported: a
 * check that cannot fail proves nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gateway.h"

#ifndef CF_OPENAPI_FILE
#error "CF_OPENAPI_FILE: the path of services/gateway/openapi.json"
#endif

#define MAX_ROUTES 256

/* The operations of a path item, as OpenAPI names them. */
static const char *const op_methods[]
    = { "get", "put", "post", "delete", "options", "head", "patch", "trace" };
#define NMETHODS (sizeof(op_methods) / sizeof(op_methods[0]))

static const char *const role_names[]
    = { "public", "viewer", "admin", "cron" };

/* What the cases share: the document and the served routes. */
typedef struct fixture {
	cJSON        *doc;
	char         *text;
	gw_route_info routes[MAX_ROUTES];
	size_t        nroutes;
} fixture;

/* Where a check's findings go: counted, and printed unless quiet. */
typedef struct findings {
	int n;
	int quiet;
} findings;

static void flaw(findings *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
flaw(findings *f, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	f->n++;
	if (f->quiet) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_message("openapi: %s\n", msg);
}

static char *
read_file(const char *path)
{
	FILE  *fp = fopen(path, "rb");
	char  *buf;
	long   len;
	size_t got;

	if (fp == NULL) {
		return (NULL);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0
	    || fseek(fp, 0, SEEK_SET) != 0
	    || (buf = malloc((size_t) len + 1)) == NULL) {
		fclose(fp);
		return (NULL);
	}
	got      = fread(buf, 1, (size_t) len, fp);
	buf[got] = '\0';
	fclose(fp);
	return (buf);
}

/*
 * A path template with every parameter's name taken out ("{job}" and
 * "{asset}" both become "{}"): the route table names its one slot
 * "{job}" whatever it holds, the document names it for readers.
 */
static void
path_shape(const char *in, char *out, size_t len)
{
	size_t k = 0;

	while (*in != '\0' && k + 1 < len) {
		out[k++] = *in;
		if (*in == '{') {
			while (*in != '\0' && *in != '}') {
				in++;
			}
			continue;
		}
		in++;
	}
	out[k] = '\0';
}

static int
same_shape(const char *a, const char *b)
{
	char x[256], y[256];

	path_shape(a, x, sizeof(x));
	path_shape(b, y, sizeof(y));
	return (strcmp(x, y) == 0);
}

static void
lower(const char *in, char *out, size_t len)
{
	size_t k;

	for (k = 0; in[k] != '\0' && k + 1 < len; k++) {
		out[k] = (char) tolower((unsigned char) in[k]);
	}
	out[k] = '\0';
}

/* The path item of doc whose template has the shape of path, or NULL. */
static const cJSON *
doc_path(const cJSON *doc, const char *path, const char **template)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "paths"))
	{
		if (same_shape(p->string, path)) {
			if (template != NULL) {
				*template = p->string;
			}
			return (p);
		}
	}
	return (NULL);
}

/*
 * Resolves a local reference ("#/components/schemas/Job") in doc, with
 * JSON Pointer's escapes (~1 for '/', ~0 for '~'). NULL if it does not
 * resolve or is not local (the document must stand alone: it is served
 * as one file).
 */
static const cJSON *
ref_resolve(const cJSON *doc, const char *ref)
{
	const cJSON *at = doc;
	const char  *s;

	if (strncmp(ref, "#/", 2) != 0) {
		return (NULL);
	}
	s = ref + 2;
	while (at != NULL) {
		char   tok[256];
		size_t k = 0;

		while (*s != '\0' && *s != '/' && k + 1 < sizeof(tok)) {
			if (s[0] == '~' && (s[1] == '0' || s[1] == '1')) {
				tok[k++] = s[1] == '0' ? '~' : '/';
				s += 2;
				continue;
			}
			tok[k++] = *s++;
		}
		tok[k] = '\0';
		if (cJSON_IsArray(at)) {
			char *end;
			long  i = strtol(tok, &end, 10);
			at      = *end == '\0' && end != tok
			         ? cJSON_GetArrayItem(at, (int) i)
			         : NULL;
		} else {
			at = cJSON_GetObjectItemCaseSensitive(at, tok);
		}
		if (*s == '\0') {
			return (at);
		}
		if (*s != '/') {
			return (NULL); /* a token longer than tok */
		}
		s++;
	}
	return (NULL);
}

/* The object itself, or what its "$ref" points at. */
static const cJSON *
deref(const cJSON *doc, const cJSON *o)
{
	const char *ref = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(o, "$ref"));

	return (ref != NULL ? ref_resolve(doc, ref) : o);
}

/* Every "$ref" anywhere under node resolves. */
static void
check_refs(const cJSON *doc, const cJSON *node, findings *f)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, node)
	{
		if (c->string != NULL && strcmp(c->string, "$ref") == 0) {
			if (!cJSON_IsString(c)) {
				flaw(f, "a $ref that is not a string");
			} else if (ref_resolve(doc, c->valuestring) == NULL) {
				flaw(f, "$ref %s does not resolve",
				    c->valuestring);
			}
		}
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			check_refs(doc, c, f);
		}
	}
}

/* The parameter named name "in" where, declared on the operation or its
 * path item (the operation's wins), or NULL. */
static const cJSON *
param_find(const cJSON *doc, const cJSON *item, const cJSON *op,
    const char *in, const char *name)
{
	const cJSON *lists[2]
	    = { cJSON_GetObjectItemCaseSensitive(op, "parameters"),
		      cJSON_GetObjectItemCaseSensitive(item, "parameters") };

	for (int i = 0; i < 2; i++) {
		const cJSON *p;
		cJSON_ArrayForEach(p, lists[i])
		{
			const cJSON *q = deref(doc, p);
			const char  *qin, *qname;
			if (q == NULL) {
				continue; /* reported by check_refs */
			}
			qin = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(q, "in"));
			qname = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(q, "name"));
			if (qin != NULL && qname != NULL
			    && strcmp(qin, in) == 0
			    && strcmp(qname, name) == 0) {
				return (q);
			}
		}
	}
	return (NULL);
}

/* 1 if template has the segment "{name}". */
static int
template_has(const char *template, const char *name)
{
	char slot[128];

	snprintf(slot, sizeof(slot), "{%s}", name);
	return (strstr(template, slot) != NULL);
}

/*
 * Each "{name}" of the template is declared (in: path, required: true)
 * and each declared path parameter is in the template.
 */
static void
check_path_params(const cJSON *doc, const char *template, const cJSON *item,
    const cJSON *op, const char *where, findings *f)
{
	const char  *s = template;
	const cJSON *lists[2]
	    = { cJSON_GetObjectItemCaseSensitive(op, "parameters"),
		      cJSON_GetObjectItemCaseSensitive(item, "parameters") };

	while ((s = strchr(s, '{')) != NULL) {
		char         name[128];
		size_t       n = strcspn(s + 1, "}");
		const cJSON *p;

		if (s[1 + n] != '}' || n == 0 || n >= sizeof(name)) {
			flaw(f, "%s: bad parameter slot in the path", where);
			return;
		}
		memcpy(name, s + 1, n);
		name[n] = '\0';
		p       = param_find(doc, item, op, "path", name);
		if (p == NULL) {
			flaw(f, "%s: path parameter '%s' is not declared",
			    where, name);
		} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		               p, "required"))) {
			flaw(f, "%s: path parameter '%s' is not required",
			    where, name);
		}
		s += n + 2;
	}
	for (int i = 0; i < 2; i++) {
		const cJSON *p;
		cJSON_ArrayForEach(p, lists[i])
		{
			const cJSON *q = deref(doc, p);
			const char  *in, *name;
			if (q == NULL) {
				continue;
			}
			in = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(q, "in"));
			name = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(q, "name"));
			if (in == NULL || name == NULL) {
				flaw(f, "%s: a parameter without in or name",
				    where);
			} else if (strcmp(in, "path") == 0
			    && !template_has(template, name)) {
				flaw(f,
				    "%s: path parameter '%s' is not in the "
				    "path",
				    where, name);
			}
		}
	}
}

/* Responses: at least one, each "default" or a status 100-599 with a
 * description. */
static void
check_responses(
    const cJSON *doc, const cJSON *op, const char *where, findings *f)
{
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(op, "responses");
	const cJSON *r;

	if (!cJSON_IsObject(rs) || rs->child == NULL) {
		flaw(f, "%s: no responses", where);
		return;
	}
	cJSON_ArrayForEach(r, rs)
	{
		const char  *k = r->string;
		const cJSON *d = deref(doc, r);
		int          code;

		if (strcmp(k, "default") != 0
		    && (strlen(k) != 3 || !isdigit((unsigned char) k[0])
		        || !isdigit((unsigned char) k[1])
		        || !isdigit((unsigned char) k[2])
		        || (code = atoi(k)) < 100 || code > 599)) {
			flaw(f, "%s: response key '%s' is not a status", where,
			    k);
		}
		if (d != NULL
		    && !cJSON_IsString(
		        cJSON_GetObjectItemCaseSensitive(d, "description"))) {
			flaw(
			    f, "%s: response %s has no description", where, k);
		}
	}
}

static int
has_response(const cJSON *op, const char *status)
{
	return (cJSON_HasObjectItem(
	    cJSON_GetObjectItemCaseSensitive(op, "responses"), status));
}

/*
 * The operation's role is one of ours, and its security agrees: public
 * needs none (an empty list, or one holding {} when a token is optional,
 * as /metrics with CRONFLEET_METRICS_AUTH), the others need a scheme the
 * document defines, document 401, and admin and cron also 403.
 */
static void
check_role(const cJSON *doc, const cJSON *op, const char *where, findings *f)
{
	const char *role = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(op, "x-cronfleet-role"));
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(op, "security");
	const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "components"),
	    "securitySchemes");
	const cJSON *req;
	int          known = 0, optional = 0;

	for (size_t i = 0; role != NULL && i < 4; i++) {
		known = known || strcmp(role, role_names[i]) == 0;
	}
	if (!known) {
		flaw(f,
		    "%s: x-cronfleet-role missing or not one of public, "
		    "viewer, admin, cron",
		    where);
		return;
	}
	if (!cJSON_IsArray(sec)) {
		flaw(f, "%s: no security list", where);
		return;
	}
	cJSON_ArrayForEach(req, sec)
	{
		const cJSON *s;
		if (!cJSON_IsObject(req)) {
			flaw(f,
			    "%s: a security requirement that is not an "
			    "object",
			    where);
			continue;
		}
		optional = optional || req->child == NULL;
		cJSON_ArrayForEach(s, req)
		{
			if (!cJSON_HasObjectItem(schemes, s->string)) {
				flaw(f,
				    "%s: security scheme '%s' is not "
				    "defined",
				    where, s->string);
			}
		}
	}
	if (strcmp(role, "public") == 0) {
		if (sec->child != NULL && !optional) {
			flaw(f, "%s: public, but security requires a token",
			    where);
		}
		return;
	}
	if (sec->child == NULL || optional) {
		flaw(f, "%s: role %s, but security does not require a token",
		    where, role);
	}
	if (!has_response(op, "401")) {
		flaw(f, "%s: role %s, but 401 is not documented", where, role);
	}
	if ((strcmp(role, "admin") == 0 || strcmp(role, "cron") == 0)
	    && !has_response(op, "403")) {
		flaw(f, "%s: role %s, but 403 is not documented", where, role);
	}
}

/* 1 if (method, path) is served; HEAD is wherever GET is. */
static int
served(
    const gw_route_info *r, size_t n, const char *method, const char *template)
{
	if (strcmp(method, "head") == 0) {
		method = "get";
	}
	for (size_t i = 0; i < n; i++) {
		char m[16];
		lower(r[i].method, m, sizeof(m));
		if (strcmp(m, method) == 0
		    && same_shape(r[i].path, template)) {
			return (1);
		}
	}
	return (0);
}

/*
 * Every check of doc against routes; returns how many flaws (each
 * printed unless quiet).
 */
static int
check_all(
    const cJSON *doc, const gw_route_info *routes, size_t nroutes, int quiet)
{
	findings     f = { 0, quiet };
	const cJSON *paths, *item;
	cJSON       *ids;
	const char  *v = cJSON_GetStringValue(
	     cJSON_GetObjectItemCaseSensitive(doc, "openapi"));

	if (v == NULL || strncmp(v, "3.0.", 4) != 0) {
		flaw(&f, "\"openapi\" is not 3.0.x");
	}
	paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	if (!cJSON_IsObject(paths) || paths->child == NULL) {
		flaw(&f, "no paths");
		return (f.n);
	}
	check_refs(doc, doc, &f);

	/* Served -> documented, with the same role. */
	for (size_t i = 0; i < nroutes; i++) {
		const gw_route_info *r = &routes[i];
		const cJSON         *op;
		const char *template, *role;
		char m[16];

		if (strcmp(r->method, "HEAD") == 0) {
			continue; /* implied by GET */
		}
		lower(r->method, m, sizeof(m));
		if ((item = doc_path(doc, r->path, &template)) == NULL) {
			flaw(&f, "served %s %s: path not documented",
			    r->method, r->path);
			continue;
		}
		if ((op = cJSON_GetObjectItemCaseSensitive(item, m)) == NULL) {
			flaw(&f, "served %s %s: method not documented",
			    r->method, r->path);
			continue;
		}
		role = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(op, "x-cronfleet-role"));
		if (role == NULL || strcmp(role, gw_role_name(r->role)) != 0) {
			flaw(&f, "%s %s: served as %s, documented as %s",
			    r->method, r->path, gw_role_name(r->role),
			    role != NULL ? role : "(none)");
		}
	}

	/* Documented -> served; and each operation sound. */
	ids = cJSON_CreateObject();
	cJSON_ArrayForEach(item, paths)
	{
		for (size_t k = 0; k < NMETHODS; k++) {
			const cJSON *op = cJSON_GetObjectItemCaseSensitive(
			    item, op_methods[k]);
			const char *id;
			char        where[256];

			if (op == NULL) {
				continue;
			}
			snprintf(where, sizeof(where), "%s %s", op_methods[k],
			    item->string);
			if (!served(routes, nroutes, op_methods[k],
			        item->string)) {
				flaw(&f, "%s: documented, not served", where);
			}
			id = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(
			        op, "operationId"));
			if (id == NULL) {
				flaw(&f, "%s: no operationId", where);
			} else if (cJSON_HasObjectItem(ids, id)) {
				flaw(&f, "%s: operationId %s used twice",
				    where, id);
			} else {
				cJSON_AddTrueToObject(ids, id);
			}
			check_responses(doc, op, where, &f);
			check_role(doc, op, where, &f);
			check_path_params(
			    doc, item->string, item, op, where, &f);
		}
	}
	cJSON_Delete(ids);
	return (f.n);
}

/* ---- fixture ------------------------------------------------------ */

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || (fx->text = read_file(CF_OPENAPI_FILE)) == NULL) {
		print_error("cannot read %s\n", CF_OPENAPI_FILE);
		free(fx);
		return (-1);
	}
	if ((fx->doc = cJSON_Parse(fx->text)) == NULL) {
		print_error("%s is not JSON (near byte %ld)\n",
		    CF_OPENAPI_FILE,
		    cJSON_GetErrorPtr() != NULL
		        ? (long) (cJSON_GetErrorPtr() - fx->text)
		        : -1L);
		free(fx->text);
		free(fx);
		return (-1);
	}
	fx->nroutes = gw_routes_list(fx->routes, MAX_ROUTES);
	*state      = fx;
	return (0);
}

static int
teardown(void **state)
{
	fixture *fx = *state;

	cJSON_Delete(fx->doc);
	free(fx->text);
	free(fx);
	return (0);
}

/* ---- cases -------------------------------------------------------- */

static void
routes_are_listed(void **state)
{
	fixture *fx = *state;

	/* The table has grown past two dozen; a short list means
	 * gw_routes_list lost some, a full one that MAX_ROUTES is small. */
	assert_true(fx->nroutes > 24);
	assert_true(fx->nroutes < MAX_ROUTES);
	for (size_t i = 0; i < fx->nroutes; i++) {
		const gw_route_info *r = &fx->routes[i];
		assert_non_null(r->method);
		assert_true(r->path[0] == '/');
		assert_true(
		    r->role >= GW_ROLE_PUBLIC && r->role <= GW_ROLE_CRON);
	}
}

static void
document_matches_routes(void **state)
{
	fixture *fx = *state;

	assert_int_equal(check_all(fx->doc, fx->routes, fx->nroutes, 0), 0);
}

static const char *
no_value(void *conn, const char *name)
{
	(void) conn;
	(void) name;
	return (NULL);
}

/* GET /api/v1/openapi.json answers this file (web.c embeds a copy). */
static void
served_document_is_this_file(void **state)
{
	fixture   *fx  = *state;
	gw_app     app = { 0 };
	gw_request rq  = { 0 };
	gw_reply   out;
	cJSON     *got;

	rq.path   = "/api/v1/openapi.json";
	rq.param  = "";
	rq.query  = no_value;
	rq.header = no_value;
	rq.actor  = "-";
	rq.remote = "127.0.0.1";
	memset(&out, 0, sizeof(out));
	gw_route_openapi(&app, &rq, &out);
	assert_int_equal(out.status, 200);
	assert_non_null(out.body);
	assert_true(out.content_type == NULL
	    || strncmp(out.content_type, "application/json", 16) == 0);
	got = out.body_len > 0 ? cJSON_ParseWithLength(out.body, out.body_len)
	                       : cJSON_Parse(out.body);
	assert_non_null(got);
	assert_true(cJSON_Compare(got, fx->doc, 1));
	cJSON_Delete(got);
	free(out.body);
}

/* ---- the check itself fails on flaws ------------------------------ */

static cJSON *
copy_doc(fixture *fx)
{
	cJSON *d = cJSON_Duplicate(fx->doc, 1);

	assert_non_null(d);
	return (d);
}

static cJSON *
op_of(cJSON *doc, const char *path, const char *method)
{
	cJSON *op = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(doc, "paths"), path),
	    method);

	assert_non_null(op);
	return (op);
}

static void
flags_undocumented_route(void **state)
{
	fixture *fx = *state;
	cJSON   *d  = copy_doc(fx);

	cJSON_DeleteItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(d, "paths"),
	    "/api/v1/jobs/{job}");
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);
}

static void
flags_unserved_operation(void **state)
{
	fixture       *fx = *state;
	gw_route_info *r  = calloc(MAX_ROUTES, sizeof(*r));
	size_t         n  = 0;

	/* The real document against the table less one route. */
	assert_non_null(r);
	for (size_t i = 0; i < fx->nroutes; i++) {
		if (strcmp(fx->routes[i].path, "/api/v1/jobs/{job}/pause")
		    != 0) {
			r[n++] = fx->routes[i];
		}
	}
	assert_int_equal(n + 1, fx->nroutes);
	assert_true(check_all(fx->doc, r, n, 1) > 0);
	/* And the whole table plus a route the document lacks. */
	assert_true(fx->nroutes + 1 < MAX_ROUTES);
	memcpy(r, fx->routes, fx->nroutes * sizeof(*r));
	r[fx->nroutes].method = "DELETE";
	snprintf(r[fx->nroutes].path, sizeof(r[fx->nroutes].path),
	    "/api/v1/jobs/{job}");
	r[fx->nroutes].role = GW_ROLE_ADMIN;
	assert_true(check_all(fx->doc, r, fx->nroutes + 1, 1) > 0);
	free(r);
}

static void
flags_wrong_role(void **state)
{
	fixture *fx = *state;
	cJSON   *d  = copy_doc(fx);

	cJSON_ReplaceItemInObjectCaseSensitive(
	    op_of(d, "/api/v1/jobs/{job}/pause", "post"), "x-cronfleet-role",
	    cJSON_CreateString("viewer"));
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);

	/* A public operation that asks for a token. */
	d = copy_doc(fx);
	cJSON_ReplaceItemInObjectCaseSensitive(op_of(d, "/healthz", "get"),
	    "security", cJSON_Parse("[{\"bearer\":[]}]"));
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);
}

static void
flags_dangling_ref(void **state)
{
	fixture *fx = *state;
	cJSON   *d  = copy_doc(fx);

	cJSON_DeleteItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(d, "components"), "schemas"),
	    "Run");
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);
}

static void
flags_undeclared_path_param(void **state)
{
	fixture *fx = *state;
	cJSON   *d  = copy_doc(fx);

	cJSON_DeleteItemFromObjectCaseSensitive(
	    op_of(d, "/api/v1/jobs/{job}", "get"), "parameters");
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);
}

static void
flags_missing_responses(void **state)
{
	fixture *fx = *state;
	cJSON   *d  = copy_doc(fx);

	cJSON_ReplaceItemInObjectCaseSensitive(
	    op_of(d, "/readyz", "get"), "responses", cJSON_CreateObject());
	assert_true(check_all(d, fx->routes, fx->nroutes, 1) > 0);
	cJSON_Delete(d);
}

static void
resolves_pointer_escapes(void **state)
{
	fixture *fx = *state;

	assert_non_null(ref_resolve(fx->doc, "#/paths/~1healthz/get"));
	assert_non_null(ref_resolve(fx->doc, "#/components/schemas/Job"));
	assert_null(ref_resolve(fx->doc, "#/components/schemas/Nope"));
	assert_null(ref_resolve(fx->doc, "other.json#/components"));
	assert_true(
	    same_shape("/admin/scheduler/{asset}", "/admin/scheduler/{job}"));
	assert_false(same_shape("/api/v1/jobs/{job}", "/api/v1/jobs"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(routes_are_listed),
		cmocka_unit_test(document_matches_routes),
		cmocka_unit_test(served_document_is_this_file),
		cmocka_unit_test(flags_undocumented_route),
		cmocka_unit_test(flags_unserved_operation),
		cmocka_unit_test(flags_wrong_role),
		cmocka_unit_test(flags_dangling_ref),
		cmocka_unit_test(flags_undeclared_path_param),
		cmocka_unit_test(flags_missing_responses),
		cmocka_unit_test(resolves_pointer_escapes),
	};
	return (cmocka_run_group_tests(tests, setup, teardown));
}
