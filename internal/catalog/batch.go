package catalog

import (
	"context"
	"database/sql"
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

func (r *Run) insertContents(ctx context.Context, tx *sql.Tx, cs []Content) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO contents(hash, size, stored_size, created_at, from_addr, to_addr,
		cc_addr, subject, date, message_id, has_attachments) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(hash) DO UPDATE SET hash = excluded.hash RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close() //nolint:errcheck // closing a prepared statement of a finished tx cannot lose data
	// design.md, "Deleting blobs", rule 1: a named blob is no garbage. The
	// garbage table is empty but between a prune's expiry and its blob
	// deletion; asking once spares a statement per content otherwise.
	var garbage bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM garbage)`).Scan(&garbage); err != nil {
		return nil, err
	}
	rescue, err := tx.PrepareContext(ctx, `DELETE FROM garbage WHERE hash = ?`)
	if err != nil {
		return nil, err
	}
	defer rescue.Close() //nolint:errcheck // see above
	now := r.c.nowMillis()
	ids := make([]int64, len(cs))
	for i, c := range cs {
		var date int64
		if !c.Date.IsZero() {
			date = c.Date.Unix()
		}
		if err := stmt.QueryRowContext(ctx, c.Hash[:], c.Size, c.StoredSize, now, c.From, c.To, c.Cc,
			c.Subject, date, c.MessageID, c.HasAttachments).Scan(&ids[i]); err != nil {
			return nil, fmt.Errorf("recording content %x: %w", c.Hash[:8], err)
		}
		if !garbage {
			continue
		}
		if _, err := rescue.ExecContext(ctx, c.Hash[:]); err != nil {
			return nil, fmt.Errorf("rescuing content %x: %w", c.Hash[:8], err)
		}
	}
	return ids, nil
}

func (r *Run) stageEntries(ctx context.Context, tx *sql.Tx, es []stagedEntry, ids []int64) error {
	if len(es) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO staged_entries(snapshot_id, mailbox_id, uid,
		content_id, flags, internal_date, internal_tz) VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(snapshot_id, mailbox_id, uid) DO UPDATE SET content_id = excluded.content_id,
		flags = excluded.flags, internal_date = excluded.internal_date, internal_tz = excluded.internal_tz`)
	if err != nil {
		return err
	}
	defer stmt.Close() //nolint:errcheck // see insertContents
	for _, e := range es {
		cid := e.contentID
		if e.content >= 0 {
			cid = ids[e.content]
		}
		_, tz := e.internalDate.Zone()
		if _, err := stmt.ExecContext(ctx, r.ID, e.mailboxID, e.uid, cid, e.flags,
			e.internalDate.Unix(), tz/60); err != nil {
			return fmt.Errorf("staging uid %d: %w", e.uid, err)
		}
	}
	return nil
}

func (r *Run) stageEnds(ctx context.Context, tx *sql.Tx, b *Batch) error {
	for _, id := range b.ends {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_ends(snapshot_id, entry_id) VALUES(?, ?) ON CONFLICT DO NOTHING`, r.ID, id); err != nil {
			return err
		}
	}
	for _, mb := range b.endAll {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_ends(snapshot_id, entry_id)
			SELECT CAST(? AS BIGINT), id FROM entries WHERE mailbox_id = ? AND end_snap IS NULL ON CONFLICT DO NOTHING`, r.ID, mb); err != nil {
			return err
		}
	}
	for _, m := range b.states {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staged_mailboxes(snapshot_id, mailbox_id,
			last_uid, uidnext, highest_modseq) VALUES(?, ?, ?, ?, ?)
			ON CONFLICT(snapshot_id, mailbox_id) DO UPDATE SET last_uid = excluded.last_uid,
			uidnext = excluded.uidnext, highest_modseq = excluded.highest_modseq`,
			r.ID, m.ID, m.LastUID, m.UIDNext, int64(m.HighestModSeq)); err != nil {
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
