package ddbstream

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Position formats. A shard's position is
//
//	Source "ddbstream:<table>/<shardId>", Offset n, Token "<sequence number>"
//
// after its n-th record (records and dead letters count alike), and
//
//	Source "ddbstream:<table>/<shardId>", Offset n+1, Token "closed:<last sequence number>"
//
// once GetRecords has said the shard is closed and every record of it was
// yielded. The stream's own position is
//
//	Source "ddbstream:<table>", Offset 1 (then +1 per new stream), Token {"stream":"<arn>","roots":[...]}
//
// committed before any shard position of that stream: roots are the shards
// the first read of the stream started from without reading their parents
// (their parents had already left the stream).
const (
	sourcePrefix = "ddbstream:"
	closedPrefix = "closed:"
)

// MetaSourceID is the position id that remembers which stream of table
// the shard positions belong to.
func MetaSourceID(table string) string { return sourcePrefix + table }

// ShardSourceID is the position id of one shard of table's stream.
func ShardSourceID(table, shardID string) string { return sourcePrefix + table + "/" + shardID }

// meta is the token of the stream's position.
type meta struct {
	Stream string   `json:"stream"`
	Roots  []string `json:"roots,omitempty"`
}

func (m meta) token() string {
	b, _ := json.Marshal(m) // strings only: cannot fail
	return string(b)
}

func parseMeta(token []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(token, &m); err != nil || m.Stream == "" {
		return meta{}, fmt.Errorf("stream position token %q is not {\"stream\":ARN,...}", token)
	}
	return m, nil
}

// shardPos is a shard's stored position.
type shardPos struct {
	stored bool
	offset int64
	seq    string // last sequence number read, "" for none
	closed bool
}

func parseShardToken(offset int64, token []byte, ok bool) shardPos {
	if !ok {
		return shardPos{}
	}
	p := shardPos{stored: true, offset: offset, seq: string(token)}
	if s, found := strings.CutPrefix(p.seq, closedPrefix); found {
		p.seq, p.closed = s, true
	}
	return p
}
