-- Migration 10: an account's ended message versions, by the snapshot that
-- ended them (docs/design.md, "Changes between days"): what went between
-- two days, and what vanished each day, are read without walking other
-- accounts' ends. Partial: only versions that ended, a few days' churn.
CREATE INDEX entries_account_end ON entries(account_id, end_snap) WHERE end_snap IS NOT NULL;
