package bench

import (
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
)

// manyFolders are the folders of each small account.
var manyFolders = []string{"INBOX", "Sent", "Archive"}

// scenarioMany snapshots many small accounts in one run, first and nightly,
// with mtm's default concurrency (concurrent_accounts = 4,
// connections_per_account = 2).
func scenarioMany(h *harness, r *report) {
	h.b.Helper()
	n, per := *flagAccounts, *flagPerAccount
	h.progressf("delivering %d messages to each of %d accounts", per, n)
	addresses := make([]string, n)
	var raw int64
	for i := range n {
		a := &account{address: fmt.Sprintf("user%04d@example.net", i), tag: fmt.Sprintf("u%d", i),
			folders: manyFolders, next: i * per}
		h.dc.AddUser(h.b, a.address, "pw")
		raw += h.deliver(a, per)
		addresses[i] = a.address
	}
	// A STATUS of every folder counts the load and makes Dovecot build its
	// indexes, as a server in service has them.
	if got := h.statusAll(addresses, manyFolders); got != n*per {
		h.b.Fatalf("Dovecot has %d messages in the small accounts, want %d", got, n*per)
	}

	h.progressf("delivered %s", mib(raw))
	st := h.newStore("many", addresses)
	first := st.mustRun(time.Time{}, "snapshot")
	cat, err := readCatalog(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	if cat.Snapshots != int64(n) || cat.Entries != int64(n*per) {
		h.b.Fatalf("first run: %d snapshots, %d entries; want %d, %d", cat.Snapshots, cat.Entries, n, n*per)
	}
	h.progressf("many accounts, first: %s", seconds(first.Wall))
	var nightly []measured
	for range *flagRuns {
		nightly = append(nightly, st.mustRun(time.Time{}, "snapshot"))
		h.progressf("many accounts, nightly: %s", seconds(nightly[len(nightly)-1].Wall))
	}
	if cat, err = readCatalog(st.data); err != nil {
		h.b.Fatal(err)
	}
	if want := int64(n * (1 + *flagRuns)); cat.Snapshots != want || cat.Entries != int64(n*per) {
		h.b.Fatalf("after nightly runs: %d snapshots, %d entries; want %d, %d", cat.Snapshots, cat.Entries, want, n*per)
	}
	data, err := sizeOf(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	st.remove()
	med := median(walls(nightly))
	rate := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(n)/d.Seconds()) }
	r.table(fmt.Sprintf("5. Many accounts: %d accounts × %d messages (%s) in one run", n, per, mib(raw)),
		[]string{"run", "wall", "accounts/s", "messages/s", "CPU", "peak RSS"},
		[][]string{
			{"first", seconds(first.Wall), rate(first.Wall), fmt.Sprintf("%.0f", float64(n*per)/first.Wall.Seconds()),
				seconds(first.CPU), mib(first.MaxRSS)},
			{fmt.Sprintf("nightly (median of %s)", runList(nightly)), seconds(med), rate(med), "–",
				seconds(median(cpus(nightly))), mib(maxRSS(nightly))},
		},
		fmt.Sprintf("Default concurrency: 4 accounts at a time, 2 connections each, master-user logins. "+
			"Data directory after the runs: %s in %d files and %d directories (%s of disk blocks).",
			mib(data.Bytes), data.Files, data.Dirs, mib(data.Allocated)))
	r.target("many accounts, first snapshot", "report", rate(first.Wall)+" accounts/s", "reported")
	r.target("many accounts, nightly snapshot", "report", rate(med)+" accounts/s", "reported")
	r.metric(float64(n)/first.Wall.Seconds(), "many-first-acct/s")
	r.metric(float64(n)/med.Seconds(), "many-nightly-acct/s")
}

// statusAll returns the number of messages in the folders of the accounts,
// asked with IMAP STATUS.
func (h *harness) statusAll(addresses, folders []string) int {
	h.b.Helper()
	total := 0
	for _, a := range addresses {
		c := h.dc.Dial(h.b, a)
		for _, f := range folders {
			data, err := c.Status(f, &imap.StatusOptions{NumMessages: true}).Wait()
			if err != nil {
				h.b.Fatalf("STATUS %s of %s: %v", f, a, err)
			}
			total += int(*data.NumMessages)
		}
		if err := c.Logout().Wait(); err != nil {
			h.b.Fatalf("logout %s: %v", a, err)
		}
	}
	return total
}
