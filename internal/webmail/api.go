package webmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/web"
)

type snapshotJSON struct {
	ID       int64  `json:"id"`
	Day      string `json:"day"`
	TakenAt  string `json:"taken_at"`
	Messages int64  `json:"messages"`
	Bytes    int64  `json:"bytes"`
	// Vanished counts the messages that vanished since the day before: in
	// no folder of this day (catalog Vanished; the picker's bad days).
	Vanished int `json:"vanished"`
}

// listSnapshots answers the last committed snapshot of each of the last
// RetentionDays days that have one, newest first.
func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request, u who) {
	out := []snapshotJSON{}
	if u.acct != 0 {
		snaps, err := s.opts.Catalog.Snapshots(r.Context(), u.acct)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		vanished, err := s.vanishedByDay(r, u.acct, snaps)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, sn := range s.pickerDays(snaps) {
			out = append(out, snapshotJSON{ID: int64(sn.ID), Day: sn.Day,
				TakenAt: sn.TakenAt.In(s.opts.Location).Format(time.RFC3339), Messages: sn.Messages, Bytes: sn.Bytes,
				Vanished: vanished[sn.Day]})
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// pickerDays are the days the user picks from (catalog.KeptDays).
func (s *Server) pickerDays(snaps []catalog.Snapshot) []catalog.Snapshot {
	return catalog.KeptDays(snaps, s.opts.RetentionDays)
}

// vanishedByDay adds up, per day, the messages that vanished with each of
// the day's committed snapshots: the picker shows the last snapshot of a
// day, and the counts of that day's every snapshot belong to it.
func (s *Server) vanishedByDay(r *http.Request, acct catalog.AccountID, snaps []catalog.Snapshot) (map[string]int, error) {
	bySnap, err := s.opts.Catalog.Vanished(r.Context(), acct)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, sn := range snaps {
		out[sn.Day] += bySnap[sn.ID]
	}
	return out, nil
}

// withSnapshot resolves {sid} to a committed snapshot of the account.
func (s *Server) withSnapshot(h func(http.ResponseWriter, *http.Request, who, catalog.Snapshot)) http.HandlerFunc {
	return s.withAccount(func(w http.ResponseWriter, r *http.Request, u who) {
		if u.acct == 0 {
			s.apiError(w, r, http.StatusNotFound, "api.not_found")
			return
		}
		snap, err := catalog.ResolveSnapshot(r.Context(), s.opts.Catalog, u.acct, r.PathValue("sid"))
		if errors.Is(err, catalog.ErrBadSnapshotRef) {
			s.apiError(w, r, http.StatusNotFound, "api.not_found")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, u, snap)
	})
}

func (s *Server) folders(r *http.Request, snap catalog.Snapshot) ([]catalog.Folder, error) {
	if fs, ok := s.cache.folders.get(snap.ID); ok {
		return fs, nil
	}
	fs, err := s.opts.Catalog.Folders(r.Context(), snap)
	if err != nil {
		return nil, err
	}
	s.cache.folders.put(snap.ID, fs)
	return fs, nil
}

type folderJSON struct {
	Name       string `json:"name"`
	Delimiter  string `json:"delimiter"`
	Subscribed bool   `json:"subscribed"`
	SpecialUse string `json:"special_use"`
	Messages   int64  `json:"messages"`
	Bytes      int64  `json:"bytes"`
	Selectable bool   `json:"selectable"`
}

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request, _ who, snap catalog.Snapshot) {
	fs, err := s.folders(r, snap)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]folderJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, folderJSON{Name: f.Name, Delimiter: f.Delimiter, Subscribed: f.Subscribed,
			SpecialUse: f.SpecialUse, Messages: f.Messages, Bytes: f.Bytes, Selectable: f.MailboxID != 0})
	}
	web.WriteJSON(w, http.StatusOK, out)
}

type messageJSON struct {
	ID             int64    `json:"id"`
	Folder         string   `json:"folder"`
	UID            uint32   `json:"uid"`
	From           string   `json:"from"`
	To             string   `json:"to"`
	Subject        string   `json:"subject"`
	Date           string   `json:"date"`
	Size           int64    `json:"size"`
	Flags          []string `json:"flags"`
	HasAttachments bool     `json:"has_attachments"`
}

