-- The Fastify peer's tables (bench/gateway). Applied by bench/gateway/run
-- with psql -v schema=<name>; the schema is dropped and made again on
-- each run. The shapes follow what cronfleet keeps for the same answers:
--   jobs      what the clock holds in memory for `jobs` (schedule, zone,
--             policies, next fire), here as a table, since a Node app has
--             no clock process to ask;
--   job_runs  db/runtime/001_job_runs.sql + 002_guarantees.sql (same
--             columns, same index the status query walks);
--   fires     the manual fires POST trigger records, like the clock's
--             ledger (clock.fires): one durable row per trigger.

DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET search_path TO :"schema";

CREATE TABLE jobs (
    job               text PRIMARY KEY,
    service           text NOT NULL,
    schedule          text NOT NULL,
    tz                text NOT NULL DEFAULT 'UTC',
    enabled           boolean NOT NULL DEFAULT true,
    paused            boolean NOT NULL DEFAULT false,
    next_fire         timestamptz,
    misfire           text NOT NULL DEFAULT 'once',
    catchup_window_ms bigint NOT NULL DEFAULT 3600000,
    overlap           text NOT NULL DEFAULT 'skip',
    timeout_ms        bigint NOT NULL DEFAULT 300000,
    priority          text NOT NULL DEFAULT 'medium',
    retries           integer NOT NULL DEFAULT 2,
    after_job         text,
    dst_gap           text NOT NULL DEFAULT 'shift',
    dst_repeat        text NOT NULL DEFAULT 'auto'
);

CREATE TABLE job_runs (
    run_id          text PRIMARY KEY,
    job             text NOT NULL,
    fire_id         text NOT NULL,
    trigger         text NOT NULL,
    attempt         integer NOT NULL DEFAULT 1,
    scheduled_for   timestamptz NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL,
    error           text,
    result          jsonb,
    owner           text,
    heartbeat_at    timestamptz,
    final           boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz,
    chained         boolean NOT NULL DEFAULT false,
    UNIQUE (job, fire_id, attempt)
);
CREATE INDEX job_runs_by_job_time ON job_runs (job, started_at DESC);

-- A typical app keys its rows with a generated id; fire_id is kept for
-- the answer's shape only (not unique: two triggers in one millisecond
-- are two rows).
CREATE TABLE fires (
    id            bigserial PRIMARY KEY,
    job           text NOT NULL,
    service       text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    fire_id       text NOT NULL,
    trigger       text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fires_by_job_time ON fires (job, scheduled_for);
