-- gocua-server on PostgreSQL: the schema of SQLite's migrations 1 to 12 in
-- one step (no PostgreSQL database predates it). Keep the two trees in step
-- (sync-server/src/sqlite/migrations.rs): ids TEXT, times BIGINT unix
-- seconds, seqs and positions BIGINT, flags BOOLEAN, bytes BYTEA.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The change log's two counters: the last seq of `changes` and the last
-- position of `feed`. A push locks this row from its first statement to its
-- commit, so numbers are taken in commit order on every replica: whoever sees
-- a position sees every lower one (docs/protocol.md, "Several replicas").
CREATE TABLE log_counters (
    id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    last_seq BIGINT NOT NULL,
    last_position BIGINT NOT NULL
);
INSERT INTO log_counters (id, last_seq, last_position) VALUES (true, 0, 0);

CREATE TABLE areas (
    list TEXT NOT NULL,          -- 'legacy-2024' or '2025'
    level TEXT NOT NULL,         -- 'province', 'district', 'commune'
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT,
    parent_code TEXT,
    valid_from TEXT,
    valid_to TEXT,
    PRIMARY KEY (list, level, code)
);
CREATE INDEX areas_parent ON areas (list, level, parent_code);
CREATE TABLE area_successions (
    legacy_code TEXT NOT NULL,
    code TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    PRIMARY KEY (legacy_code, code)
);

CREATE TABLE villages (
    id TEXT PRIMARY KEY,
    commune_code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX villages_commune ON villages (commune_code);
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    commune_code TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE team_villages (
    team_id TEXT NOT NULL REFERENCES teams (id),
    village_id TEXT NOT NULL REFERENCES villages (id),
    PRIMARY KEY (team_id, village_id)
);
CREATE TABLE volunteers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    team_id TEXT NOT NULL REFERENCES teams (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX volunteers_team ON volunteers (team_id);
-- One-time enrollment codes: only their SHA-256 is kept.
CREATE TABLE enroll_codes (
    code_hash TEXT PRIMARY KEY,
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    device_id TEXT,
    request_id TEXT
);
-- Devices and accounts: only the SHA-256 of their bearer token is kept.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT,
    wipe_requested BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('officer', 'operator')),
    name TEXT NOT NULL,
    province_code TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    commune_code TEXT
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- The change log: what devices pushed, in the order it was accepted.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0
);
-- `seq` is taken from log_counters, never from a sequence: a change refused
-- or a duplicate takes no number.
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,
    village_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    hash BYTEA NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    actor BYTEA,
    actor_seq BIGINT
);
CREATE INDEX changes_doc ON changes (doc_id, seq);
CREATE INDEX changes_device ON changes (device_id);
CREATE UNIQUE INDEX changes_number ON changes (doc_id, actor, actor_seq);
-- Changes the server could not apply: kept aside, never served.
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id TEXT NOT NULL,
    hash BYTEA NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    reason TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
-- The pull feed: one row per (village, change); positions from log_counters.
CREATE TABLE feed (
    position BIGINT PRIMARY KEY,
    village_id TEXT NOT NULL,
    change_seq BIGINT NOT NULL REFERENCES changes (seq),
    UNIQUE (village_id, change_seq)
);
CREATE INDEX feed_village_position ON feed (village_id, position);
CREATE INDEX feed_change ON feed (change_seq);

-- Documents as the materializer built them (bootstrap).
CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    bytes BYTEA,
    covered_seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX snapshots_village ON snapshots (village_id, doc_id);
-- Changes the materializer could not apply yet (a dependency is missing).
CREATE TABLE snapshot_pending (
    doc_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (doc_id, seq)
);

