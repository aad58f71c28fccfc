package webmail

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/search"
	"mtm/internal/testenv/hostile"
	"mtm/internal/testenv/mailstore"
	"mtm/internal/webauth"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var (
	plainMsg = crlf(`From: Carol <carol@example.com>
To: alice@example.com
Subject: Lunch on Friday
Date: Mon, 23 Nov 2026 09:00:00 +0100
Message-ID: <lunch@example.com>

Shall we meet at the harbour?
`)
	htmlMsg = crlf(`From: News <news@example.com>
To: alice@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_/_newsletter?=
Date: Sun, 22 Nov 2026 08:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: multipart/related; boundary="R"

--R
Content-Type: text/html; charset=utf-8

<p>Hello <b>world</b> <img src="cid:logo@x"> <img src="https://tracker.example/t.png"></p>
--R
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--R--
--M
Content-Type: application/pdf
Content-Disposition: attachment; filename="report 2026.pdf"

%PDF-1.4 not really
--M--
`)
	bobMsg = crlf(`From: Dan <dan@example.com>
To: bob@example.com
Subject: For Bob only
Date: Mon, 23 Nov 2026 10:00:00 +0100

secret words for bob
`)
)

// fakeVerifier accepts the passwords it holds and counts the calls.
type fakeVerifier struct {
	mu        sync.Mutex
	passwords map[string]string
	calls     int
}

func (f *fakeVerifier) Verify(_ context.Context, address, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if pw, ok := f.passwords[address]; ok && pw == password {
		return nil
	}
	return webauth.ErrBadCredentials
}

// fixture is a webmail over two accounts: alice with two days of
// snapshots, bob with one.
type fixture struct {
	t        *testing.T
	st       *mailstore.Store
	srv      *Server
	ts       *httptest.Server
	verifier *fakeVerifier
	alice    [2]catalog.Snapshot // day 1, day 2
	bob      catalog.Snapshot
	log      logBuffer // what the server logged
}

func aliceFolders(day int) []mailstore.Folder {
	inbox := []mailstore.Msg{{UID: 1, Raw: plainMsg, Flags: []string{`\Seen`}}, {UID: 2, Raw: htmlMsg, Flags: []string{`\Flagged`}}}
	if day == 2 {
		inbox = inbox[1:] // uid 1 deleted on day 2
	}
	var bad []mailstore.Msg
	for i, h := range hostile.Messages() {
		bad = append(bad, mailstore.Msg{UID: uint32(i + 1), Raw: h.Raw})
	}
	return []mailstore.Folder{
		{Name: "INBOX", Subscribed: true, Messages: inbox},
		{Name: "Archive", Container: true, Subscribed: true},
		{Name: "Archive/2024", Subscribed: true, Messages: []mailstore.Msg{{UID: 7, Raw: plainMsg, Flags: []string{`\Seen`, `\Answered`}}}},
		{Name: "Entwürfe", SpecialUse: `\Drafts`, Subscribed: true},
		{Name: "Hostile", Subscribed: false, Messages: bad},
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	st := mailstore.New(t, time.Date(2026, 11, 22, 23, 5, 0, 0, time.UTC), rome)
	f := &fixture{t: t, st: st, verifier: &fakeVerifier{passwords: map[string]string{
		"alice@example.com": "alice-pw", "bob@example.com": "bob-pw", "nobackup@example.com": "pw"}}}
	f.alice[0] = st.Snapshot(t, "alice@example.com", aliceFolders(1))
	f.bob = st.Snapshot(t, "bob@example.com", []mailstore.Folder{{Name: "INBOX", Subscribed: true,
		Messages: []mailstore.Msg{{UID: 1, Raw: bobMsg}}}})
	st.Clock.Advance(24 * time.Hour)
	f.alice[1] = st.Snapshot(t, "alice@example.com", aliceFolders(2))
	ix := &search.Indexer{Catalog: st.Cat, Blobs: st.Blobs}
	if _, err := ix.IndexAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv, err = New(Options{Catalog: st.Cat.Browser(), Blobs: st.Blobs, Verifier: f.verifier, Clock: st.Clock, Location: rome,
		MasterSeparator: "*", Logger: slog.New(slog.NewTextHandler(&f.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.ts.Close)
	return f
}

// logBuffer is what the server logged, safe for its goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// client is a browser-like client with its own cookie jar.
type client struct {
	f *fixture
	c *http.Client
}

func (f *fixture) anon() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &client{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (f *fixture) login(email, pw string) *client {
	f.t.Helper()
	c := f.anon()
	if res, body := c.do("POST", "/api/v1/session", `{"email":"`+email+`","password":"`+pw+`"}`); res.StatusCode != 200 {
		f.t.Fatalf("login %s: %d %s", email, res.StatusCode, body)
	}
	return c
}

// do sends a same-origin request, as the page's scripts do.
func (c *client) do(method, path, body string, hdr ...string) (*http.Response, string) {
	c.f.t.Helper()
	req, err := http.NewRequest(method, c.f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		c.f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err := errors.Join(err, res.Body.Close()); err != nil {
		c.f.t.Fatal(err)
	}
	return res, string(b)
}
