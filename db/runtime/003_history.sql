-- History paging (lib/cf_service_history.c): a page is the runs before a
-- cursor (started_at, run_id), newest first, of one job or of all. The
-- pair is unique where started_at alone is not, and run_id compares
-- byte-wise (COLLATE "C") so that the gateway, merging pages of several
-- services, orders them as each service does. Scanned backwards, these
-- indexes give the order and the start of each page; `counts` reads the
-- last day's range of the first.
CREATE INDEX job_runs_by_time ON job_runs (started_at, run_id COLLATE "C");
CREATE INDEX job_runs_by_job_started
    ON job_runs (job, started_at, run_id COLLATE "C");
-- Superseded by job_runs_by_job_started (same leading columns).
DROP INDEX job_runs_by_job_time;
