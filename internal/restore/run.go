package restore

import (
	"context"
	"fmt"
	"time"

	"mtm/internal/clock"
	"mtm/internal/imapconn"
)

// SettleWindow is how far back an append recorded for the account makes a
// run settle first: an attempt that appended this recently may have died
// with APPENDs the server is still storing.
const SettleWindow = time.Hour

// Runner is the one entry point of a restore against the live server:
// `mtm restore` (the operator's) and the restore flow (a user's request an
// admin confirmed) both preview and run restores through it, so that they
// dial, settle, plan, execute and word their failures the same way.
type Runner struct {
	Catalog Catalog
	Blobs   Blobs
	Server  imapconn.Server // the live server and the backup's credentials
	// Connections is how many IMAP connections a run APPENDs over
	// (imap.connections_per_account); default 1.
	Connections int
	// Settle is how long the live folders must stay unchanged before a
	// run that must settle reads them (see Run); default 1 s.
	Settle time.Duration
	Clock  clock.Clock // default the real clock
}

// Preview computes the plan of req against the live account, read-only:
// what a run would do now.
func (r *Runner) Preview(ctx context.Context, req Request) (*Plan, error) {
	cn, err := imapconn.Dial(ctx, r.Server, req.Address)
	if err != nil {
		return nil, err
	}
	defer cn.Close()
	return MakePlan(ctx, r.Catalog, cn, req)
}

// RunOptions are the choices of one run.
type RunOptions struct {
	// Resumed says that an earlier attempt of this same run may have sent
	// APPENDs (the flow knows it from the request's state).
	Resumed bool
	// Planned, if set, is told the plan before it is carried out; an
	// error stops the run before anything changes.
	Planned func(*Plan) error
	// Progress, if set, is called as the run goes (Plan.Execute).
	Progress Progress
}

// Run restores req into the live account: it dials, settles if it must,
// plans and executes. A run settles (waits until the live folders have
// not changed for Settle, so that a plan never reads a folder while the
// server still stores an earlier attempt's APPENDs) when it is resumed or
// when a restore appended to the account within SettleWindow. Messages
// the server refused are counted in the result, and Run then returns an
// error saying how many.
func (r *Runner) Run(ctx context.Context, req Request, opts RunOptions) (Result, error) {
	conns, err := imapconn.DialN(ctx, r.Server, req.Address, r.Connections)
	if err != nil {
		return Result{}, err
	}
	defer imapconn.CloseAll(conns)
	if err := r.settleIfNeeded(ctx, conns[0], req, opts.Resumed); err != nil {
		return Result{}, err
	}
	plan, err := MakePlan(ctx, r.Catalog, conns[0], req)
	if err != nil {
		return Result{}, err
	}
	if opts.Planned != nil {
		if err := opts.Planned(plan); err != nil {
			return Result{}, err
		}
	}
	res, err := plan.Execute(ctx, r.Catalog, r.Blobs, conns, opts.Progress)
	if res == nil {
		res = &Result{}
	}
	if err == nil && res.Failed > 0 {
		err = &RefusedError{Messages: res.Failed}
	}
	return *res, err
}

// RefusedError: the server refused some messages of a run; the others
// were restored.
type RefusedError struct{ Messages int }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the server refused %d messages", e.Messages)
}

func (r *Runner) settleIfNeeded(ctx context.Context, cn *imapconn.Conn, req Request, resumed bool) error {
	must, err := r.mustSettle(ctx, req, resumed)
	if err != nil || !must {
		return err
	}
	quiet := r.Settle
	if quiet <= 0 {
		quiet = time.Second
	}
	return settle(ctx, cn, clock.SleeperOf(r.clock()), quiet)
}

// mustSettle is the settle rule: a resumed run, or a restore appended to
// the account within SettleWindow.
func (r *Runner) mustSettle(ctx context.Context, req Request, resumed bool) (bool, error) {
	if resumed {
		return true, nil
	}
	return r.Catalog.RecentAppends(ctx, req.Snapshot.Account, r.clock().Now().Add(-SettleWindow))
}

func (r *Runner) clock() clock.Clock {
	if r.Clock == nil {
		return clock.Real{}
	}
	return r.Clock
}
