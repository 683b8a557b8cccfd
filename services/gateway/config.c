/*
 * config.c - the gateway's configuration table (STYLE.md: config is a
 * table), plus the checks a table row cannot express: a listen address
 * and a list of service names.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "cf_config.h"
#include "cf_err.h"
#include "cf_log.h"
#include "gateway.h"

#define PREFIX "cronfleet-gateway"

static const char *const service_names[GW_NSERVICES + 1] = {
	"clock",
	"ingest",
	"analytics",
	"maintenance",
	NULL,
};

/* nng transports a service may listen on. */
static const char *const rep_schemes[] = { "tcp", "ipc", NULL };
static const char *const pg_schemes[]  = { "postgresql", "postgres", NULL };

#ifndef CF_GW_DB_DIR
#define CF_GW_DB_DIR "db"
#endif

static const cf_config_item gw_table[] = {
	CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names, "info",
	    gw_config, log_level, "Least level logged."),
	CF_CFG_STRING("CRONFLEET_GATEWAY_ADDR", "127.0.0.1:8080", 0, gw_config,
	    addr, "HTTP listen address, host:port ([v6]:port for IPv6)."),
	CF_CFG_STRING("CRONFLEET_ADMIN_TOKEN", NULL, CF_CONFIG_SECRET,
	    gw_config, admin_token,
	    "One admin bearer token (named \"admin\" in the audit)."),
	CF_CFG_STRING("CRONFLEET_ADMIN_TOKENS", NULL, CF_CONFIG_SECRET,
	    gw_config, admin_tokens,
	    "Admin tokens, name:token,...: read and act. At least one admin "
	    "token (this or CRONFLEET_ADMIN_TOKEN) is required."),
	CF_CFG_STRING("CRONFLEET_VIEWER_TOKENS", NULL, CF_CONFIG_SECRET,
	    gw_config, viewer_tokens,
	    "Viewer tokens, name:token,...: read only."),
	CF_CFG_STRING("CRON_SECRET", NULL, CF_CONFIG_SECRET, gw_config,
	    cron_secret,
	    "Bearer token of external cron callers (GET /api/cron/{job}); "
	    "unset: only admin tokens may call it."),
	CF_CFG_DURATION("CRONFLEET_CRON_WAIT", 0, 10 * 60 * 1000, "25s",
	    gw_config, cron_wait_ms,
	    "GET /api/cron/{job}: how long to wait for the run before "
	    "answering 202."),
	CF_CFG_BOOL("CRONFLEET_METRICS_AUTH", "false", gw_config, metrics_auth,
	    "GET /metrics requires a (viewer) token."),
	CF_CFG_URL("DATABASE_URL", pg_schemes, NULL,
	    CF_CONFIG_REQUIRED | CF_CONFIG_SECRET, gw_config, database_url,
	    "PostgreSQL, for the audit of manual actions."),
	CF_CFG_STRING("CRONFLEET_GATEWAY_SCHEMA", "gateway", 0, gw_config,
	    schema, "The gateway's schema (the audit table)."),
	CF_CFG_STRING("CRONFLEET_MIGRATIONS", CF_GW_DB_DIR, 0, gw_config,
	    migrations, "Folder holding gateway/ migrations."),
	CF_CFG_URL("CRONFLEET_CLOCK_REP", rep_schemes, "tcp://127.0.0.1:7101",
	    CF_CONFIG_LIST, gw_config, clock_url,
	    "The clock's command socket; several clocks: a list."),
	CF_CFG_URL("CRONFLEET_INGEST_REP", rep_schemes, "tcp://127.0.0.1:7111",
	    0, gw_config, ingest_url, "The ingest service's command socket."),
	CF_CFG_URL("CRONFLEET_ANALYTICS_REP", rep_schemes,
	    "tcp://127.0.0.1:7121", 0, gw_config, analytics_url,
	    "The analytics service's command socket."),
	CF_CFG_URL("CRONFLEET_MAINTENANCE_REP", rep_schemes,
	    "tcp://127.0.0.1:7131", 0, gw_config, maintenance_url,
	    "The maintenance service's command socket."),
	CF_CFG_URL("CRONFLEET_INGEST_PUB", rep_schemes, "tcp://127.0.0.1:7112",
	    0, gw_config, ingest_pub, "The ingest service's events (PUB)."),
	CF_CFG_URL("CRONFLEET_ANALYTICS_PUB", rep_schemes,
	    "tcp://127.0.0.1:7122", 0, gw_config, analytics_pub,
	    "The analytics service's events (PUB)."),
	CF_CFG_URL("CRONFLEET_MAINTENANCE_PUB", rep_schemes,
	    "tcp://127.0.0.1:7132", 0, gw_config, maintenance_pub,
	    "The maintenance service's events (PUB)."),
	CF_CFG_STRING("CRONFLEET_SERVICES", "maintenance", 0, gw_config,
	    services,
	    "Comma list of the domain services to query (ingest, analytics, "
	    "maintenance); the others are not asked."),
	CF_CFG_DURATION("CRONFLEET_GATEWAY_TIMEOUT", 10, 5 * 60 * 1000, "3s",
	    gw_config, timeout_ms,
	    "Longest an HTTP request waits for the services it asks."),
};

