-- The job runtime's guarantees (docs/guarantees.md): who runs a row and
-- whether it is alive, whether another attempt follows, the catch-up
-- sweep's watermark, and the claim that decides overlap atomically.
-- search_path is the service's schema when this runs; the functions keep
-- it (SET search_path FROM CURRENT), so they work from any session.

-- owner: the process running the attempt (cf_service's instance id).
-- heartbeat_at: renewed every second while it runs; a running row whose
-- heartbeat is older than a few seconds belongs to a process that
-- stopped. final: no attempt follows this one (succeeded, skipped, or
-- failed with no retry left). next_attempt_at: when a failed attempt's
-- retry is due.
ALTER TABLE job_runs
    ADD COLUMN owner           text,
    ADD COLUMN heartbeat_at    timestamptz,
    ADD COLUMN final           boolean NOT NULL DEFAULT false,
    ADD COLUMN next_attempt_at timestamptz;

-- Rows from before: nothing retried them, so every ended one is final.
UPDATE job_runs SET final = true
    WHERE status IN ('succeeded', 'skipped', 'failed', 'timed_out');

-- chained: the clock has been told of this success ("chain"), so the
-- jobs after this one were fired. A succeeded row still false (the
-- process died first, or the clock could not be reached) is told again
-- by the sweep. Rows from before count as told.
ALTER TABLE job_runs ADD COLUMN chained boolean NOT NULL DEFAULT true;
ALTER TABLE job_runs ALTER COLUMN chained SET DEFAULT false;
CREATE INDEX job_runs_unchained ON job_runs (finished_at)
    WHERE status = 'succeeded' AND NOT chained;

-- The sweep looks runs up by fire, and a job's latest fire that ran;
-- the claim looks for running ones.
CREATE INDEX job_runs_by_fire ON job_runs (fire_id);
CREATE INDEX job_runs_by_job_fire_time ON job_runs (job, scheduled_for);
CREATE INDEX job_runs_running ON job_runs (job) WHERE status = 'running';

-- Small state of the runtime shared by replicas. 'sweep_after_seq': the
-- clock ledger's seq up to which every fire of this service is settled
-- (the sweep asks the clock only for later ones).
CREATE TABLE runtime_state (
    key        text PRIMARY KEY,
    value      bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The fire each queue_one job holds back while a run is in progress (at
-- most one per job, whichever replica holds it in memory): a second fire
-- that finds the job busy is skipped. The row goes when its fire is
-- claimed; one whose fire has ended otherwise frees the slot too.
CREATE TABLE job_queue (
    job       text PRIMARY KEY,
    fire_id   text NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);

-- Claims attempt p_attempt of a fire, deciding overlap in one call under
-- a per-(schema, job) transaction lock, so that two replicas, or a tick
-- and the sweep, cannot both decide "nothing is running".
--
-- outcome:
--   'duplicate'  the fire already has this attempt or a later one, a
--                final row, or a run in progress: nothing done;
--   'skipped'    p_mode 'skip' and another run of the job is in
--                progress (running, heartbeat younger than p_stale_ms):
--                a skipped row recorded, other = its reason
--                ('overlap: run <run_id> in progress');
--   'busy'       a run is in progress and p_mode is 'wait', or
--                'queue_one' and the job's queue slot is free or this
--                fire's (it takes the slot): other = that run; the
--                caller holds the fire until the job is free;
--   'skipped'    also for 'queue_one' when another fire holds the slot:
--                reason 'overlap: one fire already queued';
--   'run'        the row is inserted 'running', owned by p_owner; the
--                caller runs the job. started_ms = its started_at.
-- p_mode 'allow' never looks at other runs.
CREATE FUNCTION claim_run(p_run_id text, p_job text, p_fire_id text,
                          p_trigger text, p_attempt integer,
                          p_scheduled_ms bigint, p_owner text,
                          p_mode text, p_stale_ms integer)
RETURNS TABLE (outcome text, started_ms bigint, other text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    v_other   text;
    v_queued  text;
    v_reason  text;
    v_started timestamptz;
    v_fresh   timestamptz := now() - p_stale_ms * interval '1 millisecond';
BEGIN
    IF p_mode NOT IN ('skip', 'queue_one', 'wait', 'allow') THEN
        RAISE EXCEPTION 'claim_run: unknown mode %', p_mode;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(current_schema()),
                                  hashtext(p_job));
    IF EXISTS (SELECT 1 FROM job_runs r
               WHERE r.job = p_job AND r.fire_id = p_fire_id
                 AND (r.attempt >= p_attempt OR r.final
                      OR (r.status = 'running'
                          AND coalesce(r.heartbeat_at, r.started_at)
                              > v_fresh))) THEN
        RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF p_mode <> 'allow' THEN
        SELECT r.run_id INTO v_other FROM job_runs r
            WHERE r.job = p_job AND r.status = 'running'
              AND coalesce(r.heartbeat_at, r.started_at) > v_fresh
            ORDER BY r.started_at LIMIT 1;
        IF FOUND THEN
            IF p_mode = 'queue_one' THEN
                SELECT q.fire_id INTO v_queued FROM job_queue q
                    WHERE q.job = p_job
                      AND q.fire_id <> p_fire_id
                      AND NOT EXISTS (SELECT 1 FROM job_runs r
                                      WHERE r.job = p_job
                                        AND r.fire_id = q.fire_id
                                        AND (r.final
                                             OR r.status = 'running'));
                IF NOT FOUND THEN
                    INSERT INTO job_queue (job, fire_id)
                        VALUES (p_job, p_fire_id)
                        ON CONFLICT (job) DO UPDATE
                            SET fire_id = excluded.fire_id,
                                queued_at = now();
                    RETURN QUERY SELECT 'busy'::text, NULL::bigint, v_other;
                    RETURN;
                END IF;
                v_reason := 'overlap: one fire already queued';
            ELSIF p_mode = 'skip' THEN
                v_reason := 'overlap: run ' || v_other || ' in progress';
            ELSE
                RETURN QUERY SELECT 'busy'::text, NULL::bigint, v_other;
                RETURN;
            END IF;
            INSERT INTO job_runs (run_id, job, fire_id, trigger,
                    attempt, scheduled_for, finished_at, status, error,
                    owner, final)
                VALUES (p_run_id, p_job, p_fire_id, p_trigger,
                    p_attempt, timestamptz 'epoch'
                        + p_scheduled_ms * interval '1 millisecond',
                    now(), 'skipped', v_reason, p_owner, true)
                ON CONFLICT DO NOTHING;
            RETURN QUERY SELECT 'skipped'::text, NULL::bigint, v_reason;
            RETURN;
        END IF;
    END IF;
    INSERT INTO job_runs (run_id, job, fire_id, trigger, attempt,
            scheduled_for, status, owner, heartbeat_at, final)
        VALUES (p_run_id, p_job, p_fire_id, p_trigger, p_attempt,
            timestamptz 'epoch' + p_scheduled_ms * interval '1 millisecond',
            'running', p_owner, now(), false)
        ON CONFLICT DO NOTHING
        RETURNING started_at INTO v_started;
    IF v_started IS NULL THEN
        RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    DELETE FROM job_queue q WHERE q.job = p_job AND q.fire_id = p_fire_id;
    RETURN QUERY SELECT 'run'::text,
        (extract(epoch FROM v_started) * 1000)::bigint, NULL::text;
END;
$$;
