package secretin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	var prompt bytes.Buffer
	if s, err := Read("PIN", Source{File: "-"}, strings.NewReader(" 1234 \nrest\n"), &prompt); err != nil || s != "1234" {
		t.Fatalf("stdin: %q %v", s, err)
	}
	f := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(f, []byte("5678\n"), 0o600)
	if s, err := Read("PIN", Source{File: f}, nil, &prompt); err != nil || s != "5678" {
		t.Fatalf("file: %q %v", s, err)
	}
	if s, err := Read("ID number", Source{Prompt: true}, strings.NewReader("11010519491231002X"), &prompt); err != nil || s != "11010519491231002X" || prompt.String() != "ID number: " {
		t.Fatalf("prompt (not a terminal): %q %v, prompt %q", s, err, prompt.String())
	}
	for _, c := range []struct {
		src  Source
		in   string
		want string
	}{{Source{File: "-"}, "\n", "empty"}, {Source{}, "", "no source"}, {Source{File: "-", Prompt: true}, "", "not both"}, {Source{File: "/nonexistent"}, "", "no such file"}} {
		if _, err := Read("PIN", c.src, strings.NewReader(c.in), &prompt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.src, err, c.want)
		}
	}
}
