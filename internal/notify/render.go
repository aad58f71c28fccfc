package notify

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/emersion/go-message/mail"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/i18n"
)

//go:embed templates/*/*.txt templates/*/*.html
var templateFS embed.FS

// The kinds of email, also the names of their template files.
const (
	KindRestoreRequested = "restore_requested"
	KindRestoreDone      = "restore_done"
	KindRestoreFailed    = "restore_failed"
	KindRestoreRejected  = "restore_rejected"
	KindAccountFailing   = "account_failing"
	KindNightLate        = "night_late"
	KindJobsFailed       = "jobs_failed"
	KindMassDeletion     = "mass_deletion"
	KindRestoreReceived  = "restore_received"
)

// Message is one rendered email for one recipient.
type Message = catalog.OutboxMail

// Options tune a Renderer; the zero value is valid.
type Options struct {
	// Clock dates the messages; defaults to the real clock.
	Clock clock.Clock
	// Rand makes Message-IDs and MIME boundaries; defaults to crypto/rand.
	Rand io.Reader
	// DefaultFrom sends from "Mail Time Machine <mtm@HOSTNAME>" when
	// smtp.from is empty (`mtm serve`, which queues mail even without an
	// SMTP server); without it an empty smtp.from is an error.
	DefaultFrom bool
	// LanguageOf, if set, gives the language an admin or an operator chose
	// ("" for none), for the emails to them; users' come with ToUser.
	LanguageOf func(address string) string
	// Logger hears of the admins and operators whose address cannot
	// receive email (they are left out, the others get theirs); default
	// discarded.
	Logger *slog.Logger
}

// Renderer renders the emails. It is safe for concurrent use when its Rand
// is.
type Renderer struct {
	from    *mail.Address
	baseURL string
	loc     *time.Location
	clk     clock.Clock
	rand    io.Reader
	lang    string                      // the default language: cfg.Language
	langOf  func(address string) string // Options.LanguageOf
	log     *slog.Logger
	text    map[string]map[string]*template.Template     // by language, then kind: "subject" and "text"
	html    map[string]map[string]*htmltemplate.Template // by language, then kind: "html"
}

var kinds = []string{KindRestoreRequested, KindRestoreDone, KindRestoreFailed, KindRestoreRejected,
	KindAccountFailing, KindNightLate, KindJobsFailed, KindMassDeletion, KindRestoreReceived}

