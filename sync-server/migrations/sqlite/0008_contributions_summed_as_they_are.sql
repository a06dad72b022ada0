-- 8: contributions summed as they are written. A row per contribution
-- (about forty per household, their keys as JSON text) made a report of a
-- province sum tens of millions of rows; now each area keeps the sum of
-- each key, and each household the counts it added, to take them back out
-- when it changes. Filled again from the snapshots (`after`).
DROP TABLE report_contributions;
-- The keys' parts as gocua-report serializes them, numbered once.
CREATE TABLE report_keys (
    id INTEGER PRIMARY KEY,
    indicator TEXT NOT NULL,
    basis TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    UNIQUE (indicator, basis, breakdown)
) STRICT;
-- What each household added to report_sums: JSON, a list of
-- [[province, commune, village], [[key id, count], ...]].
CREATE TABLE report_counts (
    household_id TEXT PRIMARY KEY,
    counts TEXT NOT NULL
) STRICT;
CREATE TABLE report_sums (
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (province, commune, village, key_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_sums_commune ON report_sums (commune);
CREATE INDEX report_sums_village ON report_sums (village);
