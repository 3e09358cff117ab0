package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string) (Config, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseConfig(f)
}

func boolPtr(b bool) *bool { return &b }

// wantValid is testdata/valid.yaml as ParseConfig must read it, with the
// defaults Validate fills in (key types, the hash key's event path).
func wantValid() Config {
	return Config{
		StateDir:        "state",
		Lake:            Lake{Dir: "/data/lake", RowGroupRows: 50000, FileRows: 500000, History: boolPtr(false)},
		ClockSkew:       3 * time.Second,
		MaxMessageBytes: 131072,
		BatchSize:       500,
		Workers:         4,
		Entities: []Entity{
			{
				Name:    "tenure",
				Table:   "TenureInformation",
				HashKey: KeyAttr{Name: "id", Type: "S", From: "entityId", Format: "uuid"},
				Version: "versionNumber",
				Events: map[string]string{
					"TenureCreatedEvent":           "create",
					"TenureUpdatedEvent":           "patch",
					"PersonAddedToTenureEvent":     "patch",
					"PersonRemovedFromTenureEvent": "patch",
				},
			},
			{
				Name:     "contact_details",
				Table:    "ContactDetails",
				HashKey:  KeyAttr{Name: "targetId", Type: "S", From: "entityId", Format: "uuid"},
				RangeKey: &KeyAttr{Name: "id", Type: "S", From: "eventData.newData.id", Format: "uuid"},
				Events: map[string]string{
					"ContactDetailAddedEvent":   "create",
					"ContactDetailEditedEvent":  "patch",
					"ContactDetailDeletedEvent": "delete",
				},
			},
		},
		Sources: Sources{
			Exports: []ExportSource{{Entity: "tenure", Path: "exports/tenure"}},
			Events:  []EventsSource{{Path: "events/*.jsonl"}, {Path: "/var/spool/tidemark/tenure.jsonl"}},
		},
	}
}

func TestParseConfigValid(t *testing.T) {
	cfg, err := parseFile(t, "valid.yaml")
	if err != nil {
		t.Fatalf("ParseConfig(valid.yaml): %v", err)
	}
	if want := wantValid(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("ParseConfig(valid.yaml) =\n%+v\nwant\n%+v", cfg, want)
	}
	if cfg.Lake.PublishHistory() {
		t.Error("history: false, yet PublishHistory() is true")
	}
}

func TestDefaultConfig(t *testing.T) {
	d := DefaultConfig()
	want := Config{
		StateDir:        ".tidemark/state",
		Lake:            Lake{Dir: "lake", RowGroupRows: 100_000, FileRows: 1_000_000},
		ClockSkew:       2 * time.Second,
		MaxMessageBytes: 262144,
		BatchSize:       1000,
		Workers:         2,
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", d, want)
	}
	// The defaults alone lack only an entity.
	err := d.Validate()
	fes := fieldErrors(t, err)
	if len(fes) != 1 || fes[0].Key != "entities" {
		t.Errorf("DefaultConfig().Validate() = %v, want only the entities error", err)
	}
}

