-- A site's own CDR table, as the old Node sideloader polled it: one row per call, an
-- increasing id, names chosen by the site (a mixed-case table name and a column named with a
-- reserved word, so quoting matters). Runs inside a fresh schema (search_path set by the test).

CREATE TABLE "CallLog" (
    id bigserial PRIMARY KEY,
    history_id text,
    call_id text,
    talk_seconds integer,
    started_at timestamptz,
    answered_at timestamptz,
    ended_at timestamp without time zone,   -- written in UTC by the site's copy job
    reason text,
    "from" text,
    "to" text,
    from_dn text,
    to_dn text,
    final_number text,
    final_dn text,
    from_type text,
    to_type text,
    final_type text,
    from_name text,
    bill_cost numeric(10, 4)
);

INSERT INTO "CallLog" (history_id, call_id, talk_seconds, started_at, answered_at, ended_at, reason,
    "from", "to", from_dn, to_dn, final_number, final_dn, from_type, to_type, final_type, from_name, bill_cost) VALUES
-- 1. Inbound via queue 800, answered by 102 (190 s).
('23194', '00000172FF13E364_4449', 190, '2026-11-02 18:00:00+00', '2026-11-02 18:00:20+00', '2026-11-02 18:03:30',
 'TerminatedBySrc', '+19075550142', 'Ext.800', '10000', '800', 'Ext.102', '102', 'Line', 'Queue', 'Extension', 'ACME Supplies', NULL),
-- 2. Outbound from 101 (95 s), billed.
('23195', '00000172FF13E365_4450', 95, '2026-11-02 18:05:00+00', '2026-11-02 18:05:07+00', '2026-11-02 18:06:42',
 'TerminatedByDst', 'Ext.101', '+19075550199', '101', '10000', '+19075550199', '10000', 'Extension', 'Line', 'Line', 'Anna Agent', 0.4300),
-- 3. Internal 103 → 104 (30 s).
('23196', '00000172FF13E366_4451', 30, '2026-11-02 18:10:00+00', '2026-11-02 18:10:04+00', '2026-11-02 18:10:34',
 'TerminatedBySrc', 'Ext.103', 'Ext.104', '103', '104', 'Ext.104', '104', 'Extension', 'Extension', 'Extension', 'Cleo Clerk', NULL),
-- 4. A row the copy job wrote without its start time: a row error, the others go on.
('23197', '00000172FF13E367_4452', 12, NULL, NULL, '2026-11-02 18:15:12',
 'TerminatedBySrc', '+19075550155', 'Ext.101', '10000', '101', 'Ext.101', '101', 'Line', 'Extension', 'Extension', NULL, NULL),
-- 5. Transfer: answered by 103, transferred to 104 (175 s in all).
('23198', '00000172FF13E368_4453', 175, '2026-11-02 18:20:00+00', '2026-11-02 18:20:05+00', '2026-11-02 18:23:02',
 'TerminatedBySrc', '+19075550177', 'Ext.103', '10000', '103', 'Ext.104', '104', 'Line', 'Extension', 'Extension', NULL, NULL),
-- 6. Missed: rang 102, nobody answered.
('23199', '00000172FF13E369_4454', NULL, '2026-11-02 18:30:00+00', NULL, '2026-11-02 18:30:25',
 'Failed_Cancelled', '+19075550188', 'Ext.102', '10000', '102', 'Ext.102', '102', 'Line', 'Extension', 'Extension', NULL, NULL);
