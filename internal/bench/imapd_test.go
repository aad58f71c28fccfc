package bench

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mtm/internal/testenv/dovecot"
)

var (
	flagIMAPDMessages = flag.Int("mtm.imapd.messages", 50000, "messages of the day pulled over IMAP (BenchmarkIMAPServe)")
	flagIMAPDProfile  = flag.String("mtm.imapd.profile", "", "write a 20 s CPU profile of mtm serve during its first pull to this file")
	flagIMAPDMaildirs = flag.String("mtm.imapd.maildirs", "/dev/shm", "where mbsync writes its Maildirs (a tmpfs keeps the disk out of the comparison); empty: the scratch directory")
)

// BenchmarkIMAPServe measures mtm's read-only IMAP server against the mail
// server itself: mbsync pulls one account of -mtm.imapd.messages messages
// from Dovecot (high-performance mode) into a Maildir, and the same
// account's day, snapshotted by mtm, from `mtm serve`'s IMAP server, in
// alternating runs, as a user runs it and with the client's disk taken out.
// Target: mtm's pull takes at most 1.0 × Dovecot's (median of -mtm.runs
// each).
//
//	go test -run '^$' -bench IMAPServe -benchtime 1x -timeout 60m ./internal/bench
func BenchmarkIMAPServe(b *testing.B) {
	h := newHarnessWith(b, dovecot.Options{Performance: true})
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	alice := &account{address: "alice@example.com", tag: "alice", folders: benchFolders}
	h.dc.AddUser(b, alice.address, "pw")
	h.progressf("delivering %d messages to %s", *flagIMAPDMessages, alice.address)
	raw := h.deliver(alice, *flagIMAPDMessages)
	h.progressf("delivered %s", mib(raw))
	st := h.newStore("imapd", []string{alice.address})
	now := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	st.mustRun(now, "snapshot")
	day := st.last(alice.address).Day
	addr, ops, mtmPid := st.serveIMAP(now.Add(time.Hour))
	// serverCPU is the CPU the server of a pull has used so far: Dovecot's
	// master with its login and imap processes, or mtm serve.
	serverCPU := func(fromMTM bool) time.Duration {
		if fromMTM {
			return treeCPU(mtmPid)
		}
		return treeCPU(h.dc.Pid())
	}
	h.progressf("mtm serves IMAP on %s; the day is %s", addr, day)

	// Two setups: mbsync as a user runs it (fsync on, the Maildir on the
	// disk), and the servers alone (no fsync, the Maildir on a tmpfs), where
	// the client's disk, the same for both, no longer hides their costs.
	for _, setup := range []struct {
		name  string
		alone bool
	}{
		{"as a user pulls (mbsync's defaults, the Maildir on the disk)", false},
		{"the servers alone (`FSync no`, the Maildir in " + maildirsWhere() + ")", true},
	} {
		var dovecotRuns, mtmRuns []time.Duration
		cpu := map[bool][]time.Duration{}    // mbsync's CPU time, by from mtm
		served := map[bool][]time.Duration{} // the server's CPU time, by from mtm
		for i := range *flagRuns {
			// Each server goes first in every other pair, so neither always
			// follows the other's clean-up.
			for _, fromMTM := range []bool{i%2 == 1, i%2 == 0} {
				name := fmt.Sprintf("dovecot-%v-%d", setup.alone, i)
				far, pattern := h.farStore(alice.address), "*"
				if fromMTM {
					name = fmt.Sprintf("mtm-%v-%d", setup.alone, i)
					far, pattern = imapStore(addr, alice.address, "pw"), day+"/*"
				}
				m := h.pullMirror(name, far, pattern, setup.alone)
				var profiled chan error
				if fromMTM && setup.alone && i == 0 && *flagIMAPDProfile != "" {
					profiled = make(chan error, 1)
					go func() { profiled <- saveProfile("http://"+ops+"/debug/pprof/profile?seconds=20", *flagIMAPDProfile) }()
				}
				cpuBefore := serverCPU(fromMTM)
				took := m.sync()
				served[fromMTM] = append(served[fromMTM], serverCPU(fromMTM)-cpuBefore)
				if profiled != nil {
					if err := <-profiled; err != nil {
						b.Fatalf("CPU profile: %v", err)
					}
				}
				if n := m.messages(); n != *flagIMAPDMessages {
					b.Fatalf("%s pulled %d messages, want %d", m.dir, n, *flagIMAPDMessages)
				}
				m.remove()
				// The removal's writes reach the disk before the next pull
				// starts, not during it.
				syscall.Sync()
				if fromMTM {
					mtmRuns = append(mtmRuns, took.Wall)
				} else {
					dovecotRuns = append(dovecotRuns, took.Wall)
				}
				cpu[fromMTM] = append(cpu[fromMTM], took.CPU)
				h.progressf("run %d, %s: %.1fs", i+1, name, took.Wall.Seconds())
			}
		}
		md, mm := median(dovecotRuns), median(mtmRuns)
		ratio := mm.Seconds() / md.Seconds()
		r.table(fmt.Sprintf("mbsync pulling %d messages (%s), %s", *flagIMAPDMessages, mib(raw), setup.name),
			[]string{"from", "runs (s)", "median (s)", "messages/s", "mbsync CPU, median (s)", "server CPU, median (s)", "server CPU per message (µs)"},
			[][]string{
				{"Dovecot (high-performance mode)", secondsList(dovecotRuns), fmt.Sprintf("%.2f", md.Seconds()),
					fmt.Sprintf("%.0f", float64(*flagIMAPDMessages)/md.Seconds()), fmt.Sprintf("%.2f", median(cpu[false]).Seconds()),
					fmt.Sprintf("%.2f", median(served[false]).Seconds()), perMessage(median(served[false]))},
				{"mtm serve, [imapd]", secondsList(mtmRuns), fmt.Sprintf("%.2f", mm.Seconds()),
					fmt.Sprintf("%.0f", float64(*flagIMAPDMessages)/mm.Seconds()), fmt.Sprintf("%.2f", median(cpu[true]).Seconds()),
					fmt.Sprintf("%.2f", median(served[true]).Seconds()), perMessage(median(served[true]))},
			}, "Alternating runs on the same machine, each server first in every other pair; each pull starts from an empty Maildir. "+
				"Server CPU: user and system time of mtm serve, or of Dovecot's master with its login and imap processes, during the pull.")
		r.target("mbsync from mtm ≤ 1.0 × from Dovecot, "+setup.name, "≤ 1.0 ×", fmt.Sprintf("%.2f ×", ratio), verdict(ratio <= 1.0))
		unit := "x-dovecot"
		if setup.alone {
			unit = "x-dovecot-alone"
		}
		r.metric(ratio, unit)
	}
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

// perMessage formats a server's CPU time per message pulled, in µs.
func perMessage(d time.Duration) string {
	return fmt.Sprintf("%.0f", float64(d.Microseconds())/float64(*flagIMAPDMessages))
}

func secondsList(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(out, ", ")
}

var (
	imapServingRE = regexp.MustCompile(`msg="serving IMAP" address=(\S+)`)
	opsServingRE  = regexp.MustCompile(`msg="serving the operators' endpoints" address=(\S+)`)
	indexedRE     = regexp.MustCompile(`msg="search index" indexed=`)
)

// saveProfile writes what url answers to file.
func saveProfile(url, file string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// serveIMAP starts `mtm serve` over the store with its IMAP server on
// loopback, under the test clock now, and returns the IMAP address and the
// operators' listener's, and its process id, once its search indexer has
// indexed the day (it would otherwise take the CPU the pulls are measured
// on). It is stopped at the benchmark's end.
func (s *mtmStore) serveIMAP(now time.Time) (imapAddr, opsAddr string, pid int) {
	s.h.b.Helper()
	cmd := exec.Command(s.h.mtm, "serve", "--config", s.config)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MTM_") && !strings.HasPrefix(kv, "MTMTEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "MTMTEST_NOW="+now.UTC().Format(time.RFC3339), "MTM_LISTEN=127.0.0.1:0",
		"MTM_OPS_LISTEN=127.0.0.1:0", "MTM_IMAPD_LISTEN=127.0.0.1:0", "MTM_IMAPD_ALLOW_PLAINTEXT=true",
		"MTM_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.h.b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.h.b.Fatal(err)
	}
	s.h.b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var ops, imapAt string
		for sc.Scan() {
			if m := opsServingRE.FindStringSubmatch(sc.Text()); m != nil {
				ops = m[1]
			}
			if m := imapServingRE.FindStringSubmatch(sc.Text()); m != nil {
				imapAt = m[1]
			}
			if indexedRE.MatchString(sc.Text()) {
				found <- [2]string{imapAt, ops}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-found:
		return a[0], a[1], cmd.Process.Pid
	case <-time.After(15 * time.Minute):
		s.h.b.Fatal("mtm serve did not serve IMAP and index the day within 15 minutes")
		return "", "", 0
	}
}

// imapStore is the mbsyncrc (isync 1.4) part that reaches addr as user,
// as the store "far".
func imapStore(addr, user, password string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`IMAPAccount far
Host %s
Port %s
User "%s"
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore far
Account far

`, host, port, user, password)
}

// pullMirror is an mbsync configuration pulling the folders of far that
// pattern matches into a fresh Maildir: on the scratch disk with mbsync's
// defaults, or, alone, without fsync in -mtm.imapd.maildirs.
func (h *harness) pullMirror(name, far, pattern string, alone bool) *mirror {
	h.b.Helper()
	dir := filepath.Join(h.work, name)
	if base := *flagIMAPDMaildirs; base != "" && alone {
		if fi, err := os.Stat(base); err == nil && fi.IsDir() {
			tmp, err := os.MkdirTemp(base, "mtm-bench-")
			if err != nil {
				h.b.Fatal(err)
			}
			h.b.Cleanup(func() { _ = os.RemoveAll(tmp) })
			dir = filepath.Join(tmp, name)
		}
	}
	maildir := filepath.Join(dir, "Maildir") + "/"
	rc := far
	if alone {
		rc = "FSync no\n\n" + far
	}
	rc += fmt.Sprintf(`MaildirStore near
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel bench
Far :far:
Near :near:
Patterns "%s"
Create Near
Sync Pull
SyncState *
`, maildir, maildir, pattern)
	if err := os.MkdirAll(maildir, 0o755); err != nil {
		h.b.Fatal(err)
	}
	m := &mirror{h: h, rc: filepath.Join(dir, "mbsyncrc"), dir: dir}
	if err := os.WriteFile(m.rc, []byte(rc), 0o600); err != nil {
		h.b.Fatal(err)
	}
	return m
}

// maildirsWhere says where the mirrors' Maildirs are.
func maildirsWhere() string {
	if base := *flagIMAPDMaildirs; base != "" {
		if fi, err := os.Stat(base); err == nil && fi.IsDir() {
			return base
		}
	}
	return "the scratch directory"
}
