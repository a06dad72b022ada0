-- 12: lost phones (docs/operations.md): a revoked device may be told to
-- wipe its data, after it reported the changes it had not sent; those
-- are kept here for the operator, applied to nothing.
ALTER TABLE devices ADD COLUMN wipe_requested INTEGER NOT NULL DEFAULT 0;
CREATE TABLE unsent_reports (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id),
    received_at INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    -- SHA-256 of the bundle: a report sent again is stored once.
    digest TEXT NOT NULL UNIQUE,
    bundle BLOB NOT NULL
) STRICT;
CREATE INDEX unsent_reports_device ON unsent_reports (device_id);
