-- 3CX v16 – v20 Update 5 call log: cl_calls, cl_participants, cl_party_info, cl_segments.
-- Runs inside a fresh schema (search_path set by the test). Segments point at participants,
-- participants at party info. The ids are chosen so that joining cl_segments.src_part_id
-- straight to cl_party_info.id (skipping cl_participants, a bug seen in public tools) swaps
-- caller and callee: participant 11 is party 12 and participant 12 is party 11, and so on.
-- dn_type: 0 extension, 1 external line, 2 ring group, 4 queue, 5 voicemail, 6 IVR.

CREATE TABLE cl_calls (
    id integer PRIMARY KEY,
    start_time timestamptz NOT NULL,
    end_time timestamptz,
    is_answered boolean NOT NULL DEFAULT false,
    ringing_dur interval,
    talking_dur interval,
    q_wait_dur interval,
    call_history_id varchar(64)
);
CREATE TABLE cl_party_info (
    id integer PRIMARY KEY,
    dn_type integer,
    dn varchar(64),
    caller_number varchar(64),
    display_name varchar(255),
    dn_class integer,
    firstlastname varchar(255),
    did_number varchar(64)
);
CREATE TABLE cl_participants (
    id integer PRIMARY KEY,
    call_id integer NOT NULL REFERENCES cl_calls (id),
    info_id integer NOT NULL REFERENCES cl_party_info (id),
    role integer,
    is_inbound boolean,
    end_status integer,
    forward_reason integer,
    failure_reason integer,
    start_time timestamptz,
    answer_time timestamptz,
    end_time timestamptz,
    billing_code varchar(64),
    billing_ratename varchar(64),
    billing_rate numeric,
    billing_cost numeric,
    billing_duration interval,
    recording_url varchar(255),
    billing_group varchar(64)
);
CREATE TABLE cl_segments (
    id integer PRIMARY KEY,
    call_id integer NOT NULL REFERENCES cl_calls (id),
    seq_order integer NOT NULL,
    seq_group integer,
    src_part_id integer REFERENCES cl_participants (id),
    dst_part_id integer REFERENCES cl_participants (id),
    start_time timestamptz,
    end_time timestamptz,
    type integer,
    action_id integer,
    action_party_id integer
);
CREATE INDEX cl_calls_end ON cl_calls (end_time, id);
CREATE INDEX cl_segments_call ON cl_segments (call_id);

INSERT INTO cl_calls (id, start_time, end_time, is_answered, ringing_dur, talking_dur, call_history_id) VALUES
 (1001, '2026-11-02 18:00:00+00', '2026-11-02 18:02:10+00', true,  '00:00:10', '00:02:00', 'a1001'),
 (1002, '2026-11-02 18:05:00+00', '2026-11-02 18:06:40+00', true,  '00:00:05', '00:01:35', 'a1002'),
 (1003, '2026-11-02 18:10:00+00', '2026-11-02 18:10:34+00', true,  '00:00:04', '00:00:30', 'a1003'),
 (1004, '2026-11-02 18:30:00+00', '2026-11-02 18:30:25+00', false, '00:00:25', '00:00:00', 'a1004'),
 (1005, '2026-11-02 18:40:00+00', NULL,                      true,  '00:00:03', NULL,       'a1005');

INSERT INTO cl_party_info (id, dn_type, dn, caller_number, display_name, did_number) VALUES
 -- 1001 inbound: +1 907 555 0142 on trunk 10000 → 102
 (11, 0, '102', '102', 'Ben Agent', NULL),
 (12, 1, '10000', '+19075550142', 'ACME Supplies', '+19075550100'),
 -- 1002 outbound: 101 → +1 907 555 0199
 (21, 1, '10000', '+19075550199', NULL, NULL),
 (22, 0, '101', '101', 'Anna Agent', NULL),
 -- 1003 internal: 103 → 104
 (31, 0, '104', '104', 'Dan Desk', NULL),
 (32, 0, '103', '103', 'Cleo Clerk', NULL),
 -- 1004 missed: +1 907 555 0188 → 102
 (41, 0, '102', '102', 'Ben Agent', NULL),
 (42, 1, '10000', '+19075550188', NULL, '+19075550102'),
 -- 1005 in progress: +1 907 555 0166 → 104
 (51, 0, '104', '104', 'Dan Desk', NULL),
 (52, 1, '10000', '+19075550166', NULL, '+19075550100');

INSERT INTO cl_participants (id, call_id, info_id, role, is_inbound, start_time, answer_time, end_time) VALUES
 (11, 1001, 12, 0, true,  '2026-11-02 18:00:00+00', '2026-11-02 18:00:00+00', '2026-11-02 18:02:10+00'),
 (12, 1001, 11, 1, false, '2026-11-02 18:00:00+00', '2026-11-02 18:00:10+00', '2026-11-02 18:02:10+00'),
 (21, 1002, 22, 0, false, '2026-11-02 18:05:00+00', '2026-11-02 18:05:00+00', '2026-11-02 18:06:40+00'),
 (22, 1002, 21, 1, false, '2026-11-02 18:05:00+00', '2026-11-02 18:05:05+00', '2026-11-02 18:06:40+00'),
 (31, 1003, 32, 0, false, '2026-11-02 18:10:00+00', '2026-11-02 18:10:00+00', '2026-11-02 18:10:34+00'),
 (32, 1003, 31, 1, false, '2026-11-02 18:10:00+00', '2026-11-02 18:10:04+00', '2026-11-02 18:10:34+00'),
 (41, 1004, 42, 0, true,  '2026-11-02 18:30:00+00', '2026-11-02 18:30:00+00', '2026-11-02 18:30:25+00'),
 (42, 1004, 41, 1, false, '2026-11-02 18:30:00+00', NULL,                     '2026-11-02 18:30:25+00'),
 (51, 1005, 52, 0, true,  '2026-11-02 18:40:00+00', '2026-11-02 18:40:00+00', NULL),
 (52, 1005, 51, 1, false, '2026-11-02 18:40:00+00', '2026-11-02 18:40:03+00', NULL);

-- type 1: ringing, 2: talking (community-derived; the source does not depend on it).
INSERT INTO cl_segments (id, call_id, seq_order, seq_group, src_part_id, dst_part_id, start_time, end_time, type) VALUES
 (101, 1001, 1, 1, 11, 12, '2026-11-02 18:00:00+00', '2026-11-02 18:00:10+00', 1),
 (102, 1001, 2, 1, 11, 12, '2026-11-02 18:00:10+00', '2026-11-02 18:02:10+00', 2),
 (201, 1002, 1, 1, 21, 22, '2026-11-02 18:05:00+00', '2026-11-02 18:05:05+00', 1),
 (202, 1002, 2, 1, 21, 22, '2026-11-02 18:05:05+00', '2026-11-02 18:06:40+00', 2),
 (301, 1003, 1, 1, 31, 32, '2026-11-02 18:10:00+00', '2026-11-02 18:10:04+00', 1),
 (302, 1003, 2, 1, 31, 32, '2026-11-02 18:10:04+00', '2026-11-02 18:10:34+00', 2),
 (401, 1004, 1, 1, 41, 42, '2026-11-02 18:30:00+00', '2026-11-02 18:30:25+00', 1),
 (501, 1005, 1, 1, 51, 52, '2026-11-02 18:40:00+00', '2026-11-02 18:40:03+00', 1),
 (502, 1005, 2, 1, 51, 52, '2026-11-02 18:40:03+00', NULL, 2);
