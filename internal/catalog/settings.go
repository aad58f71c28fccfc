package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AccountSettings is what a user chose for their own account.
type AccountSettings struct {
	// MassDeletionWarning: the user is emailed when many messages, or a
	// folder with messages, vanish in one night (default true).
	MassDeletionWarning bool
	// Language is the code of the language the user chose ("en", "it"),
	// for the webmail and their emails; "": not chosen.
	Language string
}

// DefaultAccountSettings are an account's settings until its user changes
// them.
var DefaultAccountSettings = AccountSettings{MassDeletionWarning: true}

// AccountSettings returns the account's settings, the defaults when its
// user never changed them.
func (c *DB) AccountSettings(ctx context.Context, acct AccountID) (AccountSettings, error) {
	s := DefaultAccountSettings
	err := c.readRow(ctx, `SELECT mass_deletion_warning, language FROM account_settings WHERE account_id = ?`, acct).
		Scan(&s.MassDeletionWarning, &s.Language)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("reading the settings of account %d: %w", acct, err)
	}
	return s, nil
}

// SetAccountSettings stores the account's settings.
func (c *DB) SetAccountSettings(ctx context.Context, acct AccountID, s AccountSettings) error {
	if _, err := c.w.ExecContext(ctx, `INSERT INTO account_settings (account_id, mass_deletion_warning, language)
		VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET mass_deletion_warning = excluded.mass_deletion_warning,
		language = excluded.language`, acct, s.MassDeletionWarning, s.Language); err != nil {
		return fmt.Errorf("storing the settings of account %d: %w", acct, err)
	}
	return nil
}
