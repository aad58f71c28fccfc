package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/testenv/corpus"
)

// process is `mtm serve` running as a child process, so that it can be sent
// SIGTERM.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	ops  string // the operators' listener ([ops] listen)
	imap string // the IMAP server's address ([imapd] listen), when it runs
	mu   sync.Mutex
	log  strings.Builder
	done chan error
}

var (
	servingRE = regexp.MustCompile(`msg=serving address=(\S+)`)
	opsRE     = regexp.MustCompile(`msg="serving the operators' endpoints" address=(\S+)`)
	imapRE    = regexp.MustCompile(`msg="serving IMAP" address=(\S+)`)
)

// startServe starts `mtm serve` as a child process, with more environment
// ("KEY=value") after the test's own, and waits until it listens.
func startServe(t *testing.T, e *e2e, env ...string) *process {
	t.Helper()
	p := &process{t: t, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "serve", "--config", e.config)
	p.cmd.Env = append(os.Environ(), "MTMTEST_RUN_MAIN=1", "MTM_LISTEN=127.0.0.1:0", "MTM_OPS_LISTEN=127.0.0.1:0",
		"MTM_LOG_LEVEL=info", "MTM_BASE_URL=https://mtm.example.com")
	if e.now != "" {
		p.cmd.Env = append(p.cmd.Env, nowEnv+"="+e.now)
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := opsRE.FindStringSubmatch(sc.Text()); m != nil {
				p.mu.Lock()
				p.ops = "http://" + m[1]
				p.mu.Unlock()
			}
			if m := imapRE.FindStringSubmatch(sc.Text()); m != nil {
				p.mu.Lock()
				p.imap = m[1]
				p.mu.Unlock()
			}
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- p.cmd.Wait()
	}()
	select {
	case a := <-addr:
		p.base = "http://" + a
	case err := <-p.done:
		t.Fatalf("mtm serve ended (%v) before listening:\n%s", err, p.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("mtm serve did not listen in 30 s:\n%s", p.output())
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// term sends SIGTERM and expects a clean exit within a minute.
func (p *process) term() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("mtm serve after SIGTERM: %v\n%s", err, p.output())
		}
	case <-time.After(60 * time.Second):
		p.t.Fatalf("mtm serve did not stop within a minute of SIGTERM:\n%s", p.output())
	}
}

func (p *process) client() *httpClient {
	return (&served{base: p.base}).client(p.t)
}

// opsClient is a client of the process's operators' listener.
func (p *process) opsClient() *httpClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	return (&served{base: p.ops}).client(p.t)
}

// waitRows waits until a catalog table has rows.
func (e *e2e) waitRows(table string, p *process) int {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n := e.countRows(table); n > 0 {
			return n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no %s rows in 60 s:\n%s", table, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSIGTERMDuringSnapshot: serve starts, catches up the night it missed
// and is stopped with SIGTERM in the middle of the snapshot; it exits
// cleanly, the snapshot is recorded as interrupted, and the next start
// completes it, downloading only what was missing. check is clean.
func TestSIGTERMDuringSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	withSMTP(t, e)
	for _, m := range msgs[:1500] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	p := startServe(t, e)
	staged := e.waitRows("staged_entries", p)
	p.term()
	snaps := e.snapshots(alice)
	if len(snaps) != 1 || snaps[0].State != "failed" || !strings.Contains(snaps[0].Error, "interrupted") {
		t.Fatalf("after SIGTERM: %+v", snaps)
	}
	e.mustMTM("check", "--read-data")

	p = startServe(t, e)
	deadline := time.Now().Add(90 * time.Second)
	for snaps = e.snapshots(alice); len(snaps) < 2 || snaps[1].State == "running"; snaps = e.snapshots(alice) {
		if time.Now().After(deadline) {
			t.Fatalf("no second snapshot in 90 s: %+v\n%s", snaps, p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.term()
	if snaps[1].State != "committed" || snaps[1].Messages != 1500 {
		t.Fatalf("the snapshot after the restart: %+v", snaps[1])
	}
	if fetched := snaps[1].FetchedMessages; fetched > int64(1500-staged) {
		t.Errorf("the restart downloaded %d messages; %d had been stored before SIGTERM", fetched, staged)
	}
	if d := e.exported(alice, strconv.FormatInt(snaps[1].ID, 10), "INBOX").diff(e.live(alice, "INBOX")); d != "" {
		t.Errorf("the completed snapshot differs from the mailbox:\n%s", d)
	}
	e.mustMTM("check", "--read-data")
}

// TestSIGTERMDuringRestore: a confirmed restore of 1,200 messages is
// interrupted by SIGTERM; serve exits cleanly, the request stays running,
// and the next start resumes it: the mailbox ends exactly as the backup,
// with no message doubled, and check is clean.
func TestSIGTERMDuringRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	withSMTP(t, e)
	var uids []imap.UID
	for _, m := range msgs[:1200] {
		uids = append(uids, e.dc.Append(t, alice, "INBOX", m.Bytes, []imap.Flag{imap.FlagSeen}, time.Time{}))
	}
	backup := e.liveMeta(alice, "INBOX")
	e.mustMTM("snapshot")
	snap := e.snapshots(alice)[0]
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", uids...)

	p := startServe(t, e)
	user, adm := p.client(), p.client()
	if code := user.do("POST", "/api/v1/session", map[string]string{"email": alice, "password": "pw-" + alice}, nil); code != 200 {
		t.Fatalf("user login: %d", code)
	}
	var req struct{ ID int64 }
	if code := user.do("POST", "/api/v1/restores", map[string]any{"snapshot": snap.ID}, &req); code != 201 {
		t.Fatalf("request: %d", code)
	}
	if code := adm.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	if code := adm.do("POST", fmt.Sprintf("/api/v1/admin/restores/%d/confirm", req.ID), map[string]string{"reauth": adminPassword}, nil); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	e.waitRows("restore_appends", p)
	p.term()
	if got := len(e.liveMeta(alice, "INBOX")["INBOX"]); got == 0 || got >= 1200 {
		t.Fatalf("%d messages back after SIGTERM: it did not land in the middle", got)
	}

	p = startServe(t, e)
	adm = p.client()
	if code := adm.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	var status struct{ Status, Error string }
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		adm.do("GET", fmt.Sprintf("/api/v1/admin/restores/%d", req.ID), nil, &status)
		if status.Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	p.term()
	if status.Status != "done" {
		t.Fatalf("the resumed restore ended %s: %s\n%s", status.Status, status.Error, p.output())
	}
	if got := e.liveMeta(alice, "INBOX"); !equalMeta(got, backup) {
		t.Errorf("INBOX after the resumed restore holds %d messages, want exactly the backup's %d",
			len(got["INBOX"]), len(backup["INBOX"]))
	}
	e.mustMTM("check", "--read-data")
}
