package posexport

// lineCounter counts the lines of each (store, sale, drug) key, by 64-bit hash, in
// 8–16 bytes a key: an open-addressing set of the hashes seen (the usual case: a key
// once) and a map of the few keys seen more than once. A million-line file needs a
// 16 MB table, kept outside the Go heap on Unix once it passes 4 MB (allocSlots), where
// a Go map of counts took ~50 MB while growing. Reader.Close frees it.
type lineCounter struct {
	slots []uint64 // 0: empty (a hash of 0 is stored as 1)
	mem   *mapping // where a large table lives (allocSlots); nil until needed
	n     int
	more  map[uint64]uint32 // keys seen twice or more → count
}

// mapping is the off-heap memory of a table (b nil: none). It is its own object so that
// a cleanup on the Reader can release it when a Reader is dropped without Close.
type mapping struct{ b []byte }

func (m *mapping) free() {
	if m != nil && m.b != nil {
		unmap(m.b)
		m.b = nil
	}
}

// free releases the table; the counter starts empty again.
func (c *lineCounter) free() {
	c.mem.free()
	c.slots, c.n, c.more = nil, 0, nil
}

// add counts one more line of key h and returns how many it has now.
func (c *lineCounter) add(h uint64) uint32 {
	if h == 0 {
		h = 1
	}
	if c.slots == nil {
		c.slots, _ = allocSlots(1024)
	}
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch c.slots[i] {
		case 0:
			c.slots[i] = h
			c.n++
			if c.n*4 > len(c.slots)*3 {
				c.grow()
			}
			return 1
		case h:
			if c.more == nil {
				c.more = map[uint64]uint32{}
			}
			n := c.more[h]
			if n == 0 {
				n = 1
			}
			n++
			c.more[h] = n
			return n
		}
	}
}

func (c *lineCounter) grow() {
	old := c.slots
	var b []byte
	c.slots, b = allocSlots(len(old) * 2)
	if c.mem == nil {
		c.mem = &mapping{}
	}
	defer func(oldMem []byte) {
		if oldMem != nil {
			unmap(oldMem)
		}
	}(c.mem.b)
	c.mem.b = b
	mask := uint64(len(c.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for c.slots[i] != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = h
	}
}
