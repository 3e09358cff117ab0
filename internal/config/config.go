// Package config reads tidemark's YAML configuration: plain structs, defaults,
// environment expansion and validation whose messages name the key and the
// fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Config is the whole configuration.
type Config struct {
	// StateDir holds the embedded state store.
	StateDir string `yaml:"state_dir"`
	// Lake is where Parquet files are published.
	Lake Lake `yaml:"lake"`
	// ClockSkew is the window around a snapshot's as-of time in which an
	// event is judged already reflected or not by comparing its data.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// MaxMessageBytes is the largest event accepted; larger ones are dead
	// letters (256 KiB, the most SNS and SQS carry).
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// BatchSize is the number of records committed in one store batch.
	BatchSize int `yaml:"batch_size"`
	// Workers is the number of export data files decoded in parallel.
	Workers  int      `yaml:"workers"`
	Entities []Entity `yaml:"entities"`
	Sources  Sources  `yaml:"sources"`
	// AWS overrides the default AWS configuration for s3:// sources.
	AWS AWS `yaml:"aws"`
}

// AWS holds overrides of the default AWS configuration (credentials always
// come from the default chain: environment, shared files, SSO, roles).
type AWS struct {
	// Region overrides AWS_REGION and the profile's region.
	Region string `yaml:"region"`
	// Endpoint points S3 at a compatible server (path-style addressing).
	Endpoint string `yaml:"endpoint"`
	// DynamoDBEndpoint points DynamoDB at a compatible server.
	DynamoDBEndpoint string `yaml:"dynamodb_endpoint"`
}

// Lake configures the Parquet sink.
type Lake struct {
	Dir string `yaml:"dir"`
	// RowGroupRows caps the rows of one Parquet row group.
	RowGroupRows int `yaml:"row_group_rows"`
	// FileRows caps the rows of one Parquet file.
	FileRows int `yaml:"file_rows"`
	// History publishes the change history beside the current state.
	History *bool `yaml:"history"`
}

// Entity maps one DynamoDB table and its events.
type Entity struct {
	Name     string   `yaml:"name"`
	Table    string   `yaml:"table"`
	HashKey  KeyAttr  `yaml:"hash_key"`
	RangeKey *KeyAttr `yaml:"range_key"`
	// Version names the attribute that holds the item's version, if any.
	Version string `yaml:"version"`
	// Events maps an event type to create, patch or delete.
	Events map[string]string `yaml:"events"`
	// IgnoreFields lists attributes verify does not compare (they may
	// differ by design); the version attribute is never compared.
	IgnoreFields []string `yaml:"ignore_fields"`
	// ResyncPolicy is what a complete re-sync does with the entities it did
	// not send: report (the default) or delete.
	ResyncPolicy string `yaml:"resync_policy"`
}

// KeyAttr is a key attribute and where events carry its value.
type KeyAttr struct {
	Name string `yaml:"name"`
	// Type is the DynamoDB type: S (default), N or B.
	Type string `yaml:"type"`
	// From is the path of the value in an event: entityId (the default for
	// the hash key), or a path such as eventData.newData.id.
	From string `yaml:"from"`
	// Format, when "uuid", rejects events whose key is not a GUID.
	Format string `yaml:"format"`
}

// Kind is the key's DynamoDB type as an attribute value kind (S when the
// type is not set).
func (k KeyAttr) Kind() ddbjson.Kind {
	switch k.Type {
	case "N":
		return ddbjson.KindN
	case "B":
		return ddbjson.KindB
	}
	return ddbjson.KindS
}

// Sources lists where changes come from.
type Sources struct {
	Exports []ExportSource `yaml:"exports"`
	Scans   []ScanSource   `yaml:"scans"`
	Events  []EventsSource `yaml:"events"`
}

// ExportSource is a DynamoDB export in a local folder.
type ExportSource struct {
	Entity string `yaml:"entity"`
	// Path is the export folder (AWSDynamoDB/<exportId>) or a folder above
	// it, local or s3://bucket/prefix/.
	Path string `yaml:"path"`
}

