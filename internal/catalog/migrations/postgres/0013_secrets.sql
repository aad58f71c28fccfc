-- Migration 13 on PostgreSQL: keys mtm makes for itself, once, and shares
-- with every node (docs/design.md, "Login throttling"): today the key that
-- signs the device cookies of browsers that logged in before.
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value bytea NOT NULL,                 -- random bytes, made by the first node that needs them
  created_at bigint NOT NULL
);
