package counter

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Config is the kiosk's configuration: persisted in the store's settings blob by the
// settings screen; command-line flags override it.
type Config struct {
	DataDir    string        `json:"-"`           // --data
	Port       string        `json:"port"`        // serial device path (--port)
	Baud       int           `json:"baud"`        // --baud
	Suffix     string        `json:"suffix"`      // frame suffix the scanner sends: CR, LF, CRLF, none
	HQURL      string        `json:"hq_url"`      // --hq
	StoreID    string        `json:"store_id"`    // --store
	Token      string        `json:"token"`       // --token (store bearer token)
	SecretFile string        `json:"secret_file"` // --secret-file (chain secret)
	LockAfter  time.Duration `json:"lock_after"`  // idle lock (--lock-after), default 5 min
	Fullscreen bool          `json:"-"`           // --fullscreen
	// FollowUpURL is the booking page / WeCom contact link shown as a QR code at step 4.
	FollowUpURL string `json:"followup_url"`
}

// Defaults for a fresh install.
const (
	DefaultLockAfter   = 5 * time.Minute
	DefaultBaud        = 9600
	DefaultSuffix      = "CR"
	DefaultStoreID     = "S001"
	DefaultFollowUpURL = "https://wecom.example.cn/store/add-contact"
	// HQBudget is the longest the counter waits on HQ for anything: 800 ms, after which
	// it works from the local store.
	HQBudget = 800 * time.Millisecond
)

// Suffixes lists the frame suffix settings a scanner can be configured with.
func Suffixes() []string { return []string{"CR", "LF", "CRLF", "none"} }

// DefaultConfig is the configuration of a fresh install.
func DefaultConfig() Config {
	return Config{Baud: DefaultBaud, Suffix: DefaultSuffix, StoreID: DefaultStoreID,
		LockAfter: DefaultLockAfter, FollowUpURL: DefaultFollowUpURL}
}

// Override returns c with every non-zero field of o applied (flags over stored settings).
func (c Config) Override(o Config) Config {
	if o.DataDir != "" {
		c.DataDir = o.DataDir
	}
	if o.Port != "" {
		c.Port = o.Port
	}
	if o.Baud != 0 {
		c.Baud = o.Baud
	}
	if o.Suffix != "" {
		c.Suffix = o.Suffix
	}
	if o.HQURL != "" {
		c.HQURL = o.HQURL
	}
	if o.StoreID != "" {
		c.StoreID = o.StoreID
	}
	if o.Token != "" {
		c.Token = o.Token
	}
	if o.SecretFile != "" {
		c.SecretFile = o.SecretFile
	}
	if o.LockAfter != 0 {
		c.LockAfter = o.LockAfter
	}
	if o.FollowUpURL != "" {
		c.FollowUpURL = o.FollowUpURL
	}
	c.Fullscreen = c.Fullscreen || o.Fullscreen
	return c
}

// Validate checks the configuration and names the first bad field.
func (c Config) Validate() error {
	if c.Baud < 50 || c.Baud > 4000000 {
		return fmt.Errorf("baud %d: want 50..4000000", c.Baud)
	}
	ok := false
	for _, s := range Suffixes() {
		ok = ok || s == c.Suffix
	}
	if !ok {
		return fmt.Errorf("frame suffix %q: want one of %s", c.Suffix, strings.Join(Suffixes(), ", "))
	}
	if c.HQURL != "" {
		u, err := url.Parse(c.HQURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("HQ URL %q: want http(s)://host[:port]", c.HQURL)
		}
	}
	if c.StoreID == "" || len(c.StoreID) > 32 {
		return fmt.Errorf("store id %q: want 1..32 characters", c.StoreID)
	}
	if c.LockAfter < 10*time.Second || c.LockAfter > 24*time.Hour {
		return fmt.Errorf("lock after %s: want 10s..24h", c.LockAfter)
	}
	return nil
}

// SerialPorts lists the serial devices found on this machine: /dev/ttyS*, ttyUSB*,
// ttyACM* and the stable names under /dev/serial/by-id, after the extra ones given (the
// demo's PTY).
func SerialPorts(extra ...string) []string {
	out := append([]string(nil), extra...)
	for _, pat := range []string{"/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyS*"} {
		m, _ := filepath.Glob(pat) // only ErrBadPattern, impossible for these literals
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}
