package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/postgres"
)

// BenchmarkCatalogs compares the two catalogs side by side on one Dovecot
// in high-performance mode (make bench-catalogs): the first snapshot of the
// large account (50,000 messages by default) into a new data directory
// with the embedded SQLite catalog and with a new PostgreSQL catalog (a
// cluster on loopback with fsync on, as in production), taking turns, then
// nightly snapshots of the unchanged account on each. It prints Markdown
// like BenchmarkStore and ignores b.N: run it with -benchtime 1x.
func BenchmarkCatalogs(b *testing.B) {
	h := newHarnessWith(b, dovecot.Options{Performance: true})
	pg := postgres.StartWith(b, postgres.Options{Sync: true})
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	a := &account{address: "alice@example.com", tag: "alice", folders: benchFolders}
	h.dc.AddUser(b, a.address, "pw")
	h.progressf("delivering %d messages to %s", *flagMessages, a.address)
	raw := h.deliver(a, *flagMessages)
	if got := h.folderCounts(a.address); got != *flagMessages {
		b.Fatalf("%s: Dovecot has %d messages, want %d", a.address, got, *flagMessages)
	}
	h.progressf("delivered %s", mib(raw))

	type side struct {
		name              string
		first, nights     []measured
		pgFirst, pgNights []time.Duration // PostgreSQL's own CPU
		accountNights     []time.Duration // the account's own time in the nightly runs
		store             *mtmStore
	}
	lite, post := &side{name: "SQLite (embedded)"}, &side{name: "PostgreSQL (loopback)"}
	runOn := func(s *side, i int, nightly bool) {
		if !nightly {
			s.store = h.newStore(fmt.Sprintf("catalog-%s-%d", strings.Fields(s.name)[0], i), []string{a.address})
			if s == post {
				url := pg.Database(b)
				s.store.editConfig(func(cfg []byte) []byte {
					return append(cfg, []byte(fmt.Sprintf("[catalog]\nurl = %q\nauto_migrate = true\n", url))...)
				})
			}
		}
		before := postgresCPU()
		m := s.store.mustRun(time.Time{}, "snapshot")
		pgUsed := postgresCPU() - before
		snap := s.store.last(a.address)
		want := int64(*flagMessages)
		if nightly {
			want = 0
		}
		if snap.Messages != int64(*flagMessages) || snap.FetchedMessages != want {
			b.Fatalf("%s: snapshot of %d messages, %d fetched; want %d, %d", s.name, snap.Messages,
				snap.FetchedMessages, *flagMessages, want)
		}
		if nightly {
			s.nights, s.pgNights = append(s.nights, m), append(s.pgNights, pgUsed)
			s.accountNights = append(s.accountNights, accountDuration(b, m))
		} else {
			s.first, s.pgFirst = append(s.first, m), append(s.pgFirst, pgUsed)
		}
		h.progressf("%s, %s run %d: %s (CPU %s)", s.name, map[bool]string{false: "first", true: "nightly"}[nightly],
			i, seconds(m.Wall), seconds(m.CPU))
	}
	for i := 1; i <= *flagRuns; i++ {
		order := []*side{lite, post}
		if i%2 == 0 {
			order = []*side{post, lite}
		}
		for _, s := range order {
			if s.store != nil {
				s.store.remove()
			}
			runOn(s, i, false)
		}
	}
	// A night of one unchanged account is tens of milliseconds: nine runs
	// each, taking turns, for a stable median.
	lite.store.setLogLevel("info") // "account done ... duration=": the account's own time
	post.store.setLogLevel("info")
	for i := 1; i <= 3*(*flagRuns); i++ {
		runOn(lite, i, true)
		runOn(post, i, true)
	}

	row := func(s *side, ms []measured, pgCPU []time.Duration, format func(time.Duration) string) []string {
		pg := "—"
		if s == post {
			pg = format(median(pgCPU))
		}
		runs := make([]string, len(ms))
		for i, m := range ms {
			runs[i] = format(m.Wall)
		}
		return []string{s.name, format(median(walls(ms))), strings.Join(runs, ", "), format(median(cpus(ms))), pg}
	}
	millis := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	header := []string{"catalog", "median wall", "runs", "mtm CPU (median)", "PostgreSQL CPU (median)"}
	firstRatio := median(walls(post.first)).Seconds() / median(walls(lite.first)).Seconds()
	r.table(fmt.Sprintf("First snapshot of one account: %d messages, %d folders, %s", *flagMessages, len(a.folders), mib(raw)),
		header, [][]string{row(lite, lite.first, nil, seconds), row(post, post.first, post.pgFirst, seconds)},
		fmt.Sprintf("PostgreSQL / SQLite = **%.2f**. Each run into a new data directory and a new database; the "+
			"catalogs take turns going first.", firstRatio))
	nightRatio := median(post.accountNights).Seconds() / median(lite.accountNights).Seconds()
	processRatio := median(walls(post.nights)).Seconds() / median(walls(lite.nights)).Seconds()
	r.table("Nightly snapshot of the unchanged account", append(header, "the account (median)"),
		[][]string{append(row(lite, lite.nights, nil, millis), millis(median(lite.accountNights))),
			append(row(post, post.nights, post.pgNights, millis), millis(median(post.accountNights)))},
		fmt.Sprintf("The account's own time (login, LIST-STATUS, catalog reads, the quick commit: what a night of "+
			"`mtm serve` costs per account), PostgreSQL / SQLite = **%.2f**. The whole `mtm snapshot` process, "+
			"from start to exit: %.2f; it includes opening the catalog, and PostgreSQL starts a server process "+
			"for each new connection, which `mtm serve`'s pool pays once.", nightRatio, processRatio))
	r.target("first snapshot, PostgreSQL vs SQLite catalog", "≤ 1.3 ×", fmt.Sprintf("%.2f ×", firstRatio),
		verdict(firstRatio <= 1.3))
	r.target("nightly snapshot (the account), PostgreSQL vs SQLite catalog", "≤ 1.3 ×",
		fmt.Sprintf("%.2f × (the whole process: %.2f ×)", nightRatio, processRatio), verdict(nightRatio <= 1.3))
	r.metric(firstRatio, "first-pg/sqlite")
	r.metric(nightRatio, "nightly-pg/sqlite")
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

// postgresCPU sums the user and system time of every process named
// postgres on the machine, with the time of their reaped children: a
// backend's time moves to the postmaster's when its connection closes.
func postgresCPU() time.Duration {
	var sum time.Duration
	for _, p := range procStats() {
		if p.comm == "postgres" {
			sum += p.cpu
		}
	}
	return sum
}

// treeCPU sums the user and system time of process root and its
// descendants, with the time of their reaped children.
func treeCPU(root int) time.Duration {
	procs := procStats()
	parent := map[int]int{}
	for _, p := range procs {
		parent[p.pid] = p.ppid
	}
	var sum time.Duration
	for _, p := range procs {
		for pid, hops := p.pid, 0; pid > 1 && hops < 64; pid, hops = parent[pid], hops+1 {
			if pid == root {
				sum += p.cpu
				break
			}
		}
	}
	return sum
}

// procStat is a process's line of /proc/PID/stat.
type procStat struct {
	pid, ppid int
	comm      string
	cpu       time.Duration // utime, stime, cutime and cstime
}

// procStats reads every process's /proc/PID/stat.
func procStats() []procStat {
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []procStat
	for _, path := range procs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 15 {
			continue
		}
		p := procStat{comm: string(b[open+1 : end])}
		p.pid, _ = strconv.Atoi(strings.TrimSpace(string(b[:open])))
		p.ppid, _ = strconv.Atoi(f[1])
		var ticks int64
		for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime: fields 14 to 17
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
		p.cpu = time.Duration(ticks) * time.Second / 100 // USER_HZ
		out = append(out, p)
	}
	return out
}

// accountDuration reads the account's own time from a run's "account done"
// log line.
func accountDuration(b *testing.B, m measured) time.Duration {
	b.Helper()
	match := regexp.MustCompile(`msg="account done" .*duration=(\S+)`).FindStringSubmatch(m.Output)
	if match == nil {
		b.Fatalf("no \"account done\" line in the output:\n%s", tail(m.Output, 2000))
	}
	d, err := time.ParseDuration(match[1])
	if err != nil {
		b.Fatal(err)
	}
	return d
}
