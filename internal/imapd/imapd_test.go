package imapd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"mtm/internal/catalog"
	"mtm/internal/testenv/hostile"
	"mtm/internal/testenv/mailstore"
	"mtm/internal/webauth"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var (
	lunch = crlf(`From: Carol <carol@example.com>
To: alice@example.com
Subject: Lunch on Friday
Date: Mon, 23 Nov 2026 09:00:00 +0100
Message-ID: <lunch@example.com>

Shall we meet at the harbour?
`)
	news = crlf(`From: News <news@example.com>
To: alice@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_/_newsletter?=
Date: Sun, 22 Nov 2026 08:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Sch=C3=B6ne Gr=C3=BC=C3=9Fe from the newsletter
--M
Content-Type: application/pdf
Content-Disposition: attachment; filename="report 2026.pdf"

%PDF-1.4 not really
--M--
`)
	forBob = crlf(`From: Dan <dan@example.com>
To: bob@example.com
Subject: For Bob only
Date: Mon, 23 Nov 2026 10:00:00 +0100

secret words for bob
`)
)

type verifier struct{ passwords map[string]string }

func (v verifier) Verify(_ context.Context, address, password string) error {
	if pw, ok := v.passwords[address]; ok && pw == password {
		return nil
	}
	return webauth.ErrBadCredentials
}

// aliceDay is alice's mailbox on day 1 or 2: on day 2 lunch is gone from
// INBOX and the folder Old is deleted.
func aliceDay(day int) []mailstore.Folder {
	inbox := []mailstore.Msg{{UID: 1, Raw: lunch, Flags: []string{`\Seen`}}, {UID: 2, Raw: news, Flags: []string{`\Flagged`}}}
	fs := []mailstore.Folder{
		{Name: "Archiv", Container: true, Subscribed: true},
		{Name: "Archiv/2024 & more", Subscribed: true, Messages: []mailstore.Msg{{UID: 7, Raw: lunch, Flags: []string{`\Seen`, `\Answered`}}}},
		{Name: "Sent", SpecialUse: `\Sent`, Subscribed: false},
	}
	if day == 1 {
		fs = append(fs, mailstore.Folder{Name: "Old", Subscribed: true, Messages: []mailstore.Msg{{UID: 3, Raw: news}}})
	} else {
		inbox = inbox[1:]
	}
	var bad []mailstore.Msg
	for i, h := range hostile.Messages() {
		bad = append(bad, mailstore.Msg{UID: uint32(i + 1), Raw: h.Raw})
	}
	fs = append(fs, mailstore.Folder{Name: "INBOX", Subscribed: true, Messages: inbox},
		mailstore.Folder{Name: "日本語", Messages: bad})
	return fs
}

type fixture struct {
	t     *testing.T
	st    *mailstore.Store
	srv   *Server
	addr  string
	alice [2]catalog.Snapshot
	reg   *prometheus.Registry
	log   logBuffer
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	return newFixtureWith(t, o, nil)
}

// newFixtureWith is newFixture with the server's blob store wrapped by
// wrap (when not nil).
func newFixtureWith(t *testing.T, o Options, wrap func(Blobs) Blobs) *fixture {
	t.Helper()
	st := mailstore.New(t, time.Date(2026, 11, 22, 23, 5, 0, 0, time.UTC), time.UTC)
	f := &fixture{t: t, st: st, reg: prometheus.NewRegistry()}
	f.alice[0] = st.Snapshot(t, "alice@example.com", aliceDay(1))
	st.Snapshot(t, "bob@example.com", []mailstore.Folder{{Name: "INBOX", Subscribed: true,
		Messages: []mailstore.Msg{{UID: 1, Raw: forBob}}}})
	st.Clock.Advance(24 * time.Hour)
	f.alice[1] = st.Snapshot(t, "alice@example.com", aliceDay(2))
	o.Catalog, o.Blobs, o.Clock = st.Cat.Browser(), st.Blobs, st.Clock
	if wrap != nil {
		o.Blobs = wrap(o.Blobs)
	}
	o.Verifier = verifier{map[string]string{"alice@example.com": "alice-pw", "bob@example.com": "bob-pw",
		"nobackup@example.com": "pw"}}
	o.AllowPlaintext, o.MasterSeparator = true, "*"
	o.Logger = slog.New(slog.NewTextHandler(&f.log, nil))
	o.Registerer = f.reg
	f.srv, f.addr = serve(t, o)
	return f
}

