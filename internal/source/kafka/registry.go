package kafka

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/tidemark-dev/tidemark/internal/event/avro"
)

// registry fetches Avro schemas by id from a Confluent-compatible schema
// registry (GET /schemas/ids/{id}), with their references.
type registry struct {
	cl        *sr.Client
	transport *http.Transport
}

func newRegistry(url string, opts []sr.ClientOpt) (*registry, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	cl, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs(url), sr.HTTPClient(hc)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("schema registry %s: %w", url, err)
	}
	return &registry{cl: cl, transport: tr}, nil
}

func (r *registry) close() { r.transport.CloseIdleConnections() }

// notFound reports a registry answer that the schema or subject is not
// there (as opposed to the registry being unreachable).
func notFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusNotFound || re.ErrorCode/100 == 404)
}

// schema is the avro.SchemaFunc: it fetches and parses schema id.
func (r *registry) schema(ctx context.Context, id int) (hamba.Schema, error) {
	s, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%w %d: %v", avro.ErrUnknownSchema, id, err)
		}
		return nil, err
	}
	if s.Type != sr.TypeAvro {
		return nil, &avro.Error{Reason: fmt.Sprintf("schema is %s, not Avro", s.Type)}
	}
	cache := &hamba.SchemaCache{}
	if err := r.references(ctx, s.References, cache, 0); err != nil {
		return nil, err
	}
	parsed, err := hamba.ParseWithCache(s.Schema, "", cache)
	if err != nil {
		return nil, &avro.Error{Reason: fmt.Sprintf("schema does not parse: %v", err)}
	}
	return parsed, nil
}

// references parses the schemas refs name into cache, depth first.
func (r *registry) references(ctx context.Context, refs []sr.SchemaReference, cache *hamba.SchemaCache, depth int) error {
	if depth > 8 && len(refs) > 0 {
		return &avro.Error{Reason: "schema references nest deeper than 8 levels"}
	}
	for _, ref := range refs {
		ss, err := r.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			if notFound(err) {
				return &avro.Error{Reason: fmt.Sprintf("referenced schema %s version %d is not in the registry", ref.Subject, ref.Version)}
			}
			return err
		}
		if err := r.references(ctx, ss.References, cache, depth+1); err != nil {
			return err
		}
		if _, err := hamba.ParseWithCache(ss.Schema.Schema, "", cache); err != nil {
			return &avro.Error{Reason: fmt.Sprintf("referenced schema %s version %d does not parse: %v", ref.Subject, ref.Version, err)}
		}
	}
	return nil
}
