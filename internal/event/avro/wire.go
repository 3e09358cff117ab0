package avro

import (
	"encoding/binary"
	"fmt"
)

// MagicByte starts every message of the Confluent wire format.
const MagicByte = 0

// WireHeaderLen is the length of the wire format's header: the magic byte
// and the 4-byte big-endian schema id.
const WireHeaderLen = 5

// SplitWire reads the Confluent wire format: magic byte 0, the schema id as
// 4 bytes big-endian, then the Avro binary body. An *Error says why a
// message is not in that format.
func SplitWire(msg []byte) (id int, body []byte, err error) {
	if len(msg) > 0 && msg[0] != MagicByte {
		return 0, nil, errorf("wrong magic byte 0x%02x, want 0x00 (the Confluent wire format)", msg[0])
	}
	if len(msg) < WireHeaderLen {
		return 0, nil, errorf("message of %d bytes is too short for the Confluent wire format (magic byte and 4-byte schema id)", len(msg))
	}
	return int(binary.BigEndian.Uint32(msg[1:WireHeaderLen])), msg[WireHeaderLen:], nil
}

// AppendWire appends the wire format header for schema id and then body,
// as a producer frames a message.
func AppendWire(dst []byte, id int, body []byte) []byte {
	dst = append(dst, MagicByte)
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	return append(dst, body...)
}

// Error is a message that cannot become an image; Reason is the dead-letter
// reason.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func errorf(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}
