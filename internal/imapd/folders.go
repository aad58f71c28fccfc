package imapd

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// tree is an account's kept days and their folders, as the client sees
// them: "YYYY-MM-DD" + delim + the folder's name of that day.
type tree struct {
	delim rune
	days  []day // newest first
}

type day struct {
	snap    catalog.Snapshot
	folders []catalog.Folder // INBOX first, then by name
}

// folderRef is one selectable or listed folder of the tree.
type folderRef struct {
	// inbox: the top INBOX, which every IMAP account has (RFC 3501);
	// here it is empty: the mail is in the days' folders.
	inbox  bool
	day    *day
	folder *catalog.Folder // nil: the day's own folder
}

// selectable: INBOX, or a day's folder that held messages.
func (r folderRef) selectable() bool {
	return r.inbox || (r.folder != nil && r.folder.MailboxID != 0)
}

// inboxValidity is the top INBOX's UIDVALIDITY: it never holds a message.
const inboxValidity = 1

// defaultDelim is the hierarchy delimiter of an account whose folders name
// none (a flat server).
const defaultDelim = '/'

// tree reads the account's kept days and their folders. A committed
// snapshot's folders never change: the session reads each day's once and
// asks the catalog only which days are kept.
func (s *session) tree() (*tree, error) {
	t := &tree{delim: defaultDelim}
	if s.acct == 0 {
		return t, nil
	}
	snaps, err := s.srv.o.Catalog.Snapshots(s.ctx, s.acct)
	if err != nil {
		return nil, s.serverError("listing the kept days", err)
	}
	kept := catalog.KeptDays(snaps, s.srv.o.RetentionDays)
	known := s.days
	s.days = make(map[catalog.SnapshotID][]catalog.Folder, len(kept)) // days no longer kept are dropped
	delimSet := false
	for _, sn := range kept {
		folders, ok := known[sn.ID]
		if !ok {
			if folders, err = s.dayFolders(sn); err != nil {
				return nil, err
			}
		}
		s.days[sn.ID] = folders
		for _, f := range folders {
			if !delimSet && f.Delimiter != "" {
				t.delim, delimSet = []rune(f.Delimiter)[0], true
			}
		}
		t.days = append(t.days, day{snap: sn, folders: folders})
	}
	return t, nil
}

// dayFolders reads a day's folders, INBOX first, then by name.
func (s *session) dayFolders(sn catalog.Snapshot) ([]catalog.Folder, error) {
	folders, err := s.srv.o.Catalog.Folders(s.ctx, sn)
	if err != nil {
		return nil, s.serverError("listing a day's folders", err)
	}
	sort.SliceStable(folders, func(i, j int) bool {
		ii, ij := isInbox(folders[i].Name), isInbox(folders[j].Name)
		if ii != ij {
			return ii
		}
		return folders[i].Name < folders[j].Name
	})
	return folders, nil
}

func isInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// name is the folder's name on the wire (go-imap encodes it).
func (t *tree) name(r folderRef) string {
	if r.inbox {
		return "INBOX"
	}
	if r.folder == nil {
		return r.day.snap.Day
	}
	return r.day.snap.Day + string(t.delim) + r.folder.Name
}

// all lists every folder of the tree in LIST's order: each day, newest
// first, then its folders.
func (t *tree) all() []folderRef {
	out := []folderRef{{inbox: true}}
	for i := range t.days {
		d := &t.days[i]
		out = append(out, folderRef{day: d})
		for j := range d.folders {
			out = append(out, folderRef{day: d, folder: &d.folders[j]})
		}
	}
	return out
}

// find resolves a name the client sent. INBOX is matched in any case, as
// IMAP wants.
func (t *tree) find(name string) (folderRef, bool) {
	if isInbox(name) {
		return folderRef{inbox: true}, true
	}
	dayName, rest, hasRest := strings.Cut(name, string(t.delim))
	for i := range t.days {
		d := &t.days[i]
		if d.snap.Day != dayName {
			continue
		}
		if !hasRest {
			return folderRef{day: d}, true
		}
		for j := range d.folders {
			f := &d.folders[j]
			if f.Name == rest || (isInbox(f.Name) && isInbox(rest)) {
				return folderRef{day: d, folder: f}, true
			}
		}
	}
	return folderRef{}, false
}

// hasChildren tells whether a folder has folders under it that day.
func (t *tree) hasChildren(r folderRef) bool {
	if r.inbox {
		return false
	}
	if r.folder == nil {
		return len(r.day.folders) > 0
	}
	prefix := r.folder.Name + string(t.delim)
	for _, f := range r.day.folders {
		if strings.HasPrefix(f.Name, prefix) {
			return true
		}
	}
	return false
}

