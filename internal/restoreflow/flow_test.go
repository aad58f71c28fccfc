package restoreflow

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	gomail "github.com/emersion/go-message/mail"

	"mtm/internal/admin"
	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/imapconn"
	"mtm/internal/notify"
	"mtm/internal/outbox"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/smtpcapture"
)

const alice = "alice@example.com"

var (
	boss   = admin.Admin{Email: "boss@example.com", Domains: []string{"example.com"}}
	other  = admin.Admin{Email: "other@example.org", Domains: []string{"example.org"}}
	bossAs = Actor{Email: boss.Email, Role: catalog.RoleAdmin, Client: "192.0.2.7"}
	user   = Actor{Email: alice, Role: catalog.RoleUser, Client: "198.51.100.4"}
)

// world is a Dovecot with alice's mailbox, a data directory with her
// snapshot, a capturing SMTP server, and a flow with its outbox sender.
type world struct {
	t      *testing.T
	ctx    context.Context
	dc     *dovecot.Server
	dir    string
	cat    *catalog.DB
	blobs  *blobstore.Local
	smtp   *smtpcapture.Server
	cfg    *config.Config
	server imapconn.Server
	flow   *Flow
	sender *outbox.Sender
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), dc: dovecot.Start(t), dir: t.TempDir(), smtp: smtpcapture.Start(t)}
	w.dc.AddUser(t, alice, "pw")
	var err error
	if w.blobs, err = blobstore.OpenLocal(filepath.Join(w.dir, "blobs"), blobstore.LocalOptions{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	w.cat = w.openCatalog(clock.Real{}, "host:1:first")
	w.cfg = config.Default()
	w.cfg.BaseURL = "https://mtm.example.com"
	w.cfg.SMTP = config.SMTP{Address: w.smtp.Addr, TLS: "none", From: "Mail Time Machine <mtm@example.com>"}
	w.server = w.dc.IMAPServer()
	for _, a := range []admin.Admin{boss, other, {Email: "root@example.net"}} {
		if err := w.cat.AddAdmin(w.ctx, catalog.AdminRow{Email: a.Email, PasswordHash: "x", Domains: a.Domains}); err != nil {
			t.Fatal(err)
		}
	}
	w.flow = w.newFlow(w.cat)
	w.sender = outbox.New(w.cat, w.cfg.SMTP, outbox.Options{})
	return w
}

func (w *world) openCatalog(clk clock.Clock, owner string) *catalog.DB {
	w.t.Helper()
	cat, err := catalog.Open(w.ctx, filepath.Join(w.dir, "catalog.db"), catalog.Options{Clock: clk, Owner: owner})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			w.t.Error(err)
		}
	})
	return cat
}

func (w *world) newFlow(cat *catalog.DB) *Flow {
	w.t.Helper()
	mailer, err := notify.New(w.cfg, notify.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	return New(Options{Catalog: cat, Blobs: w.blobs, Server: w.server, Mailer: mailer, Settle: 200 * time.Millisecond})
}

func (w *world) snapshot() catalog.Snapshot {
	w.t.Helper()
	eng := snapshot.New(w.cat, w.blobs, snapshot.Options{Server: w.server})
	res := eng.Account(w.ctx, alice)
	if res.Err != nil {
		w.t.Fatal(res.Err)
	}
	return res.Snapshot
}

// deliver sends the outbox's mail to the capture server.
func (w *world) deliver() {
	w.t.Helper()
	if _, err := w.sender.RunOnce(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// mailTo returns the captured messages to rcpt, parsed.
func (w *world) mailTo(rcpt string) []*mail.Message {
	w.t.Helper()
	var out []*mail.Message
	for _, m := range w.smtp.To(rcpt) {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// body returns the decoded text/plain part of a captured email.
func body(t *testing.T, m *mail.Message) string {
	t.Helper()
	var raw strings.Builder
	for k, vs := range m.Header {
		for _, v := range vs {
			fmt.Fprintf(&raw, "%s: %s\r\n", k, v)
		}
	}
	raw.WriteString("\r\n")
	if _, err := io.Copy(&raw, m.Body); err != nil {
		t.Fatal(err)
	}
	mr, err := gomail.CreateReader(strings.NewReader(raw.String()))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*gomail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					t.Fatal(err)
				}
				text.Write(b)
			}
		}
	}
	return text.String()
}

// live is, per folder, the sorted "sha256 flags" of every message.
func (w *world) live(folders ...string) map[string][]string {
	w.t.Helper()
	c := w.dc.Dial(w.t, alice)
	defer func() { _ = c.Logout().Wait() }()
	out := map[string][]string{}
	section := &imap.FetchItemBodySection{Peek: true}
	for _, f := range folders {
		sel, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			w.t.Fatalf("examine %s: %v", f, err)
		}
		out[f] = []string{}
		if sel.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.UIDSet{{Start: 1}}, &imap.FetchOptions{Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			w.t.Fatal(err)
		}
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			slices.Sort(flags)
			out[f] = append(out[f], fmt.Sprintf("%x %s %v", sha256.Sum256(m.FindBodySection(section)),
				m.InternalDate.UTC().Format(time.RFC3339), flags))
		}
		slices.Sort(out[f])
	}
	return out
}

