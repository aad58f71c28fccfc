package webadmin

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mtm/internal/admin"
	"mtm/internal/bytesize"
	"mtm/internal/catalog"
	"mtm/internal/i18n"
	"mtm/internal/notify"
	"mtm/internal/render"
	"mtm/internal/restoreflow"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// page is what every page template sees.
type page struct {
	Title     string // a message id, with TitleArgs
	TitleArgs []any
	Nav       string
	Admin     admin.Admin
	Flash     string // a message id
	Error     string // a message id, with ErrorArgs
	ErrorArgs []any
	Refresh   int // seconds; 0: no automatic refresh
	Data      any
	L         i18n.Lang // the page's language
	Languages []i18n.Language
	Path      string // the page's own path, where a language change returns
}

var pageNames = []string{"login", "code", "setup", "recovery", "restores", "restore", "backups", "outbox", "audit", "operations"}

func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"join":  strings.Join,
		"when":  func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") },
		"whenp": func(t *time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") },
		"bytes": bytesize.Format,
		"sub":   func(a, b int) int { return a - b },
		"scope": func(l i18n.Lang, f []string, selected []int64) string {
			switch {
			case len(selected) > 0:
				return l.N("admin.scope.selected", len(selected))
			case len(f) == 0:
				return l.T("admin.scope.all")
			}
			return render.ShownName(strings.Join(f, ", "))
		},
		// "shown" is a name from a mailbox without bidirectional controls.
		"shown": render.ShownName,
		// "status" names a request's or a job's state in the page's language.
		"status": func(l i18n.Lang, state string) string { return l.T("admin.status." + state) },
		"previewTotal": func(p []notify.FolderCount) int {
			n := 0
			for _, c := range p {
				n += c.Messages
			}
			return n
		},
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("admin page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	var saved string
	if p.Admin.Email != "" {
		if row, err := s.o.Catalog.Admin(r.Context(), p.Admin.Email); err == nil {
			saved = row.Language
		}
	}
	p.L = s.o.Languages.ForRequest(w, r, s.gate.Secure(r), s.o.Language, saved)
	p.Path, p.Languages = r.URL.Path, i18n.Switch()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		s.o.Logger.Error("rendering an admin page", "page", name, "err", err)
	}
}

func (s *Server) css(w http.ResponseWriter, _ *http.Request) {
	b, err := assets.ReadFile("templates/admin.css")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(b)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", page{Title: "admin.title.login", Data: localPath(r.URL.Query().Get("next"))})
}

func (s *Server) formLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, "login", page{Title: "admin.title.login", Error: "admin.error.bad_request"})
		return
	}
	next := localPath(r.PostForm.Get("next"))
	a, err := s.authenticate(r, r.PostForm.Get("email"), r.PostForm.Get("password"), s.o.ClientIP(r))
	var th webauth.ThrottledError
	switch {
	case errors.As(err, &th):
		web.SetRetryAfter(w, th.Wait)
		s.render(w, r, http.StatusTooManyRequests, "login", page{Title: "admin.title.login", Error: "admin.error.throttled", ErrorArgs: []any{"Seconds", int(th.Wait.Seconds() + 0.999)}, Data: next})
		return
	case errors.Is(err, errBadLogin):
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "admin.title.login", Error: "admin.error.login", Data: next})
		return
	case err != nil:
		s.o.Logger.Error("admin login", "err", err)
		s.render(w, r, http.StatusInternalServerError, "login", page{Title: "admin.title.login", Error: "admin.error.internal", Data: next})
		return
	}
	s.afterPassword(w, r, a, next)
}

// formLanguage keeps the language an admin chose: for the panel in this
// browser (the cookie) and for their emails (their row).
func (s *Server) formLanguage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || !i18n.Supported(r.PostForm.Get("lang")) {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	lang := r.PostForm.Get("lang")
	if err := s.o.Catalog.SetAdminLanguage(r.Context(), a.Email, lang); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	i18n.Remember(w, lang, s.gate.Secure(r))
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) formLogout(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ admin.Admin) {
	http.Redirect(w, r, "/admin/restores", http.StatusSeeOther)
}

