package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/postgres"
	"mtm/internal/testenv/s3"
	"mtm/internal/testenv/tcpproxy"
)

var (
	flagClusterAccounts = flag.Int("mtm.cluster.accounts", 1000, "unchanged accounts of the nightly runs")
	flagClusterFirst    = flag.Int("mtm.cluster.first", 200, "accounts of the first snapshots")
	flagClusterPer      = flag.Int("mtm.cluster.peraccount", 10, "messages per account")
	flagClusterDelay    = flag.Duration("mtm.cluster.delay", 20*time.Millisecond, "delay the proxy adds to every IMAP answer")
	flagClusterConc     = flag.Int("mtm.cluster.concurrency", 2, "worker_concurrency of each node")
)

// BenchmarkCluster measures how the night scales with nodes: every node is
// `mtm serve` as its own process on one PostgreSQL catalog and one S3
// bucket, and every IMAP answer is delayed by a proxy, as a remote mail
// server's would be, so that the figures show what more nodes bring and
// not the two CPUs of this machine (docs/benchmarks.md).
func BenchmarkCluster(b *testing.B) {
	h := newHarnessWith(b, dovecot.Options{Performance: true})
	pg := postgres.StartWith(b, postgres.Options{Sync: true})
	srv := s3.Start(b)
	imapAddr := tcpproxy.Start(b, h.dc.Addr, tcpproxy.Options{Delay: *flagClusterDelay}).Addr
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	n := max(*flagClusterAccounts, *flagClusterFirst)
	addresses := make([]string, n)
	for i := range n {
		a := &account{address: fmt.Sprintf("node%04d@example.net", i), tag: fmt.Sprintf("n%d", i),
			folders: limitFolders, next: i * *flagClusterPer}
		h.dc.AddUser(b, a.address, "pw")
		h.deliver(a, *flagClusterPer)
		addresses[i] = a.address
	}
	h.progressf("%d accounts of %d folders, %d messages each; IMAP answers delayed by %s", n, len(limitFolders),
		*flagClusterPer, *flagClusterDelay)
	// The first night fires an hour before the real time: River's job
	// cleaner deletes the jobs that finished over a day before the real
	// clock, whatever the nodes' clock says.
	fire := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	newCluster := func(name string, accounts []string) *benchCluster {
		st := h.newStore(name, accounts)
		url, bucket := pg.Database(b), srv.Bucket(b)
		st.editConfig(func(cfg []byte) []byte {
			cfg = []byte(strings.Replace(string(cfg), fmt.Sprintf("%q", h.dc.Addr), fmt.Sprintf("%q", imapAddr), 1))
			cfg = append(cfg, s3Section(srv, srv.Endpoint, bucket)...)
			return append(cfg, fmt.Sprintf("[catalog]\nurl = %q\nauto_migrate = true\n", url)...)
		})
		st.mustRun(time.Time{}, "migrate")
		db, err := pgxpool.New(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(db.Close)
		return &benchCluster{h: h, st: st, db: db, accounts: len(accounts)}
	}

	// First snapshots: a new catalog and bucket for each.
	firsts := map[int]time.Duration{}
	for _, nodes := range []int{1, 4} {
		c := newCluster(fmt.Sprintf("cluster-first-%d", nodes), addresses[:*flagClusterFirst])
		firsts[nodes] = c.night(nodes, fire)
		h.progressf("first snapshots of %d accounts on %d nodes: %s", c.accounts, nodes, seconds(firsts[nodes]))
	}
	// Nightly runs of unchanged accounts, after a first night on 4 nodes.
	c := newCluster("cluster-nightly", addresses[:*flagClusterAccounts])
	h.progressf("first night of the nightly runs: %s", seconds(c.night(4, fire)))
	nightly := map[int][]time.Duration{}
	night := fire
	for run := range *flagRuns {
		order := []int{1, 2, 4}
		if run%2 == 1 {
			order = []int{4, 2, 1}
		}
		for _, nodes := range order {
			night = night.AddDate(0, 0, 1)
			d := c.night(nodes, night)
			nightly[nodes] = append(nightly[nodes], d)
			h.progressf("nightly run %d on %d nodes: %s", run+1, nodes, seconds(d))
		}
	}
	clusterReport(r, firsts, nightly)
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

func clusterReport(r *report, firsts map[int]time.Duration, nightly map[int][]time.Duration) {
	rate := func(accounts int, d time.Duration) float64 { return float64(accounts) / d.Seconds() }
	var rows [][]string
	base := rate(*flagClusterAccounts, median(nightly[1]))
	for _, nodes := range []int{1, 2, 4} {
		m := median(nightly[nodes])
		rows = append(rows, []string{fmt.Sprint(nodes), fmt.Sprint(len(nightly[nodes])), seconds(m),
			fmt.Sprintf("%.0f accounts/s", rate(*flagClusterAccounts, m)),
			fmt.Sprintf("%.2f ×", rate(*flagClusterAccounts, m)/base)})
	}
	scale := rate(*flagClusterAccounts, median(nightly[4])) / base
	r.table(fmt.Sprintf("Nightly snapshots of %d unchanged accounts, IMAP answers delayed %s, worker_concurrency %d per node",
		*flagClusterAccounts, *flagClusterDelay, *flagClusterConc),
		[]string{"nodes", "runs", "median night", "rate", "vs 1 node"}, rows,
		"A night is timed from its first snapshot's start to its last one's end, by the nodes' clock.")
	r.target("4 nodes / 1 node, nightly", "≥ 3 ×", fmt.Sprintf("%.2f ×", scale), verdict(scale >= 3))
	r.metric(scale, "4nodes/1node")
	f1, f4 := firsts[1], firsts[4]
	r.table(fmt.Sprintf("First snapshots of %d accounts (%d messages each)", *flagClusterFirst, *flagClusterPer),
		[]string{"nodes", "night", "rate", "vs 1 node"},
		[][]string{
			{"1", seconds(f1), fmt.Sprintf("%.0f accounts/s", rate(*flagClusterFirst, f1)), "1.00 ×"},
			{"4", seconds(f4), fmt.Sprintf("%.0f accounts/s", rate(*flagClusterFirst, f4)), fmt.Sprintf("%.2f ×", f1.Seconds()/f4.Seconds())},
		})
}

// benchCluster is a catalog and bucket that nodes are started on, one
// night at a time.
type benchCluster struct {
	h        *harness
	st       *mtmStore
	db       *pgxpool.Pool
	accounts int
}

// night starts nodes just after fire (their clock moved there), waits
// until every account has a committed snapshot of the night, stops them
// with SIGTERM, and returns the night's time: from its first snapshot's
// start to its last one's end, by the nodes' clock.
func (c *benchCluster) night(nodes int, fire time.Time) time.Duration {
	b := c.h.b
	b.Helper()
	var procs []*exec.Cmd
	for i := range nodes {
		cmd := exec.Command(c.h.mtm, "serve", "--config", c.st.config)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MTM_") && !strings.HasPrefix(kv, "MTMTEST_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "MTMTEST_NOW="+fire.Add(2*time.Second).Format(time.RFC3339),
			"MTM_DATA_DIR="+filepath.Join(c.st.dir, fmt.Sprintf("node%d", i)), "MTM_LISTEN=127.0.0.1:0",
			"MTM_SNAPSHOT_AT="+fire.Format("15:04"), fmt.Sprintf("MTM_CLUSTER_WORKER_CONCURRENCY=%d", *flagClusterConc))
		out, err := os.Create(filepath.Join(c.st.dir, fmt.Sprintf("node%d.log", i)))
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		procs = append(procs, cmd)
		b.Cleanup(func() { _ = out.Close() })
	}
	night := fire.Format(time.DateOnly)
	ctx := context.Background()
	for deadline := time.Now().Add(15 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var done int
		if err := c.db.QueryRow(ctx, `SELECT count(DISTINCT account_id) FROM snapshots WHERE state = 'committed'
			AND taken_at >= $1`, fire.UnixMilli()).Scan(&done); err != nil {
			b.Fatal(err)
		}
		if done == c.accounts {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("night %s on %d nodes: %d of %d accounts after 15 minutes", night, nodes, done, c.accounts)
		}
	}
	var ms int64
	if err := c.db.QueryRow(ctx, `SELECT max(finished_at) - min(taken_at) FROM snapshots
		WHERE state = 'committed' AND taken_at >= $1`, fire.UnixMilli()).Scan(&ms); err != nil {
		b.Fatal(err)
	}
	var retried int
	var sample string
	if err := c.db.QueryRow(ctx, `SELECT count(*), coalesce(min(errors[1]->>'error'), '') FROM river_job
		WHERE kind = 'snapshot' AND args->>'night' = $1 AND attempt > 1`, night).Scan(&retried, &sample); err != nil {
		b.Fatal(err)
	}
	if retried > 0 {
		c.h.progressf("night %s on %d nodes: %d snapshot jobs needed another attempt, such as after %q",
			night, nodes, retried, sample)
	}
	for _, p := range procs {
		if err := p.Process.Signal(syscall.SIGTERM); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			b.Fatalf("mtm serve after SIGTERM: %v", err)
		}
	}
	return time.Duration(ms) * time.Millisecond
}
