// Package restoreflow owns the life of a restore request
// (docs/workflows.md, "Restore"): the user's request with its preview, the
// admin's decision, the run that follows a confirmation at once, the
// resumption of runs a dead process left, and the emails and audit records
// of every step. Each state change commits in one catalog transaction with
// its emails and its audit record, so a crash never sends a mail for a
// change that did not happen, nor loses one for a change that did.
package restoreflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/notify"
	"mtm/internal/restore"
)

// ErrNotFound: no such request, or not one this admin may see.
var ErrNotFound = errors.New("no such restore request")

// Catalog is what the flow needs of the catalog.
type Catalog interface {
	catalog.Browsing
	catalog.Restores
	catalog.Outbox
	catalog.AdminsAndAudit
	catalog.Settings
}

// Mailer renders the flow's emails (notify.Renderer).
type Mailer interface {
	RestoreRequested(admins []string, d notify.RestoreRequested) ([]notify.Message, error)
	RestoreReceived(d notify.RestoreReceived) (notify.Message, error)
	RestoreDone(d notify.RestoreDone) (notify.Message, error)
	RestoreFailed(d notify.RestoreFailed) (notify.Message, error)
	RestoreRejected(d notify.RestoreRejected) (notify.Message, error)
}

// Options configure a Flow.
type Options struct {
	Catalog Catalog
	Blobs   restore.Blobs
	Server  imapconn.Server // the live IMAP server and the backup's credentials
	Mailer  Mailer
	// Wake, if set, is called after mail is queued (the outbox sender).
	Wake   func()
	Logger *slog.Logger
	// Concurrent bounds the restores running at once; default 2.
	Concurrent int
	// Connections is how many IMAP connections a run APPENDs over
	// (connections_per_account); default 2.
	Connections int
	// Settle is the settle time of a run that must settle
	// (restore.Runner.Settle); default 1 s.
	Settle time.Duration
	// HeartbeatEvery is how often a run tells it is alive; default 30 s.
	HeartbeatEvery time.Duration
	Clock          clock.Clock
	// Observer, if set, counts outcomes (metrics).
	Observer Observer
	// Queue, if set, runs confirmed restores as jobs (the job queue of a
	// PostgreSQL catalog): Confirm inserts the job in its transaction, a
	// worker of any node calls RunJob. Nil: this process runs them, and
	// Start resumes the runs of a dead process.
	Queue Queue
	// Previews bounds the previews made at once (each logs in to the live
	// server): jobs.Slots, cluster-wide, on a PostgreSQL catalog; default
	// MaxPreviews in this process. A preview that finds none free fails
	// at once with ErrBusy.
	Previews imapconn.Slots
}

// MaxPreviews is the previews made at once by default.
const MaxPreviews = 8

// PreviewSlots is the key of the previews' slots (Options.Previews).
const PreviewSlots = "restore-previews"

// ErrBusy: as many previews as allowed are being made; try again shortly.
var ErrBusy = errors.New("too many restore previews are being made; try again in a moment")

// localSlots is a process's own bound: n at once.
type localSlots chan struct{}

