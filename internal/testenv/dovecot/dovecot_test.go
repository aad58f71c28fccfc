package dovecot

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const alice = "alice@example.com"

func TestStart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if _, err := os.Stat(filepath.Join(s.Dir, "dovecot.conf")); err != nil {
		t.Fatalf("config: %v", err)
	}
	s.AddUser(t, alice, "pw")
	caps := s.Dial(t, alice).Caps()
	for _, c := range []imap.Cap{imap.CapCondStore, imap.CapQResync, imap.CapSpecialUse, imap.CapUIDPlus, imap.CapLiteralPlus, imap.CapESearch, imap.CapListExtended} {
		if !caps.Has(c) {
			t.Errorf("capability %s missing in %v", c, caps)
		}
	}
}

// TestParallel shows that instances do not share anything: each has its own
// port and directory, and an account exists only where it was added.
func TestParallel(t *testing.T) {
	t.Parallel()
	const n = 4
	servers := make([]*Server, n)
	for i := range servers {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			s := Start(t)
			servers[i] = s
			addr := fmt.Sprintf("user%d@example.com", i)
			s.AddUser(t, addr, "pw")
			s.Append(t, addr, "INBOX", []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), nil, time.Time{})
			if got := s.Doveadm(t, "mailbox", "status", "-u", addr, "messages", "INBOX"); got != "INBOX messages=1\n" {
				t.Errorf("status = %q", got)
			}
			if i > 0 {
				if _, err := s.login("user0@example.com"); err == nil {
					t.Error("user0 exists on another instance")
				}
			}
		})
	}
	seen := make(map[string]bool)
	for _, s := range servers {
		if s == nil {
			continue // that subtest failed already
		}
		if seen[s.Addr] || seen[s.Dir] {
			t.Errorf("address %s or dir %s used twice", s.Addr, s.Dir)
		}
		seen[s.Addr], seen[s.Dir] = true, true
	}
}

func TestAddUserAndDial(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.AddUser(t, "Bob@Example.COM", "pw")
	for _, addr := range []string{"bob@example.com", "BOB@example.com"} {
		c := s.Dial(t, addr)
		// go-imap sets the state after Login's Wait returns; the next
		// command's answer is read after that.
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("%s: NOOP: %v", addr, err)
		}
		if c.State() != imap.ConnStateAuthenticated {
			t.Errorf("%s: state %v", addr, c.State())
		}
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Errorf("%s: EXAMINE INBOX: %v", addr, err)
		}
	}
	out := s.Doveadm(t, "user", "bob@example.com")
	if !bytes.Contains([]byte(out), []byte(filepath.Join(s.Dir, "mail", "bob@example.com"))) {
		t.Errorf("doveadm user: home not under Dir:\n%s", out)
	}
}

func TestMasterLoginUnknownAccount(t *testing.T) {
	t.Parallel()
	s := Start(t)
	const carol = "carol@example.com"
	_, err := s.login(carol)
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAuthorizationFailed {
		t.Fatalf("master login for an unknown account: err = %v, want NO [AUTHORIZATIONFAILED]", err)
	}
	// Dovecot has just looked the account up; it must see it at once anyway.
	s.AddUser(t, carol, "pw")
	s.Dial(t, carol)
}

func TestOwnPassword(t *testing.T) {
	t.Parallel()
	s := Start(t)
	const pw = "p:ss wörd" // ':' would break a plain passwd-file line
	s.AddUser(t, alice, pw)
	if err := plainLogin(s, alice, pw); err != nil {
		t.Fatalf("own password: %v", err)
	}
	err := plainLogin(s, alice, "wrong")
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAuthenticationFailed {
		t.Fatalf("wrong password: err = %v, want NO [AUTHENTICATIONFAILED]", err)
	}

	s.AddUser(t, alice, "new")
	if err := plainLogin(s, alice, pw); err == nil {
		t.Error("old password still accepted after the change")
	}
	if err := plainLogin(s, alice, "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func plainLogin(s *Server, user, password string) error {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return err
	}
	defer closeClient(c)
	return c.Login(user, password).Wait()
}

