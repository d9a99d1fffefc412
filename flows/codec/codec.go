// Package codec is the one binary form of purchases and of days in keys, shared by the
// kiosk's local store and HQ's embedded store (both bbolt files). Purchases are the bulk
// of both files and decoding them is most of a customer's history read, so the form is
// compact and decoding allocates only the purchase's strings.
//
// A purchase value (version 3):
//
//	0x03
//	varint   sold_at, unix seconds
//	uvarint  sold_at, nanoseconds (< 1e9)
//	varint   sold_at's zone offset in seconds (|offset| ≤ 18 h)
//	8 bytes  quantity (IEEE 754 bits, big-endian)
//	varint   days' supply (0: not known)
//	1 byte   0: no amount, 1: an amount follows
//	varint   amount in fen (only after 1)
//	7 × (uvarint length, bytes): store id, drug code, name, ingredient, ATC, receipt id, kind
//
// The customer key and the purchase id are not in the value: both stores key a purchase
// by customer, day and id, and set them from the key. A day in a key is 4 bytes,
// big-endian with the sign bit flipped, so byte order is day order.
//
// Files written before this form hold older values (the kiosk's JSON and 'P' records,
// HQ's versions 1 and 2); each store rewrites them once when it opens such a file.
package codec

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/pharmachain/counter/flows"
)

// DayLen is the length of a day in a key.
const DayLen = 4

// PutDay writes d into b[:DayLen] so that byte order is day order.
func PutDay(b []byte, d flows.Day) {
	binary.BigEndian.PutUint32(b, uint32(d)^0x80000000)
}

// AppendDay appends the DayLen bytes of d to b.
func AppendDay(b []byte, d flows.Day) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(d)^0x80000000)
}

// Day reads the day PutDay wrote in b[:DayLen]; b must hold at least DayLen bytes.
func Day(b []byte) flows.Day {
	return flows.Day(int32(binary.BigEndian.Uint32(b) ^ 0x80000000))
}

// Version is the first byte of a purchase value in the current form.
const Version = 3

// ErrCorrupt is returned (wrapped) for a value that is not a purchase in the current form.
const ErrCorrupt = sentinel("corrupt purchase record")

// maxZoneOffset bounds a stored zone offset (real zones are within ±14 h).
const maxZoneOffset = 18 * 3600

// AppendPurchase appends p's value (everything but CustomerKey and ID) to b.
func AppendPurchase(b []byte, p *flows.Purchase) []byte {
	b = append(b, Version)
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	_, off := p.SoldAt.Zone()
	b = binary.AppendVarint(b, int64(off))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendVarint(b, int64(p.DaysSupply))
	if p.AmountFen != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, *p.AmountFen)
	} else {
		b = append(b, 0)
	}
	for _, s := range [...]string{p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC, p.ReceiptID, p.Kind} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// EncodePurchase is AppendPurchase to a new slice of the right size.
func EncodePurchase(p *flows.Purchase) []byte {
	n := 40 + len(p.StoreID) + len(p.DrugCode) + len(p.Name) + len(p.Ingredient) + len(p.ATC) + len(p.ReceiptID) + len(p.Kind)
	return AppendPurchase(make([]byte, 0, n), p)
}

// Raw is a purchase value read in place: its strings are slices of the value, valid as
// long as the value is (in a bbolt store: inside the transaction), so a reader that keeps
// only some fields, or interns them, allocates nothing.
type Raw struct {
	Sec                                                       int64 // sale time, unix seconds
	Nsec                                                      int32 // sale time, nanoseconds
	Offset                                                    int32 // the sale time's zone offset, seconds
	Quantity                                                  float64
	DaysSupply                                                int
	AmountFen                                                 int64
	HasAmount                                                 bool
	StoreID, DrugCode, Name, Ingredient, ATC, ReceiptID, Kind []byte
}

// DecodeRaw reads a value AppendPurchase wrote without copying its strings. Anything
// else is ErrCorrupt; it never panics.
func DecodeRaw(v []byte) (Raw, error) {
	var p Raw
	if len(v) == 0 || v[0] != Version {
		return Raw{}, ErrCorrupt
	}
	r := v[1:]
	sec, n := binary.Varint(r)
	if n <= 0 {
		return Raw{}, ErrCorrupt
	}
	p.Sec, r = sec, r[n:]
	nsec, n := binary.Uvarint(r)
	if n <= 0 || nsec >= 1e9 {
		return Raw{}, ErrCorrupt
	}
	p.Nsec, r = int32(nsec), r[n:]
	off, n := binary.Varint(r)
	if n <= 0 || off < -maxZoneOffset || off > maxZoneOffset {
		return Raw{}, ErrCorrupt
	}
	p.Offset, r = int32(off), r[n:]
	if len(r) < 8 {
		return Raw{}, ErrCorrupt
	}
	p.Quantity, r = math.Float64frombits(binary.BigEndian.Uint64(r)), r[8:]
	days, n := binary.Varint(r)
	if n <= 0 || days < math.MinInt32 || days > math.MaxInt32 {
		return Raw{}, ErrCorrupt
	}
	p.DaysSupply, r = int(days), r[n:]
	if len(r) == 0 || r[0] > 1 {
		return Raw{}, ErrCorrupt
	}
	p.HasAmount, r = r[0] == 1, r[1:]
	if p.HasAmount {
		amt, n := binary.Varint(r)
		if n <= 0 {
			return Raw{}, ErrCorrupt
		}
		p.AmountFen, r = amt, r[n:]
	}
	for _, f := range [...]*[]byte{&p.StoreID, &p.DrugCode, &p.Name, &p.Ingredient, &p.ATC, &p.ReceiptID, &p.Kind} {
		l, n := binary.Uvarint(r)
		if n <= 0 || uint64(len(r)-n) < l {
			return Raw{}, ErrCorrupt
		}
		*f, r = r[n:n+int(l):n+int(l)], r[n+int(l):]
	}
	if len(r) != 0 {
		return Raw{}, ErrCorrupt
	}
	return p, nil
}

// SoldAt is the sale time in its zone (Zone).
func (p *Raw) SoldAt() time.Time {
	return time.Unix(p.Sec, int64(p.Nsec)).In(Zone(int(p.Offset)))
}

// Purchase copies the value into a purchase (CustomerKey and ID left empty).
func (p *Raw) Purchase() flows.Purchase {
	out := flows.Purchase{SoldAt: p.SoldAt(), Quantity: p.Quantity, DaysSupply: p.DaysSupply,
		StoreID: string(p.StoreID), DrugCode: string(p.DrugCode), Name: string(p.Name), Ingredient: string(p.Ingredient),
		ATC: string(p.ATC), ReceiptID: string(p.ReceiptID), Kind: string(p.Kind)}
	if p.HasAmount {
		amt := p.AmountFen
		out.AmountFen = &amt
	}
	return out
}

// DecodePurchase reads a value AppendPurchase wrote. CustomerKey and ID are left empty
// (the caller takes them from the key). Anything else is ErrCorrupt; it never panics.
func DecodePurchase(v []byte) (flows.Purchase, error) {
	r, err := DecodeRaw(v)
	if err != nil {
		return flows.Purchase{}, err
	}
	return r.Purchase(), nil
}

// Zone is the location a decoded sale time is given in: Asia/Shanghai for +08:00 (what
// nearly every sale has), UTC for 0, else a fixed zone with that offset.
func Zone(offset int) *time.Location {
	switch offset {
	case 8 * 3600:
		return flows.Shanghai()
	case 0:
		return time.UTC
	}
	return time.FixedZone("", offset)
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }
