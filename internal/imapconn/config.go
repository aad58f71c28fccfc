package imapconn

import (
	"mtm/internal/config"
)

// FromConfig is how every command and worker reaches the configured IMAP
// server: its address, TLS mode and timeout, and the backup's credentials
// (the master user, or each account's own password from
// imap.password_file, read now). It checks the [imap] section's login
// settings first (config.CheckIMAPAuth).
func FromConfig(cfg *config.Config) (Server, error) {
	if err := cfg.CheckIMAPAuth(); err != nil {
		return Server{}, err
	}
	srv := Endpoint(cfg)
	if cfg.IMAP.MasterUser != "" {
		srv.Credentials = MasterUser{User: cfg.IMAP.MasterUser, Password: cfg.IMAP.MasterPassword,
			Separator: cfg.IMAP.MasterSeparator}
		return srv, nil
	}
	pw, err := config.ReadPasswords(cfg.IMAP.PasswordFile)
	if err != nil {
		return Server{}, err
	}
	srv.Credentials = Passwords(pw)
	return srv, nil
}

// Endpoint is the configured IMAP server without credentials: enough to
// check a user's own password (CheckLogin), never to log in as the backup.
func Endpoint(cfg *config.Config) Server {
	return Server{Address: cfg.IMAP.Address, TLS: string(cfg.IMAP.TLS),
		InsecureSkipVerify: cfg.IMAP.InsecureSkipVerify, Timeout: cfg.IMAP.Timeout}
}
