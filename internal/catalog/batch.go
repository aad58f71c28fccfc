package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Content describes a durable blob and its header summary.
type Content struct {
	Hash           [32]byte
	Size           int64
	StoredSize     int64
	From, To, Cc   string
	Subject        string
	Date           time.Time
	MessageID      string
	HasAttachments bool
}

// Batch collects staging for one transaction. Everything a batch names must
// be durable before Flush: its blobs are referenced from then on.
type Batch struct {
	contents []Content
	entries  []stagedEntry
	ends     []int64
	endAll   []int64
	states   []Mailbox
}

type stagedEntry struct {
	mailboxID    int64
	uid          uint32
	content      int   // index into contents, or -1
	contentID    int64 // when content == -1
	flags        string
	internalDate time.Time
}

// AddMessage stages a message version whose content may be new.
func (b *Batch) AddMessage(mailboxID int64, uid uint32, flags []string, internalDate time.Time, c Content) {
	b.contents = append(b.contents, c)
	b.entries = append(b.entries, stagedEntry{mailboxID: mailboxID, uid: uid, content: len(b.contents) - 1,
		flags: JoinFlags(flags), internalDate: internalDate})
}

// AddVersion stages a message version of already catalogued content: a flag
// change, or a message an earlier run downloaded.
func (b *Batch) AddVersion(mailboxID int64, uid uint32, contentID int64, flags []string, internalDate time.Time) {
	b.entries = append(b.entries, stagedEntry{mailboxID: mailboxID, uid: uid, content: -1, contentID: contentID,
		flags: JoinFlags(flags), internalDate: internalDate})
}

// End stages the end of a live message version.
func (b *Batch) End(entryID int64) { b.ends = append(b.ends, entryID) }

// EndAllLive stages the end of every live version of a mailbox identity.
func (b *Batch) EndAllLive(mailboxID int64) { b.endAll = append(b.endAll, mailboxID) }

// SetState stages a mailbox identity's sync state.
func (b *Batch) SetState(m Mailbox) { b.states = append(b.states, m) }

// Len is the number of staged items.
func (b *Batch) Len() int {
	return len(b.entries) + len(b.ends) + len(b.endAll) + len(b.states)
}

// Flush writes the batch in one transaction and empties it.
func (r *Run) Flush(ctx context.Context, b *Batch) error {
	err := r.c.tx(ctx, func(tx *sql.Tx) error {
		if err := r.checkOwned(ctx, tx); err != nil {
			return err
		}
		ids, err := r.insertContents(ctx, tx, b.contents)
		if err != nil {
			return err
		}
		if err := r.stageEntries(ctx, tx, b.entries, ids); err != nil {
			return err
		}
		return r.stageEnds(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("staging snapshot %d: %w", r.ID, err)
	}
	*b = Batch{contents: b.contents[:0], entries: b.entries[:0], ends: b.ends[:0], endAll: b.endAll[:0], states: b.states[:0]}
	return nil
}

// insertContents records the batch's contents (each hash once; a content
// catalogued before keeps its row) and returns their ids, in the batch's
// order. Rows go many to a statement, as PostgreSQL wants them: one round
// trip per chunk, not per message.
func (r *Run) insertContents(ctx context.Context, tx *sql.Tx, cs []Content) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	now := r.c.nowMillis()
	byHash := make(map[[32]byte]int64, len(cs))
	var rows [][]any
	for _, c := range cs {
		if _, dup := byHash[c.Hash]; dup {
			continue
		}
		byHash[c.Hash] = 0
		var date int64
		if !c.Date.IsZero() {
			date = c.Date.Unix()
		}
		rows = append(rows, []any{c.Hash[:], c.Size, c.StoredSize, now, c.From, c.To, c.Cc, c.Subject, date,
			c.MessageID, c.HasAttachments})
	}
	err := insertRows(ctx, tx, `INSERT INTO contents(hash, size, stored_size, created_at, from_addr, to_addr,
		cc_addr, subject, date, message_id, has_attachments) VALUES`, rows,
		`ON CONFLICT(hash) DO UPDATE SET hash = excluded.hash RETURNING id, hash`, func(res *sql.Rows) error {
			var id int64
			var hash []byte
			if err := res.Scan(&id, &hash); err != nil {
				return err
			}
			byHash[[32]byte(hash)] = id
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("recording contents: %w", err)
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		if ids[i] = byHash[c.Hash]; ids[i] == 0 {
			return nil, fmt.Errorf("recording content %x: no id returned", c.Hash[:8])
		}
	}
	// design.md, "Deleting blobs", rule 1: a named blob is no garbage. The
	// garbage table is empty but between a prune's expiry and its blob
	// deletion; asking once spares the delete otherwise.
	var garbage bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM garbage)`).Scan(&garbage); err != nil {
		return nil, err
	}
	if garbage {
		hashes := make([][]any, 0, len(byHash))
		for h := range byHash {
			hashes = append(hashes, []any{h[:]})
		}
		for chunk := range slices.Chunk(hashes, maxRowParams) {
			in := strings.Repeat("?, ", len(chunk)-1) + "?"
			args := make([]any, len(chunk))
			for i, h := range chunk {
				args[i] = h[0]
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM garbage WHERE hash IN (`+in+`)`, args...); err != nil {
				return nil, fmt.Errorf("rescuing contents: %w", err)
			}
		}
	}
	return ids, nil
}

