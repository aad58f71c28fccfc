package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/testenv/smtpcapture"
)

// roundcubeRoot is where Debian's roundcube package puts the web root.
const roundcubeRoot = "/var/lib/roundcube/public_html"

// startRoundcube serves Debian's Roundcube with PHP's built-in server on
// loopback, configured against the IMAP server at imapAddr, with its own
// configuration, SQLite database, logs and temporary files (the settings
// docs/operations.md gives for a read-only Roundcube over the backup). It
// returns Roundcube's URL.
func startRoundcube(t *testing.T, imapAddr string) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		t.Fatalf("php (Debian's php-cli) is needed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(roundcubeRoot, "index.php")); err != nil {
		t.Fatalf("Debian's roundcube is needed (scripts/deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	for _, d := range []string{conf, filepath.Join(dir, "logs"), filepath.Join(dir, "temp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Roundcube reads defaults.inc.php and mimetypes.php from its
	// configuration directory, then config.inc.php over them.
	for _, f := range []string{"defaults.inc.php", "mimetypes.php"} {
		b, err := os.ReadFile(filepath.Join("/etc/roundcube", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(conf, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "roundcube.db")
	cfg := fmt.Sprintf(`<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///%s?mode=0600';
$config['imap_host'] = '%s';
$config['smtp_host'] = '';
$config['des_key'] = 'mtm-test-key-24-chars-xx';
$config['plugins'] = [];
$config['log_dir'] = '%s/logs/';
$config['temp_dir'] = '%s/temp/';
$config['enable_installer'] = false;
$config['product_name'] = 'Backup of your mail';
$config['skin'] = 'elastic';
// Every folder of the backup is listed (the server reports them all
// subscribed); nothing is cached across days.
$config['imap_cache'] = null;
$config['messages_cache'] = false;
$config['create_default_folders'] = false;
$config['delete_junk'] = false;
$config['flag_for_deletion'] = false;
$config['skip_deleted'] = false;
$config['read_when_deleted'] = false;
$config['drafts_mbox'] = '';
$config['sent_mbox'] = '';
$config['junk_mbox'] = '';
$config['trash_mbox'] = '';
`, db, imapAddr, dir, dir)
	if err := os.WriteFile(filepath.Join(conf, "config.inc.php"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	initdb := fmt.Sprintf(`$d = new PDO('sqlite:%s'); $d->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
		$d->exec(file_get_contents('/usr/share/roundcube/SQL/sqlite.initial.sql'));`, db)
	if out, err := exec.Command(php, "-r", initdb).CombinedOutput(); err != nil {
		t.Fatalf("creating Roundcube's database: %v\n%s", err, out)
	}
	addr := smtpcapture.FreeAddr(t)
	cmd := exec.Command(php, "-S", addr, "-t", roundcubeRoot)
	cmd.Env = append(os.Environ(), "ROUNDCUBE_CONFIG_DIR="+conf)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "logs", "errors.log"))
			t.Logf("Roundcube's server:\n%s\nits errors.log:\n%s", out.String(), logs)
		}
	})
	base := "http://" + addr + "/"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Roundcube did not answer in 20 s (%v):\n%s", err, out.String())
		}
	}
}

