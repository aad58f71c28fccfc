package alert

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/notify"
)

// days is the catalog with its days and their comparison made up: what
// the warning reads of an account's history.
type days struct {
	*catalog.DB
	snaps        []catalog.Snapshot
	ended, folds int
	changes      catalog.Changes
	compared     int
	pair         [2]catalog.SnapshotID // the days to compare; zero: the last two
}

func (d *days) Snapshots(context.Context, catalog.AccountID) ([]catalog.Snapshot, error) {
	return d.snaps, nil
}

func (d *days) EndedIn(context.Context, catalog.Snapshot) (int, int, error) {
	return d.ended, d.folds, nil
}

func (d *days) Changes(_ context.Context, from, to catalog.Snapshot) (catalog.Changes, error) {
	d.compared++
	want := d.pair
	if want == [2]catalog.SnapshotID{} {
		want = [2]catalog.SnapshotID{d.snaps[len(d.snaps)-2].ID, d.snaps[len(d.snaps)-1].ID}
	}
	if from.ID != want[0] || to.ID != want[1] {
		return catalog.Changes{}, fmt.Errorf("compared %d with %d, not the last two days", from.ID, to.ID)
	}
	return d.changes, nil
}

// history makes the account's days: before messages on the earlier one,
// then deleted messages of INBOX, moved ones, and the deleted folder
// Old with its messages, which vanished or were moved elsewhere.
func history(before, deleted, moved, old int, oldMoved bool) ([]catalog.Snapshot, catalog.Changes, int, int) {
	snaps := []catalog.Snapshot{
		{ID: 1, State: catalog.StateCommitted, Day: "2026-11-19", Messages: 5},
		{ID: 4, State: catalog.StateFailed, Day: "2026-11-20"},
		{ID: 7, State: catalog.StateCommitted, Day: "2026-11-20", Messages: int64(before)},
		{ID: 9, State: catalog.StateCommitted, Day: "2026-11-21"},
	}
	var ch catalog.Changes
	for range deleted {
		ch.Messages = append(ch.Messages, catalog.MessageChange{Change: catalog.ChangeDeleted, Folder: "INBOX"})
	}
	for range moved {
		ch.Messages = append(ch.Messages, catalog.MessageChange{Change: catalog.ChangeMoved, Folder: "INBOX", ToFolder: "Archive"})
	}
	folds := 0
	if old > 0 {
		folds = 1
		ch.Folders = append(ch.Folders, catalog.FolderChange{Name: "Old", Change: catalog.ChangeDeleted, Messages: old})
		for range old {
			if oldMoved {
				ch.Messages = append(ch.Messages, catalog.MessageChange{Change: catalog.ChangeMoved, Folder: "Old", ToFolder: "INBOX"})
			} else {
				ch.Messages = append(ch.Messages, catalog.MessageChange{Change: catalog.ChangeDeleted, Folder: "Old"})
			}
		}
	}
	return snaps, ch, deleted + moved + old, folds
}

