package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestReadAccounts(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		wantErr []string
	}{
		{
			name:    "comments, blanks, case, duplicates",
			content: "# accounts\n\n  Alice@Example.org  \r\nbob@example.org # the boss\n\talice@example.org\nCarol+tag@sub.example.org\n   # indented comment\nbob@example.org\n",
			want:    []string{"alice@example.org", "bob@example.org", "carol+tag@sub.example.org"},
		},
		{
			name:    "empty",
			content: "# nobody yet\n",
			want:    []string{},
		},
		{
			name:    "no newline at end",
			content: "a@b.example",
			want:    []string{"a@b.example"},
		},
		{
			name:    "bad lines, all reported",
			content: "ok@example.org\nnot-an-address\na@b@example.org\nAlice Smith <alice@example.org>\n@example.org\nbob@\nx@exa mple.org\nctl\x01@example.org\n",
			wantErr: []string{
				`accounts.txt:2: "not-an-address"`,
				`accounts.txt:3: "a@b@example.org"`,
				`accounts.txt:4: "Alice Smith <alice@example.org>": one address per line, without spaces`,
				`accounts.txt:5: "@example.org"`,
				`accounts.txt:6: "bob@"`,
				`accounts.txt:7: "x@exa mple.org"`,
				`accounts.txt:8:`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "accounts.txt", tt.content, 0o644)
			got, err := ReadAccounts(p)
			checkErr(t, err, tt.wantErr)
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestReadAccountsMissing(t *testing.T) {
	if _, err := ReadAccounts(t.TempDir() + "/nope.txt"); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestReadPasswords(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	tests := []struct {
		name    string
		content string
		perm    os.FileMode
		want    map[string]string
		wantErr []string
	}{
		{
			name:    "passwords with colons and spaces",
			content: "# address:password\n\nAlice@Example.org:" + secret + "\r\n bob@example.org :a:b:c\ncarol@example.org: spaced \n",
			perm:    0o600,
			want:    map[string]string{"alice@example.org": secret, "bob@example.org": "a:b:c", "carol@example.org": " spaced "},
		},
		{
			name:    "owner read-only is fine",
			content: "a@example.org:x\n",
			perm:    0o400,
			want:    map[string]string{"a@example.org": "x"},
		},
		{
			name:    "group readable",
			content: "a@example.org:" + secret + "\n",
			perm:    0o640,
			wantErr: []string{"has mode 0640", "group or others", "chmod 600"},
		},
		{
			name:    "world readable",
			content: "a@example.org:" + secret + "\n",
			perm:    0o604,
			wantErr: []string{"has mode 0604"},
		},
		{
			name:    "bad lines never show the password",
			content: "ok@example.org:pw\n" + secret + "\n" + secret + ":" + secret + "\nempty@example.org:\nok@example.org:" + secret + "\n",
			perm:    0o600,
			wantErr: []string{
				"passwords.txt:2: no colon",
				"passwords.txt:3: the text before the first colon is not an email address",
				"passwords.txt:4: empty password",
				"passwords.txt:5: ok@example.org already has a password on line 1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "passwords.txt", tt.content, tt.perm)
			got, err := ReadPasswords(p)
			checkErr(t, err, tt.wantErr)
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %q", err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
