-- 14: what an operator reaches for (issue 11, docs/operations.md,
-- "Administration"). When a device was last seen and last synced, and the
-- app version it says it runs: written at most once a minute per device
-- (`crate::seen`), never on every request.
ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
ALTER TABLE devices ADD COLUMN last_sync_at INTEGER;
ALTER TABLE devices ADD COLUMN app_version TEXT;
-- A phone number names one volunteer: stored in its national form (as a
-- device stores a household's phone), so `0912 345 678` and
-- `+84912345678` are found as the same. Phones stored before were only
-- trimmed: brought to that form where they can be.
UPDATE volunteers SET phone = replace(replace(replace(replace(replace(
    phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', '')
WHERE phone IS NOT NULL;
UPDATE volunteers SET phone = CASE
        WHEN phone LIKE '+84%' THEN '0' || substr(phone, 4)
        WHEN phone LIKE '0084%' THEN '0' || substr(phone, 5)
        WHEN phone LIKE '84%' AND length(phone) IN (11, 12) THEN '0' || substr(phone, 3)
        ELSE phone
    END
WHERE phone IS NOT NULL;
UPDATE volunteers SET phone = NULL WHERE phone = '';
CREATE INDEX volunteers_phone ON volunteers (phone);
CREATE INDEX volunteers_team ON volunteers (team_id);
-- Training sessions: teams are trained by topic, and the province counts
-- who attended. A session is held for a team or for a whole commune; its
-- commune is kept either way (the team's), so lists filter by commune.
CREATE TABLE trainings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    held_on TEXT NOT NULL,          -- YYYY-MM-DD, Vietnam's calendar day
    place TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    commune_code TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX trainings_commune ON trainings (commune_code, held_on);
CREATE TABLE training_attendees (
    training_id INTEGER NOT NULL REFERENCES trainings (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (training_id, volunteer_id)
) STRICT;
CREATE INDEX training_attendees_volunteer ON training_attendees (volunteer_id);
