package webmail

import (
	"io/fs"
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
		} else if en.T(id) == id {
			t.Errorf("the pages use %s, not in the catalog", id)
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
