package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/dovecot"
)

// harness is one benchmark run: a private Dovecot, the mtm binary built
// once, a scratch directory and the corpus.
type harness struct {
	b      *testing.B
	dc     *dovecot.Server
	mtm    string   // path of the built mtm binary
	work   string   // scratch directory, removed at the end
	corpus [][]byte // SpamAssassin messages, LF line endings
	start  time.Time
}

func newHarness(b *testing.B) *harness {
	b.Helper()
	return newHarnessWith(b, dovecot.Options{})
}

// newHarnessWith is newHarness with a Dovecot started with o.
func newHarnessWith(b *testing.B, o dovecot.Options) *harness {
	b.Helper()
	for _, tool := range []string{"mbsync", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s not found: run bash scripts/deps.sh --bench", tool)
		}
	}
	h := &harness{b: b, work: b.TempDir(), start: time.Now()}
	for _, m := range corpus.SpamAssassin(b) {
		h.corpus = append(h.corpus, m.Bytes)
	}
	h.mtm = filepath.Join(h.work, "mtm")
	out, err := exec.Command("go", "build", "-o", h.mtm, "mtm/cmd/mtm").CombinedOutput()
	if err != nil {
		b.Fatalf("go build mtm/cmd/mtm: %v\n%s", err, out)
	}
	h.dc = dovecot.StartWith(b, o)
	return h
}

// progressf prints a progress line, with the time since the start, while
// the benchmark runs.
func (h *harness) progressf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %5.0fs [load %s] "+format+"\n",
		append([]any{time.Since(h.start).Seconds(), loadAvg()}, args...)...)
}

// loadAvg returns the 1-, 5- and 15-minute load averages: on a shared
// machine they tell how much else ran beside the benchmark.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// measured is one subprocess run.
type measured struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // peak resident set size, bytes
	Output string        // stdout and stderr
}

// measure runs cmd and records its wall time, CPU time and peak RSS. A
// non-zero exit is an error that carries the output.
//
// The peak RSS is the larger of two readings. The child's rusage ru_maxrss
// is exact only when it exceeds this process's own peak: Go starts children
// with vfork, and Linux carries the parent's high-water mark into the
// child's ru_maxrss at exec. So VmHWM in /proc/PID/status is also sampled
// every 10 ms while the child runs; it belongs to the child's own memory
// since exec, and misses only growth in its last 10 ms.
func measure(cmd *exec.Cmd) (measured, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{}, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	sampled := make(chan int64)
	done := make(chan struct{})
	go sampleHWM(cmd.Process.Pid, done, sampled)
	err := cmd.Wait()
	m := measured{Wall: time.Since(start), Output: out.String()}
	close(done)
	m.MaxRSS = <-sampled
	m.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss<<10 > selfMaxRSS() {
		m.MaxRSS = max(m.MaxRSS, ru.Maxrss<<10) // Linux reports KiB
	}
	if err != nil {
		return m, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(m.Output, 4000))
	}
	return m, nil
}

// sampleHWM reads the VmHWM of pid until done is closed, then sends the
// largest value read, in bytes.
func sampleHWM(pid int, done <-chan struct{}, result chan<- int64) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil { // gone or reaped: keep the last reading
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					peak = max(peak, kb<<10)
				}
			}
		}
		select {
		case <-done:
			result <- peak
			return
		case <-tick.C:
		}
	}
}

// selfMaxRSS is this process's peak RSS in bytes.
func selfMaxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// mtmStore is one mtm data directory with its configuration file.
type mtmStore struct {
	h      *harness
	dir    string // config, accounts list and data
	config string
	data   string
}

// newStore makes a data directory and a config for the harness's Dovecot
// through its master user, backing up accounts.
func (h *harness) newStore(name string, accounts []string) *mtmStore {
	h.b.Helper()
	dir := filepath.Join(h.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.b.Fatal(err)
	}
	list := filepath.Join(dir, "accounts.txt")
	if err := os.WriteFile(list, []byte(strings.Join(accounts, "\n")+"\n"), 0o644); err != nil {
		h.b.Fatal(err)
	}
	s := &mtmStore{h: h, dir: dir, config: filepath.Join(dir, "mtm.toml"), data: filepath.Join(dir, "data")}
	cfg := fmt.Sprintf(`data_dir = %q
timezone = "UTC"
retention_days = 15
[imap]
address = %q
master_user = %q
master_password = %q
master_separator = "*"
[accounts]
file = %q
[log]
level = "warn"
`, s.data, h.dc.Addr, h.dc.MasterUser, h.dc.MasterPassword, list)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		h.b.Fatal(err)
	}
	return s
}

