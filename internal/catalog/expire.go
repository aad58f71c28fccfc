package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// SnapshotRef is a snapshot row with its account's address: what the
// retention policy decides on.
type SnapshotRef struct {
	ID      SnapshotID
	Account AccountID
	Address string
	State   string
	Day     string
	TakenAt time.Time
	// Pinned: a pending or running restore is from this snapshot.
	Pinned bool
}

// AllSnapshots returns every snapshot row of every account, by id.
func (c *DB) AllSnapshots(ctx context.Context) ([]SnapshotRef, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT s.id, s.account_id, a.address, s.state, s.day, s.taken_at,
		`+pinned+` FROM snapshots s JOIN accounts a ON a.id = s.account_id ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("listing snapshots: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (SnapshotRef, error) {
		var s SnapshotRef
		var taken int64
		err := r.Scan(&s.ID, &s.Account, &s.Address, &s.State, &s.Day, &taken, &s.Pinned)
		s.TakenAt = time.UnixMilli(taken).UTC()
		return s, err
	})
}

// pinned is true for a snapshot s that an open restore request is from.
const pinned = `EXISTS (SELECT 1 FROM restores r WHERE r.snapshot_id = s.id AND r.status IN ('pending','running'))`

// Expiry counts what expiring a set of snapshots removes from the catalog
// (design.md, "Expiry of catalog rows").
type Expiry struct {
	Snapshots    int64 // snapshot rows
	Entries      int64 // message versions
	Folders      int64 // folder versions
	Mailboxes    int64 // mailbox identities
	Staged       int64 // staging rows of dropped failed runs
	Contents     int64 // contents rows freed; their blobs become garbage
	ContentBytes int64 // stored (compressed) size of those blobs
	// Skipped lists accounts left alone because a snapshot of theirs is
	// running; a later prune expires them.
	Skipped []AccountID
}

// infinite is the cut of an account that keeps no committed snapshot: every
// version row of it goes.
const infinite = math.MaxInt64

// querier is a read pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// cuts is the expiry of one call: the dropped snapshot ids and, per account
// that has some, the cut K: version rows with end_snap <= K are visible to no
// kept snapshot.
type cuts struct {
	drop    []SnapshotID
	cut     map[AccountID]int64
	skipped []AccountID
}

// params returns the JSON arguments ?1 (dropped ids) and ?2 ([account, K]
// pairs) of the expiry queries.
func (x *cuts) params() (string, string, error) {
	pairs := make([][2]int64, 0, len(x.cut))
	for a, k := range x.cut {
		pairs = append(pairs, [2]int64{int64(a), k})
	}
	d, err := json.Marshal(x.drop)
	if err != nil {
		return "", "", err
	}
	p, err := json.Marshal(pairs)
	return string(d), string(p), err
}