// ScanSource bootstraps an entity with a parallel Scan of its table, held
// to a read-capacity budget and resumable.
type ScanSource struct {
	Entity string `yaml:"entity"`
	// Segments is TotalSegments (0: from the table's size).
	Segments int `yaml:"segments"`
	// Consistent asks for strongly consistent reads.
	Consistent bool `yaml:"consistent"`
	// BudgetRCU is the read capacity per second to stay within; an
	// on-demand table needs it.
	BudgetRCU float64 `yaml:"budget_rcu"`
	// BudgetFraction is, instead, a fraction of the provisioned capacity.
	BudgetFraction float64 `yaml:"budget_fraction"`
	// PageLimit is the first page's Limit (it then adapts to the budget).
	PageLimit int32 `yaml:"page_limit"`
}

// EventsSource is one stream of entity events: a set of newline-delimited
// files, an SQS queue, Kafka topics or a table's DynamoDB stream. Exactly
// one of path, sqs, kafka and dynamodb_stream is set.
type EventsSource struct {
	// Path is a file or a glob; files are read in name order.
	Path           string        `yaml:"path"`
	SQS            *SQSSource    `yaml:"sqs"`
	Kafka          *KafkaSource  `yaml:"kafka"`
	DynamoDBStream *StreamSource `yaml:"dynamodb_stream"`
}

// Live reports whether the source is a stream that does not end on its own
// (a queue, a Kafka group, a DynamoDB stream), as opposed to files.
func (s EventsSource) Live() bool { return s.Path == "" }

// Describe names the source for logs and messages.
func (s EventsSource) Describe() string {
	switch {
	case s.SQS != nil:
		return "sqs " + s.SQS.QueueURL
	case s.Kafka != nil:
		return "kafka " + strings.Join(s.Kafka.Topics, ",")
	case s.DynamoDBStream != nil:
		return "dynamodb stream of " + s.DynamoDBStream.Entity
	}
	return "events " + s.Path
}

// SQSSource is an SQS queue (FIFO or standard) receiving Hackney events,
// raw or wrapped in SNS notifications.
type SQSSource struct {
	// QueueURL is the queue's URL (aws.endpoint-style servers work too).
	QueueURL string `yaml:"queue_url"`
	// Receivers is the number of concurrent long-poll receivers (default 2).
	Receivers int `yaml:"receivers"`
	// Wait is the long-poll wait of one receive, at most 20s (default 20s).
	Wait time.Duration `yaml:"wait"`
	// VisibilityTimeout is how long a received message stays hidden; it is
	// extended while the message's batch is in flight (default 60s).
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	// Endpoint points SQS at a compatible server.
	Endpoint string `yaml:"endpoint"`
}

// KafkaSource is a consumer group over Kafka topics carrying Hackney events
// (JSON) or Avro records in the Confluent wire format.
type KafkaSource struct {
	Brokers []string `yaml:"brokers"`
	Topics  []string `yaml:"topics"`
	// Group is the consumer group (default tidemark).
	Group string `yaml:"group"`
	// Consumers is the number of group members run in this process.
	Consumers int `yaml:"consumers"`
	// InstanceID makes the members static (KIP-345): a process restarted
	// after a crash takes its partitions back at once instead of after
	// the session timeout. Unique per process, e.g. tidemark-${HOSTNAME}.
	InstanceID string `yaml:"instance_id"`
	// SchemaRegistry is the schema registry's URL, for Avro values.
	SchemaRegistry string `yaml:"schema_registry"`
	// Format is auto (the default: a value starting with the magic byte 0
	// is Avro in the Confluent wire format, any other JSON), json or avro.
	Format string `yaml:"format"`
	// Avro maps Avro records (whole entities) to an entity.
	Avro *KafkaAvro `yaml:"avro"`
}

// KafkaAvro maps Avro records, which carry a whole entity, to an entity.
type KafkaAvro struct {
	Entity string `yaml:"entity"`
	// KeyField is the record field holding the hash key (default Id).
	KeyField string `yaml:"key_field"`
	// RangeKeyField is the record field holding the range key, for
	// entities with one.
	RangeKeyField string `yaml:"range_key_field"`
	// VersionField is the record field holding the entity's version, if
	// the records carry it (the council's 2022 schema does not).
	VersionField string `yaml:"version_field"`
	// DateFields are int Unix-second fields to turn into the table's date
	// strings (default: every field whose name ends in Date).
	DateFields []string `yaml:"date_fields"`
}

