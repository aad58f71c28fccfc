// Package serve owns the process of `mtm serve`: what it runs (the web
// server with the webmail, the admin panel, /metrics, /healthz and
// /readyz; the restore flow; the outbox sender; the nightly scheduler of
// the embedded catalog, or a PostgreSQL catalog's job queue with the
// node's [cluster] roles; the search indexer), how they are put together
// over one open store, and how the process starts and stops (a SIGTERM
// lets requests in flight finish, and leaves snapshots and restores to
// resume, on this node or another).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mtm/internal/alert"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/imapconn"
	"mtm/internal/imapd"
	"mtm/internal/jobs"
	"mtm/internal/metrics"
	"mtm/internal/notify"
	"mtm/internal/outbox"
	"mtm/internal/render"
	"mtm/internal/restoreflow"
	"mtm/internal/scheduler"
	"mtm/internal/search"
	"mtm/internal/snapshot"
	"mtm/internal/store"
	"mtm/internal/web"
	"mtm/internal/webadmin"
	"mtm/internal/webauth"
	"mtm/internal/webmail"
)

// indexEvery is how often serve indexes new snapshots for search.
const indexEvery = time.Minute

// App is everything `mtm serve` runs in one process: the web server (the
// webmail, the admin panel, /metrics, /healthz, /readyz), the restore
// flow, the email outbox sender, the nightly scheduler and the search
// indexer.
type App struct {
	cfg      *config.Config
	st       *store.Store
	clk      clock.Clock
	log      *slog.Logger
	metrics  *metrics.Metrics
	flow     *restoreflow.Flow
	sender   *outbox.Sender
	sched    *scheduler.Scheduler // the embedded catalog's nights
	jobs     *jobs.Queue          // a PostgreSQL catalog's work
	index    *search.Indexer
	imapd    *imapd.Server // the read-only IMAP server, when [imapd] listen is set
	parser   *render.Guard
	proxies  web.Proxies // [http] trusted_proxies, parsed
	handler  http.Handler
	stopping atomic.Bool
	// Ready, if set, is called with the address the server listens on;
	// OpsReady with the operators' listener's ([ops] listen).
	Ready    func(addr string)
	OpsReady func(addr string)
	// IMAPReady is called with the IMAP server's address ([imapd] listen).
	IMAPReady func(addr string)
}

