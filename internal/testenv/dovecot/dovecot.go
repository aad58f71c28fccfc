// Package dovecot starts a private Dovecot IMAP server for a test.
//
// It is test-support code: tests of any package import it to run against a
// real server instead of a fake. Every Start makes a new instance with its
// own directory, its own loopback port and its own processes, so tests in
// different packages (different processes) and parallel tests in one package
// never share a server.
//
// On-disk layout of one instance (Server.Dir, a directory under os.TempDir
// that is removed when the test ends):
//
//	dovecot.conf        the generated configuration
//	master-users        passwd-file of the master user (passdb master=yes)
//	users/<address>     one passwd-file per account (see AddUser)
//	mail/<address>/     the account's home; its mail is in Maildir/
//	run/                base_dir: sockets and master.pid
//	state/              state_dir
//	dovecot.log         the server log (printed when the test fails)
//	dovecot.out         stdout and stderr of the master process
//
// The mail processes run as the system user vmail (created on first use when
// running as root) or, failing that, nobody/nogroup: Dovecot refuses uid 0.
package dovecot

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/clock"
)

// Server is one running Dovecot instance.
type Server struct {
	Addr           string // host:port of the plain-text IMAP listener
	MasterUser     string // log in as "<address>*<MasterUser>" to act as an account
	MasterPassword string
	Dir            string // the instance directory (see the package doc)

	conf    string // path of dovecot.conf
	doveadm string // path of the doveadm binary
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the master process has been reaped

	mu        sync.Mutex                    // guards users files and appenders
	appenders map[string]*imapclient.Client // one cached connection per account, for Append
	folders   map[string]bool               // "account\x00folder" that Append knows exist

	stopOnce sync.Once
}

const (
	masterUser    = "backup"
	startAttempts = 5                // new ports to try when another process takes ours
	readyTimeout  = 10 * time.Second // for the server to start listening
	stopTimeout   = 10 * time.Second // for the processes to be gone after SIGKILL
	dialTimeout   = 10 * time.Second
	pollInterval  = 10 * time.Millisecond
)

// requireEnv names the variable that turns a missing dependency from a skip
// into a failure.
const requireEnv = "MTMTEST_REQUIRE_INTEGRATION"

// Start starts a private Dovecot for the test and stops it when the test and
// its subtests have finished. It skips the test when Dovecot is not
// installed, unless MTMTEST_REQUIRE_INTEGRATION=1, then it fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	dovecotBin, doveadmBin := findBinaries(t)
	mailUser := mailOwner(t)

	dir, err := os.MkdirTemp("", "mtm-dovecot-")
	if err != nil {
		t.Fatalf("dovecot: creating instance dir: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("dovecot: removing %s: %v", dir, err)
		}
	})
	s := &Server{
		MasterUser:     masterUser,
		MasterPassword: randomHex(t, 16),
		Dir:            dir,
		conf:           filepath.Join(dir, "dovecot.conf"),
		doveadm:        doveadmBin,
		appenders:      make(map[string]*imapclient.Client),
		folders:        make(map[string]bool),
	}
	if err := s.prepareDir(mailUser); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.logTail(t)
		}
	})
	for attempt := 1; ; attempt++ {
		err := s.start(dovecotBin, mailUser)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			t.Fatalf("dovecot: starting: %v", err)
		}
	}
}

var errPortTaken = errors.New("port already in use")

// start writes the configuration for a free port and starts the master
// process in the foreground, as a child of the test process.
func (s *Server) start(dovecotBin string, mailUser owner) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := renderConfig(configParams{Dir: s.Dir, Port: port, Mail: mailUser, Unprivileged: os.Geteuid() != 0})
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	_ = os.Remove(filepath.Join(s.Dir, "run", "master.pid")) // left by a failed attempt
	out, err := os.Create(filepath.Join(s.Dir, "dovecot.out"))
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy of the descriptor

	// -F keeps the master in the foreground, so it is our child: we can reap
	// it, and Pdeathsig stops it if the test binary dies (timeout, panic).
	cmd := exec.Command(dovecotBin, "-F", "-c", s.conf)
	cmd.Stdout, cmd.Stderr = out, out // a file, not a pipe: go test must not wait for it
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", dovecotBin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is read from ProcessState
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.kill()
		return err
	}
	return nil
}

// waitReady waits until the master has written its pid file and the port
// greets like an IMAP server, or until the master has exited.
func (s *Server) waitReady() error {
	pidFile := filepath.Join(s.Dir, "run", "master.pid")
	timeout := time.After(readyTimeout)
	for {
		select {
		case <-s.exited:
			out, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.out"))
			if strings.Contains(string(out), "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("dovecot exited (%v): %s", s.cmd.ProcessState, strings.TrimSpace(string(out)))
		case <-timeout:
			return fmt.Errorf("not listening on %s after %v", s.Addr, readyTimeout)
		case <-time.After(pollInterval):
		}
		if _, err := os.Stat(pidFile); err != nil {
			continue
		}
		if greets(s.Addr) {
			return nil
		}
	}
}

// greets reports whether addr answers with an untagged IMAP OK greeting.
func greets(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	if err := conn.SetDeadline(clock.Real{}.Now().Add(time.Second)); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "* OK")
}

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
		if s.cmd != nil {
			s.kill()
		}
	})
}

// kill stops the master and all its children at once, and waits until the
// port refuses connections. A graceful SIGTERM costs Dovecot about a second,
// and the instance is thrown away anyway.
func (s *Server) kill() {
	pgid := s.cmd.Process.Pid                // Setpgid: the master leads the group
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // fails only if all have exited
	timeout := time.After(stopTimeout)
	select {
	case <-s.exited:
	case <-timeout:
		return
	}
	// Waiting for the children themselves would take long where init reaps
	// them lazily; what matters is that none of them still holds the port.
	for {
		conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			return
		}
		_ = conn.Close()
		select {
		case <-timeout:
			return
		case <-time.After(pollInterval):
		}
	}
}

// logTail prints the end of the server log, for a failed test.
func (s *Server) logTail(t testing.TB) {
	const max = 8 << 10
	b, err := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	if err != nil {
		t.Logf("dovecot: reading log: %v", err)
		return
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	t.Logf("dovecot: end of %s:\n%s", filepath.Join(s.Dir, "dovecot.log"), b)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before Dovecot binds it; Start then tries again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	return port, nil
}

// findBinaries returns the paths of dovecot and doveadm, or skips the test.
func findBinaries(t testing.TB) (dovecotBin, doveadmBin string) {
	t.Helper()
	find := func(name, fallback string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if _, err := os.Stat(fallback); err == nil {
			return fallback // /usr/sbin is often missing from PATH
		}
		return ""
	}
	dovecotBin = find("dovecot", "/usr/sbin/dovecot")
	doveadmBin = find("doveadm", "/usr/bin/doveadm")
	if dovecotBin == "" || doveadmBin == "" {
		msg := "dovecot: dovecot or doveadm not installed (run scripts/test-deps.sh)"
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg + "; " + requireEnv + "=1 requires it")
		}
		t.Skip(msg)
	}
	return dovecotBin, doveadmBin
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dovecot: random: %v", err)
	}
	return hex.EncodeToString(b)
}
