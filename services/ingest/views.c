/*
 * views.c - read-only views of the ingested data, for the gateway's
 * GET /api/v1/ingest/{summary,measurements,plants,orders,carbon} and
 * the CLI (`cronfleet ingest summary`).
 *
 * One verb, "data", the view as its job and filters as key=value
 * arguments (text form: `data measurements source=3 limit=10`):
 *
 *   data summary        counts per table; per source its newest
 *                       measurement and cursor; per vendor its last sync
 *                       and error; per store its last order id
 *   data measurements   source= metric= since= until= limit= before=
 *   data plants         vendor= org= limit= before=
 *   data orders         store= status= limit= before=
 *   data carbon         region= since= until= limit= before=
 *
 * A list answers {"items":[...],"limit":n,"next_before":cursor|null}:
 * newest first, at most limit (1-1000, default 100) items; before=<the
 * previous page's next_before> gives the next page, keyset-paged so that
 * rows arriving meanwhile neither repeat nor hide others. Every query is
 * bounded by its limit; PostgreSQL builds each row's JSON (row_to_json),
 * so the columns named in SQL are the answer's fields.
 *
 * Nothing here reads a credentials column: a view cannot show a secret.
 * Times are RFC 3339 UTC with milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_err.h"
#include "cf_pg.h"
#include "cf_time.h"
#include "ingest.h"

#define VIEW_LIMIT_DEFAULT 100
#define VIEW_LIMIT_MAX 1000
/* Rows of each kind the summary lists (sources, vendors, stores). */
#define VIEW_SUMMARY_ROWS 1000

/* A timestamptz column as RFC 3339 UTC text (NULL stays NULL). */
#define TS(x)                                                                 \
	"to_char((" x ") AT TIME ZONE 'UTC', "                                \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A timestamptz as unix microseconds, for cursors. */
#define US(x) "(extract(epoch FROM (" x ")) * 1000000)::bigint"
/* Unix microseconds ($n text) back into a timestamptz, exactly. */
#define FROM_US(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 us')"
/* Unix milliseconds ($n text) into a timestamptz. */
#define FROM_MS(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 ms')"

/* The filters a view was given: key=value arguments. */
typedef struct view_args {
	const char *key[CF_PROTO_MAX_ARGS];
	const char *val[CF_PROTO_MAX_ARGS];
	size_t      n;
} view_args;

/* Splits cmd's arguments; refuses any key not in allowed (a space list). */
static int
view_args_parse(const cf_command *cmd, const char *allowed, view_args *a,
    char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < cmd->nargs && i < CF_PROTO_MAX_ARGS; i++) {
		const char *s  = cmd->args[i];
		const char *eq = strchr(s, '=');
		size_t      kn = eq != NULL ? (size_t) (eq - s) : 0;
		const char *p  = allowed;
		int         ok = 0;

		while (eq != NULL && kn > 0 && *p != '\0') {
			size_t n = strcspn(p, " ");
			if (n == kn && strncmp(p, s, kn) == 0) {
				ok = 1;
				break;
			}
			p += n;
			p += strspn(p, " ");
		}
		if (!ok) {
			cf_errf(err, errlen,
			    "invalid argument '%.*s': data %s takes %s "
			    "(key=value)",
			    (int) (kn > 0 && kn < 40 ? kn : strnlen(s, 40)), s,
			    cmd->job, allowed);
			return (CF_EINVAL);
		}
		a->key[a->n] = s;
		a->val[a->n] = eq + 1;
		a->n++;
	}
	return (CF_OK);
}

/* The value of key, or NULL (the last one given wins). */
static const char *
view_arg(const view_args *a, const char *key)
{
	const char *v = NULL;
	size_t      n = strlen(key);

	for (size_t i = 0; i < a->n; i++) {
		if (strncmp(a->key[i], key, n) == 0 && a->key[i][n] == '=') {
			v = a->val[i];
		}
	}
	return (v);
}

