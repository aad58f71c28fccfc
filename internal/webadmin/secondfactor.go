package webadmin

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// The admins' second factor (docs/design.md, "Admins' second factor"):
// TOTP codes of 6 digits every 30 s, set up at the first login, asked at
// every login, spent once; recovery codes for a lost phone.

// totpOpts are the codes' parameters (RFC 6238's defaults, which every
// authenticator app takes).
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// pendingLife is how long a password stays good for its second step.
const pendingLife = 10 * time.Minute

// recoveryCodes is how many recovery codes a set-up gives.
const recoveryCodes = 10

// pending is what the browser holds between the password and the code:
// who passed the password, until when, and (during set-up) the proposed
// secret. It is signed; it grants nothing but the second step.
type pending struct {
	Email   string `json:"e"`
	Expires int64  `json:"x"`
	Secret  string `json:"s,omitempty"`
	Next    string `json:"n,omitempty"`
}

func (s *Server) pendingMAC(b []byte) []byte {
	m := hmac.New(sha256.New, s.pendingKey)
	m.Write([]byte("admin-second-step\x00"))
	m.Write(b)
	return m.Sum(nil)
}

// sign makes p's token.
func (s *Server) sign(p pending) string {
	b, _ := json.Marshal(p) // a struct of strings and a number
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(s.pendingMAC(b))
}

// open checks a token and returns what it holds.
func (s *Server) open(tok string) (pending, bool) {
	body, mac, ok := strings.Cut(tok, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	m, err2 := base64.RawURLEncoding.DecodeString(mac)
	var p pending
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(m, s.pendingMAC(b)) || json.Unmarshal(b, &p) != nil ||
		s.o.Clock.Now().Unix() > p.Expires {
		return pending{}, false
	}
	return p, true
}

// matchStep returns the time step, at now or one either side, whose code
// is code, or -1.
func matchStep(secret, code string, now time.Time) int64 {
	step := now.Unix() / 30
	for _, st := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*30, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return st
		}
	}
	return -1
}

// normalizeCode drops the spaces and dashes people type in codes.
func normalizeCode(code string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// spendCode checks and spends an admin's code: a TOTP code of a step later
// than the last one accepted, or an unused recovery code. ok false: wrong
// or spent.
func (s *Server) spendCode(r *http.Request, row catalog.AdminRow, code string) (ok bool, recovery bool, err error) {
	code = normalizeCode(code)
	if row.TOTPSecret == "" || code == "" || len(code) > 64 {
		return false, false, nil
	}
	if len(code) == 6 && isDigits(code) {
		step := matchStep(row.TOTPSecret, code, s.o.Clock.Now())
		if step < 0 {
			return false, false, nil
		}
		ok, err := s.o.Catalog.UseTOTPStep(r.Context(), row.Email, step)
		return ok, false, err
	}
	ok, err = s.o.Catalog.UseRecoveryCode(r.Context(), row.Email, sha256.Sum256([]byte(code)))
	return ok, true, err
}

// secondStep runs the code of a login through the gate (a wrong code is a
// failed login: throttled the same way) and spends it.
func (s *Server) secondStep(r *http.Request, email, code string) error {
	return s.gate.Attempt(r, email, s.o.ClientIP(r), func() error {
		row, err := s.o.Catalog.Admin(r.Context(), email)
		if err != nil {
			return errBadLogin
		}
		ok, recovery, err := s.spendCode(r, row, code)
		switch {
		case err != nil:
			return err
		case !ok:
			s.audit(r.Context(), catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r),
				Action: "admin-login-failed", Detail: "a wrong or spent second-factor code"})
			return errBadLogin
		case recovery:
			s.audit(r.Context(), catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r),
				Action: "admin-login-recovery-code", Detail: "logged in with a recovery code"})
		}
		return nil
	})
}

