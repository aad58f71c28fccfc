// Package imapd owns the read-only IMAP server of `mtm serve` ([imapd]):
// every kept day of an account as a folder of its own, with the day's
// folders under it, for the user's own mail client or a second, read-only
// webmail (docs/design.md, "Read-only IMAP access to the kept days").
//
// The protocol is go-imap v2's imapserver; this package is the session
// behind it: logging in through webauth.Gate against the live IMAP server,
// the day and folder tree from the catalog, message bytes streamed from
// the blob store, and every write refused. It keeps no state of its own
// but the connections.
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/render"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// Catalog is what the server reads of the catalog: the account's kept
// days, their folders and messages, and the search index.
type Catalog interface {
	LookupAccount(ctx context.Context, address string) (catalog.AccountID, error)
	Snapshots(ctx context.Context, acct catalog.AccountID) ([]catalog.Snapshot, error)
	Folders(ctx context.Context, s catalog.Snapshot) ([]catalog.Folder, error)
	Messages(ctx context.Context, s catalog.Snapshot, mailboxID int64, fn func(catalog.Message) error) error
	Search(ctx context.Context, s catalog.Snapshot, mailboxID int64, query string, sort catalog.Sort, max int) ([]int64, bool, error)
	IndexProgress(ctx context.Context, s catalog.Snapshot) (indexed, total int, err error)
}

// Blobs opens stored messages.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// Options configure a Server. Catalog, Blobs and Verifier are required.
type Options struct {
	Catalog  Catalog
	Blobs    Blobs
	Verifier webauth.Verifier // the live server's check (webauth.IMAPVerifier)
	Clock    clock.Clock      // default the real clock
	// RetentionDays is how many days are shown (15), as in the webmail.
	RetentionDays int
	// MasterSeparator is refused in login names (no master-user logins).
	MasterSeparator string
	Logger          *slog.Logger
	Throttle        webauth.ThrottleOptions
	// SharedLogins, if set, keeps the failed logins in the catalog, shared
	// by every node; nil: in memory.
	SharedLogins catalog.WebSessions
	// Audit, if set, records logins.
	Audit func(ctx context.Context, ev catalog.AuditEvent) error
	// Parser parses messages searched for text while the search index
	// does not cover their day; default one worker.
	Parser *render.Guard
	// TLS, if set, is the server's certificate: with ImplicitTLS every
	// connection starts with TLS (port 993); without it, STARTTLS.
	TLS         *tls.Config
	ImplicitTLS bool
	// AllowPlaintext lets clients log in without TLS (tests, loopback).
	AllowPlaintext bool
	// MaxConnections (1000) bounds the connections of this node, and
	// MaxConnectionsPerUser (10) those logged in to one account.
	MaxConnections        int
	MaxConnectionsPerUser int
	// IdleTimeout (30 min) ends a connection that sends nothing, IDLE too.
	IdleTimeout time.Duration
	// LoginTimeout (20 s) bounds one password check on the live server.
	LoginTimeout time.Duration
	// TrustedProxies are the load balancers in front of the server that
	// speak the PROXY protocol (v1 or v2): a connection from one of them
	// must start with the header, whose client address the server then
	// uses (throttling, logs, audit); a header from anywhere else is
	// refused. Empty: no header is accepted.
	TrustedProxies []netip.Prefix
	// AheadMemory bounds the bytes all connections hold read ahead of the
	// message being sent, for a blob store that wants reads ahead
	// (blobstore.S3's ReadsAhead); default 64 MiB.
	AheadMemory int64
	// Registerer, if set, gets the server's metrics.
	Registerer prometheus.Registerer
}

// Server serves IMAP. Build it with New, run it with Serve, stop it with
// Close.
type Server struct {
	o       Options
	log     *slog.Logger
	gate    *webauth.Gate
	imap    *imapserver.Server
	checker *webauth.Checker // the live server's password checks
	proxies web.Proxies      // Options.TrustedProxies
	metrics serverMetrics
	// aheadMem bounds the bytes the sessions hold read ahead
	// (Options.AheadMemory).
	aheadMem *semaphore.Weighted

	mu     sync.Mutex
	conns  int                  // open connections
	users  map[string]int       // logged-in connections per account
	counts map[countsKey]counts // STATUS of days' folders, which never change
}

type serverMetrics struct {
	connections prometheus.Gauge
	logins      *prometheus.CounterVec
	bytes       prometheus.Counter
}

// Login outcomes of mtm_imapd_logins_total.
const (
	loginOK        = "ok"
	loginFailed    = "failed"
	loginThrottled = "throttled"
	loginLimited   = "limited"
	loginError     = "error"
)

