package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// The message formats.
const (
	FormatAuto = "auto" // magic byte 0: Avro in the Confluent wire format; otherwise JSON (the default)
	FormatJSON = "json" // Hackney JSON events (raw or SNS-wrapped) only
	FormatAvro = "avro" // Avro in the Confluent wire format only
)

// Defaults of the options left zero.
const (
	DefaultGroup          = "tidemark"
	DefaultKeyField       = "Id"
	DefaultMaxPollRecords = 1000
	DefaultLagInterval    = 10 * time.Second
	// DefaultJoinWait is how long Next waits for a first partition
	// assignment before the idle timeout starts counting.
	DefaultJoinWait = 30 * time.Second
)

// Options configure a Kafka source. They are plain values so that a
// config file can fill them; zero values take the defaults above.
type Options struct {
	// Brokers are the seed brokers (host:port).
	Brokers []string
	// Topics are consumed as one consumer group.
	Topics []string
	// Group is the consumer group id (default "tidemark").
	Group string
	// Consumers is the number of group members run in this process
	// (default 1); partitions are shared among them and every other member
	// of the group.
	Consumers int
	// InstanceID, when set, makes the members static (member i is
	// InstanceID-i): a process restarted after a crash takes its partitions
	// back at once instead of after its dead members' session timeout.
	// Give each process of the group its own.
	InstanceID string
	// SchemaRegistry is the URL of a Confluent-compatible schema registry;
	// "" reads JSON only.
	SchemaRegistry string
	// Format is auto (the default), json or avro.
	Format string
	// Avro says what an Avro record is: the entity it holds and where its
	// key is.
	Avro AvroOptions
	// MaxMessageBytes bounds a record's value (0: no bound); a larger one
	// is a dead letter.
	MaxMessageBytes int
	// IdleTimeout, when positive, makes Next return io.EOF once no record
	// arrived for that long (a batch run that stops when it has caught
	// up); 0 follows the topics forever. Until the first partitions are
	// assigned, Next waits at least DefaultJoinWait.
	IdleTimeout time.Duration
	// MaxPollRecords bounds the records of one poll (default 1000): the
	// records between two rebalance points, committed together.
	MaxPollRecords int
	// LagInterval is how often the consumer lag is logged at Info
	// (default 10s; negative: never).
	LagInterval time.Duration
	// SkipKafkaCommit stops the informational commit of offsets to Kafka
	// after each durable batch (the offsets that count live in the state
	// store; Kafka's are for lag tools).
	SkipKafkaCommit bool
	// Log receives warnings and the lag (default: discard).
	Log *slog.Logger
	// ClientOpts are appended to the franz-go client options (tests,
	// TLS, SASL).
	ClientOpts []kgo.Opt
	// RegistryOpts are appended to the schema registry client options
	// (authentication, TLS).
	RegistryOpts []sr.ClientOpt
}

// AvroOptions map Avro records to changes. An Avro record carries a whole
// entity, so it becomes an upsert of the full image.
type AvroOptions struct {
	// Entity is the entity the records hold (required with a registry).
	Entity string
	// KeyField is the Avro field of the hash key (default "Id", the
	// table's "id").
	KeyField string
	// RangeKeyField is the Avro field of the range key, for tables with one.
	RangeKeyField string
	// VersionField, if set, is the Avro field of the entity's version.
	VersionField string
	// DateFields names int or long fields of Unix seconds beside those
	// whose name ends in "Date" (e.g. DateOfBirth).
	DateFields []string
	// EventType is the change's event type (default "Avro" and the record's
	// name, e.g. "AvroTenure").
	EventType string
	// SourceSystem is the change's source system (default "": the
	// history's source column then says "event").
	SourceSystem string
}

// withDefaults returns o with its zero values defaulted.
func (o Options) withDefaults() Options {
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Consumers == 0 {
		o.Consumers = 1
	}
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if o.Avro.KeyField == "" {
		o.Avro.KeyField = DefaultKeyField
	}
	if o.MaxPollRecords <= 0 {
		o.MaxPollRecords = DefaultMaxPollRecords
	}
	if o.LagInterval == 0 {
		o.LagInterval = DefaultLagInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate checks the options; its messages name the option and the fix.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.Brokers) == 0 {
		bad("kafka brokers: none given; list at least one host:port")
	}
	if len(o.Topics) == 0 {
		bad("kafka topics: none given; list the topics to follow")
	}
	if o.Consumers < 0 || o.Consumers > 64 {
		bad("kafka consumers: %d; give 1 to 64 group members", o.Consumers)
	}
	switch o.Format {
	case "", FormatAuto, FormatJSON, FormatAvro:
	default:
		bad("kafka format: %q; want auto, json or avro", o.Format)
	}
	if o.Format == FormatAvro && o.SchemaRegistry == "" {
		bad("kafka format avro needs schema_registry (the registry's URL)")
	}
	if o.SchemaRegistry != "" && o.Format != FormatJSON && o.Avro.Entity == "" {
		bad("kafka avro entity: none given; name the entity the Avro records hold")
	}
	if o.MaxMessageBytes < 0 || o.IdleTimeout < 0 {
		bad("kafka max_message_bytes and idle_timeout cannot be negative")
	}
	return errors.Join(errs...)
}
