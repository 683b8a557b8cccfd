-- The clock's own state: the schedules as changed at runtime, and the fire
-- ledger. Applied with search_path set to the clock's schema.

-- One row per job the clock has been told about. A schedule changed at
-- runtime ("schedule <job> '<expr>'") or a pause is written here, so it
-- survives a restart; the services' registrations only fill the defaults.
CREATE TABLE schedules (
    job         text PRIMARY KEY,
    service     text NOT NULL,
    expr        text NOT NULL,
    tz          text NOT NULL DEFAULT '',
    paused      boolean NOT NULL DEFAULT false,
    overridden  boolean NOT NULL DEFAULT false, -- expr set at runtime
    changed_by  text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- Every fire, written before its tick is published: a service that was
-- down asks for the fires it has no run for, and the unique key stops a
-- second clock (or a retry) from publishing the same fire twice.
CREATE TABLE fires (
    job           text NOT NULL,
    service       text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    fire_id       text NOT NULL UNIQUE,
    trigger       text NOT NULL
        CHECK (trigger IN ('schedule', 'manual', 'catchup', 'dependency')),
    epoch         bigint NOT NULL DEFAULT 0,
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, scheduled_for)
);
CREATE INDEX fires_by_service_time ON fires (service, scheduled_for);

-- Whole-scheduler switches (running/stopped), kept across restarts.
CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
