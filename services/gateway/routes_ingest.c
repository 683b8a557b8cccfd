/*
 * routes_ingest.c - /api/v1/ingest: what the ingest service syncs from
 * (organizations, energy sources, plant vendors, stores, agents) and
 * what it has synced (read-only views), over ingest's own commands
 * (services/ingest/manage.c, views.c; proto/COMMANDS.md, "Ingest"):
 *
 *   GET    /api/v1/ingest/<kind>         list (viewer); sources, vendors,
 *                                        stores, agents take ?org=
 *   POST   /api/v1/ingest/<kind>         create, or update by (org, name)
 *                                        or by "id" (admin)
 *   GET    /api/v1/ingest/<kind>/{id}    one (viewer)
 *   PUT    /api/v1/ingest/<kind>/{id}    partial update (admin)
 *   DELETE /api/v1/ingest/<kind>/{id}    (admin)
 *   GET    /api/v1/ingest/summary, measurements, plants, orders, carbon
 *
 * Credentials go in, never out: ingest seals them and shows only which
 * keys are set, and every answer passes through creds_mask here too, so
 * a service that forgot would still not leak one. The audit's detail
 * names the item, never a value of it.
 *
 * Also here: the seeds' job names as aliases of ours (gw_job_alias).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_proto.h"
#include "cf_time.h"
#include "gateway.h"

/* One kind of item: its path segment and the words of its commands. */
typedef struct ingest_kind {
	const char *path;   /* "sources" */
	const char *one;    /* "source": <one>-put, -get, -delete; audit */
	const char *list;   /* "sources": the list command */
	int         by_org; /* the list takes org= */
} ingest_kind;

static const ingest_kind kinds[] = {
	{ "organizations", "org", "orgs", 0 },
	{ "sources", "source", "sources", 1 },
	{ "vendors", "vendor", "vendors", 1 },
	{ "stores", "store", "stores", 1 },
	{ "agents", "agent", "agents", 1 },
};

#define INGEST_PREFIX "/api/v1/ingest/"

/* The kind of a path "/api/v1/ingest/<kind>[/...]", or NULL. */
static const ingest_kind *
kind_of(const char *path)
{
	size_t n = strlen(INGEST_PREFIX);

	if (strncmp(path, INGEST_PREFIX, n) != 0) {
		return (NULL);
	}
	path += n;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t k = strlen(kinds[i].path);
		if (strncmp(path, kinds[i].path, k) == 0
		    && (path[k] == '\0' || path[k] == '/')) {
			return (&kinds[i]);
		}
	}
	return (NULL);
}

/*
 * 1 if c is already ingest's summary: {"set":bool} with "keys" (an array
 * of names) and "error" (why they do not open) optional, nothing else.
 */
static int
creds_is_summary(const cJSON *c)
{
	const cJSON *m, *k;

	if (!cJSON_IsObject(c)
	    || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(c, "set"))) {
		return (0);
	}
	cJSON_ArrayForEach(m, c)
	{
		if (strcmp(m->string, "set") == 0
		    || (strcmp(m->string, "error") == 0
		        && cJSON_IsString(m))) {
			continue;
		}
		if (strcmp(m->string, "keys") != 0 || !cJSON_IsArray(m)) {
			return (0);
		}
		cJSON_ArrayForEach(k, m)
		{
			if (!cJSON_IsString(k)) {
				return (0);
			}
		}
	}
	return (1);
}

/*
 * Whatever a "credentials" member holds, it leaves as {"set":bool,
 * "keys":[names]}: names of keys, never a value.
 */
