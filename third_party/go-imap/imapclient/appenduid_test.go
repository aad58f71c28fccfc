package imapclient

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestAppendUIDs(t *testing.T) {
	for _, tc := range []struct {
		set  string
		n    int
		want []imap.UID
	}{
		{"7", 1, []imap.UID{7}},
		{"5:7", 3, []imap.UID{5, 6, 7}},
		{"7:5", 3, []imap.UID{7, 6, 5}},
		{"5,9,6", 3, []imap.UID{5, 9, 6}},
		{"1:2,10", 3, []imap.UID{1, 2, 10}},
		{"5:6", 3, nil},
		{"5:8", 3, nil},
		{"1:4294967295", 3, nil},
		{"0", 1, nil},
		{"*", 1, nil},
		{"3:*", 2, nil},
		{"", 1, nil},
	} {
		if got := appendUIDs(tc.set, tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("appendUIDs(%q, %d) = %v, want %v", tc.set, tc.n, got, tc.want)
		}
	}
}
