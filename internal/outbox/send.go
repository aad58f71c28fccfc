package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"

	"mtm/internal/catalog"
)

// stage is how far an attempt got, to judge its error.
type stage int

const (
	stageMail stage = iota // MAIL FROM
	stageRcpt              // RCPT TO
	stageData              // DATA and the message bytes, before the final dot
	stageDot               // the final dot and its reply
)

// catalogError marks a failure of the catalog during an attempt.
type catalogError struct{ error }

func (e catalogError) Unwrap() error { return e.error }

// sendOne makes one attempt at e over c and records its outcome. broken
// says the session cannot go on; err is a catalog error.
func (s *Sender) sendOne(ctx context.Context, c *smtp.Client, e catalog.OutboxEntry, res *Result) (broken bool, err error) {
	log := s.opts.Logger.With("mail", e.ID, "key", e.Key, "message_id", e.MessageID)
	ok, err := s.store.ClaimMail(ctx, e.ID, s.opts.Clock.Now().Add(s.opts.Lease))
	if err != nil || !ok {
		return err != nil, err // not ok: another sender took it
	}
	st, sendErr := s.transmit(ctx, c, e)
	if sendErr == nil {
		res.Sent++
		if e.MaybeDuplicate {
			log.Warn("outbox: resent a mail that the server may have accepted before", "to", e.To)
		}
		return false, s.store.MarkMailSent(ctx, e.ID)
	}
	if ce := (catalogError{}); errors.As(sendErr, &ce) {
		// No dot was written: the mail stays claimed with dot_sent unset
		// and is sent again once its lease runs out.
		return true, ce.error
	}
	next := s.opts.Clock.Now().Add(s.Backoff(e.Attempts + 1))
	var se *smtp.SMTPError
	if !errors.As(sendErr, &se) {
		// The connection failed. After the dot the server may have
		// accepted the mail: it is sent again, flagged (at least once).
		log.Warn("outbox: attempt cut off", "err", sendErr, "after_dot", st == stageDot)
		res.Retried++
		return true, s.store.RetryMail(ctx, e.ID, next, sendErr.Error(), st == stageDot)
	}
	if se.Code/100 == 5 && (st == stageRcpt || st == stageDot) {
		log.Error("outbox: server refused the mail", "to", e.To, "err", se)
		res.Failed++
		err = s.store.FailMail(ctx, e.ID, se.Error())
	} else {
		// 4xx, or 5xx to MAIL or DATA (the sender or the session is
		// refused, not this mail): try again later.
		log.Warn("outbox: server deferred the mail", "to", e.To, "err", se)
		res.Retried++
		err = s.store.RetryMail(ctx, e.ID, next, se.Error(), false)
	}
	if err != nil {
		return true, err
	}
	if rerr := c.Reset(); rerr != nil {
		return true, nil
	}
	return false, nil
}

// transmit sends e's envelope and bytes; see the package doc for why the
// catalog records dot_sent before the final dot is written.
func (s *Sender) transmit(ctx context.Context, c *smtp.Client, e catalog.OutboxEntry) (stage, error) {
	if err := c.Mail(e.From, nil); err != nil {
		return stageMail, err
	}
	if err := c.Rcpt(e.To, nil); err != nil {
		return stageRcpt, err
	}
	w, err := c.Data()
	if err != nil {
		return stageData, err
	}
	if _, err := w.Write(e.Body); err != nil {
		return stageData, fmt.Errorf("writing message: %w", err)
	}
	if err := s.store.MarkMailDot(ctx, e.ID); err != nil {
		return stageData, catalogError{err}
	}
	if err := w.Close(); err != nil {
		return stageDot, err
	}
	return stageDot, nil
}
