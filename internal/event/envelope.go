// Package event decodes Hackney entity events (raw, or wrapped in an SNS
// notification) and maps them, through the entity mapping of the config, to
// changes.
package event

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Envelope is the Hackney event envelope: {id, eventType, sourceDomain,
// sourceSystem, version, correlationId, dateTime, user, entityId,
// eventData{oldData, newData}}.
//
// The envelope is read once into the binary form (ddbjson.TranscodeJSON),
// not into maps: its data is patched into the stored item as it is. The
// strings and values share those bytes, which nothing changes.
type Envelope struct {
	ID            string
	EventType     string
	SourceDomain  string
	SourceSystem  string
	Version       string
	CorrelationID string
	DateTime      time.Time
	// User is the user object, or the zero RawValue.
	User ddbjson.RawValue
	// Raw is the whole envelope (an M value), for key paths.
	Raw ddbjson.RawValue
	// OldData and NewData are the event's data as found: the zero
	// RawValue (kind KindInvalid) when absent, so that mapping rules can
	// reject data of the wrong shape.
	OldData, NewData ddbjson.RawValue
	// SNS is set when the event came wrapped in an SNS notification.
	SNS *SNSInfo
}

// SNSInfo is what an SNS notification wrapper said about the message.
type SNSInfo struct {
	MessageID string
	TopicArn  string
}

// Error is a decoding or mapping failure; Reason is the dead-letter reason.
type Error struct {
	Reason string
	err    error // a sentinel such as ErrOversize, for errors.Is
}

func (e *Error) Error() string { return e.Reason }

// Unwrap returns the sentinel error the failure stands for, if any.
func (e *Error) Unwrap() error { return e.err }

func errorf(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// ErrOversize is wrapped by Decode for a message over the size limit.
var ErrOversize = errors.New("message too large")

// Decode reads one message: a Hackney event, raw or as an SNS notification.
// maxBytes bounds the message (0 = no bound).
func Decode(msg []byte, maxBytes int) (*Envelope, error) {
	if maxBytes > 0 && len(msg) > maxBytes {
		return nil, &Error{Reason: fmt.Sprintf("message of %d bytes is over the limit of %d (max_message_bytes)", len(msg), maxBytes), err: ErrOversize}
	}
	if !utf8.Valid(msg) {
		return nil, errorf("invalid UTF-8")
	}
	top, err := readObject(msg, "")
	if err != nil {
		return nil, err
	}
	if t, ok := member(top, "Type"); ok && t.Kind == ddbjson.KindS {
		return decodeSNS(top, maxBytes)
	}
	return decodeEnvelope(top)
}

// readObject reads msg into the binary form, as a JSON object; what names
// the message in an error ("" or "SNS notification Message ").
func readObject(msg []byte, what string) (ddbjson.RawValue, error) {
	bin, err := ddbjson.TranscodeJSON(make([]byte, 0, len(msg)), msg)
	if err != nil {
		if what == "" {
			return ddbjson.RawValue{}, errorf("not valid JSON: %v", err)
		}
		return ddbjson.RawValue{}, errorf("%sis not valid JSON: %v", what, err)
	}
	v, _, err := ddbjson.ReadRaw(bin)
	if err != nil {
		return ddbjson.RawValue{}, fmt.Errorf("reading the transcoded message: %w", err) // not reached: TranscodeJSON wrote it
	}
	if v.Kind != ddbjson.KindM {
		if what == "" {
			return ddbjson.RawValue{}, errorf("not a JSON object but %s", shape(v.Kind))
		}
		return ddbjson.RawValue{}, errorf("%sis not a JSON object but %s", what, shape(v.Kind))
	}
	return v, nil
}

// member returns the member name of the object m (the zero RawValue when
// absent).
func member(m ddbjson.RawValue, name string) (ddbjson.RawValue, bool) {
	v, ok, err := m.Get(name)
	return v, ok && err == nil
}

// members are the members of an object, read once, in name order.
type members []ddbjson.RawMember

func (ms members) get(name string) (ddbjson.RawValue, bool) {
	i, ok := slices.BinarySearchFunc(ms, name, func(m ddbjson.RawMember, name string) int { return strings.Compare(m.Key, name) })
	if !ok {
		return ddbjson.RawValue{}, false
	}
	return ms[i].Val, true
}

func decodeSNS(m ddbjson.RawValue, maxBytes int) (*Envelope, error) {
	if t := str(m, "Type"); t != "Notification" {
		return nil, errorf("SNS message of Type %q, want Notification", t)
	}
	msg, ok := member(m, "Message")
	if !ok || msg.Kind != ddbjson.KindS {
		return nil, errorf("SNS notification without a Message string")
	}
	inner, err := readObject([]byte(msg.Str()), "SNS notification Message ")
	if err != nil {
		return nil, err
	}
	if _, nested := member(inner, "Type"); nested {
		if _, hasEvent := member(inner, "eventType"); !hasEvent {
			return nil, errorf("SNS notification wraps another SNS message")
		}
	}
	env, err := decodeEnvelope(inner)
	if err != nil {
		return nil, err
	}
	env.SNS = &SNSInfo{MessageID: str(m, "MessageId"), TopicArn: str(m, "TopicArn")}
	return env, nil
}

func decodeEnvelope(raw ddbjson.RawValue) (*Envelope, error) {
	env := &Envelope{Raw: raw}
	// The members are read once, then looked up among themselves.
	var arr [16]ddbjson.RawMember
	ms, err := raw.Members(arr[:0])
	if err != nil {
		return nil, fmt.Errorf("reading the transcoded message: %w", err) // not reached: TranscodeJSON wrote it
	}
	m := members(ms)
	if env.ID, err = requiredString(m, "id"); err != nil {
		return nil, err
	}
	if env.EventType, err = requiredString(m, "eventType"); err != nil {
		return nil, err
	}
	dt, err := requiredString(m, "dateTime")
	if err != nil {
		return nil, err
	}
	if env.DateTime, err = ParseTime(dt); err != nil {
		return nil, errorf("dateTime %q is not an ISO-8601 time", dt)
	}
	if env.DateTime.IsZero() {
		// .NET writes an unset DateTime so; a zero time would read as "unknown".
		return nil, errorf("dateTime %q is the zero time, not a publish time", dt)
	}
	if y := env.DateTime.Year(); y < 1970 || y >= 2200 {
		return nil, errorf("dateTime %q is out of range (1970 to 2199)", dt)
	}
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"sourceDomain", &env.SourceDomain}, {"sourceSystem", &env.SourceSystem}, {"version", &env.Version}, {"correlationId", &env.CorrelationID}} {
		v, ok := m.get(f.name)
		switch {
		case !ok || v.Kind == ddbjson.KindNULL:
		case v.Kind == ddbjson.KindS:
			*f.dst = v.Str()
		default:
			return nil, errorf("%s is %s, want a string", f.name, shape(v.Kind))
		}
	}
	if u, ok := m.get("user"); ok && u.Kind == ddbjson.KindM {
		env.User = u
	}
	data, ok := m.get("eventData")
	switch {
	case !ok || data.Kind == ddbjson.KindNULL:
		return nil, errorf("eventData is missing")
	case data.Kind != ddbjson.KindM:
		return nil, errorf("eventData is %s, want an object", shape(data.Kind))
	}
	env.OldData, _ = member(data, "oldData")
	env.NewData, _ = member(data, "newData")
	return env, nil
}

func requiredString(m members, name string) (string, error) {
	v, ok := m.get(name)
	switch {
	case !ok || v.Kind == ddbjson.KindNULL:
		return "", errorf("%s is missing", name)
	case v.Kind != ddbjson.KindS:
		return "", errorf("%s is %s, want a string", name, shape(v.Kind))
	case strings.TrimSpace(v.Str()) == "":
		return "", errorf("%s is empty", name)
	}
	return v.Str(), nil
}

func str(m ddbjson.RawValue, name string) string {
	if v, ok := member(m, name); ok && v.Kind == ddbjson.KindS {
		return v.Str()
	}
	return ""
}

// plainKind names a kind as JSON would.
func plainKind(k ddbjson.Kind) string {
	switch k {
	case ddbjson.KindS:
		return "string"
	case ddbjson.KindN:
		return "number"
	case ddbjson.KindBOOL:
		return "boolean"
	case ddbjson.KindNULL:
		return "null"
	case ddbjson.KindM:
		return "object"
	case ddbjson.KindL:
		return "array"
	}
	return k.String()
}

// ParseTime reads an ISO-8601 date-time as Hackney services write them:
// RFC 3339 with up to 9 fractional digits; without a zone it is UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}
