package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appendInFlight is how many APPENDs are sent before the oldest is
// waited for.
const appendInFlight = 32

// liveAccount changes one account on the IMAP server, as a mail client
// would: CREATE, DELETE, APPEND, STORE, EXPUNGE.
type liveAccount struct {
	c        *imapclient.Client
	selected string
}

func dialAccount(addr, user, password string) (*liveAccount, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		return nil, errors.Join(fmt.Errorf("logging in as %s: %w", user, err), c.Close())
	}
	return &liveAccount{c: c}, nil
}

func (a *liveAccount) close() error {
	err := a.c.Logout().Wait()
	if cerr := a.c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing imap connection: %w", err)
	}
	return nil
}

// create creates the folder name, and subscribes to it if asked. INBOX is
// created only where the server has none: Dovecot makes it itself, the
// in-memory server does not.
func (a *liveAccount) create(name string, subscribe bool) error {
	exists := false
	if strings.EqualFold(name, "INBOX") {
		found, err := a.c.List("", "INBOX", nil).Collect()
		if err != nil {
			return fmt.Errorf("listing INBOX: %w", err)
		}
		exists = len(found) > 0
	}
	if !exists {
		if err := a.c.Create(name, nil).Wait(); err != nil {
			return fmt.Errorf("creating folder %q: %w", name, err)
		}
	}
	if subscribe {
		if err := a.c.Subscribe(name).Wait(); err != nil {
			return fmt.Errorf("subscribing to %q: %w", name, err)
		}
	}
	return nil
}

func (a *liveAccount) delete(name string) error {
	if a.selected == name {
		if err := a.c.Unselect().Wait(); err != nil {
			return fmt.Errorf("unselecting %q: %w", name, err)
		}
		a.selected = ""
	}
	if err := a.c.Delete(name).Wait(); err != nil {
		return fmt.Errorf("deleting folder %q: %w", name, err)
	}
	return nil
}

// appendAll appends msgs to folder, pipelined, and returns their UIDs
// from APPENDUID (RFC 4315).
func (a *liveAccount) appendAll(folder string, msgs []Message) ([]imap.UID, error) {
	uids := make([]imap.UID, len(msgs))
	var pending []*imapclient.AppendCommand
	wait := func(i int) error {
		data, err := pending[0].Wait()
		pending = pending[1:]
		if err != nil {
			return fmt.Errorf("appending to %q: %w", folder, err)
		}
		if data.UID == 0 {
			return fmt.Errorf("appending to %q: the server sent no APPENDUID", folder)
		}
		uids[i] = data.UID
		return nil
	}
	done := 0
	for _, m := range msgs {
		cmd := a.c.Append(folder, int64(len(m.Raw)), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
		_, err := io.Copy(cmd, bytes.NewReader(m.Raw))
		if cerr := cmd.Close(); err == nil {
			err = cerr
		}
		pending = append(pending, cmd)
		if err != nil {
			return nil, fmt.Errorf("appending to %q: %w", folder, err)
		}
		if len(pending) >= appendInFlight {
			if err := wait(done); err != nil {
				return nil, err
			}
			done++
		}
	}
	for len(pending) > 0 {
		if err := wait(done); err != nil {
			return nil, err
		}
		done++
	}
	return uids, nil
}

func (a *liveAccount) selectFolder(name string) error {
	if a.selected == name {
		return nil
	}
	if _, err := a.c.Select(name, nil).Wait(); err != nil {
		return fmt.Errorf("selecting %q: %w", name, err)
	}
	a.selected = name
	return nil
}

// store changes flags of uids in folder.
func (a *liveAccount) store(folder string, uids []imap.UID, op imap.StoreFlagsOp, flags ...imap.Flag) error {
	if len(uids) == 0 {
		return nil
	}
	if err := a.selectFolder(folder); err != nil {
		return err
	}
	err := a.c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close()
	if err != nil {
		return fmt.Errorf("storing flags in %q: %w", folder, err)
	}
	return nil
}

// expunge deletes uids from folder: \Deleted, then UID EXPUNGE.
func (a *liveAccount) expunge(folder string, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	if err := a.store(folder, uids, imap.StoreFlagsAdd, imap.FlagDeleted); err != nil {
		return err
	}
	if err := a.c.UIDExpunge(imap.UIDSetNum(uids...)).Close(); err != nil {
		return fmt.Errorf("expunging in %q: %w", folder, err)
	}
	return nil
}

// moveToTrash copies uids of folder to trash and expunges them from
// folder.
func (a *liveAccount) moveToTrash(folder, trash string, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	if err := a.selectFolder(folder); err != nil {
		return err
	}
	if _, err := a.c.Copy(imap.UIDSetNum(uids...), trash).Wait(); err != nil {
		return fmt.Errorf("copying from %q to %q: %w", folder, trash, err)
	}
	return a.expunge(folder, uids)
}

// empty expunges every message of folder.
func (a *liveAccount) empty(folder string) error {
	if err := a.selectFolder(folder); err != nil {
		return err
	}
	all := imap.UIDSet{{Start: 1, Stop: 0}}
	err := a.c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	if err != nil {
		return fmt.Errorf("emptying %q: %w", folder, err)
	}
	if err := a.c.Expunge().Close(); err != nil {
		return fmt.Errorf("emptying %q: %w", folder, err)
	}
	return nil
}
