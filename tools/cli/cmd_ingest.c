/*
 * cmd_ingest.c - what the ingest service syncs from, and what it has
 * synced, over the gateway's /api/v1/ingest routes (docs/api.md,
 * "Ingest"):
 *
 *   cronfleet orgs|sources|vendors|stores|agents [list] [--org O]
 *   cronfleet <kind> show <id>
 *   cronfleet <kind> add '<json>'          create, or update by (org, name)
 *   cronfleet <kind> set <id> '<json>'     change the fields given
 *   cronfleet <kind> rm <id>
 *   cronfleet ingest summary|measurements|plants|orders|carbon [--key V]
 *   cronfleet apply <file.json>            a declarative file, idempotent
 *
 * apply reads {"organizations":[...],"sources":[...],"vendors":[...],
 * "stores":[...],"agents":[...]} and makes the gateway hold the same:
 * each item is found by (org, name) in the current lists; a missing one
 * is created, one whose declared fields differ is updated (PUT with the
 * declared fields only), an equal one is left alone, so applying the same
 * file twice sends nothing the second time. Credentials are never shown
 * back, so they are compared by their key names only: changing a secret's
 * value is `cronfleet <kind> set <id> '{"credentials":{...}}'`. Nothing is
 * deleted by apply. One line per item: created, updated, unchanged or
 * failed (and why); the exit status is 1 when any failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_time.h"
#include "cli.h"
#include "cli_http.h"

#define ING_MAX_POS 3
#define ING_MAX_OPTS 8
#define APPLY_MAX_FILE (4 * 1024 * 1024)

/* A table's columns: the JSON members shown and their headers. */
typedef struct ing_cols {
	size_t      n;
	const char *cols[11];
	const char *hdrs[11];
	int         cut_last; /* the last column (an error) cut at 60 */
} ing_cols;

static const ing_cols org_cols
    = { 4, { "id", "name", "created_at", "updated_at" },
	      { "ID", "NAME", "CREATED", "UPDATED" }, 0 };
static const ing_cols source_cols = { 11,
	{ "id", "org", "name", "vendor", "site_id", "grid_region", "active",
	    "credentials", "cursor_at", "last_sync_at", "last_error" },
	{ "ID", "ORG", "NAME", "VENDOR", "SITE", "REGION", "ACTIVE",
	    "CREDENTIALS", "CURSOR", "LAST SYNC", "LAST ERROR" },
	1 };
static const ing_cols vendor_cols = { 9,
	{ "id", "org", "name", "kind", "base_url", "active", "credentials",
	    "last_sync_at", "last_error" },
	{ "ID", "ORG", "NAME", "KIND", "BASE URL", "ACTIVE", "CREDENTIALS",
	    "LAST SYNC", "LAST ERROR" },
	1 };
static const ing_cols store_cols  = { 9,
	 { "id", "org", "name", "base_url", "active", "credentials",
	     "last_order_id", "last_sync_at", "last_error" },
	 { "ID", "ORG", "NAME", "BASE URL", "ACTIVE", "CREDENTIALS",
	     "LAST ORDER", "LAST SYNC", "LAST ERROR" },
	 1 };
static const ing_cols agent_cols  = { 8,
	 { "id", "org", "name", "email", "available", "active",
	     "assigned_total", "last_assigned_at" },
	 { "ID", "ORG", "NAME", "EMAIL", "AVAILABLE", "ACTIVE", "ASSIGNED",
	     "LAST ASSIGNED" },
	 0 };

/* A kind of item, as the CLI, the REST path and apply's file name it. */
typedef struct ing_kind {
	const char     *cmd;  /* "sources" */
	const char     *path; /* "/api/v1/ingest/sources" */
	const char     *one;  /* "source" */
	int             has_org;
	const ing_cols *cols; /* its table */
} ing_kind;

