// Package demo owns everything `mtm demo` runs besides the product itself:
// its set-up (the data directory it may clear, the listen address, the
// time zone, the config file with the accounts and passwords, the demo
// admin), an in-memory IMAP server with a few sample accounts on a loopback port
// (go-imap v2's imapmemserver), an SMTP server that captures the product's
// outgoing emails and a small web page that lists them (the demo's
// outbox), a deterministic generator of realistic mail (threads, HTML
// newsletters with remote and inline images, PDF and image attachments,
// non-ASCII names, nested and unsubscribed folders), and the history
// builder that makes fifteen days of snapshots on a simulated clock while
// the mailboxes change.
//
// Nothing here is used by `mtm serve` in production. The package keeps no
// state on disk of its own: the history goes into the data directory it is
// given (catalog and blobs), through the real snapshot engine.
package demo
