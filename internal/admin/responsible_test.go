package admin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"mtm/internal/catalog"
)

type admins []catalog.AdminRow

func (a admins) Admins(context.Context) ([]catalog.AdminRow, error) { return a, nil }

type broken struct{}

func (broken) Admins(context.Context) ([]catalog.AdminRow, error) {
	return nil, errors.New("disk gone")
}

// TestResponsibleFor: global admins and the domain's admins are told; an
// account nobody is responsible for is a warning, not an error; only a
// catalog failure is an error.
func TestResponsibleFor(t *testing.T) {
	ctx := context.Background()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	rows := admins{{Email: "root@example.net"}, {Email: "boss@example.com", Domains: []string{"example.com"}},
		{Email: "other@example.org", Domains: []string{"example.org"}}}
	got, err := ResponsibleFor(ctx, rows, log, "Alice@EXAMPLE.com", "restore request")
	if err != nil || !slices.Equal(got, []string{"root@example.net", "boss@example.com"}) {
		t.Errorf("admins of alice@example.com: %v, %v", got, err)
	}
	if logged.Len() != 0 {
		t.Errorf("a warning with admins responsible: %s", logged.String())
	}
	got, err = ResponsibleFor(ctx, rows[1:], log, "carol@example.net", "account failing")
	if err != nil || len(got) != 0 {
		t.Errorf("nobody responsible: %v, %v; want none and no error", got, err)
	}
	if w := logged.String(); !strings.Contains(w, "level=WARN") || !strings.Contains(w, "carol@example.net") ||
		!strings.Contains(w, "account failing") {
		t.Errorf("the warning does not name the account and the event: %s", w)
	}
	if _, err := ResponsibleFor(ctx, broken{}, log, "alice@example.com", "restore request"); err == nil {
		t.Error("a catalog failure was not an error")
	}
}
