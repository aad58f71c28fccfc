package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestCluster: a cluster starts, answers on loopback, and gives each
// caller a database of its own.
func TestCluster(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := c.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil || !strings.HasPrefix(v, "1") {
		t.Errorf("server_version %q, %v", v, err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := s.Database(t), s.Database(t)
	if a == b {
		t.Fatalf("two databases share %s", a)
	}
	for _, url := range []string{a, b} {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE mine (x int)"); err != nil {
			t.Errorf("%s: %v", url, err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
