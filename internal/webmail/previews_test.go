package webmail

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/restore"
	"mtm/internal/restoreflow"
)

// slowRestores makes previews that last until released, or fails them
// with err.
type slowRestores struct {
	started chan struct{}
	release chan struct{}
	err     error
}

func (s *slowRestores) Preview(ctx context.Context, _ restoreflow.RequestInput) (*restore.Plan, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &restore.Plan{}, nil
}

func (s *slowRestores) Request(context.Context, restoreflow.Actor, restoreflow.RequestInput) (catalog.RestoreRequest, error) {
	return catalog.RestoreRequest{}, s.err
}

func (s *slowRestores) Mine(context.Context, string) ([]catalog.RestoreRequest, error) {
	return nil, nil
}

// TestOnePreviewPerSession: a session making a restore preview (each logs
// in to the live server) cannot start another until it ends; another
// session can. When the cluster's previews are all taken (ErrBusy) the
// answer says to try again shortly. Before, 40 previews at once opened 41
// logins on the live server.
func TestOnePreviewPerSession(t *testing.T) {
	f := newFixture(t)
	rs := &slowRestores{started: make(chan struct{}, 4), release: make(chan struct{})}
	srv, err := New(Options{Catalog: f.st.Cat.Browser(), Blobs: f.st.Blobs, Verifier: f.verifier, Clock: f.st.Clock,
		MasterSeparator: "*", Restores: rs})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.ts = ts
	body := fmt.Sprintf(`{"snapshot":%d}`, f.alice[1].ID)
	alice, alice2 := f.login("alice@example.com", "alice-pw"), f.login("alice@example.com", "alice-pw")
	first := make(chan int, 1)
	go func() {
		res, _ := alice.do("POST", "/api/v1/restores/preview", body)
		first <- res.StatusCode
	}()
	<-rs.started
	res, text := alice.do("POST", "/api/v1/restores/preview", body)
	if e := decode[map[string]string](t, text); res.StatusCode != http.StatusTooManyRequests || e["code"] != "preview_running" ||
		res.Header.Get("Retry-After") == "" {
		t.Errorf("a second preview of the same session: %d %s", res.StatusCode, text)
	}
	if res, _ := alice.do("POST", "/api/v1/restores", body); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a request (it makes a preview) while the session's preview runs: %d", res.StatusCode)
	}
	second := make(chan int, 1)
	go func() {
		res, _ := alice2.do("POST", "/api/v1/restores/preview", body)
		second <- res.StatusCode
	}()
	select {
	case <-rs.started:
	case <-time.After(5 * time.Second):
		t.Fatal("another session's preview did not start")
	}
	close(rs.release)
	if a, b := <-first, <-second; a != 200 || b != 200 {
		t.Errorf("the previews: %d and %d", a, b)
	}
	if res, _ := alice.do("POST", "/api/v1/restores/preview", body); res.StatusCode != 200 {
		t.Errorf("the session's next preview, once the first ended: %d", res.StatusCode)
	}
	rs.err = restoreflow.ErrBusy
	res, text = alice.do("POST", "/api/v1/restores/preview", body)
	if e := decode[map[string]string](t, text); res.StatusCode != http.StatusServiceUnavailable || e["code"] != "previews_busy" ||
		res.Header.Get("Retry-After") != "5" || !strings.Contains(e["error"], "Try again in a few seconds") {
		t.Errorf("every preview of the cluster taken: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), text)
	}
}

// TestDownloadsAreAudited: a message's source or download, an attached
// message and an attachment are each one "download" event of the audit
// log, naming the message; an image preview is not.
func TestDownloadsAreAudited(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var events []catalog.AuditEvent
	srv, err := New(Options{Catalog: f.st.Cat.Browser(), Blobs: f.st.Blobs, Verifier: f.verifier, Clock: f.st.Clock,
		MasterSeparator: "*", Audit: func(_ context.Context, ev catalog.AuditEvent) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.ts = ts
	c := f.login("alice@example.com", "alice-pw")
	id := f.ids(f.alice[1], "INBOX")[0]
	base := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", f.alice[1].ID, id)
	_, body := c.do("GET", base, "")
	d := decode[detailJSON](t, body)
	urls := []string{base + "/raw"}
	for _, a := range d.Attachments {
		urls = append(urls, fmt.Sprintf("%s/attachments/%d", base, a.Index))
		if a.Preview == "image" {
			c.do("GET", fmt.Sprintf("%s/attachments/%d?view=1", base, a.Index), "") // a preview: not a download
		}
	}
	for _, u := range urls {
		if res, _ := c.do("GET", u, ""); res.StatusCode != 200 {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var downloads []catalog.AuditEvent
	for _, ev := range events {
		if ev.Action == "download" {
			downloads = append(downloads, ev)
		}
	}
	if len(downloads) != len(urls) || len(urls) < 2 {
		t.Fatalf("%d downloads audited for %d: %+v", len(downloads), len(urls), events)
	}
	for _, ev := range downloads {
		if ev.Actor != "alice@example.com" || ev.Account != "alice@example.com" || ev.Role != catalog.RoleUser ||
			!strings.Contains(ev.Detail, fmt.Sprintf("message %d of %s in INBOX", id, f.alice[1].Day)) {
			t.Errorf("a download event: %+v", ev)
		}
	}
}
