/*
 * config.c - the simulator's configuration table (STYLE.md: config is a
 * table), plus the checks a row cannot express: the listen address and
 * the two instants. Every credential has a test default, so that the
 * simulator runs with no configuration at all; each can be changed to
 * check that an adapter sends what it is given.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cf_config.h"
#include "cf_log.h"
#include "sim.h"

#define PREFIX "cronfleet-vendor-sim"
#define S CF_CONFIG_SECRET

static const cf_config_item vs_table[] = {
	CF_CFG_ENUM("CRONFLEET_LOG_LEVEL", cf_log_level_names, "info",
	    vs_config, log_level, "Least level logged."),
	CF_CFG_STRING("CRONFLEET_SIM_ADDR", "127.0.0.1:7200", 0, vs_config,
	    addr, "HTTP listen address, host:port (loopback is meant)."),
	CF_CFG_INT("CRONFLEET_SIM_SEED", 0, 0, "42", vs_config, seed,
	    "Seed of every generated value and of the token signing key."),
	CF_CFG_STRING("CRONFLEET_SIM_NOW", NULL, 0, vs_config, now,
	    "Frozen virtual time (RFC 3339) for tests; unset: the real "
	    "clock. A request's X-Sim-Now header and PUT /_sim/clock "
	    "override it."),
	CF_CFG_STRING("CRONFLEET_SIM_EPOCH", "2024-01-01T00:00:00Z", 0,
	    vs_config, epoch,
	    "Nothing exists before this instant (readings, orders, plants)."),
	CF_CFG_DURATION("CRONFLEET_SIM_TOKEN_TTL", 1000, 30LL * 86400000, "1h",
	    vs_config, token_ttl_ms,
	    "Lifetime of issued access tokens (refresh tokens: ten times)."),
	CF_CFG_INT("CRONFLEET_SIM_SITES", 1, 1000, "3", vs_config, sites,
	    "Systems, sites or meters per energy vendor."),
	CF_CFG_INT("CRONFLEET_SIM_PLANTS", 0, 100000, "40", vs_config, plants,
	    "Plants per Solarman or Sungrow account (all there by then)."),
	CF_CFG_DURATION("CRONFLEET_SIM_PLANT_INTERVAL", 1000, 365LL * 86400000,
	    "1d", vs_config, plant_interval_ms,
	    "A new plant is commissioned this often after the epoch."),
	CF_CFG_INT("CRONFLEET_SIM_STORES", 1, 100, "2", vs_config, stores,
	    "EcoManager stores (store-1 ... store-N)."),
	CF_CFG_DURATION("CRONFLEET_SIM_ORDER_INTERVAL", 1000, 86400000, "10m",
	    vs_config, order_interval_ms,
	    "Each store receives about one order this often."),
	CF_CFG_INT("CRONFLEET_SIM_WATTTIME_RATE_LIMIT", 1, 1000000, "3000",
	    vs_config, watttime_rate_limit,
	    "WattTime requests allowed per 5 minutes before 429."),
	CF_CFG_STRING("CRONFLEET_SIM_ADMIN_TOKEN", NULL, S, vs_config,
	    admin_token,
	    "When set, /_sim needs Authorization: Bearer <this>."),
	CF_CFG_STRING("CRONFLEET_SIM_ENPHASE_API_KEY", "sim-enphase-key", S,
	    vs_config, enphase_api_key, "Enphase application API key."),
	CF_CFG_STRING("CRONFLEET_SIM_ENPHASE_CLIENT_ID", "sim-enphase-client",
	    0, vs_config, enphase_client_id, "Enphase OAuth client id."),
	CF_CFG_STRING("CRONFLEET_SIM_ENPHASE_CLIENT_SECRET",
	    "sim-enphase-secret", S, vs_config, enphase_client_secret,
	    "Enphase OAuth client secret."),
	CF_CFG_STRING("CRONFLEET_SIM_ENPHASE_REFRESH_TOKEN",
	    "sim-enphase-refresh", S, vs_config, enphase_refresh_token,
	    "A refresh token Enphase accepts besides those it issued (what "
	    "an installer's authorization step would have given)."),
	CF_CFG_STRING("CRONFLEET_SIM_SOLAREDGE_API_KEY", "sim-solaredge-key",
	    S, vs_config, solaredge_api_key, "SolarEdge account API key."),
	CF_CFG_STRING("CRONFLEET_SIM_TESLA_CLIENT_ID", "sim-tesla-client", 0,
	    vs_config, tesla_client_id, "Tesla Fleet API client id."),
	CF_CFG_STRING("CRONFLEET_SIM_TESLA_REFRESH_TOKEN", "sim-tesla-refresh",
	    S, vs_config, tesla_refresh_token,
	    "A refresh token Tesla accepts besides those it issued."),
	CF_CFG_STRING("CRONFLEET_SIM_UTILITYAPI_TOKEN", "sim-utilityapi-token",
	    S, vs_config, utilityapi_token, "UtilityAPI API token."),
	CF_CFG_STRING("CRONFLEET_SIM_WATTTIME_USER", "sim", 0, vs_config,
	    watttime_user, "WattTime username."),
	CF_CFG_STRING("CRONFLEET_SIM_WATTTIME_PASSWORD", "sim-watttime-pass",
	    S, vs_config, watttime_password, "WattTime password."),
	CF_CFG_STRING("CRONFLEET_SIM_ELECTRICITYMAPS_TOKEN",
	    "sim-electricitymaps-token", S, vs_config, electricitymaps_token,
	    "Electricity Maps auth-token."),
	CF_CFG_STRING("CRONFLEET_SIM_SOLARMAN_APP_ID", "sim-solarman-app", 0,
	    vs_config, solarman_app_id, "Solarman appId."),
	CF_CFG_STRING("CRONFLEET_SIM_SOLARMAN_APP_SECRET",
	    "sim-solarman-secret", S, vs_config, solarman_app_secret,
	    "Solarman appSecret."),
	CF_CFG_STRING("CRONFLEET_SIM_SOLARMAN_EMAIL", "sim@example.com", 0,
	    vs_config, solarman_email, "Solarman account e-mail."),
	CF_CFG_STRING("CRONFLEET_SIM_SOLARMAN_PASSWORD", "sim-solarman-pass",
	    S, vs_config, solarman_password,
	    "Solarman account password (clients send its SHA-256)."),
	CF_CFG_STRING("CRONFLEET_SIM_SUNGROW_APPKEY", "sim-sungrow-appkey", 0,
	    vs_config, sungrow_appkey, "iSolarCloud appkey."),
	CF_CFG_STRING("CRONFLEET_SIM_SUNGROW_ACCESS_KEY", "sim-sungrow-access",
	    S, vs_config, sungrow_access_key,
	    "iSolarCloud secret key (x-access-key header)."),
	CF_CFG_STRING("CRONFLEET_SIM_SUNGROW_USER", "sim", 0, vs_config,
	    sungrow_user, "iSolarCloud user_account."),
	CF_CFG_STRING("CRONFLEET_SIM_SUNGROW_PASSWORD", "sim-sungrow-pass", S,
	    vs_config, sungrow_password, "iSolarCloud user_password."),
	CF_CFG_STRING("CRONFLEET_SIM_ECOMANAGER_TOKEN", "sim-ecomanager-token",
	    S, vs_config, ecomanager_token,
	    "EcoManager store API token (all stores)."),
	CF_CFG_STRING("CRONFLEET_SIM_MAYSTRO_API_KEY", "sim-maystro-key", S,
	    vs_config, maystro_api_key, "Maystro API key."),
	CF_CFG_STRING("CRONFLEET_SIM_MAYSTRO_RENAME", NULL, 0, vs_config,
	    maystro_rename,
	    "OLD=NEW: Maystro sends the status OLD as NEW (a carrier "
	    "changing its words), e.g. \"EN LIVRAISON=EN COURS\"."),
};

#define VS_TABLE_N (sizeof(vs_table) / sizeof(vs_table[0]))

static void
config_die(const char *var, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", PREFIX, var, why);
	exit(2);
}

/* host:port, resolvable, port 1-65535. */
static void
config_addr(const char *addr)
{
	char            host[256];
	const char     *colon = strrchr(addr, ':');
	char           *end;
	long            port;
	struct addrinfo hints, *res = NULL;
	size_t          hlen;

	if (colon == NULL || (hlen = (size_t) (colon - addr)) == 0
	    || hlen >= sizeof(host)) {
		config_die("CRONFLEET_SIM_ADDR", "expected host:port");
	}
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1
	    || port > 65535) {
		config_die(
		    "CRONFLEET_SIM_ADDR", "expected a port from 1 to 65535");
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family   = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0) {
		config_die("CRONFLEET_SIM_ADDR",
		    "the host is not an IPv4 address or a known name");
	}
	freeaddrinfo(res);
}

