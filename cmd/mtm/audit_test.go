package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// TestAuditExportAndRetention: mtm audit export writes the events of a
// span as JSON lines, oldest first, and records that it did; mtm prune
// (like the night's) deletes the events older than [audit]
// retention_days, and says how many.
func TestAuditExportAndRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mtm")
	}
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.mustMTM("snapshot")
	ctx := context.Background()
	path := filepath.Join(e.dir, "data", "catalog.db")
	for _, ev := range []struct {
		at time.Time
		ev catalog.AuditEvent
	}{
		{time.Now().AddDate(-2, 0, 0), catalog.AuditEvent{Actor: alice, Role: catalog.RoleUser, Client: "192.0.2.1", Action: "login", Account: alice}},
		{time.Now().Add(-time.Hour), catalog.AuditEvent{Actor: alice, Role: catalog.RoleUser, Client: "192.0.2.1", Action: "login", Account: alice}},
		{time.Now().Add(-time.Minute), catalog.AuditEvent{Actor: alice, Role: catalog.RoleUser, Client: "192.0.2.1", Action: "download",
			Account: alice, Detail: "the whole message of message 1"}},
	} {
		cat, err := catalog.Open(ctx, path, catalog.Options{Clock: clock.NewFake(ev.at)})
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.Audit(ctx, ev.ev); err != nil {
			t.Fatal(err)
		}
		if err := cat.Close(); err != nil {
			t.Fatal(err)
		}
	}
	export := func(args ...string) []auditLine {
		t.Helper()
		out := e.mustMTM(append([]string{"audit", "export"}, args...)...)
		var lines []auditLine
		for l := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var a auditLine
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatalf("not a JSON line: %q: %v", l, err)
			}
			lines = append(lines, a)
		}
		return lines
	}
	all := export("--since", "2000-01-01")
	if len(all) != 3 || all[0].Action != "login" || all[2].Action != "download" || all[2].Client != "192.0.2.1" ||
		!all[0].At.Before(all[1].At) {
		t.Fatalf("every event: %+v", all)
	}
	if recent := export("--since", time.Now().Add(-2*time.Hour).Format(time.RFC3339)); len(recent) != 3 || recent[2].Action != "audit-export" {
		t.Errorf("the last two hours (the export before included): %+v", recent)
	}
	if code, _, errOut := e.mtm("audit", "export", "--since", "yesterday"); code != 2 || !strings.Contains(errOut, "neither a day") {
		t.Errorf("a bad --since: exit %d %s", code, errOut)
	}
	out := e.mustMTM("prune")
	if !strings.Contains(out, "audit:   1 events before") {
		t.Errorf("prune does not say it deletes the old event:\n%s", out)
	}
	if left := export("--since", "2000-01-01"); len(left) != 4 || left[0].At.Before(time.Now().AddDate(-1, 0, 0)) {
		t.Errorf("after the prune: %+v", left)
	}
}