// TestRoundcubeOverTheBackup points Debian's Roundcube at mtm's IMAP
// server, as a provider offers its users their own webmail over the
// backup: in Chromium, the user logs in with the mailbox's password,
// opens a past day's folder and a message deleted since, and reads it;
// deleting or moving it there changes nothing in the backup.
func TestRoundcubeOverTheBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve, php and chromium")
	}
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	lunch := []byte("From: Carol <carol@example.com>\r\nTo: alice@example.com\r\nSubject: Lunch on Friday\r\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0100\r\nMessage-ID: <lunch@example.com>\r\n\r\nShall we meet at the harbour?\r\n")
	e.dc.Append(t, alice, "INBOX", lunch, []imap.Flag{imap.FlagSeen}, time.Time{})
	e.dc.Append(t, alice, "INBOX", []byte("Subject: still here\r\n\r\nstill\r\n"), nil, time.Time{})
	e.now = "2026-11-20T03:00:00+01:00"
	e.mustMTM("snapshot")
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", 1)
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	e.now = "2026-11-21T03:00:00+01:00"
	e.mustMTM("snapshot")
	e.now = "2026-11-21T12:00:00+01:00"
	_, imapAddr := startIMAPServe(t, e)
	rc := startRoundcube(t, imapAddr)
	before := dayState(t, imapAddr, alice, "2026-11-20/INBOX")

	ctx, _ := browse(t, t.TempDir())
	do(t, ctx, "Roundcube's login", chromedp.Navigate(rc), chromedp.WaitVisible(chromedp.ID("rcmloginuser")),
		chromedp.SendKeys(chromedp.ID("rcmloginuser"), alice), chromedp.SendKeys(chromedp.ID("rcmloginpwd"), "pw-"+alice),
		chromedp.Click(chromedp.ID("rcmloginsubmit")))
	waitPage(t, ctx, "the day folders", `[...document.querySelectorAll("#mailboxlist li")].some((li) =>
		li.textContent.includes("2026-11-20")) && [...document.querySelectorAll("#mailboxlist li")].some((li) =>
		li.textContent.includes("2026-11-21"))`)
	folder := rc + "?_task=mail&_mbox=" + url.QueryEscape("2026-11-20/INBOX")
	do(t, ctx, "the past day's INBOX", chromedp.Navigate(folder))
	waitPage(t, ctx, "its messages, the deleted one among them", `[...document.querySelectorAll("#messagelist tbody tr")].some((tr) =>
		tr.textContent.includes("Lunch on Friday"))`)
	do(t, ctx, "open the message", chromedp.Navigate(folder+"&_uid=1&_action=show"))
	waitPage(t, ctx, "the message as it was", `document.body.textContent.includes("Lunch on Friday") &&
		(document.getElementById("messagebody") || document.body).textContent.includes("Shall we meet at the harbour?")`)

	// Delete and move, as a user would try: Roundcube knows the folder is
	// read-only (SELECT said so) and says it; whatever it sends, the
	// server refuses.
	do(t, ctx, "delete it", chromedp.Evaluate[chromedp.Void](`rcmail.command("delete", "", null)`))
	waitPage(t, ctx, "Roundcube saying the folder is read-only", `document.getElementById("messagestack").textContent.includes("read-only")`)
	do(t, ctx, "move it", chromedp.Navigate(folder))
	waitPage(t, ctx, "the list again", `document.querySelectorAll("#messagelist tbody tr").length === 2`)
	do(t, ctx, "select and move", chromedp.Evaluate[chromedp.Void](`rcmail.message_list.select_all("");
		rcmail.move_messages("2026-11-21/INBOX")`))
	waitPage(t, ctx, "the move refused", `document.getElementById("messagestack").textContent.includes("read-only")`)
	if after := dayState(t, imapAddr, alice, "2026-11-20/INBOX"); after != before {
		t.Errorf("the backup changed:\nbefore %s\nafter  %s", before, after)
	}
	if after := dayState(t, imapAddr, alice, "2026-11-21/INBOX"); !strings.Contains(after, "1 messages") {
		t.Errorf("the day 2 folder changed: %s", after)
	}
}

// dayState is a day's folder's messages with their UIDs, flags and sizes,
// read over IMAP.
func dayState(t *testing.T, addr, account, folder string) string {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(account, "pw-"+account).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true,
		RFC822Size: true}).Collect()
	if err != nil && sel.NumMessages > 0 {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages:", sel.NumMessages)
	for _, m := range msgs {
		fmt.Fprintf(&b, " %d %v %d;", m.UID, m.Flags, m.RFC822Size)
	}
	return b.String()
}
