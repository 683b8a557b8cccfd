-- The ledger as history (services/clock/ledger.c, ledger_history): newest
-- first by the time a fire was recorded, then seq, a unique pair that a
-- page cursor can stand on. By job for `history <job>`; skipped only for
-- the gateway, which merges the skipped fires with the services' runs on
-- every history page (partial: skipped fires are few, so these cost
-- little on the ledger's writes).
CREATE INDEX fires_by_job_recorded ON fires (job, published_at, seq);
CREATE INDEX fires_skipped_recorded ON fires (published_at, seq)
    WHERE outcome = 'skipped';
CREATE INDEX fires_skipped_by_job ON fires (job, published_at, seq)
    WHERE outcome = 'skipped';
