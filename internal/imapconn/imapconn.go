// Package imapconn owns the connection to the live IMAP server: the
// server's settings from the [imap] configuration (FromConfig, used by
// every command and by `mtm serve`), dialing with the configured TLS mode,
// logging in as an account (through a Dovecot-style master user or the
// account's own password, with errors that say which part was refused
// without echoing a password), checking a user's own password for the web
// login (CheckLogin), the server's capabilities, and listing the personal
// namespace's folders with subscription and special-use state. The
// snapshot engine, the restore runner and the web login all talk to the
// server through it.
package imapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TLS modes of the IMAP connection.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Server says how to reach and log in to the IMAP server.
type Server struct {
	Address            string // host:port
	TLS                string // TLSNone, TLSStartTLS or TLSImplicit
	InsecureSkipVerify bool
	Timeout            time.Duration // dialing (default 30 s); CheckLogin's whole exchange
	Credentials        Credentials
	// Slots, if set, bounds the connections to the server across
	// processes: Dial takes a slot first (waiting for one) and Close gives
	// it back. Nil: no bound beyond the caller's own.
	Slots Slots
}

// Slots hands out the right to hold one connection to a server.
type Slots interface {
	// Acquire takes a free slot of server and returns the function that
	// frees it. With wait it waits for one; without, it fails at once
	// with ErrNoSlot when none is free.
	Acquire(ctx context.Context, server string, wait bool) (release func(), err error)
}

// ErrNoSlot: every connection slot of the server is taken (DialMore).
var ErrNoSlot = errors.New("every connection slot of the imap server is taken")

// defaultTimeout bounds dialing when Server.Timeout is zero.
const defaultTimeout = 30 * time.Second

// Credentials give the login for an account.
type Credentials interface {
	Login(address string) (username, password string, err error)
}

// MasterUser logs in as any account through a Dovecot-style master user:
// LOGIN "address<Separator>User" Password.
type MasterUser struct {
	User, Password, Separator string
}

// Login implements Credentials.
func (m MasterUser) Login(address string) (string, string, error) {
	return address + m.Separator + m.User, m.Password, nil
}

// Passwords logs in with each account's own password.
type Passwords map[string]string

// Login implements Credentials.
func (p Passwords) Login(address string) (string, string, error) {
	pw, ok := p[strings.ToLower(address)]
	if !ok {
		return "", "", fmt.Errorf("no password for %s in the password file", address)
	}
	return address, pw, nil
}

// Conn is one logged-in IMAP connection.
type Conn struct {
	C          *imapclient.Client
	CondStore  bool // CONDSTORE (RFC 7162) or IMAP4rev2
	ESearch    bool // ESEARCH (RFC 4731) or IMAP4rev2
	ListStatus bool // LIST-STATUS (RFC 5819) or IMAP4rev2
	stop       func() bool
	release    func() // gives back the slot (Server.Slots); never nil
}

// Dial connects and logs in as address. The connection is closed when ctx
// is done, which unblocks any command in flight.
func Dial(ctx context.Context, srv Server, address string) (*Conn, error) {
	return dial(ctx, srv, address, true)
}

// DialMore opens one more connection of an account that holds one: it
// fails at once with ErrNoSlot rather than wait for a slot (Server.Slots),
// so that accounts holding a connection never wait on one another; the
// caller goes on with the connections it has.
func DialMore(ctx context.Context, srv Server, address string) (*Conn, error) {
	return dial(ctx, srv, address, false)
}

func dial(ctx context.Context, srv Server, address string, wait bool) (*Conn, error) {
	release := func() {}
	if srv.Slots != nil {
		var err error
		if release, err = srv.Slots.Acquire(ctx, srv.Address, wait); err != nil {
			return nil, fmt.Errorf("a connection slot of %s: %w", srv.Address, err)
		}
	}
	c, err := dialClient(srv)
	if err != nil {
		release()
		return nil, err
	}
	cn := &Conn{C: c, release: release}
	cn.stop = context.AfterFunc(ctx, func() { _ = c.Close() })
	if err := cn.login(srv, address); err != nil {
		cn.Close()
		return nil, err
	}
	caps := c.Caps()
	cn.CondStore = caps.Has(imap.CapCondStore) || caps.Has(imap.CapIMAP4rev2)
	cn.ESearch = caps.Has(imap.CapESearch) || caps.Has(imap.CapIMAP4rev2)
	cn.ListStatus = caps.Has(imap.CapListStatus) || caps.Has(imap.CapIMAP4rev2)
	return cn, nil
}

