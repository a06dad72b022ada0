-- 1: the first layout.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

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
) STRICT;
CREATE TABLE area_successions (
    legacy_code TEXT NOT NULL,
    code TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    PRIMARY KEY (legacy_code, code)
) STRICT;

CREATE TABLE villages (
    id TEXT PRIMARY KEY,
    commune_code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX villages_commune ON villages (commune_code);
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    commune_code TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE team_villages (
    team_id TEXT NOT NULL REFERENCES teams (id),
    village_id TEXT NOT NULL REFERENCES villages (id),
    PRIMARY KEY (team_id, village_id)
) STRICT;
CREATE TABLE volunteers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    team_id TEXT NOT NULL REFERENCES teams (id),
    created_at INTEGER NOT NULL
) STRICT;
-- One-time enrollment codes: only their SHA-256 is kept.
CREATE TABLE enroll_codes (
    code_hash TEXT PRIMARY KEY,
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    device_id TEXT
) STRICT;
-- Devices and accounts: only the SHA-256 of their bearer token is kept.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('officer', 'operator')),
    name TEXT NOT NULL,
    province_code TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

-- The change log: what devices pushed, in the order it was accepted.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    village_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_village_seq ON changes (village_id, seq);

-- Documents as the materializer built them (bootstrap).
CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    bytes BLOB,
    covered_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX snapshots_village ON snapshots (village_id);
-- Changes the materializer could not apply yet (a dependency is missing).
CREATE TABLE snapshot_pending (
    doc_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

INSERT INTO meta (key, value) VALUES ('materialized_seq', '0');
