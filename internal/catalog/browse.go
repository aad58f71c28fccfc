package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds the queries of the webmail (docs/workflows.md, "Webmail"):
// snapshots, message lists and single messages, always scoped to one
// account, so that another account's ids answer ErrNotFound.

// Browser runs the webmail's queries. The one Browser returns keeps each
// query's prepared statement (the catalog's kept statements) as long as the
// catalog is open, which spares SQLite parsing the SQL on every request.
type Browser struct {
	*DB
	keep bool
}

// Browser returns a Browser that keeps its prepared statements.
func (c *DB) Browser() *Browser { return &Browser{DB: c, keep: true} }

// browse returns a Browser that prepares nothing, for one call.
func (c *DB) browse() *Browser { return &Browser{DB: c} }

func (b *Browser) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	args = argsFor(q, args...)
	if !b.keep {
		return b.r.QueryContext(ctx, q, args...)
	}
	return b.readRows(ctx, q, args...)
}

func (b *Browser) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	args = argsFor(q, args...)
	if !b.keep {
		return b.r.QueryRowContext(ctx, q, args...)
	}
	return b.readRow(ctx, q, args...)
}

// AccountSnapshot is Browser.AccountSnapshot without kept statements.
func (c *DB) AccountSnapshot(ctx context.Context, acct AccountID, id SnapshotID) (Snapshot, error) {
	return c.browse().AccountSnapshot(ctx, acct, id)
}

// MessageOrder is Browser.MessageOrder without kept statements.
func (c *DB) MessageOrder(ctx context.Context, s Snapshot, mailboxID int64, sort Sort) ([]int64, error) {
	return c.browse().MessageOrder(ctx, s, mailboxID, sort)
}

// Search is Browser.Search without kept statements.
func (c *DB) Search(ctx context.Context, s Snapshot, mailboxID int64, query string, sort Sort, max int) ([]int64, bool, error) {
	return c.browse().Search(ctx, s, mailboxID, query, sort, max)
}

// SearchDays is Browser.SearchDays without kept statements.
func (c *DB) SearchDays(ctx context.Context, acct AccountID, query string, max int) ([]DayHit, bool, error) {
	return c.browse().SearchDays(ctx, acct, query, max)
}

// MessagesByID is Browser.MessagesByID without kept statements.
func (c *DB) MessagesByID(ctx context.Context, s Snapshot, ids []int64) ([]Message, error) {
	return c.browse().MessagesByID(ctx, s, ids)
}

// MessageInView is Browser.MessageInView without kept statements.
func (c *DB) MessageInView(ctx context.Context, s Snapshot, id int64) (Message, error) {
	return c.browse().MessageInView(ctx, s, id)
}

// AccountSnapshot returns the committed snapshot id of the account, or
// ErrNotFound when it does not exist, is not committed or is another
// account's.
func (b *Browser) AccountSnapshot(ctx context.Context, acct AccountID, id SnapshotID) (Snapshot, error) {
	s, err := scanSnapshot(b.queryRow(ctx, `SELECT `+snapshotCols+` FROM snapshots
		WHERE id = ? AND account_id = ? AND state = 'committed'`, id, acct))
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("snapshot %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot %d: %w", id, err)
	}
	return s, nil
}

// Sort is the order of a message list: a key, ascending, or "-" and a key,
// descending.
type Sort string

// The sort keys. SortDate orders by the Date: header, or by the arrival
// time when the header is missing.
const (
	SortDate    Sort = "date"
	SortFrom    Sort = "from"
	SortSubject Sort = "subject"
	SortSize    Sort = "size"
)

// ErrBadSort: a sort that is none of the keys.
var ErrBadSort = errors.New("unknown sort")

// orderBy returns the SQL ORDER BY clause of s (entries e, contents c).
func (s Sort) orderBy(d dialect) (string, error) {
	key, dir := string(s), "ASC"
	if rest, ok := strings.CutPrefix(key, "-"); ok {
		key, dir = rest, "DESC"
	}
	var expr string
	switch Sort(key) {
	case SortDate, "":
		expr = "coalesce(nullif(c.date, 0), e.internal_date)"
	case SortFrom:
		expr = d.caseless("c.from_addr")
	case SortSubject:
		expr = d.caseless("c.subject")
	case SortSize:
		expr = "c.size"
	default:
		return "", fmt.Errorf("%w %q", ErrBadSort, s)
	}
	return expr + " " + dir + ", e.id " + dir, nil
}

// inView is the condition that entry e is in snapshot ?1's view and its
// mailbox belongs to account ?2.
const inView = `e.first_snap <= ?1 AND (e.end_snap IS NULL OR e.end_snap > ?1)
	AND e.mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?2)`

