package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// DayHit is one message a search over every kept day found: one content,
// with each of the account's versions of it.
type DayHit struct {
	Content  int64
	Versions []HitVersion // by first snapshot, then id
}

// HitVersion is one version of a found message: in Folder from snapshot
// FirstSnap up to, not including, EndSnap (0: it has not ended).
type HitVersion struct {
	Message
	Folder             string
	FirstSnap, EndSnap SnapshotID
}

// IndexProgress counts the messages of snapshot s and those of them the
// full-text index holds: a search of s may miss messages while indexed <
// total (the indexer fills the index after each snapshot).
func (c *DB) IndexProgress(ctx context.Context, s Snapshot) (indexed, total int, err error) {
	if err := committed(s); err != nil {
		return 0, 0, err
	}
	err = c.readRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM search_text st
			WHERE st.rowid = e.content_id) THEN 1 ELSE 0 END), 0)
		FROM entries e WHERE `+inView, s.ID, s.Account).Scan(&total, &indexed)
	if err != nil {
		return 0, 0, fmt.Errorf("index progress of snapshot %d: %w", s.ID, err)
	}
	return indexed, total, nil
}

// prefixed scans some columns before a Message's.
type prefixed struct {
	r     *sql.Rows
	first []any
}

func (p prefixed) Scan(dest ...any) error { return p.r.Scan(append(p.first, dest...)...) }

// SearchDays finds the account's messages that match query (the syntax of
// Search) in any of its snapshots: up to max contents, newest stored
// first, each with every version the account holds of it
// (docs/design.md, "Changes between days"). more tells that it stopped at
// max.
func (b *Browser) SearchDays(ctx context.Context, acct AccountID, query string, max int) (hits []DayHit, more bool, err error) {
	match := b.d.searchQuery(query)
	if match == "" {
		return nil, false, nil
	}
	// The index's rowid order (newest content first) is the outer loop, so
	// LIMIT ends the scan early; a content counts if this account has it.
	cids, err := b.ids(ctx, `SELECT m.cid FROM (SELECT rowid AS cid FROM search_text WHERE `+b.d.searchMatch("?2")+`
		ORDER BY rowid DESC) m
		WHERE EXISTS (SELECT 1 FROM entries e WHERE e.content_id = m.cid AND e.account_id = ?1)
		LIMIT ?3`, acct, match, max)
	if err != nil {
		return nil, false, fmt.Errorf("searching every day of account %d: %w", acct, err)
	}
	at := make(map[int64]int, len(cids))
	for i, cid := range cids {
		at[cid] = i
		hits = append(hits, DayHit{Content: cid})
	}
	for start := 0; start < len(cids); start += 500 {
		chunk := cids[start:min(start+500, len(cids))]
		args := []any{acct}
		marks := make([]string, len(chunk))
		for i, k := range chunk {
			args = append(args, k)
			marks[i] = "?" // numbered after ?1, which comes first in the text
		}
		rows, err := b.query(ctx, `SELECT e.content_id, mb.name, e.first_snap, coalesce(e.end_snap, 0), `+messageCols+`
			FROM entries e JOIN contents c ON c.id = e.content_id JOIN mailboxes mb ON mb.id = e.mailbox_id
			WHERE e.account_id = ?1 AND e.content_id IN (`+strings.Join(marks, ", ")+`)
			ORDER BY e.content_id, e.first_snap, e.id`, args...)
		if err != nil {
			return nil, false, fmt.Errorf("versions of found messages of account %d: %w", acct, err)
		}
		type row struct {
			cid int64
			v   HitVersion
		}
		vs, err := scanAll(rows, func(r *sql.Rows) (row, error) {
			var x row
			var err error
			x.v.Message, err = scanMessage(prefixed{r, []any{&x.cid, &x.v.Folder, &x.v.FirstSnap, &x.v.EndSnap}})
			return x, err
		})
		if err != nil {
			return nil, false, err
		}
		for _, x := range vs {
			h := &hits[at[x.cid]]
			h.Versions = append(h.Versions, x.v)
		}
	}
	return hits, len(cids) >= max, nil
}
