package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Account is a sample account of the demo.
type Account struct {
	Person
	Password string
}

// Accounts returns the demo's accounts; the first is the main one, with
// several thousand messages.
func Accounts() []Account {
	return []Account{
		{Person{"Alice Martin", "alice@example.com", "en"}, "alice-demo-2468"},
		{Person{"Bob Smith", "bob@example.com", "en"}, "bob-demo-1357"},
		{Person{"Chloé Martin", "chloe@example.org", "fr"}, "chloe-demo-8642"},
	}
}

// Passwords maps every demo account to its password.
func Passwords() map[string]string {
	out := map[string]string{}
	for _, a := range Accounts() {
		out[a.Addr] = a.Password
	}
	return out
}

// TripFolder is the main account's folder that is deleted by mistake
// three days before today, so that a restore has something to bring back.
const TripFolder = "Reisen/Japan 日本"

// DeletedDaysAgo is how many days before today TripFolder is deleted.
const DeletedDaysAgo = 3

// folderSpec is one folder of an account and how it is filled at first.
type folderSpec struct {
	name       string
	subscribed bool
	count      int                        // messages at the start
	ageDays    [2]int                     // their dates: between these many days before the first day
	kind       func() kindFunc            // nil: no messages of its own
	flags      func(*Message, *rand.Rand) // extra flags
}

type kindFunc func(owner Person, date time.Time) (Message, error)

// layout returns the folders of account i for a main account of about
// size messages. INBOX and Sent are filled by conversations.
func (w *world) layout(i, size int) []folderSpec {
	g := w.gen
	n := func(share float64) int { return max(3, int(float64(size)*share)) }
	seen := func(m *Message, rng *rand.Rand) {
		if rng.IntN(50) != 0 {
			m.Flags = append(m.Flags, imap.FlagSeen)
		}
	}
	draft := func(m *Message, _ *rand.Rand) { m.Flags = append(m.Flags, imap.FlagDraft) }
	k := func(f kindFunc) func() kindFunc { return func() kindFunc { return f } }
	switch i {
	case 0:
		return []folderSpec{
			{"INBOX", true, 0, [2]int{0, 0}, nil, nil},
			{"Sent", true, 0, [2]int{0, 0}, nil, nil},
			{"Entwürfe", true, 6, [2]int{1, 40}, k(g.Personal), draft},
			{"Newsletters", true, n(0.14), [2]int{1, 365}, k(g.Newsletter), seen},
			{"Archive", true, 0, [2]int{0, 0}, nil, nil},
			{"Archive/2024", true, n(0.12), [2]int{400, 700}, k(g.Personal), seen},
			{"Archive/2025", true, n(0.08), [2]int{200, 399}, k(g.Personal), seen},
			{"Reisen", true, 0, [2]int{0, 0}, nil, nil},
			{TripFolder, true, max(12, n(0.03)), [2]int{20, 120}, k(g.Trip), seen},
			{"Alte Rechnungen", false, n(0.03), [2]int{30, 700}, k(g.Invoice), seen},
			{"Junk", true, n(0.02), [2]int{1, 30}, k(g.Spam), nil},
			{"Trash", true, 0, [2]int{0, 0}, nil, nil},
		}
	case 1:
		return []folderSpec{
			{"INBOX", true, 0, [2]int{0, 0}, nil, nil},
			{"Sent", true, 0, [2]int{0, 0}, nil, nil},
			{"Projects", true, 0, [2]int{0, 0}, nil, nil},
			{"Projects/Website", true, n(0.01), [2]int{10, 200}, k(g.Personal), seen},
			{"Trash", true, 0, [2]int{0, 0}, nil, nil},
		}
	default:
		return []folderSpec{
			{"INBOX", true, 0, [2]int{0, 0}, nil, nil},
			{"Sent", true, 0, [2]int{0, 0}, nil, nil},
			{"Recettes", true, n(0.008), [2]int{10, 300}, k(g.Newsletter), seen},
			{"Famille", false, n(0.008), [2]int{10, 300}, k(g.Personal), seen},
			{"Trash", true, 0, [2]int{0, 0}, nil, nil},
		}
	}
}

