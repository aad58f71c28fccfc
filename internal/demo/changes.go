package demo

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
)

// change makes day i's changes to every account, with new mail dated in
// [start, end): new mail and replies, reading, flagging, deletions into
// Trash, and Trash emptied every fourth day.
func (w *world) change(i int, start, end time.Time) error {
	for n, a := range w.accounts {
		daily := 3
		if n == 0 {
			daily = max(2, w.size/120)
		}
		if err := w.read(a, start); err != nil {
			return err
		}
		if err := w.flag(a); err != nil {
			return err
		}
		if err := w.delete(a, "INBOX", 1+w.gen.rng.IntN(2+daily/6)); err != nil {
			return err
		}
		inbox, sent, err := w.conversation(a, daily, start, end, false)
		if err != nil {
			return err
		}
		if err := w.fill(a, "INBOX", inbox); err != nil {
			return err
		}
		if err := w.fill(a, "Sent", sent); err != nil {
			return err
		}
		if n == 0 {
			if err := w.mainExtras(a, i, start, end); err != nil {
				return err
			}
		}
		if i%4 == 3 {
			if err := a.conn.empty("Trash"); err != nil {
				return fmt.Errorf("%s: %w", a.Addr, err)
			}
		}
	}
	return nil
}

// mainExtras is the main account's other daily mail: newsletters, junk,
// an invoice now and then, and a newsletter deleted.
func (w *world) mainExtras(a *accountState, i int, start, end time.Time) error {
	rng := w.gen.rng
	add := func(folder string, n int, kind kindFunc) error {
		var msgs []Message
		for _, d := range randomDates(rng, n, start, end) {
			m, err := kind(a.Person, d)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		return w.fill(a, folder, msgs)
	}
	err := errors.Join(
		add("Newsletters", 1+rng.IntN(2), w.gen.Newsletter),
		add("Junk", rng.IntN(4), w.gen.Spam),
	)
	if err == nil && i%5 == 2 {
		err = add("Alte Rechnungen", 1, w.gen.Invoice)
	}
	if err == nil && i%2 == 1 {
		err = w.delete(a, "Newsletters", 1)
	}
	return err
}

// read marks most unread INBOX mail older than start as seen.
func (w *world) read(a *accountState, start time.Time) error {
	var uids []imap.UID
	for _, m := range a.folders["INBOX"].msgs {
		if !m.seen && m.msg.Date.Before(start) && w.gen.rng.IntN(10) < 8 {
			m.seen = true
			uids = append(uids, m.uid)
		}
	}
	if err := a.conn.store("INBOX", uids, imap.StoreFlagsAdd, imap.FlagSeen); err != nil {
		return fmt.Errorf("%s: %w", a.Addr, err)
	}
	return nil
}

// flag flags one or two INBOX messages and unflags one.
func (w *world) flag(a *accountState) error {
	msgs := a.folders["INBOX"].msgs
	if len(msgs) == 0 {
		return nil
	}
	var on, off []imap.UID
	for range 1 + w.gen.rng.IntN(2) {
		if m := pick(w.gen.rng, msgs); !m.flagged {
			m.flagged = true
			on = append(on, m.uid)
		}
	}
	if m := pick(w.gen.rng, msgs); m.flagged && !slices.Contains(on, m.uid) {
		m.flagged = false
		off = append(off, m.uid)
	}
	err := errors.Join(a.conn.store("INBOX", on, imap.StoreFlagsAdd, imap.FlagFlagged),
		a.conn.store("INBOX", off, imap.StoreFlagsDel, imap.FlagFlagged))
	if err != nil {
		return fmt.Errorf("%s: %w", a.Addr, err)
	}
	return nil
}

// delete moves n random messages of folder to Trash.
func (w *world) delete(a *accountState, folder string, n int) error {
	f := a.folders[folder]
	var uids []imap.UID
	for range n {
		if len(f.msgs) == 0 {
			break
		}
		j := w.gen.rng.IntN(len(f.msgs))
		uids = append(uids, f.msgs[j].uid)
		f.msgs = slices.Delete(f.msgs, j, j+1)
		w.messages--
	}
	slices.Sort(uids)
	if err := a.conn.moveToTrash(folder, "Trash", uids); err != nil {
		return fmt.Errorf("%s: %w", a.Addr, err)
	}
	return nil
}

// deleteTrip deletes the main account's TripFolder with all its mail.
func (w *world) deleteTrip() error {
	a := w.accounts[0]
	if err := a.conn.delete(TripFolder); err != nil {
		return fmt.Errorf("%s: %w", a.Addr, err)
	}
	w.messages -= len(a.folders[TripFolder].msgs)
	delete(a.folders, TripFolder)
	return nil
}
