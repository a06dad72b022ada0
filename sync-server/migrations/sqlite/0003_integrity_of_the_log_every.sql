-- 3: integrity of the log. Every stored change was applied once by the
-- server; the ones that could not be are kept aside in `quarantine`,
-- never served. A change number (actor, seq) names one change of a
-- document. A document's version is the seq of its last change.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    bytes BLOB NOT NULL,
    reason TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
ALTER TABLE changes ADD COLUMN actor BLOB;
ALTER TABLE changes ADD COLUMN actor_seq INTEGER;
ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX changes_doc ON changes (doc_id, seq);
