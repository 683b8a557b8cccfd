-- The gateway's own table: every manual action taken through it (trigger,
-- pause, resume, schedule, start, stop, external cron call), including the
-- refused ones, with who (the token's name), from where and the outcome.
-- Applied with search_path set to the gateway's schema.
CREATE TABLE audit (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,        -- when the gateway answered
    actor    text NOT NULL,               -- the token's name, or "-"
    role     text NOT NULL,               -- admin, viewer, cron, public
    action   text NOT NULL,               -- trigger, pause, resume, ...
    job      text,                        -- NULL for start / stop
    method   text NOT NULL,
    path     text NOT NULL,
    remote   text NOT NULL,               -- the client's address
    status   integer NOT NULL,            -- the HTTP status answered
    outcome  text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    detail   text                         -- e.g. the fire's id, or the error
);

CREATE INDEX audit_at ON audit (at DESC);
CREATE INDEX audit_job ON audit (job, id DESC) WHERE job IS NOT NULL;