// inboxSize is how many of an account's starting messages are
// conversations in INBOX and Sent.
func inboxSize(i, size int) int {
	if i == 0 {
		return size * 28 / 100
	}
	return size / 14
}

// liveMsg is the world's record of a message in a live folder.
type liveMsg struct {
	uid     imap.UID
	msg     Message // Raw dropped once appended
	seen    bool
	flagged bool
}

// folderState is a live folder as the world knows it.
type folderState struct {
	msgs []*liveMsg
}

// accountState is a live account as the world knows it.
type accountState struct {
	Account
	conn    *liveAccount
	folders map[string]*folderState
	sent    []Message // the owner's recent messages, which others answer
}

// conversation makes count INBOX messages dated in [from, to) and the
// owner's replies, which go to Sent.
func (w *world) conversation(a *accountState, count int, from, to time.Time, old bool) (inbox, sent []Message, err error) {
	rng := w.gen.rng
	dates := randomDates(rng, count, from, to)
	for _, d := range dates {
		var m Message
		if len(a.sent) > 0 && rng.IntN(5) == 0 {
			orig := a.sent[rng.IntN(len(a.sent))]
			m, err = w.gen.Reply(orig, orig.To, a.Person, d)
		} else if rng.IntN(12) == 0 {
			m, err = w.gen.Newsletter(a.Person, d)
		} else {
			m, err = w.gen.Personal(a.Person, d)
		}
		if err != nil {
			return nil, nil, err
		}
		if old || rng.IntN(2) == 0 {
			m.Flags = append(m.Flags, imap.FlagSeen)
		}
		if rng.IntN(30) == 0 {
			m.Flags = append(m.Flags, imap.FlagFlagged)
		}
		if m.From.Addr != newsletters[0].from.Addr && rng.IntN(10) < 3 {
			rd := d.Add(time.Duration(10+rng.IntN(300)) * time.Minute)
			if rd.Before(to) {
				r, err := w.gen.Reply(m, a.Person, m.From, rd)
				if err != nil {
					return nil, nil, err
				}
				r.Flags = []imap.Flag{imap.FlagSeen}
				m.Flags = append(m.Flags, imap.FlagAnswered, imap.FlagSeen)
				sent = append(sent, r)
				a.sent = appendRecent(a.sent, r)
			}
		}
		inbox = append(inbox, m)
	}
	slices.SortStableFunc(sent, func(x, y Message) int { return x.Date.Compare(y.Date) })
	return inbox, sent, nil
}

func appendRecent(l []Message, m Message) []Message {
	m.Raw = nil
	l = append(l, m)
	if len(l) > 40 {
		l = l[len(l)-40:]
	}
	return l
}

// randomDates returns n sorted times in [from, to).
func randomDates(rng *rand.Rand, n int, from, to time.Time) []time.Time {
	span := to.Sub(from)
	out := make([]time.Time, n)
	for i := range out {
		if span <= 0 {
			out[i] = from
			continue
		}
		out[i] = from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// fill appends msgs to a live folder and records them.
func (w *world) fill(a *accountState, folder string, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	uids, err := a.conn.appendAll(folder, msgs)
	if err != nil {
		return fmt.Errorf("%s: %w", a.Addr, err)
	}
	f := a.folders[folder]
	for i, m := range msgs {
		lm := &liveMsg{uid: uids[i], seen: slices.Contains(m.Flags, imap.FlagSeen),
			flagged: slices.Contains(m.Flags, imap.FlagFlagged)}
		m.Raw = nil
		lm.msg = m
		f.msgs = append(f.msgs, lm)
		w.messages++
	}
	return nil
}