/* key as an id (1 to 18 digits) into buf, or NULL when absent. */
static int
view_id(const view_args *a, const char *key, const char **out, char *err,
    size_t errlen)
{
	const char *v = view_arg(a, key);

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return (CF_OK);
	}
	if (!cf_digits(v, strlen(v))) {
		cf_errf(err, errlen,
		    "invalid %s: '%.40s' is not an id (digits)", key, v);
		return (CF_EINVAL);
	}
	*out = v;
	return (CF_OK);
}

/* key as a time (RFC 3339, or unix ms) into buf as unix ms text. */
static int
view_time(const view_args *a, const char *key, char *buf, size_t len,
    const char **out, char *err, size_t errlen)
{
	const char *v = view_arg(a, key);
	int64_t     ms;

	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		return (CF_OK);
	}
	if (cf_digits(v, strlen(v))) {
		ms = strtoll(v, NULL, 10);
	} else if (cf_rfc3339_parse(v, &ms) != 0) {
		cf_errf(err, errlen,
		    "invalid %s: '%.40s' is not an RFC 3339 time or unix "
		    "milliseconds",
		    key, v);
		return (CF_EINVAL);
	}
	snprintf(buf, len, "%lld", (long long) ms);
	*out = buf;
	return (CF_OK);
}

static int
view_limit(const view_args *a, char *buf, size_t len, int *limit, char *err,
    size_t errlen)
{
	const char *v = view_arg(a, "limit");
	long        n = VIEW_LIMIT_DEFAULT;

	if (v != NULL) {
		char *end;
		n = strtol(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || n < 1
		    || n > VIEW_LIMIT_MAX) {
			cf_errf(err, errlen,
			    "invalid limit: '%.40s' is not an integer from 1 "
			    "to %d",
			    v, VIEW_LIMIT_MAX);
			return (CF_EINVAL);
		}
	}
	*limit = (int) n;
	/* One more than asked: whether there is a next page. */
	snprintf(buf, len, "%ld", n + 1);
	return (CF_OK);
}

/*
 * A cursor "<digits>:<rest>" split into its number and the rest (rest
 * may hold further ':'); n is how many parts are wanted (2 or 3).
 */
static int
view_cursor(const char *v, char parts[3][160], int n, char *err, size_t errlen)
{
	const char *s = v;

	for (int i = 0; i < n; i++) {
		size_t k = i + 1 < n ? strcspn(s, ":") : strlen(s);
		if (k == 0 || k >= sizeof(parts[i])
		    || (i + 1 < n && s[k] != ':')
		    || ((i == 0 || (n == 3 && i == 1)) && !cf_digits(s, k))) {
			cf_errf(err, errlen,
			    "invalid before: '%.60s' is not a cursor of this "
			    "view (take next_before from the previous page)",
			    v);
			return (CF_EINVAL);
		}
		memcpy(parts[i], s, k);
		parts[i][k] = '\0';
		s += k + (i + 1 < n);
	}
	return (CF_OK);
}

/* A list view's arguments, checked (view_list_parse). */
typedef struct view_list_args {
	view_args   a;
	const char *id;            /* the view's id filter, or NULL */
	const char *since, *until; /* unix ms text, or NULL */
	const char *before;      /* the previous page's next_before, or NULL */
	char        cur[3][160]; /* before split (the cursor views) */
	int         limit;
	char        lim[16], b1[32], b2[32];
} view_list_args;

/*
 * Splits cmd's arguments (keys in allowed), then checks id_key (an id
 * filter such as "source"; NULL: none), since, until, limit and before:
 * an id when ncur is 0 (the views paged by id), else a cursor of ncur
 * parts.
 */
