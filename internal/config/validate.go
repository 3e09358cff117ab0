package config

import (
	"errors"
	"fmt"
	"regexp"
	"sort"

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
	for i, s := range c.Sources.Events {
		if s.Path == "" {
			bad(fmt.Sprintf("sources.events[%d].path", i), "is empty; set a file or a glob such as events/*.jsonl")
		}
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
