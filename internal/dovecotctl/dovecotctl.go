// Package dovecotctl runs a private Dovecot instance: its own directory,
// its own loopback port and its own processes, with accounts in
// passwd-files and a master user. The tests start one through
// internal/testenv/dovecot; `mtm demo --dovecot` starts one to serve the
// demo's accounts. It never touches a system-wide Dovecot.
//
// On-disk layout of one instance (Instance.Dir, a new directory under
// Options.Parent, removed by Stop unless Options.KeepDir):
//
//	dovecot.conf        the generated configuration
//	master-users        passwd-file of the master user (passdb master=yes)
//	users/<address>     one passwd-file per account (see AddUser)
//	mail/<address>/     the account's home; its mail is in Maildir/
//	run/                base_dir: sockets and master.pid
//	state/              state_dir
//	dovecot.log         the server log
//	dovecot.out         stdout and stderr of the master process
//
// Dovecot refuses uid 0 for mail. Running as root, the mail processes run
// as the system user vmail (created on first use) or, failing that,
// nobody/nogroup, and every directory above the instance must let them
// pass. Running as another user, every process runs as that user.
package dovecotctl

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
	"time"

	"mtm/internal/clock"
)

// ErrNotInstalled is returned by Find and Launch when the dovecot or the
// doveadm binary is missing.
var ErrNotInstalled = errors.New("dovecot is not installed")

// Options say where an instance lives. The zero value is usable.
type Options struct {
	Parent  string // the instance directory is made in it; default os.TempDir()
	KeepDir bool   // Stop leaves the instance directory for the caller to remove
	// Performance runs Dovecot as providers do (docs: TESTING.md): login
	// and imap processes are reused across connections. Benchmarks need
	// it; the defaults spend about 20 ms per login spawning processes.
	Performance bool
}

// Instance is one running Dovecot.
type Instance struct {
	Addr           string // host:port of the plain-text IMAP listener
	MasterUser     string // log in as "<address>*<MasterUser>" to act as an account
	MasterPassword string
	Dir            string // the instance directory (see the package doc)

	conf    string // path of dovecot.conf
	doveadm string // path of the doveadm binary
	keepDir bool
	perf    bool
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the master process has been reaped

	mu sync.Mutex // guards the users files
	// secretGID is the group that may read the password files (the mail
	// processes', when running as root), or -1: the owner alone.
	secretGID int

	stopOnce sync.Once
	stopErr  error
}

// Pid returns the process id of the Dovecot master, whose children serve
// the connections (for benchmarks that measure its CPU).
func (i *Instance) Pid() int { return i.cmd.Process.Pid }

const (
	masterUser    = "backup"
	startAttempts = 5                // new ports to try when another process takes ours
	readyTimeout  = 10 * time.Second // for the server to start listening
	stopTimeout   = 10 * time.Second // for the processes to be gone after SIGKILL
	pollInterval  = 10 * time.Millisecond
	logTailSize   = 4 << 10 // of dovecot.log, in the error of a failed Launch
)

// Launch starts a private Dovecot with no accounts but the master user, on
// a free loopback port. Stop it with Stop. It returns an error wrapping
// ErrNotInstalled when Dovecot is missing.
func Launch(opts Options) (*Instance, error) {
	dovecotBin, doveadmBin, err := Find()
	if err != nil {
		return nil, err
	}
	mailUser, err := mailOwner()
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	password, err := randomHex(16)
	if err != nil {
		return nil, fmt.Errorf("dovecot: master password: %w", err)
	}
	dir, err := os.MkdirTemp(opts.Parent, "mtm-dovecot-")
	if err != nil {
		return nil, fmt.Errorf("dovecot: creating the instance dir: %w", err)
	}
	inst := &Instance{
		MasterUser:     masterUser,
		MasterPassword: password,
		Dir:            dir,
		conf:           filepath.Join(dir, "dovecot.conf"),
		doveadm:        doveadmBin,
		keepDir:        opts.KeepDir,
		perf:           opts.Performance,
	}
	if err := inst.launch(dovecotBin, mailUser); err != nil {
		if inst.cmd != nil {
			inst.kill()
		}
		err = fmt.Errorf("dovecot in %s: %w%s", dir, err, inst.logTail())
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", dir, rerr))
		}
		return nil, err
	}
	return inst, nil
}

func (i *Instance) launch(dovecotBin string, mailUser owner) error {
	if err := i.prepareDir(mailUser); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := reachable(i.Dir, mailUser.User); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		err := i.start(dovecotBin, mailUser)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return fmt.Errorf("starting: %w", err)
		}
	}
}

