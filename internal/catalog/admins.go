package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrAdminExists: an admin with that email exists already.
var ErrAdminExists = errors.New("an admin with this email exists already")

// AdminRow is an admin account as stored.
type AdminRow struct {
	Email        string
	PasswordHash string   // PHC string, see package admin
	Domains      []string // none: global
	Language     string   // "en", "it"; "": not chosen
	// TOTPSecret is the second factor's secret (base32), "" until set up;
	// TOTPStep the last time step a code was accepted for.
	TOTPSecret string
	TOTPStep   int64
}

// AddAdmin creates an admin account.
func (c *DB) AddAdmin(ctx context.Context, a AdminRow) error {
	if a.Domains == nil {
		a.Domains = []string{}
	}
	domains, err := json.Marshal(a.Domains)
	if err != nil {
		return err
	}
	err = c.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admins(email, password_hash, domains, created_at, language)
			VALUES(?, ?, ?, ?, ?)`, normalizeAddress(a.Email), a.PasswordHash, string(domains), c.nowMillis(), a.Language)
		if isUniqueViolation(err) {
			return ErrAdminExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("adding admin %s: %w", a.Email, err)
	}
	return nil
}

// RemoveAdmin deletes an admin account, or returns ErrNotFound.
func (c *DB) RemoveAdmin(ctx context.Context, email string) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_recovery_codes WHERE email = ?`, normalizeAddress(email)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE email = ?`, normalizeAddress(email))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, fmt.Errorf("admin %s: %w", email, ErrNotFound))
		}
		return nil
	})
}

// Admin returns one admin account, or ErrNotFound.
func (c *DB) Admin(ctx context.Context, email string) (AdminRow, error) {
	a, err := scanAdmin(c.r.QueryRowContext(ctx, `SELECT email, password_hash, domains, language, totp_secret, totp_step FROM admins
		WHERE email = ?`,
		normalizeAddress(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("admin %s: %w", email, ErrNotFound)
	}
	return a, err
}

// SetAdminLanguage records the language an admin chose ("" for none).
func (c *DB) SetAdminLanguage(ctx context.Context, email, lang string) error {
	res, err := c.w.ExecContext(ctx, `UPDATE admins SET language = ? WHERE email = ?`, lang, normalizeAddress(email))
	if err != nil {
		return fmt.Errorf("setting the language of admin %s: %w", email, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("admin %s: %w", email, ErrNotFound)
	}
	return nil
}

// Admins lists every admin account, by email.
func (c *DB) Admins(ctx context.Context) ([]AdminRow, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT email, password_hash, domains, language, totp_secret, totp_step FROM admins
		ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("listing admins: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (AdminRow, error) { return scanAdmin(r) })
}

func scanAdmin(row interface{ Scan(...any) error }) (AdminRow, error) {
	var a AdminRow
	var domains string
	if err := row.Scan(&a.Email, &a.PasswordHash, &domains, &a.Language, &a.TOTPSecret, &a.TOTPStep); err != nil {
		return a, err
	}
	return a, json.Unmarshal([]byte(domains), &a.Domains)
}

// SetAdminTOTP records an admin's second factor: its secret, and the
// SHA-256 of its recovery codes, which replace any earlier ones; the
// step is from (the step of the code that proved the set-up).
func (c *DB) SetAdminTOTP(ctx context.Context, email, secret string, step int64, recovery [][32]byte) error {
	email = normalizeAddress(email)
	return c.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET totp_secret = ?, totp_step = ? WHERE email = ?`, secret, step, email)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, fmt.Errorf("admin %s: %w", email, ErrNotFound))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_recovery_codes WHERE email = ?`, email); err != nil {
			return err
		}
		for _, h := range recovery {
			if _, err := tx.ExecContext(ctx, `INSERT INTO admin_recovery_codes (email, code_hash) VALUES (?, ?)`,
				email, h[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetAdminTOTP clears an admin's second factor and recovery codes (mtm
// admin reset-2fa): the next login sets it up again.
func (c *DB) ResetAdminTOTP(ctx context.Context, email string) error {
	return c.SetAdminTOTP(ctx, email, "", 0, nil)
}

// UseTOTPStep spends the time step of an accepted code: it reports false
// when a code of that step or a later one was accepted before (a replay),
// on any node.
func (c *DB) UseTOTPStep(ctx context.Context, email string, step int64) (bool, error) {
	res, err := c.w.ExecContext(ctx, `UPDATE admins SET totp_step = ? WHERE email = ? AND totp_step < ? AND totp_secret != ''`,
		step, normalizeAddress(email), step)
	if err != nil {
		return false, fmt.Errorf("spending a code of admin %s: %w", email, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode spends one of an admin's recovery codes, by its
// SHA-256: false when it is not theirs or was used.
func (c *DB) UseRecoveryCode(ctx context.Context, email string, hash [32]byte) (bool, error) {
	res, err := c.w.ExecContext(ctx, `UPDATE admin_recovery_codes SET used_at = ?
		WHERE email = ? AND code_hash = ? AND used_at IS NULL`, c.nowMillis(), normalizeAddress(email), hash[:])
	if err != nil {
		return false, fmt.Errorf("spending a recovery code of admin %s: %w", email, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts an admin's unused recovery codes.
func (c *DB) RecoveryCodesLeft(ctx context.Context, email string) (int, error) {
	var n int
	err := c.readRow(ctx, `SELECT count(*) FROM admin_recovery_codes WHERE email = ? AND used_at IS NULL`,
		normalizeAddress(email)).Scan(&n)
	return n, err
}