func (l localSlots) Acquire(ctx context.Context, _ string, wait bool) (func(), error) {
	if !wait {
		select {
		case l <- struct{}{}:
			return func() { <-l }, nil
		default:
			return nil, imapconn.ErrNoSlot
		}
	}
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Queue runs confirmed restores as jobs (jobs.Queue is one).
type Queue interface {
	// EnqueueRestore inserts the restore's job in tx, the transaction that
	// confirms it: both commit, or neither.
	EnqueueRestore(ctx context.Context, tx *sql.Tx, id catalog.RestoreID) error
}

// Observer is told how requests end.
type Observer interface {
	RestoreFinished(err error) // a run ended: err is its error, nil if done
	RestoreRejected()
}

// Flow runs restore requests.
type Flow struct {
	o      Options
	runner *restore.Runner
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	base   context.Context // runs live in it; set by Start
}

// New returns a flow; call Start before confirming requests.
func New(o Options) *Flow {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Concurrent < 1 {
		o.Concurrent = 2
	}
	if o.Connections < 1 {
		o.Connections = 2
	}
	if o.Settle == 0 {
		o.Settle = time.Second
	}
	if o.HeartbeatEvery == 0 {
		o.HeartbeatEvery = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Wake == nil {
		o.Wake = func() {}
	}
	if o.Previews == nil {
		o.Previews = make(localSlots, MaxPreviews)
	}
	runner := &restore.Runner{Catalog: o.Catalog, Blobs: o.Blobs, Server: o.Server, Connections: o.Connections,
		Settle: o.Settle, Clock: o.Clock}
	return &Flow{o: o, runner: runner, sem: make(chan struct{}, o.Concurrent), base: context.Background()}
}

// Start takes over the runs that a dead process left and resumes them.
// Runs started later live in ctx: cancelling it stops them where they are
// (they resume at the next Start); Wait waits for them.
func (f *Flow) Start(ctx context.Context) error {
	f.mu.Lock()
	f.base = ctx
	f.mu.Unlock()
	if f.o.Queue != nil {
		return nil // a dead node's restore job is handed on by the queue
	}
	stale, err := f.o.Catalog.ClaimStaleRestores(ctx)
	if err != nil {
		return err
	}
	for _, r := range stale {
		f.o.Logger.Info("resuming an interrupted restore", "restore", int64(r.ID), "account", r.Address)
		f.launch(r, true)
	}
	return nil
}

// Wait waits until every run has stopped.
func (f *Flow) Wait() { f.wg.Wait() }

// Actor is who asks: the address, the role and the client's IP address.
type Actor struct {
	Email  string
	Role   string // catalog.RoleUser, RoleAdmin, RoleOperator
	Client string
}

// RequestInput is a user's request.
type RequestInput struct {
	Account  string
	Snapshot catalog.SnapshotID
	Folders  []string // empty: the whole account
	// Messages, if not empty, selects message versions of the snapshot
	// (entry ids, from the Changes view): only they are restored.
	Messages []int64
	Target   string // restore.TargetOriginal (default) or TargetSeparate
}

// Preview computes what the request would bring back now, per folder.
func (f *Flow) Preview(ctx context.Context, in RequestInput) (*restore.Plan, error) {
	snap, err := catalog.FindSnapshotID(ctx, f.o.Catalog, in.Account, in.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", in.Snapshot, catalog.ErrNotFound)
	}
	release, err := f.o.Previews.Acquire(ctx, PreviewSlots, false)
	if errors.Is(err, imapconn.ErrNoSlot) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, err
	}
	defer release()
	return f.runner.Preview(ctx, restore.Request{Snapshot: snap, Address: in.Account, Folders: in.Folders,
		Messages: in.Messages, Target: in.Target})
}

// Request records a pending request with its preview and queues an email to
// every admin responsible for the account's domain.
func (f *Flow) Request(ctx context.Context, who Actor, in RequestInput) (catalog.RestoreRequest, error) {
	if in.Target == "" {
		in.Target = restore.TargetOriginal
	}
	plan, err := f.Preview(ctx, in)
	if err != nil {
		return catalog.RestoreRequest{}, err
	}
	preview := previewCounts(plan)
	pj, err := json.Marshal(preview)
	if err != nil {
		return catalog.RestoreRequest{}, err
	}
	admins, err := admin.ResponsibleFor(ctx, f.o.Catalog, f.o.Logger, in.Account, "restore request")
	if err != nil {
		return catalog.RestoreRequest{}, err
	}
	sample, err := f.Sample(ctx, catalog.RestoreRequest{Snapshot: plan.Request.Snapshot.ID, Messages: in.Messages}, SampleSize)
	if err != nil {
		return catalog.RestoreRequest{}, err
	}
	req := catalog.RestoreRequest{Account: plan.Request.Snapshot.Account, Snapshot: in.Snapshot, Folders: in.Folders,
		Messages: in.Messages, Target: in.Target, RequestedBy: who.Email, Preview: pj}
	user := f.toUser(ctx, in.Account, admins)
	id, err := f.o.Catalog.RequestRestore(ctx, req, func(tx *sql.Tx, id catalog.RestoreID) error {
		// The user's receipt: what was asked, and what happens next.
		receipt, err := f.o.Mailer.RestoreReceived(notify.RestoreReceived{ToUser: user, ID: int64(id), Account: in.Account,
			Day: plan.Request.Snapshot.Day, Folders: in.Folders, Selected: len(in.Messages), Target: in.Target,
			Preview: preview})
		if err != nil {
			return err
		}
		if _, err := f.o.Catalog.EnqueueMailTx(ctx, tx, receipt); err != nil {
			return err
		}
		if len(admins) > 0 {
			msgs, err := f.o.Mailer.RestoreRequested(admins, notify.RestoreRequested{ID: int64(id), Account: in.Account,
				Day: plan.Request.Snapshot.Day, Folders: in.Folders, Selected: len(in.Messages), Sample: sample,
				Target: in.Target, RequestedBy: who.Email,
				RequestedAt: f.o.Clock.Now(), Preview: preview})
			if err != nil {
				return err
			}
			if _, err := f.o.Catalog.EnqueueMailTx(ctx, tx, msgs...); err != nil {
				return err
			}
		}
		return f.o.Catalog.Auditing(ctx, catalog.AuditEvent{Actor: who.Email, Role: who.Role, Client: who.Client,
			Action: "restore-request", Account: in.Account, Detail: fmt.Sprintf("restore %d of %s, %s, target %s",
				id, plan.Request.Snapshot.Day, scopeText(in.Folders, len(in.Messages)), in.Target)})(tx)
	})
	if err != nil {
		return catalog.RestoreRequest{}, err
	}
	f.o.Wake()
	return f.o.Catalog.Restore(ctx, id)
}

// SampleSize is how many of a selection's messages the admin's email and
// page name.
const SampleSize = 10

// Sample returns the first n messages of a request's selection, as the
// admin sees them: subject and sender. A request by folders has none.
func (f *Flow) Sample(ctx context.Context, r catalog.RestoreRequest, n int) ([]notify.SampleMessage, error) {
	if len(r.Messages) == 0 {
		return nil, nil
	}
	snap, err := f.o.Catalog.Snapshot(ctx, r.Snapshot)
	if err != nil {
		return nil, err
	}
	msgs, err := f.o.Catalog.MessagesByID(ctx, snap, r.Messages[:min(n, len(r.Messages))])
	if err != nil {
		return nil, err
	}
	out := make([]notify.SampleMessage, len(msgs))
	for i, m := range msgs {
		out[i] = notify.SampleMessage{Subject: m.Subject, From: m.From}
	}
	return out, nil
}

// toUser addresses an email to the account's user: in their language, a
// reply reaching admins.
func (f *Flow) toUser(ctx context.Context, account string, admins []string) notify.ToUser {
	u := notify.ToUser{ReplyTo: admins}
	if acct, err := f.o.Catalog.LookupAccount(ctx, account); err == nil {
		if set, err := f.o.Catalog.AccountSettings(ctx, acct); err == nil {
			u.Lang = set.Language
		}
	}
	return u
}

// userOf is toUser with the admins responsible for the account (none when
// they cannot be listed: the email still goes).
func (f *Flow) userOf(ctx context.Context, account string) notify.ToUser {
	admins, err := admin.ResponsibleFor(ctx, f.o.Catalog, f.o.Logger, account, "reply to the user")
	if err != nil {
		admins = nil
	}
	return f.toUser(ctx, account, admins)
}

// Mine lists the account's requests, newest first.
func (f *Flow) Mine(ctx context.Context, account string) ([]catalog.RestoreRequest, error) {
	acct, err := f.o.Catalog.LookupAccount(ctx, account)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return f.o.Catalog.Restores(ctx, acct, "")
}

// Get returns a request if the admin is responsible for its account.
func (f *Flow) Get(ctx context.Context, a admin.Admin, id catalog.RestoreID) (catalog.RestoreRequest, error) {
	r, err := f.o.Catalog.Restore(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !a.Responsible(r.Address)) {
		return catalog.RestoreRequest{}, fmt.Errorf("restore %d: %w", id, ErrNotFound)
	}
	return r, err
}

// Confirm moves a pending request to running and starts the restore at
// once. Confirming twice, or after a rejection, fails with
// catalog.ErrRestoreState and changes nothing.
func (f *Flow) Confirm(ctx context.Context, a admin.Admin, who Actor, id catalog.RestoreID) error {
	r, err := f.Get(ctx, a, id)
	if err != nil {
		return err
	}
	audit := f.o.Catalog.Auditing(ctx, catalog.AuditEvent{
		Actor: who.Email, Role: who.Role, Client: who.Client, Action: "restore-confirm", Account: r.Address,
		Detail: fmt.Sprintf("restore %d", id)})
	err = f.o.Catalog.ConfirmRestore(ctx, id, who.Email, func(tx *sql.Tx) error {
		if err := audit(tx); err != nil || f.o.Queue == nil {
			return err
		}
		return f.o.Queue.EnqueueRestore(ctx, tx, id)
	})
	if err != nil || f.o.Queue != nil {
		return err
	}
	if r, err = f.o.Catalog.Restore(ctx, id); err != nil {
		return err
	}
	f.launch(r, false)
	return nil
}

// Reject moves a pending request to rejected and queues the user's email.
func (f *Flow) Reject(ctx context.Context, a admin.Admin, who Actor, id catalog.RestoreID, reason string) error {
	r, err := f.Get(ctx, a, id)
	if err != nil {
		return err
	}
	msg, err := f.o.Mailer.RestoreRejected(notify.RestoreRejected{ToUser: f.userOf(ctx, r.Address), ID: int64(id),
		Account: r.Address, Day: r.Day, Reason: reason})
	if err != nil {
		return err
	}
	err = f.o.Catalog.RejectRestore(ctx, id, who.Email, reason, func(tx *sql.Tx) error {
		if _, err := f.o.Catalog.EnqueueMailTx(ctx, tx, msg); err != nil {
			return err
		}
		return f.o.Catalog.Auditing(ctx, catalog.AuditEvent{Actor: who.Email, Role: who.Role, Client: who.Client,
			Action: "restore-reject", Account: r.Address, Detail: fmt.Sprintf("restore %d: %s", id, reason)})(tx)
	})
	if err != nil {
		return err
	}
	if f.o.Observer != nil {
		f.o.Observer.RestoreRejected()
	}
	f.o.Wake()
	return nil
}

func previewCounts(p *restore.Plan) []notify.FolderCount {
	var out []notify.FolderCount
	for _, fp := range p.Folders {
		if len(fp.Append) > 0 || fp.Create {
			out = append(out, notify.FolderCount{Folder: fp.Target, Messages: len(fp.Append)})
		}
	}
	return out
}

func scopeText(folders []string, selected int) string {
	if selected > 0 {
		return fmt.Sprintf("%d selected messages", selected)
	}
	if len(folders) == 0 {
		return "whole account"
	}
	q := slices.Clone(folders)
	for i, f := range q {
		q[i] = fmt.Sprintf("%q", f)
	}
	return "folders " + strings.Join(q, ", ")
}
