package state

import (
	"encoding/binary"
)

// The key space. Entity names are lower case letters, digits and _, so the
// 0 byte after them is a safe separator.
const (
	pRecord  = 's' // s 0 entity 0 key               -> Record
	pHistory = 'h' // h 0 entity 0 key seq           -> Record (a superseded state)
	pEvent   = 'e' // e 0 entity 0 eventID           -> empty (dedupe)
	pPos     = 'p' // p 0 source                     -> int64 offset
	pDead    = 'd' // d 0 seq                        -> DeadLetter JSON
	pIncons  = 'i' // i 0 seq                        -> Inconsistency JSON
	pMeta    = 'm' // m 0 name                       -> bytes
	pResync  = 'r' // r 0 entity 0 resyncID 0 key    -> empty (seen in that re-sync)
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

// History keys are the entity key then the row's seq. Entity keys are
// prefix-free within an entity (change.Key.Bytes is: every part is
// kind, length, bytes, and an entity's keys have the same parts), so history
// rows sort by key exactly as records do, which lets a scan merge the two.
func historyPrefix(entity string, key []byte) []byte {
	return append(prefix(pHistory, entity), key...)
}

func historyKey(entity string, key []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(entity, key), seq)
}

// splitHistoryKey returns the entity key and seq of a history key under the
// entity prefix of length p.
func splitHistoryKey(k []byte, p int) ([]byte, uint64, bool) {
	k = k[p:]
	if len(k) < 9 {
		return nil, 0, false
	}
	return k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:]), true
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