static const ing_kind kinds[] = {
	{ "orgs", "/api/v1/ingest/organizations", "org", 0, &org_cols },
	{ "sources", "/api/v1/ingest/sources", "source", 1, &source_cols },
	{ "vendors", "/api/v1/ingest/vendors", "vendor", 1, &vendor_cols },
	{ "stores", "/api/v1/ingest/stores", "store", 1, &store_cols },
	{ "agents", "/api/v1/ingest/agents", "agent", 1, &agent_cols },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* apply's file: the key of each kind, in the order they are applied
 * (organizations first: the others name them). */
static const char *const file_keys[NKINDS]
    = { "organizations", "sources", "vendors", "stores", "agents" };

/* What a command was given. */
typedef struct ing_args {
	int         json;
	const char *pos[ING_MAX_POS];
	size_t      npos;
	const char *opt[ING_MAX_OPTS]; /* "--org" ... */
	const char *val[ING_MAX_OPTS];
	size_t      nopts;
} ing_args;

/*
 * Splits argv[1..) into positionals, --json and the options of allowed
 * (a space list of "--name", each taking a value).
 */
static int
ing_parse(
    int argc, char **argv, const char *allowed, const char *usage, ing_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *p;
		size_t      n;
		int         found = 0;

		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
			if (strcmp(arg, "--") == 0) {
				continue;
			}
			if (a->npos == ING_MAX_POS) {
				return (cli_usage_error(
				    "usage: cronfleet %s", usage));
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		eq = strchr(arg, '=');
		n  = eq != NULL ? (size_t) (eq - arg) : strlen(arg);
		for (p = allowed; *p != '\0' && !found;) {
			size_t k = strcspn(p, " ");
			if (k == n && strncmp(p, arg, n) == 0) {
				found = 1;
				break;
			}
			p += k;
			p += strspn(p, " ");
		}
		if (!found) {
			return (cli_usage_error(
			    "unknown option '%.*s' (usage: cronfleet %s)",
			    (int) (n < 40 ? n : 40), arg, usage));
		}
		if (a->nopts == ING_MAX_OPTS) {
			return (cli_usage_error("too many options"));
		}
		if (eq == NULL && i + 1 >= argc) {
			return (cli_usage_error(
			    "%.*s needs a value", (int) n, arg));
		}
		a->opt[a->nopts] = p;
		a->val[a->nopts] = eq != NULL ? eq + 1 : argv[++i];
		a->nopts++;
	}
	return (CLI_OK);
}

/* The value of --name, or NULL (the last one given wins). */
static const char *
ing_opt(const ing_args *a, const char *name)
{
	const char *v = NULL;
	size_t      n = strlen(name);

	for (size_t i = 0; i < a->nopts; i++) {
		if (strncmp(a->opt[i], name, n) == 0
		    && (a->opt[i][n] == ' ' || a->opt[i][n] == '\0')) {
			v = a->val[i];
		}
	}
	return (v);
}

static const char *
str(const cJSON *o, const char *name)
{
	return (
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name)));
}

static int
oom(void)
{
	fputs("cronfleet: out of memory\n", stderr);
	return (CLI_FAIL);
}

/* 1 if s is an id: 1 to 18 digits. */
static int
is_id(const char *s)
{
	return (cf_digits(s, strlen(s)));
}

/* Appends word to the list in buf (*used bytes so far), after sep when
 * the list is not empty. Returns 0, or -1 when it does not fit. */
static int
list_add(
    char *buf, size_t len, size_t *used, const char *sep, const char *word)
{
	int n = snprintf(
	    buf + *used, len - *used, "%s%s", *used ? sep : "", word);

	if (n < 0 || (size_t) n >= len - *used) {
		return (-1);
	}
	*used += (size_t) n;
	return (0);
}

/* The credential keys of a row ("api_key,site_token"), "-" when none. */
static const char *
creds_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "credentials");
	const cJSON *k;
	size_t       used = 0;

	if (c == NULL) {
		return (NULL);
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "set"))) {
		return ("none");
	}
	if (str(c, "error") != NULL) {
		return ("(do not open)");
	}
	buf[0] = '\0';
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(c, "keys"))
	{
		if (cJSON_IsString(k)
		    && list_add(buf, len, &used, ",", k->valuestring) != 0) {
			break;
		}
	}
	return (used > 0 ? buf : "set");
}

/* ---- tables ------------------------------------------------------------- */

/* A cell of row r: credentials as creds_cell shows them, the rest as
 * cli_cell (strings as they are, numbers and booleans as text). */
static const char *
ing_cell(const cJSON *r, const char *col, char *buf, size_t len)
{
	return (strcmp(col, "credentials") == 0 ? creds_cell(r, buf, len)
	                                        : cli_cell(r, col, buf, len));
}

static cli_table *
table_new(const ing_cols *c)
{
	cli_table *t = cli_table_new(c->n, c->hdrs);

	if (c->cut_last) {
		cli_table_limit(t, c->n - 1, 60);
	}
	return (t);
}

