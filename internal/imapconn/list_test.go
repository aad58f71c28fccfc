package imapconn

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestListedAttributes: \Marked and \Unmarked come and go as mail arrives
// and folders are selected, so they are not kept with the folder (an
// unchanged account would otherwise take a full snapshot each time Dovecot
// marks a folder); special-use and subscription go to their own fields,
// \Noselect makes a folder unselectable and is kept.
func TestListedAttributes(t *testing.T) {
	n := uint32(3)
	cases := []struct {
		in   imap.ListData
		want Folder
	}{{
		in: imap.ListData{Mailbox: "Archive", Delim: '/', Attrs: []imap.MailboxAttr{
			imap.MailboxAttrMarked, imap.MailboxAttrHasNoChildren, imap.MailboxAttrArchive},
			Status: &imap.StatusData{NumMessages: &n, UIDNext: 4, UIDValidity: 7, HighestModSeq: 9}},
		want: Folder{Name: "Archive", Delimiter: "/", Attributes: []string{`\HasNoChildren`},
			SpecialUse: `\Archive`, Selectable: true,
			Status: &Status{UIDValidity: 7, UIDNext: 4, Messages: 3, HighestModSeq: 9}},
	}, {
		in: imap.ListData{Mailbox: "Archive", Delim: '/', Attrs: []imap.MailboxAttr{
			imap.MailboxAttrUnmarked, imap.MailboxAttrArchive, imap.MailboxAttrSubscribed}},
		want: Folder{Name: "Archive", Delimiter: "/", SpecialUse: `\Archive`, Subscribed: true, Selectable: true},
	}, {
		in: imap.ListData{Mailbox: "Lists", Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect, imap.MailboxAttrMarked},
			Status: &imap.StatusData{NumMessages: &n}},
		want: Folder{Name: "Lists", Attributes: []string{`\Noselect`}},
	}}
	for _, c := range cases {
		if got := toListed(&c.in, nil); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v listed as %+v, want %+v", c.in.Attrs, got, c.want)
		}
	}
}
