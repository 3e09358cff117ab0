package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fieldErrors returns the *FieldError values joined in err, in order.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*FieldError, 0, len(errs))
	for _, e := range errs {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("error %v is not a *FieldError", e)
		}
		out = append(out, fe)
	}
	return out
}

func TestValidateValid(t *testing.T) {
	cfg := wantValid()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	// Validating twice changes nothing.
	again := cfg
	if err := again.Validate(); err != nil || again.Entities[1].RangeKey.From != "eventData.newData.id" {
		t.Errorf("second Validate() = %v, %+v", err, again.Entities[1].RangeKey)
	}
}

func TestValidateFillsKeyDefaults(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Entities = []Entity{{
		Name: "notes", Table: "Notes",
		HashKey:  KeyAttr{Name: "targetId"},
		RangeKey: &KeyAttr{Name: "id", From: "eventData.newData.id"},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := cfg.Entities[0]
	if e.HashKey.Type != "S" || e.HashKey.From != "entityId" {
		t.Errorf("hash key defaults: %+v", e.HashKey)
	}
	if e.RangeKey.Type != "S" || e.RangeKey.From != "eventData.newData.id" {
		t.Errorf("range key defaults: %+v", e.RangeKey)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		key    string
		hint   string
	}{
		{"state_dir empty", func(c *Config) { c.StateDir = "" }, "state_dir", "set it to a folder for the state store"},
		{"lake.dir empty", func(c *Config) { c.Lake.Dir = "" }, "lake.dir", "set it to the folder Parquet files are published to"},
		{"row group rows zero", func(c *Config) { c.Lake.RowGroupRows = 0; c.Lake.FileRows = 10 }, "lake.row_group_rows", "must be positive, e.g. 100000"},
		{"file rows below row group", func(c *Config) { c.Lake.FileRows = 49999 }, "lake.file_rows", "must be at least lake.row_group_rows (50000)"},
		{"clock skew negative", func(c *Config) { c.ClockSkew = -time.Second }, "clock_skew", "set a duration such as 2s"},
		{"max message bytes zero", func(c *Config) { c.MaxMessageBytes = 0 }, "max_message_bytes", "262144 (256 KiB)"},
		{"batch size negative", func(c *Config) { c.BatchSize = -1 }, "batch_size", "must be positive, e.g. 1000"},
		{"workers zero", func(c *Config) { c.Workers = 0 }, "workers", "must be positive"},
		{"no entities", func(c *Config) { c.Entities = nil; c.Sources = Sources{} }, "entities", "map at least one table"},
		{"entity name empty", func(c *Config) { c.Entities[0].Name = ""; c.Sources.Exports = nil }, "entities[0].name", "name the entity, e.g. tenure"},
		{"entity name upper case", func(c *Config) { c.Entities[0].Name = "Tenure"; c.Sources.Exports = nil }, "entities[0].name", `"Tenure" must be lower case letters`},
		{"entity name with dash", func(c *Config) { c.Entities[1].Name = "contact-details" }, "entities[1].name", "digits and _, starting with a letter"},
		{"entity name starts with digit", func(c *Config) { c.Entities[1].Name = "2contacts" }, "entities[1].name", "starting with a letter"},
		{"entity name twice", func(c *Config) { c.Entities[1].Name = "tenure" }, "entities[1].name", `"tenure" is used twice`},
		{"table empty", func(c *Config) { c.Entities[0].Table = "" }, "entities[0].table", "set the DynamoDB table name, e.g. TenureInformation"},
		{"hash key name empty", func(c *Config) { c.Entities[0].HashKey.Name = "" }, "entities[0].hash_key.name", "set the key attribute's name, e.g. id"},
		{"hash key type", func(c *Config) { c.Entities[0].HashKey.Type = "string" }, "entities[0].hash_key.type", `"string" is not a key type; use S, N or B`},
		{"hash key type lower case", func(c *Config) { c.Entities[0].HashKey.Type = "s" }, "entities[0].hash_key.type", "use S, N or B"},
		{"hash key type BOOL", func(c *Config) { c.Entities[1].HashKey.Type = "BOOL" }, "entities[1].hash_key.type", "use S, N or B"},
		{"hash key format", func(c *Config) { c.Entities[0].HashKey.Format = "guid" }, "entities[0].hash_key.format", `"guid" is unknown; use uuid or leave it out`},
		{"range key name empty", func(c *Config) { c.Entities[1].RangeKey.Name = "" }, "entities[1].range_key.name", "set the key attribute's name"},
		{"range key type", func(c *Config) { c.Entities[1].RangeKey.Type = "SS" }, "entities[1].range_key.type", "use S, N or B"},
		{"range key format", func(c *Config) { c.Entities[1].RangeKey.Format = "UUID" }, "entities[1].range_key.format", "use uuid"},
		{"range key from empty", func(c *Config) { c.Entities[1].RangeKey.From = "" }, "entities[1].range_key.from", "e.g. eventData.newData.id"},
		{"event op unknown", func(c *Config) { c.Entities[0].Events["TenureCreatedEvent"] = "insert" }, "entities[0].events.TenureCreatedEvent", `unknown operation "insert" (want create, patch or delete)`},
		{"event op empty", func(c *Config) { c.Entities[1].Events["ContactDetailDeletedEvent"] = "" }, "entities[1].events.ContactDetailDeletedEvent", "want create, patch or delete"},
		{"event type mapped twice", func(c *Config) { c.Entities[1].Events["TenureUpdatedEvent"] = "patch" }, "entities[1].events.TenureUpdatedEvent", `is also mapped by entity "tenure"`},
		{"export entity unknown", func(c *Config) { c.Sources.Exports[0].Entity = "tenures" }, "sources.exports[0].entity", `"tenures" is not an entity of entities[].name`},
		{"export entity empty", func(c *Config) { c.Sources.Exports[0].Entity = "" }, "sources.exports[0].entity", "is not an entity"},
		{"export path empty", func(c *Config) { c.Sources.Exports[0].Path = "" }, "sources.exports[0].path", "the one holding AWSDynamoDB/<exportId>/"},
		{"events source empty", func(c *Config) { c.Sources.Events[1].Path = "" }, "sources.events[1]", "set one of path (a file or glob such as events/*.jsonl), sqs, kafka or dynamodb_stream"},
		{"events source twice", func(c *Config) { c.Sources.Events[1].SQS = &SQSSource{QueueURL: "q"} }, "sources.events[1]", "more than one of path, sqs, kafka and dynamodb_stream"},
		{"sqs queue_url empty", func(c *Config) { c.Sources.Events[1] = EventsSource{SQS: &SQSSource{}} }, "sources.events[1].sqs.queue_url", "set the queue's URL"},
		{"sqs wait too long", func(c *Config) {
			c.Sources.Events[1] = EventsSource{SQS: &SQSSource{QueueURL: "q", Wait: 30 * time.Second}}
		}, "sources.events[1].sqs.wait", "between 1s and 20s"},
		{"sqs visibility too short", func(c *Config) {
			c.Sources.Events[1] = EventsSource{SQS: &SQSSource{QueueURL: "q", VisibilityTimeout: time.Second}}
		}, "sources.events[1].sqs.visibility_timeout", "between 5s and 12h"},
		{"sqs receivers", func(c *Config) { c.Sources.Events[1] = EventsSource{SQS: &SQSSource{QueueURL: "q", Receivers: -1}} }, "sources.events[1].sqs.receivers", "between 1 and 64"},
		{"kafka brokers empty", func(c *Config) { c.Sources.Events[1] = EventsSource{Kafka: &KafkaSource{Topics: []string{"t"}}} }, "sources.events[1].kafka.brokers", "list the seed brokers"},
		{"kafka topics empty", func(c *Config) { c.Sources.Events[1] = EventsSource{Kafka: &KafkaSource{Brokers: []string{"b:9092"}}} }, "sources.events[1].kafka.topics", "list the topics"},
		{"kafka avro entity", func(c *Config) {
			c.Sources.Events[1] = EventsSource{Kafka: &KafkaSource{Brokers: []string{"b"}, Topics: []string{"t"}, SchemaRegistry: "http://r", Avro: &KafkaAvro{Entity: "nope"}}}
		}, "sources.events[1].kafka.avro.entity", `"nope" is not an entity`},
		{"kafka avro registry", func(c *Config) {
			c.Sources.Events[1] = EventsSource{Kafka: &KafkaSource{Brokers: []string{"b"}, Topics: []string{"t"}, Avro: &KafkaAvro{Entity: "tenure"}}}
		}, "sources.events[1].kafka.schema_registry", "Avro values need the schema registry"},
		{"stream on_lost", func(c *Config) {
			c.Sources.Events[1] = EventsSource{DynamoDBStream: &StreamSource{Entity: "tenure", OnLost: "pray"}}
		}, "sources.events[1].dynamodb_stream.on_lost", "use stop (the default) or repair"},
		{"stream repair without a scan", func(c *Config) {
			c.Sources.Events[1] = EventsSource{DynamoDBStream: &StreamSource{Entity: "tenure", OnLost: "repair"}}
		}, "sources.events[1].dynamodb_stream.on_lost", "add a sources.scans entry"},
		{"stream entity", func(c *Config) { c.Sources.Events[1] = EventsSource{DynamoDBStream: &StreamSource{Entity: "x"}} }, "sources.events[1].dynamodb_stream.entity", `"x" is not an entity`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := wantValid()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error for %s", tt.key)
			}
			fes := fieldErrors(t, err)
			if len(fes) != 1 {
				t.Fatalf("Validate() gave %d errors, want 1: %v", len(fes), err)
			}
			fe := fes[0]
			if fe.Key != tt.key {
				t.Errorf("error names key %q, want %q (%v)", fe.Key, tt.key, fe)
			}
			if !strings.Contains(fe.Msg, tt.hint) {
				t.Errorf("message %q does not contain the hint %q", fe.Msg, tt.hint)
			}
			if want := tt.key + ": " + fe.Msg; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := wantValid()
	cfg.StateDir = ""
	cfg.Workers = 0
	cfg.Entities[0].HashKey.Name = ""
	cfg.Entities[1].RangeKey.From = ""
	cfg.Sources.Events[0].Path = ""
	fes := fieldErrors(t, cfg.Validate())
	var keys []string
	for _, fe := range fes {
		keys = append(keys, fe.Key)
	}
	want := []string{"state_dir", "workers", "entities[0].hash_key.name", "entities[1].range_key.from", "sources.events[0]"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("keys = %q, want %q", keys, want)
	}
}

func TestValidateEventErrorsInNameOrder(t *testing.T) {
	cfg := wantValid()
	cfg.Entities[0].Events = map[string]string{"ZEvent": "x", "AEvent": "y", "MEvent": "z"}
	fes := fieldErrors(t, cfg.Validate())
	var keys []string
	for _, fe := range fes {
		keys = append(keys, fe.Key)
	}
	want := "entities[0].events.AEvent entities[0].events.MEvent entities[0].events.ZEvent"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("keys = %q, want %q (sorted, so messages are stable)", got, want)
	}
}

// TestParseConfigInvalid runs invalid YAML files through ParseConfig: the
// message names the key as the YAML file spells it.
func TestParseConfigInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, key string
	}{
		{"hash key without name", "entities:\n  - name: tenure\n    table: TenureInformation\n    hash_key: {format: uuid}\n", "entities[0].hash_key.name"},
		{"second entity without table", minimalEntity + "  - name: person\n    hash_key: {name: id}\n", "entities[1].table"},
		{"range key without from", "entities:\n  - name: notes\n    table: Notes\n    hash_key: {name: targetId}\n    range_key: {name: id}\n", "entities[0].range_key.from"},
		{"bad op", minimalEntity + "    events: {TenureCreatedEvent: upsertt}\n", "entities[0].events.TenureCreatedEvent"},
		{"zero workers", "workers: 0\n" + minimalEntity, "workers"},
		{"export of unknown entity", minimalEntity + "sources:\n  exports:\n    - {entity: person, path: x}\n", "sources.exports[0].entity"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(strings.NewReader(tt.yaml))
		fes := fieldErrors(t, err)
		if len(fes) != 1 || fes[0].Key != tt.key {
			t.Errorf("%s: error = %v, want one naming %s", tt.name, err, tt.key)
		}
	}
}

func TestValidateFillsLiveSourceDefaults(t *testing.T) {
	cfg := wantValid()
	cfg.Sources.Events = append(cfg.Sources.Events,
		EventsSource{SQS: &SQSSource{QueueURL: "q"}},
		EventsSource{Kafka: &KafkaSource{Brokers: []string{"b"}, Topics: []string{"t"}, SchemaRegistry: "http://r", Avro: &KafkaAvro{Entity: "tenure"}}},
		EventsSource{DynamoDBStream: &StreamSource{Entity: "tenure"}})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := len(cfg.Sources.Events)
	q, k, d := cfg.Sources.Events[n-3].SQS, cfg.Sources.Events[n-2].Kafka, cfg.Sources.Events[n-1].DynamoDBStream
	if q.Receivers != 2 || q.Wait != 20*time.Second || q.VisibilityTimeout != time.Minute {
		t.Errorf("sqs defaults = %+v", q)
	}
	if k.Group != "tidemark" || k.Consumers != 1 || k.Avro.KeyField != "Id" {
		t.Errorf("kafka defaults = %+v %+v", k, k.Avro)
	}
	if d.PollInterval != time.Second || d.OnLost != "stop" {
		t.Errorf("stream defaults = %+v", d)
	}
	for i, s := range cfg.Sources.Events {
		if s.Live() != (i >= n-3) {
			t.Errorf("events[%d].Live() = %v", i, s.Live())
		}
	}
}
