package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/snapshot"
	"mtm/internal/store"
)

// BuildOptions say where the history goes and how big it is.
type BuildOptions struct {
	DataDir  string         // the catalog and blobs are made here
	Location *time.Location // defines the days; default UTC
	IMAPAddr string         // the server holding Accounts(), empty
	Messages int            // about how many messages the main account ends with; default 4000
	Days     int            // snapshots, one a day, the last today; default 15
	Seed     uint64
	Clock    clock.Clock  // whose today is the last day; default the real clock
	Progress io.Writer    // a line per day; nil: none
	Logger   *slog.Logger // the engine's log; nil: none
}

// History is what Build made.
type History struct {
	Days       []string // YYYY-MM-DD of each day's snapshots, oldest first
	DeletedDay string   // the first day whose snapshot lacks TripFolder
	Messages   int64    // messages of the last snapshots, every account
	Bytes      int64
}

// dayClock is a clock moved to a chosen instant that then runs at the
// pace of its base: the snapshots of past days get their day and a real
// duration.
type dayClock struct {
	base   clock.Clock
	mu     sync.Mutex
	offset time.Duration
}

func (c *dayClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Now().Add(c.offset)
}

func (c *dayClock) setTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = t.Sub(c.base.Now())
}

// world is the live accounts and what the builder knows of them.
type world struct {
	gen      *Generator
	size     int
	accounts []*accountState
	messages int
}

// Build fills the accounts of the IMAP server at IMAPAddr with mail and
// takes a snapshot of every account each day for Days days ending today,
// changing the mailboxes between them (new mail, reading, flags,
// deletions, and TripFolder deleted DeletedDaysAgo days ago).
func Build(ctx context.Context, opts BuildOptions) (h *History, err error) {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Messages <= 0 {
		opts.Messages = 4000
	}
	if opts.Days <= 0 {
		opts.Days = 15
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	gen, err := NewGenerator(opts.Seed)
	if err != nil {
		return nil, err
	}
	w := &world{gen: gen, size: opts.Messages}
	if err := w.connect(opts.IMAPAddr); err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, w.close()) }()

	dc := &dayClock{base: opts.Clock}
	st, err := store.Open(ctx, store.Options{DataDir: opts.DataDir, Clock: dc, Location: opts.Location, NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("opening the data directory: %w", err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the data directory: %w", cerr))
		}
	}()
	eng := snapshot.New(st.Catalog, st.Blobs, snapshot.Options{
		Server:                imapconn.Server{Address: opts.IMAPAddr, TLS: imapconn.TLSNone, Credentials: imapconn.Passwords(Passwords())},
		ConnectionsPerAccount: 2, ConcurrentAccounts: len(w.accounts), Clock: dc, Logger: opts.Logger,
	})
	return w.days(ctx, eng, dc, opts)
}

// days runs the days: changes, then a snapshot of every account.
func (w *world) days(ctx context.Context, eng *snapshot.Engine, dc *dayClock, opts BuildOptions) (*History, error) {
	h := &History{}
	now := opts.Clock.Now().In(opts.Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, opts.Location)
	addrs := make([]string, len(w.accounts))
	for i, a := range w.accounts {
		addrs[i] = a.Addr
	}
	for i := range opts.Days {
		back := opts.Days - 1 - i
		day := today.AddDate(0, 0, -back)
		snapAt := time.Date(day.Year(), day.Month(), day.Day(), 23, 30, 0, 0, opts.Location)
		if back == 0 {
			snapAt = now
		}
		start := time.Date(day.Year(), day.Month(), day.Day(), 7, 0, 0, 0, opts.Location)
		end := snapAt.Add(-5 * time.Minute)
		if back == 0 {
			start, end = maxTime(day, end.Add(-12*time.Hour)), maxTime(day, now.Add(-time.Minute))
		}
		if i == 0 {
			if err := w.initial(day); err != nil {
				return nil, err
			}
		}
		if err := w.change(i, start, end); err != nil {
			return nil, err
		}
		if back == DeletedDaysAgo && back < opts.Days {
			if err := w.deleteTrip(); err != nil {
				return nil, err
			}
			h.DeletedDay = day.Format(time.DateOnly)
		}
		dc.setTo(snapAt)
		t0 := opts.Clock.Now()
		h.Messages, h.Bytes = 0, 0
		for _, r := range eng.Run(ctx, addrs) {
			if r.Err != nil {
				return nil, fmt.Errorf("snapshot of %s on %s: %w", r.Address, day.Format(time.DateOnly), r.Err)
			}
			h.Messages += r.Snapshot.Messages
			h.Bytes += r.Snapshot.Bytes
		}
		h.Days = append(h.Days, day.Format(time.DateOnly))
		fmt.Fprintf(opts.Progress, "  %s  %d accounts, %6d messages, %5.1f MB  (snapshot %.1fs)\n",
			day.Format("Mon 2006-01-02"), len(addrs), h.Messages, float64(h.Bytes)/1e6, opts.Clock.Now().Sub(t0).Seconds())
	}
	return h, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// connect logs in to every account and creates its folders.
func (w *world) connect(addr string) error {
	for i, acct := range Accounts() {
		conn, err := dialAccount(addr, acct.Addr, acct.Password)
		if err != nil {
			return errors.Join(err, w.close())
		}
		a := &accountState{Account: acct, conn: conn, folders: map[string]*folderState{}}
		w.accounts = append(w.accounts, a)
		for _, f := range w.layout(i, w.size) {
			if err := conn.create(f.name, f.subscribed); err != nil {
				return errors.Join(fmt.Errorf("%s: %w", acct.Addr, err), w.close())
			}
			a.folders[f.name] = &folderState{}
		}
	}
	return nil
}

func (w *world) close() error {
	var errs []error
	for _, a := range w.accounts {
		if a.conn != nil {
			errs = append(errs, a.conn.close())
			a.conn = nil
		}
	}
	return errors.Join(errs...)
}

// initial fills every account with its mail from before the first day.
func (w *world) initial(first time.Time) error {
	for i, a := range w.accounts {
		for _, f := range w.layout(i, w.size) {
			if f.kind == nil {
				continue
			}
			kind := f.kind()
			dates := randomDates(w.gen.rng, f.count, first.AddDate(0, 0, -f.ageDays[1]), first.AddDate(0, 0, -f.ageDays[0]))
			msgs := make([]Message, 0, len(dates))
			for _, d := range dates {
				m, err := kind(a.Person, d)
				if err != nil {
					return err
				}
				if f.flags != nil {
					f.flags(&m, w.gen.rng)
				}
				msgs = append(msgs, m)
			}
			if err := w.fill(a, f.name, msgs); err != nil {
				return err
			}
		}
		inbox, sent, err := w.conversation(a, inboxSize(i, w.size), first.AddDate(0, 0, -365), first, true)
		if err != nil {
			return err
		}
		if err := errors.Join(w.fill(a, "INBOX", inbox), w.fill(a, "Sent", sent)); err != nil {
			return err
		}
	}
	return nil
}
