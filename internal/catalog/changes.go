package catalog

import (
	"cmp"
	"slices"
)

// The kinds of change between two days (docs/design.md, "Changes between
// days").
const (
	ChangeDeleted      = "deleted"      // a message in no folder of the later day; a folder gone
	ChangeRemoved      = "removed"      // a message gone from a folder, still in another
	ChangeMoved        = "moved"        // a message gone from a folder and come to another
	ChangeNew          = "new"          // a message come to a folder
	ChangeFlags        = "flags"        // a message's flags changed
	ChangeCreated      = "created"      // a folder come
	ChangeRenamed      = "renamed"      // a folder's mailbox under a new name
	ChangeUnsubscribed = "unsubscribed" // a folder no longer subscribed
)

// DayVersion is a message version as one day sees it.
type DayVersion struct {
	ID      int64  // the entry
	Folder  string // its folder's name on that day
	UID     uint32
	Content int64
	Flags   string
}

// DayFolder is a folder version as one day sees it.
type DayFolder struct {
	Name        string
	UIDValidity uint32 // 0: a folder that cannot be selected
	Subscribed  bool
	Messages    int // counted only when the other day lacks the name
	mailbox     int64
}

// FolderChange is a folder's change between two days.
type FolderChange struct {
	Name     string
	Change   string
	NewName  string // renamed
	Messages int    // deleted: the messages it had
}

// MessageChange is a message's change between two days.
type MessageChange struct {
	ID          int64  // the earlier day's version (deleted, removed, moved), else the later day's
	Change      string // ChangeDeleted, ChangeRemoved, ChangeMoved, ChangeNew or ChangeFlags
	Folder      string
	ToFolder    string   // moved
	StillIn     []string // removed: the later day's folders that still hold it
	Copy        bool     // new: the earlier day had it in another folder
	FlagsBefore string   // flags
	FlagsAfter  string
	Content     int64
}

// Earlier tells whether the row's ID is a version of the earlier day (what
// went: deleted, removed, moved) rather than of the later day (what came:
// new, flags); the message routes open it on that day.
func (m MessageChange) Earlier() bool {
	return m.Change == ChangeDeleted || m.Change == ChangeRemoved || m.Change == ChangeMoved
}

