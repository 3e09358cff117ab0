package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
)

// FieldError is a configuration error: the key at fault and how to fix it.
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

var entityName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks the configuration and returns every problem found, each
// naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.StateDir == "" {
		bad("state_dir", "is empty; set it to a folder for the state store, e.g. .tidemark/state")
	}
	if c.Lake.Dir == "" {
		bad("lake.dir", "is empty; set it to the folder Parquet files are published to, e.g. lake")
	}
	if c.Lake.RowGroupRows <= 0 {
		bad("lake.row_group_rows", "must be positive, e.g. 100000")
	}
	if c.Lake.FileRows < c.Lake.RowGroupRows {
		bad("lake.file_rows", "must be at least lake.row_group_rows (%d)", c.Lake.RowGroupRows)
	}
	if c.ClockSkew < 0 {
		bad("clock_skew", "is negative; set a duration such as 2s")
	}
	if c.MaxMessageBytes <= 0 {
		bad("max_message_bytes", "must be positive; 262144 (256 KiB) is the most SNS and SQS carry")
	}
	if c.BatchSize <= 0 {
		bad("batch_size", "must be positive, e.g. 1000")
	}
	if c.Workers <= 0 {
		bad("workers", "must be positive, e.g. the number of cores")
	}
	if len(c.Entities) == 0 {
		bad("entities", "is empty; map at least one table (see examples/tenure/tidemark.yaml)")
	}
	names := map[string]bool{}
	eventOwner := map[string]string{}
	for i := range c.Entities {
		e := &c.Entities[i]
		p := fmt.Sprintf("entities[%d]", i)
		switch {
		case e.Name == "":
			bad(p+".name", "is empty; name the entity, e.g. tenure")
		case !entityName.MatchString(e.Name):
			bad(p+".name", "%q must be lower case letters, digits and _, starting with a letter", e.Name)
		case names[e.Name]:
			bad(p+".name", "%q is used twice; entity names must be unique", e.Name)
		}
		names[e.Name] = true
		switch e.ResyncPolicy {
		case "", "report", "delete":
		default:
			bad(p+".resync_policy", "%q is unknown; use report (the default) or delete", e.ResyncPolicy)
		}
		if e.Table == "" {
			bad(p+".table", "is empty; set the DynamoDB table name, e.g. TenureInformation")
		}
		validKey(bad, p+".hash_key", &e.HashKey, "entityId")
		if e.RangeKey != nil {
			validKey(bad, p+".range_key", e.RangeKey, "")
			if e.RangeKey.From == "" {
				bad(p+".range_key.from", "is empty; say where events carry the range key, e.g. eventData.newData.id")
			}
		}
		types := make([]string, 0, len(e.Events))
		for t := range e.Events {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			if _, err := change.ParseOp(e.Events[t]); err != nil {
				bad(fmt.Sprintf("%s.events.%s", p, t), "%v", err)
			}
			if owner, ok := eventOwner[t]; ok {
				bad(fmt.Sprintf("%s.events.%s", p, t), "is also mapped by entity %q; an event type belongs to one entity", owner)
			}
			eventOwner[t] = e.Name
		}
	}
	for i, s := range c.Sources.Exports {
		p := fmt.Sprintf("sources.exports[%d]", i)
		if _, ok := c.EntityByName(s.Entity); !ok {
			bad(p+".entity", "%q is not an entity of entities[].name", s.Entity)
		}
		if s.Path == "" {
			bad(p+".path", "is empty; set the export folder (the one holding AWSDynamoDB/<exportId>/)")
		}
	}
	for i, s := range c.Sources.Scans {
		p := fmt.Sprintf("sources.scans[%d]", i)
		if _, ok := c.EntityByName(s.Entity); !ok {
			bad(p+".entity", "%q is not an entity of entities[].name", s.Entity)
		}
		switch {
		case s.BudgetRCU < 0 || s.BudgetFraction < 0 || s.BudgetFraction > 1:
			bad(p+".budget_rcu", "budgets must be positive, and budget_fraction at most 1")
		case s.BudgetRCU == 0 && s.BudgetFraction == 0:
			bad(p+".budget_rcu", "is missing; set the read capacity per second the scan may use (e.g. 500), or budget_fraction of a provisioned table (e.g. 0.25)")
		}
		if s.Segments < 0 || s.Segments > 1000000 {
			bad(p+".segments", "must be between 1 and 1000000 (0: from the table's size)")
		}
	}
	for i := range c.Sources.Events {
		c.validEvents(bad, i)
	}
	return errors.Join(errs...)
}

