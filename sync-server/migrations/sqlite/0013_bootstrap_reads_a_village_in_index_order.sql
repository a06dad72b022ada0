-- 13: a bootstrap reads each village's snapshots in doc_id order straight
-- from this index; on (village_id) alone SQLite sorted every snapshot of
-- the device's villages, bytes and all, in a temporary B-tree first.
CREATE INDEX snapshots_village_doc ON snapshots (village_id, doc_id);
DROP INDEX snapshots_village;
