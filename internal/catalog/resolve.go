package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrBadSnapshotRef: a snapshot reference that is neither an id nor a day.
var ErrBadSnapshotRef = errors.New("not a snapshot id nor a YYYY-MM-DD day")

// SnapshotFinder is what resolving a snapshot reads of a catalog.
type SnapshotFinder interface {
	LookupAccount(ctx context.Context, address string) (AccountID, error)
	AccountSnapshot(ctx context.Context, acct AccountID, id SnapshotID) (Snapshot, error)
	SnapshotOfDay(ctx context.Context, acct AccountID, day string) (Snapshot, error)
}

// FindSnapshot is how every entry point (commands, webmail, restores)
// turns what a person names into a snapshot: ref is a snapshot id, or a
// day YYYY-MM-DD for the account's last committed snapshot of that day.
// Only a committed snapshot of the account itself is found; any other
// (unknown, another account's, running or failed) is ErrNotFound, so that
// nobody learns of another account's snapshots by guessing ids.
func FindSnapshot(ctx context.Context, cat SnapshotFinder, address, ref string) (Snapshot, error) {
	acct, err := cat.LookupAccount(ctx, address)
	if err != nil {
		return Snapshot{}, err
	}
	return ResolveSnapshot(ctx, cat, acct, ref)
}

// ResolveSnapshot is FindSnapshot for an account already looked up (the
// webmail's session has its id).
func ResolveSnapshot(ctx context.Context, cat SnapshotFinder, acct AccountID, ref string) (Snapshot, error) {
	if _, err := time.Parse(time.DateOnly, ref); err == nil {
		return cat.SnapshotOfDay(ctx, acct, ref)
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return Snapshot{}, fmt.Errorf("snapshot %q: %w", ref, ErrBadSnapshotRef)
	}
	return cat.AccountSnapshot(ctx, acct, SnapshotID(id))
}

// FindSnapshotID is FindSnapshot of an id.
func FindSnapshotID(ctx context.Context, cat SnapshotFinder, address string, id SnapshotID) (Snapshot, error) {
	acct, err := cat.LookupAccount(ctx, address)
	if err != nil {
		return Snapshot{}, err
	}
	return cat.AccountSnapshot(ctx, acct, id)
}
