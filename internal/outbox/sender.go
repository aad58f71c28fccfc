package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
)

// Store is the part of the catalog the Sender uses; *catalog.DB is one.
type Store interface {
	catalog.Outbox
}

// Options tune a Sender; the zero value gives the defaults in brackets.
type Options struct {
	Clock  clock.Clock  // [real clock]
	Logger *slog.Logger // [slog.Default()]
	// MinBackoff is the wait after a first failed attempt; it doubles with
	// each further failure of the same mail up to MaxBackoff. [30s, 1h]
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds the dial and each SMTP command; the reply to the
	// final dot may take five times as long. [1m]
	Timeout time.Duration
	// Lease is how long a claimed mail belongs to this sender; after it a
	// mail still "sending" is taken for abandoned. It must exceed the
	// longest attempt. [15m]
	Lease time.Duration
	// Batch is how many due mails one round takes. [100]
	Batch int
	// PollInterval is the longest the Sender sleeps between rounds when
	// nothing wakes it. [1m]
	PollInterval time.Duration
	// KeepSent is how long sent mails stay in the outbox. [30 days]
	KeepSent time.Duration
	// TLSConfig is used for tls and starttls; its ServerName defaults to
	// the host of smtp.address. [system roots]
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO (not with starttls, where
	// go-smtp says "localhost"). ["localhost"]
	LocalName string
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDefault(&o.MinBackoff, 30*time.Second)
	setDefault(&o.MaxBackoff, time.Hour)
	setDefault(&o.Timeout, time.Minute)
	setDefault(&o.Lease, 15*time.Minute)
	setDefault(&o.PollInterval, time.Minute)
	setDefault(&o.KeepSent, 30*24*time.Hour)
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Sender delivers the outbox. Run one per catalog; Run and RunOnce must not
// run at the same time on one Sender.
type Sender struct {
	store Store
	cfg   config.SMTP
	opts  Options
	wake  chan struct{}
	// purged is when sent mails were last deleted; only RunOnce uses it.
	purged time.Time
}

// New returns a Sender for the [smtp] section cfg.
func New(store Store, cfg config.SMTP, opts Options) *Sender {
	opts.defaults()
	return &Sender{store: store, cfg: cfg, opts: opts, wake: make(chan struct{}, 1)}
}

// Wake makes a running Sender look at the outbox now, for instance after a
// transaction enqueued mail. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Backoff returns the wait after the attempts-th failed attempt of a mail.
func (s *Sender) Backoff(attempts int) time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < attempts && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opts.MaxBackoff)
}

// Run delivers the outbox until ctx ends: a round at start, then one when
// the earliest pending mail is due, when Wake is called, or every
// PollInterval. With no smtp.address it only waits: mail stays queued.
func (s *Sender) Run(ctx context.Context) error {
	log := s.opts.Logger
	if s.cfg.Address == "" {
		log.Warn("smtp.address is empty: notification emails stay in the outbox")
		<-ctx.Done()
		return nil
	}
	for {
		res, err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.opts.PollInterval
		if err != nil {
			log.Error("outbox round", "err", err)
			wait = min(wait, s.opts.MinBackoff)
		} else if !res.Next.IsZero() {
			wait = min(wait, res.Next.Sub(s.opts.Clock.Now()))
		}
		if err := s.sleep(ctx, max(wait, 0)); err != nil {
			return nil
		}
	}
}

// Result tells what one round did.
type Result struct {
	Sent, Retried, Failed int
	// Next is when the earliest pending mail is due (it may be now or
	// past); zero when nothing is pending.
	Next time.Time
}

