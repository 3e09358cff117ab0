package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tidemark-dev/tidemark/internal/awsexport"
	"github.com/tidemark-dev/tidemark/internal/source/s3fs"
)

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "start" {
		return fmt.Errorf("%w: want 'tidemark export start --table T --s3 s3://bucket/prefix/'", errUsage)
	}
	fs := newFlags("export start", stderr)
	table := fs.String("table", "", "the table's name or ARN (point-in-time recovery must be on)")
	dest := fs.String("s3", "", "where DynamoDB writes the export: s3://bucket/prefix/")
	at := fs.String("at", "", "a full export of the table at this time (RFC 3339; default now)")
	from := fs.String("from", "", "an incremental export of the writes from this time (RFC 3339)...")
	to := fs.String("to", "", "...to this time (15 minutes to 24 hours later)")
	wait := fs.Bool("wait", true, "wait until the export completes, printing its progress")
	region := fs.String("region", "", "AWS region (default: the AWS configuration's, else eu-west-2)")
	endpoint := fs.String("endpoint", "", "a DynamoDB-compatible endpoint instead of AWS's")
	token := fs.String("client-token", "", "makes a retried start idempotent")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *table == "" || *dest == "" {
		return fmt.Errorf("%w: --table and --s3 are required", errUsage)
	}
	bucket, prefix, err := s3fs.ParseURL(*dest)
	if err != nil {
		return fmt.Errorf("%w: --s3: %v", errUsage, err)
	}
	req := awsexport.Request{Table: *table, Bucket: bucket, Prefix: prefix, ClientToken: *token}
	for _, f := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--at", *at, &req.At}, {"--from", *from, &req.From}, {"--to", *to, &req.To}} {
		if f.v == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339, f.v); err != nil {
			return fmt.Errorf("%w: %s %q is not an RFC 3339 time", errUsage, f.flag, f.v)
		}
	}
	api, err := awsexport.NewClient(ctx, *region, *endpoint)
	if err != nil {
		return err
	}
	st, err := awsexport.Start(ctx, api, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "export %s: %s\n", st.ARN, st.State)
	if *wait {
		start := time.Now()
		st, err = awsexport.Wait(ctx, api, st.ARN, 20*time.Second, func(s awsexport.Status) {
			fmt.Fprintf(stderr, "export %s after %s\n", s.State, time.Since(start).Round(time.Second))
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "read it with: sources.exports: [{entity: ..., path: %s}] then 'tidemark snapshot'\n", *dest)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}
