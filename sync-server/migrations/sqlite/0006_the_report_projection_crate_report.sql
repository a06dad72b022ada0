-- 6: the report projection (crate::report): every household's rows, as
-- the materializer last folded it, filled from the snapshots (`after`).
-- `updated_seq` is the log seq the household's rows cover: an export
-- cursor. Keys include the household: ids inside a document come from
-- devices and are not trusted to be unique across households.
CREATE TABLE report_households (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    commune_code TEXT NOT NULL,   -- as recorded
    commune_now TEXT NOT NULL,    -- in force now (docs/reports.md, "Areas and levels")
    province_code TEXT NOT NULL,  -- of commune_now; '' when unknown
    address TEXT NOT NULL,
    head_name TEXT NOT NULL,
    phone TEXT,
    member_count INTEGER,
    device_access TEXT,
    target_groups TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    conflicts INTEGER NOT NULL,
    problems INTEGER NOT NULL,
    updated_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX report_households_village ON report_households (village_id);
CREATE INDEX report_households_area ON report_households (province_code, commune_now);
CREATE INDEX report_households_updated ON report_households (updated_seq);
CREATE TABLE report_persons (
    household_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_year INTEGER,
    gender TEXT,
    id_number TEXT,
    vneid_level TEXT,
    vneid_activated INTEGER,
    bank_account INTEGER,
    public_service_account INTEGER,
    ehealth_book INTEGER,
    digital_signature INTEGER,
    basic_skills_certified INTEGER,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (household_id, id)
) STRICT;
CREATE TABLE report_visits (
    household_id TEXT NOT NULL,
    id TEXT NOT NULL,
    visited_at TEXT NOT NULL,
    received_at INTEGER,          -- unix seconds; NULL if the change is unknown
    team_id TEXT NOT NULL,
    volunteer_ids TEXT NOT NULL,
    person_ids TEXT NOT NULL,
    duration_minutes INTEGER,
    follow_up_on TEXT,
    feedback TEXT,
    consent_id TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (household_id, id)
) STRICT;
CREATE TABLE report_visit_services (
    household_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    service_code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (household_id, visit_id, service_code)
) STRICT;
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
) STRICT;
-- Households whose snapshot changed since their rows were written.
CREATE TABLE report_due (doc_id TEXT PRIMARY KEY, covered_seq INTEGER NOT NULL) STRICT;
-- Each household's contributions to the indicators (gocua-report): the
-- key's parts as gocua-report serializes them, summed by any area level.
CREATE TABLE report_contributions (
    household_id TEXT NOT NULL,
    indicator TEXT NOT NULL,
    basis TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    count INTEGER NOT NULL
) STRICT;
CREATE INDEX report_contributions_household ON report_contributions (household_id);
CREATE INDEX report_contributions_area ON report_contributions (province, commune, village);
CREATE TABLE report_reviews (
    household_id TEXT NOT NULL,
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    review TEXT NOT NULL           -- JSON, gocua_report::Review
) STRICT;
CREATE INDEX report_reviews_household ON report_reviews (household_id);
CREATE INDEX report_reviews_area ON report_reviews (province, commune, village);
INSERT OR IGNORE INTO meta (key, value) VALUES ('report_start_day', '1');
