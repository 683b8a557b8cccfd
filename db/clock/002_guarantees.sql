-- Issue 4, the guarantees (docs/guarantees.md): every fire of every job is
-- in the ledger, published or skipped with its reason, in publishing
-- order; and each job's policies, as its service registered them.
-- Applied with search_path set to the clock's schema.

-- A fire that was not published (a paused job, a stopped scheduler, a
-- DST gap under the skip policy, a misfire) is recorded all the same,
-- with why, so that "no fire lost" can be checked over the ledger.
ALTER TABLE fires
    ADD COLUMN outcome text NOT NULL DEFAULT 'published'
        CHECK (outcome IN ('published', 'skipped')),
    ADD COLUMN reason text,
    ADD CONSTRAINT fires_skipped_has_reason
        CHECK (outcome <> 'skipped' OR reason IS NOT NULL);

-- seq is the publishing order: services page through the fires of their
-- jobs with it ("fires <service> <after_seq>"). Rows already there get
-- numbers in no particular order; there are none in a fresh schema.
ALTER TABLE fires ADD COLUMN seq bigserial;
ALTER TABLE fires ADD CONSTRAINT fires_seq_key UNIQUE (seq);
CREATE INDEX fires_by_service_seq ON fires (service, seq);

-- The policies a service sends with its registration (stored on every
-- registration, so that a clock that starts alone applies them to the
-- backlog before the services register again). Defaults as in
-- docs/guarantees.md. retries NULL: by priority (critical 3, high 2,
-- medium 2, low 1). after_job: the parent whose success chains this job.
ALTER TABLE schedules
    ADD COLUMN misfire text NOT NULL DEFAULT 'once'
        CHECK (misfire IN ('once', 'all', 'skip')),
    ADD COLUMN window_ms bigint NOT NULL DEFAULT 3600000
        CHECK (window_ms >= 0),
    ADD COLUMN overlap text NOT NULL DEFAULT 'skip'
        CHECK (overlap IN ('skip', 'queue_one', 'allow')),
    ADD COLUMN timeout_ms bigint NOT NULL DEFAULT 300000
        CHECK (timeout_ms > 0),
    ADD COLUMN priority text NOT NULL DEFAULT 'medium'
        CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    ADD COLUMN retries integer CHECK (retries >= 0),
    ADD COLUMN after_job text,
    ADD COLUMN dst_gap text NOT NULL DEFAULT 'shift'
        CHECK (dst_gap IN ('shift', 'skip', 'at-transition')),
    ADD COLUMN dst_repeat text NOT NULL DEFAULT 'auto'
        CHECK (dst_repeat IN ('auto', 'first', 'last', 'both'));

-- Where each job's schedule resumes when a clock starts leading: its
-- latest fire made by the schedule (catchup_cursors).
CREATE INDEX fires_schedule_by_job ON fires (job, scheduled_for)
    WHERE trigger IN ('schedule', 'catchup');
