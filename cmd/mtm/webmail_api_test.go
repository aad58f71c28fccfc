package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// TestWebmailOnDovecot logs in with the account's own password on a real
// Dovecot and browses two days of snapshots through the JSON API; every
// message downloads as the bytes the server holds.
func TestWebmailOnDovecot(t *testing.T) {
	e := newWebmailEnv(t)
	anon := e.client()
	for _, cr := range [][2]string{
		{"alice@example.com", "wrong"},
		{"alice@example.com*" + e.dc.MasterUser, e.dc.MasterPassword}, // the master user: never through the webmail
		{"nobody@example.com", "pw-alice@example.com"},
	} {
		if code, body := anon.do("POST", "/api/v1/session", fmt.Sprintf(`{"email":%q,"password":%q}`, cr[0], cr[1])); code != 401 {
			t.Errorf("login %s: %d %s", cr[0], code, body)
		}
	}
	alice := e.client()
	if code, body := alice.do("POST", "/api/v1/session", `{"email":"alice@example.com","password":"pw-alice@example.com"}`); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}

	var snaps []struct {
		ID       int64  `json:"id"`
		Day      string `json:"day"`
		Messages int64  `json:"messages"`
	}
	getJSON(t, alice, "/api/v1/snapshots", &snaps)
	if len(snaps) != 2 || snaps[0].Day != "2026-11-24" || snaps[1].Day != "2026-11-23" ||
		snaps[0].Messages != snaps[1].Messages+1 {
		t.Fatalf("snapshots %+v", snaps)
	}
	var folders []struct {
		Name       string `json:"name"`
		Subscribed bool   `json:"subscribed"`
		Selectable bool   `json:"selectable"`
		Messages   int64  `json:"messages"`
	}
	getJSON(t, alice, fmt.Sprintf("/api/v1/snapshots/%d/folders", snaps[0].ID), &folders)
	names := map[string]bool{}
	for _, f := range folders {
		names[f.Name] = f.Subscribed
	}
	if !names["Entwürfe"] || !names["Archive/2024"] || names["Hostile"] {
		t.Errorf("folders %+v", folders)
	}

	for i, day := range snaps {
		var list struct {
			Total    int `json:"total"`
			Messages []struct {
				ID      int64  `json:"id"`
				Subject string `json:"subject"`
			} `json:"messages"`
		}
		getJSON(t, alice, fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX&sort=-date", day.ID), &list)
		if want := 3 - i; list.Total != want {
			t.Errorf("day %s: %d messages in INBOX, want %d", day.Day, list.Total, want)
		}
		got := digests{}
		for _, m := range list.Messages {
			code, raw := alice.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/raw", day.ID, m.ID), "")
			if code != 200 {
				t.Fatalf("raw %d: %d", m.ID, code)
			}
			got.add("INBOX", raw)
		}
		if i == 0 {
			if d := got.sort().diff(e.live("alice@example.com", "INBOX")); d != "" {
				t.Errorf("downloads differ from the server:\n%s", d)
			}
		}
	}
	var hits struct {
		Total int `json:"total"`
	}
	getJSON(t, alice, fmt.Sprintf("/api/v1/snapshots/%d/messages?q=%s", snaps[0].ID, url.QueryEscape("harbour")), &hits)
	if hits.Total != 2 {
		t.Errorf("search harbour: %d hits, want 2", hits.Total)
	}
	getJSON(t, alice, fmt.Sprintf("/api/v1/snapshots/%d/messages?q=%s", snaps[0].ID, url.QueryEscape("Привет")), &hits)
	if hits.Total != 1 {
		t.Errorf("search a koi8-r subject: %d hits, want 1", hits.Total)
	}
	getJSON(t, alice, fmt.Sprintf("/api/v1/snapshots/%d/messages?q=secret", snaps[0].ID), &hits)
	if hits.Total != 0 {
		t.Errorf("alice finds bob's mail: %d", hits.Total)
	}

	bob := e.client()
	if code, _ := bob.do("POST", "/api/v1/session", `{"email":"bob@example.com","password":"pw-bob@example.com"}`); code != 200 {
		t.Fatal("bob cannot log in")
	}
	for _, p := range []string{fmt.Sprintf("/api/v1/snapshots/%d/folders", snaps[0].ID),
		fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX", snaps[1].ID)} {
		if code, _ := bob.do("GET", p, ""); code != 404 {
			t.Errorf("bob GET %s: %d, want 404", p, code)
		}
	}
	var bobSnaps []struct{ ID int64 }
	getJSON(t, bob, "/api/v1/snapshots", &bobSnaps)
	if len(bobSnaps) != 1 || slices.ContainsFunc(snaps, func(s struct {
		ID       int64  `json:"id"`
		Day      string `json:"day"`
		Messages int64  `json:"messages"`
	}) bool {
		return s.ID == bobSnaps[0].ID
	}) {
		t.Errorf("bob's snapshots %+v", bobSnaps)
	}
}

func getJSON(t *testing.T, c *apiClient, path string, v any) {
	t.Helper()
	code, body := c.do("GET", path, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
