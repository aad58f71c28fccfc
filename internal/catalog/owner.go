package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// DefaultOwner names this process for running snapshot rows: host:pid:nonce.
func DefaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ownerGone reports whether owner (host:pid:nonce) certainly belongs to a
// process that no longer exists: it ran on this host under a pid that is
// gone. Owners on other hosts are judged by their heartbeat instead.
func ownerGone(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) != 3 {
		return false
	}
	host, err := os.Hostname()
	if err != nil || parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// holder is a row held by a process: a running snapshot or restore, with
// its account, owner and last heartbeat.
type holder struct {
	id        int64
	acct      AccountID
	owner     string
	heartbeat int64
}

// holders reads the rows of a query that selects id, account_id, owner and
// heartbeat (Unix ms), in that order.
func holders(ctx context.Context, q querier, query string, args ...any) ([]holder, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (h holder, err error) {
		return h, r.Scan(&h.id, &h.acct, &h.owner, &h.heartbeat)
	})
}