static int
view_list_parse(const cf_command *cmd, const char *allowed, const char *id_key,
    int ncur, view_list_args *l, char *err, size_t errlen)
{
	int rv;

	memset(l, 0, sizeof(*l));
	if ((rv = view_args_parse(cmd, allowed, &l->a, err, errlen)) != CF_OK
	    || (id_key != NULL
	        && (rv = view_id(&l->a, id_key, &l->id, err, errlen)) != CF_OK)
	    || (rv = view_time(&l->a, "since", l->b1, sizeof(l->b1), &l->since,
	            err, errlen))
	        != CF_OK
	    || (rv = view_time(&l->a, "until", l->b2, sizeof(l->b2), &l->until,
	            err, errlen))
	        != CF_OK
	    || (rv = view_limit(
	            &l->a, l->lim, sizeof(l->lim), &l->limit, err, errlen))
	        != CF_OK) {
		return (rv);
	}
	if (ncur == 0) {
		return (view_id(&l->a, "before", &l->before, err, errlen));
	}
	l->before = view_arg(&l->a, "before");
	return (l->before != NULL
	        ? view_cursor(l->before, l->cur, ncur, err, errlen)
	        : CF_OK);
}

/* One of the commands' connections (manage.c), for one statement. */
static int
view_pg(const ingest *in, cf_pg **pg, int *slot, char *err, size_t errlen)
{
	char why[512];

	if ((*pg = ingest_db_take(in, slot, why, sizeof(why))) == NULL) {
		cf_errf(err, errlen, "PostgreSQL: %s", why);
		return (CF_ECONN);
	}
	return (CF_OK);
}

/*
 * Runs a list query whose rows are (json text, cursor text) and whose
 * LIMIT is one more than limit; answers the page. drop_us: the rows'
 * "us" (the cursor's microseconds) is not a field of the answer.
 */
static int
view_list(const ingest *in, const char *sql, int np, const char *const *p,
    int limit, int drop_us, cJSON **data, char *err, size_t errlen)
{
	cf_pg    *pg  = NULL;
	PGresult *res = NULL;
	cJSON    *o, *items;
	char      why[512];
	int       rows, slot = -1;

	if (view_pg(in, &pg, &slot, err, errlen) != CF_OK) {
		return (CF_ECONN);
	}
	if (cf_pg_exec(pg, sql, np, p, &res, why, sizeof(why)) != CF_OK) {
		ingest_db_give(slot);
		cf_errf(err, errlen, "PostgreSQL: %s", why);
		return (CF_EDB);
	}
	ingest_db_give(slot);
	o     = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(o, "items");
	rows  = PQntuples(res);
	for (int r = 0; r < rows && r < limit && items != NULL; r++) {
		cJSON *row = cJSON_Parse(PQgetvalue(res, r, 0));
		if (row != NULL) {
			if (drop_us) {
				cJSON_DeleteItemFromObjectCaseSensitive(
				    row, "us");
			}
			cJSON_AddItemToArray(items, row);
		}
	}
	cJSON_AddNumberToObject(o, "limit", limit);
	if (rows > limit) {
		cJSON_AddStringToObject(
		    o, "next_before", PQgetvalue(res, limit - 1, 1));
	} else {
		cJSON_AddNullToObject(o, "next_before");
	}
	PQclear(res);
	if (o == NULL || items == NULL) {
		cJSON_Delete(o);
		cf_errf(err, errlen, "out of memory");
		return (CF_ENOMEM);
	}
	*data = o;
	return (CF_OK);
}

/* ---- the views -------------------------------------------------------- */

