package state

import (
	"encoding/binary"
)

// The key space. Entity names are lower case letters, digits and _, so the
// 0 byte after them is a safe separator.
const (
	pRecord  = 's' // s 0 entity 0 key               -> Record
	pHistory = 'h' // h 0 entity 0 len(key) key seq  -> Record (state after)
	pEvent   = 'e' // e 0 entity 0 eventID           -> empty (dedupe)
	pPos     = 'p' // p 0 source                     -> int64 offset
	pDead    = 'd' // d 0 seq                        -> DeadLetter JSON
	pIncons  = 'i' // i 0 seq                        -> Inconsistency JSON
	pMeta    = 'm' // m 0 name                       -> bytes
)

func prefix(p byte, parts ...string) []byte {
	b := []byte{p, 0}
	for _, s := range parts {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

func recordKey(entity string, key []byte) []byte {
	return append(prefix(pRecord, entity), key...)
}

func historyPrefix(entity string, key []byte) []byte {
	b := prefix(pHistory, entity)
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

func historyKey(entity string, key []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(entity, key), seq)
}

// splitHistoryKey returns the entity key and seq of a history key under the
// entity prefix p.
func splitHistoryKey(k []byte, p int) ([]byte, uint64, bool) {
	k = k[p:]
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) != n+8 {
		return nil, 0, false
	}
	return k[w : w+int(n)], binary.BigEndian.Uint64(k[w+int(n):]), true
}

func eventKey(entity, id string) []byte {
	return append(prefix(pEvent, entity), id...)
}

func seqKey(p byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{p, 0}, seq)
}

// upperBound returns the smallest key greater than every key with prefix p.
func upperBound(p []byte) []byte {
	b := append([]byte(nil), p...)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}
