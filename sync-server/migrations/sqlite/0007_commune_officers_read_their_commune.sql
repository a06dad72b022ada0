-- 7: commune officers read their commune only.
ALTER TABLE accounts ADD COLUMN commune_code TEXT;
