package webmail

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestChangesAPI: between alice's two days the plain message left INBOX
// while a copy stays in Archive/2024: one "removed" row whose id opens the
// message on the earlier day. The days default to the oldest and the
// latest; another account's days are not found; the days must be in order.
func TestChangesAPI(t *testing.T) {
	f := newFixture(t)
	anon, alice, bob := f.anon(), f.login("alice@example.com", "alice-pw"), f.login("bob@example.com", "bob-pw")
	res, body := alice.do("GET", "/api/v1/changes", "")
	if res.StatusCode != 200 {
		t.Fatalf("changes: %d %s", res.StatusCode, body)
	}
	var got changesJSON
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.From != int64(f.alice[0].ID) || got.To != int64(f.alice[1].ID) || got.Total != 1 || len(got.Folders) != 0 ||
		got.Counts["removed"] != 1 || got.Counts["deleted"] != 0 || len(got.Messages) != 1 {
		t.Fatalf("changes between alice's days: %s", body)
	}
	m := got.Messages[0]
	if m.Change != "removed" || m.Folder != "INBOX" || len(m.StillIn) != 1 || m.StillIn[0] != "Archive/2024" ||
		m.Snapshot != int64(f.alice[0].ID) || m.Subject == "" {
		t.Errorf("the row: %+v", m)
	}
	if res, _ := alice.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", m.Snapshot, m.ID), ""); res.StatusCode != 200 {
		t.Errorf("the row's message: %d", res.StatusCode)
	}
	if len(got.Groups) != 1 || got.Groups[0] != (groupJSON{Folder: "INBOX", Change: "removed", Messages: 1}) || got.IDs != nil {
		t.Errorf("groups %+v, ids %v: want INBOX's one removed message, and no ids unasked", got.Groups, got.IDs)
	}
	var sel changesJSON
	if _, body := alice.do("GET", "/api/v1/changes?change=deleted,removed&folder=INBOX&ids=1&limit=1", ""); json.Unmarshal([]byte(body), &sel) != nil ||
		len(sel.IDs) != 1 || sel.IDs[0] != m.ID || sel.Total != 1 {
		t.Errorf("the ids of a group: %s", body)
	}
	if _, body := alice.do("GET", "/api/v1/changes?change=new", ""); !json.Valid([]byte(body)) ||
		!strings.Contains(body, `"total":0`) || !strings.Contains(body, `"messages":[]`) {
		t.Errorf("filtered by change: %s", body)
	}
	// The day picker's count: nothing vanished, a copy is still archived.
	if _, body := alice.do("GET", "/api/v1/snapshots", ""); !strings.Contains(body, `"vanished":0`) {
		t.Errorf("snapshots without the vanished count: %s", body)
	}
	between := fmt.Sprintf("/api/v1/changes?from=%d&to=%d", f.alice[0].ID, f.alice[1].ID)
	for _, c := range []struct {
		who  string
		cl   *client
		path string
		code int
	}{
		{"anonymous", anon, between, 401},
		{"another account", bob, between, 404},
		{"backwards", alice, fmt.Sprintf("/api/v1/changes?from=%d&to=%d", f.alice[1].ID, f.alice[0].ID), 400},
		{"by day", alice, fmt.Sprintf("/api/v1/changes?from=%s&to=%s", f.alice[0].Day, f.alice[1].Day), 200},
		{"bad limit", alice, between + "&limit=0", 400},
		{"bob has one day", bob, "/api/v1/changes", 404},
	} {
		if res, body := c.cl.do("GET", c.path, ""); res.StatusCode != c.code {
			t.Errorf("%s: GET %s: %d, want %d (%.100s)", c.who, c.path, res.StatusCode, c.code, body)
		}
	}
}

// TestChangesLink: the Changes view's link (the warning email's) asks a
// visitor without a session to log in and names the way back; after the
// login only a path of this site is followed.
func TestChangesLink(t *testing.T) {
	f := newFixture(t)
	anon, alice := f.anon(), f.login("alice@example.com", "alice-pw")
	if res, _ := anon.do("GET", "/changes?from=2026-11-20&to=2026-11-21", ""); res.StatusCode != 303 ||
		res.Header.Get("Location") != "/login?next=%2Fchanges%3Ffrom%3D2026-11-20%26to%3D2026-11-21" {
		t.Errorf("logged out: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body := alice.do("GET", "/changes?from=1&to=2", ""); res.StatusCode != 200 || !strings.Contains(body, `id="changes"`) {
		t.Errorf("logged in: %d", res.StatusCode)
	}
	for next, want := range map[string]string{
		"/changes?from=1&to=2": "/changes?from=1&to=2",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"changes":              "/",
		"":                     "/",
	} {
		if res, _ := alice.do("GET", "/login?next="+url.QueryEscape(next), ""); res.StatusCode != 303 || res.Header.Get("Location") != want {
			t.Errorf("login page with next=%q: %d to %q, want %q", next, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
}
