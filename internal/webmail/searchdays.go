package webmail

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/web"
)

// daySearchJSON is GET /api/v1/search (docs/api.md): a search over every
// kept day, one result per message.
type daySearchJSON struct {
	Total   int          `json:"total"`
	More    bool         `json:"more,omitempty"` // the search stopped at maxSearchHits messages
	Results []dayHitJSON `json:"results"`
}

type dayHitJSON struct {
	// Snapshot and ID open the message on the latest day that has it.
	Snapshot       int64        `json:"snapshot"`
	ID             int64        `json:"id"`
	Subject        string       `json:"subject"`
	From           string       `json:"from"`
	Date           string       `json:"date"`
	Size           int64        `json:"size"`
	HasAttachments bool         `json:"has_attachments"`
	Days           []hitDayJSON `json:"days"` // oldest first; a day twice when two folders held it
	Now            nowJSON      `json:"now"`
}

type hitDayJSON struct {
	Snapshot int64  `json:"snapshot"`
	Day      string `json:"day"`
	Folder   string `json:"folder"`
	ID       int64  `json:"id"`
}

// nowJSON is where the message is on the latest day: "live" in the
// folders it was in, "moved" to others, or "deleted" on Day (the first day
// without it).
type nowJSON struct {
	State   string   `json:"state"`
	Folders []string `json:"folders,omitempty"`
	Day     string   `json:"day,omitempty"`
}

// searchDays searches every day the user can pick (docs/design.md,
// "Changes between days").
func (s *Server) searchDays(w http.ResponseWriter, r *http.Request, u who) {
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("offset"), 0)
	limit, err2 := intParam(q.Get("limit"), defaultLimit)
	if err := errors.Join(err1, err2); err != nil || offset < 0 || limit < 1 || limit > maxLimit {
		s.apiError(w, r, http.StatusBadRequest, "api.bad_paging")
		return
	}
	query := strings.TrimSpace(q.Get("q"))
	if query == "" {
		s.apiError(w, r, http.StatusBadRequest, "api.q_required")
		return
	}
	out := daySearchJSON{Results: []dayHitJSON{}}
	if u.acct == 0 {
		web.WriteJSON(w, http.StatusOK, out)
		return
	}
	snaps, err := s.opts.Catalog.Snapshots(r.Context(), u.acct)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	days := s.pickerDays(snaps)
	slices.Reverse(days) // oldest first
	hits, more, err := s.opts.Catalog.SearchDays(r.Context(), u.acct, query, maxSearchHits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out.More = more
	for _, h := range hits {
		if res, ok := s.dayHit(h, days); ok {
			out.Results = append(out.Results, res)
		}
	}
	out.Total = len(out.Results)
	out.Results = out.Results[min(offset, out.Total):min(offset+limit, out.Total)]
	web.WriteJSON(w, http.StatusOK, out)
}

// dayHit places a found message on the days (oldest first); false when no
// kept day shows it.
func (s *Server) dayHit(h catalog.DayHit, days []catalog.Snapshot) (dayHitJSON, bool) {
	var res dayHitJSON
	var last catalog.HitVersion
	lastDay := -1
	for i, d := range days {
		for _, v := range h.Versions {
			if v.FirstSnap <= d.ID && (v.EndSnap == 0 || v.EndSnap > d.ID) {
				res.Days = append(res.Days, hitDayJSON{Snapshot: int64(d.ID), Day: d.Day, Folder: v.Folder, ID: v.EntryID})
				last, lastDay = v, i
			}
		}
	}
	if lastDay < 0 {
		return res, false
	}
	res.Snapshot, res.ID = int64(days[lastDay].ID), last.EntryID
	res.Subject, res.From, res.Size, res.HasAttachments = last.Subject, last.From, last.Size, last.HasAttachments
	d := last.Date
	if d.IsZero() {
		d = last.InternalDate
	}
	res.Date = d.In(s.opts.Location).Format(time.RFC3339)
	if lastDay < len(days)-1 {
		res.Now = nowJSON{State: "deleted", Day: days[lastDay+1].Day}
		return res, true
	}
	first, now := map[string]bool{}, []string{}
	for _, x := range res.Days {
		if x.Snapshot == res.Days[0].Snapshot {
			first[x.Folder] = true
		}
		if x.Snapshot == res.Snapshot {
			now = append(now, x.Folder)
		}
	}
	res.Now = nowJSON{State: "live", Folders: now}
	for _, f := range now {
		if !first[f] {
			res.Now.State = "moved"
		}
	}
	return res, true
}