// dialClient connects to the server in its TLS mode, without logging in.
func dialClient(srv Server) (*imapclient.Client, error) {
	timeout := srv.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: timeout}}
	if srv.TLS != TLSNone && srv.TLS != "" {
		host, _, err := net.SplitHostPort(srv.Address)
		if err != nil {
			return nil, fmt.Errorf("imap address %q: %w", srv.Address, err)
		}
		opts.TLSConfig = &tls.Config{ServerName: host, InsecureSkipVerify: srv.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	}
	var c *imapclient.Client
	var err error
	switch srv.TLS {
	case TLSNone, "":
		c, err = imapclient.DialInsecure(srv.Address, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(srv.Address, opts)
	case TLSImplicit:
		c, err = imapclient.DialTLS(srv.Address, opts)
	default:
		return nil, fmt.Errorf("unknown imap tls mode %q", srv.TLS)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to imap server %s: %w", srv.Address, err)
	}
	return c, nil
}

func (cn *Conn) login(srv Server, address string) error {
	if err := cn.C.WaitGreeting(); err != nil {
		return fmt.Errorf("imap server %s greeting: %w", srv.Address, err)
	}
	user, pw, err := srv.Credentials.Login(address)
	if err != nil {
		return err
	}
	if err := cn.C.Login(user, pw).Wait(); err != nil {
		return loginError(address, srv.Credentials, err)
	}
	// Capabilities may change after login: go-imap takes them from the
	// LOGIN answer's CAPABILITY code (Dovecot sends it), or asks with one
	// CAPABILITY when it is missing.
	if cn.C.Caps() == nil {
		return fmt.Errorf("capabilities of %s: the server did not say", srv.Address)
	}
	return nil
}

// loginError explains a refused login without echoing any password.
func loginError(address string, creds Credentials, err error) error {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return fmt.Errorf("logging in as %s: %w", address, err)
	}
	master, isMaster := creds.(MasterUser)
	switch {
	case isMaster && ie.Code == imap.ResponseCodeAuthorizationFailed:
		return fmt.Errorf("logging in as %s: the account does not exist, or master user %q may not log in as it (server said: %s)",
			address, master.User, ie.Text)
	case isMaster:
		return fmt.Errorf("logging in as %s: the server refused master user %q (wrong master password?; server said: %s)",
			address, master.User, ie.Text)
	default:
		return fmt.Errorf("logging in as %s: the server refused the account's password (server said: %s)", address, ie.Text)
	}
}

// Close logs out and closes the connection.
func (cn *Conn) Close() {
	cn.stop()
	_ = cn.C.Logout().Wait()
	_ = cn.C.Close()
	cn.release()
}

// Folder is a folder as the server lists it.
type Folder struct {
	Name       string
	Delimiter  string
	Attributes []string
	SpecialUse string
	Subscribed bool
	Selectable bool
	// Status is the folder's state as LIST-STATUS gave it; nil without
	// LIST-STATUS, and for folders that cannot be selected.
	Status *Status
}

// Status is a folder's state from a STATUS answer.
type Status struct {
	UIDValidity   uint32
	UIDNext       uint32
	Messages      uint32
	HighestModSeq uint64 // 0 without CONDSTORE
}

var specialUse = []imap.MailboxAttr{
	imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts, imap.MailboxAttrFlagged,
	imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrImportant,
}

// volatile are the LIST attributes that describe the moment, not the
// folder: \Marked and \Unmarked say whether mail arrived since the folder
// was last selected (RFC 3501, 7.2.2), and come and go without any change to
// its messages. They are not kept, so they cannot make an unchanged account
// look changed.
var volatile = []imap.MailboxAttr{imap.MailboxAttrMarked, imap.MailboxAttrUnmarked}

