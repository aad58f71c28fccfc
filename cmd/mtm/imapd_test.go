package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapEnv turns on mtm serve's IMAP server on loopback, without TLS.
var imapEnv = []string{"MTM_IMAPD_LISTEN=127.0.0.1:0", "MTM_IMAPD_ALLOW_PLAINTEXT=true"}

// startIMAPServe starts mtm serve with its IMAP server and returns it with
// the server's address.
func startIMAPServe(t *testing.T, e *e2e, env ...string) (*process, string) {
	t.Helper()
	p := startServe(t, e, append(append([]string{}, imapEnv...), env...)...)
	p.mu.Lock()
	addr := p.imap
	p.mu.Unlock()
	if addr == "" {
		t.Fatalf("mtm serve did not say where it serves IMAP:\n%s", p.output())
	}
	return p, addr
}

// maildirMessage is one message file of a Maildir: its folder, a digest of
// its bytes, and the system flags of its name (D F R S T).
type maildirMessage struct{ folder, digest, flags string }

// readMaildir reads every message of the folders under root (root/folder/
// {cur,new}), transformed by norm before its digest is taken.
func readMaildir(t *testing.T, root string, folders []string, norm func([]byte) []byte) []maildirMessage {
	t.Helper()
	var out []maildirMessage
	for _, f := range folders {
		n := 0
		for _, sub := range []string{"cur", "new"} {
			dir := filepath.Join(append([]string{root}, append(strings.Split(f, "/"), sub)...)...)
			files, err := os.ReadDir(dir)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, fi := range files {
				b, err := os.ReadFile(filepath.Join(dir, fi.Name()))
				if err != nil {
					t.Fatal(err)
				}
				var flags string
				if _, info, ok := strings.Cut(fi.Name(), ":2,"); ok {
					for _, r := range info {
						if strings.ContainsRune("DFRST", r) {
							flags += string(r)
						}
					}
				}
				out = append(out, maildirMessage{folder: f, digest: fmt.Sprintf("%x", sha256.Sum256(norm(b))), flags: flags})
				n++
			}
		}
		if n == 0 {
			t.Errorf("no message in %s under %s", f, root)
		}
	}
	slices.SortFunc(out, func(a, b maildirMessage) int {
		return strings.Compare(a.folder+a.digest+a.flags, b.folder+b.digest+b.flags)
	})
	return out
}

// withoutTUID drops the X-TUID header line mbsync may add to a message.
func withoutTUID(b []byte) []byte {
	if i := bytes.Index(b, []byte("X-TUID: ")); i >= 0 && (i == 0 || b[i-1] == '\n') {
		if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
			return append(append([]byte{}, b[:i]...), b[i+j+1:]...)
		}
	}
	return b
}

// mutf7 is a mailbox name in IMAP's modified UTF-7 (RFC 3501 section
// 5.1.3), as isync 1.4 names Maildir folders.
func mutf7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		var u []byte
		for _, c := range utf16.Encode(run) {
			u = append(u, byte(c>>8), byte(c))
		}
		b.WriteString("&" + strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(u), "/", ",") + "-")
		run = nil
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

// lf is what mbsync makes of a message in a Maildir: isync 1.4 stores
// native line ends by dropping every CR it reads (lone ones too, as in a
// few spam messages of the corpus).
func lf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r"), nil) }

