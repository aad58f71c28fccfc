package webmail

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mtm/internal/i18n"
)

// TestMessagesExist: every message id the pages and the scripts name is
// in the catalog (in every language, which the i18n package checks), the
// ids the scripts build from a change or a status too; and no page or
// script keeps an English sentence outside the catalog.
func TestMessagesExist(t *testing.T) {
	c, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	js := c.Script("en", "js.")
	en := c.Lang("en")
	var ids []string
	pageID := regexp.MustCompile(`\.L\.[TH] "([\w.]+)"`)
	scriptID := regexp.MustCompile(`"(js\.[\w.]+)"`)
	for _, dir := range []string{"assets", "assets/static"} {
		entries, err := fs.ReadDir(templateFS, dir)
		if dir == "assets/static" {
			entries, err = fs.ReadDir(staticFS, dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			var b []byte
			if dir == "assets" {
				b, err = fs.ReadFile(templateFS, dir+"/"+e.Name())
			} else {
				b, err = fs.ReadFile(staticFS, dir+"/"+e.Name())
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range pageID.FindAllStringSubmatch(string(b), -1) {
				ids = append(ids, m[1])
			}
			for _, m := range scriptID.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], "_") {
					ids = append(ids, m[1])
				}
			}
		}
	}
	// The API's errors (apiError) name their messages in the Go sources.
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	apiID := regexp.MustCompile(`"(api\.[\w.]+)"`)
	apiIDs := 0
	for _, name := range goFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		for _, m := range apiID.FindAllStringSubmatch(string(b), -1) {
			ids = append(ids, m[1])
			apiIDs++
		}
	}
	if apiIDs < 20 {
		t.Errorf("only %d API error ids found in the Go sources", apiIDs)
	}
	for prefix, suffixes := range map[string][]string{
		"js.ch_n_":      {"deleted", "removed", "moved", "new", "flags"},
		"js.ch_group_":  {"deleted", "removed", "moved", "new", "flags"},
		"js.ch_row_":    {"deleted", "removed", "moved"},
		"js.ch_folder_": {"deleted", "renamed", "created", "unsubscribed"},
		"js.rs_status_": {"pending", "running", "done", "failed", "rejected"},
	} {
		for _, s := range suffixes {
			ids = append(ids, prefix+s)
		}
	}
	if len(ids) < 150 {
		t.Fatalf("only %d message ids found in the assets", len(ids))
	}
	for _, id := range ids {
		if strings.HasPrefix(id, "js.") {
			if js[id] == nil {
				t.Errorf("the scripts use %s, not in the catalog", id)
			}
		} else if en.T(id, "Count", 2) == id {
			t.Errorf("the pages or the API use %s, not in the catalog", id)
		}
	}
}

// TestNotFoundPage: an unknown address a browser is sent to gets a page
// in the visitor's language, not raw text; the API's stay JSON.
func TestNotFoundPage(t *testing.T) {
	f := newFixture(t)
	c := f.anon()
	res, body := c.do("GET", "/no/such/page", "", "Accept-Language", "it-IT,it")
	if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Pagina non trovata") || !strings.Contains(body, `<html lang="it">`) {
		t.Errorf("the Italian not-found page: %d %s\n%.300s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if res, body := c.do("GET", "/api/v1/no-such", ""); res.StatusCode != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("the API's not found: %d %s", res.StatusCode, body)
	}
}

// TestAPIErrorsInTheUsersLanguage: an API error is said in the language
// the script asks for (the page's), with a code that is the same in every
// language; a wrong login and a throttled one too.
func TestAPIErrorsInTheUsersLanguage(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	for lang, want := range map[string]string{"it": "Il backup di quel giorno non c’è più", "en": "There is no backup of that day any more"} {
		res, body := c.do("GET", "/api/v1/changes?from=1999-01-01&to=1999-01-02", "", "Accept-Language", lang)
		e := decode[map[string]string](t, body)
		if res.StatusCode != 404 || e["code"] != "no_such_day" || !strings.HasPrefix(e["error"], want) {
			t.Errorf("%s: %d %q", lang, res.StatusCode, body)
		}
	}
	res, body := f.anon().do("POST", "/api/v1/session", `{"email":"alice@example.com","password":"wrong"}`, "Accept-Language", "it-IT,it")
	if e := decode[map[string]string](t, body); res.StatusCode != 401 || e["code"] != "login_failed" ||
		e["error"] != "L’indirizzo email o la password non sono corretti." {
		t.Errorf("a wrong password, in Italian: %d %q", res.StatusCode, body)
	}
	res, body = f.anon().do("GET", "/api/v1/snapshots", "", "Accept-Language", "it")
	if e := decode[map[string]string](t, body); res.StatusCode != 401 || e["code"] != "not_logged_in" || !strings.HasPrefix(e["error"], "Non hai effettuato") {
		t.Errorf("not logged in, in Italian: %d %q", res.StatusCode, body)
	}
}
