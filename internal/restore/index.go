// Package restore owns bringing a snapshot's messages back into the live
// account (docs/workflows.md, "Restore"): the Runner, the one entry point
// of every restore (`mtm restore` and the restore flow alike: dial, the
// settle rule, plan, execute, and the wording of a partial failure); the
// live index (every live message by the SHA-256 of its bytes, mostly
// without downloading it); the plan (per target folder, what is missing,
// what is still present, which folders to recreate); and its execution
// (CREATE, SUBSCRIBE and pipelined APPENDs of the exact stored bytes,
// flags and INTERNALDATE).
//
// Nothing live is changed or deleted. Every execution recomputes the plan
// from the live mailbox, so a second run appends nothing and a run that
// died at any point resumes without a duplicate.
package restore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/catalog"
	"mtm/internal/imapconn"
)

// liveIndex is what is live in the account: its folders, and how many
// copies of each content every folder holds.
type liveIndex struct {
	folders map[string]imapconn.Folder
	copies  map[[32]byte]map[string]int
	delim   string // the server's hierarchy delimiter, "" if it has none
	fetched int    // messages downloaded to be hashed
}

// has tells whether folder name is live (INBOX in any case).
func (x *liveIndex) has(name string) bool {
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	_, ok := x.folders[name]
	return ok
}

func (x *liveIndex) add(folder string, h [32]byte) {
	m := x.copies[h]
	if m == nil {
		m = map[string]int{}
		x.copies[h] = m
	}
	m[folder]++
}

// buildIndex lists and examines every live folder, read-only, and hashes
// every live message: from the catalog where the mailbox identity and UID
// are known and the size agrees, by downloading it otherwise.
func buildIndex(ctx context.Context, cat catalog.Restores, acct catalog.AccountID, cn *imapconn.Conn) (*liveIndex, error) {
	folders, err := cn.ListFolders()
	if err != nil {
		return nil, err
	}
	x := &liveIndex{folders: map[string]imapconn.Folder{}, copies: map[[32]byte]map[string]int{}}
	for _, f := range folders {
		x.folders[f.Name] = f
		if x.delim == "" {
			x.delim = f.Delimiter
		}
	}
	if x.delim == "" {
		x.delim = "/" // a flat server: the restored folder's name just contains "/"
	}
	for _, f := range folders {
		if !f.Selectable {
			continue
		}
		if err := x.indexFolder(ctx, cat, acct, cn, f.Name); err != nil {
			return nil, fmt.Errorf("reading live folder %q: %w", f.Name, err)
		}
	}
	return x, nil
}

func (x *liveIndex) indexFolder(ctx context.Context, cat catalog.Restores, acct catalog.AccountID, cn *imapconn.Conn, name string) error {
	sel, err := cn.C.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeNonExistent {
		delete(x.folders, name) // deleted since LIST
		return nil
	}
	if err != nil {
		return fmt.Errorf("examine: %w", err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	known, err := cat.KnownUIDs(ctx, acct, name, sel.UIDValidity)
	if err != nil {
		return err
	}
	unknown := imap.UIDSet{}
	cmd := cn.C.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf, err := msg.Collect()
		if err != nil {
			return errors.Join(fmt.Errorf("fetch: %w", err), cmd.Close())
		}
		k, ok := known[uint32(buf.UID)]
		if ok && (k.Size < 0 || k.Size == buf.RFC822Size) {
			x.add(name, k.Hash)
		} else {
			unknown.AddNum(buf.UID)
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if len(unknown) == 0 {
		return nil
	}
	return x.hashUnknown(cn.C, name, unknown)
}

// hashUnknown downloads the messages of set, hashing each as it streams.
func (x *liveIndex) hashUnknown(c *imapclient.Client, name string, set imap.UIDSet) error {
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			body, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || body.Literal == nil {
				continue
			}
			h := sha256.New()
			if _, err := io.Copy(h, body.Literal); err != nil {
				return errors.Join(fmt.Errorf("fetch: %w", err), cmd.Close())
			}
			var sum [32]byte
			h.Sum(sum[:0])
			x.add(name, sum)
			x.fetched++
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	return nil
}
