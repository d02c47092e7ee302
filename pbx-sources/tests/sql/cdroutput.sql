-- 3CX v20 Update 6+ `cdroutput` (one row per call leg), as in 3CX's "Complete Guide to Call
-- Detail Records", with realistic legs. Runs inside a fresh schema (search_path set by the test).
-- Ids are 3CX-style UUIDs: 4 zero bytes, 8 bytes of UTC timestamp, 4 bytes of a counter.
-- All times are on 2026-11-02 (UTC); the tests' clock reads 19:00 unless it says otherwise.

CREATE TABLE cdroutput (
    cdr_id uuid PRIMARY KEY,
    call_history_id uuid NOT NULL,
    main_call_history_id uuid NOT NULL,
    source_participant_id uuid,
    source_entity_type varchar(32),
    source_dn_number varchar(64),
    source_dn_type varchar(32),
    source_dn_name varchar(255),
    source_participant_name varchar(255),
    source_participant_phone_number varchar(64),
    source_participant_trunk_did varchar(64),
    source_participant_is_incoming boolean,
    source_participant_is_already_connected boolean,
    source_participant_group_name varchar(255),
    source_participant_billing_suffix varchar(64),
    source_presentation varchar(255),
    destination_participant_id uuid,
    destination_entity_type varchar(32),
    destination_dn_number varchar(64),
    destination_dn_type varchar(32),
    destination_dn_name varchar(255),
    destination_participant_name varchar(255),
    destination_participant_phone_number varchar(64),
    destination_participant_trunk_did varchar(64),
    destination_participant_is_incoming boolean,
    destination_participant_is_already_connected boolean,
    destination_participant_group_name varchar(255),
    destination_participant_billing_suffix varchar(64),
    terminated_by_participant_id uuid,
    creation_method varchar(32),
    creation_forward_reason varchar(32),
    termination_reason varchar(32),
    termination_reason_details varchar(64),
    cdr_started_at timestamptz,
    cdr_answered_at timestamptz,
    cdr_ended_at timestamptz,
    base_cdr_id uuid,
    originating_cdr_id uuid,
    continued_in_cdr_id uuid,
    processed boolean NOT NULL DEFAULT false,
    migrated boolean NOT NULL DEFAULT false,
    offload_id bigint
);
CREATE INDEX cdroutput_ended ON cdroutput (cdr_ended_at);
CREATE INDEX cdroutput_main ON cdroutput (main_call_history_id);

-- Columns every INSERT below fills, in this order:
-- cdr_id, call_history_id, main_call_history_id,
-- source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
--   source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
-- destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
--   destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
-- creation_method, creation_forward_reason, termination_reason, termination_reason_details,
-- cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id

-- 1. Inbound via queue 800: caller +1 907 555 0142 on trunk 10000 → inbound routing → queue 800,
--    which polls agents 101 (no answer) and 102 (answers); 102 talks 3 min 10 s.
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-1a00-000000000101', '00000000-019a-4a0e-1a00-000000000100', '00000000-019a-4a0e-1a00-000000000100',
  'external_line', 'provider', '10000', 'SIP Trunk', 'ACME Supplies', '+19075550142', '+19075550100', true,
  'queue', 'queue', '800', 'Sales', 'Sales', '800', false,
  'call_init', 'none', 'continued_in', NULL,
  '2026-11-02 18:00:00+00', '2026-11-02 18:00:01+00', '2026-11-02 18:00:20+00', NULL),
('00000000-019a-4a0e-1a00-000000000102', '00000000-019a-4a0e-1a00-000000000100', '00000000-019a-4a0e-1a00-000000000100',
  'queue', 'queue', '800', 'Sales', 'ACME Supplies', '+19075550142', NULL, true,
  'extension', 'extension', '101', 'Anna Agent', 'Anna Agent', '101', false,
  'route_to', 'polling', 'cancelled', 'no_answer',
  '2026-11-02 18:00:01+00', NULL, '2026-11-02 18:00:16+00', '00000000-019a-4a0e-1a00-000000000101'),
('00000000-019a-4a0e-1a00-000000000103', '00000000-019a-4a0e-1a00-000000000100', '00000000-019a-4a0e-1a00-000000000100',
  'queue', 'queue', '800', 'Sales', 'ACME Supplies', '+19075550142', NULL, true,
  'extension', 'extension', '102', 'Ben Agent', 'Ben Agent', '102', false,
  'route_to', 'polling', 'src_participant_terminated', NULL,
  '2026-11-02 18:00:16+00', '2026-11-02 18:00:20+00', '2026-11-02 18:03:30+00', '00000000-019a-4a0e-1a00-000000000101');

