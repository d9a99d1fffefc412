package posexport

// lineCounter counts the lines of each (store, sale, drug) key, by 64-bit hash, in
// about 16 bytes a key: an open-addressing set of the hashes seen (the usual case: a
// key once) and a map of the few keys seen more than once. A million-line file needs
// ~16 MB where a Go map of counts took ~50 MB while growing.
type lineCounter struct {
	slots []uint64 // 0: empty (a hash of 0 is stored as 1)
	n     int
	more  map[uint64]uint32 // keys seen twice or more → count
}

// add counts one more line of key h and returns how many it has now.
func (c *lineCounter) add(h uint64) uint32 {
	if h == 0 {
		h = 1
	}
	if c.slots == nil {
		c.slots = make([]uint64, 1024)
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
	c.slots = make([]uint64, len(old)*2)
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
