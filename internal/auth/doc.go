// Package auth owns who may use the webmail (docs/design.md, "Sessions and
// login"): the live check of an account's own password against the IMAP
// server (IMAPVerifier), the throttling of failed logins per account and per
// client address (Throttle), and the sessions that follow a login
// (Sessions). Nothing here stores a password; sessions live in memory only.
package auth
