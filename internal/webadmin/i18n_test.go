package webadmin

import (
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"mtm/internal/i18n"
)

// TestPanelMessagesExist: every message id the panel's templates and code
// name is in the catalog (in both languages, which the i18n package
// checks), the states and targets the templates build ids from too.
func TestPanelMessagesExist(t *testing.T) {
	c, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	en := c.Lang("en")
	id := regexp.MustCompile(`\.[TNH]A? "(admin\.[\w.]+)"|"(admin\.[\w.]+)"`)
	var ids []string
	err = fs.WalkDir(assets, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		for _, m := range id.FindAllStringSubmatch(string(b), -1) {
			ids = append(ids, m[1]+m[2])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, flashes[1:]...)
	for _, s := range []string{"pending", "running", "done", "failed", "rejected", "sending", "sent"} {
		ids = append(ids, "admin.status."+s)
	}
	ids = append(ids, "admin.target.original", "admin.target.separate", "admin.title.login", "admin.title.error",
		"admin.error.bad_request", "admin.error.internal", "admin.error.later", "admin.error.login", "admin.error.throttled")
	if len(ids) < 100 {
		t.Fatalf("only %d ids found", len(ids))
	}
	for _, id := range ids {
		if strings.HasSuffix(id, ".") {
			continue
		}
		if en.T(id) == id {
			t.Errorf("the panel names %s, not in the catalog", id)
		}
	}
}

// TestPanelInItalian: a browser asking for Italian gets the panel in it,
// and the language links switch it.
func TestPanelInItalian(t *testing.T) {
	p := newPanel(t)
	get := func(path, accept string, cookies ...*http.Cookie) string {
		t.Helper()
		req, err := http.NewRequest("GET", p.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", accept)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close() //nolint:errcheck // test
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if page := get("/admin/login", "it-IT,it;q=0.9"); !strings.Contains(page, `<html lang="it">`) || !strings.Contains(page, "Accesso amministratori") {
		t.Errorf("the Italian login page:\n%.800s", page)
	}
	if page := get("/admin/login", "en-US"); !strings.Contains(page, "Admin login") || !strings.Contains(page, `href="?lang=it"`) {
		t.Errorf("the English login page:\n%.800s", page)
	}
	if page := get("/admin/login?lang=it", "en-US"); !strings.Contains(page, "Accesso amministratori") {
		t.Errorf("the language link:\n%.800s", page)
	}
}

// TestAdminChoosesLanguage: an admin's choice of language is kept for
// their panel (cookie) and for their emails (their row); a new browser
// shows the panel in it too.
func TestAdminChoosesLanguage(t *testing.T) {
	p := newPanel(t)
	c := p.client("boss@example.com")
	req, err := http.NewRequest("POST", p.srv.URL+"/admin/language", strings.NewReader("lang=it&next=%2Fadmin%2Fbackups"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close() //nolint:errcheck,gosec // test
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/backups" {
		t.Fatalf("choosing Italian: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if row, err := p.cat.Admin(t.Context(), "boss@example.com"); err != nil || row.Language != "it" {
		t.Errorf("boss's row: %+v %v", row, err)
	}
	fresh := p.client("boss@example.com") // another browser: no cookie
	if _, page := p.do(fresh, "GET", "/admin/backups", ""); !strings.Contains(page, `<html lang="it">`) {
		t.Errorf("boss's panel in a new browser is not Italian:\n%.500s", page)
	}
	for _, bad := range []string{"lang=xx", "lang=it&next=https%3A%2F%2Fevil.example"} {
		req, _ := http.NewRequest("POST", p.srv.URL+"/admin/language", strings.NewReader(bad))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close() //nolint:errcheck,gosec // test
		if loc := res.Header.Get("Location"); res.StatusCode == http.StatusSeeOther && strings.Contains(loc, "evil") {
			t.Errorf("%s sent the browser to %q", bad, loc)
		}
	}
}
