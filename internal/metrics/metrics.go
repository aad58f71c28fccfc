package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mtm/internal/clock"
)

// Outcomes of a snapshot and of a restore, as label values.
const (
	OutcomeOK       = "ok"
	OutcomeFailed   = "failed"
	RestoreDone     = "done"
	RestoreFailed   = "failed"
	RestoreRejected = "rejected"
)

// Options configure the metrics. Every field may be left zero.
type Options struct {
	// Outbox, when set, is read at every scrape for the outbox gauges;
	// *catalog.DB is one.
	Outbox Outbox
	// Store, when set, gives the store and backup gauges; *catalog.DB is
	// one. They are recomputed at most once per StoreEvery (default 1
	// minute).
	Store      Store
	StoreEvery time.Duration
	// Jobs, when set, is read at every scrape for the job and night
	// gauges of a cluster.
	Jobs  Jobs
	Clock clock.Clock // for StoreEvery; default the system clock
	// ScrapeTimeout bounds each catalog query of a scrape; default 5 s.
	ScrapeTimeout time.Duration
	Logger        *slog.Logger // scrape errors; default discarded
	// NoProcess leaves out the Go and process collectors (for tests that
	// compare whole expositions).
	NoProcess bool
}

// Metrics holds the registered metrics. Build it with New; its methods are
// safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	snapDuration    *prometheus.HistogramVec
	snapFailures    prometheus.Counter
	snapRetries     prometheus.Counter
	fetchedMessages prometheus.Counter
	fetchedBytes    prometheus.Counter
	newBlobs        prometheus.Counter
	newBlobBytes    prometheus.Counter
	nightFinished   prometheus.Gauge
	nightDuration   prometheus.Gauge
	nightFailed     prometheus.Gauge
	nightErrors     *prometheus.CounterVec
	restores        *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
}

// New creates mtm's metrics and registers them, with the collectors that
// read the catalog at scrape time, on reg.
func New(reg *prometheus.Registry, opts Options) (*Metrics, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: reg, log: opts.Logger}
	m.define()
	cs := []prometheus.Collector{m.snapDuration, m.snapFailures, m.snapRetries, m.fetchedMessages,
		m.fetchedBytes, m.newBlobs, m.newBlobBytes, m.nightFinished, m.nightDuration, m.nightFailed,
		m.nightErrors, m.restores, m.httpDuration}
	if opts.Outbox != nil {
		cs = append(cs, newOutboxCollector(opts.Outbox, opts.ScrapeTimeout))
	}
	if opts.Store != nil {
		cs = append(cs, newStoreCollector(opts.Store, opts.Clock, opts.StoreEvery, opts.ScrapeTimeout))
	}
	if opts.Jobs != nil {
		cs = append(cs, newJobsCollector(opts.Jobs, opts.ScrapeTimeout))
	}
	if !opts.NoProcess {
		cs = append(cs, collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	// Outcomes exist at zero from the start, so rates and alerts see them.
	for _, o := range []string{OutcomeOK, OutcomeFailed} {
		m.snapDuration.WithLabelValues(o)
	}
	for _, o := range []string{RestoreDone, RestoreFailed, RestoreRejected} {
		m.restores.WithLabelValues(o)
	}
	for _, s := range []string{"night", "prune"} {
		m.nightErrors.WithLabelValues(s)
	}
	return m, nil
}

// define creates the event metrics.
func (m *Metrics) define() {
	m.snapDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mtm_snapshot_duration_seconds", Help: "Time taken by one account's snapshot, by outcome.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}}, []string{"outcome"})
	m.snapFailures = counter("mtm_snapshot_failures_total", "Account snapshots that failed (every attempt counts).")
	m.snapRetries = counter("mtm_snapshot_retries_total", "Snapshot attempts after an account's first of the night.")
	m.fetchedMessages = counter("mtm_snapshot_fetched_messages_total", "Message bodies downloaded by committed snapshots.")
	m.fetchedBytes = counter("mtm_snapshot_fetched_bytes_total", "Bytes of message bodies downloaded by committed snapshots.")
	m.newBlobs = counter("mtm_snapshot_new_blobs_total", "Messages stored by committed snapshots that the store did not hold yet.")
	m.newBlobBytes = counter("mtm_snapshot_new_blob_bytes_total", "Compressed bytes of the blobs counted by mtm_snapshot_new_blobs_total.")
	m.nightFinished = gauge("mtm_night_last_finished_timestamp_seconds", "When the last night that ran snapshots ended (Unix time).")
	m.nightDuration = gauge("mtm_night_duration_seconds", "How long the last night that ran snapshots took.")
	m.nightFailed = gauge("mtm_night_failed_accounts", "Accounts still failing at the end of the last night.")
	m.nightErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mtm_night_errors_total",
		Help: "Nights that could not run (stage night) or whose prune failed (stage prune)."}, []string{"stage"})
	m.restores = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mtm_restores_total",
		Help: "Restore requests by outcome: done, failed (the run ended in error) or rejected by an admin."},
		[]string{"outcome"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mtm_http_request_duration_seconds", Help: "HTTP request latency by method, route pattern and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"method", "route", "code"})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// Handler serves the registry in the Prometheus exposition format (mount
// it at GET /metrics). A catalog query that fails during a scrape is
// logged and its metrics are left out; the others are still served.
// Registerer is where other parts of the process register their own
// metrics (the IMAP server's), served by Handler with these.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogAdapter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // promhttp_metric_handler_errors_total
	})
}

// slogAdapter is promhttp's ErrorLog.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.log.Warn("serving metrics", "err", fmt.Sprint(v...)) }