func validKey(bad func(string, string, ...any), p string, k *KeyAttr, defaultFrom string) {
	if k.Name == "" {
		bad(p+".name", "is empty; set the key attribute's name, e.g. id")
	}
	switch k.Type {
	case "":
		k.Type = "S"
	case "S", "N", "B":
	default:
		bad(p+".type", "%q is not a key type; use S, N or B", k.Type)
	}
	if k.From == "" {
		k.From = defaultFrom
	}
	switch k.Format {
	case "", "uuid":
	default:
		bad(p+".format", "%q is unknown; use uuid or leave it out", k.Format)
	}
}

// validEvents checks sources.events[i] and fills in its defaults.
func (c *Config) validEvents(bad func(string, string, ...any), i int) {
	s := &c.Sources.Events[i]
	p := fmt.Sprintf("sources.events[%d]", i)
	kinds := 0
	for _, set := range []bool{s.Path != "", s.SQS != nil, s.Kafka != nil, s.DynamoDBStream != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		bad(p, "names no source; set one of path (a file or glob such as events/*.jsonl), sqs, kafka or dynamodb_stream")
		return
	case kinds > 1:
		bad(p, "sets more than one of path, sqs, kafka and dynamodb_stream; give each its own entry")
		return
	}
	if q := s.SQS; q != nil {
		if q.QueueURL == "" {
			bad(p+".sqs.queue_url", "is empty; set the queue's URL, e.g. https://sqs.eu-west-2.amazonaws.com/123456789012/tenure.fifo")
		}
		if q.Receivers == 0 {
			q.Receivers = 2
		}
		if q.Receivers < 0 || q.Receivers > 64 {
			bad(p+".sqs.receivers", "must be between 1 and 64 (default 2)")
		}
		if q.Wait == 0 {
			q.Wait = 20 * time.Second
		}
		if q.Wait < 0 || q.Wait > 20*time.Second {
			bad(p+".sqs.wait", "must be between 1s and 20s, SQS's longest poll (default 20s)")
		}
		if q.VisibilityTimeout == 0 {
			q.VisibilityTimeout = 60 * time.Second
		}
		if q.VisibilityTimeout < 5*time.Second || q.VisibilityTimeout > 12*time.Hour {
			bad(p+".sqs.visibility_timeout", "must be between 5s and 12h (default 60s)")
		}
	}
	if k := s.Kafka; k != nil {
		if len(k.Brokers) == 0 {
			bad(p+".kafka.brokers", "is empty; list the seed brokers, e.g. [\"b-1.msk.example:9092\"]")
		}
		if len(k.Topics) == 0 {
			bad(p+".kafka.topics", "is empty; list the topics to follow, e.g. [tenure]")
		}
		if k.Group == "" {
			k.Group = "tidemark"
		}
		if k.Consumers == 0 {
			k.Consumers = 1
		}
		if k.Consumers < 0 || k.Consumers > 64 {
			bad(p+".kafka.consumers", "must be between 1 and 64 (default 1)")
		}
		switch k.Format {
		case "", "auto", "json", "avro":
		default:
			bad(p+".kafka.format", "%q is unknown; use auto (the default), json or avro", k.Format)
		}
		if k.Format == "avro" && k.Avro == nil {
			bad(p+".kafka.avro", "is missing; format avro needs the entity the records hold, e.g. avro: {entity: tenure}")
		}
		if a := k.Avro; a != nil {
			if _, ok := c.EntityByName(a.Entity); !ok {
				bad(p+".kafka.avro.entity", "%q is not an entity of entities[].name", a.Entity)
			}
			if a.KeyField == "" {
				a.KeyField = "Id"
			}
			if ent, ok := c.EntityByName(a.Entity); ok && ent.RangeKey != nil && a.RangeKeyField == "" {
				bad(p+".kafka.avro.range_key_field", "is empty; %q has a range key: name the record field that holds it", a.Entity)
			}
			if k.SchemaRegistry == "" {
				bad(p+".kafka.schema_registry", "is empty; Avro values need the schema registry's URL, e.g. http://registry:8081")
			}
		}
	}
	if d := s.DynamoDBStream; d != nil {
		if _, ok := c.EntityByName(d.Entity); !ok {
			bad(p+".dynamodb_stream.entity", "%q is not an entity of entities[].name", d.Entity)
		}
		if d.PollInterval == 0 {
			d.PollInterval = time.Second
		}
		if d.PollInterval < 0 {
			bad(p+".dynamodb_stream.poll_interval", "is negative; set a duration such as 1s")
		}
		switch d.OnLost {
		case "", "stop":
			d.OnLost = "stop"
		case "repair":
			hasScan := false
			for _, sc := range c.Sources.Scans {
				hasScan = hasScan || sc.Entity == d.Entity
			}
			if !hasScan {
				bad(p+".dynamodb_stream.on_lost", "repair scans the table: add a sources.scans entry for %q (its read budget)", d.Entity)
			}
		default:
			bad(p+".dynamodb_stream.on_lost", "%q is unknown; use stop (the default) or repair", d.OnLost)
		}
	}
}