static void
table_row(cli_table *t, const ing_cols *c, const cJSON *r)
{
	char        buf[11][256];
	const char *cells[11];

	for (size_t i = 0; i < c->n; i++) {
		cells[i] = ing_cell(r, c->cols[i], buf[i], sizeof(buf[i]));
	}
	cli_table_row(t, cells);
}

/* The rows of an array as a table on stdout. */
static void
rows_print(const cJSON *rows, const ing_cols *c)
{
	cli_table   *t = table_new(c);
	const cJSON *r;

	cJSON_ArrayForEach(r, rows) { table_row(t, c, r); }
	cli_table_print(t, stdout);
}

/* ---- list, show, add, set, rm --------------------------------------------
 */

static int
item_path(cli_buf *b, const ing_kind *k, const char *id)
{
	if (cli_buf_add(b, k->path, strlen(k->path)) != 0
	    || (id != NULL
	        && (cli_buf_add(b, "/", 1) != 0
	            || cli_buf_add(b, id, strlen(id)) != 0))) {
		return (-1);
	}
	return (0);
}

static int
kind_list(const cli_gateway *gw, const ing_kind *k, const ing_args *a)
{
	cli_buf    path = { 0 };
	cli_answer ans;
	int        rv;

	if (ing_opt(a, "--org") != NULL && !k->has_org) {
		return (cli_usage_error("%s: --org: organizations are not "
		                        "listed by organization",
		    k->cmd));
	}
	if (item_path(&path, k, NULL) != 0
	    || cli_query_add(&path, "org", ing_opt(a, "--org")) != 0) {
		cli_buf_fini(&path);
		return (oom());
	}
	rv = cli_request(gw, "GET", path.p, NULL, &ans);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK) {
		rows_print(ans.data, k->cols);
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* An item's JSON from the command line, or NULL after a usage line. */
static cJSON *
item_body(const ing_kind *k, const char *text)
{
	const char *end = NULL;
	cJSON      *o   = cJSON_ParseWithOpts(text, &end, 1);

	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		cli_usage_error("%s: '<json>' is not a JSON object%s", k->cmd,
		    end != NULL && end > text
		        ? " (see the byte after its last valid part)"
		        : "");
		return (NULL);
	}
	return (o);
}

/* show, add, set, rm: one request whose answer is one item. */
static int
kind_one(const cli_gateway *gw, const ing_kind *k, const ing_args *a,
    const char *method, const char *id, const char *json, const char *done)
{
	cli_buf    path = { 0 };
	cli_answer ans;
	cJSON     *body = NULL;
	cli_table *t;
	int        rv;

	if (id != NULL && !is_id(id)) {
		return (cli_usage_error(
		    "%s: '%.40s' is not an id (digits)", k->cmd, id));
	}
	if (json != NULL && (body = item_body(k, json)) == NULL) {
		return (CLI_USAGE);
	}
	if (item_path(&path, k, id) != 0) {
		cJSON_Delete(body);
		cli_buf_fini(&path);
		return (oom());
	}
	rv = cli_request(gw, method, path.p, body, &ans);
	cJSON_Delete(body);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a->json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK && strcmp(method, "DELETE") == 0) {
		printf("deleted %s %s\n", k->one, id);
	} else if (rv == CLI_OK) {
		char         num[32];
		const cJSON *c
		    = cJSON_GetObjectItemCaseSensitive(ans.data, "created");
		if (done != NULL) {
			printf("%s %s %s\n",
			    cJSON_IsBool(c)
			        ? (cJSON_IsTrue(c) ? "created" : "updated")
			        : done,
			    k->one,
			    cli_cell(ans.data, "id", num, sizeof(num)));
		}
		t = table_new(k->cols);
		table_row(t, k->cols, ans.data);
		cli_table_print(t, stdout);
	}
	cli_answer_fini(&ans);
	return (rv);
}