// checkIMAPPull serves the account's snapshot of day over IMAP, pulls it
// with mbsync, and checks every message against `mtm export` of the same
// day: mbsync's Maildir holds the same messages with the same flags, and
// BODY.PEEK[] of each message over IMAP is byte-identical to the export.
func checkIMAPPull(t *testing.T, e *e2e, account, day string, folders []string) {
	t.Helper()
	_, addr := startIMAPServe(t, e)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	maildir := filepath.Join(dir, "Maildir") + "/"
	if err := os.MkdirAll(maildir, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`IMAPAccount mtm
Host %s
Port %s
User "%s"
Pass "pw-%s"
SSLType None
AuthMechs LOGIN

IMAPStore mtm
Account mtm

MaildirStore near
Path %s
Inbox %sLocalInbox
SubFolders Verbatim

Channel day
Far :mtm:
Near :near:
Patterns "%s/*"
Create Near
Sync Pull
SyncState *
`, host, port, account, account, maildir, maildir, day)), 0o600); err != nil {
		t.Fatal(err)
	}
	pull := time.Now()
	if out, err := exec.Command("mbsync", "-c", rc, "-a", "-q").CombinedOutput(); err != nil {
		t.Fatalf("mbsync from mtm's IMAP server: %v\n%s", err, out)
	}
	t.Logf("mbsync pulled the day from mtm's IMAP server in %s", time.Since(pull).Round(time.Millisecond))
	export := filepath.Join(dir, "export")
	e.mustMTM("export", "--account", account, "--snapshot", day, "--format", "maildir", "--out", export)

	dayFolders := make([]string, len(folders))
	for i, f := range folders {
		dayFolders[i] = day + "/" + f
	}
	// isync 1.4 names a Maildir folder as the server does on the wire:
	// non-ASCII names in modified UTF-7.
	wire := make([]string, len(dayFolders))
	fromWire := map[string]string{}
	for i, f := range dayFolders {
		wire[i] = mutf7(f)
		fromWire[wire[i]] = folders[i]
	}
	pulled := readMaildir(t, maildir, wire, func(b []byte) []byte { return lf(withoutTUID(b)) })
	for i := range pulled {
		pulled[i].folder = fromWire[pulled[i].folder]
	}
	slices.SortFunc(pulled, func(a, b maildirMessage) int {
		return strings.Compare(a.folder+a.digest+a.flags, b.folder+b.digest+b.flags)
	})
	want := readMaildir(t, export, folders, lf)
	if len(pulled) != len(want) {
		t.Errorf("mbsync pulled %d messages, the export holds %d", len(pulled), len(want))
	}
	for i := range min(len(pulled), len(want)) {
		if pulled[i] != want[i] {
			t.Errorf("first difference, message %d: mbsync %+v, export %+v", i, pulled[i], want[i])
			break
		}
	}

	// Byte for byte over IMAP, CRs included.
	exact := readMaildir(t, export, folders, func(b []byte) []byte { return b })
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(account, "pw-"+account).Wait(); err != nil {
		t.Fatal(err)
	}
	var served []maildirMessage
	exactStart := time.Now()
	defer func() {
		t.Logf("a FETCH 1:* BODY.PEEK[] of each folder read the day in %s", time.Since(exactStart).Round(time.Millisecond))
	}()
	for _, f := range folders {
		if _, err := c.Select(day+"/"+f, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		fc := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for {
			msg := fc.Next()
			if msg == nil {
				break
			}
			buf, err := msg.Collect()
			if err != nil {
				t.Fatal(err)
			}
			b := buf.FindBodySection(&imap.FetchItemBodySection{Peek: true})
			served = append(served, maildirMessage{folder: f, digest: fmt.Sprintf("%x", sha256.Sum256(b))})
		}
		if err := fc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	digests := func(l []maildirMessage) []string {
		var out []string
		for _, m := range l {
			out = append(out, m.folder+" "+m.digest)
		}
		slices.Sort(out)
		return out
	}
	if got, want := digests(served), digests(exact); !slices.Equal(got, want) {
		t.Errorf("BODY.PEEK[] over IMAP differs from the export: %d messages served, %d exported", len(got), len(want))
	}
}

// walkMessages are the messages of the scripted history: plain, encoded
// words, alternative with inline image, an attachment, a forwarded
// message, raw 8-bit in a header.
var walkMessages = [][]byte{
	[]byte("From: Carol <carol@example.com>\r\nTo: alice@example.com, \"Bob B.\" <bob@example.com>\r\nCc: team@example.com\r\n" +
		"Subject: Lunch on Friday\r\nDate: Mon, 16 Nov 2026 09:00:00 +0100\r\nMessage-ID: <lunch@example.com>\r\n\r\n" +
		"Shall we meet at the harbour?\r\n"),
	[]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\r\nTo: alice@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Date: Tue, 17 Nov 2026 10:00:00 +0100\r\nIn-Reply-To: <lunch@example.com>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe\r\n--ALT\r\n" +
		"Content-Type: multipart/related; boundary=\"REL\"\r\n\r\n--REL\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<p>Sch&ouml;ne <img src=\"cid:logo@x\"></p>\r\n--REL\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n" +
		"--REL--\r\n--ALT--\r\n"),
	[]byte("From: Reports <reports@example.com>\r\nTo: alice@example.com\r\nSubject: Quarterly report\r\n" +
		"Date: Wed, 18 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"MIX\"\r\n\r\n" +
		"--MIX\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--MIX\r\nContent-Type: application/pdf; name=\"report Q3.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"report Q3.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n--MIX\r\nContent-Type: message/rfc822\r\n\r\nFrom: old@example.org\r\n" +
		"Subject: The forwarded one\r\nDate: Thu, 1 Oct 2026 08:00:00 +0200\r\n\r\nIt was forwarded.\r\n--MIX--\r\n"),
	[]byte("From: Renée <renee@example.fr>\r\nTo: alice@example.com\r\nSubject: Café à Paris\r\n" +
		"Date: Thu, 19 Nov 2026 12:00:00 +0100\r\n\r\nRaw 8-bit header, no MIME.\r\n"),
}