// computeCuts decides, for the snapshots asked to be dropped, which really
// go and the cut of each account. Accounts in busy (a snapshot of theirs is
// running) are skipped entirely. Snapshots that no longer exist, and
// running ones, are ignored.
func computeCuts(ctx context.Context, q querier, drop []SnapshotID, busy map[AccountID]bool) (*cuts, error) {
	want := make(map[SnapshotID]bool, len(drop))
	for _, id := range drop {
		want[id] = true
	}
	rows, err := q.QueryContext(ctx, `SELECT s.id, s.account_id, s.state, `+pinned+` FROM snapshots s ORDER BY s.id`)
	if err != nil {
		return nil, err
	}
	type acct struct {
		dropped []SnapshotID
		keptMin int64 // smallest kept committed id, 0 if none
	}
	accts := map[AccountID]*acct{}
	for rows.Next() {
		var id SnapshotID
		var a AccountID
		var state string
		var pin bool
		if err := rows.Scan(&id, &a, &state, &pin); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		ac := accts[a]
		if ac == nil {
			ac = &acct{}
			accts[a] = ac
		}
		switch {
		case want[id] && state != StateRunning && !pin:
			ac.dropped = append(ac.dropped, id)
		case state == StateCommitted && ac.keptMin == 0:
			ac.keptMin = int64(id)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	x := &cuts{drop: []SnapshotID{}, cut: map[AccountID]int64{}}
	for a, ac := range accts {
		if len(ac.dropped) == 0 {
			continue
		}
		if busy[a] {
			x.skipped = append(x.skipped, a)
			continue
		}
		x.drop = append(x.drop, ac.dropped...)
		x.cut[a] = ac.keptMin
		if ac.keptMin == 0 {
			x.cut[a] = infinite
		}
	}
	return x, nil
}

// The doomed queries select the ids of the rows an expiry deletes. ?1 is
// the JSON array of dropped snapshot ids, ?2 the JSON array of [account, K].
// They give the same rows before the expiry (the plan) as inside it, before
// each table's deletion.
// doomed returns the doomed* queries and stagedOfDropped in the dialect.
func (d dialect) doomed() (entries, folders, mailboxes, contents, staged string) {
	cutCTE := `WITH cut(account_id, k) AS (SELECT a, b FROM ` + d.pairs("?2") + ` p),
		dropped(id) AS (SELECT id FROM ` + d.ids("?1") + ` i) `
	entries = cutCTE + `SELECT e.id FROM entries e JOIN mailboxes m ON m.id = e.mailbox_id
		JOIN cut ON cut.account_id = m.account_id WHERE coalesce(e.end_snap, 9223372036854775807) <= cut.k`
	folders = cutCTE + `SELECT f.id FROM folders f JOIN cut ON cut.account_id = f.account_id
		WHERE coalesce(f.end_snap, 9223372036854775807) <= cut.k`
	// A mailbox identity survives if a surviving folder version, entry or
	// staging row of a kept snapshot names it.
	mailboxes = cutCTE + `SELECT mb.id FROM mailboxes mb JOIN cut ON cut.account_id = mb.account_id
		WHERE NOT EXISTS (SELECT 1 FROM folders f WHERE f.mailbox_id = mb.id
			AND coalesce(f.end_snap, 9223372036854775807) > cut.k)
		AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.mailbox_id = mb.id
			AND coalesce(e.end_snap, 9223372036854775807) > cut.k)
		AND NOT EXISTS (SELECT 1 FROM staged_entries x WHERE x.mailbox_id = mb.id
			AND x.snapshot_id NOT IN (SELECT id FROM dropped))
		AND NOT EXISTS (SELECT 1 FROM staged_mailboxes x WHERE x.mailbox_id = mb.id
			AND x.snapshot_id NOT IN (SELECT id FROM dropped))
		AND NOT EXISTS (SELECT 1 FROM staged_folders x WHERE x.mailbox_id = mb.id
			AND x.snapshot_id NOT IN (SELECT id FROM dropped))`
	// A contents row survives if a surviving entry or a staging row of a
	// kept snapshot names it. Rows nothing named before are freed too.
	contents = cutCTE + `SELECT c.id FROM contents c
		WHERE NOT EXISTS (SELECT 1 FROM entries e JOIN mailboxes m ON m.id = e.mailbox_id
			WHERE e.content_id = c.id AND coalesce(e.end_snap, 9223372036854775807) >
				coalesce((SELECT k FROM cut WHERE cut.account_id = m.account_id), 0))
		AND NOT EXISTS (SELECT 1 FROM staged_entries x WHERE x.content_id = c.id
			AND x.snapshot_id NOT IN (SELECT id FROM dropped))`
	ids := d.ids("?1")
	staged = `SELECT
		(SELECT count(*) FROM staged_entries WHERE snapshot_id IN (SELECT id FROM ` + ids + ` i)) +
		(SELECT count(*) FROM staged_ends WHERE snapshot_id IN (SELECT id FROM ` + ids + ` i)) +
		(SELECT count(*) FROM staged_folders WHERE snapshot_id IN (SELECT id FROM ` + ids + ` i)) +
		(SELECT count(*) FROM staged_mailboxes WHERE snapshot_id IN (SELECT id FROM ` + ids + ` i))`
	return entries, folders, mailboxes, contents, staged
}

// count runs the counting queries of an expiry.
func (d dialect) count(ctx context.Context, q querier, x *cuts) (Expiry, error) {
	doomedEntries, doomedFolders, doomedMailboxes, doomedContents, stagedOfDropped := d.doomed()
	e := Expiry{Snapshots: int64(len(x.drop)), Skipped: x.skipped}
	dropped, pairs, err := x.params()
	if err != nil {
		return e, err
	}
	for _, c := range []struct {
		n     *int64
		query string
	}{
		{&e.Entries, `SELECT count(*) FROM (` + doomedEntries + `) x`},
		{&e.Folders, `SELECT count(*) FROM (` + doomedFolders + `) x`},
		{&e.Mailboxes, `SELECT count(*) FROM (` + doomedMailboxes + `) x`},
		{&e.Staged, stagedOfDropped},
	} {
		if err := q.QueryRowContext(ctx, c.query, argsFor(c.query, dropped, pairs)...).Scan(c.n); err != nil {
			return e, fmt.Errorf("counting expired rows: %w", err)
		}
	}
	err = q.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(stored_size), 0) FROM contents
		WHERE id IN (`+doomedContents+`)`, dropped, pairs).Scan(&e.Contents, &e.ContentBytes)
	if err != nil {
		return e, fmt.Errorf("counting freed contents: %w", err)
	}
	return e, nil
}

// PlanExpiry tells what Expire(drop) would remove now, without changing
// anything.
func (c *DB) PlanExpiry(ctx context.Context, drop []SnapshotID) (Expiry, error) {
	busy, err := c.busyAccounts(ctx, c.r, c.clk.Now(), nil)
	if err != nil {
		return Expiry{}, err
	}
	x, err := computeCuts(ctx, c.r, drop, busy)
	if err != nil {
		return Expiry{}, fmt.Errorf("planning expiry: %w", err)
	}
	return c.d.count(ctx, c.r, x)
}

// Expire drops the given snapshots (running ones, and those an open restore
// is from, excepted) in one transaction, with every row only they made
// visible, and moves the contents rows nothing names any more to garbage
// (design.md, "Expiry of catalog rows"). Accounts with a running snapshot
// are skipped. Records of restored messages older than appendsBefore go
// too. It returns what it removed.
func (c *DB) Expire(ctx context.Context, drop []SnapshotID, appendsBefore time.Time) (Expiry, error) {
	var e Expiry
	err := c.tx(ctx, func(tx *sql.Tx) error {
		now := c.clk.Now()
		busy, err := c.busyAccounts(ctx, tx, now, tx)
		if err != nil {
			return err
		}
		x, err := computeCuts(ctx, tx, drop, busy)
		if err != nil {
			return err
		}
		if e, err = c.d.count(ctx, tx, x); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM restore_appends WHERE created_at < ?`,
			appendsBefore.UnixMilli()); err != nil {
			return fmt.Errorf("deleting old restore records: %w", err)
		}
		return c.d.applyExpiry(ctx, tx, x, now)
	})
	if err != nil {
		return Expiry{}, fmt.Errorf("expiring snapshots: %w", err)
	}
	return e, nil
}