static int
run_kind(int argc, char **argv, const ing_kind *k)
{
	char        usage[256];
	const char *verb;
	cli_gateway gw;
	ing_args    a;
	int         rv;

	snprintf(usage, sizeof(usage),
	    "%s [list%s] | show <id> | add '<json>' | set <id> '<json>' | "
	    "rm <id>  [--json]",
	    k->cmd, k->has_org ? " [--org O]" : "");
	if ((rv = ing_parse(argc, argv, "--org", usage, &a)) != CLI_OK) {
		return (rv);
	}
	verb = a.npos > 0 ? a.pos[0] : "list";
	if ((strcmp(verb, "list") == 0 && a.npos > 1)
	    || ((strcmp(verb, "show") == 0 || strcmp(verb, "rm") == 0
	            || strcmp(verb, "add") == 0)
	        && a.npos != 2)
	    || (strcmp(verb, "set") == 0 && a.npos != 3)
	    || (strcmp(verb, "list") != 0 && ing_opt(&a, "--org") != NULL)) {
		return (cli_usage_error("usage: cronfleet %s", usage));
	}
	if ((rv = cli_gateway_init(&gw)) != CLI_OK) {
		return (rv);
	}
	if (strcmp(verb, "list") == 0) {
		return (kind_list(&gw, k, &a));
	}
	if (strcmp(verb, "show") == 0) {
		return (kind_one(&gw, k, &a, "GET", a.pos[1], NULL, NULL));
	}
	if (strcmp(verb, "add") == 0) {
		return (kind_one(&gw, k, &a, "POST", NULL, a.pos[1], "saved"));
	}
	if (strcmp(verb, "set") == 0) {
		return (kind_one(
		    &gw, k, &a, "PUT", a.pos[1], a.pos[2], "updated"));
	}
	if (strcmp(verb, "rm") == 0) {
		return (kind_one(&gw, k, &a, "DELETE", a.pos[1], NULL, NULL));
	}
	return (
	    cli_usage_error("%s: unknown action '%.40s' (usage: cronfleet %s)",
	        k->cmd, verb, usage));
}

/* ---- ingest summary and the data views ------------------------------------
 */

/* The summary's lists, each a table when it has rows. */
static const struct {
	const char *key;
	ing_cols    cols;
} summary_lists[] = {
	{ "sources",
	    { 10,
	        { "id", "org", "name", "vendor", "active", "measurements",
	            "newest_measurement", "cursor_at", "last_sync_at",
	            "last_error" },
	        { "SOURCE", "ORG", "NAME", "VENDOR", "ACTIVE", "ROWS",
	            "NEWEST", "CURSOR", "LAST SYNC", "LAST ERROR" },
	        1 } },
	{ "vendors",
	    { 8,
	        { "id", "org", "name", "kind", "active", "plants",
	            "last_sync_at", "last_error" },
	        { "VENDOR", "ORG", "NAME", "KIND", "ACTIVE", "PLANTS",
	            "LAST SYNC", "LAST ERROR" },
	        1 } },
	{ "stores",
	    { 9,
	        { "id", "org", "name", "active", "last_order_id", "orders",
	            "open_orders", "last_sync_at", "last_error" },
	        { "STORE", "ORG", "NAME", "ACTIVE", "LAST ORDER", "ORDERS",
	            "OPEN", "LAST SYNC", "LAST ERROR" },
	        1 } },
	{ "carbon",
	    { 5,
	        { "region", "points", "newest_point", "provider",
	            "fetched_at" },
	        { "REGION", "POINTS", "NEWEST", "PROVIDER", "FETCHED" }, 0 } },
};

static void
summary_print(const cJSON *d)
{
	const cJSON *c     = cJSON_GetObjectItemCaseSensitive(d, "counts"), *m;
	int          first = 1;

	fputs("rows     ", stdout);
	cJSON_ArrayForEach(m, c)
	{
		if (cJSON_IsNumber(m)) {
			printf("%s%s %.0f", first ? " " : ", ", m->string,
			    m->valuedouble);
			first = 0;
		}
	}
	putchar('\n');
	for (size_t i = 0;
	     i < sizeof(summary_lists) / sizeof(summary_lists[0]); i++) {
		m = cJSON_GetObjectItemCaseSensitive(d, summary_lists[i].key);
		if (cJSON_GetArraySize(m) > 0) {
			putchar('\n');
			rows_print(m, &summary_lists[i].cols);
		}
	}
}

/* A view: its --options (the query's keys) and its table. */
typedef struct ing_view {
	const char *name;
	const char *opts;
	ing_cols    cols;
} ing_view;

