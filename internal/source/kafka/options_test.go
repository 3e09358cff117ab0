package kafka_test

import (
	"strings"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/source/kafka"
	"github.com/tidemark-dev/tidemark/internal/testutil/kafkatest"
)

func TestOptionsValidate(t *testing.T) {
	good := kafka.Options{Brokers: []string{"localhost:9092"}, Topics: []string{"tenure"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("minimal options: %v", err)
	}
	for _, c := range []struct {
		edit func(*kafka.Options)
		want string
	}{
		{func(o *kafka.Options) { o.Brokers = nil }, "kafka brokers: none given"},
		{func(o *kafka.Options) { o.Topics = nil }, "kafka topics: none given"},
		{func(o *kafka.Options) { o.Consumers = -1 }, "kafka consumers: -1"},
		{func(o *kafka.Options) { o.Format = "protobuf" }, `kafka format: "protobuf"; want auto, json or avro`},
		{func(o *kafka.Options) { o.Format = kafka.FormatAvro }, "kafka format avro needs schema_registry"},
		{func(o *kafka.Options) { o.SchemaRegistry = "http://registry:8081" }, "kafka avro entity: none given"},
		{func(o *kafka.Options) { o.IdleTimeout = -1 }, "cannot be negative"},
	} {
		o := good
		c.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want %q", err, c.want)
		}
		if _, err := kafka.New(o, kafkatest.Mapper(t), nil); err == nil {
			t.Errorf("New accepted options Validate rejects (%s)", c.want)
		}
	}
}
