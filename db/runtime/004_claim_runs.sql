-- Claims several fires of one job in one statement and one transaction,
-- each exactly as claim_run would if it were called for them one after
-- another in this order (the first that may run runs; a later one finds
-- it running and, with p_mode 'skip', is recorded skipped). A worker
-- uses it for the ticks of a 'skip' job that wait together in its ready
-- queue (lib/cf_service_run.c): many manual triggers of a busy job then
-- cost one round trip and one commit, not one each.
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
DECLARE
    n integer := coalesce(cardinality(p_run_ids), 0);
BEGIN
    IF coalesce(cardinality(p_fire_ids), 0) <> n
       OR coalesce(cardinality(p_triggers), 0) <> n
       OR coalesce(cardinality(p_attempts), 0) <> n
       OR coalesce(cardinality(p_scheduled_ms), 0) <> n THEN
        RAISE EXCEPTION 'claim_runs: arrays of different lengths';
    END IF;
    FOR k IN 1 .. n LOOP
        RETURN QUERY
            SELECT k, c.outcome, c.started_ms, c.other
            FROM claim_run(p_run_ids[k], p_job, p_fire_ids[k],
                           p_triggers[k], p_attempts[k],
                           p_scheduled_ms[k], p_owner, p_mode,
                           p_stale_ms) AS c;
    END LOOP;
END;
$$;
