-- Migration 1: the schema of the first release (docs/design.md, "Catalog schema").
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  address TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

CREATE TABLE snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  state TEXT NOT NULL CHECK (state IN ('running','committed','failed')),
  taken_at INTEGER NOT NULL,
  finished_at INTEGER,
  day TEXT NOT NULL,
  owner TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  folders INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  fetched_messages INTEGER NOT NULL DEFAULT 0,
  fetched_bytes INTEGER NOT NULL DEFAULT 0,
  new_blobs INTEGER NOT NULL DEFAULT 0,
  new_blob_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_account ON snapshots(account_id, state);

CREATE TABLE contents (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  stored_size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  from_addr TEXT NOT NULL,
  to_addr TEXT NOT NULL,
  cc_addr TEXT NOT NULL,
  subject TEXT NOT NULL,
  date INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  has_attachments INTEGER NOT NULL
);

CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  uidvalidity INTEGER NOT NULL,
  last_uid INTEGER NOT NULL DEFAULT 0,
  uidnext INTEGER NOT NULL DEFAULT 0,
  highest_modseq INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account_id, name, uidvalidity)
);

CREATE TABLE folders (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  mailbox_id INTEGER REFERENCES mailboxes(id),
  delimiter TEXT NOT NULL,
  attributes TEXT NOT NULL,
  special_use TEXT NOT NULL,
  subscribed INTEGER NOT NULL,
  first_snap INTEGER NOT NULL,
  end_snap INTEGER
);
CREATE INDEX folders_live ON folders(account_id) WHERE end_snap IS NULL;
CREATE INDEX folders_account ON folders(account_id, first_snap);

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
  uid INTEGER NOT NULL,
  content_id INTEGER NOT NULL REFERENCES contents(id),
  flags TEXT NOT NULL,
  internal_date INTEGER NOT NULL,
  internal_tz INTEGER NOT NULL,
  first_snap INTEGER NOT NULL,
  end_snap INTEGER
);
CREATE INDEX entries_live ON entries(mailbox_id, uid) WHERE end_snap IS NULL;
CREATE INDEX entries_mailbox ON entries(mailbox_id, first_snap);
CREATE INDEX entries_end ON entries(end_snap) WHERE end_snap IS NOT NULL;
CREATE INDEX entries_content ON entries(content_id);

CREATE TABLE staged_entries (
  snapshot_id INTEGER NOT NULL,
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  content_id INTEGER NOT NULL REFERENCES contents(id),
  flags TEXT NOT NULL,
  internal_date INTEGER NOT NULL,
  internal_tz INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, mailbox_id, uid)
);
CREATE INDEX staged_entries_mailbox ON staged_entries(mailbox_id, uid);
CREATE INDEX staged_entries_content ON staged_entries(content_id);

CREATE TABLE staged_ends (
  snapshot_id INTEGER NOT NULL,
  entry_id INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, entry_id)
);

CREATE TABLE staged_folders (
  snapshot_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  mailbox_id INTEGER,
  delimiter TEXT NOT NULL,
  attributes TEXT NOT NULL,
  special_use TEXT NOT NULL,
  subscribed INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, name)
);

CREATE TABLE staged_mailboxes (
  snapshot_id INTEGER NOT NULL,
  mailbox_id INTEGER NOT NULL,
  last_uid INTEGER NOT NULL,
  uidnext INTEGER NOT NULL,
  highest_modseq INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, mailbox_id)
);

CREATE TABLE garbage (
  hash BLOB PRIMARY KEY,
  stored_size INTEGER NOT NULL,
  marked_at INTEGER NOT NULL
);

CREATE TABLE locks (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

CREATE VIRTUAL TABLE search_text USING fts5(
  from_addr, to_addr, subject, body,
  content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER contents_search_delete AFTER DELETE ON contents
  BEGIN DELETE FROM search_text WHERE rowid = old.id; END;

CREATE TABLE restores (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  snapshot_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  folders TEXT NOT NULL,
  target TEXT NOT NULL CHECK (target IN ('original','separate')),
  status TEXT NOT NULL CHECK (status IN ('pending','rejected','running','done','failed')),
  requested_by TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  decided_at INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  heartbeat_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  preview TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX restores_open ON restores(account_id) WHERE status IN ('pending','running');
CREATE INDEX restores_status ON restores(status, requested_at);

CREATE TABLE restore_appends (
  account_id INTEGER NOT NULL,
  folder TEXT NOT NULL,
  uidvalidity INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, folder, uidvalidity, uid)
);

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  rcpt TEXT NOT NULL,
  subject TEXT NOT NULL,
  body BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','sending','sent','failed')),
  created_at INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  dot_sent INTEGER NOT NULL DEFAULT 0,
  maybe_duplicate INTEGER NOT NULL DEFAULT 0,
  sent_at INTEGER
);
CREATE INDEX outbox_state ON outbox(state, next_at);

CREATE TABLE account_failures (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  nights INTEGER NOT NULL,
  first_night TEXT NOT NULL,
  first_error TEXT NOT NULL,
  last_night TEXT NOT NULL,
  last_error TEXT NOT NULL,
  notified_at INTEGER
);

CREATE TABLE admins (
  email TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  domains TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  client TEXT NOT NULL,
  action TEXT NOT NULL,
  account TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_account ON audit(account, at);
