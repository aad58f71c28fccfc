package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// invariant is one query that returns a row for each violation of an
// invariant of docs/design.md, as a description.
type invariant struct {
	name  string
	query string
}

// invariants are checked by Inconsistencies. Each query returns one text
// column describing one problem.
var invariants = []invariant{
	{"committed snapshot still has staging rows", `
		SELECT 'snapshot ' || s.id || ' is committed but still has staging rows' FROM snapshots s
		WHERE s.state = 'committed' AND (
			EXISTS (SELECT 1 FROM staged_entries x WHERE x.snapshot_id = s.id) OR
			EXISTS (SELECT 1 FROM staged_ends x WHERE x.snapshot_id = s.id) OR
			EXISTS (SELECT 1 FROM staged_folders x WHERE x.snapshot_id = s.id) OR
			EXISTS (SELECT 1 FROM staged_mailboxes x WHERE x.snapshot_id = s.id))`},
	{"version opened or closed by an uncommitted snapshot", `
		SELECT 'entry ' || e.id || ' has first_snap ' || e.first_snap || coalesce(' and end_snap ' || CAST(e.end_snap AS TEXT), '') ||
			' of a snapshot that is not committed'
		FROM entries e WHERE EXISTS (SELECT 1 FROM snapshots s WHERE s.state != 'committed'
			AND (s.id = e.first_snap OR s.id = e.end_snap))
		UNION ALL
		SELECT 'folder version ' || f.id || ' (' || f.name || ') belongs to a snapshot that is not committed'
		FROM folders f WHERE EXISTS (SELECT 1 FROM snapshots s WHERE s.state != 'committed'
			AND (s.id = f.first_snap OR s.id = f.end_snap))`},
	{"empty validity interval", `
		SELECT 'entry ' || id || ' is valid for [' || first_snap || ', ' || end_snap || ')'
		FROM entries WHERE end_snap IS NOT NULL AND end_snap <= first_snap
		UNION ALL
		SELECT 'folder version ' || id || ' is valid for [' || first_snap || ', ' || end_snap || ')'
		FROM folders WHERE end_snap IS NOT NULL AND end_snap <= first_snap`},
	{"two live versions of one message", `
		SELECT 'mailbox ' || mailbox_id || ' uid ' || uid || ' has ' || count(*) || ' live versions'
		FROM entries WHERE end_snap IS NULL GROUP BY mailbox_id, uid HAVING count(*) > 1`},
	// Prune deletes what no kept snapshot sees; a commit only adds rows its
	// snapshot sees. So every version row is seen by a committed snapshot.
	{"version row no snapshot sees", `
		SELECT 'entry ' || e.id || ' [' || e.first_snap || ', ' || coalesce(CAST(e.end_snap AS TEXT), '') ||
			') is seen by no committed snapshot'
		FROM entries e JOIN mailboxes m ON m.id = e.mailbox_id
		WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.account_id = m.account_id AND s.state = 'committed'
			AND s.id >= e.first_snap AND (e.end_snap IS NULL OR s.id < e.end_snap))
		UNION ALL
		SELECT 'folder version ' || f.id || ' (' || f.name || ') is seen by no committed snapshot'
		FROM folders f
		WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.account_id = f.account_id AND s.state = 'committed'
			AND s.id >= f.first_snap AND (f.end_snap IS NULL OR s.id < f.end_snap))`},
	{"row of another account", `
		SELECT 'entry ' || e.id || ' names account ' || e.account_id || ', its mailbox ' || m.id || ' account ' || m.account_id
		FROM entries e JOIN mailboxes m ON m.id = e.mailbox_id WHERE e.account_id != m.account_id
		UNION ALL
		SELECT 'folder version ' || f.id || ' names account ' || f.account_id || ', its mailbox ' || m.id || ' account ' ||
			m.account_id
		FROM folders f JOIN mailboxes m ON m.id = f.mailbox_id WHERE f.account_id != m.account_id
		UNION ALL
		SELECT 'staging of snapshot ' || s.id || ' names account ' || x.account_id || ', the snapshot ' || s.account_id
		FROM snapshots s JOIN (SELECT snapshot_id, account_id FROM staged_entries UNION
			SELECT snapshot_id, account_id FROM staged_ends UNION SELECT snapshot_id, account_id FROM staged_folders UNION
			SELECT snapshot_id, account_id FROM staged_mailboxes) x ON x.snapshot_id = s.id
		WHERE x.account_id != s.account_id`},
	{"blob indexed in a pack that is not live", `
		SELECT 'blob ' || {{hex b.hash}} || ' is indexed in pack ' || p.id || ', which is ' || p.state
		FROM blob_index b JOIN blob_packs p ON p.id = b.pack WHERE p.state != 'live'`},
	{"garbage still named", `
		SELECT 'blob ' || {{hex g.hash}} || ' is garbage but a contents row names it'
		FROM garbage g WHERE EXISTS (SELECT 1 FROM contents c WHERE c.hash = g.hash)`},
	{"snapshot totals differ from its view", `
		WITH view AS (
			SELECT s.id, s.messages, s.bytes,
				(SELECT count(*) FROM entries e JOIN folders f ON f.mailbox_id = e.mailbox_id
					WHERE f.account_id = s.account_id AND f.first_snap <= s.id AND (f.end_snap IS NULL OR f.end_snap > s.id)
					AND e.first_snap <= s.id AND (e.end_snap IS NULL OR e.end_snap > s.id)) AS n,
				(SELECT coalesce(sum(c.size), 0) FROM entries e JOIN folders f ON f.mailbox_id = e.mailbox_id
					JOIN contents c ON c.id = e.content_id
					WHERE f.account_id = s.account_id AND f.first_snap <= s.id AND (f.end_snap IS NULL OR f.end_snap > s.id)
					AND e.first_snap <= s.id AND (e.end_snap IS NULL OR e.end_snap > s.id)) AS b
			FROM snapshots s WHERE s.state = 'committed')
		SELECT 'snapshot ' || id || ' records ' || messages || ' messages and ' || bytes || ' bytes, its view has ' ||
			n || ' and ' || b FROM view WHERE n != messages OR b != bytes`},
}