// afterPassword is where a form login goes once the password is right:
// straight in when no second factor is set up nor required; else the
// page asking for a code, or the set-up page.
func (s *Server) afterPassword(w http.ResponseWriter, r *http.Request, a admin.Admin, next string) {
	row, err := s.o.Catalog.Admin(r.Context(), a.Email)
	if err != nil {
		s.o.Logger.Error("admin login", "err", err)
		s.render(w, r, http.StatusInternalServerError, "login", page{Title: "admin.title.login", Error: "admin.error.internal"})
		return
	}
	exp := s.o.Clock.Now().Add(pendingLife).Unix()
	switch {
	case row.TOTPSecret != "":
		s.render(w, r, http.StatusOK, "code", page{Title: "admin.title.code",
			Data: codePage{Token: s.sign(pending{Email: row.Email, Expires: exp, Next: next})}})
	case s.o.RequireSecondFactor:
		s.setupPage(w, r, http.StatusOK, row.Email, "", exp, next, "")
	default:
		s.enter(w, r, a, next)
	}
}

// enter starts the session and goes on.
func (s *Server) enter(w http.ResponseWriter, r *http.Request, a admin.Admin, next string) {
	if err := s.startSession(w, r, a); err != nil {
		s.o.Logger.Error("admin login: starting the session", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login", page{Title: "admin.title.login", Error: "admin.error.later", Data: next})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type codePage struct {
	Token string
}

type setupData struct {
	Token, Secret, URL string
	QR                 template.URL // a data: URL of its PNG, made here (html/template would refuse a string)
}

// setupPage shows a secret to set up (a new one when secret is "").
func (s *Server) setupPage(w http.ResponseWriter, r *http.Request, status int, email, secret string, exp int64, next, errID string) {
	var key *otp.Key
	var err error
	if secret == "" {
		key, err = totp.Generate(totp.GenerateOpts{Issuer: "Mail Time Machine", AccountName: email, Period: 30,
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	} else {
		q := url.Values{"secret": {secret}, "issuer": {"Mail Time Machine"}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}
		u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/Mail Time Machine:" + email, RawQuery: q.Encode()}
		key, err = otp.NewKeyFromURL(u.String())
	}
	if err != nil {
		s.o.Logger.Error("admin second factor: a new secret", "err", err)
		s.render(w, r, http.StatusInternalServerError, "login", page{Title: "admin.title.login", Error: "admin.error.internal"})
		return
	}
	d := setupData{Token: s.sign(pending{Email: email, Expires: exp, Secret: key.Secret(), Next: next}), Secret: key.Secret(), URL: key.URL()}
	if img, err := key.Image(240, 240); err == nil {
		var b bytes.Buffer
		if png.Encode(&b, img) == nil {
			d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())) //nolint:gosec // our own PNG
		}
	}
	s.render(w, r, status, "setup", page{Title: "admin.title.setup", Data: d, Error: errID})
}

// formCode is the second step of a login: the code (or a recovery code).
func (s *Server) formCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p, ok := pending{}, r.ParseForm() == nil
	if ok {
		p, ok = s.open(r.PostForm.Get("token"))
	}
	if !ok {
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "admin.title.login", Error: "admin.error.step_expired"})
		return
	}
	err := s.secondStep(r, p.Email, r.PostForm.Get("code"))
	if err != nil {
		status, errID := s.stepError(w, err)
		s.render(w, r, status, "code", page{Title: "admin.title.code", Error: errID, Data: codePage{Token: r.PostForm.Get("token")}})
		return
	}
	row, err := s.o.Catalog.Admin(r.Context(), p.Email)
	if err != nil {
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "admin.title.login", Error: "admin.error.login"})
		return
	}
	s.enter(w, r, admin.Admin{Email: row.Email, Domains: row.Domains}, localPath(p.Next))
}