// New builds the process over an open store: server is the live IMAP
// server with the backup's credentials (imapconn.FromConfig). On a
// PostgreSQL catalog the work is jobs (internal/jobs) and the node runs
// what its [cluster] roles say; on the embedded catalog this one process
// runs everything in process.
func New(cfg *config.Config, st *store.Store, server imapconn.Server, clk clock.Clock, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, st: st, clk: clk, log: log}
	mo := metrics.Options{Outbox: st.Catalog, Store: st.Catalog, Clock: clk, Logger: log}
	if st.Catalog.Pool() != nil {
		mo.Jobs = &lateJobs{a: a}
	}
	m, err := metrics.New(prometheus.NewRegistry(), mo)
	if err != nil {
		return nil, err
	}
	a.metrics = m
	mailer, err := newMailer(cfg, clk, log, adminLanguages{cat: st.Catalog})
	if err != nil {
		return nil, err
	}
	a.sender = outbox.New(st.Catalog, cfg.SMTP, outbox.Options{Clock: clk, Logger: log})
	wake := a.sender.Wake
	var slots *jobs.Slots
	if n := cfg.Cluster.IMAPConnections; n > 0 && st.Catalog.Pool() != nil {
		slots = &jobs.Slots{Catalog: st.Catalog, Max: n, Clock: clk}
		server.Slots = slots
	}
	eng := snapshot.New(st.Catalog, st.Blobs, snapshot.Options{Server: server,
		ConnectionsPerAccount: cfg.IMAP.ConnectionsPerAccount, ConcurrentAccounts: cfg.ConcurrentAccounts,
		Clock: clk, Logger: log})
	notifier := &alert.Notifier{Catalog: st.Catalog, Mailer: mailer, Alerts: cfg.Alerts, Logger: log}
	flowOpts := restoreflow.Options{Catalog: st.Catalog, Blobs: st.Blobs, Server: server, Mailer: mailer,
		Logger: log, Clock: clk, Observer: m, Connections: cfg.IMAP.ConnectionsPerAccount}
	if st.Catalog.Pool() != nil {
		if a.jobs, err = a.newJobs(eng, notifier, slots, mailer); err != nil {
			return nil, err
		}
		wake, flowOpts.Queue = a.jobs.WakeOutbox, a.jobs
		// Previews log in to the live server: at most MaxPreviews at once
		// across the cluster.
		flowOpts.Previews = &jobs.Slots{Catalog: st.Catalog, Max: restoreflow.MaxPreviews, Clock: clk}
	} else if a.sched, err = a.newScheduler(eng, notifier); err != nil {
		return nil, err
	}
	flowOpts.Wake, notifier.Wake = wake, wake
	a.flow = restoreflow.New(flowOpts)
	// One parser guard for the webmail and the indexer: hostile mail holds
	// at most one CPU per worker, whatever asks for it.
	a.parser = render.NewGuard(runtime.GOMAXPROCS(0), 0)
	a.index = &search.Indexer{Catalog: st.Catalog, Blobs: st.Blobs, Log: log, Parser: a.parser}
	if a.handler, err = a.routes(); err != nil {
		return nil, err
	}
	if cfg.IMAPD.On() && a.web() {
		if a.imapd, err = a.newIMAPD(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// newIMAPD builds the read-only IMAP server of the kept days: its logins
// are the webmail's (the live server checks the password; failed logins
// are shared by a cluster's nodes), its reads the webmail's catalog
// queries and blobs.
func (a *App) newIMAPD() (*imapd.Server, error) {
	cfg := a.cfg
	o := imapd.Options{
		Catalog: a.st.Catalog.Browser(), Blobs: a.st.Blobs,
		Verifier: webauth.IMAPVerifier{Server: imapconn.Endpoint(cfg)},
		Clock:    a.clk, RetentionDays: cfg.RetentionDays, MasterSeparator: cfg.IMAP.MasterSeparator,
		Logger: a.log, Audit: a.st.Catalog.Audit, Parser: a.parser,
		AllowPlaintext: cfg.IMAPD.AllowPlaintext, ImplicitTLS: cfg.IMAPD.ImplicitTLS(),
		MaxConnections: cfg.IMAPD.MaxConnections, MaxConnectionsPerUser: cfg.IMAPD.MaxConnectionsPerUser,
		IdleTimeout: cfg.IMAPD.IdleTimeout, TrustedProxies: cfg.IMAPD.Proxies, Registerer: a.metrics.Registerer(),
	}
	if a.jobs != nil {
		o.SharedLogins = a.st.Catalog
	}
	if cfg.IMAPD.TLSCertFile != "" {
		tc, err := web.TLSConfig(cfg.IMAPD.TLSCertFile, cfg.IMAPD.TLSKeyFile, web.TLSOptions{Clock: a.clk, Logger: a.log})
		if err != nil {
			return nil, fmt.Errorf("imapd: %w", err)
		}
		tc.NextProtos = []string{"imap"}
		o.TLS = tc
	}
	return imapd.New(o)
}

// newMailer renders the notification emails. Without an SMTP server they
// are still queued (and shown as undelivered in the admin panel).
func newMailer(cfg *config.Config, clk clock.Clock, log *slog.Logger, admins adminLanguages) (*notify.Renderer, error) {
	if cfg.SMTP.Address == "" {
		log.Warn("smtp.address is empty: notification emails are queued but not sent")
	}
	return notify.New(cfg, notify.Options{Clock: clk, DefaultFrom: true, LanguageOf: admins.of, Logger: log})
}

// adminLanguages gives an admin's chosen language for their emails.
type adminLanguages struct {
	cat interface {
		Admin(ctx context.Context, email string) (catalog.AdminRow, error)
	}
}

func (a adminLanguages) of(address string) string {
	row, err := a.cat.Admin(context.Background(), address)
	if err != nil {
		return "" // an operator, or an admin removed since: the configured language
	}
	return row.Language
}

func (a *App) pruner() *scheduler.Prune {
	return &scheduler.Prune{Catalog: a.st.Catalog, Blobs: a.st.Blobs, Days: a.cfg.RetentionDays, AuditDays: a.cfg.Audit.RetentionDays,
		Location: a.cfg.Location, Clock: a.clk, Logger: a.log}
}

func (a *App) newScheduler(eng *snapshot.Engine, notifier *alert.Notifier) (*scheduler.Scheduler, error) {
	return scheduler.New(scheduler.Options{
		Schedule: scheduler.ScheduleOf(a.cfg), Clock: a.clk, Logger: a.log,
		Accounts: scheduler.AccountsFile(a.cfg.Accounts.File), Engine: eng, Catalog: a.st.Catalog,
		Pruner: a.pruner(), Notifier: notifier, Observer: a.metrics,
	})
}

// newJobs builds this node's part of the cluster's job queue.
func (a *App) newJobs(eng *snapshot.Engine, notifier *alert.Notifier, slots *jobs.Slots,
	mailer *notify.Renderer) (*jobs.Queue, error) {
	return jobs.New(jobs.Options{
		Pool: a.st.Catalog.Pool(), Nodes: a.st.Catalog, Cluster: a.cfg.Cluster,
		Schedule: scheduler.ScheduleOf(a.cfg), Clock: a.clk, Logger: a.log,
		Accounts: scheduler.AccountsFile(a.cfg.Accounts.File), Engine: eng,
		Outcomes: &scheduler.Outcomes{Catalog: a.st.Catalog, Notifier: notifier, Logger: a.log},
		Observer: a.metrics, Pruner: a.pruner(),
		Restores: jobs.RestoresFunc(func(ctx context.Context, id catalog.RestoreID, resumed bool) error {
			return a.flow.RunJob(ctx, id, resumed)
		}),
		Outbox: a.sender, Slots: slots, Mailer: mailer, Mail: a.st.Catalog,
	})
}

// web tells whether this node serves the webmail, the admin panel and the
// API: always on the embedded catalog; by its roles in a cluster (a node
// without the web role serves only /metrics and the health checks).
func (a *App) web() bool { return a.jobs == nil || a.cfg.Cluster.Has(config.RoleWeb) }

func (a *App) routes() (http.Handler, error) {
	a.proxies = web.NewProxies(a.cfg.HTTP.Proxies)
	proxies := a.proxies
	// Device cookies are signed with the catalog's key: valid on every node
	// and after a restart.
	deviceKey, err := a.st.Catalog.Secret(context.Background(), webauth.DeviceKeyName, 32)
	if err != nil {
		return nil, err
	}
	var shared catalog.WebSessions // a cluster's web nodes share sessions and failed logins
	var ops webadmin.Operations
	if a.jobs != nil {
		shared, ops = a.st.Catalog, a.jobs
	}
	mailUI, err := NewWebmail(a.cfg, a.st, a.clk, a.log, func(o *webmail.Options) {
		o.Restores, o.ClientIP, o.Audit, o.SharedSessions = a.flow, proxies.ClientAddr, a.st.Catalog.Audit, shared
		o.DeviceKey, o.IsHTTPS = deviceKey, proxies.IsHTTPS
		o.Parser = a.parser
	})
	if err != nil {
		return nil, err
	}
	adm, err := webadmin.New(webadmin.Options{Catalog: a.st.Catalog, Flow: a.flow, Clock: a.clk, Location: a.cfg.Location,
		Language: a.cfg.Language,
		BaseURL:  a.cfg.BaseURL, ClientIP: proxies.ClientAddr, Logger: a.log, SharedSessions: shared, Operations: ops,
		DeviceKey: deviceKey, IsHTTPS: proxies.IsHTTPS, RequireSecondFactor: a.cfg.Admin.RequireSecondFactor})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	if a.web() {
		for _, p := range []string{"/admin", "/admin/", "/api/v1/admin/"} {
			mux.Handle(p, adm.Handler())
		}
	}
	// The public listener: the interfaces, and /healthz (it says nothing
	// but "ok"). /metrics, /readyz and the profiles are the operators'.
	mux.Handle("GET /healthz", web.Healthz())
	if a.web() {
		mux.Handle("/", mailUI.Handler())
	} else {
		mux.Handle("/", http.NotFoundHandler())
	}
	return a.metrics.Middleware(mux), nil
}

// opsRoutes is the operators' listener ([ops] listen): the metrics, the
// health checks and the Go runtime's profiles (net/http/pprof).
func (a *App) opsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.Handle("GET /healthz", web.Healthz())
	mux.Handle("GET /readyz", web.Readyz(5*time.Second, web.CatalogCheck(a.st.Catalog),
		web.DirWritable("data_dir", a.cfg.DataDir), web.Check{Name: "shutdown", Run: func(context.Context) error {
			if a.stopping.Load() {
				return errors.New("shutting down")
			}
			return nil
		}}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// Run serves until ctx ends, then shuts down: the web server stops taking
// requests and lets those in flight finish; the workers stop where they
// are (a running snapshot is recorded as interrupted and resumed by the
// next night or start; a running restore resumes at the next start).
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen, err)
	}
	opsLn, err := net.Listen("tcp", a.cfg.Ops.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("ops.listen %s: %w", a.cfg.Ops.Listen, err), ln.Close())
	}
	// The operators' server: no write timeout, as a CPU profile takes 30 s.
	ops := &http.Server{Handler: a.opsRoutes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.cfg.HTTP.ReadTimeout,
		IdleTimeout: 2 * time.Minute}
	go func() {
		if err := ops.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("ops listener stopped", "err", err)
		}
	}()
	defer func() { _ = ops.Close() }()
	a.log.Info("serving the operators' endpoints", "address", opsLn.Addr().String())
	if a.OpsReady != nil {
		a.OpsReady(opsLn.Addr().String())
	}
	// A slow client is cut off (read timeout), and one client cannot hold
	// every connection (a trusted proxy carries everyone's: not counted).
	ln = web.LimitPerClient(ln, a.cfg.HTTP.MaxConnectionsPerClient, a.proxies.Trusted)
	hs := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.cfg.HTTP.ReadTimeout,
		IdleTimeout: 2 * time.Minute}
	if a.cfg.HTTP.TLS() {
		if hs.TLSConfig, err = web.TLSConfig(a.cfg.HTTP.TLSCertFile, a.cfg.HTTP.TLSKeyFile,
			web.TLSOptions{Clock: a.clk, Logger: a.log}); err != nil {
			return errors.Join(err, ln.Close())
		}
	}
	if a.imapd != nil {
		imapLn, err := net.Listen("tcp", a.cfg.IMAPD.Listen)
		if err != nil {
			return errors.Join(fmt.Errorf("imapd.listen %s: %w", a.cfg.IMAPD.Listen, err), ln.Close())
		}
		go func() {
			if err := a.imapd.Serve(imapLn); err != nil && !a.stopping.Load() {
				a.log.Error("IMAP server stopped", "err", err)
			}
		}()
		defer func() { _ = a.imapd.Close() }()
		a.log.Info("serving IMAP", "address", imapLn.Addr().String(), "implicit_tls", a.cfg.IMAPD.ImplicitTLS(),
			"starttls", a.cfg.IMAPD.TLSCertFile != "" && !a.cfg.IMAPD.ImplicitTLS())
		if a.IMAPReady != nil {
			a.IMAPReady(imapLn.Addr().String())
		}
	}
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	a.startWorkers(work, &wg)

	served := make(chan error, 1)
	go func() {
		if a.cfg.HTTP.TLS() {
			served <- hs.ServeTLS(ln, "", "")
		} else {
			served <- hs.Serve(ln)
		}
	}()
	a.log.Info("serving", "address", ln.Addr().String(), "tls", a.cfg.HTTP.TLS())
	if a.Ready != nil {
		a.Ready(ln.Addr().String())
	}
	var serveErr error
	select {
	case serveErr = <-served:
	case <-ctx.Done():
	}
	a.stopping.Store(true)
	a.log.Info("shutting down")
	// Everything stops at once, within the shutdown timeout whatever a
	// request or a worker is doing: requests still running at its end are
	// cut (a parse holds a worker of the guard, not the stop), and workers
	// still running are left to the process's exit (what they committed
	// stays; the next start resumes the rest). This is a safety timeout,
	// like the HTTP server's, on a real timer.
	shut, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	stopWork()
	if err = hs.Shutdown(shut); err != nil {
		a.log.Warn("shutdown: requests still running were cut", "timeout", a.cfg.HTTP.ShutdownTimeout)
		err = hs.Close()
	}
	workers := make(chan struct{})
	go func() {
		wg.Wait()
		a.flow.Wait()
		close(workers)
	}()
	select {
	case <-workers:
	case <-shut.Done():
		a.log.Warn("shutdown: workers still running were left", "timeout", a.cfg.HTTP.ShutdownTimeout)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", serveErr)
	}
	return err
}

