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
	a, err := scanAdmin(c.r.QueryRowContext(ctx, `SELECT email, password_hash, domains, language FROM admins WHERE email = ?`,
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
	rows, err := c.r.QueryContext(ctx, `SELECT email, password_hash, domains, language FROM admins ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("listing admins: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (AdminRow, error) { return scanAdmin(r) })
}

func scanAdmin(row interface{ Scan(...any) error }) (AdminRow, error) {
	var a AdminRow
	var domains string
	if err := row.Scan(&a.Email, &a.PasswordHash, &domains, &a.Language); err != nil {
		return a, err
	}
	return a, json.Unmarshal([]byte(domains), &a.Domains)
}
