package catalog

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"mtm/internal/pgsql"
)

// dialect is everything the catalog's SQL says differently on PostgreSQL
// than on SQLite (docs/design.md, "The catalog on PostgreSQL"); the rest
// of the SQL is written once, with SQLite's placeholders, which package
// pgsql rebinds.
type dialect struct{ pg bool }

// tableExists is a query with one parameter, a table's name, that counts
// the tables of that name.
func (d dialect) tableExists() string {
	if d.pg {
		// pg_tables reads pg_class in the statement's snapshot; to_regclass
		// would read a cache that a node waiting on the migration lock has
		// not refreshed, and miss the table the node before it created.
		return `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?`
	}
	return `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
}

// ids is a subquery of the integers of the JSON array in parameter param
// ("?1"), as a column named id.
func (d dialect) ids(param string) string {
	if d.pg {
		return `(SELECT CAST(value AS bigint) AS id FROM json_array_elements_text(CAST(` + param + ` AS json)))`
	}
	return `(SELECT value AS id FROM json_each(` + param + `))`
}

// pairs is a subquery of the [a, b] integer pairs of the JSON array in
// parameter param, as columns a and b.
func (d dialect) pairs(param string) string {
	if d.pg {
		return `(SELECT CAST(value->>0 AS bigint) AS a, CAST(value->>1 AS bigint) AS b
			FROM json_array_elements(CAST(` + param + ` AS json)))`
	}
	return `(SELECT json_extract(value, '$[0]') AS a, json_extract(value, '$[1]') AS b FROM json_each(` + param + `))`
}

// hex is the hexadecimal text of a blob expression.
func (d dialect) hex(expr string) string {
	if d.pg {
		return `upper(encode(` + expr + `, 'hex'))`
	}
	return `hex(` + expr + `)`
}

// firstJoin joins a table keeping the left side as the outer loop: SQLite
// takes CROSS JOIN as that hint; PostgreSQL plans joins itself.
func (d dialect) firstJoin() string {
	if d.pg {
		return `JOIN`
	}
	return `CROSS JOIN`
}

// caseless is a text expression to sort on ignoring ASCII case: SQLite's
// NOCASE collation compares without building a string; PostgreSQL has no
// such collation built in.
func (d dialect) caseless(expr string) string {
	if d.pg {
		return `lower(` + expr + `)`
	}
	return expr + ` COLLATE NOCASE`
}

// searchInsert indexes a content: parameters ?1 its id, ?2 from, ?3 to
// and cc, ?4 subject, ?5 body, ?6 its hash, which must still be the
// content's.
func (d dialect) searchInsert() string {
	if d.pg {
		return `INSERT INTO search_text(rowid, doc)
			SELECT CAST(?1 AS bigint), setweight(to_tsvector('simple', CAST(?2 AS text)), 'A') ||
				setweight(to_tsvector('simple', CAST(?3 AS text)), 'B') ||
				setweight(to_tsvector('simple', CAST(?4 AS text)), 'C') ||
				setweight(to_tsvector('simple', CAST(?5 AS text)), 'D')
			WHERE EXISTS (SELECT 1 FROM contents WHERE id = ?1 AND hash = ?6)
			AND NOT EXISTS (SELECT 1 FROM search_text WHERE rowid = ?1)`
	}
	return `INSERT INTO search_text(rowid, from_addr, to_addr, subject, body)
		SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM contents WHERE id = ?1 AND hash = ?6)
		AND NOT EXISTS (SELECT 1 FROM search_text WHERE rowid = ?1)`
}

// searchArgs are the texts searchInsert indexes: as given on SQLite, whose
// FTS5 tokenizer (unicode61, remove_diacritics 2) splits and folds them;
// on PostgreSQL split and folded the same way first (searchWords), so that
// its parser, which keeps an address or a hyphenated word whole, finds the
// same words.
func (d dialect) searchArgs(texts ...string) []any {
	out := make([]any, len(texts))
	for i, t := range texts {
		if d.pg {
			t = strings.Join(searchWords(t), " ")
		}
		out[i] = t
	}
	return out
}

// searchWords splits text into words as FTS5's unicode61 tokenizer does
// (letters, digits and private-use characters make words; everything else
// separates them), lower-cased, with the diacritics of Latin letters
// removed (remove_diacritics 2: "García" is "garcia").
func searchWords(text string) []string {
	var words []string
	var w strings.Builder
	flush := func() {
		if w.Len() > 0 {
			words = append(words, w.String())
			w.Reset()
		}
	}
	for _, r := range text {
		if !unicode.In(r, unicode.L, unicode.N, unicode.Co) {
			if !unicode.Is(unicode.Mn, r) { // a combining mark stays inside its word
				flush()
			}
			continue
		}
		if r >= 0x80 && unicode.Is(unicode.Latin, r) {
			for _, p := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, p) {
					w.WriteRune(unicode.ToLower(p))
				}
			}
			continue
		}
		w.WriteRune(unicode.ToLower(r))
	}
	flush()
	return words
}

// searchMatch is the condition on search_text that a query (parameter
// param, made by searchQuery) matches.
func (d dialect) searchMatch(param string) string {
	if d.pg {
		return `doc @@ to_tsquery('simple', ` + param + `)`
	}
	return `search_text MATCH ` + param
}

// searchColumns maps the prefixes a user may put before a word to the
// search_text column (SQLite) and the tsvector weight (PostgreSQL) they
// restrict it to.
var searchColumns = map[string]struct{ column, weight string }{
	"from": {"from_addr", "A"}, "to": {"to_addr", "B"}, "cc": {"to_addr", "B"},
	"subject": {"subject", "C"}, "body": {"body", "D"},
}

// searchQuery turns what a user typed into the back-end's query: every
// word (split on white space) must match, as a prefix; "from:", "to:",
// "cc:", "subject:" and "body:" restrict a word to that field. Each word is
// quoted, so the user's text is never query syntax. It returns "" when
// nothing is left to search for.
func (d dialect) searchQuery(q string) string {
	var terms []string
	for _, w := range strings.Fields(q) {
		col, weight := "", ""
		if k, rest, ok := strings.Cut(w, ":"); ok {
			if c, known := searchColumns[strings.ToLower(k)]; known {
				col, weight, w = c.column, c.weight, rest
			}
		}
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue // only punctuation: the tokenizer would leave an empty phrase
		}
		if d.pg {
			// FTS5's "w"* is a phrase of w's tokens, the last a prefix.
			words := searchWords(w)
			if len(words) == 0 {
				continue
			}
			for i, t := range words {
				words[i] = `'` + t + `'`
				if i == len(words)-1 {
					words[i] += `:*` + weight
				} else if weight != "" {
					words[i] += `:` + weight
				}
			}
			terms = append(terms, "("+strings.Join(words, " <-> ")+")")
			continue
		}
		term := `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
		if col != "" {
			term = col + ":" + term
		}
		terms = append(terms, term)
	}
	if d.pg {
		return strings.Join(terms, " & ")
	}
	return strings.Join(terms, " ")
}

// argsFor returns the arguments q uses, numbered as SQLite numbers them
// (pgsql.Params): PostgreSQL refuses unused arguments, which SQLite
// ignores.
func argsFor(q string, args ...any) []any {
	return args[:min(pgsql.Params(q), len(args))]
}