-- 2. Outbound: extension 101 dials +1 907 555 0199 through the outbound rule; answered, 95 s.
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-2b00-000000000201', '00000000-019a-4a0e-2b00-000000000200', '00000000-019a-4a0e-2b00-000000000200',
  'extension', 'extension', '101', 'Anna Agent', 'Anna Agent', '101', NULL, false,
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550199', false,
  'call_init', 'none', 'dst_participant_terminated', NULL,
  '2026-11-02 18:05:00+00', '2026-11-02 18:05:07+00', '2026-11-02 18:06:42+00', NULL);

-- 3. Internal: 103 calls 104; answered, 30 s.
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-3c00-000000000301', '00000000-019a-4a0e-3c00-000000000300', '00000000-019a-4a0e-3c00-000000000300',
  'extension', 'extension', '103', 'Cleo Clerk', 'Cleo Clerk', '103', NULL, false,
  'extension', 'extension', '104', 'Dan Desk', 'Dan Desk', '104', false,
  'call_init', 'none', 'src_participant_terminated', NULL,
  '2026-11-02 18:10:00+00', '2026-11-02 18:10:04+00', '2026-11-02 18:10:34+00', NULL);

-- 4. Transfer: +1 907 555 0177 calls DID → 103 answers, then transfers to 104 who talks 2 min.
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-4d00-000000000401', '00000000-019a-4a0e-4d00-000000000400', '00000000-019a-4a0e-4d00-000000000400',
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550177', '+19075550103', true,
  'extension', 'extension', '103', 'Cleo Clerk', 'Cleo Clerk', '103', false,
  'call_init', 'none', 'continued_in', NULL,
  '2026-11-02 18:20:00+00', '2026-11-02 18:20:05+00', '2026-11-02 18:21:00+00', NULL),
('00000000-019a-4a0e-4d00-000000000402', '00000000-019a-4a0e-4d00-000000000400', '00000000-019a-4a0e-4d00-000000000400',
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550177', '+19075550103', true,
  'extension', 'extension', '104', 'Dan Desk', 'Dan Desk', '104', false,
  'transfer', 'none', 'src_participant_terminated', NULL,
  '2026-11-02 18:21:00+00', '2026-11-02 18:21:02+00', '2026-11-02 18:23:02+00', '00000000-019a-4a0e-4d00-000000000401');

-- 5. Missed: +1 907 555 0188 rings 102 for 25 s and hangs up.
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-5e00-000000000501', '00000000-019a-4a0e-5e00-000000000500', '00000000-019a-4a0e-5e00-000000000500',
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550188', '+19075550102', true,
  'extension', 'extension', '102', 'Ben Agent', 'Ben Agent', '102', false,
  'call_init', 'none', 'cancelled', 'terminated_by_originator',
  '2026-11-02 18:30:00+00', NULL, '2026-11-02 18:30:25+00', NULL);

-- 6. A long call still in progress: +1 907 555 0166 → 104, answered at 18:40, not ended yet
--    (its first leg, through the IVR, has ended).
INSERT INTO cdroutput (cdr_id, call_history_id, main_call_history_id,
  source_entity_type, source_dn_type, source_dn_number, source_dn_name, source_participant_name,
  source_participant_phone_number, source_participant_trunk_did, source_participant_is_incoming,
  destination_entity_type, destination_dn_type, destination_dn_number, destination_dn_name,
  destination_participant_name, destination_participant_phone_number, destination_participant_is_incoming,
  creation_method, creation_forward_reason, termination_reason, termination_reason_details,
  cdr_started_at, cdr_answered_at, cdr_ended_at, originating_cdr_id) VALUES
('00000000-019a-4a0e-6f00-000000000601', '00000000-019a-4a0e-6f00-000000000600', '00000000-019a-4a0e-6f00-000000000600',
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550166', '+19075550100', true,
  'ivr', 'ivr', '700', 'Main menu', 'Main menu', '700', false,
  'call_init', 'none', 'continued_in', NULL,
  '2026-11-02 18:39:30+00', '2026-11-02 18:39:31+00', '2026-11-02 18:40:00+00', NULL),
('00000000-019a-4a0e-6f00-000000000602', '00000000-019a-4a0e-6f00-000000000600', '00000000-019a-4a0e-6f00-000000000600',
  'external_line', 'provider', '10000', 'SIP Trunk', NULL, '+19075550166', '+19075550100', true,
  'extension', 'extension', '104', 'Dan Desk', 'Dan Desk', '104', false,
  'route_to', 'none', NULL, NULL,
  '2026-11-02 18:40:00+00', '2026-11-02 18:40:03+00', NULL, '00000000-019a-4a0e-6f00-000000000601');
