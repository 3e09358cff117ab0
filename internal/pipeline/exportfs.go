package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/tidemark-dev/tidemark/internal/source/s3fs"
)

// exportFS returns the file system an export lives in: a local folder, or
// an S3 prefix read through the SDK (one export reader, two file systems).
func (p *Pipeline) exportFS(ctx context.Context, path string) (fs.FS, error) {
	if !strings.HasPrefix(path, "s3://") {
		return os.DirFS(path), nil
	}
	bucket, prefix, err := s3fs.ParseURL(path)
	if err != nil {
		return nil, err
	}
	if p.s3 == nil {
		c, err := s3fs.NewClient(ctx, s3fs.ClientOptions{Region: p.cfg.AWS.Region, Endpoint: p.cfg.AWS.Endpoint})
		if err != nil {
			return nil, fmt.Errorf("S3 client for %s: %w", path, err)
		}
		p.s3 = c
	}
	return s3fs.New(ctx, p.s3, bucket, prefix), nil
}