// serve runs a server of o on a loopback port until the test ends.
func serve(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return srv, ln.Addr().String()
}

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

func (f *fixture) dial() *imapclient.Client {
	f.t.Helper()
	c, err := imapclient.DialInsecure(f.addr, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (f *fixture) login(user, pw string) *imapclient.Client {
	f.t.Helper()
	c := f.dial()
	if err := c.Login(user, pw).Wait(); err != nil {
		f.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func list(t *testing.T, c *imapclient.Client, options *imap.ListOptions) []*imap.ListData {
	t.Helper()
	l, err := c.List("", "*", options).Collect()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func names(l []*imap.ListData) []string {
	var out []string
	for _, d := range l {
		out = append(out, d.Mailbox)
	}
	return out
}

func TestFoldersPerDay(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.login("alice@example.com", "alice-pw")
	got := names(list(t, c, nil))
	want := []string{"INBOX", "2026-11-23", "2026-11-23/INBOX", "2026-11-23/Archiv", "2026-11-23/Archiv/2024 & more",
		"2026-11-23/Sent", "2026-11-23/日本語",
		"2026-11-22", "2026-11-22/INBOX", "2026-11-22/Archiv", "2026-11-22/Archiv/2024 & more", "2026-11-22/Old",
		"2026-11-22/Sent", "2026-11-22/日本語"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("LIST:\n got %q\nwant %q", got, want)
	}
	for _, d := range list(t, c, &imap.ListOptions{ReturnSubscribed: true, ReturnSpecialUse: true}) {
		attrs := map[imap.MailboxAttr]bool{}
		for _, a := range d.Attrs {
			attrs[a] = true
		}
		if !attrs[imap.MailboxAttrSubscribed] {
			t.Errorf("%s is not subscribed: %v", d.Mailbox, d.Attrs)
		}
		if attrs[imap.MailboxAttrSent] {
			t.Errorf("%s has special-use \\Sent: clients would file sent mail there", d.Mailbox)
		}
		noSelect := (!strings.Contains(d.Mailbox, "/") && d.Mailbox != "INBOX") || strings.HasSuffix(d.Mailbox, "/Archiv")
		if attrs[imap.MailboxAttrNoSelect] != noSelect {
			t.Errorf("%s: \\Noselect %v, want %v", d.Mailbox, attrs[imap.MailboxAttrNoSelect], noSelect)
		}
		if d.Delim != '/' {
			t.Errorf("%s: delimiter %q", d.Mailbox, d.Delim)
		}
	}
	// LSUB shows them all; % stops at one level.
	if got := names(list(t, c, &imap.ListOptions{SelectSubscribed: true})); len(got) != len(want) {
		t.Errorf("LIST (SUBSCRIBED): %d folders, want %d", len(got), len(want))
	}
	if l, err := c.List("", "%", nil).Collect(); err != nil || strings.Join(names(l), "|") != "INBOX|2026-11-23|2026-11-22" {
		t.Errorf("LIST %%: %q %v", names(l), err)
	}
	// Another account's days are never there; bob sees only his.
	b := f.login("bob@example.com", "bob-pw")
	if got := names(list(t, b, nil)); strings.Join(got, "|") != "INBOX|2026-11-22|2026-11-22/INBOX" {
		t.Errorf("bob's LIST: %q", got)
	}
	if _, err := b.Select("2026-11-23/INBOX", nil).Wait(); err == nil {
		t.Error("bob selected a day of alice's")
	}
	// An account without backups logs in to an empty INBOX alone.
	n := f.login("nobackup@example.com", "pw")
	if got := names(list(t, n, nil)); strings.Join(got, "|") != "INBOX" {
		t.Errorf("an account without backups lists %q", got)
	}
	// INBOX is there, as in every IMAP account, and empty: the mail is in
	// the days.
	if sel, err := c.Select("inbox", nil).Wait(); err != nil || sel.NumMessages != 0 || sel.UIDValidity == 0 {
		t.Errorf("SELECT INBOX: %+v %v", sel, err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	// STATUS, and STATUS in LIST.
	st, err := c.Status("2026-11-22/INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true,
		NumUnseen: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || st.UIDNext != 3 || *st.NumUnseen != 1 || st.UIDValidity == 0 {
		t.Errorf("STATUS day 1 INBOX: messages %d uidnext %d unseen %d uidvalidity %d", *st.NumMessages, st.UIDNext,
			*st.NumUnseen, st.UIDValidity)
	}
	st2, err := c.Status("2026-11-23/INBOX", &imap.StatusOptions{NumMessages: true, UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st2.NumMessages != 1 || st2.UIDValidity == st.UIDValidity {
		t.Errorf("STATUS day 2 INBOX: messages %d, uidvalidity %d (day 1: %d): must differ", *st2.NumMessages,
			st2.UIDValidity, st.UIDValidity)
	}
	ls, err := c.List("", "2026-11-23/*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ls {
		if d.Mailbox == "2026-11-23/日本語" && (d.Status == nil || *d.Status.NumMessages != uint32(len(hostile.Messages()))) {
			t.Errorf("LIST-STATUS of %s: %+v", d.Mailbox, d.Status)
		}
	}
	if _, err := c.Status("2026-11-23/Old", &imap.StatusOptions{NumMessages: true}).Wait(); err == nil ||
		!strings.Contains(err.Error(), "NONEXISTENT") {
		t.Errorf("STATUS of a folder deleted on day 2: %v", err)
	}
}

func TestReadDay(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.login("alice@example.com", "alice-pw")
	sel, err := c.Select("2026-11-22/INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDNext != 3 || len(sel.PermanentFlags) != 0 {
		t.Errorf("SELECT: %+v", sel)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true,
		InternalDate: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{{Peek: true}, {Peek: true, Partial: &imap.SectionPartial{Offset: 6, Size: 5}},
			{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}, {Part: []int{1}, Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, raw := range [][]byte{lunch, news} {
		m := msgs[i]
		whole := m.FindBodySection(&imap.FetchItemBodySection{Peek: true})
		if !bytes.Equal(whole, raw) {
			t.Errorf("message %d: BODY[] differs from what was stored:\n%q", i+1, whole)
		}
		if m.RFC822Size != int64(len(raw)) {
			t.Errorf("message %d: RFC822.SIZE %d, want %d", i+1, m.RFC822Size, len(raw))
		}
		part := m.FindBodySection(&imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 6, Size: 5}})
		if !bytes.Equal(part, raw[6:11]) {
			t.Errorf("message %d: BODY[]<6.5> = %q, want %q", i+1, part, raw[6:11])
		}
	}
	if msgs[0].Envelope == nil || msgs[0].Envelope.Subject != "Lunch on Friday" || msgs[0].Envelope.From[0].Host != "example.com" {
		t.Errorf("ENVELOPE: %+v", msgs[0].Envelope)
	}
	if got := msgs[1].Envelope.Subject; got != "Grüße / newsletter" {
		t.Errorf("ENVELOPE subject %q", got)
	}
	if mp, ok := msgs[1].BodyStructure.(*imap.BodyStructureMultiPart); !ok || len(mp.Children) != 2 ||
		mp.Children[1].Disposition() == nil || mp.Children[1].Disposition().Params["filename"] != "report 2026.pdf" {
		t.Errorf("BODYSTRUCTURE: %#v", msgs[1].BodyStructure)
	}
	if got := string(msgs[1].FindBodySection(&imap.FetchItemBodySection{Part: []int{1}, Peek: true})); !strings.Contains(got, "Sch=C3=B6ne") {
		t.Errorf("BODY[1] = %q", got)
	}
	if got := string(msgs[0].FindBodySection(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader,
		HeaderFields: []string{"Subject"}, Peek: true})); got != "Subject: Lunch on Friday\r\n\r\n" {
		t.Errorf("BODY[HEADER.FIELDS (Subject)] = %q", got)
	}
	if !hasFlag(msgs[0].Flags, imap.FlagSeen) || !hasFlag(msgs[1].Flags, imap.FlagFlagged) || hasFlag(msgs[1].Flags, imap.FlagSeen) {
		t.Errorf("flags: %v %v", msgs[0].Flags, msgs[1].Flags)
	}
	// UID FETCH with "*", and a fetch of the whole message without PEEK
	// changes no flag.
	if _, err := c.Fetch(imap.UIDSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	last, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 2, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil || len(last) != 1 || last[0].UID != 2 || hasFlag(last[0].Flags, imap.FlagSeen) {
		t.Errorf("UID FETCH 2:* after BODY[]: %+v %v", last, err)
	}

	// Every hostile message is served whole, with a structure and an
	// envelope, and nothing is logged as an error.
	if _, err := c.Select("2026-11-22/日本語", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	bad, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Peek: true}, {Part: []int{1, 1}, Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hostile.Messages() {
		if i >= len(bad) {
			t.Fatalf("only %d of %d hostile messages fetched", len(bad), len(hostile.Messages()))
		}
		if !bytes.Equal(bad[i].FindBodySection(&imap.FetchItemBodySection{Peek: true}), h.Raw) {
			t.Errorf("hostile %s: BODY[] differs", h.Name)
		}
		if bad[i].BodyStructure == nil {
			t.Errorf("hostile %s: no BODYSTRUCTURE", h.Name)
		}
	}
	if strings.Contains(f.log.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", f.log.String())
	}
	if n := testutil.ToFloat64(f.srv.metrics.bytes); n < float64(len(lunch)+len(news)) {
		t.Errorf("mtm_imapd_bytes_total %v", n)
	}

	// IDLE waits until DONE; NAMESPACE is the personal one.
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Errorf("IDLE: %v", err)
	}
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' || ns.Other != nil || ns.Shared != nil {
		t.Errorf("NAMESPACE: %+v %v", ns, err)
	}
	// UIDVALIDITY is the same for the same day and folder on another
	// connection (and after a restart: it is derived, not stored).
	again := f.login("alice@example.com", "alice-pw")
	s1, err1 := c.Select("2026-11-22/INBOX", nil).Wait()
	s2, err2 := again.Select("2026-11-22/INBOX", nil).Wait()
	if err1 != nil || err2 != nil || s1.UIDValidity != s2.UIDValidity ||
		s1.UIDValidity != uidValidity(f.alice[0].ID, mailboxOf(t, f, f.alice[0], "INBOX")) {
		t.Errorf("UIDVALIDITY %d and %d (%v %v)", s1.UIDValidity, s2.UIDValidity, err1, err2)
	}
}

// mailboxOf is the mailbox id of a snapshot's folder.
func mailboxOf(t *testing.T, f *fixture, s catalog.Snapshot, name string) int64 {
	t.Helper()
	folders, err := f.st.Cat.Folders(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, fo := range folders {
		if fo.Name == name {
			return fo.MailboxID
		}
	}
	t.Fatalf("no folder %s", name)
	return 0
}

func hasFlag(flags []imap.Flag, want imap.Flag) bool {
	for _, f := range flags {
		if strings.EqualFold(string(f), string(want)) {
			return true
		}
	}
	return false
}

func TestSearch(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.login("alice@example.com", "alice-pw")
	if _, err := c.Select("2026-11-22/INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    imap.SearchCriteria
		uids []imap.UID
	}{
		{"all", imap.SearchCriteria{}, []imap.UID{1, 2}},
		{"seen", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []imap.UID{1}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []imap.UID{2}},
		{"from", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "CAROL"}}}, []imap.UID{1}},
		{"subject decoded", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "grüße"}}}, []imap.UID{2}},
		{"body decoded", imap.SearchCriteria{Body: []string{"schöne"}}, []imap.UID{2}},
		{"text in header", imap.SearchCriteria{Text: []string{"carol@example.com"}}, []imap.UID{1}},
		{"body not header", imap.SearchCriteria{Body: []string{"Lunch on"}}, nil},
		{"uid range", imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: 2, Stop: 0}}}}, []imap.UID{2}},
		{"since", imap.SearchCriteria{SentSince: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}, []imap.UID{1}},
		{"larger", imap.SearchCriteria{Larger: int64(len(lunch))}, []imap.UID{2}},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagFlagged}}, {Flag: []imap.Flag{imap.FlagSeen}}}}}, []imap.UID{1, 2}},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, []imap.UID{2}},
	} {
		data, err := c.UIDSearch(&tc.c, nil).Wait()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := data.AllUIDs(); !equalUIDs(got, tc.uids) {
			t.Errorf("%s: UIDs %v, want %v", tc.name, got, tc.uids)
		}
	}
}

