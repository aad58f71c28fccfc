package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestClassifyFolders: renames follow the mailbox identity; a folder whose
// UIDVALIDITY changed keeps its name and is no change.
func TestClassifyFolders(t *testing.T) {
	a := []DayFolder{{Name: "INBOX", MailboxID: 1, Subscribed: true}, {Name: "Projects", MailboxID: 2, Subscribed: true},
		{Name: "Archiv/2024", MailboxID: 3, Messages: 212}, {Name: "Lists", MailboxID: 4, Subscribed: true},
		{Name: "Reset", MailboxID: 5}}
	b := []DayFolder{{Name: "INBOX", MailboxID: 1, Subscribed: true}, {Name: "Projekte", MailboxID: 2, Subscribed: true},
		{Name: "Lists", MailboxID: 4}, {Name: "Reset", MailboxID: 9}, {Name: "New", MailboxID: 10}}
	got, rename := classifyFolders(a, b)
	want := []FolderChange{{Name: "Archiv/2024", Change: ChangeDeleted, Messages: 212}, {Name: "Lists", Change: ChangeUnsubscribed},
		{Name: "New", Change: ChangeCreated}, {Name: "Projects", Change: ChangeRenamed, NewName: "Projekte"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("folder changes:\n got %v\nwant %v", got, want)
	}
	if len(rename) != 1 || rename["Projects"] != "Projekte" {
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
