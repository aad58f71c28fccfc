package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestRestoreSelectionOverHTTP is the user's way from "what vanished?" to
// "bring back exactly that": three messages are deleted between two days;
// the Changes API lists them; the user requests the restore of two of them
// and of one still in the mailbox (the preview counts two to restore, one
// present); the admin's email says three selected messages; once
// confirmed, exactly the two deleted ones are back and nothing is doubled.
// (Its name puts it in the PostgreSQL and S3 passes too.)
func TestRestoreSelectionOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	t.Parallel()
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	smtp := withSMTP(t, e)
	for i := range 5 {
		e.dc.Append(t, alice, "INBOX", []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n", i, i, i)),
			[]imap.Flag{imap.FlagSeen}, time.Time{})
	}
	e.now = "2026-11-20T03:00:00+01:00"
	e.mustMTM("snapshot")
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", 1, 2, 3)
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	e.now = "2026-11-21T03:00:00+01:00"
	e.mustMTM("snapshot")
	e.now = ""

	s := serveE2E(t, e, smtp)
	user := s.client(t)
	if code := user.do("POST", "/api/v1/session", map[string]string{"email": alice, "password": "pw-" + alice}, nil); code != 200 {
		t.Fatalf("user login: %d", code)
	}
	var ch struct {
		From     int64
		Counts   map[string]int
		Messages []struct {
			ID       int64
			Snapshot int64
			Change   string
			Subject  string
		}
	}
	if code := user.do("GET", "/api/v1/changes", nil, &ch); code != 200 || ch.Counts["deleted"] != 3 || len(ch.Messages) != 3 {
		t.Fatalf("changes: %d %+v", code, ch)
	}
	var pick []int64
	var picked []string
	for _, m := range ch.Messages {
		if m.Change != "deleted" || m.Snapshot != ch.From {
			t.Errorf("row %+v: want a deleted message of day %d", m, ch.From)
		}
		if m.Subject != "m2" { // m2 stays gone
			pick, picked = append(pick, m.ID), append(picked, m.Subject)
		}
	}
	// And one message still in the mailbox, from the earlier day's list.
	var list struct{ Messages []struct{ ID int64 } }
	user.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX&sort=date", ch.From), nil, &list)
	pick = append(pick, list.Messages[len(list.Messages)-1].ID)
	in := map[string]any{"snapshot": ch.From, "messages": pick, "target": "original"}
	var preview struct{ Total, Present int }
	if code := user.do("POST", "/api/v1/restores/preview", in, &preview); code != 200 || preview.Total != 2 || preview.Present != 1 {
		t.Fatalf("preview of the selection: %d %+v, want 2 to restore and 1 present", code, preview)
	}
	var req struct{ ID int64 }
	if code := user.do("POST", "/api/v1/restores", in, &req); code != 201 {
		t.Fatalf("request: %d", code)
	}
	mail := waitMail(t, smtp, "boss@example.com", 1)
	if !strings.Contains(string(mail[0].Data), "3 selected message(s)") {
		t.Errorf("the admin's email does not say what was selected:\n%s", mail[0].Data)
	}
	for _, subject := range picked {
		if !strings.Contains(string(mail[0].Data), "  - "+subject+"\r\n") {
			t.Errorf("the admin's email does not name the selected %q:\n%s", subject, mail[0].Data)
		}
	}
	adm := s.client(t)
	if code := adm.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	if code, page := adm.text(fmt.Sprintf("/admin/restores/%d", req.ID)); code != 200 || !strings.Contains(page, "3 selected messages") ||
		!strings.Contains(page, "All 3.") {
		t.Errorf("the admin's page of the request does not say what was selected: %d\n%.600s", code, page)
	} else {
		for _, subject := range picked {
			if !strings.Contains(page, "<td>"+subject+"</td>") {
				t.Errorf("the admin's page does not name the selected %q", subject)
			}
		}
	}
	if code := adm.do("POST", fmt.Sprintf("/api/v1/admin/restores/%d/confirm", req.ID), map[string]string{"reauth": adminPassword}, nil); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	var status struct{ Status, Error string }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		adm.do("GET", fmt.Sprintf("/api/v1/admin/restores/%d", req.ID), nil, &status)
		if status.Status != "running" && status.Status != "pending" || time.Now().After(deadline) {
			break
		}
	}
	if status.Status != "done" {
		t.Fatalf("restore ended %s: %s", status.Status, status.Error)
	}
	got := subjectsIn(t, e, alice, "INBOX")
	want := append([]string{"m3", "m4"}, picked...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("INBOX after the restore: %v, want %v", got, want)
	}
}

// subjectsIn lists the subjects of a live folder.
func subjectsIn(t *testing.T, e *e2e, account, folder string) []string {
	t.Helper()
	c := e.dc.Dial(t, account)
	defer func() { _ = c.Logout().Wait() }()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSet{{Start: 1}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	return out
}
