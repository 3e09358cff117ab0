package avro

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// fakeRegistry serves schemas by id and counts the fetches.
type fakeRegistry struct {
	schemas map[int]hamba.Schema
	mu      sync.Mutex
	fail    error // when set every fetch fails with it
	fetches atomic.Int64
}

func (f *fakeRegistry) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (f *fakeRegistry) fetch(_ context.Context, id int) (hamba.Schema, error) {
	f.fetches.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	s, ok := f.schemas[id]
	if !ok {
		return nil, fmt.Errorf("registry: %w", ErrUnknownSchema)
	}
	return s, nil
}

func TestDecoderCachesSchemas(t *testing.T) {
	schema := kafkatest.TenureSchema(t)
	reg := &fakeRegistry{schemas: map[int]hamba.Schema{7: schema}}
	d := NewDecoder(reg.fetch, tenureOptions)
	msg := kafkatest.EncodeAvro(t, schema, 7, kafkatest.NewTenure2022(5))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				rec, err := d.Decode(context.Background(), msg)
				if err != nil {
					t.Error(err)
					return
				}
				if rec.SchemaID != 7 || rec.Name != "Hackney.Shared.Tenure.Avro.Tenure" || rec.Short != "Tenure" ||
					rec.Image["id"].Str != kafkatest.TenureID(5) {
					t.Errorf("record %d %q %q id %v", rec.SchemaID, rec.Name, rec.Short, rec.Image["id"])
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := reg.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 400 messages of one schema id, want 1", n)
	}
}

func TestDecoderUnknownSchema(t *testing.T) {
	reg := &fakeRegistry{schemas: map[int]hamba.Schema{}}
	d := NewDecoder(reg.fetch, Options{})
	now := time.Unix(1e9, 0)
	d.now = func() time.Time { return now }
	for range 3 {
		_, err := d.Decode(context.Background(), []byte{0, 0, 0, 0, 9, 1})
		var e *Error
		if !errors.As(err, &e) || e.Reason != "schema id 9 is not in the schema registry" {
			t.Fatalf("err = %v, want an *Error naming schema id 9", err)
		}
	}
	if n := reg.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1 (an unknown id is remembered for a while)", n)
	}
	now = now.Add(d.RetryUnknownAfter + time.Second)
	reg.schemas[9] = parse(t, `{"type":"record","name":"R","fields":[{"name":"Id","type":"string"}]}`)
	rec, err := d.Decode(context.Background(), []byte{0, 0, 0, 0, 9, 2, 'k'})
	if err != nil || rec.Image["id"].Str != "k" {
		t.Fatalf("after the id was registered: %v, %v", rec, err)
	}
	if n := reg.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestDecoderTransientAndBadSchema(t *testing.T) {
	reg := &fakeRegistry{schemas: map[int]hamba.Schema{1: parse(t, `"string"`)}}
	reg.setFail(errors.New("connection refused"))
	d := NewDecoder(reg.fetch, Options{})
	for range 2 {
		_, err := d.Decode(context.Background(), []byte{0, 0, 0, 0, 1, 0})
		var e *Error
		if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "fetching Avro schema id 1: connection refused") {
			t.Fatalf("err = %v, want a transient (non-*Error) error", err)
		}
	}
	if n := reg.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (a transient failure is not cached)", n)
	}
	reg.setFail(&Error{Reason: "schema is PROTOBUF, not Avro"})
	_, err := d.Decode(context.Background(), []byte{0, 0, 0, 0, 1, 0})
	if err == nil || err.Error() != "schema id 1: schema is PROTOBUF, not Avro" {
		t.Errorf("bad schema: %v", err)
	}
	reg.setFail(nil)
	d = NewDecoder(reg.fetch, Options{})
	_, err = d.Decode(context.Background(), []byte{0, 0, 0, 0, 1, 0})
	if err == nil || err.Error() != "schema id 1 does not decode the message: schema is a string, want a record" {
		t.Errorf("schema of no record: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	blocked := NewDecoder(func(ctx context.Context, _ int) (hamba.Schema, error) { <-ctx.Done(); return nil, ctx.Err() }, Options{})
	if _, err := blocked.Decode(ctx, []byte{0, 0, 0, 0, 1, 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fetch: %v", err)
	}
}