// MessageOrder returns the entry ids of a mailbox's messages in snapshot s,
// sorted. The list is the same for as long as s exists (views are
// immutable), so callers may cache it.
func (b *Browser) MessageOrder(ctx context.Context, s Snapshot, mailboxID int64, sort Sort) ([]int64, error) {
	order, err := sort.orderBy(b.d)
	if err != nil {
		return nil, err
	}
	if err := committed(s); err != nil {
		return nil, err
	}
	return b.ids(ctx, `SELECT e.id FROM entries e JOIN contents c ON c.id = e.content_id
		WHERE e.mailbox_id = ?3 AND `+inView+` ORDER BY `+order, s.ID, s.Account, mailboxID)
}

// Search returns the entry ids of the messages of snapshot s that match
// query (see SearchQuery), in one mailbox or, with mailboxID 0, in all of
// the account's, sorted. It takes the matches newest stored first and stops
// after max of them, so that a word found in every message costs the same
// as a rare one; more tells that it stopped there (max matches found). An empty query matches nothing.
func (b *Browser) Search(ctx context.Context, s Snapshot, mailboxID int64, query string, sort Sort, max int) (ids []int64, more bool, err error) {
	order, err := sort.orderBy(b.d)
	if err != nil {
		return nil, false, err
	}
	if err := committed(s); err != nil {
		return nil, false, err
	}
	match := b.d.searchQuery(query)
	if match == "" {
		return nil, false, nil
	}
	// CROSS JOIN keeps the index's rowid order (newest content first) as
	// the outer loop, so LIMIT ends the scan early.
	where, args := "", []any{s.ID, s.Account, match, max}
	if mailboxID != 0 {
		where, args = ` AND e.mailbox_id = ?5`, append(args, mailboxID)
	}
	ids, err = b.ids(ctx, `WITH hits AS MATERIALIZED (
		SELECT e.id AS id FROM (SELECT rowid AS cid FROM search_text WHERE `+b.d.searchMatch("?3")+` ORDER BY rowid DESC) m
		`+b.d.firstJoin()+` entries e ON e.content_id = m.cid
		WHERE `+inView+where+` ORDER BY m.cid DESC LIMIT ?4)
		SELECT e.id FROM hits h JOIN entries e ON e.id = h.id JOIN contents c ON c.id = e.content_id
		ORDER BY `+order, args...)
	if err != nil {
		return nil, false, err
	}
	return ids, len(ids) >= max, nil
}

func (b *Browser) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := b.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (id int64, err error) { return id, r.Scan(&id) })
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return out, nil
}

const messageCols = `e.id, e.mailbox_id, e.uid, e.flags, e.internal_date, e.internal_tz,
	c.hash, c.size, c.stored_size, c.from_addr, c.to_addr, c.cc_addr, c.subject, c.date, c.message_id,
	c.has_attachments`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var flags string
	var sec, date int64
	var tz int
	var hash []byte
	if err := row.Scan(&m.EntryID, &m.MailboxID, &m.UID, &flags, &sec, &tz, &hash, &m.Size, &m.StoredSize,
		&m.From, &m.To, &m.Cc, &m.Subject, &date, &m.MessageID, &m.HasAttachments); err != nil {
		return Message{}, err
	}
	m.Flags = SplitFlags(flags)
	m.InternalDate = internalTime(sec, tz)
	copy(m.Hash[:], hash)
	if date != 0 {
		m.Date = time.Unix(date, 0).UTC()
	}
	return m, nil
}

// MessagesByID returns the messages with these entry ids that are in
// snapshot s's view, in the order of ids; others are left out. The numbered
// parameters of inView come first in the SQL text, so the plain ones of the
// id list are numbered after them.
func (b *Browser) MessagesByID(ctx context.Context, s Snapshot, ids []int64) ([]Message, error) {
	if err := committed(s); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{s.ID, s.Account}
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = "?"
		args = append(args, id)
	}
	// The unary + keep SQLite from walking the mailbox's index: the ids
	// drive the lookup.
	rows, err := b.query(ctx, `SELECT `+messageCols+` FROM entries e JOIN contents c ON c.id = e.content_id
		WHERE +e.first_snap <= ?1 AND (e.end_snap IS NULL OR e.end_snap > ?1)
		AND +e.mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?2)
		AND e.id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading messages of snapshot %d: %w", s.ID, err)
	}
	byID := make(map[int64]Message, len(ids))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		byID[m.EntryID] = m
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("reading messages of snapshot %d: %w", s.ID, err)
	}
	out := make([]Message, 0, len(byID))
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// MessageInView returns the message with entry id in snapshot s's view, or
// ErrNotFound when it is not there (another day's version, another
// account's message, or no such id).
func (b *Browser) MessageInView(ctx context.Context, s Snapshot, id int64) (Message, error) {
	if err := committed(s); err != nil {
		return Message{}, err
	}
	m, err := scanMessage(b.queryRow(ctx, `SELECT `+messageCols+`
		FROM entries e JOIN contents c ON c.id = e.content_id WHERE e.id = ?3 AND `+inView, s.ID, s.Account, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("message %d of snapshot %d: %w", id, s.ID, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("message %d of snapshot %d: %w", id, s.ID, err)
	}
	return m, nil
}