static const ing_view ing_views[] = {
	{ "measurements", "--source --metric --since --until --limit --before",
	    { 5, { "ts", "source_id", "source", "metric", "value" },
	        { "TS", "SOURCE", "NAME", "METRIC", "VALUE" }, 0 } },
	{ "plants", "--vendor --org --limit --before",
	    { 9,
	        { "id", "org", "vendor", "external_id", "name", "capacity_kw",
	            "status", "current_power_w", "vendor_updated_at" },
	        { "ID", "ORG", "VENDOR", "EXTERNAL", "NAME", "KW", "STATUS",
	            "POWER W", "VENDOR UPDATED" },
	        0 } },
	{ "orders", "--store --status --limit --before",
	    { 9,
	        { "id", "store", "reference", "ordered_at", "customer_name",
	            "total", "agent", "shipping_status", "tracking_id" },
	        { "ID", "STORE", "REFERENCE", "ORDERED", "CUSTOMER", "TOTAL",
	            "AGENT", "SHIPPING", "TRACKING" },
	        0 } },
	{ "carbon", "--region --since --until --limit --before",
	    { 5, { "point_time", "region", "intensity", "provider", "signal" },
	        { "POINT", "REGION", "GCO2/KWH", "PROVIDER", "SIGNAL" }, 0 } },
};

static int
run_ingest(int argc, char **argv)
{
	static const char usage[]
	    = "ingest summary | measurements | plants | orders | carbon "
	      "[--<filter> V ...] [--limit N] [--before CURSOR] [--json]";
	const ing_view *v    = NULL;
	cli_buf         path = { 0 };
	cli_gateway     gw;
	cli_answer      ans;
	ing_args        a;
	int             rv;

	if (argc < 2) {
		return (cli_usage_error("usage: cronfleet %s", usage));
	}
	for (size_t i = 0; i < sizeof(ing_views) / sizeof(ing_views[0]); i++) {
		if (strcmp(argv[1], ing_views[i].name) == 0) {
			v = &ing_views[i];
		}
	}
	if (v == NULL && strcmp(argv[1], "summary") != 0) {
		return (cli_usage_error("usage: cronfleet %s", usage));
	}
	if ((rv = ing_parse(
	         argc - 1, argv + 1, v != NULL ? v->opts : "", usage, &a))
	        != CLI_OK
	    || (a.npos > 0
	        && (rv = cli_usage_error("usage: cronfleet %s", usage)))
	    || (rv = cli_gateway_init(&gw)) != CLI_OK) {
		return (rv);
	}
	if (cli_buf_add(&path, "/api/v1/ingest/", 15) != 0
	    || cli_buf_add(&path, argv[1], strlen(argv[1])) != 0) {
		cli_buf_fini(&path);
		return (oom());
	}
	for (size_t i = 0; i < a.nopts; i++) {
		char   key[32];
		size_t n = strcspn(a.opt[i] + 2, " ");
		snprintf(key, sizeof(key), "%.*s", (int) n, a.opt[i] + 2);
		if (cli_query_add(&path, key, a.val[i]) != 0) {
			cli_buf_fini(&path);
			return (oom());
		}
	}
	rv = cli_request(&gw, "GET", path.p, NULL, &ans);
	cli_buf_fini(&path);
	if (rv == CLI_OK && a.json) {
		cli_answer_print(&ans);
	} else if (rv == CLI_OK && v == NULL) {
		summary_print(ans.data);
	} else if (rv == CLI_OK) {
		const char *next
		    = str(cJSON_GetObjectItemCaseSensitive(ans.doc, "page"),
		        "next_before");

		rows_print(ans.data, &v->cols);
		if (next != NULL) {
			fprintf(stderr,
			    "(more: cronfleet ingest %s ... --before '%s')\n",
			    v->name, next);
		}
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* ---- apply ----------------------------------------------------------------
 */

static char *
file_read(const char *name, size_t *len)
{
	FILE  *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
	char  *buf;
	size_t got = 0;

	if (f == NULL) {
		return (NULL);
	}
	if ((buf = malloc(APPLY_MAX_FILE + 1)) == NULL) {
		if (f != stdin) {
			fclose(f);
		}
		return (NULL);
	}
	got = fread(buf, 1, APPLY_MAX_FILE + 1, f);
	if (f != stdin) {
		fclose(f);
	}
	*len                                             = got;
	buf[got > APPLY_MAX_FILE ? APPLY_MAX_FILE : got] = '\0';
	return (buf);
}

/* The item's organization as the file says it (a name or an id), or "". */
static const char *
item_org(const cJSON *item, char *buf, size_t len)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(item, "org");

	if (cJSON_IsString(o)) {
		return (o->valuestring);
	}
	if (cJSON_IsNumber(o)) {
		snprintf(buf, len, "%.0f", o->valuedouble);
		return (buf);
	}
	return ("");
}

/* 1 if row (a listed item) belongs to the organization org (name or id). */
static int
row_in_org(const cJSON *row, const char *org)
{
	char         id[32];
	const char  *name = str(row, "org");
	const cJSON *oid  = cJSON_GetObjectItemCaseSensitive(row, "org_id");

	if (name != NULL && strcmp(name, org) == 0) {
		return (1);
	}
	if (cJSON_IsNumber(oid)) {
		snprintf(id, sizeof(id), "%.0f", oid->valuedouble);
		return (strcmp(id, org) == 0);
	}
	return (0);
}

/* The listed row of item (by org and name), or NULL. */
static const cJSON *
row_find(const cJSON *rows, const ing_kind *k, const cJSON *item)
{
	const char  *name = str(item, "name");
	const cJSON *r;
	char         buf[32];

	cJSON_ArrayForEach(r, rows)
	{
		const char *rn = str(r, "name");
		if (rn != NULL && name != NULL && strcmp(rn, name) == 0
		    && (!k->has_org
		        || row_in_org(r, item_org(item, buf, sizeof(buf))))) {
			return (r);
		}
	}
	return (NULL);
}

/* 1 if the key names of the declared credentials are those stored. */
static int
creds_same(const cJSON *declared, const cJSON *stored)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(stored, "keys");
	const cJSON *d, *k;
	int          n = 0;

	if (!cJSON_IsObject(declared)) {
		return (0);
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(stored, "set"))) {
		return (declared->child == NULL);
	}
	cJSON_ArrayForEach(d, declared)
	{
		int found = 0;
		cJSON_ArrayForEach(k, keys)
		{
			found = found
			    || (cJSON_IsString(k)
			        && strcmp(k->valuestring, d->string) == 0);
		}
		if (!found) {
			return (0);
		}
		n++;
	}
	return (n == cJSON_GetArraySize(keys));
}

