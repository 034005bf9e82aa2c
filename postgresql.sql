-- The table behind a `postgresql://` storage. cacheme creates it when missing (the same statements,
-- with your `table` option in place of cacheme_data; `schema.table` puts it in an existing schema);
-- run this by hand to create it up front, e.g. `psql "$POSTGRES_URL" -f postgresql.sql`.
-- expire is computed from the server's clock (now() + ttl); a NULL expire never expires. Expired rows
-- are misses on every read and are deleted in bounded batches by cleanupExpired (lib/storages/postgresql.ts).
CREATE TABLE IF NOT EXISTS "cacheme_data" (
  id BIGSERIAL PRIMARY KEY,
  key VARCHAR(512) NOT NULL UNIQUE,
  value BYTEA NOT NULL,
  expire TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "cacheme_data_expire" ON "cacheme_data" (expire);