// uidValidity is a day's folder's UIDVALIDITY: stable for that day and
// folder, different across days, never 0 (docs/design.md).
func uidValidity(snap catalog.SnapshotID, mailboxID int64) uint32 {
	h := fnv.New32a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(snap))
	binary.BigEndian.PutUint64(b[8:], uint64(mailboxID))
	_, _ = h.Write(b[:])
	return h.Sum32() | 1
}

func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		// LIST "" "": the delimiter and the root.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: t.delim})
	}
	if options.SelectSpecialUse {
		return nil // no folder here is the account's own Sent, Trash, ...
	}
	for _, r := range t.all() {
		name := t.name(r)
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, t.delim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: t.delim}
		if !r.selectable() {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		}
		if t.hasChildren(r) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if options.SelectSubscribed || options.ReturnSubscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if options.ReturnStatus != nil && r.selectable() {
			st, err := s.status(r, name, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	t, err := s.tree()
	if err != nil {
		return nil, err
	}
	r, ok := t.find(name)
	if !ok || !r.selectable() {
		return nil, noSuchFolder(name)
	}
	return s.status(r, name, options)
}

// status answers STATUS of a day's folder, reading its messages only when
// a count of flags is asked.
func (s *session) status(r folderRef, name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	st := &imap.StatusData{Mailbox: name}
	var n uint32
	var size int64
	if r.inbox {
		st.UIDValidity = inboxValidity
	} else {
		st.UIDValidity = uidValidity(r.day.snap.ID, r.folder.MailboxID)
		n, size = uint32(r.folder.Messages), r.folder.Bytes
	}
	if !options.UIDValidity {
		st.UIDValidity = 0
	}
	if options.NumMessages {
		st.NumMessages = &n
	}
	if options.Size {
		st.Size = &size
	}
	if options.NumRecent {
		zero := uint32(0)
		st.NumRecent = &zero
	}
	if options.UIDNext || options.NumUnseen || options.NumDeleted {
		c, err := s.counts(r)
		if err != nil {
			return nil, err
		}
		if options.UIDNext {
			st.UIDNext = c.uidNext
		}
		if options.NumUnseen {
			st.NumUnseen = &c.unseen
		}
		if options.NumDeleted {
			st.NumDeleted = &c.deleted
		}
	}
	return st, nil
}

// counts is what STATUS reads of a day's folder's messages.
type counts struct {
	uidNext         imap.UID
	unseen, deleted uint32
}

// countsKey names a day's folder: a committed snapshot never changes, so
// its counts are kept by the server for every client.
type countsKey struct {
	snap    catalog.SnapshotID
	mailbox int64
}

// maxCounts bounds the counts the server keeps; past it they are dropped
// and read again as asked.
const maxCounts = 100000

// counts returns a day's folder's counts, reading its messages once.
func (s *session) counts(r folderRef) (counts, error) {
	if r.inbox {
		return counts{uidNext: 1}, nil
	}
	key := countsKey{r.day.snap.ID, r.folder.MailboxID}
	srv := s.srv
	srv.mu.Lock()
	c, ok := srv.counts[key]
	srv.mu.Unlock()
	if ok {
		return c, nil
	}
	msgs, err := s.messages(r)
	if err != nil {
		return counts{}, err
	}
	c.uidNext = uidNext(msgs)
	for _, m := range msgs {
		if !m.has(imap.FlagSeen) {
			c.unseen++
		}
		if m.has(imap.FlagDeleted) {
			c.deleted++
		}
	}
	srv.mu.Lock()
	if len(srv.counts) >= maxCounts {
		clear(srv.counts)
	}
	srv.counts[key] = c
	srv.mu.Unlock()
	return c, nil
}

// message is one message of a selected folder.
type message struct {
	uid   imap.UID
	entry int64
	flags []imap.Flag
	date  time.Time
	size  int64
	hash  blobstore.Hash
	// sent is the Date: header (zero when missing).
	sent time.Time
}

func (m *message) has(flag imap.Flag) bool {
	for _, f := range m.flags {
		if strings.EqualFold(string(f), string(flag)) {
			return true
		}
	}
	return false
}

// messages reads a day's folder's messages, in UID order.
func (s *session) messages(r folderRef) ([]message, error) {
	var out []message
	if r.inbox {
		return nil, nil
	}
	err := s.srv.o.Catalog.Messages(s.ctx, r.day.snap, r.folder.MailboxID, func(m catalog.Message) error {
		msg := message{uid: imap.UID(m.UID), entry: m.EntryID, date: m.InternalDate, size: m.Size,
			hash: blobstore.Hash(m.Hash), sent: m.Date}
		for _, f := range m.Flags {
			if f != "" && !strings.EqualFold(f, `\Recent`) {
				msg.flags = append(msg.flags, imap.Flag(f))
			}
		}
		out = append(out, msg)
		return nil
	})
	if err != nil {
		return nil, s.serverError("reading a folder's messages", err)
	}
	return out, nil
}

func uidNext(msgs []message) imap.UID {
	if len(msgs) == 0 {
		return 1
	}
	return msgs[len(msgs)-1].uid + 1
}

// selected is the folder a client has open.
type selected struct {
	snap        catalog.Snapshot // zero for the top INBOX
	folder      catalog.Folder
	uidValidity uint32
	msgs        []message
	checked     time.Time // when the day was last found still kept
	// lookedUp is closed when the blob store has looked the messages up
	// ahead (prefetch); nil when it does not.
	lookedUp <-chan struct{}
}

func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.sel = nil
	t, err := s.tree()
	if err != nil {
		return nil, err
	}
	r, ok := t.find(name)
	if !ok || !r.selectable() {
		return nil, noSuchFolder(name)
	}
	msgs, err := s.messages(r)
	if err != nil {
		return nil, err
	}
	options.ReadOnly = true // SELECT answers READ-ONLY, as EXAMINE
	sel := &selected{msgs: msgs, uidValidity: inboxValidity, checked: s.srv.o.Clock.Now(), lookedUp: s.prefetch(msgs)}
	if !r.inbox {
		sel.snap, sel.folder, sel.uidValidity = r.day.snap, *r.folder, uidValidity(r.day.snap.ID, r.folder.MailboxID)
	}
	s.sel = sel
	data := &imap.SelectData{
		Flags:          []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft},
		PermanentFlags: []imap.Flag{},
		NumMessages:    uint32(len(msgs)),
		UIDNext:        uidNext(msgs),
		UIDValidity:    sel.uidValidity,
	}
	for i, m := range msgs {
		if !m.has(imap.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i) + 1
			break
		}
	}
	return data, nil
}

