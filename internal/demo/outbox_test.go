package demo

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"mtm/internal/clock"
)

// TestOutboxPage sends a message over SMTP and finds it on the page:
// decoded subject and sender, escaped body, link clickable.
func TestOutboxPage(t *testing.T) {
	o, err := StartOutbox(clock.NewFake(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	}()
	msg := "From: =?utf-8?q?J=C3=BCrgen?= <mtm@example.com>\r\nTo: alice@example.com\r\n" +
		"Subject: =?utf-8?q?Wiederherstellung_von_=E2=80=9EEntw=C3=BCrfe=E2=80=9C?=\r\n" +
		"Date: Sat, 14 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee http://127.0.0.1:8080/admin/restores/7.\r\n<script>alert(1)</script>\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--b--\r\n"
	c, err := smtp.Dial(o.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("mtm@example.com", []string{"alice@example.com"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if got := o.Messages(); len(got) != 1 || got[0].To[0] != "alice@example.com" {
		t.Fatalf("captured %v", got)
	}
	resp, err := http.Get(o.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"Wiederherstellung von „Entwürfe“", "Jürgen &lt;mtm@example.com&gt;", "alice@example.com",
		`<a href="http://127.0.0.1:8080/admin/restores/7">`, "&lt;script&gt;alert(1)&lt;/script&gt;", "2026-03-14 10:00:00"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<p>html</p>") {
		t.Error("the page shows raw HTML")
	}
}

// TestIMAPLogins: every account logs in with its own password only.
func TestIMAPLogins(t *testing.T) {
	srv, err := StartIMAP(Passwords())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	a, b := Accounts()[0], Accounts()[1]
	for _, tc := range []struct {
		user, pw string
		ok       bool
	}{{a.Addr, a.Password, true}, {strings.ToUpper(a.Addr), a.Password, true}, {a.Addr, b.Password, false},
		{"nobody@example.com", a.Password, false}} {
		c, err := imapclient.DialInsecure(srv.Addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(tc.user, tc.pw).Wait()
		if (err == nil) != tc.ok {
			t.Errorf("login %s: %v, want ok=%v", tc.user, err, tc.ok)
		}
		if err == nil {
			ns, err := c.Namespace().Wait()
			if err != nil || len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' {
				t.Errorf("namespace %v: %v", ns, err)
			}
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}
}
