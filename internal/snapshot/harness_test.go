package snapshot

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/catalog/catalogtest"
	"mtm/internal/checker"
	"mtm/internal/imapconn"
	"mtm/internal/testenv/dovecot"
)

// harness is a Dovecot, a data directory and an engine over both.
type harness struct {
	t     *testing.T
	dc    *dovecot.Server
	cat   *catalog.DB
	blobs *blobstore.Local
	eng   *Engine
	ctx   context.Context
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dir := t.TempDir()
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	h := &harness{t: t, dc: dc, cat: cat, blobs: blobs, ctx: ctx}
	h.eng = h.engine(imapconn.MasterUser{User: dc.MasterUser, Password: dc.MasterPassword, Separator: "*"})
	return h
}

func (h *harness) engine(creds imapconn.Credentials) *Engine {
	return New(h.cat, h.blobs, Options{
		Server:                imapconn.Server{Address: h.dc.Addr, TLS: imapconn.TLSNone, Credentials: creds},
		ConnectionsPerAccount: 2,
		Logger:                slog.New(slog.NewTextHandler(testWriter{h.t}, nil)),
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// snapshot takes a snapshot of address and fails the test on error.
func (h *harness) snapshot(address string) catalog.Snapshot {
	h.t.Helper()
	res := h.eng.Account(h.ctx, address)
	if res.Err != nil {
		h.t.Fatalf("snapshot of %s: %v", address, res.Err)
	}
	return res.Snapshot
}

// msgView is one message of a snapshot as the tests compare it.
type msgView struct {
	Flags   string
	Subject string
	Bytes   []byte
}

// view reads a snapshot back: folder -> uid -> message, with the blob bytes.
func (h *harness) view(s catalog.Snapshot) (map[string]catalog.Folder, map[string]map[uint32]msgView) {
	h.t.Helper()
	folders, err := h.cat.Folders(h.ctx, s)
	if err != nil {
		h.t.Fatal(err)
	}
	fs := map[string]catalog.Folder{}
	msgs := map[string]map[uint32]msgView{}
	for _, f := range folders {
		fs[f.Name] = f
		m := map[uint32]msgView{}
		if f.MailboxID != 0 {
			for _, cm := range catalogtest.Summaries(h.t, h.cat, s, f.MailboxID) {
				rc, err := h.blobs.Open(h.ctx, blobstore.Hash(cm.Hash))
				if err != nil {
					h.t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				if cerr := rc.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					h.t.Fatal(err)
				}
				m[cm.UID] = msgView{Flags: catalog.JoinFlags(cm.Flags), Subject: cm.Subject, Bytes: b}
			}
		}
		msgs[f.Name] = m
	}
	return fs, msgs
}

// live reads a folder of the live mailbox: uid -> flags and exact bytes.
func (h *harness) live(c *imapclient.Client, folder string) map[uint32]msgView {
	h.t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		h.t.Fatalf("examine %s: %v", folder, err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		h.t.Fatalf("fetch %s: %v", folder, err)
	}
	out := map[uint32]msgView{}
	for _, b := range bufs {
		out[uint32(b.UID)] = msgView{Flags: catalog.JoinFlags(flagStrings(b.Flags)), Bytes: b.FindBodySection(section)}
	}
	return out
}

// checkStore runs the integrity check over the data directory, reading
// every blob back, and fails the test on any problem.
func (h *harness) checkStore() {
	h.t.Helper()
	rep, err := checker.Check(h.ctx, h.cat, h.blobs, checker.Options{ReadDataPercent: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	if !rep.OK() {
		h.t.Errorf("integrity check: %q", rep.Problems)
	}
}
