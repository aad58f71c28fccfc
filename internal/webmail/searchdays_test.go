package webmail

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"mtm/internal/catalog"
	"mtm/internal/search"
	"mtm/internal/testenv/mailstore"
)

// TestSearchDaysAPI: a search over every day finds alice's lunch message
// once, with the days and folders it was in (INBOX on day 1 only, the
// archive on both), and where it is now; bob's message is not alice's to
// find; paging and a missing query.
func TestSearchDaysAPI(t *testing.T) {
	f := newFixture(t)
	anon, alice, bob := f.anon(), f.login("alice@example.com", "alice-pw"), f.login("bob@example.com", "bob-pw")
	get := func(c *client, path string) (int, daySearchJSON) {
		t.Helper()
		res, body := c.do("GET", path, "")
		var out daySearchJSON
		if res.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		return res.StatusCode, out
	}
	code, got := get(alice, "/api/v1/search?q=lunch")
	if code != 200 || got.Total != 1 || len(got.Results) != 1 {
		t.Fatalf("alice's lunch: %d %+v", code, got)
	}
	h := got.Results[0]
	d1, d2 := f.alice[0], f.alice[1]
	want := fmt.Sprintf("[{%d %s Archive/2024} {%d %s INBOX} {%d %s Archive/2024}]", d1.ID, d1.Day, d1.ID, d1.Day, d2.ID, d2.Day)
	var days []struct {
		S      int64
		D, Fol string
	}
	for _, d := range h.Days {
		days = append(days, struct {
			S      int64
			D, Fol string
		}{d.Snapshot, d.Day, d.Folder})
	}
	if fmt.Sprint(days) != want && fmt.Sprint(days) != fmt.Sprintf("[{%d %s INBOX} {%d %s Archive/2024} {%d %s Archive/2024}]", d1.ID, d1.Day, d1.ID, d1.Day, d2.ID, d2.Day) {
		t.Errorf("days %v, want %s", days, want)
	}
	if h.Subject != "Lunch on Friday" || h.Snapshot != int64(d2.ID) || h.Now.State != "live" || fmt.Sprint(h.Now.Folders) != "[Archive/2024]" {
		t.Errorf("the result: %+v", h)
	}
	if res, _ := alice.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", h.Snapshot, h.ID), ""); res.StatusCode != 200 {
		t.Errorf("the result's message does not open: %d", res.StatusCode)
	}
	for _, d := range h.Days {
		if res, _ := alice.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", d.Snapshot, d.ID), ""); res.StatusCode != 200 {
			t.Errorf("the message on %s in %s does not open: %d", d.Day, d.Folder, res.StatusCode)
		}
	}
	if _, got := get(alice, "/api/v1/search?q=secret"); got.Total != 0 {
		t.Errorf("alice finds bob's message: %+v", got)
	}
	if _, got := get(bob, "/api/v1/search?q=secret"); got.Total != 1 || got.Results[0].Now.State != "live" {
		t.Errorf("bob's own message: %+v", got)
	}
	if _, got := get(alice, "/api/v1/search?q=example&limit=1&offset=1"); len(got.Results) != 1 || got.Total < 2 {
		t.Errorf("a page of one: %+v", got)
	}
	for path, want := range map[string]int{"/api/v1/search?q=": 400, "/api/v1/search?q=x&limit=0": 400} {
		if code, _ := get(alice, path); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	if code, _ := get(anon, "/api/v1/search?q=lunch"); code != 401 {
		t.Errorf("anonymous: %d", code)
	}
}

// TestDayHit: where a found message is now, from its versions over three
// days: still in its folder, moved, deleted on the day it was first
// missing, and not on any kept day.
func TestDayHit(t *testing.T) {
	f := newFixture(t)
	days := []catalog.Snapshot{{ID: 10, Day: "2026-11-20"}, {ID: 20, Day: "2026-11-21"}, {ID: 30, Day: "2026-11-22"}}
	v := func(folder string, first, end catalog.SnapshotID) catalog.HitVersion {
		return catalog.HitVersion{Message: catalog.Message{EntryID: int64(first)*100 + int64(end)}, Folder: folder,
			FirstSnap: first, EndSnap: end}
	}
	for _, c := range []struct {
		name string
		vs   []catalog.HitVersion
		want string
	}{
		{"kept", []catalog.HitVersion{v("INBOX", 10, 0)}, "live [INBOX]  30 1000 days 3"},
		{"moved", []catalog.HitVersion{v("INBOX", 10, 20), v("Archive", 20, 0)}, "moved [Archive]  30 2000 days 3"},
		{"deleted", []catalog.HitVersion{v("INBOX", 5, 20)}, "deleted [] 2026-11-21 10 520 days 1"},
		{"copied, one deleted", []catalog.HitVersion{v("INBOX", 10, 30), v("Keep", 10, 0)}, "live [Keep]  30 1000 days 5"},
		{"before the kept days", []catalog.HitVersion{v("INBOX", 1, 5)}, "none"},
	} {
		h, ok := f.srv.dayHit(catalog.DayHit{Versions: c.vs}, days)
		got := "none"
		if ok {
			got = fmt.Sprintf("%s %v %s %d %d days %d", h.Now.State, h.Now.Folders, h.Now.Day, h.Snapshot, h.ID, len(h.Days))
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestSearchSaysWhenIndexing: a search of a day whose index is still being
// filled says how far it is; once whole, it says nothing more.
func TestSearchSaysWhenIndexing(t *testing.T) {
	f := newFixture(t)
	bob := f.login("bob@example.com", "bob-pw")
	day2 := f.st.Snapshot(t, "bob@example.com", []mailstore.Folder{{Name: "INBOX", Subscribed: true,
		Messages: []mailstore.Msg{{UID: 1, Raw: bobMsg}, {UID: 2, Raw: crlf("Subject: new words\n\nfresh secret\n")}}}})
	path := fmt.Sprintf("/api/v1/snapshots/%d/messages?q=secret", day2.ID)
	_, body := bob.do("GET", path, "")
	if !strings.Contains(body, `"indexing":{"indexed":1,"total":2}`) {
		t.Errorf("a search while indexing: %s", body)
	}
	if _, err := (&search.Indexer{Catalog: f.st.Cat, Blobs: f.st.Blobs}).IndexAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, body := bob.do("GET", path, ""); strings.Contains(body, "indexing") || !strings.Contains(body, `"total":2`) {
		t.Errorf("a search once indexed: %s", body)
	}
}
