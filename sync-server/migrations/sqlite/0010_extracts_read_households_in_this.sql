-- 10: extracts read households in this order, and each household's
-- rows by their primary key: no sort of a province's visits and
-- services (a CSV extract of a million households: 64 s to 41 s).
DROP INDEX report_households_area;
CREATE INDEX report_households_order
    ON report_households (province_code, commune_now, village_id, id);
