package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/sync/errgroup"

	"mtm/internal/blobstore"
	"mtm/internal/imapconn"
)

// Blobs is what a restore needs of the blob store.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

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
// messages, in batches where the server has MULTIAPPEND, up to inFlight
// messages pipelined on a connection (see appender). Folders are shared
// among the connections given, one folder on one connection at a time:
// the server stores into different folders in parallel, while two
// connections appending to one folder only contend for its lock, and one
// connection keeps the restored messages of a folder in their order
// (except those of a refused batch, sent again one by one). A message the
// server refuses is counted and reported, and the others go on; an error of a connection or the catalog stops the restore (running
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
