-- 2: an enrollment retried after its answer was lost is recognised.
ALTER TABLE enroll_codes ADD COLUMN request_id TEXT;
