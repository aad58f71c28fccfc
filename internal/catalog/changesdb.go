package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Changes is what changed in an account's mailbox between two of its
// committed snapshots (docs/design.md, "Changes between days").
type Changes struct {
	From, To SnapshotID
	Folders  []FolderChange
	Messages []MessageChange
}

// Changes compares two committed snapshots of one account, from before
// to. It reads only the message versions that went or came between them.
func (c *DB) Changes(ctx context.Context, from, to Snapshot) (Changes, error) {
	ch := Changes{From: from.ID, To: to.ID}
	if err := committed(from); err != nil {
		return ch, err
	}
	if err := committed(to); err != nil {
		return ch, err
	}
	if from.Account != to.Account || from.ID >= to.ID {
		return ch, fmt.Errorf("changes from snapshot %d to %d: not two days of one account in order", from.ID, to.ID)
	}
	fa, err := c.dayFolders(ctx, from)
	if err != nil {
		return ch, err
	}
	fb, err := c.dayFolders(ctx, to)
	if err != nil {
		return ch, err
	}
	if err := c.countUnmatched(ctx, from, fa, fb); err != nil {
		return ch, err
	}
	if err := c.countUnmatched(ctx, to, fb, fa); err != nil {
		return ch, err
	}
	// Alive in from and ended by to, found by the account's ended
	// versions (entries_account_end); come after from and alive in to,
	// found folder by folder of to (entries_mailbox).
	gone, err := c.dayVersions(ctx, `SELECT e.id, f.name, e.uid, e.content_id, e.flags FROM entries e
		`+c.d.firstJoin()+` folders f ON f.mailbox_id = e.mailbox_id AND f.account_id = ?1
			AND f.first_snap <= ?2 AND (f.end_snap IS NULL OR f.end_snap > ?2)
		WHERE e.account_id = ?1 AND e.end_snap > ?2 AND e.end_snap <= ?3 AND e.first_snap <= ?2
		ORDER BY e.id`, from.Account, from.ID, to.ID)
	if err != nil {
		return ch, err
	}
	came, err := c.dayVersions(ctx, `SELECT e.id, f.name, e.uid, e.content_id, e.flags FROM folders f
		`+c.d.firstJoin()+` entries e ON e.mailbox_id = f.mailbox_id AND e.first_snap > ?3 AND e.first_snap <= ?2
		WHERE f.account_id = ?1 AND f.first_snap <= ?2 AND (f.end_snap IS NULL OR f.end_snap > ?2)
			AND (e.end_snap IS NULL OR e.end_snap > ?2)
		ORDER BY e.id`, to.Account, to.ID, from.ID)
	if err != nil {
		return ch, err
	}
	inA, err := c.foldersHolding(ctx, from, contentsOf(came))
	if err != nil {
		return ch, err
	}
	inB, err := c.foldersHolding(ctx, to, contentsOf(gone))
	if err != nil {
		return ch, err
	}
	var rename map[string]string
	ch.Folders, rename = classifyFolders(fa, fb, sharesMessages(gone, came))
	ch.Messages = classifyMessages(gone, came, rename,
		func(k int64) []string { return inA[k] }, func(k int64) []string { return inB[k] })
	return ch, nil
}