static void
creds_mask(cJSON *row)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "credentials");
	cJSON *m, *keys, *k;
	int    set;

	if (!cJSON_IsObject(row) || c == NULL || creds_is_summary(c)) {
		return;
	}
	m    = cJSON_CreateObject();
	keys = cJSON_CreateArray();
	if (cJSON_IsObject(c)) {
		cJSON_ArrayForEach(k, c)
		{
			if (k->string != NULL) {
				cJSON_AddItemToArray(
				    keys, cJSON_CreateString(k->string));
			}
		}
		set = cJSON_GetArraySize(keys) > 0;
	} else {
		set = !cJSON_IsNull(c) && !cJSON_IsFalse(c)
		    && !(cJSON_IsString(c) && c->valuestring[0] == '\0');
	}
	cJSON_AddBoolToObject(m, "set", set);
	cJSON_AddItemToObject(m, "keys", keys);
	cJSON_ReplaceItemInObjectCaseSensitive(row, "credentials", m);
}

/* creds_mask over a list (or one row). */
static void
creds_mask_all(cJSON *data)
{
	cJSON *r;

	if (cJSON_IsArray(data)) {
		cJSON_ArrayForEach(r, data) { creds_mask(r); }
	} else {
		creds_mask(data);
	}
}

/*
 * The kind of rq's path and, with_id, its {id} checked (the matcher
 * takes digits only); NULL when out has been answered (404, 400).
 */
static const ingest_kind *
route_kind(const gw_request *rq, int with_id, gw_reply *out)
{
	const ingest_kind *k = kind_of(rq->path);

	if (k == NULL) {
		gw_reply_error(out, 404, "no such route");
		return (NULL);
	}
	if (with_id
	    && (rq->param[0] == '\0'
	        || !cf_digits(rq->param, strlen(rq->param)))) {
		gw_reply_error(
		    out, 400, "invalid id: expected 1 to 18 digits");
		return (NULL);
	}
	return (k);
}

/* An "id" member (a number, or a string) as text in buf ("" if neither). */
static const char *
id_text(const cJSON *v, char *buf, size_t len)
{
	buf[0] = '\0';
	if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%.0f", v->valuedouble);
	} else if (cJSON_IsString(v)) {
		snprintf(buf, len, "%.20s", v->valuestring);
	}
	return (buf);
}

/* "<one>:<id>" as the audit's job, and what was done as its detail. */
static void
audit_item(gw_reply *out, const ingest_kind *k, const cJSON *row,
    const char *id, const char *done)
{
	const cJSON *v    = cJSON_GetObjectItemCaseSensitive(row, "id");
	const char  *name = cJSON_GetStringValue(
	     cJSON_GetObjectItemCaseSensitive(row, "name"));
	const char *org = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(row, "org"));
	char ids[32], safe[80], osafe[80];

	if (id_text(v, ids, sizeof(ids))[0] == '\0') {
		snprintf(ids, sizeof(ids), "%s", id != NULL ? id : "?");
	}
	snprintf(out->job, sizeof(out->job), "%s:%s", k->one, ids);
	snprintf(out->detail, sizeof(out->detail), "%s %s%s%s%s%s%s %s",
	    k->one, ids, name != NULL ? " '" : "",
	    name != NULL ? gw_echo_safe(safe, sizeof(safe), name) : "",
	    name != NULL ? "'" : "", org != NULL ? " of " : "",
	    org != NULL ? gw_echo_safe(osafe, sizeof(osafe), org) : "", done);
}

/* Sends "<cmd> [job] [arg]" to ingest; 0 with res->data, or the status. */
static int
ingest_call(gw_app *app, const char *cmd, const char *job, const char *arg,
    gw_result *res)
{
	const char *args[1] = { arg };

	return (gw_upstream_call_args(app->up, GW_INGEST, cmd, job, 0,
	    arg != NULL ? args : NULL, arg != NULL ? 1 : 0,
	    gw_now_ms() + app->cfg->timeout_ms, res));
}

/* Sends "<one>-<verb> [id] [arg]" for kind k, as ingest_call. */
static int
item_call(gw_app *app, const ingest_kind *k, const char *verb, const char *id,
    const char *arg, gw_result *res)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "%s-%s", k->one, verb);
	return (ingest_call(app, cmd, id, arg, res));
}

