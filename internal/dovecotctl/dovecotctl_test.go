package dovecotctl

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const alice = "alice@example.com"

// launch starts an instance or skips the test when Dovecot is missing,
// unless MTMTEST_REQUIRE_INTEGRATION=1.
func launch(t *testing.T, opts Options) *Instance {
	t.Helper()
	inst, err := Launch(opts)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("MTMTEST_REQUIRE_INTEGRATION") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Error(err)
		}
	})
	return inst
}

// TestLaunch starts an instance in a chosen parent, logs in with an
// account's own password and as the master user, and shows that Stop ends
// the server and removes its directory.
func TestLaunch(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	if os.Geteuid() == 0 { // the mail processes must pass through it
		for _, d := range []string{parent, filepath.Dir(parent)} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	inst := launch(t, Options{Parent: parent})
	if filepath.Dir(inst.Dir) != parent {
		t.Errorf("Dir %s is not in %s", inst.Dir, parent)
	}
	if err := inst.AddUser(alice, "p:ss wörd"); err != nil {
		t.Fatal(err)
	}
	for _, login := range [][2]string{{alice, "p:ss wörd"}, {alice + "*" + inst.MasterUser, inst.MasterPassword}} {
		c, err := imapclient.DialInsecure(inst.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(login[0], login[1]).Wait(); err != nil {
			t.Errorf("login as %s: %v", login[0], err)
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}
	if out, err := inst.Doveadm("user", alice); err != nil || !strings.Contains(out, inst.Dir) {
		t.Errorf("doveadm user: %v\n%s", err, out)
	}
	// The password files (a hash each, the master password) are for
	// Dovecot's auth processes only: no other local user reads them.
	for _, p := range []string{filepath.Join(inst.Dir, "master-users"), filepath.Join(inst.Dir, "users"),
		filepath.Join(inst.Dir, "users", alice)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s is %v: other users may read it", p, fi.Mode().Perm())
		}
	}

	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := inst.Stop(); err != nil { // idempotent
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp", inst.Addr); err == nil {
		_ = conn.Close()
		t.Errorf("%s still accepts connections", inst.Addr)
	}
	if _, err := os.Stat(inst.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s not removed: %v", inst.Dir, err)
	}
}

// TestLaunchUnreachable shows that, as root, a parent the mail user cannot
// pass through is refused with a clear error, and nothing is left behind.
func TestLaunchUnreachable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs the mail processes as another user")
	}
	if _, _, err := Find(); err != nil {
		t.Skip(err)
	}
	parent := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	inst, err := Launch(Options{Parent: parent})
	if err == nil {
		_ = inst.Stop()
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("err = %v", err)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Errorf("left in %s: %v %v", parent, entries, err)
	}
}

func TestDeliverRefuses(t *testing.T) {
	t.Parallel()
	i := &Instance{Dir: t.TempDir()}
	for _, folder := range []string{"a.b", "Entwürfe", "/x", "x/", "a//b", ""} {
		if err := i.Deliver(alice, folder, []byte("x\n"), nil, time.Time{}); err == nil {
			t.Errorf("folder %q: no error", folder)
		}
	}
	if err := i.Deliver(alice, "INBOX", []byte("x\n"), []imap.Flag{"$Label1"}, time.Time{}); err == nil {
		t.Error("keyword: no error")
	}
}