func equalUIDs(a, b []imap.UID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWritesAreRefused(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.login("alice@example.com", "alice-pw")
	before, err := f.st.Cat.CountRows(context.Background(), "entries")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("2026-11-22/INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	_ = sel
	cannot := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "read-only backup") {
			t.Errorf("%s: %v, want NO [CANNOT] read-only", what, err)
		}
	}
	_, err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
	cannot("STORE", err)
	_, err = c.Copy(imap.SeqSetNum(1), "2026-11-23/INBOX").Wait()
	cannot("COPY", err)
	_, err = c.Move(imap.SeqSetNum(1), "2026-11-23/INBOX").Wait()
	cannot("MOVE", err)
	_, err = c.Expunge().Collect()
	cannot("EXPUNGE", err)
	cannot("CREATE", c.Create("2026-11-22/New", nil).Wait())
	cannot("DELETE", c.Delete("2026-11-22/INBOX").Wait())
	cannot("RENAME", c.Rename("2026-11-22/INBOX", "x", nil).Wait())
	cannot("UNSUBSCRIBE", c.Unsubscribe("2026-11-22/INBOX").Wait())
	if err := c.Subscribe("2026-11-22/INBOX").Wait(); err != nil {
		t.Errorf("SUBSCRIBE of a folder that is there (and subscribed): %v", err)
	}
	app := c.Append("2026-11-22/INBOX", int64(len(lunch)), nil)
	if _, err := app.Write(lunch); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = app.Wait()
	cannot("APPEND", err)
	// CLOSE of the read-only folder expunges nothing and succeeds.
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Errorf("CLOSE: %v", err)
	}
	sel, err = c.Select("2026-11-22/INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 2 {
		t.Errorf("after the writes: %+v %v", sel, err)
	}
	after, err := f.st.Cat.CountRows(context.Background(), "entries")
	if err != nil || after != before {
		t.Errorf("entries %d before, %d after (%v)", before, after, err)
	}
}

