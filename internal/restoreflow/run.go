package restoreflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/notify"
	"mtm/internal/restore"
)

// launch runs a confirmed (or taken over) request in the background.
// resumed says whether an earlier attempt may have sent APPENDs.
func (f *Flow) launch(r catalog.RestoreRequest, resumed bool) {
	f.mu.Lock()
	base := f.base
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case f.sem <- struct{}{}:
		case <-base.Done():
			return // resumed at the next Start
		}
		defer func() { <-f.sem }()
		f.run(base, r, resumed)
	}()
}

// ErrStopped: a restore job stopped before its run ended (the node is
// stopping, or another took the run over); the request stays running, and
// the job's next attempt resumes it.
var ErrStopped = errors.New("restore stopped before its end; it resumes")

// RunJob runs a confirmed request as the job queue's restore job: it takes
// the request over (catalog TakeRestore), runs it here and records how it
// ended, with the user's email. A request no longer running (a job run
// again after its end) is left as it is. resumed says that an earlier
// attempt may have sent APPENDs.
func (f *Flow) RunJob(ctx context.Context, id catalog.RestoreID, resumed bool) error {
	r, err := f.o.Catalog.TakeRestore(ctx, id)
	if errors.Is(err, catalog.ErrRestoreState) {
		f.o.Logger.Info("restore job: the request is no longer running", "restore", int64(id))
		return nil
	}
	if err != nil {
		return err
	}
	if !f.run(ctx, r, resumed || len(r.Result) > 0) {
		return ErrStopped
	}
	return nil
}

// run executes one request and records how it ended, and says whether it
// did. If ctx ends first the request stays running, to be resumed.
func (f *Flow) run(ctx context.Context, r catalog.RestoreRequest, resumed bool) (ended bool) {
	log := f.o.Logger.With("restore", int64(r.ID), "account", r.Address)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := make(chan restore.Result, 1)
	beat := f.heartbeat(ctx, cancel, r.ID, progress)
	res, err := f.execute(ctx, r, resumed, func(p restore.Result) {
		select {
		case <-progress:
		default:
		}
		progress <- p
	})
	// Stopped from outside (shutdown, or another process took the run
	// over): whatever error that caused, the run is not over. It stays
	// running, to be resumed.
	stopped := ctx.Err() != nil
	cancel()
	<-beat
	if stopped {
		log.Info("restore stopped; it resumes", "err", err)
		return false
	}
	res = withEarlier(r, res)
	if ferr := f.finish(context.WithoutCancel(ctx), r, res, err); ferr != nil {
		log.Error("recording the end of a restore", "err", ferr)
		return false
	}
	if f.o.Observer != nil {
		f.o.Observer.RestoreFinished(err)
	}
	log.Info("restore finished", "appended", res.Appended, "skipped", res.Skipped, "failed", res.Failed, "err", err)
	return true
}

// heartbeat refreshes the run's row with its progress until ctx ends; if
// the row is no longer ours it cancels the run. The channel it returns is
// closed when it has stopped.
func (f *Flow) heartbeat(ctx context.Context, cancel func(), id catalog.RestoreID, progress <-chan restore.Result) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(f.o.HeartbeatEvery)
		defer t.Stop()
		var last restore.Result
		for {
			select {
			case <-ctx.Done():
				return
			case last = <-progress:
			case <-t.C:
			}
			pj, err := json.Marshal(last)
			if err == nil {
				err = f.o.Catalog.HeartbeatRestore(ctx, id, pj)
			}
			if errors.Is(err, catalog.ErrRestoreState) {
				cancel() // taken over by another process
				return
			}
		}
	}()
	return done
}

// execute runs the request through the restore runner.
func (f *Flow) execute(ctx context.Context, r catalog.RestoreRequest, resumed bool, progress restore.Progress) (restore.Result, error) {
	snap, err := f.o.Catalog.Snapshot(ctx, r.Snapshot)
	if err != nil {
		return restore.Result{}, fmt.Errorf("the snapshot of %s: %w", r.Day, err)
	}
	req := restore.Request{Snapshot: snap, Address: r.Address, Folders: r.Folders, Messages: r.Messages, Target: r.Target}
	return f.runner.Run(ctx, req, restore.RunOptions{Resumed: resumed, Progress: progress})
}

// finish records the end of the run with the user's email, in one
// transaction.
func (f *Flow) finish(ctx context.Context, r catalog.RestoreRequest, res restore.Result, runErr error) error {
	rj, err := json.Marshal(res)
	if err != nil {
		return err
	}
	restored, created := counts(res)
	var msg notify.Message
	errText := ""
	user := f.userOf(ctx, r.Address)
	if runErr == nil {
		msg, err = f.o.Mailer.RestoreDone(notify.RestoreDone{ToUser: user, ID: int64(r.ID), Account: r.Address, Day: r.Day,
			Target: r.Target, TargetFolder: separateFolder(r), Restored: restored, Created: created, Skipped: res.Skipped})
	} else {
		errText = runErr.Error()
		msg, err = f.o.Mailer.RestoreFailed(notify.RestoreFailed{ToUser: user, ID: int64(r.ID), Account: r.Address, Day: r.Day,
			Error: errText, Restored: restored, Created: created, Skipped: res.Skipped})
	}
	if err != nil {
		return err
	}
	err = f.o.Catalog.FinishRestore(ctx, r.ID, rj, errText, func(tx *sql.Tx) error {
		if _, err := f.o.Catalog.EnqueueMailTx(ctx, tx, msg); err != nil {
			return err
		}
		detail := fmt.Sprintf("restore %d: %d restored, %d folders recreated, %d skipped", r.ID, res.Appended,
			res.Created, res.Skipped)
		if errText != "" {
			detail += "; failed: " + errText
		}
		return f.o.Catalog.Auditing(ctx, catalog.AuditEvent{Actor: "mtm", Role: catalog.RoleSystem,
			Action: "restore-run", Account: r.Address, Detail: detail})(tx)
	})
	if err != nil {
		return err
	}
	f.o.Wake()
	return nil
}

// withEarlier adds what an earlier, interrupted attempt of the request
// appended (as of its last heartbeat) to this attempt's result: those
// messages are live now, so this attempt counted them as present.
// Messages appended after that heartbeat stay counted as present.
func withEarlier(r catalog.RestoreRequest, res restore.Result) restore.Result {
	var prev restore.Result
	if len(r.Result) == 0 || json.Unmarshal(r.Result, &prev) != nil || prev.Appended == 0 {
		return res
	}
	byFolder := map[string]restore.FolderResult{}
	for _, fr := range prev.Folders {
		byFolder[fr.Folder] = fr
	}
	for i := range res.Folders {
		fr := &res.Folders[i]
		p := byFolder[fr.Folder]
		moved := min(p.Appended, fr.Present)
		fr.Appended += moved
		fr.Present -= moved
		res.Appended += moved
		res.Skipped -= moved
		if p.Created && !fr.Created {
			fr.Created = true
			res.Created++
		}
	}
	return res
}

func counts(res restore.Result) (restored []notify.FolderCount, created []string) {
	for _, fr := range res.Folders {
		if fr.Appended > 0 {
			restored = append(restored, notify.FolderCount{Folder: fr.Folder, Messages: fr.Appended})
		}
		if fr.Created {
			created = append(created, fr.Folder)
		}
	}
	return restored, created
}

func separateFolder(r catalog.RestoreRequest) string {
	if r.Target != restore.TargetSeparate {
		return ""
	}
	return restore.SeparateRoot + "/" + r.Day
}