// StreamSource follows a table's DynamoDB stream (NEW_IMAGE or
// NEW_AND_OLD_IMAGES).
type StreamSource struct {
	Entity string `yaml:"entity"`
	// PollInterval is the pause between empty reads of a shard (default 1s).
	PollInterval time.Duration `yaml:"poll_interval"`
	// OnLost says what follow does when the stream can no longer be
	// resumed (records trimmed after 24 hours, or the stream replaced):
	// stop (the default: say so and exit) or repair (verify the copy
	// against a scan of the table, repair what differs, and read the
	// stream again from its oldest record; needs sources.scans for the
	// entity, for the read budget).
	OnLost string `yaml:"on_lost"`
}

// DefaultConfig returns the configuration every file starts from.
func DefaultConfig() Config {
	return Config{
		StateDir:        ".tidemark/state",
		Lake:            Lake{Dir: "lake", RowGroupRows: 100_000, FileRows: 1_000_000},
		ClockSkew:       2 * time.Second,
		MaxMessageBytes: 256 << 10,
		BatchSize:       1000,
		Workers:         2,
	}
}

// PublishHistory reports whether history files are published.
func (l Lake) PublishHistory() bool { return l.History == nil || *l.History }

// ParseConfig reads a configuration from r over the defaults, expanding
// ${VAR} and ${VAR:-default} from the environment. Relative paths stay as
// written; Load resolves them against the file's folder.
func ParseConfig(r io.Reader) (Config, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	expanded, err := expandValues(raw)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("parsing config: %w", err)
	}
	err = cfg.Validate() // also fills key defaults (type S, from entityId)
	return cfg, err
}

// Load reads the configuration file at path and makes its relative paths
// relative to the file's folder.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("opening config: %w (pass --config with the path of a tidemark YAML file)", err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("resolving the folder of %s: %w", path, err)
	}
	cfg.Resolve(dir)
	return cfg, nil
}

// Resolve makes relative paths relative to dir.
func (c *Config) Resolve(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "s3://") {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.StateDir = abs(c.StateDir)
	c.Lake.Dir = abs(c.Lake.Dir)
	for i := range c.Sources.Exports {
		c.Sources.Exports[i].Path = abs(c.Sources.Exports[i].Path)
	}
	for i := range c.Sources.Events {
		c.Sources.Events[i].Path = abs(c.Sources.Events[i].Path)
	}
}

// expandValues expands environment references in the YAML's scalar values
// only (not in comments or keys, and a value cannot inject YAML syntax).
func expandValues(raw []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	if doc.Kind == 0 {
		return raw, nil // empty document
	}
	if err := errors.Join(unknownKeys(&doc, reflect.TypeOf(Config{}), "")...); err != nil {
		return nil, err
	}
	var errs []error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			v, err := ExpandEnv(n.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", n.Line, err))
			}
			if v != n.Value {
				// Resolve the expanded text afresh: ${N} may be a number.
				n.Value, n.Tag, n.Style = v, "", 0
			}
			return
		}
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 0 {
				continue // keys
			}
			walk(c)
		}
	}
	walk(&doc)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("re-encoding config: %w", err)
	}
	return out, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// ExpandEnv replaces ${VAR} and ${VAR:-default}. An unset variable without a
// default is an error naming it.
func ExpandEnv(s string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := os.LookupEnv(m[1]); ok {
			return v
		}
		if m[2] != "" {
			return m[3]
		}
		missing = append(missing, m[1])
		return ""
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("config refers to unset environment variable(s) %s: set them, or write ${NAME:-default}",
			strings.Join(missing, ", "))
	}
	return out, nil
}

// EntityByName returns the entity called name.
func (c *Config) EntityByName(name string) (*Entity, bool) {
	for i := range c.Entities {
		if c.Entities[i].Name == name {
			return &c.Entities[i], true
		}
	}
	return nil, false
}
