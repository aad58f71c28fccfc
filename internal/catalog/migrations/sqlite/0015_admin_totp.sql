-- Migration 15: the admins' second factor (docs/design.md, "Admins' second
-- factor"): the TOTP secret, the last time step accepted (a code is spent
-- once), and the recovery codes, by their SHA-256.
ALTER TABLE admins ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE admins ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;
CREATE TABLE admin_recovery_codes (
  email TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (email, code_hash)
);
