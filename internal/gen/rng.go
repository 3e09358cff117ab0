package gen

import (
	"math/rand/v2"
	"strconv"
)

// Every random choice comes from a PCG seeded by (seed, stream, index), so a
// tenure, a write or an event line can be regenerated on its own, in any
// order, on any goroutine, and gives the same bytes.

// Streams keep the random sequences of different roles apart.
const (
	streamTenure   uint64 = iota + 1 // base content of a tenure (per field)
	streamSchedule                   // the kind of each write
	streamPick                       // the target of each write
	streamWrite                      // the decisions of a write (state changes)
	streamEvent                      // envelope of an event line (ids, user, delay)
	streamBad                        // bad lines
	streamCreates                    // which indexes are created during the window
	streamExport                     // export ids and file names
)

// mix is the splitmix64 finaliser: a cheap, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rnd is a PCG from math/rand/v2 used by value, so it costs no allocation.
type rnd struct{ p rand.PCG }

// newRnd returns the generator of (seed, stream, index, sub).
func newRnd(seed, stream, index, sub uint64) rnd {
	var r rnd
	r.p.Seed(mix(seed^mix(stream)), mix(index^mix(sub+stream<<32)))
	return r
}

func (r *rnd) u64() uint64 { return r.p.Uint64() }

// intn returns a number in [0, n); n must be > 0.
func (r *rnd) intn(n int) int { return int(r.u64() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rnd) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance returns true with probability p.
func (r *rnd) chance(p float64) bool { return r.float() < p }

// float returns a number in [0, 1).
func (r *rnd) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// pick returns one element of list.
func pick[T any](r *rnd, list []T) T { return list[r.intn(len(list))] }

// weighted returns an index into weights, chosen in proportion to them.
func (r *rnd) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.intn(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// digits returns n random decimal digits.
func (r *rnd) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.intn(10))
	}
	return string(b)
}

// guid returns a random version 4 GUID in lower case.
func (r *rnd) guid() string {
	hi, lo := r.u64(), r.u64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(3<<62) | 2<<62
	return formatGUID(hi, lo)
}

const hexDigits = "0123456789abcdef"

// formatGUID writes 128 bits as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func formatGUID(hi, lo uint64) string {
	var b [36]byte
	pos := 0
	put := func(v uint64, nibbles int) {
		for i := nibbles - 1; i >= 0; i-- {
			if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
				b[pos] = '-'
				pos++
			}
			b[pos] = hexDigits[(v>>(4*uint(i)))&0xf]
			pos++
		}
	}
	put(hi, 16)
	put(lo, 16)
	return string(b[:])
}

// tenureID returns the id of tenure idx among total tenures. Ids look like
// random version 4 GUIDs but increase with idx, so index order is id order:
// the top 60 random bits are a stratified sample (one stratum per index) and
// the version nibble is inserted without disturbing the order.
func tenureID(seed uint64, idx, total int) string {
	w := uint64(1<<60) / uint64(max(total, 1))
	r := newRnd(seed, streamTenure, uint64(idx), 1<<40)
	v := uint64(idx)*w + r.u64()%max(w, 1)
	hi := (v>>12)<<16 | 0x4000 | v&0xfff
	lo := r.u64()&^(3<<62) | 2<<62
	return formatGUID(hi, lo)
}

// money returns an amount in pounds between lo and hi as DynamoDB keeps a
// number: no trailing zeros ("123.4", "17", "0.05").
func (r *rnd) money(lo, hi int) string {
	pence := lo*100 + r.intn((hi-lo)*100+1)
	return formatPence(pence)
}

func formatPence(pence int) string {
	neg := pence < 0
	if neg {
		pence = -pence
	}
	s := strconv.Itoa(pence / 100)
	if p := pence % 100; p != 0 {
		if p%10 == 0 {
			s += "." + strconv.Itoa(p/10)
		} else {
			s += "." + string([]byte{byte('0' + p/10), byte('0' + p%10)})
		}
	}
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}
