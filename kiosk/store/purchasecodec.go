package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/pharmachain/counter/flows"
)

// Purchase values are a compact binary record (JSON decoding was two thirds of the
// scan-to-alert time). The customer key, day and id live in the key.
//
//	'P' (format 1)
//	varint  sold_at unix seconds
//	uvarint sold_at nanoseconds
//	varint  zone offset in seconds
//	8 bytes quantity (IEEE 754 bits, big-endian)
//	uvarint days' supply
//	5 × (uvarint length, bytes): store id, drug code, name, ingredient, ATC
//
// A value starting with '{' is a JSON purchase written by schema 1; it still decodes.
const purchaseFormat = 'P'

func encodePurchase(p *flows.Purchase) []byte {
	b := make([]byte, 0, 48+len(p.StoreID)+len(p.DrugCode)+len(p.Name)+len(p.Ingredient)+len(p.ATC))
	b = append(b, purchaseFormat)
	b = binary.AppendVarint(b, p.SoldAt.Unix())
	b = binary.AppendUvarint(b, uint64(p.SoldAt.Nanosecond()))
	_, off := p.SoldAt.Zone()
	b = binary.AppendVarint(b, int64(off))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Quantity))
	b = binary.AppendUvarint(b, uint64(p.DaysSupply))
	for _, s := range [...]string{p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var utc = time.UTC

func zoneFor(off int) *time.Location {
	switch off {
	case 8 * 3600:
		return flows.Shanghai()
	case 0:
		return utc
	}
	return time.FixedZone("", off)
}

// decodePurchase rebuilds a purchase from its key (customer key, day, id) and value.
func decodePurchase(k, v []byte) (flows.Purchase, error) {
	var p flows.Purchase
	if len(k) < purchaseKeyPrefix {
		return p, fmt.Errorf("purchase key %x: too short", k)
	}
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &p); err != nil {
			return p, fmt.Errorf("decode purchase %q: %w", k[purchaseKeyPrefix:], err)
		}
		p.CustomerKey = string(k[:32])
		return p, nil
	}
	bad := func() (flows.Purchase, error) {
		return flows.Purchase{}, fmt.Errorf("decode purchase %q: corrupt record", k[purchaseKeyPrefix:])
	}
	if len(v) == 0 || v[0] != purchaseFormat {
		return bad()
	}
	r := v[1:]
	sec, n := binary.Varint(r)
	if n <= 0 {
		return bad()
	}
	r = r[n:]
	nsec, n := binary.Uvarint(r)
	if n <= 0 || nsec >= 1e9 {
		return bad()
	}
	r = r[n:]
	off, n := binary.Varint(r)
	if n <= 0 || off < -18*3600 || off > 18*3600 {
		return bad()
	}
	r = r[n:]
	if len(r) < 8 {
		return bad()
	}
	p.Quantity = math.Float64frombits(binary.BigEndian.Uint64(r))
	r = r[8:]
	days, n := binary.Uvarint(r)
	if n <= 0 || days > math.MaxInt32 {
		return bad()
	}
	r = r[n:]
	p.DaysSupply = int(days)
	var strs [5]string
	for i := range strs {
		l, n := binary.Uvarint(r)
		if n <= 0 || uint64(len(r)-n) < l {
			return bad()
		}
		strs[i] = string(r[n : n+int(l)])
		r = r[n+int(l):]
	}
	p.SoldAt = time.Unix(sec, int64(nsec)).In(zoneFor(int(off)))
	p.StoreID, p.DrugCode, p.Name, p.Ingredient, p.ATC = strs[0], strs[1], strs[2], strs[3], strs[4]
	p.ID = string(k[purchaseKeyPrefix:])
	p.CustomerKey = string(k[:32])
	return p, nil
}
