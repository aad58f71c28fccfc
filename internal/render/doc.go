// Package render turns the stored bytes of a message into what the webmail
// shows: decoded headers, the plain text, the HTML body sanitized with
// bluemonday and rewritten for a sandboxed frame, and the list of its
// attachments, inline parts and attached messages (docs/workflows.md,
// "Rendering a message"). It also extracts the text the search index holds,
// and makes file names safe for a Content-Disposition header.
//
// Nothing here trusts the message: every string it returns is plain text
// for the caller to escape, except Document, whose HTML is sanitized.
// Parsing is tolerant (enmime): a broken message still renders as far as it
// can, and its problems are listed.
package render
