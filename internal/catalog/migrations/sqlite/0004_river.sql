-- Migration 4 on SQLite: nothing. The embedded catalog runs its jobs in process
-- (docs/design.md, "Jobs and nodes"); this step keeps the numbers of both
-- back-ends the same.
SELECT 1;
