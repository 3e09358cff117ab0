package file_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/event"
	"github.com/tidemark-dev/tidemark/internal/source/file"
)

// maxBytes is the limit of the tests: SQS's 256 KiB, the default.
const maxBytes = 256 << 10

// testMapper maps Hackney tenure events and contact-detail events (hash
// key targetId, range key id from eventData.newData.id), as configured for
// the bundled example.
func testMapper(t testing.TB) *event.Mapper {
	t.Helper()
	m, err := event.NewMapper([]config.Entity{
		{Name: "tenure", Table: "TenureInformation", HashKey: config.KeyAttr{Name: "id", From: "entityId", Format: "uuid"},
			Version: "versionNumber", Events: map[string]string{
				"TenureCreatedEvent": "create", "TenureUpdatedEvent": "patch",
				"PersonAddedToTenureEvent": "patch", "PersonRemovedFromTenureEvent": "patch",
			}},
		{Name: "contact_details", Table: "ContactDetails", HashKey: config.KeyAttr{Name: "targetId", Format: "uuid"},
			RangeKey: &config.KeyAttr{Name: "id", From: "eventData.oldData.id", Format: "uuid"},
			Events:   map[string]string{"ContactDetailDeletedEvent": "delete"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func guid(i int) string { return fmt.Sprintf("8f0c3a52-6d2e-4b1a-9c7e-%012d", i) }

func eventID(i int) string { return fmt.Sprintf("3f6b2c1d-9e8a-4b7c-a5d4-%012d", i) }

// dateTime is the publish time of event i.
func dateTime(i int) time.Time {
	return time.Date(2026, 11, 1, 2, 0, i, 1234567*100, time.UTC)
}

// envelope returns a raw Hackney event line.
func envelope(i int, typ, system, entityID, oldData, newData string) string {
	return `{"id":"` + eventID(i) + `","eventType":"` + typ + `","sourceDomain":"Tenure","sourceSystem":"` + system +
		`","version":"v1","correlationId":"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","dateTime":"` +
		dateTime(i).Format("2006-01-02T15:04:05.0000000Z") + `","user":{"name":"Priya Raman","email":"priya.raman@hackney.gov.uk"},"entityId":"` +
		entityID + `","eventData":{"oldData":` + oldData + `,"newData":` + newData + `}}`
}

// updated is TenureUpdatedEvent i for tenure i.
func updated(i int) string {
	return envelope(i, "TenureUpdatedEvent", "TenureAPI", guid(i), `{"isTenanted":true}`, `{"isTenanted":false}`)
}

// sns wraps an event line in an SNS notification.
func sns(inner string) string {
	msg, _ := json.Marshal(inner)
	return `{"Type":"Notification","MessageId":"0f1e2d3c-4b5a-4697-8877-665544332211","SequenceNumber":"10000000000000012000",` +
		`"TopicArn":"arn:aws:sns:eu-west-2:123456789012:tenure.fifo","Message":` + string(msg) + `,"Timestamp":"2026-11-01T02:00:00.992Z"}`
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines joins lines, each ending in "\n".
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func noPositions(string) (int64, bool, error) { return 0, false, nil }

// one is a single events file and its id.
func one(path string) []file.File {
	return []file.File{{Path: path, ID: "events:" + filepath.Base(path)}}
}

// readAll reads src to io.EOF or the first error, and closes it.
func readAll(t testing.TB, src change.Source) ([]change.Record, error) {
	t.Helper()
	defer src.Close()
	var recs []change.Record
	for {
		r, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, r)
	}
}

// mustReadAll is readAll failing t on an error.
func mustReadAll(t testing.TB, src change.Source) []change.Record {
	t.Helper()
	recs, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// kinds renders what each record is: c (change), d (dead letter) or
// _ (a blank line), with its Next offset.
func kinds(recs []change.Record) string {
	var b strings.Builder
	for _, r := range recs {
		k := "_"
		switch {
		case r.Change != nil:
			k = "c"
		case r.Dead != nil:
			k = "d"
		}
		fmt.Fprintf(&b, "%s%d ", k, r.Next.Offset)
	}
	return strings.TrimSpace(b.String())
}
