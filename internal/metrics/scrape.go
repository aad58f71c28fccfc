package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// Outbox is what the outbox gauges read; *catalog.DB is one.
type Outbox interface {
	OutboxStats(ctx context.Context) (catalog.OutboxStats, error)
}

// Store is what the store and backup gauges read; *catalog.DB is one.
type Store interface {
	BackupStatus(ctx context.Context) ([]catalog.AccountStatus, error)
	CountRows(ctx context.Context, table string) (int, error)
}

func desc(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

func defaultTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Second
	}
	return d
}

// outboxCollector reads the outbox at every scrape.
type outboxCollector struct {
	src                    Outbox
	timeout                time.Duration
	backlog, failed, older *prometheus.Desc
}

func newOutboxCollector(src Outbox, timeout time.Duration) *outboxCollector {
	return &outboxCollector{src: src, timeout: defaultTimeout(timeout),
		backlog: desc("mtm_outbox_backlog", "Emails waiting in the outbox to be sent (pending or being sent)."),
		failed:  desc("mtm_outbox_failed", "Emails the outbox gave up on; an admin may requeue them."),
		older: desc("mtm_outbox_oldest_undelivered_timestamp_seconds",
			"When the oldest email not yet sent was queued (Unix time); 0 when there is none."),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.backlog
	ch <- c.failed
	ch <- c.older
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.src.OutboxStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.backlog, fmt.Errorf("reading the outbox: %w", err))
		return
	}
	oldest := 0.0
	if !st.OldestUndelivered.IsZero() {
		oldest = float64(st.OldestUndelivered.UnixMilli()) / 1000
	}
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(st.Backlog()))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(st.Failed))
	ch <- prometheus.MustNewConstMetric(c.older, prometheus.GaugeValue, oldest)
}

// storeTotals are the store and backup gauges at one time.
type storeTotals struct {
	accounts, failing, messages, bytes, oldestSuccess, blobs float64
}

// storeCollector reads the catalog's totals, at most once per every.
type storeCollector struct {
	src     Store
	clk     clock.Clock
	every   time.Duration
	timeout time.Duration
	descs   [6]*prometheus.Desc // in the order of storeTotals' fields

	mu     sync.Mutex
	at     time.Time // when cached was read; zero: never
	cached storeTotals
}

func newStoreCollector(src Store, clk clock.Clock, every, timeout time.Duration) *storeCollector {
	if clk == nil {
		clk = clock.Real{}
	}
	if every <= 0 {
		every = time.Minute
	}
	return &storeCollector{src: src, clk: clk, every: every, timeout: defaultTimeout(timeout), descs: [6]*prometheus.Desc{
		desc("mtm_accounts", "Accounts in the catalog (removed ones too, until retention forgets their snapshots)."),
		desc("mtm_accounts_failing", "Accounts whose backups fail now."),
		desc("mtm_backup_messages", "Messages in the last good snapshot of every account, added up."),
		desc("mtm_backup_bytes", "Bytes of the messages in the last good snapshot of every account, added up (before deduplication)."),
		desc("mtm_backup_oldest_success_timestamp_seconds",
			"When the stalest last good snapshot of an account was taken (Unix time); 0 when no account has one."),
		desc("mtm_store_blobs", "Distinct messages held by the store (catalog contents)."),
	}}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	t, err := c.totals()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.descs[0], err)
		return
	}
	for i, v := range []float64{t.accounts, t.failing, t.messages, t.bytes, t.oldestSuccess, t.blobs} {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.GaugeValue, v)
	}
}

