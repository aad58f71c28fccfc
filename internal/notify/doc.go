// Package notify renders mtm's notification emails: the restore request
// sent to the admins responsible for an account's domain, the restore's
// outcome (done, failed, rejected) sent to the user, and the alert sent to a
// domain's admins when an account's snapshot has failed two nights in a row.
//
// Each email is one embedded template file in templates/ defining its
// "subject" and "text" (text/template) and one defining its "html"
// (html/template). A Renderer executes them on a plain data struct that the
// restore engine or the scheduler fills (RestoreRequested, RestoreDone,
// RestoreFailed, RestoreRejected, AccountFailing), and builds the message
// with go-message: multipart/alternative of a text/plain and a text/html
// part, UTF-8, quoted-printable, Subject RFC 2047-encoded, From, To, Date,
// Message-ID and Auto-Submitted (RFC 3834) set through go-message's header
// API. No value the user or an admin controls reaches a header unencoded:
// addresses are validated, the subject is encoded whatever it holds, and
// one-line values have their control characters replaced before they are
// written into text.
//
// A rendered Message is one recipient's copy with the stable key of its
// event (see Message.Key); internal/outbox delivers it.
package notify
