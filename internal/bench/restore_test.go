package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var flagRestore = flag.Int("mtm.restore", 10000, "deleted messages restored (BenchmarkRestore)")

// BenchmarkRestore measures `mtm restore` of 10,000 deleted messages into a
// local Dovecot, beside mbsync pushing the same messages from a Maildir into
// an empty folder of the same server, in the same run, several times each;
// it prints the medians and their ratio. Before each timed run the disk's
// dirty pages are written out, and the tools take turns going first. mtm also builds its live index
// (it must find what is still there) and mbsync does not (its folder is
// empty), so the comparison favours mbsync.
func BenchmarkRestore(b *testing.B) {
	h := newHarness(b)
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	const acct = "restore@example.com"
	h.dc.AddUser(b, acct, "pw")
	n := *flagRestore
	h.progressf("delivering %d messages to %s", n, acct)
	for i := range n {
		h.dc.Deliver(b, acct, "INBOX", corpusMessage(h.corpus, "restore", i), flagsOf(i), dateOf(i))
	}
	if got := h.folderCounts(acct); got != n {
		b.Fatalf("Dovecot has %d messages, want %d", got, n)
	}
	st := h.newStore("restore", []string{acct})
	st.mustRun(time.Time{}, "snapshot")
	snap := strconv.FormatInt(st.last(acct).ID, 10)
	export := filepath.Join(h.work, "export")
	st.mustRun(time.Time{}, "export", "--account", acct, "--snapshot", snap, "--format", "maildir", "--out", export)

	var mtmRuns, mbsyncRuns []measured
	for run := range *flagRuns {
		h.dc.Doveadm(b, "expunge", "-u", acct, "mailbox", "INBOX", "all")
		if got := h.folderCounts(acct); got != 0 {
			b.Fatalf("after the expunge Dovecot has %d messages", got)
		}
		folder := fmt.Sprintf("Pushed%d", run)
		p := h.newPush(fmt.Sprintf("push%d", run), acct, folder, filepath.Join(export, "INBOX"))
		restore := func() {
			settleDisk(b)
			h.progressf("run %d: mtm restore of %d messages", run+1, n)
			m := st.mustRun(time.Time{}, "restore", "--account", acct, "--snapshot", snap)
			if got := h.folderMessages(acct, "INBOX"); got != n || !strings.Contains(m.Output, fmt.Sprintf("restored %d messages", n)) {
				b.Fatalf("mtm restore: Dovecot has %d messages, want %d:\n%s", got, n, tail(m.Output, 2000))
			}
			mtmRuns = append(mtmRuns, m)
		}
		push := func() {
			settleDisk(b)
			h.progressf("run %d: mbsync push of %d messages into %s", run+1, n, folder)
			mbsyncRuns = append(mbsyncRuns, p.push())
			if got := h.folderMessages(acct, folder); got != n {
				b.Fatalf("mbsync pushed %d messages into %s, want %d", got, folder, n)
			}
		}
		// Each tool goes first in every other run: the one that follows
		// another's 10,000 writes finds the disk busier.
		if run%2 == 0 {
			restore()
			push()
			h.dc.Doveadm(b, "mailbox", "delete", "-u", acct, folder)
		} else {
			// mbsync's copies carry an X-TUID header, so they are not
			// the backup's messages: mtm would have to download them all
			// to find that out. They go before mtm's turn.
			push()
			h.dc.Doveadm(b, "mailbox", "delete", "-u", acct, folder)
			restore()
		}
	}
	restoreTable(r, n, mtmRuns, mbsyncRuns)
	r.dovecotErrors(h)
	r.print(os.Stdout)
}

func restoreTable(r *report, n int, mtmRuns, mbsyncRuns []measured) {
	wall := func(ms []measured) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, m.Wall)
		}
		return out
	}
	var rows [][]string
	for i := range mtmRuns {
		rows = append(rows, []string{strconv.Itoa(i + 1), seconds(mtmRuns[i].Wall), seconds(mbsyncRuns[i].Wall)})
	}
	mm, mb := median(wall(mtmRuns)), median(wall(mbsyncRuns))
	ratio := mm.Seconds() / mb.Seconds()
	rows = append(rows, []string{"median", seconds(mm), seconds(mb)})
	r.table(fmt.Sprintf("Restore of %d deleted messages", n), []string{"run", "mtm restore", "mbsync push"}, rows,
		fmt.Sprintf("Ratio of the medians, mtm / mbsync: %.2f. mtm reads the live folders (to restore only what is "+
			"missing), recreates nothing here, and APPENDs the exact stored bytes with their flags and dates, "+
			"up to 100 per APPEND (MULTIAPPEND) and 256 in flight; mbsync pushes a Maildir into an empty folder, "+
			"one message per APPEND.", ratio))
	r.target("restore 10,000 messages", "≤ 1.0 × mbsync", fmt.Sprintf("%.2f × (%s vs %s)", ratio, seconds(mm), seconds(mb)),
		verdict(ratio <= 1.0))
	r.metric(ratio, "restore-ratio")
}

// push is an mbsync configuration pushing one Maildir folder into one IMAP
// folder.
type push struct {
	h  *harness
	rc string
}

// newPush copies the Maildir folder src (so that mbsync's state starts
// fresh) and writes an mbsyncrc that pushes it into folder of account.
func (h *harness) newPush(name, account, folder, src string) *push {
	h.b.Helper()
	dir := filepath.Join(h.work, name)
	maildir := filepath.Join(dir, "Maildir")
	if err := os.MkdirAll(maildir, 0o755); err != nil {
		h.b.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", src, filepath.Join(maildir, "src")).CombinedOutput(); err != nil {
		h.b.Fatalf("copying the Maildir: %v\n%s", err, out)
	}
	rc := h.farStore(account) + fmt.Sprintf(`MaildirStore near
Path %s/
SubFolders Verbatim

Channel push
Far :far:%s
Near :near:src
Create Far
Sync Push
SyncState *
`, maildir, folder)
	p := &push{h: h, rc: filepath.Join(dir, "mbsyncrc")}
	if err := os.WriteFile(p.rc, []byte(rc), 0o600); err != nil {
		h.b.Fatal(err)
	}
	return p
}

func (p *push) push() measured {
	p.h.b.Helper()
	m, err := measure(exec.Command("mbsync", "-c", p.rc, "-a", "-q"))
	if err != nil {
		p.h.b.Fatalf("mbsync push: %v", err)
	}
	return m
}

// folderMessages asks Dovecot how many messages one folder holds.
func (h *harness) folderMessages(account, folder string) int {
	h.b.Helper()
	out := h.dc.Doveadm(h.b, "mailbox", "status", "-u", account, "messages", folder)
	_, v, _ := strings.Cut(strings.TrimSpace(out), "messages=")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		h.b.Fatalf("doveadm mailbox status %s: %q", folder, out)
	}
	return n
}

// settleDisk writes every dirty page out (sync(1)) before a timed run, so
// that a run does not pay for the writes of what came before it.
func settleDisk(b *testing.B) {
	b.Helper()
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		b.Fatalf("sync: %v\n%s", err, out)
	}
}
