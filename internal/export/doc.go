// Package export writes the messages of a snapshot to a directory as Maildir
// (byte-exact) or mbox (mboxrd), for reading with ordinary mail tools.
//
// It owns the layout of that directory, described below, and the export of
// a snapshot ([Snapshot]): it reads folders and messages from the catalog and
// the blob store and hands them to a [Writer] ([Open]): one [Writer.Folder]
// call per folder, then
// [FolderWriter.Add] per message, [FolderWriter.Close], and finally
// [Writer.Close]. The export directory must be absent or empty; nothing that
// exists is ever overwritten. Messages are streamed, never held in memory,
// except from a blob store whose reads wait for a round trip (S3): there
// the messages of a folder are gathered 256 at a time and read ahead
// ([blobstore.Ahead]: up to the store's ReadsAhead under way, each of at
// most 1 MiB).
//
// # Folder names
//
// IMAP folder names are untrusted. A name is split at its hierarchy
// delimiter (not split when the delimiter is ""), and each part becomes one
// path component under the export directory, encoded so that the mapping is
// injective and can never leave the directory:
//
//   - the bytes '%' and '/', ASCII and C1 control characters (NUL included)
//     and bytes that are not valid UTF-8 are written as %XX (uppercase hex of
//     each byte), so "a%2Fb" becomes "a%252Fb" and "a\x00b" becomes "a%00b";
//   - a leading '.' or '-' is written as %2E or %2D, so "." and ".." become
//     "%2E" and "%2E." and no component is hidden or read as an option;
//   - an empty part (as in "a//b" or "") is written as a lone "%";
//   - a part equal, ignoring case, to one of the names this package uses
//     inside a folder's directory (cur, new, tmp, dovecot-keywords,
//     mtm-keywords) has its first letter written as %XX ("cur" -> "%63ur");
//   - a part ending, ignoring case, in ".mbox" has that dot written as %2E.
//
// Everything else, non-ASCII UTF-8 included, is kept as is: "Archive/2024"
// with delimiter "/" is Archive/2024, "INBOX.Entwürfe" with delimiter "." is
// INBOX/Entwürfe. Replacing each "%XX" by its byte and a lone "%" by the
// empty string gives the part back. A part longer than the file system
// allows (usually 255 bytes once encoded) fails the export. If two folders
// still meet at one path (a case-insensitive or normalising file system, or
// the same name given twice) the second fails instead of mixing with the
// first.
//
// # Maildir layout
//
//	dir/<path>/cur/<secs>.Q<n>U<uid>.mtm:2,<flags>   one file per message
//	dir/<path>/new/, dir/<path>/tmp/                 empty after the export
//	dir/<path>/dovecot-keywords                      keyword letters, if any
//	dir/<path>/mtm-keywords                          other flags, if any
//
// Every folder, a container with no messages included, is a Maildir (with
// cur, new and tmp); a child folder's Maildir is a directory beside cur. A
// message file holds the exact bytes of the blob, CRLF line endings and all.
// Its name is the INTERNALDATE in Unix seconds (0 if before 1970), a counter
// unique within the export, the UID and the host part "mtm", then the info
// ":2," and the flag letters in ASCII order: D \Draft, F \Flagged,
// P $Forwarded, R \Answered, S \Seen, T \Deleted, then a..z for keywords. The
// file's modification (and access) time is the INTERNALDATE, if known. A message is
// written into tmp and renamed into cur only once complete, so a failed
// message leaves no file behind; files are not fsynced, so an export cut
// short by a crash must be deleted and run again.
//
// Keyword letters follow Dovecot: dovecot-keywords has one line
// "<i> <keyword>" per letter, i = 0 for a, 1 for b and so on, in the order
// the keywords first occur in the folder. A folder has at most 26 letters;
// further keywords, and flags starting with '\' other than the five above,
// are listed in mtm-keywords as "<file name><TAB><flag> <flag>..." lines.
// \Recent is never exported. Flags match case-insensitively.
//
// # mbox layout
//
//	dir/<parent path>/<last part>.mbox   one mboxrd file per folder
//
// "Archive/2024" becomes dir/Archive/2024.mbox, beside dir/Archive.mbox of
// folder "Archive"; a folder with no messages is an empty file. Each message is a line "From MAILER-DAEMON <INTERNALDATE in
// UTC, asctime format>", the message, and an empty line. The message is
// quoted as mboxrd: a line matching the regular expression "^>*From " gets
// one more '>' in front. Its
// CRLF line endings become LF and a missing final newline is added, so mbox
// is not byte-exact (Maildir is); nothing else changes and no header is
// added. Flags and UIDs are not recorded in mbox. A message that fails is
// cut off the file again, so the file holds whole messages only.
package export

import (
	"io"
	"time"
)

// Writer writes one export. It is not safe for concurrent use.
type Writer interface {
	// Folder starts a folder. It creates the folder's directory or file
	// even if no message is added. Each FolderWriter must be closed before
	// the Writer.
	Folder(Folder) (FolderWriter, error)
	// Close finishes the export.
	Close() error
}

// FolderWriter writes the messages of one folder.
type FolderWriter interface {
	// Add writes one message. A message that fails leaves nothing behind.
	Add(Message) error
	// Close finishes the folder.
	Close() error
}

// Folder is an IMAP folder.
type Folder struct {
	Name      string // the full UTF-8 name, e.g. "Archive/2024"
	Delimiter string // the hierarchy delimiter, "" if none
}

// Message is one message of a folder.
type Message struct {
	UID          uint32
	Flags        []string // IMAP flags and keywords, e.g. \Seen, $Forwarded
	InternalDate time.Time
	Size         int64
	// Open returns the message's exact bytes. The reader may fail at any
	// point, at EOF included (a corrupt blob), and that fails the export.
	// Add calls it at most once, before it returns.
	Open func() (io.ReadCloser, error)
}