// New returns a Renderer sending from cfg.SMTP.From, linking to
// cfg.BaseURL and showing times in cfg.Location (UTC if unset).
func New(cfg *config.Config, opts Options) (*Renderer, error) {
	if cfg.SMTP.From == "" && opts.DefaultFrom {
		c := *cfg
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		c.SMTP.From = "Mail Time Machine <mtm@" + host + ">"
		cfg = &c
	}
	if cfg.SMTP.From == "" {
		return nil, errors.New("notify: smtp.from is empty")
	}
	from, err := netmail.ParseAddress(cfg.SMTP.From)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp.from %q: %w", cfg.SMTP.From, err)
	}
	if err := checkAddress(from.Address); err != nil {
		return nil, fmt.Errorf("notify: smtp.from: %w", err)
	}
	r := &Renderer{from: (*mail.Address)(from), baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		loc: cfg.Location, clk: opts.Clock, rand: opts.Rand, lang: cfg.Language, langOf: opts.LanguageOf, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if !i18n.Supported(r.lang) {
		r.lang = i18n.Codes[0]
	}
	if r.loc == nil {
		r.loc = time.UTC
	}
	if r.clk == nil {
		r.clk = clock.Real{}
	}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	if err := r.parse(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Renderer) parse() error {
	when := func(t time.Time) string { return t.In(r.loc).Format("2006-01-02 15:04 MST") }
	add := func(a, b int) int { return a + b }
	sub := func(a, b int) int { return a - b }
	textFuncs := map[string]any{"line": oneLine, "total": total, "when": when, "add": add, "sub": sub,
		"para": func(s string) string { return indent(paragraph(s), "    ") }}
	htmlFuncs := map[string]any{"line": oneLine, "total": total, "when": when, "add": add, "sub": sub, "para": paragraph}
	r.text, r.html = map[string]map[string]*template.Template{}, map[string]map[string]*htmltemplate.Template{}
	// Every kind in every language: a missing one fails here, at start.
	for _, lang := range i18n.Codes {
		r.text[lang], r.html[lang] = map[string]*template.Template{}, map[string]*htmltemplate.Template{}
		for _, k := range kinds {
			dir := "templates/" + lang + "/"
			t, err := template.New(k).Funcs(textFuncs).ParseFS(templateFS, dir+k+".txt", dir+"_common.txt")
			if err != nil {
				return fmt.Errorf("notify: parsing %s/%s.txt: %w", lang, k, err)
			}
			h, err := htmltemplate.New(k).Funcs(htmlFuncs).ParseFS(templateFS, dir+k+".html", dir+"_common.html")
			if err != nil {
				return fmt.Errorf("notify: parsing %s/%s.html: %w", lang, k, err)
			}
			for _, name := range []string{"subject", "text"} {
				if t.Lookup(name) == nil {
					return fmt.Errorf("notify: %s/%s.txt has no %q", lang, k, name)
				}
			}
			if h.Lookup("html") == nil {
				return fmt.Errorf("notify: %s/%s.html has no \"html\"", lang, k)
			}
			r.text[lang][k], r.html[lang][k] = t, h
		}
	}
	return nil
}

// view is what a template sees: the email's data, the link to show, and
// the webmail's address (base_url), for every email to a user.
type view struct {
	D       any
	Link    string
	Webmail string
	lang    string   // the recipient's language; "": the default
	replyTo []string // Reply-To: who answers a reply
	account string   // the account the email is about (Message.Account)
}

// link returns base_url joined with path, or "" without a base_url.
func (r *Renderer) link(path string) string {
	if r.baseURL == "" {
		return ""
	}
	u, err := url.JoinPath(r.baseURL, path)
	if err != nil {
		return ""
	}
	return u
}

// RestoreRequested renders the request email, one per admin address.
func (r *Renderer) RestoreRequested(admins []string, d RestoreRequested) ([]Message, error) {
	v := view{D: d, Link: r.link("/admin/restores/" + strconv.FormatInt(d.ID, 10)), account: d.Account}
	return r.each(admins, KindRestoreRequested, fmt.Sprintf("restore/%d/requested", d.ID), v)
}

// toUser is the view of an email to a user: in their language, linking
// to the webmail, a reply reaching their admins.
func (r *Renderer) toUser(d any, account string, u ToUser) view {
	return view{D: d, Webmail: r.link("/"), lang: u.Lang, replyTo: u.ReplyTo, account: account}
}

// RestoreReceived renders the user's receipt of a restore request.
func (r *Renderer) RestoreReceived(d RestoreReceived) (Message, error) {
	return r.render(KindRestoreReceived, fmt.Sprintf("restore/%d/received", d.ID), d.Account, r.toUser(d, d.Account, d.ToUser))
}

// RestoreDone renders the user's email about a finished restore.
func (r *Renderer) RestoreDone(d RestoreDone) (Message, error) {
	return r.render(KindRestoreDone, fmt.Sprintf("restore/%d/done", d.ID), d.Account, r.toUser(d, d.Account, d.ToUser))
}

// RestoreFailed renders the user's email about a restore that failed.
func (r *Renderer) RestoreFailed(d RestoreFailed) (Message, error) {
	return r.render(KindRestoreFailed, fmt.Sprintf("restore/%d/failed", d.ID), d.Account, r.toUser(d, d.Account, d.ToUser))
}

// RestoreRejected renders the user's email about a declined request.
func (r *Renderer) RestoreRejected(d RestoreRejected) (Message, error) {
	return r.render(KindRestoreRejected, fmt.Sprintf("restore/%d/rejected", d.ID), d.Account, r.toUser(d, d.Account, d.ToUser))
}

// AccountFailing renders the two-night failure alert, one per admin
// address. Its key names the account and the streak's first failed night
// (like scheduler.StreakKey), so one streak is reported once however often
// it is enqueued.
func (r *Renderer) AccountFailing(admins []string, d AccountFailing) ([]Message, error) {
	v := view{D: d, Link: r.link("/admin/backups"), account: d.Account}
	return r.each(admins, KindAccountFailing, fmt.Sprintf("account-failing/%s/%s", d.Account, d.Previous.Day), v)
}

// MassDeletion renders the warning that mail vanished: one to user (if
// not empty), with a link to the webmail's Changes view, and one to each
// admin. Its key names the account and the night, so a night warns once.
func (r *Renderer) MassDeletion(user string, admins []string, d MassDeletion) ([]Message, error) {
	key := fmt.Sprintf("vanished/%s/%s", d.Account, d.Night)
	var out []Message
	if user != "" {
		d.ForAdmin = false
		v := r.toUser(d, d.Account, d.ToUser)
		if v.Link = r.link("/changes"); v.Link != "" {
			v.Link += fmt.Sprintf("?from=%d&to=%d", d.From, d.To)
		}
		m, err := r.render(KindMassDeletion, key, user, v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(admins) > 0 {
		d.ForAdmin = true
		ms, err := r.each(admins, KindMassDeletion, key, view{D: d, account: d.Account})
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// NightLate renders the operators' email about a night projected to miss
// its window, one per operator; its key names the night, so a night is
// reported once.
func (r *Renderer) NightLate(operators []string, d NightLate) ([]Message, error) {
	return r.each(operators, KindNightLate, "night-late/"+d.Night, view{D: d})
}

// JobsFailed renders the operators' email about the jobs that failed for
// good in a quarter of an hour, one per operator; its key names the
// quarter, so each is reported once.
func (r *Renderer) JobsFailed(operators []string, d JobsFailed) ([]Message, error) {
	return r.each(operators, KindJobsFailed, "jobs-failed/"+d.From.UTC().Format(time.RFC3339), view{D: d})
}

// each renders kind for every address of to. An address that cannot
// receive email (an admin added before addresses were checked) is left
// out and logged as an error for the operators: one bad address never
// keeps the others' emails, or what sends them, from going on.
func (r *Renderer) each(to []string, kind, key string, v view) ([]Message, error) {
	if len(to) == 0 {
		return nil, fmt.Errorf("notify: %s: no recipient", kind)
	}
	out := make([]Message, 0, len(to))
	for _, addr := range to {
		if err := checkAddress(addr); err != nil {
			r.log.Error("notify: an address cannot receive email; it is left out (correct it with mtm admin remove and add)",
				"kind", kind, "address", addr, "err", err)
			continue
		}
		v := v
		if r.langOf != nil {
			v.lang = r.langOf(addr) // each admin or operator in their own language
		}
		m, err := r.render(kind, key, addr, v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// render executes kind's templates and builds the message for to.
func (r *Renderer) render(kind, key, to string, v view) (Message, error) {
	if err := checkAddress(to); err != nil {
		return Message{}, fmt.Errorf("notify: %s to %q: %w", kind, to, err)
	}
	lang := v.lang
	if !i18n.Supported(lang) {
		lang = r.lang
	}
	var subject, text, html bytes.Buffer
	for _, ex := range []struct {
		w    *bytes.Buffer
		exec func(io.Writer, string, any) error
		name string
	}{
		{&subject, r.text[lang][kind].ExecuteTemplate, "subject"},
		{&text, r.text[lang][kind].ExecuteTemplate, "text"},
		{&html, r.html[lang][kind].ExecuteTemplate, "html"},
	} {
		if err := ex.exec(ex.w, ex.name, v); err != nil {
			return Message{}, fmt.Errorf("notify: rendering %s %s: %w", kind, ex.name, err)
		}
	}
	m := Message{Key: key + "/" + strings.ToLower(to), Kind: kind, From: r.from.Address, To: to, Account: v.account,
		Subject: oneLine(subject.String())}
	var err error
	if m.MessageID, err = r.token(16); err != nil {
		return Message{}, err
	}
	m.MessageID += "@" + domain(r.from.Address)
	if m.Body, err = r.build(m, v.replyTo, text.String(), html.String()); err != nil {
		return Message{}, fmt.Errorf("notify: building %s: %w", kind, err)
	}
	return m, nil
}
