package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/demo"
	"mtm/internal/dovecotctl"
)

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs mtm demo with a small main account on a free port, logs in
// to the webmail as the printed user, sees fifteen days, opens the outbox
// page, and stops it.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	d := startDemo(t, "--data", dir)
	webmail, outbox := waitForBanner(t, &d.out, &d.errOut, d.done)

	client := demoClient()
	if body := get(t, client, webmail+"login"); !strings.Contains(body, `type="password"`) {
		t.Errorf("login page: %.200s", body)
	}
	if body := get(t, client, outbox); !strings.Contains(body, "Demo outbox") {
		t.Errorf("outbox page: %.200s", body)
	}
	checkDemoDays(t, client, webmail)
	checkDemoIMAP(t, d.out.String())
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		t.Error(err)
	}
	d.stop(t)
}

var bannerIMAP = regexp.MustCompile(`(?m)^\s+IMAP\s+(127\.0\.0\.1:\d+) `)

// checkDemoIMAP logs in to the IMAP server the banner names, as the
// printed user, and finds the fifteen days.
func checkDemoIMAP(t *testing.T, banner string) {
	t.Helper()
	m := bannerIMAP.FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("the banner names no IMAP server:\n%s", banner)
	}
	c, err := imapclient.DialInsecure(m[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	user := demo.Accounts()[0]
	if err := c.Login(user.Addr, user.Password).Wait(); err != nil {
		t.Fatalf("IMAP login as %s: %v", user.Addr, err)
	}
	l, err := c.List("", "%", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	days := 0
	for _, d := range l {
		if len(d.Mailbox) == len("2006-01-02") && d.Mailbox[4] == '-' {
			days++
		}
	}
	if days != 15 {
		t.Errorf("IMAP lists %d days, want 15: %v", days, l)
	}
}

// TestDemoDovecot runs mtm demo --dovecot: the history is built into a
// private Dovecot, the webmail shows its fifteen days, and at exit the
// Dovecot processes and their directory are gone.
func TestDemoDovecot(t *testing.T) {
	if _, _, err := dovecotctl.Find(); err != nil {
		if os.Getenv("MTMTEST_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tmp := t.TempDir()
	if os.Geteuid() == 0 { // Dovecot's mail user must pass through to the data dir
		for _, p := range []string{tmp, filepath.Dir(tmp)} {
			if err := os.Chmod(p, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := startDemo(t, "--data", filepath.Join(tmp, "demo"), "--dovecot")
	webmail, _ := waitForBanner(t, &d.out, &d.errOut, d.done)
	m := dovecotLine.FindStringSubmatch(d.out.String())
	if m == nil {
		t.Fatalf("no Dovecot line: %s", d.out.String())
	}
	// The master's command line names the instance's directory; its
	// children call themselves dovecot-<instance name>/<service>.
	instDir := m[2]
	_, port, _ := strings.Cut(m[1], ":")
	mentions := []string{instDir, "mtm-dovecot-" + port + "/"}
	for _, s := range mentions {
		if procs := processesMentioning(t, s); len(procs) == 0 {
			t.Errorf("no process mentions %s", s)
		}
	}
	checkDemoDays(t, demoClient(), webmail)
	d.stop(t)

	for _, s := range mentions {
		if procs := processesMentioning(t, s); len(procs) > 0 {
			t.Errorf("Dovecot processes left: %v", procs)
		}
	}
	if _, err := os.Stat(instDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left: %v", instDir, err)
	}
}

// TestDemoDovecotMissing shows the error when Dovecot is not installed.
func TestDemoDovecotMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, _, err := dovecotctl.Find(); err == nil {
		t.Skip("dovecot is in /usr/sbin")
	}
	var out, errOut syncBuffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: []string{"TZ=Europe/Rome"}}
	dir := filepath.Join(t.TempDir(), "demo")
	code := run(context.Background(), env, []string{"demo", "--data", dir, "--dovecot", "--listen", "127.0.0.1:0"})
	if code == 0 || !strings.Contains(errOut.String(), "apt-get install dovecot-imapd") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir made: %v", err)
	}
}

var dovecotLine = regexp.MustCompile(`Dovecot serves the demo's accounts on (\S+) \(in (\S+)\)`)

// runningDemo is an mtm demo running in the test.
type runningDemo struct {
	out, errOut syncBuffer
	done        chan int
	cancel      context.CancelFunc
}

// startDemo runs mtm demo with 150 messages on a free port and args.
func startDemo(t *testing.T, args ...string) *runningDemo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := &runningDemo{done: make(chan int, 1), cancel: cancel}
	env := &environment{stdout: &d.out, stderr: &d.errOut, getenv: []string{"TZ=Europe/Rome"}}
	args = append([]string{"demo", "--listen", "127.0.0.1:0", "--messages", "150"}, args...)
	go func() { d.done <- run(ctx, env, args) }()
	return d
}

// stop interrupts the demo and waits until it has exited with 0.
func (d *runningDemo) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		if code != 0 {
			t.Errorf("mtm demo exited %d: %s", code, d.errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("mtm demo did not stop")
	}
}

func demoClient() *http.Client {
	client := &http.Client{Timeout: 10 * time.Second}
	if jar, err := cookiejar.New(nil); err == nil {
		client.Jar = jar
	}
	return client
}

// checkDemoDays logs in to the webmail as the demo's main user and expects
// fifteen days of snapshots.
func checkDemoDays(t *testing.T, client *http.Client, webmail string) {
	t.Helper()
	user := demo.Accounts()[0]
	cred, err := json.Marshal(map[string]string{"email": user.Addr, "password": user.Password})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(webmail+"api/v1/session", "application/json", bytes.NewReader(cred))
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s %v", resp.Status, err)
	}
	var snaps []struct{ Day string }
	if err := json.Unmarshal([]byte(get(t, client, webmail+"api/v1/snapshots")), &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 15 {
		t.Errorf("webmail shows %d days, want 15: %v", len(snaps), snaps)
	}
}

// processesMentioning returns the command lines of the live processes
// whose command line holds s. Zombies have none.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		if line := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})); strings.Contains(line, s) {
			found = append(found, e.Name()+": "+line)
		}
	}
	return found
}

var bannerURL = regexp.MustCompile(`(?m)^\s+(Webmail|Outbox)\s+(http://\S+)$`)

// waitForBanner waits until the demo prints its URLs and returns the
// webmail's and the outbox's.
func waitForBanner(t *testing.T, out, errOut *syncBuffer, done chan int) (webmail, outbox string) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("mtm demo exited %d early: %s\n%s", code, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		urls := map[string]string{}
		for _, m := range bannerURL.FindAllStringSubmatch(out.String(), -1) {
			urls[m[1]] = m[2]
		}
		if urls["Webmail"] != "" && urls["Outbox"] != "" {
			return urls["Webmail"], urls["Outbox"]
		}
	}
	t.Fatalf("no URLs printed: %s\n%s", out.String(), errOut.String())
	return "", ""
}

// get fetches url, retrying while the server is still starting, and
// returns the body of a 200 answer.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	var lastErr error
	for range 100 {
		resp, err := c.Get(url)
		if err != nil {
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", url, resp.Status, err)
		}
		return string(b)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}
