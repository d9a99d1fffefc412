package counter

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/pharmachain/counter/devices"
)

// Reader owns the serial reader (scanner, card reader) and reopens it when the settings
// change; its events go to the core.
type Reader struct {
	ctx  context.Context
	cls  *devices.Classifier
	log  *slog.Logger
	sink func(devices.Event)

	mu     sync.Mutex
	reader *devices.SerialReader
}

// NewReader builds a Reader whose events go to sink (Core.DeviceEvent) until ctx ends.
func NewReader(ctx context.Context, cls *devices.Classifier, log *slog.Logger, sink func(devices.Event)) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{ctx: ctx, cls: cls, log: log, sink: sink}
}

// Open (re)opens the reader on cfg's port; the error says why it could not.
func (m *Reader) Open(cfg Config) error {
	m.Close()
	if cfg.Port == "" {
		return errors.New("no serial port configured")
	}
	r, err := devices.OpenSerial(m.ctx, devices.SerialConfig{Port: cfg.Port, Baud: cfg.Baud}, m.cls, m.log)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.reader = r
	m.mu.Unlock()
	go func() {
		for ev := range r.Events() {
			m.sink(ev)
		}
	}()
	return nil
}

// Close closes the reader.
func (m *Reader) Close() {
	m.mu.Lock()
	r := m.reader
	m.reader = nil
	m.mu.Unlock()
	if r != nil {
		r.Close()
	}
}
