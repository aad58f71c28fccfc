// Package i18n owns the languages of what mtm shows people: the message
// catalogs (locales/en.toml and locales/it.toml, embedded), which language a
// request or a recipient gets, and the messages the webmail's scripts use.
// Messages are go-i18n messages: text/template variables ({{.Count}}) and
// CLDR plural forms, so that no sentence is built by concatenation.
package i18n

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var locales embed.FS

// The languages mtm speaks, the first the default.
var supported = []language.Tag{language.English, language.Italian}

// Codes are the supported languages' codes, the default first.
var Codes = []string{"en", "it"}

// Names are the languages as they call themselves, for a language switch.
var Names = map[string]string{"en": "English", "it": "Italiano"}

// Language is one entry of a page's language switch.
type Language struct{ Code, Name string }

// Switch lists the languages for a language switch, the default first.
func Switch() []Language {
	out := make([]Language, len(Codes))
	for i, c := range Codes {
		out[i] = Language{Code: c, Name: Names[c]}
	}
	return out
}

// Catalog holds every message in every language. It is safe for
// concurrent use.
type Catalog struct {
	bundle  *goi18n.Bundle
	matcher language.Matcher
	files   map[string]*goi18n.MessageFile // by code
}

// New loads the embedded catalogs.
func New() (*Catalog, error) {
	c := &Catalog{bundle: goi18n.NewBundle(language.English), matcher: language.NewMatcher(supported),
		files: map[string]*goi18n.MessageFile{}}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, code := range Codes {
		b, err := locales.ReadFile("locales/" + code + ".toml")
		if err != nil {
			return nil, err
		}
		f, err := c.bundle.ParseMessageFileBytes(b, code+".toml")
		if err != nil {
			return nil, fmt.Errorf("i18n: %s.toml: %w", code, err)
		}
		c.files[code] = f
	}
	return c, nil
}

// Lang is one language: what the messages are looked up in.
type Lang struct {
	Code string // "en", "it"
	loc  *goi18n.Localizer
}

// Pick returns the first supported language of the preferences, each a
// language code or an Accept-Language header, in order (a choice the user
// made first, then the browser's); English when none matches.
func (c *Catalog) Pick(prefs ...string) Lang {
	for _, p := range prefs {
		if p == "" {
			continue
		}
		tags, _, err := language.ParseAcceptLanguage(p)
		if err != nil || len(tags) == 0 {
			continue
		}
		if _, i, conf := c.matcher.Match(tags...); conf != language.No {
			return c.Lang(Codes[i])
		}
	}
	return c.Lang(Codes[0])
}

// Cookie is the cookie that remembers the language chosen in a browser.
const Cookie = "lang"

// ForRequest picks a page's language: one chosen on this page (?lang=,
// then remembered in the cookie for a year), the cookie, the person's
// saved choices (an account's or an admin's setting, in order), the
// browser's Accept-Language, then fallback (the configured language).
func (c *Catalog) ForRequest(w http.ResponseWriter, r *http.Request, secure bool, fallback string, saved ...string) Lang {
	var prefs []string
	if q := r.URL.Query().Get("lang"); Supported(q) {
		Remember(w, q, secure)
		prefs = append(prefs, q)
	}
	if ck, err := r.Cookie(Cookie); err == nil && Supported(ck.Value) {
		prefs = append(prefs, ck.Value)
	}
	prefs = append(append(prefs, saved...), r.Header.Get("Accept-Language"), fallback)
	w.Header().Add("Vary", "Accept-Language, Cookie")
	return c.Pick(prefs...)
}

// Remember keeps a chosen language in the browser for a year (the
// cookie; scripts need not read it, pages are made with it).
func Remember(w http.ResponseWriter, code string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: Cookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: secure})
}

// Lang returns the language of code, English for an unknown code.
func (c *Catalog) Lang(code string) Lang {
	if _, ok := c.files[code]; !ok {
		code = Codes[0]
	}
	return Lang{Code: code, loc: goi18n.NewLocalizer(c.bundle, code)}
}

// Supported tells whether code is a language mtm speaks.
func Supported(code string) bool { return Names[code] != "" }

// T returns message id with the data's variables (pairs of name and
// value: T("x", "Day", day)); a missing message shows its id, which the
// catalog test prevents.
func (l Lang) T(id string, pairs ...any) string {
	return l.localize(id, nil, pairs)
}

// TA is T with the variables' pairs in a slice, for a template that holds
// them in a field.
func (l Lang) TA(id string, pairs []any) string { return l.localize(id, nil, pairs) }

// H is T for a message of our own HTML (an id ending in "_html"): the
// string variables are escaped, the message's markup is kept.
func (l Lang) H(id string, pairs ...any) template.HTML {
	esc := make([]any, len(pairs))
	for i, p := range pairs {
		if s, ok := p.(string); ok && i%2 == 1 {
			p = template.HTMLEscapeString(s)
		}
		esc[i] = p
	}
	return template.HTML(l.localize(id, nil, esc)) //nolint:gosec // the catalog's own markup, variables escaped
}

// N is T for a message with plural forms, chosen by n, which the message
// also has as {{.Count}}.
func (l Lang) N(id string, n int, pairs ...any) string {
	return l.localize(id, n, append(pairs, "Count", n))
}

func (l Lang) localize(id string, count any, pairs []any) string {
	data := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		data[fmt.Sprint(pairs[i])] = pairs[i+1]
	}
	s, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		return id
	}
	return s
}

// Script returns the messages whose id starts with prefix, in code's
// language, for the webmail's scripts: id -> plural form ("one",
// "other"; "other" alone for a plain message) -> text.
func (c *Catalog) Script(code, prefix string) map[string]map[string]string {
	f := c.files[code]
	if f == nil {
		f = c.files[Codes[0]]
	}
	out := map[string]map[string]string{}
	for _, m := range f.Messages {
		id := m.ID
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		forms := map[string]string{"other": m.Other}
		if m.One != "" {
			forms["one"] = m.One
		}
		out[id] = forms
	}
	return out
}

// ids returns the message ids of code's catalog, sorted, each with the
// plural forms it has ("id" or "id#one", "id#other").
func (c *Catalog) ids(code string) []string {
	var out []string
	for _, m := range c.files[code].Messages {
		for form, text := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few,
			"many": m.Many, "other": m.Other} {
			if text != "" {
				out = append(out, m.ID+"#"+form)
			}
		}
	}
	sort.Strings(out)
	return out
}
