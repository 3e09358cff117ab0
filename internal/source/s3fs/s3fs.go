// Package s3fs presents an S3 prefix as an io/fs.FS, so that the export
// reader reads a DynamoDB export from S3 exactly as from a local folder: one
// export reader, two file systems. Objects are streamed, never loaded whole.
package s3fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// API is what the file system needs of an S3 client; *s3.Client has it.
type API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ API = (*s3.Client)(nil)

// FS is the objects under s3://Bucket/Prefix as a read-only file system.
type FS struct {
	ctx    context.Context
	api    API
	bucket string
	prefix string // "" or ending in "/"
}

var (
	_ fs.FS        = (*FS)(nil)
	_ fs.StatFS    = (*FS)(nil)
	_ fs.ReadDirFS = (*FS)(nil)
)

// ParseURL splits s3://bucket/prefix into bucket and prefix.
func ParseURL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket (want s3://bucket/prefix/)", u)
	}
	return bucket, prefix, nil
}

// New returns the file system of s3://bucket/prefix through api; ctx bounds
// every request.
func New(ctx context.Context, api API, bucket, prefix string) *FS {
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &FS{ctx: ctx, api: api, bucket: bucket, prefix: prefix}
}

func (f *FS) key(name string) string {
	if name == "." {
		return strings.TrimSuffix(f.prefix, "/")
	}
	return f.prefix + name
}

func (f *FS) where(name string) string { return "s3://" + f.bucket + "/" + f.key(name) }

// Open streams an object. Folders open as directories for ReadDir.
func (f *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	out, err := f.api.GetObject(f.ctx, &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(f.key(name))})
	if err != nil {
		if notFound(err) {
			if info, derr := f.statDir(name); derr == nil {
				return &dir{info: info, fsys: f, name: name}, nil
			}
			return nil, &fs.PathError{Op: "open", Path: f.where(name), Err: fs.ErrNotExist}
		}
		return nil, &fs.PathError{Op: "open", Path: f.where(name), Err: err}
	}
	info := fileInfo{name: path.Base(name), size: aws.ToInt64(out.ContentLength), mod: aws.ToTime(out.LastModified)}
	return &file{body: out.Body, info: info}, nil
}

// Stat describes an object, or a folder when objects lie below name.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if name != "." {
		out, err := f.api.HeadObject(f.ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(f.key(name))})
		if err == nil {
			return fileInfo{name: path.Base(name), size: aws.ToInt64(out.ContentLength), mod: aws.ToTime(out.LastModified)}, nil
		}
		if !notFound(err) {
			return nil, &fs.PathError{Op: "stat", Path: f.where(name), Err: err}
		}
	}
	return f.statDir(name)
}

func (f *FS) statDir(name string) (fs.FileInfo, error) {
	p := f.dirPrefix(name)
	out, err := f.api.ListObjectsV2(f.ctx, &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket), Prefix: aws.String(p), MaxKeys: aws.Int32(1)})
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.where(name), Err: err}
	}
	if len(out.Contents) == 0 && len(out.CommonPrefixes) == 0 {
		return nil, &fs.PathError{Op: "stat", Path: f.where(name), Err: fs.ErrNotExist}
	}
	return fileInfo{name: path.Base(name), dir: true}, nil
}

func (f *FS) dirPrefix(name string) string {
	if name == "." {
		return f.prefix
	}
	return f.prefix + name + "/"
}

// ReadDir lists the objects and folders directly under name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	p := f.dirPrefix(name)
	in := &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket), Prefix: aws.String(p), Delimiter: aws.String("/")}
	var out []fs.DirEntry
	for {
		page, err := f.api.ListObjectsV2(f.ctx, in)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.where(name), Err: err}
		}
		for _, cp := range page.CommonPrefixes {
			n := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), p), "/")
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: n, dir: true}))
		}
		for _, o := range page.Contents {
			n := strings.TrimPrefix(aws.ToString(o.Key), p)
			if n == "" {
				continue
			}
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: n, size: aws.ToInt64(o.Size), mod: aws.ToTime(o.LastModified)}))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.ContinuationToken = page.NextContinuationToken
	}
	if len(out) == 0 {
		return nil, &fs.PathError{Op: "readdir", Path: f.where(name), Err: fs.ErrNotExist}
	}
	return out, nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }

// ModTime is to the second: listings carry milliseconds, the Last-Modified
// header of a GET or HEAD only seconds.
func (i fileInfo) ModTime() time.Time { return i.mod.Truncate(time.Second) }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

type file struct {
	body io.ReadCloser
	info fileInfo
}

func (f *file) Read(p []byte) (int, error) { return f.body.Read(p) }
func (f *file) Close() error               { return f.body.Close() }
func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }

type dir struct {
	info    fs.FileInfo
	fsys    *FS
	name    string
	entries []fs.DirEntry
	listed  bool
}

func (d *dir) Read([]byte) (int, error)   { return 0, errors.New("is a directory") }
func (d *dir) Close() error               { return nil }
func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }

// ReadDir lists the folder (once) and returns its entries n at a time.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.listed {
		entries, err := d.fsys.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.listed = entries, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