func (s *Server) messageJSON(m catalog.Message, folder string) messageJSON {
	d := m.Date
	if d.IsZero() {
		d = m.InternalDate
	}
	flags := m.Flags
	if flags == nil {
		flags = []string{}
	}
	return messageJSON{ID: m.EntryID, Folder: folder, UID: m.UID, From: m.From, To: m.To, Subject: m.Subject,
		Date: d.In(s.opts.Location).Format(time.RFC3339), Size: m.Size, Flags: flags, HasAttachments: m.HasAttachments}
}

type listJSON struct {
	Total    int           `json:"total"`
	More     bool          `json:"more,omitempty"` // a search stopped at maxSearchHits
	Messages []messageJSON `json:"messages"`
	// Indexing, for a search, says the day's full-text index is still
	// being filled: results may be missing.
	Indexing *indexingJSON `json:"indexing,omitempty"`
}

type indexingJSON struct {
	Indexed int `json:"indexed"`
	Total   int `json:"total"`
}

// indexing returns how far the day's search index is, nil once it is
// whole (remembered: a committed day's messages never change).
func (s *Server) indexing(r *http.Request, snap catalog.Snapshot) (*indexingJSON, error) {
	if _, done := s.cache.indexed.get(snap.ID); done {
		return nil, nil
	}
	n, total, err := s.opts.Catalog.IndexProgress(r.Context(), snap)
	if err != nil {
		return nil, err
	}
	if n >= total {
		s.cache.indexed.put(snap.ID, true)
		return nil, nil
	}
	return &indexingJSON{Indexed: n, Total: total}, nil
}

const (
	defaultLimit = 50
	maxLimit     = 500
	// maxSearchHits is how many matches a search collects, newest stored
	// first, before it stops (docs/workflows.md, "Message lists and search").
	maxSearchHits = 1000
)

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, _ who, snap catalog.Snapshot) {
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("offset"), 0)
	limit, err2 := intParam(q.Get("limit"), defaultLimit)
	sort := catalog.Sort(q.Get("sort"))
	if sort == "" {
		sort = "-date"
	}
	if err := errors.Join(err1, err2); err != nil || offset < 0 || limit < 1 || limit > maxLimit {
		s.apiError(w, r, http.StatusBadRequest, "api.bad_paging")
		return
	}
	fs, err := s.folders(r, snap)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := make(map[int64]string, len(fs))
	key := listKey{snap: snap.ID, sort: sort, query: strings.TrimSpace(q.Get("q"))}
	folder := q.Get("folder")
	for _, f := range fs {
		names[f.MailboxID] = f.Name
		if folder != "" && f.Name == folder {
			key.mailbox = f.MailboxID
		}
	}
	switch {
	case folder == "" && key.query == "":
		s.apiError(w, r, http.StatusBadRequest, "api.folder_or_q")
		return
	case folder != "" && key.mailbox == 0 && !containerExists(fs, folder):
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	case folder != "" && key.mailbox == 0: // a container holds no messages
		key.query = ""
	}
	ids, more, err := s.messageList(r, snap, key)
	if errors.Is(err, catalog.ErrBadSort) {
		s.apiError(w, r, http.StatusBadRequest, "api.unknown_sort")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := listJSON{Total: len(ids), More: more, Messages: []messageJSON{}}
	if key.query != "" {
		if out.Indexing, err = s.indexing(r, snap); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if offset < len(ids) {
		msgs, err := s.opts.Catalog.MessagesByID(r.Context(), snap, ids[offset:min(len(ids), offset+limit)])
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, m := range msgs {
			out.Messages = append(out.Messages, s.messageJSON(m, names[m.MailboxID]))
		}
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func containerExists(fs []catalog.Folder, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// messageList returns the sorted ids of a folder or a search. Folder lists
// are cached, and computed once however many requests want one at the same
// time; searches are not cached, as their results grow while the index is
// being filled.
func (s *Server) messageList(r *http.Request, snap catalog.Snapshot, k listKey) ([]int64, bool, error) {
	switch {
	case k.query != "":
		return s.opts.Catalog.Search(r.Context(), snap, k.mailbox, k.query, k.sort, maxSearchHits)
	case k.mailbox == 0:
		return nil, false, nil // a container: no messages
	}
	if ids, ok := s.cache.lists.get(k); ok {
		return ids, false, nil
	}
	v, err, _ := s.cache.flight.Do(fmt.Sprint(k), func() (any, error) {
		ids, err := s.opts.Catalog.MessageOrder(context.WithoutCancel(r.Context()), snap, k.mailbox, k.sort)
		if err == nil {
			s.cache.lists.put(k, ids)
		}
		return ids, err
	})
	if err != nil {
		return nil, false, err
	}
	return v.([]int64), false, nil
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}
