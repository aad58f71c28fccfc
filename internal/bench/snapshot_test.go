package bench

import (
	"fmt"
	"time"
)

// firstResult is what later scenarios reuse of the first snapshots: the
// data directory and the Maildir of the last measured runs.
type firstResult struct {
	store  *mtmStore
	mirror *mirror
	median time.Duration // mtm's median wall time
}

// scenarioFirst measures the first snapshot of the large account with mtm
// and with mbsync, each into a fresh data directory or Maildir. Dovecot's
// indexes are built and the messages are in the page cache before the first
// run (see folderCounts); the tools alternate which goes first.
func scenarioFirst(h *harness, r *report, a *account, raw int64) firstResult {
	h.b.Helper()
	n := a.next
	var mtmRuns, mbRuns []measured
	var res firstResult
	for i := 1; i <= *flagRuns; i++ {
		st := h.newStore(fmt.Sprintf("first-%d", i), []string{a.address})
		mir := h.newMirror(fmt.Sprintf("mbsync-first-%d", i), a.address)
		var m, s measured
		if i%2 == 1 {
			m = st.mustRun(time.Time{}, "snapshot")
			s = mir.sync()
		} else {
			s = mir.sync()
			m = st.mustRun(time.Time{}, "snapshot")
		}
		if snap := st.last(a.address); snap.Messages != int64(n) || snap.FetchedMessages != int64(n) {
			h.b.Fatalf("first snapshot: %d messages (%d fetched), want %d", snap.Messages, snap.FetchedMessages, n)
		}
		if got := mir.messages(); got != n {
			h.b.Fatalf("mbsync: %d messages in the Maildir, want %d", got, n)
		}
		h.progressf("first snapshot run %d: mtm %s (%s RSS), mbsync %s (%s RSS)", i,
			seconds(m.Wall), mib(m.MaxRSS), seconds(s.Wall), mib(s.MaxRSS))
		mtmRuns, mbRuns = append(mtmRuns, m), append(mbRuns, s)
		if i < *flagRuns {
			st.remove()
			mir.remove()
		} else {
			res.store, res.mirror = st, mir
		}
	}
	res.median = median(walls(mtmRuns))
	mbMedian := median(walls(mbRuns))
	ratio := res.median.Seconds() / mbMedian.Seconds()
	rate := func(d time.Duration) string {
		return fmt.Sprintf("%.0f msg/s, %.1f MiB/s", float64(n)/d.Seconds(), float64(raw)/(1<<20)/d.Seconds())
	}
	row := func(tool string, ms []measured) []string {
		med := median(walls(ms))
		return []string{tool, seconds(med), runList(ms), rate(med), seconds(median(cpus(ms))), mib(maxRSS(ms))}
	}
	ds, err := sizeOf(res.store.data)
	if err != nil {
		h.b.Fatal(err)
	}
	r.table(fmt.Sprintf("1. First snapshot of one account: %d messages, %d folders, %s as served by IMAP", n,
		len(a.folders), mib(raw)),
		[]string{"tool", "median wall", "runs", "throughput", "median CPU", "peak RSS"},
		[][]string{row("mtm snapshot", mtmRuns), row("mbsync (Sync Pull into Maildir)", mbRuns)},
		fmt.Sprintf("mtm / mbsync = **%.2f**. Each run into a fresh data directory or Maildir; the tools "+
			"take turns going first. mtm's data directory after the run: %s in %d files "+
			"and %d directories (%s of disk blocks).", ratio, mib(ds.Bytes), ds.Files, ds.Dirs, mib(ds.Allocated)))
	r.target("first snapshot, mtm vs mbsync wall time", "≤ 0.70 ×", fmt.Sprintf("%.2f × (%s vs %s)", ratio,
		seconds(res.median), seconds(mbMedian)), verdict(ratio <= 0.7))
	r.metric(res.median.Seconds(), "first-mtm-s")
	r.metric(mbMedian.Seconds(), "first-mbsync-s")
	return res
}

func cpus(ms []measured) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		out = append(out, m.CPU)
	}
	return out
}

