package catalogtest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

func itoa(id catalog.SnapshotID) string { return strconv.FormatInt(int64(id), 10) }

// testAdminsAndAudit: admins are unique by address (any case), listed by
// address, removed for good; the audit log is newest first and a domain
// admin's view holds only events of their domains' accounts.
func (cs suite) testAdminsAndAudit(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:admins")
	for _, a := range []catalog.AdminRow{
		{Email: "Root@Example.net", PasswordHash: "h1"},
		{Email: "boss@example.com", PasswordHash: "h2", Domains: []string{"example.com", "xn--bcher-kva.example"}, Language: "it"},
	} {
		if err := db.AddAdmin(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddAdmin(ctx, catalog.AdminRow{Email: "ROOT@example.net", PasswordHash: "h3"}); !errors.Is(err, catalog.ErrAdminExists) {
		t.Errorf("the same admin twice: %v, want ErrAdminExists", err)
	}
	all, err := db.Admins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Email != "boss@example.com" || all[1].Email != "root@example.net" ||
		len(all[0].Domains) != 2 || len(all[1].Domains) != 0 {
		t.Errorf("admins: %+v", all)
	}
	if a, err := db.Admin(ctx, "BOSS@example.com"); err != nil || a.PasswordHash != "h2" || a.Language != "it" {
		t.Errorf("Admin(BOSS@example.com) = %+v, %v", a, err)
	}
	if err := db.SetAdminLanguage(ctx, "root@EXAMPLE.net", "en"); err != nil {
		t.Fatal(err)
	}
	if a, err := db.Admin(ctx, "root@example.net"); err != nil || a.Language != "en" {
		t.Errorf("root's language after setting it: %+v, %v", a, err)
	}
	if err := db.SetAdminLanguage(ctx, "nobody@example.net", "en"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("the language of no admin: %v, want ErrNotFound", err)
	}
	if err := db.RemoveAdmin(ctx, "boss@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Admin(ctx, "boss@example.com"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a removed admin: %v, want ErrNotFound", err)
	}
	if err := db.RemoveAdmin(ctx, "boss@example.com"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("removing twice: %v, want ErrNotFound", err)
	}

	for _, ev := range []catalog.AuditEvent{
		{Actor: "alice@example.com", Role: catalog.RoleUser, Client: "192.0.2.1", Action: "login", Account: "alice@example.com"},
		{Actor: "eve@evil.test", Role: catalog.RoleUser, Client: "192.0.2.9", Action: "login-failed", Account: "eve@evil.test"},
		{Actor: "root@example.net", Role: catalog.RoleAdmin, Action: "admin-login"},
		{Actor: "x@example_com", Role: catalog.RoleUser, Action: "login", Account: "x@example_com"},
	} {
		clk.Advance(time.Second)
		if err := db.Audit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	log, err := db.AuditLog(ctx, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 || log[0].Actor != "x@example_com" || log[3].Action != "login" || !log[3].At.Equal(clk.Now().Add(-3*time.Second)) {
		t.Errorf("the whole log, newest first: %+v", log)
	}
	// example.com must not match example_com: '_' is no wildcard.
	mine, err := db.AuditLog(ctx, []string{"example.com"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].Account != "alice@example.com" {
		t.Errorf("the log of example.com: %+v", mine)
	}
	if last, err := db.AuditLog(ctx, nil, 1); err != nil || len(last) != 1 || last[0].Actor != "x@example_com" {
		t.Errorf("the log limited to 1: %+v, %v", last, err)
	}

	// The export reads a span of time, oldest first; the retention counts
	// and deletes what is older than a time.
	first := clk.Now().Add(-3 * time.Second) // alice's login
	var got []string
	if err := db.AuditSince(ctx, first.Add(time.Second), clk.Now(), func(ev catalog.AuditEvent) error {
		got = append(got, ev.Actor)
		return nil
	}); err != nil || len(got) != 2 || got[0] != "eve@evil.test" || got[1] != "root@example.net" {
		t.Errorf("the events of a span, oldest first: %v, %v", got, err)
	}
	got = nil
	if err := db.AuditSince(ctx, first, time.Time{}, func(ev catalog.AuditEvent) error {
		got = append(got, ev.Action)
		return nil
	}); err != nil || len(got) != 4 {
		t.Errorf("every event since the first: %v, %v", got, err)
	}
	before := first.Add(2 * time.Second)
	if n, err := db.AuditBefore(ctx, before); err != nil || n != 2 {
		t.Errorf("events before: %d, %v", n, err)
	}
	if n, err := db.ExpireAudit(ctx, before); err != nil || n != 2 {
		t.Errorf("expired: %d, %v", n, err)
	}
	if log, err := db.AuditLog(ctx, nil, 10); err != nil || len(log) != 2 || log[1].Actor != "root@example.net" {
		t.Errorf("after the expiry: %+v, %v", log, err)
	}
}
