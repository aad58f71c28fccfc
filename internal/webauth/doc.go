// Package webauth owns who may use mtm's web interfaces (docs/workflows.md,
// "Sessions and login"), the webmail's users and the admin panel's admins
// alike: the Gate every interface logs in through (throttled attempts,
// sessions and their cookies), the throttling of failed logins per account
// and per client address (Throttle), the sessions that follow a login
// (Sessions), and the live check of a mailbox's own password against the
// IMAP server (IMAPVerifier, through imapconn). How an admin's password is
// checked (argon2id, package admin) is the admin panel's. Nothing here
// stores a password; sessions live in memory only.
package webauth
