-- The changes a device still holds unsent, as it last reported them
-- (`gocua-pending` on pull and push, docs/protocol.md): shown in the
-- operator's device list and console beside its last sync.
ALTER TABLE devices ADD COLUMN pending_changes BIGINT;
