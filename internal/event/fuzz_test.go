package event

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// FuzzDecode: Decode never panics; it returns an envelope or an *Error,
// never both; a decoded envelope has an id, an event type and a publish
// time; mapping it never panics and fails only with an *Error.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"Type":"Notification","Message":"{\"Type\":1}"}`))
	f.Add([]byte(`{"id":"e","eventType":"T","dateTime":"2024-03-20T10:00:00Z","eventData":{}}`))
	m := testMapper(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data, 64<<10)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("error %v (%T) is not an *Error with a reason", err, err)
			}
			if env != nil {
				t.Fatal("an envelope and an error")
			}
			return
		}
		if env == nil {
			t.Fatal("no envelope and no error")
		}
		if env.ID == "" || env.EventType == "" || env.DateTime.IsZero() {
			t.Fatalf("decoded envelope id %q type %q time %v", env.ID, env.EventType, env.DateTime)
		}
		checkAgainstMaps(t, data, env)
		c, err := m.Change(env, change.Position{Source: "fuzz"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || c != nil {
				t.Fatalf("Change error %v (%T), change %v", err, err, c)
			}
			return
		}
		if c.Key.Validate() != nil || c.Entity == "" || c.EventID != env.ID || c.Image == nil && c.ImageBin == nil && c.Op != change.OpDelete {
			t.Fatalf("change %+v from %s", c, data)
		}
	})
}

// checkAgainstMaps checks a decoded envelope against the message read into
// maps (ddbjson.FromJSON): the same members, id, type and data.
func checkAgainstMaps(t *testing.T, data []byte, env *Envelope) {
	t.Helper()
	v, err := ddbjson.FromJSON(data)
	if err != nil || v.Kind != ddbjson.KindM {
		t.Fatalf("Decode accepted %q, which FromJSON reads as %s (%v)", data, v.Kind, err)
	}
	m := v.Map
	if env.SNS != nil {
		if v, err = ddbjson.FromJSON([]byte(m["Message"].Str)); err != nil {
			t.Fatalf("SNS Message: %v", err)
		}
		m = v.Map
	}
	if !ddbjson.EqualMaps(asMap(t, env.Raw), m) {
		t.Fatalf("Raw differs from the message read into maps")
	}
	if env.ID != m["id"].Str || env.EventType != m["eventType"].Str || env.SourceSystem != m["sourceSystem"].Str {
		t.Fatalf("id %q type %q system %q; maps read %q %q %q", env.ID, env.EventType, env.SourceSystem,
			m["id"].Str, m["eventType"].Str, m["sourceSystem"].Str)
	}
	ed := m["eventData"].Map
	for _, p := range []struct {
		got  ddbjson.RawValue
		want ddbjson.Value
	}{{env.OldData, ed["oldData"]}, {env.NewData, ed["newData"]}} {
		got, err := p.got.Value()
		if err != nil || got.Kind != p.want.Kind || !ddbjson.Equal(got, p.want) {
			t.Fatalf("data %#v (%v), maps read %#v", got, err, p.want)
		}
	}
}