/*
 * The declared fields that differ from the stored row, as a space list in
 * diff ("" when none).
 */
static void
item_diff(const ing_kind *k, const cJSON *item, const cJSON *row, char *diff,
    size_t len)
{
	const cJSON *f;
	size_t       used = 0;

	diff[0] = '\0';
	cJSON_ArrayForEach(f, item)
	{
		const cJSON *s
		    = cJSON_GetObjectItemCaseSensitive(row, f->string);
		int same;

		if (strcmp(f->string, "id") == 0
		    || (k->has_org && strcmp(f->string, "org") == 0)) {
			continue; /* how the item was found */
		}
		if (strcmp(f->string, "credentials") == 0) {
			same = creds_same(f, s);
		} else if (s == NULL) {
			same = cJSON_IsNull(f);
		} else {
			same = cJSON_Compare(f, s, 1);
		}
		if (!same && list_add(diff, len, &used, " ", f->string) != 0) {
			break;
		}
	}
}

/* Lists kind k into *rows (owned). */
static int
apply_list(const cli_gateway *gw, const ing_kind *k, cJSON **rows)
{
	cli_answer ans;
	int        rv = cli_request(gw, "GET", k->path, NULL, &ans);

	*rows = NULL;
	if (rv == CLI_OK) {
		*rows
		    = cJSON_DetachItemFromObjectCaseSensitive(ans.doc, "data");
		if (!cJSON_IsArray(*rows)) {
			cJSON_Delete(*rows);
			*rows = NULL;
			fprintf(stderr,
			    "cronfleet: %s: the gateway's list is "
			    "not an array\n",
			    k->path);
			rv = CLI_FAIL;
		}
	}
	cli_answer_fini(&ans);
	return (rv);
}

/* One outcome: a line for people, an entry for --json. */
static void
apply_report(cJSON *results, int json, const ing_kind *k, const cJSON *item,
    const char *outcome, double id, const char *detail)
{
	char        buf[32];
	const char *org  = k->has_org ? item_org(item, buf, sizeof(buf)) : "";
	const char *name = str(item, "name");

	if (json) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "kind", k->one);
		if (k->has_org) {
			cJSON_AddStringToObject(e, "org", org);
		}
		cJSON_AddStringToObject(e, "name", name != NULL ? name : "");
		cJSON_AddStringToObject(e, "result", outcome);
		if (id > 0) {
			cJSON_AddNumberToObject(e, "id", id);
		} else {
			cJSON_AddNullToObject(e, "id");
		}
		if (detail != NULL && detail[0] != '\0') {
			cJSON_AddStringToObject(e,
			    strcmp(outcome, "failed") == 0 ? "error"
			                                   : "changed",
			    detail);
		}
		cJSON_AddItemToArray(results, e);
		return;
	}
	printf("%-9s %s %s%s%s", outcome, k->one, org, k->has_org ? "/" : "",
	    name != NULL ? name : "?");
	if (id > 0) {
		printf(" (id %.0f)", id);
	}
	if (detail != NULL && detail[0] != '\0') {
		printf(
		    strcmp(outcome, "failed") == 0 ? ": %s" : " [%s]", detail);
	}
	putchar('\n');
}