// ListFolders lists every folder of the personal namespace, subscribed or
// not, with special-use and subscription state and, where the server has
// LIST-STATUS, each folder's status, sorted by name: one LIST (plus a
// NAMESPACE sent with it, and an LSUB-style LIST on servers without
// LIST-EXTENDED; docs/design.md, "IMAP sync algorithm"). Names are UTF-8
// (go-imap decodes modified UTF-7).
func (cn *Conn) ListFolders() ([]Folder, error) {
	caps := cn.C.Caps()
	var ns *imapclient.NamespaceCommand
	if caps.Has(imap.CapNamespace) || caps.Has(imap.CapIMAP4rev2) {
		ns = cn.C.Namespace() // pipelined with the LIST
	}
	opts := &imap.ListOptions{}
	extended := caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2)
	if extended {
		opts.ReturnSubscribed = true
		if caps.Has(imap.CapSpecialUse) || caps.Has(imap.CapIMAP4rev2) {
			opts.ReturnSpecialUse = true
		}
	}
	if cn.ListStatus {
		opts.ReturnStatus = &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true,
			HighestModSeq: cn.CondStore}
	}
	list, err := cn.C.List("", "*", opts).Collect()
	var skip []string // prefixes of other users' and shared namespaces
	if ns != nil {
		data, nsErr := ns.Wait()
		if nsErr != nil {
			return nil, fmt.Errorf("namespace: %w", nsErr)
		}
		for _, d := range slices.Concat(data.Other, data.Shared) {
			if d.Prefix != "" {
				skip = append(skip, d.Prefix)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var subscribed map[string]bool
	if !extended {
		if subscribed, err = cn.lsub(); err != nil {
			return nil, err
		}
	}
	var out []Folder
	for _, l := range list {
		if slices.ContainsFunc(skip, func(p string) bool { return strings.HasPrefix(l.Mailbox, p) }) {
			continue
		}
		out = append(out, toListed(l, subscribed))
	}
	slices.SortFunc(out, func(a, b Folder) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func toListed(l *imap.ListData, subscribed map[string]bool) Folder {
	f := Folder{Name: l.Mailbox, Selectable: true, Subscribed: subscribed[l.Mailbox]}
	if l.Delim != 0 {
		f.Delimiter = string(l.Delim)
	}
	var uses []string
	for _, a := range l.Attrs {
		switch {
		case a == imap.MailboxAttrSubscribed:
			f.Subscribed = true
		case slices.Contains(specialUse, a):
			uses = append(uses, string(a))
		case slices.Contains(volatile, a): // go-imap gives attributes in canonical case
		default:
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				f.Selectable = false
			}
			f.Attributes = append(f.Attributes, string(a))
		}
	}
	f.SpecialUse = strings.Join(uses, " ")
	slices.Sort(f.Attributes)
	if st := l.Status; st != nil && f.Selectable && st.NumMessages != nil {
		f.Status = &Status{UIDValidity: st.UIDValidity, UIDNext: uint32(st.UIDNext), Messages: *st.NumMessages,
			HighestModSeq: st.HighestModSeq}
	}
	return f
}

// lsub is the subscription list of servers without LIST-EXTENDED: a LIST
// that selects subscribed folders (which such servers answer like LSUB).
func (cn *Conn) lsub() (map[string]bool, error) {
	list, err := cn.C.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("listing subscriptions: %w", err)
	}
	out := make(map[string]bool, len(list))
	for _, l := range list {
		out[l.Mailbox] = true
	}
	return out, nil
}

// DialN opens up to n connections logged in as address: the first waits
// for a slot (Server.Slots), the others are opened while slots are free.
// On failure it closes those it opened.
func DialN(ctx context.Context, srv Server, address string, n int) ([]*Conn, error) {
	var out []*Conn
	for i := range max(n, 1) {
		cn, err := dial(ctx, srv, address, i == 0)
		if i > 0 && errors.Is(err, ErrNoSlot) {
			break
		}
		if err != nil {
			CloseAll(out)
			return nil, err
		}
		out = append(out, cn)
	}
	return out, nil
}

// CloseAll closes every connection.
func CloseAll(conns []*Conn) {
	for _, cn := range conns {
		cn.Close()
	}
}
