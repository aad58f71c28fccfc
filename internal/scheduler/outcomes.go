package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Outcomes records how a night went for each account, and tells the
// account's admins, once per failure streak, when it has failed on
// AlertAfter consecutive nights; after a successful night, the notifier
// warns if mail vanished. The scheduler records through it at the
// end of a night; a snapshot job (internal/jobs) at the end of its last
// attempt.
type Outcomes struct {
	Catalog  Catalog
	Notifier Notifier // nil: failing accounts are only logged, and told once one is set
	// AlertAfter is how many consecutive failed nights make an alert;
	// default 2.
	AlertAfter int
	Logger     *slog.Logger
}

// Record stores the account's outcome of the night (failure nil: it
// succeeded) and tells the admins of an account whose streak has just
// reached the alert threshold, or whose earlier notification failed.
// Errors are logged: a night's outcome is bookkeeping, not the backup.
func (o *Outcomes) Record(ctx context.Context, night, account string, failure error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reason := ""
	if failure != nil {
		reason = failure.Error()
	}
	st, err := o.Catalog.RecordNight(ctx, account, night, reason)
	if err != nil {
		log.Error("recording the night", "account", account, "err", err)
		return
	}
	if failure == nil && o.Notifier != nil {
		if err := o.Notifier.MassDeletion(ctx, account, night); err != nil {
			log.Error("warning about vanished mail", "account", account, "night", night, "err", err)
		}
	}
	after := o.AlertAfter
	if after < 1 {
		after = 2
	}
	if st.Nights < after || !st.NotifiedAt.IsZero() {
		return
	}
	nights := []NightResult{{Night: st.FirstNight, Error: st.FirstError}}
	if st.LastNight != st.FirstNight {
		nights = append(nights, NightResult{Night: st.LastNight, Error: st.LastError})
	}
	if err := o.notify(ctx, log, account, nights); err != nil {
		log.Error("telling admins of a failing account; trying again after the next failed night",
			"account", account, "nights", st.Nights, "err", err)
		return
	}
	if err := o.Catalog.MarkNotified(ctx, account, st.FirstNight); err != nil {
		log.Error("recording the failure notification", "account", account, "err", err)
	}
}

var errNoNotifier = errors.New("no notifier configured")

func (o *Outcomes) notify(ctx context.Context, log *slog.Logger, account string, nights []NightResult) error {
	if o.Notifier == nil {
		return errNoNotifier
	}
	log.Warn("account failing on consecutive nights; telling its admins", "account", account,
		"since", nights[0].Night)
	if err := o.Notifier.AccountFailing(ctx, account, nights); err != nil {
		return fmt.Errorf("notifying %s: %w", account, err)
	}
	return nil
}
