package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestServeWarnsWhenMailVanishes: three accounts, two nights of `mtm
// serve` (the in-process night, and on PostgreSQL the snapshot jobs).
// After the first snapshot nobody is warned. Then alice deletes 12
// messages and a folder with its 4, bob deletes one message (a normal
// day), carol deletes 15 but turned the warning off in the webmail. After
// the second night exactly one email arrives, to alice, saying what went
// per folder with the link to the Changes view of those two days.
func TestServeWarnsWhenMailVanishes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	t.Parallel()
	const alice, bob, carol = "alice@example.com", "bob@example.com", "carol@example.com"
	e := newE2E(t, alice, bob, carol)
	smtp := withSMTP(t, e)
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, "[alerts]\nmass_deletion_messages = 10\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{alice, bob, carol} {
		for i := range 30 {
			e.dc.Append(t, a, "INBOX", []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <m%d.%s>\r\n\r\nbody %d\r\n", i, i, a, i)),
				[]imap.Flag{imap.FlagSeen}, time.Time{})
		}
	}
	for i := range 4 {
		e.dc.Append(t, alice, "Old", []byte(fmt.Sprintf("Subject: old %d\r\n\r\nold %d\r\n", i, i)), nil, time.Time{})
	}
	e.env = []string{"MTM_SNAPSHOT_AT=03:00"}
	night := func(now string) {
		t.Helper()
		e.now = now
		s := serveE2E(t, e, smtp)
		if now == "2026-11-20T03:00:30+01:00" {
			user := s.client(t)
			if code := user.do("POST", "/api/v1/session", map[string]string{"email": carol, "password": "pw-" + carol}, nil); code != 200 {
				t.Fatalf("carol's login: %d", code)
			}
			waitFor(t, "carol's first snapshot", func() bool { return e.committed(carol) == 1 })
			var set struct {
				MassDeletionWarning bool `json:"mass_deletion_warning"`
			}
			if code := user.do("PUT", "/api/v1/settings", map[string]bool{"mass_deletion_warning": false}, &set); code != 200 || set.MassDeletionWarning {
				t.Fatalf("carol turns the warning off: %d %+v", code, set)
			}
		}
		day := 1 + strings.Count(now, "2026-11-21")
		waitFor(t, "the night's snapshots", func() bool {
			for _, a := range []string{alice, bob, carol} {
				if n := e.committed(a); n != day {
					return false
				}
			}
			return true
		})
		if day == 2 {
			waitMailFor(t, smtp, alice, 1, 60*time.Second)
		}
		// Whatever else the night would send has been sent by now.
		time.Sleep(3 * time.Second)
		s.shutdown(t)
	}

	night("2026-11-20T03:00:30+01:00")
	if n := len(smtp.Messages()); n != 0 {
		t.Fatalf("%d emails after the first snapshots, want none", n)
	}
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", imap.UID(1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	if err := c.Delete("Old").Wait(); err != nil {
		t.Fatal(err)
	}
	expunge(t, e.dc.Dial(t, bob), "INBOX", 7)
	expunge(t, e.dc.Dial(t, carol), "INBOX", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
	night("2026-11-21T03:00:30+01:00")

	if n := len(smtp.Messages()); n != 1 {
		for _, m := range smtp.Messages() {
			t.Logf("to %v:\n%.300s", m.To, m.Data)
		}
		t.Fatalf("%d emails after the second night, want only alice's warning", n)
	}
	m := smtp.To(alice)[0]
	snaps := e.snapshots(alice)
	body, err := readQP(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Subject: 16 messages disappeared from your mailbox",
		"16 of the 34 messages", "Folders deleted:\r\n        4  Old",
		"Messages gone, per folder:\r\n       12  INBOX\r\n        4  Old",
		fmt.Sprintf("https://mtm.example.com/changes?from=%d&to=%d", min(snaps[0].ID, snaps[1].ID), max(snaps[0].ID, snaps[1].ID))} {
		if !strings.Contains(body, want) {
			t.Errorf("the warning does not say %q:\n%s", want, body)
		}
	}
}

// committed counts the account's committed snapshots, 0 while it has none.
func (e *e2e) committed(account string) int {
	e.t.Helper()
	code, out, _ := e.mtm("snapshots", "--account", account, "--json")
	var list []snapshotJSON
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		return 0
	}
	return len(list)
}

// readQP decodes a message's quoted-printable parts well enough to read
// its text.
func readQP(data []byte) (string, error) {
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
	return string(b), err
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s", what)
		}
	}
}