-- The report projection (crate::report, docs/reports.md).
CREATE TABLE report_households (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    commune_code TEXT NOT NULL,   -- as recorded
    commune_now TEXT NOT NULL,    -- in force now
    province_code TEXT NOT NULL,  -- of commune_now; '' when unknown
    address TEXT NOT NULL,
    head_name TEXT NOT NULL,
    phone TEXT,
    member_count BIGINT,
    device_access TEXT,
    target_groups TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    conflicts BIGINT NOT NULL,
    problems BIGINT NOT NULL,
    updated_seq BIGINT NOT NULL
);
CREATE INDEX report_households_village ON report_households (village_id);
CREATE INDEX report_households_order
    ON report_households (province_code, commune_now, village_id, id);
CREATE INDEX report_households_updated ON report_households (updated_seq);
CREATE TABLE report_persons (
    household_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_year BIGINT,
    gender TEXT,
    id_number TEXT,
    vneid_level TEXT,
    vneid_activated BOOLEAN,
    bank_account BOOLEAN,
    public_service_account BOOLEAN,
    ehealth_book BOOLEAN,
    digital_signature BOOLEAN,
    basic_skills_certified BOOLEAN,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (household_id, id)
);
CREATE TABLE report_visits (
    household_id TEXT NOT NULL,
    id TEXT NOT NULL,
    visited_at TEXT NOT NULL,
    received_at BIGINT,           -- unix seconds; NULL if the change is unknown
    team_id TEXT NOT NULL,
    volunteer_ids TEXT NOT NULL,
    person_ids TEXT NOT NULL,
    duration_minutes BIGINT,
    follow_up_on TEXT,
    feedback TEXT,
    consent_id TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (household_id, id)
);
CREATE TABLE report_visit_services (
    household_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    service_code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (household_id, visit_id, service_code)
);
CREATE TABLE report_consents (
    household_id TEXT NOT NULL,
    id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    method TEXT NOT NULL,
    given_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawn_by TEXT,
    withdrawal_reason TEXT,
    PRIMARY KEY (household_id, id)
);
-- Households whose snapshot changed since their rows were written.
CREATE TABLE report_due (doc_id TEXT PRIMARY KEY, covered_seq BIGINT NOT NULL);
-- The keys' parts as gocua-report serializes them, numbered once.
CREATE TABLE report_keys (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    indicator TEXT NOT NULL,
    basis TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    UNIQUE (indicator, basis, breakdown)
);
-- What each household added to report_sums: JSON, a list of
-- [[province, commune, village], [[key id, count], ...]].
CREATE TABLE report_counts (
    household_id TEXT PRIMARY KEY,
    counts TEXT NOT NULL
);
CREATE TABLE report_sums (
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    key_id BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (province, commune, village, key_id)
);
CREATE INDEX report_sums_commune ON report_sums (commune);
CREATE INDEX report_sums_village ON report_sums (village);
CREATE TABLE report_reviews (
    household_id TEXT NOT NULL,
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    review TEXT NOT NULL           -- JSON, gocua_report::Review
);
CREATE INDEX report_reviews_household ON report_reviews (household_id);
CREATE INDEX report_reviews_area ON report_reviews (province, commune, village);
-- Where households were before they left a village, for incremental extracts.
CREATE TABLE report_removed (
    household_id TEXT NOT NULL,
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (household_id, village)
);
CREATE INDEX report_removed_seq ON report_removed (seq);
-- Merged households: each one's merge mark as the projection last read it.
CREATE TABLE report_merges (
    doc_id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    into_id TEXT,
    in_error BOOLEAN NOT NULL
);
CREATE INDEX report_merges_into ON report_merges (into_id) WHERE into_id IS NOT NULL;
CREATE TABLE report_bumps (doc_id TEXT PRIMARY KEY, seq BIGINT NOT NULL);

-- Lost phones: what a revoked device reported it had not sent.
CREATE TABLE unsent_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    received_at BIGINT NOT NULL,
    changes BIGINT NOT NULL,
    documents BIGINT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    bundle BYTEA NOT NULL
);
CREATE INDEX unsent_reports_device ON unsent_reports (device_id);

INSERT INTO meta (key, value) VALUES ('materialized_seq', '0'), ('report_start_day', '1');
