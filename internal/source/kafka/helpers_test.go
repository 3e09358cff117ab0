package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/tidemark-dev/tidemark/internal/apply"
	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/source/kafka"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

// openStore opens a state store in a temporary folder.
func openStore(t testing.TB) *state.Store {
	t.Helper()
	s, err := state.Open(t.TempDir(), state.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newMat(s *state.Store) *apply.Materializer {
	return apply.New(s, map[string]apply.Entity{"tenure": {HashAttr: "id"}}, apply.Options{})
}

// jsonRecords are count events of tenures 0..tenures-1 (a create, then
// updates), keyed by the tenure id so that a tenure's events share a
// partition, in order.
func jsonRecords(topic string, tenures, events int) []*kgo.Record {
	var recs []*kgo.Record
	for seq := range events {
		for i := range tenures {
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(kafkatest.TenureID(i)), Value: kafkatest.TenureEvent(i, seq)})
		}
	}
	return recs
}

// avroRecords are the 2022 Avro records of tenures from..to-1, framed with
// schema id.
func avroRecords(t testing.TB, topic string, id, from, to int) []*kgo.Record {
	schema := kafkatest.TenureSchema(t)
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(kafkatest.TenureID(i)),
			Value: kafkatest.EncodeAvro(t, schema, id, kafkatest.NewTenure2022(i))})
	}
	return recs
}

// registerTenure registers the 2022 tenure schema and returns its id.
func registerTenure(t testing.TB, reg *srfake.Registry) int {
	t.Helper()
	id, _, err := reg.RegisterSchema("tenure-value", sr.Schema{Schema: kafkatest.TenureSchema2022, Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// baseOptions are the options of a test source on cluster c.
func baseOptions(c *kfake.Cluster, group string, topics ...string) kafka.Options {
	return kafka.Options{
		Brokers:     c.ListenAddrs(),
		Topics:      topics,
		Group:       group,
		IdleTimeout: 2 * time.Second,
		Avro:        kafka.AvroOptions{Entity: "tenure", DateFields: []string{"DateOfBirth"}},
		ClientOpts:  []kgo.Opt{kgo.FetchMaxWait(200 * time.Millisecond)},
	}
}

func newSource(t testing.TB, o kafka.Options, pos kafka.PositionFunc) *kafka.Source {
	t.Helper()
	src, err := kafka.New(o, kafkatest.Mapper(t), pos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// tap records what a source yields.
type tap struct {
	change.Source
	mu   sync.Mutex
	recs []change.Record
}

func (tp *tap) Next(ctx context.Context) (change.Record, error) {
	r, err := tp.Source.Next(ctx)
	if err == nil && !r.Flush {
		tp.mu.Lock()
		tp.recs = append(tp.recs, r)
		tp.mu.Unlock()
	}
	return r, err
}

// consume applies src into store with apply.Consume to io.EOF.
func consume(t testing.TB, store *state.Store, src change.Source, batch int) *apply.Materializer {
	t.Helper()
	mat := newMat(store)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mat.Consume(ctx, src, batch, nil); err != nil {
		t.Fatalf("consume: %v", err)
	}
	return mat
}

// stored returns the committed image of tenure i.
func stored(t testing.TB, store *state.Store, i int) *state.Record {
	t.Helper()
	r, err := store.Get("tenure", change.Key{Hash: ddbjson.S(kafkatest.TenureID(i))}.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ends returns each partition's end offset after recs were produced (the
// producer sets their partitions and offsets).
func ends(recs []*kgo.Record) map[string]int64 {
	out := map[string]int64{}
	for _, r := range recs {
		id := kafka.PositionID(r.Topic, r.Partition)
		out[id] = max(out[id], r.Offset+1)
	}
	return out
}

// errAfter is a source that fails after n records, as a crash would.
type errAfter struct {
	change.Source
	n int
}

var errCrash = errors.New("simulated crash")

func (e *errAfter) Next(ctx context.Context) (change.Record, error) {
	if e.n <= 0 {
		return change.Record{}, errCrash
	}
	r, err := e.Source.Next(ctx)
	if err == nil && !r.Flush {
		e.n--
	}
	return r, err
}

// stopAfter ends a source with io.EOF after n records (for benchmarks).
type stopAfter struct {
	change.Source
	n int
}

func (s *stopAfter) Next(ctx context.Context) (change.Record, error) {
	if s.n <= 0 {
		return change.Record{}, io.EOF
	}
	r, err := s.Source.Next(ctx)
	if err == nil && !r.Flush {
		s.n--
	}
	return r, err
}

func ident(r change.Record) string {
	return fmt.Sprintf("%s@%d", r.Next.Source, r.Next.Offset)
}

// parsePosition reads the partition of a position id.
func parsePosition(id string) (int32, error) {
	var p int32
	i := len(id) - 1
	for i >= 0 && id[i] != '/' {
		i--
	}
	_, err := fmt.Sscan(id[i+1:], &p)
	return p, err
}

func itoa(i int) string { return fmt.Sprint(i) }

// mustJSONString quotes b as a JSON string.
func mustJSONString(b []byte) []byte {
	out, err := json.Marshal(string(b))
	if err != nil {
		panic(err)
	}
	return out
}

// kafkatestRef is the payment reference of tenure i after event seq.
func kafkatestRef(i, seq int) string { return fmt.Sprintf("%010d", 1900000000+i+seq) }
