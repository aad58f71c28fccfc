-- Migration 5: the nodes of a cluster (docs/design.md, "Jobs and nodes"): each
-- `mtm serve` registers itself and beats here, so that the jobs a dead node
-- was running are handed to another at once. The embedded catalog has one
-- node, its own process, and keeps the table for the same code.
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,                   -- host:pid:random, the node's owner name and job client id
  roles TEXT NOT NULL,                   -- space separated: web worker scheduler
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  stopped_at INTEGER                     -- a clean stop; NULL while it runs or if it died
);