func TestLoginsThrottledAndLimited(t *testing.T) {
	f := newFixture(t, Options{MaxConnectionsPerUser: 2,
		Throttle: webauth.ThrottleOptions{FreePair: 3}})
	for i := range 4 {
		c := f.dial()
		if err := c.Login("alice@example.com", "wrong").Wait(); err == nil {
			t.Fatalf("guess %d logged in", i)
		}
	}
	c := f.dial()
	err := c.Login("alice@example.com", "alice-pw").Wait()
	if err == nil || !strings.Contains(err.Error(), "Too many failed logins") {
		t.Fatalf("after 4 wrong passwords, the right one: %v, want throttled", err)
	}
	f.st.Clock.Advance(16 * time.Minute)
	a := f.login("alice@example.com", "alice-pw")
	f.login("alice@example.com", "alice-pw")
	third := f.dial()
	if err := third.Login("alice@example.com", "alice-pw").Wait(); err == nil || !strings.Contains(err.Error(), "LIMIT") &&
		!strings.Contains(err.Error(), "Too many connections") {
		t.Errorf("a third connection of a user limited to 2: %v", err)
	}
	if err := a.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		c := f.dial()
		return c.Login("alice@example.com", "alice-pw").Wait() == nil
	})
	// Master-user logins are refused.
	if err := f.dial().Login("alice@example.com*admin", "alice-pw").Wait(); err == nil {
		t.Error("a master-user login was accepted")
	}
	if got := testutil.ToFloat64(f.srv.metrics.logins.WithLabelValues(loginThrottled)); got < 1 {
		t.Errorf("throttled logins counted %v", got)
	}
	if !strings.Contains(f.log.String(), "imap login failed") {
		t.Errorf("failed logins not logged:\n%s", f.log.String())
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 100 {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met within 2 s")
}

func TestPrunedDaySaysBye(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.login("alice@example.com", "alice-pw")
	if _, err := c.Select("2026-11-22/INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Cat.Expire(context.Background(), []catalog.SnapshotID{f.alice[0].ID}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.st.Clock.Advance(pollEvery)
	_, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
	if err == nil {
		t.Fatal("FETCH in a pruned day succeeded")
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open after the day was pruned")
	}
	// A new connection lists only the day left.
	n := f.login("alice@example.com", "alice-pw")
	for _, name := range names(list(t, n, nil)) {
		if strings.HasPrefix(name, "2026-11-22") {
			t.Errorf("the pruned day is still listed: %s", name)
		}
	}
	if strings.Contains(f.log.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", f.log.String())
	}
}

func TestConnectionLimit(t *testing.T) {
	f := newFixture(t, Options{MaxConnections: 2})
	f.dial()
	f.dial()
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 200)
	n, _ := conn.Read(b)
	if !strings.HasPrefix(string(b[:n]), "* BYE Too many connections") {
		t.Errorf("the third connection got %q", b[:n])
	}
}

// selfSigned is a TLS configuration with a fresh self-signed certificate
// for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestTLS(t *testing.T) {
	// STARTTLS: no login before it.
	f := newFixture(t, Options{TLS: selfSigned(t)})
	o := f.srv.o
	o.AllowPlaintext, o.Registerer = false, nil
	_, addr := serve(t, o)
	plain, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	if !plain.Caps().Has(imap.CapLoginDisabled) || !plain.Caps().Has(imap.CapStartTLS) || !plain.Caps().Has(imap.CapID) {
		t.Errorf("capabilities before TLS: %v", plain.Caps())
	}
	if err := plain.Login("alice@example.com", "alice-pw").Wait(); err == nil {
		t.Error("a login without TLS was accepted")
	}
	c, err := imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.com", "alice-pw").Wait(); err != nil {
		t.Errorf("login after STARTTLS: %v", err)
	}

	// Implicit TLS (port 993).
	o.ImplicitTLS = true
	_, addr993 := serve(t, o)
	c993, err := imapclient.DialTLS(addr993, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c993.Close()
	if err := c993.Login("alice@example.com", "alice-pw").Wait(); err != nil {
		t.Errorf("login over implicit TLS: %v", err)
	}
	id, err := c993.ID(&imap.IDData{Name: "test"}).Wait()
	if err != nil || id.Name != "Mail Time Machine" {
		t.Errorf("ID: %+v %v", id, err)
	}
}

