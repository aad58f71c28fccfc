package webmail

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"mtm/internal/auth"
	"mtm/internal/catalog"
)

const cookieName = "mtm_session"

// who is the account a request acts for.
type who struct {
	session auth.Session
	address string
	acct    catalog.AccountID // 0: the account has no backups
}

// loginAddress is what a login name may look like: a bare lower-case
// address without '*', the usual master-user separator.
var loginAddress = regexp.MustCompile("^[a-z0-9.!#$%&'+/=?^_`{|}~-]{1,64}@[a-z0-9-]+(\\.[a-z0-9-]+)*$")

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// errLoginFailed is the one message every failed login gets.
const errLoginFailed = "invalid email or password"

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json")
		return
	}
	var c credentials
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, "bad request")
		return
	}
	address := strings.ToLower(strings.TrimSpace(c.Email))
	client := s.clientIP(r)
	if wait := s.throttle.Wait(address, client); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		writeError(w, http.StatusTooManyRequests, "too many failed logins; try again later")
		return
	}
	if !s.plausible(address, c.Password) {
		s.throttle.Failed(address, client)
		writeError(w, http.StatusUnauthorized, errLoginFailed)
		return
	}
	err := s.verify(r.Context(), address, c.Password)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		s.throttle.Failed(address, client)
		s.log.Info("webmail login failed", "account", address, "client", client)
		s.audit(r.Context(), catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: client,
			Action: "login-failed", Account: address})
		writeError(w, http.StatusUnauthorized, errLoginFailed)
		return
	case err != nil:
		s.log.Error("webmail login: cannot check the password", "account", address, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the mail server cannot be reached; try again later")
		return
	}
	s.throttle.Succeeded(address)
	s.audit(r.Context(), catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: client,
		Action: "login", Account: address})
	ses := s.sessions.Create(address)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ses.ID, Path: "/", HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, map[string]string{"email": address})
}

func (s *Server) plausible(address, password string) bool {
	if len(address) > 254 || !loginAddress.MatchString(address) {
		return false
	}
	if sep := s.opts.MasterSeparator; sep != "" && strings.Contains(address, sep) {
		return false
	}
	return password != "" && len(password) <= 1024 && !strings.ContainsAny(password, "\x00\r\n")
}

// verify asks the IMAP server, at most cap(s.logins) at a time.
func (s *Server) verify(ctx context.Context, address, password string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.LoginTimeout)
	defer cancel()
	select {
	case s.logins <- struct{}{}:
		defer func() { <-s.logins }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.opts.Verifier.Verify(ctx, address, password)
}

// clientIP is the client's address, through the trusted proxies if the
// server was given a way to read them.
func (s *Server) clientIP(r *http.Request) string {
	if s.opts.ClientIP != nil {
		return s.opts.ClientIP(r)
	}
	return clientAddress(r)
}

// audit records an event if the server was given an audit log.
func (s *Server) audit(ctx context.Context, ev catalog.AuditEvent) {
	if s.opts.Audit == nil {
		return
	}
	if err := s.opts.Audit(ctx, ev); err != nil {
		s.log.Error("recording an audit event", "action", ev.Action, "err", err)
	}
}

func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

// session returns the request's live session.
func (s *Server) session(r *http.Request) (auth.Session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return auth.Session{}, false
	}
	return s.sessions.Get(c.Value)
}

// withAccount resolves the session to its account, or answers 401.
func (s *Server) withAccount(h func(http.ResponseWriter, *http.Request, who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, ok := s.session(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		u := who{session: ses, address: ses.Account}
		acct, err := s.opts.Catalog.LookupAccount(r.Context(), ses.Account)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			u.acct = acct
		}
		h(w, r, u)
	}
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, u who) {
	writeJSON(w, http.StatusOK, map[string]string{"email": u.address})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// fail answers 404 for what is not found (or not the account's) and 500
// for the rest, logging it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, catalog.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if r.Context().Err() == nil {
		s.log.Error("webmail", "path", r.URL.Path, "err", err)
	}
	writeError(w, http.StatusInternalServerError, "internal error")
}