// RunOnce makes one round at the clock's now: it recovers abandoned
// attempts, sends every due mail (up to Batch) over one SMTP session, and
// says when the next one is due. Tests drive it on a fake clock.
func (s *Sender) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	if n, err := s.store.RecoverMail(ctx); err != nil {
		return res, err
	} else if n > 0 {
		s.opts.Logger.Warn("outbox: resending mails whose attempt was interrupted", "mails", n)
	}
	now := s.opts.Clock.Now()
	due, err := s.store.DueMail(ctx, now, s.opts.Batch)
	if err != nil {
		return res, err
	}
	if len(due) > 0 && s.cfg.Address != "" {
		if err := s.deliver(ctx, due, &res); err != nil {
			return res, err
		}
	}
	if now.Sub(s.purged) >= time.Hour {
		if _, err := s.store.DeleteSentMail(ctx, now.Add(-s.opts.KeepSent)); err != nil {
			return res, err
		}
		s.purged = now
	}
	next, ok, err := s.store.NextMailAt(ctx)
	if err != nil {
		return res, err
	}
	if ok {
		res.Next = next
	}
	return res, nil
}

// deliver sends due over one session. Only catalog errors are returned:
// SMTP errors are recorded on the mails.
func (s *Sender) deliver(ctx context.Context, due []catalog.OutboxEntry, res *Result) error {
	c, err := s.dial(ctx)
	if err != nil {
		msg := fmt.Sprintf("connecting to %s: %v", s.cfg.Address, err)
		s.opts.Logger.Warn("outbox: SMTP server unavailable", "err", msg, "due", len(due))
		for _, e := range due {
			if err := s.store.DeferMail(ctx, e.ID, s.opts.Clock.Now().Add(s.Backoff(e.Attempts+1)), msg); err != nil {
				return err
			}
			res.Retried++
		}
		return nil
	}
	var catErr error
	broken := false
	for _, e := range due {
		if broken, catErr = s.sendOne(ctx, c, e, res); catErr != nil || broken {
			break
		}
	}
	if broken || catErr != nil {
		// Never QUIT in the middle of DATA: drop the connection, and the
		// server discards the unfinished transaction.
		if err := c.Close(); err != nil {
			s.opts.Logger.Debug("outbox: dropping SMTP connection", "err", err)
		}
		return catErr
	}
	if err := c.Quit(); err != nil {
		// Every mail is recorded already; a failed QUIT only costs a log line.
		s.opts.Logger.Debug("outbox: closing SMTP session", "err", err)
		if err := c.Close(); err != nil {
			s.opts.Logger.Debug("outbox: dropping SMTP connection", "err", err)
		}
	}
	return nil
}

// dial connects, greets and authenticates per the [smtp] section.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	d := &net.Dialer{Timeout: s.opts.Timeout}
	host, _, err := net.SplitHostPort(s.cfg.Address)
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{}
	if s.opts.TLSConfig != nil {
		tlsCfg = s.opts.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	var c *smtp.Client
	switch s.cfg.TLS {
	case config.TLSImplicit:
		conn, err := (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", s.cfg.Address)
		if err != nil {
			return nil, err
		}
		c = s.newClient(conn)
		err = c.Hello(s.opts.LocalName)
		if err != nil {
			return nil, errors.Join(err, c.Close())
		}
	case config.TLSStartTLS:
		conn, err := d.DialContext(ctx, "tcp", s.cfg.Address)
		if err != nil {
			return nil, err
		}
		// go-smtp greets and upgrades with its own 5-minute timeouts.
		if c, err = smtp.NewClientStartTLS(conn, tlsCfg); err != nil {
			return nil, fmt.Errorf("starttls: %w", err) // NewClientStartTLS closed conn
		}
		c.CommandTimeout, c.SubmissionTimeout = s.opts.Timeout, 5*s.opts.Timeout
	default:
		conn, err := d.DialContext(ctx, "tcp", s.cfg.Address)
		if err != nil {
			return nil, err
		}
		c = s.newClient(conn)
		if err := c.Hello(s.opts.LocalName); err != nil {
			return nil, errors.Join(err, c.Close())
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return nil, errors.Join(fmt.Errorf("authenticating as %s: %w", s.cfg.Username, err), c.Close())
		}
	}
	return c, nil
}

func (s *Sender) newClient(conn net.Conn) *smtp.Client {
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = s.opts.Timeout, 5*s.opts.Timeout
	return c
}

// sleep waits d on the clock, or until Wake is called. It returns an error
// only when ctx ends.
func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-s.wake:
			stop() // the next round runs now
		case <-wctx.Done():
		}
	}()
	if err := clock.Sleep(wctx, s.opts.Clock, d); err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}
