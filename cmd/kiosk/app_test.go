package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseAppFlags(t *testing.T) {
	var stderr bytes.Buffer
	f, err := parseAppFlags([]string{"--data", "/tmp/d", "--port", "/dev/ttyUSB0", "--baud", "115200", "--hq", "https://hq.example.cn",
		"--store", "S009", "--token", "tok", "--secret-file", "/etc/chain.secret", "--fullscreen", "--lock-after", "90s"}, &stderr)
	if err != nil {
		t.Fatal(err, stderr.String())
	}
	c := f.cfg
	if c.DataDir != "/tmp/d" || c.Port != "/dev/ttyUSB0" || c.Baud != 115200 || c.HQURL != "https://hq.example.cn" || c.StoreID != "S009" ||
		c.Token != "tok" || c.SecretFile != "/etc/chain.secret" || !c.Fullscreen || c.LockAfter != 90*time.Second {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseAppFlagsErrors(t *testing.T) {
	for _, args := range [][]string{{"--baud", "fast"}, {"--lock-after", "soon"}, {"--baud", "-5"}, {"--nope"}, {"--data", "x", "extra"}} {
		var stderr bytes.Buffer
		if _, err := parseAppFlags(args, &stderr); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	var stderr bytes.Buffer
	if _, err := parseAppFlags([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// `kiosk --help` documents every flag of the counter app (and hides --measure).
func TestHelpListsAppFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, fl := range []string{"--data", "--port", "--baud", "--hq", "--store", "--token", "--secret-file", "--fullscreen", "--lock-after"} {
		if !strings.Contains(out.String(), fl+" ") {
			t.Errorf("--help lacks %s:\n%s", fl, out.String())
		}
	}
	if strings.Contains(out.String(), "--measure") {
		t.Error("--help shows the hidden --measure flag")
	}
}

// A bad flag value is a usage error (exit 2) before any window opens.
func TestRunAppBadFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--baud", "x"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2; stderr %s", code, errb.String())
	}
}
