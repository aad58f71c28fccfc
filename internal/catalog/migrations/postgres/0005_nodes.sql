-- Migration 5 on PostgreSQL: the nodes of a cluster (docs/design.md, "Jobs and
-- nodes"): each `mtm serve` registers itself and beats here, so that the jobs a
-- dead node was running are handed to another at once; and the index by which
-- the scheduler counts a night's snapshot jobs in River's table.
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  roles TEXT NOT NULL,
  started_at bigint NOT NULL,
  heartbeat_at bigint NOT NULL,
  stopped_at bigint
);
CREATE INDEX river_job_snapshot_night ON river_job ((args->>'night'), state) WHERE kind = 'snapshot';
