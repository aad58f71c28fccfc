-- Migration 13: keys mtm makes for itself, once, and shares with every node
-- (docs/design.md, "Login throttling"): today the key that signs the
-- device cookies of browsers that logged in before.
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL,                  -- random bytes, made by the first node that needs them
  created_at INTEGER NOT NULL
);