// stepError is the answer to a failed second step.
func (s *Server) stepError(w http.ResponseWriter, err error) (int, string) {
	var th webauth.ThrottledError
	switch {
	case errors.As(err, &th):
		web.SetRetryAfter(w, th.Wait)
		return http.StatusTooManyRequests, "admin.error.code_throttled"
	case errors.Is(err, errBadLogin):
		return http.StatusUnauthorized, "admin.error.code"
	}
	s.o.Logger.Error("admin second step", "err", err)
	return http.StatusInternalServerError, "admin.error.internal"
}

// formSetup proves a new secret with a code from the app, saves it with
// new recovery codes, shows those once, and starts the session.
func (s *Server) formSetup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p, ok := pending{}, r.ParseForm() == nil
	if ok {
		p, ok = s.open(r.PostForm.Get("token"))
	}
	if !ok || p.Secret == "" {
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "admin.title.login", Error: "admin.error.step_expired"})
		return
	}
	step := int64(-1)
	err := s.gate.Attempt(r, p.Email, s.o.ClientIP(r), func() error {
		if code := normalizeCode(r.PostForm.Get("code")); len(code) == 6 && isDigits(code) {
			step = matchStep(p.Secret, code, s.o.Clock.Now())
		}
		if step < 0 {
			return errBadLogin
		}
		return nil
	})
	if err != nil {
		status, errID := s.stepError(w, err)
		s.setupPage(w, r, status, p.Email, p.Secret, p.Expires, p.Next, errID)
		return
	}
	codes := make([]string, recoveryCodes)
	hashes := make([][32]byte, recoveryCodes)
	for i := range codes {
		b := make([]byte, 8)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		c := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:12]
		codes[i], hashes[i] = c[:4]+"-"+c[4:8]+"-"+c[8:], sha256.Sum256([]byte(c))
	}
	row, err := s.o.Catalog.Admin(r.Context(), p.Email)
	if err == nil && row.TOTPSecret != "" {
		err = errors.New("a second factor was set up meanwhile")
	}
	if err == nil {
		err = s.o.Catalog.SetAdminTOTP(r.Context(), p.Email, p.Secret, step, hashes)
	}
	if err != nil {
		s.o.Logger.Error("admin second factor: saving it", "admin", p.Email, "err", err)
		s.render(w, r, http.StatusConflict, "login", page{Title: "admin.title.login", Error: "admin.error.step_expired"})
		return
	}
	s.audit(r.Context(), catalog.AuditEvent{Actor: row.Email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r),
		Action: "admin-2fa-setup", Detail: "set up a second factor, with 10 recovery codes"})
	a := admin.Admin{Email: row.Email, Domains: row.Domains}
	if err := s.startSession(w, r, a); err != nil {
		s.o.Logger.Error("admin login: starting the session", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login", page{Title: "admin.title.login", Error: "admin.error.later"})
		return
	}
	s.render(w, r, http.StatusOK, "recovery", page{Title: "admin.title.recovery", Admin: a,
		Data: struct {
			Codes []string
			Next  string
		}{codes, localPath(p.Next)}})
}

// reauthenticated tells whether a confirming request carries the admin's
// password or a fresh code ("reauth"): the step-up before a whole
// account's restore. A wrong one counts as a failed login.
func (s *Server) reauthenticated(r *http.Request, a admin.Admin, secret string) (bool, error) {
	if secret == "" {
		return false, nil
	}
	err := s.gate.Attempt(r, a.Email, s.o.ClientIP(r), func() error {
		row, err := s.o.Catalog.Admin(r.Context(), a.Email)
		if err != nil {
			return err
		}
		if c := normalizeCode(secret); len(c) == 6 && isDigits(c) && row.TOTPSecret != "" {
			if ok, _, err := s.spendCode(r, row, c); err != nil || ok {
				return err
			}
		}
		if _, err := s.check(r.Context(), a.Email, secret); err != nil {
			return errBadLogin
		}
		return nil
	})
	if errors.Is(err, errBadLogin) {
		return false, nil
	}
	return err == nil, err
}
