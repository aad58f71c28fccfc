// Package alert turns what the nights find into emails about accounts:
// when an account's backups fail on two consecutive nights, every admin
// responsible for its domain (admin.ResponsibleFor) gets one email per
// streak; when a night's snapshot finds that many messages, or a folder
// with messages, vanished, the user (and, if configured, the admins) gets
// one warning for that night. Each is queued in the outbox under a key
// naming the streak or the night, so a repeated call queues nothing new.
package alert

import (
	"context"
	"errors"
	"log/slog"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/config"
	"mtm/internal/notify"
	"mtm/internal/scheduler"
)

// Catalog is what the alerts need of the catalog.
type Catalog interface {
	catalog.Browsing
	catalog.Outbox
	catalog.AdminsAndAudit
	catalog.Settings
}

// Mailer renders the alert (notify.Renderer).
type Mailer interface {
	AccountFailing(admins []string, d notify.AccountFailing) ([]notify.Message, error)
	MassDeletion(user string, admins []string, d notify.MassDeletion) ([]notify.Message, error)
}

// Notifier implements scheduler.Notifier.
type Notifier struct {
	Catalog Catalog
	Mailer  Mailer
	Alerts  config.Alerts // when mail vanishing warns; the zero value never does
	Wake    func()        // the outbox sender's; may be nil
	Logger  *slog.Logger  // may be nil
}

var _ scheduler.Notifier = (*Notifier)(nil)

// AccountFailing queues the alert to the account's admins.
func (n *Notifier) AccountFailing(ctx context.Context, account string, nights []scheduler.NightResult) error {
	if len(nights) == 0 {
		return errors.New("alert: no failed night")
	}
	to, err := admin.ResponsibleFor(ctx, n.Catalog, n.Logger, account, "account failing")
	if err != nil || len(to) == 0 {
		return err
	}
	d := notify.AccountFailing{Account: account,
		Previous: notify.NightFailure{Day: nights[0].Night, Error: nights[0].Error},
		Latest:   notify.NightFailure{Day: nights[len(nights)-1].Night, Error: nights[len(nights)-1].Error}}
	if acct, err := n.Catalog.LookupAccount(ctx, account); err == nil {
		snaps, err := n.Catalog.Snapshots(ctx, acct)
		if err != nil {
			return err
		}
		for _, s := range snaps {
			if s.State == catalog.StateCommitted {
				d.LastGood, d.LastGoodDay = s.TakenAt, s.Day
			}
		}
	}
	msgs, err := n.Mailer.AccountFailing(to, d)
	if err != nil {
		return err
	}
	if _, err := n.Catalog.EnqueueMail(ctx, msgs...); err != nil {
		return err
	}
	if n.Wake != nil {
		n.Wake()
	}
	return nil
}
