-- Migration 14: the account an outbox email is about (docs/workflows.md,
-- "Outbox"): '' for the operators' emails and for rows enqueued before it.
-- What a domain admin sees in the panel follows it, not the recipient.
ALTER TABLE outbox ADD COLUMN account TEXT NOT NULL DEFAULT '';
