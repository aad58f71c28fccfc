package webmail

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"mtm/internal/i18n"
)

//go:embed assets/*.html
var templateFS embed.FS

//go:embed assets/static
var staticFS embed.FS

// pages are the server-side templates: the three-pane app, login and help.
type pages struct {
	t *template.Template
}

func newPages() (*pages, error) {
	t, err := template.ParseFS(templateFS, "assets/*.html")
	if err != nil {
		return nil, err
	}
	return &pages{t: t}, nil
}

type pageData struct {
	Email         string
	RetentionDays int
	Zone          string
	L             i18n.Lang                    // the page's language
	Script        map[string]map[string]string // the scripts' messages in it (js.*)
	Languages     []i18n.Language              // the language switch
}

// lang picks the request's language (i18n.Catalog.ForRequest), the
// account's setting among the choices.
func (s *Server) lang(w http.ResponseWriter, r *http.Request, account string) i18n.Lang {
	var saved string
	if account != "" {
		if acct, err := s.opts.Catalog.LookupAccount(r.Context(), account); err == nil {
			if set, err := s.opts.Catalog.AccountSettings(r.Context(), acct); err == nil {
				saved = set.Language
			}
		}
	}
	return s.opts.Languages.ForRequest(w, r, s.gate.Secure(r), s.opts.Language, saved)
}

// page renders template name; with needLogin, a request without a session
// is sent to the login page.
func (s *Server) page(p *pages, name string, needLogin bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, ok := s.session(r)
		if needLogin && !ok {
			to := "/login"
			if r.URL.Path != "/" {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if name == "login" && ok {
			http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
		l := s.lang(w, r, ses.Account)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		d := pageData{Email: ses.Account, RetentionDays: s.opts.RetentionDays, Zone: s.opts.Location.String(),
			L: l, Script: s.opts.Languages.Script(l.Code, "js."), Languages: i18n.Switch()}
		if err := p.t.ExecuteTemplate(w, name+".html", d); err != nil && r.Context().Err() == nil {
			s.log.Error("webmail: rendering page", "page", name, "err", err)
		}
	}
}

// notFound answers an unknown address with a page in the visitor's
// language, 404.
func (s *Server) notFound(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := s.lang(w, r, "")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if err := p.t.ExecuteTemplate(w, "notfound.html", pageData{L: l}); err != nil && r.Context().Err() == nil {
			s.log.Error("webmail: rendering the not-found page", "err", err)
		}
	}
}

// localPath is next when it is a path of this site, and "/" otherwise:
// a login never sends the browser elsewhere (login.js applies the same
// rule).
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// pdfviewCSP is the policy of the PDF preview frame: a sandbox, so the
// page is an origin of its own whatever frame it is opened in; this
// server's scripts only (PDF.js and pdfview.js, fetched with CORS from that
// origin), no network, and only the webmail may frame it.
const pdfviewCSP = "sandbox allow-scripts; default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src blob: data:; font-src blob: data:; connect-src 'none'; worker-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'self'"

// pdfView serves the PDF preview frame. It holds nothing of an account:
// the webmail posts the PDF's bytes to it (static/pdfview.js).
func (s *Server) pdfView(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pdfviewCSP)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		if err := p.t.ExecuteTemplate(w, "pdfview.html", nil); err != nil && r.Context().Err() == nil {
			s.log.Error("webmail: rendering the PDF preview frame", "err", err)
		}
	}
}

// sandboxedStatic are the files the PDF preview frame loads: as a sandbox
// it has an origin of its own, so they are shared with any origin (module
// scripts cross origins only with CORS). They are public code and style,
// the same for everyone.
func sandboxedStatic(name string) bool {
	return strings.HasPrefix(name, "/static/pdfjs/") || name == "/static/pdfview.js" || name == "/static/pdfview.css"
}

// staticHandler serves the embedded scripts, styles and icons.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "assets/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		if sandboxedStatic(r.URL.Path) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		}
		files.ServeHTTP(w, r)
	})
}
