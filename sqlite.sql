-- The table behind a `sqlite:///path` storage. cacheme creates it when missing (the same statements,
-- with your `table` option in place of cacheme_data); run this by hand to create it up front.
-- expire and updated_at are Unix times in milliseconds; a NULL expire never expires. Expired rows are
-- misses on every read and are deleted in bounded batches (see lib/storages/sqlite-db.ts).
CREATE TABLE IF NOT EXISTS cacheme_data (
  id INTEGER PRIMARY KEY,
  key VARCHAR(512) NOT NULL UNIQUE,
  value BLOB NOT NULL,
  expire INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cacheme_data_expire ON cacheme_data (expire);
