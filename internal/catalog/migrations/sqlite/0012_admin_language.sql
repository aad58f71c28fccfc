-- Migration 12: the language an admin chose (docs/design.md, "Languages"):
-- the admin panel's, and their emails'. Empty: not chosen, the configured
-- default.
ALTER TABLE admins ADD COLUMN language TEXT NOT NULL DEFAULT '';
