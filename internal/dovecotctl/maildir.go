package dovecotctl

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
)

// deliverSeq makes the Maildir file names of Deliver unique.
var deliverSeq atomic.Uint64

// maildirFlags maps IMAP system flags to their Maildir info letters.
var maildirFlags = map[imap.Flag]byte{
	imap.FlagDraft:    'D',
	imap.FlagFlagged:  'F',
	imap.FlagAnswered: 'R',
	imap.FlagSeen:     'S',
	imap.FlagDeleted:  'T',
}

// Deliver writes msg straight into the Maildir of folder of the account
// address, as a local delivery agent would, without IMAP: loading tens of
// thousands of messages this way takes seconds instead of minutes. Dovecot
// finds the message at its next sync of the folder (the next SELECT, STATUS or
// NOOP) and gives it the next UID; IMAP clients see it like any other.
//
// The account must exist (AddUser). folder is an IMAP name with "/" as the
// separator, ASCII only, without "." (Maildir++ keeps the hierarchy in dotted
// directory names); it is created when missing. flags may hold system flags
// only (no \Recent, no keywords). A zero date leaves INTERNALDATE to the time
// of delivery. msg may use LF or CRLF line endings: Dovecot returns CRLF.
//
// Deliver is safe for concurrent use.
func (i *Instance) Deliver(address, folder string, msg []byte, flags []imap.Flag, date time.Time) error {
	info, err := maildirInfo(flags)
	if err != nil {
		return err
	}
	dir, err := i.MaildirPath(address, folder)
	if err != nil {
		return err
	}
	uid, gid, err := i.mailOwnerIDs()
	if err != nil {
		return err
	}
	if err := makeMaildir(dir, uid, gid); err != nil {
		return err
	}
	// Dovecot trusts S= (the file's size) and W= (the size with CRLF line
	// endings, RFC822.SIZE) and need not read the file to answer sizes.
	name := fmt.Sprintf("1700000000.M%dP%d.mtmtest,S=%d,W=%d:2,%s",
		deliverSeq.Add(1), os.Getpid(), len(msg), crlfSize(msg), info)
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(tmp, uid, gid); err != nil {
			return err
		}
	}
	if !date.IsZero() { // Dovecot reads INTERNALDATE from the mtime
		if err := os.Chtimes(tmp, date, date); err != nil {
			return err
		}
	}
	return os.Rename(tmp, filepath.Join(dir, "cur", name))
}

// MaildirPath returns the Maildir directory of folder of the account address
// (see Deliver for the names allowed). It does not create it.
func (i *Instance) MaildirPath(address, folder string) (string, error) {
	root := filepath.Join(i.Dir, "mail", strings.ToLower(address), "Maildir")
	if strings.EqualFold(folder, "INBOX") {
		return root, nil
	}
	if folder == "" || strings.ContainsAny(folder, ".\x00\r\n") || strings.HasPrefix(folder, "/") ||
		strings.HasSuffix(folder, "/") || strings.Contains(folder, "//") {
		return "", fmt.Errorf("folder name %q not supported", folder)
	}
	for _, r := range folder {
		if r >= 0x80 || r == '&' {
			return "", fmt.Errorf("folder name %q not supported: not plain ASCII", folder)
		}
	}
	return filepath.Join(root, "."+strings.ReplaceAll(folder, "/", ".")), nil
}

// mailOwnerIDs returns the owner of the mail directory, which Launch gave
// to the mail user.
func (i *Instance) mailOwnerIDs() (uid, gid int, err error) {
	fi, err := os.Stat(filepath.Join(i.Dir, "mail"))
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("no owner of %s", fi.Name())
	}
	return int(st.Uid), int(st.Gid), nil
}

// makeMaildir creates dir with cur, new and tmp, and any missing parents up
// to the mail directory, owned by the mail user.
func makeMaildir(dir string, uid, gid int) error {
	if _, err := os.Stat(filepath.Join(dir, "tmp")); err == nil {
		return nil
	}
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Base(d) == "mail" {
			break
		}
	}
	slices.Reverse(missing)
	for _, sub := range []string{"cur", "new", "tmp"} {
		missing = append(missing, filepath.Join(dir, sub))
	}
	for _, d := range missing {
		if err := os.Mkdir(d, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
		if os.Geteuid() == 0 {
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
	}
	return nil
}

// maildirInfo returns the flag letters of a Maildir file name, sorted.
func maildirInfo(flags []imap.Flag) (string, error) {
	var letters []byte
	for _, f := range flags {
		var l byte
		ok := false
		for k, v := range maildirFlags {
			if strings.EqualFold(string(k), string(f)) {
				l, ok = v, true
			}
		}
		if !ok {
			return "", fmt.Errorf("flag %s cannot be delivered", f)
		}
		if !slices.Contains(letters, l) {
			letters = append(letters, l)
		}
	}
	slices.Sort(letters)
	return string(letters), nil
}

// crlfSize is the size of msg with every bare LF made CRLF, as IMAP serves
// it.
func crlfSize(msg []byte) int {
	bare := bytes.Count(msg, []byte("\n")) - bytes.Count(msg, []byte("\r\n"))
	return len(msg) + bare
}
