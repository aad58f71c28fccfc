package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/imapconn"
)

// Targets of a restore.
const (
	TargetOriginal = "original" // each message back into its folder
	TargetSeparate = "separate" // into Restored/YYYY-MM-DD/<folder>
)

// SeparateRoot is the top folder of separate restores.
const SeparateRoot = "Restored"

// ErrNoSuchFolder: none of the folders asked for is in the snapshot.
var ErrNoSuchFolder = errors.New("no such folder in the snapshot")

// Catalog is what a restore needs of the catalog.
type Catalog interface {
	catalog.Browsing
	catalog.Restores
}

// Request says what to restore.
type Request struct {
	Snapshot catalog.Snapshot // committed; its Account is the account restored
	Address  string           // the account's address, to log in as (Runner)
	Folders  []string         // folders (with their descendants); empty: all
	// Messages, if not empty, restores only these message versions of the
	// snapshot (entry ids: a selection of the Changes view), and creates
	// only the folders they go to.
	Messages []int64
	Target   string // TargetOriginal (default) or TargetSeparate
}

// ErrNotInSnapshot: a selected message is not in the snapshot.
var ErrNotInSnapshot = errors.New("a selected message is not in the backup of that day")

// Message is a message of the backup to append.
type Message struct {
	SourceUID    uint32
	Hash         [32]byte
	Size         int64
	Flags        []string // without \Recent and \Deleted
	InternalDate time.Time
}

// FolderPlan is what the restore does in one live folder.
type FolderPlan struct {
	Source    string    // the folder in the backup
	Target    string    // the live folder it goes to
	Create    bool      // the target is not live: CREATE it
	Subscribe bool      // SUBSCRIBE it after creating it
	Append    []Message // missing from the live account
	Present   int       // still live in the target folder
	Elsewhere int       // still live, in another folder (moved)
}

// Plan is a restore computed against the live account, not yet executed.
type Plan struct {
	Request Request
	Folders []FolderPlan // parents before children
	Fetched int          // live messages downloaded to hash them
}

// Totals sums the plan.
func (p *Plan) Totals() (appendN, present, elsewhere, create int, bytes int64) {
	for _, f := range p.Folders {
		appendN += len(f.Append)
		present += f.Present
		elsewhere += f.Elsewhere
		if f.Create {
			create++
		}
		for _, m := range f.Append {
			bytes += m.Size
		}
	}
	return appendN, present, elsewhere, create, bytes
}

// MakePlan compares the snapshot with the live account, read-only.
func MakePlan(ctx context.Context, cat Catalog, cn *imapconn.Conn, req Request) (*Plan, error) {
	if req.Target == "" {
		req.Target = TargetOriginal
	}
	if req.Target != TargetOriginal && req.Target != TargetSeparate {
		return nil, fmt.Errorf("restore target %q: want %q or %q", req.Target, TargetOriginal, TargetSeparate)
	}
	folders, err := cat.Folders(ctx, req.Snapshot)
	if err != nil {
		return nil, err
	}
	folders = inScope(folders, req.Folders)
	if len(req.Folders) > 0 && len(folders) == 0 {
		return nil, fmt.Errorf("folders %q of the snapshot of %s: %w", req.Folders, req.Snapshot.Day, ErrNoSuchFolder)
	}
	live, err := buildIndex(ctx, cat, req.Snapshot.Account, cn)
	if err != nil {
		return nil, err
	}
	p := &Plan{Request: req, Fetched: live.fetched}
	selected := map[int64]bool{}
	for _, id := range req.Messages {
		selected[id] = true
	}
	found := 0
	for _, f := range folders {
		fp := FolderPlan{Source: f.Name, Target: targetName(req, f, live.delim)}
		if err := cat.Messages(ctx, req.Snapshot, f.MailboxID, func(m catalog.Message) error {
			if len(selected) > 0 && !selected[m.EntryID] {
				return nil
			}
			found++
			fp.Append = append(fp.Append, Message{SourceUID: m.UID, Hash: m.Hash, Size: m.Size,
				Flags: restoredFlags(m.Flags), InternalDate: m.InternalDate})
			return nil
		}); err != nil && f.MailboxID != 0 {
			return nil, err
		}
		if len(selected) > 0 && len(fp.Append) == 0 {
			continue // a selection touches only its messages' folders
		}
		if !live.has(fp.Target) {
			// Recreate a deleted folder of the backup; a separate restore
			// creates only folders that receive messages (below).
			fp.Create = req.Target == TargetOriginal && f.MailboxID != 0
			fp.Subscribe = fp.Create && f.Subscribed
		}
		p.Folders = append(p.Folders, fp)
	}
	if len(selected) > 0 && found != len(selected) {
		return nil, fmt.Errorf("%d of %d selected messages in the backup of %s: %w", found, len(selected),
			req.Snapshot.Day, ErrNotInSnapshot)
	}
	p.match(live)
	for i := range p.Folders {
		f := &p.Folders[i]
		if req.Target == TargetSeparate && len(f.Append) > 0 && !live.has(f.Target) {
			f.Create, f.Subscribe = true, true
		}
	}
	slices.SortStableFunc(p.Folders, func(a, b FolderPlan) int { return strings.Compare(a.Target, b.Target) })
	return p, nil
}