static int
view_summary(const ingest *in, const cf_command *cmd, cJSON **data, char *err,
    size_t errlen)
{
	const char *s   = in->schema;
	cf_pg      *pg  = NULL;
	PGresult   *res = NULL;
	view_args   a;
	char        sql[6144], why[512];
	int         rv, slot = -1;

	if ((rv = view_args_parse(cmd, "", &a, err, errlen)) != CF_OK) {
		return (rv);
	}
	/*
	 * One statement, one snapshot. Per store, its orders are counted in
	 * one pass (both counts); per source, its measurements through the
	 * primary key (source_id leads it).
	 */
	/* clang-format off */
	snprintf(sql, sizeof(sql),
	    "SELECT json_build_object("
	    "'counts', json_build_object("
	    " 'organizations', (SELECT count(*) FROM %s.organizations),"
	    " 'sources', (SELECT count(*) FROM %s.sources),"
	    /* Counted exactly while small; PostgreSQL's estimate beyond
	     * (a count of ten million rows takes seconds). */
	    " 'measurements', (SELECT CASE WHEN c.reltuples > 1000000"
	    "  THEN c.reltuples::bigint ELSE (SELECT count(*)"
	    "  FROM %s.measurements) END FROM pg_class c"
	    "  WHERE c.oid = '%s.measurements'::regclass),"
	    " 'carbon_forecasts', (SELECT count(*) FROM %s.carbon_forecasts),"
	    " 'vendors', (SELECT count(*) FROM %s.vendors),"
	    " 'plants', (SELECT count(*) FROM %s.plants),"
	    " 'stores', (SELECT count(*) FROM %s.stores),"
	    " 'agents', (SELECT count(*) FROM %s.agents),"
	    " 'orders', (SELECT count(*) FROM %s.orders),"
	    " 'tokens', (SELECT count(*) FROM %s.tokens)),"
	    "'sources', COALESCE((SELECT json_agg(x ORDER BY x.id) FROM ("
	    " SELECT so.id, o.name AS org, so.name, so.vendor, so.active,"
	    " so.grid_region, " TS("so.cursor_at") " AS cursor_at, "
	    TS("so.last_sync_at") " AS last_sync_at, so.last_error, "
	    TS("m.newest") " AS newest_measurement,"
	    " m.n AS measurements"
	    " FROM %s.sources so JOIN %s.organizations o ON o.id = so.org_id"
	    " CROSS JOIN LATERAL (SELECT max(ts) AS newest, count(*) AS n"
	    "  FROM %s.measurements WHERE source_id = so.id) m"
	    " ORDER BY so.id LIMIT %d) x), '[]'),"
	    "'vendors', COALESCE((SELECT json_agg(x ORDER BY x.id) FROM ("
	    " SELECT v.id, o.name AS org, v.name, v.kind, v.active, "
	    TS("v.last_sync_at") " AS last_sync_at, v.last_error,"
	    " (SELECT count(*) FROM %s.plants p WHERE p.vendor_id = v.id)"
	    " AS plants"
	    " FROM %s.vendors v JOIN %s.organizations o ON o.id = v.org_id"
	    " ORDER BY v.id LIMIT %d) x), '[]'),"
	    "'stores', COALESCE((SELECT json_agg(x ORDER BY x.id) FROM ("
	    " SELECT st.id, o.name AS org, st.name, st.active,"
	    " st.last_order_id, " TS("st.last_sync_at") " AS last_sync_at,"
	    " st.last_error, r.n AS orders, r.open AS open_orders"
	    " FROM %s.stores st JOIN %s.organizations o ON o.id = st.org_id"
	    " CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER ("
	    "  WHERE shipping_status IS NULL OR shipping_status NOT IN"
	    "  ('DELIVERED', 'RETURNED', 'CANCELLED')) AS open"
	    "  FROM %s.orders WHERE store_id = st.id) r"
	    " ORDER BY st.id LIMIT %d) x), '[]'),"
	    "'carbon', COALESCE((SELECT json_agg(x ORDER BY x.region) FROM ("
	    " SELECT c.region, count(*) AS points, "
	    TS("max(c.point_time)") " AS newest_point, "
	    TS("max(c.fetched_at)") " AS fetched_at,"
	    " (array_agg(c.provider ORDER BY c.fetched_at DESC))[1]"
	    " AS provider"
	    " FROM %s.carbon_forecasts c GROUP BY c.region"
	    " ORDER BY c.region LIMIT %d) x), '[]'))::text",
	    s, s, s, s, s, s, s, s, s, s, s,
	    s, s, s, VIEW_SUMMARY_ROWS,
	    s, s, s, VIEW_SUMMARY_ROWS,
	    s, s, s, VIEW_SUMMARY_ROWS,
	    s, VIEW_SUMMARY_ROWS);
	/* clang-format on */
	if (view_pg(in, &pg, &slot, err, errlen) != CF_OK) {
		return (CF_ECONN);
	}
	rv = cf_pg_exec(pg, sql, 0, NULL, &res, why, sizeof(why));
	ingest_db_give(slot);
	if (rv != CF_OK) {
		cf_errf(err, errlen, "PostgreSQL: %s", why);
		return (rv);
	}
	*data
	    = PQntuples(res) == 1 ? cJSON_Parse(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	if (*data == NULL) {
		cf_errf(err, errlen, "ingest: the summary is not JSON");
		return (CF_EPROTO);
	}
	return (CF_OK);
}

static int
view_measurements(const ingest *in, const cf_command *cmd, cJSON **data,
    char *err, size_t errlen)
{
	const char    *s = in->schema, *metric;
	const char    *p[8];
	char           sql[2048];
	view_list_args l;
	int            rv;

	if ((rv = view_list_parse(cmd,
	         "source metric since until limit before", "source", 3, &l,
	         err, errlen))
	    != CF_OK) {
		return (rv);
	}
	metric = view_arg(&l.a, "metric");
	if (metric != NULL && (metric[0] == '\0' || strlen(metric) > 64)) {
		cf_errf(err, errlen,
		    "invalid metric: expected a metric name such as "
		    "production_wh");
		return (CF_EINVAL);
	}
	p[0] = l.id;
	p[1] = metric;
	p[2] = l.since;
	p[3] = l.until;
	p[4] = l.before != NULL ? l.cur[0] : NULL;
	p[5] = l.before != NULL ? l.cur[1] : NULL;
	p[6] = l.before != NULL ? l.cur[2] : NULL;
	p[7] = l.lim;
	/* clang-format off */
	snprintf(sql, sizeof(sql),
	    "SELECT row_to_json(x)::text,"
	    " x.us || ':' || x.source_id || ':' || x.metric FROM ("
	    "SELECT m.source_id, so.name AS source, m.metric, "
	    TS("m.ts") " AS ts, m.value, " US("m.ts") " AS us"
	    " FROM %s.measurements m"
	    " LEFT JOIN %s.sources so ON so.id = m.source_id"
	    " WHERE ($1::bigint IS NULL OR m.source_id = $1::bigint)"
	    " AND ($2::text IS NULL OR m.metric = $2)"
	    " AND ($3::text IS NULL OR m.ts >= " FROM_MS("$3") ")"
	    " AND ($4::text IS NULL OR m.ts < " FROM_MS("$4") ")"
	    " AND ($5::text IS NULL OR (m.ts, m.source_id, m.metric) <"
	    "  (" FROM_US("$5") ", $6::bigint, $7::text))"
	    " ORDER BY m.ts DESC, m.source_id DESC, m.metric DESC"
	    " LIMIT $8::int) x",
	    s, s);
	/* clang-format on */
	return (view_list(in, sql, 8, p, l.limit, 1, data, err, errlen));
}

static int
view_plants(const ingest *in, const cf_command *cmd, cJSON **data, char *err,
    size_t errlen)
{
	const char    *s = in->schema, *org;
	const char    *p[4];
	char           sql[2048];
	view_list_args l;
	int            rv;

	if ((rv = view_list_parse(
	         cmd, "vendor org limit before", "vendor", 0, &l, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	org  = view_arg(&l.a, "org");
	p[0] = l.id;
	p[1] = org != NULL && org[0] != '\0' ? org : NULL;
	p[2] = l.before;
	p[3] = l.lim;
	/* clang-format off */
	snprintf(sql, sizeof(sql),
	    "SELECT row_to_json(x)::text, x.id::text FROM ("
	    "SELECT p.id, p.vendor_id, v.name AS vendor, v.kind, p.org_id,"
	    " o.name AS org, p.external_id, p.name, p.latitude, p.longitude,"
	    " p.timezone, p.capacity_kw, p.status, p.current_power_w,"
	    " p.today_energy_kwh, p.total_energy_kwh, "
	    TS("p.installed_at") " AS installed_at, "
	    TS("p.vendor_updated_at") " AS vendor_updated_at, "
	    TS("p.created_at") " AS created_at, "
	    TS("p.updated_at") " AS updated_at"
	    " FROM %s.plants p JOIN %s.vendors v ON v.id = p.vendor_id"
	    " JOIN %s.organizations o ON o.id = p.org_id"
	    " WHERE ($1::bigint IS NULL OR p.vendor_id = $1::bigint)"
	    " AND ($2::text IS NULL OR o.name = $2 OR o.id::text = $2)"
	    " AND ($3::bigint IS NULL OR p.id < $3::bigint)"
	    " ORDER BY p.id DESC LIMIT $4::int) x",
	    s, s, s);
	/* clang-format on */
	return (view_list(in, sql, 4, p, l.limit, 0, data, err, errlen));
}

/* Our shipping statuses (101_ingest.sql); "open" and "none" besides. */
static const char *const order_statuses[] = { "PENDING", "PREPARING",
	"SHIPPED", "OUT_FOR_DELIVERY", "DELIVERED", "RETURNED", "CANCELLED" };

/* status= as the query takes it (upper case, "open", "none"), in up. */
static int
view_status(const char *status, char *up, size_t len, char *err, size_t errlen)
{
	size_t k;

	if (strcmp(status, "open") == 0 || strcmp(status, "none") == 0) {
		snprintf(up, len, "%s", status);
		return (CF_OK);
	}
	for (k = 0; status[k] != '\0' && k + 1 < len; k++) {
		up[k] = (char) (status[k] >= 'a' && status[k] <= 'z'
		        ? status[k] - 'a' + 'A'
		        : status[k]);
	}
	up[k] = '\0';
	for (size_t i = 0;
	     i < sizeof(order_statuses) / sizeof(order_statuses[0]); i++) {
		if (strcmp(up, order_statuses[i]) == 0) {
			return (CF_OK);
		}
	}
	cf_errf(err, errlen,
	    "invalid status: '%.40s' is not one of PENDING, PREPARING, "
	    "SHIPPED, OUT_FOR_DELIVERY, DELIVERED, RETURNED, CANCELLED, open "
	    "(not final), none (not with the carrier yet)",
	    status);
	return (CF_EINVAL);
}

static int
view_orders(const ingest *in, const cf_command *cmd, cJSON **data, char *err,
    size_t errlen)
{
	const char    *s = in->schema, *status;
	const char    *p[4];
	char           sql[2560], up[32];
	view_list_args l;
	int            rv;

	if ((rv = view_list_parse(cmd, "store status limit before", "store", 0,
	         &l, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	status = view_arg(&l.a, "status");
	if (status != NULL && status[0] != '\0') {
		if ((rv = view_status(status, up, sizeof(up), err, errlen))
		    != CF_OK) {
			return (rv);
		}
		status = up;
	} else {
		status = NULL;
	}
	p[0] = l.id;
	p[1] = status;
	p[2] = l.before;
	p[3] = l.lim;
	/* clang-format off */
	snprintf(sql, sizeof(sql),
	    "SELECT row_to_json(x)::text, x.id::text FROM ("
	    "SELECT r.id, r.store_id, st.name AS store, r.external_id,"
	    " r.reference, r.vendor_status, r.customer_name, r.customer_phone,"
	    " r.wilaya, r.commune, r.address, r.items, r.total, "
	    TS("r.ordered_at") " AS ordered_at, r.agent_id, a.name AS agent, "
	    TS("r.assigned_at") " AS assigned_at, r.tracking_id,"
	    " r.shipping_status, r.shipping_vendor_status, "
	    TS("r.shipping_updated_at") " AS shipping_updated_at, "
	    TS("r.created_at") " AS created_at, "
	    TS("r.updated_at") " AS updated_at"
	    " FROM %s.orders r JOIN %s.stores st ON st.id = r.store_id"
	    " LEFT JOIN %s.agents a ON a.id = r.agent_id"
	    " WHERE ($1::bigint IS NULL OR r.store_id = $1::bigint)"
	    " AND ($2::text IS NULL"
	    "  OR ($2 = 'open' AND (r.shipping_status IS NULL"
	    "   OR r.shipping_status NOT IN ('DELIVERED', 'RETURNED',"
	    "   'CANCELLED')))"
	    "  OR ($2 = 'none' AND r.shipping_status IS NULL)"
	    "  OR r.shipping_status = $2)"
	    " AND ($3::bigint IS NULL OR r.id < $3::bigint)"
	    " ORDER BY r.id DESC LIMIT $4::int) x",
	    s, s, s);
	/* clang-format on */
	return (view_list(in, sql, 4, p, l.limit, 0, data, err, errlen));
}

static int
view_carbon(const ingest *in, const cf_command *cmd, cJSON **data, char *err,
    size_t errlen)
{
	const char    *s = in->schema, *region;
	const char    *p[6];
	char           sql[2048];
	view_list_args l;
	int            rv;

	if ((rv = view_list_parse(cmd, "region since until limit before", NULL,
	         2, &l, err, errlen))
	    != CF_OK) {
		return (rv);
	}
	region = view_arg(&l.a, "region");
	if (region != NULL && region[0] == '\0') {
		region = NULL;
	}
	p[0] = region;
	p[1] = l.since;
	p[2] = l.until;
	p[3] = l.before != NULL ? l.cur[0] : NULL;
	p[4] = l.before != NULL ? l.cur[1] : NULL;
	p[5] = l.lim;
	/* clang-format off */
	snprintf(sql, sizeof(sql),
	    "SELECT row_to_json(x)::text, x.us || ':' || x.region FROM ("
	    "SELECT c.region, " TS("c.point_time") " AS point_time,"
	    " c.provider, c.signal, c.intensity, c.raw_value, c.raw_unit, "
	    TS("c.generated_at") " AS generated_at, "
	    TS("c.fetched_at") " AS fetched_at, "
	    US("c.point_time") " AS us"
	    " FROM %s.carbon_forecasts c"
	    " WHERE ($1::text IS NULL OR c.region = $1)"
	    " AND ($2::text IS NULL OR c.point_time >= " FROM_MS("$2") ")"
	    " AND ($3::text IS NULL OR c.point_time < " FROM_MS("$3") ")"
	    " AND ($4::text IS NULL OR (c.point_time, c.region) <"
	    "  (" FROM_US("$4") ", $5::text))"
	    " ORDER BY c.point_time DESC, c.region DESC LIMIT $6::int) x",
	    s);
	/* clang-format on */
	return (view_list(in, sql, 6, p, l.limit, 1, data, err, errlen));
}

static const struct {
	const char *name;
	int (*fn)(const ingest *in, const cf_command *cmd, cJSON **data,
	    char *err, size_t errlen);
} views[] = {
	{ "summary", view_summary },
	{ "measurements", view_measurements },
	{ "plants", view_plants },
	{ "orders", view_orders },
	{ "carbon", view_carbon },
};

int
ingest_views_command(
    void *ctx, const cf_command *cmd, cJSON **data, char *err, size_t errlen)
{
	const ingest *in = ctx;

	if (strcmp(cmd->cmd, "data") != 0) {
		return (0);
	}
	*data = NULL;
	for (size_t i = 0;
	     cmd->job != NULL && i < sizeof(views) / sizeof(views[0]); i++) {
		if (strcmp(cmd->job, views[i].name) == 0) {
			if (views[i].fn(in, cmd, data, err, errlen) != CF_OK
			    && err[0] == '\0') {
				cf_errf(
				    err, errlen, "data %s failed", cmd->job);
			}
			return (1);
		}
	}
	cf_errf(err, errlen,
	    "invalid view '%.40s': data takes summary, measurements, plants, "
	    "orders or carbon",
	    cmd->job != NULL ? cmd->job : "");
	return (1);
}
