-- Migration 6: the web sessions and the login throttling, shared by every web
-- node (docs/design.md, "Jobs and nodes"): a user logged in through one node
-- keeps working through another, and failed logins count across nodes.
CREATE TABLE sessions (
  id_hash BLOB PRIMARY KEY,              -- SHA-256 of the cookie's value: the catalog holds no usable session
  realm TEXT NOT NULL,                   -- 'webmail' or 'admin'
  account TEXT NOT NULL,                 -- the user's address or the admin's email
  created_at INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_seen ON sessions(seen_at);
CREATE TABLE login_failures (
  key TEXT PRIMARY KEY,                  -- realm ':a:' account, or realm ':c:' client address
  failures INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  until_at INTEGER NOT NULL              -- no attempt before this
);
CREATE INDEX login_failures_last ON login_failures(last_at);