func (s *session) Unselect() error {
	s.sel = nil
	return nil
}

// each calls fn for the selected messages of numSet, in order, with their
// sequence numbers; "*" is the last message (or the largest UID).
func (sel *selected) each(numSet imap.NumSet, fn func(seq uint32, m *message) error) error {
	n := uint32(len(sel.msgs))
	switch set := numSet.(type) {
	case imap.SeqSet:
		for _, r := range set {
			start, stop := staticRange(r.Start, r.Stop, n)
			for seq := start; seq <= stop && seq <= n && seq != 0; seq++ {
				if err := fn(seq, &sel.msgs[seq-1]); err != nil {
					return err
				}
			}
		}
	case imap.UIDSet:
		var maxUID imap.UID
		if n > 0 {
			maxUID = sel.msgs[n-1].uid
		}
		for _, r := range set {
			start, stop := staticRange(uint32(r.Start), uint32(r.Stop), uint32(maxUID))
			i := sort.Search(len(sel.msgs), func(i int) bool { return uint32(sel.msgs[i].uid) >= start })
			for ; i < len(sel.msgs) && uint32(sel.msgs[i].uid) <= stop; i++ {
				if err := fn(uint32(i)+1, &sel.msgs[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// staticRange turns a range with "*" (0) into numbers, in order.
func staticRange(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

// prefetcher is a blob store that looks many blobs up at once
// (blobstore.Local and blobstore.S3): a client that downloads a folder
// then costs one index query per few hundred messages instead of one per
// message.
type prefetcher interface {
	Prefetch(ctx context.Context, hs []blobstore.Hash) error
}

// prefetch tells the blob store the selected folder's messages are about
// to be read, when it can use that, and returns a channel closed when it
// is done, or nil. The look-up runs beside the session: clients list a
// folder's flags before they read its messages, so it costs SELECT
// nothing on a second core; the first read waits for it. A failure only
// costs the look-ups.
func (s *session) prefetch(msgs []message) <-chan struct{} {
	p, ok := s.srv.o.Blobs.(prefetcher)
	if !ok || len(msgs) == 0 {
		return nil
	}
	hs := make([]blobstore.Hash, len(msgs))
	for i, m := range msgs {
		hs[i] = m.hash
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Prefetch(s.ctx, hs); err != nil && s.ctx.Err() == nil {
			s.srv.log.Warn("imap: looking the folder's messages up ahead", "account", s.address, "err", err)
		}
	}()
	return done
}

// lookedUp waits until the selected folder's look-up ahead is done, or the
// connection ends.
func (s *session) lookedUp() {
	if s.sel == nil || s.sel.lookedUp == nil {
		return
	}
	select {
	case <-s.sel.lookedUp:
	case <-s.ctx.Done():
	}
}
