package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/sync/errgroup"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/imapconn"
)

// Blobs is what a restore needs of the blob store.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// inFlight is how many APPENDs are sent before the oldest is waited for.
const inFlight = 16

// recordEvery is how many APPENDUIDs are recorded per catalog transaction.
const recordEvery = 200

// FolderResult is what the restore did in one live folder.
type FolderResult struct {
	Folder    string   `json:"folder"`
	Source    string   `json:"source"`
	Created   bool     `json:"created"`
	Appended  int      `json:"appended"`
	Present   int      `json:"present"`   // skipped: still in the folder
	Elsewhere int      `json:"elsewhere"` // skipped: still in another folder
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"` // the first few failures
}

// Result is what a restore did.
type Result struct {
	Folders  []FolderResult `json:"folders"`
	Appended int            `json:"appended"`
	Skipped  int            `json:"skipped"`
	Created  int            `json:"created"`
	Failed   int            `json:"failed"`
}

// Progress is called after each folder and every recordEvery messages.
type Progress func(Result)

// Execute carries out the plan on the live account: CREATE and SUBSCRIBE
// the folders to recreate (parents first), then APPEND the missing
// messages, up to inFlight pipelined on a connection. Folders are shared
// among the connections given, one folder on one connection at a time:
// the server stores into different folders in parallel, while two
// connections appending to one folder only contend for its lock, and one
// connection keeps the restored messages of a folder in their order. A
// message the server refuses is counted and reported, and the others go
// on; an error of a connection or the catalog stops the restore (running
// it again resumes it).
func (p *Plan) Execute(ctx context.Context, cat Catalog, blobs Blobs, conns []*imapconn.Conn, progress Progress) (*Result, error) {
	if len(conns) == 0 {
		return nil, errors.New("restore: no connection")
	}
	res := &Result{Folders: make([]FolderResult, len(p.Folders))}
	for i, f := range p.Folders {
		res.Folders[i] = FolderResult{Folder: f.Target, Source: f.Source, Present: f.Present, Elsewhere: f.Elsewhere}
		res.Skipped += f.Present + f.Elsewhere
		if f.Create {
			if err := createFolder(conns[0].C, f.Target, f.Subscribe); err != nil {
				return res, err
			}
			res.Folders[i].Created = true
			res.Created++
		}
	}
	var mu sync.Mutex // guards res
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan int)
	for _, cn := range conns[:min(len(conns), max(1, len(p.Folders)))] {
		g.Go(func() error {
			for i := range work {
				f := p.Folders[i]
				a := &appender{ctx: gctx, cat: cat, blobs: blobs, c: cn.C, acct: p.Request.Snapshot.Account,
					folder: f.Target, mu: &mu, res: res, fr: &res.Folders[i], progress: progress}
				if err := a.appendAll(f.Append); err != nil {
					return fmt.Errorf("restoring into %q: %w", f.Target, err)
				}
				if progress != nil {
					progress(a.snapshot())
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		for i, f := range p.Folders {
			if len(f.Append) == 0 {
				continue
			}
			select {
			case work <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return res, g.Wait()
}

// createFolder creates a folder (and, by the server, its parents) and
// subscribes it if asked. A folder that exists already is fine.
func createFolder(c *imapclient.Client, name string, subscribe bool) error {
	err := c.Create(name, nil).Wait()
	var ie *imap.Error
	if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("creating folder %q: %w", name, err)
	}
	if subscribe {
		if err := c.Subscribe(name).Wait(); err != nil {
			return fmt.Errorf("subscribing folder %q: %w", name, err)
		}
	}
	return nil
}

// appender appends messages of one folder on one connection, pipelined.
type appender struct {
	ctx      context.Context
	cat      Catalog
	blobs    Blobs
	c        *imapclient.Client
	acct     catalog.AccountID
	folder   string
	mu       *sync.Mutex // guards res and fr, shared by the folder's appenders
	res      *Result
	fr       *FolderResult
	progress Progress
	pending  []pendingAppend
	done     []catalog.Appended
}

type pendingAppend struct {
	cmd *imapclient.AppendCommand
	msg Message
}

func (a *appender) appendAll(msgs []Message) error {
	for _, m := range msgs {
		if len(a.pending) == inFlight {
			if err := a.waitOldest(); err != nil {
				return err
			}
		}
		cmd, err := a.send(m)
		if err != nil {
			return errors.Join(err, a.drain())
		}
		a.pending = append(a.pending, pendingAppend{cmd: cmd, msg: m})
	}
	if err := a.drain(); err != nil {
		return err
	}
	return a.record()
}

// send writes one APPEND with the blob's exact bytes, streaming.
func (a *appender) send(m Message) (*imapclient.AppendCommand, error) {
	rc, err := a.blobs.Open(a.ctx, blobstore.Hash(m.Hash))
	if err != nil {
		return nil, fmt.Errorf("message %x: %w", m.Hash[:6], err)
	}
	flags := make([]imap.Flag, len(m.Flags))
	for i, f := range m.Flags {
		flags[i] = imap.Flag(f)
	}
	cmd := a.c.Append(a.folder, m.Size, &imap.AppendOptions{Flags: flags, Time: m.InternalDate})
	_, err = io.Copy(cmd, rc)
	err = errors.Join(err, rc.Close(), cmd.Close())
	if err != nil {
		return nil, fmt.Errorf("sending message %x: %w", m.Hash[:6], err)
	}
	return cmd, nil
}

func (a *appender) drain() error {
	var errs error
	for len(a.pending) > 0 {
		errs = errors.Join(errs, a.waitOldest())
	}
	return errs
}

// waitOldest waits for the oldest APPEND in flight. A NO from the server
// fails that message only; other errors are returned.
func (a *appender) waitOldest() error {
	p := a.pending[0]
	a.pending = slices.Delete(a.pending, 0, 1)
	data, err := p.cmd.Wait()
	var ie *imap.Error
	switch {
	case errors.As(err, &ie):
		a.mu.Lock()
		a.fr.Failed++
		a.res.Failed++
		if len(a.fr.Errors) < 5 {
			a.fr.Errors = append(a.fr.Errors, fmt.Sprintf("message of uid %d in the backup: %s", p.msg.SourceUID, ie.Text))
		}
		a.mu.Unlock()
		return nil
	case err != nil:
		return err
	}
	a.mu.Lock()
	a.fr.Appended++
	a.res.Appended++
	a.mu.Unlock()
	if data.UID != 0 {
		a.done = append(a.done, catalog.Appended{Folder: a.folder, UIDValidity: data.UIDValidity,
			UID: uint32(data.UID), Hash: p.msg.Hash})
	}
	if len(a.done) >= recordEvery {
		if err := a.record(); err != nil {
			return err
		}
		if a.progress != nil {
			a.progress(a.snapshot())
		}
	}
	return nil
}

// snapshot copies the result so far, for a progress report.
func (a *appender) snapshot() Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := *a.res
	r.Folders = slices.Clone(a.res.Folders)
	return r
}

// record writes the APPENDUIDs gathered so far to the catalog.
func (a *appender) record() error {
	if err := a.cat.RecordAppends(a.ctx, a.acct, a.done); err != nil {
		return err
	}
	a.done = a.done[:0]
	return nil
}
