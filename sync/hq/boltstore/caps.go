package boltstore

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/codec"
	"github.com/pharmachain/counter/sync/hq"
)

// pdaily: store 0x00 pharmacist 0x00 kind 0x00 day(4) → BE int64, the points of a kind a
// pharmacist earned that local day through links (hq.LinkOpen.DailyCap).
var bPDaily = []byte("pdaily")

func dailyKey(ev flows.PointsEvent) []byte {
	k := make([]byte, 0, len(ev.StoreID)+len(ev.PharmacistID)+len(ev.Kind)+7)
	k = append(append(k, ev.StoreID...), 0)
	k = append(append(k, ev.PharmacistID...), 0)
	k = append(append(k, ev.Kind...), 0, 0, 0, 0, 0)
	codec.PutDay(k[len(k)-4:], flows.DayOf(ev.At))
	return k
}

// creditCapped credits a link's event ev inside tx under the daily cap (0: none). It
// reports whether the cap withheld it; then flags are rewritten with 0 points and the
// cap's flag is added. The transaction is bbolt's only writer, so the tally read here
// cannot move before the commit.
func creditCapped(tx *bolt.Tx, ev flows.PointsEvent, cap int, flags []hq.Flag) (bool, []hq.Flag, error) {
	if ev.ID == "" {
		return false, flags, nil
	}
	var k []byte
	var today int64
	db := tx.Bucket(bPDaily)
	if cap > 0 {
		k = dailyKey(ev)
		if v := db.Get(k); len(v) == 8 {
			today = int64(binary.BigEndian.Uint64(v))
		}
		if today+int64(ev.Points) > int64(cap) {
			out := make([]hq.Flag, 0, len(flags)+1)
			for _, f := range flags {
				f.Points = 0
				out = append(out, f)
			}
			return true, append(out, hq.CapFlag(ev, cap)), nil
		}
	}
	credited, err := creditPointsTx(tx, ev)
	if err != nil {
		return false, flags, err
	}
	if credited && k != nil {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(today+int64(ev.Points)))
		if err := db.Put(k, buf[:]); err != nil {
			return false, flags, fmt.Errorf("daily points: %w", err)
		}
	}
	return false, flags, nil
}