// TestMassDeletionOn: a history made after the fact warns about the day
// it names, compared with the committed day before it.
func TestMassDeletionOn(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC))
	cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close() //nolint:errcheck // test
	if _, err := cat.Account(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	d := &days{DB: cat, pair: [2]catalog.SnapshotID{1, 7}}
	d.snaps, d.changes, d.ended, d.folds = history(1000, 0, 0, 40, false)
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com"
	mailer, err := notify.New(cfg, notify.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	n := &Notifier{Catalog: d, Mailer: mailer, Alerts: config.Default().Alerts}
	if err := n.MassDeletionOn(ctx, "alice@example.com", "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	mail, err := cat.UndeliveredMail(ctx, 10)
	if err != nil || len(mail) != 1 || mail[0].Key != "vanished/alice@example.com/2026-11-20/alice@example.com" {
		t.Fatalf("the warning of 2026-11-20: %+v %v", mail, err)
	}
}

// TestMassDeletionWarning: the rules of the warning, applied to made-up
// nights; the mail is queued once per night, to the user unless they
// turned it off, and to the admins when configured.
func TestMassDeletionWarning(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC))
	rules := config.Default().Alerts // 200 messages or 20 %
	for _, c := range []struct {
		name                   string
		before, deleted, moved int
		old                    int
		oldMoved               bool
		first, off, optOut     bool
		admins                 bool
		to                     []string // who is warned
		compared               bool     // the days were compared
		subject                string
	}{
		{name: "first snapshot", before: 1000, deleted: 900, first: true},
		{name: "a normal day", before: 1000, deleted: 5},
		{name: "many moved, none deleted", before: 1000, moved: 300, compared: true},
		{name: "200 deleted", before: 5000, deleted: 200, compared: true, to: []string{"alice@example.com"},
			subject: "200 messages disappeared from your mailbox"},
		{name: "199 deleted of 5000", before: 5000, deleted: 199, compared: true},
		{name: "20 percent", before: 100, deleted: 20, compared: true, to: []string{"alice@example.com"}},
		{name: "45 percent but 9 messages", before: 20, deleted: 9},
		{name: "a folder deleted with its mail", before: 5000, old: 3, compared: true, to: []string{"alice@example.com"}},
		{name: "a folder deleted, its mail moved", before: 5000, old: 3, oldMoved: true, compared: true},
		{name: "turned off by the user", before: 5000, deleted: 300, optOut: true, compared: true},
		{name: "turned off by the user, admins told", before: 5000, deleted: 300, optOut: true, admins: true, compared: true,
			to: []string{"boss@example.com"}, subject: "300 messages disappeared from alice@example.com"},
		{name: "user and admins", before: 5000, deleted: 300, admins: true, compared: true,
			to: []string{"alice@example.com", "boss@example.com"}},
		{name: "turned off in the config", before: 5000, deleted: 300, off: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close() //nolint:errcheck // test
			for email, domains := range map[string][]string{"boss@example.com": {"example.com"}, "other@example.org": {"example.org"}} {
				if err := cat.AddAdmin(ctx, catalog.AdminRow{Email: email, PasswordHash: "x", Domains: domains}); err != nil {
					t.Fatal(err)
				}
			}
			acct, err := cat.Account(ctx, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if c.optOut {
				if err := cat.SetAccountSettings(ctx, acct, catalog.AccountSettings{MassDeletionWarning: false}); err != nil {
					t.Fatal(err)
				}
			}
			d := &days{DB: cat}
			d.snaps, d.changes, d.ended, d.folds = history(c.before, c.deleted, c.moved, c.old, c.oldMoved)
			if c.first {
				d.snaps = d.snaps[3:]
			}
			cfg := config.Default()
			cfg.SMTP.From = "mtm@example.com"
			cfg.BaseURL = "https://mtm.example.com"
			mailer, err := notify.New(cfg, notify.Options{Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			r := rules
			r.MassDeletion, r.MassDeletionAdmins = !c.off, c.admins
			woken := 0
			n := &Notifier{Catalog: d, Mailer: mailer, Alerts: r, Wake: func() { woken++ }}
			for range 2 { // the same night twice: one warning
				if err := n.MassDeletion(ctx, "alice@example.com", "2026-11-21"); err != nil {
					t.Fatal(err)
				}
			}
			if (d.compared > 0) != c.compared {
				t.Errorf("compared the days %d times, want %v", d.compared, c.compared)
			}
			mail, err := cat.UndeliveredMail(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, m := range mail {
				to = append(to, m.To)
				if c.subject != "" && m.Subject != c.subject {
					t.Errorf("subject %q, want %q", m.Subject, c.subject)
				}
				if m.To != "alice@example.com" {
					continue
				}
				due, err := cat.DueMail(ctx, clk.Now().Add(time.Hour), 100) // with their bodies
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(due, func(e catalog.OutboxEntry) bool { return e.ID == m.ID })
				if full := due[i]; !strings.Contains(string(full.Body), "https://mtm.example.com/changes?from=3D7&to=3D9") {
					t.Errorf("the user's warning has no link to the Changes view of 2026-11-20 to 2026-11-21:\n%s", full.Body)
				}
			}
			slices.Sort(to)
			if !slices.Equal(to, c.to) {
				t.Errorf("warned %v, want %v", to, c.to)
			}
			if len(c.to) > 0 && woken == 0 {
				t.Error("the outbox was not woken")
			}
		})
	}
}
