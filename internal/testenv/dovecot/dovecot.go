// Package dovecot starts a private Dovecot IMAP server for a test.
//
// It is test-support code: tests of any package import it to run against a
// real server instead of a fake. It is a thin layer over internal/dovecotctl,
// which owns the instance (its configuration and on-disk layout, the mail
// user, starting and stopping): this package ties an instance to a test,
// fails the test instead of returning errors, and adds the helpers tests
// load mail with (Append, Dial).
//
// Every Start makes a new instance with its own directory (Server.Dir,
// under os.TempDir, removed when the test ends), its own loopback port and
// its own processes, so tests in different packages (different processes)
// and parallel tests in one package never share a server.
package dovecot

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/dovecotctl"
	"mtm/internal/imapconn"
)

// Server is one running Dovecot instance.
type Server struct {
	Addr           string // host:port of the plain-text IMAP listener
	MasterUser     string // log in as "<address>*<MasterUser>" to act as an account
	MasterPassword string
	Dir            string // the instance directory (see internal/dovecotctl)

	inst *dovecotctl.Instance
	t    testing.TB // reports an error of Stop

	mu        sync.Mutex                    // guards appenders and folders
	appenders map[string]*imapclient.Client // one cached connection per account, for Append
	folders   map[string]bool               // "account\x00folder" that Append knows exist

	stopOnce sync.Once
}

const (
	dialTimeout = 10 * time.Second
	logTailSize = 8 << 10 // of the server log, printed when a test fails
)

// requireEnv names the variable that turns a missing dependency from a skip
// into a failure.
const requireEnv = "MTMTEST_REQUIRE_INTEGRATION"

// Start starts a private Dovecot for the test and stops it when the test and
// its subtests have finished. It skips the test when Dovecot is not
// installed, unless MTMTEST_REQUIRE_INTEGRATION=1, then it fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// Options tune a test's Dovecot.
type Options struct {
	// Performance runs it in high-performance mode, as providers do
	// (dovecotctl.Options.Performance): for benchmarks.
	Performance bool
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if _, _, err := dovecotctl.Find(); err != nil {
		msg := "dovecot: " + err.Error() + " (run scripts/test-deps.sh)"
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg + "; " + requireEnv + "=1 requires it")
		}
		t.Skip(msg)
	}
	inst, err := dovecotctl.Launch(dovecotctl.Options{KeepDir: true, Performance: o.Performance})
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(inst.Dir); err != nil {
			t.Errorf("dovecot: removing %s: %v", inst.Dir, err)
		}
	})
	s := &Server{
		Addr:           inst.Addr,
		MasterUser:     inst.MasterUser,
		MasterPassword: inst.MasterPassword,
		Dir:            inst.Dir,
		inst:           inst,
		t:              t,
		appenders:      make(map[string]*imapclient.Client),
		folders:        make(map[string]bool),
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.logTail(t)
		}
	})
	return s
}

// Pid returns the process id of the Dovecot master process.
func (s *Server) Pid() int { return s.inst.Pid() }

// SpecialUse returns the special-use folders the namespace declares, by
// name. They are not created automatically (auto = no); once a folder of that
// name exists, LIST shows it with the attribute.
func SpecialUse() map[string]imap.MailboxAttr { return dovecotctl.SpecialUse() }

// Stop closes the cached Append connections and stops the server. Clients
// still connected are disconnected, and new connections are refused. It is
// safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		for addr, c := range s.appenders {
			closeClient(c)
			delete(s.appenders, addr)
		}
		s.mu.Unlock()
		if err := s.inst.Stop(); err != nil {
			s.t.Errorf("dovecot: %v", err)
		}
	})
}

// logTail prints the end of the server log, for a failed test.
func (s *Server) logTail(t testing.TB) {
	b, err := s.inst.LogTail(logTailSize)
	if err != nil {
		t.Logf("dovecot: %v", err)
		return
	}
	t.Logf("dovecot: end of %s:\n%s", filepath.Join(s.Dir, "dovecot.log"), b)
}

// Deliver writes msg straight into the Maildir of folder of the account
// address, without IMAP (see dovecotctl.Instance.Deliver for what it
// accepts). A failure fails the test.
//
// Deliver is safe for concurrent use.
func (s *Server) Deliver(t testing.TB, address, folder string, msg []byte, flags []imap.Flag, date time.Time) {
	t.Helper()
	if err := s.inst.Deliver(address, folder, msg, flags, date); err != nil {
		t.Fatalf("dovecot: Deliver to %s of %s: %v", folder, address, err)
	}
}

// MaildirPath returns the Maildir directory of folder of the account address
// (see Deliver for the names allowed). It does not create it.
func (s *Server) MaildirPath(address, folder string) (string, error) {
	return s.inst.MaildirPath(address, folder)
}

// IMAPServer is how mtm reaches this Dovecot: plain TCP on Addr, logging
// in as an account through the master user.
func (s *Server) IMAPServer() imapconn.Server {
	return imapconn.Server{Address: s.Addr, TLS: imapconn.TLSNone, Timeout: time.Minute,
		Credentials: imapconn.MasterUser{User: s.MasterUser, Password: s.MasterPassword, Separator: "*"}}
}
