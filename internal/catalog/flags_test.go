package catalog

import "testing"

func TestJoinFlags(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{`\Seen`, `\Answered`, `\Seen`}, `\Answered \Seen`},
		{[]string{`\Recent`, `$Label1`}, `$Label1`},
	} {
		if got := JoinFlags(tc.in); got != tc.want {
			t.Errorf("JoinFlags(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSearchQuery(t *testing.T) {
	cases := map[string]string{
		"":                      "",
		"hello":                 `"hello"*`,
		`from:Bob say "hi" )*(`: `from_addr:"Bob"* "say"* """hi"""*`,
		"SUBJECT:x unknown:y":   `subject:"x"* "unknown:y"*`,
		"body: -- NEAR(a b)":    `"NEAR(a"* "b)"*`,
	}
	for in, want := range cases {
		if got := SearchQuery(in); got != want {
			t.Errorf("SearchQuery(%q) = %s, want %s", in, got, want)
		}
	}
}