func (s *Server) restoresPage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	list, err := s.visible(r, a, "")
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	rows := make([]restoreJSON, 0, len(list))
	refresh := 0
	for _, x := range list {
		rows = append(rows, toJSON(x))
		if x.Status == catalog.RestoreRunning || x.Status == catalog.RestorePending {
			refresh = 15
		}
	}
	s.render(w, r, http.StatusOK, "restores", page{Title: "admin.title.restores", Nav: "restores", Admin: a, Data: rows,
		Refresh: refresh, Flash: flash(r)})
}

func (s *Server) restorePage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	req, ok := s.pageRequest(w, r, a)
	if !ok {
		return
	}
	refresh := 0
	if req.Status == catalog.RestoreRunning {
		refresh = 2
	}
	sample, err := s.o.Flow.Sample(r.Context(), req, restoreflow.SampleSize)
	if err != nil {
		s.o.Logger.Error("admin: naming a request's selected messages", "restore", req.ID, "err", err)
	}
	s.render(w, r, http.StatusOK, "restore", page{Title: "admin.title.restore", TitleArgs: []any{"ID", int64(req.ID)}, Nav: "restores", Admin: a,
		Data: restorePage{restoreJSON: toJSON(req), Sample: sample}, Refresh: refresh, Flash: flash(r)})
}

// restorePage is what a request's page shows: the request, and the first
// of its selected messages.
type restorePage struct {
	restoreJSON
	Sample []notify.SampleMessage
}

// pageRequest is request for pages: an unknown or foreign id is a 404 page.
func (s *Server) pageRequest(w http.ResponseWriter, r *http.Request, a admin.Admin) (catalog.RestoreRequest, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil && id > 0 {
		req, err := s.o.Flow.Get(r.Context(), a, catalog.RestoreID(id))
		if err == nil {
			return req, true
		}
		if !errors.Is(err, restoreflow.ErrNotFound) {
			s.pageError(w, r, a, err)
			return req, false
		}
	}
	http.NotFound(w, r)
	return catalog.RestoreRequest{}, false
}

func (s *Server) formConfirm(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	req, ok := s.pageRequest(w, r, a)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if wholeAccount(req) && req.Status == catalog.RestorePending {
		ok, err := s.reauthenticated(r, a, r.PostForm.Get("reauth"))
		if err != nil || !ok {
			http.Redirect(w, r, fmt.Sprintf("/admin/restores/%d?flash=%s", req.ID, flashCode("admin.flash.reauth")), http.StatusSeeOther)
			return
		}
	}
	s.afterDecision(w, r, a, req.ID, "admin.flash.confirmed", s.o.Flow.Confirm(r.Context(), a, s.actor(r, a), req.ID))
}

func (s *Server) formReject(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	req, ok := s.pageRequest(w, r, a)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	reason, err := cleanReason(r.PostForm.Get("reason"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.afterDecision(w, r, a, req.ID, "admin.flash.rejected", s.o.Flow.Reject(r.Context(), a, s.actor(r, a), req.ID, reason))
}

func (s *Server) afterDecision(w http.ResponseWriter, r *http.Request, a admin.Admin, id catalog.RestoreID, ok string, err error) {
	msg := ok
	switch {
	case errors.Is(err, catalog.ErrRestoreState):
		msg = "admin.flash.decided"
	case err != nil:
		s.pageError(w, r, a, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/restores/%d?flash=%s", id, flashCode(msg)), http.StatusSeeOther)
}

// Flash messages travel as a code in the redirect, never as text, so a
// link cannot make the panel say anything else.
var flashes = []string{"", "admin.flash.confirmed", "admin.flash.rejected",
	"admin.flash.decided", "admin.flash.requeued", "admin.flash.job_retried", "admin.flash.reauth"}

func flashCode(msg string) string { return strconv.Itoa(max(0, slices.Index(flashes, msg))) }

func flash(r *http.Request) string {
	n, err := strconv.Atoi(r.URL.Query().Get("flash"))
	if err != nil || n < 0 || n >= len(flashes) {
		return ""
	}
	return flashes[n]
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, a admin.Admin, err error) {
	s.o.Logger.Error("admin panel", "err", err)
	s.render(w, r, http.StatusInternalServerError, "restores", page{Title: "admin.title.error", Admin: a, Error: "admin.error.internal"})
}

// wholeAccount tells whether a request restores a whole account: its
// confirmation asks again for the password or a code.
func wholeAccount(req catalog.RestoreRequest) bool {
	return len(req.Folders) == 0 && len(req.Messages) == 0
}