// TestIMAPDaysAgainstDovecot scripts three days of an account on Dovecot,
// snapshots each, and walks mtm's IMAP server with Python's imaplib: each
// day shows the folders of that day (a folder deleted on day 2 is absent
// from day 2 on), the messages with that day's flags, and the same UIDs,
// sizes, dates, BODYSTRUCTUREs and ENVELOPEs Dovecot gave that day.
func TestIMAPDaysAgainstDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and python3")
	}
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	date := time.Date(2026, 11, 19, 18, 0, 0, 0, time.FixedZone("", 3600))
	for i, m := range walkMessages {
		e.dc.Append(t, alice, "INBOX", m, []imap.Flag{imap.FlagSeen}, date.Add(time.Duration(i)*time.Minute))
	}
	e.dc.Append(t, alice, "Projekte/Entwürfe", walkMessages[2], []imap.Flag{imap.FlagFlagged, "$Label1"}, date)
	e.dc.Append(t, alice, "Old", walkMessages[0], nil, date)
	e.dc.Append(t, alice, "Projekte", walkMessages[3], []imap.Flag{imap.FlagAnswered}, date)

	walk := func(addr, user, password string) walkResult {
		t.Helper()
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("python3", "testdata/imapwalk.py", host, port, user, password).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("imapwalk.py against %s: %v\n%s", addr, err, stderr)
		}
		var r walkResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	days := []string{"2026-11-20", "2026-11-21", "2026-11-22"}
	var want []walkResult // Dovecot on each day
	for i, day := range days {
		switch i {
		case 1: // the folder Old deleted, a message expunged, flags changed
			c := e.dc.Dial(t, alice)
			if err := c.Delete("Old").Wait(); err != nil {
				t.Fatal(err)
			}
			expunge(t, c, "INBOX", 1)
			if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsSet, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Logout().Wait(); err != nil {
				t.Fatal(err)
			}
		case 2: // a new message
			e.dc.Append(t, alice, "Projekte", walkMessages[1], nil, date.Add(48*time.Hour))
		}
		want = append(want, walk(e.dc.Addr, alice, "pw-"+alice))
		e.now = day + "T03:00:00+01:00"
		e.mustMTM("snapshot")
	}
	e.now = "2026-11-22T12:00:00+01:00" // the day's snapshot is taken: serve takes none
	_, addr := startIMAPServe(t, e)
	got := walk(addr, alice, "pw-"+alice)

	// The top: the days, newest first, not selectable.
	var tops []string
	for _, f := range got.Folders {
		if !strings.Contains(f.Name, "/") && f.Name != "INBOX" {
			tops = append(tops, f.Name)
			if !slices.Contains(f.Attrs, `\noselect`) {
				t.Errorf("day folder %s is selectable: %v", f.Name, f.Attrs)
			}
		}
	}
	if !slices.Equal(tops, []string{"2026-11-22", "2026-11-21", "2026-11-20"}) {
		t.Errorf("day folders %q", tops)
	}
	validity := map[string]int64{}
	for i, day := range days {
		w := want[i]
		var wantNames, gotNames []string
		for _, f := range w.Folders {
			wantNames = append(wantNames, f.Name)
		}
		for _, f := range got.Folders {
			if name, ok := strings.CutPrefix(f.Name, day+"/"); ok {
				gotNames = append(gotNames, name)
				if f.UIDValidity != 0 {
					if other, seen := validity[name]; seen && other == f.UIDValidity {
						t.Errorf("%s has the UIDVALIDITY of another day's %s", f.Name, name)
					}
					validity[name] = f.UIDValidity
				}
			}
		}
		slices.Sort(wantNames)
		slices.Sort(gotNames)
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("%s: folders %q, Dovecot had %q", day, gotNames, wantNames)
		}
		for folder, msgs := range w.Messages {
			gotMsgs := got.Messages[day+"/"+folder]
			if len(gotMsgs) != len(msgs) {
				t.Errorf("%s/%s: %d messages, Dovecot had %d", day, folder, len(gotMsgs), len(msgs))
			}
			for uid, m := range msgs {
				g, ok := gotMsgs[uid]
				if !ok {
					t.Errorf("%s/%s: UID %s missing", day, folder, uid)
					continue
				}
				for _, field := range []string{"flags", "size", "internaldate", "envelope", "bodystructure"} {
					if a, b := jsonOf(t, g[field]), jsonOf(t, m[field]); a != b {
						t.Errorf("%s/%s UID %s %s:\n mtm     %s\n Dovecot %s", day, folder, uid, field, a, b)
					}
				}
			}
		}
	}
	if _, ok := got.Messages["2026-11-21/Old"]; ok {
		t.Error("the folder deleted on day 2 is shown on day 2")
	}
	if _, ok := got.Messages["2026-11-20/Old"]; !ok {
		t.Error("the folder deleted on day 2 is missing from day 1")
	}
}

type walkResult struct {
	Folders []struct {
		Name        string   `json:"name"`
		Attrs       []string `json:"attrs"`
		UIDValidity int64    `json:"uidvalidity"`
	} `json:"folders"`
	Messages map[string]map[string]map[string]any `json:"messages"`
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