// dayFolders lists the folders of s, without their message counts
// (countUnmatched adds the few that are needed).
func (c *DB) dayFolders(ctx context.Context, s Snapshot) ([]DayFolder, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT f.name, coalesce(m.uidvalidity, 0), f.subscribed, coalesce(f.mailbox_id, 0)
		FROM folders f LEFT JOIN mailboxes m ON m.id = f.mailbox_id
		WHERE f.account_id = ?1 AND f.first_snap <= ?2 AND (f.end_snap IS NULL OR f.end_snap > ?2)
		ORDER BY f.name`, s.Account, s.ID)
	if err != nil {
		return nil, fmt.Errorf("folders of snapshot %d: %w", s.ID, err)
	}
	return scanAll(rows, func(r *sql.Rows) (DayFolder, error) {
		var f DayFolder
		return f, r.Scan(&f.Name, &f.UIDValidity, &f.Subscribed, &f.mailbox)
	})
}

// countUnmatched counts the messages, in s, of the folders of s whose name
// the other day lacks: the deleted, created or renamed ones, the only ones
// whose count the comparison needs.
func (c *DB) countUnmatched(ctx context.Context, s Snapshot, fs, other []DayFolder) error {
	names := make(map[string]bool, len(other))
	for _, f := range other {
		names[f.Name] = true
	}
	for i := range fs {
		if names[fs[i].Name] || fs[i].mailbox == 0 {
			continue
		}
		if err := c.readRow(ctx, `SELECT count(*) FROM entries e WHERE e.mailbox_id = ?1 AND e.first_snap <= ?2
			AND (e.end_snap IS NULL OR e.end_snap > ?2)`, fs[i].mailbox, s.ID).Scan(&fs[i].Messages); err != nil {
			return fmt.Errorf("counting folder %q of snapshot %d: %w", fs[i].Name, s.ID, err)
		}
	}
	return nil
}

// dayVersions reads message versions: the query's rows are id, folder
// name, uid, content and flags.
func (c *DB) dayVersions(ctx context.Context, query string, args ...any) ([]DayVersion, error) {
	rows, err := c.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("changes between snapshots %v and %v: %w", args[1], args[2], err)
	}
	return scanAll(rows, func(r *sql.Rows) (DayVersion, error) {
		var v DayVersion
		return v, r.Scan(&v.ID, &v.Folder, &v.UID, &v.Content, &v.Flags)
	})
}

func contentsOf(vs []DayVersion) []int64 {
	out := make([]int64, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Content)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// foldersHolding returns, for each content, the folders of s that hold it.
func (c *DB) foldersHolding(ctx context.Context, s Snapshot, contents []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	for start := 0; start < len(contents); start += 500 {
		chunk := contents[start:min(start+500, len(contents))]
		args := []any{s.Account, s.ID}
		marks := make([]string, len(chunk))
		for i, k := range chunk {
			args = append(args, k)
			marks[i] = "?" // numbered after ?1 and ?2, which come first in the text
		}
		rows, err := c.r.QueryContext(ctx, `SELECT DISTINCT e.content_id, f.name FROM entries e
			`+c.d.firstJoin()+` folders f ON f.mailbox_id = e.mailbox_id AND f.account_id = ?1
				AND f.first_snap <= ?2 AND (f.end_snap IS NULL OR f.end_snap > ?2)
			WHERE e.account_id = ?1 AND e.first_snap <= ?2 AND (e.end_snap IS NULL OR e.end_snap > ?2)
			AND e.content_id IN (`+strings.Join(marks, ", ")+`) ORDER BY e.content_id, f.name`, args...)
		if err != nil {
			return nil, fmt.Errorf("folders holding contents in snapshot %d: %w", s.ID, err)
		}
		type pair struct {
			content int64
			folder  string
		}
		pairs, err := scanAll(rows, func(r *sql.Rows) (pair, error) {
			var p pair
			return p, r.Scan(&p.content, &p.folder)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			out[p.content] = append(out[p.content], p.folder)
		}
	}
	return out, nil
}

// EndedIn counts the message versions and the folder versions that
// snapshot s ended: an upper bound of what went with it (a flag change or
// a move ends a version too), read by index, so that the nightly warning
// (docs/design.md, "Changes between days") compares days only when
// something went.
func (c *DB) EndedIn(ctx context.Context, s Snapshot) (messages, folders int, err error) {
	err = c.readRow(ctx, `SELECT (SELECT count(*) FROM entries WHERE end_snap = ?1),
		(SELECT count(*) FROM folders WHERE account_id = ?2 AND end_snap = ?1)`, s.ID, s.Account).Scan(&messages, &folders)
	if err != nil {
		return 0, 0, fmt.Errorf("counting what snapshot %d ended: %w", s.ID, err)
	}
	return messages, folders, nil
}

// Vanished counts, for each of the account's snapshots, the messages that
// vanished with it: versions it ended whose content is in no folder of it
// (docs/design.md, "Changes between days"). Snapshots that ended none are
// absent. One query over the versions ended, so its cost follows the
// deletions, not the mailbox.
func (c *DB) Vanished(ctx context.Context, acct AccountID) (map[SnapshotID]int, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT e.end_snap, count(*) FROM entries e
		WHERE e.account_id = ?1 AND e.end_snap IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM entries l WHERE l.account_id = ?1 AND l.content_id = e.content_id
			AND l.first_snap <= e.end_snap AND (l.end_snap IS NULL OR l.end_snap > e.end_snap))
		GROUP BY e.end_snap`, acct)
	if err != nil {
		return nil, fmt.Errorf("counting vanished messages of account %d: %w", acct, err)
	}
	type day struct {
		snap SnapshotID
		n    int
	}
	days, err := scanAll(rows, func(r *sql.Rows) (day, error) {
		var d day
		return d, r.Scan(&d.snap, &d.n)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[SnapshotID]int, len(days))
	for _, d := range days {
		out[d.snap] = d.n
	}
	return out, nil
}