func message(i int) []byte {
	return []byte(fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: %s\r\nSubject: message %d\r\n"+
		"Message-ID: <m%d@example.org>\r\n\r\nBody %d\r\n", i, i, alice, i, i, i))
}

func (w *world) request(in RequestInput) catalog.RestoreRequest {
	w.t.Helper()
	r, err := w.flow.Request(w.ctx, user, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) status(id catalog.RestoreID) catalog.RestoreRequest {
	w.t.Helper()
	r, err := w.cat.Restore(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// TestRequestConfirmRestore is the whole flow on Dovecot and SMTP: messages,
// a folder and a nested folder deleted, one message moved; the request's
// email reaches the responsible admins with a link; a domain admin of
// another domain can neither see nor decide it; the confirmation restores
// everything with the same bytes, flags and dates, nothing doubled; the
// user's email has the counts; deciding again changes nothing.
func TestRequestConfirmRestore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	date := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var inbox []imap.UID
	for i := range 30 {
		flags := []imap.Flag{}
		if i%2 == 0 {
			flags = append(flags, imap.FlagSeen)
		}
		inbox = append(inbox, w.dc.Append(t, alice, "INBOX", message(i), flags, date.Add(time.Duration(i)*time.Hour)))
	}
	for i := 30; i < 40; i++ {
		w.dc.Append(t, alice, "Projects/2026", message(i), []imap.Flag{imap.FlagFlagged}, date)
	}
	for i := 40; i < 45; i++ {
		w.dc.Append(t, alice, "Projects", message(i), nil, date)
	}
	folders := []string{"INBOX", "Projects", "Projects/2026", "Trash"}
	w.dc.Append(t, alice, "Trash", message(99), nil, date)
	before := w.live(folders...)
	snap := w.snapshot()

	c := w.dc.Dial(t, alice)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	del := imap.UIDSetNum(inbox[:5]...)
	if err := c.Store(del, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(del).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(inbox[10], inbox[11]), "Trash").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Projects/2026", "Projects"} {
		if err := c.Delete(f).Wait(); err != nil {
			t.Fatal(err)
		}
	}

	r := w.request(RequestInput{Account: alice, Snapshot: snap.ID})
	if r.Status != catalog.RestorePending {
		t.Fatalf("request status %s", r.Status)
	}
	w.deliver()
	for _, a := range []string{boss.Email, "root@example.net"} {
		got := w.mailTo(a)
		if len(got) != 1 {
			t.Fatalf("%s received %d emails about the request, want 1", a, len(got))
		}
		text := body(t, got[0])
		link := fmt.Sprintf("https://mtm.example.com/admin/restores/%d", r.ID)
		for _, want := range []string{link, alice, snap.Day, "20"} {
			if !strings.Contains(text, want) {
				t.Errorf("the request email to %s lacks %q:\n%s", a, want, text)
			}
		}
	}
	if n := len(w.mailTo(other.Email)); n != 0 {
		t.Errorf("the admin of another domain received %d emails", n)
	}

	// The other domain's admin can neither see nor decide it.
	if _, err := w.flow.Get(w.ctx, other, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other domain's admin Get: %v, want ErrNotFound", err)
	}
	otherAs := Actor{Email: other.Email, Role: catalog.RoleAdmin}
	if err := w.flow.Confirm(w.ctx, other, otherAs, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other domain's admin Confirm: %v, want ErrNotFound", err)
	}
	if err := w.flow.Reject(w.ctx, other, otherAs, r.ID, "no"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other domain's admin Reject: %v, want ErrNotFound", err)
	}

	if err := w.flow.Confirm(w.ctx, boss, bossAs, r.ID); err != nil {
		t.Fatal(err)
	}
	w.flow.Wait()
	done := w.status(r.ID)
	if done.Status != catalog.RestoreDone {
		t.Fatalf("after the run: %s %s", done.Status, done.Error)
	}
	after := w.live(folders...)
	want := map[string][]string{"Projects": before["Projects"], "Projects/2026": before["Projects/2026"]}
	want["Trash"] = after["Trash"] // the two moved messages stay in Trash
	var inboxWant []string
	for _, m := range before["INBOX"] {
		if !slices.Contains(after["Trash"], m) {
			inboxWant = append(inboxWant, m)
		}
	}
	want["INBOX"] = inboxWant
	for _, f := range folders {
		if !slices.Equal(after[f], want[f]) {
			t.Errorf("%s after the restore: %d messages, want %d (bytes, dates and flags compared)", f, len(after[f]), len(want[f]))
		}
	}
	if len(after["Trash"]) != 3 {
		t.Errorf("Trash holds %d messages, want 1 + the 2 moved", len(after["Trash"]))
	}

	w.deliver()
	got := w.mailTo(alice)
	if len(got) != 2 {
		t.Fatalf("alice received %d emails, want the receipt and the confirmation", len(got))
	}
	if receipt := body(t, got[0]); !strings.Contains(receipt, "We received your request") || !strings.Contains(receipt, "Reply to this email") {
		t.Errorf("the receipt:\n%s", receipt)
	}
	text := body(t, got[1])
	for _, want := range []string{"INBOX", "Projects/2026", "20  in all", "still in your mailbox: 26"} {
		if !strings.Contains(text, want) {
			t.Errorf("the confirmation lacks %q:\n%s", want, text)
		}
	}

	// Deciding again has no effect.
	if err := w.flow.Confirm(w.ctx, boss, bossAs, r.ID); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("second confirmation: %v, want ErrRestoreState", err)
	}
	if err := w.flow.Reject(w.ctx, boss, bossAs, r.ID, "late"); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("rejection after confirmation: %v, want ErrRestoreState", err)
	}

	t.Run("second restore adds nothing", func(t *testing.T) {
		r2 := w.request(RequestInput{Account: alice, Snapshot: snap.ID})
		if err := w.flow.Confirm(w.ctx, boss, bossAs, r2.ID); err != nil {
			t.Fatal(err)
		}
		w.flow.Wait()
		if got := w.live(folders...); !mapsEqual(got, after) {
			t.Error("a second restore changed the mailbox")
		}
	})
	t.Run("reject", func(t *testing.T) { testReject(t, w, snap) })
	t.Run("confirm and reject at once", func(t *testing.T) { testRace(t, w, snap) })
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// testReject: the user is told, with the reason, and no header can be
// injected through it.
func testReject(t *testing.T, w *world, snap catalog.Snapshot) {
	r := w.request(RequestInput{Account: alice, Snapshot: snap.ID, Folders: []string{"INBOX"}})
	if _, err := w.flow.Request(w.ctx, user, RequestInput{Account: alice, Snapshot: snap.ID}); !errors.Is(err, catalog.ErrRestoreOpen) {
		t.Errorf("a second open request: %v, want ErrRestoreOpen", err)
	}
	w.deliver() // what earlier steps queued
	before := len(w.mailTo(alice))
	reason := "Nothing is missing.\r\nBcc: victim@example.net"
	if err := w.flow.Reject(w.ctx, boss, bossAs, r.ID, reason); err != nil {
		t.Fatal(err)
	}
	w.deliver()
	got := w.mailTo(alice)
	if len(got) != before+1 {
		t.Fatalf("alice received %d new emails, want the rejection", len(got)-before)
	}
	m := got[len(got)-1]
	if m.Header.Get("Bcc") != "" || len(w.mailTo("victim@example.net")) != 0 {
		t.Error("the reason injected a header")
	}
	if !strings.Contains(body(t, m), "Nothing is missing.") {
		t.Errorf("the rejection lacks the reason:\n%s", body(t, m))
	}
	if s := w.status(r.ID); s.Status != catalog.RestoreRejected || s.Reason != reason {
		t.Errorf("status %s reason %q", s.Status, s.Reason)
	}
}