var errPortTaken = errors.New("port already in use")

// start writes the configuration for a free port and starts the master
// process in the foreground, as a child of this process.
func (i *Instance) start(dovecotBin string, mailUser owner) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	i.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	conf := renderConfig(configParams{Dir: i.Dir, Port: port, Mail: mailUser, Unprivileged: os.Geteuid() != 0,
		Performance: i.perf})
	if err := os.WriteFile(i.conf, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	_ = os.Remove(filepath.Join(i.Dir, "run", "master.pid")) // left by a failed attempt
	out, err := os.Create(filepath.Join(i.Dir, "dovecot.out"))
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy of the descriptor

	// -F keeps the master in the foreground, so it is our child: we can reap
	// it, and Pdeathsig stops it if this process dies (a test's timeout, a
	// panic).
	cmd := exec.Command(dovecotBin, "-F", "-c", i.conf)
	cmd.Stdout, cmd.Stderr = out, out // a file, not a pipe: go test must not wait for it
	cmd.Dir = i.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", dovecotBin, err)
	}
	i.cmd = cmd
	i.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is read from ProcessState
		close(i.exited)
	}()
	if err := i.waitReady(); err != nil {
		i.kill()
		return err
	}
	return nil
}

// waitReady waits until the master has written its pid file and the port
// greets like an IMAP server, or until the master has exited.
func (i *Instance) waitReady() error {
	pidFile := filepath.Join(i.Dir, "run", "master.pid")
	timeout := time.After(readyTimeout)
	for {
		select {
		case <-i.exited:
			out, _ := os.ReadFile(filepath.Join(i.Dir, "dovecot.out"))
			if strings.Contains(string(out), "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("dovecot exited (%v): %s", i.cmd.ProcessState, strings.TrimSpace(string(out)))
		case <-timeout:
			return fmt.Errorf("not listening on %s after %v", i.Addr, readyTimeout)
		case <-time.After(pollInterval):
		}
		if _, err := os.Stat(pidFile); err != nil {
			continue
		}
		if greets(i.Addr) {
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

// Stop stops the server: clients still connected are disconnected, and new
// connections are refused. Then it removes the instance directory, unless
// Options.KeepDir. It is safe to call more than once.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		if i.cmd != nil {
			i.kill()
		}
		if !i.keepDir {
			if err := os.RemoveAll(i.Dir); err != nil {
				i.stopErr = fmt.Errorf("dovecot: removing %s: %w", i.Dir, err)
			}
		}
	})
	return i.stopErr
}

// kill stops the master and all its children at once, and waits until the
// port refuses connections. A graceful SIGTERM costs Dovecot about a
// second, and the instance is thrown away anyway.
func (i *Instance) kill() {
	pgid := i.cmd.Process.Pid                // Setpgid: the master leads the group
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // fails only if all have exited
	timeout := time.After(stopTimeout)
	select {
	case <-i.exited:
	case <-timeout:
		return
	}
	// Waiting for the children themselves would take long where init reaps
	// them lazily; what matters is that none of them still holds the port.
	for {
		conn, err := net.DialTimeout("tcp", i.Addr, time.Second)
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

// LogTail returns about the last max bytes of the server log.
func (i *Instance) LogTail(max int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(i.Dir, "dovecot.log"))
	if err != nil {
		return nil, fmt.Errorf("reading the dovecot log: %w", err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return b, nil
}

// logTail is the end of the log for an error message, or "".
func (i *Instance) logTail() string {
	b, err := i.LogTail(logTailSize)
	if err != nil || len(b) == 0 {
		return ""
	}
	return fmt.Sprintf("\nend of %s:\n%s", filepath.Join(i.Dir, "dovecot.log"), b)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before Dovecot binds it; Launch then tries again.
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

// Find returns the paths of the dovecot and doveadm binaries, looked up on
// PATH, then in /usr/sbin and /usr/bin (often missing from a user's PATH).
// The error wraps ErrNotInstalled.
func Find() (dovecotBin, doveadmBin string, err error) {
	find := func(name, fallback string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if _, err := os.Stat(fallback); err == nil {
			return fallback
		}
		return ""
	}
	dovecotBin = find("dovecot", "/usr/sbin/dovecot")
	doveadmBin = find("doveadm", "/usr/bin/doveadm")
	if dovecotBin == "" || doveadmBin == "" {
		return "", "", fmt.Errorf("%w: no dovecot or doveadm on PATH, in /usr/sbin or /usr/bin", ErrNotInstalled)
	}
	return dovecotBin, doveadmBin, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
