package avro

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// ErrUnknownSchema is wrapped by a SchemaFunc's error when the registry has
// no schema of that id: the message is then a dead letter, not a reason to
// stop.
var ErrUnknownSchema = errors.New("unknown schema id")

// SchemaFunc fetches and parses the writer schema of a registry id. An
// error wrapping ErrUnknownSchema, or an *Error (a schema that is not Avro,
// or does not parse), is permanent: the messages written with that id are
// dead letters. Any other error is transient (the registry is unreachable)
// and is returned to the caller, who may retry.
type SchemaFunc func(ctx context.Context, id int) (hamba.Schema, error)

// Record is a decoded message.
type Record struct {
	SchemaID int
	// Name is the record's full name (namespace.name); Short is its name.
	Name, Short string
	Image       ddbjson.Map
}

// Decoder decodes messages in the Confluent wire format with schemas
// fetched by id and cached. It is safe for concurrent use.
type Decoder struct {
	fetch SchemaFunc
	conv  *Converter
	// RetryUnknownAfter is how long a schema id the registry did not know
	// is remembered as unknown before it is asked again (default 30s).
	RetryUnknownAfter time.Duration
	now               func() time.Time

	mu    sync.Mutex
	cache map[int]*entry
}

type entry struct {
	ready  chan struct{} // closed once schema or err is set
	schema hamba.Schema
	err    error
	until  time.Time // for a permanent error: when to ask again
}

// NewDecoder decodes with the schemas fetch returns and the conversion opts.
func NewDecoder(fetch SchemaFunc, opts Options) *Decoder {
	return &Decoder{fetch: fetch, conv: NewConverter(opts), RetryUnknownAfter: 30 * time.Second,
		now: time.Now, cache: map[int]*entry{}}
}

// Decode reads one message: the wire format header, then the body with the
// schema of its id. An *Error says why the message is bad; any other error
// is the registry's (transient).
func (d *Decoder) Decode(ctx context.Context, msg []byte) (*Record, error) {
	id, body, err := SplitWire(msg)
	if err != nil {
		return nil, err
	}
	return d.DecodeBody(ctx, id, body)
}

// DecodeBody decodes body, Avro binary written with the schema of id.
func (d *Decoder) DecodeBody(ctx context.Context, id int, body []byte) (*Record, error) {
	schema, err := d.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	img, err := d.conv.Image(schema, body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, errorf("schema id %d does not decode the message: %s", id, e.Reason)
		}
		return nil, err
	}
	rec := &Record{SchemaID: id, Image: img}
	if n, ok := schema.(hamba.NamedSchema); ok {
		rec.Name, rec.Short = n.FullName(), n.Name()
	}
	return rec, nil
}

// Schema returns the schema of id from the cache, fetching it once.
func (d *Decoder) Schema(ctx context.Context, id int) (hamba.Schema, error) {
	for {
		d.mu.Lock()
		e, ok := d.cache[id]
		if ok {
			select {
			case <-e.ready:
				if e.err != nil && d.now().After(e.until) {
					delete(d.cache, id) // ask the registry again
					d.mu.Unlock()
					continue
				}
			default:
			}
			d.mu.Unlock()
			select {
			case <-e.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if e.schema == nil && e.err == nil {
				continue // the fetch that was running failed transiently
			}
			return e.schema, e.err
		}
		e = &entry{ready: make(chan struct{})}
		d.cache[id] = e
		d.mu.Unlock()
		return d.load(ctx, id, e)
	}
}

// load fetches the schema of id into e.
func (d *Decoder) load(ctx context.Context, id int, e *entry) (hamba.Schema, error) {
	s, err := d.fetch(ctx, id)
	var bad *Error
	switch {
	case err == nil:
		e.schema = s
	case errors.Is(err, ErrUnknownSchema):
		e.err = errorf("schema id %d is not in the schema registry", id)
		e.until = d.now().Add(d.RetryUnknownAfter)
	case errors.As(err, &bad):
		e.err = errorf("schema id %d: %s", id, bad.Reason)
		e.until = d.now().Add(d.RetryUnknownAfter)
	default:
		// Transient: forget the entry so that the next call asks again.
		d.mu.Lock()
		delete(d.cache, id)
		d.mu.Unlock()
		close(e.ready)
		return nil, fmt.Errorf("fetching Avro schema id %d: %w", id, err)
	}
	close(e.ready)
	return e.schema, e.err
}
