package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
	"github.com/tidemark-dev/tidemark/internal/testutil/duckdb"
)

// TestLakeReadByDuckDB publishes a generated dataset and reads the Parquet
// back with DuckDB, which shares no code with the writer: row counts, keys,
// column types and the values of a sample of entities must equal the state
// store; the history must chain valid_from/valid_to per key and match the
// store's history rows; a second run must not rewrite any file.
func TestLakeReadByDuckDB(t *testing.T) {
	duckdb.Require(t)
	dir := generate(t, 1000, 3000, 0, 21)
	cfg := filepath.Join(dir, "tidemark.yaml")
	day := time.Now().UTC().Format("20060102") // the publish's import_date
	sum := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
	st := readStore(t, stateDir(dir))
	if len(st.live) < 1000 {
		t.Fatalf("state holds %d live tenures, want at least the 1000 loaded", len(st.live))
	}
	lakeDir := filepath.Join(dir, "lake")
	current := lakeTable(lakeDir, "current")
	history := lakeTable(lakeDir, "history")

	t.Run("current keys and count", func(t *testing.T) {
		rows := duckdb.Query(t, "SELECT _key FROM "+current)
		if len(rows) != len(st.live) {
			t.Errorf("current: %d rows, state has %d live records", len(rows), len(st.live))
		}
		seen := map[string]bool{}
		for _, r := range rows {
			k, _ := r["_key"].(string)
			if seen[k] {
				t.Errorf("current: key %q twice", k)
			}
			seen[k] = true
			if _, ok := st.live[k]; !ok {
				t.Errorf("current: key %q is not live in the state", k)
			}
		}
		for k := range st.live {
			if !seen[k] {
				t.Errorf("current: live key %s missing", k)
			}
		}
		if float64(len(rows)) > sum["rows_published"] {
			t.Errorf("summary rows_published %v < %d current rows", sum["rows_published"], len(rows))
		}
	})

	t.Run("column types", func(t *testing.T) {
		res := duckdb.Run(t, "SELECT * FROM "+current+" LIMIT 1")
		want := map[string]string{
			"_key":              "VARCHAR",
			"_version":          "BIGINT",
			"_event_time":       "TIMESTAMP WITH TIME ZONE",
			"_ingested_at":      "TIMESTAMP WITH TIME ZONE",
			"startOfTenureDate": "TIMESTAMP WITH TIME ZONE",
			"endOfTenureDate":   "TIMESTAMP WITH TIME ZONE",
			"isTenanted":        "BOOLEAN",
			"versionNumber":     "BIGINT",
			"paymentReference":  "VARCHAR",
			"import_year":       "VARCHAR",
			"import_month":      "VARCHAR",
			"import_day":        "VARCHAR",
			"import_date":       "VARCHAR",
			"import_datetime":   "TIMESTAMP WITH TIME ZONE",
		}
		for col, typ := range want {
			if got := res.Type(col); got != typ {
				t.Errorf("column %s: type %q, want %q", col, got, typ)
			}
		}
		types := columnTypes(t, res)
		check := func(path, want string, ok func(*dtype) bool) {
			t.Helper()
			typ := types.at(path)
			if typ == nil || !ok(typ) {
				t.Errorf("%s: type %v, want %s", path, typ, want)
			}
		}
		isStruct := func(d *dtype) bool { return d.kind == "struct" }
		isDecimal := func(d *dtype) bool { return d.kind == "scalar" && strings.HasPrefix(d.name, "DECIMAL(") }
		check("charges", "a STRUCT", isStruct)
		check("charges.rent", "DECIMAL", isDecimal)
		check("charges.currentBalance", "DECIMAL", isDecimal)
		check("charges.isSuspended", "BOOLEAN", func(d *dtype) bool { return d.name == "BOOLEAN" })
		check("tenuredAsset", "a STRUCT", isStruct)
		check("tenuredAsset.fullAddress", "VARCHAR", func(d *dtype) bool { return d.name == "VARCHAR" })
		check("tenureType", "a STRUCT", isStruct)
		check("householdMembers", "a list", func(d *dtype) bool { return d.kind == "list" })
		check("householdMembers[]", "a STRUCT", isStruct)
		check("householdMembers[].dateOfBirth", "TIMESTAMP WITH TIME ZONE",
			func(d *dtype) bool { return d.name == "TIMESTAMP WITH TIME ZONE" })
		check("householdMembers[].isResponsible", "BOOLEAN", func(d *dtype) bool { return d.name == "BOOLEAN" })
		check("notices[].servedDate", "TIMESTAMP WITH TIME ZONE",
			func(d *dtype) bool { return d.name == "TIMESTAMP WITH TIME ZONE" })
		check("numberOfAdultsInProperty", "BIGINT", func(d *dtype) bool { return d.name == "BIGINT" })
	})

	t.Run("values of a sample equal the state", func(t *testing.T) {
		keys := make([]string, 0, len(st.live))
		for k := range st.live {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sample []string
		for i := 0; i < 50; i++ {
			sample = append(sample, keys[i*len(keys)/50])
		}
		quoted := make([]string, len(sample))
		for i, k := range sample {
			quoted[i] = duckdb.Quote(k)
		}
		res := duckdb.Run(t, "SELECT * FROM "+current+" WHERE _key IN ("+strings.Join(quoted, ", ")+") ORDER BY _key")
		if len(res.Rows) != len(sample) {
			t.Fatalf("sample: %d rows for %d keys", len(res.Rows), len(sample))
		}
		types := columnTypes(t, res)
		meta := map[string]bool{"_key": true, "_version": true, "_op": true, "_event_id": true, "_event_type": true,
			"_event_time": true, "_source": true, "_ingested_at": true, "_leftovers": true, "import_year": true,
			"import_month": true, "import_day": true, "import_date": true, "import_datetime": true, "import_timestamp": true}
		var compared, nonNull int
		for _, row := range res.Rows {
			key, _ := row["_key"].(string)
			rec := st.live[key]
			if rec == nil {
				t.Errorf("sample row with key %q not in the state", key)
				continue
			}
			c := &comparer{t: t, key: key, used: map[string]bool{}}
			if s, ok := row["_leftovers"].(string); ok {
				if err := decodeJSON([]byte(s), &c.left); err != nil {
					t.Errorf("%s: _leftovers %q: %v", key, s, err)
				}
			}
			// Metadata columns against the stored record.
			c.meta("_op", row["_op"], rec.op)
			c.meta("_event_id", row["_event_id"], nilIfEmpty(rec.eventID))
			c.meta("_event_type", row["_event_type"], nilIfEmpty(rec.eventType))
			c.meta("_source", row["_source"], rec.source)
			if rec.version == "" {
				c.meta("_version", row["_version"], nil)
			} else {
				c.value("_version", types.at("_version"), row["_version"], json.Number(rec.version))
			}
			if rec.op == "snapshot" {
				c.meta("_event_time", row["_event_time"], nil)
			} else {
				c.instant("_event_time", row["_event_time"], rec.changed.Truncate(time.Microsecond))
			}
			c.instant("_ingested_at", row["_ingested_at"], rec.ingestedAt.Truncate(time.Microsecond))
			if d := row["import_date"]; d != day && d != time.Now().UTC().Format("20060102") {
				c.errorf("import_date = %v, want the day of the run %s", d, day)
			}
			// Every attribute column against the state's image; attributes
			// the state lacks must be NULL.
			for _, col := range res.Columns {
				if meta[col.Name] {
					continue
				}
				v, present := rec.image[col.Name]
				c.value(col.Name, types.fields[col.Name], row[col.Name], v)
				compared++
				if present && v != nil {
					nonNull++
				}
			}
			// Every attribute of the state has a column (or is a leftover).
			for name, v := range rec.image {
				if types.fields[name] == nil && v != nil {
					c.leftoverOnly(name, v)
				}
			}
			for p := range c.left {
				if !c.used[p] {
					t.Errorf("%s: _leftovers holds %s, which no attribute of the state explains", key, p)
				}
			}
		}
		if nonNull < 50*20 {
			t.Errorf("only %d non-null attribute values compared", nonNull)
		}
		t.Logf("compared %d attribute cells (%d non-null in the state) of %d entities", compared, nonNull, len(res.Rows))
	})

	t.Run("history", func(t *testing.T) {
		rows := duckdb.Query(t, "SELECT _key, _op, _event_id, valid_from, valid_to FROM "+history)
		if len(rows) != st.historyRows {
			t.Errorf("history: %d rows, the store has %d", len(rows), st.historyRows)
		}
		type hrow struct {
			op, eventID string
			from, to    time.Time
			open        bool
		}
		byKey := map[string][]hrow{}
		eventIDs := map[string]string{}
		for _, r := range rows {
			key, _ := r["_key"].(string)
			h := hrow{op: str(r["_op"]), eventID: str(r["_event_id"])}
			var err error
			if h.from, err = parseDuckTime(r["valid_from"]); err != nil {
				t.Fatalf("%s: valid_from: %v", key, err)
			}
			if r["valid_to"] == nil {
				h.open = true
			} else if h.to, err = parseDuckTime(r["valid_to"]); err != nil {
				t.Fatalf("%s: valid_to: %v", key, err)
			}
			if h.eventID != "" {
				if other, dup := eventIDs[h.eventID]; dup {
					t.Errorf("history: _event_id %s twice (keys %s and %s)", h.eventID, other, key)
				}
				eventIDs[h.eventID] = key
			}
			byKey[key] = append(byKey[key], h)
		}
		if len(byKey) != len(st.history) {
			t.Errorf("history: %d keys, the store has %d", len(byKey), len(st.history))
		}
		chained := 0
		for key, hs := range byKey {
			sort.SliceStable(hs, func(i, j int) bool {
				if !hs[i].from.Equal(hs[j].from) {
					return hs[i].from.Before(hs[j].from)
				}
				if hs[i].open != hs[j].open {
					return hs[j].open
				}
				return hs[i].to.Before(hs[j].to)
			})
			for i, h := range hs {
				last := i == len(hs)-1
				switch {
				case last && !h.open:
					t.Errorf("history %s: last row (valid_from %s) has valid_to %s, want NULL", key, h.from, h.to)
				case !last && h.open:
					t.Errorf("history %s: row %d of %d (valid_from %s) has a NULL valid_to", key, i, len(hs), h.from)
				case !last && !h.to.Equal(hs[i+1].from):
					t.Errorf("history %s: row %d valid_to %s, next row's valid_from %s", key, i, h.to, hs[i+1].from)
				case !last:
					chained++
				}
				if !h.open && h.to.Before(h.from) {
					t.Errorf("history %s: row %d valid_to %s before valid_from %s", key, i, h.to, h.from)
				}
			}
			want := st.history[key]
			if len(want) != len(hs) {
				t.Errorf("history %s: %d rows in the lake, %d in the store", key, len(hs), len(want))
				continue
			}
			for i, w := range want {
				if hs[i].op != w.op || hs[i].eventID != w.eventID || !hs[i].from.Equal(w.changed.Truncate(time.Microsecond)) {
					t.Errorf("history %s row %d: lake (%s %s %s), store (%s %s %s)", key, i,
						hs[i].op, hs[i].eventID, hs[i].from, w.op, w.eventID, w.changed)
				}
			}
		}
		if chained < 500 {
			t.Errorf("only %d history rows are followed by another row of their key", chained)
		}
		if len(eventIDs) != int(sum["events_applied"]) {
			t.Errorf("history: %d distinct event ids, summary says %v events applied", len(eventIDs), sum["events_applied"])
		}
	})

	t.Run("second run writes no file", func(t *testing.T) {
		if time.Now().UTC().Format("20060102") != day {
			t.Skip("the day changed since the first run: a new partition is due")
		}
		before := lakeFiles(t, lakeDir)
		if len(before) < 2 {
			t.Fatalf("lake holds %d files", len(before))
		}
		time.Sleep(20 * time.Millisecond) // a rewrite would show in the mtime
		sum2 := summary(t, tidemark(t, "run", "--config", cfg, "--json"))
		if sum2["files_written"] != 0 {
			t.Errorf("second run: files_written %v, want 0", sum2["files_written"])
		}
		after := lakeFiles(t, lakeDir)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("second run changed the lake:\nbefore %v\nafter  %v", before, after)
		}
	})
}

