package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/search"
	"mtm/internal/serve"
	"mtm/internal/snapshot"
	"mtm/internal/store"
	"mtm/internal/testenv/hostile"
)

func crlfText(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var (
	lunchMsg = crlfText(`From: Carol <carol@example.com>
To: alice@example.com
Subject: Lunch on Friday
Date: Mon, 23 Nov 2026 09:00:00 +0100
Message-ID: <lunch@example.com>

Shall we meet at the harbour?
`)
	newsMsg = crlfText(`From: News <news@example.com>
To: alice@example.com
Subject: =?koi8-r?b?8NLJ18XU?= newsletter
Date: Sun, 22 Nov 2026 08:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: multipart/related; boundary="R"

--R
Content-Type: text/html; charset=windows-1252

<p>Hello <b>caf` + "\xe9" + `</b> <img src="cid:logo@x" alt="logo"></p>
--R
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--R--
--M
Content-Type: application/pdf
Content-Disposition: attachment; filename="report.pdf"

%PDF-1.4 not really
--M--
`)
	dayTwoMsg = crlfText(`From: Erin <erin@example.com>
To: alice@example.com
Subject: Day two news
Date: Mon, 23 Nov 2026 18:00:00 +0100

Only in the second backup.
`)
)

// webmailEnv is a Dovecot with alice and bob, two days of snapshots of
// alice (one of bob), and mtm's webmail serving them.
type webmailEnv struct {
	*e2e
	st        *store.Store
	clk       *clock.Fake
	days      [2]catalog.Snapshot
	ts        *httptest.Server
	hostileAt map[string]imap.UID
}

func newWebmailEnv(t *testing.T) *webmailEnv {
	t.Helper()
	e := &webmailEnv{e2e: newE2E(t, "alice@example.com", "bob@example.com"), hostileAt: map[string]imap.UID{}}
	dc := e.dc
	date := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	dc.Append(t, "alice@example.com", "INBOX", lunchMsg, []imap.Flag{imap.FlagSeen}, date)
	dc.Append(t, "alice@example.com", "INBOX", newsMsg, []imap.Flag{imap.FlagFlagged}, date)
	dc.Append(t, "alice@example.com", "Archive/2024", lunchMsg, []imap.Flag{imap.FlagSeen, imap.FlagAnswered}, date)
	dc.Append(t, "alice@example.com", "Entwürfe", dayTwoMsg, []imap.Flag{imap.FlagDraft}, date)
	for _, h := range hostile.Messages() {
		e.hostileAt[h.Name] = dc.Append(t, "alice@example.com", "Hostile", h.Raw, nil, date)
	}
	dc.Append(t, "bob@example.com", "INBOX", crlfText("Subject: For Bob only\n\nbob's secret\n"), nil, date)
	c := dc.Dial(t, "alice@example.com")
	for _, f := range []string{"INBOX", "Archive/2024", "Entwürfe"} {
		if err := c.Subscribe(f).Wait(); err != nil {
			t.Fatalf("subscribe %s: %v", f, err)
		}
	}

	cfg, err := loadConfig(&environment{getenv: []string{}}, e.config)
	if err != nil {
		t.Fatal(err)
	}
	e.clk = clock.NewFake(time.Date(2026, 11, 22, 23, 5, 0, 0, time.UTC)) // 00:05 in Rome
	ctx := context.Background()
	if e.st, err = openStore(ctx, cfg, e.clk); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.st.Close(); err != nil {
			t.Error(err)
		}
	})
	eng := snapshot.New(e.st.Catalog, e.st.Blobs, snapshot.Options{
		Server: imapconn.Server{Address: cfg.IMAP.Address, TLS: imapconn.TLSNone, Timeout: 10 * time.Second,
			Credentials: imapconn.MasterUser{User: dc.MasterUser, Password: dc.MasterPassword, Separator: "*"}},
		Clock: e.clk, Logger: slog.New(slog.DiscardHandler),
	})
	take := func(addr string) catalog.Snapshot {
		res := eng.Account(ctx, addr)
		if res.Err != nil {
			t.Fatalf("snapshot %s: %v", addr, res.Err)
		}
		return res.Snapshot
	}
	e.days[0] = take("alice@example.com")
	take("bob@example.com")
	dc.Append(t, "alice@example.com", "INBOX", dayTwoMsg, nil, date.Add(24*time.Hour))
	e.clk.Advance(24 * time.Hour)
	e.days[1] = take("alice@example.com")
	if _, err := (&search.Indexer{Catalog: e.st.Catalog, Blobs: e.st.Blobs}).IndexAll(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := serve.NewWebmail(cfg, e.st, e.clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

// apiClient is a cookie-keeping client of the webmail's API.
type apiClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *webmailEnv) client() *apiClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &apiClient{t: e.t, base: e.ts.URL, c: &http.Client{Jar: jar}}
}

func (a *apiClient) do(method, path, body string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close() //nolint:errcheck // read to the end below
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return res.StatusCode, b
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// liveBytes returns the SHA-256s of the bytes the server holds for the
// messages of a folder.
func (e *webmailEnv) liveBytes(account, folder string) map[string]bool {
	out := map[string]bool{}
	for _, h := range e.live(account, folder)[folder] {
		out[h] = true
	}
	return out
}