func TestAppend(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.AddUser(t, alice, "pw")
	date := time.Date(2002, 10, 5, 17, 23, 18, 0, time.FixedZone("", 60*60))
	msgs := []struct {
		folder string
		body   []byte
		flags  []imap.Flag
	}{
		{"INBOX", []byte("Subject: one\r\n\r\nfirst\r\n"), nil},
		{"INBOX", []byte("Subject: two\r\n\r\nsecond, no final newline"), []imap.Flag{imap.FlagSeen, "$Label1"}},
		{"Archive/2024", []byte("Subject: three\r\nX-Long: " + string(bytes.Repeat([]byte("x"), 2000)) + "\r\n\r\n\xe9t\xe9 8-bit\r\n"), []imap.Flag{imap.FlagFlagged}},
		{"Archive/2024", []byte("Subject: four\r\n\r\n.\r\nFrom me\r\n"), nil},
	}
	uids := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		uids[i] = s.Append(t, alice, m.folder, m.body, m.flags, date)
	}
	if !slices.Equal(uids, []imap.UID{1, 2, 1, 2}) {
		t.Errorf("UIDs = %v, want [1 2 1 2]", uids)
	}

	c := s.Dial(t, alice)
	for i, m := range msgs {
		got := fetchOne(t, c, m.folder, uids[i])
		section := &imap.FetchItemBodySection{Peek: true}
		if body := got.FindBodySection(section); !bytes.Equal(body, m.body) {
			t.Errorf("message %d: body %q, want %q", i, body, m.body)
		}
		if !got.InternalDate.Equal(date) {
			t.Errorf("message %d: INTERNALDATE %v, want %v", i, got.InternalDate, date)
		}
		want := slices.Clone(m.flags)
		slices.Sort(want)
		// The first session to see a new message gets \Recent too.
		flags := slices.DeleteFunc(got.Flags, func(f imap.Flag) bool { return f == `\Recent` })
		slices.Sort(flags)
		if !slices.Equal(flags, want) {
			t.Errorf("message %d: flags %v, want %v", i, flags, want)
		}
	}
}

func fetchOne(t *testing.T, c *imapclient.Client, folder string, uid imap.UID) *imapclient.FetchMessageBuffer {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("EXAMINE %s: %v", folder, err)
	}
	opts := &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), opts).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("UID FETCH %d in %s: %d messages, %v", uid, folder, len(msgs), err)
	}
	return msgs[0]
}

func TestListSpecialUse(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.AddUser(t, alice, "pw")
	c := s.Dial(t, alice)

	list := func() map[string][]imap.MailboxAttr {
		t.Helper()
		data, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
		if err != nil {
			t.Fatalf("LIST: %v", err)
		}
		got := make(map[string][]imap.MailboxAttr)
		for _, d := range data {
			if d.Delim != '/' {
				t.Errorf("%s: delimiter %q, want /", d.Mailbox, d.Delim)
			}
			got[d.Mailbox] = d.Attrs
		}
		return got
	}
	if got := list(); len(got) != 1 || !hasKey(got, "INBOX") {
		t.Fatalf("fresh account lists %v, want only INBOX (auto = no)", got)
	}

	msg := []byte("Subject: x\r\n\r\nx\r\n")
	for name := range SpecialUse() {
		s.Append(t, alice, name, msg, nil, time.Time{})
	}
	s.Append(t, alice, "Entwürfe", msg, nil, time.Time{})
	s.Append(t, alice, "v1.2", msg, nil, time.Time{}) // a "." needs listescape
	got := list()
	for name, attr := range SpecialUse() {
		if !slices.Contains(got[name], attr) {
			t.Errorf("%s: attributes %v, want %s", name, got[name], attr)
		}
	}
	for _, name := range []string{"Entwürfe", "v1.2"} {
		if !hasKey(got, name) {
			t.Errorf("%s not listed: %v", name, got)
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func TestStop(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.AddUser(t, alice, "pw")
	c := s.Dial(t, alice)
	s.Stop()
	s.Stop() // idempotent

	if err := c.Noop().Wait(); err == nil {
		t.Error("NOOP on a connection of the stopped server succeeded")
	}
	if conn, err := net.Dial("tcp", s.Addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", s.Addr)
	}
	if msg, failed := fails(t, func(tb testing.TB) { s.Dial(tb, alice) }); !failed {
		t.Error("Dial after Stop did not fail the test")
	} else {
		t.Logf("Dial after Stop: %s", msg)
	}
}

// recorder is a testing.TB whose Fatal stops only the goroutine that called
// it, so a test can check that a helper fails.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Fatal(args ...any) { r.fail(fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }

func (r *recorder) fail(msg string) {
	r.failed, r.msg = true, msg
	runtime.Goexit()
}

func fails(t *testing.T, f func(testing.TB)) (msg string, failed bool) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg, r.failed
}
