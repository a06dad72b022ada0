-- 4: the pull feed. A change may be served to several villages (a
-- household that moves: its new village receives its whole history, the
-- village it leaves the change that moved it), so pulls read the feed,
-- one row per (village, change), and a pull cursor counts feed
-- positions. The log's existing changes keep their seq as position, so
-- the cursors devices hold stay valid; later positions continue after
-- the highest seq ever taken (see `after`).
CREATE TABLE feed (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    village_id TEXT NOT NULL,
    change_seq INTEGER NOT NULL REFERENCES changes (seq),
    UNIQUE (village_id, change_seq)
) STRICT;
CREATE INDEX feed_village_position ON feed (village_id, position);
CREATE INDEX feed_change ON feed (change_seq);
INSERT INTO feed (position, village_id, change_seq)
    SELECT seq, village_id, seq FROM changes ORDER BY seq;
-- Pulls no longer read the log by village: one index less per push.
DROP INDEX changes_village_seq;
