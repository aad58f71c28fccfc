package catalog

import (
	"slices"
	"testing"
)

// TestSearchWords: PostgreSQL's index gets the words FTS5's unicode61
// tokenizer (remove_diacritics 2) makes of the same text.
func TestSearchWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"José García <jose.garcia@example.es>", []string{"jose", "garcia", "jose", "garcia", "example", "es"}},
		{"state-of-the-art, AC/DC", []string{"state", "of", "the", "art", "ac", "dc"}},
		{"Søren Østergaard Straße Œuvre", []string{"søren", "østergaard", "straße", "œuvre"}},
		{"Ольга Смирнова", []string{"ольга", "смирнова"}},
		{"京都の写真を送ります。", []string{"京都の写真を送ります"}},
		{"e\u0301te\u0301 v1.2 $$$", []string{"ete", "v1", "2"}},
		{"", nil},
	} {
		if got := searchWords(c.in); !slices.Equal(got, c.want) {
			t.Errorf("searchWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSearchQueryPostgres: a typed word that the tokenizer splits is a
// phrase whose last word is a prefix, as FTS5 reads "w"*; a field prefix
// weights every word of it.
func TestSearchQueryPostgres(t *testing.T) {
	d := dialect{pg: true}
	for in, want := range map[string]string{
		"garcía":              `('garcia':*)`,
		"from:jose.garcia":    `('jose':A <-> 'garcia':*A)`,
		"It's lunch":          `('it' <-> 's':*) & ('lunch':*)`,
		"'; DROP TABLE x; --": `('drop':*) & ('table':*) & ('x':*)`,
		"$$$":                 ``,
	} {
		if got := d.searchQuery(in); got != want {
			t.Errorf("searchQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
