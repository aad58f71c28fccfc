package snapshot

import "mtm/internal/imapconn"

// The connection types live in package imapconn; these names keep the
// engine's options readable.
type (
	// Server says how to reach and log in to the IMAP server.
	Server = imapconn.Server
	// Credentials give the login for an account.
	Credentials = imapconn.Credentials
	// MasterUser logs in through a Dovecot-style master user.
	MasterUser = imapconn.MasterUser
	// Passwords logs in with each account's own password.
	Passwords = imapconn.Passwords

	conn         = imapconn.Conn
	listedFolder = imapconn.Folder
)

// TLS modes of the IMAP connection.
const (
	TLSNone     = imapconn.TLSNone
	TLSStartTLS = imapconn.TLSStartTLS
	TLSImplicit = imapconn.TLSImplicit
)

var dial = imapconn.Dial
