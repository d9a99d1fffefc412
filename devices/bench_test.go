package devices

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

// BenchmarkFrameToEvent measures bytes in → classified event out for a 20-byte ID-number
// frame (18 characters + CRLF), including the HMAC-SHA256 customer key: the most expensive
// frame a counter scanner sends. Goal: well under 0.1 ms (the frame itself takes ~21 ms on
// a 9600-baud wire).
func BenchmarkFrameToEvent(b *testing.B) {
	c := &Classifier{Secret: []byte("bench-chain-secret-0123456789"), Now: func() time.Time { return testToday }}
	fr := NewFramer(FramerConfig{})
	in := []byte("11010519491231002X\r\n")
	at := testToday
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		frames := fr.Feed(in, at)
		if len(frames) != 1 {
			b.Fatalf("%d frames", len(frames))
		}
		s := c.Classify(frames[0])
		ev := Event{Type: EventScan, Scan: &s, At: s.At}
		if !ev.Scan.Valid {
			b.Fatal(s.Error)
		}
	}
}

// BenchmarkCustomerKey is the baseline for BenchmarkFrameToEvent: the HMAC alone.
func BenchmarkCustomerKey(b *testing.B) {
	secret := []byte("bench-chain-secret-0123456789")
	for b.Loop() {
		if len(customerkey.Hash(secret, "11010519491231002X")) != 32 {
			b.Fatal("key length")
		}
	}
}
