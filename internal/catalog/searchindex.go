package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
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
		st, err := tx.PrepareContext(ctx, `INSERT INTO search_text(rowid, from_addr, to_addr, subject, body)
			SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM contents WHERE id = ?1 AND hash = ?6)
			AND NOT EXISTS (SELECT 1 FROM search_text WHERE rowid = ?1)`)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if _, err := st.ExecContext(ctx, d.ContentID, d.From, d.To, d.Subject, d.Body, d.Hash[:]); err != nil {
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

// searchColumns maps the prefixes a user may put before a word to the
// search_text column they restrict it to.
var searchColumns = map[string]string{
	"from": "from_addr", "to": "to_addr", "cc": "to_addr", "subject": "subject", "body": "body",
}

// SearchQuery turns what a user typed into an FTS5 query: every word (split
// on white space) must match, as a prefix; "from:", "to:", "cc:", "subject:"
// and "body:" restrict a word to that field. Each word is quoted, so the
// user's text is never FTS5 syntax. It returns "" when nothing is left to
// search for.
func SearchQuery(q string) string {
	var terms []string
	for _, w := range strings.Fields(q) {
		col := ""
		if k, rest, ok := strings.Cut(w, ":"); ok {
			if c, known := searchColumns[strings.ToLower(k)]; known {
				col, w = c, rest
			}
		}
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue // only punctuation: the tokenizer would leave an empty phrase
		}
		term := `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
		if col != "" {
			term = col + ":" + term
		}
		terms = append(terms, term)
	}
	return strings.Join(terms, " ")
}