#define GW_TABLE_N (sizeof(gw_table) / sizeof(gw_table[0]))

const char *
gw_service_name(int svc)
{
	return (svc >= 0 && svc < GW_NSERVICES ? service_names[svc] : NULL);
}

int
gw_service_find(const char *name)
{
	for (int i = 0; i < GW_NSERVICES; i++) {
		if (strcmp(name, service_names[i]) == 0) {
			return (i);
		}
	}
	return (-1);
}

int
gw_addr_parse(const char *addr, struct sockaddr_storage *out, size_t *outlen,
    char *err, size_t errlen)
{
	char            host[256];
	const char     *colon, *h = addr;
	size_t          hlen;
	char           *end;
	long            port;
	struct addrinfo hints, *res = NULL;
	int             rv;

	/* "[v6]:port" keeps the colons of an IPv6 literal apart. */
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "expected [ipv6]:port");
			return (CF_EINVAL);
		}
		h     = addr + 1;
		hlen  = (size_t) (close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL
		    || memchr(addr, ':', (size_t) (colon - addr))) {
			snprintf(err, errlen, "expected host:port");
			return (CF_EINVAL);
		}
		hlen = (size_t) (colon - addr);
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "expected host:port");
		return (CF_EINVAL);
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	port       = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1
	    || port > 65535) {
		snprintf(err, errlen, "expected a port from 1 to 65535");
		return (CF_EINVAL);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family   = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags    = AI_PASSIVE;
	if ((rv = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
		    gai_strerror(rv));
		return (CF_EINVAL);
	}
	if (res->ai_addrlen > sizeof(*out)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "address too long");
		return (CF_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return (CF_OK);
}

/*
 * Marks each service named in list as enabled. Returns 0, or CF_EINVAL
 * with err naming the word that is not a domain service.
 */
static int
config_services(gw_config *cfg, char *err, size_t errlen)
{
	const char *p = cfg->services;

	while (*p != '\0') {
		char   word[64];
		size_t n = strcspn(p, ",");
		size_t a = 0, b = n;
		int    svc;

		while (a < b && (p[a] == ' ' || p[a] == '\t')) {
			a++;
		}
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t')) {
			b--;
		}
		if (b - a >= sizeof(word)) {
			b = a + sizeof(word) - 1;
		}
		memcpy(word, p + a, b - a);
		word[b - a] = '\0';
		svc         = gw_service_find(word);
		/* The clock is always asked: it is not a choice here. */
		if (word[0] != '\0' && (svc < 0 || svc == GW_CLOCK)) {
			snprintf(err, errlen,
			    PREFIX ": CRONFLEET_SERVICES: '%s' is not one of "
			           "ingest, analytics, maintenance",
			    word);
			return (CF_EINVAL);
		}
		if (svc > 0) {
			cfg->enabled[svc] = 1;
		}
		p += n;
		if (*p == ',') {
			p++;
		}
	}
	return (CF_OK);
}

void
gw_config_load(gw_config *cfg)
{
	struct sockaddr_storage ss;
	size_t                  sslen;
	char                    err[512], why[256];
	int                     rv;

	memset(cfg, 0, sizeof(*cfg));
	cf_config_load_or_exit(gw_table, GW_TABLE_N, cfg, PREFIX);
	cfg->url[GW_CLOCK]       = cfg->clock_url;
	cfg->url[GW_INGEST]      = cfg->ingest_url;
	cfg->url[GW_ANALYTICS]   = cfg->analytics_url;
	cfg->url[GW_MAINTENANCE] = cfg->maintenance_url;
	cfg->enabled[GW_CLOCK]   = 1;
	cfg->pub_url[GW_INGEST]      = cfg->ingest_pub;
	cfg->pub_url[GW_ANALYTICS]   = cfg->analytics_pub;
	cfg->pub_url[GW_MAINTENANCE] = cfg->maintenance_pub;

	rv = gw_addr_parse(cfg->addr, &ss, &sslen, why, sizeof(why));
	if (rv != CF_OK) {
		snprintf(err, sizeof(err),
		    PREFIX ": CRONFLEET_GATEWAY_ADDR: '%s' is not valid: %s",
		    cfg->addr, why);
	} else {
		rv = config_services(cfg, err, sizeof(err));
	}
	if (rv != CF_OK) {
		gw_config_fini(cfg);
	}
	cf_config_die_on_error(rv, err);
}

void
gw_config_fini(gw_config *cfg)
{
	cf_config_free(gw_table, GW_TABLE_N, cfg);
	for (int i = 0; i < GW_NSERVICES; i++) {
		cfg->url[i]     = NULL;
		cfg->pub_url[i] = NULL;
	}
}
