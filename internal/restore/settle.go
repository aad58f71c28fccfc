package restore

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/clock"
	"mtm/internal/imapconn"
)

// settle waits until a STATUS of every live folder gives the same message
// counts and UIDNEXTs twice, quiet apart, or until 30 × quiet have passed.
func settle(ctx context.Context, cn *imapconn.Conn, clk clock.Sleeper, quiet time.Duration) error {
	prev, err := folderStates(cn)
	if err != nil {
		return err
	}
	for range 30 {
		if err := clk.SleepUntil(ctx, clk.Now().Add(quiet)); err != nil {
			return err
		}
		cur, err := folderStates(cn)
		if err != nil {
			return err
		}
		if maps.Equal(cur, prev) {
			return nil
		}
		prev = cur
	}
	return nil // a busy account: go on, the plan reads what is there
}

// folderStates is "messages uidnext" of every selectable folder.
func folderStates(cn *imapconn.Conn) (map[string]string, error) {
	folders, err := cn.ListFolders()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(folders))
	for _, f := range folders {
		if !f.Selectable {
			continue
		}
		st, err := cn.C.Status(f.Name, &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
		if err != nil {
			continue // gone since LIST; the index will see
		}
		out[f.Name] = fmt.Sprintf("%d %d", *st.NumMessages, st.UIDNext)
	}
	return out, nil
}
