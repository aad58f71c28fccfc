package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/testenv/smtpcapture"
)

// served is `mtm serve` running in this process on a free port against
// the e2e's Dovecot, with a capturing SMTP server and an admin.
type served struct {
	*e2e
	smtp *smtpcapture.Server
	base string
	ops  string // the operators' listener
	stop context.CancelFunc
	done chan error
}

const adminPassword = "admin password 123"

// withSMTP adds the [smtp] section, base_url and listen to the config,
// and creates the admin boss@example.com.
func withSMTP(t *testing.T, e *e2e) *smtpcapture.Server {
	t.Helper()
	s := smtpcapture.Start(t)
	withSMTPAt(t, e, s.Addr)
	return s
}

// withSMTPAt is withSMTP with the SMTP server at addr, which may be down.
func withSMTPAt(t *testing.T, e *e2e, addr string) {
	t.Helper()
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// base_url is set once the port is known: the links in emails only
	// need to name the right path, so a fixed origin is fine here.
	if _, err := fmt.Fprintf(f, "[smtp]\naddress = %q\nfrom = \"Mail Time Machine <mtm@example.com>\"\n", addr); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	env := &environment{stdin: strings.NewReader(adminPassword + "\n"), stdout: &out, stderr: &errOut, getenv: []string{}}
	if code := run(context.Background(), env, []string{"admin", "add", "--config", e.config, "--email",
		"boss@example.com", "--domain", "example.com"}); code != 0 {
		t.Fatalf("admin add: %s%s", out.String(), errOut.String())
	}
}

// serveE2E starts `mtm serve` with listen on a free port, under e.now and
// with e.env when they are set.
func serveE2E(t *testing.T, e *e2e, smtp *smtpcapture.Server) *served {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	s := &served{e2e: e, smtp: smtp, stop: stop, done: make(chan error, 1)}
	go func() {
		var out, errOut bytes.Buffer
		getenv := append([]string{"MTM_LISTEN=127.0.0.1:0", "MTM_OPS_LISTEN=127.0.0.1:0", "MTM_BASE_URL=https://mtm.example.com",
			"MTM_LOG_LEVEL=warn"}, e.env...)
		if e.now != "" {
			getenv = append(getenv, nowEnv+"="+e.now)
		}
		env := &environment{stdout: &out, stderr: &errOut, ready: func(a string) { addr <- a }, getenv: getenv,
			opsReady: func(a string) { s.ops = "http://" + a }}
		code := run(ctx, env, []string{"serve", "--config", e.config})
		if code != 0 {
			s.done <- fmt.Errorf("mtm serve exited %d:\n%s%s", code, out.String(), errOut.String())
			return
		}
		s.done <- nil
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("mtm serve did not start listening in 30 s")
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown stops serve as SIGTERM does, and checks it ends cleanly.
func (s *served) shutdown(t *testing.T) {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(60 * time.Second):
		t.Error("mtm serve did not stop in 60 s")
	}
}

type httpClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *served) client(t *testing.T) *httpClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &httpClient{t: t, base: s.base, c: &http.Client{Jar: jar}}
}

func (h *httpClient) do(method, path string, body any, out any) int {
	h.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close() //nolint:errcheck // test
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		h.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, buf.String(), err)
		}
	}
	return res.StatusCode
}

func (h *httpClient) text(path string) (int, string) {
	h.t.Helper()
	res, err := h.c.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close() //nolint:errcheck // test
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, buf.String()
}

