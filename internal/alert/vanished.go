package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/config"
	"mtm/internal/notify"
)

// minPercentMessages is the fewest vanished messages the percentage rule
// warns about: a mailbox of five that loses one is not a mass deletion.
const minPercentMessages = 10

// MassDeletion warns the user (and, with mass_deletion_admins, the admins
// of the domain) when the account's snapshot of the night lost many
// messages or a folder that held messages (docs/design.md, "Changes
// between days"). It compares the latest committed snapshot with the one
// before; nothing for an account's first snapshot. The outbox key names
// the account and the night, so it warns once per night however often it
// is called.
func (n *Notifier) MassDeletion(ctx context.Context, account, night string) error {
	return n.massDeletion(ctx, account, night, "")
}

// MassDeletionOn is MassDeletion for the last snapshot of day (YYYY-MM-DD)
// rather than the latest, named as that day's night: for a history made
// after the fact, as the demo's.
func (n *Notifier) MassDeletionOn(ctx context.Context, account, day string) error {
	return n.massDeletion(ctx, account, day, day)
}

// massDeletion compares the last committed snapshot of day (any day when
// "") with the committed one before it.
func (n *Notifier) massDeletion(ctx context.Context, account, night, day string) error {
	rule := n.Alerts
	if !rule.MassDeletion {
		return nil
	}
	acct, err := n.Catalog.LookupAccount(ctx, account)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	snaps, err := n.Catalog.Snapshots(ctx, acct)
	if err != nil {
		return err
	}
	var days []catalog.Snapshot
	for _, s := range slices.Backward(snaps) {
		if s.State == catalog.StateCommitted && (day == "" || s.Day <= day || len(days) > 0) {
			if days = append(days, s); len(days) == 2 {
				break
			}
		}
	}
	if len(days) < 2 {
		return nil // the first snapshot: nothing to compare
	}
	cur, prev := days[0], days[1]
	// Most nights end little: skip the comparison when what ended cannot
	// reach a threshold.
	ended, endedFolders, err := n.Catalog.EndedIn(ctx, cur)
	if err != nil {
		return err
	}
	if endedFolders == 0 && !couldWarn(rule, ended) {
		return nil
	}
	ch, err := n.Catalog.Changes(ctx, prev, cur)
	if err != nil {
		return err
	}
	d := vanishedIn(ch)
	d.Account, d.Night, d.PreviousDay, d.Day = account, night, prev.Day, cur.Day
	d.From, d.To, d.Before = int64(prev.ID), int64(cur.ID), int(prev.Messages)
	if !warns(rule, d) {
		return nil
	}
	user := account
	set, err := n.Catalog.AccountSettings(ctx, acct)
	if err != nil {
		return err
	}
	if !set.MassDeletionWarning {
		user = ""
	}
	lang := set.Language
	responsible, err := admin.ResponsibleFor(ctx, n.Catalog, n.Logger, account, "mass deletion")
	if err != nil {
		return err
	}
	var admins []string
	if rule.MassDeletionAdmins {
		admins = responsible
	}
	d.ToUser = notify.ToUser{Lang: lang, ReplyTo: responsible}
	if user == "" && len(admins) == 0 {
		return nil
	}
	msgs, err := n.Mailer.MassDeletion(user, admins, d)
	if err != nil {
		return err
	}
	if _, err := n.Catalog.EnqueueMail(ctx, msgs...); err != nil {
		return fmt.Errorf("queueing the warning to %s: %w", account, err)
	}
	if n.Wake != nil {
		n.Wake()
	}
	return nil
}

// couldWarn tells whether ended message versions could make enough
// vanished messages for a rule.
func couldWarn(rule config.Alerts, ended int) bool {
	return rule.MassDeletionMessages > 0 && ended >= rule.MassDeletionMessages ||
		rule.MassDeletionPercent > 0 && ended >= minPercentMessages
}

// warns applies the rules to what vanished.
func warns(rule config.Alerts, d notify.MassDeletion) bool {
	for _, f := range d.DeletedFolders {
		if slices.ContainsFunc(d.Folders, func(c notify.FolderCount) bool { return c.Folder == f.Folder }) {
			return true // a deleted folder whose messages went with it
		}
	}
	return rule.MassDeletionMessages > 0 && d.Vanished >= rule.MassDeletionMessages ||
		rule.MassDeletionPercent > 0 && d.Vanished >= minPercentMessages &&
			d.Vanished*100 >= d.Before*rule.MassDeletionPercent
}

// vanishedIn counts what vanished between two days: the deleted messages
// per folder (not those removed from a folder while a copy stays in
// another, nor those moved), and the deleted folders with what they held.
func vanishedIn(ch catalog.Changes) notify.MassDeletion {
	var d notify.MassDeletion
	per := map[string]int{}
	for _, m := range ch.Messages {
		if m.Change == catalog.ChangeDeleted {
			per[m.Folder]++
			d.Vanished++
		}
	}
	for f, n := range per {
		d.Folders = append(d.Folders, notify.FolderCount{Folder: f, Messages: n})
	}
	slices.SortFunc(d.Folders, func(a, b notify.FolderCount) int {
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), cmp.Compare(a.Folder, b.Folder))
	})
	for _, f := range ch.Folders {
		if f.Change == catalog.ChangeDeleted && f.Messages > 0 {
			d.DeletedFolders = append(d.DeletedFolders, notify.FolderCount{Folder: f.Name, Messages: f.Messages})
		}
	}
	return d
}