// New returns a server.
func New(o Options) (*Server, error) {
	if o.Catalog == nil || o.Blobs == nil || o.Verifier == nil {
		return nil, errors.New("imapd: Catalog, Blobs and Verifier are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.RetentionDays <= 0 {
		o.RetentionDays = 15
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Parser == nil {
		o.Parser = render.NewGuard(1, 0)
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 1000
	}
	if o.MaxConnectionsPerUser <= 0 {
		o.MaxConnectionsPerUser = 10
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.AheadMemory <= 0 {
		o.AheadMemory = defaultAheadMemory
	}
	if o.ImplicitTLS && o.TLS == nil {
		return nil, errors.New("imapd: implicit TLS needs a certificate")
	}
	s := &Server{o: o, log: o.Logger, checker: webauth.NewChecker(o.Verifier, o.LoginTimeout, 0),
		proxies: web.NewProxies(o.TrustedProxies), users: map[string]int{}, counts: map[countsKey]counts{},
		aheadMem: semaphore.NewWeighted(o.AheadMemory),
		gate: webauth.NewGate(webauth.GateOptions{Clock: o.Clock, Throttle: o.Throttle, Shared: o.SharedLogins,
			Realm: "imap", Logger: o.Logger})}
	s.metrics = serverMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mtm_imapd_connections",
			Help: "Open connections to the read-only IMAP server."}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mtm_imapd_logins_total",
			Help: "Logins to the read-only IMAP server by outcome: ok, failed, throttled, limited (too many connections), error."},
			[]string{"outcome"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "mtm_imapd_bytes_total",
			Help: "Bytes the read-only IMAP server sent to its clients."}),
	}
	for _, l := range []string{loginOK, loginFailed, loginThrottled, loginLimited, loginError} {
		s.metrics.logins.WithLabelValues(l)
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.metrics.connections, s.metrics.logins, s.metrics.bytes} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("imapd: registering metrics: %w", err)
			}
		}
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapListExtended: {},
		imap.CapListStatus: {}, imap.CapID: {}, imap.CapESearch: {}, imap.CapBinary: {}, imap.CapChildren: {}}
	opts := &imapserver.Options{
		NewSession: s.newSession,
		Caps:       caps,
		Logger:     logAdapter{s.log},
		// STARTTLS on a plain port with a certificate.
		InsecureAuth: o.AllowPlaintext,
	}
	if o.TLS != nil && !o.ImplicitTLS {
		opts.TLSConfig = o.TLS
	}
	s.imap = imapserver.New(opts)
	return s, nil
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	if len(s.o.TrustedProxies) > 0 {
		ln = &proxyproto.Listener{Listener: ln, ConnPolicy: s.proxyPolicy, ReadHeaderTimeout: proxyHeaderTimeout}
	}
	ln = &limitListener{Listener: ln, s: s}
	if s.o.ImplicitTLS {
		ln = tls.NewListener(ln, s.o.TLS)
	}
	return s.imap.Serve(ln)
}

// proxyHeaderTimeout bounds the wait for a trusted proxy's PROXY header.
const proxyHeaderTimeout = 10 * time.Second

// proxyPolicy requires the PROXY header from the trusted proxies and
// refuses it from every other address.
func (s *Server) proxyPolicy(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
	if ap, err := netip.ParseAddrPort(o.Upstream.String()); err == nil && s.proxies.Trusted(ap.Addr()) {
		return proxyproto.REQUIRE, nil
	}
	return proxyproto.REJECT, nil
}

// Close stops listening and ends every connection.
func (s *Server) Close() error { return s.imap.Close() }

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := c.NetConn().RemoteAddr()
	client := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok {
		client = ta.IP.String()
	}
	return &session{srv: s, conn: c, ctx: ctx, cancel: cancel, client: client}, nil, nil
}

// takeUser counts a logged-in connection of address; false when the
// account has its most already.
func (s *Server) takeUser(address string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[address] >= s.o.MaxConnectionsPerUser {
		return false
	}
	s.users[address]++
	return true
}

func (s *Server) releaseUser(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[address]--; s.users[address] <= 0 {
		delete(s.users, address)
	}
}

// logAdapter sends imapserver's messages (protocol errors of clients,
// failed writes) to the log.
type logAdapter struct{ log *slog.Logger }

func (a logAdapter) Printf(format string, v ...any) {
	a.log.Warn("imap connection", "detail", fmt.Sprintf(format, v...))
}

// limitListener refuses connections past MaxConnections with a BYE, caps
// every read deadline at IdleTimeout and counts the bytes sent.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s := l.s
		s.mu.Lock()
		full := s.conns >= s.o.MaxConnections
		if !full {
			s.conns++
		}
		s.mu.Unlock()
		if full {
			s.log.Warn("imap connection refused: too many connections", "max", s.o.MaxConnections,
				"client", c.RemoteAddr().String())
			go refuse(c, s.o.ImplicitTLS)
			continue
		}
		s.metrics.connections.Inc()
		return &countedConn{Conn: c, s: s}, nil
	}
}

// refuse ends a connection over the limit: a BYE on a plain connection
// (a TLS one is closed; it cannot be answered before its handshake).
func refuse(c net.Conn, implicitTLS bool) {
	if !implicitTLS {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "* BYE Too many connections to this server; try again later\r\n")
	}
	_ = c.Close()
}

type countedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *countedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.s.metrics.bytes.Add(float64(n))
	return n, err
}

// SetReadDeadline caps the deadlines imapserver sets (35 min for a
// logged-in client) at the idle timeout.
func (c *countedConn) SetReadDeadline(t time.Time) error {
	if limit := time.Now().Add(c.s.o.IdleTimeout); t.IsZero() || t.After(limit) {
		t = limit
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *countedConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.conns--
		c.s.mu.Unlock()
		c.s.metrics.connections.Dec()
	})
	return c.Conn.Close()
}
