package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// This file holds the full-text index of contents (table search_text,
// docs/workflows.md "Message lists and search"). The catalog stores and queries
// it; internal/search extracts the text.

// Unindexed is a content that has no search_text row yet.
type Unindexed struct {
	ID                    int64
	Hash                  [32]byte
	Size                  int64
	From, To, Cc, Subject string
}

// Unindexed returns up to limit contents with an id above after that are not
// yet in the search index, by increasing id.
func (c *DB) Unindexed(ctx context.Context, after int64, limit int) ([]Unindexed, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT id, hash, size, from_addr, to_addr, cc_addr, subject FROM contents c
		WHERE id > ? AND NOT EXISTS (SELECT 1 FROM search_text WHERE rowid = c.id) ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing unindexed contents: %w", err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (Unindexed, error) {
		var u Unindexed
		var hash []byte
		err := r.Scan(&u.ID, &hash, &u.Size, &u.From, &u.To, &u.Cc, &u.Subject)
		copy(u.Hash[:], hash)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing unindexed contents: %w", err)
	}
	return out, nil
}

// SearchDoc is the text indexed for one content.
type SearchDoc struct {
	ContentID int64
	Hash      [32]byte // must still be the content's, or the doc is dropped
	From      string
	To        string // To and Cc
	Subject   string
	Body      string
}

// AddSearchDocs indexes docs in one transaction. A doc whose content was
// deleted (or whose id now names other bytes) in the meantime, or that is
// already indexed, is skipped; the delete trigger of contents covers the
// other order.
func (c *DB) AddSearchDocs(ctx context.Context, docs []SearchDoc) error {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, c.d.searchInsert())
		if err != nil {
			return err
		}
		for _, d := range docs {
			args := append(append([]any{d.ContentID}, c.d.searchArgs(d.From, d.To, d.Subject, d.Body)...), d.Hash[:])
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return errors.Join(fmt.Errorf("content %d: %w", d.ContentID, err), st.Close())
			}
		}
		return st.Close()
	})
	if err != nil {
		return fmt.Errorf("indexing contents: %w", err)
	}
	return nil
}

// SearchQuery turns what a user typed into an FTS5 query (see
// dialect.searchQuery); "" when nothing is left to search for.
func SearchQuery(q string) string { return dialect{}.searchQuery(q) }
