package kiosk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pharmachain/counter/assets"
)

func readTranslations(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := assets.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

// Both translation files have the same keys, and every key the code uses exists.
func TestTranslationsComplete(t *testing.T) {
	zh, en := readTranslations(t, fileZh), readTranslations(t, fileEn)
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh_Hans.json lacks %q", k)
		}
	}
	// Keys the screens say (lang.L), the core names (say, Text{Key: …}, the setup
	// checks' set) and the demo's labels.
	patterns := map[string]*regexp.Regexp{
		"*.go":                   regexp.MustCompile(`lang\.L\("([a-z_.0-9]+)"([ +]*)`),
		"../cmd/kiosk-demo/*.go": regexp.MustCompile(`lang\.L\("([a-z_.0-9]+)"([ +]*)`),
		"counter/*.go":           regexp.MustCompile(`(?:say\((?:true|false), |Key: |s\.set\(Check\w+, \w+, |store\(\w+, )"([a-z_.0-9]+)"([ +]*)`),
		"demo/*.go":              regexp.MustCompile(`Label\{(?:Key: )?"([a-z_.0-9]+)"([ +]*)`),
	}
	var used []string
	for glob, re := range patterns {
		files, _ := filepath.Glob(glob)
		if len(files) == 0 {
			t.Fatalf("no files %s", glob)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if m[2] != "" || strings.HasSuffix(m[1], ".") { // a prefix completed at run time (level., period. …)
					continue
				}
				used = append(used, m[1])
			}
		}
	}
	sort.Strings(used)
	if len(used) < 150 {
		t.Fatalf("only %d keys found in the code", len(used))
	}
	for _, k := range used {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %q used in code but missing from zh_Hans.json", k)
		}
	}
	for _, prefix := range []string{"level.red", "level.yellow", "level.ok", "level.unknown", "level.none", "period.today",
		"period.week", "period.month", "fu.channel.wecom", "fu.channel.sms", "summary.outcome.complete", "summary.outcome.abandoned",
		"setup.not_ready.secret", "setup.not_ready.store", "setup.not_ready.hq", "setup.not_ready.token",
		"setup.field.port", "setup.field.hq", "setup.field.store", "setup.field.token", "setup.field.secret"} {
		if _, ok := zh[prefix]; !ok {
			t.Errorf("computed key %q missing", prefix)
		}
	}
}

func TestDetectLocale(t *testing.T) {
	for env, want := range map[string]Locale{
		"":            LocaleZh,
		"C":           LocaleZh,
		"C.UTF-8":     LocaleZh,
		"zh_CN.UTF-8": LocaleZh,
		"en_US.UTF-8": LocaleEn,
		"en_GB":       LocaleEn,
		"de_DE.UTF-8": LocaleZh,
		"POSIX":       LocaleZh,
	} {
		got := DetectLocale(func(k string) string {
			if k == "LANG" {
				return env
			}
			return ""
		})
		if got != want {
			t.Errorf("LANG=%q: %s, want %s", env, got, want)
		}
	}
	// LC_ALL wins over LANG.
	if got := DetectLocale(func(k string) string { return map[string]string{"LC_ALL": "en_US", "LANG": "zh_CN"}[k] }); got != LocaleEn {
		t.Errorf("LC_ALL=en_US: %s", got)
	}
}
