-- The ingest service's own tables (search_path is its schema, "ingest" by
-- default). Vendor data lands here; credentials and tokens are stored
-- sealed with AES-256-GCM (lib/cf_secret.h): a dump of this schema alone
-- reveals no secret. A sealed value is bound to its row and column
-- through the associated data "<table>:<column>:<id>" (tokens:
-- "tokens:<column>:<owner>:<owner_key>"), so it cannot be moved to
-- another row.

-- An organisation owns sources, plant vendors, stores and agents (the
-- seeds' multi-organisation plant sync).
CREATE TABLE organizations (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- An energy source: one system / site / energy site / meter of one
-- vendor account (energy-sync). credentials: sealed JSON, the adapter's
-- keys (api_key, client_id, client_secret, refresh_token, token...).
-- grid_region / grid_zone: the site's grid for carbon-sync (a WattTime
-- region such as CAISO_NORTH, an Electricity Maps zone such as US-CAL-CISO).
CREATE TABLE sources (
    id           bigserial PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES organizations (id)
                     ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    vendor       text NOT NULL
        CHECK (vendor IN ('enphase', 'solaredge', 'tesla', 'utilityapi')),
    base_url     text NOT NULL,
    site_id      text NOT NULL CHECK (length(site_id) BETWEEN 1 AND 200),
    credentials  text,
    grid_region  text,
    grid_zone    text,
    active       boolean NOT NULL DEFAULT true,
    -- Incremental sync: the start of the newest interval stored (the next
    -- fetch begins there, so a reading revised by the vendor is re-read).
    cursor_at    timestamptz,
    last_sync_at timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

-- Energy measurements: one value per source, metric and interval start.
-- metric: production_wh, consumption_wh, grid_import_wh, grid_export_wh,
-- battery_charge_wh, battery_discharge_wh, self_consumption_wh, power_w.
-- No foreign key: bulk COPY would check each row through a trigger;
-- deleting a source deletes its measurements in the same transaction.
CREATE TABLE measurements (
    source_id bigint NOT NULL,
    metric    text NOT NULL,
    ts        timestamptz NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (source_id, metric, ts)
);

-- Tokens of every kind of owner: a source (Enphase, Tesla), a plant
-- vendor (Solarman, Sungrow), a provider account ('provider', 'watttime').
-- access_token / refresh_token sealed; expires_at as the vendor said (a
-- JWT's exp is also read: lib/cf_secret.h, cf_token_expired).
CREATE TABLE tokens (
    owner         text NOT NULL
        CHECK (owner IN ('source', 'vendor', 'store', 'provider')),
    owner_key     text NOT NULL,
    access_token  text,
    refresh_token text,
    expires_at    timestamptz,
    metadata      jsonb NOT NULL DEFAULT '{}',
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    refreshes     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, owner_key)
);

-- Grid carbon intensity forecasts per region (a source's grid_region),
-- whichever provider answered: intensity normalised to gCO2eq/kWh, the
-- provider's own value and unit kept beside it.
CREATE TABLE carbon_forecasts (
    region       text NOT NULL,
    point_time   timestamptz NOT NULL,
    provider     text NOT NULL CHECK (provider IN ('watttime',
                                                   'electricitymaps')),
    signal       text NOT NULL,
    intensity    double precision NOT NULL,
    raw_value    double precision NOT NULL,
    raw_unit     text NOT NULL,
    generated_at timestamptz,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, point_time)
);

-- Plant vendors: a Solarman or Sungrow account of an organisation
-- (plant-sync). credentials: sealed JSON (app_id, app_secret, email,
-- password; appkey, access_key, user, password).
CREATE TABLE vendors (
    id           bigserial PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES organizations (id)
                     ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('solarman', 'sungrow')),
    base_url     text NOT NULL,
    credentials  text,
    active       boolean NOT NULL DEFAULT true,
    last_sync_at timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

CREATE TABLE plants (
    id                bigserial PRIMARY KEY,
    vendor_id         bigint NOT NULL REFERENCES vendors (id)
                          ON DELETE CASCADE,
    org_id            bigint NOT NULL,
    external_id       text NOT NULL,
    name              text NOT NULL,
    latitude          double precision,
    longitude         double precision,
    timezone          text,
    capacity_kw       double precision,
    status            text,
    current_power_w   double precision,
    today_energy_kwh  double precision,
    total_energy_kwh  double precision,
    installed_at      timestamptz,
    vendor_updated_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vendor_id, external_id)
);

-- EcoManager stores (order-sync). credentials: sealed JSON {"token"}.
-- last_order_id: the highest vendor order id taken in, where the next
-- binary search starts from.
CREATE TABLE stores (
    id            bigserial PRIMARY KEY,
    org_id        bigint NOT NULL REFERENCES organizations (id)
                      ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    base_url      text NOT NULL,
    credentials   text,
    active        boolean NOT NULL DEFAULT true,
    last_order_id bigint NOT NULL DEFAULT 0,
    last_sync_at  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

-- Agents that new orders are assigned to, round-robin among the
-- available ones (the one assigned longest ago first).
CREATE TABLE agents (
    id               bigserial PRIMARY KEY,
    org_id           bigint NOT NULL REFERENCES organizations (id)
                         ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email            text,
    available        boolean NOT NULL DEFAULT true,
    active           boolean NOT NULL DEFAULT true,
    assigned_total   bigint NOT NULL DEFAULT 0,
    last_assigned_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);

-- Orders from EcoManager; shipping columns from Maystro (shipping-sync).
-- shipping_status: ours (PENDING, PREPARING, SHIPPED, OUT_FOR_DELIVERY,
-- DELIVERED, RETURNED, CANCELLED); shipping_vendor_status: Maystro's own
-- text (LIVRÉ...). NULL shipping_status: not yet with the carrier.
CREATE TABLE orders (
    id                     bigserial PRIMARY KEY,
    store_id               bigint NOT NULL REFERENCES stores (id)
                               ON DELETE CASCADE,
    external_id            bigint NOT NULL,
    reference              text NOT NULL,
    vendor_status          text,
    customer_name          text,
    customer_phone         text,
    wilaya                 text,
    commune                text,
    address                text,
    items                  jsonb NOT NULL DEFAULT '[]',
    total                  numeric(14, 2),
    ordered_at             timestamptz,
    agent_id               bigint REFERENCES agents (id) ON DELETE SET NULL,
    assigned_at            timestamptz,
    tracking_id            text,
    shipping_status        text,
    shipping_vendor_status text,
    shipping_updated_at    timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (store_id, external_id),
    UNIQUE (reference)
);
CREATE INDEX orders_open ON orders (id)
    WHERE shipping_status IS NULL
       OR shipping_status NOT IN ('DELIVERED', 'RETURNED', 'CANCELLED');
