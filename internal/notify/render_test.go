package notify

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"mtm/internal/clock"
	"mtm/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// seqReader is a deterministic Rand: 0, 1, 2, ...
type seqReader struct{ n byte }

func (s *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = s.n
		s.n++
	}
	return len(p), nil
}

func testRenderer(t testing.TB, from string, lang ...string) *Renderer {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.SMTP.From = from
	cfg.BaseURL = "https://mtm.example.com/"
	cfg.Location = loc
	if len(lang) > 0 {
		cfg.Language = lang[0]
	}
	r, err := New(cfg, Options{Clock: clock.NewFake(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)), Rand: &seqReader{}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	night1 = time.Date(2026, 3, 28, 0, 0, 5, 0, time.UTC)
	night2 = time.Date(2026, 3, 29, 0, 0, 5, 0, time.UTC)
	// hostile values: header injection, HTML injection, bidi reordering.
	crlfFolder   = "Inbox\r\nBcc: victim@example.net"
	scriptFolder = "<script>alert('x')</script>"
	bidiFolder   = "invoice\u202egpj.exe"
	crlfReason   = "Not now.\r\nBcc: victim@example.net\r\n\r\n<script>alert(1)</script>\nSecond line\ttabbed"
	crlfDay      = "2026-03-28\r\nBcc: victim@example.net"
)

// goldenCase renders one or more messages.
type goldenCase struct {
	name   string
	from   string
	render func(r *Renderer) ([]Message, error)
}

// lang is a case's configured default language: Italian for a name that
// ends in _it.
func (c goldenCase) lang() string {
	if strings.HasSuffix(c.name, "_it") {
		return "it"
	}
	return "en"
}

func one(m Message, err error) ([]Message, error) { return []Message{m}, err }

func goldenCases() []goldenCase {
	const from = "Mail Time Machine <mtm@example.com>"
	admins := ToUser{ReplyTo: []string{"admin@example.com", "bad\r\naddress"}}
	italian := ToUser{Lang: "it", ReplyTo: []string{"admin@example.com"}}
	return []goldenCase{
		{name: "restore_received", from: from, render: func(r *Renderer) ([]Message, error) {
			return one(r.RestoreReceived(RestoreReceived{ToUser: admins, ID: 42, Account: "alice@example.com", Day: "2026-03-27",
				Folders: []string{"INBOX", "Archive/2024"}, Target: "original", Preview: []FolderCount{{"INBOX", 120}, {"Archive/2024", 3}}}))
		}},
		{name: "restore_received_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return one(r.RestoreReceived(RestoreReceived{ToUser: italian, ID: 43, Account: "alice@example.com", Day: "2026-03-27",
				Selected: 212, Target: "separate", Preview: []FolderCount{{"Archiv/2024", 212}}}))
		}},
		{name: "restore_done_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return one(r.RestoreDone(RestoreDone{ToUser: italian, ID: 42, Account: "alice@example.com", Day: "2026-03-27",
				Target: "original", Restored: []FolderCount{{"INBOX", 118}, {"Archive/2024", 3}},
				Created: []string{"Archive", "Archive/2024"}, Skipped: 2}))
		}},
		{name: "restore_failed_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return one(r.RestoreFailed(RestoreFailed{ToUser: italian, ID: 45, Account: "alice@example.com", Day: "2026-03-27",
				Error: "IMAP server: connection reset by peer", Restored: []FolderCount{{"INBOX", 50}}, Skipped: 1}))
		}},
		{name: "restore_rejected_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return one(r.RestoreRejected(RestoreRejected{ToUser: italian, ID: 46, Account: "alice@example.com", Day: "2026-03-27",
				Reason: "Troppo: chiedi solo la cartella che ti serve."}))
		}},
		{name: "mass_deletion_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return r.MassDeletion("alice@example.com", []string{"admin@example.com"}, MassDeletion{ToUser: italian,
				Account: "alice@example.com", Night: "2026-03-28", PreviousDay: "2026-03-27", Day: "2026-03-28",
				From: 41, To: 57, Vanished: 252, Before: 1200,
				Folders:        []FolderCount{{"Archiv/2024", 212}, {"INBOX", 40}},
				DeletedFolders: []FolderCount{{"Archiv/2024", 212}}})
		}},
		{name: "restore_requested_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return r.RestoreRequested([]string{"admin@example.com"}, RestoreRequested{
				ID: 48, Account: "alice@example.com", Day: "2026-03-27", Target: "original", Selected: 212,
				Sample:      []SampleMessage{{Subject: "Fattura 2024-113", From: "fatture@acme.example"}},
				RequestedBy: "alice@example.com", RequestedAt: night2, Preview: []FolderCount{{"Archiv/2024", 212}},
			})
		}},
		{name: "account_failing_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return r.AccountFailing([]string{"admin@example.com"}, AccountFailing{Account: "carol@example.com",
				Previous: NightFailure{Day: "2026-03-27", At: night1, Error: "login refused"},
				Latest:   NightFailure{Day: "2026-03-28", At: night2, Error: "login refused"},
				LastGood: night1.Add(-24 * time.Hour), LastGoodDay: "2026-03-26"})
		}},
		{name: "night_late_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return r.NightLate([]string{"ops@example.com"}, NightLate{Night: "2026-03-28",
				Done: 412000, Jobs: 1000000, ProjectedEnd: night2.Add(7 * time.Hour), WindowEnd: night2.Add(6 * time.Hour),
				NodesAlive: 3})
		}},
		{name: "jobs_failed_it", from: from, render: func(r *Renderer) ([]Message, error) {
			return r.JobsFailed([]string{"ops@example.com"}, JobsFailed{From: night2, To: night2.Add(15 * time.Minute),
				Jobs: []FailedJob{{ID: 9001, Kind: "prune", Args: `{"night": "2026-03-28"}`, Attempts: 3, Error: "disk full"}}})
		}},
		{"restore_requested", from, func(r *Renderer) ([]Message, error) {
			return r.RestoreRequested([]string{"admin@example.com", "root@example.org"}, RestoreRequested{
				ID: 42, Account: "alice@example.com", Day: "2026-03-27", Target: "original",
				RequestedBy: "alice@example.com", RequestedAt: night2.Add(9 * time.Hour),
				Preview: []FolderCount{{"INBOX", 120}, {"Archive/2024", 3}},
			})
		}},
		{"restore_requested_unicode", "Zeitmaschine für Post <mtm@example.com>", func(r *Renderer) ([]Message, error) {
			return r.RestoreRequested([]string{"admin@example.com"}, RestoreRequested{
				ID: 43, Account: "jurgen@example.com", Day: "2026-03-27", Target: "separate",
				Folders:     []string{"Entwürfe", "日本語/メール", crlfFolder},
				RequestedBy: "Jürgen Müller", RequestedAt: night2,
				Preview: []FolderCount{{"Entwürfe", 2}, {"日本語/メール", 7}, {crlfFolder, 1}},
			})
		}},
		{"restore_requested_selection", from, func(r *Renderer) ([]Message, error) {
			return r.RestoreRequested([]string{"admin@example.com"}, RestoreRequested{
				ID: 48, Account: "alice@example.com", Day: "2026-03-27", Target: "original", Selected: 212,
				Sample: []SampleMessage{{Subject: "Invoice 2024-113", From: "billing@acme.example"},
					{Subject: "", From: ""}, {Subject: "Re: trip\r\nBcc: x@evil.example", From: "<script>@example.com"}},
				RequestedBy: "alice@example.com", RequestedAt: night2, Preview: []FolderCount{{"Archiv/2024", 212}},
			})
		}},
		{"restore_done", from, func(r *Renderer) ([]Message, error) {
			return one(r.RestoreDone(RestoreDone{ID: 42, Account: "alice@example.com", Day: "2026-03-27",
				Target: "original", Restored: []FolderCount{{"INBOX", 118}, {"Archive/2024", 3}},
				Created: []string{"Archive", "Archive/2024"}, Skipped: 2}))
		}},
		{"restore_done_hostile", from, func(r *Renderer) ([]Message, error) {
			return one(r.RestoreDone(RestoreDone{ID: 44, Account: "bob@example.com", Day: crlfDay,
				Target: "separate", TargetFolder: "Restored/" + crlfDay,
				Restored: []FolderCount{{crlfFolder, 1}, {scriptFolder, 2}, {bidiFolder, 3}},
				Created:  []string{scriptFolder}}))
		}},
		{"restore_failed", from, func(r *Renderer) ([]Message, error) {
			return one(r.RestoreFailed(RestoreFailed{ID: 45, Account: "alice@example.com", Day: "2026-03-27",
				Error:    "IMAP server: connection reset by peer\nafter 50 of 118 messages",
				Restored: []FolderCount{{"INBOX", 50}}, Skipped: 1}))
		}},
		{"restore_rejected", from, func(r *Renderer) ([]Message, error) {
			return one(r.RestoreRejected(RestoreRejected{ID: 46, Account: "alice@example.com", Day: "2026-03-27"}))
		}},
		{"restore_rejected_hostile", from, func(r *Renderer) ([]Message, error) {
			return one(r.RestoreRejected(RestoreRejected{ID: 47, Account: "alice@example.com", Day: crlfDay,
				Reason: crlfReason}))
		}},
		{"account_failing", from, func(r *Renderer) ([]Message, error) {
			return r.AccountFailing([]string{"admin@example.com"}, AccountFailing{Account: "carol@example.com",
				Previous:    NightFailure{Day: "2026-03-27", At: night1, Error: "login: NO [AUTHENTICATIONFAILED]"},
				Latest:      NightFailure{Day: "2026-03-28", At: night2, Error: "dial tcp 10.0.0.5:143: i/o timeout"},
				LastGood:    night1.Add(-24 * time.Hour),
				LastGoodDay: "2026-03-26"})
		}},
		{"night_late", from, func(r *Renderer) ([]Message, error) {
			return r.NightLate([]string{"ops@example.com", "oncall@example.org"}, NightLate{Night: "2026-03-28",
				Done: 412000, Jobs: 1000000, ProjectedEnd: night2.Add(7 * time.Hour), WindowEnd: night2.Add(6 * time.Hour),
				NodesAlive: 3})
		}},
		{"jobs_failed", from, func(r *Renderer) ([]Message, error) {
			return r.JobsFailed([]string{"ops@example.com"}, JobsFailed{From: night2, To: night2.Add(15 * time.Minute),
				Jobs: []FailedJob{{ID: 9001, Kind: "prune", Args: `{"night": "2026-03-28"}`, Attempts: 3, Error: crlfReason},
					{ID: 9002, Kind: "snapshot", Args: `{"account": "` + scriptFolder + `"}`, Attempts: 4,
						Error: "dial tcp 10.0.0.5:143: i/o timeout"}},
				More: 17})
		}},
		{"mass_deletion", from, func(r *Renderer) ([]Message, error) {
			return r.MassDeletion("alice@example.com", []string{"admin@example.com"}, MassDeletion{
				Account: "alice@example.com", Night: "2026-03-28", PreviousDay: "2026-03-27", Day: "2026-03-28",
				From: 41, To: 57, Vanished: 252, Before: 1200,
				Folders:        []FolderCount{{"Archiv/2024", 212}, {"INBOX", 40}},
				DeletedFolders: []FolderCount{{"Archiv/2024", 212}}})
		}},
		{"mass_deletion_hostile", from, func(r *Renderer) ([]Message, error) {
			return r.MassDeletion("bob@example.com", nil, MassDeletion{
				Account: "bob@example.com", Night: crlfDay, PreviousDay: crlfDay, Day: crlfDay, From: 1, To: 2,
				Vanished: 3, Before: 3, Folders: []FolderCount{{crlfFolder, 1}, {scriptFolder, 1}, {bidiFolder, 1}}})
		}},
		{"account_failing_never", from, func(r *Renderer) ([]Message, error) {
			return r.AccountFailing([]string{"admin@example.com"}, AccountFailing{Account: "dave@example.com",
				Previous: NightFailure{Day: "2026-03-27", At: night1, Error: "x"},
				Latest:   NightFailure{Day: crlfDay, At: night2, Error: crlfReason}})
		}},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msgs, err := tc.render(testRenderer(t, tc.from, tc.lang()))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			for _, m := range msgs {
				got.Write(m.Body)
				got.WriteString("\r\n==== end of message " + m.Key + " ====\r\n")
			}
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/notify -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the rendered message; run with -update and review the diff:\n%s", path, got.Bytes())
			}
		})
	}
}