// run runs mtm with the store's config. A non-zero now is passed as the
// test clock MTMTEST_NOW. MTM_* variables of the benchmark's environment are
// not passed on: they would override the config.
func (s *mtmStore) run(now time.Time, args ...string) (measured, error) {
	full := append([]string{args[0], "--config", s.config}, args[1:]...)
	cmd := exec.Command(s.h.mtm, full...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MTM_") && !strings.HasPrefix(kv, "MTMTEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if !now.IsZero() {
		cmd.Env = append(cmd.Env, "MTMTEST_NOW="+now.UTC().Format(time.RFC3339))
	}
	return measure(cmd)
}

// mustRun is run that fails the benchmark on error.
func (s *mtmStore) mustRun(now time.Time, args ...string) measured {
	s.h.b.Helper()
	m, err := s.run(now, args...)
	if err != nil {
		s.h.b.Fatalf("mtm: %v", err)
	}
	return m
}

// snapshotInfo is what the benchmark reads of `mtm snapshots --json`.
type snapshotInfo struct {
	ID              int64  `json:"id"`
	Day             string `json:"day"`
	State           string `json:"state"`
	Error           string `json:"error"`
	Folders         int64  `json:"folders"`
	Messages        int64  `json:"messages"`
	Bytes           int64  `json:"bytes"`
	FetchedMessages int64  `json:"fetched_messages"`
	NewBlobs        int64  `json:"new_blobs"`
	NewBlobBytes    int64  `json:"new_blob_bytes"`
}

// snapshots lists the account's snapshots, failed ones too.
func (s *mtmStore) snapshots(account string) []snapshotInfo {
	s.h.b.Helper()
	m := s.mustRun(time.Time{}, "snapshots", "--account", account, "--all", "--json")
	var out []snapshotInfo
	if err := json.Unmarshal([]byte(m.Output), &out); err != nil {
		s.h.b.Fatalf("mtm snapshots --json: %v\n%s", err, tail(m.Output, 2000))
	}
	return out
}

// last returns the account's newest snapshot, which must be committed.
func (s *mtmStore) last(account string) snapshotInfo {
	s.h.b.Helper()
	snaps := s.snapshots(account)
	if len(snaps) == 0 {
		s.h.b.Fatalf("%s: no snapshots", account)
	}
	l := snaps[len(snaps)-1]
	if l.State != "committed" {
		s.h.b.Fatalf("%s: last snapshot %d is %s: %s", account, l.ID, l.State, l.Error)
	}
	return l
}

// remove deletes the store's directory.
func (s *mtmStore) remove() {
	if err := os.RemoveAll(s.dir); err != nil {
		s.h.b.Fatal(err)
	}
}

// mirror is an mbsync configuration pulling one account into a Maildir.
type mirror struct {
	h   *harness
	rc  string
	dir string
}

// newMirror writes an mbsyncrc (isync 1.4) that pulls every folder of
// account, logged in through the master user, into a fresh Maildir.
func (h *harness) newMirror(name, account string) *mirror {
	h.b.Helper()
	return h.pullMirror(name, h.farStore(account), "*", false)
}

// farStore is the mbsyncrc (isync 1.4) part that reaches account on the
// harness's Dovecot through the master user, as the store "far".
func (h *harness) farStore(account string) string {
	host, port, _ := strings.Cut(h.dc.Addr, ":")
	return fmt.Sprintf(`IMAPAccount far
Host %s
Port %s
User "%s*%s"
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore far
Account far

`, host, port, account, h.dc.MasterUser, h.dc.MasterPassword)
}

// sync runs mbsync once.
func (m *mirror) sync() measured {
	m.h.b.Helper()
	r, err := measure(exec.Command("mbsync", "-c", m.rc, "-a", "-q"))
	if err != nil {
		m.h.b.Fatalf("mbsync: %v", err)
	}
	return r
}

// remove deletes the mirror's Maildir and state.
func (m *mirror) remove() {
	if err := os.RemoveAll(m.dir); err != nil {
		m.h.b.Fatal(err)
	}
}

// messages counts the message files of the mirror's Maildir.
func (m *mirror) messages() int {
	m.h.b.Helper()
	n := 0
	err := filepath.WalkDir(m.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if p := filepath.Base(filepath.Dir(path)); p == "cur" || p == "new" {
				n++
			}
		}
		return err
	})
	if err != nil {
		m.h.b.Fatalf("counting %s: %v", m.dir, err)
	}
	return n
}

// folderCounts asks Dovecot for the number of messages in every folder of
// account, so that a load is known to be visible before it is measured (the
// status also makes Dovecot build its indexes).
func (h *harness) folderCounts(account string) (total int) {
	h.b.Helper()
	out := h.dc.Doveadm(h.b, "mailbox", "status", "-u", account, "messages", "*")
	for line := range strings.Lines(out) {
		_, v, ok := strings.Cut(strings.TrimSpace(line), "messages=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			h.b.Fatalf("doveadm mailbox status: %q", line)
		}
		total += n
	}
	return total
}

// editConfig rewrites the store's config with edit.
func (s *mtmStore) editConfig(edit func([]byte) []byte) {
	s.h.b.Helper()
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		s.h.b.Fatal(err)
	}
	if err := os.WriteFile(s.config, edit(cfg), 0o600); err != nil {
		s.h.b.Fatal(err)
	}
}

// setIMAP sets a key of the [imap] section of the store's config.
func (s *mtmStore) setIMAP(key string, v int) {
	s.editConfig(func(cfg []byte) []byte {
		return bytes.Replace(cfg, []byte("[imap]\n"), []byte(fmt.Sprintf("[imap]\n%s = %d\n", key, v)), 1)
	})
}

// setLogLevel sets [log] level in the store's config.
func (s *mtmStore) setLogLevel(level string) {
	s.editConfig(func(cfg []byte) []byte {
		return bytes.Replace(cfg, []byte(`level = "warn"`), []byte(fmt.Sprintf("level = %q", level)), 1)
	})
}

// setConcurrency sets concurrent_accounts in the store's config.
func (s *mtmStore) setConcurrency(n int) {
	s.editConfig(func(cfg []byte) []byte {
		return append([]byte(fmt.Sprintf("concurrent_accounts = %d\n", n)), cfg...)
	})
}
