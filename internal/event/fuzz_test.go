package event

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark-dev/tidemark/internal/change"
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
		if env.Raw == nil {
			t.Fatal("envelope without Raw")
		}
		c, err := m.Change(env, change.Position{Source: "fuzz"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || c != nil {
				t.Fatalf("Change error %v (%T), change %v", err, err, c)
			}
			return
		}
		if c.Key.Validate() != nil || c.Entity == "" || c.EventID != env.ID || c.Image == nil && c.Op != change.OpDelete {
			t.Fatalf("change %+v from %s", c, data)
		}
	})
}
