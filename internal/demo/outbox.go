package demo

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"mtm/internal/clock"
)

// maxCaptured is how many messages the outbox keeps; older ones are
// dropped.
const maxCaptured = 500

// Captured is one message the outbox received.
type Captured struct {
	From     string // envelope
	To       []string
	Data     []byte
	Received time.Time
}

// Outbox is an SMTP server that accepts every message and keeps it, and a
// web page that lists what it kept, each on its own loopback port. It
// stands in for the provider's mail server so a visitor sees the emails
// mtm sends.
type Outbox struct {
	clk      clock.Clock
	smtpAddr string
	webAddr  string
	smtp     *smtp.Server
	web      *http.Server
	done     chan error

	mu   sync.Mutex
	msgs []Captured
}

// StartOutbox starts both servers on free loopback ports.
func StartOutbox(clk clock.Clock) (*Outbox, error) {
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp listener: %w", err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("outbox web listener: %w", err), sl.Close())
	}
	o := &Outbox{clk: clk, smtpAddr: sl.Addr().String(), webAddr: wl.Addr().String(), done: make(chan error, 2)}
	o.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &capture{o: o}, nil }))
	o.smtp.Domain = "outbox.demo.example"
	o.smtp.ReadTimeout, o.smtp.WriteTimeout = time.Minute, time.Minute
	o.smtp.MaxMessageBytes = 10 << 20
	o.smtp.ErrorLog = log.New(io.Discard, "", 0)
	o.web = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	go func() { o.done <- o.smtp.Serve(sl) }()
	go func() { o.done <- o.web.Serve(wl) }()
	return o, nil
}

// SMTPAddr is the SMTP server's host:port.
func (o *Outbox) SMTPAddr() string { return o.smtpAddr }

// URL is the address of the outbox page.
func (o *Outbox) URL() string { return "http://" + o.webAddr + "/" }

// Messages returns what was received so far, oldest first.
func (o *Outbox) Messages() []Captured {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Captured(nil), o.msgs...)
}

// Close stops both servers.
func (o *Outbox) Close() error {
	err := errors.Join(o.smtp.Close(), o.web.Close())
	for range 2 {
		if serr := <-o.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) &&
			!errors.Is(serr, smtp.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
			err = errors.Join(err, serr)
		}
	}
	if err != nil {
		return fmt.Errorf("stopping the outbox: %w", err)
	}
	return nil
}

// capture is one SMTP session.
type capture struct {
	o    *Outbox
	from string
	to   []string
}

func (c *capture) Mail(from string, _ *smtp.MailOptions) error { c.from = from; return nil }
func (c *capture) Rcpt(to string, _ *smtp.RcptOptions) error   { c.to = append(c.to, to); return nil }
func (c *capture) Reset()                                      { c.from, c.to = "", nil }
func (c *capture) Logout() error                               { return nil }

func (c *capture) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading message: %w", err)
	}
	c.o.mu.Lock()
	defer c.o.mu.Unlock()
	c.o.msgs = append(c.o.msgs, Captured{From: c.from, To: c.to, Data: b, Received: c.o.clk.Now()})
	if len(c.o.msgs) > maxCaptured {
		c.o.msgs = c.o.msgs[len(c.o.msgs)-maxCaptured:]
	}
	return nil
}

// shown is a message as the page shows it.
type shown struct {
	Subject, From, To, Date string
	Received                string
	Body                    []segment
	Err                     string
}

// segment is a piece of body text, or a link.
type segment struct{ Text, URL string }

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

func linkify(s string) []segment {
	var out []segment
	for {
		loc := linkRE.FindStringIndex(s)
		if loc == nil {
			return append(out, segment{Text: s})
		}
		u := strings.TrimRight(s[loc[0]:loc[1]], ".,;:)")
		out = append(out, segment{Text: s[:loc[0]]}, segment{Text: u, URL: u})
		s = s[loc[0]+len(u):]
	}
}

// show parses a captured message for the page.
func show(c Captured) shown {
	s := shown{From: c.From, To: strings.Join(c.To, ", "), Received: c.Received.Format("2006-01-02 15:04:05")}
	r, err := mail.CreateReader(bytes.NewReader(c.Data))
	if err != nil {
		s.Err = err.Error()
		return s
	}
	dec := new(mime.WordDecoder)
	if s.Subject, err = r.Header.Subject(); err != nil {
		s.Subject = r.Header.Get("Subject")
	}
	if from, err := dec.DecodeHeader(r.Header.Get("From")); err == nil {
		s.From = from
	}
	if to, err := dec.DecodeHeader(r.Header.Get("To")); err == nil {
		s.To = to
	}
	s.Date = r.Header.Get("Date")
	for {
		p, err := r.NextPart()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.Err = err.Error()
			}
			break
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			if ct, _, _ := h.ContentType(); ct == "text/plain" {
				b, err := io.ReadAll(io.LimitReader(p.Body, 1<<20))
				if err != nil {
					s.Err = err.Error()
				}
				s.Body = linkify(strings.ReplaceAll(string(b), "\r\n", "\n"))
				break
			}
		}
	}
	return s
}

var page = template.Must(template.New("outbox").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>Demo outbox ({{len .}})</title>
<style>body{font-family:sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
article{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
dl{display:grid;grid-template-columns:6rem 1fr;margin:.5rem 0}dt{color:#666}dd{margin:0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.75rem;border-radius:4px}.err{color:#a00}</style></head>
<body><h1>Demo outbox</h1>
<p>Every email Mail Time Machine sent during this demo, newest first. The page refreshes every 10 seconds.</p>
{{if not .}}<p><em>No email yet. Request a restore in the webmail, then confirm it in the admin panel.</em></p>{{end}}
{{range .}}<article><h2>{{.Subject}}</h2><dl>
<dt>From</dt><dd>{{.From}}</dd><dt>To</dt><dd>{{.To}}</dd><dt>Date</dt><dd>{{.Date}}</dd><dt>Received</dt><dd>{{.Received}}</dd></dl>
{{if .Err}}<p class="err">{{.Err}}</p>{{end}}
<pre>{{range .Body}}{{if .URL}}<a href="{{.URL}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre></article>
{{end}}</body></html>
`))

// ServeHTTP serves the outbox page.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	msgs := o.Messages()
	list := make([]shown, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		list = append(list, show(msgs[i]))
	}
	var b bytes.Buffer
	if err := page.Execute(&b, list); err != nil {
		http.Error(w, "rendering the outbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(b.Bytes()) // an error means the client went away
}
