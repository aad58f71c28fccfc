package corpus

import (
	"bytes"
	"testing"
)

func TestSpamAssassin(t *testing.T) {
	msgs := SpamAssassin(t)
	sets := map[string]int{}
	for _, m := range msgs {
		sets[m.Set]++
		if bytes.HasPrefix(m.Bytes, []byte("From ")) {
			t.Fatalf("%s/%s still starts with its mbox From line", m.Set, m.Name)
		}
	}
	want := map[string]int{"easy-ham-1": 2500, "easy-ham-2": 1400, "hard-ham-1": 250, "spam-1": 500, "spam-2": 1396}
	for set, n := range want {
		if sets[set] != n {
			t.Errorf("set %s has %d messages, want %d", set, sets[set], n)
		}
	}
}

func TestParseFileRejectsWrongMD5(t *testing.T) {
	_, err := parseFile("spam-1", "00001.7c53336b37003a9286aba55d2945844c.txt", []byte("From x\nSubject: tampered\n\n"))
	if err == nil {
		t.Fatal("a file whose bytes do not match the MD5 in its name was accepted")
	}
}
