-- 2: SQLite's migration 14 (what an operator reaches for, issue 11).
-- When a device was last seen and last synced, and the app version it says
-- it runs: written at most once a minute per device (`crate::seen`).
ALTER TABLE devices ADD COLUMN last_seen_at BIGINT;
ALTER TABLE devices ADD COLUMN last_sync_at BIGINT;
ALTER TABLE devices ADD COLUMN app_version TEXT;
-- A phone number names one volunteer: stored in its national form.
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
-- Training sessions and who attended them.
CREATE TABLE trainings (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    held_on TEXT NOT NULL,
    place TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id),
    commune_code TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX trainings_commune ON trainings (commune_code, held_on);
CREATE TABLE training_attendees (
    training_id BIGINT NOT NULL REFERENCES trainings (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (training_id, volunteer_id)
);
CREATE INDEX training_attendees_volunteer ON training_attendees (volunteer_id);
