package lake

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// group is a parquet group whose fields keep the order they were given in.
// parquet.Group sorts its fields by name, which would put the partition
// columns among the attributes and "Zeta" before "_key".
type group struct {
	fields []parquet.Field
}

// namedNode is a field of a group.
type namedNode struct {
	parquet.Node
	name string
}

func (f *namedNode) Name() string { return f.name }

// Value returns the field of a map or struct value (used only when rows are
// built from Go values; Publish writes parquet.Row values).
func (f *namedNode) Value(base reflect.Value) reflect.Value {
	for base.Kind() == reflect.Interface || base.Kind() == reflect.Pointer {
		if base.IsNil() {
			return reflect.Value{}
		}
		base = base.Elem()
	}
	switch base.Kind() {
	case reflect.Map:
		return base.MapIndex(reflect.ValueOf(f.name))
	case reflect.Struct:
		return base.FieldByName(f.name)
	}
	return reflect.Value{}
}

func newGroup() *group { return &group{} }

func (g *group) add(name string, n parquet.Node) {
	g.fields = append(g.fields, &namedNode{Node: n, name: name})
}

func (g *group) ID() int                     { return 0 }
func (g *group) String() string              { return parquet.NewSchema("group", g).String() }
func (g *group) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g *group) Optional() bool              { return false }
func (g *group) Repeated() bool              { return false }
func (g *group) Required() bool              { return true }
func (g *group) Leaf() bool                  { return false }
func (g *group) Fields() []parquet.Field     { return g.fields }
func (g *group) Encoding() encoding.Encoding { return nil }
func (g *group) Compression() compress.Codec { return nil }
func (g *group) GoType() reflect.Type        { return g.asGroup().GoType() }
func (g *group) asGroup() parquet.Group {
	m := make(parquet.Group, len(g.fields))
	for _, f := range g.fields {
		m[f.Name()] = f
	}
	return m
}

var _ parquet.Node = (*group)(nil)
