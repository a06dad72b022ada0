-- 11: merged households (docs/data-model.md, "Merged households"): each
-- household's merge mark as the report projection last read it, so that
-- a change to one household of a merge group makes the group's rows again.
CREATE TABLE report_merges (
    doc_id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    into_id TEXT,
    in_error INTEGER NOT NULL
) STRICT;
CREATE INDEX report_merges_into ON report_merges (into_id) WHERE into_id IS NOT NULL;
-- A household made again because another of its group changed: the log
-- position its rows then cover, at least.
CREATE TABLE report_bumps (doc_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
