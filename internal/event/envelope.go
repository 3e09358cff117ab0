// Package event decodes Hackney entity events (raw, or wrapped in an SNS
// notification) and maps them, through the entity mapping of the config, to
// changes.
package event

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Envelope is the Hackney event envelope: {id, eventType, sourceDomain,
// sourceSystem, version, correlationId, dateTime, user, entityId,
// eventData{oldData, newData}}.
type Envelope struct {
	ID            string
	EventType     string
	SourceDomain  string
	SourceSystem  string
	Version       string
	CorrelationID string
	DateTime      time.Time
	User          ddbjson.Map
	// Raw is the whole envelope as decoded, for key paths.
	Raw ddbjson.Map
	// OldData and NewData are the event's data: nil when absent or null.
	OldData, NewData ddbjson.Map
	// OldKind and NewKind are the kinds found (KindInvalid when absent),
	// so that mapping rules can reject data of the wrong shape.
	OldKind, NewKind ddbjson.Kind
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
	v, err := ddbjson.FromJSON(msg)
	if err != nil {
		return nil, errorf("not valid JSON: %v", err)
	}
	if v.Kind != ddbjson.KindM {
		return nil, errorf("not a JSON object but %s", shape(v.Kind))
	}
	m := v.Map
	if t, ok := m["Type"]; ok && t.Kind == ddbjson.KindS {
		return decodeSNS(m, maxBytes)
	}
	return decodeEnvelope(m)
}

func decodeSNS(m ddbjson.Map, maxBytes int) (*Envelope, error) {
	if t := m["Type"].Str; t != "Notification" {
		return nil, errorf("SNS message of Type %q, want Notification", t)
	}
	msg, ok := m["Message"]
	if !ok || msg.Kind != ddbjson.KindS {
		return nil, errorf("SNS notification without a Message string")
	}
	inner, err := ddbjson.FromJSON([]byte(msg.Str))
	if err != nil {
		return nil, errorf("SNS notification Message is not valid JSON: %v", err)
	}
	if inner.Kind != ddbjson.KindM {
		return nil, errorf("SNS notification Message is not a JSON object but %s", shape(inner.Kind))
	}
	if _, nested := inner.Map["Type"]; nested {
		if _, hasEvent := inner.Map["eventType"]; !hasEvent {
			return nil, errorf("SNS notification wraps another SNS message")
		}
	}
	env, err := decodeEnvelope(inner.Map)
	if err != nil {
		return nil, err
	}
	env.SNS = &SNSInfo{MessageID: str(m, "MessageId"), TopicArn: str(m, "TopicArn")}
	return env, nil
}

func decodeEnvelope(m ddbjson.Map) (*Envelope, error) {
	env := &Envelope{Raw: m}
	var err error
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
	for _, f := range []struct {
		name string
		dst  *string
	}{{"sourceDomain", &env.SourceDomain}, {"sourceSystem", &env.SourceSystem}, {"version", &env.Version}, {"correlationId", &env.CorrelationID}} {
		v, ok := m[f.name]
		switch {
		case !ok || v.Kind == ddbjson.KindNULL:
		case v.Kind == ddbjson.KindS:
			*f.dst = v.Str
		default:
			return nil, errorf("%s is %s, want a string", f.name, shape(v.Kind))
		}
	}
	if u, ok := m["user"]; ok && u.Kind == ddbjson.KindM {
		env.User = u.Map
	}
	data, ok := m["eventData"]
	switch {
	case !ok || data.Kind == ddbjson.KindNULL:
		return nil, errorf("eventData is missing")
	case data.Kind != ddbjson.KindM:
		return nil, errorf("eventData is %s, want an object", shape(data.Kind))
	}
	env.OldData, env.OldKind = dataPart(data.Map, "oldData")
	env.NewData, env.NewKind = dataPart(data.Map, "newData")
	return env, nil
}

func dataPart(m ddbjson.Map, name string) (ddbjson.Map, ddbjson.Kind) {
	v, ok := m[name]
	if !ok {
		return nil, ddbjson.KindInvalid
	}
	if v.Kind == ddbjson.KindM {
		return v.Map, v.Kind
	}
	return nil, v.Kind
}

func requiredString(m ddbjson.Map, name string) (string, error) {
	v, ok := m[name]
	switch {
	case !ok || v.Kind == ddbjson.KindNULL:
		return "", errorf("%s is missing", name)
	case v.Kind != ddbjson.KindS:
		return "", errorf("%s is %s, want a string", name, shape(v.Kind))
	case strings.TrimSpace(v.Str) == "":
		return "", errorf("%s is empty", name)
	}
	return v.Str, nil
}

func str(m ddbjson.Map, name string) string {
	if v, ok := m[name]; ok && v.Kind == ddbjson.KindS {
		return v.Str
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