func lakeTable(lakeDir, kind string) string {
	glob := filepath.Join(lakeDir, "tenure", kind) + "/**/*.parquet"
	return "read_parquet(" + duckdb.Quote(glob) + ", hive_partitioning=true, hive_types_autocast=false)"
}

// lakeFiles returns every file under dir with its size and mtime.
func lakeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out[rel] = fmt.Sprintf("%d bytes, mtime %s", info.Size(), info.ModTime().Format(time.RFC3339Nano))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// storedRecord is what the lake test needs of a state record.
type storedRecord struct {
	image                           map[string]any // plain JSON, numbers as json.Number
	version, op, eventID, eventType string
	source                          string
	changed, ingestedAt             time.Time
}

type storedHistory struct {
	op, eventID string
	changed     time.Time
}

type storeContents struct {
	live        map[string]*storedRecord
	history     map[string][]storedHistory
	historyRows int
}

func readStore(t *testing.T, dir string) storeContents {
	t.Helper()
	s, err := state.Open(dir, state.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := storeContents{live: map[string]*storedRecord{}, history: map[string][]storedHistory{}}
	err = s.ScanRecords("tenure", func(key []byte, r *state.Record) error {
		if !r.Live {
			return nil
		}
		k, err := change.ParseKeyBytes(key)
		if err != nil {
			return err
		}
		rec := &storedRecord{version: r.Version, op: r.Op, eventID: r.EventID, eventType: r.EventType,
			source: r.Source, changed: r.Changed, ingestedAt: r.IngestedAt}
		if err := decodeJSON(ddbjson.AppendPlainMap(nil, r.Image), &rec.image); err != nil {
			return fmt.Errorf("image of %s: %w", k, err)
		}
		out.live[k.String()] = rec
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.ScanHistory("tenure", func(key []byte, _ uint64, r *state.Record) error {
		k, err := change.ParseKeyBytes(key)
		if err != nil {
			return err
		}
		out.history[k.String()] = append(out.history[k.String()], storedHistory{op: r.Op, eventID: r.EventID, changed: r.Changed})
		out.historyRows++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// dtype is a DuckDB type parsed from its text, e.g.
// STRUCT("a" VARCHAR, b DECIMAL(18,2))[].
type dtype struct {
	kind   string // "scalar", "struct" or "list"
	name   string // scalar: the type text, e.g. TIMESTAMP WITH TIME ZONE
	fields map[string]*dtype
	order  []string
	elem   *dtype
}

func (d *dtype) String() string {
	switch d.kind {
	case "list":
		return d.elem.String() + "[]"
	case "struct":
		var parts []string
		for _, f := range d.order {
			parts = append(parts, f+" "+d.fields[f].String())
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	}
	return d.name
}

// at returns the type at a path such as householdMembers[].dateOfBirth.
func (d *dtype) at(path string) *dtype {
	cur := d
	for _, part := range strings.Split(path, ".") {
		list := 0
		for strings.HasSuffix(part, "[]") {
			part, list = strings.TrimSuffix(part, "[]"), list+1
		}
		if cur == nil || cur.kind != "struct" {
			return nil
		}
		cur = cur.fields[part]
		for ; list > 0 && cur != nil; list-- {
			if cur.kind != "list" {
				return nil
			}
			cur = cur.elem
		}
	}
	return cur
}

// columnTypes returns the result's columns as the fields of a struct.
func columnTypes(t *testing.T, res duckdb.Result) *dtype {
	t.Helper()
	top := &dtype{kind: "struct", fields: map[string]*dtype{}}
	for _, c := range res.Columns {
		d, rest, err := parseDType(c.Type)
		if err != nil || rest != "" {
			t.Fatalf("column %s: cannot parse type %q: %v (left %q)", c.Name, c.Type, err, rest)
		}
		top.fields[c.Name] = d
		top.order = append(top.order, c.Name)
	}
	return top
}

func parseDType(s string) (*dtype, string, error) {
	s = strings.TrimLeft(s, " ")
	var d *dtype
	switch {
	case strings.HasPrefix(s, "STRUCT("):
		d = &dtype{kind: "struct", fields: map[string]*dtype{}}
		s = s[len("STRUCT("):]
		for {
			s = strings.TrimLeft(s, " ")
			var name string
			if strings.HasPrefix(s, `"`) {
				end := 1
				for ; end < len(s); end++ {
					if s[end] == '"' {
						if end+1 < len(s) && s[end+1] == '"' {
							end++
							continue
						}
						break
					}
				}
				if end >= len(s) {
					return nil, s, fmt.Errorf("unterminated field name")
				}
				name, s = strings.ReplaceAll(s[1:end], `""`, `"`), s[end+1:]
			} else {
				i := strings.IndexByte(s, ' ')
				if i < 0 {
					return nil, s, fmt.Errorf("field without a type")
				}
				name, s = s[:i], s[i:]
			}
			f, rest, err := parseDType(s)
			if err != nil {
				return nil, rest, err
			}
			d.fields[name], d.order, s = f, append(d.order, name), strings.TrimLeft(rest, " ")
			if strings.HasPrefix(s, ",") {
				s = s[1:]
				continue
			}
			if !strings.HasPrefix(s, ")") {
				return nil, s, fmt.Errorf("want , or ) in a STRUCT")
			}
			s = s[1:]
			break
		}
	case strings.HasPrefix(s, "DECIMAL("):
		i := strings.IndexByte(s, ')')
		if i < 0 {
			return nil, s, fmt.Errorf("unterminated DECIMAL")
		}
		d, s = &dtype{kind: "scalar", name: s[:i+1]}, s[i+1:]
	default:
		i := strings.IndexAny(s, ",)[")
		if i < 0 {
			i = len(s)
		}
		d, s = &dtype{kind: "scalar", name: strings.TrimSpace(s[:i])}, s[i:]
		if d.name == "" {
			return nil, s, fmt.Errorf("empty type")
		}
	}
	for strings.HasPrefix(s, "[]") {
		d, s = &dtype{kind: "list", elem: d}, s[2:]
	}
	return d, s, nil
}

// comparer compares DuckDB's values of one row with the state's plain JSON
// image of the entity.
type comparer struct {
	t    *testing.T
	key  string
	left map[string]any // _leftovers: path -> plain JSON value
	used map[string]bool
	errs int
}

func (c *comparer) errorf(format string, args ...any) {
	c.t.Helper()
	c.errs++
	if c.errs <= 10 {
		c.t.Errorf("%s: "+format, append([]any{c.key}, args...)...)
	}
}

func (c *comparer) meta(col string, got, want any) {
	c.t.Helper()
	if got != want {
		c.errorf("%s = %v (%T), want %v", col, got, got, want)
	}
}

func (c *comparer) instant(col string, got any, want time.Time) {
	c.t.Helper()
	g, err := parseDuckTime(got)
	if err != nil || !g.Equal(want) {
		c.errorf("%s = %v, want %s (%v)", col, got, want.Format(time.RFC3339Nano), err)
	}
}

// leftoverOnly checks a state attribute at path that has no column.
func (c *comparer) leftoverOnly(path string, want any) {
	c.t.Helper()
	got, ok := c.left[path]
	if !ok {
		c.errorf("%s = %s in the state has no column and is not in _leftovers", path, plainJSON(want))
		return
	}
	c.used[path] = true
	if !jsonEqual(got, want) {
		c.errorf("_leftovers %s = %s, state %s", path, plainJSON(got), plainJSON(want))
	}
}

// value compares the lake's value at path (of type typ) with the state's
// value (nil when absent or null).
func (c *comparer) value(path string, typ *dtype, got, want any) {
	c.t.Helper()
	if lv, ok := c.left[path]; ok {
		c.used[path] = true
		if got != nil {
			c.errorf("%s is in its column (%v) and in _leftovers (%s)", path, got, plainJSON(lv))
		}
		if !jsonEqual(lv, want) {
			c.errorf("_leftovers %s = %s, state %s", path, plainJSON(lv), plainJSON(want))
		}
		return
	}
	if typ == nil {
		c.errorf("%s: no type", path)
		return
	}
	if want == nil {
		if got != nil {
			c.errorf("%s = %v, want NULL (absent or null in the state)", path, got)
		}
		return
	}
	if got == nil {
		if s, ok := want.(string); ok && s == "" && strings.HasPrefix(typ.name, "TIMESTAMP") {
			return // an empty date is NULL
		}
		c.errorf("%s is NULL, state %s", path, plainJSON(want))
		return
	}
	switch typ.kind {
	case "struct":
		g, ok1 := got.(map[string]any)
		w, ok2 := want.(map[string]any)
		if !ok1 || !ok2 {
			c.errorf("%s = %v (%T), state %s", path, got, got, plainJSON(want))
			return
		}
		for _, f := range typ.order {
			c.value(path+"."+f, typ.fields[f], g[f], w[f])
		}
		for f, v := range w {
			if typ.fields[f] == nil && v != nil {
				c.leftoverOnly(path+"."+f, v)
			}
		}
	case "list":
		g, ok1 := got.([]any)
		w, ok2 := want.([]any)
		if !ok1 || !ok2 || len(g) != len(w) {
			c.errorf("%s = %v, state %s", path, got, plainJSON(want))
			return
		}
		for i := range w {
			c.value(fmt.Sprintf("%s[%d]", path, i), typ.elem, g[i], w[i])
		}
	default:
		if !scalarEqual(typ.name, got, want) {
			c.errorf("%s = %v (%s), state %s", path, got, typ.name, plainJSON(want))
		}
	}
}

func scalarEqual(typ string, got, want any) bool {
	switch {
	case strings.HasPrefix(typ, "TIMESTAMP"):
		w, ok := want.(string)
		if !ok {
			return false
		}
		wt, err1 := parseStateTime(w)
		gt, err2 := parseDuckTime(got)
		return err1 == nil && err2 == nil && wt.Equal(gt)
	case typ == "VARCHAR":
		g, ok := got.(string)
		if !ok {
			return false
		}
		switch w := want.(type) {
		case string:
			return g == w
		case map[string]any, []any: // a JSON column
			var v any
			return decodeJSON([]byte(g), &v) == nil && jsonEqual(v, w)
		}
		return false
	case typ == "BOOLEAN":
		g, ok1 := got.(bool)
		w, ok2 := want.(bool)
		return ok1 && ok2 && g == w
	case typ == "DOUBLE" || typ == "FLOAT":
		w, ok := want.(json.Number)
		if !ok {
			return false
		}
		gf, err1 := strconv.ParseFloat(fmt.Sprint(got), 64)
		wf, err2 := strconv.ParseFloat(string(w), 64)
		return err1 == nil && err2 == nil && gf == wf
	case strings.HasPrefix(typ, "DECIMAL("), strings.HasSuffix(typ, "INT"), typ == "HUGEINT":
		w, ok := want.(json.Number)
		if !ok {
			return false
		}
		return numEqual(fmt.Sprint(got), string(w))
	}
	return false
}

func numEqual(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

// jsonEqual compares plain JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numEqual(string(x), string(y))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func plainJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// parseStateTime parses the date-time strings of the state (.NET "o"
// format, with or without a zone, or a date): no zone means UTC.
func parseStateTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05Z07",
		"2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseDuckTime parses DuckDB's text of a timestamp (the session time zone
// is UTC), e.g. "2026-11-01 02:15:45.444167+00".
func parseDuckTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("timestamp %v is a %T", v, v)
	}
	var err error
	for _, layout := range []string{"2006-01-02 15:04:05-07", "2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