void
gw_route_ingest_list(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const ingest_kind *k   = route_kind(rq, 0, out);
	const char        *org = rq->query(rq->conn, "org");
	char               arg[CF_PROTO_MAX_ARG];
	gw_result          res;

	if (k == NULL) {
		return;
	}
	if (org != NULL && !k->by_org) {
		gw_reply_error(out, 400,
		    "query 'org': %s are not listed by "
		    "organization",
		    k->path);
		return;
	}
	if (org != NULL && strlen(org) > 200) {
		gw_reply_error(out, 400,
		    "query 'org': expected an organization's id or name");
		return;
	}
	if (org != NULL) {
		snprintf(arg, sizeof(arg), "org=%s", org);
	}
	if (ingest_call(app, k->list, NULL, org != NULL ? arg : NULL, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	creds_mask_all(res.data);
	gw_reply_data(out, res.data);
}

void
gw_route_ingest_get(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const ingest_kind *k = route_kind(rq, 1, out);
	gw_result          res;

	if (k == NULL) {
		return;
	}
	if (item_call(app, k, "get", rq->param, NULL, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	creds_mask(res.data);
	gw_reply_data(out, res.data);
}

/*
 * Sends <one>-put with item (the JSON the service takes, at most one
 * argument's 4096 bytes) and answers the stored row.
 */
static void
ingest_put(gw_app *app, const ingest_kind *k, const cJSON *item,
    const char *id, int existed, gw_reply *out)
{
	char     *text;
	size_t    len;
	gw_result res;

	if ((text = cJSON_PrintUnformatted(item)) == NULL) {
		gw_reply_error(out, 500, "out of memory");
		return;
	}
	len = strlen(text);
	if (len > CF_PROTO_MAX_ARG) {
		/* The text may hold credentials: it is not echoed. */
		free(text);
		gw_reply_error(out, 413,
		    "%s: request body over %d bytes (%zu as compact JSON): an "
		    "ingest item travels to the service as one argument of at "
		    "most %d bytes",
		    k->one, CF_PROTO_MAX_ARG, len, CF_PROTO_MAX_ARG);
		return;
	}
	if (item_call(app, k, "put", NULL, text, &res)) {
		free(text);
		gw_reply_result(out, &res);
		if (id != NULL) {
			snprintf(
			    out->job, sizeof(out->job), "%s:%s", k->one, id);
		}
		return;
	}
	/* The text held the plaintext credentials, if any. */
	memset(text, 0, len);
	free(text);
	creds_mask(res.data);
	{
		const cJSON *c
		    = cJSON_GetObjectItemCaseSensitive(res.data, "created");
		audit_item(out, k, res.data, id,
		    cJSON_IsBool(c) ? (cJSON_IsTrue(c) ? "created" : "updated")
		        : existed   ? "updated"
		                    : "saved");
	}
	gw_reply_data(out, res.data);
}

/* The body as an object to send on, or NULL with out answered. */
static const cJSON *
body_required(const gw_request *rq, const ingest_kind *k, gw_reply *out)
{
	if (rq->body == NULL || !cJSON_IsObject(rq->body)) {
		gw_reply_error(out, 400,
		    "request body required: a JSON object with the %s's "
		    "fields (see docs/api.md, \"Ingest\")",
		    k->one);
		return (NULL);
	}
	return (rq->body);
}

/* POST /api/v1/ingest/<kind>: create, or update by (org, name) or id. */
void
gw_route_ingest_create(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const ingest_kind *k = route_kind(rq, 0, out);
	const cJSON       *body;

	if (k == NULL || (body = body_required(rq, k, out)) == NULL) {
		return;
	}
	ingest_put(
	    app, k, body, NULL, cJSON_HasObjectItem(body, "id") ? 1 : 0, out);
}

/*
 * PUT /api/v1/ingest/<kind>/{id}: the fields given change, the others
 * stay as stored (credentials too: given, they replace the stored ones
 * whole; absent, the stored ones stay). The service's put by "id" is
 * such a partial update.
 */
void
gw_route_ingest_update(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const ingest_kind *k = route_kind(rq, 1, out);
	const cJSON       *body, *v;
	cJSON             *item, *c, *e;
	char               ids[32];

	if (k == NULL || (body = body_required(rq, k, out)) == NULL) {
		return;
	}
	snprintf(out->job, sizeof(out->job), "%s:%s", k->one, rq->param);
	v = cJSON_GetObjectItemCaseSensitive(body, "id");
	if (v != NULL) {
		if (strcmp(id_text(v, ids, sizeof(ids)), rq->param) != 0) {
			gw_reply_error(out, 400,
			    "invalid id: the path names %s %s, the body "
			    "another; leave \"id\" out of the body",
			    k->one, rq->param);
			return;
		}
	}
	if ((item = cJSON_Duplicate(body, 1)) == NULL) {
		gw_reply_error(out, 500, "out of memory");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(item, "id");
	cJSON_AddNumberToObject(item, "id", strtod(rq->param, NULL));
	ingest_put(app, k, item, rq->param, 1, out);
	/* The copy may hold credentials: wiped before it is freed. */
	c = cJSON_GetObjectItemCaseSensitive(item, "credentials");
	cJSON_ArrayForEach(e, c)
	{
		if (cJSON_IsString(e) && e->valuestring != NULL) {
			memset(e->valuestring, 0, strlen(e->valuestring));
		}
	}
	cJSON_Delete(item);
}

void
gw_route_ingest_delete(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const ingest_kind *k = route_kind(rq, 1, out);
	gw_result          res;

	if (k == NULL) {
		return;
	}
	snprintf(out->job, sizeof(out->job), "%s:%s", k->one, rq->param);
	if (item_call(app, k, "delete", rq->param, NULL, &res)) {
		gw_reply_result(out, &res);
		snprintf(
		    out->job, sizeof(out->job), "%s:%s", k->one, rq->param);
		return;
	}
	creds_mask_all(res.data);
	snprintf(out->detail, sizeof(out->detail), "%s %s deleted", k->one,
	    rq->param);
	gw_reply_data(out, res.data);
}

/*
 * POST /api/v1/ingest/reseal: after a key rotation, every sealed value
 * moved to the current key (docs/ingest.md, "Credentials and tokens").
 */
void
gw_route_ingest_reseal(gw_app *app, const gw_request *rq, gw_reply *out)
{
	gw_result    res;
	const cJSON *n;

	(void) rq;
	if (ingest_call(app, "reseal", NULL, NULL, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	n = cJSON_GetObjectItemCaseSensitive(res.data, "resealed");
	snprintf(out->detail, sizeof(out->detail), "%.0f value(s) resealed",
	    cJSON_IsNumber(n) ? n->valuedouble : 0);
	gw_reply_data(out, res.data);
}

/* ---- the data views --------------------------------------------------- */

/* Each view and the query arguments it passes on (as key=value). */
static const struct {
	const char *name;
	const char *keys[7];
} views[] = {
	{ "summary", { NULL } },
	{ "measurements",
	    { "source", "metric", "since", "until", "limit", "before",
	        NULL } },
	{ "plants", { "vendor", "org", "limit", "before", NULL } },
	{ "orders", { "store", "status", "limit", "before", NULL } },
	{ "carbon", { "region", "since", "until", "limit", "before", NULL } },
};

/*
 * GET /api/v1/ingest/<view>: ingest's "data <view> key=value...". A list
 * answers {"success":true,"data":[...],"page":{"limit","next_before"}}
 * (as the audit's); the summary its object.
 */
void
gw_route_ingest_view(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const char *name = rq->path + strlen(INGEST_PREFIX);
	char        argbuf[6][300];
	const char *args[6];
	size_t      nargs = 0, v;
	gw_result   res;
	cJSON      *o, *page, *items;

	for (v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		if (strcmp(views[v].name, name) == 0) {
			break;
		}
	}
	if (v == sizeof(views) / sizeof(views[0])) {
		gw_reply_error(out, 404, "no such route");
		return;
	}
	for (size_t i = 0; views[v].keys[i] != NULL && nargs < 6; i++) {
		const char *val = rq->query(rq->conn, views[v].keys[i]);
		if (val == NULL) {
			continue;
		}
		if (strlen(val) > 256) {
			gw_reply_error(out, 400,
			    "query '%s': longer than 256 bytes",
			    views[v].keys[i]);
			return;
		}
		snprintf(argbuf[nargs], sizeof(argbuf[nargs]), "%s=%s",
		    views[v].keys[i], val);
		args[nargs] = argbuf[nargs];
		nargs++;
	}
	if (gw_upstream_call_args(app->up, GW_INGEST, "data", views[v].name, 0,
	        args, nargs, gw_now_ms() + app->cfg->timeout_ms, &res)) {
		gw_reply_result(out, &res);
		return;
	}
	items = cJSON_DetachItemFromObjectCaseSensitive(res.data, "items");
	if (items == NULL) {
		gw_reply_data(out, res.data);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "success");
	cJSON_AddItemToObject(o, "data", items);
	page = cJSON_AddObjectToObject(o, "page");
	if (page != NULL) {
		cJSON *lim = cJSON_DetachItemFromObjectCaseSensitive(
		    res.data, "limit");
		cJSON *nb = cJSON_DetachItemFromObjectCaseSensitive(
		    res.data, "next_before");
		cJSON_AddItemToObject(
		    page, "limit", lim != NULL ? lim : cJSON_CreateNull());
		cJSON_AddItemToObject(
		    page, "next_before", nb != NULL ? nb : cJSON_CreateNull());
	}
	cJSON_Delete(res.data);
	gw_reply_json(out, 200, o);
}

/* ---- the seeds' job names --------------------------------------------- */

/*
 * The seeds call the sync jobs by other names (000: sync-energy,
 * sync-carbon; 004: sync-plants; 002: ecomanager, shipping). Each is
 * taken wherever REST names a job, and the answer and the audit say
 * ours.
 */
static const struct {
	const char *alias, *job;
} job_aliases[] = {
	{ "sync-energy", "energy-sync" },
	{ "sync-carbon", "carbon-sync" },
	{ "sync-plants", "plant-sync" },
	{ "ecomanager", "order-sync" },
	{ "shipping", "shipping-sync" },
};

const char *
gw_job_alias(const char *job)
{
	for (size_t i = 0; i < sizeof(job_aliases) / sizeof(job_aliases[0]);
	     i++) {
		if (strcmp(job, job_aliases[i].alias) == 0) {
			return (job_aliases[i].job);
		}
	}
	return (job);
}

/* POST /api/admin/jobs with {"jobName": <an alias>}: as with ours. */
void
gw_route_admin_trigger_alias(gw_app *app, const gw_request *rq, gw_reply *out)
{
	const cJSON *name
	    = cJSON_GetObjectItemCaseSensitive(rq->body, "jobName");
	gw_request r;
	cJSON     *body;

	if (!cJSON_IsString(name)
	    || gw_job_alias(name->valuestring) == name->valuestring) {
		gw_route_admin_trigger(app, rq, out);
		return;
	}
	if ((body = cJSON_Duplicate(rq->body, 1)) == NULL) {
		gw_reply_error(out, 500, "out of memory");
		return;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(body, "jobName",
	    cJSON_CreateString(gw_job_alias(name->valuestring)));
	r      = *rq;
	r.body = body;
	gw_route_admin_trigger(app, &r, out);
	cJSON_Delete(body);
}
