-- Migration 9: what a user chose for their own account (docs/design.md,
-- "Changes between days"): whether they get the email when mail vanishes
-- from their mailbox. No row: the defaults.
CREATE TABLE account_settings (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  mass_deletion_warning INTEGER NOT NULL DEFAULT 1
);
