-- Migration 6 on PostgreSQL: the web sessions and the login throttling, shared by every web
-- node (docs/design.md, "Jobs and nodes"): a user logged in through one node
-- keeps working through another, and failed logins count across nodes.
CREATE TABLE sessions (
  id_hash bytea PRIMARY KEY,              -- SHA-256 of the cookie's value: the catalog holds no usable session
  realm TEXT NOT NULL,                   -- 'webmail' or 'admin'
  account TEXT NOT NULL,                 -- the user's address or the admin's email
  created_at bigint NOT NULL,
  seen_at bigint NOT NULL
);
CREATE INDEX sessions_seen ON sessions(seen_at);
CREATE TABLE login_failures (
  key TEXT PRIMARY KEY,                  -- realm ':a:' account, or realm ':c:' client address
  failures bigint NOT NULL,
  last_at bigint NOT NULL,
  until_at bigint NOT NULL              -- no attempt before this
);
CREATE INDEX login_failures_last ON login_failures(last_at);
