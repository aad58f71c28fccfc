package imapd

import (
	"bufio"
	"bytes"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // header words in every charset go-message knows
	"github.com/emersion/go-message/textproto"

	"mtm/internal/catalog"
	"mtm/internal/render"
)

// Search answers SEARCH and UID SEARCH over the selected folder: numbers,
// dates, sizes and flags from the catalog; header fields from the stored
// header; BODY and TEXT from the search index when it covers the day
// (word prefixes, as the webmail's search), else by reading each
// candidate's text (substrings).
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, _ *imap.SearchOptions) (*imap.SearchData, error) {
	if err := s.stillKept(false); err != nil {
		return nil, err
	}
	m := &matcher{s: s, sel: s.sel, heads: map[int]textproto.Header{}, texts: map[int]texts{}}
	data := &imap.SearchData{}
	var uids imap.UIDSet
	var seqs imap.SeqSet
	for i := range s.sel.msgs {
		ok, err := m.match(i, criteria)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		num := uint32(i) + 1
		if kind == imapserver.NumKindUID {
			num = uint32(s.sel.msgs[i].uid)
			uids.AddNum(s.sel.msgs[i].uid)
		} else {
			seqs.AddNum(num)
		}
		if data.Count == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	return data, nil
}

// matcher reads what criteria need of each message once.
type matcher struct {
	s     *session
	sel   *selected
	heads map[int]textproto.Header
	texts map[int]texts
	// index: the search index's matches per BODY/TEXT term (entry ids);
	// indexed tells whether the index covers the day (asked once).
	index   map[string]map[int64]bool
	indexed *bool
}

func (m *matcher) match(i int, c *imap.SearchCriteria) (bool, error) {
	msg := &m.sel.msgs[i]
	seq := uint32(i) + 1
	n := uint32(len(m.sel.msgs))
	for _, set := range c.SeqNum {
		if !inSeqSet(set, seq, n) {
			return false, nil
		}
	}
	var maxUID imap.UID
	if n > 0 {
		maxUID = m.sel.msgs[n-1].uid
	}
	for _, set := range c.UID {
		if !inUIDSet(set, msg.uid, maxUID) {
			return false, nil
		}
	}
	if !inDates(msg.date, c.Since, c.Before) {
		return false, nil
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		if msg.sent.IsZero() || !inDates(msg.sent, c.SentSince, c.SentBefore) {
			return false, nil
		}
	}
	for _, f := range c.Flag {
		if strings.EqualFold(string(f), `\Recent`) || !msg.has(f) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if msg.has(f) {
			return false, nil
		}
	}
	if c.Larger != 0 && msg.size <= c.Larger {
		return false, nil
	}
	if c.Smaller != 0 && msg.size >= c.Smaller {
		return false, nil
	}
	if len(c.Header) > 0 {
		h, err := m.head(i)
		if err != nil {
			return false, err
		}
		for _, f := range c.Header {
			if !headerHas(h, f.Key, f.Value) {
				return false, nil
			}
		}
	}
	for _, t := range c.Body {
		ok, err := m.hasText(i, t, true)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, t := range c.Text {
		ok, err := m.hasText(i, t, false)
		if err != nil || !ok {
			return false, err
		}
	}
	for k := range c.Not {
		ok, err := m.match(i, &c.Not[k])
		if err != nil || ok {
			return false, err
		}
	}
	for _, or := range c.Or {
		a, err := m.match(i, &or[0])
		if err != nil {
			return false, err
		}
		if !a {
			b, err := m.match(i, &or[1])
			if err != nil || !b {
				return false, err
			}
		}
	}
	return true, nil
}

func inSeqSet(set imap.SeqSet, seq, n uint32) bool {
	for _, r := range set {
		start, stop := staticRange(r.Start, r.Stop, n)
		if seq >= start && seq <= stop {
			return true
		}
	}
	return false
}

func inUIDSet(set imap.UIDSet, uid, maxUID imap.UID) bool {
	for _, r := range set {
		start, stop := staticRange(uint32(r.Start), uint32(r.Stop), uint32(maxUID))
		if uint32(uid) >= start && uint32(uid) <= stop {
			return true
		}
	}
	return false
}

// inDates compares t's calendar day, in its own zone, with SINCE and
// BEFORE (RFC 3501: the time and zone are disregarded).
func inDates(t, since, before time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(time.Date(since.Year(), since.Month(), since.Day(), 0, 0, 0, 0, time.UTC)) {
		return false
	}
	if !before.IsZero() && !d.Before(time.Date(before.Year(), before.Month(), before.Day(), 0, 0, 0, 0, time.UTC)) {
		return false
	}
	return true
}

// head reads message i's header.
func (m *matcher) head(i int) (textproto.Header, error) {
	if h, ok := m.heads[i]; ok {
		return h, nil
	}
	b, err := m.s.read(&m.sel.msgs[i], true, nil)
	if err != nil {
		return textproto.Header{}, err
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	m.heads[i] = h
	return h, nil
}

// headerHas: a field key holding value (decoded, any case); an empty value
// asks only that the field be there.
func headerHas(h textproto.Header, key, value string) bool {
	mh := gomessage.Header{Header: h}
	value = strings.ToLower(value)
	for f := mh.FieldsByKey(key); f.Next(); {
		text, err := f.Text()
		if err != nil {
			text = f.Value()
		}
		if strings.Contains(strings.ToLower(text), value) {
			return true
		}
	}
	return false
}

// hasText: message i holds text t in its body (bodyOnly) or anywhere.
func (m *matcher) hasText(i int, t string, bodyOnly bool) (bool, error) {
	if strings.TrimSpace(t) == "" {
		return true, nil
	}
	indexed, err := m.isIndexed()
	if err != nil {
		return false, err
	}
	if indexed {
		hits, err := m.indexHits(t, bodyOnly)
		if err != nil {
			return false, err
		}
		return hits[m.sel.msgs[i].entry], nil
	}
	txt, ok := m.texts[i]
	if !ok {
		raw, err := m.s.read(&m.sel.msgs[i], false, nil)
		if err != nil {
			return false, err
		}
		pm, err := m.s.srv.o.Parser.Parse(m.s.ctx, raw)
		if err != nil {
			return false, m.s.serverError("reading a message's text", err)
		}
		txt = texts{head: strings.ToLower(string(raw[:headEnd(raw)])), body: strings.ToLower(render.SearchText(pm))}
		m.texts[i] = txt
	}
	t = strings.ToLower(t)
	return strings.Contains(txt.body, t) || (!bodyOnly && strings.Contains(txt.head, t)), nil
}

// texts are a message's header and text, lower-cased, for the scan.
type texts struct{ head, body string }

func (m *matcher) isIndexed() (bool, error) {
	if m.indexed != nil {
		return *m.indexed, nil
	}
	done, total, err := m.s.srv.o.Catalog.IndexProgress(m.s.ctx, m.sel.snap)
	if err != nil {
		return false, m.s.serverError("reading the search index's progress", err)
	}
	ok := done >= total
	m.indexed = &ok
	return ok, nil
}

// indexHits are the folder's messages the search index finds for t.
func (m *matcher) indexHits(t string, bodyOnly bool) (map[int64]bool, error) {
	key := t
	if bodyOnly {
		key = "\x00" + t
	}
	if hits, ok := m.index[key]; ok {
		return hits, nil
	}
	var q []string
	for _, w := range strings.Fields(t) {
		if bodyOnly {
			w = "body:" + w
		}
		q = append(q, w)
	}
	ids, _, err := m.s.srv.o.Catalog.Search(m.s.ctx, m.sel.snap, m.sel.folder.MailboxID, strings.Join(q, " "),
		catalog.SortDate, len(m.sel.msgs)+1)
	if err != nil {
		return nil, m.s.serverError("searching the index", err)
	}
	hits := make(map[int64]bool, len(ids))
	for _, id := range ids {
		hits[id] = true
	}
	if m.index == nil {
		m.index = map[string]map[int64]bool{}
	}
	m.index[key] = hits
	return hits, nil
}
