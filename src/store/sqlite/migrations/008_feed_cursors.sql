-- How far each durable reader of the change feed got (alerts/alert-recorder.ts): it writes what it made
-- of the changes up to `seq` and the new `seq` in one transaction, so after a crash it resumes exactly
-- there. Seeded at the feed's latest change: a reader starts with the changes made after this version
-- first opened the file, not with history.
-- The row 'pruned' is the last feed row retention removed: the exact edge of what a reader missed.
CREATE TABLE feed_cursors (
  reader TEXT    PRIMARY KEY,
  seq    INTEGER NOT NULL
);
INSERT INTO feed_cursors (reader, seq) SELECT 'alerts', COALESCE(MAX(seq * 65536 + n - 1), 0) FROM job_events;
