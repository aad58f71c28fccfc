package pgsql

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"mtm/internal/testenv/postgres"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct {
		in, want string
		params   int
	}{
		{"SELECT 1", "SELECT 1", 0},
		{"SELECT ?, ?", "SELECT $1, $2", 2},
		{"WHERE (?1 = 0 OR a = ?1) AND b = ?2", "WHERE ($1 = 0 OR a = $1) AND b = $2", 2},
		{"SELECT '?', \"a?b\", ? -- why?\n, ?", "SELECT '?', \"a?b\", $1 -- why?\n, $2", 2},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1},
		{"SELECT ?10", "SELECT $10", 10},
		{"WHERE a = ?2 AND b IN (?, ?)", "WHERE a = $2 AND b IN ($3, $4)", 4},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?", 0},
	} {
		if got := Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Params(c.in); got != c.params {
			t.Errorf("Params(%q) = %d, want %d", c.in, got, c.params)
		}
	}
}

// TestOpen: statements with SQLite's placeholders run on a real
// PostgreSQL, in and out of transactions, prepared or not; a wrong password
// never shows in the error.
func TestOpen(t *testing.T) {
	pg := postgres.Start(t)
	ctx := context.Background()
	db, err := Open(ctx, pg.Database(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close() //nolint:errcheck // test
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE kv (k text PRIMARY KEY, v bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a", "b", "it's ?"} {
		if _, err := db.SQL.ExecContext(ctx, `INSERT INTO kv(k, v) VALUES(?, ?) ON CONFLICT DO NOTHING`, k, i); err != nil {
			t.Fatal(err)
		}
	}
	var v int64
	if err := db.SQL.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = ?1 AND (?2 = 0 OR v >= ?2)`, "b", 1).Scan(&v); err != nil || v != 1 {
		t.Errorf("numbered placeholders: %d, %v", v, err)
	}
	st, err := db.SQL.PrepareContext(ctx, `UPDATE kv SET v = v + ? WHERE k = ? RETURNING v`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close() //nolint:errcheck // test
	tx, err := db.SQL.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.StmtContext(ctx, st).QueryRowContext(ctx, 10, "it's ?").Scan(&v); err != nil || v != 12 {
		t.Errorf("prepared statement in a transaction: %d, %v", v, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = 'it''s ?'`).Scan(&v); err != nil || v != 2 {
		t.Errorf("after the rollback: %d, %v", v, err)
	}

	bad := "postgres://postgres:s3cret-pw@127.0.0.1:1/mtm?sslmode=disable&connect_timeout=5" // nobody listens on port 1
	_, err = Open(ctx, bad, 1)
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("opening an unreachable database: %v", err)
	}
	if _, err := Open(ctx, "postgres://u:s3cret-pw@[::1/db", 1); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("a malformed URL: %v", err)
	}
}