func TestIdleTimeout(t *testing.T) {
	f := newFixture(t, Options{IdleTimeout: 300 * time.Millisecond})
	c := f.login("alice@example.com", "alice-pw")
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("an idle connection stayed open past the idle timeout")
	}
	// The closed connection is no longer counted.
	waitFor(t, func() bool { return testutil.ToFloat64(f.srv.metrics.connections) == 0 })
}

// TestPipelinedDownload downloads a folder as mbsync does, one pipelined
// UID FETCH per message (their answers leave together: go-imap patch 6),
// skipping some and asking for one twice, a message of 2 MiB among them:
// every message arrives whole and exact.
func TestPipelinedDownload(t *testing.T) {
	f := newFixture(t, Options{})
	var msgs []mailstore.Msg
	for i := range 120 {
		body := strings.Repeat(fmt.Sprintf("line %d of message %d\r\n", i, i), 40)
		if i == 42 {
			body = strings.Repeat("x", 2<<20) + "\r\n"
		}
		msgs = append(msgs, mailstore.Msg{UID: uint32(10 + i*2),
			Raw: []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <%d@x>\r\n\r\n%s", i, i, body))})
	}
	f.st.Clock.Advance(24 * time.Hour)
	f.st.Snapshot(t, "alice@example.com", []mailstore.Folder{{Name: "Big", Messages: msgs}})
	c := f.login("alice@example.com", "alice-pw")
	if _, err := c.Select("2026-11-24/Big", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var order []int
	for i := range msgs {
		if i%11 != 3 { // some skipped
			order = append(order, i)
		}
		if i == 50 {
			order = append(order, 20) // one asked for again, out of order
		}
	}
	cmds := make([]*imapclient.FetchCommand, len(order))
	for k, i := range order {
		cmds[k] = c.Fetch(imap.UIDSetNum(imap.UID(msgs[i].UID)), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	}
	for k, cmd := range cmds {
		got, err := cmd.Collect()
		if err != nil {
			t.Fatal(err)
		}
		want := msgs[order[k]].Raw
		if len(got) != 1 || !bytes.Equal(got[0].FindBodySection(&imap.FetchItemBodySection{Peek: true}), want) {
			t.Fatalf("message %d (UID %d) is not what was stored", order[k], msgs[order[k]].UID)
		}
	}
	// The last answer was flushed although no command followed.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

// proxied dials the server as a load balancer would for a client at
// client: the PROXY protocol's v1 header first, then IMAP.
func (f *fixture) proxied(client string) *imapclient.Client {
	f.t.Helper()
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	local := conn.LocalAddr().(*net.TCPAddr)
	if _, err := fmt.Fprintf(conn, "PROXY TCP4 %s 127.0.0.1 %d 143\r\n", client, local.Port); err != nil {
		f.t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestProxyProtocol: behind a trusted load balancer, the PROXY header's
// client address is the one throttled and logged, so one client's guesses
// do not lock the account for the others; a connection from the balancer
// without the header, and a header from an untrusted address, are refused.
func TestProxyProtocol(t *testing.T) {
	f := newFixture(t, Options{Throttle: webauth.ThrottleOptions{FreePair: 3},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for i := range 4 {
		if err := f.proxied("203.0.113.7").Login("alice@example.com", "wrong").Wait(); err == nil {
			t.Fatalf("guess %d logged in", i)
		}
	}
	err := f.proxied("203.0.113.7").Login("alice@example.com", "alice-pw").Wait()
	if err == nil || !strings.Contains(err.Error(), "Too many failed logins") {
		t.Fatalf("the guessing client, right password: %v, want throttled", err)
	}
	if err := f.proxied("198.51.100.9").Login("alice@example.com", "alice-pw").Wait(); err != nil {
		t.Fatalf("another client behind the same balancer: %v", err)
	}
	if log := f.log.String(); !strings.Contains(log, "client=203.0.113.7") {
		t.Errorf("the failed logins do not name the client behind the balancer:\n%s", log)
	}
	// From the balancer without a header: refused.
	if err := f.dial().Login("alice@example.com", "alice-pw").Wait(); err == nil {
		t.Error("a connection from the balancer without a PROXY header logged in")
	}

	// A server that trusts no balancer refuses a header.
	untrusting := newFixture(t, Options{})
	if err := untrusting.proxied("198.51.100.9").Login("alice@example.com", "alice-pw").Wait(); err == nil {
		t.Error("a server trusting no balancer accepted a PROXY header")
	}
	if err := untrusting.dial().Login("alice@example.com", "alice-pw").Wait(); err != nil {
		t.Errorf("a plain connection to a server trusting no balancer: %v", err)
	}
}
