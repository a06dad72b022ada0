-- The audit log's rows carry the area they concern (docs/operations.md,
-- "Audit log"): the commune, and its province, of what was acted on (a
-- team, volunteer, device, village, training or area) or else of who acted
-- (a device's team, an officer's area). A province officer reads the rows of
-- the province, a commune officer those of the commune; rows of neither (the
-- operator's own work, a restore) stay the operator's. Rows written before
-- are given their area here, as far as it can still be found.
ALTER TABLE audit ADD COLUMN commune_code TEXT;
ALTER TABLE audit ADD COLUMN province_code TEXT;
UPDATE audit SET commune_code = (
    SELECT t.commune_code FROM teams t WHERE t.id = substr(audit.subject, 6)
) WHERE subject LIKE 'team:%';
UPDATE audit SET commune_code = (
    SELECT t.commune_code FROM volunteers v JOIN teams t ON t.id = v.team_id
    WHERE v.id = substr(audit.subject, 11)
) WHERE subject LIKE 'volunteer:%';
UPDATE audit SET commune_code = (
    SELECT t.commune_code FROM devices d
    JOIN volunteers v ON v.id = d.volunteer_id JOIN teams t ON t.id = v.team_id
    WHERE d.id = substr(audit.subject, 8)
) WHERE subject LIKE 'device:%';
UPDATE audit SET commune_code = (
    SELECT x.commune_code FROM villages x WHERE x.id = substr(audit.subject, 9)
) WHERE subject LIKE 'village:%';
UPDATE audit SET commune_code = (
    SELECT x.commune_code FROM trainings x WHERE CAST(x.id AS TEXT) = substr(audit.subject, 10)
) WHERE subject LIKE 'training:%';
UPDATE audit SET commune_code = (
    SELECT a.code FROM areas a
    WHERE a.list = '2025' AND a.level = 'commune' AND a.code = substr(audit.subject, 6)
) WHERE subject LIKE 'area=%';
UPDATE audit SET commune_code = (
    SELECT t.commune_code FROM devices d
    JOIN volunteers v ON v.id = d.volunteer_id JOIN teams t ON t.id = v.team_id
    WHERE d.id = substr(audit.actor, 8)
) WHERE commune_code IS NULL AND actor LIKE 'device:%';
UPDATE audit SET commune_code = (
    SELECT a.commune_code FROM accounts a WHERE a.id = substr(audit.actor, 9)
) WHERE commune_code IS NULL AND actor LIKE 'account:%';
UPDATE audit SET province_code = (
    SELECT a.parent_code FROM areas a
    WHERE a.list = '2025' AND a.level = 'commune' AND a.code = audit.commune_code
) WHERE commune_code IS NOT NULL;
UPDATE audit SET province_code = (
    SELECT a.code FROM areas a
    WHERE a.list = '2025' AND a.level = 'province' AND a.code = substr(audit.subject, 6)
) WHERE province_code IS NULL AND subject LIKE 'area=%';
UPDATE audit SET province_code = (
    SELECT a.province_code FROM accounts a WHERE a.id = substr(audit.actor, 9)
) WHERE province_code IS NULL AND actor LIKE 'account:%';
CREATE INDEX audit_commune ON audit (commune_code, id);
CREATE INDEX audit_province ON audit (province_code, id);
