package counter

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/wire"
)

// SetupHQ is what the first-start checks ask HQ (sync/hqclient implements it).
type SetupHQ interface {
	Healthz(ctx context.Context) error
	Roster(ctx context.Context) (wire.RosterResponse, error)
}

// SetupDeps are the parts the first-start checks use.
type SetupDeps struct {
	// NewHQ builds a client for an HQ address and store token.
	NewHQ func(url, token string) SetupHQ
	// OpenPort (re)opens the serial reader on cfg's port; its events come back through
	// Setup.DeviceEvent.
	OpenPort func(cfg Config) error
	Post     func(f func()) // runs f on the setup's goroutine
	OnChange func()
	Logger   *slog.Logger
	Now      func() time.Time
}

// Check fields of the first-start screen.
const (
	CheckPort   = "port"   // the scanner answers on the port
	CheckHQ     = "hq"     // HQ is reachable
	CheckToken  = "token"  // HQ accepts the store token
	CheckStore  = "store"  // the store id is valid (and HQ's roster is this store's)
	CheckSecret = "secret" // the chain-secret file loads
)

// CheckState is where one check stands.
type CheckState int

// Check states.
const (
	Unchecked CheckState = iota
	Checking
	Passed
	Failed
	Skipped // not needed with this configuration (no HQ: no token to check)
)

// String names the state (logs).
func (s CheckState) String() string {
	switch s {
	case Checking:
		return "checking"
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return "unchecked"
}

// CheckResult is one field's check: its state and what to say.
type CheckResult struct {
	State CheckState
	Text  Text
}

// Setup runs the first-start screen's live checks: each field of a configuration is
// checked as it is entered (Check), the serial port's events say whether the scanner
// answers, and Ready says whether the configuration can start the counter.
type Setup struct {
	deps    SetupDeps
	results map[string]CheckResult
	gen     map[string]int // a check's generation: late answers of older ones are dropped
	port    string         // the port the reader was opened on
	scans   int            // scans read on it
}

// NewSetup builds the checks.
func NewSetup(deps SetupDeps) *Setup {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.OnChange == nil {
		deps.OnChange = func() {}
	}
	return &Setup{deps: deps, results: map[string]CheckResult{}, gen: map[string]int{}}
}

// Result is a field's check.
func (s *Setup) Result(field string) CheckResult { return s.results[field] }

func (s *Setup) set(field string, st CheckState, key string, args map[string]any) {
	s.results[field] = CheckResult{State: st, Text: Text{Key: key, Args: args}}
	s.deps.OnChange()
}

// Check checks every field of cfg: at once what needs no I/O, in the background what
// asks HQ or opens the port.
func (s *Setup) Check(cfg Config) {
	s.checkSecret(cfg.SecretFile)
	s.checkHQ(cfg) // with HQ, the store id is checked against HQ's roster for the token
	if cfg.StoreID == "" || len(cfg.StoreID) > 32 {
		s.set(CheckStore, Failed, "setup.store_bad", nil)
	} else if s.results[CheckHQ].State != Checking {
		s.set(CheckStore, Passed, "setup.store_ok", nil)
	}
	s.checkPort(cfg)
}

func (s *Setup) checkSecret(path string) {
	path = strings.TrimSpace(path)
	if path == "" {
		s.set(CheckSecret, Failed, "setup.secret_missing", nil)
		return
	}
	if _, err := customerkey.LoadSecret(path); err != nil {
		s.set(CheckSecret, Failed, "setup.secret_bad", map[string]any{"Err": err.Error()})
		return
	}
	s.set(CheckSecret, Passed, "setup.secret_ok", nil)
}

// checkHQ asks HQ's /healthz (reachable) and the store's roster with the token
// (accepted), each within HQBudget.
func (s *Setup) checkHQ(cfg Config) {
	s.gen[CheckHQ]++
	gen := s.gen[CheckHQ]
	url, token := strings.TrimSpace(cfg.HQURL), strings.TrimSpace(cfg.Token)
	if url == "" {
		s.set(CheckHQ, Skipped, "setup.hq_none", nil)
		s.set(CheckToken, Skipped, "setup.token_none", nil)
		return
	}
	c := cfg
	c.HQURL = url
	if err := c.Validate(); err != nil && strings.HasPrefix(err.Error(), "HQ URL") {
		s.set(CheckHQ, Failed, "setup.hq_bad", map[string]any{"Err": err.Error()})
		s.set(CheckToken, Unchecked, "", nil)
		return
	}
	s.set(CheckHQ, Checking, "setup.checking", nil)
	s.set(CheckToken, Checking, "setup.checking", nil)
	s.set(CheckStore, Checking, "setup.checking", nil)
	hq := s.deps.NewHQ(url, token)
	storeID := cfg.StoreID
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*HQBudget)
		defer cancel()
		herr := hq.Healthz(ctx)
		var terr error
		var roster wire.RosterResponse
		if herr == nil {
			roster, terr = hq.Roster(ctx)
		}
		s.deps.Post(func() {
			if s.gen[CheckHQ] != gen {
				return
			}
			validID := storeID != "" && len(storeID) <= 32
			store := func(st CheckState, key string, args map[string]any) {
				if validID {
					s.set(CheckStore, st, key, args)
				}
			}
			if herr != nil {
				s.set(CheckHQ, Failed, "setup.hq_unreachable", map[string]any{"Err": herr.Error()})
				s.set(CheckToken, Unchecked, "", nil)
				store(Passed, "setup.store_ok", nil)
				return
			}
			s.set(CheckHQ, Passed, "setup.hq_ok", nil)
			switch {
			case token == "":
				s.set(CheckToken, Failed, "setup.token_missing", nil)
				store(Passed, "setup.store_ok", nil)
			case terr != nil:
				s.set(CheckToken, Failed, "setup.token_refused", map[string]any{"Err": terr.Error()})
				store(Passed, "setup.store_ok", nil)
			default:
				s.set(CheckToken, Passed, "setup.token_ok", map[string]any{"N": len(roster.Pharmacists)})
				switch {
				case roster.StoreID != "" && roster.StoreID != storeID:
					store(Failed, "setup.store_other", map[string]any{"Store": roster.StoreID})
				case roster.StoreID != "":
					store(Passed, "setup.store_roster", nil)
				default:
					store(Passed, "setup.store_ok", nil)
				}
			}
		})
	}()
}

