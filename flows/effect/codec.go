package effect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Binary forms of a VisitFact: v2 is v1 followed by the content version (varint);
// a fact of content version 0 is written in v1, as before content versions.
const (
	visitFactV1 = 1
	visitFactV2 = 2
)

// MarshalBinary encodes a visit fact compactly (storage backends keep one per visit
// beside the record, so reports read no JSON). Classes other than the three chronic
// ones are dropped.
func (f VisitFact) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 96+len(f.VisitID)+len(f.CustomerKey)+len(f.StoreID))
	form := byte(visitFactV1)
	if f.ContentVersion != 0 {
		form = visitFactV2
	}
	b = append(b, form)
	for _, s := range []string{f.VisitID, f.CustomerKey, f.StoreID, f.QuestionnaireClass} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, f.StartedAt.Unix())
	b = binary.AppendUvarint(b, uint64(f.StartedAt.Nanosecond()))
	var flags byte
	if f.Complete {
		flags |= 1
	}
	if f.VisitTimed {
		flags |= 2
	}
	for i, t := range f.StepTimed {
		if t {
			flags |= 4 << i
		}
	}
	var classes byte
	for _, c := range f.Classes {
		if ci := classIndex(c); ci >= 0 {
			classes |= 1 << ci
		}
	}
	b = append(b, flags, byte(min(max(f.StepsDone, 0), 4)), classes)
	for _, s := range f.StepSeconds {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s))
	}
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(f.VisitSeconds))
	b = binary.AppendUvarint(b, uint64(len(f.Recommendations)))
	for _, r := range f.Recommendations {
		b = binary.AppendUvarint(b, uint64(len(r.ItemID)))
		b = append(b, r.ItemID...)
		switch {
		case r.Accepted == nil:
			b = append(b, 2)
		case *r.Accepted:
			b = append(b, 1)
		default:
			b = append(b, 0)
		}
	}
	if form == visitFactV2 {
		b = binary.AppendVarint(b, int64(f.ContentVersion))
	}
	return b, nil
}

var errFactCorrupt = errors.New("corrupt visit fact encoding")

// UnmarshalBinary decodes MarshalBinary's form.
func (f *VisitFact) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || (b[0] != visitFactV1 && b[0] != visitFactV2) {
		return errFactCorrupt
	}
	form := b[0]
	b = b[1:]
	str := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", errFactCorrupt
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	var out VisitFact
	var err error
	for _, dst := range []*string{&out.VisitID, &out.CustomerKey, &out.StoreID, &out.QuestionnaireClass} {
		if *dst, err = str(); err != nil {
			return err
		}
	}
	sec, k := binary.Varint(b)
	if k <= 0 {
		return errFactCorrupt
	}
	b = b[k:]
	nsec, k := binary.Uvarint(b)
	if k <= 0 || nsec >= 1e9 {
		return errFactCorrupt
	}
	b = b[k:]
	out.StartedAt = time.Unix(sec, int64(nsec))
	if len(b) < 3+5*8 {
		return errFactCorrupt
	}
	flags, steps, classes := b[0], b[1], b[2]
	b = b[3:]
	out.Complete, out.VisitTimed, out.StepsDone = flags&1 != 0, flags&2 != 0, int(steps)
	for i := range out.StepTimed {
		out.StepTimed[i] = flags&(4<<i) != 0
	}
	for ci, c := range classNames {
		if classes&(1<<ci) != 0 {
			out.Classes = append(out.Classes, c)
		}
	}
	for i := range out.StepSeconds {
		out.StepSeconds[i] = math.Float64frombits(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	out.VisitSeconds = math.Float64frombits(binary.BigEndian.Uint64(b))
	b = b[8:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 16 {
		return errFactCorrupt
	}
	b = b[k:]
	for range n {
		id, err := str()
		if err != nil || len(b) < 1 {
			return errFactCorrupt
		}
		r := RecommendationFact{ItemID: id}
		switch b[0] {
		case 0, 1:
			acc := b[0] == 1
			r.Accepted = &acc
		case 2:
		default:
			return errFactCorrupt
		}
		b = b[1:]
		out.Recommendations = append(out.Recommendations, r)
	}
	if form == visitFactV2 {
		cv, k := binary.Varint(b)
		if k <= 0 || cv == 0 || cv < math.MinInt32 || cv > math.MaxInt32 {
			return errFactCorrupt
		}
		b = b[k:]
		out.ContentVersion = int(cv)
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errFactCorrupt, len(b))
	}
	*f = out
	return nil
}

var classNames = [3]string{"hypertension", "diabetes", "hyperlipidemia"}
