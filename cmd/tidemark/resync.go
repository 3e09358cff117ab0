package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

func cmdResync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "emit" {
		return fmt.Errorf("%w: want 'tidemark resync emit --config FILE --entity E --from export:DIR|s3://...|scan --to file:PATH|kafka://...|sqs://...'", errUsage)
	}
	fs := newFlags("resync emit", stderr)
	cfgPath := fs.String("config", "", "path of the tidemark YAML config")
	entity := fs.String("entity", "", "the entity to re-sync, e.g. tenure")
	from := fs.String("from", "", "where the current state comes from: export:DIR, s3://bucket/prefix/ or scan")
	to := fs.String("to", "", "where the events go: file:PATH, kafka://broker:9092[,...]/topic, sqs://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE or sqs:http://HOST:PORT/ACCOUNT/QUEUE")
	system := fs.String("source-system", "tidemark", "the sourceSystem of the events")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*to, "file:")
	kafka := strings.HasPrefix(*to, "kafka://")
	sqs := strings.HasPrefix(*to, "sqs:")
	if *entity == "" || *from == "" || (!kafka && !sqs && (!ok || path == "")) {
		return fmt.Errorf("%w: --entity, --from and --to file:PATH, kafka://broker/topic or sqs://host/account/queue are required", errUsage)
	}
	p, err := openPipeline(*cfgPath, stderr, false, false)
	if err != nil {
		return err
	}
	defer p.Close()
	if sqs {
		n, err := p.EmitResyncToSQS(ctx, *entity, *from, *system, *to)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "re-sync of %d %s entities sent to %s\n", n, *entity, *to)
		return nil
	}
	if kafka {
		n, err := p.EmitResyncToKafka(ctx, *entity, *from, *system, *to)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "re-sync of %d %s entities produced to %s\n", n, *entity, *to)
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	n, err := p.EmitResync(ctx, *entity, *from, *system, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-sync of %d %s entities written to %s\n", n, *entity, path)
	return nil
}