// TestParseBack parses every produced message with go-message and checks
// what a mail client would see.
func TestParseBack(t *testing.T) {
	t.Parallel()
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msgs, err := tc.render(testRenderer(t, tc.from, tc.lang()))
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, m := range msgs {
				checkMessage(t, m)
				if ids[m.MessageID] {
					t.Errorf("Message-ID %s used twice", m.MessageID)
				}
				ids[m.MessageID] = true
			}
		})
	}
}

// headers lists the fields every message has exactly once.
var headers = []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Auto-Submitted"}

func checkMessage(t *testing.T, m Message) {
	t.Helper()
	checkWire(t, m.Body)
	mr, err := mail.CreateReader(bytes.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	fields := map[string]int{}
	for f := h.Fields(); f.Next(); {
		fields[f.Key()]++
	}
	for _, k := range headers {
		if fields[k] != 1 {
			t.Errorf("%s: %d %s fields, want 1", m.Key, fields[k], k)
		}
	}
	// A user's email may name the admins a reply reaches, once, and only
	// valid addresses.
	if fields["Reply-To"] > 0 {
		if rt, err := h.AddressList("Reply-To"); err != nil || fields["Reply-To"] != 1 || len(rt) != 1 || rt[0].Address != "admin@example.com" {
			t.Errorf("%s: Reply-To %v (%v), want admin@example.com alone", m.Key, rt, err)
		}
		delete(fields, "Reply-To")
	}
	if len(fields) != len(headers) {
		t.Errorf("%s: header fields %v, want exactly %v", m.Key, fields, headers)
	}
	if s, err := h.Subject(); err != nil || s != m.Subject || strings.ContainsAny(s, "\r\n") {
		t.Errorf("%s: subject %q (%v), want %q on one line", m.Key, s, err, m.Subject)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To {
		t.Errorf("%s: To %v (%v), want %s", m.Key, to, err, m.To)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != m.From {
		t.Errorf("%s: From %v (%v), want %s", m.Key, from, err, m.From)
	}
	if id, err := h.MessageID(); err != nil || id != m.MessageID {
		t.Errorf("%s: Message-ID %q (%v), want %q", m.Key, id, err, m.MessageID)
	}
	if d, err := h.Date(); err != nil || !d.Equal(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("%s: Date %v (%v)", m.Key, d, err)
	}
	checkParts(t, m, mr)
}

// checkWire checks the raw bytes: CRLF lines of at most 998 octets, 7-bit.
func checkWire(t *testing.T, b []byte) {
	t.Helper()
	for i, line := range bytes.Split(b, []byte("\r\n")) {
		if len(line) > 998 || bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d is too long or has a bare CR or LF: %q", i+1, line)
		}
		for _, c := range line {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
}

func checkParts(t *testing.T, m Message, mr *mail.Reader) {
	t.Helper()
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, params, err := p.Header.(*mail.InlineHeader).ContentType()
		if err != nil || params["charset"] != "utf-8" {
			t.Errorf("%s: part %s %v %v", m.Key, ct, params, err)
		}
		types = append(types, ct)
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ct == "text/html" && (bytes.Contains(body, []byte("<script")) || bytes.Contains(body, []byte("\u202e"))) {
			t.Errorf("%s: HTML part carries a script tag or a bidi override:\n%s", m.Key, body)
		}
		if ct == "text/plain" && bytes.Contains(body, []byte("\nBcc:")) {
			t.Errorf("%s: text part starts a line with an injected header:\n%s", m.Key, body)
		}
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("%s: parts %v, want text/plain then text/html", m.Key, types)
	}
}

func TestRecipientsAreChecked(t *testing.T) {
	t.Parallel()
	r := testRenderer(t, "mtm@example.com")
	for _, to := range []string{"", "a@example.com\r\nBcc: b@example.com", "Alice <a@example.com>",
		"a@example.com, b@example.com", "jörg@example.com", "a b@example.com", "nobody"} {
		if _, err := r.RestoreRejected(RestoreRejected{ID: 1, Account: to, Day: "2026-03-27"}); err == nil {
			t.Errorf("recipient %q accepted", to)
		}
	}
	if _, err := r.RestoreRequested(nil, RestoreRequested{ID: 1}); err == nil {
		t.Error("a request email without admins was rendered")
	}
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com\r\nBcc: x@example.com"
	if _, err := New(cfg, Options{}); err == nil {
		t.Error("a From with CRLF was accepted")
	}
}

func TestKeysAndLinks(t *testing.T) {
	t.Parallel()
	r := testRenderer(t, "mtm@example.com")
	msgs, err := r.RestoreRequested([]string{"a@example.com", "B@example.com"}, RestoreRequested{ID: 7, Account: "u@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Key != "restore/7/requested/a@example.com" || msgs[1].Key != "restore/7/requested/b@example.com" {
		t.Errorf("keys %q %q", msgs[0].Key, msgs[1].Key)
	}
	if !bytes.Contains(msgs[0].Body, []byte("https://mtm.example.com/admin/restores/7")) {
		t.Errorf("no link to the request in:\n%s", msgs[0].Body)
	}
	alerts, err := r.AccountFailing([]string{"a@example.com"}, AccountFailing{Account: "u@example.com",
		Previous: NightFailure{Day: "2026-03-27"}, Latest: NightFailure{Day: "2026-03-29"}})
	if err != nil {
		t.Fatal(err)
	}
	if alerts[0].Key != "account-failing/u@example.com/2026-03-27/a@example.com" {
		t.Errorf("alert key %q, want the streak's first night", alerts[0].Key)
	}
}

// FuzzRestoreRejected renders hostile values and checks the result parses
// back to the same one-line subject, one of each header.
func FuzzRestoreRejected(f *testing.F) {
	f.Add(crlfDay, crlfReason)
	f.Add("2026-03-27", "")
	f.Add("日本", "=?utf-8?q?x?=\r\n.\r\n")
	r := testRenderer(f, "mtm@example.com")
	f.Fuzz(func(t *testing.T, day, reason string) {
		m, err := r.RestoreRejected(RestoreRejected{ID: 1, Account: "a@example.com", Day: day, Reason: reason})
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, m)
	})
}

// TestAdminLanguage: each admin gets the request's email in the language
// they chose, the others in the configured one.
func TestAdminLanguage(t *testing.T) {
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com"
	r, err := New(cfg, Options{Clock: clock.NewFake(time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)),
		LanguageOf: func(a string) string { return map[string]string{"capo@example.com": "it"}[a] }})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.RestoreRequested([]string{"capo@example.com", "boss@example.com"}, RestoreRequested{ID: 7,
		Account: "alice@example.com", Day: "2026-03-27", Target: "original", RequestedBy: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Subject, "Richiesta di ripristino") || !strings.HasPrefix(msgs[1].Subject, "Restore request") {
		t.Errorf("subjects %q and %q: want Italian for capo, English for boss", msgs[0].Subject, msgs[1].Subject)
	}
}