func (a *App) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	if err := a.flow.Start(ctx); err != nil {
		a.log.Error("resuming interrupted restores", "err", err)
	}
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error(name+" stopped", "err", err)
			}
		}()
	}
	if a.jobs != nil {
		run("job queue", a.jobs.Run)
		if a.cfg.Cluster.Has(config.RoleScheduler) {
			run("search indexer", func(ctx context.Context) error { a.index.Run(ctx, indexEvery); return nil })
		}
		return
	}
	if a.cfg.SMTP.Address != "" {
		run("outbox sender", a.sender.Run)
	}
	run("scheduler", a.sched.Run)
	run("search indexer", func(ctx context.Context) error { a.index.Run(ctx, indexEvery); return nil })
}

// NewWebmail builds the webmail over an open store. Logins are checked
// against the IMAP server with the account's own password, never the
// master user.
func NewWebmail(cfg *config.Config, st *store.Store, clk clock.Clock, log *slog.Logger, more ...func(*webmail.Options)) (*webmail.Server, error) {
	o := webmail.Options{
		Language:        cfg.Language,
		Catalog:         st.Catalog.Browser(), // statements prepared once, kept while the catalog is open
		Blobs:           st.Blobs,
		Verifier:        webauth.IMAPVerifier{Server: imapconn.Endpoint(cfg)},
		Clock:           clk,
		Location:        cfg.Location,
		RetentionDays:   cfg.RetentionDays,
		BaseURL:         cfg.BaseURL,
		MasterSeparator: cfg.IMAP.MasterSeparator,
		Logger:          log,
	}
	for _, f := range more {
		f(&o)
	}
	return webmail.New(o)
}

// lateJobs reads the job queue for the metrics, which are built before it.
type lateJobs struct{ a *App }

func (l *lateJobs) JobCounts(ctx context.Context) ([]metrics.JobCount, error) {
	return l.a.jobs.JobCounts(ctx)
}

func (l *lateJobs) NightProgress(ctx context.Context) (metrics.NightProgress, error) {
	return l.a.jobs.NightProgress(ctx)
}
