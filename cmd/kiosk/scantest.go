package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows/customerkey"
)

// scanTestLine is one JSON line of `kiosk scan-test`: a frame or a device state change. It
// never carries a raw ID number or an insurance token.
type scanTestLine struct {
	Event       string `json:"event,omitempty"` // "device" for state changes
	State       string `json:"state,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Valid       *bool  `json:"valid,omitempty"`
	Symbology   string `json:"symbology,omitempty"`
	Masked      string `json:"masked,omitempty"`
	CustomerKey string `json:"customer_key,omitempty"`
	Code        string `json:"code,omitempty"`
	DrugID      string `json:"drug_id,omitempty"`
	Batch       string `json:"batch,omitempty"`
	Expiry      string `json:"expiry,omitempty"`
	Serial      string `json:"serial,omitempty"`
	StaffID     string `json:"staff_id,omitempty"`
	Error       string `json:"error,omitempty"`
	At          string `json:"at,omitempty"`
}

func scanTestLineOf(s devices.Scan) scanTestLine {
	valid := s.Valid
	l := scanTestLine{Kind: string(s.Kind), Valid: &valid, Symbology: s.Symbology, Masked: s.Masked,
		CustomerKey: s.CustomerKey, Code: s.Code, DrugID: s.DrugID, Batch: s.Batch, Expiry: s.Expiry,
		Serial: s.Serial, StaffID: s.StaffID, Error: s.Error}
	if !s.At.IsZero() {
		l.At = s.At.Format(time.RFC3339Nano)
	}
	return l
}

// runScanTest implements `kiosk scan-test`: read a serial scanner until interrupted and print
// each frame, classified, as one JSON line.
func runScanTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scan-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         devices.SerialConfig
		parity      string
		secretFile  = fs.String("secret-file", "", "chain secret file (default: the public DEMO secret, with a warning)")
		staffPrefix = fs.String("staff-prefix", devices.DefaultStaffPrefix, "staff badge prefix")
		insPattern  = fs.String("insurance-pattern", devices.DefaultInsurancePattern, "regular expression for insurance QR tokens")
		insURL      = fs.String("insurance-url", "", "insurance gateway URL: resolve insurance QR codes to customer keys")
		insTimeout  = fs.Duration("insurance-timeout", devices.DefaultInsuranceTimeout, "insurance gateway timeout")
		verbose     = fs.Bool("v", false, "log to stderr")
	)
	fs.StringVar(&cfg.Port, "port", "", "serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/… (required)")
	fs.IntVar(&cfg.Baud, "baud", devices.DefaultBaud, "baud rate")
	fs.IntVar(&cfg.DataBits, "data-bits", 8, "data bits (5-8)")
	fs.StringVar(&parity, "parity", "N", "parity: N, E or O")
	fs.IntVar(&cfg.StopBits, "stop-bits", 1, "stop bits: 1 or 2")
	fs.DurationVar(&cfg.IdleGap, "idle-gap", devices.DefaultIdleGap, "end a frame after this silence when the scanner sends no suffix")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", devices.DefaultReadTimeout, "serial read timeout (100ms-25s)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk scan-test --port PATH [--baud N] [--secret-file F] [--idle-gap D] [--staff-prefix P] [flags]")
		fmt.Fprintln(stderr, "Reads the scanner until interrupted (Ctrl-C) and prints one JSON line per frame or device state change.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: scan-test: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if cfg.Port == "" {
		return fmt.Errorf("%w: scan-test: --port is required", errUsage)
	}
	cfg.Parity = parity
	pat, err := regexp.Compile(*insPattern)
	if err != nil {
		return fmt.Errorf("%w: scan-test: --insurance-pattern: %v", errUsage, err)
	}
	var secret []byte
	if *secretFile == "" {
		secret = devices.DemoSecret()
		fmt.Fprintln(stderr, "scan-test: WARNING: no --secret-file given; using the public DEMO chain secret — customer keys will not match HQ")
	} else if secret, err = customerkey.LoadSecret(*secretFile); err != nil {
		return fmt.Errorf("scan-test: %w", err)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	cls := &devices.Classifier{Secret: secret, StaffPrefix: *staffPrefix, InsurancePattern: pat}
	var resolver devices.InsuranceResolver
	if *insURL != "" {
		resolver = devices.NewHTTPResolver(*insURL, *insTimeout, nil)
	}
	r, err := devices.OpenSerial(ctx, cfg, cls, logger)
	if err != nil {
		return fmt.Errorf("%w: scan-test: %v", errUsage, err)
	}
	defer r.Close()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for ev := range r.Events() {
		var line scanTestLine
		switch ev.Type {
		case devices.EventDevice:
			line = scanTestLine{Event: "device", State: ev.State, Error: ev.Err}
		default:
			if ev.Scan == nil {
				continue
			}
			s := *ev.Scan
			if s.Kind == devices.KindInsuranceQR && resolver != nil {
				if resolved, _, err := cls.ResolveInsurance(ctx, s, resolver); err != nil {
					s.Error = err.Error()
				} else {
					s = resolved
				}
			}
			line = scanTestLineOf(s)
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("scan-test: write output: %w", err)
		}
	}
	return nil
}