func (d dialect) applyExpiry(ctx context.Context, tx *sql.Tx, x *cuts, now time.Time) error {
	dropped, pairs, err := x.params()
	if err != nil {
		return err
	}
	doomedEntries, doomedFolders, doomedMailboxes, doomedContents, _ := d.doomed()
	ids := `(SELECT id FROM ` + d.ids("?1") + ` i)`
	steps := []struct{ what, query string }{
		{"message versions", `DELETE FROM entries WHERE id IN (` + doomedEntries + `)`},
		{"folder versions", `DELETE FROM folders WHERE id IN (` + doomedFolders + `)`},
		{"staged entries", `DELETE FROM staged_entries WHERE snapshot_id IN ` + ids},
		{"staged ends", `DELETE FROM staged_ends WHERE snapshot_id IN ` + ids},
		{"staged folders", `DELETE FROM staged_folders WHERE snapshot_id IN ` + ids},
		{"staged mailboxes", `DELETE FROM staged_mailboxes WHERE snapshot_id IN ` + ids},
		{"mailboxes", `DELETE FROM mailboxes WHERE id IN (` + doomedMailboxes + `)`},
		{"snapshots", `DELETE FROM snapshots WHERE id IN ` + ids},
		{"garbage", `INSERT INTO garbage(hash, stored_size, marked_at) SELECT hash, stored_size, ?3 FROM contents
			WHERE id IN (` + doomedContents + `) ON CONFLICT(hash) DO NOTHING`},
		{"contents", `DELETE FROM contents WHERE id IN (` + doomedContents + `)`},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.query, argsFor(s.query, dropped, pairs, now.UnixMilli())...); err != nil {
			return fmt.Errorf("deleting %s: %w", s.what, err)
		}
	}
	return nil
}

// busyAccounts returns the accounts with a running snapshot whose owner is
// alive. With a transaction, the runs of dead owners are first marked
// failed, as BeginSnapshot does; without, they are only not counted.
func (c *DB) busyAccounts(ctx context.Context, q querier, now time.Time, tx *sql.Tx) (map[AccountID]bool, error) {
	runs, err := holders(ctx, q, `SELECT id, account_id, owner, heartbeat_at FROM snapshots WHERE state = 'running'`)
	if err != nil {
		return nil, fmt.Errorf("listing running snapshots: %w", err)
	}
	busy := map[AccountID]bool{}
	for _, r := range runs {
		reason := c.deadReason(r.owner, r.heartbeat, now)
		if reason == "" {
			busy[r.acct] = true
			continue
		}
		if tx == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE snapshots SET state='failed', error=?, finished_at=?
			WHERE id = ? AND state = 'running'`, reason, now.UnixMilli(), r.id); err != nil {
			return nil, err
		}
	}
	return busy, nil
}

// deadReason tells why the holder of a running row or a lock is taken for
// dead, or "" if it is alive: its process on this host is gone, or it has
// not shown a heartbeat for StaleAfter.
func (c *DB) deadReason(owner string, heartbeat int64, now time.Time) string {
	age := now.Sub(time.UnixMilli(heartbeat))
	switch {
	case owner != c.owner && ownerGone(owner):
		return fmt.Sprintf("interrupted: process %s is gone", owner)
	case age > c.staleAfter:
		return fmt.Sprintf("interrupted: no heartbeat from %s for %s", owner, age.Round(time.Second))
	}
	return ""
}
