-- Who leads the clocks that share this schema, and since when. One row.
-- Each clock that becomes leader (through the Redis lease or, when Redis
-- is unreachable, the PostgreSQL advisory lock) increments epoch; the
-- ledger only takes fires written with the current epoch (ledger_record
-- reads this row FOR SHARE in the same statement), so a deposed leader
-- that has not noticed yet cannot record, and so cannot publish, a fire.
-- See docs/guarantees.md ("Clock leadership").
CREATE TABLE leadership (
    id      int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    epoch   bigint NOT NULL DEFAULT 0,
    holder  text,                 -- CRONFLEET_CLOCK_ID of the leader
    via     text CHECK (via IN ('redis', 'postgres')),
    since   timestamptz           -- when that leader took over
);
INSERT INTO leadership (id) VALUES (1);