/* The gateway's error text of a failed answer (for apply's line). */
static void
answer_error(const cli_answer *ans, char *buf, size_t len)
{
	cJSON      *doc = ans->body.p != NULL
	         ? cJSON_ParseWithLength(ans->body.p, ans->body.len)
	         : NULL;
	const char *e   = str(doc, "error");

	snprintf(buf, len, "%s",
	    e != NULL             ? e
	        : ans->status > 0 ? "refused"
	                          : "no answer");
	cJSON_Delete(doc);
}

/*
 * Applies one item of kind k: finds it in rows, then creates, updates or
 * leaves it. Returns CLI_OK, CLI_FAIL (this item failed) or
 * CLI_UNREACHABLE (the gateway is gone: stop).
 */
static int
apply_item(const cli_gateway *gw, const ing_kind *k, const cJSON *rows,
    const cJSON *item, cJSON *results, int json)
{
	const cJSON *row;
	cli_buf      path = { 0 };
	cli_answer   ans;
	char         diff[512], err[512], num[32];
	const char  *name = str(item, "name");
	int          rv;

	if (!cJSON_IsObject(item) || name == NULL
	    || (k->has_org
	        && !cJSON_IsString(
	            cJSON_GetObjectItemCaseSensitive(item, "org"))
	        && !cJSON_IsNumber(
	            cJSON_GetObjectItemCaseSensitive(item, "org")))) {
		apply_report(results, json, k,
		    cJSON_IsObject(item) ? item : NULL, "failed", 0,
		    k->has_org ? "an item needs \"name\" and \"org\""
		               : "an item needs \"name\"");
		return (CLI_FAIL);
	}
	if (cJSON_HasObjectItem(item, "id")) {
		apply_report(results, json, k, item, "failed", 0,
		    "\"id\" has no place in an apply file: items are found by "
		    "(org, name)");
		return (CLI_FAIL);
	}
	if ((row = row_find(rows, k, item)) != NULL) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");

		item_diff(k, item, row, diff, sizeof(diff));
		if (diff[0] == '\0') {
			apply_report(results, json, k, item, "unchanged",
			    cJSON_IsNumber(id) ? id->valuedouble : 0, NULL);
			return (CLI_OK);
		}
		if (!cJSON_IsNumber(id)) {
			apply_report(results, json, k, item, "failed", 0,
			    "the gateway listed it without an id");
			return (CLI_FAIL);
		}
		snprintf(num, sizeof(num), "%.0f", id->valuedouble);
		if (item_path(&path, k, num) != 0) {
			cli_buf_fini(&path);
			return (oom());
		}
		rv = cli_request(gw, "PUT", path.p, item, &ans);
	} else {
		diff[0] = '\0';
		rv      = cli_request(gw, "POST", k->path, item, &ans);
	}
	cli_buf_fini(&path);
	if (rv == CLI_OK) {
		const cJSON *id
		    = cJSON_GetObjectItemCaseSensitive(ans.data, "id");
		apply_report(results, json, k, item,
		    row != NULL ? "updated" : "created",
		    cJSON_IsNumber(id) ? id->valuedouble : 0, diff);
	} else {
		answer_error(&ans, err, sizeof(err));
		apply_report(results, json, k, item, "failed", 0, err);
	}
	cli_answer_fini(&ans);
	return (rv);
}