// checkPort opens the reader on the port (when it changed): the check passes when the
// device reports connected, and says so again for every scan read.
func (s *Setup) checkPort(cfg Config) {
	port := strings.TrimSpace(cfg.Port)
	if port == "" {
		s.set(CheckPort, Skipped, "setup.port_none", nil)
		s.port = ""
		return
	}
	if port == s.port && s.results[CheckPort].State != Failed {
		return
	}
	s.port, s.scans = port, 0
	c := cfg
	c.Port = port
	if err := s.deps.OpenPort(c); err != nil {
		s.set(CheckPort, Failed, "setup.port_failed", map[string]any{"Err": err.Error()})
		return
	}
	s.set(CheckPort, Checking, "setup.port_opening", map[string]any{"Port": port})
}

// DeviceEvent takes the serial reader's event (on the setup's goroutine).
func (s *Setup) DeviceEvent(ev devices.Event) {
	if s.port == "" {
		return
	}
	switch ev.Type {
	case devices.EventDevice:
		if ev.State == devices.StateConnected {
			s.set(CheckPort, Passed, "setup.port_open", map[string]any{"Port": s.port})
		} else {
			var why any = ev.Err
			if ev.Problem != nil {
				why = ev.Problem
			}
			s.set(CheckPort, Failed, "setup.port_down", map[string]any{"Port": s.port, "Err": why})
		}
	case devices.EventScan, devices.EventError:
		s.scans++
		s.set(CheckPort, Passed, "setup.port_scans", map[string]any{"Port": s.port, "N": s.scans})
	}
}

// Ready reports whether the counter can start: the secret loads, the store id is valid,
// and HQ (when configured) is reachable and accepts the token. The scanner is not
// required (a keyboard-wedge scanner needs no port).
func (s *Setup) Ready() error {
	for _, f := range []string{CheckSecret, CheckStore, CheckHQ, CheckToken} {
		r := s.results[f]
		if r.State == Passed || r.State == Skipped {
			continue
		}
		return &FormError{Text: Text{Key: "setup.not_ready." + f}}
	}
	return nil
}

// ErrNeedsSetup marks a configuration the counter cannot start with.
type ErrNeedsSetup struct{ Why error }

func (e *ErrNeedsSetup) Error() string { return "setup needed: " + e.Why.Error() }
func (e *ErrNeedsSetup) Unwrap() error { return e.Why }

// NeedsSetup says why cfg cannot start the counter (nil: it can): no or an unloadable
// chain secret, or an invalid setting.
func NeedsSetup(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return &ErrNeedsSetup{Why: err}
	}
	if cfg.SecretFile == "" {
		return &ErrNeedsSetup{Why: errors.New("no chain secret file")}
	}
	if _, err := customerkey.LoadSecret(cfg.SecretFile); err != nil {
		return &ErrNeedsSetup{Why: err}
	}
	return nil
}
