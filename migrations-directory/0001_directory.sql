-- The directory: which shard holds each org, and who owns the names that arrive without an
-- org (API-key hashes, inbound connection ids). Small, read through isolate caches.
CREATE TABLE org_placements (
  org_id TEXT PRIMARY KEY NOT NULL,
  shard INTEGER NOT NULL,
  -- The jurisdiction the org's data must stay in ('eu'), or NULL for anywhere.
  region TEXT,
  -- Set while `npm run shards:move` copies the org: its requests wait (503, Retry-After).
  moving_since INTEGER,
  created_at INTEGER NOT NULL
);
-- Placement counts orgs per shard (least-filled first).
CREATE INDEX org_placements_shard ON org_placements (shard);

CREATE TABLE owners (
  -- 'key' (an API key's SHA-256) or 'connection' (a connection id inbound webhooks name).
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  org_id TEXT NOT NULL,
  PRIMARY KEY (kind, name)
) WITHOUT ROWID;