// scenarioNightly snapshots the unchanged account again into the data
// directory of the last first snapshot, and runs mbsync again on its
// Maildir.
func scenarioNightly(h *harness, r *report, a *account, first firstResult) {
	h.b.Helper()
	var mtmRuns, mbRuns []measured
	for range *flagRuns {
		m := first.store.mustRun(time.Time{}, "snapshot")
		if snap := first.store.last(a.address); snap.FetchedMessages != 0 || snap.Messages != int64(a.next) {
			h.b.Fatalf("nightly snapshot: %d messages, %d fetched; want %d, 0", snap.Messages, snap.FetchedMessages, a.next)
		}
		mtmRuns = append(mtmRuns, m)
		mbRuns = append(mbRuns, first.mirror.sync())
		h.progressf("nightly run: mtm %s, mbsync %s", seconds(m.Wall), seconds(mbRuns[len(mbRuns)-1].Wall))
	}
	med := median(walls(mtmRuns))
	share := med.Seconds() / first.median.Seconds()
	row := func(tool string, ms []measured) []string {
		return []string{tool, seconds(median(walls(ms))), runList(ms), seconds(median(cpus(ms))), mib(maxRSS(ms))}
	}
	r.table("2. Nightly snapshot of the unchanged account",
		[]string{"tool", "median wall", "runs", "median CPU", "peak RSS"},
		[][]string{row("mtm snapshot", mtmRuns), row("mbsync (incremental)", mbRuns)},
		fmt.Sprintf("mtm's nightly run takes **%.1f %%** of its first snapshot. Wall time includes process "+
			"start, opening the catalog, login, LIST and one EXAMINE per folder.", share*100))
	r.target("nightly snapshot, share of the first", "≤ 5 %", fmt.Sprintf("%.1f %%", share*100), verdict(share <= 0.05))
	r.target("nightly snapshot, wall time", "< 1 s", seconds(med), verdict(med < time.Second))
	r.metric(med.Seconds(), "nightly-mtm-s")
}

// memoryLimit is the RSS target, 150 MB.
const memoryLimit = 150_000_000

// scenarioMemory snapshots an account like the large one plus one very
// large message into a fresh data directory and records the peak RSS.
func scenarioMemory(h *harness, r *report) {
	h.b.Helper()
	bob := &account{address: "bob@example.com", tag: "bob", folders: benchFolders}
	h.dc.AddUser(h.b, bob.address, "pw")
	h.progressf("delivering %d messages and one of %d MiB to %s", *flagMessages, *flagBigMiB, bob.address)
	raw := h.deliver(bob, *flagMessages)
	big := bigMessage(*flagBigMiB << 20)
	h.dc.Deliver(h.b, bob.address, "INBOX", big, nil, baseDate)
	raw += int64(imapSize(big))
	if got := h.folderCounts(bob.address); got != *flagMessages+1 {
		h.b.Fatalf("%s: Dovecot has %d messages, want %d", bob.address, got, *flagMessages+1)
	}
	st := h.newStore("memory", []string{bob.address})
	m := st.mustRun(time.Time{}, "snapshot")
	if snap := st.last(bob.address); snap.Messages != int64(*flagMessages+1) {
		h.b.Fatalf("memory snapshot: %d messages, want %d", snap.Messages, *flagMessages+1)
	}
	st.remove()
	h.progressf("memory run: %s, peak RSS %s", seconds(m.Wall), mib(m.MaxRSS))
	r.table(fmt.Sprintf("4. Memory: first snapshot of %d messages plus one of %s (%s in all)",
		*flagMessages, mib(int64(imapSize(big))), mib(raw)),
		[]string{"tool", "wall", "CPU", "peak RSS"},
		[][]string{{"mtm snapshot", seconds(m.Wall), seconds(m.CPU), mib(m.MaxRSS)}},
		"Peak RSS is the process's high-water resident set size (VmHWM, see measure), Go runtime and "+
			"SQLite page cache included.")
	r.target("peak RSS with a 100 MB message", "≤ 150 MB", fmt.Sprintf("%.0f MB (%s)", float64(m.MaxRSS)/1e6, mib(m.MaxRSS)),
		verdict(m.MaxRSS <= memoryLimit))
	r.metric(float64(m.MaxRSS)/1e6, "peak-RSS-MB")
}
