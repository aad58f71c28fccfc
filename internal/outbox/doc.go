// Package outbox delivers the notification emails held in the catalog's
// outbox table (docs/workflows.md, "Outbox") to the SMTP server of the [smtp]
// configuration section, with github.com/emersion/go-smtp.
//
// Mail enters the outbox in the catalog transaction of the decision that
// causes it (catalog.DB.EnqueueMailTx inside the "more" argument of a
// restore transition), so a state change and its emails commit together or
// not at all. A rendered notify.Message is the catalog's row.
//
// A Sender takes the due mails in order and, for each, over one SMTP
// session:
//
//  1. claims it in the catalog (pending → sending, attempts+1, a lease):
//     the attempt is recorded before anything is sent;
//  2. sends MAIL FROM, RCPT TO, DATA and the message bytes;
//  3. records dot_sent in the catalog, and only then writes the final
//     "." that lets the server accept the message (RFC 5321 §4.1.1.4);
//  4. on the server's 250, records it sent.
//
// A 4xx reply or a network error puts the mail back to pending with an
// exponential backoff (MinBackoff doubling up to MaxBackoff); a 5xx reply
// to RCPT or to the final dot fails it for good (listed as undelivered; an
// admin may requeue it). If the server cannot be reached, every due mail
// records the error and backs off.
//
// Exactly once, and the one window where it cannot be: a crash or lost
// connection before step 3 leaves a mail that no server can have accepted,
// and it is simply sent again. Between step 3 and the catalog recording
// step 4 (one round trip and one commit) the server may have accepted the
// mail without our knowing. We choose at-least-once there, because a lost
// notification (an admin never asked, a user never told) is worse than a
// rare second copy: the mail is sent again, flagged maybe_duplicate, with
// the same Message-ID, so mail stores and clients that deduplicate by
// Message-ID show it once. Every other path sends a mail exactly once.
package outbox
