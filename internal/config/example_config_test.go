package config

import (
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const examplePath = "../../mtm.example.toml"

// TestExampleConfig keeps mtm.example.toml loadable and complete.
func TestExampleConfig(t *testing.T) {
	c, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}
	if err := c.CheckIMAPAuth(); err != nil {
		t.Errorf("CheckIMAPAuth: %v", err)
	}

	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	md, err := toml.Decode(string(data), &v)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, f := range Default().fields() {
		t.Run(f.key, func(t *testing.T) {
			if !md.IsDefined(strings.Split(f.key, ".")...) {
				t.Fatalf("%s is missing from %s", f.key, examplePath)
			}
			// The line above "name = ..." must be a comment.
			name := f.key[strings.LastIndex(f.key, ".")+1:]
			for i, line := range lines {
				if strings.HasPrefix(line, name+" = ") && (i == 0 || !strings.HasPrefix(lines[i-1], "#")) {
					t.Errorf("%s has no comment on the line above it", f.key)
				}
			}
		})
	}
}