// testRace confirms and rejects one request at the same moment: exactly
// one wins.
func testRace(t *testing.T, w *world, snap catalog.Snapshot) {
	r := w.request(RequestInput{Account: alice, Snapshot: snap.ID, Folders: []string{"Trash"}})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = w.flow.Confirm(w.ctx, boss, bossAs, r.ID) }()
	go func() { defer wg.Done(); errs[1] = w.flow.Reject(w.ctx, boss, bossAs, r.ID, "") }()
	wg.Wait()
	w.flow.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("confirm: %v, reject: %v; want exactly one to succeed", errs[0], errs[1])
	}
	lost := errs[0]
	if lost == nil {
		lost = errs[1]
	}
	if !errors.Is(lost, catalog.ErrRestoreState) {
		t.Errorf("the loser's error: %v, want ErrRestoreState", lost)
	}
	s := w.status(r.ID)
	if (errs[0] == nil && s.Status != catalog.RestoreDone) || (errs[1] == nil && s.Status != catalog.RestoreRejected) {
		t.Errorf("final status %s with confirm %v, reject %v", s.Status, errs[0], errs[1])
	}
}

// TestResumeAfterTheWorkerDied: a restore whose process stopped mid-run is
// taken over by the next process once the first is taken for dead, and
// finishes with nothing doubled.
func TestResumeAfterTheWorkerDied(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var uids []imap.UID
	for i := range 300 {
		uids = append(uids, w.dc.Append(t, alice, "INBOX", message(i), nil, time.Time{}))
	}
	before := w.live("INBOX")
	snap := w.snapshot()
	c := w.dc.Dial(t, alice)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	all := imap.UIDSetNum(uids...)
	if err := c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(all).Close(); err != nil {
		t.Fatal(err)
	}
	r := w.request(RequestInput{Account: alice, Snapshot: snap.ID})

	// The first process confirms, then stops before the run ends.
	ctx, stop := context.WithCancel(w.ctx)
	if err := w.flow.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.flow.Confirm(w.ctx, boss, bossAs, r.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // inside the settle wait
	stop()
	w.flow.Wait()
	if s := w.status(r.ID); s.Status != catalog.RestoreRunning {
		t.Fatalf("after the first process stopped: %s", s.Status)
	}

	// The next process, three minutes later: the first's heartbeat is stale.
	later := w.openCatalog(clock.Shifted{Offset: 3 * time.Minute}, "host:2:second")
	next := w.newFlow(later)
	if err := next.Start(w.ctx); err != nil {
		t.Fatal(err)
	}
	next.Wait()
	if s := w.status(r.ID); s.Status != catalog.RestoreDone {
		t.Fatalf("after the takeover: %s %s", s.Status, s.Error)
	}
	if got := w.live("INBOX"); !slices.Equal(got["INBOX"], before["INBOX"]) {
		t.Errorf("INBOX after the resumed restore: %d messages, want exactly the backup's %d",
			len(got["INBOX"]), len(before["INBOX"]))
	}
}

// TestSMTPDownThenUp: the request's and the decision's emails wait in the
// outbox while the SMTP server is down, and each is delivered exactly once
// when it is back.
func TestSMTPDownThenUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dc.Append(t, alice, "INBOX", message(1), nil, time.Time{})
	snap := w.snapshot()
	clk := clock.NewFake(time.Now())
	down := w.cfg.SMTP
	down.Address = "127.0.0.1:1" // nothing listens there
	broken := outbox.New(w.cat, down, outbox.Options{Clock: clk, Timeout: 2 * time.Second})
	r := w.request(RequestInput{Account: alice, Snapshot: snap.ID})
	if err := w.flow.Reject(w.ctx, boss, bossAs, r.ID, "not needed"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res, err := broken.RunOnce(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 0 {
			t.Fatalf("sent %d mails with the server down", res.Sent)
		}
		clk.Advance(2 * time.Hour) // past any backoff
	}
	if n := len(w.smtp.Messages()); n != 0 {
		t.Fatalf("%d mails arrived with the server down", n)
	}
	stats, err := w.cat.OutboxStats(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Backlog() != 4 {
		t.Fatalf("backlog %d while the server is down, want 4 (two admins, the user's receipt and outcome)", stats.Backlog())
	}
	up := outbox.New(w.cat, w.cfg.SMTP, outbox.Options{Clock: clk})
	for range 3 {
		if _, err := up.RunOnce(w.ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour)
	}
	for rcpt, want := range map[string]int{boss.Email: 1, "root@example.net": 1, alice: 2} {
		if got := len(w.smtp.To(rcpt)); got != want {
			t.Errorf("%s received %d mails, want %d", rcpt, got, want)
		}
	}
}

// TestOneBadAdminAddressBreaksNothing: admins added before addresses were
// checked ("@", one in another script) are left out of the request's
// emails and logged for the operators; the request is recorded and the
// other admin is told (before, every request answered 503).
func TestOneBadAdminAddressBreaksNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, bad := range []string{"@", "jürgen@example.com"} {
		if err := w.cat.AddAdmin(w.ctx, catalog.AdminRow{Email: bad, PasswordHash: "x", Domains: []string{"example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	var logged strings.Builder
	mailer, err := notify.New(w.cfg, notify.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w.flow = New(Options{Catalog: w.cat, Blobs: w.blobs, Server: w.server, Mailer: mailer, Settle: 200 * time.Millisecond})
	w.dc.Append(t, alice, "INBOX", message(1), nil, time.Time{})
	snap := w.snapshot()
	r, err := w.flow.Request(w.ctx, user, RequestInput{Account: alice, Snapshot: snap.ID})
	if err != nil || r.Status != catalog.RestorePending {
		t.Fatalf("the request: %+v, %v", r, err)
	}
	w.deliver()
	if got := w.mailTo(boss.Email); len(got) != 1 {
		t.Errorf("the good admin got %d emails", len(got))
	}
	for _, bad := range []string{`address=@`, `address=jürgen@example.com`} {
		if !strings.Contains(logged.String(), bad) || !strings.Contains(logged.String(), "level=ERROR") {
			t.Errorf("not logged for the operators: %s\n%s", bad, logged.String())
		}
	}
}

// TestPreviewsAreBounded: a preview takes one of the previews' slots
// before it logs in to the live server; with none free it fails at once
// with ErrBusy, without a login, and works again once one is freed.
func TestPreviewsAreBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.dc.Append(t, alice, "INBOX", message(1), nil, time.Time{})
	snap := w.snapshot()
	slots := make(localSlots, 1)
	slots <- struct{}{} // every slot taken
	mailer, err := notify.New(w.cfg, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	down := w.server
	down.Address = "127.0.0.1:1" // a login would fail otherwise than ErrBusy
	flow := New(Options{Catalog: w.cat, Blobs: w.blobs, Server: down, Mailer: mailer, Previews: slots})
	if _, err := flow.Preview(w.ctx, RequestInput{Account: alice, Snapshot: snap.ID}); !errors.Is(err, ErrBusy) {
		t.Fatalf("a preview with no slot free: %v", err)
	}
	if _, err := flow.Request(w.ctx, user, RequestInput{Account: alice, Snapshot: snap.ID}); !errors.Is(err, ErrBusy) {
		t.Fatalf("a request with no slot free: %v", err)
	}
	<-slots
	flow = New(Options{Catalog: w.cat, Blobs: w.blobs, Server: w.server, Mailer: mailer, Previews: slots})
	if plan, err := flow.Preview(w.ctx, RequestInput{Account: alice, Snapshot: snap.ID}); err != nil || plan == nil {
		t.Fatalf("a preview with a slot free: %v", err)
	}
	if len(slots) != 0 {
		t.Errorf("the preview kept its slot: %d taken", len(slots))
	}
}
