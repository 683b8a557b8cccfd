/*
 * config.c - the ingest service's settings, one table (cf_config.h).
 *
 * The vendors an organisation connects (sources, plant vendors, stores)
 * are rows managed through the REST API; what is here is account-wide:
 * the carbon providers and the carrier (the seeds' .env variables), the
 * HTTP client's limits, and the key that seals stored credentials.
 */
#include <stdlib.h>
#include <string.h>

#include "cf_config.h"
#include "ingest.h"

static const char *const http_schemes[] = { "http", "https", NULL };

static const cf_config_item ingest_table[] = {
	CF_CFG_INT("CRONFLEET_INGEST_MAX_IN_FLIGHT", 1, 64, "5", ingest_cfg,
	    max_in_flight,
	    "Vendor requests in flight at once, all jobs together."),
	CF_CFG_DURATION("CRONFLEET_INGEST_HTTP_TIMEOUT", 100, 600000, "30s",
	    ingest_cfg, http_timeout_ms,
	    "Timeout of one attempt of a vendor request."),
	CF_CFG_DURATION("CRONFLEET_INGEST_HTTP_DEADLINE", 100, 3600000, "2m",
	    ingest_cfg, http_deadline_ms,
	    "All attempts and waits of one vendor request."),
	CF_CFG_INT("CRONFLEET_INGEST_HTTP_ATTEMPTS", 1, 10, "4", ingest_cfg,
	    http_attempts,
	    "Tries of one vendor request (timeouts, 429, 5xx), the first "
	    "included."),
	CF_CFG_DURATION("CRONFLEET_INGEST_BACKOFF_BASE", 1, 60000, "500ms",
	    ingest_cfg, backoff_base_ms,
	    "First backoff bound between tries (full jitter, doubling)."),
	CF_CFG_DURATION("CRONFLEET_INGEST_ENERGY_LOOKBACK", 900000,
	    31LL * 86400000, "1d", ingest_cfg, energy_lookback_ms,
	    "How far back the first sync of a new energy source reaches."),
	CF_CFG_URL("WATTTIME_BASE_URL", http_schemes,
	    "https://api.watttime.org", 0, ingest_cfg, watttime_url,
	    "WattTime API (v3)."),
	CF_CFG_STRING("WATTTIME_USERNAME", NULL, 0, ingest_cfg, watttime_user,
	    "WattTime account; unset: carbon-sync uses Electricity Maps "
	    "only."),
	CF_CFG_STRING("WATTTIME_PASSWORD", NULL, CF_CONFIG_SECRET, ingest_cfg,
	    watttime_password, "WattTime password."),
	CF_CFG_INT("CRONFLEET_WATTTIME_MIN_REMAINING", 0, 1000000, "50",
	    ingest_cfg, watttime_min_remaining,
	    "When WattTime says fewer requests than this are left in its "
	    "rate-limit window, carbon-sync uses Electricity Maps."),
	CF_CFG_URL("ELECTRICITYMAPS_BASE_URL", http_schemes,
	    "https://api.electricitymap.org", 0, ingest_cfg, emaps_url,
	    "Electricity Maps API (v3)."),
	CF_CFG_STRING("ELECTRICITYMAPS_TOKEN", NULL, CF_CONFIG_SECRET,
	    ingest_cfg, emaps_token,
	    "Electricity Maps auth-token; unset: no fallback."),
	CF_CFG_URL("MAYSTRO_BASE_URL", http_schemes, "https://api.maystro.com",
	    0, ingest_cfg, maystro_url, "Maystro API (shipping-sync)."),
	CF_CFG_STRING("MAYSTRO_API_KEY", NULL, CF_CONFIG_SECRET, ingest_cfg,
	    maystro_key,
	    "Maystro API key; unset: shipping-sync fails "
	    "saying so."),
	CF_CFG_INT("CRONFLEET_ECOMANAGER_PAGE_SIZE", 1, 100, "100", ingest_cfg,
	    order_page_size,
	    "Orders per page asked of EcoManager (order-sync)."),
	CF_CFG_INT("CRONFLEET_MAYSTRO_PAGE_SIZE", 1, 100, "100", ingest_cfg,
	    shipping_page_size,
	    "Parcels per page asked of Maystro (shipping-sync)."),
	CF_CFG_INT("CRONFLEET_SHIPPING_SYNC_CONCURRENCY", 1, 32, "10",
	    ingest_cfg, shipping_concurrency,
	    "Maystro pages fetched at once (threads; the in-flight limit "
	    "still holds)."),
	CF_CFG_BOOL("ENABLE_PLANT_SYNC_CRON", "true", ingest_cfg,
	    plant_sync_enabled,
	    "false: plant-sync has no schedule (manual and /api/cron "
	    "fires only)."),
	CF_CFG_STRING("PLANT_SYNC_CRON_SCHEDULE", NULL, 0, ingest_cfg,
	    plant_sync_schedule,
	    "plant-sync's cron expression (default */15 * * * *); the clock "
	    "checks it."),
	CF_CFG_INT("CRONFLEET_PLANT_SYNC_CONCURRENCY", 1, 32, "5", ingest_cfg,
	    plant_concurrency, "Plant vendors synced at once."),
	CF_CFG_INT("CRONFLEET_ENERGY_SYNC_CONCURRENCY", 1, 32, "5", ingest_cfg,
	    energy_concurrency,
	    "Energy sources energy-sync syncs at once (each on its own "
	    "database connection; vendor requests still share "
	    "CRONFLEET_INGEST_MAX_IN_FLIGHT)."),
	CF_SECRET_CFG_ITEMS(ingest_cfg, secret_key, secret_key_previous),
};

#define INGEST_NITEMS (sizeof(ingest_table) / sizeof(ingest_table[0]))

void
ingest_config_load_or_exit(ingest_cfg *cfg)
{
	cf_config_load_or_exit(
	    ingest_table, INGEST_NITEMS, cfg, "cronfleet-ingest");
}

void
ingest_config_free(ingest_cfg *cfg)
{
	cf_config_free(ingest_table, INGEST_NITEMS, cfg);
}