// match removes from each folder's Append the copies that are still live:
// first against live copies in the target folder, then anywhere else.
func (p *Plan) match(live *liveIndex) {
	for i := range p.Folders {
		f := &p.Folders[i]
		f.Append = slices.DeleteFunc(f.Append, func(m Message) bool {
			if n := live.copies[m.Hash][f.Target]; n > 0 {
				live.copies[m.Hash][f.Target] = n - 1
				f.Present++
				return true
			}
			return false
		})
	}
	for i := range p.Folders {
		f := &p.Folders[i]
		f.Append = slices.DeleteFunc(f.Append, func(m Message) bool {
			for folder, n := range live.copies[m.Hash] {
				if n > 0 {
					live.copies[m.Hash][folder] = n - 1
					f.Elsewhere++
					return true
				}
			}
			return false
		})
	}
}

// inScope keeps the folders named in scope and their descendants; all of
// them when scope is empty.
func inScope(folders []catalog.Folder, scope []string) []catalog.Folder {
	if len(scope) == 0 {
		return folders
	}
	return slices.DeleteFunc(slices.Clone(folders), func(f catalog.Folder) bool {
		for _, s := range scope {
			if f.Name == s || (f.Delimiter != "" && strings.HasPrefix(f.Name, s+f.Delimiter)) {
				return false
			}
		}
		return true
	})
}

// targetName is where folder f of the backup goes: its own name (with the
// live server's delimiter), or under Restored/YYYY-MM-DD.
func targetName(req Request, f catalog.Folder, delim string) string {
	name := f.Name
	if f.Delimiter != "" && f.Delimiter != delim {
		name = strings.Join(strings.Split(name, f.Delimiter), delim)
	}
	if req.Target == TargetSeparate {
		return SeparateRoot + delim + req.Snapshot.Day + delim + name
	}
	return name
}

// restoredFlags drops \Recent (the server sets it) and \Deleted (a restored
// message must not vanish at the next EXPUNGE).
func restoredFlags(flags []string) []string {
	return slices.DeleteFunc(slices.Clone(flags), func(f string) bool {
		return strings.EqualFold(f, `\Recent`) || strings.EqualFold(f, `\Deleted`)
	})
}

// WriteTo prints the plan for people.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	var cw bytes.Buffer // written whole at the end
	for _, f := range p.Folders {
		what := ""
		if f.Create {
			what = " (recreate"
			if f.Subscribe {
				what += ", subscribe"
			}
			what += ")"
		}
		fmt.Fprintf(&cw, "%-40q %d to restore, %d still there, %d moved elsewhere%s\n",
			f.Target, len(f.Append), f.Present, f.Elsewhere, what)
	}
	n, present, elsewhere, create, bytes := p.Totals()
	fmt.Fprintf(&cw, "total: %d messages (%d bytes) to restore, %d folders to recreate; %d still there, %d moved\n",
		n, bytes, create, present, elsewhere)
	n, err := w.Write(cw.Bytes())
	return int64(n), err
}
