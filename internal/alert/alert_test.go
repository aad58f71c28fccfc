package alert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/notify"
	"mtm/internal/scheduler"
)

// TestOncePerStreak: the alert goes to the responsible admins only, and a
// repeated call for the same streak queues nothing new; a later streak
// queues a new one.
func TestOncePerStreak(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC))
	cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close() //nolint:errcheck // test
	for email, domains := range map[string][]string{"boss@example.com": {"example.com"},
		"other@example.org": {"example.org"}, "root@example.net": nil} {
		if err := cat.AddAdmin(ctx, catalog.AdminRow{Email: email, PasswordHash: "x", Domains: domains}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com"
	mailer, err := notify.New(cfg, notify.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	woken := 0
	n := &Notifier{Catalog: cat, Mailer: mailer, Wake: func() { woken++ }}
	nights := []scheduler.NightResult{{Night: "2026-11-23", Error: "connection refused"},
		{Night: "2026-11-24", Error: "connection refused"}}
	for range 2 {
		if err := n.AccountFailing(ctx, "alice@example.com", nights); err != nil {
			t.Fatal(err)
		}
	}
	mail, err := cat.UndeliveredMail(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range mail {
		to = append(to, m.To)
		if !strings.Contains(m.Subject, "alice@example.com") {
			t.Errorf("the alert to %s is about %q", m.To, m.Subject)
		}
	}
	if len(mail) != 2 || strings.Join(to, " ") != "boss@example.com root@example.net" && strings.Join(to, " ") != "root@example.net boss@example.com" {
		t.Errorf("alerts queued to %v, want boss and root once each", to)
	}
	if woken != 2 {
		t.Errorf("the sender was woken %d times", woken)
	}
	later := []scheduler.NightResult{{Night: "2026-12-01", Error: "x"}, {Night: "2026-12-02", Error: "x"}}
	if err := n.AccountFailing(ctx, "alice@example.com", later); err != nil {
		t.Fatal(err)
	}
	if mail, _ := cat.UndeliveredMail(ctx, 100); len(mail) != 4 {
		t.Errorf("%d mails after a second streak, want 4", len(mail))
	}
	if err := n.AccountFailing(ctx, "nobody@nowhere.test", nights); err != nil {
		t.Errorf("an account with only a global admin: %v", err)
	}
}
