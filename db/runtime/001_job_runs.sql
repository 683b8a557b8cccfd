-- The job runtime's tables, created in every service's own schema
-- (search_path is that schema when this runs).

-- One row per run attempt. (job, fire_id, attempt) is unique: a tick
-- delivered twice, or seen by two replicas, inserts attempt 1 once; the
-- loser of that race records nothing and does no work.
CREATE TABLE job_runs (
    run_id        text PRIMARY KEY,
    job           text NOT NULL,
    fire_id       text NOT NULL,
    trigger       text NOT NULL
        CHECK (trigger IN ('schedule', 'manual', 'catchup', 'dependency')),
    attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    scheduled_for timestamptz NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'skipped',
                          'timed_out', 'interrupted')),
    error         text,
    result        jsonb,
    UNIQUE (job, fire_id, attempt)
);
CREATE INDEX job_runs_by_job_time ON job_runs (job, started_at DESC);
