-- 9: where households were before they left a village (moved, or no
-- longer read as a household), for incremental extracts.
CREATE TABLE report_removed (
    household_id TEXT NOT NULL,
    province TEXT NOT NULL,
    commune TEXT NOT NULL,
    village TEXT NOT NULL,
    seq INTEGER NOT NULL,          -- the log position of the household's rows then
    PRIMARY KEY (household_id, village)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_removed_seq ON report_removed (seq);
