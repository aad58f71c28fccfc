package webmail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/web"
)

// changesJSON is GET /api/v1/changes (docs/api.md).
type changesJSON struct {
	From     int64              `json:"from"`
	To       int64              `json:"to"`
	FromDay  string             `json:"from_day"`
	ToDay    string             `json:"to_day"`
	Folders  []folderChangeJSON `json:"folders"`
	Groups   []groupJSON        `json:"groups"`
	Counts   map[string]int     `json:"counts"`
	Messages []changeJSON       `json:"messages"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
	IDs      []int64            `json:"ids,omitempty"` // with ?ids=1: every matching row's id, unpaged
}

// groupJSON counts one kind of change in one folder (the earlier day's
// folder for deleted, removed and moved messages, the later day's for new
// ones and flag changes), so the view can offer "all 212 deleted from
// INBOX" as one choice.
type groupJSON struct {
	Folder   string `json:"folder"`
	Change   string `json:"change"`
	Messages int    `json:"messages"`
}

type folderChangeJSON struct {
	Name     string `json:"name"`
	Change   string `json:"change"`
	NewName  string `json:"new_name,omitempty"`
	Messages int    `json:"messages,omitempty"`
}

type changeJSON struct {
	ID          int64    `json:"id"`
	Snapshot    int64    `json:"snapshot"` // the day whose message routes open it
	Change      string   `json:"change"`
	Folder      string   `json:"folder"`
	ToFolder    string   `json:"to_folder,omitempty"`
	StillIn     []string `json:"still_in,omitempty"`
	Copy        bool     `json:"copy,omitempty"`
	FlagsBefore string   `json:"flags_before,omitempty"`
	FlagsAfter  string   `json:"flags_after,omitempty"`
	Subject     string   `json:"subject"`
	From        string   `json:"from"`
	Date        string   `json:"date"`
}

// changeOrder is the order of a folder's groups: what was lost first.
var changeOrder = map[string]int{catalog.ChangeDeleted: 0, catalog.ChangeRemoved: 1, catalog.ChangeMoved: 2,
	catalog.ChangeNew: 3, catalog.ChangeFlags: 4}

// changes answers what changed between two of the user's days
// (docs/design.md, "Changes between days"); from and to default to the
// oldest and the latest day the picker offers.
func (s *Server) changes(w http.ResponseWriter, r *http.Request, u who) {
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("offset"), 0)
	limit, err2 := intParam(q.Get("limit"), 100)
	if err := errors.Join(err1, err2); err != nil || offset < 0 || limit < 1 || limit > maxLimit {
		s.apiError(w, r, http.StatusBadRequest, "api.bad_paging")
		return
	}
	if u.acct == 0 {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	from, to, ok := s.changeDays(w, r, u)
	if !ok {
		return
	}
	ch, err := s.compare(r, from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := changesJSON{From: int64(from.ID), To: int64(to.ID), FromDay: from.Day, ToDay: to.Day,
		Folders: []folderChangeJSON{}, Messages: []changeJSON{}, Offset: offset, Limit: limit,
		Counts: map[string]int{catalog.ChangeDeleted: 0, catalog.ChangeRemoved: 0, catalog.ChangeMoved: 0,
			catalog.ChangeNew: 0, catalog.ChangeFlags: 0}}
	for _, f := range ch.Folders {
		out.Folders = append(out.Folders, folderChangeJSON(f))
	}
	kinds := map[string]bool{}
	for _, k := range strings.Split(q.Get("change"), ",") {
		if k != "" {
			kinds[k] = true
		}
	}
	var rows []catalog.MessageChange
	groups := map[groupJSON]int{}
	for _, m := range ch.Messages {
		out.Counts[m.Change]++
		groups[groupJSON{Folder: m.Folder, Change: m.Change}]++
		if (len(kinds) == 0 || kinds[m.Change]) && (q.Get("folder") == "" || q.Get("folder") == m.Folder) {
			rows = append(rows, m)
		}
	}
	for g, n := range groups {
		g.Messages = n
		out.Groups = append(out.Groups, g)
	}
	slices.SortFunc(out.Groups, func(a, b groupJSON) int {
		return cmp.Or(cmp.Compare(a.Folder, b.Folder), cmp.Compare(changeOrder[a.Change], changeOrder[b.Change]))
	})
	if out.Groups == nil {
		out.Groups = []groupJSON{}
	}
	out.Total = len(rows)
	if q.Get("ids") == "1" {
		out.IDs = make([]int64, len(rows))
		for i, m := range rows {
			out.IDs[i] = m.ID
		}
	}
	page := rows[min(offset, len(rows)):min(offset+limit, len(rows))]
	if out.Messages, err = s.changeRows(r, from, to, page); err != nil {
		s.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// compare returns the changes between two committed days, computed once
// for every page, filter and group the view asks of them: both days are
// immutable, and the cache is only reached once the account was checked.
func (s *Server) compare(r *http.Request, from, to catalog.Snapshot) (catalog.Changes, error) {
	key := [2]catalog.SnapshotID{from.ID, to.ID}
	if ch, ok := s.cache.changes.get(key); ok {
		return ch, nil
	}
	v, err, _ := s.cache.flight.Do(fmt.Sprint("changes", key), func() (any, error) {
		ch, err := s.opts.Catalog.Changes(context.WithoutCancel(r.Context()), from, to)
		if err == nil {
			s.cache.changes.put(key, ch)
		}
		return ch, err
	})
	if err != nil {
		return catalog.Changes{}, err
	}
	return v.(catalog.Changes), nil
}

// changeDays resolves ?from and ?to (a snapshot id or a day) to two of the
// user's committed snapshots in order, answering the error itself.
func (s *Server) changeDays(w http.ResponseWriter, r *http.Request, u who) (from, to catalog.Snapshot, ok bool) {
	ctx := r.Context()
	resolve := func(ref string) (catalog.Snapshot, bool) {
		snap, err := catalog.ResolveSnapshot(ctx, s.opts.Catalog, u.acct, ref)
		if errors.Is(err, catalog.ErrBadSnapshotRef) || errors.Is(err, catalog.ErrNotFound) {
			s.apiError(w, r, http.StatusNotFound, "api.no_such_day")
			return snap, false
		}
		if err != nil {
			s.fail(w, r, err)
			return snap, false
		}
		return snap, true
	}
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		days, err := s.opts.Catalog.Snapshots(ctx, u.acct)
		if err != nil {
			s.fail(w, r, err)
			return from, to, false
		}
		kept := s.pickerDays(days)
		if len(kept) < 2 {
			s.apiError(w, r, http.StatusNotFound, "api.one_day")
			return from, to, false
		}
		from, to = kept[len(kept)-1], kept[0]
	}
	if ref := q.Get("from"); ref != "" {
		if from, ok = resolve(ref); !ok {
			return from, to, false
		}
	}
	if ref := q.Get("to"); ref != "" {
		if to, ok = resolve(ref); !ok {
			return from, to, false
		}
	}
	if from.ID >= to.ID {
		s.apiError(w, r, http.StatusBadRequest, "api.from_before_to")
		return from, to, false
	}
	return from, to, true
}

// changeRows describes a page of changes with each message's header
// summary, read from the day its id belongs to.
func (s *Server) changeRows(r *http.Request, from, to catalog.Snapshot, page []catalog.MessageChange) ([]changeJSON, error) {
	summaries := map[int64]catalog.Message{}
	for _, day := range []catalog.Snapshot{from, to} {
		var ids []int64
		for _, m := range page {
			if m.Earlier() == (day.ID == from.ID) {
				ids = append(ids, m.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		msgs, err := s.opts.Catalog.MessagesByID(r.Context(), day, ids)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			summaries[m.EntryID] = m
		}
	}
	out := make([]changeJSON, 0, len(page))
	for _, m := range page {
		day := to
		if m.Earlier() {
			day = from
		}
		sum := summaries[m.ID]
		d := sum.Date
		if d.IsZero() {
			d = sum.InternalDate
		}
		out = append(out, changeJSON{ID: m.ID, Snapshot: int64(day.ID), Change: m.Change, Folder: m.Folder,
			ToFolder: m.ToFolder, StillIn: m.StillIn, Copy: m.Copy, FlagsBefore: m.FlagsBefore, FlagsAfter: m.FlagsAfter,
			Subject: sum.Subject, From: sum.From, Date: d.In(s.opts.Location).Format(time.RFC3339)})
	}
	return out, nil
}
