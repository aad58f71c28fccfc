package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"mtm/internal/clock"
)

// Daily churn of the issue, in percent of the live messages.
const (
	newPct  = 2
	delPct  = 1
	flagPct = 1
)

// dayRow is one simulated day.
type dayRow struct {
	day     int
	changes churnCounts
	mtm, mb measured
	snap    snapshotInfo
	cat     catalogStats
	data    dirSize
}

// scenarioChurn simulates days of churn on the large account, one snapshot
// per day into the data directory of the last first snapshot, each under
// the test clock MTMTEST_NOW set to that day, then prunes.
func scenarioChurn(h *harness, r *report, a *account, first firstResult) {
	h.b.Helper()
	st := first.store
	rng := rand.New(rand.NewPCG(20250101, 15))
	// The first snapshots were taken today on the real clock; day d is d
	// days later, at 02:00 UTC.
	today := clock.Real{}.Now().UTC().Truncate(24 * time.Hour)
	dayTime := func(d int) time.Time { return today.AddDate(0, 0, d).Add(2 * time.Hour) }

	base, err := readCatalog(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	var rows []dayRow
	testClock := true
	for d := 1; d <= *flagDays; d++ {
		row := dayRow{day: d, changes: h.churn(a, rng, newPct, delPct, flagPct)}
		row.mtm = st.mustRun(dayTime(d), "snapshot")
		row.snap = st.last(a.address)
		if row.snap.Day != dayTime(d).Format(time.DateOnly) {
			testClock = false
		}
		if live := h.folderCounts(a.address); row.snap.Messages != int64(live) {
			h.b.Fatalf("day %d: snapshot has %d messages, Dovecot %d", d, row.snap.Messages, live)
		}
		if row.cat, err = readCatalog(st.data); err != nil {
			h.b.Fatal(err)
		}
		if row.data, err = sizeOf(st.data); err != nil {
			h.b.Fatal(err)
		}
		row.mb = first.mirror.sync()
		h.progressf("day %d: +%d -%d ~%d; mtm %s, mbsync %s; catalog %s, data %s", d, row.changes.New,
			row.changes.Deleted, row.changes.Reflagged, seconds(row.mtm.Wall), seconds(row.mb.Wall),
			mib(row.cat.Bytes), mib(row.data.Bytes))
		rows = append(rows, row)
	}
	churnTable(r, base, rows, testClock)
	pruneAndCheck(h, r, st, first.mirror, rows[len(rows)-1], dayTime(*flagDays).Add(time.Hour), testClock)
}

// churnTable reports the days and judges catalog growth: by design a new
// message adds one entries row and one contents row, a flag change one
// entries row, an expunge none.
func churnTable(r *report, base catalogStats, rows []dayRow, testClock bool) {
	var table [][]string
	prev := base
	proportional := true
	var minPer, maxPer float64
	for i, row := range rows {
		c := row.changes
		dEntries, dContents := row.cat.Entries-prev.Entries, row.cat.Contents-prev.Contents
		if dEntries != int64(c.New+c.Reflagged) || dContents != int64(c.New) {
			proportional = false
		}
		per := float64(row.cat.Used-prev.Used) / float64(c.New+c.Deleted+c.Reflagged)
		if i == 0 || per < minPer {
			minPer = per
		}
		if i == 0 || per > maxPer {
			maxPer = per
		}
		table = append(table, []string{fmt.Sprint(row.day), row.snap.Day, fmt.Sprint(c.Live),
			fmt.Sprintf("+%d −%d ~%d", c.New, c.Deleted, c.Reflagged),
			seconds(row.mtm.Wall), seconds(row.mb.Wall), fmt.Sprint(row.snap.FetchedMessages),
			mib(row.cat.Bytes), fmt.Sprintf("%s (%+.0f KiB)", mib(row.cat.Used), float64(row.cat.Used-prev.Used)/1024),
			fmt.Sprintf("%d (%+d)", row.cat.Entries, dEntries), fmt.Sprintf("%d (%+d)", row.cat.Contents, dContents),
			fmt.Sprint(row.cat.Snapshots), mib(row.data.Bytes)})
		prev = row.cat
	}
	notes := []string{fmt.Sprintf("Each day delivers %d %% new messages (spread over the folders), expunges %d %% "+
		"and toggles \\Flagged on %d %% of the live ones (over IMAP), then mtm takes a snapshot and mbsync "+
		"pulls into its Maildir. \"Catalog in use\" counts the SQLite pages not on the free list; "+
		"it grew by %.0f to %.0f bytes per changed message (new + expunged + reflagged).",
		newPct, delPct, flagPct, minPer, maxPer)}
	if !testClock {
		notes = append(notes, "**The test clock MTMTEST_NOW was not honoured**: the snapshots were not "+
			"taken on distinct days, so retention and prune below do not measure fifteen days.")
	}
	r.table("3. Days of churn on the large account",
		[]string{"day", "snapshot day", "live before", "changes", "mtm", "mbsync", "fetched",
			"catalog file", "catalog in use (Δ)", "entries (Δ)", "contents (Δ)", "snapshots", "data dir"},
		table, notes...)
	r.target("catalog growth per day proportional to changes", "Δentries = new + reflagged, Δcontents = new",
		fmt.Sprintf("%.0f–%.0f catalog bytes per change", minPer, maxPer), verdict(proportional))
}

// pruneAndCheck prunes after the last day, reports the data directory
// against one copy of the mailbox, and runs the integrity check.
func pruneAndCheck(h *harness, r *report, st *mtmStore, mir *mirror, last dayRow, now time.Time, testClock bool) {
	h.b.Helper()
	maildir, err := sizeOf(mir.dir)
	if err != nil {
		h.b.Fatal(err)
	}
	raw := last.snap.Bytes
	before := last.data
	pm, err := st.run(now, "prune")
	if err != nil && strings.Contains(pm.Output, `unknown command "prune"`) {
		r.table("3b. Prune", []string{"state", "data dir", "× one copy"},
			[][]string{{"before prune", mib(before.Bytes), fmt.Sprintf("%.2f", float64(before.Bytes)/float64(raw))}},
			"**prune not available**: this mtm has no `prune` command, so the store after retention was not measured.")
		r.target("data directory after prune", "≤ 1.0 × one copy", "prune not available", "not measured")
		return
	}
	if err != nil {
		h.b.Fatalf("prune: %v", err)
	}
	after, err := sizeOf(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	cat, err := readCatalog(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	notesPrune := "`mtm prune`: " + strings.ReplaceAll(lastLine(pm.Output), "\n", " ")
	cm, err := st.run(now, "check")
	checkOK := err == nil
	ratio := float64(after.Bytes) / float64(raw)
	rows := [][]string{
		{"before prune", fmt.Sprint(last.cat.Snapshots), mib(last.cat.Bytes), fmt.Sprint(before.Files), mib(before.Bytes),
			fmt.Sprintf("%.2f", float64(before.Bytes)/float64(raw)), ""},
		{"after prune", fmt.Sprint(cat.Snapshots), mib(cat.Bytes), fmt.Sprint(after.Files), mib(after.Bytes),
			fmt.Sprintf("%.2f", ratio), seconds(pm.Wall)},
		{"for comparison: mbsync's Maildir (Expunge None: every message pulled in the days)", "", "", fmt.Sprint(maildir.Files), mib(maildir.Bytes),
			fmt.Sprintf("%.2f", float64(maildir.Bytes)/float64(raw)), ""},
	}
	notes := []string{fmt.Sprintf("One copy of the mailbox is the last snapshot's size as served by IMAP: %s "+
		"in %d messages. Data directory = catalog + blobs, sum of file sizes; after prune its %d files and %d "+
		"directories take %s of disk blocks (4 KiB each at least); mbsync's Maildir takes %s.",
		mib(raw), last.snap.Messages, after.Files, after.Dirs, mib(after.Allocated), mib(maildir.Allocated)), notesPrune}
	if checkOK {
		notes = append(notes, "`mtm check` after prune: "+lastLine(cm.Output))
	} else {
		notes = append(notes, fmt.Sprintf("**`mtm check` after prune failed**: %v", err))
	}
	if !testClock {
		notes = append(notes, "The snapshots were all taken on one day (no test clock), so prune had nothing to remove.")
	}
	r.table("3b. Prune after the last day", []string{"state", "snapshots", "catalog", "files", "data dir",
		"× one copy", "prune wall"}, rows, notes...)
	v := verdict(ratio <= 1.0 && checkOK)
	if !testClock {
		v = "not measured (no test clock)"
	}
	allocated := float64(after.Allocated) / float64(raw)
	if testClock && ratio <= 1.0 && checkOK && allocated > 1.0 {
		v = "met by file sizes; **missed** by disk blocks"
	}
	r.target("data directory after prune", "≤ 1.0 × one copy", fmt.Sprintf("%.2f × by file sizes (%s vs %s); "+
		"%.2f × in disk blocks (%s)", ratio, mib(after.Bytes), mib(raw), allocated, mib(after.Allocated)), v)
	r.metric(ratio, "store/copy")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
