package classify

import "testing"

func TestDebugHits(t *testing.T) {
	entries := loadCorpus(t)[:200000]
	c := New(builtin(t), Options{})
	hits, pos, cands := 0, 0, 0
	for i := range entries {
		l := Normalize(&entries[i])
		us := c.set(l.Unit)
		if us == nil || us.ngram == nil {
			continue
		}
		g := us.ngram
		s := l.Body
		for j := 0; j+3 <= len(s); j++ {
			k := (uint32(s[j]) | uint32(s[j+1])<<8 | uint32(s[j+2])<<16) | 0x202020
			p := k * ngramMul
			pos++
			if g.bitmap[p>>22]&(1<<((p>>16)&63)) != 0 {
				hits++
			}
		}
		var b [1]uint64
		us.scan(s, b[:])
		for x := b[0]; x != 0; x &= x - 1 {
			cands++
		}
	}
	t.Logf("positions %d hits %d (%.2f%%) cands/line %.2f", pos, hits, 100*float64(hits)/float64(pos), float64(cands)/200000)
	for u, us := range c.units {
		t.Logf("%s entries %d", u, len(us.ngram.entries))
	}
}