static int
run_apply(int argc, char **argv)
{
	static const char usage[] = "apply <file.json | -> [--json]";
	cli_gateway       gw;
	ing_args          a;
	char             *text;
	size_t            len = 0;
	cJSON            *doc, *results = NULL, *m;
	const char       *end = NULL;
	int               rv, failed = 0, unreachable = 0;

	if ((rv = ing_parse(argc, argv, "", usage, &a)) != CLI_OK) {
		return (rv);
	}
	if (a.npos != 1) {
		return (cli_usage_error("usage: cronfleet %s", usage));
	}
	if ((text = file_read(a.pos[0], &len)) == NULL) {
		return (cli_usage_error(
		    "apply: cannot read %s: %s", a.pos[0], strerror(errno)));
	}
	if (len > APPLY_MAX_FILE) {
		free(text);
		return (cli_usage_error("apply: %s: larger than %d bytes",
		    a.pos[0], APPLY_MAX_FILE));
	}
	doc = cJSON_ParseWithOpts(text, &end, 1);
	if (doc == NULL || !cJSON_IsObject(doc)) {
		long at = end != NULL ? (long) (end - text) : -1;
		if (doc == NULL && cJSON_GetErrorPtr() != NULL) {
			at = (long) (cJSON_GetErrorPtr() - text);
		}
		cJSON_Delete(doc);
		free(text);
		if (at >= 0) {
			return (cli_usage_error(
			    "apply: %s: not a JSON object (near byte %ld)",
			    a.pos[0], at));
		}
		return (
		    cli_usage_error("apply: %s: not a JSON object", a.pos[0]));
	}
	free(text);
	/* Every key known, every value a list, before anything is sent. */
	cJSON_ArrayForEach(m, doc)
	{
		size_t i;
		for (i = 0; i < NKINDS; i++) {
			if (strcmp(m->string, file_keys[i]) == 0) {
				break;
			}
		}
		if (i == NKINDS || !cJSON_IsArray(m)) {
			rv = cli_usage_error(i == NKINDS
			        ? "apply: %s: unknown key '%.40s' "
			          "(organizations, sources, vendors, "
			          "stores, agents)"
			        : "apply: %s: '%.40s' must be a list",
			    a.pos[0], m->string);
			cJSON_Delete(doc);
			return (rv);
		}
	}
	if ((rv = cli_gateway_init(&gw)) != CLI_OK) {
		cJSON_Delete(doc);
		return (rv);
	}
	if (a.json && (results = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(doc);
		return (oom());
	}
	for (size_t i = 0; i < NKINDS && !unreachable; i++) {
		const cJSON *items
		    = cJSON_GetObjectItemCaseSensitive(doc, file_keys[i]);
		const cJSON *item;
		cJSON       *rows = NULL;

		if (cJSON_GetArraySize(items) == 0) {
			continue;
		}
		if ((rv = apply_list(&gw, &kinds[i], &rows)) != CLI_OK) {
			unreachable = rv == CLI_UNREACHABLE;
			failed += cJSON_GetArraySize(items);
			if (rv != CLI_UNREACHABLE) {
				continue;
			}
			break;
		}
		cJSON_ArrayForEach(item, items)
		{
			rv = apply_item(
			    &gw, &kinds[i], rows, item, results, a.json);
			if (rv == CLI_UNREACHABLE) {
				unreachable = 1;
				break;
			}
			failed += rv != CLI_OK;
		}
		cJSON_Delete(rows);
	}
	if (a.json) {
		cJSON *o = cJSON_CreateObject();
		char  *out;
		cJSON_AddBoolToObject(o, "success", !failed && !unreachable);
		cJSON_AddItemToObject(o, "data", results);
		if ((out = cJSON_PrintUnformatted(o)) != NULL) {
			puts(out);
			free(out);
		}
		cJSON_Delete(o);
	}
	cJSON_Delete(doc);
	if (unreachable) {
		return (CLI_UNREACHABLE);
	}
	if (failed) {
		fprintf(
		    stderr, "cronfleet: apply: %d item(s) failed\n", failed);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

/* ---- dispatch --------------------------------------------------------------
 */

int
cli_ingest_has(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++) {
		if (strcmp(kinds[i].cmd, name) == 0) {
			return (1);
		}
	}
	return (strcmp(name, "organizations") == 0
	    || strcmp(name, "ingest") == 0 || strcmp(name, "apply") == 0);
}

int
cli_ingest(int argc, char **argv)
{
	int rv = CLI_USAGE;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("cronfleet: cannot initialise libcurl\n", stderr);
		return (CLI_FAIL);
	}
	if (strcmp(argv[0], "apply") == 0) {
		rv = run_apply(argc, argv);
	} else if (strcmp(argv[0], "ingest") == 0) {
		rv = run_ingest(argc, argv);
	} else {
		for (size_t i = 0; i < NKINDS; i++) {
			if (strcmp(kinds[i].cmd, argv[0]) == 0
			    || (i == 0
			        && strcmp(argv[0], "organizations") == 0)) {
				rv = run_kind(argc, argv, &kinds[i]);
			}
		}
	}
	curl_global_cleanup();
	if (fflush(stdout) != 0 && errno != EPIPE) {
		perror("cronfleet: stdout");
		return (CLI_FAIL);
	}
	return (rv);
}
