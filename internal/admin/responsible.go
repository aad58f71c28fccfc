package admin

import (
	"context"
	"log/slog"

	"mtm/internal/catalog"
)

// Lister lists the admin accounts (the catalog).
type Lister interface {
	Admins(ctx context.Context) ([]catalog.AdminRow, error)
}

// ResponsibleFor returns the emails of the admins responsible for the
// account, to tell them of an event (a restore request, a failing
// account). It is the one rule for every such email: an account that no
// admin is responsible for is not an error. The event goes on without an
// email, and ResponsibleFor logs a warning that names the account and the
// event, since nobody was told. Only a catalog failure is an error.
func ResponsibleFor(ctx context.Context, l Lister, log *slog.Logger, account, event string) ([]string, error) {
	rows, err := l.Admins(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		if (Admin{Email: r.Email, Domains: r.Domains}).Responsible(account) {
			out = append(out, r.Email)
		}
	}
	if len(out) == 0 && log != nil {
		log.Warn("no admin is responsible for the account's domain: nobody was told", "account", account, "event", event)
	}
	return out, nil
}
