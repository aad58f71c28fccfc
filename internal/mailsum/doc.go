// Package mailsum computes the header summary of a raw message (addresses,
// subject, date, Message-ID, whether it has attachments) while the message
// streams past, for the catalog's contents rows.
//
// # Streaming design
//
// A [Scanner] is an io.Writer that the snapshot engine tees every message
// into. It is a small line-oriented state machine, not a MIME parser running
// in a goroutine behind an io.Pipe:
//
//   - top-level header: lines are kept (at most 256 KiB; complete lines
//     beyond that are ignored) until the first empty line, then parsed once;
//   - part header: the header block of a MIME part (at most 64 KiB kept),
//     inspected for Content-Type, Content-Disposition and Content-ID;
//   - body: only lines that start with "--" are looked at, and only their
//     first 1 KiB is kept, to compare against the stack of open multipart
//     boundaries (at most 64 levels);
//   - done: nothing left can change the summary (an attachment was found,
//     the message is not multipart, or its outermost multipart closed), so
//     the rest of the message is ignored.
//
// The memory held is bounded whatever the input, no body bytes are
// buffered or decoded, and there is no goroutine, channel or pipe per
// message, so nothing can leak or block the tee, Summary needs no
// synchronisation, and 50,000 messages cost 50,000 Reset calls. Write never
// fails. go-message is used for its charset tables only
// (github.com/emersion/go-message/charset), since its entity reader would
// need the pipe and a goroutine to be driven by Write calls.
//
// # Decoding
//
// From, To and Cc are parsed tolerantly (quoted strings, comments, groups,
// obsolete routes, missing angle brackets) and rendered as
// "Name <addr>, addr2"; a display name that contains one of `,;<>"` is
// quoted so the list stays unambiguous, and a name equal to its address is
// dropped. Group labels are dropped and their members listed; an empty group
// is kept as "name:;" (e.g. "undisclosed-recipients:;").
//
// RFC 2047 encoded words (Q and B) are decoded in any charset go-message
// knows; adjacent words of the same charset are joined before conversion, so
// a character split across words survives. Text in a charset that cannot be
// converted, and raw 8-bit header bytes, go through the same fallback: valid
// UTF-8 is kept; text in a single-byte charset label (ISO-8859-*, windows-*,
// KOI8-*, US-ASCII) that is nevertheless valid multi-byte UTF-8 is taken as
// UTF-8 (a common mislabelling); US-ASCII and ISO-8859-1 labels are read as
// windows-1252, as browsers do; raw 8-bit header bytes use the charset of the
// top-level Content-Type as a hint; invalid UTF-8 with no valid multi-byte
// sequence at all is read as windows-1252, otherwise invalid bytes are
// replaced with U+FFFD. Control characters become spaces and runs of white
// space are folded to one space.
//
// Date is parsed with net/mail.ParseDate and, failing that, by a tolerant
// reader that picks the day, month name, year, time, AM/PM and zone out of
// the text in any order (asctime, "2-Sep-2002", ISO "2002-09-02 …",
// two- and three-digit years, "GMT+0100"). Zone names are resolved from a
// fixed table (unknown ones are UTC), never from the local time zone, so the
// result does not depend on the machine.
//
// # Attachments
//
// HasAttachments is true when a part (the top level included, nested
// multiparts walked) has Content-Disposition: attachment; or is
// message/rfc822 or message/global (a forwarded message; parts of a
// multipart/digest are message/rfc822 by default); or has a filename (or
// name) parameter and is neither text/* nor multipart/*. One exception: a
// part inside multipart/related with a Content-ID and no attachment
// disposition is a resource of the HTML body (an embedded logo), not an
// attachment, even with a filename. An inline image with a filename but
// outside multipart/related or without Content-ID (as Apple Mail sends
// photos) is an attachment.
package mailsum