// maxRowParams bounds the parameters of one multi-row statement, below
// both back-ends' limits (SQLite 32,766, PostgreSQL 65,535).
const maxRowParams = 8000

// insertRows inserts rows (all of one width) with "head (?, ...), (?, ...)
// tail", as many rows to a statement as maxRowParams allows. With scan, the
// statement returns rows (tail has RETURNING) and scan reads each.
func insertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any, tail string, scan func(*sql.Rows) error) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	tuple := "(" + strings.Repeat("?, ", width-1) + "?)"
	for chunk := range slices.Chunk(rows, max(maxRowParams/width, 1)) {
		q := head + " " + strings.Repeat(tuple+", ", len(chunk)-1) + tuple + " " + tail
		args := make([]any, 0, len(chunk)*width)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if scan == nil {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			continue
		}
		res, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for res.Next() {
			if err := scan(res); err != nil {
				return errors.Join(err, res.Close())
			}
		}
		if err := errors.Join(res.Err(), res.Close()); err != nil {
			return err
		}
	}
	return nil
}

// stageEntries stages the batch's message versions, the last one of a
// mailbox and UID winning, many rows to a statement.
func (r *Run) stageEntries(ctx context.Context, tx *sql.Tx, es []stagedEntry, ids []int64) error {
	type key struct {
		mailbox int64
		uid     uint32
	}
	at := make(map[key]int, len(es))
	var rows [][]any
	for _, e := range es {
		cid := e.contentID
		if e.content >= 0 {
			cid = ids[e.content]
		}
		_, tz := e.internalDate.Zone()
		row := []any{int64(r.Account), r.ID, e.mailboxID, int64(e.uid), cid, e.flags, e.internalDate.Unix(), int64(tz / 60)}
		if i, ok := at[key{e.mailboxID, e.uid}]; ok {
			rows[i] = row
			continue
		}
		at[key{e.mailboxID, e.uid}] = len(rows)
		rows = append(rows, row)
	}
	err := insertRows(ctx, tx, `INSERT INTO staged_entries(account_id, snapshot_id, mailbox_id, uid,
		content_id, flags, internal_date, internal_tz) VALUES`, rows,
		`ON CONFLICT(account_id, snapshot_id, mailbox_id, uid) DO UPDATE SET content_id = excluded.content_id,
		flags = excluded.flags, internal_date = excluded.internal_date, internal_tz = excluded.internal_tz`, nil)
	if err != nil {
		return fmt.Errorf("staging messages: %w", err)
	}
	return nil
}

func (r *Run) stageEnds(ctx context.Context, tx *sql.Tx, b *Batch) error {
	ends := make([][]any, 0, len(b.ends))
	for _, id := range slices.Compact(slices.Sorted(slices.Values(b.ends))) {
		ends = append(ends, []any{int64(r.Account), r.ID, id})
	}
	if err := insertRows(ctx, tx, `INSERT INTO staged_ends(account_id, snapshot_id, entry_id) VALUES`, ends,
		`ON CONFLICT DO NOTHING`, nil); err != nil {
		return err
	}
	for _, mb := range b.endAll {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_ends(account_id, snapshot_id, entry_id)
			SELECT account_id, CAST(?1 AS BIGINT), id FROM entries WHERE account_id = ?2 AND mailbox_id = ?3
			AND end_snap IS NULL ON CONFLICT DO NOTHING`, r.ID, int64(r.Account), mb); err != nil {
			return err
		}
	}
	for _, m := range b.states {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_mailboxes(account_id, snapshot_id, mailbox_id,
			last_uid, uidnext, highest_modseq) VALUES(?, ?, ?, ?, ?, ?)
			ON CONFLICT(account_id, snapshot_id, mailbox_id) DO UPDATE SET last_uid = excluded.last_uid,
			uidnext = excluded.uidnext, highest_modseq = excluded.highest_modseq`,
			int64(r.Account), r.ID, m.ID, m.LastUID, m.UIDNext, int64(m.HighestModSeq)); err != nil {
			return err
		}
	}
	return nil
}

// JoinFlags is the canonical stored form of a flag list: sorted, unique,
// space separated, without \Recent (a session property, not the message's).
func JoinFlags(flags []string) string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" || strings.EqualFold(f, `\Recent`) {
			continue
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), " ")
}

// SplitFlags is the inverse of JoinFlags.
func SplitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}
