package lake

import (
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// scratch holds the buffers the schema and write passes read images with:
// a Row's image is read in its binary form (Row.ImageBin, or Row.Image
// encoded once), member and element lists are reused, so reading a row
// allocates nothing.
type scratch struct {
	ms  [][]ddbjson.RawMember
	es  [][]ddbjson.RawValue
	buf []byte
	err error // the first damaged stored value seen
}

// image returns the binary form of r's image; nil when it has none.
func (sc *scratch) image(r *Row) ([]byte, error) {
	if r.ImageBin != nil || r.Image == nil {
		return r.ImageBin, nil
	}
	sc.buf = ddbjson.AppendBinary(sc.buf[:0], r.Image)
	return sc.buf, nil
}

// rowMembers returns the members of r's image, in key order (none when it
// has no image).
func (sc *scratch) rowMembers(r *Row) ([]ddbjson.RawMember, error) {
	img, err := sc.image(r)
	if err != nil {
		return nil, err
	}
	ms := sc.members()
	if len(img) == 0 {
		return ms, nil
	}
	ms, _, err = ddbjson.RawMembers(ms, img)
	return ms, err
}

func (sc *scratch) fail(err error) {
	if err != nil && sc.err == nil {
		sc.err = err
	}
}

func (sc *scratch) members() []ddbjson.RawMember {
	if n := len(sc.ms); n > 0 {
		m := sc.ms[n-1]
		sc.ms = sc.ms[:n-1]
		return m
	}
	return make([]ddbjson.RawMember, 0, 32)
}

func (sc *scratch) releaseMembers(m []ddbjson.RawMember) {
	clear(m)
	sc.ms = append(sc.ms, m[:0])
}

func (sc *scratch) elems() []ddbjson.RawValue {
	if n := len(sc.es); n > 0 {
		e := sc.es[n-1]
		sc.es = sc.es[:n-1]
		return e
	}
	return make([]ddbjson.RawValue, 0, 16)
}

func (sc *scratch) releaseElems(e []ddbjson.RawValue) {
	clear(e)
	sc.es = append(sc.es, e[:0])
}