// Inconsistencies checks the catalog against the invariants of
// docs/design.md and returns one description per violation; none means the
// catalog is consistent. SQLite's own integrity and foreign key checks run
// first; the latter finds rows that name a missing content, mailbox or
// account.
func (c *DB) Inconsistencies(ctx context.Context) ([]string, error) {
	var out []string
	var checks []invariant
	if !c.d.pg { // PostgreSQL enforces its foreign keys and checks its pages itself
		checks = []invariant{
			{"sqlite integrity", `SELECT 'sqlite: ' || integrity_check FROM pragma_integrity_check WHERE integrity_check != 'ok'`},
			{"sqlite foreign keys", `SELECT 'foreign key: ' || "table" || ' row ' || rowid || ' names a missing ' || parent
				FROM pragma_foreign_key_check`},
		}
	}
	for _, q := range append(checks, invariants...) {
		for _, col := range []string{"g.hash", "b.hash"} {
			q.query = strings.ReplaceAll(q.query, "{{hex "+col+"}}", c.d.hex(col))
		}
		found, err := c.problems(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func (c *DB) problems(ctx context.Context, q invariant) ([]string, error) {
	rows, err := c.r.QueryContext(ctx, q.query)
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", q.name, err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (s string, err error) { return s, r.Scan(&s) })
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", q.name, err)
	}
	return out, nil
}

// StoredContent is a content row as the checker sees it.
type StoredContent struct {
	ID   int64
	Hash [32]byte
	Size int64
	// Referenced tells whether a message version of a committed snapshot,
	// or a staged entry, names it.
	Referenced bool
}

// Contents calls fn for every contents row, in id order, streaming.
func (c *DB) Contents(ctx context.Context, fn func(StoredContent) error) error {
	rows, err := c.r.QueryContext(ctx, `SELECT c.id, c.hash, c.size,
		EXISTS (SELECT 1 FROM entries e WHERE e.content_id = c.id) OR
		EXISTS (SELECT 1 FROM staged_entries x WHERE x.content_id = c.id)
		FROM contents c ORDER BY c.id`)
	if err != nil {
		return fmt.Errorf("listing contents: %w", err)
	}
	for rows.Next() {
		var sc StoredContent
		var hash []byte
		if err := rows.Scan(&sc.ID, &hash, &sc.Size, &sc.Referenced); err != nil {
			return errors.Join(err, rows.Close())
		}
		if len(hash) != len(sc.Hash) {
			return errors.Join(fmt.Errorf("content %d: hash of %d bytes", sc.ID, len(hash)), rows.Close())
		}
		copy(sc.Hash[:], hash)
		if err := fn(sc); err != nil {
			return errors.Join(err, rows.Close())
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}
