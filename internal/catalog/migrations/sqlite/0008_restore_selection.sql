-- Migration 8: a restore request may carry a selection of messages
-- (docs/design.md, "Changes between days"): the entry ids of versions of its
-- snapshot, as JSON; empty for a request by folders.
ALTER TABLE restores ADD COLUMN messages TEXT NOT NULL DEFAULT '';
