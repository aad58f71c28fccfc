-- Migration 11: the language a user chose (docs/design.md, "Languages"):
-- the webmail's, and their emails'. Empty: not chosen, the browser's or the
-- configured default.
ALTER TABLE account_settings ADD COLUMN language TEXT NOT NULL DEFAULT '';