void
vs_config_load(vs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cf_config_load_or_exit(vs_table, VS_TABLE_N, cfg, PREFIX);
	config_addr(cfg->addr);
	cfg->now_s = -1;
	if (cfg->now != NULL && vs_time_parse(cfg->now, &cfg->now_s) != 0) {
		config_die("CRONFLEET_SIM_NOW",
		    "expected an RFC 3339 instant, e.g. 2025-06-01T12:00:00Z");
	}
	if (vs_time_parse(cfg->epoch, &cfg->epoch_s) != 0) {
		config_die("CRONFLEET_SIM_EPOCH",
		    "expected an RFC 3339 instant, e.g. 2024-01-01T00:00:00Z");
	}
	if (cfg->maystro_rename != NULL && cfg->maystro_rename[0] != '\0') {
		const char *eq = strchr(cfg->maystro_rename, '=');
		if (eq == NULL || eq == cfg->maystro_rename || eq[1] == '\0'
		    || strlen(eq + 1) > 40) {
			config_die("CRONFLEET_SIM_MAYSTRO_RENAME",
			    "expected OLD=NEW, e.g. \"EN LIVRAISON=EN COURS\" "
			    "(NEW at most 40 bytes)");
		}
	}
}

void
vs_config_fini(vs_config *cfg)
{
	cf_config_free(vs_table, VS_TABLE_N, cfg);
}