// totals returns the cached totals, read again when older than every.
func (c *storeCollector) totals() (storeTotals, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	if !c.at.IsZero() && now.Sub(c.at) < c.every {
		return c.cached, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	status, err := c.src.BackupStatus(ctx)
	if err != nil {
		return storeTotals{}, fmt.Errorf("reading backup status: %w", err)
	}
	blobs, err := c.src.CountRows(ctx, "contents")
	if err != nil {
		return storeTotals{}, fmt.Errorf("counting stored messages: %w", err)
	}
	t := storeTotals{accounts: float64(len(status)), blobs: float64(blobs)}
	var oldest time.Time
	for _, s := range status {
		if s.Failing() {
			t.failing++
		}
		if s.LastSuccess.ID == 0 {
			continue
		}
		t.messages += float64(s.LastSuccess.Messages)
		t.bytes += float64(s.LastSuccess.Bytes)
		if oldest.IsZero() || s.LastSuccess.TakenAt.Before(oldest) {
			oldest = s.LastSuccess.TakenAt
		}
	}
	if !oldest.IsZero() {
		t.oldestSuccess = float64(oldest.UnixMilli()) / 1000
	}
	c.at, c.cached = now, t
	return t, nil
}

// JobCount is how many jobs of a kind are in a state.
type JobCount struct {
	Kind, State string
	Jobs        int
}

// NightProgress is where the night stands across the cluster.
type NightProgress struct {
	Night           string
	Jobs, Open      int       // its snapshot jobs, and those not finished
	ProjectedEnd    time.Time // zero: nothing to project from yet
	WindowEnd       time.Time // snapshot_at + night_window
	NodesAlive      int
	NodesDead       int
	RunningPerNode  map[string]int // node id: jobs it runs now
	FailedForGood   int            // jobs of every kind that failed for good, kept by the queue
	RetriedSnapshot int            // the night's snapshot jobs that needed more than one attempt
}

// Jobs is what the job gauges read, at every scrape: the job queue of a
// PostgreSQL catalog (*jobs.Queue).
type Jobs interface {
	JobCounts(ctx context.Context) ([]JobCount, error)
	NightProgress(ctx context.Context) (NightProgress, error)
}

// jobsCollector reads the job queue at every scrape.
type jobsCollector struct {
	src                                               Jobs
	timeout                                           time.Duration
	jobs, open, projected, window, nodes, running, rt *prometheus.Desc
}

func newJobsCollector(src Jobs, timeout time.Duration) *jobsCollector {
	return &jobsCollector{src: src, timeout: defaultTimeout(timeout),
		jobs: prometheus.NewDesc("mtm_jobs", "Jobs the queue keeps, by kind and state (River's states).",
			[]string{"kind", "state"}, nil),
		open: prometheus.NewDesc("mtm_night_snapshots_open", "Snapshot jobs of the current night not finished yet.",
			[]string{"night"}, nil),
		projected: prometheus.NewDesc("mtm_night_projected_end_timestamp_seconds",
			"When the current night's snapshots are projected to be done, at the rate so far (Unix time); 0 when unknown.",
			[]string{"night"}, nil),
		window: prometheus.NewDesc("mtm_night_window_end_timestamp_seconds",
			"When the current night should be done: snapshot_at plus night_window (Unix time).", []string{"night"}, nil),
		nodes: prometheus.NewDesc("mtm_cluster_nodes", "Nodes of the cluster, alive or dead.", []string{"state"}, nil),
		running: prometheus.NewDesc("mtm_node_running_jobs", "Jobs each node is running now.",
			[]string{"node"}, nil),
		rt: prometheus.NewDesc("mtm_night_snapshots_retried", "Snapshot jobs of the current night that needed more than one attempt.",
			[]string{"night"}, nil),
	}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.open, c.projected, c.window, c.nodes, c.running, c.rt} {
		ch <- d
	}
}

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.src.JobCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, fmt.Errorf("counting jobs: %w", err))
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n.Jobs), n.Kind, n.State)
	}
	p, err := c.src.NightProgress(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.open, fmt.Errorf("the night's progress: %w", err))
		return
	}
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMilli()) / 1000
	}
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(p.Open), p.Night)
	ch <- prometheus.MustNewConstMetric(c.projected, prometheus.GaugeValue, unix(p.ProjectedEnd), p.Night)
	ch <- prometheus.MustNewConstMetric(c.window, prometheus.GaugeValue, unix(p.WindowEnd), p.Night)
	ch <- prometheus.MustNewConstMetric(c.rt, prometheus.GaugeValue, float64(p.RetriedSnapshot), p.Night)
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(p.NodesAlive), "alive")
	ch <- prometheus.MustNewConstMetric(c.nodes, prometheus.GaugeValue, float64(p.NodesDead), "dead")
	for node, n := range p.RunningPerNode {
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(n), node)
	}
}