// classifyFolders compares the folders of two days: renames (a folder
// gone and one come with the same UIDVALIDITY that share a message, as
// shares says, or are both empty), then deletions, creations and
// unsubscriptions by name. It returns the changes and the map of the
// earlier day's names to the later day's.
func classifyFolders(a, b []DayFolder, shares func(from, to string) bool) ([]FolderChange, map[string]string) {
	byName := func(fs []DayFolder) map[string]DayFolder {
		m := make(map[string]DayFolder, len(fs))
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	inA, inB := byName(a), byName(b)
	rename := map[string]string{}
	taken := map[string]bool{} // B folders already the new name of a rename
	var out []FolderChange
	for _, f := range a {
		if fb, ok := inB[f.Name]; ok {
			if f.Subscribed && !fb.Subscribed {
				out = append(out, FolderChange{Name: f.Name, Change: ChangeUnsubscribed})
			}
			continue
		}
		to := ""
		for _, fb := range b { // b is in name order: the first match
			if _, old := inA[fb.Name]; old || taken[fb.Name] || f.UIDValidity == 0 || fb.UIDValidity != f.UIDValidity {
				continue
			}
			if (f.Messages == 0 && fb.Messages == 0) || shares(f.Name, fb.Name) {
				to = fb.Name
				break
			}
		}
		if to != "" {
			rename[f.Name], taken[to] = to, true
			out = append(out, FolderChange{Name: f.Name, Change: ChangeRenamed, NewName: to})
		} else {
			out = append(out, FolderChange{Name: f.Name, Change: ChangeDeleted, Messages: f.Messages})
		}
	}
	for _, f := range b {
		if _, old := inA[f.Name]; !old && !taken[f.Name] {
			out = append(out, FolderChange{Name: f.Name, Change: ChangeCreated})
		}
	}
	slices.SortStableFunc(out, func(x, y FolderChange) int { return cmp.Compare(x.Name, y.Name) })
	return out, rename
}

// sharesMessages tells, from the versions that went and came, whether a
// folder of the earlier day and one of the later day hold a message with
// the same UID and content: the mark of a rename.
func sharesMessages(gone, came []DayVersion) func(from, to string) bool {
	type key struct {
		folder  string
		uid     uint32
		content int64
	}
	had := map[key]bool{}
	for _, v := range gone {
		had[key{v.Folder, v.UID, v.Content}] = true
	}
	byFolder := map[string][]DayVersion{}
	for _, v := range came {
		byFolder[v.Folder] = append(byFolder[v.Folder], v)
	}
	return func(from, to string) bool {
		for _, v := range byFolder[to] {
			if had[key{from, v.UID, v.Content}] {
				return true
			}
		}
		return false
	}
}

// classifyMessages compares the message versions the earlier day had and
// the later day has not (gone) with those the later day has and the
// earlier had not (came), as docs/design.md, "Changes between days", says:
// by content over multisets of folders, the earlier day's folder names
// mapped through rename. inB and inA give, for a content, the folders that
// hold it on the later and the earlier day (whatever changed).
func classifyMessages(gone, came []DayVersion, rename map[string]string,
	inA, inB func(content int64) []string) []MessageChange {
	mapped := func(name string) string {
		if n, ok := rename[name]; ok {
			return n
		}
		return name
	}
	byContent := func(vs []DayVersion, mapNames bool) map[int64][]DayVersion {
		m := map[int64][]DayVersion{}
		for _, v := range vs {
			if mapNames {
				v.Folder = mapped(v.Folder)
			}
			m[v.Content] = append(m[v.Content], v)
		}
		for _, l := range m {
			slices.SortStableFunc(l, func(x, y DayVersion) int {
				return cmp.Or(cmp.Compare(x.Folder, y.Folder), cmp.Compare(x.ID, y.ID))
			})
		}
		return m
	}
	originalFolder := map[int64]string{}
	for _, v := range gone {
		originalFolder[v.ID] = v.Folder
	}
	ga, cb := byContent(gone, true), byContent(came, false)
	contents := make([]int64, 0, len(ga)+len(cb))
	for c := range ga {
		contents = append(contents, c)
	}
	for c := range cb {
		if _, ok := ga[c]; !ok {
			contents = append(contents, c)
		}
	}
	slices.Sort(contents)
	var out []MessageChange
	for _, c := range contents {
		left, right := ga[c], cb[c]
		// 1. The same folder on both days: at most a flag change.
		var restA, restB []DayVersion
		used := make([]bool, len(right))
		for _, va := range left {
			matched := false
			for j, vb := range right {
				if !used[j] && vb.Folder == va.Folder {
					used[j], matched = true, true
					if va.Flags != vb.Flags {
						out = append(out, MessageChange{ID: vb.ID, Change: ChangeFlags, Folder: vb.Folder,
							FlagsBefore: va.Flags, FlagsAfter: vb.Flags, Content: c})
					}
					break
				}
			}
			if !matched {
				restA = append(restA, va)
			}
		}
		for j, vb := range right {
			if !used[j] {
				restB = append(restB, vb)
			}
		}
		// 2. Gone from one folder, come to another: moved.
		n := min(len(restA), len(restB))
		for i := range n {
			out = append(out, MessageChange{ID: restA[i].ID, Change: ChangeMoved, Folder: originalFolder[restA[i].ID],
				ToFolder: restB[i].Folder, Content: c})
		}
		// 3. Gone: deleted, or a copy removed.
		for _, va := range restA[n:] {
			if still := inB(c); len(still) > 0 {
				out = append(out, MessageChange{ID: va.ID, Change: ChangeRemoved, Folder: originalFolder[va.ID],
					StillIn: still, Content: c})
			} else {
				out = append(out, MessageChange{ID: va.ID, Change: ChangeDeleted, Folder: originalFolder[va.ID], Content: c})
			}
		}
		// 4. Come: new, perhaps a copy of one the earlier day had.
		for _, vb := range restB[n:] {
			out = append(out, MessageChange{ID: vb.ID, Change: ChangeNew, Folder: vb.Folder, Copy: len(inA(c)) > 0,
				Content: c})
		}
	}
	slices.SortStableFunc(out, func(x, y MessageChange) int {
		return cmp.Or(cmp.Compare(x.Folder, y.Folder), cmp.Compare(x.Change, y.Change), cmp.Compare(x.ID, y.ID))
	})
	return out
}
