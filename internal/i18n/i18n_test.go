package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogsMatch: every message exists in every language with the same
// plural forms, and the scripts' messages use only {{.Name}} variables
// (the webmail's t() knows no other template).
func TestCatalogsMatch(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	en := c.ids("en")
	if len(en) < 100 {
		t.Fatalf("only %d messages in English", len(en))
	}
	for _, code := range Codes[1:] {
		other := c.ids(code)
		for _, id := range en {
			if !slices.Contains(other, id) {
				t.Errorf("%s: missing %s", code, id)
			}
		}
		for _, id := range other {
			if !slices.Contains(en, id) {
				t.Errorf("%s has %s, English does not", code, id)
			}
		}
	}
	simple := regexp.MustCompile(`\{\{\s*\.\w+\s*\}\}`)
	for _, code := range Codes {
		for _, m := range c.files[code].Messages {
			for _, text := range []string{m.One, m.Other} {
				if strings.HasPrefix(m.ID, "js.") && strings.Contains(simple.ReplaceAllString(text, ""), "{{") {
					t.Errorf("%s %s: a script's message with a template beyond {{.Name}}: %q", code, m.ID, text)
				}
				if strings.TrimSpace(text) != text {
					t.Errorf("%s %s: leading or trailing space", code, m.ID)
				}
			}
		}
	}
}

// TestPick: a chosen language wins, then the browser's, then English.
func TestPick(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefs []string
		want  string
	}{
		{nil, "en"},
		{[]string{"", "it-IT,it;q=0.9,en;q=0.8"}, "it"},
		{[]string{"it", "en-US,en"}, "it"},
		{[]string{"en", "it"}, "en"},
		{[]string{"de-DE,de;q=0.9"}, "en"},
		{[]string{"xx", "it-CH"}, "it"},
		{[]string{"fr-FR,fr;q=0.9,it;q=0.5"}, "it"},
	} {
		if got := c.Pick(tc.prefs...).Code; got != tc.want {
			t.Errorf("Pick(%q) = %s, want %s", tc.prefs, got, tc.want)
		}
	}
	it := c.Lang("it")
	if got := it.N("js.ch_n_deleted", 1); got != "1 messaggio cancellato" {
		t.Errorf("one: %q", got)
	}
	if got := it.N("js.ch_n_deleted", 212); got != "212 messaggi cancellati" {
		t.Errorf("other: %q", got)
	}
	if got := c.Lang("en").T("page.help.window", "Days", 15, "Zone", "Europe/Rome"); !strings.HasPrefix(got, "The backups of the last 15 days") {
		t.Errorf("variables: %q", got)
	}
	if got := c.Lang("en").H("page.help.window", "Days", 15, "Zone", "<b>"); !strings.Contains(string(got), "&lt;b&gt;") {
		t.Errorf("H does not escape its variables: %q", got)
	}
	if got := c.Lang("en").T("no.such.message"); got != "no.such.message" {
		t.Errorf("a missing message: %q", got)
	}
	js := c.Script("it", "js.")
	if js["js.today"]["other"] != "Oggi" || js["js.when"]["one"] == "" || js["js.when"]["other"] == "" || js["page.help"] != nil {
		t.Errorf("the scripts' messages: %v %v", js["js.today"], js["js.when"])
	}
}
