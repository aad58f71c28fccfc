package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestClassifyFolders: a rename is a folder gone and one come with the
// same UIDVALIDITY sharing a message (or both empty); a folder whose
// UIDVALIDITY changed keeps its name and is no change.
func TestClassifyFolders(t *testing.T) {
	a := []DayFolder{{Name: "Archiv/2024", UIDValidity: 3, Messages: 212}, {Name: "Empty", UIDValidity: 6},
		{Name: "INBOX", UIDValidity: 1, Subscribed: true, Messages: 5}, {Name: "Lists", UIDValidity: 4, Subscribed: true},
		{Name: "Projects", UIDValidity: 2, Subscribed: true, Messages: 2}, {Name: "Reset", UIDValidity: 5, Messages: 1}}
	b := []DayFolder{{Name: "Archive", UIDValidity: 3, Messages: 1}, {Name: "INBOX", UIDValidity: 1, Subscribed: true},
		{Name: "Leer", UIDValidity: 6}, {Name: "Lists", UIDValidity: 4},
		{Name: "Projekte", UIDValidity: 2, Subscribed: true, Messages: 2}, {Name: "Reset", UIDValidity: 9, Messages: 1}}
	gone := []DayVersion{{ID: 1, Folder: "Projects", UID: 7, Content: 70}, {ID: 2, Folder: "Archiv/2024", UID: 1, Content: 10}}
	came := []DayVersion{{ID: 3, Folder: "Projekte", UID: 7, Content: 70},
		{ID: 4, Folder: "Archive", UID: 9, Content: 10}} // the same UIDVALIDITY, but not the same message: no rename
	got, rename := classifyFolders(a, b, sharesMessages(gone, came))
	want := []FolderChange{{Name: "Archiv/2024", Change: ChangeDeleted, Messages: 212}, {Name: "Archive", Change: ChangeCreated},
		{Name: "Empty", Change: ChangeRenamed, NewName: "Leer"}, {Name: "Lists", Change: ChangeUnsubscribed},
		{Name: "Projects", Change: ChangeRenamed, NewName: "Projekte"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("folder changes:\n got %v\nwant %v", got, want)
	}
	if len(rename) != 2 || rename["Projects"] != "Projekte" || rename["Empty"] != "Leer" {
		t.Errorf("renames: %v", rename)
	}
}

// TestClassifyMessages: each case of the design, one content each.
func TestClassifyMessages(t *testing.T) {
	// The earlier day's folders of each content that the later day still
	// has unchanged, and the later day's.
	inA := map[int64][]string{7: {"INBOX", "Keep"}, 8: {"INBOX"}, 9: {"X"}}
	inB := map[int64][]string{7: {"Keep"}, 9: {"X", "Z"}}
	gone := []DayVersion{
		{ID: 1, Folder: "INBOX", Content: 1},               // deleted
		{ID: 2, Folder: "INBOX", Content: 2},               // moved to Archive
		{ID: 3, Folder: "INBOX", Content: 3, Flags: ""},    // read
		{ID: 4, Folder: "Projects", Content: 4},            // in a renamed folder, reflagged
		{ID: 5, Folder: "Reset", Content: 5, Flags: "\\S"}, // UIDVALIDITY changed: the same again
		{ID: 7, Folder: "INBOX", Content: 7},               // one of two copies removed
		{ID: 8, Folder: "INBOX", Content: 8},               // moved twice: INBOX → (Y) → Z
	}
	came := []DayVersion{
		{ID: 12, Folder: "Archive", Content: 2},
		{ID: 13, Folder: "INBOX", Content: 3, Flags: "\\Seen"},
		{ID: 14, Folder: "Projekte", Content: 4, Flags: "\\Flagged"},
		{ID: 15, Folder: "Reset", Content: 5, Flags: "\\S"},
		{ID: 18, Folder: "Z", Content: 8},
		{ID: 19, Folder: "Z", Content: 9},      // copied from X
		{ID: 20, Folder: "INBOX", Content: 20}, // delivered
	}
	got := classifyMessages(gone, came, map[string]string{"Projects": "Projekte"},
		func(c int64) []string { return inA[c] }, func(c int64) []string { return inB[c] })
	var lines []string
	for _, m := range got {
		lines = append(lines, fmt.Sprintf("%d %s %s>%s %v %v %q>%q", m.ID, m.Change, m.Folder, m.ToFolder, m.StillIn, m.Copy,
			m.FlagsBefore, m.FlagsAfter))
	}
	want := []string{
		`1 deleted INBOX> [] false "">""`,
		`13 flags INBOX> [] false "">"\\Seen"`,
		`2 moved INBOX>Archive [] false "">""`,
		`8 moved INBOX>Z [] false "">""`,
		`20 new INBOX> [] false "">""`,
		`7 removed INBOX> [Keep] false "">""`,
		`14 flags Projekte> [] false "">"\\Flagged"`,
		`19 new Z> [] true "">""`,
	}
	slices.Sort(lines)
	slices.Sort(want)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("message changes:\n got %s\nwant %s", strings.Join(lines, "\n     "), strings.Join(want, "\n     "))
	}
}
