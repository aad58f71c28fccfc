-- Migration 2 on PostgreSQL: the account first in the primary key of every
-- table that grows with mail, so that the catalog can be distributed by
-- account (docs/design.md, "Ready for distribution"); references between
-- them name the account too. Ids stay unique by their identity; a plain
-- index on id serves the lookups by id.
DELETE FROM staged_entries WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_ends WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_folders WHERE snapshot_id NOT IN (SELECT id FROM snapshots);
DELETE FROM staged_mailboxes WHERE snapshot_id NOT IN (SELECT id FROM snapshots);

ALTER TABLE entries ADD COLUMN account_id bigint;
UPDATE entries e SET account_id = m.account_id FROM mailboxes m WHERE m.id = e.mailbox_id;
ALTER TABLE entries ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE staged_entries ADD COLUMN account_id bigint;
UPDATE staged_entries x SET account_id = s.account_id FROM snapshots s WHERE s.id = x.snapshot_id;
ALTER TABLE staged_entries ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE staged_ends ADD COLUMN account_id bigint;
UPDATE staged_ends x SET account_id = s.account_id FROM snapshots s WHERE s.id = x.snapshot_id;
ALTER TABLE staged_ends ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE staged_folders ADD COLUMN account_id bigint;
UPDATE staged_folders x SET account_id = s.account_id FROM snapshots s WHERE s.id = x.snapshot_id;
ALTER TABLE staged_folders ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE staged_mailboxes ADD COLUMN account_id bigint;
UPDATE staged_mailboxes x SET account_id = s.account_id FROM snapshots s WHERE s.id = x.snapshot_id;
ALTER TABLE staged_mailboxes ALTER COLUMN account_id SET NOT NULL;

ALTER TABLE folders DROP CONSTRAINT folders_mailbox_id_fkey;
ALTER TABLE entries DROP CONSTRAINT entries_mailbox_id_fkey;

ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX snapshots_id ON snapshots(id);
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX mailboxes_id ON mailboxes(id);
ALTER TABLE folders DROP CONSTRAINT folders_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX folders_id ON folders(id);
ALTER TABLE entries DROP CONSTRAINT entries_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX entries_id ON entries(id);

ALTER TABLE folders ADD CONSTRAINT folders_mailbox_fkey
  FOREIGN KEY (account_id, mailbox_id) REFERENCES mailboxes(account_id, id);
ALTER TABLE entries ADD CONSTRAINT entries_mailbox_fkey
  FOREIGN KEY (account_id, mailbox_id) REFERENCES mailboxes(account_id, id);

ALTER TABLE staged_entries DROP CONSTRAINT staged_entries_pkey,
  ADD PRIMARY KEY (account_id, snapshot_id, mailbox_id, uid);
ALTER TABLE staged_ends DROP CONSTRAINT staged_ends_pkey, ADD PRIMARY KEY (account_id, snapshot_id, entry_id);
ALTER TABLE staged_folders DROP CONSTRAINT staged_folders_pkey, ADD PRIMARY KEY (account_id, snapshot_id, name);
ALTER TABLE staged_mailboxes DROP CONSTRAINT staged_mailboxes_pkey,
  ADD PRIMARY KEY (account_id, snapshot_id, mailbox_id);