func TestParseConfigDefaultsApplied(t *testing.T) {
	cfg, err := parseFile(t, "minimal.yaml")
	if err != nil {
		t.Fatalf("ParseConfig(minimal.yaml): %v", err)
	}
	want := DefaultConfig()
	want.Entities = []Entity{{
		Name:    "tenure",
		Table:   "TenureInformation",
		HashKey: KeyAttr{Name: "id", Type: "S", From: "entityId"},
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("ParseConfig(minimal.yaml) =\n%+v\nwant\n%+v", cfg, want)
	}
	if !cfg.Lake.PublishHistory() {
		t.Error("history unset, yet PublishHistory() is false")
	}
}

func TestPublishHistory(t *testing.T) {
	for _, tt := range []struct {
		h    *bool
		want bool
	}{{nil, true}, {boolPtr(true), true}, {boolPtr(false), false}} {
		if got := (Lake{History: tt.h}).PublishHistory(); got != tt.want {
			t.Errorf("PublishHistory with %v = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestParseConfigOverridesOnlyWhatItSets(t *testing.T) {
	cfg, err := ParseConfig(strings.NewReader("workers: 8\nlake: {dir: out}\n" + minimalEntity))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 8 || cfg.Lake.Dir != "out" {
		t.Errorf("workers %d, lake.dir %q", cfg.Workers, cfg.Lake.Dir)
	}
	// lake.dir was set, the other lake fields keep their defaults.
	if cfg.Lake.RowGroupRows != 100_000 || cfg.Lake.FileRows != 1_000_000 || cfg.BatchSize != 1000 {
		t.Errorf("defaults lost: %+v", cfg)
	}
}

const minimalEntity = `
entities:
  - name: tenure
    table: TenureInformation
    hash_key: {name: id}
`

func TestExpandEnv(t *testing.T) {
	t.Setenv("TM_SET", "value")
	t.Setenv("TM_EMPTY", "")
	t.Setenv("TM_SPACES", "a b")
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"${TM_SET}", "value"},
		{"x-${TM_SET}-y", "x-value-y"},
		{"${TM_SET}${TM_SET}", "valuevalue"},
		{"${TM_EMPTY}", ""},
		{"${TM_EMPTY:-default}", ""}, // set but empty: the value, as written
		{"${TM_UNSET_XYZ:-default}", "default"},
		{"${TM_UNSET_XYZ:-}", ""},
		{"${TM_UNSET_XYZ:-a:b/c d}", "a:b/c d"},
		{"${TM_SET:-default}", "value"},
		{"${TM_SPACES}", "a b"},
		{"$TM_SET", "$TM_SET"},   // only the braced form expands
		{"${1BAD}", "${1BAD}"},   // not a variable name
		{"${}", "${}"},           // nor this
		{"$${TM_SET}", "$value"}, // no escape syntax
	}
	for _, tt := range tests {
		got, err := ExpandEnv(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ExpandEnv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpandEnvUnset(t *testing.T) {
	_, err := ExpandEnv("dir: ${TM_UNSET_ONE}\nother: ${TM_UNSET_TWO}\nok: ${TM_UNSET_THREE:-x}")
	if err == nil {
		t.Fatal("no error for unset variables")
	}
	msg := err.Error()
	for _, want := range []string{"TM_UNSET_ONE", "TM_UNSET_TWO", "write ${NAME:-default}"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "TM_UNSET_THREE") {
		t.Errorf("error %q names a variable that has a default", msg)
	}
}

func TestParseConfigEnv(t *testing.T) {
	t.Setenv("TIDEMARK_TEST_LAKE", "/srv/lake")
	t.Setenv("TIDEMARK_TEST_TABLE", "TenureInformation-staging")
	cfg, err := parseFile(t, "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lake.Dir != "/srv/lake" {
		t.Errorf("lake.dir = %q, want /srv/lake", cfg.Lake.Dir)
	}
	if cfg.StateDir != ".tidemark/state" {
		t.Errorf("state_dir = %q, want the default in the file", cfg.StateDir)
	}
	if cfg.Entities[0].Table != "TenureInformation-staging" {
		t.Errorf("table = %q", cfg.Entities[0].Table)
	}
	if cfg.Sources.Events[0].Path != "events/tenure.jsonl" {
		t.Errorf("events path = %q", cfg.Sources.Events[0].Path)
	}
}

func TestParseConfigEnvUnset(t *testing.T) {
	// TIDEMARK_TEST_LAKE has no default in env.yaml.
	t.Setenv("TIDEMARK_TEST_LAKE", "") // restored after the test
	os.Unsetenv("TIDEMARK_TEST_LAKE")
	_, err := parseFile(t, "env.yaml")
	if err == nil || !strings.Contains(err.Error(), "unset environment variable(s) TIDEMARK_TEST_LAKE") {
		t.Errorf("error = %v, want it to name TIDEMARK_TEST_LAKE", err)
	}
}

func TestParseConfigUnknownKeys(t *testing.T) {
	tests := []struct {
		name, yaml, key, known string
	}{
		{"top level", "statedir: x\n" + minimalEntity, "statedir", "state_dir"},
		{"lake", "lake: {directory: x}\n" + minimalEntity, "lake.directory", "dir, file_rows"},
		{"entity", minimalEntity + "    tabel: x\n", "entities[0].tabel", "table"},
		{"hash key", strings.Replace(minimalEntity, "{name: id}", "{name: id, kind: S}", 1), "entities[0].hash_key.kind", "type"},
		{"sources", minimalEntity + "sources: {kafka: []}\n", "sources.kafka", "events, exports"},
		{"export source", minimalEntity + "sources: {exports: [{entity: tenure, path: x, bucket: y}]}\n", "sources.exports[0].bucket", "entity, path"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(strings.NewReader(tt.yaml))
		if err == nil {
			t.Errorf("%s: no error for unknown key %q", tt.name, tt.key)
			continue
		}
		want := tt.key + ": unknown key"
		if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.known) {
			t.Errorf("%s: error = %q, want %q and the known keys (%s)", tt.name, err, want, tt.known)
		}
	}
}

func TestParseConfigBadYAML(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "entities: [\n", "parsing config: yaml:"},
		{"tab indent", "lake:\n\tdir: x\n", "parsing config: yaml:"},
		{"not a number", "workers: many\n" + minimalEntity, "cannot unmarshal !!str `many` into int"},
		{"duration without unit", "clock_skew: 5\n" + minimalEntity, "into time.Duration"},
		{"bad duration", "clock_skew: soon\n" + minimalEntity, "parsing config"},
		{"entities not a list", "entities: tenure\n", "parsing config"},
		{"empty file", "", "entities: is empty"},
		{"comments only", "# nothing\n", "entities: is empty"},
	}
	for _, tt := range tests {
		_, err := ParseConfig(strings.NewReader(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, os.ErrPermission }

func TestParseConfigReadError(t *testing.T) {
	_, err := ParseConfig(failingReader{})
	if err == nil || !strings.HasPrefix(err.Error(), "reading config: ") {
		t.Errorf("error = %v, want it to say it was reading the config", err)
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	path := filepath.Join("testdata", "valid.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths become absolute, relative to the file's folder, so that
	// they do not depend on how --config was spelled.
	td, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got, want string
	}{
		{"state_dir", cfg.StateDir, filepath.Join(td, "state")},
		{"lake.dir (absolute)", cfg.Lake.Dir, "/data/lake"},
		{"sources.exports[0].path", cfg.Sources.Exports[0].Path, filepath.Join(td, "exports", "tenure")},
		{"sources.events[0].path", cfg.Sources.Events[0].Path, filepath.Join(td, "events", "*.jsonl")},
		{"sources.events[1].path (absolute)", cfg.Sources.Events[1].Path, "/var/spool/tidemark/tenure.jsonl"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// Everything else is as ParseConfig reads it.
	want := wantValid()
	want.Resolve(td)
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestLoadFromAnotherFolder(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tidemark.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != filepath.Join(dir, ".tidemark", "state") || cfg.Lake.Dir != filepath.Join(dir, "lake") {
		t.Errorf("state_dir %q, lake.dir %q: want them under %s", cfg.StateDir, cfg.Lake.Dir, dir)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "opening config") || !strings.Contains(err.Error(), "pass --config") {
		t.Errorf("missing file: error = %v, want it to say opening config and give the fix", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(path, []byte("workers: 0\n"+minimalEntity), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "workers: must be positive") {
		t.Errorf("invalid file: error = %v, want it prefixed with the path and naming workers", err)
	}
}

func TestResolve(t *testing.T) {
	c := Config{
		StateDir: "s",
		Lake:     Lake{Dir: ""},
		Sources: Sources{
			Exports: []ExportSource{{Path: "/abs"}, {Path: "rel"}},
			Events:  []EventsSource{{Path: "e/*.jsonl"}},
		},
	}
	c.Resolve("/base")
	if c.StateDir != "/base/s" || c.Lake.Dir != "" || c.Sources.Exports[0].Path != "/abs" ||
		c.Sources.Exports[1].Path != "/base/rel" || c.Sources.Events[0].Path != "/base/e/*.jsonl" {
		t.Errorf("Resolve gave %+v", c)
	}
}

func TestEntityByName(t *testing.T) {
	cfg := wantValid()
	e, ok := cfg.EntityByName("contact_details")
	if !ok || e.Table != "ContactDetails" {
		t.Fatalf("EntityByName(contact_details) = %+v, %v", e, ok)
	}
	// It points into the config, not at a copy.
	e.Table = "changed"
	if cfg.Entities[1].Table != "changed" {
		t.Error("EntityByName returned a copy")
	}
	if e, ok := cfg.EntityByName("person"); ok || e != nil {
		t.Errorf("EntityByName(person) = %+v, %v; want nil, false", e, ok)
	}
}

func TestEnvExpansionInValuesOnly(t *testing.T) {
	t.Setenv("TM_BATCH", "500")
	t.Setenv("TM_DIR", "/data/lake: odd # name")
	yml := `# a comment may mention ${UNSET_IN_COMMENT}
state_dir: st
lake: {dir: "${TM_DIR}"}
batch_size: ${TM_BATCH}
entities:
  - name: tenure
    table: T
    hash_key: {name: id}
`
	cfg, err := ParseConfig(strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BatchSize != 500 || cfg.Lake.Dir != "/data/lake: odd # name" {
		t.Fatalf("batch_size %d, lake.dir %q", cfg.BatchSize, cfg.Lake.Dir)
	}
}
