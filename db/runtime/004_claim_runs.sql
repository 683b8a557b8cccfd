-- Claims several fires of one job in one statement and one transaction,
-- each exactly as claim_run would if it were called for them one after
-- another in this order (the first that may run runs; a later one finds
-- it running and, with p_mode 'skip', is recorded skipped). A worker
-- uses it for the ticks of a 'skip' job that wait together in its ready
-- queue (lib/cf_service_run.c): many manual triggers of a busy job then
-- cost one round trip and one commit, not one each.
--
-- Fires are passed to claim_run one by one while the job is free; once a
-- run of the job is in progress and p_mode is 'skip', the rest are all
-- skipped (or found duplicate) by one INSERT ... SELECT, which is what
-- claim_run would decide for each of them, at a fraction of the cost.
--
-- i is the fire's position in the arrays (1-based); outcome, started_ms
-- and other are claim_run's. The arrays must be of equal length.
CREATE FUNCTION claim_runs(p_run_ids text[], p_job text, p_fire_ids text[],
                           p_triggers text[], p_attempts integer[],
                           p_scheduled_ms bigint[], p_owner text,
                           p_mode text, p_stale_ms integer)
RETURNS TABLE (i integer, outcome text, started_ms bigint, other text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    n       integer := coalesce(cardinality(p_run_ids), 0);
    k       integer := 1;
    v_other text;
    v_fresh timestamptz := now() - p_stale_ms * interval '1 millisecond';
BEGIN
    IF coalesce(cardinality(p_fire_ids), 0) <> n
       OR coalesce(cardinality(p_triggers), 0) <> n
       OR coalesce(cardinality(p_attempts), 0) <> n
       OR coalesce(cardinality(p_scheduled_ms), 0) <> n THEN
        RAISE EXCEPTION 'claim_runs: arrays of different lengths';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(current_schema()),
                                  hashtext(p_job));
    WHILE k <= n LOOP
        IF p_mode = 'skip' THEN
            SELECT r.run_id INTO v_other FROM job_runs r
                WHERE r.job = p_job AND r.status = 'running'
                  AND coalesce(r.heartbeat_at, r.started_at) > v_fresh
                ORDER BY r.started_at LIMIT 1;
            EXIT WHEN FOUND;
        END IF;
        RETURN QUERY
            SELECT k, c.outcome, c.started_ms, c.other
            FROM claim_run(p_run_ids[k], p_job, p_fire_ids[k],
                           p_triggers[k], p_attempts[k],
                           p_scheduled_ms[k], p_owner, p_mode,
                           p_stale_ms) AS c;
        k := k + 1;
    END LOOP;
    IF k > n THEN
        RETURN;
    END IF;
    -- The job is busy: fires k..n are duplicates (claim_run's test, or
    -- the same fire and attempt earlier in this batch) or skipped. The
    -- INSERT runs to its end whether or not its rows are read.
    RETURN QUERY
    WITH u AS (
        SELECT g AS i, p_run_ids[g] AS r, p_fire_ids[g] AS f,
               p_triggers[g] AS t, p_attempts[g] AS a,
               p_scheduled_ms[g] AS s
        FROM generate_series(k, n) AS g
    ), d AS (
        SELECT u.i,
               EXISTS (SELECT 1 FROM job_runs r
                       WHERE r.job = p_job AND r.fire_id = u.f
                         AND (r.attempt >= u.a OR r.final
                              OR (r.status = 'running'
                                  AND coalesce(r.heartbeat_at, r.started_at)
                                      > v_fresh)))
               OR coalesce(max(u.a) OVER (PARTITION BY u.f ORDER BY u.i
                                          ROWS BETWEEN UNBOUNDED PRECEDING
                                                   AND 1 PRECEDING)
                           >= u.a, false)
                   AS dup
        FROM u
    ), ins AS (
        INSERT INTO job_runs (run_id, job, fire_id, trigger, attempt,
                scheduled_for, finished_at, status, error, owner, final)
            SELECT u.r, p_job, u.f, u.t, u.a,
                   timestamptz 'epoch' + u.s * interval '1 millisecond',
                   now(), 'skipped',
                   'overlap: run ' || v_other || ' in progress', p_owner,
                   true
            FROM u JOIN d USING (i) WHERE NOT d.dup
            ON CONFLICT DO NOTHING
            RETURNING 1
    )
    SELECT u.i,
           CASE WHEN d.dup THEN 'duplicate' ELSE 'skipped' END,
           NULL::bigint,
           CASE WHEN d.dup THEN NULL
                ELSE 'overlap: run ' || v_other || ' in progress' END
    FROM u JOIN d USING (i)
    ORDER BY u.i;
END;
$$;
