package catalogtest

import (
	"context"
	"crypto/sha256"
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

	// The second factor: set up with its recovery codes; a step is spent
	// once and only forwards; a recovery code once; a reset clears both.
	codes := [][32]byte{sha256.Sum256([]byte("AAAA")), sha256.Sum256([]byte("BBBB"))}
	if err := db.SetAdminTOTP(ctx, "root@example.net", "JBSWY3DPEHPK3PXP", 100, codes); err != nil {
		t.Fatal(err)
	}
	if row, err := db.Admin(ctx, "root@example.net"); err != nil || row.TOTPSecret != "JBSWY3DPEHPK3PXP" || row.TOTPStep != 100 {
		t.Errorf("after set-up: %+v, %v", row, err)
	}
	for _, c := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		if ok, err := db.UseTOTPStep(ctx, "root@example.net", c.step); err != nil || ok != c.ok {
			t.Errorf("step %d: %v, %v; want %v", c.step, ok, err, c.ok)
		}
	}
	if ok, err := db.UseTOTPStep(ctx, "boss@example.com", 500); err != nil || ok {
		t.Errorf("a step of an admin without a second factor: %v, %v", ok, err)
	}
	for i, want := range []bool{true, false} {
		if ok, err := db.UseRecoveryCode(ctx, "root@example.net", codes[0]); err != nil || ok != want {
			t.Errorf("recovery code, use %d: %v, %v", i+1, ok, err)
		}
	}
	if ok, err := db.UseRecoveryCode(ctx, "boss@example.com", codes[1]); err != nil || ok {
		t.Errorf("another admin's recovery code: %v, %v", ok, err)
	}
	if n, err := db.RecoveryCodesLeft(ctx, "root@example.net"); err != nil || n != 1 {
		t.Errorf("recovery codes left: %d, %v", n, err)
	}
	if err := db.ResetAdminTOTP(ctx, "root@example.net"); err != nil {
		t.Fatal(err)
	}
	if row, err := db.Admin(ctx, "root@example.net"); err != nil || row.TOTPSecret != "" || row.TOTPStep != 0 {
		t.Errorf("after a reset: %+v, %v", row, err)
	}
	if n, err := db.RecoveryCodesLeft(ctx, "root@example.net"); err != nil || n != 0 {
		t.Errorf("recovery codes after a reset: %d, %v", n, err)
	}
	if err := db.ResetAdminTOTP(ctx, "nobody@example.net"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("resetting an unknown admin: %v", err)
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
