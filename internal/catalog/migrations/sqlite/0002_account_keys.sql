-- Migration 2: the account in every row that grows with mail (docs/design.md,
-- "Ready for distribution"). SQLite keeps its row ids as keys; the account
-- column makes the rows and the statements the same as PostgreSQL's, whose
-- primary keys start with it.
-- Staging of a snapshot that no longer exists belongs to nobody.
DELETE FROM staged_entries WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_ends WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_folders WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_mailboxes WHERE snapshot_id NOT IN (SELECT id FROM snapshots);

ALTER TABLE entries ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
UPDATE entries SET account_id = (SELECT m.account_id FROM mailboxes m WHERE m.id = entries.mailbox_id);
ALTER TABLE staged_entries ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
UPDATE staged_entries SET account_id = (SELECT s.account_id FROM snapshots s WHERE s.id = staged_entries.snapshot_id);
ALTER TABLE staged_ends ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
UPDATE staged_ends SET account_id = (SELECT s.account_id FROM snapshots s WHERE s.id = staged_ends.snapshot_id);
ALTER TABLE staged_folders ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
UPDATE staged_folders SET account_id = (SELECT s.account_id FROM snapshots s WHERE s.id = staged_folders.snapshot_id);
ALTER TABLE staged_mailboxes ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
UPDATE staged_mailboxes SET account_id = (SELECT s.account_id FROM snapshots s WHERE s.id = staged_mailboxes.snapshot_id);

-- The keys the statements name in ON CONFLICT, as PostgreSQL's primary keys.
CREATE UNIQUE INDEX staged_entries_key ON staged_entries(account_id, snapshot_id, mailbox_id, uid);
CREATE UNIQUE INDEX staged_ends_key ON staged_ends(account_id, snapshot_id, entry_id);
CREATE UNIQUE INDEX staged_folders_key ON staged_folders(account_id, snapshot_id, name);
CREATE UNIQUE INDEX staged_mailboxes_key ON staged_mailboxes(account_id, snapshot_id, mailbox_id);