// TestServeRestoreOverHTTP runs the restore workflow through mtm serve's
// API: the user previews and requests, the admin is emailed a link,
// confirms, follows the progress; the mailbox is whole again and the user
// is emailed. /metrics, /healthz and /readyz answer, and the counters of
// the restore moved.
func TestServeRestoreOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	t.Parallel()
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	smtp := withSMTP(t, e)
	var uids []imap.UID
	for i := range 40 {
		folder := "INBOX"
		if i >= 30 {
			folder = "Projects/2026"
		}
		uids = append(uids, e.dc.Append(t, alice, folder, []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n",
			i, i, i)), []imap.Flag{imap.FlagSeen}, time.Time{}))
	}
	folders := []string{"INBOX", "Projects/2026"}
	backup := e.liveMeta(alice, folders...)
	e.mustMTM("snapshot")
	snap := e.snapshots(alice)[0]
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", uids[:10]...)
	if err := c.Delete("Projects/2026").Wait(); err != nil {
		t.Fatal(err)
	}

	s := serveE2E(t, e, smtp)
	user := s.client(t)
	if code := user.do("POST", "/api/v1/session", map[string]string{"email": alice, "password": "pw-" + alice}, nil); code != 200 {
		t.Fatalf("user login: %d", code)
	}
	var preview struct{ Total int }
	in := map[string]any{"snapshot": snap.ID, "folders": []string{}, "target": "original"}
	if code := user.do("POST", "/api/v1/restores/preview", in, &preview); code != 200 || preview.Total != 20 {
		t.Fatalf("preview: %d, %d to restore, want 20", code, preview.Total)
	}
	var req struct {
		ID     int64
		Status string
	}
	if code := user.do("POST", "/api/v1/restores", in, &req); code != 201 || req.Status != "pending" {
		t.Fatalf("request: %d %+v", code, req)
	}
	if code := user.do("POST", "/api/v1/restores", in, nil); code != http.StatusConflict {
		t.Errorf("a second open request: %d, want 409", code)
	}
	if code := user.do("GET", "/api/v1/admin/restores", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a user on the admin API: %d, want 401", code)
	}

	mail := waitMail(t, smtp, "boss@example.com", 1)
	if link := fmt.Sprintf("https://mtm.example.com/admin/restores/%d", req.ID); !strings.Contains(string(mail[0].Data), link) {
		t.Errorf("the admin's email lacks the link %s", link)
	}
	adm := s.client(t)
	if code := adm.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	id := strconv.FormatInt(req.ID, 10)
	// The email's link opens the request in the panel.
	if code, page := adm.text("/admin/restores/" + id); code != 200 || !strings.Contains(page, "Confirm and restore now") ||
		!strings.Contains(page, alice) {
		t.Errorf("the link of the admin's email: %d\n%.500s", code, page)
	}
	if code := adm.do("POST", "/api/v1/admin/restores/"+id+"/confirm", map[string]string{"reauth": adminPassword}, nil); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	var status struct{ Status, Error string }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		adm.do("GET", "/api/v1/admin/restores/"+id, nil, &status)
		if status.Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	if status.Status != "done" {
		t.Fatalf("restore ended %s: %s", status.Status, status.Error)
	}
	if got := e.liveMeta(alice, folders...); !equalMeta(got, backup) {
		t.Errorf("after the restore the mailbox differs from the backup")
	}
	userMail := waitMail(t, smtp, alice, 2) // the receipt, then the outcome
	if !strings.Contains(string(userMail[1].Data), "20") || !strings.Contains(string(userMail[1].Data), "is done") {
		t.Errorf("the user's email does not count the 20 messages:\n%s", userMail[1].Data)
	}

	ops := (&served{base: s.ops}).client(t)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready",
		"/metrics": `mtm_restores_total{outcome="done"} 1`, "/debug/pprof/": "goroutine"} {
		if code, body := ops.text(path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("ops %s: %d, lacks %q", path, code, want)
		}
	}
	// The public listener serves none of the operators' endpoints (its
	// /healthz says only "ok").
	public := s.client(t)
	for _, path := range []string{"/metrics", "/readyz", "/debug/pprof/"} {
		if code, body := public.text(path); code == 200 || strings.Contains(body, "mtm_") || strings.Contains(body, "goroutine") {
			t.Errorf("the public listener serves %s: %d", path, code)
		}
	}
	if code, body := public.text("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("public /healthz: %d %q", code, body)
	}
	if _, body := ops.text("/metrics"); !strings.Contains(body, `route="POST /api/v1/restores"`) {
		t.Error("/metrics has no latency of the restore route")
	}
	s.shutdown(t)
	e.mustMTM("check", "--read-data")
}

// waitMail waits until rcpt has received n messages.
func waitMail(t *testing.T, s *smtpcapture.Server, rcpt string, n int) []smtpcapture.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.To(rcpt)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d emails in 30 s, want %d", rcpt, len(got), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
